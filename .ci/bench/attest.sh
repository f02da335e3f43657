#!/usr/bin/env bash
# Benchmark: per-evidence time of `enclavekit attest verify` on many DCAP quotes in one run, beside dcap-qvl's
# Python API (PyPI dcap-qvl 0.7.0, in-process loop, collateral parsed once: its best case) on the same quotes
# and collateral, and the `openssl speed` floor for the ECDSA P-256 verifications each quote needs. Prints
# each per-evidence time and the ratios (goal: enclavekit below dcap-qvl). Not a test: run it by hand.
# The copies share their CA certificates and collateral, as a fleet's quotes do: enclavekit checks those
# once per run (DCAPCache) and every quote's own signatures (quote, QE report, PCK leaf) each time; dcap-qvl
# redoes everything per call. Measured 2026-12-02 on the 2-core CI machine (release build, 500 copies):
#   tdx: enclavekit 0.77 ms, dcap-qvl 0.94 ms (1.22x), floor 0.17 ms; sgx: 0.37 ms, 0.63 ms (1.69x).
#   bash .ci/bench/attest.sh [COUNT] [ROUNDS]      (default 500 copies of each quote, 5 rounds; median)
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${1:-500}"
rounds="${2:-5}"
python3 -c 'import dcap_qvl' 2>/dev/null || { echo "attest.sh: needs dcap-qvl (bash .ci/setup)" >&2; exit 1; }
config="${CONFIG:-release}"
swift build -c "$config" --product enclavekit >/dev/null
ek="$(swift build -c "$config" --show-bin-path)/enclavekit"
fixtures=Tests/AttestationTests/Fixtures/dcap
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name, quote, collateral, time, extra options (the SGX sample's status and advisories are allowed so that
# both tools do the same work and accept it).
cases=(
    "tdx|dcapqvl_tdx_quote|dcapqvl_tdx_quote_collateral.json|1751624655|"
    "sgx|dcapqvl_sgx_quote|dcapqvl_sgx_quote_collateral.json|1751624924|--allow-tcb-status ConfigurationAndSWHardeningNeeded --allow-advisory INTEL-SA-00289 --allow-advisory INTEL-SA-00615"
)

now() { date +%s.%N; }
median() { python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# The floor: every quote needs at least the quote signature, the QE report signature and the PCK leaf's
# signature checked (3 ECDSA P-256 verifications; the CA and collateral signatures can be shared by a fleet).
verify_per_s="$(openssl speed -seconds 2 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $NF}' | tail -1)"
floor_ms="$(python3 -c "print(3 * 1000 / float('$verify_per_s'))")"

for spec in "${cases[@]}"; do
    IFS='|' read -r name quote collateral at extra <<<"$spec"
    mkdir -p "$work/$name"
    for i in $(seq "$count"); do cp "$fixtures/$quote" "$work/$name/q$i"; done
    # Both tools must accept every copy before they are timed.
    # shellcheck disable=SC2086
    "$ek" attest verify "$work/$name"/q* --collateral "$fixtures/$collateral" --at "$at" $extra --json >"$work/out.json"
    ek_runs=()
    qvl_runs=()
    for _ in $(seq "$rounds"); do
        t0="$(now)"
        # shellcheck disable=SC2086
        "$ek" attest verify "$work/$name"/q* --collateral "$fixtures/$collateral" --at "$at" $extra --json >/dev/null
        t1="$(now)"
        ek_runs+=("$(python3 -c "print(($t1 - $t0) * 1000 / $count)")")
        qvl_runs+=("$(python3 - "$work/$name" "$fixtures/$collateral" "$at" "$count" <<'PY'
import os, sys, time
import dcap_qvl
folder, collateral, at, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
coll = dcap_qvl.QuoteCollateralV3.from_json(open(collateral).read())
files = [os.path.join(folder, f"q{i}") for i in range(1, count + 1)]
t0 = time.perf_counter()
for path in files:
    with open(path, "rb") as f:
        dcap_qvl.verify(f.read(), coll, at)
print((time.perf_counter() - t0) * 1000 / count)
PY
)")
    done
    ek_ms="$(median "${ek_runs[@]}")"
    qvl_ms="$(median "${qvl_runs[@]}")"
    python3 - "$name" "$count" "$ek_ms" "$qvl_ms" "$floor_ms" <<'PY'
import sys
name, count, ek, qvl, floor = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
print(f"{name}: {count} quotes per run, per-evidence median: enclavekit {ek:.3f} ms (process start included), "
      f"dcap-qvl {qvl:.3f} ms (in-process), openssl floor {floor:.3f} ms (3 P-256 verifications)")
print(f"{name}: dcap-qvl / enclavekit = {qvl / ek:.2f} (above 1: enclavekit faster); "
      f"enclavekit / floor = {ek / floor:.2f}")
PY
done
