#!/usr/bin/env bash
# The package, installed as a user would (issue 20), into a temporary
# prefix: make the tarball and the .deb of the test build, install, start
# the installed anode and tsdb with the installed configuration, run a
# FORECAST and a Python algorithm through them, stop them, install again
# over the first (config, data, models and venv kept), uninstall, check
# what remains; the units pass `systemd-analyze verify` where it exists;
# install.sh's refusals (old Python, no pip) say what to do.
#
#   bash tests/install.sh            (make test runs it after cargo test)
#
# Needs the test build (target/debug/{anode,tsdb}) or builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR="$(pwd)"
export PYO3_PYTHON="${PYO3_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"
PY="$PYO3_PYTHON"

T="$(mktemp -d /tmp/tdgpt-install.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
contains() { grep -qF -- "$2" <<<"$1" || fail "$3: expected to find [$2] in: $1"; }

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http() { # METHOD URL [BODY]
  "$PY" - "$@" <<'EOF'
import sys, urllib.request
method, url = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=120) as r:
    print(r.read().decode())
EOF
}
wait_up() { # URL PID what
  for _ in $(seq 1 240); do
    http GET "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || fail "$3 exited before answering $1"
    sleep 0.5
  done
  fail "$3 did not answer $1 in 120 s"
}

# --- make dist -------------------------------------------------------------------
started=$(date +%s)
t0=$started
bash packaging/dist.sh --profile dev --out "$T/dist" > "$T/dist.log" 2>&1 || { cat "$T/dist.log"; fail "make dist"; }
VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
TARBALL="$T/dist/tdgpt-anode-$VERSION-linux-$(uname -m).tar.gz"
[ -f "$TARBALL" ] || fail "no $TARBALL"
ok "make dist: $(basename "$TARBALL") ($(( $(date +%s) - t0 )) s)"

# the .deb: its files are the tarball's install, under / (not under a prefix)
DEB="$(ls "$T"/dist/tdgpt-anode_"$VERSION"_*.deb 2>/dev/null || true)"
if [ -n "$DEB" ]; then
  info="$(dpkg-deb --info "$DEB")"
  contains "$info" "Package: tdgpt-anode" "deb control"
  contains "$info" "Depends: libc6, python" "deb control"
  files="$(dpkg-deb --contents "$DEB")"
  for f in ./usr/local/taos/taosanode/bin/anode ./usr/local/taos/tsdb/bin/tsdb \
           ./usr/local/taos/taosanode/lib/anode_bridge.py ./usr/local/taos/taosanode/lib/taosanalytics/ \
           ./usr/local/taos/taosanode/share/install.sh ./usr/local/taos/taosanode/share/systemd/taosanoded.service \
           ./usr/local/bin/rmtaosanode ./var/lib/taos/taosanode/model/ ./var/log/taos/taosanode/; do
    contains "$files" "$f" "deb contents"
  done
  # the staged uninstaller names no staging directory
  mkdir -p "$T/debx"; dpkg-deb -x "$DEB" "$T/debx"
  grep -q '^PREFIX=""$' "$T/debx/usr/local/taos/taosanode/bin/rmtaosanode" || fail "deb's rmtaosanode has a prefix"
  [ "$(readlink "$T/debx/usr/local/bin/anode")" = /usr/local/taos/taosanode/bin/anode ] || fail "deb's link"
  # captured, not piped into grep -q: under pipefail, grep's early exit can
  # kill tar with SIGPIPE and fail a deb that has the script
  ctrl="$(dpkg-deb --ctrl-tarfile "$DEB" | tar -t)"
  contains "$ctrl" "postinst" "deb control scripts"
  ok "the .deb: control, contents, staged paths"
else
  echo "skip: no .deb (dpkg-deb missing)"
fi

# --- install.sh refuses what cannot work, and says what to do ---------------------
tar -C "$T" -xzf "$TARBALL"
PKG="$T/tdgpt-anode-$VERSION"
P="$T/root"
cat > "$T/python39" <<'EOF'
#!/bin/sh
[ "$1" = -c ] && { echo 3.9; exit 0; }
exit 1
EOF
cat > "$T/nopip" <<EOF
#!/bin/sh
case "\$*" in *pip*) echo "No module named pip" >&2; exit 1 ;; esac
exec "$PY" "\$@"
EOF
chmod +x "$T/python39" "$T/nopip"
out="$(bash "$PKG/install.sh" --prefix "$P" --python "$T/python39" 2>&1)" && fail "old Python accepted"
contains "$out" "Python 3.10 or newer is required, found 3.9 at $T/python39" "old Python"
out="$(bash "$PKG/install.sh" --prefix "$P" --python "$T/nopip" 2>&1)" && fail "Python without pip accepted"
contains "$out" "pip is missing for $T/nopip: install it (Debian/Ubuntu: apt-get install python3-pip) or pass --no-venv" "no pip"
out="$(bash "$PKG/install.sh" --prefix "$P" --bogus 2>&1)" && fail "unknown option accepted"
contains "$out" "unknown option --bogus" "unknown option"
[ ! -e "$P/usr" ] || fail "a refused install left files"
ok "refusals: old Python, no pip, unknown option; nothing written"

# --- install -------------------------------------------------------------------------
t0=$(date +%s)
bash "$PKG/install.sh" --prefix "$P" --python "$PY" > "$T/install1.log" 2>&1 || { cat "$T/install1.log"; fail "install"; }
log1="$(cat "$T/install1.log")"
contains "$log1" "Installing tdgpt-anode $VERSION under $P" "install"
contains "$log1" "config: wrote $P/etc/taos/taosanode.ini" "install"
contains "$log1" "[1/3] creating the virtual environment $P/var/lib/taos/taosanode/venv" "venv progress"
contains "$log1" "ready in" "venv"
ok "install into $P ($(( $(date +%s) - t0 )) s, venv included)"
for f in usr/local/taos/taosanode/bin/anode usr/local/taos/taosanode/bin/rmtaosanode \
         usr/local/taos/tsdb/bin/tsdb usr/local/taos/tsdb/bin/rmtsdb \
         usr/local/taos/taosanode/lib/anode_bridge.py usr/local/taos/taosanode/lib/taosanalytics \
         var/lib/taos/taosanode/model/sample-ad-autoencoder var/lib/taos/taosanode/resource/plugins \
         var/lib/taos/taosanode/venv/bin/python var/log/taos/taosanode var/lib/taos/tsdb \
         etc/taos/taosanode.ini etc/taos/tsdb.ini \
         etc/systemd/system/taosanoded.service etc/systemd/system/tsdbd.service \
         usr/local/bin/tsdb usr/local/bin/rmtaosanode; do
  [ -e "$P/$f" ] || fail "missing $P/$f"
done
[ "$(readlink "$P/usr/local/taos/taosanode/resource")" = "$P/var/lib/taos/taosanode/resource" ] || fail "resource link"
grep -q "^virtualenv = $P/var/lib/taos/taosanode/venv$" "$P/etc/taos/taosanode.ini" || fail "config not relocated"
grep -q "^ExecStart=$P/usr/local/taos/taosanode/bin/anode --config $P/etc/taos/taosanode.ini$" \
  "$P/etc/systemd/system/taosanoded.service" || fail "unit not relocated"
ok "the documented layout, relocated under the prefix"

if command -v systemd-analyze >/dev/null 2>&1; then
  # --user root drops User=, so verify does not need a taos account here
  bash "$PKG/install.sh" --prefix "$T/vroot" --user root --no-venv > /dev/null
  for u in taosanoded.service tsdbd.service; do
    out="$(systemd-analyze verify "$T/vroot/etc/systemd/system/$u" 2>&1)" || fail "systemd-analyze verify $u: $out"
    # verify prints warnings but exits 0 for some; none is acceptable
    if grep -v -e "^$" <<<"$out" | grep -i "$u" >/dev/null; then fail "systemd-analyze verify $u: $out"; fi
  done
  ok "systemd-analyze verify: both units"
else
  echo "skip: systemd-analyze verify (no systemd package here)"
fi

# --- start the installed services with the installed configuration -----------------
AP=$(free_port); TP=$(free_port)
sed -i "s|^http = .*|http = 127.0.0.1:$AP|" "$P/etc/taos/taosanode.ini"
sed -i -e "s|^listen = .*|listen = 127.0.0.1:$TP|" -e "s|^anodes = .*|anodes = 127.0.0.1:$AP|" "$P/etc/taos/tsdb.ini"
cd "$T"   # nothing may depend on the source tree
# systemd's side of Type=notify: a datagram socket per service, as
# $NOTIFY_SOCKET names it; what arrives is written down
for s in anode tsdb; do
  "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(256).decode() + "\n")
        f.flush()
' "$T/$s.notify" "$T/$s.notify.log" &
  PIDS+=("$!")
done
for _ in $(seq 1 50); do [ -S "$T/anode.notify" ] && [ -S "$T/tsdb.notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$T/anode.notify" "$P/usr/local/bin/anode" --config "$P/etc/taos/taosanode.ini" > "$T/anode.out" 2>&1 &
APID=$!; PIDS+=("$APID")
NOTIFY_SOCKET="$T/tsdb.notify" "$P/usr/local/bin/tsdb" serve --config "$P/etc/taos/tsdb.ini" > "$T/tsdb.out" 2>&1 &
TPID=$!; PIDS+=("$TPID")
wait_up "http://127.0.0.1:$AP/status" "$APID" "installed anode"
[ -s "$P/var/log/taos/taosanode/taosanode.app.log" ] || fail "the anode wrote no app-log"
list="$(http GET "http://127.0.0.1:$AP/list")"
contains "$list" '"pmdarima"' "Python algorithms served from the installed venv"
SH=("$P/usr/local/bin/tsdb" shell -P "$TP")
for _ in $(seq 1 240); do
  "${SH[@]}" -s "show databases" >/dev/null 2>&1 && break
  kill -0 "$TPID" 2>/dev/null || { cat "$T/tsdb.out"; fail "the installed tsdb exited"; }
  sleep 0.5
done
for _ in $(seq 1 60); do
  [[ "$("${SH[@]}" -s "show anodes" 2>/dev/null)" == *"127.0.0.1:$AP"* ]] && break
  sleep 0.5
done
anodes="$("${SH[@]}" -s "show anodes")"
contains "$anodes" "127.0.0.1:$AP" "[analytics] anodes registered the installed anode"
contains "$anodes" "ready" "the registered anode's status"
values=""
for i in $(seq 0 47); do
  v=$(( 100 + (i % 12) * 5 + i ))
  values="$values ($(( 1700000000000 + i * 3600000 )), $v)"
done
"${SH[@]}" -s "create database shop; create table shop.sales (ts timestamp, val double); insert into shop.sales values$values" > /dev/null
fc="$("${SH[@]}" -s "select _frowts, forecast(val, 'rows=3,algo=holtwinters,period=12') from shop.sales")"
contains "$fc" "Query OK, 3 row(s) in set" "FORECAST through the installed services"
fc="$("${SH[@]}" -s "select forecast(val, 'rows=2') from shop.sales")"
contains "$fc" "Query OK, 2 row(s) in set" "FORECAST with the default algorithm"
py="$(http POST "http://127.0.0.1:$AP/forecast" '{"schema":[["ts","TIMESTAMP",8],["val","DOUBLE",8]],"data":[[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20],[1,3,2,4,3,5,4,6,5,7,6,8,7,9,8,10,9,11,10,12]],"option":"algo=pmdarima","algo":"pmdarima","prec":"ms","wncheck":0,"return_conf":1,"forecast_rows":3,"conf":95}')"
contains "$py" '"rows":3' "a Python algorithm through the installed venv"
ok "installed anode + tsdb: FORECAST (native, default) and pmdarima (Python venv)"

# a scikit-learn model deployed by upload (TDgpt 3.4's multipart /deploy),
# then called from SQL over two columns
VPY="$P/var/lib/taos/taosanode/venv/bin/python"
dep="$("$VPY" - "http://127.0.0.1:$AP/deploy" <<'EOF'
import io, json, sys, urllib.request, uuid
import joblib, numpy as np
from sklearn.svm import OneClassSVM
model = OneClassSVM(nu=0.05, gamma=0.5).fit(np.random.default_rng(1).normal(size=(300, 2)))
pkl = io.BytesIO(); joblib.dump(model, pkl)
b = uuid.uuid4().hex
body = (f'--{b}\r\nContent-Disposition: form-data; name="config"\r\n\r\n'
        + json.dumps({"model_name": "pair_svm", "algo": "svm"})
        + f'\r\n--{b}\r\nContent-Disposition: form-data; name="model_binary"; filename="m.pkl"\r\n\r\n').encode()
body += pkl.getvalue() + f"\r\n--{b}--\r\n".encode()
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": f"multipart/form-data; boundary={b}"})
print(urllib.request.urlopen(req, timeout=120).read().decode())
EOF
)"
contains "$dep" "Model pair_svm deployed successfully" "multipart /deploy of a pkl"
"${SH[@]}" -s "update all anodes" > /dev/null
full="$("${SH[@]}" -s "show anodes full")"
contains "$full" "pair_svm" "SHOW ANODES FULL lists the deployed model"
pts=""
for i in $(seq 0 39); do
  a="0.$(( (i * 37) % 9 ))"; c="-0.$(( (i * 53) % 9 ))"
  [ "$i" = 20 ] && { a=6; c=6; }
  pts="$pts ($(( 1700000000000 + i * 1000 )), $a, $c)"
done
"${SH[@]}" -s "create table shop.pts (ts timestamp, val double, val1 double); insert into shop.pts values$pts" > /dev/null
aw="$("${SH[@]}" -s "select _wstart, _wend from shop.pts anomaly_window(val, val1, 'algo=pair_svm,wncheck=0')")"
contains "$aw" ":40.000 |" "ANOMALY_WINDOW over a deployed pkl model finds the outlier (row 20)"
contains "$aw" "Query OK, 1 row(s) in set" "ANOMALY_WINDOW over a deployed pkl model: one window"
und="$(http POST "http://127.0.0.1:$AP/undeploy" '{"model_name": "pair_svm"}')"
contains "$und" "Model pair_svm undeployed successfully" "undeploy"
ok "a deployed scikit-learn model: multipart /deploy, SHOW ANODES FULL, ANOMALY_WINDOW, /undeploy"

# graceful stop: both exit 0 on SIGTERM, the tsdb flushes
kill -TERM "$APID" "$TPID"
wait "$APID" || fail "the anode exited $? on SIGTERM"
wait "$TPID" || fail "the tsdb exited $? on SIGTERM"
for s in anode tsdb; do
  [ "$(cat "$T/$s.notify.log")" = "$(printf 'READY=1\nSTOPPING=1')" ] \
    || fail "$s told systemd [$(cat "$T/$s.notify.log")], not READY=1 then STOPPING=1"
done
grep -q "memtables flushed; stopped" "$P/var/log/taos/tsdb/tsdb.log" || fail "tsdb log-file lacks the stop line"
ok "Type=notify: READY=1 when serving, STOPPING=1 at SIGTERM; both exit 0; tsdb's log-file has its lines"

# --- a second install over the first -------------------------------------------------
echo "# operator's edit" >> "$P/etc/taos/taosanode.ini"
venv_id="$(stat -c %i:%Y "$P/var/lib/taos/taosanode/venv/bin/python")"
t0=$(date +%s)
cd "$ROOT_DIR"
# a newer package: the same files under a later version number
cp -R "$PKG" "$T/newer"
sed -i "s/^version=.*/version=$VERSION.1/" "$T/newer/VERSION"
bash "$T/newer/install.sh" --prefix "$P" --python "$PY" > "$T/install2.log" 2>&1 || { cat "$T/install2.log"; fail "second install"; }
log2="$(cat "$T/install2.log")"
contains "$log2" "Installing tdgpt-anode $VERSION.1 over $VERSION under $P" "second install"
grep -q "^version=$VERSION.1$" "$P/usr/local/taos/taosanode/VERSION" || fail "the upgrade did not record its version"
contains "$log2" "config: kept $P/etc/taos/taosanode.ini (yours); this package's version is $P/etc/taos/taosanode.ini.new" "second install"
contains "$log2" "venv is up to date" "second install reuses the venv"
grep -q "^# operator's edit$" "$P/etc/taos/taosanode.ini" || fail "the second install lost the operator's edit"
[ -f "$P/etc/taos/taosanode.ini.new" ] || fail "no .new written"
[ "$(stat -c %i:%Y "$P/var/lib/taos/taosanode/venv/bin/python")" = "$venv_id" ] || fail "the venv was rebuilt"
ok "upgrade to $VERSION.1: config kept (.new beside it), venv reused ($(( $(date +%s) - t0 )) s)"

# data survives the upgrade
"$P/usr/local/bin/tsdb" serve --config "$P/etc/taos/tsdb.ini" > "$T/tsdb2.out" 2>&1 &
TPID=$!; PIDS+=("$TPID")
for _ in $(seq 1 120); do "${SH[@]}" -s "select count(*) from shop.sales" >/dev/null 2>&1 && break; sleep 0.5; done
cnt="$("${SH[@]}" -s "select count(*) from shop.sales")"
contains "$cnt" "48" "rows after the upgrade"
kill -TERM "$TPID"; wait "$TPID" || fail "the tsdb exited $? on SIGTERM"
ok "the database kept its 48 rows over the upgrade"

# --- uninstall -----------------------------------------------------------------------
out="$("$P/usr/local/bin/rmtaosanode")"
contains "$out" "Kept (remove them yourself when no longer needed):" "rmtaosanode"
contains "$out" "$P/var/lib/taos/taosanode/venv" "rmtaosanode names the venv"
out="$("$P/usr/local/taos/tsdb/bin/rmtsdb")"
contains "$out" "$P/var/lib/taos/tsdb" "rmtsdb names the data"
for f in usr/local/taos usr/local/bin/anode usr/local/bin/tsdb usr/local/bin/rmtaosanode \
         etc/systemd/system/taosanoded.service etc/systemd/system/tsdbd.service; do
  [ ! -e "$P/$f" ] && [ ! -L "$P/$f" ] || fail "$P/$f remains after uninstall"
done
for f in etc/taos/taosanode.ini etc/taos/tsdb.ini var/lib/taos/taosanode/venv/bin/python \
         var/lib/taos/taosanode/model/sample-ad-autoencoder var/lib/taos/tsdb \
         var/log/taos/taosanode/taosanode.app.log; do
  [ -e "$P/$f" ] || fail "uninstall removed $P/$f"
done
ok "rmtaosanode + rmtsdb: binaries, units, links gone; config, data, models, venv, logs kept"
echo "tests/install.sh: all passed in $(( $(date +%s) - started )) s"
