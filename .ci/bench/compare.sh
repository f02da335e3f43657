#!/usr/bin/env bash
# Benchmark: `enclavekit compare` of two identical EIFs (a small kernel, a bootstrap ramdisk and one
# large application ramdisk) against `sha384sum` of one of them. compare hashes both files once, one
# per core, so it should take about as long as one sha384sum and at most twice as long (the task's
# bar). A second run compares two EIFs whose app ramdisk differs in one entry, to show the drill-down
# cost (both files are read again as sections and cpio entries).
#
# usage: .ci/bench/compare.sh [SIZE_MIB]   (default 256)
#        BIN=path/to/enclavekit to use another build (default: `swift build --show-bin-path`)
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mib="${1:-256}"
bin="${BIN:-$(swift build --show-bin-path)/enclavekit}"
[ -x "$bin" ] || { echo "build first: swift build (or set BIN)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/boot" "$work/app-a/rootfs" "$work/app-b/rootfs"
# Deterministic pseudo-random content (AES-CTR keystream of zeros), so runs are comparable.
head -c "$((size_mib << 20))" /dev/zero \
    | openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 0 -nosalt 2>/dev/null \
    > "$work/app-a/rootfs/blob"
cp "$work/app-a/rootfs/blob" "$work/app-b/rootfs/blob"
echo 'console.log(1)' > "$work/app-a/rootfs/app.js"
echo 'console.log(2)' > "$work/app-b/rootfs/app.js"
head -c 65536 /dev/zero > "$work/boot/init"
head -c 1048576 /dev/zero > "$work/kernel"
for d in boot app-a app-b; do
    (cd "$work/$d" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet > "$work/$d.cpio")
done
build() {
    "$bin" eif build --kernel "$work/kernel" --cmdline console=ttyS0 --ramdisk "$work/boot.cpio" \
        --ramdisk "$work/$1.cpio" --output "$work/$2" --build-time 2023-11-14T22:13:20+00:00 >/dev/null
}
build app-a a.eif
build app-a a2.eif
build app-b b.eif

now() { date +%s.%N; }
best() {  # best of 3 wall-clock seconds for the command (exit status 0 or 3 accepted)
    local b=""
    for _ in 1 2 3; do
        local t0 t1
        t0="$(now)"
        "$@" >/dev/null || [ $? -eq 3 ]
        t1="$(now)"
        b="$(python3 -c "import sys; t=$t1-$t0; b='$b'; print(t if not b else min(t, float(b)))")"
    done
    echo "$b"
}
cat "$work"/*.eif >/dev/null  # warm the page cache
t_sum="$(best sha384sum "$work/a.eif")"
t_same="$(best "$bin" compare "$work/a.eif" "$work/a2.eif")"
t_diff="$(best "$bin" compare "$work/a.eif" "$work/b.eif")"
python3 -c "
s, i, d = $t_sum, $t_same, $t_diff
print(f'two EIFs of {$size_mib} MiB (+1 MiB kernel)')
print(f'sha384sum of one              {s:.3f} s')
print(f'enclavekit compare, identical {i:.3f} s  ratio {i / s:.2f} (bar: 2.0)')
print(f'enclavekit compare, one entry {d:.3f} s  ratio {d / s:.2f}')
"
