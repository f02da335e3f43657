#!/usr/bin/env bash
# Checks a built node binary on the host (by hand, not CI; the node is a static x86-64 Linux binary):
#   1. its SHA-256 (src/sha256.c) against coreutils' sha256sum, on messages around the block boundaries
#      (0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128 bytes), a 1 MiB random file and the node itself;
#   2. the HTTP service: start line, GET / (the JSON with sha256sum's digest of the config), 404, 405, 400.
# Usage: Recipes/example-node/check-node.sh NODE [CONFIG]   (CONFIG defaults to src/node.conf)
# Exit status 0 when every check passes.
set -euo pipefail

node=${1:?usage: check-node.sh NODE [CONFIG]}
here=$(cd "$(dirname "$0")" && pwd)
conf=${2:-$here/src/node.conf}
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail=0
check() { # NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then echo "ok    $1"; else echo "FAIL  $1"; echo "  expected: $2"; echo "  actual:   $3"; fail=1; fi
}

for n in 0 1 55 56 63 64 65 119 120 127 128; do head -c "$n" /dev/zero | tr '\0' 'a' >"$work/len$n"; done
head -c 1048576 /dev/urandom >"$work/random"
cp "$node" "$work/self"
(cd "$work" && "$node" --sha256 len* random self) >"$work/mine"
(cd "$work" && sha256sum len* random self) >"$work/reference"
check "sha256 of $(wc -l <"$work/reference") files equals sha256sum" "$(cat "$work/reference")" "$(cat "$work/mine")"

digest=$(sha256sum "$conf" | cut -d' ' -f1)
port=$(( 20000 + RANDOM % 20000 ))
"$node" --config "$conf" --port "$port" --vsock-port 0 >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 50); do [ -s "$work/stdout" ] && break; sleep 0.1; done
check "start line" "example-node 0.2.0 config_sha256=$digest listening" "$(cat "$work/stdout")"

request() { # RAW-REQUEST -> the response with CRs removed
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%b' "$1" >&3
  tr -d '\r' <&3
  exec 3<&-
}
body='{"name":"example-node","version":"0.2.0","config_sha256":"'"$digest"'"}'
check "GET /" "HTTP/1.0 200 OK
Content-Type: application/json
Content-Length: $(( ${#body} + 1 ))
Connection: close

$body" "$(request 'GET / HTTP/1.0\r\nHost: x\r\n\r\n')"
check "GET /missing" "HTTP/1.0 404 Not Found" "$(request 'GET /missing HTTP/1.1\r\n\r\n' | head -1)"
check "POST /" "HTTP/1.0 405 Method Not Allowed" "$(request 'POST / HTTP/1.0\r\n\r\n' | head -1)"
check "garbage" "HTTP/1.0 400 Bad Request" "$(request 'garbage\r\n\r\n' | head -1)"
check "still serving" "HTTP/1.0 200 OK" "$(request 'GET / HTTP/1.0\r\n\r\n' | head -1)"
check "missing config" "example-node: cannot read the configuration $work/none: No such file or directory" \
  "$("$node" --config "$work/none" --port 0 2>&1 || true)"
exit "$fail"
