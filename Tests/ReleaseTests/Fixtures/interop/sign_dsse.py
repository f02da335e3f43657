#!/usr/bin/env python3
"""Sign a payload into a DSSE envelope with securesystemslib's CryptoSigner (the reference signer),
one signature per private key, keyids being securesystemslib's defaults.

usage: sign_dsse.py PAYLOAD_FILE PAYLOAD_TYPE OUT.json PRIVKEY.pem [PRIVKEY.pem ...]
"""
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner


def main():
    payload_path, payload_type, out_path, key_paths = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    with open(payload_path, "rb") as f:
        payload = f.read()
    envelope = Envelope(payload=payload, payload_type=payload_type, signatures={})
    for key_path in key_paths:
        with open(key_path, "rb") as f:
            signer = CryptoSigner(load_pem_private_key(f.read(), password=None))
        envelope.sign(signer)
    with open(out_path, "w") as f:
        json.dump(envelope.to_dict(), f, indent=2)


if __name__ == "__main__":
    main()
