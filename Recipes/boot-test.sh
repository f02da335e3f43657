#!/usr/bin/env bash
# Boot test for a recipe's TDX (or SEV-SNP) artifacts: boots the kernel and initrd directly under QEMU
# (software emulation by default), waits for the node's start line on the serial console and, with
# --http, asks the node over QEMU's user-mode network through a port forward. Used by CI (.ci/run,
# "boot tests") for both recipes; runs by hand the same way. Needs qemu-system-x86_64 (Debian:
# qemu-system-x86) and, for --http, curl.
#
#   Recipes/boot-test.sh --kernel OUT/tdx/kernel --initrd OUT/tdx/initrd.cpio --cmdline-file OUT/tdx/cmdline \
#       --expect '^python-node 0\.1\.0 config_sha256=[0-9a-f]{64} listening on 8080$' --http
#   Recipes/boot-test.sh --kernel OUT/tdx/kernel --initrd OUT/tdx/initrd.cpio \
#       --expect '^example-node 0\.1\.0 config_sha256=[0-9a-f]{64} listening'
#
# --expect ERE        the start line to wait for (required; matched per console line, CRs removed)
# --cmdline TEXT      the kernel command line (default console=ttyS0), or --cmdline-file FILE
# --http              forward 127.0.0.1:PORT (a free port picked now) to the guest's 8080 and check
#                     GET /health -> 200, POST /sha256 -> the sha256 of a random body, GET /missing ->
#                     404, a malformed request -> 400 and /health still 200 after it
# --guest-port N      the guest port for --http (default 8080)
# --timeout SECONDS   bound for the start line and, separately, for the first HTTP answer (default 240)
# --accel tcg|kvm     QEMU accelerator (default tcg); --memory SIZE (default 1G)
# --keep-log FILE     copy the console log there
# Prints the boot time (QEMU start to start line, and to the first HTTP answer). Exit 0 when every check
# passes; 1 otherwise, with the console's last lines (also at once on a kernel panic or an early QEMU exit);
# 2 for a usage error. QEMU is killed and the temporary files removed on every exit.
set -euo pipefail

kernel= initrd= cmdline=console=ttyS0 expect= http=0 guest_port=8080 timeout=240 accel=tcg memory=1G keep_log=
usage() { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 2; }
fail_usage() { echo "boot-test: $1 (try --help)" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) kernel=${2-}; shift 2 ;;
        --initrd) initrd=${2-}; shift 2 ;;
        --cmdline) cmdline=${2-}; shift 2 ;;
        --cmdline-file) [ -f "${2-}" ] || fail_usage "no command-line file '${2-}'"; cmdline=$(cat "$2"); shift 2 ;;
        --expect) expect=${2-}; shift 2 ;;
        --http) http=1; shift ;;
        --guest-port) guest_port=${2-}; shift 2 ;;
        --timeout) timeout=${2-}; shift 2 ;;
        --accel) accel=${2-}; shift 2 ;;
        --memory) memory=${2-}; shift 2 ;;
        --keep-log) keep_log=${2-}; shift 2 ;;
        -h | --help) usage ;;
        *) fail_usage "unknown argument '$1'" ;;
    esac
done
[ -f "$kernel" ] || fail_usage "--kernel FILE is required (got '$kernel')"
[ -f "$initrd" ] || fail_usage "--initrd FILE is required (got '$initrd')"
[ -n "$expect" ] || fail_usage "--expect ERE is required"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || fail_usage "--timeout wants a positive number of seconds"
command -v qemu-system-x86_64 >/dev/null || fail_usage "qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86)"
if [ "$http" = 1 ]; then command -v curl >/dev/null || fail_usage "curl not found (Debian: apt-get install curl)"; fi

work=$(mktemp -d)
qemu_pid=
cleanup() {
    if [ -n "$qemu_pid" ]; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    if [ -n "$keep_log" ] && [ -f "$work/console.log" ]; then cp "$work/console.log" "$keep_log"; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log="$work/console.log"
fail() {
    echo "boot-test: FAILED: $1; last console lines:" >&2
    tr -d '\r' <"$log" | tail -n 25 >&2
    exit 1
}
now_ms() { date +%s%3N; }
seconds_since() { local d=$(($(now_ms) - $1)); printf '%d.%01d' $((d / 1000)) $((d % 1000 / 100)); }

nic=(-nic none)
if [ "$http" = 1 ]; then
    # A free port on the loopback, chosen now (the kernel picks it; QEMU binds it right after).
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    nic=(-nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:$guest_port")
fi

echo "boot-test: booting $(basename "$kernel") + $(basename "$initrd") ($(du -h "$initrd" | cut -f1)), $accel, $memory," \
    "cmdline '$cmdline'"
: >"$log"
start=$(now_ms)
qemu-system-x86_64 -accel "$accel" -m "$memory" -smp 1 -nographic -no-reboot "${nic[@]}" \
    -kernel "$kernel" -initrd "$initrd" -append "$cmdline panic=-1" </dev/null >"$log" 2>&1 &
qemu_pid=$!

deadline=$((SECONDS + timeout))
while :; do
    if line=$(tr -d '\r' <"$log" | grep -E -m1 -- "$expect"); then
        echo "boot-test: start line after $(seconds_since "$start") s: $line"
        break
    fi
    grep -q -E 'Kernel panic|KVM internal error|pid1: fatal' "$log" && fail "the guest failed"
    kill -0 "$qemu_pid" 2>/dev/null || fail "QEMU stopped before the start line"
    [ $SECONDS -lt $deadline ] || fail "no start line within ${timeout}s"
    sleep 0.5
done

if [ "$http" = 1 ]; then
    base="http://127.0.0.1:$port"
    deadline=$((SECONDS + timeout))
    until code=$(curl -s -o "$work/health.json" -w '%{http_code}' --max-time 20 "$base/health") && [ "$code" != 000 ]; do
        kill -0 "$qemu_pid" 2>/dev/null || fail "QEMU stopped before answering HTTP"
        [ $SECONDS -lt $deadline ] || fail "no HTTP answer from $base/health within ${timeout}s"
        sleep 1
    done
    echo "boot-test: first HTTP answer after $(seconds_since "$start") s: GET /health -> $code $(cat "$work/health.json")"
    [ "$code" = 200 ] || fail "GET /health answered $code, expected 200"
    head -c 4096 /dev/urandom >"$work/body"
    want=$(sha256sum "$work/body" | cut -d' ' -f1)
    got=$(curl -s --max-time 60 --fail --data-binary @"$work/body" "$base/sha256") || fail "POST /sha256 failed"
    case "$got" in
        *"\"sha256\": \"$want\""*) echo "boot-test: POST /sha256 (4096 random bytes) -> $want, as sha256sum" ;;
        *) fail "POST /sha256 answered '$got', expected the sha256 $want" ;;
    esac
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$base/missing") || true
    [ "$code" = 404 ] || fail "GET /missing answered $code, expected 404"
    # A malformed request gets 400, and the node goes on serving.
    exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to 127.0.0.1:$port"
    printf 'NOT HTTP AT ALL\r\n\r\n' >&3
    status_line=
    IFS= read -r -t 20 status_line <&3 || true
    exec 3<&-
    [[ "$status_line" == "HTTP/1.1 400"* ]] || fail "a malformed request got '${status_line%$'\r'}', expected HTTP/1.1 400"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$base/health") || true
    [ "$code" = 200 ] || fail "GET /health after a malformed request answered $code, expected 200"
    echo "boot-test: GET /missing -> 404, a malformed request -> 400, GET /health still 200"
fi
echo "boot-test: passed in $(seconds_since "$start") s"
