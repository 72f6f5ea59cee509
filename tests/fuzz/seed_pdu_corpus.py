#!/usr/bin/env python3
"""Seeds tests/fuzz/corpus/pdu/ from ../shared/real-target/captures (stdlib only).

Each seed is: byte 0 = receiver settings (see pdu_fuzz.cc: bit 0 controller role, bit 1
header digests, bit 2 data digests), byte 1 = chunk seed, then PDU bytes. One seed per
distinct (direction, type, flags, plen) PDU, plus a few whole controller-to-host streams.
Run from the repository root: tests/fuzz/seed_pdu_corpus.py [captures-dir]
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../shared/real-target/captures")
OUT = os.path.join(HERE, "corpus", "pdu")
MAX_SEED = 24 * 1024  # keep the corpus small: skip big data PDUs


def write(name, settings, chunk, payload):
    blob = bytes([settings, chunk]) + payload
    if len(blob) > MAX_SEED:
        return
    digest = hashlib.sha1(blob).hexdigest()[:10]
    with open(os.path.join(OUT, f"{name}-{digest}"), "wb") as f:
        f.write(blob)


def main():
    os.makedirs(OUT, exist_ok=True)
    seen = set()
    streams = 0
    for fname in sorted(os.listdir(CAPTURES)):
        if not fname.endswith(".jsonl"):
            continue
        label_state = {}  # conn label -> (hdgst, ddgst) after ICResp
        stream = {}
        for line in open(os.path.join(CAPTURES, fname)):
            p = json.loads(line)
            b = bytes.fromhex(p["hex"])
            h2c = p["dir"] == "h2c"
            if h2c and p["type"] == 0:
                if stream.get(p["conn"]) and streams < 6:
                    hd, dd = label_state[p["conn"]]
                    write(f"stream-{fname[:-6]}", (2 if hd else 0) | (4 if dd else 0), 13, stream[p["conn"]][:MAX_SEED - 2])
                    streams += 1
                label_state[p["conn"]] = (False, False)
                stream[p["conn"]] = b""
            hd, dd = label_state[p["conn"]]
            if not h2c and p["type"] != 1:
                stream[p["conn"]] += b
            key = (h2c, p["type"], b[1], len(b))
            if key not in seen:
                seen.add(key)
                settings = (1 if h2c else 0) | (2 if hd else 0) | (4 if dd else 0)
                write(f"{p['name']}-{fname[:-6]}", settings, 0, b)
            if not h2c and p["type"] == 1:
                label_state[p["conn"]] = (bool(b[11] & 1), bool(b[11] & 2))
    # TermReqs never occurred in the captures: hand-made ones (FES 1, FEI 4, 8 bytes of header).
    bad = bytes([7, 0, 24, 24, 0xFF, 0, 0, 0])
    for settings, ptype in ((0, 3), (1, 2)):
        term = bytes([ptype, 0, 24, 0]) + (24 + len(bad)).to_bytes(4, "little")
        term += (1).to_bytes(2, "little") + (4).to_bytes(4, "little") + bytes(10) + bad
        write(f"TermReq-handmade-{ptype}", settings, 0, term)
    print(f"{len(os.listdir(OUT))} seeds in {OUT}")


if __name__ == "__main__":
    main()
