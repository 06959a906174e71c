#!/usr/bin/env python3
"""Write the seed corpus of fuzz_store_ingest (corpus/store_ingest/): a
control byte (see fuzz_store_ingest.c) and a data set, in each transfer
syntax, with the attributes the index reads in several character sets, a
sequence, pixel data native and encapsulated, and a few broken ones."""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "store_ingest")
CT = b"1.2.840.10008.5.1.4.1.1.2"
LONG = {b"OB", b"OW", b"OF", b"SQ", b"UN", b"UT", b"UC", b"UR", b"OD", b"OL", b"OV"}


def pad(vr, v):
    if len(v) % 2:
        v += b"\0" if vr in (b"UI", b"OB") else b" "
    return v


def el(syntax, g, e, vr, v, undefined=False):
    """One element; syntax 'i' implicit LE, 'e' explicit LE, 'b' explicit BE."""
    v = pad(vr, v)
    n = 0xFFFFFFFF if undefined else len(v)
    if syntax == "b":
        if vr in (b"US",):
            v = v[::-1]
        head = struct.pack(">HH", g, e)
        return head + vr + (b"\0\0" + struct.pack(">I", n) if vr in LONG else struct.pack(">H", n)) + v
    head = struct.pack("<HH", g, e)
    if syntax == "i":
        return head + struct.pack("<I", n) + v
    return head + vr + (b"\0\0" + struct.pack("<I", n) if vr in LONG else struct.pack("<H", n)) + v


def item(syntax, body):
    fmt = ">HHI" if syntax == "b" else "<HHI"
    return struct.pack(fmt, 0xFFFE, 0xE000, len(body)) + body


def dataset(syntax, uid, charset=b"ISO_IR 192", name="张^三".encode(), extra=b""):
    d = b""
    if charset is not None:
        d += el(syntax, 8, 5, b"CS", charset)
    d += el(syntax, 8, 0x16, b"UI", CT) + el(syntax, 8, 0x18, b"UI", uid)
    d += el(syntax, 8, 0x20, b"DA", b"20261123") + el(syntax, 8, 0x30, b"TM", b"120000")
    d += el(syntax, 8, 0x50, b"SH", b"ACC-1") + el(syntax, 8, 0x60, b"CS", b"CT")
    d += el(syntax, 8, 0x90, b"PN", name)
    d += el(syntax, 8, 0x1030, b"LO", b"CHEST") + el(syntax, 8, 0x103E, b"LO", b"AXIAL")
    seq = item(syntax, el(syntax, 8, 0x100, b"SH", b"CODE") + el(syntax, 8, 0x102, b"SH", b"DCM"))
    d += el(syntax, 8, 0x1032, b"SQ", seq)
    d += el(syntax, 0x10, 0x10, b"PN", name) + el(syntax, 0x10, 0x20, b"LO", b"P-1")
    d += el(syntax, 0x10, 0x21, b"LO", b"ISSUER") + el(syntax, 0x10, 0x30, b"DA", b"19800101")
    d += el(syntax, 0x10, 0x40, b"CS", b"F") + el(syntax, 0x18, 0x15, b"CS", b"CHEST")
    d += el(syntax, 0x20, 0x0D, b"UI", b"1.2.826.0.1.3680043.9.7433.7.1")
    d += el(syntax, 0x20, 0x0E, b"UI", b"1.2.826.0.1.3680043.9.7433.7.2")
    d += el(syntax, 0x20, 0x10, b"SH", b"S1") + el(syntax, 0x20, 0x11, b"IS", b"3")
    d += el(syntax, 0x20, 0x13, b"IS", b"42")
    d += extra
    return d


def pixels(syntax, n=256):
    return el(syntax, 0x7FE0, 0x10, b"OW", bytes((i * 7) & 0xFF for i in range(n)))


def encapsulated():
    frag = b"\xff\xd8" + bytes(30) + b"\xff\xd9"
    body = struct.pack("<HHI", 0xFFFE, 0xE000, 0)
    body += struct.pack("<HHI", 0xFFFE, 0xE000, len(frag)) + frag
    body += struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return struct.pack("<HH", 0x7FE0, 0x10) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF) + body


def deflate(b):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b) + c.flush()


# control byte: bits 0-1 syntax (0 implicit, 1 explicit, 2 big endian,
# 3 deflated); bits 2-4 piece size; bit 5 the data set's own UIDs; bit 6
# abandon half-way
TS = {"i": 0, "e": 1, "b": 2}


def ctl(ts, piece=0, own=True, abandon=False):
    return bytes([ts | (piece << 2) | (0x20 if own else 0) | (0x40 if abandon else 0)])


def seeds():
    u = lambda k: b"1.2.826.0.1.3680043.9.7433.8." + str(k).encode()
    for s, t in TS.items():
        yield f"good_{s}", ctl(t, 3) + dataset(s, u(t)) + pixels(s)
    yield "good_deflated", ctl(3, 4) + deflate(dataset("e", u(3)) + pixels("e"))
    yield "one_byte_pieces", ctl(1, 0) + dataset("e", u(4))
    yield "varying_pieces", ctl(1, 7) + dataset("e", u(5)) + pixels("e", 9000)
    yield "encapsulated", ctl(1, 5) + dataset("e", u(6)) + encapsulated()
    yield "gb18030", ctl(1, 6) + dataset("e", u(7), b"GB18030", "王^小明".encode("gb18030"))
    yield "latin1", ctl(0, 2) + dataset("i", u(8), b"ISO_IR 100", "Müller^Jürgen".encode("latin-1"))
    yield "no_charset", ctl(1, 2) + dataset("e", u(9), None, b"Plain^Name")
    yield "unknown_charset", ctl(1, 2) + dataset("e", u(10), b"ISO_IR 999", b"\xff\xfe^x")
    yield "iso2022", ctl(1, 2) + dataset("e", u(11), b"\\ISO 2022 IR 58",
                                         b"\x1b$A" + "王".encode("gb2312") + b"\x1b(B^A")
    yield "uid_mismatch", ctl(1, 3, own=False) + dataset("e", u(12)) + pixels("e")
    yield "bad_instance_uid", ctl(1, 3) + dataset("e", b"1..2.abc") + pixels("e")
    yield "truncated", ctl(1, 3) + (dataset("e", u(13)) + pixels("e"))[:-100]
    bad = dataset("e", u(14)) + struct.pack("<HH", 0x10, 0x1010) + b"AS" + struct.pack("<H", 4000)
    yield "length_past_end", ctl(1, 3) + bad
    yield "abandoned", ctl(1, 4, abandon=True) + dataset("e", u(15)) + pixels("e", 20000)
    yield "empty", ctl(1, 6)
    yield "long_values", ctl(1, 6) + dataset("e", u(16), name=b"A" * 300 + b"^" + b"B" * 300)
    yield "huge_instance_number", ctl(1, 6) + dataset("e", u(17)).replace(
        el("e", 0x20, 0x13, b"IS", b"42"), el("e", 0x20, 0x13, b"IS", b"99999999999"))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
