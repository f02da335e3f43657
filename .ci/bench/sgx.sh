#!/usr/bin/env bash
# Benchmark: MRENCLAVE of a fully measured SGX enclave vs `openssl dgst -sha256` over the same number of
# hashed bytes (1.25 x the page bytes: every 4 KiB page is hashed with its 16 EEXTEND headers, 5184 bytes).
#
#   bash .ci/bench/sgx.sh [SIZE_MIB]        (default 256; the issue's target is 1024)
#
# Builds enclavekit in release mode, makes a synthetic ELF enclave whose data segment is SIZE_MIB of random
# pages (all measured under the Linux selftest rule), writes its SGXS stream, then times with hyperfine:
#   - enclavekit sgx measure --elf   (reads SIZE_MIB, hashes ~1.27 x SIZE_MIB)
#   - enclavekit sgx measure --sgxs  (reads and hashes the ~1.27 x SIZE_MIB stream)
#   - openssl dgst -sha256 over a 1.25 x SIZE_MIB file
# and prints throughput ratios (>= 0.80 is the target) and the peak RSS of each enclavekit run.
# If Gramine is installed (python3 -c 'import graminelibos.sgx_sign'), its measurement of the same ELF as a
# libpal is timed too.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB="${1:-256}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

swift build -c release --product enclavekit >/dev/null
BIN="$(swift build -c release --show-bin-path)/enclavekit"

echo "== inputs: ${MIB} MiB of measured pages"
head -c "$((MIB * 1048576))" /dev/urandom >"$WORK/pages.bin"
python3 - "$WORK/pages.bin" "$WORK/big.elf" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
# ELF64: header, 2 program headers; PT_LOAD 0 = one RW TCS page (zeros), PT_LOAD 1 = RW data pages.
ehdr = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
ehdr += struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0x1000, 64, 0, 0, 64, 56, 2, 64, 0, 0)
ph = struct.pack('<IIQQQQQQ', 1, 6, 0x1000, 0, 0, 0x1000, 0x1000, 0x1000)
ph += struct.pack('<IIQQQQQQ', 1, 6, 0x2000, 0x1000, 0x1000, len(data), len(data), 0x1000)
with open(sys.argv[2], 'wb') as f:
    f.write(ehdr + ph)
    f.write(bytes(0x2000 - len(ehdr) - len(ph)))
    f.write(data)
PY
"$BIN" sgx measure --elf "$WORK/big.elf" --heap-size 0 --sgxs-out "$WORK/big.sgxs" >/dev/null
head -c "$((MIB * 1048576 * 5 / 4))" /dev/urandom >"$WORK/hash125.bin"
ls -l "$WORK/big.elf" "$WORK/big.sgxs" "$WORK/hash125.bin" | awk '{print "  " $5 "  " $9}'

echo "== timing (hyperfine, warm cache)"
hyperfine --warmup 1 --runs 5 --style basic --export-json "$WORK/h.json" \
    -n elf "$BIN sgx measure --elf $WORK/big.elf --heap-size 0" \
    -n sgxs "$BIN sgx measure --sgxs $WORK/big.sgxs" \
    -n openssl "openssl dgst -sha256 $WORK/hash125.bin"

python3 - "$WORK/h.json" "$MIB" <<'PY'
import json, sys
res = {x['command']: x for x in json.load(open(sys.argv[1]))['results']}
mib = int(sys.argv[2])
hashed = mib * 5184 / 4096  # MiB of SHA-256 input for MRENCLAVE
o = res['openssl']
o_wall, o_cpu = mib * 1.25 / o['mean'], mib * 1.25 / (o['user'] + o['system'])
print(f"  openssl dgst -sha256 : {o_wall:8.1f} MiB/s wall, {o_cpu:8.1f} MiB/s CPU (hash input)")
for name in ('elf', 'sgxs'):
    r = res[name]
    wall, cpu = hashed / r['mean'], hashed / (r['user'] + r['system'])
    print(f"  sgx measure --{name:4} : {wall:8.1f} MiB/s wall, {cpu:8.1f} MiB/s CPU;"
          f" ratio to openssl {wall / o_wall:4.2f} wall, {cpu / o_cpu:4.2f} CPU (target >= 0.80)")
PY

echo "== peak memory (max RSS)"
for mode in "--elf $WORK/big.elf --heap-size 0" "--sgxs $WORK/big.sgxs"; do
    /usr/bin/time -f "  %M KiB  sgx measure ${mode%% *}" "$BIN" sgx measure $mode >/dev/null
done

if python3 -c 'import graminelibos.sgx_sign' 2>/dev/null; then
    echo "== Gramine sgx_sign.py on a ${MIB}-MiB libpal (same page bytes)"
    printf 'sgx.enclave_size = "%dM"\nsgx.max_threads = 1\n' "$((MIB * 4))" >"$WORK/b.manifest.sgx"
    hyperfine --runs 1 --style basic \
        -n gramine "python3 -c 'import sys; from graminelibos import sgx_sign; sgx_sign.get_mrenclave_and_manifest(sys.argv[1], sys.argv[2])' $WORK/b.manifest.sgx $WORK/big.elf" \
        -n enclavekit "$BIN sgx measure --gramine-manifest $WORK/b.manifest.sgx --libpal $WORK/big.elf"
fi
