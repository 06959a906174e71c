"""What the de-identification tests share: running `ferry deid`, and an
implementation of what plugins/deid/CONFORMANCE.md promises that does not
share code with the plugin (it reads data/dicom/deid_profile.tsv itself and
computes the keyed UIDs, pseudonyms and date shifts with Python's hmac).

Run by /usr/bin/python3 (pydicom, numpy). Environment: FERRY (the ferry
binary), FERRY_PLUGIN_DIR, FERRY_SOURCE_DIR, FERRY_BUILD_DIR.
"""
import csv
import datetime
import glob
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import pydicom
    from pydicom.datadict import dictionary_VR
    from pydicom.tag import Tag
except ImportError:
    print("SKIP: this python (%s) has no pydicom; run the tests with /usr/bin/python3 and "
          "Debian's python3-pydicom" % sys.executable)
    sys.exit(77)

SRC = os.environ.get("FERRY_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("FERRY_BUILD_DIR", os.path.join(SRC, "build"))
FERRY = os.environ.get("FERRY", os.path.join(BUILD, "bin", "ferry"))
HERE = os.path.dirname(os.path.abspath(__file__))
PYDICOM_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")

OPTIONS = ["retain-safe-private", "retain-uids", "retain-device-identity",
           "retain-institution-identity", "retain-patient-characteristics",
           "retain-long-full-dates", "retain-long-modified-dates", "clean-descriptors",
           "clean-structured-content", "clean-graphics"]
COLUMN = {o: o.replace("-", "_") for o in OPTIONS}
OPTION_CODES = {"clean-graphics": "113103", "clean-structured-content": "113104",
                "clean-descriptors": "113105", "retain-long-full-dates": "113106",
                "retain-long-modified-dates": "113107",
                "retain-patient-characteristics": "113108",
                "retain-device-identity": "113109", "retain-uids": "113110",
                "retain-safe-private": "113111", "retain-institution-identity": "113112"}
DUMMY = {"AE": "ANONYMIZED", "AS": "000Y", "CS": "ANONYMIZED", "DA": "19000101", "DS": "0",
         "DT": "19000101000000", "IS": "0", "LO": "ANONYMIZED", "LT": "ANONYMIZED",
         "PN": "ANONYMIZED", "SH": "ANONYMIZED", "ST": "ANONYMIZED", "TM": "000000",
         "UC": "ANONYMIZED", "UT": "ANONYMIZED",
         "UR": "urn:uuid:00000000-0000-0000-0000-000000000000"}
TEXT_VRS = {"LO", "SH", "ST", "LT", "UT", "UC", "UR", "PN"}
BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
CODE_STRUCTURE = {0x00080100, 0x00080101, 0x00080102, 0x00080103, 0x0008010E, 0x00080119,
                  0x00080120}
ADDED = {0x00120062, 0x00120063, 0x00120064, 0x00280303, 0x00280301}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


# ---------------------------------------------------------------------------
# Running ferry


def make_secret(path, text="ferry-deid-interop-secret-0123456789-abcdefghij"):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def run_deid(inputs, outdir, secret, options=(), params=(), expect=None, extra=()):
    """Run ferry deid; returns (rc, stdout, stderr)."""
    cmd = [FERRY, "deid", "--secret-file", secret]
    for o in options:
        cmd += ["--option", o]
    for p in params:
        cmd += ["--param", p]
    cmd += list(extra) + list(inputs) + [outdir]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        if marker in r.stderr:
            fail("%s: the sanitizer reports:\n%s" % (" ".join(cmd), r.stderr[-6000:]))
    if expect is not None and r.returncode != expect:
        fail("%s exited %d (wanted %d)\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(cmd), r.returncode, expect, r.stdout[-3000:], r.stderr[-3000:]))
    return r.returncode, r.stdout, r.stderr


def outputs(outdir):
    return sorted(glob.glob(os.path.join(outdir, "**", "*.dcm"), recursive=True))


def read(path):
    return pydicom.dcmread(path, force=True)


def make_corpus(dest):
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "corpus.py"), dest], check=True,
                   capture_output=True)
    import json
    with open(os.path.join(dest, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def pydicom_inputs():
    """pydicom's own test files that are whole instances (a SOP Instance UID
    and pixel data or content), grouped so that no group holds two files
    with one SOP Instance UID (their outputs would have one name)."""
    groups = []
    for path in sorted(glob.glob(os.path.join(PYDICOM_FILES, "*.dcm"))):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            uid = str(ds.SOPInstanceUID)
            ds.SOPClassUID
        except Exception:
            continue
        for g in groups:
            if uid not in g:
                g[uid] = path
                break
        else:
            groups.append({uid: path})
    return [sorted(g.values()) for g in groups]


# ---------------------------------------------------------------------------
# The keyed functions of CONFORMANCE.md, from the secret file


class Keys:
    def __init__(self, secret_path):
        with open(secret_path, "rb") as f:
            self.key = f.read().rstrip(b" \t\r\n\v\f")

    def mac(self, label, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        return hmac.new(self.key, label.encode() + b"\0" + data, hashlib.sha256).digest()

    def uid(self, u):
        u = u.strip(" \0")
        if not u or (u.startswith("1.2.840.10008.") and len(u) <= 64):
            return u
        h = bytearray(self.mac("uid", u)[:16])
        h[6] = (h[6] & 0x0F) | 0x80
        h[8] = (h[8] & 0x3F) | 0x80
        return "2.25." + str(int.from_bytes(h, "big"))

    def pseudonym(self, key, site="DEID", width=12):
        return "%s-%s" % (site, self.mac("patient", key).hex().upper()[:width])

    def shift(self, key):
        return -(1 + int.from_bytes(self.mac("date", key)[:8], "big") % 3652)

    def token(self, value):
        return "D" + self.mac("token", value).hex().upper()[:15]


def text_of(ds, kw):
    v = ds.get(kw)
    return "" if v is None else str(v.value if hasattr(v, "value") else v).strip()


def patient_key(ds):
    pid = text_of(ds, "PatientID")
    if pid:
        issuer = text_of(ds, "IssuerOfPatientID")
        return "id:" + pid + ("\\" + issuer if issuer else "")
    name, birth = text_of(ds, "PatientName"), text_of(ds, "PatientBirthDate")
    if name or birth:
        return "name:" + name + "\\" + birth
    return "study:" + text_of(ds, "StudyInstanceUID")


def shift_da(v, days):
    v = v.strip(" \0")
    dotted = len(v) == 10 and v[4] == "." and v[7] == "."
    if not (len(v) == 8 and v.isdigit()) and not dotted:
        return None
    try:
        d = datetime.date(int(v[0:4]), int(v[5:7] if dotted else v[4:6]),
                          int(v[8:10] if dotted else v[6:8]))
        d = d + datetime.timedelta(days=days)
    except ValueError:
        return None
    return d.strftime("%Y.%m.%d" if dotted else "%Y%m%d").zfill(10 if dotted else 8)


def shift_dt(v, days):
    v = v.strip(" \0")
    m = re.match(r"^(\d+)(.*)$", v)
    if not m or len(m.group(1)) not in (4, 6, 8, 10, 12, 14):
        return None
    digits, rest = m.group(1), m.group(2)
    y = int(digits[0:4])
    mo = int(digits[4:6]) if len(digits) >= 6 else 7
    d = int(digits[6:8]) if len(digits) >= 8 else (15 if len(digits) == 6 else 2)
    try:
        nd = datetime.date(y, mo, d) + datetime.timedelta(days=days)
    except ValueError:
        return None
    date = "%04d%02d%02d" % (nd.year, nd.month, nd.day)
    keep = min(len(digits), 8)
    return date[:keep] + digits[keep:] + rest


# ---------------------------------------------------------------------------
# Table E.1-1 and the decisions of CONFORMANCE.md


def _tag(s):
    return int(s[1:5], 16) << 16 | int(s[6:10], 16)


class Profile:
    def __init__(self):
        self.rows = {}
        with open(os.path.join(SRC, "data", "dicom", "deid_profile.tsv"), encoding="utf-8") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                self.rows[r["tag"]] = r
        with open(os.path.join(SRC, "data", "dicom", "deid_profile_newer_rows.tsv"),
                  encoding="utf-8") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                if r["tag"] not in self.rows:
                    r = dict(r)
                    r["newer"] = True
                    self.rows[r["tag"]] = r
        self.types = {}
        with open(os.path.join(SRC, "plugins", "deid", "iod_types.tsv"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or line.startswith("sop_class_uid"):
                    continue
                sop, tag, _kw, typ, _mod = line.rstrip("\n").split("\t")
                self.types.setdefault(sop, {})[_tag(tag)] = typ
        self.safe = set()
        with open(os.path.join(SRC, "plugins", "deid", "safe_private.tsv"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or line.startswith("group"):
                    continue
                g, e, creator, _vr, _m = line.rstrip("\n").split("\t")
                self.safe.add((int(g, 16), int(e, 16), creator))

    def rule(self, tag):
        s = "(%04X,%04X)" % (tag >> 16, tag & 0xFFFF)
        if s in self.rows:
            return self.rows[s]
        if tag & 0xFF01FFFF == 0x60003000:
            return self.rows.get("(60xx,3000)")
        if tag & 0xFF01FFFF == 0x60004000:
            return self.rows.get("(60xx,4000)")
        if tag & 0xFF010000 == 0x50000000:
            return self.rows.get("(50xx,xxxx)")
        return None

    @staticmethod
    def protection(c):
        return {"X": 6, "Z": 5, "D": 4, "C": 3, "U": 2, "K": 1}.get(c, 0)

    def code(self, r, vr, opts):
        """The code of a listed row under the options (CONFORMANCE.md,
        "Options")."""
        date_code = None
        for o in ("retain-long-full-dates", "retain-long-modified-dates"):
            if o in opts:
                c = r.get(COLUMN[o], "") or ""
                if not c and r.get("newer") and vr in ("DA", "DT", "TM"):
                    c = "K" if o == "retain-long-full-dates" else "C"
                if c:
                    date_code = c
        other = ""
        for o in opts:
            if o in ("retain-long-full-dates", "retain-long-modified-dates"):
                continue
            c = r.get(COLUMN[o], "") or ""
            if c and self.protection(c) > self.protection(other):
                other = c
        if date_code and (vr in ("DA", "DT", "TM") or not other):
            return date_code
        return other or r["basic_profile_action"]

    def type_of(self, sop, tag, depth):
        if depth > 0 or sop not in self.types:
            return None
        return self.types[sop].get(tag, "3")

    @staticmethod
    def resolve(code, typ):
        t1 = typ in ("1", "1C")
        t2 = typ in ("2", "2C")
        t3 = typ == "3"
        if code == "Z/D":
            return "Z" if t2 or t3 else "D"
        if code == "X/Z":
            return "X" if t3 else "Z"
        if code == "X/D":
            return "X" if t3 else "D"
        if code == "X/Z/D":
            return "X" if t3 else "Z" if t2 else "D"
        if code in ("X/Z/U*", "X/Z/U"):
            return "X" if t3 else "Z" if t2 else "U"
        del t1
        return code

    def decide(self, tag, vr, opts, sop, depth, mode, masks):
        """(action, child mode) as CONFORMANCE.md describes."""
        group = tag >> 16
        r = self.rule(tag)
        if r and vr == "UN" and dictionary_vr(tag):
            vr = dictionary_vr(tag)
        if group & 1:
            return ("private" if "retain-safe-private" in opts else "remove"), mode
        if tag == 0x00100020 or (tag == 0x00100010 and depth == 0):
            return "pseudonym", mode
        overlay = group & 0xFF01 == 0x6000
        graphics = "clean-graphics" in opts
        if overlay and not (graphics and masks):
            return "remove", mode
        if overlay and not r:
            return ("scrub" if vr in TEXT_VRS else "keep"), mode
        if not r:
            return self.unlisted(tag, vr, opts, mode)
        code = self.code(r, vr, opts)
        code = self.resolve(code, self.type_of(sop, tag, depth))
        if tag & 0xFF010000 == 0x50000000 and code == "C":
            return ("scrub" if vr in TEXT_VRS else "keep"), mode
        sq = vr == "SQ"
        if code == "X":
            return "remove", mode
        if code == "Z":
            return "empty", mode
        if code == "D":
            if sq:
                return "recurse", 2
            return ("uid" if vr == "UI" else "dummy"), mode
        if code == "K":
            return ("recurse" if sq else "keep"), mode
        if code == "U":
            return ("recurse" if sq else "uid"), mode
        if code == "C":
            if sq:
                return "recurse", max(mode, 1)
            if tag & 0xFF01FFFF == 0x60003000:
                return ("mask-overlay" if masks else "remove"), mode
            if vr in ("DA", "DT", "TM"):
                return "shift", mode
            if vr == "AE":
                return "token", mode
            if vr == "UI":
                return "uid", mode
            if vr in TEXT_VRS or vr == "CS":
                return "scrub", mode
            if vr in BINARY_VRS:
                return "remove", mode
            return "keep", mode
        raise AssertionError("code %r" % code)

    @staticmethod
    def unlisted(tag, vr, opts, mode):
        if vr == "SQ":
            return "recurse", mode
        if vr in ("DA", "DT", "TM"):
            if "retain-long-full-dates" in opts:
                return "keep", mode
            if "retain-long-modified-dates" in opts:
                return "shift", mode
            return "remove", mode
        if vr == "PN":
            return ("dummy" if mode == 2 else "empty"), mode
        if vr in TEXT_VRS or vr == "AE":
            if mode == 2:
                return "dummy", mode
            if mode == 1 and tag not in CODE_STRUCTURE:
                return ("token" if vr == "AE" else "scrub"), mode
            if vr != "AE" and tag not in CODE_STRUCTURE:
                return "scrub-idents", mode
        return "keep", mode


def dictionary_vr(tag):
    try:
        vr = dictionary_VR(Tag(tag))
    except KeyError:
        return None
    return vr if len(vr) == 2 else None
