#!/usr/bin/env bash
# `make dist`: the installable packages of the anode and the tsdb.
#
#   bash packaging/dist.sh [--profile release|dev] [--out DIR] [--no-deb]
#
# writes DIR/tdgpt-anode-<version>-linux-<arch>.tar.gz (unpack, then
# `sudo ./install.sh`) and DIR/tdgpt-anode_<version>_<debian arch>.deb
# (the same files, configured by its postinst). DIR defaults to dist/.
# `--profile dev` packs the test build's binaries (no optimised build:
# tests/install.sh uses it).
#
# The anode's Python workers embed libpython of the Python this builds
# with ($PYO3_PYTHON, else python3): the package records that version, and
# install.sh and the .deb's dependencies ask for it.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=release
OUT=dist
DEB=1
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-deb) DEB=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "dist.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$PROFILE" in
  release) BUILD=(--release); BIN=target/release ;;
  dev) BUILD=(); BIN=target/debug ;;
  *) echo "dist.sh: --profile is release or dev" >&2; exit 2 ;;
esac

PYTHON="${PYO3_PYTHON:-$(command -v python3)}"
export PYO3_PYTHON="$PYTHON"
VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
ARCH="$(uname -m)"
PY_ABI="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
NAME="tdgpt-anode-$VERSION"

cargo build "${BUILD[@]}" -p anode -p tsdb
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
STAGE="$OUT/$NAME"
rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/lib" "$STAGE/cfg" "$STAGE/systemd" "$STAGE/model"
cp "$BIN/anode" "$BIN/tsdb" "$STAGE/bin/"
# debug info is for developers (the test build's is 300 MB of the 300 MB)
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$STAGE/bin/anode" "$STAGE/bin/tsdb"
fi
cp packaging/rmtaosanode packaging/rmtsdb "$STAGE/bin/"
# the Python side: our taosanalytics package, the worker bridge, the venv's
# requirements and the script that makes it
cp -R python/taosanalytics "$STAGE/lib/"
cp python/anode_bridge.py python/requirements.txt python/setup_venv.py "$STAGE/lib/"
find "$STAGE/lib" -name __pycache__ -prune -exec rm -rf {} +
cp packaging/taosanode.ini packaging/tsdb.ini "$STAGE/cfg/"
cp packaging/taosanoded.service packaging/tsdbd.service "$STAGE/systemd/"
cp -R models/. "$STAGE/model/"
rm -f "$STAGE/model/.gitkeep"
cp packaging/install.sh "$STAGE/"
cp docs/install.md "$STAGE/README.md"
printf 'version=%s\npython=%s\narch=%s\n' "$VERSION" "$PY_ABI" "$ARCH" > "$STAGE/VERSION"
TARBALL="$OUT/$NAME-linux-$ARCH.tar.gz"
tar -C "$OUT" --owner=0 --group=0 -czf "$TARBALL" "$NAME"
echo "dist: $TARBALL ($(du -h "$TARBALL" | cut -f1))"

[ "$DEB" -eq 1 ] || exit 0
if ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "dist: dpkg-deb is missing, no .deb (Debian: apt-get install dpkg)"
  exit 0
fi
DEB_ARCH="$(dpkg --print-architecture 2>/dev/null || echo "$ARCH")"
ROOT="$OUT/deb-root"
rm -rf "$ROOT"
DESTDIR="$ROOT" bash "$STAGE/install.sh" --no-venv >/dev/null
mkdir -p "$ROOT/DEBIAN"
cat > "$ROOT/DEBIAN/control" <<EOF
Package: tdgpt-anode
Version: $VERSION
Architecture: $DEB_ARCH
Maintainer: tdgpt-anode developers <tdgpt-anode@localhost>
Depends: libc6, python$PY_ABI, libpython$PY_ABI, python$PY_ABI-venv, python3-pip
Section: database
Priority: optional
Installed-Size: $(du -sk "$ROOT" | cut -f1)
Description: TDgpt-compatible analysis node (anode) and a TDengine-style time-series database
 The anode speaks TDgpt's taosanode REST protocol with native Rust
 algorithms and Python ones in a venv; the tsdb is a TDengine-style
 database that calls it from FORECAST and ANOMALY_WINDOW. Services:
 taosanoded and tsdbd. Removing the package keeps config, data, models
 and the venv under /etc/taos and /var/lib/taos.
EOF
for script in postinst prerm postrm; do
  install -m 0755 "packaging/deb/$script" "$ROOT/DEBIAN/$script"
done
DEBFILE="$OUT/tdgpt-anode_${VERSION}_$DEB_ARCH.deb"
# xz for what users download; the test build's package only needs to exist
ZIP=(-Zxz)
[ "$PROFILE" = release ] || ZIP=(-Zgzip -z1)
dpkg-deb --root-owner-group "${ZIP[@]}" --build "$ROOT" "$DEBFILE" >/dev/null
rm -rf "$ROOT"
echo "dist: $DEBFILE ($(du -h "$DEBFILE" | cut -f1))"
