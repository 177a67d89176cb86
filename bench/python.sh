#!/usr/bin/env bash
# Throughput of the Python path at 1, 2 and 4 worker processes, and the
# bridge's own cost: `noop` is a plugin that returns the last value, so its
# latency is HTTP + validation + the worker round trip; `ksigma` (native) at
# one connection is the same request without the worker.
#
#   bash bench/python.sh                  # 10 s per run (pmdarima 30 s)
#   WORKERS="1 2" SECONDS_EACH=5 bash bench/python.sh
#
# Needs wrk (apt-get install wrk) and the venv (make venv).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${SECONDS_EACH:-10}
WORKERS=${WORKERS:-"1 2 4"}
CONNS=${CONNS:-8}
PORT=${PORT:-16051}

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
python3 python/setup_venv.py >&2
if [ -z "${ANODE_BIN:-}" ]; then
  cargo build --release -p anode >&2
  ANODE_BIN=./target/release/anode
fi

work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 bench/make_bodies.py "$work" >/dev/null

start() {  # start WORKERS
  cat > "$work/anode.ini" <<INI
[uwsgi]
http = 127.0.0.1:$PORT
virtualenv = .venv
[taosanode]
app-log = $work/anode.log
log-level = WARN
model-dir = models
[anode]
plugin-dir = anode/tests/plugins
python-workers = $1
INI
  "$ANODE_BIN" --config "$work/anode.ini" 2>/dev/null &
  pid=$!
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$PORT/status" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "anode did not start" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

run() {  # run ALGO CONNS SECONDS -> "req/s p50 p99 failed"
  local line
  line=$(BODY_FILE="$work/$1.json" wrk -t1 -c"$2" -d"${3}s" --timeout 60s -s bench/post.lua \
           "http://127.0.0.1:$PORT$(cat "$work/$1.path")" | grep '^RESULT')
  read -r _ rps p50 p99 _ failed sock <<<"$line"
  echo "$rps $p50 $p99 $((failed + sock))"
}

printf '%-8s %-8s %6s %10s %9s %9s %7s\n' workers algo conns req/s p50_ms p99_ms failed
for w in $WORKERS; do
  start "$w"
  if [ "$w" = 1 ]; then
    for a in ksigma noop; do
      read -r rps p50 p99 failed <<<"$(run "$a" 1 "$SECONDS_EACH")"
      printf '%-8s %-8s %6s %10s %9s %9s %7s\n' "$w" "$a" 1 "$rps" "$p50" "$p99" "$failed"
    done
  fi
  read -r rps p50 p99 failed <<<"$(run noop "$CONNS" "$SECONDS_EACH")"
  printf '%-8s %-8s %6s %10s %9s %9s %7s\n' "$w" noop "$CONNS" "$rps" "$p50" "$p99" "$failed"
  # two requests per worker keep every worker busy without long queues
  read -r rps p50 p99 failed <<<"$(run pmdarima $((2 * w)) $((3 * SECONDS_EACH)))"
  printf '%-8s %-8s %6s %10s %9s %9s %7s\n' "$w" pmdarima $((2 * w)) "$rps" "$p50" "$p99" "$failed"
  stop
done
