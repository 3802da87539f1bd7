#!/usr/bin/env bash
# setup.sh installs what is missing on a Debian 12 machine for one purpose, and changes nothing
# that is already in place:
#   setup.sh run      building and running the headless binary: a C compiler (cgo, SQLite),
#                     Node.js and the frontend's npm packages (`make run`, `make build`)
#   setup.sh desktop  run + Wails' GTK/WebKit headers and the pinned Wails CLI (`make desktop`,
#                     and `make run` where there is a display)
#   setup.sh test     desktop + what the tests and benchmarks start or drive: Chromium, Xvfb,
#                     Tesseract, ImageMagick, fonts, nginx, Caddy, wrk, PostgreSQL and Redis (the
#                     tests start their own throwaway servers from these, as an unprivileged
#                     user), the sqlite3 shell (the keys e2e flows age a key in the database),
#                     MinGW (the Windows cross-build) and the npm packages of tools/ (Spectral)
# So a first `make run` installs only what running needs; `make test` installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-run}
WAILS_VERSION=v2.11.0
RUN_PACKAGES=(build-essential pkg-config ca-certificates)
DESKTOP_PACKAGES=(libgtk-3-dev libwebkit2gtk-4.0-dev)
TEST_PACKAGES=(chromium xvfb xauth x11-utils imagemagick tesseract-ocr nginx caddy wrk
  fonts-noto-core fonts-noto-cjk postgresql redis-server sqlite3 gcc-mingw-w64-x86-64)
case "$purpose" in
  run) APT_PACKAGES=("${RUN_PACKAGES[@]}") ;;
  desktop) APT_PACKAGES=("${RUN_PACKAGES[@]}" "${DESKTOP_PACKAGES[@]}") ;;
  test) APT_PACKAGES=("${RUN_PACKAGES[@]}" "${DESKTOP_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *) echo "usage: setup.sh [run|desktop|test]" >&2; exit 2 ;;
esac

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
  [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH" || {
    echo "Go 1.26 is required: install it from the Go module proxy's toolchain or your distribution." >&2; exit 1; }
fi
GOBIN="$(go env GOPATH)/bin"
if [ "$purpose" != run ] && ! "$GOBIN/wails" version 2>/dev/null | grep -q "${WAILS_VERSION}"; then
  say "installing the Wails CLI ${WAILS_VERSION}"
  go install "github.com/wailsapp/wails/v2/cmd/wails@${WAILS_VERSION}"
fi

# npm ci only when the lock file changed since the last install.
stamp=frontend/node_modules/.keygate-lock
if [ ! -f "$stamp" ] || ! cmp -s frontend/package-lock.json "$stamp"; then
  say "installing frontend packages (npm ci)"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  cp frontend/package-lock.json "$stamp"
fi
[ "$purpose" = test ] || exit 0
for tool in tools/*/; do
  [ -f "$tool/package-lock.json" ] || continue
  stamp="$tool/node_modules/.keygate-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$tool/package-lock.json" "$stamp"; then
    say "installing $tool packages (npm ci)"
    (cd "$tool" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$tool/package-lock.json" "$stamp"
  fi
done
