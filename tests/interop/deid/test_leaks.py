#!/usr/bin/python3
"""The leak scanner: every identifying string and date of the inputs,
searched for in the raw bytes of the outputs of the basic profile. Zero
hits allowed.

What is searched for, per input: the corpus manifest's identifiers (names
and their parts, IDs, addresses, phone numbers, institution, department,
station, physicians, serial numbers) and dates; and, read from the instance
itself at every depth, every value of an attribute that Table E.1-1 does
not keep (any code but K), every person name, every private string, every
date and date-time (also written YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD), the
original UIDs that the table replaces, and the File Meta Information's
Source AE Title and Implementation Class UID. Each in UTF-8, GB18030 and
GBK, and ASCII ones also in upper case.
"""
import os
import re
import sys
import tempfile

from pydicom.multival import MultiValue

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deidlib as L  # noqa: E402
import pydicom  # noqa: E402

# Values that outputs legitimately hold whatever the input: the dummies and
# what ferry writes.
ALLOWED = set(L.DUMMY.values()) | {"YES", "NO", "REMOVED", "DCM"}


def vals(v):
    if v is None:
        return []
    if isinstance(v, (MultiValue, list)):
        out = []
        for x in v:
            out += vals(x)
        return out
    if isinstance(v, bytes):
        return []
    s = str(v).strip().strip("\0")
    return [s] if s else []


def date_forms(d):
    d = re.sub(r"[^0-9]", "", d)[:8]
    if len(d) != 8:
        return []
    return [d, "%s-%s-%s" % (d[:4], d[4:6], d[6:]), "%s/%s/%s" % (d[:4], d[4:6], d[6:]),
            "%s.%s.%s" % (d[:4], d[4:6], d[6:])]


def tokens_of(ds, profile, out, depth=0):
    """Identifying values of a data set, at every depth."""
    for el in ds:
        tag = int(el.tag)
        if tag & 0xFFFF == 0:
            continue
        if el.VR == "SQ":
            for it in el.value:
                tokens_of(it, profile, out, depth + 1)
            continue
        v = vals(el.value)
        if el.VR in ("DA", "DT"):
            for x in v:
                out.update(date_forms(x))
            continue
        r = profile.rule(tag)
        private = (tag >> 16) & 1 and tag & 0xFF00
        if el.VR == "PN":
            for x in v:
                out.add(x)
                for g in x.split("="):
                    out.add(g)
                    out.add(g.replace("^", " ").strip())
                    out.add(g.replace("^", ""))
        elif private and el.VR in L.TEXT_VRS | {"CS", "AE"}:
            out.update(v)
        elif el.VR == "UI":
            if r and "U" in r["basic_profile_action"]:
                out.update(x for x in v if not x.startswith("1.2.840.10008."))
        elif r and r["basic_profile_action"] != "K" and el.VR not in ("TM", "US", "SS", "UL",
                                                                         "SL", "FL", "FD",
                                                                         "DS", "IS", "AS"):
            out.update(v)
    return out


def kept_values(ds, profile, out, depth=0, mode=0):
    """Values that the basic profile keeps (K, or unlisted and kept): an
    identifying-looking value of another attribute that equals one of these
    is a coincidence of the input, not a leak (pydicom's files say
    "GE MEDICAL SYSTEMS" in a private element and in Manufacturer)."""
    sop = str(ds.get("SOPClassUID", "")) if depth == 0 else ""
    for el in ds:
        tag = int(el.tag)
        if (tag >> 16) & 1 or tag & 0xFFFF == 0:
            continue
        act, child = profile.decide(tag, el.VR, set(), sop, depth, mode, False)
        if el.VR == "SQ":
            if act == "recurse":
                for it in el.value:
                    kept_values(it, profile, out, depth + 1, child)
            continue
        if act in ("keep", "scrub-idents"):
            out.update(vals(el.value))
            out.add("\\".join(vals(el.value)))
    return out


def forms(t):
    fs = {t.encode("utf-8")}
    for cs in ("gb18030", "gbk"):
        try:
            fs.add(t.encode(cs))
        except UnicodeEncodeError:
            pass
    if t.isascii():
        fs.add(t.upper().encode())
    return fs


def searchable(t):
    t = t.strip()
    if not t or t in ALLOWED or t.upper() in "ANONYMIZED" or len(set(t)) == 1:
        return False
    if t.isdigit():
        return len(t) >= 8   # shorter runs of digits occur in any number
    if t.isascii():
        return len(t) >= 4
    return len(t) >= 2


def main():
    with tempfile.TemporaryDirectory(prefix="ferry-deid-leaks-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        manifest = L.make_corpus(corpus)
        secret = L.make_secret(os.path.join(tmp, "secret"))
        profile = L.Profile()
        batches = [[os.path.join(corpus, n) for n in sorted(manifest["files"])]]
        batches += L.pydicom_inputs()
        hits, searched, scanned = [], 0, 0
        for k, batch in enumerate(batches):
            outdir = os.path.join(tmp, "out-%d" % k)
            # LEAK_SELFTEST_OPTIONS: the scanner's own test, a run that keeps
            # identities on purpose must be caught
            opts = [o for o in os.environ.get("LEAK_SELFTEST_OPTIONS", "").split(",") if o]
            L.run_deid(batch, outdir, secret, options=opts, params=["burned-in=warn"])
            blobs = {p: open(p, "rb").read() for p in L.outputs(outdir)}
            scanned += len(blobs)
            toks, known, kept = set(), set(), set()
            for path in batch:
                kept_values(pydicom.dcmread(path, force=True), profile, kept)
            for path in batch:
                name = os.path.basename(path)
                info = manifest["files"].get(name) if k == 0 else None
                if info:
                    known.update(info["idents"])
                    for d in info["dates"]:
                        known.update(date_forms(d))
                ds = pydicom.dcmread(path, force=True)
                found = tokens_of(ds, profile, set())
                toks.update(t for t in found
                            if not any(t.upper() in v.upper() for v in kept if v))
                meta = getattr(ds, "file_meta", None)
                if meta is not None:
                    for kw in ("SourceApplicationEntityTitle", "ImplementationClassUID",
                               "MediaStorageSOPInstanceUID"):
                        if kw in meta:
                            toks.update(vals(meta[kw].value))
            toks = sorted(t for t in toks | known if searchable(t))
            searched += len(toks)
            for t in toks:
                for f in forms(t):
                    for p, b in blobs.items():
                        if f in b:
                            i = b.find(f)
                            hits.append("%r (%r) in %s at byte %d: ...%r..." % (
                                t, f, os.path.relpath(p, tmp), i, b[max(0, i - 24):i + len(f) + 24]))
        print("%d identifying strings and dates searched for in %d outputs" % (searched, scanned))
        for h in hits[:50]:
            print("  LEAK " + h)
        if hits:
            L.fail("%d leaks" % len(hits))
        if scanned < len(manifest["files"]):
            L.fail("only %d outputs" % scanned)
        print("OK: no leak")


if __name__ == "__main__":
    main()
