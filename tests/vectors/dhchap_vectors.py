#!/usr/bin/env python3
"""Independent test vectors for NVMe in-band authentication (DH-HMAC-CHAP).

What it computes:
  * the DHHC-1 key transform  K' = HMAC_H(XX)(K, NQN || "NVMe-over-Fabrics")
    for hash indicators XX = 1, 2, 3 and key lengths 32, 48, 64;
  * complete host/controller response computations for the null group and the
    RFC 7919 FFDHE groups: DH public values g^x mod p (g = 2, padded to |p|),
    the shared secret Z (padded to |p|), the augmented challenges
    Ca = HMAC_H(H(Z), C) (Ca = C for the null group), and
      R1 = HMAC_H(Kh', Ca1 || LE32(S1) || LE16(T_ID) || SC_C || "HostHost"
                       || NQNh || 0x00 || NQNc)
      R2 = HMAC_H(Kc', Ca2 || LE32(S2) || LE16(T_ID) || 0x00 || "Controller"
                       || NQNc || 0x00 || NQNh)

Sources: /work/shared/guides/auth-tls-facts.md section 2 (computations) and
section 3 (DHHC-1 secret format and its example), and RFC 7919 Appendix A
(FFDHE primes, generator 2).  The prime hex below is the RFC 7919 value; the
self-check also rebuilds each prime from the RFC's defining formula
p = 2^b - 2^(b-64) + (floor(2^(b-130) * e) + X) * 2^64 - 1.

This file was written independently of the project's C++ implementation
(none of its sources or tests were read), so that the two can check each other.

Inputs are fixed (no randomness); the output is deterministic.  Python
standard library only.  Run from the repository root:

    python3 tests/vectors/dhchap_vectors.py > tests/vectors/dhchap_vectors.json
"""
import base64
import hashlib
import hmac
import json
import struct
import zlib

HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
XX_HASH = {1: "sha256", 2: "sha384", 3: "sha512"}
GENERATOR = 2

# RFC 7919 Appendix A.1-A.5 primes (big-endian hex).
FFDHE_P_HEX = {
    "ffdhe2048": (
        "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef97d2fe363630c75d8f681b202aec4617a"
        "d3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797a"
        "bc0ab182b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61"
        "9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b423861285c97ffffffffffffffff"),
    "ffdhe3072": (
        "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef97d2fe363630c75d8f681b202aec4617a"
        "d3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797a"
        "bc0ab182b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61"
        "9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035b"
        "bc34f4def99c023861b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e21e71f54bff"
        "5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b66c62e37ffffffffffffffff"),
    "ffdhe4096": (
        "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef97d2fe363630c75d8f681b202aec4617a"
        "d3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797a"
        "bc0ab182b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61"
        "9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035b"
        "bc34f4def99c023861b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e21e71f54bff"
        "5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb"
        "7930e9e4e58857b6ac7d5f42d69f6d187763cf1d5503400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832a907600a918130c46dc778f971ad0038"
        "092999a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf8ec9b55a7f88a46b4db5a851f44182e1c68a007e5e655f6affffffffffffffff"),
    "ffdhe6144": (
        "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef97d2fe363630c75d8f681b202aec4617a"
        "d3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797a"
        "bc0ab182b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61"
        "9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035b"
        "bc34f4def99c023861b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e21e71f54bff"
        "5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb"
        "7930e9e4e58857b6ac7d5f42d69f6d187763cf1d5503400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832a907600a918130c46dc778f971ad0038"
        "092999a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf8ec9b55a7f88a46b4db5a851f44182e1c68a007e5e0dd9020bfd64b645036c7a"
        "4e677d2c38532a3a23ba4442caf53ea63bb454329b7624c8917bdd64b1c0fd4cb38e8c334c701c3acdad0657fccfec719b1f5c3e4e46041f388147fb4cfdb477"
        "a52471f7a9a96910b855322edb6340d8a00ef092350511e30abec1fff9e3a26e7fb29f8c183023c3587e38da0077d9b4763e4e4b94b2bbc194c6651e77caf992"
        "eeaac0232a281bf6b3a739c1226116820ae8db5847a67cbef9c9091b462d538cd72b03746ae77f5e62292c311562a846505dc82db854338ae49f5235c95b9117"
        "8ccf2dd5cacef403ec9d1810c6272b045b3b71f9dc6b80d63fdd4a8e9adb1e6962a69526d43161c1a41d570d7938dad4a40e329cd0e40e65ffffffffffffffff"),
    "ffdhe8192": (
        "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef97d2fe363630c75d8f681b202aec4617a"
        "d3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797a"
        "bc0ab182b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61"
        "9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035b"
        "bc34f4def99c023861b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e21e71f54bff"
        "5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb"
        "7930e9e4e58857b6ac7d5f42d69f6d187763cf1d5503400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832a907600a918130c46dc778f971ad0038"
        "092999a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf8ec9b55a7f88a46b4db5a851f44182e1c68a007e5e0dd9020bfd64b645036c7a"
        "4e677d2c38532a3a23ba4442caf53ea63bb454329b7624c8917bdd64b1c0fd4cb38e8c334c701c3acdad0657fccfec719b1f5c3e4e46041f388147fb4cfdb477"
        "a52471f7a9a96910b855322edb6340d8a00ef092350511e30abec1fff9e3a26e7fb29f8c183023c3587e38da0077d9b4763e4e4b94b2bbc194c6651e77caf992"
        "eeaac0232a281bf6b3a739c1226116820ae8db5847a67cbef9c9091b462d538cd72b03746ae77f5e62292c311562a846505dc82db854338ae49f5235c95b9117"
        "8ccf2dd5cacef403ec9d1810c6272b045b3b71f9dc6b80d63fdd4a8e9adb1e6962a69526d43161c1a41d570d7938dad4a40e329ccff46aaa36ad004cf600c838"
        "1e425a31d951ae64fdb23fcec9509d43687feb69edd1cc5e0b8cc3bdf64b10ef86b63142a3ab8829555b2f747c932665cb2c0f1cc01bd70229388839d2af05e4"
        "54504ac78b7582822846c0ba35c35f5c59160cc046fd8251541fc68c9c86b022bb7099876a460e7451a8a93109703fee1c217e6c3826e52c51aa691e0e423cfc"
        "99e9e31650c1217b624816cdad9a95f9d5b8019488d9c0a0a1fe3075a577e23183f81d4a3f2fa4571efc8ce0ba8a4fe8b6855dfe72b0a66eded2fbabfbe58a30"
        "fafabe1c5d71a87e2f741ef8c1fe86fea6bbfde530677f0d97d11d49f7a8443d0822e506a9f4614e011e2a94838ff88cd68c8bb7c5c6424cffffffffffffffff"),
}
FFDHE = {name: int("".join(parts), 16) for name, parts in FFDHE_P_HEX.items()}
# (bit length, X) from the RFC 7919 formula for each group.
RFC7919_FORMULA = {"ffdhe2048": (2048, 560316), "ffdhe3072": (3072, 2625351),
                   "ffdhe4096": (4096, 5736041), "ffdhe6144": (6144, 15705020),
                   "ffdhe8192": (8192, 10965728)}

TRANSFORM_NQN = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001"


def hmac_(hname, key, msg):
    return hmac.new(key, msg, HASHES[hname]).digest()


def transform_key(xx, key, nqn):
    """DHHC-1 key transform (facts sheet section 2); XX=0 means no transform."""
    if xx == 0:
        return key
    return hmac_(XX_HASH[xx], key, nqn.encode() + b"NVMe-over-Fabrics")


def augmented_challenge(hname, c, z):
    """Ca = HMAC_H(H(Z), C); with the null group (z is None) Ca = C."""
    if z is None:
        return c
    return hmac_(hname, HASHES[hname](z).digest(), c)


def host_response(hname, kh, ca1, s1, t_id, sc_c, hostnqn, subnqn):
    msg = (ca1 + struct.pack("<I", s1) + struct.pack("<H", t_id) + bytes([sc_c])
           + b"HostHost" + hostnqn.encode() + b"\x00" + subnqn.encode())
    return hmac_(hname, kh, msg)


def ctrl_response(hname, kc, ca2, s2, t_id, hostnqn, subnqn):
    msg = (ca2 + struct.pack("<I", s2) + struct.pack("<H", t_id) + b"\x00"
           + b"Controller" + subnqn.encode() + b"\x00" + hostnqn.encode())
    return hmac_(hname, kc, msg)


def fixed_bytes(label, n):
    """n fixed bytes derived from a label (SHA-512 counter mode)."""
    out, i = b"", 0
    while len(out) < n:
        out += hashlib.sha512(b"%s/%d" % (label.encode(), i)).digest()
        i += 1
    return out[:n]


def pattern(start, step, n):
    return bytes((start + step * i) & 0xFF for i in range(n))


# ---------------------------------------------------------------- self-checks
def floor_e_times_2_pow(bits):
    """floor(2^bits * e) from the series e = sum 1/k!, with guard bits."""
    guard = 64
    term, total, k = 1 << (bits + guard), 0, 0
    while term:
        total += term
        k += 1
        term //= k
    return total >> guard


def check_primes():
    for name, p in FFDHE.items():
        bits, x = RFC7919_FORMULA[name]
        assert p.bit_length() == bits, name
        q = (p - 1) // 2
        assert pow(2, p - 1, p) == 1 and pow(2, q - 1, q) == 1, name
        formula = 2**bits - 2**(bits - 64) + (floor_e_times_2_pow(bits - 130) + x) * 2**64 - 1
        assert formula == p, name


def check_secret_example():
    """Facts sheet section 3: base64 decodes to key || CRC-32 (little-endian)."""
    s = "DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:"
    tag, xx, b64, rest = s.split(":")
    assert tag == "DHHC-1" and xx == "00" and rest == ""
    raw = base64.b64decode(b64, validate=True)
    key, crc = raw[:-4], struct.unpack("<I", raw[-4:])[0]
    assert len(key) == 32 and crc == 0xA70D69FA and zlib.crc32(key) == crc
    assert transform_key(0, key, TRANSFORM_NQN) == key


# ------------------------------------------------------------------ vectors
def transform_vectors():
    out = []
    for xx in (1, 2, 3):
        for n in (32, 48, 64):
            key = bytes(range(0x10, 0x10 + n))
            out.append({"xx": xx, "key": key.hex(), "nqn": TRANSFORM_NQN,
                        "transformed": transform_key(xx, key, TRANSFORM_NQN).hex()})
    return out


# (hash, group, host key len, ctrl key len, private exponent len, t_id, s1, s2)
RESPONSE_CASES = [
    ("sha256", "null", 32, 32, 0, 1, 0x00000001, 0x00000002),
    ("sha384", "null", 48, 48, 0, 0x1234, 0x89ABCDEF, 0x76543210),
    ("sha512", "null", 64, 64, 0, 0xFFFF, 0xFFFFFFFF, 0x80000000),
    ("sha256", "ffdhe2048", 32, 48, 32, 0x0102, 0x01020304, 0x0A0B0C0D),
    ("sha384", "ffdhe3072", 48, 48, 40, 0xBEEF, 0xDEADBEEF, 0x00C0FFEE),
    ("sha512", "ffdhe4096", 64, 32, 48, 0x8001, 0x7FFFFFFF, 0x12345678),
    ("sha256", "ffdhe6144", 64, 32, 56, 0x00FE, 0x00000100, 0xFEDCBA98),
    ("sha512", "ffdhe8192", 48, 64, 64, 0x4242, 0xCAFEBABE, 0x00000003),
]


def response_vector(idx, hname, group, khl, kcl, xl, t_id, s1, s2):
    hl = HASHES[hname]().digest_size
    hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-%012x" % (idx + 1)
    subnqn = "nqn.2024-01.org.example:dhchap-vectors:subsys%d" % (idx + 1)
    kh = pattern(0x20 + idx, 1, khl)
    kc = pattern(0xF0 - idx, -3, kcl)
    c1 = pattern(0xA0 + idx, 7, hl)
    c2 = pattern(0x5C + idx, 13, hl)
    v = {"hash": hname, "group": group, "host_key": kh.hex(), "ctrl_key": kc.hex(),
         "hostnqn": hostnqn, "subnqn": subnqn, "t_id": t_id, "sc_c": 0,
         "s1": s1, "c1": c1.hex(), "s2": s2, "c2": c2.hex()}
    z = None
    if group == "null":
        v.update(host_private="", ctrl_private="", host_public="", ctrl_public="", z="")
    else:
        p = FFDHE[group]
        plen = (p.bit_length() + 7) // 8
        xb = fixed_bytes("dhchap-vectors/%s/%s/host-private" % (hname, group), xl)
        yb = fixed_bytes("dhchap-vectors/%s/%s/ctrl-private" % (hname, group), xl)
        x, y = int.from_bytes(xb, "big"), int.from_bytes(yb, "big")
        gx, gy = pow(GENERATOR, x, p), pow(GENERATOR, y, p)
        z_host = pow(gy, x, p)          # host: ctrl_public ^ x
        z_ctrl = pow(gx, y, p)          # controller: host_public ^ y
        assert z_host == z_ctrl, group
        z = z_host.to_bytes(plen, "big")
        v.update(host_private=xb.hex(), ctrl_private=yb.hex(),
                 host_public=gx.to_bytes(plen, "big").hex(),
                 ctrl_public=gy.to_bytes(plen, "big").hex(), z=z.hex())
    ca1 = augmented_challenge(hname, c1, z)
    ca2 = augmented_challenge(hname, c2, z)
    v.update(ca1=ca1.hex(), ca2=ca2.hex(),
             r1=host_response(hname, kh, ca1, s1, t_id, 0, hostnqn, subnqn).hex(),
             r2=ctrl_response(hname, kc, ca2, s2, t_id, hostnqn, subnqn).hex())
    return v


def main():
    check_primes()
    check_secret_example()
    doc = {
        "source": "tests/vectors/dhchap_vectors.py: DH-HMAC-CHAP vectors from auth-tls-facts.md "
                  "sections 2-3 and RFC 7919, written independently of the C++ code",
        "transform": transform_vectors(),
        "responses": [response_vector(i, *case) for i, case in enumerate(RESPONSE_CASES)],
    }
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
