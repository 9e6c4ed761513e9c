#!/usr/bin/env bash
# Installs what webcall's build, `make run` and the tests need, on Debian 12.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
    nginx nginx-dev            # the nginx we load into, and its build tree
    libnginx-mod-stream        # the TLS-on-443 multiplexer (webcall-stream.conf)
    build-essential libssl-dev libjansson-dev
    libcmocka-dev clang libclang-rt-14-dev   # unit tests and fuzzers
    libevent-dev               # make bench: the load generator (tests/bench/loadgen.cpp)
    coturn                     # the TURN relay (and turnutils_uclient)
    chromium firefox-esr libnss3-tools       # end-to-end tests
    webkit2gtk-driver libwebkit2gtk-4.1-0 xvfb   # WebKit, the Safari engine:
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad   # MiniBrowser and its
                               # mock camera, driven over WebDriver (webkit.test.mjs)
    iproute2 nftables          # network namespaces in the browser tests
    iptables libnetfilter-queue-dev  # the simulated internet's delay line
                               # (this kernel has no netem: tests/lib/delayline.c)
    debhelper dpkg-dev fakeroot lintian      # make deb
    prometheus                 # the metrics test: the server and promtool
    curl openssl ca-certificates
    python3                    # the hardening test's local attacker (abstract sockets)
)
# Node.js (tests, web build): Debian's, unless one is already installed.
command -v npm >/dev/null || apt_packages+=(nodejs npm)

missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    # Debian would start the system nginx and coturn on install; webcall runs
    # its own, so keep the services from starting (policy-rc.d exit 101).
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod +x "$policy"
        trap '$sudo rm -f "$policy"' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"
fi

# npm install, not npm ci: with this machine's npm settings the lock file
# leaves out other platforms' optional packages, which npm ci refuses.
# --no-save keeps package.json and the lock file as they are.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm install --no-save --no-audit --no-fund --loglevel=error
fi
