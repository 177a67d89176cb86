#!/usr/bin/env bash
# Installs the anode (taosanoded) and the tsdb (tsdbd) from this package, in
# the layout of TDgpt's documentation:
#
#   /usr/local/taos/taosanode/bin       anode, rmtaosanode
#   /usr/local/taos/taosanode/lib       the Python side (taosanalytics, the worker bridge)
#   /usr/local/taos/taosanode/resource  -> /var/lib/taos/taosanode/resource (plugins/)
#   /usr/local/taos/taosanode/share     this script, config templates, units (for upgrades and the .deb)
#   /usr/local/taos/tsdb/bin            tsdb, rmtsdb
#   /var/lib/taos/taosanode/model       model files        /var/lib/taos/tsdb   database files
#   /var/lib/taos/taosanode/venv        the Python venv    /var/log/taos/...    logs
#   /etc/taos/taosanode.ini, /etc/taos/tsdb.ini            never overwritten (.new beside them)
#   /etc/systemd/system/taosanoded.service, tsdbd.service
#   /usr/local/bin/{anode,tsdb,rmtaosanode,rmtsdb}         links
#
# Idempotent: run it again, or run a newer package's, and config, data,
# models and the venv stay; running services are restarted.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: ./install.sh [options]

  --prefix DIR   install under DIR instead of / (no root needed; no user,
                 no systemctl; the units and configs name paths under DIR)
  DESTDIR=DIR    (environment) stage the files under DIR for a package:
                 they name the paths without DIR; implies --files-only
  --python PATH  the Python for the venv (default: python3.X of the package's
                 build, else python3); 3.10 or newer, with pip and venv
  --user NAME    the account the services run as (default: taos, created
                 when missing; root runs them as root)
  --no-venv      do not create or update the venv (native algorithms only,
                 until `install.sh` runs again without it)
  --no-start     install and enable the services, do not start them
  --files-only   copy files only (how the .deb is built)
  --configure    configure an installed copy only: config, user, venv,
                 services (what the .deb runs after unpacking)
  -h, --help     this text
EOF
}

PREFIX=""
# a staging root for packages: files go under it, the paths in them do not
D="${DESTDIR:-}"
D="${D%/}"
PYTHON=""
SERVICE_USER="taos"
VENV=1
START=1
PHASE="all"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; shift ;;
    --python) PYTHON="${2:?--python needs a path}"; shift 2 ;;
    --python=*) PYTHON="${1#--python=}"; shift ;;
    --user) SERVICE_USER="${2:?--user needs a name}"; shift 2 ;;
    --user=*) SERVICE_USER="${1#--user=}"; shift ;;
    --no-venv) VENV=0; shift ;;
    --no-start) START=0; shift ;;
    --files-only) PHASE="files"; shift ;;
    --configure) PHASE="configure"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
  esac
done

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "  $*"; }

PKG="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
[ -f "$PKG/VERSION" ] || die "$PKG/VERSION is missing: run install.sh from the unpacked package"
# VERSION: "version=0.1.0", "python=3.11", "arch=x86_64"
VERSION="$(sed -n 's/^version=//p' "$PKG/VERSION")"
PY_ABI="$(sed -n 's/^python=//p' "$PKG/VERSION")"

case "$PREFIX" in
  *'|'*) die "--prefix must not contain '|'" ;;
  "") ;;
  /*) PREFIX="${PREFIX%/}" ;;
  *) PREFIX="$(pwd)/${PREFIX%/}" ;;
esac
if [ -n "$D" ]; then
  [ "$PHASE" != "configure" ] || die "DESTDIR only stages files; --configure runs on the installed copy"
  PHASE="files"
elif [ -z "$PREFIX" ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo ./install.sh), or give --prefix DIR for an install without root"
fi

ANODE_HOME="$PREFIX/usr/local/taos/taosanode"
TSDB_HOME="$PREFIX/usr/local/taos/tsdb"
SHARE="$ANODE_HOME/share"
ETC="$PREFIX/etc/taos"
ANODE_VAR="$PREFIX/var/lib/taos/taosanode"
TSDB_VAR="$PREFIX/var/lib/taos/tsdb"
ANODE_LOG="$PREFIX/var/log/taos/taosanode"
TSDB_LOG="$PREFIX/var/log/taos/tsdb"
UNITS="$PREFIX/etc/systemd/system"
LINKS="$PREFIX/usr/local/bin"

# systemctl only for a real install on a machine where systemd runs
SYSTEMD=0
if [ -z "$PREFIX" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  SYSTEMD=1
fi

# The files of the package name the documented paths; under a prefix they
# move with it.
relocate() {
  if [ -z "$PREFIX" ]; then cat; return; fi
  sed -e "s|/usr/local/taos|$PREFIX/usr/local/taos|g" \
      -e "s|/etc/taos|$PREFIX/etc/taos|g" \
      -e "s|/var/lib/taos|$PREFIX/var/lib/taos|g" \
      -e "s|/var/log/taos|$PREFIX/var/log/taos|g"
}

# --- Python -----------------------------------------------------------------

# The anode's Python workers embed libpython$PY_ABI, so the venv must be
# made by that same Python.
find_python() {
  if [ -n "$PYTHON" ]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "--python $PYTHON: no such program"
    return
  fi
  if command -v "python$PY_ABI" >/dev/null 2>&1; then
    PYTHON="$(command -v "python$PY_ABI")"
  elif command -v python3 >/dev/null 2>&1; then
    PYTHON="$(command -v python3)"
  else
    die "Python 3.10 or newer is required and none was found: install it (Debian/Ubuntu: apt-get install python3 python3-venv python3-pip), or pass --no-venv for the native algorithms only"
  fi
}

check_python() {
  local v
  v="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" \
    || die "$PYTHON does not run as a Python interpreter"
  local major="${v%%.*}" minor="${v#*.}"
  if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 10 ]; }; then
    die "Python 3.10 or newer is required, found $v at $PYTHON: install a newer one (Debian/Ubuntu: apt-get install python3) or pass --python PATH"
  fi
  if [ "$v" != "$PY_ABI" ]; then
    die "this package's anode embeds Python $PY_ABI, found $v at $PYTHON: install Python $PY_ABI with its shared library (Debian: apt-get install python$PY_ABI libpython$PY_ABI python$PY_ABI-venv), pass --python PATH to one, build the package here with 'make dist', or pass --no-venv for the native algorithms only"
  fi
  "$PYTHON" -m pip --version >/dev/null 2>&1 \
    || die "pip is missing for $PYTHON: install it (Debian/Ubuntu: apt-get install python3-pip) or pass --no-venv"
  "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 \
    || die "the venv module is missing for $PYTHON: install it (Debian/Ubuntu: apt-get install python$PY_ABI-venv) or pass --no-venv"
  # the interpreter itself, not a wrapper such as a pyenv shim
  PYTHON="$("$PYTHON" -c 'import sys; print(sys.executable)')"
}

# --- phase 1: files -----------------------------------------------------------

install_files() {
  local from="$1"
  # the anode must load here (it links libpython$PY_ABI for its workers)
  if ! out="$("$from/bin/anode" --version 2>&1)"; then
    die "the packaged anode does not run on this machine: $out
  It embeds Python $PY_ABI: install its shared library (Debian: apt-get install libpython$PY_ABI), or build the package here with 'make dist'."
  fi
  install -d "$D$ANODE_HOME/bin" "$D$ANODE_HOME/lib" "$D$SHARE" "$D$TSDB_HOME/bin" "$D$LINKS" \
    "$D$ANODE_VAR/model" "$D$ANODE_VAR/resource/plugins" "$D$ANODE_LOG" "$D$TSDB_VAR" "$D$TSDB_LOG" \
    "$D$ETC" "$D$UNITS"
  # binaries: write beside, then rename, so a running one is never torn
  install -m 0755 "$from/bin/anode" "$D$ANODE_HOME/bin/.anode.new"
  mv -f "$D$ANODE_HOME/bin/.anode.new" "$D$ANODE_HOME/bin/anode"
  install -m 0755 "$from/bin/tsdb" "$D$TSDB_HOME/bin/.tsdb.new"
  mv -f "$D$TSDB_HOME/bin/.tsdb.new" "$D$TSDB_HOME/bin/tsdb"
  say "binaries: $ANODE_HOME/bin/anode, $TSDB_HOME/bin/tsdb ($("$D$ANODE_HOME/bin/anode" --version))"
  # the uninstallers know the prefix they were installed under
  sed "s|^PREFIX=.*|PREFIX=\"$PREFIX\"|" "$from/bin/rmtaosanode" > "$D$ANODE_HOME/bin/rmtaosanode"
  sed "s|^PREFIX=.*|PREFIX=\"$PREFIX\"|" "$from/bin/rmtsdb" > "$D$TSDB_HOME/bin/rmtsdb"
  chmod 0755 "$D$ANODE_HOME/bin/rmtaosanode" "$D$TSDB_HOME/bin/rmtsdb"
  # the Python side is replaced whole (a removed module must not linger)
  rm -rf "$D$ANODE_HOME/lib.new"
  cp -R "$from/lib" "$D$ANODE_HOME/lib.new"
  rm -rf "$D$ANODE_HOME/lib"
  mv "$D$ANODE_HOME/lib.new" "$D$ANODE_HOME/lib"
  say "Python side: $ANODE_HOME/lib"
  ln -sfn "$ANODE_VAR/resource" "$D$ANODE_HOME/resource"
  # what --configure needs later (upgrades, the .deb)
  if [ "$from" != "$SHARE" ]; then
    rm -rf "$D$SHARE"
    install -d "$D$SHARE"
    cp -R "$from/cfg" "$from/systemd" "$from/model" "$D$SHARE/"
    cp "$from/VERSION" "$from/install.sh" "$D$SHARE/"
    cp "$from/bin/rmtaosanode" "$from/bin/rmtsdb" "$D$SHARE/"
  fi
  cp "$from/VERSION" "$D$ANODE_HOME/VERSION"
  cp "$from/VERSION" "$D$TSDB_HOME/VERSION"
  for b in "$ANODE_HOME/bin/anode" "$ANODE_HOME/bin/rmtaosanode" "$TSDB_HOME/bin/tsdb" "$TSDB_HOME/bin/rmtsdb"; do
    ln -sfn "$b" "$D$LINKS/$(basename "$b")"
  done
  say "commands: $LINKS/{anode,tsdb,rmtaosanode,rmtsdb}"
}

# --- phase 2: configure ---------------------------------------------------------

install_config() {
  local name="$1" target="$ETC/$1" new
  new="$(relocate < "$SHARE/cfg/$name")"
  if [ ! -e "$target" ]; then
    printf '%s\n' "$new" > "$target"
    say "config: wrote $target"
  elif [ "$(cat "$target")" = "$new" ]; then
    say "config: $target is current"
  else
    printf '%s\n' "$new" > "$target.new"
    say "config: kept $target (yours); this package's version is $target.new"
  fi
}

install_unit() {
  local unit="$1" text
  text="$(relocate < "$SHARE/systemd/$unit")"
  if [ "$SERVICE_USER" = "root" ]; then
    text="$(printf '%s\n' "$text" | sed -e '/^User=/d' -e '/^Group=/d')"
  else
    text="$(printf '%s\n' "$text" | sed -e "s/^User=.*/User=$SERVICE_USER/" -e "s/^Group=.*/Group=$SERVICE_USER/")"
  fi
  printf '%s\n' "$text" > "$UNITS/$unit"
  say "unit: $UNITS/$unit"
}

ensure_user() {
  [ -z "$PREFIX" ] || return 0
  [ "$SERVICE_USER" != "root" ] || return 0
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    command -v useradd >/dev/null 2>&1 || die "useradd is missing: create the user $SERVICE_USER yourself, or pass --user root"
    useradd --system --home-dir /var/lib/taos --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
    say "user: created $SERVICE_USER (the services run as it)"
  fi
  chown -R "$SERVICE_USER:" "$ANODE_VAR/model" "$ANODE_VAR/resource" "$ANODE_LOG" "$TSDB_VAR" "$TSDB_LOG"
  chown "$SERVICE_USER:" "$ANODE_VAR"
  # the venv is read, never written, by the service
  if [ -n "$PYTHON" ] && ! runuser -u "$SERVICE_USER" -- "$PYTHON" -c '' >/dev/null 2>&1; then
    echo "install.sh: warning: $SERVICE_USER cannot run $PYTHON (is it under a home directory?):" >&2
    echo "  the Python algorithms will not start; reinstall with --user root or a system Python" >&2
  fi
}

venv_path() {
  # [uwsgi] virtualenv of the installed config (the operator may have moved it)
  local v
  v="$(sed -n 's/^[[:space:]]*virtualenv[[:space:]]*=[[:space:]]*//p' "$ETC/taosanode.ini" | tail -1)"
  echo "${v:-$ANODE_VAR/venv}"
}

install_venv() {
  local venv
  venv="$(venv_path)"
  echo "Python venv $venv (with $PYTHON):"
  if ! "$PYTHON" "$ANODE_HOME/lib/setup_venv.py" --venv "$venv" --progress; then
    echo "install.sh: warning: the venv is not ready, so the anode serves its native algorithms only;" >&2
    echo "  fix the error above and run install.sh again (it reuses what is there)" >&2
  fi
}

configure() {
  install_config taosanode.ini
  install_config tsdb.ini
  # the sample models ship with the package; a user's files are never replaced
  for m in "$SHARE/model/"*; do
    [ -e "$m" ] || continue
    if [ ! -e "$ANODE_VAR/model/$(basename "$m")" ]; then
      cp -R "$m" "$ANODE_VAR/model/"
      say "model: $ANODE_VAR/model/$(basename "$m")"
    fi
  done
  install_unit taosanoded.service
  install_unit tsdbd.service
  ensure_user
  if [ "$VENV" -eq 1 ]; then
    install_venv
  else
    say "venv: skipped (--no-venv): the anode serves its native algorithms only"
  fi
  if [ "$SYSTEMD" -eq 1 ]; then
    systemctl daemon-reload
    systemctl enable taosanoded.service tsdbd.service >/dev/null 2>&1
    say "services: taosanoded and tsdbd enabled"
    # --no-start leaves stopped services stopped, but restarts the ones
    # this upgrade stopped
    local start="$RUNNING"
    [ "$START" -eq 1 ] && start="taosanoded tsdbd"
    for s in $start; do
      systemctl restart "$s.service" || die "$s did not start: see 'systemctl status $s' and 'journalctl -u $s'"
      say "service: $s started"
    done
  else
    say "services: systemd is not managing this install; start them with"
    say "  $ANODE_HOME/bin/anode --config $ETC/taosanode.ini"
    say "  $TSDB_HOME/bin/tsdb serve --config $ETC/tsdb.ini"
  fi
}

# --- main -------------------------------------------------------------------------

OLD=""
[ -f "$D$ANODE_HOME/VERSION" ] && OLD="$(sed -n 's/^version=//p' "$ANODE_HOME/VERSION")"
case "$PHASE" in
  configure) echo "Configuring tdgpt-anode $VERSION${PREFIX:+ under $PREFIX}" ;;
  *) if [ -n "$OLD" ]; then
       echo "Installing tdgpt-anode $VERSION over $OLD${PREFIX:+ under $PREFIX}"
     else
       echo "Installing tdgpt-anode $VERSION${PREFIX:+ under $PREFIX}"
     fi ;;
esac
if [ "$PHASE" != "files" ] && [ "$VENV" -eq 1 ]; then
  # fail before touching anything (configure and install_venv use PYTHON)
  find_python
  check_python
fi
RUNNING=""
if [ "$SYSTEMD" -eq 1 ] && [ "$PHASE" = "all" ]; then
  for s in tsdbd taosanoded; do
    if systemctl is-active --quiet "$s.service"; then
      RUNNING="$RUNNING $s"
      systemctl stop "$s.service"
      say "service: $s stopped for the upgrade"
    fi
  done
fi
case "$PHASE" in
  files) install_files "$PKG" ;;
  configure) configure ;;
  all) install_files "$PKG"; configure ;;
esac
echo "Done. Uninstall with rmtaosanode and rmtsdb (they keep config, data, models and the venv)."
