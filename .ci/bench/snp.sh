#!/usr/bin/env bash
# Benchmark: `enclavekit snp measure` against the reference `sev-snp-measure` on the same inputs
# (Debian's OVMF.fd, 4 vCPUs, EPYC-v4; and the snp:ovmf-hash mode), with hyperfine. Prints each mean and the
# ratio reference/enclavekit (target: at least 10x). Both outputs are compared first.
#   bash .ci/bench/snp.sh [FIRMWARE]        (default /usr/share/ovmf/OVMF.fd from Debian's ovmf package)
set -euo pipefail
cd "$(dirname "$0")/../.."

firmware="${1:-/usr/share/ovmf/OVMF.fd}"
command -v hyperfine >/dev/null || { echo "snp.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
command -v sev-snp-measure >/dev/null || { echo "snp.sh: needs sev-snp-measure (bash .ci/setup)" >&2; exit 1; }
# With pyenv, `sev-snp-measure` on PATH is a bash shim that costs more than the tool itself: time the real script.
reference_bin="$(pyenv which sev-snp-measure 2>/dev/null || command -v sev-snp-measure)"
[ -f "$firmware" ] || { echo "snp.sh: $firmware not found (apt-get install ovmf)" >&2; exit 1; }

# A static Swift runtime halves the start-up (dynamic symbol binding), which dominates a 2 MiB measurement.
# Its own build folder, as in startup.sh: a folder built without --static-swift-stdlib only links again, and fails.
static_build=(-c release --static-swift-stdlib --scratch-path .build/static-stdlib)
swift build "${static_build[@]}" --product enclavekit >/dev/null
ek="$(swift build "${static_build[@]}" --show-bin-path)/enclavekit"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

run_case() {
    local name="$1"
    shift
    local ours reference
    ours="$("$ek" snp measure "$@")"
    reference="$("$reference_bin" "$@")"
    if [ "$ours" != "$reference" ]; then
        echo "snp.sh: $name: outputs differ: enclavekit $ours, sev-snp-measure $reference" >&2
        exit 1
    fi
    local quoted
    quoted="$(printf ' %q' "$@")"
    # The floor: a launch digest hashes every firmware page with SHA-384, so no tool can beat one
    # process that only hashes the firmware (`openssl dgst`) by more than the cores it spreads over.
    hyperfine -N --warmup 3 --min-runs 20 --export-json "$out/$name.json" \
        -n enclavekit "$ek snp measure$quoted" -n sev-snp-measure "$reference_bin$quoted" \
        -n floor "openssl dgst -sha384 $firmware" >/dev/null
    python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
ours, ref, floor = results["enclavekit"], results["sev-snp-measure"], results["floor"]
print(f"{sys.argv[2]}: enclavekit {ours['mean']*1000:.1f} ms (±{ours['stddev']*1000:.1f}, user "
      f"{ours['user']*1000:.1f}), sev-snp-measure {ref['mean']*1000:.1f} ms (±{ref['stddev']*1000:.1f}, user "
      f"{ref['user']*1000:.1f}); ratio {ref['mean']/ours['mean']:.1f}x wall, {ref['user']/ours['user']:.1f}x user CPU; "
      f"openssl dgst -sha384 of the firmware alone {floor['mean']*1000:.1f} ms "
      f"({ref['mean']/floor['mean']:.1f}x faster than sev-snp-measure)")
PY
}

echo "firmware: $firmware ($(stat -c %s "$firmware") bytes); reference: $reference_bin; load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "enclavekit max RSS: %M KB" "$ek" snp measure --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf "$firmware" >/dev/null
run_case snp-4vcpu --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf "$firmware"
run_case snp-64vcpu-0x21 --mode snp --vcpus 64 --vcpu-type EPYC-Milan --guest-features 0x21 --ovmf "$firmware"
run_case ovmf-hash --mode snp:ovmf-hash --ovmf "$firmware"
