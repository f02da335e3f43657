#!/usr/bin/env python3
"""Verify a DSSE envelope (or a Sigstore bundle's envelope) with the reference clients, using only
public keys: securesystemslib's dsse.Envelope.verify (keyids must match securesystemslib's default
keyid) and python in-toto's models.metadata.Envelope.verify_signature, then check that the payload
is an in-toto Statement v1.

usage: verify_dsse.py ENVELOPE THRESHOLD PUBKEY.pem [PUBKEY.pem ...]
Exit 0 only if both clients accept the envelope with THRESHOLD distinct keys.
"""
import copy
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from in_toto.models.metadata import Envelope as InTotoEnvelope
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey


def main():
    path, threshold, key_paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    with open(path, "rb") as f:
        document = json.load(f)
    if "mediaType" in document:
        document = document["dsseEnvelope"]
    keys = []
    for key_path in key_paths:
        with open(key_path, "rb") as f:
            keys.append(SSlibKey.from_crypto(load_pem_public_key(f.read())))

    envelope = Envelope.from_dict(copy.deepcopy(document))
    accepted = envelope.verify(keys, threshold)
    print("securesystemslib: verified by", sorted(accepted))

    # python in-toto: each accepted key on its own, through its key-dictionary interface.
    intoto = InTotoEnvelope.from_dict(copy.deepcopy(document))
    for key in keys:
        if key.keyid in accepted:
            intoto.verify_signature(key.to_dict() | {"keyid": key.keyid})
    print("in-toto: verified", len(accepted), "key(s)")

    if envelope.payload_type != "application/vnd.in-toto+json":
        sys.exit("payloadType is not application/vnd.in-toto+json")
    statement = json.loads(envelope.payload)
    if statement.get("_type") != "https://in-toto.io/Statement/v1":
        sys.exit("payload is not an in-toto Statement v1")
    subjects = statement.get("subject")
    if not subjects or not all(s.get("digest") for s in subjects):
        sys.exit("Statement subjects need digests")
    if not isinstance(statement.get("predicateType"), str):
        sys.exit("Statement has no predicateType")
    print("statement:", statement["predicateType"], [s["name"] for s in subjects])


if __name__ == "__main__":
    main()
