"""After a crash: what the senders were told against what the index holds.

usage: crash_check.py VERIFY_OUT DATA_DIR (LIST SEND_LOG)...

LIST is the files one storescu sent, in order; SEND_LOG its -v output, where
the n-th "Received Store Response (Success)" acknowledges the n-th file
(storescu sends one at a time). Checks:
  - every acknowledged instance is indexed (spool_verify already checked its
    file's size and checksum);
  - what is indexed was acknowledged, except at most the one instance per
    sender whose response was on its way when ferryd died;
  - every file in the spool's hour folders is referenced by the index.
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import pydicom  # noqa: E402


def main():
    verify_out, data = sys.argv[1], sys.argv[2]
    pairs = sys.argv[3:]
    indexed = {}
    for line in open(verify_out, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 3 and f[0] in ("ok", "BAD"):
            if f[0] != "ok":
                print(f"BAD: {line.strip()}")
                return 1
            indexed[f[1]] = f[2]
    problems = []
    acked_all, allowed = set(), set()
    for k in range(0, len(pairs), 2):
        files = open(pairs[k]).read().split()
        log = open(pairs[k + 1], errors="replace").read()
        n = log.count("Received Store Response (Success)")
        uids = [str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files]
        acked = uids[:n]
        acked_all.update(acked)
        allowed.update(uids[:n + 1])
        for u in acked:
            if u not in indexed:
                problems.append(f"{u} was acknowledged (sender {k // 2}) but is not indexed")
        print(f"sender {k // 2}: {n} acknowledged, "
              f"{sum(u in indexed for u in uids)} of its instances indexed")
    for u in indexed:
        if u not in allowed:
            problems.append(f"{u} is indexed but was never acknowledged")
    referenced = {os.path.normpath(os.path.join(data, p)) for p in indexed.values()}
    spool = os.path.join(data, "spool")
    for root, dirs, names in os.walk(spool):
        if os.path.basename(root) == "incoming":
            continue
        for name in names:
            p = os.path.normpath(os.path.join(root, name))
            if name.endswith(".dcm") and p not in referenced:
                problems.append(f"{p} is in the spool but not in the index")
    extra = len(set(indexed) - acked_all)
    print(f"acknowledged {len(acked_all)}, indexed {len(indexed)} "
          f"({extra} indexed whose response was in flight)")
    for p in problems[:20]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
