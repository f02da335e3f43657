#!/usr/bin/env bash
# Boot smoke test for the example node (by hand, not CI): boots the kernel with the node's initrd under
# QEMU (software emulation; --accel kvm to use KVM) and waits for the node's start line
#   example-node 0.2.0 config_sha256=<hex> listening
# on the serial console. Needs qemu-system-x86_64 (Debian: apt-get install qemu-system-x86) and cpio.
#
# Either boot what `enclavekit build` wrote for the TDX target (kernel + canonical initrd):
#   Recipes/example-node/boot-smoke.sh --kernel OUT/tdx/kernel --initrd OUT/tdx/initrd.cpio
# or pack the initrd here from the step outputs and the recipe's inputs (same layout: init, rootfs/, cmd, env):
#   Recipes/example-node/boot-smoke.sh --kernel vmlinuz-6.12.117+deb12-cloud-amd64 \
#       --init OUT/steps/init/init --node OUT/steps/node/node --conf Recipes/example-node/src/node.conf
# Options: --timeout SECONDS (default 300), --expect-sha256 HEX (the config digest the line must show),
# --keep-log FILE (keep the console log), --accel tcg|kvm (default tcg).
# Exit status 0 when the line appears, 1 otherwise (also at once on a kernel panic or a KVM error).
set -euo pipefail

kernel= initrd= init= node= conf= expect= keep_log= timeout=300 accel=tcg
usage() { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --init) init=$2; shift 2 ;;
    --node) node=$2; shift 2 ;;
    --conf) conf=$2; shift 2 ;;
    --expect-sha256) expect=$2; shift 2 ;;
    --keep-log) keep_log=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "boot-smoke: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -n "$kernel" ] || { echo "boot-smoke: --kernel is required" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || {
  echo "boot-smoke: qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86)" >&2; exit 2; }

work=$(mktemp -d)
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$initrd" ]; then
  [ -n "$init" ] && [ -n "$node" ] && [ -n "$conf" ] || {
    echo "boot-smoke: give --initrd, or --init, --node and --conf to pack one" >&2; exit 2; }
  command -v cpio >/dev/null || { echo "boot-smoke: cpio not found (Debian: apt-get install cpio)" >&2; exit 2; }
  root="$work/ramdisk"
  mkdir -p "$root/rootfs/bin" "$root/rootfs/etc"
  install -m 0755 "$init" "$root/init"
  install -m 0755 "$node" "$root/rootfs/bin/node"
  install -m 0644 "$conf" "$root/rootfs/etc/node.conf"
  printf '/bin/node\n' > "$root/cmd"
  printf 'PATH=/bin\n' > "$root/env"
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) > "$work/initrd.cpio"
  initrd="$work/initrd.cpio"
fi

log="$work/console.log"
echo "boot-smoke: booting $kernel with $initrd ($accel), waiting up to ${timeout}s for the start line"
start=$(date +%s)
qemu-system-x86_64 -accel "$accel" -nographic -no-reboot -m 512 -smp 1 -nic none \
  -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 panic=-1" </dev/null >"$log" 2>&1 &
qemu_pid=$!

pattern='^example-node 0\.1\.0 config_sha256=[0-9a-f]{64} listening'
status=1
while :; do
  if line=$(tr -d '\r' <"$log" | grep -E -m1 "$pattern"); then
    echo "boot-smoke: after $(( $(date +%s) - start ))s: $line"
    status=0
    if [ -n "$expect" ] && [ "$line" != "example-node 0.2.0 config_sha256=$expect listening" ]; then
      echo "boot-smoke: expected config_sha256=$expect" >&2
      status=1
    fi
    break
  fi
  if grep -q -E 'Kernel panic|KVM internal error' "$log"; then
    echo "boot-smoke: the guest failed; last console lines:" >&2
    tail -n 20 "$log" >&2
    break
  fi
  if ! kill -0 "$qemu_pid" 2>/dev/null; then
    echo "boot-smoke: QEMU stopped before the node started; last console lines:" >&2
    tail -n 20 "$log" >&2
    break
  fi
  if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
    echo "boot-smoke: no start line after ${timeout}s; last console lines:" >&2
    tail -n 20 "$log" >&2
    break
  fi
  sleep 1
done
if [ -n "$keep_log" ]; then cp "$log" "$keep_log"; fi
exit "$status"
