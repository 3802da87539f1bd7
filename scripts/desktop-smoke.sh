#!/usr/bin/env bash
# desktop-smoke.sh starts the desktop binary (build/bin/keygate) under Xvfb with a fresh data
# dir, waits for its window, takes a screenshot and checks what the window shows: the window
# title, a screenshot that is not blank, and the keys screen's heading read back by OCR.
# SCREENSHOT=path keeps the picture (default: a temporary file).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/bin/keygate
[ -x "$bin" ] || { echo "desktop-smoke: $bin is missing; run 'make desktop'" >&2; exit 1; }
work=$(mktemp -d)
shot=${SCREENSHOT:-$work/desktop.png}
display=":$((90 + RANDOM % 400))"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

Xvfb "$display" -screen 0 1366x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do xdpyinfo -display "$display" >/dev/null 2>&1 && break; sleep 0.1; done

# WebKitGTK under Xvfb as root: no GPU, no compositing, no sandbox helper.
DISPLAY=$display WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1 KEYGATE_LANG=en \
  "$bin" --data-dir "$work/data" >"$work/app.log" 2>&1 &
app=$!
pids=("$app" "${pids[@]}")

found=""
for _ in $(seq 300); do
  if xwininfo -display "$display" -root -tree 2>/dev/null | grep -q '"Keygate"'; then found=1; break; fi
  kill -0 "$app" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$found" ]; then
  echo "desktop-smoke: no window titled Keygate appeared" >&2
  cat "$work/app.log" >&2
  exit 1
fi

# Give the page time to load and render, then look until the heading shows (up to 30 s).
ok=""
for _ in $(seq 15); do
  sleep 2
  import -display "$display" -window root "$shot"
  text=$(tesseract "$shot" - 2>/dev/null || true)
  if grep -qi "API keys" <<<"$text"; then ok=1; break; fi
done
sd=$(convert "$shot" -colorspace Gray -format '%[fx:standard_deviation]' info:)
echo "desktop-smoke: window found; screenshot $shot (grey standard deviation $sd)"
if awk "BEGIN{exit !($sd < 0.02)}"; then
  echo "desktop-smoke: the window is blank" >&2; exit 1
fi
if [ -z "$ok" ]; then
  echo "desktop-smoke: the keys screen did not show; OCR read:" >&2
  echo "$text" >&2
  cat "$work/app.log" >&2
  exit 1
fi
echo "desktop-smoke: the keys screen shows (\"API keys\" read from the window)"
