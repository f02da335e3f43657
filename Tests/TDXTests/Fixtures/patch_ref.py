#!/usr/bin/env python3
"""Writes pe64_kernel.patched-<initrd>-<mem>.efi: pe64_kernel.efi with QEMU's setup-header rewrite applied,
following the algorithm in the TDX catalog (Sources/TDX/TDX.docc, article "Kernel Measurement"), so the expected Authenticode
digest of the patched kernel comes from signify over these bytes, not from EnclaveKit. Usage: patch_ref.py INITRD MEM"""
import struct, sys

initrd_size, mem = int(sys.argv[1], 0), int(sys.argv[2], 0)
kd = bytearray(open("pe64_kernel.efi", "rb").read())
protocol = struct.unpack_from("<H", kd, 0x206)[0]
real, cmdl = (0x90000, 0x9a000) if protocol < 0x200 or not (kd[0x211] & 1) else (0x10000, 0x20000)
if protocol >= 0x200: kd[0x210] = 0xb0
if protocol >= 0x201:
    kd[0x211] |= 0x80
    struct.pack_into("<I", kd, 0x224, cmdl - real - 0x200)
if protocol >= 0x202: struct.pack_into("<I", kd, 0x228, cmdl)
if initrd_size > 0:
    initrd_max = 0xffffffff if protocol >= 0x20c and struct.unpack_from("<H", kd, 0x236)[0] & 0x40 else 0x37ffffff
    lowmem = 0xb0000000 if mem < 0xb0000000 else 0x80000000
    below = lowmem if mem >= lowmem else mem
    if initrd_max >= below - 0x28000: initrd_max = below - 0x28000 - 1
    struct.pack_into("<II", kd, 0x218, (initrd_max - initrd_size) & ~4095, initrd_size)
open("pe64_kernel.patched-%d-%d.efi" % (initrd_size, mem), "wb").write(kd)
