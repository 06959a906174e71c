#!/usr/bin/python3
"""For every attribute of the inputs, the output shows exactly the action of
Table E.1-1 under the options chosen (CONFORMANCE.md), at every depth.

    check_profile.py [OPTION-SET...]

OPTION-SET is "basic", one option name, or "combo" (every option but full
dates); default: all of them. Inputs: the corpus (corpus.py) and pydicom's
test files. Each run of `ferry deid` is compared element by element with the
table read here from data/dicom/deid_profile.tsv.
"""
import os
import re
import sys
import tempfile

from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deidlib as L  # noqa: E402
import pydicom  # noqa: E402

MASK_FILE = ("Acme Medical\tCT-1\t32x32\t0,0,32,2; 4,10,6,6\n"
             "Mindray\tDC-70\t48x64\t0,0,64,6\n"
             "FERRY TEST\tSCREEN\t32x32\t0,0,32,4\n")
RECTS = {("acme medical", "ct-1", 32, 32): [(0, 0, 32, 2), (4, 10, 6, 6)]}

DATE_WORD = re.compile(r"(?<![A-Za-z0-9])(\d{4})([-/.]?)(\d{2})\2(\d{2})(?![A-Za-z0-9])")


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, msg):
        self.items.append("%s: %s" % (where, msg))


def sval(v):
    """A value as comparable text."""
    if v is None:
        return ""
    if isinstance(v, (MultiValue, list)):
        return "\\".join(sval(x) for x in v)
    if isinstance(v, bytes):
        return v.decode("latin-1").rstrip("\0 ")
    return str(v).strip().rstrip("\0")


def values(v):
    if v is None:
        return []
    if isinstance(v, (MultiValue, list)):
        return [sval(x) for x in v]
    s = sval(v)
    return [s] if s != "" else []


def gv(ds, kw):
    """The value of element kw of ds, or None."""
    return ds[kw].value if kw in ds else None


def empty(el):
    if el.VR == "SQ":
        return len(el.value) == 0
    return el.value is None or el.value == "" or el.value == b"" or \
        (isinstance(el.value, (list, MultiValue)) and len(el.value) == 0)


def is_date(y, m, d):
    import datetime
    if not 1800 <= y <= 2199:
        return False
    try:
        datetime.date(y, m, d)
    except ValueError:
        return False
    return True


def expected_dates(text, policy, days):
    """The input text with its date-like words as the scrubber leaves them."""
    def repl(m):
        y, sep, mo, d = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        if not is_date(y, mo, d):
            return m.group(0)
        if policy == "keep":
            return m.group(0)
        if policy == "mask":
            return "***"
        s = L.shift_da("%04d%02d%02d" % (y, mo, d), days)
        return s[:4] + sep + s[4:6] + sep + s[6:] if s else "***"
    return DATE_WORD.sub(repl, text)


class Checker:
    def __init__(self, keys, profile, opts, idents, masks):
        self.keys, self.profile, self.opts = keys, profile, set(opts)
        self.idents = idents      # file name -> identifying strings
        self.masks = masks
        self.problems = Problems()
        self.counts = {}
        self.policy = ("keep" if "retain-long-full-dates" in self.opts else
                       "shift" if "retain-long-modified-dates" in self.opts else "mask")

    # -- scrubbed text ---------------------------------------------------

    def check_scrub(self, where, tokens, a, b, numbers):
        """b is a with identifying strings (and, for the full scrub, numbers
        of 5 digits or more and e-mail addresses) replaced by ***, and its
        dates masked, kept or shifted."""
        base = expected_dates(a, self.policy, self.days)
        pieces = b.split("***")
        pat = "^" + ".*?".join(re.escape(p) for p in pieces) + "$"
        if not re.match(pat, base, re.S):
            self.problems.add(where, "scrubbed %r to %r, which is not %r with parts masked"
                              % (a, b, base))
        for t in tokens:
            hit = (t.lower() in b.lower()) if t.isascii() else (t in b)
            if hit:
                self.problems.add(where, "identifying %r left in %r" % (t, b))
        if numbers and re.search(r"\d{5}", re.sub(r"[-./]", "", b)) and \
                not DATE_WORD.search(b):
            self.problems.add(where, "a number of 5 digits or more left in %r" % b)
        if self.policy == "mask" and any(is_date(int(m.group(1)), int(m.group(3)),
                                                 int(m.group(4)))
                                         for m in DATE_WORD.finditer(b)):
            self.problems.add(where, "a date left in %r" % b)

    # -- one element -----------------------------------------------------

    def element(self, where, ctx, el, out, act, child, depth):
        P = self.problems
        self.counts[act] = self.counts.get(act, 0) + 1
        if act == "remove":
            if out is not None:
                P.add(where, "kept %r, table says X" % sval(out.value)[:60])
            return
        if out is None:
            P.add(where, "removed, wanted %s" % act)
            return
        if act == "empty":
            if not empty(out):
                P.add(where, "%r, wanted an empty value (Z)" % sval(out.value)[:60])
        elif act == "keep":
            if el.VR == "SQ":
                return self.items(where, ctx, el, out, depth, child)
            if sval(out.value) != sval(el.value):
                P.add(where, "%r changed to %r, wanted K" % (sval(el.value)[:60],
                                                             sval(out.value)[:60]))
        elif act == "dummy":
            vr = out.VR
            if vr == "UI":
                want = "\\".join(self.keys.uid(u) for u in values(el.value))
                if sval(out.value) != want:
                    P.add(where, "UI %r, wanted mapped %r" % (sval(out.value), want))
            elif vr in L.DUMMY:
                if sval(out.value) != L.DUMMY[vr]:
                    P.add(where, "%r, wanted the dummy %r" % (sval(out.value), L.DUMMY[vr]))
            elif isinstance(out.value, bytes):
                if any(out.value) or not out.value:
                    P.add(where, "binary dummy is not zeros")
            elif out.value in (None, "") or (vr in ("US", "SS", "UL", "SL", "FL", "FD") and
                                             sval(out.value) not in ("0", "0.0")):
                P.add(where, "%r, wanted zeros" % sval(out.value))
        elif act == "uid":
            want = "\\".join(self.keys.uid(u) for u in values(el.value))
            if sval(out.value) != want:
                P.add(where, "%r, wanted mapped %r" % (sval(out.value), want))
        elif act == "shift":
            vr = out.VR
            got = values(out.value)
            want = []
            for v in values(el.value):
                if vr == "DA":
                    s = L.shift_da(v, self.days)
                elif vr == "DT":
                    s = L.shift_dt(v, self.days)
                else:
                    s = v.strip()
                if s:
                    want.append(s)
            if got != want:
                P.add(where, "%s %r shifted to %r, wanted %r (%d days)" % (
                    vr, values(el.value), got, want, self.days))
        elif act in ("scrub", "scrub-idents"):
            a, b = sval(el.value), sval(out.value)
            self.check_scrub(where, ctx["tokens"], a, b, act == "scrub")
        elif act == "token":
            want = "\\".join(self.keys.token(v) for v in values(el.value))
            if sval(out.value) != want:
                P.add(where, "AE %r, wanted token %r" % (sval(out.value), want))
        elif act == "pseudonym":
            if depth == 0:
                want = self.keys.pseudonym(L.patient_key(ctx["root"]))
            else:
                v = sval(el.value)
                want = self.keys.pseudonym("id:" + v) if v else ""
            if sval(out.value) != want:
                P.add(where, "%r, wanted the pseudonym %r" % (sval(out.value), want))
        elif act == "mask-overlay":
            self.overlay(where, ctx, el, out)
        elif act == "recurse":
            if out.VR != "SQ":
                P.add(where, "not a sequence any more")
                return
            return self.items(where, ctx, el, out, depth, child)
        else:
            raise AssertionError(act)

    def overlay(self, where, ctx, el, out):
        root = ctx["root"]
        rects = ctx.get("rects") or []
        g = el.tag & 0xFFFF0000
        rows, cols = root[g | 0x10].value, root[g | 0x11].value
        import numpy as np
        a = np.unpackbits(np.frombuffer(el.value, np.uint8), bitorder="little")[:rows * cols]
        b = np.unpackbits(np.frombuffer(out.value, np.uint8), bitorder="little")[:rows * cols]
        a = a.reshape(rows, cols).copy()
        for x, y, w, h in rects:
            a[y:y + h, x:x + w] = 0
        if not (a == b.reshape(rows, cols)).all():
            self.problems.add(where, "overlay bits differ from the input with the mask cleared")

    def items(self, where, ctx, el, out, depth, mode):
        if len(out.value) != len(el.value):
            self.problems.add(where, "%d items, wanted %d" % (len(out.value), len(el.value)))
            return
        for i, (a, b) in enumerate(zip(el.value, out.value)):
            self.dataset("%s[%d]" % (where, i), ctx, a, b, depth + 1, mode)

    # -- private blocks ----------------------------------------------------

    @staticmethod
    def declarations(ds):
        decl = {}
        for it in ds.get("PrivateDataElementCharacteristicsSequence", []) or []:
            g = gv(it, "PrivateGroupReference")
            c = sval(gv(it, "PrivateCreatorReference"))
            if g is None or not c:
                continue
            b = dict(safe=sval(gv(it, "BlockIdentifyingInformationStatus")) == "SAFE",
                     nonid=set(), action={})
            if "NonidentifyingPrivateElements" in it:
                v = it.NonidentifyingPrivateElements
                b["nonid"] = set(v if isinstance(v, (list, MultiValue)) else [v])
            for a in it.get("DeidentificationActionSequence", []) or []:
                act = sval(gv(a, "DeidentificationAction"))
                if "IdentifyingPrivateElements" not in a or act not in ("D", "Z", "X", "U"):
                    continue
                v = a.IdentifyingPrivateElements
                for off in (v if isinstance(v, (list, MultiValue)) else [v]):
                    b["action"][off] = act
            decl[(int(g), c)] = b
        return decl

    def private(self, where, ctx, ds, el, out, depth, mode, creators, decl):
        group, elem = el.tag >> 16, el.tag & 0xFFFF
        if 0x10 <= elem <= 0xFF:
            name = sval(el.value)
            known = any(g == group and c == name for g, _e, c in self.profile.safe)
            if known or (group, name) in decl:
                creators[(group, elem)] = name
                return self.element(where, ctx, el, out, "keep", mode, depth)
            return self.element(where, ctx, el, out, "remove", mode, depth)
        creator = creators.get((group, elem >> 8)) if elem >= 0x1000 else None
        if creator is None:
            return self.element(where, ctx, el, out, "remove", mode, depth)
        low = elem & 0xFF
        b = decl.get((group, creator))
        action = None
        if b:
            keep = b["safe"] or low in b["nonid"]
            action = b["action"].get(low)
        else:
            keep = (group, low, creator) in self.profile.safe
        if keep:
            if el.VR == "SQ":
                return self.element(where, ctx, el, out, "recurse", mode, depth)
            return self.element(where, ctx, el, out, "keep", mode, depth)
        act = {"D": "dummy", "Z": "empty", "U": "uid"}.get(action, "remove")
        return self.element(where, ctx, el, out, act, mode, depth)

    # -- data sets ---------------------------------------------------------

    def dataset(self, where, ctx, ds, out, depth, mode):
        decl = self.declarations(ds) if "retain-safe-private" in self.opts else {}
        creators = {}
        for el in ds:
            tag = int(el.tag)
            if (depth == 0 and tag in L.ADDED) or tag & 0xFFFF == 0:
                continue      # recorded attributes; group lengths the writer recomputes
            here = "%s(%04X,%04X)" % (where, tag >> 16, tag & 0xFFFF)
            o = out.get(el.tag) if out is not None else None
            if (tag >> 16) & 1 and "retain-safe-private" in self.opts:
                self.private(here, ctx, ds, el, o, depth, mode, creators, decl)
                continue
            act, child = self.profile.decide(tag, el.VR, self.opts, ctx["sop_class"], depth,
                                             mode, bool(ctx.get("rects")))
            self.element(here, ctx, el, o, act, child, depth)

    def instance(self, name, inp, out):
        ctx = dict(root=inp, sop_class=sval(gv(inp, "SOPClassUID")),
                   tokens=self.idents(name, inp))
        key = (sval(inp.Manufacturer).lower() if "Manufacturer" in inp else "",
               sval(inp.ManufacturerModelName).lower() if "ManufacturerModelName" in inp
               else "", int(inp.Rows) if "Rows" in inp else 0,
               int(inp.Columns) if "Columns" in inp else 0)
        ctx["rects"] = RECTS.get(key) if self.masks else None
        self.days = self.keys.shift(L.patient_key(inp))
        self.dataset(name + " ", ctx, inp, out, 0, 0)
        self.recorded(name, out)

    def recorded(self, name, out):
        P = self.problems
        if sval(gv(out, "PatientIdentityRemoved")) != "YES":
            P.add(name, "Patient Identity Removed is not YES")
        meth = values(gv(out, "DeidentificationMethod"))
        if not meth or not meth[-1].startswith("ferry deid"):
            P.add(name, "De-identification Method %r" % meth)
        codes = [sval(i.CodeValue) for i in out.get("DeidentificationMethodCodeSequence", [])]
        want = ["113100"] + sorted(L.OPTION_CODES[o] for o in self.opts)
        got = sorted(c for c in codes if c != "113101")
        if "113100" not in codes or sorted(set(got)) != sorted(set(want)):
            P.add(name, "method codes %r, wanted %r" % (codes, want))
        ltm = sval(gv(out, "LongitudinalTemporalInformationModified"))
        w = {"keep": "UNMODIFIED", "shift": "MODIFIED", "mask": "REMOVED"}[self.policy]
        if ltm != w:
            P.add(name, "Longitudinal Temporal Information Modified %r, wanted %r" % (ltm, w))


def idents_for(manifest):
    def f(name, ds):
        base = os.path.basename(name)
        if manifest and base in manifest["files"]:
            toks = manifest["files"][base]["idents"]
        else:
            toks = []
            for kw in ("PatientName", "OtherPatientNames", "ReferringPhysicianName",
                       "PerformingPhysicianName", "OperatorsName", "InstitutionName",
                       "InstitutionAddress", "StationName", "PatientID", "AccessionNumber"):
                if kw in ds:
                    for v in values(ds[kw].value):
                        toks.append(v)
                        toks += v.replace("=", "^").split("^")
        # what a raw comparison can find: ASCII of 4 or more, or 2 or more
        # non-ASCII characters
        return sorted(set(t.strip() for t in toks
                          if (t.isascii() and len(t.strip()) >= 4) or
                          (not t.isascii() and len(t.strip()) >= 2)))
    return f


def run_set(label, opts, tmp, corpus, manifest, keys, profile, groups, masks=False):
    outdir = os.path.join(tmp, "out-" + label)
    params = ["burned-in=warn"]
    if masks:
        mf = os.path.join(tmp, "masks.tsv")
        with open(mf, "w") as f:
            f.write(MASK_FILE)
        params.append("mask-file=" + mf)
    checker = Checker(keys, profile, opts, idents_for(manifest), masks)
    inputs = [[os.path.join(corpus, n) for n in sorted(manifest["files"])]] + groups
    n = 0
    for k, batch in enumerate(inputs):
        od = "%s-%d" % (outdir, k)
        run_opts = opts
        if os.environ.get("CHECK_SELFTEST_RUN_WITH") is not None:
            # the checker's own test: ferry runs with other options than
            # those checked, and the checker must notice
            run_opts = [o for o in os.environ["CHECK_SELFTEST_RUN_WITH"].split(",") if o]
        L.run_deid(batch, od, keys.path, options=run_opts, params=params)
        by_uid = {}
        for p in L.outputs(od):
            d = L.read(p)
            by_uid[str(d.SOPInstanceUID)] = d
        for path in batch:
            inp = pydicom.dcmread(path, force=True)
            want = str(inp.SOPInstanceUID).strip("\0 ")
            want = want if "retain-uids" in opts else keys.uid(want)
            out = by_uid.get(want)
            if out is None:
                continue      # not written (the run said why); not an attribute question
            checker.instance(os.path.basename(path), inp, out)
            n += 1
    return n, checker.problems.items, checker.counts


def main():
    sets = sys.argv[1:] or (["basic"] + L.OPTIONS + ["combo", "clean-graphics+masks"])
    with tempfile.TemporaryDirectory(prefix="ferry-deid-profile-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        manifest = L.make_corpus(corpus)
        secret = L.make_secret(os.path.join(tmp, "secret"))
        keys = L.Keys(secret)
        keys.path = secret
        profile = L.Profile()
        groups = L.pydicom_inputs()
        bad = []
        for s in sets:
            masks = s.endswith("+masks")
            name = s.replace("+masks", "")
            opts = ([] if name == "basic" else
                    [o for o in L.OPTIONS if o != "retain-long-full-dates"] if name == "combo"
                    else [name])
            n, problems, counts = run_set(s, opts, tmp, corpus, manifest, keys, profile,
                                          groups, masks)
            print("%-30s %3d instances, %d problems; elements by action: %s" % (
                s, n, len(problems), " ".join("%s %d" % kv for kv in sorted(counts.items()))))
            for p in problems[:40]:
                print("    " + p)
            if n < len(manifest["files"]):
                bad.append("%s: only %d instances" % (s, n))
            bad += problems
        if bad:
            L.fail("%d problems" % len(bad))
        print("OK")


if __name__ == "__main__":
    main()
