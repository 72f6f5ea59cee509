#!/usr/bin/env python3
"""Seeds tests/fuzz/corpus/tls_pump/ (stdlib only): a controller's answer to the fuzz target's
ICReq and its two reads (CIDs 0 and 1: C2HData, then SUCCESS or a CapsuleResp), cut into fake
TLS records of various sizes, fed in various chunks, with a close_notify, an alert or a record
that does not decrypt in the middle of a PDU, and with a write of the record layer failing.
Input layout: see tls_pump_fuzz.cc. Run from the repository root:
tests/fuzz/seed_tls_pump_corpus.py
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "tls_pump")


def icresp():
    body = struct.pack("<BBBBI", 1, 0, 128, 0, 128) + struct.pack("<HBBI", 0, 0, 0, 1 << 20)
    return body + bytes(128 - len(body))


def c2h(cid, datao, data, success):
    flags = 4 | (8 if success else 0)  # LAST_PDU, SUCCESS
    return struct.pack("<BBBBIHHII4x", 7, flags, 24, 24, 24 + len(data), cid, 0, datao, len(data)) + data


def resp(cid):
    return struct.pack("<BBBBI", 5, 0, 24, 0, 24) + struct.pack("<IIHHHH", 0, 0, 0, 1, cid, 0)


def records(stream, size, inject=None, at=0):
    out = b""
    for off in range(0, len(stream), size):
        if inject is not None and off >= at:
            out += bytes([inject, 3]) + b"xyz"
            inject = None
        piece = stream[off:off + size]
        out += bytes([0, len(piece)]) + piece
    return out


def write(name, chunk, piece, fail_write, recs):
    blob = bytes([chunk, piece, fail_write]) + recs
    digest = hashlib.sha1(blob).hexdigest()[:10]
    with open(os.path.join(OUT, f"{name}-{digest}"), "wb") as f:
        f.write(blob)


def main():
    os.makedirs(OUT, exist_ok=True)
    data0 = bytes((i * 7) & 0xFF for i in range(8192))
    data1 = bytes((i * 13) & 0xFF for i in range(8192))
    stream = (icresp() + c2h(0, 0, data0[:4096], False) + c2h(0, 4096, data0[4096:], True)
              + c2h(1, 0, data1, False) + resp(1))
    for size in (255, 100, 7):
        write(f"whole-r{size}", 60, 36, 0, records(stream, size))
    write("chunks-1", 0, 0, 0, records(stream, 200))
    write("pieces-1", 40, 0, 0, records(stream, 200))
    mid = 128 + 24 + 2000  # inside cid 0's first payload
    for kind, name in ((1, "close-notify"), (2, "alert"), (3, "undecryptable")):
        write(f"{name}-mid-pdu", 17, 11, 0, records(stream, 200, kind, mid))
        write(f"{name}-mid-header", 17, 11, 0, records(stream, 200, kind, 130))
    write("write-fails-icreq", 60, 36, 1, records(stream, 255))
    write("write-fails-read", 60, 36, 2, records(stream, 255))
    write("icresp-only", 5, 3, 0, records(icresp(), 50))


if __name__ == "__main__":
    main()
