#!/usr/bin/env bash
# rss.sh: the memory of one `keygate serve` after a fixed load, split the way the kernel counts
# it — what is resident of the binary's file (RssFile), the anonymous rest (RssAnon), and of
# that the C heap (glibc's arenas: SQLite). Compare builds side by side, alternating:
#
#   RSS_ROUNDS=3 bash scripts/bench/rss.sh bin/keygate /tmp/keygate-before
#
# The load: wrk -t1 -c64, 5 s each, with a valid key, an unknown key, no key, a valid key; the
# figures are read 1 s after. Needs wrk (make test's setup installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: rss.sh KEYGATE_BINARY..." >&2; exit 2; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/upstream" ./scripts/bench/upstream
"$work/upstream" -listen 127.0.0.1:0 -admin 127.0.0.1:0 >"$work/up.out" &
for _ in $(seq 50); do grep -q listen= "$work/up.out" && break; sleep 0.1; done
up=$(sed -n 's/.*listen=\([^ ]*\).*/\1/p' "$work/up.out")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for round in $(seq "${RSS_ROUNDS:-1}"); do
  for bin in "$@"; do
    d="$work/data"; rm -rf "$d" "$work/other"
    key=$("$bin" --data-dir "$d" keys create --name rss --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
    unknown=$("$bin" --data-dir "$work/other" keys create --name other --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
    port=$(free_port)
    "$bin" --data-dir "$d" serve --listen "127.0.0.1:$port" --console-listen "127.0.0.1:$(free_port)" \
      --upstream "http://$up" --failed-auth-limit 0 >"$work/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    for h in "x-api-key: $key" "x-api-key: $unknown" "x-none: 1" "x-api-key: $key"; do
      wrk -t1 -c64 -d5s -H "$h" "http://127.0.0.1:$port/rss" >/dev/null
    done
    sleep 1
    kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
    # The C heap: the anonymous mappings in the 0x7f… region, where mmap puts glibc's arenas
    # and thread stacks; the Go heap's arenas sit at the runtime's hints far below it.
    c=$(awk '/^[0-9a-f]+-[0-9a-f]+ /{split($1, a, "-"); anon = ($6 == "") && substr(a[1], 1, 2) == "7f" && length(a[1]) == 12} /^Rss:/{if (anon) s += $2} END {print s + 0}' "/proc/$pid/smaps")
    awk -v b="$bin" -v r="$round" -v rss="$(kb VmRSS)" -v hwm="$(kb VmHWM)" -v f="$(kb RssFile)" -v a="$(kb RssAnon)" -v c="$c" \
      'BEGIN {printf "%s round %d: RSS %.1f MiB (peak %.1f) = file %.1f + anon %.1f, of which C heap and thread stacks %.1f\n", b, r, rss/1024, hwm/1024, f/1024, a/1024, c/1024}'
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
