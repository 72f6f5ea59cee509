#!/usr/bin/env python3
"""Independent NVMe/TCP TLS PSK computations, for the TLS relay tests' server side.

What it computes (auth-tls-facts.md section 4, RFC 8446 section 7.1, RFC 5869):
  * the "NVMeTLSkey-1:HH:<base64(PSK || CRC32_LE)>:" interchange format, CRC checked;
  * HKDF-Expand-Label(Secret, Label, Context, L) = HKDF-Expand(Secret, HkdfLabel, L) with
      HkdfLabel = BE16(L) || u8(len("tls13 " + Label)) || "tls13 " + Label
                  || u8(len(Context)) || Context
    and the secret HKDF-Extract(salt = zeros(HashLen), configured-or-retained PSK);
  * retained PSK = HKDF-Expand-Label(Extract(0, configured), "HostNQN", hostnqn, len(configured))
    with the hash HH names (HH 00: the configured PSK itself);
  * v1 digest = Base64(HMAC_hh(retained, hostnqn || " " || subnqn || " " || "NVMe-over-Fabrics"));
  * v1 identity = "NVMe1Rhh <hostnqn> <subnqn> <digest>";
  * TLS PSK = HKDF-Expand-Label(Extract(0, retained), "nvme-tls-psk", "hh digest", HashLen).

Published vectors it reproduces before it prints anything (it exits 1 otherwise):
  * libnvme test/psk.c: the interchange strings of the 32-byte key (HH 01) and the 48-byte key
    (HH 02), and their v1 identities for nqn.psk-test-host / nqn.psk-test-subsys, SHA-256 and
    SHA-384 digests both;
  * the kernel's nvme-auth KUnit test (drivers/nvme/common/tests/auth_kunit.c): the generated
    PSK HMAC_H(KS, C1 || C2), its digest and its TLS PSK, SHA-256 and SHA-384;
  * auth-tls-facts.md section 4: the v1 TLS PSK of the 32-byte key (SHA-256), 8fc3c0ba...

No TLS PSK of a *retained* SHA-384 key is published anywhere we know of: the SHA-384 TLS PSK
for libnvme's 48-byte key is computed here from the formulas above, whose SHA-384 path the
KUnit vector checks (HKDF-Expand-Label with "nvme-tls-psk") and whose retained-PSK + digest
path libnvme's SHA-384 identity checks.

Written from the facts sheet and the RFCs, not from the project's C++ (tls/tls_psk.*), so that
the relay (which gets these keys) and our initiator (which derives its own) check each other.
Python standard library only.

Modes (run from the repository root):
    python3 tests/vectors/tls_psk_vectors.py > tests/vectors/tls_psk_vectors.json
  the vectors the sim tests give the relay;
    python3 tests/vectors/tls_psk_vectors.py --psk-file OUT --key-file KEY --hostnqn H --subnqn S [--subnqn S2]
  a relay PSK file ("<identity> <hex TLS PSK>" per line, mode 0600) for the configured key in
  KEY (one NVMeTLSkey-1 line), for H and each S: what the real tests give the relay.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import zlib

HASHES = {1: hashlib.sha256, 2: hashlib.sha384}
HASH_LEN = {1: 32, 2: 48}

# libnvme test/psk.c
KEY32 = bytes.fromhex("5512dbb6737d0106f65975b773dfb011ffc344bcf442e2dd6d8bc4870b5d5b03")
KEY48 = KEY32 + bytes.fromhex("ffc344bcf442e2dd6d8bc4870b5d5b03")
KEY32_TEXT = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
KEY48_TEXT = "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:"
LT_HOST = "nqn.psk-test-host"
LT_SUB = "nqn.psk-test-subsys"
LT_IDENTITY = {
    1: "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=",
    2: "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
       "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a",
}
# auth-tls-facts.md section 4 (computed there from the same formulas).
FACTS_TLS_PSK_V1_SHA256 = "8fc3c0badfd4c0c66fa3ca33aadd0314f85536cc9bc47338b60f3e6e563786ca"
# Kernel KUnit: skey[i] = 'A' + i, c1[i] = i, c2[i] = 0xff - i, "hostnqn" / "subsysnqn".
KUNIT = {
    1: ("1733c59fa7f48fcf37f5f26fc4ff0268ad4f78e030f4f3b0bfd1d47e7bb1447a",
        "OldoKuTfKddMuyCznAZojkWD7P4D9/AtzDzLimtOxqI=",
        "3c17da628474a04d2247c4cab47968c915388193f7c071bd9489cc3666cd7cc8"),
    2: ("f14b2dd3234c459694d3bc63f8968bd6b37c2c6de849e22e118749001ce4bbe8"
        "640b9e3a748cb11ce4b1d71d359cce39",
        "cffMWk8TSS7HOQebjgYEIkrPrjWPV4JE5cdPB8WhEvY4JBW5YynKyv66XscN4A9n",
        "2774753233537b3fa50eb7d16a8e43457d85f4906c005b2236616c5d80939d08"
        "98fff15bb8b77119d2be0aac423e7590"),
}
DISCOVERY_NQN = "nqn.2014-08.org.nvmexpress.discovery"


def parse_interchange(text):
    """(HH, key) of an NVMeTLSkey-1 string; raises ValueError on any defect."""
    parts = text.strip().split(":")
    if len(parts) != 4 or parts[0] != "NVMeTLSkey-1" or parts[3] != "":
        raise ValueError("not NVMeTLSkey-1:HH:<base64>:")
    hh = int(parts[1], 10)
    raw = base64.b64decode(parts[2], validate=True)
    key, crc = raw[:-4], raw[-4:]
    if len(key) not in (32, 48) or (hh == 1 and len(key) != 32) or (hh == 2 and len(key) != 48) or hh not in (0, 1, 2):
        raise ValueError("key length does not fit HH")
    if struct.unpack("<I", crc)[0] != zlib.crc32(key) & 0xFFFFFFFF:
        raise ValueError("CRC-32 mismatch")
    return hh, key


def hkdf_extract(hh, ikm):
    return hmac.new(bytes(HASH_LEN[hh]), ikm, HASHES[hh]).digest()


def hkdf_expand(hh, prk, info, length):
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), HASHES[hh]).digest()
        out += block
        counter += 1
    return out[:length]


def expand_label(hh, ikm, label, context, length):
    """HKDF-Expand-Label(HKDF-Extract(0, ikm), label, context, length), RFC 8446 7.1."""
    full = b"tls13 " + label.encode()
    ctx = context.encode()
    info = struct.pack(">H", length) + bytes([len(full)]) + full + bytes([len(ctx)]) + ctx
    return hkdf_expand(hh, hkdf_extract(hh, ikm), info, length)


def digest(hh, psk, hostnqn, subnqn):
    msg = (hostnqn + " " + subnqn + " NVMe-over-Fabrics").encode()
    return base64.b64encode(hmac.new(psk, msg, HASHES[hh]).digest()).decode()


def tls_psk(hh, psk, dgst):
    return expand_label(hh, psk, "nvme-tls-psk", "%02d %s" % (hh, dgst), HASH_LEN[hh])


def v1_identity_and_psk(configured_text, hostnqn, subnqn):
    """(identity, TLS PSK, hh) a host with this configured key offers to subnqn."""
    transform, key = parse_interchange(configured_text)
    hh = transform if transform != 0 else (1 if len(key) == 32 else 2)
    retained = key if transform == 0 else expand_label(transform, key, "HostNQN", hostnqn, len(key))
    dgst = digest(hh, retained, hostnqn, subnqn)
    return "NVMe1R%02d %s %s %s" % (hh, hostnqn, subnqn, dgst), tls_psk(hh, retained, dgst), hh


def self_check():
    problems = []
    if parse_interchange(KEY32_TEXT) != (1, KEY32) or parse_interchange(KEY48_TEXT) != (2, KEY48):
        problems.append("libnvme interchange strings")
    for text, hh in ((KEY32_TEXT, 1), (KEY48_TEXT, 2)):
        identity, _, _ = v1_identity_and_psk(text, LT_HOST, LT_SUB)
        if identity != LT_IDENTITY[hh]:
            problems.append("libnvme v1 identity hh %02d: %s" % (hh, identity))
    _, psk256, _ = v1_identity_and_psk(KEY32_TEXT, LT_HOST, LT_SUB)
    if psk256.hex() != FACTS_TLS_PSK_V1_SHA256:
        problems.append("facts-sheet v1 TLS PSK (SHA-256)")
    for hh, (psk_hex, dgst_want, tls_want) in KUNIT.items():
        n = HASH_LEN[hh]
        skey = bytes(ord("A") + i for i in range(n))
        c1 = bytes(range(n))
        c2 = bytes(0xFF - i for i in range(n))
        generated = hmac.new(skey, c1 + c2, HASHES[hh]).digest()
        dgst = digest(hh, generated, "hostnqn", "subsysnqn")
        if generated.hex() != psk_hex or dgst != dgst_want or tls_psk(hh, generated, dgst).hex() != tls_want:
            problems.append("kernel KUnit hh %02d" % hh)
    return problems


def vectors():
    out = {"source": "tests/vectors/tls_psk_vectors.py: v1 identities and TLS PSKs from auth-tls-facts.md "
                     "section 4 and RFC 8446 7.1, written independently of the C++ code; checked against "
                     "libnvme's and the kernel KUnit's published vectors",
           "relay": []}
    for text, sub in ((KEY32_TEXT, LT_SUB), (KEY48_TEXT, LT_SUB), (KEY32_TEXT, DISCOVERY_NQN)):
        identity, key, hh = v1_identity_and_psk(text, LT_HOST, sub)
        if sub != LT_SUB:
            published = "none published, computed here (the same host and key, the discovery subsystem)"
        elif hh == 1:
            published = "identity: libnvme test/psk.c; TLS PSK: auth-tls-facts.md section 4"
        else:
            published = "identity: libnvme test/psk.c; TLS PSK: none published, computed here"
        out["relay"].append({"configured": text, "hostnqn": LT_HOST, "subnqn": sub,
                             "hash": "sha%d" % (8 * HASH_LEN[hh]), "identity": identity, "tls_psk": key.hex(),
                             "published": published})
    return out


def write_psk_file(path, key_file, hostnqn, subnqns):
    with open(key_file, encoding="ascii") as f:
        configured = f.readline().strip()
    lines = ["# written by tests/vectors/tls_psk_vectors.py for %s" % hostnqn]
    for sub in subnqns:
        identity, key, _ = v1_identity_and_psk(configured, hostnqn, sub)
        lines.append("%s %s" % (identity, key.hex()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--psk-file", help="write a relay PSK file here instead of printing the vectors")
    ap.add_argument("--key-file", help="file whose first line is the configured NVMeTLSkey-1 key")
    ap.add_argument("--hostnqn")
    ap.add_argument("--subnqn", action="append", default=[], help="repeat for more subsystems")
    ap.add_argument("--with-discovery", action="store_true", help="also the discovery NQN " + DISCOVERY_NQN)
    args = ap.parse_args()
    problems = self_check()
    if problems:
        print("tls_psk_vectors.py: the formulas do not reproduce: " + "; ".join(problems), file=sys.stderr)
        return 1
    if args.psk_file is None:
        print(json.dumps(vectors(), indent=2))
        return 0
    if not args.key_file or not args.hostnqn or not args.subnqn:
        print("tls_psk_vectors.py: --psk-file needs --key-file, --hostnqn and --subnqn", file=sys.stderr)
        return 2
    subs = args.subnqn + ([DISCOVERY_NQN] if args.with_discovery else [])
    try:
        write_psk_file(args.psk_file, args.key_file, args.hostnqn, subs)
    except (OSError, ValueError) as e:
        print("tls_psk_vectors.py: %s" % e, file=sys.stderr)  # never the key's bytes
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
