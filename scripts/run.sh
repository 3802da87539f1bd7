#!/usr/bin/env bash
# run.sh starts Keygate for `make run`: the desktop window where there is a display, else the
# headless server. Until a route of your own is configured (routes other than the demo's
# /demo), the server also starts the built-in demo upstream, routed at /demo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/bin/keygate ]; then
  exec build/bin/keygate "$@"
fi
demo=()
if ! bin/keygate "$@" routes list --json | grep -o '"prefix": *"[^"]*"' | grep -qv '"/demo"'; then
  demo=(--demo)
fi
exec bin/keygate "$@" serve "${demo[@]}"
