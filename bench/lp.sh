#!/usr/bin/env bash
# Many-device ingest through line protocol: the tsdb's /influxdb/v1/write
# against InfluxDB 1.x's /write (Debian's influxdb package), the same
# bodies from the same client (bench/lp_client.py), each server alone,
# alternating, RUNS times each.
#
#   bash bench/lp.sh                          # 1 M rows, 10,000 devices, 3 runs
#   ROWS=200000 DEVICES=5000 RUNS=1 bash bench/lp.sh
#
# Builds the tsdb with --release; installs influxdb when influxd is missing
# (root, apt).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
DEVICES=${DEVICES:-10000}
RUNS=${RUNS:-3}
PY=${PYTHON:-python3}

. bench/influxd.sh
influxd_install
export PYO3_PYTHON="${PYO3_PYTHON:-$($PY -c 'import sys; print(sys.executable)')}"
cargo build -q --release -p tsdb

work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_tsdb() {
  local p; p=$(port)
  rm -rf "$work/tsdb"
  printf '[server]\nlisten = 127.0.0.1:%s\ndata-dir = %s\n[analytics]\nembedded-anode = off\n' "$p" "$work/tsdb" > "$work/tsdb.ini"
  ./target/release/tsdb serve --config "$work/tsdb.ini" 2>"$work/tsdb.log" &
  pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$p/" && break
    sleep 0.1
  done
  $PY bench/lp_client.py --url "http://127.0.0.1:$p/influxdb/v1/write?db=bench&precision=ns" \
    --auth root:taosdata --rows "$ROWS" --devices "$DEVICES"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_influx() {
  rm -rf "$work/influx"
  influxd_start "$work/influx"
  pid=$INFLUXD_PID
  curl -s -XPOST http://127.0.0.1:18086/query --data-urlencode "q=CREATE DATABASE bench" >/dev/null
  $PY bench/lp_client.py --url "http://127.0.0.1:18086/write?db=bench&precision=ns" \
    --rows "$ROWS" --devices "$DEVICES"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for r in $(seq "$RUNS"); do
  echo "run $r: tsdb    $(run_tsdb)"
  echo "run $r: InfluxDB $(run_influx)"
done
