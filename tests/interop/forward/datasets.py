#!/usr/bin/python3
"""Comparisons for the forward interop tests.

  datasets.py same SRC DST [N]    every file in DST holds, after its meta
                                  group, exactly the data set bytes of a file
                                  in SRC; DST holds every SRC data set; with N,
                                  DST has N files
  datasets.py pixels SRC DST      for each file in DST (decompressed), the
                                  instance of the same SOP Instance UID in SRC
                                  has the same Pixel Data and the same other
                                  attributes (pydicom)
  datasets.py syntax DIR UID      every file in DIR is in transfer syntax UID
"""
import os
import struct
import sys


def files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if os.path.isfile(os.path.join(d, f)) and not f.endswith('.log'))


def dataset(path):
    with open(path, 'rb') as f:
        b = f.read()
    if b[128:132] != b'DICM':
        return b, None
    p = 132
    ts = None
    while p + 8 <= len(b) and struct.unpack_from('<H', b, p)[0] == 0x0002:
        elem = struct.unpack_from('<H', b, p + 2)[0]
        vr = b[p + 4:p + 6]
        if vr in (b'OB', b'OW', b'OF', b'SQ', b'UT', b'UN'):
            n = struct.unpack_from('<I', b, p + 8)[0]
            v = b[p + 12:p + 12 + n]
            p += 12 + n
        else:
            n = struct.unpack_from('<H', b, p + 6)[0]
            v = b[p + 8:p + 8 + n]
            p += 8 + n
        if elem == 0x0010:
            ts = v.rstrip(b'\0 ').decode()
    return b[p:], ts


def same(src, dst, n=None):
    want = {}
    for f in files(src):
        want[dataset(f)[0]] = f
    got = files(dst)
    bad = 0
    seen = set()
    for f in got:
        ds = dataset(f)[0]
        if ds not in want:
            print(f'{f}: its data set is not byte-identical to any sent', file=sys.stderr)
            bad += 1
        seen.add(ds)
    missing = [want[k] for k in want if k not in seen]
    for f in missing[:10]:
        print(f'{f}: never arrived in {dst}', file=sys.stderr)
    if n is not None and len(got) != n:
        print(f'{dst}: {len(got)} files, expected {n}', file=sys.stderr)
        bad += 1
    return 1 if bad or missing else 0


def pixels(src, dst):
    import pydicom
    orig = {}
    for f in files(src):
        d = pydicom.dcmread(f)
        orig[d.SOPInstanceUID] = d
    bad = 0
    for f in files(dst):
        d = pydicom.dcmread(f)
        o = orig.get(d.SOPInstanceUID)
        if o is None:
            print(f'{f}: SOP Instance UID {d.SOPInstanceUID} was not sent', file=sys.stderr)
            bad += 1
            continue
        if d.PixelData != o.PixelData:
            print(f'{f}: pixels differ from the original', file=sys.stderr)
            bad += 1
        for kw in ('PatientName', 'PatientID', 'StudyInstanceUID', 'Rows', 'Columns',
                   'BitsStored'):
            if d.get(kw) != o.get(kw):
                print(f'{f}: {kw} {d.get(kw)!r} != {o.get(kw)!r}', file=sys.stderr)
                bad += 1
    return 1 if bad else 0


def syntax(d, uid):
    bad = 0
    for f in files(d):
        ts = dataset(f)[1]
        if ts != uid:
            print(f'{f}: transfer syntax {ts}, expected {uid}', file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def main():
    a = sys.argv[1:]
    if a and a[0] == 'same' and len(a) in (3, 4):
        return same(a[1], a[2], int(a[3]) if len(a) == 4 else None)
    if a and a[0] == 'pixels' and len(a) == 3:
        return pixels(a[1], a[2])
    if a and a[0] == 'syntax' and len(a) == 3:
        return syntax(a[1], a[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
