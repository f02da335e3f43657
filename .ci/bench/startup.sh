#!/usr/bin/env bash
# Benchmark: start-up. `enclavekit --version` (release build) beside three bare Swift programs built here
# with `swiftc -O` that print one line: no import, `import FoundationEssentials`, `import Foundation` (which
# loads ICU and its data). Also `enclavekit --help`, and `snp measure` on Debian's 2 MiB OVMF_CODE.fd, where
# start-up is most of the run. Prints each mean (wall) and user+system CPU, and their ratios to the bare
# program; CPU time is the steadier figure on a shared machine. Then the shared libraries each binary loads.
#   bash .ci/bench/startup.sh [--binary BIN] [--baseline BIN] [--static] [--runs N]
#     --binary BIN     time this enclavekit instead of building one (swift build -c release)
#     --baseline BIN   also time another enclavekit binary (e.g. one built from an earlier commit: before/after)
#     --static         build enclavekit with --static-swift-stdlib (as .ci/bench/snp.sh does)
#
# Where the time goes (December 2026, release build, perf): about a quarter in the dynamic loader (symbol
# lookups through 18 more shared libraries than a bare program), a fifth in swift-argument-parser's parse
# (type metadata and protocol-conformance scans over the whole binary, Mirror), the rest exec and page faults.
# What loads Foundation and ICU (autolink entries of the built objects): TOMLKit (`import struct
# Foundation.Date`/`Calendar`), and with it TOML, SGX, Recipe, DebianEnvironment, Builder, Rebuild; Nitro
# (EIFDescription, EIFSignature), Release (Keys), Attestation (DCAPCache, DCAPPKI) and the CLI (EIF build,
# SNP measure) import Foundation themselves, and Registry gets it through Release. swift-argument-parser,
# swift-crypto, swift-certificates, swift-asn1, swift-subprocess and AsyncHTTPClient use only
# FoundationEssentials. Debian's libarchive loads libxml2 and with it the system ICU (libicuuc, libicudata)
# whatever Swift imports. A static Swift runtime (--static) removes most of the symbol lookups.
set -euo pipefail
cd "$(dirname "$0")/../.."

binary=""
baseline=""
static=()
runs=100
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$(realpath "$2")"; shift 2 ;;
        --baseline) baseline="$(realpath "$2")"; shift 2 ;;
        --static) static=(--static-swift-stdlib); shift ;;
        --runs) runs="$2"; shift 2 ;;
        *) echo "startup.sh: unknown argument $1 (see the header of this script)" >&2; exit 64 ;;
    esac
done
command -v hyperfine >/dev/null || { echo "startup.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

if [ -n "$binary" ]; then
    ek="$binary"
else
    swift build -c release --product enclavekit "${static[@]}" >/dev/null
    ek="$(swift build -c release --show-bin-path)/enclavekit"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo 'print("0.1.0")' >"$work/bare.swift"
printf 'import FoundationEssentials\nprint("0.1.0")\n' >"$work/essentials.swift"
printf 'import Foundation\nprint("0.1.0")\n' >"$work/foundation.swift"
for program in bare essentials foundation; do
    swiftc -O "$work/$program.swift" -o "$work/$program"
done

commands=(
    -n "bare Swift" "$work/bare"
    -n "import FoundationEssentials" "$work/essentials"
    -n "import Foundation" "$work/foundation"
    -n "enclavekit --version" "$ek --version"
    -n "enclavekit --help" "$ek --help"
)
[ -z "$baseline" ] || commands+=(-n "baseline --version" "$baseline --version")
firmware=/usr/share/OVMF/OVMF_CODE.fd
snp_args="snp measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf $firmware"
if [ -f "$firmware" ]; then
    commands+=(-n "enclavekit snp measure (2 MiB)" "$ek $snp_args")
    [ -z "$baseline" ] || commands+=(-n "baseline snp measure (2 MiB)" "$baseline $snp_args")
fi

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
echo "shared libraries loaded (beyond the bare program's $(libraries "$work/bare" | wc -l)):"
for binary in "$work/essentials" "$work/foundation" "$ek"; do
    extra="$(comm -13 <(libraries "$work/bare") <(libraries "$binary") | tr '\n' ' ')"
    echo "  $(basename "$binary"): $extra"
done
