#!/usr/bin/env python3
"""Generate the dcm module's tables at build time (Python 3 stdlib only).

Inputs:
  DICT     DCMTK's dicom.dic (tab-separated: tag, VR, keyword, VM, version)
  TS_TSV   data/dicom/transfer_syntaxes.tsv
  SOP_TSV  data/dicom/storage_sop_classes.tsv
Outputs (into OUTDIR):
  dcm/dcm_tags.h   DCM_TAG_<Keyword> and DCM_UID_<Keyword> macros
  dict_table.c     the dictionary: exact entries sorted by tag, range entries,
                   keyword index
  uid_table.c      transfer syntaxes and SOP classes

Usage: gen_tables.py DICT TS_TSV SOP_TSV OUTDIR
"""
import os
import re
import sys

# The dictionary-only VRs of DCMTK's notation and what the C enum calls them.
SPECIAL_VR = {
    "xs": "DCM_VR_US_SS",
    "ox": "DCM_VR_OB_OW",
    "px": "DCM_VR_PX",
    "lt": "DCM_VR_US_SS_OW",
    "up": "DCM_VR_UL",       # DICOMDIR offsets: UL
    "na": "DCM_VR_NONE",     # item and delimitation tags
}
REAL_VR = set("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ "
              "SS ST SV TM UC UI UL UN UR US UT UV".split())

# PS3.6 Table A-1 keywords of the transfer syntaxes (facts of the standard;
# the TSV has names but no keyword column). A UID not listed here gets a
# keyword derived from its name.
TS_KEYWORDS = {
    "1.2.840.10008.1.2": "ImplicitVRLittleEndian",
    "1.2.840.10008.1.2.1": "ExplicitVRLittleEndian",
    "1.2.840.10008.1.2.1.98": "EncapsulatedUncompressedExplicitVRLittleEndian",
    "1.2.840.10008.1.2.1.99": "DeflatedExplicitVRLittleEndian",
    "1.2.840.10008.1.2.2": "ExplicitVRBigEndian",
    "1.2.840.10008.1.2.4.50": "JPEGBaseline8Bit",
    "1.2.840.10008.1.2.4.51": "JPEGExtended12Bit",
    "1.2.840.10008.1.2.4.57": "JPEGLossless",
    "1.2.840.10008.1.2.4.70": "JPEGLosslessSV1",
    "1.2.840.10008.1.2.4.80": "JPEGLSLossless",
    "1.2.840.10008.1.2.4.81": "JPEGLSNearLossless",
    "1.2.840.10008.1.2.4.90": "JPEG2000Lossless",
    "1.2.840.10008.1.2.4.91": "JPEG2000",
    "1.2.840.10008.1.2.4.92": "JPEG2000MCLossless",
    "1.2.840.10008.1.2.4.93": "JPEG2000MC",
    "1.2.840.10008.1.2.4.201": "HTJ2KLossless",
    "1.2.840.10008.1.2.4.202": "HTJ2KLosslessRPCL",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
    "1.2.840.10008.1.2.4.110": "JPEGXLLossless",
    "1.2.840.10008.1.2.4.111": "JPEGXLJPEGRecompression",
    "1.2.840.10008.1.2.4.112": "JPEGXL",
    "1.2.840.10008.1.2.5": "RLELossless",
    "1.2.840.10008.1.2.8.1": "DeflatedImageFrameCompression",
    "1.2.840.10008.1.2.4.100": "MPEG2MPML",
    "1.2.840.10008.1.2.4.102": "MPEG4HP41",
    "1.2.840.10008.1.2.4.107": "HEVCMP51",
}


def die(msg):
    sys.stderr.write("gen_tables.py: %s\n" % msg)
    sys.exit(1)


def c_str(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("\\x%02x" % ord(ch))
    return '"' + "".join(out) + '"'


def parse_range(text, path, lineno):
    """'6000-60FF' / '0009-o-FFFF' / '0000-u-FFFF' / '0010' ->
    (first, last, step, parity) with parity 'even', 'odd', 'all'."""
    m = re.fullmatch(r"([0-9A-Fa-f]{4})(?:-(?:([ou])-)?([0-9A-Fa-f]{4}))?", text)
    if not m:
        die("%s:%d: bad tag part '%s'" % (path, lineno, text))
    first = int(m.group(1), 16)
    if m.group(3) is None:
        return first, first, 1
    last = int(m.group(3), 16)
    kind = m.group(2)
    if kind == "u":
        step = 1
    else:
        step = 2  # even numbers by default; -o- odd ones (first is odd then)
    return first, last, step


def parse_vm(vm, path, lineno):
    m = re.fullmatch(r"(\d+)(?:-(\d+)?(n)?)?", vm)
    if not m:
        die("%s:%d: bad VM '%s'" % (path, lineno, vm))
    lo = int(m.group(1))
    if m.group(2) is None and m.group(3) is None:
        if "-" in vm:
            die("%s:%d: bad VM '%s'" % (path, lineno, vm))
        return lo, lo, 1
    if m.group(3):  # "1-n", "2-2n", "3-3n", "6-n"
        mult = int(m.group(2)) if m.group(2) else 1
        step = mult if mult > 1 else 1
        return lo, 0, step
    hi = int(m.group(2))
    if hi > 255 or lo > 255:
        die("%s:%d: VM '%s' out of range" % (path, lineno, vm))
    return lo, hi, 1


def read_dict(path):
    exact = {}
    ranges = []
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            fields = [x for x in fields if x != ""]
            if len(fields) < 4:
                die("%s:%d: expected 5 tab-separated fields" % (path, lineno))
            tag, vr, kw, vm = fields[0], fields[1], fields[2], fields[3]
            version = fields[4] if len(fields) > 4 else ""
            m = re.fullmatch(r"\(([^,]+),([^)]+)\)", tag)
            if not m:
                die("%s:%d: bad tag '%s'" % (path, lineno, tag))
            g0, g1, gstep = parse_range(m.group(1), path, lineno)
            e0, e1, estep = parse_range(m.group(2), path, lineno)
            if vr in REAL_VR:
                cvr = "DCM_VR_" + vr
            elif vr in SPECIAL_VR:
                cvr = SPECIAL_VR[vr]
            else:
                die("%s:%d: unknown VR '%s'" % (path, lineno, vr))
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", kw):
                die("%s:%d: bad keyword '%s'" % (path, lineno, kw))
            vmin, vmax, vstep = parse_vm(vm, path, lineno)
            retired = 1 if "retired" in version or kw.startswith("RETIRED_") else 0
            ent = dict(g0=g0, g1=g1, gstep=gstep, e0=e0, e1=e1, estep=estep, vr=cvr,
                       vmin=vmin, vmax=vmax, vstep=vstep, retired=retired, kw=kw,
                       generic=version in ("PRIVATE", "ILLEGAL", "GENERIC"))
            if g0 == g1 and e0 == e1:
                exact[(g0 << 16) | e0] = ent  # later entries override earlier ones
            else:
                ranges.append(ent)
    return exact, ranges


def range_span(e):
    return ((e["g1"] - e["g0"]) // e["gstep"] + 1) * ((e["e1"] - e["e0"]) // e["estep"] + 1)


def entry_c(tag, e):
    group_step = e["gstep"]
    # Element ranges are even-only by default like group ranges; the C code
    # checks parity against the first element with the same step.
    return ("{ 0x%08Xu, 0x%04Xu, 0x%04Xu, %d, %d, %s, %d, %d, %d, %d, %s }"
            % (tag, e["g1"], e["e1"], group_step, e["retired"], e["vr"], e["vmin"], e["vmax"],
               e["vstep"], e["estep"], c_str(e["kw"])))


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\r\n") for l in f if l.strip()]
    head = lines[0].split("\t")
    rows = []
    for n, l in enumerate(lines[1:], 2):
        cols = l.split("\t")
        if len(cols) < len(head):
            cols += [""] * (len(head) - len(cols))
        rows.append(dict(zip(head, cols)))
    return rows


def derive_keyword(name):
    name = name.split(":")[0]
    name = re.sub(r"\(Retired\)", "", name)
    return re.sub(r"[^A-Za-z0-9]", "", name)


def main():
    if len(sys.argv) != 5:
        die("usage: gen_tables.py DICT TS_TSV SOP_TSV OUTDIR")
    dict_path, ts_path, sop_path, outdir = sys.argv[1:]
    exact, ranges = read_dict(dict_path)
    ranges.sort(key=range_span)  # most specific first

    ts_rows = read_tsv(ts_path)
    sop_rows = read_tsv(sop_path)

    os.makedirs(os.path.join(outdir, "dcm"), exist_ok=True)

    # ---- dcm_tags.h
    seen = {}
    lines = ["/* Generated by src/dcm/gen_tables.py from %s. Do not edit. */"
             % os.path.basename(dict_path),
             "#ifndef FERRY_DCM_TAGS_H", "#define FERRY_DCM_TAGS_H", ""]
    for tag in sorted(exact):
        kw = exact[tag]["kw"]
        if exact[tag]["generic"] or kw in seen:
            continue
        seen[kw] = tag
        lines.append("#define DCM_TAG_%s 0x%08Xu" % (kw, tag))
    for e in ranges:
        if e["generic"] or e["kw"] in seen:
            continue
        tag = (e["g0"] << 16) | e["e0"]
        seen[e["kw"]] = tag
        lines.append("#define DCM_TAG_%s 0x%08Xu" % (e["kw"], tag))
    lines.append("")
    uid_seen = set()
    for r in ts_rows:
        kw = TS_KEYWORDS.get(r["uid"]) or derive_keyword(r["name"])
        r["keyword"] = kw
        if kw in uid_seen:
            die("duplicate UID keyword %s" % kw)
        uid_seen.add(kw)
        lines.append("#define DCM_UID_%s %s" % (kw, c_str(r["uid"])))
    for r in sop_rows:
        if not r["keyword"]:  # a few newer rows lack one: derive it from the name
            r["keyword"] = derive_keyword(r["name"])
        kw = r["keyword"]
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", kw):
            die("%s: bad keyword '%s'" % (sop_path, kw))
        if kw in uid_seen:
            continue
        uid_seen.add(kw)
        lines.append("#define DCM_UID_%s %s" % (kw, c_str(r["uid"])))
    lines += ["", "#endif", ""]
    with open(os.path.join(outdir, "dcm", "dcm_tags.h"), "w") as f:
        f.write("\n".join(lines))

    # ---- dict_table.c
    out = ["/* Generated by src/dcm/gen_tables.py from %s. Do not edit. */"
           % os.path.basename(dict_path),
           '#include "dcm/dcm-private.h"', ""]
    tags = sorted(exact)
    out.append("const uint32_t dcm__dict_tags[] = {")
    for i in range(0, len(tags), 8):
        out.append("    " + ", ".join("0x%08Xu" % t for t in tags[i:i + 8]) + ",")
    out.append("};")
    out.append("const struct dcm_dict_entry dcm__dict_exact[] = {")
    for t in tags:
        out.append("    " + entry_c(t, exact[t]) + ",")
    out.append("};")
    out.append("const size_t dcm__dict_exact_n = %d;" % len(tags))
    out.append("const struct dcm_dict_entry dcm__dict_ranges[] = {")
    for e in ranges:
        out.append("    " + entry_c((e["g0"] << 16) | e["e0"], e) + ",")
    out.append("};")
    out.append("const size_t dcm__dict_ranges_n = %d;" % len(ranges))
    # keyword index over exact then range entries: index < exact_n means exact
    allkw = [(exact[t]["kw"], i) for i, t in enumerate(tags) if not exact[t]["generic"]]
    allkw += [(e["kw"], len(tags) + i) for i, e in enumerate(ranges) if not e["generic"]]
    allkw.sort(key=lambda x: x[0].encode())
    dedup = []
    for kw, i in allkw:
        if dedup and dedup[-1][0] == kw:
            continue
        dedup.append((kw, i))
    out.append("const uint16_t dcm__dict_by_keyword[] = {")
    for i in range(0, len(dedup), 12):
        out.append("    " + ", ".join(str(x[1]) for x in dedup[i:i + 12]) + ",")
    out.append("};")
    out.append("const size_t dcm__dict_by_keyword_n = %d;" % len(dedup))
    out.append("")
    with open(os.path.join(outdir, "dict_table.c"), "w") as f:
        f.write("\n".join(out))

    # ---- uid_table.c
    def yn(v):
        return "true" if v.strip().upper().startswith("Y") else "false"

    out = ["/* Generated by src/dcm/gen_tables.py from %s and %s. Do not edit. */"
           % (os.path.basename(ts_path), os.path.basename(sop_path)),
           '#include "dcm/dcm-private.h"', ""]
    out.append("const struct dcm_ts dcm__ts_table[] = {")
    for r in ts_rows:
        bo = r["vr_and_byte_order"]
        explicit = "explicit" in bo
        big = "big endian" in bo
        deflated = r["uid"] == "1.2.840.10008.1.2.1.99"
        lossless = r["lossless"].strip().upper().startswith("Y")
        name = r["name"]
        out.append("    { %s, %s, %s, %s, %s, %s, %s, %s, %s }," % (
            c_str(r["uid"]), c_str(name), c_str(r["keyword"]),
            "true" if explicit else "false", "true" if big else "false",
            "true" if deflated else "false", yn(r["encapsulated"]),
            "true" if lossless else "false", yn(r["retired"])))
    out.append("};")
    out.append("const size_t dcm__ts_table_n = %d;" % len(ts_rows))
    out.append("const struct dcm_sop_class dcm__sop_table[] = {")
    for r in sop_rows:
        out.append("    { %s, %s, %s, %s, %s, %s, %s }," % (
            c_str(r["uid"]), c_str(r["name"]), c_str(r["keyword"]), c_str(r["category"]),
            "true" if r["category"] == "storage" else "false", yn(r["common"]),
            yn(r["retired"])))
    out.append("};")
    out.append("const size_t dcm__sop_table_n = %d;" % len(sop_rows))
    out.append("")
    with open(os.path.join(outdir, "uid_table.c"), "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
