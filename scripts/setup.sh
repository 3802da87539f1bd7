#!/usr/bin/env bash
# setup.sh installs what building and testing Keygate needs and is missing on a Debian 12
# machine: system packages (Wails' GTK/WebKit headers, Chromium, Xvfb, nginx, caddy, wrk, PostgreSQL and
# Redis — the tests start their own throwaway servers from these, as an unprivileged user), the pinned
# Wails CLI and the frontend's npm packages. It changes nothing that is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

WAILS_VERSION=v2.11.0
APT_PACKAGES=(build-essential pkg-config libgtk-3-dev libwebkit2gtk-4.0-dev chromium xvfb xauth
  x11-utils imagemagick tesseract-ocr nginx caddy wrk fonts-noto-core fonts-noto-cjk ca-certificates
  postgresql redis-server)

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
if ! "$GOBIN/wails" version 2>/dev/null | grep -q "${WAILS_VERSION}"; then
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
for tool in tools/*/; do
  [ -f "$tool/package-lock.json" ] || continue
  stamp="$tool/node_modules/.keygate-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$tool/package-lock.json" "$stamp"; then
    say "installing $tool packages (npm ci)"
    (cd "$tool" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$tool/package-lock.json" "$stamp"
  fi
done
