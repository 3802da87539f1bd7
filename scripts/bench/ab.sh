#!/usr/bin/env bash
# ab.sh REV_A [REV_B] — Keygate's CPU per request at two revisions, measured side by side.
#
# Builds keygate at REV_A and at REV_B (default: the working tree), starts both behind the
# bench upstream (scripts/bench/upstream) with a key each, and then loads them in turn with
# `wrk -t1 -c32` for AB_SECONDS (default 4) per round, AB_ROUNDS times (default 5). Each round
# reads the process's user and system CPU time from /proc/PID/stat before and after, so the
# figure is the server's own CPU per answered request, which moves far less than req/s when
# other work shares the machine. Prints every round and the medians.
#
#   AB_HEADER="x-api-key: KEY"  is chosen per server; AB_CASE=missing sends no key (the 401
#   path) and AB_CASE=unknown a well-formed key neither instance has.
#   AB_ENV_A="VAR=VALUE ..." and AB_ENV_B: environment for A's and B's server (to compare, say,
#   two GOMAXPROCS settings of one build: ab.sh HEAD HEAD).
set -euo pipefail

rev_a=${1:?usage: ab.sh REV_A [REV_B]}
rev_b=${2:-}
seconds=${AB_SECONDS:-4}
rounds=${AB_ROUNDS:-5}
case_=${AB_CASE:-key}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "ab.sh: wrk is missing (make bench installs it)" >&2; exit 1; }

build() { # build REV DIR: keygate at REV (empty: the working tree) into DIR/keygate
	local rev=$1 dir=$2 src=$root
	mkdir -p "$dir"
	if [ -n "$rev" ]; then
		src=$dir/src
		mkdir -p "$src"
		git -C "$root" archive "$rev" | tar -x -C "$src"
	fi
	# The gateway does not need the console's assets: build without them, like the bench.
	(cd "$src" && go build -o "$dir/keygate" ./scripts/bench/profiled)
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "ab.sh: building A=$rev_a and B=${rev_b:-working tree}" >&2
build "$rev_a" "$tmp/a"
build "$rev_b" "$tmp/b"
(cd "$root" && go build -o "$tmp/upstream" ./scripts/bench/upstream)

up=$(free_port)
"$tmp/upstream" -listen "127.0.0.1:$up" -admin "127.0.0.1:$(free_port)" >"$tmp/upstream.log" 2>&1 &
pids+=($!)

# A key of a third instance: well formed, unknown to both.
"$tmp/a/keygate" --data-dir "$tmp/other" keys create --name other --json >"$tmp/other.json"
unknown=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$tmp/other.json")

declare -A port key pid
for x in a b; do
	"$tmp/$x/keygate" --data-dir "$tmp/$x/data" keys create --name bench --json >"$tmp/$x/key.json"
	key[$x]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$tmp/$x/key.json")
	port[$x]=$(free_port)
	envvar="AB_ENV_${x^^}"
	# shellcheck disable=SC2086 # (a list of VAR=VALUE words)
	env ${!envvar:-} "$tmp/$x/keygate" --data-dir "$tmp/$x/data" serve --listen "127.0.0.1:${port[$x]}" \
		--console-listen "127.0.0.1:$(free_port)" --upstream "http://127.0.0.1:$up" --failed-auth-limit 0 \
		>"$tmp/$x/serve.log" 2>&1 &
	pid[$x]=$!
	pids+=($!)
done
for x in a b; do
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:${port[$x]}/" && break
		sleep 0.1
	done
done

header() {
	case $case_ in
	key) echo "x-api-key: ${key[$1]}" ;;
	unknown) echo "x-api-key: $unknown" ;;
	missing) echo "x-none: 1" ;;
	*) echo "ab.sh: AB_CASE is key, unknown or missing" >&2; exit 2 ;;
	esac
}

tck=$(getconf CLK_TCK)
measure() { # measure a|b: one round, prints "req/s user_us sys_us"
	local x=$1 u0 s0 u1 s1 out
	read -r u0 s0 < <(awk '{print $14, $15}' "/proc/${pid[$x]}/stat")
	out=$(wrk -t1 -c32 -d"${seconds}s" -H "$(header "$x")" "http://127.0.0.1:${port[$x]}/bench")
	read -r u1 s1 < <(awk '{print $14, $15}' "/proc/${pid[$x]}/stat")
	python3 - "$out" "$u0" "$s0" "$u1" "$s1" "$tck" <<'EOF'
import re, sys
out, u0, s0, u1, s1, tck = sys.argv[1], *map(int, sys.argv[2:7])
n = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
print(f"{rps:.0f} {(u1-u0)/tck*1e6/n:.2f} {(s1-s0)/tck*1e6/n:.2f}")
EOF
}

declare -A results
for r in $(seq "$rounds"); do
	for x in a b; do
		line=$(measure "$x")
		results[$x]+="$line"$'\n'
		read -r rps u s <<<"$line"
		printf 'round %d %s: %7.0f req/s  user %5.2f µs + sys %5.2f µs = %5.2f µs/req\n' "$r" "$x" "$rps" "$u" "$s" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')"
	done
done
python3 - "${results[a]}" "${results[b]}" "$case_" <<'EOF'
import statistics, sys
def med(block):
    rows = [list(map(float, l.split())) for l in block.strip().splitlines()]
    return statistics.median(r[0] for r in rows), statistics.median(r[1] + r[2] for r in rows), statistics.median(r[1] for r in rows)
a, b = med(sys.argv[1]), med(sys.argv[2])
print(f"median ({sys.argv[3]}): A {a[0]:.0f} req/s, {a[1]:.2f} µs/req ({a[2]:.2f} user); "
      f"B {b[0]:.0f} req/s, {b[1]:.2f} µs/req ({b[2]:.2f} user); B/A CPU {b[1]/a[1]:.2f}×, req/s {b[0]/a[0]:.2f}×")
EOF
