# bootstrap.sh — sourced by ./quickstart, ./run-tests and ./run-bench:
# installs the Debian packages inkan needs (only those missing) and builds.
# shellcheck shell=bash

INKAN_PACKAGES=(
  meson ninja-build gcc pkg-config
  libprotobuf-c-dev protobuf-c-compiler
  libseccomp-dev libsodium-dev libssl-dev openssl
  softhsm2 libp11-kit-dev
  p11-kit p11-kit-modules
  libmicrohttpd-dev libjansson-dev liboath-dev libsqlite3-dev
  libsystemd-dev libinih-dev libcurl4-openssl-dev libcmocka-dev
  curl jq procps
)
# Only for ./run-tests (it appends them): the browser test of the OAuth2
# consent page (tests/integration/t-oauth-browser.sh) drives headless
# Chromium with python3. About 300 MB and 30 s to install on Debian 12, so
# ./quickstart does not; without them that one test is skipped, saying so.
INKAN_TEST_PACKAGES=(chromium python3)

inkan_install_deps() {
  local missing=() p
  for p in "${INKAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "inkan: installing missing packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "inkan: need root or sudo to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# inkan_build DIR [meson options...]
inkan_build() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
}
