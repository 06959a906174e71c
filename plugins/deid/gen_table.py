#!/usr/bin/env python3
"""Compile the de-identification tables into C at build time.

Inputs (all data, none retyped):
  --profile       data/dicom/deid_profile.tsv       PS3.15 Table E.1-1 (2025a), every option column
  --newer         data/dicom/deid_profile_newer_rows.tsv  rows only in a newer edition (basic code only)
  --iod-types     plugins/deid/iod_types.tsv        Type per SOP Class of the compound-coded attributes
  --safe-private  plugins/deid/safe_private.tsv     private elements kept by retain-safe-private
  --dict          DCMTK's dicom.dic                 the dictionary VR of each row (informational:
                                                    used when an element arrives as UN)
Output: --out deid_table.c, the definitions declared in deid-private.h.

Newer rows: added with their Basic Profile code and empty option columns
(their option columns are unknown); flagged DEID_RULE_NEWER. A newer row whose
tag is already in the 2025a table is an error. The date options still reach
their DA/DT/TM values through decide.c's rule for dates (see CONFORMANCE.md).

Any malformed line stops the build with FILE:LINE: message.
"""
import argparse
import csv
import re
import sys

OPTIONS = [
    "retain_safe_private", "retain_uids", "retain_device_identity",
    "retain_institution_identity", "retain_patient_characteristics",
    "retain_long_full_dates", "retain_long_modified_dates", "clean_descriptors",
    "clean_structured_content", "clean_graphics",
]
CODES = {"": "DEID_CODE_NONE", "X": "DEID_CODE_X", "Z": "DEID_CODE_Z", "D": "DEID_CODE_D",
         "K": "DEID_CODE_K", "C": "DEID_CODE_C", "U": "DEID_CODE_U", "Z/D": "DEID_CODE_ZD",
         "X/Z": "DEID_CODE_XZ", "X/D": "DEID_CODE_XD", "X/Z/D": "DEID_CODE_XZD",
         "X/Z/U*": "DEID_CODE_XZU"}
TYPES = {"1": "DEID_TYPE_1", "1C": "DEID_TYPE_1C", "2": "DEID_TYPE_2", "2C": "DEID_TYPE_2C",
         "3": "DEID_TYPE_3"}
VRS = set("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC "
          "UI UL UN UR US UT UV".split())
# The pattern rows, in the order deid_rule_find() tries them: (value, mask).
PATTERNS = {
    "(50xx,xxxx)": (0x50000000, 0xFF010000),   # even groups 5000-50FE, any element
    "(60xx,3000)": (0x60003000, 0xFF01FFFF),   # even groups 6000-60FE
    "(60xx,4000)": (0x60004000, 0xFF01FFFF),
    "(gggg,eeee) where gggg is odd": (0x00010000, 0x00010000),
}
TAG = re.compile(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)")


def fail(where, msg):
    sys.exit("%s: %s" % (where, msg))


def read_tsv(path, required):
    """Rows of a TSV with a header line; lines starting with '#' are comments."""
    with open(path, newline="", encoding="utf-8") as f:
        lines = [(n, l) for n, l in enumerate(f, 1) if not l.startswith("#") and l.strip()]
    if not lines:
        fail(path, "empty")
    header = lines[0][1].rstrip("\r\n").split("\t")
    for col in required:
        if col not in header:
            fail("%s:%d" % (path, lines[0][0]), "missing column %r" % col)
    rows = []
    for n, line in lines[1:]:
        cells = line.rstrip("\r\n").split("\t")
        if len(cells) != len(header):
            fail("%s:%d" % (path, n), "%d cells, header has %d" % (len(cells), len(header)))
        rows.append((n, dict(zip(header, cells))))
    return rows


def dictionary(path):
    vr = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("("):
                parts = line.split("\t")
                if len(parts) > 2 and parts[1] in VRS:
                    vr[parts[0].upper()] = parts[1]
    return vr


def code(where, text):
    if text not in CODES:
        fail(where, "unknown action code %r" % text)
    return CODES[text]


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rule_c(tag, mask, basic, opts, flags, vr, keyword):
    return "    { 0x%08Xu, 0x%08Xu, %s, { %s }, %s, %s, %s }," % (
        tag, mask, basic, ", ".join(opts), flags or "0", cstr(vr), cstr(keyword))


def main():
    ap = argparse.ArgumentParser()
    for a in ("profile", "newer", "iod-types", "safe-private", "dict", "out"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    vrs = dictionary(args.dict)

    concrete = {}
    patterns = {}
    for n, r in read_tsv(args.profile, ["tag", "keyword", "basic_profile_action"] + OPTIONS
                         + ["in_std_comp_iod", "retired"]):
        where = "%s:%d" % (args.profile, n)
        basic = code(where, r["basic_profile_action"])
        if basic == "DEID_CODE_NONE":
            fail(where, "empty basic profile action")
        opts = [code(where, r[o]) for o in OPTIONS]
        flags = []
        if r["in_std_comp_iod"] == "Y":
            flags.append("DEID_RULE_IN_STD_IOD")
        if r["retired"] == "Y":
            flags.append("DEID_RULE_RETIRED")
        flags = " | ".join(flags)
        keyword = r["keyword"] or "PrivateAttributes"
        if r["tag"] in PATTERNS:
            patterns[r["tag"]] = (basic, opts, flags, keyword)
            continue
        m = TAG.fullmatch(r["tag"])
        if not m:
            fail(where, "tag %r is neither (GGGG,EEEE) nor a known pattern" % r["tag"])
        tag = int(m.group(1) + m.group(2), 16)
        if tag in concrete:
            fail(where, "tag %s listed twice" % r["tag"])
        if (tag >> 16) & 1:
            fail(where, "tag %s is private; the private row covers it" % r["tag"])
        concrete[tag] = (basic, opts, flags, vrs.get(r["tag"], ""), r["keyword"])
    for p in PATTERNS:
        if p not in patterns:
            fail(args.profile, "pattern row %s missing" % p)
    n_2025a = len(concrete)

    for n, r in read_tsv(args.newer, ["tag", "keyword", "basic_profile_action"]):
        where = "%s:%d" % (args.newer, n)
        m = TAG.fullmatch(r["tag"])
        if not m:
            fail(where, "bad tag %r" % r["tag"])
        tag = int(m.group(1) + m.group(2), 16)
        if tag in concrete:
            fail(where, "tag %s is already in %s" % (r["tag"], args.profile))
        basic = code(where, r["basic_profile_action"])
        concrete[tag] = (basic, ["DEID_CODE_NONE"] * len(OPTIONS), "DEID_RULE_NEWER",
                         vrs.get(r["tag"], ""), r["keyword"])

    compound = {t for t, v in concrete.items()
                if v[0] in ("DEID_CODE_ZD", "DEID_CODE_XZ", "DEID_CODE_XD", "DEID_CODE_XZD",
                            "DEID_CODE_XZU")}
    iods = {}
    for n, r in read_tsv(args.iod_types, ["sop_class_uid", "tag", "type"]):
        where = "%s:%d" % (args.iod_types, n)
        m = TAG.fullmatch(r["tag"])
        if not m:
            fail(where, "bad tag %r" % r["tag"])
        tag = int(m.group(1) + m.group(2), 16)
        if tag not in compound:
            fail(where, "%s has no compound code in the profile" % r["tag"])
        if r["type"] not in TYPES:
            fail(where, "unknown type %r" % r["type"])
        if not re.fullmatch(r"[0-9.]{1,64}", r["sop_class_uid"]):
            fail(where, "bad SOP Class UID %r" % r["sop_class_uid"])
        types = iods.setdefault(r["sop_class_uid"], {})
        if tag in types:
            fail(where, "%s listed twice for %s" % (r["tag"], r["sop_class_uid"]))
        types[tag] = TYPES[r["type"]]

    safe = []
    for n, r in read_tsv(args.safe_private, ["group", "element", "creator", "vr"]):
        where = "%s:%d" % (args.safe_private, n)
        if not re.fullmatch(r"[0-9A-F]{4}", r["group"]) or not int(r["group"], 16) & 1:
            fail(where, "group %r is not an odd hexadecimal group" % r["group"])
        if not re.fullmatch(r"[0-9A-F]{2}", r["element"]):
            fail(where, "element %r is not two hexadecimal digits" % r["element"])
        if r["vr"] not in VRS or not r["creator"] or len(r["creator"]) > 64:
            fail(where, "bad VR or creator")
        safe.append((int(r["group"], 16), r["creator"], int(r["element"], 16), r["vr"]))
    safe.sort()

    out = ["/* Generated by plugins/deid/gen_table.py from %s, %s, %s and %s. Do not edit. */"
           % (args.profile, args.newer, args.iod_types, args.safe_private),
           '#include "deid-private.h"', "",
           "const struct deid_rule deid_rules[] = {"]
    for tag in sorted(concrete):
        basic, opts, flags, vr, kw = concrete[tag]
        out.append(rule_c(tag, 0xFFFFFFFF, basic, opts, flags, vr, kw))
    out += ["};", "const size_t deid_rule_count = %d;" % len(concrete),
            "const size_t deid_rule_count_2025a = %d;" % n_2025a, "",
            "const struct deid_rule deid_pattern_rules[] = {"]
    for p, (value, mask) in PATTERNS.items():
        basic, opts, flags, kw = patterns[p]
        out.append(rule_c(value, mask, basic, opts, flags, "", kw))
    out += ["};", "const size_t deid_pattern_rule_count = %d;" % len(PATTERNS), "",
            "const struct deid_iod_type deid_iod_types[] = {"]
    iod_rows = []
    first = 0
    for uid in sorted(iods):
        types = iods[uid]
        for tag in sorted(types):
            out.append("    { 0x%08Xu, %s }," % (tag, types[tag]))
        iod_rows.append("    { %s, %d, %d }," % (cstr(uid), first, len(types)))
        first += len(types)
    if not iod_rows:
        out.append("    { 0, 0 },")
    out += ["};", "", "const struct deid_iod deid_iods[] = {"] + iod_rows
    out += ["};", "const size_t deid_iod_count = %d;" % len(iod_rows), "",
            "const struct deid_safe_private deid_safe_privates[] = {"]
    for group, creator, element, vr in safe:
        out.append("    { 0x%04Xu, 0x%02Xu, %s, %s }," % (group, element, cstr(vr), cstr(creator)))
    out += ["};", "const size_t deid_safe_private_count = %d;" % len(safe), ""]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
