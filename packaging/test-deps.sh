#!/usr/bin/env bash
# What the tests need from Debian besides Python. With everything there it only checks (any
# user, exit 0); with something missing it installs it as root, and otherwise prints the exact
# `sudo apt-get` line and stops the test run before it starts (exit 1). Terraform is not
# needed: tests/unit/test_terraform.py parses packaging/terraform with python-hcl2.
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
command -v xwininfo >/dev/null || need+=(x11-utils)            # the kiosk's window geometry
command -v xinit >/dev/null || need+=(xinit)                   # the kiosk unit's check (ExecStart)
command -v dpkg-deb >/dev/null || need+=(dpkg-dev)             # the package
[ -x /usr/bin/python3.11 ] || need+=(python3.11)               # the package's interpreter
dpkg -s python3-venv >/dev/null 2>&1 || need+=(python3-venv)
for lib in libxcb-icccm4 libxcb-keysyms1; do                    # Qt's xcb platform
  dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing what the tests need: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The packages' daemons (prometheus, alertmanager) must not start: the tests start their
    # own on other ports, and nothing already running here is stopped. Debian's policy-rc.d
    # answers 101 (action forbidden) to invoke-rc.d and deb-systemd-invoke for the install;
    # the machine's own policy, if it has one, is put back afterwards.
    policy=/usr/sbin/policy-rc.d
    saved=""
    if [ -e "$policy" ]; then
      saved=$(mktemp)
      cp -a "$policy" "$saved"
    fi
    restore_policy() {
      if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
    }
    trap restore_policy EXIT
    printf '#!/bin/sh\n# packaging/test-deps.sh: no service starts while it installs\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    restore_policy
    trap - EXIT
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
