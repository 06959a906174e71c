"""Send every file of the pydicom test corpus that dcmsend can send to ferryd
and to a bit-preserving storescp, one at a time, and compare what each kept.

usage: corpus.py CORPUS_DIR FERRY_PORT DATA_DIR REF_PORT REF_DIR

dcmsend runs with -dn (never decompress): it proposes each file's own
transfer syntax, so that both receivers get the same bytes whatever their
preference order. A file dcmsend cannot send (it refuses it, or aborts
half-way: no meta group, truncated) is skipped when it fails the same way towards both
receivers. A file that reaches the reference must reach ferryd and be
indexed, with the same data set bytes and transfer syntax. Prints one line
per file; exits 1 if any file failed.
"""
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_store import split_part10  # noqa: E402


def dcmsend(path, port, aec):
    r = subprocess.run(["dcmsend", "-dn", "-v", "-aet", "SENDER", "-aec", aec, "127.0.0.1",
                        str(port), path],
                       capture_output=True, text=True, env=dict(os.environ, TCP_NODELAY="1"))
    out = (r.stdout + r.stderr).strip()
    bad = [l for l in out.splitlines() if l.startswith(("E:", "F:"))]
    return r.returncode, (bad or out.splitlines()[-1:] or [""])[-1:], out


def main():
    corpus, port, data, ref_port, ref_dir = sys.argv[1:6]
    files = sorted(f for f in os.listdir(corpus) if f.endswith(".dcm"))
    db = sqlite3.connect(f"file:{data}/index.sqlite?mode=ro", uri=True)
    sent = skipped = bad = refused = 0
    for name in files:
        path = os.path.join(corpus, name)
        for f in os.listdir(ref_dir):
            os.unlink(os.path.join(ref_dir, f))
        rc_ref, why_ref, _ = dcmsend(path, ref_port, "REF")
        got = os.listdir(ref_dir)
        rc, why, out = dcmsend(path, port, "FERRY")
        if rc_ref != 0 or not got:
            if rc == 0 and rc_ref != 0:
                print(f"{name}: dcmsend failed towards the reference ({why_ref[0]}) "
                      f"but not towards ferryd")
                bad += 1
            else:
                print(f"{name}: skipped, dcmsend cannot send it ({why_ref[0]})")
                skipped += 1
            continue
        if "SOP Class UID in dataset differs from the one in the transfer list" in out:
            # DCMTK misreads this file and sends a C-STORE whose SOP class is
            # not the context's: ferryd must refuse it (0x0122); storescp
            # does not check.
            if "Refused: SOPClassNotSupported" in out:
                print(f"{name}: refused as it must be: its C-STORE names another SOP class "
                      f"than its presentation context")
                refused += 1
            else:
                print(f"FAIL {name}: a C-STORE of another SOP class than its context's was not "
                      f"refused with 0x0122")
                bad += 1
            continue
        if rc != 0:
            print(f"FAIL {name}: dcmsend to ferryd failed: {why[0]}")
            bad += 1
            continue
        ref = os.path.join(ref_dir, got[0])
        import pydicom
        uid = str(pydicom.dcmread(ref, stop_before_pixels=True, force=True).SOPInstanceUID)
        row = None
        for _ in range(50):  # the reader may see the commit a moment later
            # fetchall: a cursor left open would keep its read snapshot
            rows = db.execute("SELECT a.path, a.transfer_syntax FROM instance i JOIN arrival a"
                              " ON a.id = i.arrival WHERE i.sop_instance_uid = ?", (uid,)).fetchall()
            row = rows[0] if rows else None
            if row:
                break
            time.sleep(0.02)
        if not row:
            print(f"FAIL {name}: {uid} is not indexed")
            bad += 1
            continue
        ts_ref, body_ref = split_part10(ref)
        ts_got, body_got = split_part10(os.path.join(data, row[0]))
        if ts_ref != ts_got or body_ref != body_got or row[1] != ts_ref:
            print(f"FAIL {name}: stored {ts_got} {len(body_got)} bytes, "
                  f"the reference {ts_ref} {len(body_ref)} bytes (index: {row[1]})")
            bad += 1
            continue
        print(f"{name}: same data set ({ts_got}, {len(body_got)} bytes)")
        sent += 1
    print(f"{sent} files stored as sent, {refused} refused (0x0122), {skipped} skipped, "
          f"{bad} failed")
    return 1 if bad or sent < 40 else 0


if __name__ == "__main__":
    sys.exit(main())
