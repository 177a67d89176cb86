#!/usr/bin/env bash
# TDgpt 3.4's new detectors and profile search: ours (release anode, over
# HTTP) against PyOD 2.0.5 and the fastdtw package on the same inputs, in
# one run (bench/tdgpt34.py says what is measured).
#
#   bash bench/tdgpt34.sh            # RUNS=5 alternating runs per case
#   RUNS=3 bash bench/tdgpt34.sh
#
# Needs the venv (make venv: PyOD and fastdtw are in its requirements).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-16052}
python3 python/setup_venv.py >&2
if [ -z "${ANODE_BIN:-}" ]; then
  cargo build --release -p anode >&2
  ANODE_BIN=./target/release/anode
fi
work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/anode.ini" <<INI
[uwsgi]
http = 127.0.0.1:$PORT
[taosanode]
app-log = $work/anode.log
log-level = WARN
model-dir = models
INI
"$ANODE_BIN" --config "$work/anode.ini" >"$work/out.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/status" >/dev/null && break
  sleep 0.1
done
.venv/bin/python bench/tdgpt34.py "http://127.0.0.1:$PORT" "$pid"
