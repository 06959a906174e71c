#!/usr/bin/env python3
"""Write the seed corpus of the dcm fuzz targets (stdlib only; deterministic).

Each seed is a small stream exercising one feature of the parser: the three
uncompressed encodings, deflate, Part 10 with and without preamble or meta
group, sequences of defined and undefined length, UN sequences (CP-246),
encapsulated pixel data with offset tables, character sets, ambiguous VRs.
The incremental target's seeds are the same streams behind a control byte
(see fuzz_incremental.c).

Usage: make_seeds.py OUTDIR   (writes OUTDIR/parse and OUTDIR/incremental)
"""
import os
import struct
import sys
import zlib

LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
UNDEF = 0xFFFFFFFF


class Enc:
    def __init__(self, implicit=False, big=False):
        self.implicit, self.big = implicit, big

    def u16(self, v):
        return struct.pack(">H" if self.big else "<H", v)

    def u32(self, v):
        return struct.pack(">I" if self.big else "<I", v)

    def tag(self, t):
        return self.u16(t >> 16) + self.u16(t & 0xFFFF)

    def head(self, t, vr, n):
        if self.implicit or t >> 16 == 0xFFFE:
            return self.tag(t) + self.u32(n)
        if vr in LONG:
            return self.tag(t) + vr.encode() + b"\0\0" + self.u32(n)
        return self.tag(t) + vr.encode() + self.u16(n)

    def el(self, t, vr, v):
        if isinstance(v, str):
            v = v.encode("latin-1")
            if len(v) % 2:
                v += b"\0" if vr == "UI" else b" "
        return self.head(t, vr, len(v)) + v

    def item(self, body, undefined=False):
        if undefined:
            return self.tag(0xFFFEE000) + self.u32(UNDEF) + body + self.tag(0xFFFEE00D) + self.u32(0)
        return self.tag(0xFFFEE000) + self.u32(len(body)) + body

    def seq(self, t, items, undefined=False, vr="SQ"):
        body = b"".join(items)
        if undefined:
            return self.head(t, vr, UNDEF) + body + self.tag(0xFFFEE0DD) + self.u32(0)
        return self.head(t, vr, len(body)) + body


def patient(e, cs=None, name="Doe^John"):
    out = b""
    if cs:
        out += e.el(0x00080005, "CS", cs)
    out += e.el(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2")
    out += e.el(0x00080018, "UI", "1.2.3.4.5.6")
    out += e.el(0x00080060, "CS", "CT")
    nm = name if isinstance(name, bytes) else name.encode("latin-1")
    if len(nm) % 2:
        nm += b" "
    out += e.head(0x00100010, "PN", len(nm)) + nm
    out += e.el(0x00100020, "LO", "ID-1")
    return out


def image(e, rows=2, cols=2, signed=False):
    out = e.el(0x00280002, "US", e.u16(1))
    out += e.el(0x00280004, "CS", "MONOCHROME2")
    out += e.el(0x00280010, "US", e.u16(rows)) + e.el(0x00280011, "US", e.u16(cols))
    out += e.el(0x00280100, "US", e.u16(16)) + e.el(0x00280101, "US", e.u16(12))
    out += e.el(0x00280102, "US", e.u16(11)) + e.el(0x00280103, "US", e.u16(1 if signed else 0))
    out += e.el(0x00280106, "SS" if signed else "US", e.u16(0))
    px = b"".join(e.u16(i * 37 % 4096) for i in range(rows * cols))
    out += e.el(0x7FE00010, "OW", px)
    return out


def part10(ts, body, preamble=True):
    m = Enc()
    meta = m.el(0x00020001, "OB", b"\0\1") + m.el(0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.2")
    meta += m.el(0x00020003, "UI", "1.2.3.4.5.6") + m.el(0x00020010, "UI", ts)
    meta += m.el(0x00020012, "UI", "1.2.3.999")
    head = m.el(0x00020000, "UL", m.u32(len(meta))) + meta
    return (b"\0" * 128 + b"DICM" if preamble else b"") + head + body


def seeds():
    ex, im, be = Enc(), Enc(implicit=True), Enc(big=True)
    s = {}
    s["explicit_le_part10"] = part10("1.2.840.10008.1.2.1", patient(ex) + image(ex))
    s["implicit_le_part10"] = part10("1.2.840.10008.1.2", patient(im) + image(im, signed=True))
    s["big_endian_part10"] = part10("1.2.840.10008.1.2.2", patient(be) + image(be))
    s["no_preamble"] = part10("1.2.840.10008.1.2.1", patient(ex), preamble=False)
    s["no_meta_implicit"] = patient(im) + image(im)
    s["deflated"] = part10("1.2.840.10008.1.2.1.99",
                           zlib.compress(patient(ex) + image(ex), 9)[2:-4])
    for name, e, ts in (("seq_explicit", ex, "1.2.840.10008.1.2.1"),
                        ("seq_implicit", im, "1.2.840.10008.1.2")):
        inner = e.seq(0x00081199, [e.item(e.el(0x00081150, "UI", "1.2.3"))])
        ref = e.seq(0x00081115, [e.item(e.el(0x0020000E, "UI", "1.2.3.4") + inner, True),
                                  e.item(b"", True)], undefined=True)
        img = e.seq(0x00081140, [e.item(e.el(0x00081155, "UI", "9.8.7"))])
        s[name] = part10(ts, patient(e) + img + ref + image(e))
    # CP-246: UN of undefined length holds implicit little endian items.
    un = ex.head(0x00091010, "UN", UNDEF) + im.item(im.el(0x00100020, "LO", "X"), True) + \
        im.tag(0xFFFEE0DD) + im.u32(0)
    s["un_sequence"] = part10("1.2.840.10008.1.2.1", patient(ex) + ex.el(0x00090010, "LO", "ACME") + un)
    frames = [b"\xFF\xD8" + bytes(range(i, i + 10)) + b"\xFF\xD9" for i in range(3)]
    bot = b"".join(ex.u32(sum(8 + len(f) for f in frames[:i])) for i in range(3))
    enc = ex.el(0x00280008, "IS", "3") + ex.head(0x7FE00010, "OB", UNDEF) + ex.item(bot)
    enc += b"".join(ex.item(f) for f in frames) + ex.tag(0xFFFEE0DD) + ex.u32(0)
    s["encapsulated_bot"] = part10("1.2.840.10008.1.2.4.50", patient(ex) + enc)
    eot = b"".join(struct.pack("<Q", sum(8 + len(f) for f in frames[:i])) for i in range(3))
    lens = b"".join(struct.pack("<Q", len(f)) for f in frames)
    enc2 = ex.el(0x00280008, "IS", "3") + ex.el(0x7FE00001, "OV", eot) + \
        ex.el(0x7FE00002, "OV", lens) + ex.head(0x7FE00010, "OB", UNDEF) + ex.item(b"")
    enc2 += b"".join(ex.item(f) for f in frames) + ex.tag(0xFFFEE0DD) + ex.u32(0)
    s["encapsulated_eot"] = part10("1.2.840.10008.1.2.4.80", patient(ex) + enc2)
    s["charset_gb18030"] = part10("1.2.840.10008.1.2.1",
                                  patient(ex, "GB18030", "张三".encode("gb18030")))
    s["charset_ir58"] = part10("1.2.840.10008.1.2.1", patient(
        ex, "\\ISO 2022 IR 58", b"Zhang^San=\x1b$)A\xd5\xc5^\x1b$)A\xc8\xfd="))
    s["charset_gbk_5c"] = part10("1.2.840.10008.1.2.1",
                                 patient(ex, "GBK", b"\x81\x5c\\B") + ex.el(0x00101001, "PN", b"\x81\x5c\\B"))
    s["group_lengths"] = part10("1.2.840.10008.1.2",
                                im.el(0x00080000, "UL", im.u32(10)) + patient(im))
    cmd = im.el(0x00000002, "UI", "1.2.840.10008.1.1") + im.el(0x00000100, "US", im.u16(0x30))
    cmd += im.el(0x00000110, "US", im.u16(1)) + im.el(0x00000800, "US", im.u16(0x0101))
    s["command_set"] = im.el(0x00000000, "UL", im.u32(len(cmd))) + cmd
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for sub in ("parse", "incremental"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    # Control bytes for the incremental target: Part 10, 1-byte chunks,
    # header-only, skip-bulk, and the bare syntaxes.
    ctls = [0x00, 0x20, 0x08, 0x10]
    for i, (name, data) in enumerate(sorted(seeds().items())):
        with open(os.path.join(out, "parse", name + ".dcm"), "wb") as f:
            f.write(data)
        with open(os.path.join(out, "incremental", name + ".bin"), "wb") as f:
            f.write(bytes([ctls[i % len(ctls)]]) + data)


if __name__ == "__main__":
    main()
