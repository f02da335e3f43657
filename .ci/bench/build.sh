#!/usr/bin/env bash
# Benchmark: `enclavekit build` of the example node, cold (no cached step outputs or unpacked inputs;
# the pinned input files are copied in from the user's cache so the network is not timed) and warm (a
# no-op rebuild), beside `openssl dgst -sha256` of the input files, which is what a warm build must at
# least do (issue 6: a no-op rebuild within 2x the time of hashing the inputs).
#
# usage: .ci/bench/build.sh            (runs the main job once first if the inputs are not cached)
#        BIN=path/to/enclavekit to use another build (default: `swift build --show-bin-path`)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${BIN:-$(swift build --show-bin-path)/enclavekit}"
[ -x "$bin" ] || { echo "build first: swift build (or set BIN)" >&2; exit 2; }
recipe=Recipes/example-node/recipe.toml
user_cache=${XDG_CACHE_HOME:-$HOME/.cache}/enclavekit
[ -d "$user_cache/inputs/sha256" ] || "$bin" build "$recipe" --out "$(mktemp -d)/out" >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cache/inputs/sha256"
inputs=()
for f in "$user_cache"/inputs/sha256/*; do
    cp "$f" "$work/cache/inputs/sha256/"
    inputs+=("$work/cache/inputs/sha256/$(basename "$f")")
done

now() { date +%s.%N; }
t0=$(now); "$bin" build "$recipe" --out "$work/out" --cache "$work/cache" > "$work/cold.txt"; t1=$(now)
cold=$(echo "$t1 - $t0" | bc)
grep -E '^(steps|time):' "$work/cold.txt"

warm_runs=5; t0=$(now)
for _ in $(seq $warm_runs); do "$bin" build "$recipe" --out "$work/out" --cache "$work/cache" > /dev/null; done
t1=$(now); warm=$(echo "($t1 - $t0) / $warm_runs" | bc -l)
t0=$(now)
for _ in $(seq $warm_runs); do openssl dgst -sha256 "${inputs[@]}" > /dev/null; done
t1=$(now); hash=$(echo "($t1 - $t0) / $warm_runs" | bc -l)
bytes=$(du -cb "${inputs[@]}" | tail -1 | cut -f1)

printf 'inputs: %d files, %.1f MiB\n' "${#inputs[@]}" "$(echo "$bytes / 1048576" | bc -l)"
printf 'cold build:                 %7.2f s\n' "$cold"
printf 'warm (no-op) build:         %7.3f s\n' "$warm"
printf 'openssl dgst of the inputs: %7.3f s\n' "$hash"
printf 'warm / hashing:             %7.2fx (target <= 2x)\n' "$(echo "$warm / $hash" | bc -l)"
/usr/bin/time -v "$bin" build "$recipe" --out "$work/out" --cache "$work/cache" 2>&1 >/dev/null \
    | awk '/Maximum resident/ {printf "warm build peak RSS:        %7.1f MiB\n", $6 / 1024}'
