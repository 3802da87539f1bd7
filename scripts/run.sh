#!/usr/bin/env bash
# run.sh starts Keygate for `make run`: the desktop window where there is a display, else the
# headless server; with no route configured it also starts the built-in demo upstream.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/bin/keygate ]; then
  exec build/bin/keygate "$@"
fi
demo=()
if [ "$(bin/keygate routes list --json 2>/dev/null | tr -d ' \n')" = "[]" ]; then
  demo=(--demo)
fi
exec bin/keygate serve "${demo[@]}" "$@"
