#!/usr/bin/env python3
"""Writes the small synthetic PE/COFF images used by AuthenticodeTests (deterministic bytes).

pe64_kernel.efi  PE32+, 6 data directories, 3 sections listed out of file order, trailing data and an
                 8-byte-aligned certificate table; it also carries a Linux setup header ("HdrS", boot
                 protocol 2.15, XLF_CAN_BE_LOADED_ABOVE_4G) so the QEMU header patch applies to it.
pe32_plain.efi   PE32, 16 data directories, no certificate table, trailing data.
pe64_fewdirs.efi PE32+, 4 data directories (no security entry), an empty section.
The expected digests in authenticode.txt come from signify (PyPI), not from EnclaveKit.
"""
import struct

def pattern(n, seed):
    return bytes((i * 7 + seed * 13 + (i >> 8)) & 0xff for i in range(n))

def build(pe32plus, nrva, sections, trailing, cert, setup_header):
    lfanew = 0x40
    opt_size = (112 if pe32plus else 96) + 8 * nrva
    size_of_headers = 0x400
    img = bytearray(size_of_headers)
    img[0:2] = b"MZ"
    struct.pack_into("<I", img, 0x3c, lfanew)
    img[lfanew:lfanew + 4] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", img, lfanew + 4, 0x8664, len(sections), 0, 0, 0, opt_size, 0x206)
    opt = lfanew + 24
    struct.pack_into("<H", img, opt, 0x20b if pe32plus else 0x10b)
    struct.pack_into("<I", img, opt + 60, size_of_headers)
    struct.pack_into("<I", img, opt + 64, 0xdeadbeef)  # CheckSum: excluded from the hash
    struct.pack_into("<I", img, opt + (108 if pe32plus else 92), nrva)
    dd = opt + (112 if pe32plus else 96)
    for i in range(nrva):
        if i != 4:  # entry 4 is the certificate table, set below when there is one
            struct.pack_into("<II", img, dd + 8 * i, 0x1000 * (i + 1), 0x10 * (i + 1))
    body = bytearray()
    offset = size_of_headers
    table = opt + opt_size
    placed = []
    for (name, size) in sections:
        placed.append((name, offset, size))
        body += pattern(size, len(placed))
        offset += size
    # List sections out of file order (the hash sorts them by PointerToRawData).
    for i, (name, ptr, size) in enumerate(reversed(placed)):
        e = table + 40 * i
        img[e:e + 8] = name.ljust(8, b"\0")
        struct.pack_into("<IIII", img, e + 8, size, 0x1000 * (i + 1), size, ptr if size else 0)
    data = img + body + pattern(trailing, 99)
    if setup_header:
        data[0x1f1] = 1  # setup_sects
        struct.pack_into("<I", data, 0x202, 0x53726448)  # "HdrS"
        struct.pack_into("<H", data, 0x206, 0x020f)
        data[0x211] = 0x01  # LOADED_HIGH
        struct.pack_into("<H", data, 0x236, 0x0040)  # XLF_CAN_BE_LOADED_ABOVE_4G
    if cert:
        while len(data) % 8:
            data += b"\0"
        struct.pack_into("<II", data, dd + 32, len(data), cert)
        data += pattern(cert, 7)
    return bytes(data)

open("pe64_kernel.efi", "wb").write(
    build(True, 6, [(b".setup", 0x600), (b".text", 0x1200), (b".data", 0x280)], 100, 64, True))
open("pe32_plain.efi", "wb").write(build(False, 16, [(b".text", 0x200), (b".rdata", 0x333)], 37, 0, False))
open("pe64_fewdirs.efi", "wb").write(build(True, 4, [(b".text", 0x800), (b".bss", 0)], 12, 0, False))
