#!/usr/bin/env bash
# Peak memory and time of every hostile-input reproducer (issue 15) against
# release builds of the tsdb and the anode: prints one line per request
# (its own peak RSS, reset before it) and fails if any passes 1.5 GB or a
# server stops answering.
#
#   bash bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p tsdb -p anode >&2
work=$(mktemp -d)
cat > "$work/taosanode.ini" <<INI
[uwsgi]
http = 127.0.0.1:16150
[taosanode]
app-log = $work/anode.log
model-dir = $work
INI
# the tsdb's embedded anode on a port of its own: etc/tsdb.ini's 6050 is
# taken while `make run` serves, and the tsdb then stops
cat > "$work/tsdb.ini" <<INI
[server]
listen = 127.0.0.1:16141
data-dir = $work/data
[analytics]
embedded-anode = 127.0.0.1:16151
INI
./target/release/tsdb serve --config "$work/tsdb.ini" 2>"$work/tsdb.log" &
tsdb=$!
./target/release/anode --config "$work/taosanode.ini" 2>/dev/null &
anode=$!
trap 'kill $tsdb $anode 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -sf -o /dev/null http://127.0.0.1:16150/status && \
    curl -s -o /dev/null -u root:taosdata -d 'select 1' http://127.0.0.1:16141/rest/sql && break
  sleep 0.1
done
python3 bench/hostile.py 127.0.0.1:16141 "$tsdb" 127.0.0.1:16150 "$anode"
