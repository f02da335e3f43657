#!/usr/bin/env python3
"""Boot an AmdSevX64 firmware without SEV under QEMU (TCG) and check its kernel-hashes verifier.

Without SEV, QEMU does not write the kernel-hashes table, so the firmware refuses the kernel
("VerifyBlob: Verifier called but no hashes table discoverd in MEMFD"). This script writes the same
table itself, with QEMU's generic loader device, at the GPA the firmware's GUID table names. Without
SEV, QEMU serves the kernel with its setup header rewritten (tdx-and-sev-snp.md 2.5; it skips the
rewrite only for confidential guests), so the kernel hash here is over those bytes: the bytes the
firmware reads. The boot passes when the serial console shows EXPECT; with --tamper the command-line
hash is wrong and the boot must NOT show it (the firmware refuses the blob).

  boot-check.py FIRMWARE KERNEL INITRD CMDLINE EXPECT [--memory-mib 1024] [--timeout 240] [--tamper]
"""
import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time
import uuid


def guid_table(fw):
    """The OVMF reset-vector GUID table: {guid: data} (tdx-and-sev-snp.md section 0)."""
    end = len(fw) - 32
    if uuid.UUID(bytes_le=fw[end - 16:end]) != uuid.UUID("96b582de-1fb2-45f7-baea-a366c55a082d"):
        sys.exit("boot-check: no OVMF GUID table footer")
    total = struct.unpack_from("<H", fw, end - 18)[0]
    region = fw[end - total:end - 18]
    entries, off = {}, len(region)
    while off >= 18:
        guid = uuid.UUID(bytes_le=region[off - 16:off])
        length = struct.unpack_from("<H", region, off - 18)[0]
        if length < 18 or length > off:
            sys.exit("boot-check: damaged GUID table")
        entries[guid] = region[off - length:off - 18]
        off -= length
    return entries


def qemu_served_kernel(kernel, initrd_size, memory):
    """The kernel as QEMU's x86_load_linux serves it to a non-confidential guest (q35)."""
    k = bytearray(kernel)
    u16 = lambda o: struct.unpack_from("<H", k, o)[0]
    u32 = lambda o: struct.unpack_from("<I", k, o)[0]
    protocol = u16(0x206)
    real, cmdl = (0x90000, 0x9A000) if protocol < 0x200 or not (k[0x211] & 1) else (0x10000, 0x20000)
    if protocol >= 0x200:
        k[0x210] = 0xB0
    if protocol >= 0x201:
        k[0x211] |= 0x80
        struct.pack_into("<I", k, 0x224, cmdl - real - 0x200)
    if protocol >= 0x202:
        struct.pack_into("<I", k, 0x228, cmdl)
    else:
        struct.pack_into("<H", k, 0x20, 0xA33F)
        struct.pack_into("<H", k, 0x22, cmdl - real)
    if initrd_size > 0:
        if protocol >= 0x20C and (u16(0x236) & 0x40):
            initrd_max = 0xFFFFFFFF
        elif protocol >= 0x203:
            initrd_max = u32(0x22C) or 0x37FFFFFF
        else:
            initrd_max = 0x37FFFFFF
        below4g = min(memory, 0x80000000 if memory >= 0xB0000000 else 0xB0000000)
        acpi_data_size = 0x28000
        if initrd_max >= below4g - acpi_data_size:
            initrd_max = below4g - acpi_data_size - 1
        struct.pack_into("<I", k, 0x218, (initrd_max - initrd_size) & ~0xFFF)
        struct.pack_into("<I", k, 0x21C, initrd_size)
    return bytes(k)


def hashes_table(kernel, initrd, cmdline):
    """QEMU's SEV kernel-hashes table (tdx-and-sev-snp.md 3.3)."""
    def entry(guid, digest):
        return uuid.UUID(guid).bytes_le + struct.pack("<H", 50) + digest

    body = (entry("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", hashlib.sha256(cmdline + b"\0").digest())
            + entry("44baf731-3a2f-4bd7-9af1-41e29169781d", hashlib.sha256(initrd).digest())
            + entry("4de79437-abd2-427f-b835-d5b172d2045b", hashlib.sha256(kernel).digest()))
    table = uuid.UUID("9438d606-4f22-4cc9-b479-a793d411fd21").bytes_le + struct.pack("<H", 18 + len(body)) + body
    return table + b"\0" * (-len(table) % 16)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("firmware", "kernel", "initrd", "cmdline", "expect"):
        p.add_argument(name)
    p.add_argument("--memory-mib", type=int, default=1024)
    p.add_argument("--timeout", type=int, default=240)
    p.add_argument("--tamper", action="store_true")
    a = p.parse_args()
    fw = open(a.firmware, "rb").read()
    location = guid_table(fw).get(uuid.UUID("7255371f-3a3b-4b04-927b-1da6efa8d454"))
    if location is None or struct.unpack_from("<I", location, 0)[0] == 0:
        sys.exit("boot-check: the firmware has no SEV hashes table (not an AmdSevX64 build)")
    gpa = struct.unpack_from("<I", location, 0)[0]
    kernel, initrd = open(a.kernel, "rb").read(), open(a.initrd, "rb").read()
    served = qemu_served_kernel(kernel, len(initrd), a.memory_mib << 20)
    cmdline = a.cmdline.encode() + (b" tampered" if a.tamper else b"")
    with tempfile.TemporaryDirectory() as tmp:
        table, serial = os.path.join(tmp, "hashes.bin"), os.path.join(tmp, "serial.log")
        open(table, "wb").write(hashes_table(served, initrd, cmdline))
        qemu = subprocess.Popen([
            "qemu-system-x86_64", "-machine", "q35", "-m", str(a.memory_mib), "-no-reboot", "-display", "none",
            "-monitor", "none", "-bios", a.firmware, "-kernel", a.kernel, "-initrd", a.initrd, "-append", a.cmdline,
            "-device", f"loader,file={table},addr={gpa:#x},force-raw=on", "-serial", f"file:{serial}",
        ])
        seen, deadline = False, time.monotonic() + a.timeout
        try:
            while time.monotonic() < deadline and qemu.poll() is None and not seen:
                time.sleep(2)
                seen = os.path.exists(serial) and a.expect.encode() in open(serial, "rb").read()
        finally:
            qemu.kill()
            qemu.wait()
        tail = open(serial, "rb").read()[-600:].decode("utf-8", "replace") if os.path.exists(serial) else ""
    if a.tamper:
        print(f"boot-check: tampered command line: {'BOOTED (wrong)' if seen else 'refused'}")
        return 1 if seen else 0
    print(f"boot-check: {'booted, saw' if seen else 'did not see'} {a.expect!r} (hashes table at {gpa:#x})")
    if not seen:
        print(tail, file=sys.stderr)
    return 0 if seen else 1


if __name__ == "__main__":
    sys.exit(main())
