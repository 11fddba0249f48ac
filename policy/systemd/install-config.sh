#!/bin/sh
# install-config.sh REFERENCE TARGET — meson install step: put the reference
# configuration at TARGET unless one is there already (an integrator's
# edited configuration is never overwritten).
set -eu
src="${DESTDIR:-}$1"
dst="${DESTDIR:-}$2"
if [ -e "$dst" ]; then
  echo "inkan: keeping the existing $2 (reference copy: $1)"
  exit 0
fi
mkdir -p "$(dirname "$dst")"
cp "$src" "$dst"
chmod 0644 "$dst"
echo "inkan: installed $2"
