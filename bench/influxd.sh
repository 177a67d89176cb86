# Sourced by the InfluxDB benchmarks: `influxd_start DIR` runs InfluxDB 1.x
# (Debian's influxdb package, installed when missing: root, apt) on
# 127.0.0.1:18086 with its data in DIR, waits until it answers /ping, and
# leaves its pid in INFLUXD_PID.

influxd_install() {
  if ! command -v influxd >/dev/null; then
    echo "installing influxdb (Debian package) ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q influxdb >&2
  fi
}

influxd_start() {
  local dir=$1
  mkdir -p "$dir"
  cat > "$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:18088"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  cache-max-memory-size = "4g"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:18086"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
  influxd -config "$dir/influxdb.conf" > "$dir/influxd.log" 2>&1 &
  INFLUXD_PID=$!
  for _ in $(seq 100); do
    curl -sf http://127.0.0.1:18086/ping >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "influxd did not answer on 127.0.0.1:18086: see $dir/influxd.log" >&2
  return 1
}
