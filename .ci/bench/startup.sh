#!/usr/bin/env bash
# Benchmark: start-up. Release builds of enclavekit with the Swift runtime and Foundation linked dynamically
# (`swift build -c release`, as before) and statically (`--static-swift-stdlib`), beside four Swift programs
# built here that print one line: no import (dynamic and static runtime), `import FoundationEssentials`,
# `import Foundation` (which loads ICU and its data). For each enclavekit: `--version`, `snp measure` on
# Debian's 2 MiB OVMF_CODE.fd and `attest verify` of the committed TDX quote (Tests/AttestationTests/
# Fixtures/dcap), where start-up is most of the run. All in one hyperfine run, so the ratios hold on a loaded
# machine. Prints each mean (wall) and user+system CPU, and their ratios to the bare program; CPU time is the
# steadier figure on a shared machine. Then each binary's size and the shared libraries it loads.
#   bash .ci/bench/startup.sh [--binary BIN] [--baseline BIN] [--runs N]
#     --binary BIN     time this enclavekit only, instead of building the two variants
#     --baseline BIN   also time another enclavekit binary (e.g. one built from an earlier commit: before/after)
#
# Where the time goes (December 2026, perf and LD_DEBUG=statistics): with the dynamic runtime about a quarter
# in the dynamic loader (relocations and symbol lookups through 18 more shared libraries than a bare
# program in a release build), a fifth in swift-argument-parser's parse (type metadata and protocol-conformance scans, Mirror),
# the rest exec and page faults. A static runtime cuts the loader's work to a fifth (debug build: 13.2 M
# cycles, 14680 symbol relocations dynamic; 2.8 M cycles, 6886 static) and has fewer page faults (1146 for
# 1306): ICU's data (icudt76_dat, 34 MB) is in the binary's data segment, paged in only when touched.
# Debian's libarchive with its libxml2 and system ICU costs about 2.8 ms of CPU per start (a bare program
# linked with -larchive: 7.6 ms for 4.8 ms); every command pays it, archives or not. Loading libarchive
# with dlopen only in the commands that read archives would save that, at the price of calling it
# through function pointers; not done.
#
# Before (release, dynamic, mean wall ms): bare Swift 4.8, FoundationEssentials 5.1, Foundation 11.0,
# `--version` 19.4, snp measure 2 MiB 37.1. Measured 2026-12-02 on the 2-core machine under a load of 12,
# debug builds (release builds did not fit that session beside five other builds; run the script for
# release figures; the static one linked by hand from the dynamic build's objects with Foundation's static
# libraries named), CPU ms (x bare), one hyperfine run with --binary and --baseline:
#   bare Swift 4.7 (1.00); static runtime 2.8 (0.59); import FoundationEssentials 5.6 (1.18);
#   import Foundation 10.2 (2.16)
#   --version:                 dynamic 22.2 (4.71), static 18.6 (3.93)
#   snp measure, 2 MiB:        dynamic 59.0 (12.48), static 43.5 (9.21)
#   attest verify, TDX quote:  dynamic 63.6 (13.45), static 56.9 (12.05)
#   size: dynamic 129 MiB, static 202 MiB (debug; Foundation, its ICU data and the Swift runtime inside)
# What loads Foundation and ICU (autolink entries of the built objects): only TOMLKit (`import struct
# Foundation.Date`/`Calendar`), and through it every module that links it (TOML, SGX, Recipe,
# DebianEnvironment, Builder, Rebuild); one binary links them all, so every command loads Foundation.
# EnclaveKit's own modules import FoundationEssentials at most (Nitro, Release and Attestation did import
# Foundation before December 2026), as do swift-argument-parser, swift-crypto, swift-certificates,
# swift-asn1, swift-subprocess and AsyncHTTPClient. Debian's libarchive loads libxml2 and with it the system
# ICU (libicuuc, libicudata) whatever Swift imports.
set -euo pipefail
cd "$(dirname "$0")/../.."

binary=""
baseline=""
runs=100
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$(realpath "$2")"; shift 2 ;;
        --baseline) baseline="$(realpath "$2")"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        *) echo "startup.sh: unknown argument $1 (see the header of this script)" >&2; exit 64 ;;
    esac
done
command -v hyperfine >/dev/null || { echo "startup.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name|path of each enclavekit timed
variants=()
if [ -n "$binary" ]; then
    variants+=("enclavekit|$binary")
else
    swift build -c release --product enclavekit >/dev/null
    cp "$(swift build -c release --show-bin-path)/enclavekit" "$work/enclavekit-dynamic"
    # A static runtime needs every module compiled against it (swift_static's Foundation module links
    # CoreFoundation and _FoundationICU). Adding --static-swift-stdlib to a folder built without it only
    # links again, and that link fails on the ICU and CoreFoundation symbols: the static variant has its
    # own build folder (a second cold release build the first time).
    static_build=(-c release --static-swift-stdlib --scratch-path .build/static-stdlib)
    swift build "${static_build[@]}" --product enclavekit >/dev/null
    cp "$(swift build "${static_build[@]}" --show-bin-path)/enclavekit" "$work/enclavekit-static"
    variants+=("dynamic|$work/enclavekit-dynamic" "static|$work/enclavekit-static")
fi
[ -z "$baseline" ] || variants+=("baseline|$baseline")

echo 'print("0.1.0")' >"$work/bare.swift"
printf 'import FoundationEssentials\nprint("0.1.0")\n' >"$work/essentials.swift"
printf 'import Foundation\nprint("0.1.0")\n' >"$work/foundation.swift"
for program in bare essentials foundation; do
    swiftc -O "$work/$program.swift" -o "$work/$program"
done
swiftc -O -static-stdlib "$work/bare.swift" -o "$work/bare-static"

commands=(
    -n "bare Swift" "$work/bare"
    -n "bare Swift, static runtime" "$work/bare-static"
    -n "import FoundationEssentials" "$work/essentials"
    -n "import Foundation" "$work/foundation"
)
firmware=/usr/share/OVMF/OVMF_CODE.fd
snp_args="snp measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf $firmware"
dcap=Tests/AttestationTests/Fixtures/dcap
attest_args="attest verify $dcap/dcapqvl_tdx_quote --collateral $dcap/dcapqvl_tdx_quote_collateral.json"
attest_args+=" --at 1751624655"
for variant in "${variants[@]}"; do
    name="${variant%%|*}"
    ek="${variant#*|}"
    # Every command must succeed before it is timed (the arguments are split on spaces on purpose).
    # shellcheck disable=SC2086
    "$ek" --version >/dev/null
    "$ek" $attest_args >/dev/null
    commands+=(-n "$name --version" "$ek --version" -n "$name attest verify (TDX)" "$ek $attest_args")
    if [ -f "$firmware" ]; then
        # shellcheck disable=SC2086
        "$ek" $snp_args >/dev/null
        commands+=(-n "$name snp measure (2 MiB)" "$ek $snp_args")
    fi
done

echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $runs runs each"
hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/startup.json" "${commands[@]}" >/dev/null \
    2>"$work/hyperfine.err" || { cat "$work/hyperfine.err" >&2; exit 1; }
python3 - "$work/startup.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
bare = results[0]
cpu = lambda r: r["user"] + r["system"]
print(f"{'':32} {'wall ms':>14} {'x bare':>7} {'CPU ms':>7} {'x bare':>7}")
for r in results:
    print(f"{r['command']:32} {r['mean']*1000:7.1f} ±{r['stddev']*1000:5.1f} {r['mean']/bare['mean']:7.2f} "
          f"{cpu(r)*1000:7.1f} {cpu(r)/cpu(bare):7.2f}")
PY

libraries() { ldd "$1" | awk '/=>/ { print $1 }' | sort; }
echo
echo "size, and shared libraries loaded beyond the bare program's $(libraries "$work/bare" | wc -l):"
for variant in "essentials|$work/essentials" "foundation|$work/foundation" "${variants[@]}"; do
    name="${variant%%|*}"
    path="${variant#*|}"
    # shellcheck disable=SC2207
    extra=($(comm -13 <(libraries "$work/bare") <(libraries "$path")))
    echo "  $name: $(($(stat -c %s "$path") / 1048576)) MiB, ${#extra[@]} more: ${extra[*]}"
done
