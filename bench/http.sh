#!/usr/bin/env bash
# HTTP load test of the anode: one fixed 1,000-point request per algorithm,
# posted by wrk over CONNS connections for SECONDS seconds each; prints
# req/s, latency percentiles, failed answers and the server's RSS.
#
#   bash bench/http.sh                 # 8 connections, 10 s per algorithm
#   CONNS=8 SECONDS_EACH=30 bash bench/http.sh ksigma lof
#   SOAK=300 bash bench/http.sh        # also a 5-minute ksigma soak with RSS samples
#   ANODE_BIN=/tmp/anode-old bash bench/http.sh ksigma   # an older build, for A/B runs
#
# wrk comes from Debian's package (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-8}
THREADS=${THREADS:-2}
SECONDS_EACH=${SECONDS_EACH:-10}
PORT=${PORT:-16050}
SOAK=${SOAK:-0}

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
if [ -z "${ANODE_BIN:-}" ]; then
  cargo build --release -p anode >&2
  ANODE_BIN=./target/release/anode
fi

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
all=$(python3 bench/make_bodies.py "$work")
algos=${*:-$all}

cat > "$work/anode.ini" <<INI
[uwsgi]
http = 127.0.0.1:$PORT
[taosanode]
app-log = $work/anode.log
log-level = WARN
model-dir = $work
INI
"$ANODE_BIN" --config "$work/anode.ini" 2>/dev/null &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/status" >/dev/null 2>&1 && break
  sleep 0.1
done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
idle=$(rss)

printf '%-12s %10s %9s %9s %9s %8s\n' algorithm req/s p50_ms p99_ms max_ms failed
for a in $algos; do
  path=$(cat "$work/$a.path")
  line=$(BODY_FILE="$work/$a.json" wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_EACH}s" \
           -s bench/post.lua "http://127.0.0.1:$PORT$path" | grep '^RESULT')
  read -r _ rps p50 p99 max failed sock <<<"$line"
  printf '%-12s %10s %9s %9s %9s %8s\n' "$a" "$rps" "$p50" "$p99" "$max" "$((failed + sock))"
done
echo "RSS: idle ${idle} MB, after the runs $(rss) MB"

if [ "$SOAK" -gt 0 ]; then
  echo "soak: ksigma for ${SOAK}s, RSS every 30 s"
  BODY_FILE="$work/ksigma.json" wrk -t"$THREADS" -c"$CONNS" -d"${SOAK}s" \
    -s bench/post.lua "http://127.0.0.1:$PORT/anomaly-detect" > "$work/soak.txt" &
  wp=$!
  while kill -0 "$wp" 2>/dev/null; do sleep 30; echo "  RSS $(rss) MB"; done
  read -r _ rps _ p99 _ failed sock <<<"$(grep '^RESULT' "$work/soak.txt")"
  echo "soak: $rps req/s, p99 $p99 ms, failed $((failed + sock)), RSS at end $(rss) MB"
fi
