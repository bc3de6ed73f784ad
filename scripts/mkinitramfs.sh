#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest initramfs for a kernel build directory and print its path.
#
#   mkinitramfs.sh KDIR
#
# Contents: static busybox, scripts/guest-init as /init, the kernel's own
# modules (rcuscale, refscale, locktorture, torture) with depmod data when
# KDIR/modroot exists, and the kernel's kselftest KTAP helpers.  The image is
# cached next to the kernel, keyed by everything that goes into it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

kdir=${1:?usage: mkinitramfs.sh KDIR}
busybox=$(command -v busybox) || die "busybox not found (run scripts/deps.sh)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked; install Debian's busybox-static"

# An O= build directory links its source tree as "source".
ktap=""
for d in "$kdir/source" "$kdir"; do
	if [ -f "$d/tools/testing/selftests/kselftest/ktap_helpers.sh" ]; then
		ktap=$d/tools/testing/selftests/kselftest/ktap_helpers.sh
		break
	fi
done

# A tree the project did not build has no modroot/ (and may lack the KTAP
# helpers): those parts are optional, and `if` keeps a missing one from
# failing the key's pipeline under set -e/pipefail.
key=$( {
	sha256sum "$busybox" "$here/guest-init"
	if [ -n "$ktap" ]; then sha256sum "$ktap"; fi
	if [ -d "$kdir/modroot" ]; then
		find "$kdir/modroot" -type f -printf '%P %s %T@\n' | sort
	fi
	} | sha256sum | cut -c1-12)
out=$kdir/initramfs-$key.cpio.gz
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt/repo,mnt/results,usr/share/kselftest,lib/modules}
cp "$busybox" "$root/bin/busybox"
for a in sh mount; do ln -s busybox "$root/bin/$a"; done
cp "$here/guest-init" "$root/init"
chmod 755 "$root/init"
if [ -n "$ktap" ]; then cp "$ktap" "$root/usr/share/kselftest/ktap_helpers.sh"; fi
if [ -d "$kdir/modroot/lib/modules" ]; then
	cp -a "$kdir/modroot/lib/modules/." "$root/lib/modules/"
	# The source/build links point into the host's cache.
	find "$root/lib/modules" -maxdepth 2 -type l -delete
fi
# Runners may build the same image at once: each writes its own temporary
# file and renames it into place, which is atomic; older images go after.
tmp=$(mktemp "$out.XXXXXX")
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$tmp"
mv "$tmp" "$out"
find "$kdir" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -name "$(basename "$out")" -delete
echo "$out"
