#!/usr/bin/env bash
# The web console in headless Chromium, then Firefox, against a real
# `tsdb serve` with its embedded anode (issue 21): starts the server on
# free ports with a fresh data directory, loads the demo data, adds a
# stream, a subscription and a 200,000-row series, then runs
# tests/console.py in each browser. Installs Debian's chromium,
# chromium-driver and firefox-esr when missing and it can (root with
# apt-get); otherwise it says why and skips that browser.
#
#   bash tests/console.sh                 (make test runs it)
#   SHOTS=docs/img bash tests/console.sh  (refresh the README's screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR="$(pwd)"
export PYO3_PYTHON="${PYO3_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"
PY="$PYO3_PYTHON"
SHOTS="${SHOTS:-target/console-shots}"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/console.sh: installing Debian's chromium and chromium-driver"
    if ! { apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
           || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1; }; }; then
      echo "SKIP tests/console.sh: apt-get could not install chromium and chromium-driver"
      exit 0
    fi
  else
    echo "SKIP tests/console.sh: no chromium/chromedriver, and not root with apt-get to install them (Debian: apt-get install chromium chromium-driver)"
    exit 0
  fi
fi

[ -x target/debug/tsdb ] || cargo build -p anode -p tsdb
T="$(mktemp -d /tmp/tsdb-console.XXXXXX)"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TP=$(port); AP=$(port)
cat > "$T/tsdb.ini" <<EOF
[server]
listen = 127.0.0.1:$TP
data-dir = $T/data
[analytics]
embedded-anode = 127.0.0.1:$AP
anode-config = $ROOT_DIR/etc/taosanode.ini
check-interval = 0
EOF
# the anode's relative paths (venv, python/, models/) are the repository's
target/debug/tsdb serve --config "$T/tsdb.ini" > "$T/tsdb.log" 2>&1 &
SERVER=$!
SH=(target/debug/tsdb shell -P "$TP")
for _ in $(seq 1 120); do
  [[ "$("${SH[@]}" -s "show anodes" 2>/dev/null)" == *ready* ]] && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$T/tsdb.log"; echo "FAIL: tsdb did not start"; exit 1; }
  sleep 0.5
done
"${SH[@]}" -f demo/load.sql > /dev/null
"${SH[@]}" -s "create stream avg_pass into demo.pass_avg as select _wstart, avg(val) from demo.passengers interval(365d)" > /dev/null
"$PY" - "$TP" <<'EOF'
import sys, urllib.request, base64
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/rest/subscribe/console_topic",
    data=b"select * from demo.ad_sample", method="POST",
    headers={"Authorization": "Basic " + base64.b64encode(b"root:taosdata").decode()})
urllib.request.urlopen(req, timeout=30).read()
# a long series for the chart: 200,000 rows, a 1 s apart
def post(sql):
    r = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/rest/sql", data=sql.encode(), method="POST",
        headers={"Authorization": "Basic " + base64.b64encode(b"root:taosdata").decode()})
    answer = urllib.request.urlopen(r, timeout=60).read()
    assert b'"code":0' in answer, answer[:300]
post("create database big")
post("create table big.s (ts timestamp, v double)")
import math
for b in range(40):
    rows = " ".join(f"({1700000000000 + i * 1000}, {math.sin(i / 500) * 10 + (i % 97) / 10:.3f})"
                    for i in range(b * 5000, (b + 1) * 5000))
    post("insert into big.s values " + rows)
EOF
"$PY" tests/console.py --url "http://127.0.0.1:$TP" --shots "$SHOTS"
echo "tests/console.sh: Chromium passed; screenshots in $SHOTS"

# the same in Firefox (Debian's firefox-esr, driven through Marionette)
FIREFOX=$(command -v firefox-esr || command -v firefox || true)
if [ -z "$FIREFOX" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "tests/console.sh: installing Debian's firefox-esr"
  apt-get install -y --no-install-recommends firefox-esr >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends firefox-esr >/dev/null 2>&1; } \
    || true
  FIREFOX=$(command -v firefox-esr || true)
fi
if [ -z "$FIREFOX" ]; then
  echo "SKIP tests/console.sh in Firefox: no firefox-esr, and not root with apt-get to install it"
  exit 0
fi
# the Chromium run killed the stream and consumed the topic: set them again
"${SH[@]}" -s "create stream avg_pass into demo.pass_avg2 as select _wstart, avg(val) from demo.passengers interval(365d)" > /dev/null
FIREFOX_SHOTS=${FIREFOX_SHOTS:-target/console-shots/firefox}
"$PY" tests/console.py --url "http://127.0.0.1:$TP" --shots "$FIREFOX_SHOTS" --firefox "$FIREFOX"
echo "tests/console.sh: Firefox passed; screenshots in $FIREFOX_SHOTS"
