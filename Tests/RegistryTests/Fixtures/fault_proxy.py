#!/usr/bin/env python3
"""A fault-injecting proxy in front of a registry on 127.0.0.1, for the Registry tests.

Usage: fault_proxy.py UPSTREAM_PORT FAULT [FAULT...]; prints the port it listens on (127.0.0.1, a free
port) as its first line, then serves until killed. GET, HEAD, POST, PUT and PATCH are forwarded, with
the client's Host header (so the registry's upload Locations point back at the proxy).
Faults:
  corrupt:REF         GET of blob REF, or of manifests/REF (a tag or digest): the body with its first
                      byte changed (same length, headers as the registry sent them)
  truncate:DIGEST     GET of blob DIGEST: announces the full length, sends half, closes (every time)
  drop-once:DIGEST    like truncate, the first time only
  missing:DIGEST      GET/HEAD of blob DIGEST: 404 BLOB_UNKNOWN
  error500:N          the first N requests under /v2/NAME/ answer 500 (N = all: every one)
  move-tag:TAG:OTHER  after the first GET of manifests/TAG, manifests/TAG is served as manifests/OTHER
  referrers-api:on    answers GET /v2/NAME/referrers/DIGEST (OCI distribution 1.1) from the sha256-HEX
                      tag that the registry holds (distribution 2.8 has no referrers API of its own)
  bearer:USER:PASS    every /v2/ request needs "Authorization: Bearer TOKEN", else 401 with a Bearer
                      challenge whose realm is this proxy's /token; /token gives TOKEN for Basic USER:PASS
GET /_stats answers {"requests": N, "blobGets": {DIGEST: N}} (requests under /v2/NAME/ only).
"""
import base64
import http.client
import http.server
import json
import re
import signal
import sys
import threading

# The test process may spawn this with SIGTERM blocked (the mask is inherited): unblock it, so that the
# test's terminate() ends the proxy.
signal.pthread_sigmask(signal.SIG_SETMASK, [])

UPSTREAM = int(sys.argv[1])
FAULTS = sys.argv[2:]
LOCK = threading.Lock()
STATE = {"requests": 0, "blobGets": {}, "tagRead": set(), "errors": 0, "dropped": set()}


def faults(kind):
    return [f.split(":", 1)[1] for f in FAULTS if f.split(":", 1)[0] == kind]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def send_plain(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        path = self.path
        if path == "/_stats":
            with LOCK:
                body = json.dumps(
                    {"requests": STATE["requests"], "blobGets": STATE["blobGets"], "tokens": STATE.get("tokenRequests", 0)}
                ).encode()
            return self.send_plain(200, body, [("Content-Type", "application/json")])
        for spec in faults("bearer"):
            expected = "Basic " + base64.b64encode(spec.encode()).decode()
            host = "127.0.0.1:%d" % self.server.server_address[1]
            if path.startswith("/token"):
                with LOCK:
                    STATE["tokenRequests"] = STATE.get("tokenRequests", 0) + 1
                if self.headers.get("Authorization") != expected or "scope=repository" not in path:
                    return self.send_plain(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
                return self.send_plain(200, b'{"token":"t0k3n"}', [("Content-Type", "application/json")])
            if self.headers.get("Authorization") != "Bearer t0k3n":
                challenge = 'Bearer realm="http://%s/token",service="test-registry"' % host
                return self.send_plain(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [("WWW-Authenticate", challenge)])
        referrers = re.match(r"^/v2/(.+)/referrers/sha256:([0-9a-f]{64})$", path)
        if referrers and faults("referrers-api"):
            conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
            conn.request(
                "GET", "/v2/%s/manifests/sha256-%s" % referrers.groups(),
                headers={"Accept": "application/vnd.oci.image.index.v1+json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                body = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
            return self.send_plain(200, body, [("Content-Type", "application/vnd.oci.image.index.v1+json")])
        counted = re.match(r"^/v2/.+/(blobs|manifests|referrers)/", path) is not None
        blob = re.match(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$", path)
        manifest = re.match(r"^/v2/(.+)/manifests/([^/]+)$", path)
        with LOCK:
            if counted:
                STATE["requests"] += 1
                for n in faults("error500"):
                    if n == "all" or STATE["errors"] < int(n):
                        STATE["errors"] += 1
                        return self.send_plain(500, b'{"errors":[{"code":"UNKNOWN","message":"injected"}]}')
            if blob and self.command == "GET":
                d = blob.group(2)
                STATE["blobGets"][d] = STATE["blobGets"].get(d, 0) + 1
        if blob and blob.group(2) in faults("missing"):
            return self.send_plain(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}')
        if manifest:
            for spec in faults("move-tag"):
                tag, other = spec.split(":", 1)
                if manifest.group(2) == tag:
                    with LOCK:
                        moved = tag in STATE["tagRead"]
                        if self.command == "GET":
                            STATE["tagRead"].add(tag)
                    if moved:
                        path = "/v2/%s/manifests/%s" % (manifest.group(1), other)
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "authorization")}
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else None
        conn.request(self.command, path, body=payload, headers=headers)
        resp = conn.getresponse()
        body = resp.read() if self.command != "HEAD" else b""
        digest = blob.group(2) if blob and self.command == "GET" and resp.status == 200 else None
        cut = False
        if manifest and self.command == "GET" and manifest.group(2) in faults("corrupt") and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if digest in faults("corrupt") and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if digest in faults("truncate"):
            cut = True
        if digest in faults("drop-once"):
            with LOCK:
                if digest not in STATE["dropped"]:
                    STATE["dropped"].add(digest)
                    cut = True
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        length = resp.getheader("Content-Length") if self.command == "HEAD" else str(len(body))
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    do_GET = handle_any
    do_HEAD = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_PATCH = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
