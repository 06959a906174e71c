#!/usr/bin/python3
"""check_pixels.py ORIG_DIR RECV_DIR SYNTAX N: RECV_DIR holds exactly N
instances, each in transfer syntax SYNTAX (a UID), each with the SOP
Instance UID of an instance in ORIG_DIR, and the pixels of each, decoded by
tools that are not ferry's (tests/interop/transcode/refdecode.py: DCMTK
dcmdjpls/dcmdjpeg/dcmdrle, OpenJPEG, OpenJPH, or read natively), equal the
original's bit for bit."""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "transcode"))
try:
    import numpy as np
    import pydicom
    import refdecode
except ImportError as e:
    print("SKIP: %s (run with /usr/bin/python3 and Debian's python3-pydicom)" % e)
    sys.exit(77)


def files(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.join(root, n) for n in names if not n.endswith(".log")]
    return sorted(out)


def main():
    orig_dir, recv_dir, ts, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    originals = {}
    for p in files(orig_dir):
        ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
        originals[str(ds.SOPInstanceUID)] = p
    got = files(recv_dir)
    if len(got) != n:
        print("FAIL: %s holds %d files, expected %d" % (recv_dir, len(got), n))
        return 1
    bad = 0
    with tempfile.TemporaryDirectory(prefix="ferry-pipe-check-") as tmp:
        for p in got:
            ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
            have = str(ds.file_meta.TransferSyntaxUID)
            uid = str(ds.SOPInstanceUID)
            if have != ts:
                print("FAIL: %s is in %s, expected %s" % (p, have, ts))
                bad += 1
                continue
            if uid not in originals:
                print("FAIL: %s: SOP Instance UID %s is none of the originals" % (p, uid))
                bad += 1
                continue
            _, want = refdecode.decode(originals[uid], tmp)
            _, frames = refdecode.decode(p, tmp)
            if len(frames) != len(want):
                print("FAIL: %s: %d frames, expected %d" % (p, len(frames), len(want)))
                bad += 1
                continue
            for k, (a, b) in enumerate(zip(frames, want)):
                if a.shape != b.shape or not np.array_equal(a, b):
                    print("FAIL: %s: frame %d differs from the original's" % (p, k))
                    bad += 1
    if bad:
        return 1
    print("OK: %d instances in %s, pixels bit-exact (independent decoder)" % (n, ts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
