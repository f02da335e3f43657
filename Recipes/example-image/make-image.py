#!/usr/bin/env python3
"""Writes a small docker-archive image tarball (the `docker save` / kaniko `--tarPath` layout)
deterministically, with no Docker daemon: the same bytes on every machine and every run.

    python3 Recipes/example-image/make-image.py example-image.tar

Layout (Docker Image Specification v1.2): manifest.json, <sha256 of config>.json, <layer id>/layer.tar.
Layer 1 holds a shell script and a config file; layer 2 adds a data file and deletes the config file
with a whiteout (.wh.NAME), as a Dockerfile `RUN rm` would.
"""
import hashlib
import io
import json
import sys
import tarfile

MTIME = 1700000000  # fixed timestamps: file mtimes are part of the ramdisk and so of PCR2


def tar_bytes(entries):
    """entries: (name, kind, mode, data_or_linkname). Returns an uncompressed tar with fixed metadata."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, mode, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def main(path):
    hello = b'#!/bin/sh\nwhile true; do echo "$GREETING from the enclave"; sleep 5; done\n'
    layer1 = tar_bytes([
        ("app/", "dir", 0o755, b""),
        ("app/hello.sh", "file", 0o755, hello),
        ("app/settings.conf", "file", 0o644, b"debug=false\n"),
        ("bin/", "dir", 0o755, b""),
        ("bin/hello", "symlink", 0o777, "../app/hello.sh"),
    ])
    layer2 = tar_bytes([
        ("app/", "dir", 0o755, b""),
        ("app/.wh.settings.conf", "file", 0o644, b""),
        ("app/data.txt", "file", 0o644, b"42\n"),
    ])
    layers = [layer1, layer2]
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Cmd": ["/app/hello.sh"],
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=Hello"],
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "example-image/make-image.py"}],
    }, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_names = [hashlib.sha256(layer).hexdigest() + "/layer.tar" for layer in layers]
    manifest = json.dumps([{
        "Config": config_name, "RepoTags": ["example-image:latest"], "Layers": layer_names,
    }], separators=(",", ":")).encode()

    members = [(config_name, config)] + list(zip(layer_names, layers)) + [("manifest.json", manifest)]
    with open(path, "wb") as f:
        f.write(tar_bytes([(name, "file", 0o644, data) for name, data in members]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make-image.py OUTPUT.tar")
    main(sys.argv[1])
