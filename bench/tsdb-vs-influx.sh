#!/usr/bin/env bash
# The tsdb workloads (tsdb/benches/workload.rs) and the same against
# InfluxDB 1.6 from Debian's package, printed side by side.
#
#   bash bench/tsdb-vs-influx.sh                      # 10 M rows, 10,000 tables
#   ROWS=1000000 TABLES=1000 bash bench/tsdb-vs-influx.sh
#
# Installs the `influxdb` package when influxd is missing (root, apt), runs
# influxd on 127.0.0.1:18086 with its data in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-10000000}
TABLES=${TABLES:-10000}
TABLE_ROWS=${TABLE_ROWS:-1000000}
export ROWS TABLES TABLE_ROWS

. bench/influxd.sh
influxd_install

work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "tsdb (cargo bench -p tsdb --bench workload) ..." >&2
cargo bench -q -p tsdb --bench workload 2>/dev/null | tail -n +2 > "$work/tsdb.txt"

echo "InfluxDB $(influxd version 2>/dev/null | head -1) ..." >&2
influxd_start "$work/influx"
pid=$INFLUXD_PID
python3 bench/influx.py --url http://127.0.0.1:18086 --rows "$ROWS" --tables "$TABLES" --table-rows "$TABLE_ROWS" > "$work/influx.txt"

printf '%-60s %-16s %s\n' workload tsdb "InfluxDB 1.6"
python3 - "$work/tsdb.txt" "$work/influx.txt" <<'PY'
import sys
def load(p):
    rows = []
    for line in open(p):
        if line.strip():
            k, v = line.rstrip("\n")[:60].rstrip(), line.rstrip("\n")[60:].strip()
            rows.append((k, v))
    return rows
t, i = load(sys.argv[1]), load(sys.argv[2])
# same workloads, different order: match by the first words
key = lambda k: " ".join(k.split()[:3])
imap = {key(k): v for k, v in i}
for k, v in t:
    print(f"{k:<60} {v:<16} {imap.get(key(k), '-')}")
PY
