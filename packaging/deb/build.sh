#!/usr/bin/env bash
# Builds dist/bessai-edge_<version>_<arch>.deb: the app in its own virtual environment under
# /opt/bessai (on Debian's python3.11), `bessai` on PATH, the service and kiosk units, a
# `bessai` system user, DATA_DIR /var/lib/bessai (0700) and config in /etc/bessai.
set -euo pipefail
cd "$(dirname "$0")/../.."

python=${DEB_PYTHON:-/usr/bin/python3.11}
version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
arch=$(dpkg --print-architecture)
stage=build/deb/bessai-edge
out=dist/bessai-edge_${version}_${arch}.deb

rm -rf build/deb
mkdir -p "$stage/DEBIAN" "$stage/opt/bessai" "$stage/usr/bin" "$stage/lib/systemd/system" \
  "$stage/etc/bessai" "$stage/usr/share/doc/bessai-edge" dist

# The virtual environment is built in the package tree, then its scripts are pointed at
# where it will live (/opt/bessai/.venv): the interpreter itself is Debian's.
"$python" -m venv "$stage/opt/bessai/.venv"
"$stage/opt/bessai/.venv/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check .
built=$(cd "$stage" && pwd)
grep -rlI --null "$built/opt/bessai/.venv" "$stage/opt/bessai/.venv/bin" \
  | xargs -0 -r sed -i "s#$built/opt/bessai/.venv#/opt/bessai/.venv#g"
find "$stage/opt/bessai/.venv" -name '__pycache__' -type d -prune -exec rm -rf {} +
ln -s /opt/bessai/.venv/bin/bessai "$stage/usr/bin/bessai"

install -m 0644 packaging/systemd/bessai.service "$stage/lib/systemd/system/bessai.service"
if [ -f packaging/kiosk/bessai-kiosk.service ]; then
  install -m 0644 packaging/kiosk/bessai-kiosk.service "$stage/lib/systemd/system/"
  install -m 0755 packaging/kiosk/bessai-kiosk-session "$stage/usr/bin/"
fi
sed -e 's#^\#\?DATA_DIR=.*#DATA_DIR=/var/lib/bessai#' config/.env.example > "$stage/etc/bessai/bessai.env"
grep -q '^DATA_DIR=' "$stage/etc/bessai/bessai.env" || echo 'DATA_DIR=/var/lib/bessai' >> "$stage/etc/bessai/bessai.env"
install -m 0644 config/site.example.toml "$stage/etc/bessai/site.example.toml"
install -m 0644 README.md "$stage/usr/share/doc/bessai-edge/README.md"

size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: bessai-edge
Version: $version
Architecture: $arch
Maintainer: BESSAI Edge <bessai@localhost>
Installed-Size: $size
Depends: python3.11, adduser, libxcb-icccm4, libxcb-keysyms1, libxcb-cursor0
Recommends: xinit, xserver-xorg, x11-xserver-utils
Section: misc
Priority: optional
Description: BESSAI Edge: gateway and operator app for battery energy storage
 Modbus TCP/RTU to inverters and battery management systems, a safety guard,
 intrusion detection, ONNX dispatch, /health and /metrics, store-and-forward
 to Google Cloud Pub/Sub, and a PySide6 operator app for the container's panel.
CONTROL
echo "/etc/bessai/bessai.env" > "$stage/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"

dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$out" >/dev/null
echo "$out"
