#!/bin/bash
# Builds OVMF's AmdSevX64 platform (X64, GCC5, RELEASE) from an unpacked Debian edk2 source package and
# writes OUT/OVMF.fd: one 4 MiB image (no separate VARS) whose SEV metadata lists an SNP_KERNEL_HASHES
# section, so QEMU's kernel-hashes=on puts the kernel, initrd and command line into the SEV-SNP launch
# digest. See README.md.
#
#   build-amdsev.sh [SOURCE [OUT]]        (defaults: /inputs/edk2 and /build/out, as a recipe step)
set -euo pipefail
src=${1:-/inputs/edk2}
out=${2:-/build/out}
# A fixed build path: GenFw zeroes each module's CodeView debug entry but keeps its size, which follows
# the length of the path of the module's .dll, so a build elsewhere gives other bytes.
work=/tmp/edk2
jobs=${EDK2_JOBS:-2}

rm -rf "$work"
mkdir -p "$work" "$out"
cp -a "$src"/. "$work"/
chmod -R u+w "$work"
cd "$work"

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
