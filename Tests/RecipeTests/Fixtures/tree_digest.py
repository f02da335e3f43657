#!/usr/bin/env python3
"""Independent reference for the tree digest of Recipes/README.md (used by TreeDigestTests).

Usage: tree_digest.py DIR  -> prints the digest on the first line, then the listing.
"""
import hashlib
import os
import stat
import sys

root = os.fsencode(sys.argv[1])
lines = []
for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
    for name in dirnames + filenames:
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, root)
        st = os.lstat(full)
        if stat.S_ISDIR(st.st_mode):
            lines.append((rel, b"d 0755 0 " + b"0" * 64 + b" " + rel + b"\n"))
        elif stat.S_ISLNK(st.st_mode):
            target = os.readlink(full)
            digest = hashlib.sha256(target).hexdigest().encode()
            lines.append((rel, b"l 0755 %d " % len(target) + digest + b" " + rel + b"\n"))
        elif stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest().encode()
            mode = b"0755" if st.st_mode & 0o100 else b"0644"
            lines.append((rel, b"f " + mode + b" %d " % st.st_size + digest + b" " + rel + b"\n"))
        else:
            sys.exit("special file")
lines.sort(key=lambda item: item[0])
listing = b"".join(line for _, line in lines)
sys.stdout.buffer.write(hashlib.sha256(listing).hexdigest().encode() + b"\n" + listing)
