#!/usr/bin/env python3
"""Independent Nitro and SEV-SNP evidence checker for EnclaveKit's tests (Python `cryptography` + `cbor2`).

Written from the public format descriptions (AWS nsm-api attestation_process.md, AMD SEV-SNP ABI #56860),
not from EnclaveKit's code, so the two can be compared:

  reference_checker.py nitro DOC UNIX_TIME [--allow-debug]
  reference_checker.py snp REPORT VCEK_PEM CHAIN_PEM UNIX_TIME [--allow-debug]

Prints one JSON object: {"verified": bool, "reason": str, "measurements": {name: hex}}.
"""
import datetime
import hashlib
import json
import sys
import warnings

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

AWS_ROOT_SHA256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"
AMD_ARK_SHA256 = {
    "Milan": "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    "Genoa": "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    "Turin": "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
}


class Failed(Exception):
    pass


def valid_at(cert, when, what):
    if not (cert.not_valid_before_utc <= when <= cert.not_valid_after_utc):
        raise Failed(f"{what} not valid at {when.isoformat()}")


def nitro(path, when, allow_debug, measurements):
    data = open(path, "rb").read()
    item = cbor2.loads(data)
    if isinstance(item, cbor2.CBORTag):
        if item.tag != 18:
            raise Failed("structure: tag")
        item = item.value
    if not (isinstance(item, list) and len(item) == 4):
        raise Failed("structure: not COSE_Sign1")
    protected, _unprotected, payload, signature = item
    if protected != b"\xa1\x01\x38\x22" or len(signature) != 96:
        raise Failed("structure: header or signature")
    doc = cbor2.loads(payload)
    measurements.update({f"PCR{i}": v.hex() for i, v in sorted(doc["pcrs"].items())})
    if doc["digest"] != "SHA384":
        raise Failed("structure: digest")
    bundle = doc["cabundle"]
    if hashlib.sha256(bundle[0]).hexdigest() != AWS_ROOT_SHA256:
        raise Failed("root: not the AWS root")
    chain = [x509.load_der_x509_certificate(doc["certificate"])]
    chain += [x509.load_der_x509_certificate(d) for d in reversed(bundle)]
    for i, cert in enumerate(chain):
        valid_at(cert, when, f"chain: certificate {i}")
        issuer = chain[i + 1] if i + 1 < len(chain) else cert
        issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    leaf_key = chain[0].public_key()
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    der = encode_dss_signature(int.from_bytes(signature[:48], "big"), int.from_bytes(signature[48:], "big"))
    try:
        leaf_key.verify(der, sig_structure, ec.ECDSA(hashes.SHA384()))
    except Exception:
        raise Failed("signature")
    debug = all(not any(doc["pcrs"].get(i, b"\x01")) for i in (0, 1, 2, 8) if i in doc["pcrs"])
    if debug and not allow_debug:
        raise Failed("debug")


def der_int(value):
    # DER INTEGER: tag 2, short length.
    if len(value) < 3 or value[0] != 2 or value[1] != len(value) - 2:
        raise Failed("vcek-tcb: extension is not a DER INTEGER")
    return int.from_bytes(value[2:], "big", signed=True)


def snp(path, vcek_path, chain_path, when, allow_debug, measurements):
    report = open(path, "rb").read()
    if len(report) != 0x4A0:
        raise Failed("structure: size")
    version = int.from_bytes(report[0:4], "little")
    if version not in (2, 3, 4, 5) or int.from_bytes(report[0x34:0x38], "little") != 1:
        raise Failed("structure: version or algorithm")
    measurements["MEASUREMENT"] = report[0x90:0xC0].hex()
    fam, mod = report[0x188], report[0x189]
    if fam == 0x19 and mod <= 0x0F:
        product = "Milan"
    elif fam == 0x19 and (0x10 <= mod <= 0x1F or 0xA0 <= mod <= 0xAF):
        product = "Genoa"
    elif fam == 0x1A and mod <= 0x11:
        product = "Turin"
    else:
        raise Failed("structure: product")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the VCEK's serial number is 0
        vcek = x509.load_pem_x509_certificate(open(vcek_path, "rb").read())
        ask, ark = x509.load_pem_x509_certificates(open(chain_path, "rb").read())
    if hashlib.sha256(ark.public_bytes(serialization_der())).hexdigest() != AMD_ARK_SHA256[product]:
        raise Failed("root: not the ARK of " + product)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
    for cert, issuer, what in ((ark, ark, "ARK"), (ask, ark, "ASK"), (vcek, ask, "VCEK")):
        valid_at(cert, when, "chain: " + what)
        try:
            issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes, pss, hashes.SHA384())
        except Exception:
            raise Failed("chain: " + what + " signature")

    def ext(suffix):
        oid = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1." + suffix)
        return vcek.extensions.get_extension_for_oid(oid).value.value

    tcb = report[0x180:0x188]
    if product == "Turin":
        spl = {"3.9": tcb[0], "3.1": tcb[1], "3.2": tcb[2], "3.3": tcb[3], "3.8": tcb[7]}
    else:
        spl = {"3.1": tcb[0], "3.2": tcb[1], "3.3": tcb[6], "3.8": tcb[7]}
    for suffix, expected in spl.items():
        if der_int(ext(suffix)) != expected:
            raise Failed("vcek-tcb: " + suffix)
    hwid = ext("4")
    chip = report[0x1A0:0x1E0]
    if chip[: len(hwid)] != hwid or any(chip[len(hwid):]):
        raise Failed("vcek-hwid")
    r = int.from_bytes(report[0x2A0:0x2A0 + 72], "little")
    s = int.from_bytes(report[0x2E8:0x2E8 + 72], "little")
    try:
        vcek.public_key().verify(encode_dss_signature(r, s), report[:0x2A0], ec.ECDSA(hashes.SHA384()))
    except Exception:
        raise Failed("signature")
    if int.from_bytes(report[8:16], "little") & (1 << 19) and not allow_debug:
        raise Failed("debug")


def serialization_der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def main(argv):
    allow_debug = "--allow-debug" in argv
    args = [a for a in argv if a != "--allow-debug"]
    when = datetime.datetime.fromtimestamp(int(args[-1]), tz=datetime.timezone.utc)
    measurements = {}
    try:
        if args[0] == "nitro":
            nitro(args[1], when, allow_debug, measurements)
        elif args[0] == "snp":
            snp(args[1], args[2], args[3], when, allow_debug, measurements)
        else:
            raise SystemExit("usage: reference_checker.py nitro DOC TIME | snp REPORT VCEK CHAIN TIME")
        print(json.dumps({"verified": True, "reason": "", "measurements": measurements}))
    except Failed as e:
        print(json.dumps({"verified": False, "reason": str(e), "measurements": measurements}))
    except Exception as e:  # malformed input
        print(json.dumps({"verified": False, "reason": "structure: " + repr(e), "measurements": measurements}))


if __name__ == "__main__":
    main(sys.argv[1:])
