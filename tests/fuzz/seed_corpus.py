#!/usr/bin/env python3
"""Seeds the fuzz corpora tests/fuzz/corpus/<name>/ (python3, stdlib only).

Real payloads come from the NVMe/TCP captures in ../shared/real-target/captures (see the
README there): the data of each C2HData PDU, picked out by its note ("(Identify CNS 1)",
"(Get Log Page 0xc)", ...). A few hand-made edge cases are added to each corpus. Files are
named <origin>-<sha1 prefix>, so identical payloads collapse into one file and a rerun
writes nothing new.

One function per corpus, registered in CORPORA: to seed another corpus (the PDU corpus, for
one), write `def corpus_<name>(captures) -> list of (origin, bytes)` and add it to CORPORA.

    tests/fuzz/seed_corpus.py                      # every corpus
    tests/fuzz/seed_corpus.py ana_log identify     # some
    tests/fuzz/seed_corpus.py --clean ...          # delete the corpus files first
    tests/fuzz/seed_corpus.py --captures DIR ...   # captures elsewhere
"""
import argparse
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CAPTURES = os.path.normpath(os.path.join(HERE, "../../../shared/real-target/captures"))
CORPUS_DIR = os.path.join(HERE, "corpus")
MAX_FILES = 40  # per corpus: keep replays fast and the repository small
MAX_BYTES = 400 * 1024

C2H_DATA = 0x07
DDGSTF = 0x02


# ---- reading the captures -------------------------------------------------------------------

class Pdu:
    """One captured PDU: file, connection label, direction, type, note, whole bytes."""

    def __init__(self, file, rec):
        self.file = file
        self.conn = rec["conn"]
        self.h2c = rec["dir"] == "h2c"
        self.type = rec["type"]
        self.name = rec["name"]
        self.note = rec.get("note", "")
        self.raw = bytes.fromhex(rec["hex"])

    def c2h_data(self):
        """Data of a C2HData PDU: from PDO to PLEN, minus the data digest if DDGSTF is set."""
        pdo = self.raw[3]
        plen = struct.unpack_from("<I", self.raw, 4)[0]
        ddgst = 4 if self.raw[1] & DDGSTF else 0
        assert plen == len(self.raw) and pdo + ddgst <= plen, (self.file, self.note)
        return self.raw[pdo:plen - ddgst]


def load_captures(captures_dir):
    """All PDUs of all capture files, in file-name then wire order."""
    pdus = []
    names = sorted(n for n in os.listdir(captures_dir) if n.endswith(".jsonl"))
    if not names:
        sys.exit(f"seed_corpus: no .jsonl captures in {captures_dir}")
    for name in names:
        with open(os.path.join(captures_dir, name)) as f:
            for line in f:
                if line.strip():
                    pdus.append(Pdu(name, json.loads(line)))
    return pdus


def c2h_payloads(captures, note_part):
    """(origin, data) of every C2HData whose note contains note_part."""
    out = []
    for p in captures:
        if not p.h2c and p.type == C2H_DATA and note_part in p.note:
            target = p.file.split("-")[0]  # "nvmet" or "spdk"
            out.append((target, p.c2h_data()))
    return out


# ---- hand-made inputs -----------------------------------------------------------------------

def le16(v):
    return struct.pack("<H", v)


def le32(v):
    return struct.pack("<I", v)


def le64(v):
    return struct.pack("<Q", v)


def at(size, *fields):
    """A zeroed buffer of `size` bytes with (offset, bytes) fields written in."""
    b = bytearray(size)
    for off, val in fields:
        b[off:off + len(val)] = val
    return bytes(b)


def ana_log(chgcnt, groups, rgo=False):
    """groups: (anagrpid, nnsids, state, [nsids]); nnsids is written as given."""
    b = le64(chgcnt) + le16(len(groups)) + bytes(6)
    for grpid, nnsids, state, nsids in groups:
        b += le32(grpid) + le32(nnsids) + le64(chgcnt) + bytes([state]) + bytes(15)
        if not rgo:
            b += b"".join(le32(n) for n in nsids)
    return b


def disc_entry(subtype, trsvcid, subnqn, traddr):
    e = bytearray(1024)
    e[0:4] = bytes([3, 1, subtype, 0x04])
    e[4:12] = le16(1) + le16(0xFFFF) + le16(32) + le16(0)
    e[32:64] = trsvcid.encode().ljust(32, b" ")
    e[256:256 + len(subnqn)] = subnqn.encode()
    e[512:768] = traddr.encode().ljust(256, b" ")
    return bytes(e)


def disc_header(genctr, numrec, recfmt=0):
    return (le64(genctr) + le64(numrec) + le16(recfmt)).ljust(1024, b"\0")


# ---- one function per corpus ----------------------------------------------------------------

def corpus_identify(captures):
    """Identify Controller (CNS 1) and Identify Namespace (CNS 0) data."""
    seeds = c2h_payloads(captures, "(Identify CNS 1)") + c2h_payloads(captures, "(Identify CNS 0 ")
    lbaf = b"".join(le16(i) + bytes([9 + i % 4, i % 4]) for i in range(64))
    seeds += [
        ("inactive-ns", bytes(4096)),
        ("ns-64-formats-flbas-hi", at(4096, (0, le64(8)), (25, bytes([63, 0x6F])), (128, lbaf))),
        ("ns-bad-lbads", at(4096, (0, le64(8)), (128, le16(0) + bytes([8, 0])))),
        ("ns-flbas-past-nlbaf", at(4096, (0, le64(8)), (25, bytes([1, 0x05])), (128, lbaf))),
        ("short", bytes(4095)),
    ]
    return seeds


def corpus_ns_descriptors(captures):
    """Namespace Identification Descriptor lists (CNS 3)."""
    seeds = c2h_payloads(captures, "(Identify CNS 3 ")
    eui = bytes([1, 8, 0, 0]) + bytes(range(8))
    seeds += [
        ("eui64-unknown-csi",
         (eui + bytes([0x7F, 3, 0, 0, 1, 2, 3]) + bytes([4, 1, 0, 0, 2])).ljust(4096, b"\0")),
        ("duplicate-uuid", (bytes([3, 16, 0, 0]) + bytes(16)) * 2),
        ("bad-nidl", bytes([2, 8, 0, 0]) + bytes(8)),
        ("runs-past-end", bytes([3, 16, 0, 0, 1, 2])),
        ("unknown-chain-no-terminator", (bytes([0x80, 255, 0, 0]) + bytes(255)) * 16),
    ]
    return seeds


def corpus_active_ns_list(captures):
    """Identify active namespace lists (CNS 2)."""
    seeds = c2h_payloads(captures, "(Identify CNS 2)")
    seeds += [
        ("full-1024", b"".join(le32(i + 1) for i in range(1024))),
        ("not-increasing", (le32(3) + le32(3)).ljust(4096, b"\0")),
        ("broadcast", (le32(1) + le32(0xFFFFFFFF)).ljust(4096, b"\0")),
        ("odd-size", le32(1) + b"\x02"),
    ]
    return seeds


def corpus_ana_log(captures):
    """ANA log pages (LID 0Ch)."""
    seeds = c2h_payloads(captures, "(Get Log Page 0xc)")
    seeds += [
        ("all-states", ana_log(9, [(1, 1, 1, [1]), (2, 1, 2, [2]), (3, 1, 3, [3]), (4, 1, 4, [4]),
                                   (5, 0, 0xF, [])])),
        ("rgo", ana_log(9, [(1, 0, 1, []), (2, 0, 2, [])], rgo=True)),
        ("nnsids-huge", ana_log(1, [(1, 0x40000000, 1, [1])])),
        ("ngrps-65535", le64(1) + le16(0xFFFF) + bytes(6) + ana_log(1, [(1, 1, 1, [1])])[16:]),
        ("group-id-0", ana_log(1, [(0, 1, 1, [1])])),
        ("bad-state", ana_log(1, [(1, 1, 5, [1])])),
        ("nsid-twice", ana_log(1, [(1, 1, 1, [7]), (2, 1, 2, [7])])),
    ]
    return seeds


def corpus_discovery_log(captures):
    """Discovery log pages (LID 70h): header-only reads and whole logs."""
    seeds = c2h_payloads(captures, "(Get Log Page 0x70)")
    seeds += [
        ("ipv6-referral", disc_header(2, 2)
         + disc_entry(1, "8009", "nqn.2014-08.org.nvmexpress.discovery", "fe80::1")
         + disc_entry(2, "4420", "nqn.2026-01.io.example:x", "::1")),
        ("numrec-2p60", disc_header(1, 1 << 60) + disc_entry(2, "4420", "nqn.x", "10.0.0.1")),
        ("numrec-past-end", disc_header(1, 3) + disc_entry(2, "4420", "nqn.x", "10.0.0.1")),
        ("recfmt-1", disc_header(1, 0, recfmt=1)),
        ("short-header", bytes(20)),
    ]
    return seeds


def corpus_changed_ns(captures):
    """Changed Namespace Lists (LID 04h). No capture has one; active namespace lists (CNS 2)
    have the same shape (u32 NSIDs ending at 0), so they seed it too."""
    seeds = [("cns2-" + origin, data)
             for origin, data in c2h_payloads(captures, "(Identify CNS 2)")]
    seeds += [
        ("three", (le32(4) + le32(2) + le32(9)).ljust(4096, b"\0")),
        ("overflow", le32(0xFFFFFFFF).ljust(4096, b"\0")),
        ("broadcast-not-first", (le32(1) + le32(0xFFFFFFFF)).ljust(4096, b"\0")),
        ("empty", bytes(4096)),
        ("odd-size", bytes(10)),
    ]
    return seeds


def corpus_dhchap_messages(captures):
    """DH-HMAC-CHAP messages of the nvmet 6.12 sessions: what each Authentication Receive
    returned (Challenge, Success1; AL = 4096 bytes, zero-padded) and what each Send carried
    in its capsule (Negotiate, Reply, Success2), plus a Failure1 and a few broken ones."""
    seeds = [("recv-" + origin, data)
             for origin, data in c2h_payloads(captures, "(Authentication Receive")]
    for p in captures:
        if p.h2c and p.name == "CapsuleCmd" and p.note.startswith("Authentication Send"):
            ddgst = 4 if p.raw[1] & DDGSTF else 0
            seeds.append(("send-" + p.file.split("-")[0], p.raw[p.raw[3]:len(p.raw) - ddgst]))
    seeds += [
        ("failure1", bytes([0x00, 0xF1, 0, 0, 1, 0, 0x01, 0x05])),
        ("challenge-hl-lie", bytes([0x01, 0x01, 0, 0, 1, 0, 0xFF, 0, 1, 0, 0, 0, 1, 0, 0, 0]) + bytes(32)),
        ("challenge-dhvlen-lie", bytes([0x01, 0x01, 0, 0, 1, 0, 32, 0, 1, 1, 0xFF, 0xFF, 1, 0, 0, 0]) + bytes(40)),
        ("success1-rvalid-short", bytes([0x01, 0x03, 0, 0, 1, 0, 48, 0, 1]) + bytes(7)),
        ("negotiate-napd-0", bytes([0x00, 0x00, 0, 0, 1, 0, 0, 0]) + bytes(64)),
    ]
    return seeds


CORPORA = {
    "identify": corpus_identify,
    "ns_descriptors": corpus_ns_descriptors,
    "active_ns_list": corpus_active_ns_list,
    "ana_log": corpus_ana_log,
    "discovery_log": corpus_discovery_log,
    "changed_ns": corpus_changed_ns,
    "dhchap_messages": corpus_dhchap_messages,
}


# ---- writing --------------------------------------------------------------------------------

def write_corpus(name, seeds, clean):
    out = os.path.join(CORPUS_DIR, name)
    os.makedirs(out, exist_ok=True)
    if clean:
        for f in os.listdir(out):
            os.remove(os.path.join(out, f))
    unique = {}
    for origin, data in seeds:
        unique.setdefault(hashlib.sha1(data).hexdigest(), (origin, data))
    for digest, (origin, data) in sorted(unique.items(), key=lambda kv: kv[1][0]):
        path = os.path.join(out, f"{origin}-{digest[:12]}")
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
    files = os.listdir(out)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in files)
    print(f"{name}: {len(unique)} distinct seeds ({len(seeds)} before de-duplication); "
          f"{len(files)} files, {total} bytes in {os.path.relpath(out)}")
    if len(files) > MAX_FILES or total > MAX_BYTES:
        sys.exit(f"seed_corpus: {name} is over the limit ({MAX_FILES} files, {MAX_BYTES} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*",
                    help=f"corpora to seed (default: all of {', '.join(CORPORA)})")
    ap.add_argument("--captures", default=DEFAULT_CAPTURES, help="captures folder")
    ap.add_argument("--clean", action="store_true", help="delete the corpus files first")
    args = ap.parse_args()
    unknown = [n for n in args.names if n not in CORPORA]
    if unknown:
        ap.error(f"unknown corpus {', '.join(unknown)}; known: {', '.join(CORPORA)}")
    captures = load_captures(args.captures)
    for name in args.names or CORPORA:
        write_corpus(name, CORPORA[name](captures), args.clean)


if __name__ == "__main__":
    main()
