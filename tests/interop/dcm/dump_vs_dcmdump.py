#!/usr/bin/env python3
"""Compare `ferry dump` with DCMTK's `dcmdump` on every file of the pydicom
test corpus (python3-pydicom's test_files).

For each file, both tools run; each output is reduced to its element lines
(nesting depth, tag, VR, length). A file passes when
  - both read it and the lines are the same, or
  - both refuse it (non-zero exit), ferry with an error that names a byte
    offset.
Anything else fails the test, with the differences printed, except the files
listed in BETTER_THAN_DCMDUMP: ferry reads them where dcmdump gives up, and
for those ferry's elements are checked against pydicom's instead.

dcmdump runs with DCMDICTPATH set to DCMTK's public dictionary only, so that
private tags get the same VR (UN) from both tools in implicit VR files.

Usage: dump_vs_dcmdump.py FERRY_BINARY [CORPUS_DIR]
Exit: 0 all passed, 1 some failed, 77 skipped (no dcmdump or no corpus).
"""
import os
import re
import subprocess
import sys

LINE = re.compile(r"^( *)\(([0-9a-fA-F]{4}),([0-9a-fA-F]{4})\) (\S\S) .*# *(u/l|\d+),")
OFFSET = re.compile(r"offset \d+")
DICT = "/usr/share/libdcmtk17/dicom.dic"


# DCMTK's names for VRs that are ours by another name: "up" is UL (DICOMDIR
# offsets), "??" a VR it does not know (UN for us).
VR_ALIAS = {"up": "UL", "??": "UN"}


# Files dcmdump refuses that ferry reads, and why. For these the element tags
# ferry finds must be the ones pydicom (an independent reader) finds.
BETTER_THAN_DCMDUMP = {
    "SC_rgb_jpeg.dcm": "the meta group says JPEG Baseline (explicit VR) but the data set is "
                       "Implicit VR LE; ferry and pydicom look at the first element and read "
                       "it as what it is, dcmdump trusts the meta group and fails",
}

PYDICOM_TAGS = r"""
import sys, pydicom
def walk(ds, depth):
    for el in ds:
        print("%d %08x" % (depth, el.tag))
        if el.VR == "SQ":
            for it in el.value:
                walk(it, depth + 1)
walk(pydicom.dcmread(sys.argv[1], force=True), 0)
"""


def pydicom_tags(path):
    p = subprocess.run(["/usr/bin/python3", "-c", PYDICOM_TAGS, path], capture_output=True,
                       text=True, timeout=120)
    if p.returncode:
        return None
    return [tuple(l.split()) for l in p.stdout.split("\n") if l]


def ferry_tags(elems):
    """(depth of the data set, tag) for elements, items and delimiters left out."""
    out = []
    for depth, tag, vr, length in elems:
        if tag.startswith("fffe,") or tag.startswith("0002,"):
            continue
        out.append((str(depth // 2), tag.replace(",", "")))
    return out


def elements(text, dcmtk):
    out = []
    # dcmdump prints text values with their line breaks: join continuations.
    lines = []
    for line in text.split("\n"):
        if lines and not re.match(r"^ *(\(|# |$)", line):
            lines[-1] += " " + line
        else:
            lines.append(line)
    for line in lines:
        m = LINE.match(line)
        if m:
            vr = VR_ALIAS.get(m.group(4), m.group(4))
            length = m.group(5)
            # DCMTK pads odd-length OB and UN values to even when it reads
            # them; ferry keeps the bytes as they are.
            if vr in ("OB", "UN") and length != "u/l" and int(length) % 2 and not dcmtk:
                length = str(int(length) + 1)
            out.append((len(m.group(1)) // 2, m.group(2).lower() + "," + m.group(3).lower(),
                        vr, length))
    return out


def find_corpus():
    try:
        files = subprocess.run(["dpkg", "-L", "python3-pydicom"], capture_output=True,
                               text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    for f in files:
        if f.endswith("/test_files") and os.path.isdir(f):
            return f
    return None


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ferry = sys.argv[1]
    corpus = sys.argv[2] if len(sys.argv) > 2 else find_corpus()
    if not corpus:
        print("SKIP: python3-pydicom's test files are not installed")
        return 77
    if subprocess.run(["sh", "-c", "command -v dcmdump"], capture_output=True).returncode:
        print("SKIP: dcmdump (dcmtk) is not installed")
        return 77
    env = dict(os.environ, DCMDICTPATH=DICT)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs)
    stats = {"same": [], "both refuse": [], "ferry better": [], "FAIL": []}
    for path in files:
        rel = os.path.relpath(path, corpus)
        drc, dout, derr = run(["dcmdump", path], env)
        frc, fout, ferr = run([ferry, "dump", path])
        if drc != 0 and frc != 0:
            if OFFSET.search(ferr):
                stats["both refuse"].append((rel, ferr.strip().splitlines()[-1]))
            else:
                stats["FAIL"].append((rel, "ferry's error names no offset: " + ferr.strip()))
            continue
        if drc != 0:
            why = BETTER_THAN_DCMDUMP.get(rel)
            if why and frc == 0:
                want = pydicom_tags(path)
                got = ferry_tags(elements(fout, False))
                if want == got:
                    stats["ferry better"].append((rel, why + "; ferry's %d elements are "
                                                  "pydicom's" % len(got)))
                else:
                    stats["FAIL"].append((rel, "ferry and pydicom disagree: %s vs %s"
                                          % (got[:5], (want or [])[:5])))
                continue
            stats["FAIL"].append((rel, "dcmdump refuses it, ferry reads it:\n  " +
                                  derr.strip().replace("\n", "\n  ")))
            continue
        if frc != 0:
            stats["FAIL"].append((rel, "ferry refuses it, dcmdump reads it: " + ferr.strip()))
            continue
        a, b = elements(dout, True), elements(fout, False)
        if a == b:
            stats["same"].append((rel, "%d elements" % len(a)))
            continue
        diff = []
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                diff.append("  line %d: dcmdump %s, ferry %s" % (i, x, y))
            if len(diff) >= 5:
                break
        stats["FAIL"].append((rel, "different elements (%d vs %d):\n%s" %
                              (len(a), len(b), "\n".join(diff))))
    for kind in ("same", "both refuse", "ferry better", "FAIL"):
        for rel, why in stats[kind]:
            if kind != "same" or os.environ.get("VERBOSE"):
                print("%-12s %s: %s" % (kind, rel, why))
    print("%d files: %d dumped with the same elements, %d refused by both, %d read by ferry "
          "(and pydicom) where dcmdump gives up, %d failed"
          % (len(files), len(stats["same"]), len(stats["both refuse"]),
             len(stats["ferry better"]), len(stats["FAIL"])))
    return 1 if stats["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
