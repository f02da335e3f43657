#!/usr/bin/env bash
# Tests python-node on the host (by hand, not CI; CI boots the image: ../boot-test.sh --http): its config
# checks, its start line, and its answers, good and bad, with curl and bash's /dev/tcp.
#   Recipes/python-node/check-node.sh SITE
# SITE holds PyYAML 6.0.2 and h11 0.16.0 for the host's python3 (3.11), e.g. made with
#   python3 -m pip install --target SITE PyYAML==6.0.2 h11==0.16.0
# Exit 0 when every check passes; the first failure is printed with the node's output.
set -euo pipefail
[ $# -eq 1 ] && [ -d "$1" ] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 2; }
site=$(cd "$1" && pwd)
node="$(cd "$(dirname "$0")" && pwd)/src/app/node.py"
pid=
stop_node() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true; }
work=$(mktemp -d)
trap 'stop_node; rm -rf "$work"' EXIT
run_node() { PYTHONPATH="$site" python3 "$node" "$@"; }
fail() { echo "check-node: FAILED: $1" >&2; [ -f "$work/node.log" ] && sed 's/^/  node: /' "$work/node.log" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); }

# Configurations the node must refuse, each with exit 1 and a message naming the file.
bad_config() {
    printf '%s\n' "$1" >"$work/bad.yaml"
    if run_node --config "$work/bad.yaml" >"$work/bad.out" 2>&1; then fail "config '$1' was accepted"; fi
    grep -q "$work/bad.yaml: $2" "$work/bad.out" || fail "config '$1': expected '$2', got '$(cat "$work/bad.out")'"
    ok
}
bad_config '- a list' 'expected a mapping'
bad_config 'port: 70000' 'port must be an integer from 1 to 65535'
bad_config 'port: true' 'port must be an integer'
bad_config 'colour: blue' 'unknown key'
bad_config 'port: [1' 'not valid YAML'
run_node --config "$work/missing.yaml" >"$work/bad.out" 2>&1 && fail "a missing config was accepted"
grep -q 'cannot read' "$work/bad.out" || fail "a missing config: $(cat "$work/bad.out")"
ok

# The node under test: small limits so that they can be hit.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/config.yaml" <<EOF
name: check-node
port: $port
max-body-bytes: 200000
timeout-seconds: 1
max-connections: 4
EOF
config_sha=$(sha256sum "$work/config.yaml" | cut -d' ' -f1)
: >"$work/node.log"
PYTHONPATH="$site" python3 "$node" --config "$work/config.yaml" >"$work/node.log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q listening "$work/node.log" && break; sleep 0.1; done
[ "$(head -n1 "$work/node.log")" = "python-node 0.2.0 config_sha256=$config_sha listening on $port" ] ||
    fail "start line: '$(head -n1 "$work/node.log")'"
ok
base="http://127.0.0.1:$port"

expect_code() { # METHOD PATH WANT [curl args...]
    local method=$1 path=$2 want=$3 code
    shift 3
    code=$(curl -s -o "$work/body" -w '%{http_code}' -X "$method" --max-time 10 "$@" "$base$path") || true
    [ "$code" = "$want" ] || fail "$method $path: $code, expected $want ($(cat "$work/body" 2>/dev/null))"
    ok
}
expect_code GET /health 200
grep -q "\"config_sha256\": \"$config_sha\"" "$work/body" || fail "/health body: $(cat "$work/body")"
grep -q '"name": "check-node"' "$work/body" || fail "/health body: $(cat "$work/body")"
expect_code GET /health?verbose=1 200
expect_code GET /nothing 404
expect_code GET /sha256 405
expect_code POST /health 405
curl -s -D - -o /dev/null -X DELETE "$base/health" | tr -d '\r' | grep -qx 'Allow: GET' || fail "405 without Allow: GET"
ok

# Digests against sha256sum: around the 64-byte block boundaries, and 150 KB of random bytes.
for size in 0 1 55 56 63 64 65 119 120 128 150000; do
    head -c "$size" /dev/urandom >"$work/in"
    want=$(sha256sum "$work/in" | cut -d' ' -f1)
    expect_code POST /sha256 200 --data-binary @"$work/in"
    grep -q "{\"sha256\": \"$want\", \"size\": $size}" "$work/body" || fail "sha256 of $size bytes: $(cat "$work/body")"
done
head -c 1000 /dev/urandom >"$work/in"
expect_code POST /sha256 200 -H 'Transfer-Encoding: chunked' --data-binary @"$work/in"
grep -q "$(sha256sum "$work/in" | cut -d' ' -f1)" "$work/body" || fail "chunked body: $(cat "$work/body")"
head -c 200001 /dev/zero >"$work/in"
expect_code POST /sha256 413 --data-binary @"$work/in"

# Keep-alive: two requests on one connection.
curl -s -v "$base/health" "$base/health" -o /dev/null -o /dev/null 2>&1 | grep -q 'Re-using existing connection' ||
    fail "the second request did not reuse the connection"
ok

# Raw requests: a malformed one gets 400; huge headers 431; a client that sends nothing is dropped after
# the timeout while others are served.
raw() { # REQUEST-BYTES -> first line of the answer
    local line=
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf '%b' "$1" >&3
    IFS= read -r -t 5 line <&3 || true
    exec 3<&-
    printf '%s' "${line%$'\r'}"
}
[[ "$(raw 'NOT HTTP\r\n\r\n')" == "HTTP/1.1 400"* ]] || fail "malformed request: not 400"
ok
[[ "$(raw 'GET /health HTTP/1.1\r\n\r\n')" == "HTTP/1.1 400"* ]] || fail "HTTP/1.1 without Host: not 400"
ok
big=$(head -c 20000 /dev/zero | tr '\0' a)
[[ "$(raw "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n")" == "HTTP/1.1 431"* ]] || fail "huge header: not 431"
ok
exec 4<>"/dev/tcp/127.0.0.1/$port"
expect_code GET /health 200
start=$SECONDS
IFS= read -r -t 10 line <&4 && fail "the silent client got '$line'" || true
[ $((SECONDS - start)) -le 5 ] || fail "the silent client was not dropped after the 1 s timeout"
exec 4<&-
ok
for _ in 1 2 3 4 5 6; do exec 5<>"/dev/tcp/127.0.0.1/$port"; exec 5<&-; done # more than max-connections, closed
expect_code GET /health 200
kill -0 "$pid" 2>/dev/null || fail "the node died"
echo "check-node: $passed passed, 0 failed"
