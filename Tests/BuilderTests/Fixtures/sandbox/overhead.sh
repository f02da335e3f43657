#!/usr/bin/env bash
# Measures the overhead of one sandboxed `true` (the bwrap arguments Sandbox.bwrapArguments(for:) gives,
# started through the same umask trampoline) against running `true` directly. Needs bubblewrap,
# busybox-static and hyperfine (apt-get install hyperfine). Usage: overhead.sh [RUNS]
set -euo pipefail
runs="${1:-200}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/etc" "$work/out"
printf 'builder:x:1000:1000:builder:/home/builder:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$work/etc/passwd"
printf 'builder:x:1000:\nnogroup:x:65534:\n' >"$work/etc/group"
printf 'enclavekit\n' >"$work/etc/hostname"
bwrap_args=(
    --unshare-all --unshare-user --disable-userns --die-with-parent --new-session --cap-drop ALL
    --uid 1000 --gid 1000 --hostname enclavekit --clearenv
    --setenv SOURCE_DATE_EPOCH 1700000000 --setenv TZ UTC --setenv LC_ALL C.UTF-8 --setenv LANG C.UTF-8
    --setenv HOME /home/builder --setenv USER builder --setenv LOGNAME builder --setenv PATH /usr/bin:/bin
    --setenv PWD /build
    --tmpfs / --dev /dev --proc /proc --ro-bind "$work/etc" /etc
    --ro-bind /bin/busybox /inputs/busybox/busybox
    --dir /build --bind "$work/out" /build/out --tmpfs /tmp --tmpfs /home/builder
    --remount-ro /dev --remount-ro /proc --remount-ro / --chdir /build --
    /inputs/busybox/busybox true
)
printf -v sandboxed '%q ' /bin/sh -c 'umask 022 && exec "$0" "$@"' "$(command -v bwrap)" "${bwrap_args[@]}"
hyperfine -N --warmup 20 --runs "$runs" -n direct "/bin/busybox true" -n sandboxed "$sandboxed"
