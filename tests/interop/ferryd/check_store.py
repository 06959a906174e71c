"""Check what ferryd stored against what was sent.

usage: check_store.py VERIFY_OUT DATA_DIR [--ref REF_DIR] [--uids FILE]
                      [--count N] [--calling AE]

VERIFY_OUT is spool_verify's output (every indexed instance's file has the
recorded size and checksum). With --uids, each SOP Instance UID listed in
FILE must be indexed. With --ref, for every instance of REF_DIR (what a DCMTK
storescp +B received from the same sender, byte for byte) ferryd's file must
hold the same data set bytes after the meta group, name the same transfer
syntax, and be indexed with the attributes the data set has. --count: the
number of indexed instances. --calling: the calling AE title recorded.
"""
import argparse
import os
import struct
import sys
import warnings

warnings.filterwarnings("ignore")
import pydicom  # noqa: E402


def split_part10(path):
    """(transfer syntax UID, data set bytes) of a Part 10 file."""
    with open(path, "rb") as f:
        b = f.read()
    if b[128:132] != b"DICM":
        raise ValueError(f"{path}: no DICM prefix")
    pos = 132
    ts = None
    end = None
    while pos + 8 <= len(b):
        group, elem = struct.unpack_from("<HH", b, pos)
        if group != 2:
            break
        vr = b[pos + 4:pos + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            length = struct.unpack_from("<I", b, pos + 8)[0]
            value = pos + 12
        else:
            length = struct.unpack_from("<H", b, pos + 6)[0]
            value = pos + 8
        if elem == 0x0000:
            end = value + 4 + struct.unpack_from("<I", b, value)[0]
        if elem == 0x0010:
            ts = b[value:value + length].rstrip(b"\0 ").decode()
        pos = value + length
    if end is None:
        end = pos
    return ts, b[end:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("verify_out")
    ap.add_argument("data_dir")
    ap.add_argument("--ref")
    ap.add_argument("--uids")
    ap.add_argument("--count", type=int)
    ap.add_argument("--calling")
    a = ap.parse_args()

    rows = {}
    for line in open(a.verify_out, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 12:
            continue
        if f[0] != "ok":
            print(f"BAD in the index: {line.strip()}")
            return 1
        rows[f[1]] = dict(path=f[2], ts=f[3], calling=f[4], patient_id=f[5], name=f[6],
                          study=f[7], series=f[8], modality=f[9], number=f[10])
    problems = []
    if a.count is not None and len(rows) != a.count:
        problems.append(f"{len(rows)} instances indexed, expected {a.count}")
    if a.uids:
        for uid in open(a.uids).read().split():
            if uid not in rows:
                problems.append(f"{uid} was acknowledged but is not indexed")
    if a.calling:
        for uid, r in rows.items():
            if r["calling"] != a.calling:
                problems.append(f"{uid}: calling AE {r['calling']!r}, expected {a.calling!r}")
    compared = 0
    if a.ref:
        for name in sorted(os.listdir(a.ref)):
            ref = os.path.join(a.ref, name)
            ds = pydicom.dcmread(ref, stop_before_pixels=True, force=True)
            uid = str(ds.SOPInstanceUID)
            r = rows.get(uid)
            if r is None:
                problems.append(f"{uid} ({name}) reached the reference but is not indexed")
                continue
            ts_ref, body_ref = split_part10(ref)
            ts_got, body_got = split_part10(os.path.join(a.data_dir, r["path"]))
            if ts_ref != ts_got:
                problems.append(f"{uid}: transfer syntax {ts_got}, the reference got {ts_ref}")
            if body_ref != body_got:
                n = next((i for i in range(min(len(body_ref), len(body_got)))
                          if body_ref[i] != body_got[i]), min(len(body_ref), len(body_got)))
                problems.append(f"{uid}: data set differs from the reference at byte {n} "
                                f"({len(body_got)} vs {len(body_ref)} bytes)")
            if r["ts"] != ts_ref:
                problems.append(f"{uid}: index says transfer syntax {r['ts']}, sent {ts_ref}")
            for key, kw in (("patient_id", "PatientID"), ("study", "StudyInstanceUID"),
                            ("series", "SeriesInstanceUID"), ("modality", "Modality")):
                want = str(ds.get(kw, "") or "").strip()
                if r[key] != want:
                    problems.append(f"{uid}: index {key} {r[key]!r}, data set {want!r}")
            if "InstanceNumber" in ds and ds.InstanceNumber is not None and r["number"] != "":
                if int(r["number"]) != int(ds.InstanceNumber):
                    problems.append(f"{uid}: index instance number {r['number']}, "
                                    f"data set {ds.InstanceNumber}")
            compared += 1
    for p in problems[:20]:
        print(p)
    if len(problems) > 20:
        print(f"... and {len(problems) - 20} more")
    print(f"indexed {len(rows)}, compared with the reference {compared}, "
          f"problems {len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
