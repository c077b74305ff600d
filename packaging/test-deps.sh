#!/usr/bin/env bash
# What the tests need from Debian besides Python: installed when it can be (root with apt),
# otherwise the exact command to run is printed and the test run stops before it starts.
set -euo pipefail

need=()
command -v mbpoll >/dev/null || need+=(mbpoll)                 # a standard Modbus client
command -v socat >/dev/null || need+=(socat)                   # a serial pty pair for RTU
command -v promtool >/dev/null || need+=(prometheus)           # alert rules, live /metrics
command -v amtool >/dev/null || need+=(prometheus-alertmanager) # the monitoring stack's test
command -v xvfb-run >/dev/null || need+=(xvfb)                 # screenshots of the app
command -v systemd-analyze >/dev/null || need+=(systemd)       # the service unit's check
command -v xwd >/dev/null || need+=(x11-apps)                  # the kiosk's screenshots
command -v xset >/dev/null || need+=(x11-xserver-utils)        # the kiosk's screen blanking
command -v dpkg-deb >/dev/null || need+=(dpkg-dev)             # the package
[ -x /usr/bin/python3.11 ] || need+=(python3.11)               # the package's interpreter
dpkg -s python3-venv >/dev/null 2>&1 || need+=(python3-venv)
for lib in libxcb-icccm4 libxcb-keysyms1; do                    # Qt's xcb platform
  dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done

if ! command -v terraform >/dev/null; then                      # packaging/terraform's fmt check
  echo "the tests need terraform (HashiCorp's release, not a Debian package):" >&2
  echo "  https://developer.hashicorp.com/terraform/install" >&2
  exit 1
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing what the tests need: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # The packages start their servers; the tests start their own on other ports.
    systemctl stop prometheus prometheus-alertmanager >/dev/null 2>&1 || true
    pkill -x prometheus || true
    pkill -f /usr/bin/prometheus-alertmanager || true
  else
    echo "the tests need Debian packages that are missing; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
fi

emulator=${PUBSUB_EMULATOR_BIN:-/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator}
if [ ! -x "$emulator" ]; then
  echo "the cloud tests need Google's Pub/Sub emulator at $emulator; install Debian's" >&2
  echo "google-cloud-cli-pubsub-emulator (from Google's apt repository) or set PUBSUB_EMULATOR_BIN" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "the disk-fault tests mount small tmpfs file systems (full, read-only): run as root" >&2
  echo "  sudo make test" >&2
  exit 1
fi
