#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 30s): `make fuzz`.
# A short run (scripts/fuzz.sh 5000x: a count, not a duration) is the smoke test in
# `make test`. Targets are found with `go test -list`, so a new Fuzz function is picked up without editing this script. A failing
# input is written by Go to the package's testdata/fuzz/<Target>/ — check it in with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

FUZZTIME="${1:-${FUZZTIME:-30s}}"
# A count budget is the smoke run of `make test`: there, Go's minimizing of each new interesting
# input (up to 60 s apiece by default, while the count stands still) took most of the time —
# FuzzLoadCatalog, whose inputs are whole locale files, spent 1–5 minutes on it, and a run that
# finds ten such inputs would reach go test's 10-minute timeout. 5 s an input still shrinks a
# failing input to something readable.
minimize=()
case "$FUZZTIME" in *x) minimize=(-fuzzminimizetime 5s) ;; esac
# ./... would walk into frontend/node_modules: name the package trees.
PKGS=$(go list . ./backend/... $( [ -d locales ] && echo ./locales/... ))

total=0
failed=()
start=$(date +%s)
for pkg in $PKGS; do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	ls "$dir"/*_test.go >/dev/null 2>&1 || continue
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	targets=$(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for t in $targets; do
		total=$((total + 1))
		echo "== $pkg $t ($FUZZTIME)"
		corpus="$dir/testdata/fuzz/$t"
		before=$(ls "$corpus" 2>/dev/null | wc -l || true)
		if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "${minimize[@]}" "$pkg"; then
			# Go 1.26's fuzz coordinator can report "context deadline exceeded" when a duration
			# -fuzztime ends (go.dev/issue/75804) without any failing input. Only a failing input
			# written to testdata/fuzz/<Target>/ is a finding; count budgets (e.g. 5000x, which
			# `make test` uses) avoid the race altogether.
			if [ "$(ls "$corpus" 2>/dev/null | wc -l || true)" -gt "$before" ]; then
				failed+=("$pkg $t")
			else
				echo "fuzz: $t stopped with an error but wrote no failing input (go.dev/issue/75804); not a finding" >&2
			fi
		fi
	done
done

echo "fuzz: $total targets in $(( $(date +%s) - start ))s, ${#failed[@]} failed"
if [ "$total" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
