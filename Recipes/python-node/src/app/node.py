"""python-node: a small HTTP service for EnclaveKit's Python recipe, written for this repository.

On start it reads its YAML configuration (PyYAML), hashes the file's bytes and prints one line on the
console:

    python-node 0.2.0 config_sha256=<hex> listening on <port>

then serves HTTP/1.1 (framing by h11) on the configured port:

    GET  /health  -> 200 {"status": "ok", "name": ..., "version": ..., "config_sha256": ...}
    POST /sha256  -> 200 {"sha256": "<hex of the request body>", "size": <bytes>}
    another path  -> 404; another method on a known path -> 405 (with Allow)
    a malformed request -> 400; a body over max-body-bytes -> 413; a slow client -> closed after timeout

Each connection runs in its own thread, bounded by the configured timeout and a connection limit; an error
in one connection closes that connection only.

Usage: node.py [--config PATH] [--port N]   (defaults: /etc/python-node/config.yaml, the config's port)
"""

import hashlib
import json
import socket
import sys
import threading

import h11
import yaml

VERSION = "0.2.0"
DEFAULT_CONFIG = "/etc/python-node/config.yaml"
READ_SIZE = 65536
REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout",
           413: b"Content Too Large", 414: b"URI Too Long", 431: b"Request Header Fields Too Large",
           501: b"Not Implemented", 505: b"HTTP Version Not Supported"}
MAX_HEADER_BYTES = 16384


class ConfigError(Exception):
    pass


def load_config(path):
    """Returns (settings, sha256 hex of the file's bytes); raises ConfigError naming the problem."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    settings = {
        "name": doc.get("name", "python-node"),
        "port": doc.get("port", 8080),
        "max-body-bytes": doc.get("max-body-bytes", 1048576),
        "timeout-seconds": doc.get("timeout-seconds", 5),
        "max-connections": doc.get("max-connections", 32),
    }
    unknown = sorted(set(doc) - set(settings))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(map(str, unknown))}")
    limits = {"port": (1, 65535), "max-body-bytes": (0, 1 << 30), "timeout-seconds": (1, 3600),
              "max-connections": (1, 4096)}
    for key, (low, high) in limits.items():
        value = settings[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(f"{path}: {key} must be an integer from {low} to {high}, not {value!r}")
    if not isinstance(settings["name"], str):
        raise ConfigError(f"{path}: name must be a string")
    return settings, hashlib.sha256(raw).hexdigest()


class Handler:
    """One client connection: reads requests with h11, answers each, until close or error."""

    ROUTES = {"/health": b"GET", "/sha256": b"POST"}

    def __init__(self, sock, settings, config_sha256):
        self.sock = sock
        self.settings = settings
        self.config_sha256 = config_sha256
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)

    def run(self):
        try:
            while self.serve_one():
                self.conn.start_next_cycle()
        except (OSError, h11.LocalProtocolError):
            pass  # the client went away, timed out, or the connection is unusable: drop it
        finally:
            self.close()

    def close(self):
        """Lingering close: stop sending, then read what the client still sends (bounded), so that
        closing with unread input does not reset the connection before the client reads our answer."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(1)
            for _ in range(64):
                if not self.sock.recv(READ_SIZE):
                    break
        except OSError:
            pass
        finally:
            self.sock.close()

    def next_event(self):
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            # h11 enforces its head limit only on an incomplete head, so a large read could bring in an
            # oversized head whole: while a head is awaited, read no further than one byte past the limit.
            size = READ_SIZE
            if self.conn.their_state is h11.IDLE:
                size = max(1, MAX_HEADER_BYTES + 1 - len(self.conn.trailing_data[0]))
            data = self.sock.recv(size)  # b"" at EOF: h11 turns that into ConnectionClosed
            self.conn.receive_data(data)

    def serve_one(self):
        """Serves one request; True when the connection can carry another."""
        try:
            event = self.next_event()
            if isinstance(event, h11.ConnectionClosed):
                return False
            status, body, headers = self.route(event)
            if status == 200 and event.method == b"POST":
                status, body = self.hash_body()
        except h11.RemoteProtocolError as e:
            if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
                return False
            status, body, headers = e.error_status_hint, {"error": "bad request"}, []
        self.respond(status, body, headers)
        if self.conn.our_state is h11.MUST_CLOSE or self.conn.their_state is not h11.DONE:
            return False
        return self.conn.our_state is h11.DONE

    def route(self, request):
        path = request.target.split(b"?", 1)[0].decode("ascii", "replace")
        method = self.ROUTES.get(path)
        if method is None:
            return 404, {"error": "not found"}, []
        if request.method != method:
            return 405, {"error": "method not allowed"}, [(b"Allow", method)]
        if path == "/health":
            self.drain_body()
            return 200, {"status": "ok", "name": self.settings["name"], "version": VERSION,
                         "config_sha256": self.config_sha256}, []
        return 200, None, []

    def drain_body(self):
        """Reads and drops a request body we do not use (so keep-alive stays in step)."""
        limit = self.settings["max-body-bytes"]
        seen = 0
        while True:
            event = self.next_event()
            if isinstance(event, h11.EndOfMessage):
                return
            if isinstance(event, h11.Data):
                seen += len(event.data)
                if seen > limit:
                    raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
            else:
                raise h11.RemoteProtocolError("connection closed in the body", error_status_hint=400)

    def hash_body(self):
        limit = self.settings["max-body-bytes"]
        digest = hashlib.sha256()
        size = 0
        while True:
            event = self.next_event()
            if isinstance(event, h11.EndOfMessage):
                return 200, {"sha256": digest.hexdigest(), "size": size}
            if not isinstance(event, h11.Data):
                raise h11.RemoteProtocolError("connection closed in the body", error_status_hint=400)
            size += len(event.data)
            if size > limit:
                raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
            digest.update(event.data)

    def respond(self, status, body, headers):
        payload = json.dumps(body, sort_keys=True).encode() + b"\n"
        fields = [(b"Content-Type", b"application/json"), (b"Content-Length", str(len(payload)).encode())]
        if status >= 400:
            fields.append((b"Connection", b"close"))
        out = self.conn.send(h11.Response(status_code=status, headers=fields + headers, reason=REASONS.get(status, b"")))
        out += self.conn.send(h11.Data(data=payload))
        out += self.conn.send(h11.EndOfMessage())
        self.sock.sendall(out)


def serve(listener, settings, config_sha256):
    slots = threading.BoundedSemaphore(settings["max-connections"])

    def handle(client):
        try:
            Handler(client, settings, config_sha256).run()
        finally:
            slots.release()

    while True:
        slots.acquire()
        try:
            client, _ = listener.accept()
        except OSError:
            slots.release()
            continue
        client.settimeout(settings["timeout-seconds"])
        threading.Thread(target=handle, args=(client,), daemon=True).start()


def main(argv):
    config_path, port = DEFAULT_CONFIG, None
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag in ("--config", "--port") and args:
            value = args.pop(0)
            if flag == "--config":
                config_path = value
            elif value.isdigit() and 0 < int(value) < 65536:
                port = int(value)
            else:
                print(f"python-node: --port wants 1 to 65535, not {value!r}", file=sys.stderr)
                return 2
        else:
            print(__doc__.strip().splitlines()[-1], file=sys.stderr)
            return 2
    try:
        settings, config_sha256 = load_config(config_path)
    except ConfigError as e:
        print(f"python-node: {e}", file=sys.stderr)
        return 1
    if port is not None:
        settings["port"] = port
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("0.0.0.0", settings["port"]))
    except OSError as e:
        print(f"python-node: cannot listen on port {settings['port']}: {e.strerror}", file=sys.stderr)
        return 1
    listener.listen(64)
    print(f"python-node {VERSION} config_sha256={config_sha256} listening on {settings['port']}", flush=True)
    serve(listener, settings, config_sha256)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
