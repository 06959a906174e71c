#!/usr/bin/python3
"""dciodvfy (dicom3tools) reports no new errors on the outputs compared with
their inputs, for the basic profile and for every option at once.

Errors are compared by their text with the values taken out ("= <...>"),
since de-identification changes values by design; an error that a changed
value brings (a dummy invalid for its VR, an emptied Type 1 attribute)
stays visible because its text names the attribute and the reason.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deidlib as L  # noqa: E402
import pydicom  # noqa: E402

HTJ2K = ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203")


def errors(path):
    r = subprocess.run(["dciodvfy", path], capture_output=True, timeout=120)
    out = set()
    for line in r.stderr.decode("latin-1").splitlines() + r.stdout.decode("latin-1").splitlines():
        if not line.startswith("Error"):
            continue
        line = re.sub(r"= <[^>]*>", "= <>", line)
        line = re.sub(r"\[\d+\]", "[]", line)
        line = re.sub(r"\b\d+(\.\d+)*\b", "<number>", line)
        line = re.sub(r"'.' \(0x[0-9a-f]+\)", "'' ()", line)
        out.add(line)
    return out


def main():
    if not shutil.which("dciodvfy"):
        L.skip("dciodvfy (Debian dicom3tools) is not installed")
    with tempfile.TemporaryDirectory(prefix="ferry-deid-dciodvfy-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        manifest = L.make_corpus(corpus)
        secret = L.make_secret(os.path.join(tmp, "secret"))
        keys = L.Keys(secret)
        batches = [[os.path.join(corpus, n) for n in sorted(manifest["files"])]]
        batches += L.pydicom_inputs()
        new, checked, notes = [], 0, []
        for label, opts in (("basic", []),
                            ("all options", [o for o in L.OPTIONS
                                             if o != "retain-long-full-dates"])):
            for k, batch in enumerate(batches):
                od = os.path.join(tmp, "%s-%d" % (label.replace(" ", "-"), k))
                L.run_deid(batch, od, secret, options=opts, params=["burned-in=warn"])
                by_uid = {}
                for p in L.outputs(od):
                    by_uid[str(L.read(p).SOPInstanceUID)] = p
                for path in batch:
                    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                    uid = str(ds.SOPInstanceUID).strip("\0 ")
                    out = by_uid.get(uid if "retain-uids" in opts else keys.uid(uid))
                    if not out:
                        continue
                    ts = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "")
                             if hasattr(ds, "file_meta") else "")
                    if ts in HTJ2K:
                        notes.append("%s: HTJ2K, which this dciodvfy misreads; not compared"
                                     % os.path.basename(path))
                        continue
                    before, after = errors(path), errors(out)
                    checked += 1
                    for e in sorted(after - before):
                        new.append("%s (%s): %s" % (os.path.basename(path), label, e))
        print("%d outputs compared with their inputs" % checked)
        for n in notes:
            print("  note: " + n)
        for n in new[:60]:
            print("  NEW " + n)
        if new:
            L.fail("%d new errors" % len(new))
        if checked < 2 * len(manifest["files"]):
            L.fail("only %d outputs compared" % checked)
        print("OK: no new errors")


if __name__ == "__main__":
    main()
