#!/usr/bin/env bash
# Installs what `npm run demo` and `npm test` need and is missing: Debian packages (as root) and
# npm packages. Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-demo}"

need_debs=()
want() { command -v "$1" >/dev/null 2>&1 || need_debs+=("$2"); }
want redis-server redis-server
want adb adb
want mke2fs e2fsprogs
want debugfs e2fsprogs
want simg2img android-sdk-libsparse-utils
want aapt aapt
want aapt2 aapt
want apksigner apksigner
want smali smali
want java openjdk-17-jre-headless
want zip zip
want mkfs.erofs erofs-utils
[ -f /usr/share/android-framework-res/framework-res.apk ] || need_debs+=(android-framework-res)
# The cage (docs/cage.md): namespaces and veth pairs, the edge rules, relays into the cage, the
# containment probe's ping and the edge pcap. conntrack is optional: the cage reads
# /proc/net/nf_conntrack and only falls back to the conntrack tool where that file is absent.
want ip iproute2
want nft nftables
want socat socat
want ping iputils-ping
want dumpcap tshark
if [ "$purpose" = test ]; then
  want tshark tshark
  want chromium chromium
  want openssl openssl
fi

if [ "${#need_debs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${need_debs[*]} — run as root or: sudo apt-get install -y ${need_debs[*]}" >&2
    exit 5
  fi
  echo "setup: installing Debian packages: ${need_debs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  # `npm install`, not `npm ci`: mockttp names an optional dependency version the registry does
  # not have, which `npm ci` refuses while `npm install` skips it, as optional ones should be.
  npm install --no-audit --no-fund --loglevel=error >&2
fi

# Appium's UiAutomator2 driver lives in a project-local Appium home, installed from npm like the
# rest; the worker's Appium server finds it there (config: CANARYTRAP_APPIUM_HOME).
appium_home="${CANARYTRAP_APPIUM_HOME:-$PWD/.appium}"
uia2_version="$(node -p "require('./package.json').canarytrap.uiautomator2Driver")"
uia2_manifest="$appium_home/node_modules/appium-uiautomator2-driver/package.json"
uia2_installed="$( [ -f "$uia2_manifest" ] && node -p "require('$uia2_manifest').version" || true)"
if [ "$uia2_installed" != "$uia2_version" ]; then
  echo "setup: installing Appium's UiAutomator2 driver $uia2_version into $appium_home" >&2
  appium() { APPIUM_HOME="$appium_home" node_modules/.bin/appium "$@"; }
  [ -z "$uia2_installed" ] || appium driver uninstall uiautomator2 >&2
  appium driver install "uiautomator2@$uia2_version" >/dev/null
fi
