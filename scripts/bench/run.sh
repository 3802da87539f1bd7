#!/usr/bin/env bash
# run.sh is `make bench`: Keygate against tuned nginx, Caddy, the engine candidates and the
# upstream alone, measured with wrk on loopback. It installs wrk, nginx and caddy when missing (as
# root, with apt-get), builds the benchmark upstream, the candidates, the driver and Keygate, and
# hands over to the driver, which prints the table and PASS/MISS per target of issue 11. See
# docs/performance.md for what it measures and why.
#
# Settings (environment):
#   BENCH_DURATION=10s BENCH_WARMUP=3s   measured and warm-up time per case
#   BENCH_THREADS=1 BENCH_CONNECTIONS=64 wrk -t and -c for the throughput cases
#   BENCH_LATENCY_CONNECTIONS=1          wrk -c for the latency cases (added p50)
#   BENCH_RUNS=2                         rounds over all cases; figures are medians
#   BENCH_QUIET_WAIT=30s BENCH_RETRIES=2 wait for other processes (and VMs) to leave the CPUs before a
#                                        case; repeat a run they disturbed, keep the quietest
#   BENCH_WRK_CPUS= BENCH_SERVER_CPUS=   taskset -c lists to pin wrk and the servers
#   BENCH_CASES=direct,keygate-key,...   run only these cases
#   BENCH_MARKDOWN=FILE BENCH_JSON=FILE  also write the results there
#   BENCH_PROFILE=FILE                   CPU profile of Keygate under the valid-key case
#                                        (measures scripts/bench/profiled: keygate + pprof)
#   KEYGATE_BIN=PATH                     measure this binary instead of building one
#   BENCH_KEYGATE_ENV="GOGC=400"         extra environment for keygate serve only
#   BENCH_KEEP=1                         keep the temporary directory (logs, nginx.conf)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH:/usr/sbin:/sbin"

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v caddy >/dev/null || missing+=(caddy)
command -v taskset >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "bench: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

work="$(mktemp -d /tmp/keygate-bench-build-XXXXXX)"
trap 'rm -rf "$work"' EXIT

go build -o "$work/upstream" ./scripts/bench/upstream
go build -o "$work/driver" ./scripts/bench/driver
go build -o "$work/bareproxy" ./scripts/bench/bareproxy
go build -o "$work/candidate" ./scripts/bench/candidate
# The event-loop candidate is a module of its own (Keygate's module does not depend on gnet).
gnet=""
if (cd scripts/bench/gnetcand && go build -o "$work/gnetcand" .) 2>"$work/gnet.log"; then
  gnet="$work/gnetcand"
else
  echo "bench: could not build the gnet candidate (cand-gnet skipped):" >&2
  sed 's/^/  /' "$work/gnet.log" >&2
fi

keygate="${KEYGATE_BIN:-}"
if [ -z "$keygate" ]; then
  main=.
  if [ -n "${BENCH_PROFILE:-}" ]; then main=./scripts/bench/profiled; fi
  if go build -o "$work/keygate" "$main" 2>"$work/build.log"; then
    keygate="$work/keygate"
  else
    echo "bench: could not build keygate; measuring the upstream and nginx only:" >&2
    sed 's/^/  /' "$work/build.log" >&2
  fi
fi

"$work/driver" -upstream "$work/upstream" -bareproxy "$work/bareproxy" -keygate "$keygate" -nginx "$(command -v nginx)" \
  -caddy "$(command -v caddy)" -candidate "$work/candidate" -gnet "$gnet" -wrk "$(command -v wrk)" -scripts scripts/bench
