#!/usr/bin/env bash
# Many-device ingest side by side (issue 19): the same fleet, 10,000
# devices each reporting one row per tick, 5,000-row batches, 4 writers on
# keep-alive connections, bodies built before the clock starts, each
# server alone on the machine, the servers alternating, RUNS rounds:
#
#   tsdb, line protocol   /influxdb/v1/write   (bench/lp_client.py)
#   tsdb, SQL             /rest/sql, 5,000 one-row clauses a statement
#                         (bench/sql_client.py)
#   InfluxDB 1.x          /write               (Debian's influxdb)
#   VictoriaMetrics       /write               (Debian's victoria-metrics)
#
# After each run the bytes on disk per row: the tsdb after FLUSH DATABASE
# (information_schema.ins_disk_usage), VictoriaMetrics after
# /internal/force_flush (its data directory), InfluxDB its data directory
# as it stands (TSM files compact later).
#
#   bash bench/iot.sh                          # 1 M rows, 3 rounds
#   ROWS=10000000 RUNS=1 bash bench/iot.sh
#   ONLY="lp sql" bash bench/iot.sh            # some of the four
#
# Builds the tsdb with --release; installs influxdb and victoria-metrics
# when missing (root, apt).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
DEVICES=${DEVICES:-10000}
RUNS=${RUNS:-3}
ONLY=${ONLY:-lp sql influx vm}
PY=${PYTHON:-python3}

. bench/influxd.sh
influxd_install
if ! command -v victoria-metrics >/dev/null; then
  echo "installing victoria-metrics (Debian package) ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q victoria-metrics >&2
fi
export PYO3_PYTHON="${PYO3_PYTHON:-$($PY -c 'import sys; print(sys.executable)')}"
cargo build -q --release -p tsdb

work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
# the issue's "RSS after the ingest" (VmRSS once the writes and the flush
# are done) beside the peak during it (VmHWM)
rss() { awk '/VmHWM/ {h=int($2/1024)} /VmRSS/ {r=int($2/1024)} END {print "RSS peak " h " MB, after " r " MB"}' "/proc/$1/status"; }
per_row() { $PY -c "import sys; print(f'{int(sys.argv[1]) / int(sys.argv[2]):.2f} B/row')" "$1" "$ROWS"; }

# $1: lp or sql
run_tsdb() {
  local p; p=$(port)
  rm -rf "$work/tsdb"
  printf '[server]\nlisten = 127.0.0.1:%s\ndata-dir = %s\n[analytics]\nembedded-anode = off\n' "$p" "$work/tsdb" > "$work/tsdb.ini"
  ./target/release/tsdb serve --config "$work/tsdb.ini" 2>"$work/tsdb.log" &
  pid=$!
  wait_up "http://127.0.0.1:$p/"
  local out
  if [ "$1" = lp ]; then
    out=$($PY bench/lp_client.py --url "http://127.0.0.1:$p/influxdb/v1/write?db=bench&precision=ns" \
      --auth root:taosdata --rows "$ROWS" --devices "$DEVICES")
  else
    out=$($PY bench/sql_client.py --url "http://127.0.0.1:$p" --tables "$DEVICES" --rows "$ROWS")
  fi
  local sql="curl -s -u root:taosdata http://127.0.0.1:$p/rest/sql -d"
  $sql "flush database bench" >/dev/null
  local bytes
  bytes=$($sql "select * from information_schema.ins_disk_usage" |
    $PY -c 'import json,sys; print(next(r[3] for r in json.load(sys.stdin)["data"] if r[0] == "bench"))')
  echo "$out; disk $(per_row "$bytes"); $(rss "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_influx() {
  rm -rf "$work/influx"
  influxd_start "$work/influx"
  pid=$INFLUXD_PID
  curl -s -XPOST http://127.0.0.1:18086/query --data-urlencode "q=CREATE DATABASE bench" >/dev/null
  local out
  out=$($PY bench/lp_client.py --url "http://127.0.0.1:18086/write?db=bench&precision=ns" \
    --rows "$ROWS" --devices "$DEVICES")
  echo "$out; disk $(per_row "$(du -sb "$work/influx/data" | cut -f1)") (uncompacted); $(rss "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_vm() {
  local p; p=$(port)
  rm -rf "$work/vm"
  victoria-metrics -storageDataPath="$work/vm" -httpListenAddr="127.0.0.1:$p" \
    -retentionPeriod=100y -loggerLevel=ERROR > "$work/vm.log" 2>&1 &
  pid=$!
  wait_up "http://127.0.0.1:$p/health"
  local out
  out=$($PY bench/lp_client.py --url "http://127.0.0.1:$p/write?db=bench&precision=ns" \
    --rows "$ROWS" --devices "$DEVICES")
  curl -s "http://127.0.0.1:$p/internal/force_flush" >/dev/null
  sleep 2
  echo "$out; disk $(per_row "$(du -sb "$work/vm" | cut -f1)") (data and index); $(rss "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "$(influxd version 2>/dev/null | head -1); VictoriaMetrics $(dpkg-query -W -f '${Version}' victoria-metrics 2>/dev/null)"
want() { [[ " $ONLY " == *" $1 "* ]]; }
for r in $(seq "$RUNS"); do
  if want lp; then echo "run $r: tsdb, line protocol: $(run_tsdb lp)"; fi
  if want sql; then echo "run $r: tsdb, SQL:           $(run_tsdb sql)"; fi
  if want influx; then echo "run $r: InfluxDB:            $(run_influx)"; fi
  if want vm; then echo "run $r: VictoriaMetrics:     $(run_vm)"; fi
done
