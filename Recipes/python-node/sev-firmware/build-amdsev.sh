#!/bin/bash
# Builds OVMF's AmdSevX64 platform (X64, GCC5, RELEASE) from Debian's edk2 source package and writes
# OUT/OVMF.fd: one 4 MiB image (no separate VARS) whose SEV metadata lists an SNP_KERNEL_HASHES
# section, so QEMU's kernel-hashes=on puts the kernel, initrd and command line into the SEV-SNP launch
# digest. See README.md.
#
#   build-amdsev.sh SOURCE [DEBIAN [OUT]]
#
# SOURCE is the unpacked upstream tree (the .orig.tar.xz), DEBIAN the unpacked debian/ directory (the
# .debian.tar.xz); the script overlays debian/ and applies debian/patches/series in order with
# `patch -p1`, as dpkg-source does for a 3.0 (quilt) package (no fuzz). Without DEBIAN, SOURCE is taken
# as already unpacked by dpkg-source. OUT defaults to /build/out, as a recipe step.
set -euo pipefail
src=${1:?usage: build-amdsev.sh SOURCE [DEBIAN [OUT]]}
debian=${2:-}
out=${3:-/build/out}
# A fixed build path: GenFw zeroes each module's CodeView debug entry but keeps its size, which follows
# the length of the path of the module's .dll, so a build elsewhere gives other bytes.
work=/tmp/edk2
jobs=${EDK2_JOBS:-2}

rm -rf "$work"
mkdir -p "$work" "$out"
cp -a "$src"/. "$work"/
chmod -R u+w "$work"
cd "$work"
if [ -n "$debian" ]; then
    rm -rf debian
    cp -a "$debian" debian
    chmod -R u+w debian
    while read -r patch _; do
        case $patch in '' | '#'*) continue ;; esac
        patch -p1 -F0 -N -s --no-backup-if-mismatch <"debian/patches/$patch" ||
            { echo "build-amdsev.sh: debian/patches/$patch does not apply" >&2; exit 1; }
    done <debian/patches/series
fi

# AmdSevX64 embeds a GRUB (OvmfPkg/AmdSev/Grub) that unlocks a LUKS disk with an injected SEV secret.
# A direct kernel boot does not use it. An empty grub.efi that is newer than grub.cfg and grub.sh makes
# the platform's PREBUILD step (grub.sh) keep it instead of running grub-mkimage; the FV then holds a
# Grub file with an empty PE32 section, and the boot manager's "Grub Bootloader" entry fails to load
# ("Not Found"), which matters only when no -kernel is given.
: > OvmfPkg/AmdSev/Grub/grub.efi
touch -d '@4102444800' OvmfPkg/AmdSev/Grub/grub.efi   # 2100-01-01: newer than any source file

export PYTHON_COMMAND=${PYTHON_COMMAND:-python3}
make -C BaseTools -j"$jobs" >"$work/basetools.log" 2>&1 || { tail -40 "$work/basetools.log" >&2; exit 1; }
set -- # edksetup.sh reads the caller's arguments
set +eu
. ./edksetup.sh >/dev/null
set -eu
build -n "$jobs" -a X64 -t GCC5 -b RELEASE -p OvmfPkg/AmdSev/AmdSevX64.dsc >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; exit 1; }
cp Build/AmdSev/RELEASE_GCC5/FV/OVMF.fd "$out/OVMF.fd"
