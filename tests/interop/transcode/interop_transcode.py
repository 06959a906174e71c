#!/usr/bin/python3
"""`ferry transcode` (the pipeline a route's compress step runs) checked by
decoders that are not ferry's (see refdecode.py).

Parts (--part, repeatable; default all):
  lossless  generated images in the variety issue 5 lists (8/16 bits
            allocated, 8/10/12/16 stored, signed and unsigned, MONOCHROME1/2,
            RGB and YBR_FULL in both planar configurations, native
            YBR_FULL_422, odd sizes, 1x1, multi-frame, a CT slice in each
            native syntax) to every lossless syntax: the output decoded by
            DCMTK / OpenJPEG / OpenJPH equals the input, every sample; one
            fragment per frame and a filled Basic Offset Table; the SOP
            Instance UID kept.
  corpus    pydicom's test files (native and compressed) to every lossless
            syntax, the same checks against the independent decoding of the
            source; geometry a codec cannot code must be refused.
  matrix    every compressed syntax ferry decodes, made by other encoders
            where they exist (DCMTK, OpenJPEG, OpenJPH), to every syntax ferry
            encodes; small images.
  lossy     the lossy syntaxes: decoded by the tools, PSNR printed and above
            each configuration's floor, the lossy attributes (PS3.3
            C.7.6.1.1.5), lossy-new-uid=no.
  refuse    geometry a codec cannot code: the exact error, no output file.
  offsets   offset-table auto/basic/extended: the Extended Offset Table read
            by DCMTK and pydicom and by ferry again.
Every output of every part goes through dciodvfy, whose errors must be those
of its input. dciodvfy (dicom3tools 2022) does not know the HTJ2K syntaxes:
an HTJ2K file is checked as a copy whose meta header names MPEG-4 AVC
1.2.840.10008.1.2.4.102 (an encapsulated syntax of the same UID length), and
errors that speak of MPEG are dropped.

Usage: interop_transcode.py --ferry BIN --dcmgen BIN [--part P]... [--keep]
Exit 0 passed, 1 failed, 77 skipped (a tool or pydicom missing).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    import pydicom
    from pydicom.encaps import encapsulate, generate_pixel_data_frame
    from pydicom.dataset import FileMetaDataset
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import refdecode
    from refdecode import DecodeError, Geom
except ImportError as e:  # pragma: no cover
    print(f"SKIP: python3 without pydicom/numpy ({e})")
    sys.exit(77)

UID = {
    "jpeg-baseline": "1.2.840.10008.1.2.4.50",
    "jpeg-extended": "1.2.840.10008.1.2.4.51",
    "jpeg-lossless": "1.2.840.10008.1.2.4.57",
    "jpeg-lossless-sv1": "1.2.840.10008.1.2.4.70",
    "jpeg-ls-lossless": "1.2.840.10008.1.2.4.80",
    "jpeg-ls-near-lossless": "1.2.840.10008.1.2.4.81",
    "jpeg2000-lossless": "1.2.840.10008.1.2.4.90",
    "jpeg2000": "1.2.840.10008.1.2.4.91",
    "htj2k-lossless": "1.2.840.10008.1.2.4.201",
    "htj2k-lossless-rpcl": "1.2.840.10008.1.2.4.202",
    "htj2k": "1.2.840.10008.1.2.4.203",
    "rle-lossless": "1.2.840.10008.1.2.5",
    "explicit-little": "1.2.840.10008.1.2.1",
}
NAME = {v: k for k, v in UID.items()}
HTJ2K = {UID["htj2k-lossless"], UID["htj2k-lossless-rpcl"], UID["htj2k"]}

# Every lossless output: (codec, parameters). 4.81 with near=0 is lossless.
LOSSLESS = [
    ("jpeg-lossless", ()), ("jpeg-lossless-sv1", ()), ("jpeg-ls-lossless", ()),
    ("jpeg-ls-near-lossless", ("near=0",)), ("jpeg2000-lossless", ()),
    ("htj2k-lossless", ()), ("htj2k-lossless-rpcl", ()), ("rle-lossless", ()),
    ("explicit-little", ()),
]
# Every lossy output as configured in these tests, with the floor its PSNR
# must reach on these images (dB), or for near-lossless the largest error.
# Floors: near-lossless must keep every sample within NEAR; jpeg2000 psnr=45
# within 1.5 dB of its target (OpenJPEG's rate control aims, it does not
# promise); the others' floors are what quality 90 / the automatic step give
# on these small synthetic frames with hard colour edges (4:2:2 chrominance)
# less a margin; rate=8 asks for a size, not a quality: only a sanity floor.
LOSSY = [
    ("jpeg-baseline", ("quality=90",), {"psnr": 30.0}),
    ("jpeg-extended", ("quality=90",), {"psnr": 30.0}),
    ("jpeg-ls-near-lossless", ("near=2",), {"max_error": 2}),
    ("jpeg2000", ("psnr=45",), {"psnr": 43.5}),
    ("jpeg2000", ("rate=8",), {"psnr": 25.0}),
    ("htj2k", ("qstep=auto",), {"psnr": 45.0}),
]
METHOD = {UID["jpeg-baseline"]: "ISO_10918_1", UID["jpeg-extended"]: "ISO_10918_1",
          UID["jpeg-ls-near-lossless"]: "ISO_14495_1", UID["jpeg2000"]: "ISO_15444_1",
          UID["htj2k"]: "ISO_15444_15"}


# pydicom test files that ferry must refuse whatever the output, and why.
CORPUS_REFUSED = {
    "badVR.dcm": "pixel data: (0028,0008) NumberOfFrames is not a positive number",  # "1A"
}

# Errors of dciodvfy (dicom3tools 2022) that the current standard does not
# make: the text it prints, and why it is not an error of the output.
DCIODVFY_DISAGREES = {
    "JPEG 2000 reversible transfer syntax is required to have PhotometricInterpretation of "
    "YBR_RCT - attribute <PhotometricInterpretation> = <YBR_FULL>":
        "PS3.5 8.2.4 allows YBR_FULL for JPEG 2000 coded without a component transform "
        "(applying RCT to YCbCr samples would make the data set claim RGB)",
    "JPEG 2000 irreversible transfer syntax is required to have PhotometricInterpretation of "
    "YBR_ICT - attribute <PhotometricInterpretation> = <YBR_FULL>":
        "PS3.5 8.2.4 allows YBR_FULL for JPEG 2000 coded without a component transform",
}


def supports(codec, g):
    """Whether `codec` is meant to code geometry g (the plugins' documented
    limits): a refusal is then a failure, and a refusal outside them must say
    why."""
    mono = g.spp == 1 and g.pi in ("MONOCHROME1", "MONOCHROME2")
    colour = g.spp == 3 and g.pi in ("RGB", "YBR_FULL", "YBR_FULL_422")
    if g.ba == 1 or (g.spp == 3 and g.pi == "YBR_FULL_422" and g.cols % 2):
        return False
    if codec == "explicit-little":
        return True
    if codec == "rle-lossless":
        return g.ba in (8, 16, 32) and (mono or colour or g.pi == "PALETTE COLOR")
    if g.ba not in (8, 16) or not (mono or colour):
        return False
    if codec.startswith("jpeg-ls"):
        return g.bs >= 2
    if codec == "jpeg-baseline":
        return g.ba == 8 and g.pr == 0
    if codec == "jpeg-extended":
        return g.pr == 0 and (g.ba == 8 or (g.bs <= 12 and g.spp == 1))
    return True


def psnr(a, b, bits):
    se = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if se == 0 else 10 * np.log10(((1 << bits) - 1) ** 2 / se)


def ybr_to_rgb(a):
    """YBR_FULL (PS3.3 C.7.6.3.1.2) to RGB, 8-bit."""
    y, cb, cr = (a[..., i].astype(np.float64) for i in range(3))
    r = y + 1.402 * (cr - 128)
    g = y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)
    b = y + 1.772 * (cb - 128)
    return np.clip(np.rint(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.int64)


class Test:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="ferry-transcode-")
        self.n = 0
        self.failures = []
        self.checks = 0
        self.vfy_cache = {}
        self.stats = {}
        self.told = set()

    # -- plumbing -------------------------------------------------------------

    def path(self, stem, suffix=".dcm"):
        self.n += 1
        return os.path.join(self.tmp, f"{self.n:04d}-{stem}{suffix}")

    def fail(self, what):
        print("FAIL:", what)
        self.failures.append(what)

    def count(self, key):
        self.stats[key] = self.stats.get(key, 0) + 1

    def ferry(self, codec, params, src, dst):
        argv = [self.args.ferry, "transcode", "--to", codec]
        for p in params:
            argv += ["--param", p]
        p = subprocess.run(argv + [src, dst], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, FERRY_PLUGIN_DIR=self.args.plugin_dir))
        return p.returncode, p.stdout.strip(), p.stderr.strip()

    def tool(self, *argv):
        p = subprocess.run(list(argv), capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, TCP_NODELAY="1"))
        if p.returncode != 0:
            raise DecodeError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
        return p

    def decode(self, path, keep_ybr=False, htj2k_with_opj=False):
        d = tempfile.mkdtemp(dir=self.tmp)
        try:
            return refdecode.decode(path, d, keep_ybr, htj2k_with_opj)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def dcmgen(self, stem, *argv):
        out = self.path(stem)
        subprocess.run([self.args.dcmgen, "image", "--out", out, *argv], check=True)
        return out

    # -- dciodvfy ---------------------------------------------------------------

    def vfy_errors(self, path):
        if path in self.vfy_cache:
            return self.vfy_cache[path]
        target = path
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        ts = str(ds.file_meta.TransferSyntaxUID)
        if ts == "1.2.840.10008.1.2.1.99":
            # dciodvfy cannot read a deflated data set: check it inflated.
            target = self.path("inflated")
            self.tool("dcmconv", "+te", path, target)
        elif ts in HTJ2K:
            # dciodvfy cannot read HTJ2K: check a copy that names an
            # encapsulated syntax it knows, of the same UID length.
            with open(path, "rb") as f:
                data = f.read()
            target = self.path("vfy")
            with open(target, "wb") as f:
                f.write(data.replace(ts.encode(), b"1.2.840.10008.1.2.4.102", 1))
        p = subprocess.run(["dciodvfy", target], capture_output=True, text=True, timeout=60)
        text = p.stdout + p.stderr
        errs = set()
        for line in text.splitlines():
            if line.startswith("Error") and "MPEG" not in line:
                errs.add(line.strip())
        if "Assertion `bitsallocated <= bytesinword*8u' failed" in text:
            # dicom3tools 2022 aborts on native pixel data of 32 bits
            # allocated (OW with 4-byte samples): nothing to compare.
            errs = "32"
        elif p.returncode < 0 or "Assertion" in text or "Dicom dataset read failed" in text:
            # It could not read the whole file: no list to compare with.
            errs = None
        self.vfy_cache[path] = errs
        return errs

    def check_vfy(self, src, out, what):
        if self.args.no_dciodvfy:
            return
        before, after = self.vfy_errors(src), self.vfy_errors(out)
        if after == "32" or before == "32":
            self.count("dciodvfy: native 32-bit pixel data it aborts on (not compared)")
            return
        if after is None:
            self.fail(f"{what}: dciodvfy cannot read the output")
            return
        if before is None:
            self.count("dciodvfy: inputs it cannot read (not compared)")
            return
        new = after - before
        self.count("dciodvfy comparisons")
        for e in sorted(new):
            why = next((w for k, w in DCIODVFY_DISAGREES.items() if k in e), None)
            if why:
                new.discard(e)
                self.count("dciodvfy errors where the 2022 dciodvfy is behind the standard")
                if why not in self.told:
                    self.told.add(why)
                    print(f"    note: {what}: dciodvfy says '{e}'; {why}")
        if new:
            self.fail(f"{what}: dciodvfy finds new errors: {sorted(new)}")

    # -- what every output must be ------------------------------------------------

    def check_encapsulation(self, out, what):
        """One fragment per frame and a Basic Offset Table that points at
        each (or an Extended Offset Table and an empty Basic one)."""
        ds = pydicom.dcmread(out)
        if str(ds.file_meta.TransferSyntaxUID) in refdecode.NATIVE:
            return ds
        n = refdecode.nframes(ds)
        data = ds.PixelData
        # Walk the items: (offset after the BOT item, length) of each.
        pos, items = 0, []
        while pos + 8 <= len(data):
            tag = int.from_bytes(data[pos:pos + 4], "little")
            length = int.from_bytes(data[pos + 4:pos + 8], "little")
            if tag != 0xE000FFFE:
                break
            items.append((pos, length))
            pos += 8 + length
        if len(items) != n + 1:
            self.fail(f"{what}: {len(items) - 1} fragments for {n} frames")
            return ds
        bot_len = items[0][1]
        first = items[1][0]
        offsets = [p - first for p, _ in items[1:]]
        if "ExtendedOffsetTable" in ds:
            eot = np.frombuffer(ds.ExtendedOffsetTable, "<u8").tolist()
            lens = np.frombuffer(ds.ExtendedOffsetTableLengths, "<u8").tolist()
            if bot_len != 0 or eot != offsets or any(
                    ln not in (items[i + 1][1], items[i + 1][1] - 1) for i, ln in enumerate(lens)):
                self.fail(f"{what}: Extended Offset Table {eot} / {lens} does not index "
                          f"{offsets}, or the Basic Offset Table is not empty")
            return ds
        bot = np.frombuffer(data[8:8 + bot_len], "<u4").tolist()
        if bot != offsets:
            self.fail(f"{what}: Basic Offset Table {bot}, fragments at {offsets}")
        return ds

    def same_pixels(self, ref, got, what, lossy_source=False):
        (rg, rf), (gg, gf) = ref, got
        if len(rf) != len(gf):
            self.fail(f"{what}: {len(gf)} frames decoded, {len(rf)} expected")
            return False
        for k, (a, b) in enumerate(zip(rf, gf)):
            self.checks += 1
            if a.shape != b.shape:
                self.fail(f"{what} frame {k}: shape {b.shape}, expected {a.shape}")
                return False
            if rg.pi != gg.pi and {rg.pi, gg.pi} <= {"RGB", "YBR_FULL"}:
                a = ybr_to_rgb(a) if rg.pi == "YBR_FULL" else a
                b = ybr_to_rgb(b) if gg.pi == "YBR_FULL" else b
            if not np.array_equal(a, b):
                d = int(np.abs(a - b).max())
                self.fail(f"{what} frame {k}: not bit-exact (max difference {d}, "
                          f"{int((a != b).sum())} samples differ)")
                return False
        return True

    def transcode_lossless(self, src, ref, codec, params, label, refuse=None):
        """src -> codec; the output decodes to ref; returns the output or None.
        refuse: the reason ferry must give for refusing this source."""
        g = ref[0]
        out = self.path(codec)
        rc, so, se = self.ferry(codec, params, src, out)
        what = f"{label} -> {codec} {' '.join(params)}".strip()
        if refuse:
            if rc == 0 or refuse not in se:
                self.fail(f"{what}: expected a refusal saying '{refuse}', got {rc}: {se}")
            else:
                self.count("refused as documented")
            return None
        if rc != 0:
            if supports(codec, self.src_geom(src)):
                self.fail(f"{what}: refused: {se}")
            else:
                self.count("refused as documented")
                if "encoder" not in se and "pixel data" not in se:
                    self.fail(f"{what}: refused without a reason that names the pixel data: {se}")
            return None
        if os.path.getsize(out) == 0:
            self.fail(f"{what}: empty output")
            return None
        if ", lossless," not in so:
            self.fail(f"{what}: ferry says: {so}")
        sds = pydicom.dcmread(src, stop_before_pixels=True)
        if str(sds.file_meta.TransferSyntaxUID) == UID[codec]:
            ds = pydicom.dcmread(out)  # passed through as it came
        else:
            ds = self.check_encapsulation(out, what)
        if str(ds.file_meta.TransferSyntaxUID) != UID[codec]:
            self.fail(f"{what}: written in {ds.file_meta.TransferSyntaxUID}")
        if ds.SOPInstanceUID != sds.SOPInstanceUID:
            self.fail(f"{what}: lossless, yet a new SOP Instance UID")
        if ds.file_meta.MediaStorageSOPInstanceUID != ds.SOPInstanceUID:
            self.fail(f"{what}: MediaStorageSOPInstanceUID differs from SOPInstanceUID")
        try:
            got = self.decode(out, keep_ybr=g.pi == "YBR_FULL")
        except DecodeError as e:
            self.fail(f"{what}: the independent decoder fails: {e}")
            return None
        if self.same_pixels(ref, got, what):
            self.count(f"bit-exact {codec}")
        self.check_vfy(src, out, what)
        return out

    def src_geom(self, path):
        return Geom.of(pydicom.dcmread(path, stop_before_pixels=True))

    # -- parts ------------------------------------------------------------------

    def images(self):
        """The generated corpus: (label, path)."""
        d = self.args
        spec = [
            ("8-bit 37x29 2 frames", ["--rows", "37", "--cols", "29", "--bits-allocated", "8",
                                      "--frames", "2"]),
            ("8-bit signed 31x17", ["--rows", "31", "--cols", "17", "--bits-allocated", "8",
                                    "--signed"]),
            ("8-bit MONOCHROME1 9x11", ["--rows", "9", "--cols", "11", "--bits-allocated", "8",
                                        "--photometric", "MONOCHROME1"]),
            ("8-bit 1x1", ["--rows", "1", "--cols", "1", "--bits-allocated", "8"]),
            ("12-bit 64x48 3 frames", ["--rows", "64", "--cols", "48", "--frames", "3"]),
            ("12-bit signed MONOCHROME1 33x35", ["--rows", "33", "--cols", "35", "--signed",
                                                 "--photometric", "MONOCHROME1"]),
            ("10-bit 13x9", ["--rows", "13", "--cols", "9", "--bits-stored", "10"]),
            ("16-bit 21x19", ["--rows", "21", "--cols", "19", "--bits-stored", "16"]),
            ("16-bit signed 25x23 2 frames", ["--rows", "25", "--cols", "23", "--bits-stored", "16",
                                              "--signed", "--frames", "2"]),
            ("RGB planar 0 33x17 2 frames", ["--rows", "33", "--cols", "17", "--bits-allocated",
                                             "8", "--spp", "3", "--frames", "2"]),
            ("RGB planar 1 19x21", ["--rows", "19", "--cols", "21", "--bits-allocated", "8",
                                    "--spp", "3", "--planar", "1"]),
            ("YBR_FULL planar 0 17x15", ["--rows", "17", "--cols", "15", "--bits-allocated", "8",
                                         "--spp", "3", "--photometric", "YBR_FULL"]),
            ("YBR_FULL planar 1 15x17 2 frames", ["--rows", "15", "--cols", "17",
                                                  "--bits-allocated", "8", "--spp", "3",
                                                  "--photometric", "YBR_FULL", "--planar", "1",
                                                  "--frames", "2"]),
            ("RGB 16-bit 11x13", ["--rows", "11", "--cols", "13", "--bits-stored", "16",
                                  "--spp", "3"]),
        ]
        out = [(label, self.dcmgen(label.split()[0], *argv)) for label, argv in spec]
        # Native YBR_FULL_422 (Y1 Y2 Cb Cr per pair), which dcmgen does not
        # write: from the YBR_FULL image, chrominance of each pair's first.
        out.append(("native YBR_FULL_422 16x10", self.make_422()))
        # A CT slice in every native syntax.
        for ts in ("explicit", "implicit", "big", "deflated"):
            ctdir = os.path.join(self.tmp, f"ct-{ts}")
            subprocess.run([d.dcmgen, "ct", "--slices", "1", "--rows", "96", "--cols", "80",
                            "--ts", ts, "--out", ctdir], check=True)
            out.append((f"CT slice ({ts})", os.path.join(ctdir, "CT000001.dcm")))
        return out

    def make_422(self):
        src = self.dcmgen("ybr", "--rows", "10", "--cols", "16", "--bits-allocated", "8",
                          "--spp", "3", "--photometric", "YBR_FULL")
        ds = pydicom.dcmread(src)
        a = np.frombuffer(ds.PixelData[:10 * 16 * 3], "u1").reshape(10, 8, 2, 3)
        packed = np.stack([a[:, :, 0, 0], a[:, :, 1, 0], a[:, :, 0, 1], a[:, :, 0, 2]], axis=-1)
        ds.PixelData = packed.tobytes()
        ds.PhotometricInterpretation = "YBR_FULL_422"
        out = self.path("ybr422")
        ds.save_as(out)
        return out

    def part_lossless(self):
        print("== lossless: generated images to every lossless syntax")
        for label, src in self.images():
            ref = self.decode(src)
            print(f"  {label}: {ref[0]}")
            for codec, params in LOSSLESS:
                self.transcode_lossless(src, ref, codec, params, label)

    def part_corpus(self):
        print("== corpus: pydicom's test files to every lossless syntax")
        d = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not name.endswith(".dcm"):
                continue
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=False)
                ts = str(ds.file_meta.TransferSyntaxUID)
                if "PixelData" not in ds or "Rows" not in ds:
                    continue
                g = Geom.of(ds)
                _ = refdecode.nframes(ds)
            except Exception:
                continue
            try:
                ref = self.decode(path)
            except DecodeError as e:
                print(f"  {name}: skipped, the independent decoder cannot read it either: "
                      f"{str(e)[-120:]}")
                self.count("corpus files skipped")
                continue
            print(f"  {name} ({NAME.get(ts, ts)}, {g})")
            self.count("corpus files")
            lossy_src = ts in (UID["jpeg-baseline"], UID["jpeg-extended"])
            for codec, params in LOSSLESS:
                out = self.transcode_lossless(path, ref, codec, params, name,
                                              CORPUS_REFUSED.get(name))
                if out and lossy_src:
                    o = pydicom.dcmread(out, stop_before_pixels=True)
                    if o.get("LossyImageCompression") != "01":
                        self.fail(f"{name} -> {codec}: decoded from lossy JPEG, yet "
                                  f"Lossy Image Compression is {o.get('LossyImageCompression')}")

    # -- the matrix -----------------------------------------------------------------

    def wrap(self, template, ts, frames, pi=None):
        """A DICOM file of template's attributes with these coded frames."""
        ds = pydicom.dcmread(template)
        ds.file_meta.TransferSyntaxUID = ts
        ds.PixelData = encapsulate([f + (b"\0" if len(f) % 2 else b"") for f in frames],
                                   has_bot=True)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        if pi:
            ds.PhotometricInterpretation = pi
        if "PlanarConfiguration" in ds:
            ds.PlanarConfiguration = 0
        ds.is_implicit_VR, ds.is_little_endian = False, True
        out = self.path("wrapped")
        ds.save_as(out, write_like_original=False)
        return out

    def pnm(self, frame, g):
        """One native frame as PGM/PPM (unsigned samples)."""
        maxval = (1 << g.bs) - 1
        kind = "P5" if g.spp == 1 else "P6"
        dt = ">u2" if maxval > 255 else "u1"
        body = frame.astype(dt).tobytes()
        out = self.path("frame", ".pgm" if g.spp == 1 else ".ppm")
        with open(out, "wb") as f:
            f.write(f"{kind}\n{g.cols} {g.rows}\n{maxval}\n".encode() + body)
        return out

    def foreign_sources(self, label, native):
        """native in each compressed syntax ferry decodes, coded by another
        encoder where one is at hand: [(syntax uid, maker, path)]."""
        g, frames = self.decode(native)
        out = []

        def dcmtk(tool, opts, ts):
            p = self.path("dcmtk")
            try:
                self.tool(tool, *opts, native, p)
                if str(pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) == ts:
                    out.append((ts, f"{tool} {' '.join(opts)}", p))
            except DecodeError as e:
                print(f"    ({tool} {' '.join(opts)} cannot make {NAME[ts]} of {label}: "
                      f"{str(e)[-80:]})")

        if g.ba == 8:
            dcmtk("dcmcjpeg", ["+eb"], UID["jpeg-baseline"])
        if g.spp == 1 or g.ba == 8:
            dcmtk("dcmcjpeg", ["+ee"], UID["jpeg-extended"])
        dcmtk("dcmcjpeg", ["+el"], UID["jpeg-lossless"])
        dcmtk("dcmcjpeg", ["+e1"], UID["jpeg-lossless-sv1"])
        dcmtk("dcmcjpls", ["+el"], UID["jpeg-ls-lossless"])
        dcmtk("dcmcjpls", ["+en", "+md", "2"], UID["jpeg-ls-near-lossless"])
        dcmtk("dcmcrle", [], UID["rle-lossless"])
        # JPEG 2000 by opj_compress, HTJ2K by ojph_compress, from PGM/PPM.
        pnms = [self.pnm(f, g) for f in frames]
        # resolutions: as many as halving the smaller side allows, up to 6
        res = str(min(6, min(g.rows, g.cols).bit_length()))
        for ts, argv_of, suffix, maker in (
                (UID["jpeg2000-lossless"],
                 lambda i, o: ["opj_compress", "-n", res, "-i", i, "-o", o], ".j2k",
                 "opj_compress"),
                (UID["jpeg2000"],
                 lambda i, o: ["opj_compress", "-n", res, "-r", "8", "-I", "-i", i, "-o", o],
                 ".j2k", "opj_compress -r 8 -I"),
                (UID["htj2k-lossless"],
                 lambda i, o: ["ojph_compress", "-reversible", "true", "-i", i, "-o", o], ".j2c",
                 "ojph_compress -reversible true"),
                (UID["htj2k"], lambda i, o: ["ojph_compress", "-qstep", "0.01", "-i", i, "-o", o],
                 ".j2c", "ojph_compress -qstep 0.01")):
            coded = []
            try:
                for p in pnms:
                    o = self.path("cs", suffix)
                    self.tool(*argv_of(p, o))
                    with open(o, "rb") as f:
                        coded.append(f.read())
            except DecodeError as e:
                print(f"    ({maker} cannot code {label}: {str(e)[-80:]})")
                continue
            pi = ("YBR_RCT" if "lossless" in NAME[ts] else "YBR_ICT") if g.spp == 3 else None
            out.append((ts, maker, self.wrap(native, ts, coded, pi)))
        # 4.202 needs TLM markers, which ojph_compress 0.9 cannot write: ferry's.
        p = self.path("ferry-rpcl")
        rc, _, se = self.ferry("htj2k-lossless-rpcl", (), native, p)
        if rc == 0:
            out.append((UID["htj2k-lossless-rpcl"], "ferry htj2k-lossless-rpcl", p))
        else:
            self.fail(f"matrix: ferry cannot make 4.202 of {label}: {se}")
        return out

    def part_matrix(self):
        print("== matrix: every compressed syntax ferry decodes, to every syntax it encodes")
        bases = [
            ("8-bit 29x23 2 frames", self.dcmgen("m8", "--rows", "29", "--cols", "23",
                                                 "--bits-allocated", "8", "--frames", "2")),
            ("12-bit 40x24", self.dcmgen("m12", "--rows", "40", "--cols", "24")),
            ("RGB 8-bit 23x17", self.dcmgen("mrgb", "--rows", "23", "--cols", "17",
                                            "--bits-allocated", "8", "--spp", "3")),
        ]
        targets = [(c, p) for c, p in LOSSLESS] + [(c, p) for c, p, _ in LOSSY[:4]] + \
                  [("htj2k", ("qstep=auto",))]
        floors = {(c, p): f for c, p, f in LOSSY}
        table = {}
        for label, native in bases:
            sources = self.foreign_sources(label, native)
            print(f"  {label}: " + "; ".join(f"{NAME[ts]} by {m}" for ts, m, _ in sources))
            for ts, maker, src in sources:
                try:
                    ref = self.decode(src)
                    if ts == UID["htj2k"]:
                        # Lossy HTJ2K: the pixels ferry works from are what
                        # OpenJPEG decodes; OpenJPH's 9/7 may differ by one.
                        opj = self.decode(src, htj2k_with_opj=True)
                        d = max(int(np.abs(a - b).max()) for a, b in zip(ref[1], opj[1]))
                        print(f"    {label} {NAME[ts]} ({maker}): ojph_expand and "
                              f"opj_decompress differ by at most {d}")
                        if d > 1:
                            self.fail(f"matrix {label} {NAME[ts]}: the two decoders differ by {d}")
                        ref = opj
                except DecodeError as e:
                    self.fail(f"matrix {label} {NAME[ts]} by {maker}: no reference decoding: {e}")
                    continue
                for codec, params in targets:
                    if UID[codec] == ts:
                        continue
                    key = (NAME[ts], codec, params)
                    out = self.path("m-" + codec)
                    rc, so, se = self.ferry(codec, params, src, out)
                    what = f"matrix {label}: {NAME[ts]} ({maker}) -> {codec} {' '.join(params)}"
                    if rc != 0:
                        if supports(codec, ref[0]):
                            self.fail(f"{what}: {se}")
                            table[key] = "FAIL"
                        else:
                            table.setdefault(key, "n/a")
                        continue
                    self.check_encapsulation(out, what)
                    try:
                        got = self.decode(out)
                    except DecodeError as e:
                        self.fail(f"{what}: the independent decoder fails: {e}")
                        table[key] = "FAIL"
                        continue
                    if (codec, params) in floors:
                        ok = self.lossy_within(ref, got, floors[(codec, params)], what, quiet=True)
                    else:
                        ok = self.same_pixels(ref, got, what)
                    self.check_vfy(src, out, what)
                    if table.get(key) != "FAIL":
                        table[key] = "ok" if ok else "FAIL"
        srcs = sorted({k[0] for k in table}, key=lambda n: UID[n])
        short = {}
        for c, p in targets:
            n = (c.replace("jpeg", "j").replace("-lossless", "-ll").replace("htj2k", "ht")
                 .replace("-near", "-nr").replace("explicit-little", "native")
                 .replace("-baseline", "-base").replace("-extended", "-ext"))
            if p:
                n += "(" + ",".join(x.split("=")[1] for x in p) + ")"
            short[(c, p)] = n
        print("\n  source \\ target: " + " ".join(short[t] for t in targets))
        for s in srcs:
            row = [table.get((s,) + t, "-") for t in targets]
            print(f"  {s:22s} " + " ".join(f"{v:>{len(short[t])}}" for v, t in zip(row, targets)))
        print("  (ok: decoded by the independent tool, bit-exact or within the lossy floor; "
              "n/a: geometry the codec does not code; -: same syntax)\n")

    # -- lossy -------------------------------------------------------------------------

    def lossy_within(self, ref, got, floor, what, quiet=False):
        (rg, rf), (gg, gf) = ref, got
        if len(rf) != len(gf):
            self.fail(f"{what}: {len(gf)} frames decoded, {len(rf)} expected")
            return False
        worst, maxerr = float("inf"), 0
        for a, b in zip(rf, gf):
            self.checks += 1
            if a.shape != b.shape:
                self.fail(f"{what}: shape {b.shape}, expected {a.shape}")
                return False
            if rg.pi != gg.pi and {rg.pi, gg.pi} <= {"RGB", "YBR_FULL"}:
                a = ybr_to_rgb(a) if rg.pi == "YBR_FULL" else a
                b = ybr_to_rgb(b) if gg.pi == "YBR_FULL" else b
            worst = min(worst, psnr(a, b, rg.bs))
            maxerr = max(maxerr, int(np.abs(a - b).max()))
        if not quiet:
            print(f"    {what}: PSNR {worst:.2f} dB, max error {maxerr}")
        if "psnr" in floor and worst < floor["psnr"]:
            self.fail(f"{what}: PSNR {worst:.2f} dB is below the floor {floor['psnr']} dB")
            return False
        if "max_error" in floor and maxerr > floor["max_error"]:
            self.fail(f"{what}: max error {maxerr} is above NEAR {floor['max_error']}")
            return False
        return True

    def check_lossy_attributes(self, src, out, codec, new_uid, what):
        s = pydicom.dcmread(src, stop_before_pixels=True)
        o = pydicom.dcmread(out, stop_before_pixels=True)
        errs = []
        if o.get("LossyImageCompression") != "01":
            errs.append(f"Lossy Image Compression {o.get('LossyImageCompression')}")

        def lst(ds, kw):
            v = ds.get(kw)
            return [] if v is None else [str(x) for x in (v if isinstance(v, pydicom.multival.MultiValue) else [v])]
        old_r, new_r = lst(s, "LossyImageCompressionRatio"), lst(o, "LossyImageCompressionRatio")
        old_m, new_m = lst(s, "LossyImageCompressionMethod"), lst(o, "LossyImageCompressionMethod")
        if new_r[:len(old_r)] != old_r or len(new_r) != len(old_r) + 1:
            errs.append(f"ratios {old_r} -> {new_r}: not appended")
        elif float(new_r[-1]) <= 1:
            errs.append(f"ratio {new_r[-1]}")
        if new_m != old_m + [METHOD[UID[codec]]]:
            errs.append(f"methods {old_m} -> {new_m}: not {METHOD[UID[codec]]} appended")
        if str(o.ImageType[0]) != "DERIVED":
            errs.append(f"Image Type {list(o.ImageType)}")
        if o.file_meta.MediaStorageSOPInstanceUID != o.SOPInstanceUID:
            errs.append("MediaStorageSOPInstanceUID is not the SOP Instance UID")
        old_items = len(s.get("SourceImageSequence", []))
        items = o.get("SourceImageSequence", [])
        if new_uid:
            if o.SOPInstanceUID == s.SOPInstanceUID:
                errs.append("the SOP Instance UID was kept")
            if len(items) != old_items + 1:
                errs.append(f"{len(items)} Source Image Sequence items (had {old_items})")
            else:
                it = items[-1]
                code = it.PurposeOfReferenceCodeSequence[0]
                if (it.ReferencedSOPInstanceUID != s.SOPInstanceUID
                        or it.ReferencedSOPClassUID != s.SOPClassUID
                        or (code.CodeValue, code.CodingSchemeDesignator) != ("121320", "DCM")):
                    errs.append("the Source Image Sequence does not point at the predecessor")
        else:
            if o.SOPInstanceUID != s.SOPInstanceUID:
                errs.append("lossy-new-uid=no, yet a new SOP Instance UID")
            if len(items) != old_items:
                errs.append("lossy-new-uid=no, yet a Source Image Sequence item")
        for e in errs:
            self.fail(f"{what}: {e}")
        if not errs:
            self.count("lossy attribute checks")

    def part_lossy(self):
        print("== lossy: independent decoding, PSNR against the floor, attributes")
        ct = os.path.join(self.tmp, "ct-lossy")
        subprocess.run([self.args.dcmgen, "ct", "--slices", "1", "--rows", "128", "--cols",
                        "128", "--out", ct], check=True)
        sources = [
            ("CT 128x128 12-bit", os.path.join(ct, "CT000001.dcm")),
            ("8-bit 64x48 2 frames", self.dcmgen("l8", "--rows", "64", "--cols", "48",
                                                 "--bits-allocated", "8", "--frames", "2")),
            ("RGB 8-bit 40x30", self.dcmgen("lrgb", "--rows", "40", "--cols", "30",
                                            "--bits-allocated", "8", "--spp", "3")),
            ("YBR_FULL 8-bit 31x20 planar 1", self.dcmgen("lybr", "--rows", "31", "--cols", "20",
                                                          "--bits-allocated", "8", "--spp", "3",
                                                          "--photometric", "YBR_FULL",
                                                          "--planar", "1")),
            ("16-bit signed 32x32", self.dcmgen("l16", "--rows", "32", "--cols", "32",
                                                "--bits-stored", "16", "--signed")),
        ]
        for label, src in sources:
            ref = self.decode(src)
            for codec, params, floor in LOSSY:
                g = ref[0]
                out = self.path("lossy")
                rc, so, se = self.ferry(codec, params, src, out)
                what = f"{label} -> {codec} {' '.join(params)}"
                if rc != 0:
                    if supports(codec, g) and not (codec.startswith("jpeg-ls") and g.pr):
                        self.fail(f"{what}: {se}")
                    else:
                        print(f"    {what}: refused: {se[-100:]}")
                    continue
                if ", lossy," not in so:
                    self.fail(f"{what}: ferry says: {so}")
                self.check_encapsulation(out, what)
                try:
                    got = self.decode(out, keep_ybr=g.pi == "YBR_FULL")
                except DecodeError as e:
                    self.fail(f"{what}: the independent decoder fails: {e}")
                    continue
                self.lossy_within(ref, got, floor, what)
                self.check_lossy_attributes(src, out, codec, True, what)
                self.check_vfy(src, out, what)
        # A second lossy step appends to the first's ratio and method; with
        # lossy-new-uid=no the instance keeps its UID.
        src = sources[0][1]
        first = self.path("lossy1")
        if self.ferry("jpeg2000", ("rate=10",), src, first)[0] != 0:
            self.fail("CT -> jpeg2000 rate=10 failed")
            return
        for new_uid in (True, False):
            second = self.path("lossy2")
            params = ("near=3",) if new_uid else ("near=3", "lossy-new-uid=no")
            rc, so, se = self.ferry("jpeg-ls-near-lossless", params, first, second)
            what = f"CT -> jpeg2000 -> jpeg-ls-near-lossless {' '.join(params)}"
            if rc != 0:
                self.fail(f"{what}: {se}")
                continue
            self.check_lossy_attributes(first, second, "jpeg-ls-near-lossless", new_uid, what)
            o = pydicom.dcmread(second, stop_before_pixels=True)
            print(f"    {what}: ratios {list(o.LossyImageCompressionRatio)}, methods "
                  f"{list(o.LossyImageCompressionMethod)}, UID "
                  f"{'new' if new_uid else 'kept'}")
            self.check_vfy(src, second, what)

    # -- refusals ------------------------------------------------------------------------

    def part_refuse(self):
        print("== refuse: geometry a codec cannot code")
        d = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
        g12 = self.dcmgen("r12", "--rows", "8", "--cols", "8")
        s8 = self.dcmgen("rs8", "--rows", "8", "--cols", "8", "--bits-allocated", "8", "--signed")
        rgb12 = self.dcmgen("rrgb12", "--rows", "8", "--cols", "8", "--bits-stored", "12",
                            "--spp", "3")
        hb = self.path("highbit")
        ds = pydicom.dcmread(g12)
        ds.HighBit = 15
        ds.save_as(hb)
        ba12 = self.path("ba12")
        ds = pydicom.dcmread(g12)
        ds.BitsAllocated = 12
        ds.save_as(ba12)
        cases = [
            (g12, "jpeg-baseline", (), "pixel data: frame 0: jpeg-baseline encoder: JPEG baseline: "
             "Bits Allocated/Stored 16/12 (it codes 8/8)"),
            (s8, "jpeg-baseline", (), "pixel data: frame 0: jpeg-baseline encoder: JPEG baseline: "
             "signed pixels (it codes unsigned)"),
            (rgb12, "jpeg-extended", (), "pixel data: frame 0: jpeg-extended encoder: 12-bit JPEG "
             "(process 4) is for monochrome images only"),
            (os.path.join(d, "SC_rgb_rle_32bit.dcm"), "jpeg-ls-lossless", (),
             "pixel data: frame 0: jpeg-ls-lossless encoder: JPEG-LS: Bits Allocated 32 is not "
             "supported (8 or 16)"),
            (os.path.join(d, "SC_rgb_rle_32bit.dcm"), "htj2k-lossless", (),
             "pixel data: frame 0: htj2k-lossless encoder: unsupported Bits Allocated 32 "
             "(this codec takes 8 16)"),
            (os.path.join(d, "liver_1frame.dcm"), "jpeg2000-lossless", (),
             "pixel data: Bits Allocated 1 is not supported (8, 16 or 32)"),
            (ba12, "rle-lossless", (), "pixel data: Bits Allocated 12 is not supported "
             "(8, 16 or 32)"),
            (hb, "jpeg-ls-lossless", (), "pixel data: High Bit 15 with Bits Stored 12: only "
             "samples whose High Bit is Bits Stored - 1 can be compressed"),
        ]
        for src, codec, params, expect in cases:
            out = self.path("refused")
            rc, so, se = self.ferry(codec, params, src, out)
            self.checks += 1
            label = f"{os.path.basename(src)} -> {codec}"
            want = f"ferry transcode: {src}: step 1 (compress {codec}): {expect}"
            if rc == 0:
                self.fail(f"{label}: accepted, expected: {expect}")
            elif se != want:
                self.fail(f"{label}: says\n      {se}\n    expected\n      {want}")
            elif os.path.exists(out):
                self.fail(f"{label}: refused, yet {out} was written")
            else:
                print(f"    {label}: {expect}")
                self.count("refusals with the expected text")
        # A syntax no plugin encodes: a usage error that lists what can be done.
        rc, so, se = self.ferry("jpeg-xl", (), g12, self.path("xl"))
        self.checks += 1
        if rc != 2 or "no loaded plugin encodes 'jpeg-xl'" not in se or "htj2k-lossless" not in se:
            self.fail(f"--to jpeg-xl: exit {rc}, {se}")
        # A codec failure on one frame: the job fails; on-failure:
        # uncompressed sends it natively.
        rc, so, se = self.ferry("jpeg-baseline", ("on-failure=uncompressed",), g12,
                                fb := self.path("fallback"))
        self.checks += 1
        if rc != 0 or "Explicit VR Little Endian" not in so or "it codes 8/8" not in se:
            self.fail(f"on-failure=uncompressed: exit {rc}: {so} {se}")
        else:
            self.same_pixels(self.decode(g12), self.decode(fb), "on-failure=uncompressed")

    # -- offset tables ----------------------------------------------------------------------

    def part_offsets(self):
        print("== offsets: Basic and Extended Offset Tables")
        src = self.dcmgen("o8", "--rows", "21", "--cols", "13", "--bits-allocated", "8",
                          "--frames", "4")
        ref = self.decode(src)
        for codec in ("jpeg-ls-lossless", "rle-lossless", "htj2k-lossless", "jpeg-lossless"):
            for mode in ("auto", "basic", "extended"):
                out = self.path(f"ot-{mode}")
                what = f"{codec} offset-table={mode}"
                rc, so, se = self.ferry(codec, (f"offset-table={mode}",), src, out)
                if rc != 0:
                    self.fail(f"{what}: {se}")
                    continue
                ds = self.check_encapsulation(out, what)
                has_eot = "ExtendedOffsetTable" in ds
                if has_eot != (mode == "extended"):
                    self.fail(f"{what}: Extended Offset Table {'present' if has_eot else 'absent'}")
                    continue
                if has_eot and ds["ExtendedOffsetTable"].VR != "OV":
                    self.fail(f"{what}: Extended Offset Table VR {ds['ExtendedOffsetTable'].VR}")
                # DCMTK (or OpenJPH) decodes it, pydicom finds the frames.
                try:
                    self.same_pixels(ref, self.decode(out), what)
                except DecodeError as e:
                    self.fail(f"{what}: {e}")
                self.check_vfy(src, out, what)
                if mode == "extended":
                    self.count("Extended Offset Table outputs")
                    # ferry reads it back (through the table) into another
                    # syntax, which drops the table of the old encoding.
                    again = self.path("ot-again")
                    rc, so, se = self.ferry("jpeg2000-lossless", (), out, again)
                    if rc != 0:
                        self.fail(f"{what} -> jpeg2000-lossless: {se}")
                        continue
                    a = self.check_encapsulation(again, what + " -> jpeg2000-lossless")
                    if "ExtendedOffsetTable" in a:
                        self.fail(f"{what} -> jpeg2000-lossless: the old Extended Offset Table "
                                  "was kept")
                    self.same_pixels(ref, self.decode(again), what + " -> jpeg2000-lossless")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--dcmgen", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--part", action="append",
                    choices=["lossless", "corpus", "matrix", "lossy", "refuse", "offsets"])
    ap.add_argument("--keep", action="store_true", help="keep the temporary files")
    ap.add_argument("--no-dciodvfy", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    for t in refdecode.TOOLS + ["dcmcjpeg", "dcmcjpls", "dcmcrle", "opj_compress",
                                "ojph_compress"] + ([] if args.no_dciodvfy else ["dciodvfy"]):
        if not shutil.which(t):
            print(f"SKIP: {t} is not installed")
            return 77
    t = Test(args)
    try:
        for part in args.part or ["lossless", "corpus", "matrix", "lossy", "refuse", "offsets"]:
            getattr(t, f"part_{part}")()
    finally:
        if args.keep:
            print(f"files kept in {t.tmp}")
        else:
            shutil.rmtree(t.tmp, ignore_errors=True)
    for k in sorted(t.stats):
        print(f"  {k}: {t.stats[k]}")
    print(f"{t.checks} checks, {len(t.failures)} failures")
    return 1 if t.failures or t.checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
