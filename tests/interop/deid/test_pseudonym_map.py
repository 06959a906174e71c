#!/usr/bin/python3
"""record-pseudonyms: the pseudonym map that `ferry deid` keeps through the
plugin ABI 1.1 record_pseudonym call.

- off (the default): no map is written.
- on: OUTDIR/pseudonyms.tsv, mode 0600, one line per distinct (kind,
  original, replacement): each patient's ID and name (in UTF-8 whatever the
  instance's character set) with their pseudonym, each study's UID with its
  keyed UID; a second run adds nothing it already holds.
- --pseudonym-map PATH puts it elsewhere; a map that others may read is
  refused before anything runs.
"""
import os
import stat
import sys
import tempfile


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deidlib as L  # noqa: E402
import pydicom  # noqa: E402


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n") for l in f]


def main():
    problems = []
    with tempfile.TemporaryDirectory(prefix="ferry-deid-map-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        manifest = L.make_corpus(corpus)
        secret = L.make_secret(os.path.join(tmp, "secret"))
        keys = L.Keys(secret)
        files = [os.path.join(corpus, n) for n in sorted(manifest["files"])]

        od = os.path.join(tmp, "off")
        L.run_deid(files[:3], od, secret, params=["burned-in=warn"], expect=0)
        if os.path.exists(os.path.join(od, "pseudonyms.tsv")):
            problems.append("a map was written with record-pseudonyms off")

        od = os.path.join(tmp, "on")
        rc, out, err = L.run_deid(files, od, secret,
                                  params=["burned-in=warn", "record-pseudonyms=on"], expect=0)
        mp = os.path.join(od, "pseudonyms.tsv")
        if not os.path.exists(mp):
            L.fail("no map in %s:\n%s" % (od, err))
        mode = stat.S_IMODE(os.stat(mp).st_mode)
        if mode != 0o600:
            problems.append("the map has mode %o" % mode)
        got = lines(mp)
        if not got[0].startswith("# ferry deid pseudonym map"):
            problems.append("header %r" % got[0])
        body = got[1:]
        if len(body) != len(set(body)):
            problems.append("lines written twice")
        want = set()
        for f in files:
            ds = pydicom.dcmread(f)
            p = keys.pseudonym(L.patient_key(ds))
            want.add("patient-id\t%s\t%s" % (ds.PatientID, p))
            want.add("patient-name\t%s\t%s" % (str(ds.PatientName), p))
            want.add("study-uid\t%s\t%s" % (ds.StudyInstanceUID, keys.uid(ds.StudyInstanceUID)))
        if set(body) != want:
            problems.append("map lines differ:\n  missing %s\n  extra %s" % (
                sorted(want - set(body))[:5], sorted(set(body) - want)[:5]))
        if "patient-name\t李^四\t" not in "\n".join(body):
            problems.append("the GBK name is not in the map in UTF-8")
        if "new pseudonym records in %s (mode 0600" % mp not in err:
            problems.append("no note of the map on stderr: %s" % err)
        print("%d records for %d instances of %d patients" % (len(body), len(files), len(
            set(l.split("\t")[1] for l in body if l.startswith("patient-id")))))

        # a second run adds nothing
        before = open(mp, "rb").read()
        L.run_deid(files, od, secret, params=["burned-in=warn", "record-pseudonyms=on"],
                   expect=0)
        if open(mp, "rb").read() != before:
            problems.append("a second run changed the map")

        # elsewhere
        other = os.path.join(tmp, "keys", "map.tsv")
        os.makedirs(os.path.dirname(other))
        L.run_deid(files[:2], os.path.join(tmp, "elsewhere"), secret,
                   params=["burned-in=warn", "record-pseudonyms=on"],
                   extra=["--pseudonym-map", other], expect=0)
        if not os.path.exists(other) or stat.S_IMODE(os.stat(other).st_mode) != 0o600:
            problems.append("--pseudonym-map: no private map at %s" % other)
        if os.path.exists(os.path.join(tmp, "elsewhere", "pseudonyms.tsv")):
            problems.append("--pseudonym-map: a map in OUTDIR too")

        # a map others may read is refused before anything runs
        os.chmod(other, 0o644)
        rc, out, err = L.run_deid(files[:2], os.path.join(tmp, "refused"), secret,
                                  params=["burned-in=warn", "record-pseudonyms=on"],
                                  extra=["--pseudonym-map", other], expect=1)
        want_err = ("ferry deid: pseudonym map %s: it is not this user's, or others may read it "
                    "(chmod 600 it); not used" % other)
        if want_err not in err.splitlines():
            problems.append("open map: %r" % err)
        if L.outputs(os.path.join(tmp, "refused")):
            problems.append("outputs were written although the map was refused")
    for p in problems:
        print("  " + p)
    if problems:
        L.fail("%d problems" % len(problems))
    print("OK")


if __name__ == "__main__":
    main()
