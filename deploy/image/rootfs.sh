#!/bin/sh
# Lays out the runtime image's whole file tree in OUT: the bankscore binary, the shared libraries
# it links (the image starts from scratch: nothing else is in it), the shipped model bundles, the
# default settings and a passwd entry for the non-root user 10001. The Containerfile's build
# stage runs it; scripts/image_check.sh runs it on this machine's release build.
#
#   deploy/image/rootfs.sh BINARY OUT
set -eu
[ $# -eq 2 ] || { echo "usage: $0 BINARY OUT" >&2; exit 2; }
bin=$1 out=$2 here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
[ -x "$bin" ] || { echo "$0: $bin is not an executable" >&2; exit 1; }
[ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || { echo "$0: $out is not empty" >&2; exit 1; }

mkdir -p "$out/usr/local/bin" "$out/etc/bankscore" "$out/tmp"
chmod 1777 "$out/tmp"
cp "$bin" "$out/usr/local/bin/bankscore"
strip "$out/usr/local/bin/bankscore" 2>/dev/null || true

# Every library the dynamic linker resolves, and the linker itself, at the paths it looks in.
ldd "$bin" | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+ \(/ { print $1 }' | sort -u |
  while read -r lib; do
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done

cp -R "$root/models" "$out/models"
cp "$here/bankscore.toml" "$out/etc/bankscore/bankscore.toml"
printf 'root:x:0:0:root:/:/sbin/nologin\nbankscore:x:10001:10001:bankscore:/tmp:/sbin/nologin\n' \
  > "$out/etc/passwd"
printf 'root:x:0:\nbankscore:x:10001:\n' > "$out/etc/group"
