#!/usr/bin/env python3
"""Seeds tests/fuzz/corpus/rx_framer/ with controller-to-host streams (stdlib only): reads
answered by C2HData (one or several PDUs, SUCCESS or a CapsuleResp), with and without
digests, PDO padding, a wrong data digest, hostile DATAO/DATAL. The pdu corpus (real-target
captures) is copied in beside them. Input layout: see rx_framer_fuzz.cc.
Run from the repository root: tests/fuzz/seed_rx_framer_corpus.py
"""
import hashlib
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "rx_framer")


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def c2h(cid, datao, data, last, success, hd, dd, pad=0, datal=None, bad_ddgst=False):
    hlen = 24
    pdo = hlen + (4 if hd else 0) + pad
    plen = pdo + len(data) + (4 if dd else 0)
    flags = (1 if hd else 0) | (2 if dd else 0) | (4 if last else 0) | (8 if success else 0)
    hdr = struct.pack("<BBBBIHHII4x", 7, flags, hlen, pdo, plen, cid, 0, datao,
                      len(data) if datal is None else datal)
    out = hdr + (struct.pack("<I", crc32c(hdr)) if hd else b"") + bytes(pad) + data
    if dd:
        out += struct.pack("<I", crc32c(data) ^ (1 if bad_ddgst else 0))
    return out


def resp(cid, hd):
    hdr = struct.pack("<BBBBI", 5, 1 if hd else 0, 24, 0, 28 if hd else 24)
    hdr += struct.pack("<IIHHHH", 0, 0, 0, 1, cid, 0)
    return hdr + (struct.pack("<I", crc32c(hdr)) if hd else b"")


def write(name, settings, chunk, stream):
    blob = bytes([settings, chunk]) + stream
    digest = hashlib.sha1(blob).hexdigest()[:10]
    with open(os.path.join(OUT, f"{name}-{digest}"), "wb") as f:
        f.write(blob)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(os.path.join(HERE, "corpus", "pdu")):
        shutil.copy(os.path.join(HERE, "corpus", "pdu", f), OUT)
    data = bytes((i * 7 + 3) & 0xFF for i in range(4096))
    for hd, dd in ((False, False), (True, True), (True, False), (False, True)):
        s = (2 if hd else 0) | (4 if dd else 0)
        tag = f"h{int(hd)}d{int(dd)}"
        one = c2h(1, 0, data, True, False, hd, dd) + resp(1, hd)
        write(f"read-{tag}", s, 5, one)
        write(f"read-{tag}-big-chunks", s, 96, one * 3)
        split = c2h(2, 0, data[:1000], False, False, hd, dd) + c2h(2, 1000, data[1000:], True, True, hd, dd)
        write(f"split-success-{tag}", s, 40, split)
        write(f"padded-{tag}", s | 0x08, 17, c2h(3, 0, data[:512], True, True, hd, dd, pad=8 if not hd else 4))
        if dd:
            write(f"bad-ddgst-{tag}", s, 33, c2h(4, 0, data[:2048], True, False, hd, dd, bad_ddgst=True) + resp(4, hd))
        write(f"hostile-datao-{tag}", s, 11, c2h(5, 0xFFFFFF00, data[:512], True, True, hd, dd))
        write(f"hostile-datal-{tag}", s, 64, c2h(6, 0, data[:512], True, True, hd, dd, datal=100000))
        write(f"past-buffer-{tag}", s, 64, c2h(7, 16000, data[:1024], True, True, hd, dd))


if __name__ == "__main__":
    main()
