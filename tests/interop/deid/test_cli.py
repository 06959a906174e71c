#!/usr/bin/python3
"""`ferry deid` as a command: arguments, folders, what it says about inputs
it does not write, exit statuses, and the File Meta Information of every
output (PS3.15 E.1.1 item 7).
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deidlib as L  # noqa: E402
import pydicom  # noqa: E402


def ferry(*args):
    r = subprocess.run([L.FERRY, "deid"] + list(args), capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout, r.stderr


def main():
    problems = []

    def want(cond, msg):
        if not cond:
            problems.append(msg)

    with tempfile.TemporaryDirectory(prefix="ferry-deid-cli-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        manifest = L.make_corpus(corpus)
        secret = L.make_secret(os.path.join(tmp, "secret"))
        c = lambda n: os.path.join(corpus, n)  # noqa: E731

        # usage errors: status 2 and the reason
        rc, out, err = ferry()
        want(rc == 2 and "usage: ferry deid" in err, "no arguments: %d %r" % (rc, err))
        rc, out, err = ferry(c("doe_s1_ct_1.dcm"), os.path.join(tmp, "o"))
        want(rc == 2 and "ferry deid: --secret-file is required" in err,
             "no secret: %d %r" % (rc, err))
        rc, out, err = ferry("--secret-file", secret, "--param", "site", c("doe_s1_ct_1.dcm"),
                             os.path.join(tmp, "o"))
        want(rc == 2 and "ferry deid: --param 'site' is not KEY=VALUE" in err,
             "bad --param: %d %r" % (rc, err))
        rc, out, err = ferry("--secret-file", secret, "--option", "retain-names",
                             c("doe_s1_ct_1.dcm"), os.path.join(tmp, "o"))
        want(rc == 2 and 'ferry deid: option=retain-names: step 1 (deid): unknown option '
             '"retain-names"; options: retain-safe-private, ' in err,
             "unknown option: %d %r" % (rc, err))
        os.chmod(secret, 0o644)
        rc, out, err = ferry("--secret-file", secret, c("doe_s1_ct_1.dcm"),
                             os.path.join(tmp, "o"))
        want(rc == 2 and "group or others may access it (mode 0644)" in err,
             "readable secret: %d %r" % (rc, err))
        os.chmod(secret, 0o600)
        rc, out, err = ferry("--secret-file", secret, os.path.join(tmp, "nowhere"),
                             os.path.join(tmp, "o"))
        want(rc == 1 and "ferry deid: %s: No such file or directory" %
             os.path.join(tmp, "nowhere") in err, "missing input: %d %r" % (rc, err))

        # a folder tree with a non-DICOM file, a DICOMDIR and a duplicate
        tree = os.path.join(tmp, "disk", "PATIENT_ZHANG_SAN")
        os.makedirs(os.path.join(tree, "SERIES1"))
        for n in manifest["studies"]["zhang_s1"]:
            shutil.copy(c(n), os.path.join(tree, "SERIES1", n))
        shutil.copy(c("doe_s1_ct_1.dcm"), os.path.join(tree, "copy_of_doe.dcm"))
        shutil.copy(c("doe_s1_ct_1.dcm"), os.path.join(tree, "zz_same_again.dcm"))
        with open(os.path.join(tree, "notes.txt"), "w") as f:
            f.write("not DICOM\n")
        shutil.copy(os.path.join(L.PYDICOM_FILES, "dicomdirtests", "DICOMDIR"),
                    os.path.join(tmp, "disk", "DICOMDIR"))
        od = os.path.join(tmp, "disk", "deid-out")   # inside the input: skipped
        os.makedirs(od)
        rc, out, err = ferry("--secret-file", secret, os.path.join(tmp, "disk"), od)
        n_study = len(manifest["studies"]["zhang_s1"])
        want(rc == 1, "folder: status %d" % rc)
        want("%s: not read: " % os.path.join(tree, "notes.txt") in err,
             "folder: no line for notes.txt: %r" % err)
        want("%s: skipped: a DICOMDIR" % os.path.join(tmp, "disk", "DICOMDIR") in err,
             "folder: no line for the DICOMDIR: %r" % err)
        want("zz_same_again.dcm: has the SOP Instance UID of an earlier input" in err,
             "folder: no note of the duplicate: %r" % err)
        want("ferry deid: %d de-identified, 0 quarantined, 1 failed, 1 skipped" % (n_study + 2)
             in err, "folder: summary %r" % err.splitlines()[-1:])
        outs = L.outputs(od)
        want(len(outs) == n_study + 1, "folder: %d outputs" % len(outs))
        want(not any("ZHANG" in p.upper() or "PATIENT" in p.upper() for p in
                     [os.path.relpath(p, od) for p in outs]), "input names in output paths")
        # OUTDIR inside the input is not read again
        rc2, out2, err2 = ferry("--secret-file", secret, os.path.join(tmp, "disk"), od)
        want("ferry deid: %d de-identified, 0 quarantined, 1 failed, 1 skipped" % (n_study + 2)
             in err2, "OUTDIR was read as input: %r" % err2.splitlines()[-1:])

        # every output's File Meta Information is new
        for p in outs:
            with open(p, "rb") as f:
                head = f.read(132)
            d = pydicom.dcmread(p)
            want(head[:128] == b"\0" * 128 and head[128:] == b"DICM", "%s: preamble" % p)
            want(d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID,
                 "%s: (0002,0003) is not (0008,0018)" % p)
            want(d.file_meta.MediaStorageSOPClassUID == d.SOPClassUID,
                 "%s: (0002,0002)" % p)
            want("SourceApplicationEntityTitle" not in d.file_meta,
                 "%s: the sender's AE title is still there" % p)
            want(d.file_meta.ImplementationClassUID != pydicom.dcmread(
                c("doe_s1_ct_1.dcm")).file_meta.ImplementationClassUID,
                "%s: the input's Implementation Class UID" % p)
            rel = os.path.relpath(p, od).split(os.sep)
            want(rel == [d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID + ".dcm"],
                 "%s: not named by its UIDs" % p)
    for p in problems:
        print("  " + p)
    if problems:
        L.fail("%d problems" % len(problems))
    print("OK")


if __name__ == "__main__":
    main()
