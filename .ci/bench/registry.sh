#!/usr/bin/env bash
# Benchmark: `enclavekit push` and `enclavekit pull` of the example release to a local registry
# (Debian's docker-registry on 127.0.0.1), beside `skopeo copy` of the same bytes (issue 16 asks for
# push and pull within 1.5x of skopeo). Each run starts from an empty registry (push) or an empty
# destination (pull). Not part of CI's test step.
#
# usage: .ci/bench/registry.sh [RUNS] [RELEASE_DIR]
#   RUNS         timed runs of each command (default 5)
#   RELEASE_DIR  a release directory (default out/example-node-0.1.0 when 'enclavekit build' made it;
#                otherwise one is made with the example manifest's file names and sizes, ~28 MB)
#   BIN=path/to/enclavekit to use another build (default: `swift build --show-bin-path`)
# Uses hyperfine when it is installed, else a loop timed with date +%s%N (median of RUNS).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
release="${2:-out/example-node-0.1.0}"
bin="${BIN:-$(swift build --show-bin-path)/enclavekit}"
[ -x "$bin" ] || { echo "build first: swift build (or set BIN)" >&2; exit 2; }
command -v docker-registry >/dev/null && command -v skopeo >/dev/null \
    || { echo "needs docker-registry and skopeo (bash .ci/setup)" >&2; exit 2; }

work="$(mktemp -d)"
registry_pid=""
cleanup() {
    [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The release: a copy (signed with a throwaway key when it has no signature).
mkdir -p "$work/release"
if [ -f "$release/manifest.json" ]; then
    cp -r "$release/." "$work/release/"
    echo "release: $release"
else
    echo "release: made here with the file names and sizes of Manifests/example-node-0.1.0.json"
    python3 - "$work/release" <<'PY'
import hashlib, json, os, sys
out = sys.argv[1]
m = json.load(open("Manifests/example-node-0.1.0.json"))
made = {}
for a in m["artifacts"]:
    # The same sha256 in the manifest (the two firmware.fd) gets the same bytes here too.
    if a["sha256"] not in made:
        seed = hashlib.sha256(a["sha256"].encode()).digest()
        data = bytearray()
        block = seed
        while len(data) < a["size"]:
            block = hashlib.sha256(block).digest()
            data += block * 64
        made[a["sha256"]] = bytes(data[: a["size"]])
    data = made[a["sha256"]]
    path = os.path.join(out, a["name"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(data)
    a["sha256"] = hashlib.sha256(data).hexdigest()
open(os.path.join(out, "manifest.json"), "w").write(json.dumps(m, sort_keys=True, separators=(",", ":")) + "\n")
PY
fi
if ! ls "$work/release/"*.dsse.json "$work/release/"*.sigstore.json >/dev/null 2>&1; then
    "$bin" keygen --type ed25519 --out "$work/bench.pem" >/dev/null
    "$bin" sign "$work/release/manifest.json" --key "$work/bench.pem" --out "$work/release/release.dsse.json" >/dev/null
fi
bytes=$(du -sb "$work/release" | cut -f1)

# The registry, on a free port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
storage="$work/storage"
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $storage
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/v2/" >/dev/null || { echo "docker-registry did not start" >&2; exit 1; }
reg="127.0.0.1:$port"

# skopeo's source: an OCI layout with exactly the bytes push wrote (same manifest, same blobs).
"$bin" push "$work/release" "$reg/bench:1" --plain-http >/dev/null 2>&1
skopeo copy --preserve-digests --src-tls-verify=false "docker://$reg/bench:1" "oci:$work/layout:1" >/dev/null

# Emptying the storage directory empties the registry (no cache is configured).
empty_registry="rm -rf $storage/docker"
push_ek="$bin push $work/release $reg/bench:1 --plain-http"
push_skopeo="skopeo copy --preserve-digests --dest-tls-verify=false oci:$work/layout:1 docker://$reg/bench:1"
pull_ek="$bin pull $reg/bench:1 --out $work/pulled-ek --plain-http"
pull_skopeo="skopeo copy --preserve-digests --src-tls-verify=false docker://$reg/bench:1 oci:$work/pulled-skopeo:1"
reset_pull="rm -rf $work/pulled-ek $work/pulled-skopeo"

median_ms() {  # median_ms PREPARE COMMAND: runs PREPARE then times COMMAND, RUNS times
    local prepare="$1" cmd="$2" times=()
    for _ in $(seq "$runs"); do
        bash -c "$prepare"
        local t0 t1
        t0=$(date +%s%N)
        bash -c "$cmd" >/dev/null 2>&1
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

echo "registry: docker-registry $(docker-registry --version | awk '{print $3}') on $reg; $bytes bytes; $runs runs each"
if command -v hyperfine >/dev/null; then
    hyperfine --runs "$runs" --export-json "$work/push.json" \
        --prepare "$empty_registry" -n "enclavekit push" "$push_ek" -n "skopeo copy (push)" "$push_skopeo"
    # The pull needs the release in the registry: push it once more.
    bash -c "$empty_registry"; $push_ek >/dev/null 2>&1
    hyperfine --runs "$runs" --export-json "$work/pull.json" \
        --prepare "$reset_pull" -n "enclavekit pull" "$pull_ek" -n "skopeo copy (pull)" "$pull_skopeo"
    ratio() { python3 -c "import json,sys,statistics as s; r=json.load(open(sys.argv[1]))['results']; print('%.2f' % (s.median(r[0]['times'])/s.median(r[1]['times'])))" "$1"; }
    echo "push ratio (enclavekit / skopeo): $(ratio "$work/push.json")"
    echo "pull ratio (enclavekit / skopeo): $(ratio "$work/pull.json")"
else
    ek_push=$(median_ms "$empty_registry" "$push_ek")
    sk_push=$(median_ms "$empty_registry" "$push_skopeo")
    bash -c "$empty_registry"; $push_ek >/dev/null 2>&1
    ek_pull=$(median_ms "$reset_pull" "$pull_ek")
    sk_pull=$(median_ms "$reset_pull" "$pull_skopeo")
    printf '%-22s %8s ms\n' "enclavekit push" "$ek_push" "skopeo copy (push)" "$sk_push" \
        "enclavekit pull" "$ek_pull" "skopeo copy (pull)" "$sk_pull"
    awk -v a="$ek_push" -v b="$sk_push" 'BEGIN {printf "push ratio (enclavekit / skopeo): %.2f\n", a / b}'
    awk -v a="$ek_pull" -v b="$sk_pull" 'BEGIN {printf "pull ratio (enclavekit / skopeo): %.2f\n", a / b}'
fi
