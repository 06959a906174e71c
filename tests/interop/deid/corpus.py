#!/usr/bin/python3
"""The de-identification test corpus: made up patients, studies and devices.

    corpus.py OUTDIR

writes OUTDIR/*.dcm and OUTDIR/manifest.json. Everything is invented here
(names, IDs, addresses, dates); the structure follows PS3.3. It covers:
nested sequences (three levels and more), private blocks with and without
(0008,0300) declarations, overlays (60xx) and curves (50xx), every date VR
(DA, DT, TM, and dates inside text), an SR document with content items of
every common value type, Chinese names in GB18030, GBK and UTF-8, and the
burned-in cases (US and SC without the attribute, Burned In Annotation YES).

The manifest lists, per file, its role and the identifying strings and
dates it holds (for the leak scanner), and, for each study, which files
belong to it.
"""
import json
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
US = "1.2.840.10008.5.1.4.1.1.6.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
SR = "1.2.840.10008.5.1.4.1.1.88.33"
RTSTRUCT = "1.2.840.10008.5.1.4.1.1.481.3"

ROOT = "1.2.826.0.1.3680043.10.1245.77."   # made-up root for the originals


def uid(*parts):
    return ROOT + ".".join(str(p) for p in parts)


# The people and places of the corpus. Every string here is invented.
PATIENTS = {
    "zhang": dict(charset="GB18030", name="张^三=ZHANG^SAN", id="HZ0012345",
                  issuer="HZ-TOWN-HOSP", birth="19580312", sex="M", age="065Y",
                  address="浙江省杭州市西湖区文三路88号", phone="0571-88776655",
                  mother="陈^秀英", other_id="ZJ-OLD-7731", other_name="张^叁",
                  occupation="教师"),
    "li": dict(charset="GBK", name="李^四", id="LS778899", issuer="NB-TOWN-HOSP",
               birth="19710807", sex="F", age="051Y", address="宁波市海曙区中山西路12号",
               phone="0574-87654321", mother="王^芳", other_id="NB-OLD-4412",
               other_name="李^肆", occupation="农民"),
    "wang": dict(charset="ISO_IR 192", name="王^五", id="WW556677", issuer="SX-TOWN-HOSP",
                 birth="19890123", sex="M", age="034Y", address="绍兴市越城区解放路7号",
                 phone="0575-85112233", mother="赵^敏", other_id="SX-OLD-9021",
                 other_name="王^伍", occupation="工程师"),
    "doe": dict(charset=None, name="DOE^JOHN^Q", id="JD4711X", issuer="ACME-CLINIC",
                birth="19450505", sex="M", age="078Y", address="12 Harbour Road, Lakeside",
                phone="555-0199-321", mother="ROE^MAUDE", other_id="ACME-OLD-0815",
                other_name="DOE^JACK", occupation="Sailor"),
}

SITES = {
    "zhang": dict(institution="杭州西湖乡镇卫生院", inst_address="杭州市西湖区留下街道1号",
                  department="放射科", station="XIHU-CT-01", referring="刘^医生",
                  operator="周^技师", reader="吴^主任", requesting="孙^医生",
                  manufacturer="Acme Medical", model="CT-1", serial="SN-AC-55501"),
    "li": dict(institution="宁波海曙乡镇卫生院", inst_address="宁波市海曙区高桥镇2号",
               department="影像科", station="HAISHU-MR-02", referring="郑^医生",
               operator="冯^技师", reader="韩^主任", requesting="杨^医生",
               manufacturer="Acme Medical", model="MR-3T", serial="SN-AC-66602"),
    "wang": dict(institution="绍兴越城乡镇卫生院", inst_address="绍兴市越城区东浦镇3号",
                 department="超声科", station="YUECHENG-US-03", referring="朱^医生",
                 operator="秦^技师", reader="许^主任", requesting="何^医生",
                 manufacturer="Mindray", model="DC-70", serial="SN-MR-77703"),
    "doe": dict(institution="Lakeside Township Clinic", inst_address="1 Clinic Way, Lakeside",
                department="Radiology East", station="LAKE-CT-9", referring="SMITH^ANNA",
                operator="BROWN^TOM", reader="GREEN^EVA", requesting="BLACK^IAN",
                manufacturer="Acme Medical", model="CT-1", serial="SN-AC-88804"),
}


class Corpus:
    def __init__(self, outdir):
        self.outdir = outdir
        self.files = {}      # name -> dict(role, patient, study, idents)
        self.studies = {}    # study key -> [file names]

    def idents(self, p, s):
        """Identifying strings of a patient and a site (for the leak scan)."""
        P, S = PATIENTS[p], SITES[s]
        out = [P["name"], P["id"], P["issuer"], P["address"], P["phone"], P["mother"],
               P["other_id"], P["other_name"], S["institution"], S["inst_address"],
               S["department"], S["station"], S["referring"], S["operator"], S["reader"],
               S["requesting"], S["serial"]]
        # each component of a person name alone, and the name as written in text
        for n in (P["name"], P["mother"], P["other_name"], S["referring"], S["operator"],
                  S["reader"], S["requesting"]):
            for group in n.split("="):
                out.append(group.replace("^", ""))
                out.extend(c for c in group.split("^") if len(c.encode()) >= 3)
        return sorted(set(x for x in out if x))

    def save(self, ds, name, role, p, study, extra_idents=(), dates=(), ts=None):
        ts = ts or ExplicitVRLittleEndian
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ts
        meta.ImplementationClassUID = ROOT + "999"
        meta.SourceApplicationEntityTitle = SITES[p]["station"][:16]
        fds = FileDataset(name, ds, file_meta=meta, preamble=b"\0" * 128)
        fds.is_little_endian = True
        fds.is_implicit_VR = ts == ImplicitVRLittleEndian
        path = os.path.join(self.outdir, name)
        fds.save_as(path, write_like_original=False)
        self.files[name] = dict(role=role, patient=p, study=study,
                                idents=self.idents(p, p) + list(extra_idents),
                                dates=sorted(set(dates)))
        self.studies.setdefault(study, []).append(name)

    def write_manifest(self):
        with open(os.path.join(self.outdir, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(dict(files=self.files, studies=self.studies, patients=PATIENTS,
                           sites=SITES), f, ensure_ascii=False, indent=1, sort_keys=True)


def code(value, scheme, meaning):
    c = Dataset()
    c.CodeValue = value
    c.CodingSchemeDesignator = scheme
    c.CodeMeaning = meaning
    return c


def patient_study(ds, p, study):
    """Patient, study, equipment and request attributes, with nesting."""
    P, S = PATIENTS[p], SITES[p]
    if P["charset"]:
        ds.SpecificCharacterSet = P["charset"]
    ds.PatientName = P["name"]
    ds.PatientID = P["id"]
    ds.IssuerOfPatientID = P["issuer"]
    ds.PatientBirthDate = P["birth"]
    ds.PatientBirthTime = "083000"
    ds.PatientSex = P["sex"]
    ds.PatientAge = P["age"]
    ds.PatientSize = "1.72"
    ds.PatientWeight = "68.5"
    ds.PatientAddress = P["address"]
    ds.PatientTelephoneNumbers = P["phone"]
    ds.PatientMotherBirthName = P["mother"]
    ds.OtherPatientNames = P["other_name"]
    ds.Occupation = P["occupation"]
    ds.EthnicGroup = "Han"
    ds.PatientComments = "Patient %s (%s) seen on %s; call %s" % (
        P["name"].split("=")[0].replace("^", ""), P["id"], study["date"], P["phone"])
    ds.AdditionalPatientHistory = "History given by %s on %s-%s-%s" % (
        P["mother"].replace("^", ""), study["date"][:4], study["date"][4:6], study["date"][6:])
    ds.MedicalRecordLocator = "MRL-" + P["id"]
    # Other Patient IDs Sequence: nested Patient IDs, with issuers
    o = Dataset()
    o.PatientID = P["other_id"]
    o.IssuerOfPatientID = "OLD-" + P["issuer"]
    o.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([o])

    ds.StudyInstanceUID = study["uid"]
    ds.StudyDate = study["date"]
    ds.StudyTime = "101530.250"
    ds.AccessionNumber = study["accession"]
    iss = Dataset()
    iss.LocalNamespaceEntityID = "ACC-" + P["issuer"]
    ds.IssuerOfAccessionNumberSequence = Sequence([iss])
    ds.StudyID = study["id"]
    ds.StudyDescription = "Follow-up for %s after %s" % (
        P["name"].split("=")[0].replace("^", ""), study["prior"])
    ds.ReferringPhysicianName = S["referring"]
    ds.ReferringPhysicianAddress = S["inst_address"]
    ds.ReferringPhysicianTelephoneNumbers = P["phone"][:-3] + "000"
    ds.PhysiciansOfRecord = S["reader"]
    ds.NameOfPhysiciansReadingStudy = S["reader"]
    ds.RequestingPhysician = S["requesting"]
    ds.AdmittingDiagnosesDescription = "Cough since " + study["prior"]
    ds.ProcedureCodeSequence = Sequence([code("RPID17", "99FERRY", "CT chest")])

    # Request Attributes Sequence: three levels of nesting and UIDs inside
    ra = Dataset()
    ra.RequestedProcedureID = "RP-" + study["accession"]
    ra.ScheduledProcedureStepID = "SPS-" + study["accession"]
    ra.AccessionNumber = study["accession"]
    ra.RequestedProcedureDescription = "Chest for " + P["name"].split("=")[0].replace("^", "")
    ra.ScheduledProcedureStepStartDate = study["date"]
    ra.ScheduledProcedureStepStartTime = "100000"
    ra.ScheduledProtocolCodeSequence = Sequence([code("P-77", "99FERRY", "Low dose chest")])
    rs = Dataset()
    rs.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    rs.ReferencedSOPInstanceUID = study["uid"]
    ra.ReferencedStudySequence = Sequence([rs])
    ra.ReasonForTheRequestedProcedure = "Known to Dr " + S["requesting"].replace("^", "")
    ds.RequestAttributesSequence = Sequence([ra])
    ds.ReferencedStudySequence = Sequence([rs])

    ds.InstitutionName = S["institution"]
    ds.InstitutionAddress = S["inst_address"]
    ds.InstitutionalDepartmentName = S["department"]
    ic = code("I-" + S["station"][:6], "99FERRY", S["institution"])
    ds.InstitutionCodeSequence = Sequence([ic])
    ds.StationName = S["station"]
    ds.Manufacturer = S["manufacturer"]
    ds.ManufacturerModelName = S["model"]
    ds.DeviceSerialNumber = S["serial"]
    ds.SoftwareVersions = "4.2.1"
    ds.DateOfLastCalibration = "20230101"
    ds.TimeOfLastCalibration = "070000"
    ds.StationAETitle = S["station"][:16]


def series(ds, p, ser, modality, sop_class, sop_uid, number):
    S = SITES[p]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.Modality = modality
    ds.SeriesInstanceUID = ser["uid"]
    ds.SeriesNumber = ser["number"]
    ds.SeriesDate = ser["date"]
    ds.SeriesTime = "102000"
    ds.SeriesDescription = "Series by " + S["operator"].replace("^", "")
    ds.OperatorsName = S["operator"]
    ds.PerformingPhysicianName = S["reader"]
    ds.ProtocolName = "Protocol " + S["station"]
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = number
    ds.InstanceCreationDate = ser["date"]
    ds.InstanceCreationTime = "102500"
    ds.InstanceCreatorUID = ROOT + "500.1"
    ds.PerformedProcedureStepStartDate = ser["date"]
    ds.PerformedProcedureStepStartTime = "101000"
    ds.PerformedProcedureStepID = "PPS-" + ser["number"].__str__()
    ds.PerformedProcedureStepDescription = "Done by " + S["operator"].replace("^", "")
    pps = Dataset()
    pps.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
    pps.ReferencedSOPInstanceUID = ser["uid"] + ".3"
    ds.ReferencedPerformedProcedureStepSequence = Sequence([pps])
    op = Dataset()
    op.PersonIdentificationCodeSequence = Sequence([code("OP1", "99FERRY", S["operator"])])
    op.InstitutionName = S["institution"]
    ds.OperatorIdentificationSequence = Sequence([op])


def image(ds, rows, cols, bits=16, spp=1, photometric="MONOCHROME2", seed=1):
    rng = np.random.default_rng(seed)
    ds.Rows = rows
    ds.Columns = cols
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = bits
    ds.BitsStored = 12 if bits == 16 else 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    if spp == 3:
        ds.PlanarConfiguration = 0
    if bits == 16:
        yy, xx = np.mgrid[0:rows, 0:cols]
        a = (1000 + 600 * np.sin(xx / 5.0) * np.cos(yy / 7.0) +
             rng.integers(0, 40, size=(rows, cols))).astype(np.uint16)
    else:
        a = rng.integers(30, 250, size=(rows, cols, spp) if spp == 3 else (rows, cols),
                         dtype=np.uint8)
    ds.PixelData = a.tobytes()
    return a


def dates_block(ds, date):
    """The date and time VRs, listed and unlisted, at the top level."""
    ds.ContentDate = date
    ds.ContentTime = "102603.500"
    ds.AcquisitionDate = date
    ds.AcquisitionTime = "102601"
    ds.AcquisitionDateTime = date + "102601.123456+0800"
    ds.ImageComments = "Compared with study of %s-%s-%s (%s)" % (
        date[:4], date[4:6], date[6:], "2019.04.01")
    # not in Table E.1-1: every date and time goes by its VR (E.1.1 note 4)
    ds.add_new(0x00140102, "DA", date)            # Secondary Review Date
    ds.add_new(0x00140103, "TM", "153000")        # Secondary Review Time
    ds.add_new(0x40101025, "DT", date + "0930")   # Route Segment Start Time (DT)


def private_blocks(ds, p):
    """Private blocks: one declared SAFE, one with a list of nonidentifying
    elements and de-identification actions, one undeclared, one on the
    standard's sample safe list (GEMS_ACQU_01)."""
    P = PATIENTS[p]
    # undeclared block: identifying content
    ds.add_new(0x00090010, "LO", "FERRY TEST PRIV")
    ds.add_new(0x00091010, "LO", P["name"].split("=")[0])
    ds.add_new(0x00091011, "DA", P["birth"])
    inner = Dataset()
    inner.add_new(0x00090010, "LO", "FERRY TEST PRIV")
    inner.add_new(0x00091020, "LO", P["id"])
    ds.add_new(0x00091012, "SQ", Sequence([inner]))
    # declared SAFE
    ds.add_new(0x00110010, "LO", "FERRY SAFE")
    ds.add_new(0x00111001, "DS", "2.5")
    ds.add_new(0x00111002, "US", 7)
    # declared with a nonidentifying list and actions
    ds.add_new(0x00130010, "LO", "FERRY PARTLY")
    ds.add_new(0x00131010, "DS", "42.0")              # listed nonidentifying: kept
    ds.add_new(0x00131011, "LO", P["other_id"])       # not listed: removed
    ds.add_new(0x00131012, "LO", P["address"])        # action D
    ds.add_new(0x00131013, "UI", ROOT + "600.1")      # action U
    ds.add_new(0x00131014, "LO", P["phone"])          # action Z
    # the standard's sample list: GE's table speed is kept, the rest not
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
    ds.add_new(0x00191023, "DS", "39.375")
    ds.add_new(0x00191099, "LO", P["name"].split("=")[0])
    decl = []
    b = Dataset()
    b.PrivateGroupReference = 0x0011
    b.PrivateCreatorReference = "FERRY SAFE"
    b.BlockIdentifyingInformationStatus = "SAFE"
    decl.append(b)
    b = Dataset()
    b.PrivateGroupReference = 0x0013
    b.PrivateCreatorReference = "FERRY PARTLY"
    b.BlockIdentifyingInformationStatus = "MIXED"
    b.NonidentifyingPrivateElements = [0x10]
    acts = []
    for offsets, action in (([0x12], "D"), ([0x13], "U"), ([0x14], "Z")):
        a = Dataset()
        a.IdentifyingPrivateElements = offsets
        a.DeidentificationAction = action
        acts.append(a)
    b.DeidentificationActionSequence = Sequence(acts)
    decl.append(b)
    ds.PrivateDataElementCharacteristicsSequence = Sequence(decl)


def overlays_curves(ds, rows, cols, p):
    P = PATIENTS[p]
    for g in (0x6000, 0x6002):
        ds.add_new((g << 16) | 0x0010, "US", rows)
        ds.add_new((g << 16) | 0x0011, "US", cols)
        ds.add_new((g << 16) | 0x0022, "LO", "Overlay of " + P["name"].split("=")[0])
        ds.add_new((g << 16) | 0x0040, "CS", "G")
        ds.add_new((g << 16) | 0x0050, "SS", [1, 1])
        ds.add_new((g << 16) | 0x0100, "US", 1)
        ds.add_new((g << 16) | 0x0102, "US", 0)
        ds.add_new((g << 16) | 0x1500, "LO", "Label " + P["id"])
        bits = np.zeros(rows * cols, dtype=np.uint8)
        bits[: cols * 4] = 1                        # the top four rows set
        ds.add_new((g << 16) | 0x3000, "OW", np.packbits(bits, bitorder="little").tobytes())
        ds.add_new((g << 16) | 0x4000, "LT", "Drawn by " + SITES[p]["operator"])
    # a curve (retired, 50xx)
    ds.add_new(0x50000005, "US", 2)
    ds.add_new(0x50000010, "US", 3)
    ds.add_new(0x50000020, "CS", "POLY")
    ds.add_new(0x50000022, "LO", "Curve for " + P["id"])
    ds.add_new(0x50000103, "US", 0)
    ds.add_new(0x50003000, "OW", np.array([1, 2, 3, 4, 5, 6], dtype=np.uint16).tobytes())


def references(ds, refs, source=None):
    """Referenced Image Sequence (X/Z/U*) and Source Image Sequence."""
    items = []
    for sop_class, sop_uid in refs:
        r = Dataset()
        r.ReferencedSOPClassUID = sop_class
        r.ReferencedSOPInstanceUID = sop_uid
        items.append(r)
    ds.ReferencedImageSequence = Sequence(items)
    if source:
        s = Dataset()
        s.ReferencedSOPClassUID = source[0]
        s.ReferencedSOPInstanceUID = source[1]
        s.PurposeOfReferenceCodeSequence = Sequence([code("121322", "DCM",
                                                          "Source image for processing")])
        ds.SourceImageSequence = Sequence([s])


def make_ct_study(c, p, key, study, n, seed, suffix=""):
    """A CT series of n slices, each referencing its neighbour; the last one
    derived from the first (Source Image Sequence)."""
    ser = dict(uid=study["uid"] + ".1", number=1, date=study["date"])
    fref = study["uid"] + ".9"
    uids = [study["uid"] + ".1.%d" % (i + 1) for i in range(n)]
    names = []
    for i in range(n):
        ds = Dataset()
        patient_study(ds, p, study)
        series(ds, p, ser, "CT", CT, uids[i], i + 1)
        dates_block(ds, study["date"])
        ds.FrameOfReferenceUID = fref
        ds.PositionReferenceIndicator = ""
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if i < n - 1 else \
            ["DERIVED", "SECONDARY", "AXIAL"]
        ds.ImagePositionPatient = [0, 0, float(i)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceThickness = "1.0"
        ds.KVP = "120"
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.ContrastBolusAgent = "Iohexol from " + SITES[p]["institution"]
        ds.AcquisitionNumber = 1
        ds.PatientPosition = "HFS"
        ds.IrradiationEventUID = study["uid"] + ".7.%d" % (i + 1)
        ds.DerivationDescription = "Made on " + study["date"] + " by " + SITES[p]["operator"]
        references(ds, [(CT, uids[(i + 1) % n])],
                   source=(CT, uids[0]) if i == n - 1 else None)
        image(ds, 32, 32, seed=seed + i)
        private_blocks(ds, p)
        if i == 0:
            overlays_curves(ds, 32, 32, p)
        name = "%s_ct%s_%d.dcm" % (key, suffix, i + 1)
        c.save(ds, name, "ct", p, key, dates=[study["date"], PATIENTS[p]["birth"]])
        names.append(name)
    return uids, ser, fref


def make_mr_study(c, p, key, study, n, seed):
    ser = dict(uid=study["uid"] + ".2", number=2, date=study["date"])
    for i in range(n):
        ds = Dataset()
        patient_study(ds, p, study)
        series(ds, p, ser, "MR", MR, study["uid"] + ".2.%d" % (i + 1), i + 1)
        dates_block(ds, study["date"])
        ds.FrameOfReferenceUID = study["uid"] + ".9"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.PatientPosition = "FFS"
        ds.EchoTime = "10"
        ds.RepetitionTime = "500"
        ds.EchoTrainLength = "1"
        ds.MagneticFieldStrength = "3"
        ds.ImagePositionPatient = [0, 0, float(i)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.9, 0.9]
        ds.SliceThickness = "3.0"
        ds.PositionReferenceIndicator = ""
        image(ds, 32, 32, seed=seed + i)
        private_blocks(ds, p)
        c.save(ds, "%s_mr_%d.dcm" % (key, i + 1), "mr", p, key,
               dates=[study["date"], PATIENTS[p]["birth"]])


def make_sr(c, p, key, study, ct_uids, ct_series):
    """A Comprehensive SR: text, person name, dates, UID, codes, numbers, an
    image reference, nested containers."""
    P, S = PATIENTS[p], SITES[p]
    ds = Dataset()
    patient_study(ds, p, study)
    ser = dict(uid=study["uid"] + ".5", number=5, date=study["date"])
    series(ds, p, ser, "SR", SR, study["uid"] + ".5.1", 1)
    for k in ("OperatorIdentificationSequence", "ProtocolName", "BodyPartExamined",
              "StationAETitle"):
        delattr(ds, k)
    ds.ContentDate = study["date"]
    ds.ContentTime = "120000"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    ds.ObservationDateTime = study["date"] + "120500"
    vo = Dataset()
    vo.VerifyingObserverName = S["reader"]
    vo.VerifyingOrganization = S["institution"]
    vo.VerificationDateTime = study["date"] + "130000"
    vo.VerifyingObserverIdentificationCodeSequence = Sequence([code("R1", "99FERRY",
                                                                    S["reader"])])
    ds.VerifyingObserverSequence = Sequence([vo])
    ds.PerformedProcedureCodeSequence = Sequence([code("RPID17", "99FERRY", "CT chest")])
    ev = Dataset()
    ev.StudyInstanceUID = study["uid"]
    rser = Dataset()
    rser.SeriesInstanceUID = ct_series["uid"]
    rsops = []
    for u in ct_uids:
        r = Dataset()
        r.ReferencedSOPClassUID = CT
        r.ReferencedSOPInstanceUID = u
        rsops.append(r)
    rser.ReferencedSOPSequence = Sequence(rsops)
    ev.ReferencedSeriesSequence = Sequence([rser])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([ev])
    # a prior study that is not in the corpus: its UIDs are mapped all the same
    prior = Dataset()
    prior.StudyInstanceUID = uid(1, 0)
    pser = Dataset()
    pser.SeriesInstanceUID = uid(1, 0, 1)
    pref = Dataset()
    pref.ReferencedSOPClassUID = CT
    pref.ReferencedSOPInstanceUID = uid(1, 0, 1, 1)
    pser.ReferencedSOPSequence = Sequence([pref])
    prior.ReferencedSeriesSequence = Sequence([pser])
    ds.PertinentOtherEvidenceSequence = Sequence([prior])

    def item(rel, vtype, concept, **kw):
        it = Dataset()
        it.RelationshipType = rel
        it.ValueType = vtype
        it.ConceptNameCodeSequence = Sequence([concept])
        for k, v in kw.items():
            setattr(it, k, v)
        return it

    name_plain = P["name"].split("=")[0].replace("^", "")
    text = item("CONTAINS", "TEXT", code("121071", "DCM", "Finding"),
                TextValue="患者%s于%s-%s-%s复查，电话%s。Seen by %s." % (
                    name_plain, study["date"][:4], study["date"][4:6], study["date"][6:],
                    P["phone"], S["reader"].replace("^", "")))
    pname = item("HAS OBS CONTEXT", "PNAME", code("121008", "DCM", "Person Observer Name"),
                 PersonName=S["reader"])
    date = item("HAS OBS CONTEXT", "DATE", code("111060", "DCM", "Study Date"),
                Date=study["date"])
    dtime = item("HAS OBS CONTEXT", "DATETIME", code("111526", "DCM", "DateTime Started"),
                 DateTime=study["date"] + "101500")
    tm = item("HAS OBS CONTEXT", "TIME", code("111527", "DCM", "Time Started"), Time="101500")
    uidref = item("HAS OBS CONTEXT", "UIDREF", code("121018", "DCM", "Procedure Study Instance UID"),
                  UID=study["uid"])
    cd = item("CONTAINS", "CODE", code("121071", "DCM", "Finding"),
              ConceptCodeSequence=Sequence([code("233604007", "SCT", "Pneumonia")]))
    mv = Dataset()
    mv.NumericValue = "12.5"
    mv.MeasurementUnitsCodeSequence = Sequence([code("mm", "UCUM", "millimeter")])
    num = item("CONTAINS", "NUM", code("410668003", "SCT", "Length"),
               MeasuredValueSequence=Sequence([mv]))
    ref = Dataset()
    ref.ReferencedSOPClassUID = CT
    ref.ReferencedSOPInstanceUID = ct_uids[0]
    img = item("CONTAINS", "IMAGE", code("121112", "DCM", "Source of Measurement"),
               ReferencedSOPSequence=Sequence([ref]))
    inner_text = item("CONTAINS", "TEXT", code("121073", "DCM", "Impression"),
                      TextValue="%s 的家属 %s 同意随访" % (name_plain, P["mother"].replace("^", "")))
    inner = item("CONTAINS", "CONTAINER", code("121070", "DCM", "Findings"),
                 ContinuityOfContent="SEPARATE", ContentSequence=Sequence([inner_text, num, img]))
    ds.ContentSequence = Sequence([pname, date, dtime, tm, uidref, text, cd, inner])
    c.save(ds, "%s_sr.dcm" % key, "sr", p, key, dates=[study["date"], P["birth"]])


def make_rtstruct(c, p, key, study, ct_uids, ct_series, fref):
    """An RT Structure Set on the CT: references four levels deep."""
    ds = Dataset()
    patient_study(ds, p, study)
    ser = dict(uid=study["uid"] + ".8", number=8, date=study["date"])
    series(ds, p, ser, "RTSTRUCT", RTSTRUCT, study["uid"] + ".8.1", 1)
    for k in ("ProtocolName", "BodyPartExamined"):
        delattr(ds, k)
    ds.StructureSetLabel = "GTV " + SITES[p]["reader"].replace("^", "")
    ds.StructureSetName = "Plan for " + PATIENTS[p]["name"].split("=")[0].replace("^", "")
    ds.FrameOfReferenceUID = fref
    ds.PositionReferenceIndicator = ""
    ds.StructureSetDate = study["date"]
    ds.StructureSetTime = "150000"
    contour_images = []
    for u in ct_uids:
        ci = Dataset()
        ci.ReferencedSOPClassUID = CT
        ci.ReferencedSOPInstanceUID = u
        contour_images.append(ci)
    rser = Dataset()
    rser.SeriesInstanceUID = ct_series["uid"]
    rser.ContourImageSequence = Sequence(contour_images)
    rstudy = Dataset()
    rstudy.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    rstudy.ReferencedSOPInstanceUID = study["uid"]
    rstudy.RTReferencedSeriesSequence = Sequence([rser])
    rfor = Dataset()
    rfor.FrameOfReferenceUID = fref
    rfor.RTReferencedStudySequence = Sequence([rstudy])
    ds.ReferencedFrameOfReferenceSequence = Sequence([rfor])
    roi = Dataset()
    roi.ROINumber = 1
    roi.ReferencedFrameOfReferenceUID = fref
    roi.ROIName = "GTV"
    roi.ROIGenerationAlgorithm = "MANUAL"
    ds.StructureSetROISequence = Sequence([roi])
    contour = Dataset()
    ci = Dataset()
    ci.ReferencedSOPClassUID = CT
    ci.ReferencedSOPInstanceUID = ct_uids[1]
    contour.ContourImageSequence = Sequence([ci])
    contour.ContourGeometricType = "CLOSED_PLANAR"
    contour.NumberOfContourPoints = 3
    contour.ContourData = [0, 0, 1, 5, 0, 1, 5, 5, 1]
    rc = Dataset()
    rc.ReferencedROINumber = 1
    rc.ROIDisplayColor = [255, 0, 0]
    rc.ContourSequence = Sequence([contour])
    ds.ROIContourSequence = Sequence([rc])
    obs = Dataset()
    obs.ObservationNumber = 1
    obs.ReferencedROINumber = 1
    obs.RTROIInterpretedType = "GTV"
    obs.ROIInterpreter = SITES[p]["reader"]
    ds.RTROIObservationsSequence = Sequence([obs])
    ds.ApprovalStatus = "UNAPPROVED"
    c.save(ds, "%s_rtstruct.dcm" % key, "rtstruct", p, key,
           dates=[study["date"], PATIENTS[p]["birth"]])


def make_burned(c, p, key, study, kind, seed, name):
    """US without Burned In Annotation, SC without it, CT with YES."""
    ds = Dataset()
    patient_study(ds, p, study)
    if kind == "us":
        ser = dict(uid=study["uid"] + ".3", number=3, date=study["date"])
        series(ds, p, ser, "US", US, study["uid"] + ".3.%d" % seed, seed)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
        ds.PatientOrientation = ["A", "F"]
        image(ds, 48, 64, bits=8, spp=3, photometric="RGB", seed=seed)
    elif kind == "sc":
        ser = dict(uid=study["uid"] + ".4", number=4, date=study["date"])
        series(ds, p, ser, "OT", SC, study["uid"] + ".4.%d" % seed, seed)
        ds.ConversionType = "WSD"
        ds.Manufacturer = "FERRY TEST"
        ds.ManufacturerModelName = "SCREEN"
        ds.PatientOrientation = ""
        ds.DateOfSecondaryCapture = study["date"]
        ds.TimeOfSecondaryCapture = "110000"
        image(ds, 32, 32, bits=8, seed=seed)
    else:
        ser = dict(uid=study["uid"] + ".6", number=6, date=study["date"])
        series(ds, p, ser, "CT", CT, study["uid"] + ".6.%d" % seed, seed)
        ds.FrameOfReferenceUID = study["uid"] + ".9"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.BurnedInAnnotation = "YES"
        ds.PatientPosition = "HFS"
        ds.SliceThickness = "1.0"
        ds.AcquisitionNumber = 1
        ds.ImagePositionPatient = [0, 0, 0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.PositionReferenceIndicator = ""
        ds.KVP = "120"
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = "1"
        image(ds, 32, 32, seed=seed)
    ds.ContentDate = study["date"]
    ds.ContentTime = "110000"
    c.save(ds, name, "burned-" + kind, p, key, dates=[study["date"], PATIENTS[p]["birth"]])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    c = Corpus(out)
    # Zhang San (GB18030): one study of 4 CT slices, an SR and an RT
    # Structure Set about them.
    s1 = dict(uid=uid(1, 1), date="20230517", accession="A20230517001", id="S-ZS-1",
              prior="2022-11-30")
    ct_uids, ct_ser, fref = make_ct_study(c, "zhang", "zhang_s1", s1, 4, 10)
    make_sr(c, "zhang", "zhang_s1", s1, ct_uids, ct_ser)
    make_rtstruct(c, "zhang", "zhang_s1", s1, ct_uids, ct_ser, fref)
    # Li Si (GBK): two studies 18 months apart (longitudinal dates).
    s2 = dict(uid=uid(2, 1), date="20220301", accession="A20220301002", id="S-LS-1",
              prior="2021-12-24")
    s3 = dict(uid=uid(2, 2), date="20230915", accession="A20230915003", id="S-LS-2",
              prior="2022-03-01")
    make_mr_study(c, "li", "li_s1", s2, 2, 20)
    make_mr_study(c, "li", "li_s2", s3, 2, 30)
    # Wang Wu (UTF-8): ultrasound and a secondary capture, no Burned In
    # Annotation on either.
    s4 = dict(uid=uid(3, 1), date="20240202", accession="A20240202004", id="S-WW-1",
              prior="2023-08-08")
    make_burned(c, "wang", "wang_s1", s4, "us", 1, "wang_us_1.dcm")
    make_burned(c, "wang", "wang_s1", s4, "us", 2, "wang_us_2_for_rle.dcm")
    make_burned(c, "wang", "wang_s1", s4, "sc", 3, "wang_sc_1.dcm")
    # John Doe (default character set): a CT study and a CT with Burned In
    # Annotation YES.
    s5 = dict(uid=uid(4, 1), date="20191231", accession="A20191231005", id="S-JD-1",
              prior="2019-06-30")
    make_ct_study(c, "doe", "doe_s1", s5, 2, 40)
    make_burned(c, "doe", "doe_s1", s5, "ct", 1, "doe_burned_1.dcm")
    make_burned(c, "doe", "doe_s1", s5, "ct", 2, "doe_burned_2_for_jpls.dcm")
    c.write_manifest()
    print("%d files in %s" % (len(c.files), out))


if __name__ == "__main__":
    main()
