#!/usr/bin/python3
"""deid_check.py CORPUS SECRET RESEARCH READING OTHER MAP BURST1 BURST2

What ferryd's de-identifying route delivered, checked without ferry's code
(tests/interop/deid: deidlib's keyed functions, test_leaks' scanner):
  - READING (the reading center) got every instance of CORPUS unchanged:
    same SOP Instance UIDs, same patient names;
  - RESEARCH got every instance de-identified: zero identifying strings or
    dates of the inputs in the raw bytes it received (the leak scanner of
    tests/interop/deid, basic profile);
  - UIDs: every SOP, Series and Study Instance UID RESEARCH received is the
    keyed UID of the original (same secret), so the two bursts of the same
    studies (BURST1, BURST2: lists of file names, comma-separated) share
    their study and series UIDs;
  - MAP (the output of `ferry deid-map`) has, for every patient of the
    corpus, the patient-id row original -> the pseudonym RESEARCH received;
    and none of OTHER's pseudonyms (a route without record-pseudonyms).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "deid"))
import deidlib as L  # noqa: E402  (exits 77 without pydicom)
import pydicom  # noqa: E402
import test_leaks as S  # noqa: E402


def files(d):
    return sorted(os.path.join(d, n) for n in os.listdir(d) if not n.endswith(".log"))


def main():
    corpus, secret, research, reading, other, map_path, b1, b2 = sys.argv[1:9]
    import json
    manifest = json.load(open(os.path.join(corpus, "manifest.json"), encoding="utf-8"))
    inputs = {n: os.path.join(corpus, n) for n in manifest["files"]}
    keys = L.Keys(secret)
    profile = L.Profile()
    orig = {n: pydicom.dcmread(p, force=True) for n, p in inputs.items()}
    by_uid = {str(ds.SOPInstanceUID): n for n, ds in orig.items()}
    errors = []

    # the reading center: the originals
    got = {}
    for p in files(reading):
        ds = pydicom.dcmread(p, force=True)
        got[str(ds.SOPInstanceUID)] = ds
    if set(got) != set(by_uid):
        errors.append("reading center: %d instances, expected the %d originals"
                      % (len(got), len(by_uid)))
    for uid, ds in got.items():
        o = orig.get(by_uid.get(uid))
        if o is not None and str(o.get("PatientName", "")) != str(ds.get("PatientName", "")):
            errors.append("reading center: %s has another patient name" % uid)

    # research: de-identified, UIDs keyed
    blobs = {p: open(p, "rb").read() for p in files(research)}
    if len(blobs) != len(inputs):
        errors.append("research: %d instances, expected %d" % (len(blobs), len(inputs)))
    mapped = {}
    for p in blobs:
        ds = pydicom.dcmread(p, force=True)
        mapped[str(ds.SOPInstanceUID)] = ds
    study_of = {}
    pseudonym_of = {}
    for n, o in orig.items():
        want = keys.uid(str(o.SOPInstanceUID))
        ds = mapped.get(want)
        if ds is None:
            errors.append("research: no instance with the keyed UID of %s" % n)
            continue
        for kw in ("StudyInstanceUID", "SeriesInstanceUID"):
            if kw in o and str(ds.get(kw, "")) != keys.uid(str(o.get(kw))):
                errors.append("research: %s of %s is not the keyed UID" % (kw, n))
        study_of.setdefault(str(o.StudyInstanceUID), set()).add(str(ds.StudyInstanceUID))
        pseudonym_of[L.text_of(o, "PatientID")] = L.text_of(ds, "PatientID")
        if L.text_of(ds, "PatientIdentityRemoved") != "YES":
            errors.append("research: %s lacks Patient Identity Removed = YES" % n)
    for study, new in study_of.items():
        if len(new) != 1:
            errors.append("research: study %s became %d studies" % (study, len(new)))
    burst = {n: 1 for n in b1.split(",") if n}
    burst.update({n: 2 for n in b2.split(",") if n})
    spanning = [s for s in study_of
                if len({burst.get(n) for n, o in orig.items()
                        if str(o.StudyInstanceUID) == s}) == 2]
    if not spanning:
        errors.append("no study was sent in two bursts: the test proves nothing")

    # the leak scan (tests/interop/deid/test_leaks.py's tokens)
    toks, kept = set(), set()
    for o in orig.values():
        S.kept_values(o, profile, kept)
    for n, o in orig.items():
        info = manifest["files"][n]
        toks.update(info["idents"])
        for d in info["dates"]:
            toks.update(S.date_forms(d))
        found = S.tokens_of(o, profile, set())
        toks.update(t for t in found if not any(t.upper() in v.upper() for v in kept if v))
    toks = sorted(t for t in toks if S.searchable(t))
    hits = []
    for t in toks:
        for f in S.forms(t):
            for p, b in blobs.items():
                i = b.find(f)
                if i >= 0:
                    hits.append("%r in %s at byte %d" % (t, os.path.basename(p), i))
    if hits:
        errors.append("%d leaks: %s" % (len(hits), "; ".join(hits[:10])))

    # the pseudonym map
    rows = set()
    for line in open(map_path, encoding="utf-8"):
        rows.add(tuple(line.rstrip("\n").split("\t")))
    for pid, pseudo in pseudonym_of.items():
        if pid and ("patient-id", pid, pseudo) not in rows:
            errors.append("map: no row patient-id %s -> %s" % (pid, pseudo))
    others = {L.text_of(pydicom.dcmread(p, force=True), "PatientID") for p in files(other)}
    if len(files(other)) != len(inputs):
        errors.append("other: %d instances, expected %d" % (len(files(other)), len(inputs)))
    leaked = [r for r in rows if r[2] in others]
    if leaked:
        errors.append("map: rows of the route without record-pseudonyms: %s" % leaked[:3])

    for e in errors:
        print("FAIL: " + e)
    if errors:
        return 1
    print("OK: %d instances; reading center got the originals; research got them "
          "de-identified: %d identifying strings and dates searched, 0 found; keyed UIDs, "
          "%d studies across two bursts one study each; %d map rows, %d patients"
          % (len(inputs), len(toks), len(spanning), len(rows), len(pseudonym_of)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
