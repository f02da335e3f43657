#!/usr/bin/env bash
# Benchmark: cold and warm `enclavekit build` of a recipe, with the time of each phase (inputs: resolve
# and fetch; environments: fetch the locked .debs and assemble with mmdebstrap; steps; pack: targets and
# manifest), beside `openssl dgst -sha256` of the recipe's fetched inputs and locked .deb files, which
# a warm no-op build must at least do (issue 14: within 2x the time of hashing its inputs).
#
# Cold means an empty cache except for the fetched files (inputs and .debs, copied in from the user's
# cache so that the network is not timed): every environment is assembled and every step runs.
#
# usage: .ci/bench/build-phases.sh [RECIPE]     (default Recipes/python-node/recipe.toml)
#        BIN=path/to/enclavekit to use another build (default: `swift build --show-bin-path`)
set -euo pipefail
cd "$(dirname "$0")/../.."
recipe=${1:-Recipes/python-node/recipe.toml}
bin="${BIN:-$(swift build --show-bin-path)/enclavekit}"
[ -x "$bin" ] || { echo "build first: swift build (or set BIN)" >&2; exit 2; }
command -v jq >/dev/null || { echo "needs jq (apt-get install jq)" >&2; exit 2; }
user_cache=${XDG_CACHE_HOME:-$HOME/.cache}/enclavekit
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# Fill the user's cache once (network), then time builds against a copy of its fetched files only.
"$bin" build "$recipe" --out "$work/first" >/dev/null
mkdir -p "$work/cache/inputs/sha256"
cp -l "$user_cache"/inputs/sha256/* "$work/cache/inputs/sha256/" 2>/dev/null \
    || cp "$user_cache"/inputs/sha256/* "$work/cache/inputs/sha256/"
# Every fetched file the build uses: the lock's pins (inputs and the environments' .deb closures) and the
# recipe's own pins (sha256 = "…" in its [inputs] tables).
mapfile -t pinned < <({
    jq -r '.. | objects | .sha256? // empty' "$(dirname "$recipe")/recipe.lock"
    grep -oE '^sha256 = "[0-9a-f]{64}"' "$recipe" | cut -d'"' -f2
} | sort -u)
files=()
for digest in "${pinned[@]}"; do
    f="$work/cache/inputs/sha256/$digest"
    [ -f "$f" ] && files+=("$f")
done

now() { date +%s.%N; }
phases() { jq -r '.phases | to_entries | map("\(.key) \(.value) s") | join(", ")' "$1"; }
t0=$(now); "$bin" build "$recipe" --out "$work/out" --cache "$work/cache" --json > "$work/cold.json"; t1=$(now)
cold=$(echo "$t1 - $t0" | bc)
warm_runs=5; t0=$(now)
for _ in $(seq $warm_runs); do
    "$bin" build "$recipe" --out "$work/out" --cache "$work/cache" --json > "$work/warm.json"
done
t1=$(now); warm=$(echo "($t1 - $t0) / $warm_runs" | bc -l)
t0=$(now)
for _ in $(seq $warm_runs); do openssl dgst -sha256 "${files[@]}" > /dev/null; done
t1=$(now); hash=$(echo "($t1 - $t0) / $warm_runs" | bc -l)
bytes=$(du -cbL "${files[@]}" | tail -1 | cut -f1)

printf 'recipe: %s\n' "$recipe"
printf 'fetched files (inputs and .debs): %d, %.1f MiB\n' "${#files[@]}" "$(echo "$bytes / 1048576" | bc -l)"
printf 'cold build:                 %7.2f s  (%s)\n' "$cold" "$(phases "$work/cold.json")"
printf 'warm (no-op) build:         %7.3f s  (%s)\n' "$warm" "$(phases "$work/warm.json")"
printf 'openssl dgst of the files:  %7.3f s\n' "$hash"
printf 'warm / hashing:             %7.2fx (target <= 2x)\n' "$(echo "$warm / $hash" | bc -l)"
/usr/bin/time -v "$bin" build "$recipe" --out "$work/out" --cache "$work/cache" 2>&1 >/dev/null \
    | awk '/Maximum resident/ {printf "warm build peak RSS:        %7.1f MiB\n", $6 / 1024}'
