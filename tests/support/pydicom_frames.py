#!/usr/bin/env python3
"""Test support for the codec interop tests: move frames in and out of DICOM
files with pydicom 2.3, so that DCMTK's dcmcjpeg/dcmdjpeg can be run on
ferry's codestreams (and the reverse) before ferry has its own writer.

  wrap   GEOM TS LOSSY IN.bin OUT.dcm  one encapsulated frame -> Part 10 file
  native GEOM IN.raw OUT.dcm           native frame -> Part 10 file (Expl. LE)
  pixels IN.dcm OUT.raw                native Pixel Data bytes; prints GEOM
  frames IN.dcm OUTPREFIX              encapsulated frames -> OUTPREFIX.N;
                                       prints "TS NFRAMES GEOM"
  corpus                               pydicom's test files: prints their path

GEOM is "rows,cols,spp,bits_allocated,bits_stored,pixel_repr,planar,PI".
"""
import sys

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_pixel_data_frame
from pydicom.filereader import dcmread
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"


def parse_geom(s):
    f = s.split(",")
    return {
        "Rows": int(f[0]), "Columns": int(f[1]), "SamplesPerPixel": int(f[2]),
        "BitsAllocated": int(f[3]), "BitsStored": int(f[4]),
        "PixelRepresentation": int(f[5]), "PlanarConfiguration": int(f[6]),
        "PhotometricInterpretation": f[7],
    }


def geom_of(ds):
    return "%d,%d,%d,%d,%d,%d,%d,%s" % (
        ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored,
        ds.PixelRepresentation, ds.get("PlanarConfiguration", 0),
        ds.PhotometricInterpretation)


def new_file(geom, ts):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SC_IMAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SOPClassUID = SC_IMAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "FERRY^TEST"
    ds.PatientID = "FERRY"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    for k, v in geom.items():
        if k == "PlanarConfiguration" and geom["SamplesPerPixel"] == 1:
            continue
        setattr(ds, k, v)
    ds.HighBit = geom["BitsStored"] - 1
    return ds


def main(argv):
    cmd = argv[1]
    if cmd == "wrap":
        geom, ts, lossy, src, dst = parse_geom(argv[2]), argv[3], argv[4] == "1", argv[5], argv[6]
        data = open(src, "rb").read()
        ds = new_file(geom, ts)
        if lossy:
            ds.LossyImageCompression = "01"
        ds.PixelData = encapsulate([data], has_bot=True)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.save_as(dst, write_like_original=False)
    elif cmd == "native":
        geom, src, dst = parse_geom(argv[2]), argv[3], argv[4]
        ds = new_file(geom, ExplicitVRLittleEndian)
        ds.PixelData = open(src, "rb").read()
        ds["PixelData"].VR = "OB" if geom["BitsAllocated"] <= 8 else "OW"
        ds.save_as(dst, write_like_original=False)
    elif cmd == "pixels":
        ds = dcmread(argv[2])
        open(argv[3], "wb").write(ds.PixelData)
        print(geom_of(ds))
    elif cmd == "frames":
        ds = dcmread(argv[2])
        n = int(ds.get("NumberOfFrames", 1) or 1)
        for i, frame in enumerate(generate_pixel_data_frame(ds.PixelData, n)):
            open("%s.%d" % (argv[3], i), "wb").write(frame)
        print("%s %d %s" % (ds.file_meta.TransferSyntaxUID, n, geom_of(ds)))
    elif cmd == "corpus":
        from pydicom.data import get_testdata_file
        import os
        print(os.path.dirname(get_testdata_file("CT_small.dcm")))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
