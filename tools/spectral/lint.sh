#!/bin/sh
# Lints Keygate's generated OpenAPI documents with Spectral (spectral:oas, warnings fail).
# Usage: tools/spectral/lint.sh [FILE...]; with no files, generates both documents first.
# Needs `npm ci --prefix tools/spectral` once; runs offline after that.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$here/node_modules/.bin/spectral"
if [ ! -x "$bin" ]; then
	echo "spectral is not installed: run npm ci --prefix tools/spectral" >&2
	exit 2
fi
if [ "$#" -eq 0 ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	data="$tmp/data"
	mkdir -m 700 "$data"
	(cd "$root" && go run . --data-dir "$data" openapi --api console --out "$tmp/console.yaml")
	(cd "$root" && go run . --data-dir "$data" openapi --api gateway --out "$tmp/gateway.json")
	set -- "$tmp/console.yaml" "$tmp/gateway.json" "$root/backend/openapi/testdata/golden/gateway.json"
fi
SCARF_ANALYTICS=false "$bin" lint --fail-severity=warn --ruleset "$here/.spectral.yaml" "$@"
