#!/usr/bin/python3
"""Longitudinal dates and pseudonyms across studies.

- Retain Longitudinal Temporal Information with Modified Dates: one patient's
  two studies, de-identified in separate runs, move back by the same number
  of days (1..3652), so intervals between studies, to the birth date and
  within a study are kept; times of day and UTC offsets stay; dates written
  in text move alike (with Clean Descriptors); another patient moves by
  another amount.
- With Full Dates nothing moves.
- The pseudonym of a patient is the same in all their studies and differs
  between patients; a pseudonym template with {site} and {num:N} renders as
  CONFORMANCE.md says.
"""
import datetime
import os
import sys
import tempfile


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deidlib as L  # noqa: E402
import pydicom  # noqa: E402


def day(s):
    return datetime.date(int(s[:4]), int(s[4:6]), int(s[6:8]))


def first(outdir):
    return L.read(L.outputs(outdir)[0])


def main():
    problems = []
    with tempfile.TemporaryDirectory(prefix="ferry-deid-dates-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        manifest = L.make_corpus(corpus)
        secret = L.make_secret(os.path.join(tmp, "secret"))
        keys = L.Keys(secret)
        c = lambda n: os.path.join(corpus, n)  # noqa: E731
        opts = ["retain-long-modified-dates", "clean-descriptors"]
        runs = {}
        for study in ("li_s1", "li_s2", "zhang_s1"):
            od = os.path.join(tmp, study)
            names = [n for n in manifest["studies"][study] if "_sr" not in n
                     and "_rtstruct" not in n]
            L.run_deid([c(n) for n in names], od, secret, options=opts, expect=0)
            runs[study] = (pydicom.dcmread(c(names[0])), first(od))
        (i1, o1), (i2, o2), (iz, oz) = runs["li_s1"], runs["li_s2"], runs["zhang_s1"]
        shift1 = (day(o1.StudyDate) - day(i1.StudyDate)).days
        shift2 = (day(o2.StudyDate) - day(i2.StudyDate)).days
        shiftz = (day(oz.StudyDate) - day(iz.StudyDate)).days
        print("Li Si: studies %s and %s became %s and %s (%d days); Zhang San: %d days" % (
            i1.StudyDate, i2.StudyDate, o1.StudyDate, o2.StudyDate, shift1, shiftz))
        if shift1 != shift2:
            problems.append("one patient, two shifts: %d and %d" % (shift1, shift2))
        if not -3652 <= shift1 <= -1:
            problems.append("shift %d is not 1..3652 days back" % shift1)
        if shift1 != keys.shift(L.patient_key(i1)):
            problems.append("shift %d is not the keyed one %d" % (shift1,
                                                                 keys.shift(L.patient_key(i1))))
        if shiftz == shift1:
            problems.append("two patients share the shift %d" % shift1)
        if (day(o2.StudyDate) - day(o1.StudyDate)) != (day(i2.StudyDate) - day(i1.StudyDate)):
            problems.append("the interval between the studies changed")
        for i, o in ((i1, o1), (i2, o2)):
            # Table E.1-1 has no date option code for Patient's Birth Date: Z
            if o.PatientBirthDate != "":
                problems.append("birth date %r kept" % o.PatientBirthDate)
            for kw in ("SeriesDate", "AcquisitionDate", "ContentDate", "InstanceCreationDate"):
                if (day(o[kw].value) - day(i[kw].value)).days != shift1:
                    problems.append("%s moved otherwise" % kw)
            if o.StudyTime != i.StudyTime or o.AcquisitionTime != i.AcquisitionTime:
                problems.append("times of day changed: %s %s" % (o.StudyTime, o.AcquisitionTime))
            a, b = str(i.AcquisitionDateTime), str(o.AcquisitionDateTime)
            if b[8:] != a[8:] or (day(b) - day(a)).days != shift1:
                problems.append("DT %s became %s" % (a, b))
            # the dates in Image Comments, in two spellings
            want = L.shift_da(i.StudyDate, shift1)
            want = "%s-%s-%s" % (want[:4], want[4:6], want[6:])
            prior = L.shift_da("20190401", shift1)
            prior = "%s.%s.%s" % (prior[:4], prior[4:6], prior[6:])
            if str(o.ImageComments) != "Compared with study of %s (%s)" % (want, prior):
                problems.append("Image Comments %r" % str(o.ImageComments))
            if o.LongitudinalTemporalInformationModified != "MODIFIED":
                problems.append("(0028,0303) %r" % o.LongitudinalTemporalInformationModified)
        # the pseudonym: the same in both studies, another for another patient
        if o1.PatientID != o2.PatientID or o1.PatientName != o2.PatientID:
            problems.append("Li Si's pseudonyms: %s, %s, %s" % (o1.PatientID, o2.PatientID,
                                                              o1.PatientName))
        if o1.PatientID != keys.pseudonym(L.patient_key(i1)):
            problems.append("pseudonym %s is not the keyed one" % o1.PatientID)
        if oz.PatientID == o1.PatientID:
            problems.append("two patients share the pseudonym %s" % o1.PatientID)

        # Full Dates: nothing moves
        od = os.path.join(tmp, "full")
        L.run_deid([c(manifest["studies"]["li_s1"][0])], od, secret,
                   options=["retain-long-full-dates"], expect=0)
        o = first(od)
        if o.StudyDate != i1.StudyDate or o.AcquisitionDateTime != i1.AcquisitionDateTime or \
                o.LongitudinalTemporalInformationModified != "UNMODIFIED":
            problems.append("full dates: %s %s %s" % (o.StudyDate, o.AcquisitionDateTime,
                                                      o.LongitudinalTemporalInformationModified))

        # a pseudonym template
        od = os.path.join(tmp, "template")
        L.run_deid([c(manifest["studies"]["li_s2"][0])], od, secret,
                   params=["site=TOWN01", "pseudonym-template=P{site}-{num:10}"], expect=0)
        o = first(od)
        h = keys.mac("patient", L.patient_key(i2))
        want = "PTOWN01-%010d" % (int.from_bytes(h[16:], "big") % 10 ** 10)
        if o.PatientID != want:
            problems.append("template: %s, wanted %s" % (o.PatientID, want))
    for p in problems:
        print("  " + p)
    if problems:
        L.fail("%d problems" % len(problems))
    print("OK")


if __name__ == "__main__":
    main()
