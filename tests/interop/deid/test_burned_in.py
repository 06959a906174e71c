#!/usr/bin/python3
"""The burned-in annotation policy of the deid step, through `ferry deid`.

- reject (the default): US and SC instances without Burned In Annotation and
  a CT with YES are quarantined with their reason; the exit status is 1 and
  the other inputs are written.
- warn: passed, with a warning each.
- mask: the rectangles of the mask file are black in the decoded pixels of
  the outputs, everything else is as it was (lossless), the output is in the
  syntax of its input (Explicit VR LE, RLE, JPEG-LS lossless: decoded,
  masked and re-encoded by the codec plugins), Burned In Annotation is NO
  and code 113101 is recorded. A device without rectangles is quarantined.
"""
import os
import shutil
import subprocess
import sys
import tempfile


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deidlib as L  # noqa: E402
import numpy as np  # noqa: E402
import pydicom  # noqa: E402

MASKS = ("# manufacturer\tmodel\tROWSxCOLUMNS\trectangles\n"
         "Acme Medical\tCT-1\t32x32\t0,0,32,3; 20,20,8,6\n"
         "Mindray\t*\t48x64\t0,0,64,6 40,40,24,8\n"
         "ferry test\tscreen\t32x32\t2,2,10,10\n")
RECTS = {"Acme Medical": [(0, 0, 32, 3), (20, 20, 8, 6)],
         "Mindray": [(0, 0, 64, 6), (40, 40, 24, 8)],
         "FERRY TEST": [(2, 2, 10, 10)]}
JPEGLS = "1.2.840.10008.1.2.4.80"
RLE = "1.2.840.10008.1.2.5"


def pixels(path, tmp):
    """Decoded pixels of a file (JPEG-LS through DCMTK's dcmdjpls)."""
    ds = pydicom.dcmread(path)
    if str(ds.file_meta.TransferSyntaxUID) == JPEGLS:
        plain = os.path.join(tmp, "plain-" + os.path.basename(path))
        subprocess.run(["dcmdjpls", path, plain], check=True, capture_output=True)
        ds = pydicom.dcmread(plain)
    return ds.pixel_array


def main():
    for tool in ("dcmcjpls", "dcmdjpls", "dcmcrle"):
        if not shutil.which(tool):
            L.skip("%s (DCMTK) is not installed" % tool)
    problems = []
    with tempfile.TemporaryDirectory(prefix="ferry-deid-burned-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        manifest = L.make_corpus(corpus)
        secret = L.make_secret(os.path.join(tmp, "secret"))
        keys = L.Keys(secret)
        c = lambda n: os.path.join(corpus, n)  # noqa: E731
        # compressed inputs, made by DCMTK
        jpls, rle = os.path.join(tmp, "ct_jpegls.dcm"), os.path.join(tmp, "us_rle.dcm")
        subprocess.run(["dcmcjpls", c("doe_burned_2_for_jpls.dcm"), jpls], check=True)
        subprocess.run(["dcmcrle", c("wang_us_2_for_rle.dcm"), rle], check=True)
        burned = [c("doe_burned_1.dcm"), c("wang_us_1.dcm"), c("wang_sc_1.dcm"), jpls, rle]
        plain = [c("doe_s1_ct_1.dcm"), c("li_s1_mr_1.dcm")]

        # reject
        rc, out, err = L.run_deid(burned + plain, os.path.join(tmp, "reject"), secret, expect=1)
        want = {
            "doe_burned_1.dcm": "Burned In Annotation (0028,0301) is YES (burned-in: reject)",
            "ct_jpegls.dcm": "Burned In Annotation (0028,0301) is YES (burned-in: reject)",
            "wang_us_1.dcm": "no Burned In Annotation (0028,0301) on a US instance, which "
                             "usually carries burned-in text (burned-in: reject)",
            "wang_sc_1.dcm": "no Burned In Annotation (0028,0301) on a OT instance, which "
                             "usually carries burned-in text (burned-in: reject)",
        }
        for f, reason in want.items():
            path = next(p for p in burned if p.endswith(f))
            line = "ferry deid: %s: quarantined: step 1 (deid): burned-in annotation: %s" % (
                path, reason)
            if line not in err.splitlines():
                problems.append("reject: no line %r" % line)
        if "2 de-identified, 5 quarantined, 0 failed" not in err:
            problems.append("reject: summary: %s" % err.splitlines()[-1:])
        if len(L.outputs(os.path.join(tmp, "reject"))) != 2:
            problems.append("reject: %d outputs, wanted 2" % len(L.outputs(
                os.path.join(tmp, "reject"))))

        # warn
        rc, out, err = L.run_deid(burned, os.path.join(tmp, "warn"), secret,
                                  params=["burned-in=warn"], expect=0)
        if err.count("deid: passed with burned-in annotation: ") != 5:
            problems.append("warn: %d warnings, wanted 5:\n%s" % (
                err.count("passed with burned-in"), err))
        for p in L.outputs(os.path.join(tmp, "warn")):
            d = L.read(p)
            if "113101" in [i.CodeValue for i in d.DeidentificationMethodCodeSequence]:
                problems.append("warn: %s claims Clean Pixel Data" % p)

        # mask
        mf = os.path.join(tmp, "masks.tsv")
        with open(mf, "w") as f:
            f.write(MASKS)
        md = os.path.join(tmp, "mask")
        rc, out, err = L.run_deid(burned, md, secret,
                                  params=["burned-in=mask", "mask-file=" + mf], expect=0)
        outs = {str(L.read(p).SOPInstanceUID): p for p in L.outputs(md)}
        for src in burned:
            ind = pydicom.dcmread(src)
            o = outs.get(keys.uid(str(ind.SOPInstanceUID)))
            name = os.path.basename(src)
            if not o:
                problems.append("mask: no output for %s" % name)
                continue
            od = L.read(o)
            ts_in, ts_out = str(ind.file_meta.TransferSyntaxUID), str(od.file_meta.TransferSyntaxUID)
            if ts_in != ts_out:
                problems.append("mask: %s went from %s to %s" % (name, ts_in, ts_out))
            if od.get("BurnedInAnnotation") != "NO":
                problems.append("mask: %s: Burned In Annotation %r" % (
                    name, od.get("BurnedInAnnotation")))
            if "113101" not in [i.CodeValue for i in od.DeidentificationMethodCodeSequence]:
                problems.append("mask: %s: no code 113101" % name)
            if od.get("LossyImageCompression") == "01":
                problems.append("mask: %s: became lossy" % name)
            a, b = pixels(src, tmp).copy(), pixels(o, tmp)
            if a.shape != b.shape:
                problems.append("mask: %s: shape %s became %s" % (name, a.shape, b.shape))
                continue
            inside = np.zeros(a.shape[:2], bool)
            for x, y, w, h in RECTS[str(ind.Manufacturer)]:
                inside[y:y + h, x:x + w] = True
            if b[inside].any():
                problems.append("mask: %s: %d pixels inside the rectangles are not black" % (
                    name, int(np.count_nonzero(b[inside]))))
            if not a[inside].any():
                problems.append("mask: %s: the input was black there already" % name)
            if not (a[~inside] == b[~inside]).all():
                problems.append("mask: %s: pixels outside the rectangles changed" % name)
            print("masked %-26s %s -> %s, %d pixels blacked out" % (
                name, ts_in, ts_out, int(inside.sum())))

        # a device the mask file does not know
        other = os.path.join(tmp, "other-masks.tsv")
        with open(other, "w") as f:
            f.write("Mindray\tDC-70\t480x640\t0,0,640,40\n")
        rc, out, err = L.run_deid([c("wang_us_1.dcm")], os.path.join(tmp, "nomask"), secret,
                                  params=["burned-in=mask", "mask-file=" + other], expect=1)
        want = ("quarantined: step 1 (deid): burned-in annotation: no Burned In Annotation "
                "(0028,0301) on a US instance, which usually carries burned-in text, and the "
                "mask file has no rectangles for \"Mindray\" \"DC-70\" 48x64")
        if want not in err:
            problems.append("unknown device: %r not in %r" % (want, err))

        # a mask file error is a usage error naming the place
        bad = os.path.join(tmp, "bad-masks.tsv")
        with open(bad, "w") as f:
            f.write("Mindray\t*\t48x64\t0,0,65,6\n")
        rc, out, err = L.run_deid([c("wang_us_1.dcm")], os.path.join(tmp, "bad"), secret,
                                  params=["burned-in=mask", "mask-file=" + bad], expect=2)
        want = ("ferry deid: mask-file=%s: step 1 (deid): mask-file %s:1:17: rectangle "
                "0,0,65,6 reaches past the 48x64 image" % (bad, bad))
        if want not in err.splitlines():
            problems.append("bad mask file: %r not in %r" % (want, err))
    for p in problems:
        print("  " + p)
    if problems:
        L.fail("%d problems" % len(problems))
    print("OK")


if __name__ == "__main__":
    main()
