# Keygate — build, run and test. `make run` and `make test` are the README's two commands;
# both install what is missing first (scripts/setup.sh).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X github.com/keygate/keygate/backend/cli.Version=$(VERSION)
# `go test ./...` would walk into frontend/node_modules: name the packages.
GO_PACKAGES := . ./backend/... ./tests/... ./tools/generate ./scripts/bench/driver ./docs/examples/identity/go $(if $(wildcard locales/*.go),./locales/...)
# Written by `make generate` from the console's operation table (tools/generate).
GENERATED   := app_operations.go frontend/src/api/operations.ts docs/api.md
FUZZTIME    ?= 30s

.PHONY: all setup setup-desktop setup-test generate test-generated frontend build desktop run test test-go test-fuzz test-frontend test-e2e \
        test-desktop test-cross bench fuzz soak clean

all: build

# What each purpose needs, installed when missing (scripts/setup.sh): `make run` stays fast
# because it installs no test tools.
setup:
	@bash scripts/setup.sh run
setup-desktop:
	@bash scripts/setup.sh desktop
setup-test:
	@bash scripts/setup.sh test

## generate: the files derived from backend/console/operations.go (App bindings, the frontend's
## operation map and types, the table in docs/api.md).
generate:
	go generate .

# test-generated fails when a generated file is not what `make generate` writes.
test-generated:
	go generate .
	@git diff --exit-code --stat -- $(GENERATED) || \
		{ echo "generated files are stale: run make generate and commit the result" >&2; exit 1; }

# The frontend is built into frontend/dist, which the Go binary embeds. Vite empties dist, so
# its tracked .gitkeep is put back.
frontend: setup
	cd frontend && npm run build
	@touch frontend/dist/.gitkeep

## build: the headless binary bin/keygate (frontend embedded, no WebKit).
build: frontend
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/keygate .

## desktop: the Wails desktop binary build/bin/keygate.
desktop: setup-desktop frontend
	wails build -s -m -nosyncgomod -trimpath -ldflags '$(LDFLAGS)' -o keygate

## run: the desktop app where there is a display, else `keygate serve` (with the demo upstream
## when no route is configured).
run: build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(MAKE) --no-print-directory desktop; fi
	@bash scripts/run.sh

## test: every test: Go (race detector on; crash, revocation-under-load and security suites
## included), a short run of every fuzz target (5,000 inputs each), frontend unit and lint, end-to-end in headless
## Chromium, the desktop binary under Xvfb, the Windows build.
test: setup-test test-generated build test-go test-fuzz test-frontend test-e2e test-desktop test-cross

# PG_PACKAGES are the store-backed packages whose tests run a second time on PostgreSQL (a
# throwaway server per package, see backend/testutil/pgtest); the store's own tests cover both
# engines in every run.
PG_PACKAGES := ./backend/store/ ./backend/identity/ ./backend/keys/ ./backend/keys/keyfile/ ./backend/auth/ ./backend/routes/ ./backend/audit/ ./backend/console/ ./backend/nodes/ ./backend/learn/ ./backend/orgs/ ./backend/usage/ ./backend/webhooks/ ./backend/instance/

test-go: setup-test
	go vet $(GO_PACKAGES)
	KEYGATE_TEST_REQUIRE_POSTGRES=1 KEYGATE_TEST_REQUIRE_REDIS=1 go test -race -count=1 -timeout 20m $(GO_PACKAGES)
	KEYGATE_TEST_ENGINE=fasthttp go test -race -count=1 ./backend/gateway/
	KEYGATE_TEST_ENGINE=nethttp go test -race -count=1 ./backend/gateway/
	KEYGATE_TEST_REQUIRE_POSTGRES=1 KEYGATE_TEST_STORE=postgres go test -race -count=1 -timeout 20m $(PG_PACKAGES)

test-fuzz: setup-test
	bash scripts/fuzz.sh 5000x

test-frontend: setup-test
	cd frontend && npm run lint && npm test

test-e2e: setup-test build
	cd frontend && npm run e2e

test-desktop: desktop
	bash scripts/desktop-smoke.sh

# test-cross builds the Windows binaries, headless and desktop, with MinGW (cgo for SQLite): code
# that only builds on Unix fails here, not on a user's machine. macOS needs Apple's SDK, which no
# Debian package has. The first build compiles SQLite for Windows, about 4 minutes on 2 cores.
# (It embeds whatever frontend/dist holds: the check is that the Go code builds.)
WINDOWS_GO := GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc go build -trimpath
test-cross: setup-test
	$(WINDOWS_GO) -ldflags '$(LDFLAGS)' -o build/bin/keygate-headless.exe .
	$(WINDOWS_GO) -tags desktop,production -ldflags '$(LDFLAGS) -H windowsgui' -o build/bin/keygate-desktop.exe .
	@rm -f build/bin/keygate-headless.exe build/bin/keygate-desktop.exe

## bench: Go benchmarks and the wrk comparison against nginx (see docs/performance.md).
bench: setup-test build
	go test -run '^$$' -bench . -benchmem ./backend/keys/ ./backend/gateway/
	bash scripts/bench/run.sh
	go run ./scripts/bench/storecmp -wrk "$$(command -v wrk)"

## fuzz: each fuzz target for FUZZTIME (default 30s), then the contract tests (console and
## gateway against keygate serve) for CONTRACT_ROUNDS rounds (default 20; make test runs 2).
CONTRACT_ROUNDS ?= 20
fuzz: setup-test
	bash scripts/fuzz.sh $(FUZZTIME)
	set -o pipefail; KEYGATE_CONTRACT_ROUNDS=$(CONTRACT_ROUNDS) go test -count=1 -timeout 60m -run '^TestContract' -v ./tests/contract/ | grep -v '^=== '


soak: setup-test build
	bash scripts/soak.sh

clean:
	rm -rf bin build/bin frontend/dist/assets frontend/dist/*.html
