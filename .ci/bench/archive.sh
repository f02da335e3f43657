#!/usr/bin/env bash
# Benchmark: flatten a generated docker-archive image and write its app ramdisk with EnclaveKit, side by
# side with the classic pipeline on the same layers: `tar -x` of each layer into a directory, then
# `find | cpio -o -H newc` of the result. Prints both times, the ratio and EnclaveKit's peak RSS.
#
#   .ci/bench/archive.sh [SIZE_MIB] [FILES]      (default 100 MiB in 5000 files; issue 3 asks 500/20000)
#   ENCLAVEKIT=path/to/enclavekit .ci/bench/archive.sh 256 10000
#
# The image has two layers (half the files each, the second also deletes a few files of the first with
# whiteouts). Nothing is kept: the work directory is removed at exit.
set -euo pipefail
size_mib="${1:-100}"
files="${2:-5000}"
cd "$(dirname "$0")/../.."
bin="${ENCLAVEKIT:-}"
if [ -z "$bin" ]; then
    swift build -c release --product enclavekit >/dev/null
    bin="$(swift build -c release --show-bin-path)/enclavekit"
fi
work="$(mktemp -d -t enclavekit-bench-archive.XXXXXX)"
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$size_mib" "$files" <<'PY'
import hashlib, io, json, os, random, sys, tarfile
work, size_mib, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
per_file = max(1, size_mib * 1024 * 1024 // files)
def layer(path, start, count, whiteouts=()):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        dirs = set()
        for i in range(start, start + count):
            d = f"usr/share/d{i % 97:02d}"
            for p in ("usr", "usr/share", d):
                if p not in dirs:
                    dirs.add(p)
                    info = tarfile.TarInfo(p + "/"); info.type = tarfile.DIRTYPE; info.mode = 0o755; info.mtime = 1700000000
                    tar.addfile(info)
            data = rng.randbytes(per_file)
            info = tarfile.TarInfo(f"{d}/f{i:06d}"); info.size = len(data); info.mode = 0o644; info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
        for w in whiteouts:
            info = tarfile.TarInfo(w); info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(b""))
half = files // 2
layer(f"{work}/l1.tar", 0, half)
layer(f"{work}/l2.tar", half, files - half, [f"usr/share/d{i % 97:02d}/.wh.f{i:06d}" for i in range(0, 10)])
diff_ids, names = [], []
for l in ("l1.tar", "l2.tar"):
    h = hashlib.sha256(open(f"{work}/{l}", "rb").read()).hexdigest()
    diff_ids.append("sha256:" + h); names.append(l)
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"], "Env": []},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cname = hashlib.sha256(config).hexdigest() + ".json"
open(f"{work}/{cname}", "wb").write(config)
json.dump([{"Config": cname, "RepoTags": ["bench:latest"], "Layers": names}], open(f"{work}/manifest.json", "w"))
with tarfile.open(f"{work}/image.tar", "w") as tar:
    for n in ["manifest.json", cname] + names:
        tar.add(f"{work}/{n}", arcname=n)
PY
sync

now() { date +%s.%N; }
echo "image: $(du -m "$work/image.tar" | cut -f1) MiB, $files files, 2 layers"

t0=$(now)
mkdir "$work/rootfs"
tar -xf "$work/l1.tar" -C "$work/rootfs"
tar -xf "$work/l2.tar" -C "$work/rootfs"
(cd "$work/rootfs" && find . | LC_ALL=C sort | cpio -o -H newc --quiet > "$work/baseline.cpio")
t1=$(now)
baseline=$(echo "$t1 - $t0" | bc)
rm -rf "$work/rootfs" "$work/baseline.cpio"
sync

t0=$(now)
/usr/bin/time -v -o "$work/time.txt" "$bin" eif ramdisk app --image "$work/image.tar" --output "$work/app.cpio" >/dev/null
t1=$(now)
ours=$(echo "$t1 - $t0" | bc)
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")

printf 'tar -x + cpio -o:           %6.2f s\n' "$baseline"
printf 'enclavekit eif ramdisk app: %6.2f s  (peak RSS %d MiB)\n' "$ours" "$((rss / 1024))"
printf 'ratio: %.2fx\n' "$(echo "$ours / $baseline" | bc -l)"
