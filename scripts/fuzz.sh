#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 30s): `make fuzz`.
# A short run (scripts/fuzz.sh 3s) is the smoke test in `make test`. Targets are found with
# `go test -list`, so a new Fuzz function is picked up without editing this script. A failing
# input is written by Go to the package's testdata/fuzz/<Target>/ — check it in with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

FUZZTIME="${1:-${FUZZTIME:-30s}}"
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
		if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			failed+=("$pkg $t")
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
