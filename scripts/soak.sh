#!/usr/bin/env bash
# soak.sh is `make soak`: keygate serve under ~70% of its measured capacity for SOAK_DURATION
# while keys are created and revoked through the console API, then twice its capacity over
# SOAK_CONNECTIONS connections, then half its capacity to see it recover. It prints a Markdown
# report (per-minute throughput, p50/p99, RSS and goroutines; overload and recovery figures)
# and exits non-zero on an unexpected status or a client error during the soak.
# Everything runs on 127.0.0.1. See docs/security.md for recorded figures.
#
# Settings (environment):
#   SOAK_DURATION=10m      soak length (whole minutes are reported)
#   SOAK_OVERLOAD=60s      overload length
#   SOAK_CONNECTIONS=5000  connections during the overload
#   SOAK_LOAD=0.7          soak load as a fraction of the measured capacity
#   SOAK_OUT=FILE          also write the report there
#   KEYGATE_BIN=PATH       test this binary (default bin/keygate, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

SOAK_DURATION="${SOAK_DURATION:-10m}"
SOAK_OVERLOAD="${SOAK_OVERLOAD:-60s}"
SOAK_CONNECTIONS="${SOAK_CONNECTIONS:-5000}"
SOAK_LOAD="${SOAK_LOAD:-0.7}"

# 5,000 client connections and as many on the server side (plus its upstream pool), in
# processes started from here: raise the soft limit on open files as far as allowed.
need=$((SOAK_CONNECTIONS * 2 + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
	echo "soak: the open-file limit is $hard; $need are needed for $SOAK_CONNECTIONS connections (raise it or set SOAK_CONNECTIONS)" >&2
	exit 2
fi
ulimit -n "$([ "$hard" = unlimited ] && echo "$need" || echo "$hard")"

work="$(mktemp -d /tmp/keygate-soak-build-XXXXXX)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/upstream" ./scripts/bench/upstream
go build -o "$work/driver" ./scripts/soak/driver
bin="${KEYGATE_BIN:-bin/keygate}"
if [ ! -x "$bin" ]; then
	go build -o "$work/keygate" .
	bin="$work/keygate"
fi

exec "$work/driver" -keygate "$bin" -upstream "$work/upstream" -duration "$SOAK_DURATION" \
	-overload "$SOAK_OVERLOAD" -overload-conns "$SOAK_CONNECTIONS" -load "$SOAK_LOAD" ${SOAK_OUT:+-out "$SOAK_OUT"}
