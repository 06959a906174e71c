#!/usr/bin/python3
"""Interop of ferry's codec plugins with DCMTK, an independent implementation.

  ours->dcmtk   frames encoded by our plugin, wrapped in DICOM files with
                pydicom, decoded by dcmdjpls / dcmdjpeg / dcmdrle: lossless
                gives back exactly our input; lossy gives what our decoder gives.
  dcmtk->ours   files made with pydicom, compressed by dcmcjpls / dcmcjpeg /
                dcmcrle (several of their options), decoded by our plugin:
                equal to DCMTK's own decompression (and, lossless, to the input).
  corpus        pydicom's test files in our transfer syntaxes, decoded by our
                plugin, equal to DCMTK's decompression.

Usage: interop_codecs.py --tool codec_tool --plugin-dir DIR --codec jpegls|jpeg|rle
Exit 0 all passed, 1 a comparison failed, 77 skipped (no DCMTK or pydicom).
"""
import argparse
import os
import warnings
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate, generate_pixel_data_frame
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
except ImportError as e:  # pragma: no cover
    print(f"SKIP: python3 without pydicom/numpy ({e})")
    sys.exit(77)

TS = {
    "jpeg-ls-lossless": "1.2.840.10008.1.2.4.80",
    "jpeg-ls-near-lossless": "1.2.840.10008.1.2.4.81",
    "jpeg-baseline": "1.2.840.10008.1.2.4.50",
    "jpeg-extended-8bit": "1.2.840.10008.1.2.4.51",
    "rle-lossless": "1.2.840.10008.1.2.5",
}
OURS = {v: k for k, v in TS.items()}
PLUGIN = {"jpegls": "jpegls.so", "jpeg": "jpeg.so", "rle": "rle.so"}
DECOMPRESS = {"jpegls": "dcmdjpls", "jpeg": "dcmdjpeg", "rle": "dcmdrle"}
COMPRESS = {"jpegls": "dcmcjpls", "jpeg": "dcmcjpeg", "rle": "dcmcrle"}
SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage


class Geom:
    def __init__(self, rows, cols, spp, ba, bs, pr, pc, photometric):
        self.rows, self.cols, self.spp = rows, cols, spp
        self.ba, self.bs, self.pr, self.pc = ba, bs, pr, pc
        self.photometric = photometric

    @classmethod
    def parse(cls, text):
        f = text.split(",")
        return cls(*map(int, f[:7]), f[7].replace("_", " "))

    @classmethod
    def of(cls, ds):
        return cls(int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel), int(ds.BitsAllocated),
                   int(ds.BitsStored), int(ds.PixelRepresentation),
                   int(ds.get("PlanarConfiguration", 0) or 0), str(ds.PhotometricInterpretation))

    def arg(self):
        return ",".join(map(str, [self.rows, self.cols, self.spp, self.ba, self.bs, self.pr,
                                  self.pc])) + "," + self.photometric.replace(" ", "_")

    def frame_bytes(self):
        return self.rows * self.cols * self.spp * self.ba // 8

    def __str__(self):
        return (f"{self.rows}x{self.cols} s{self.spp} {self.ba}/{self.bs} pr{self.pr} "
                f"pc{self.pc} {self.photometric}")


def values(raw, g):
    """Frame bytes as an int64 array (rows, cols, spp), read by Bits Stored."""
    dt = {8: "<u1", 16: "<u2", 32: "<u4"}[g.ba]
    a = np.frombuffer(raw[:g.frame_bytes()], dtype=dt).astype(np.int64)
    a &= (1 << g.bs) - 1
    if g.pr:
        a = np.where(a >= (1 << (g.bs - 1)), a - (1 << g.bs), a)
    if g.spp > 1 and g.pc == 1:
        return a.reshape(g.spp, g.rows, g.cols).transpose(1, 2, 0)
    return a.reshape(g.rows, g.cols, g.spp)


def psnr(a, b, bits):
    se = float(np.mean((a - b).astype(np.float64) ** 2))
    return float("inf") if se == 0 else 10 * np.log10(((1 << bits) - 1) ** 2 / se)


class Run:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="ferry-interop-")
        self.n = 0
        self.failures = []
        self.checks = 0
        self.batch = None
        self.errlog = None

    def path(self, suffix):
        self.n += 1
        return os.path.join(self.tmp, f"f{self.n}{suffix}")

    def fail(self, what):
        print("FAIL:", what)
        self.failures.append(what)

    def tool(self, *argv, ok=(0,)):
        """One codec_tool command through the batch process: (status, stdout line)."""
        if self.batch is None:
            self.errlog = open(os.path.join(self.tmp, "codec_tool.err"), "w+")
            self.batch = subprocess.Popen([self.args.tool, "batch"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self.errlog, text=True)
        pos = self.errlog.tell()
        self.batch.stdin.write(" ".join(argv) + "\n")
        self.batch.stdin.flush()
        out = self.batch.stdout.readline()
        if not out:
            raise RuntimeError(f"codec_tool died on: {' '.join(argv)}")
        status = int(out.split()[1]) if out.startswith("status ") else 0
        self.errlog.seek(pos)
        err = self.errlog.read().strip()
        if status not in ok:
            raise RuntimeError(f"codec_tool {' '.join(argv)}: {status} {err}")
        return status, (err if status else out.strip())

    def close(self):
        if self.batch is not None:
            self.batch.stdin.close()
            rc = self.batch.wait(timeout=60)
            self.errlog.close()
            self.batch = None
            if rc != 0:
                self.fail(f"codec_tool batch exited with {rc}")

    def synth(self, g, seed, noise):
        out = self.path(".raw")
        self.tool("synth", g.arg(), str(seed), str(noise), out)
        with open(out, "rb") as f:
            return f.read()

    def encode(self, codec, g, raw, params=()):
        src, dst = self.path(".raw"), self.path(".bin")
        with open(src, "wb") as f:
            f.write(raw)
        _, out = self.tool("encode", self.plugin(), codec, g.arg(), src, dst, *params)
        geom, lossy = out.split()
        with open(dst, "rb") as f:
            return f.read(), Geom.parse(geom), int(lossy)

    def decode(self, codec, g, data):
        """Our decode: (raw, geometry) or (None, message) when ENOTSUP."""
        src, dst = self.path(".bin"), self.path(".raw")
        with open(src, "wb") as f:
            f.write(data)
        status, out = self.tool("decode", self.plugin(), codec, g.arg(), src, dst, ok=(0, 4))
        if status == 4:
            return None, out
        with open(dst, "rb") as f:
            return f.read(), Geom.parse(out.split()[0])

    def plugin(self):
        return os.path.join(self.args.plugin_dir, PLUGIN[self.args.codec])

    def dcmtk(self, tool, *argv):
        env = dict(os.environ, TCP_NODELAY="1")
        p = subprocess.run([tool, *argv], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(argv)}: {p.returncode} {p.stderr.strip()}")

    # -- DICOM files --------------------------------------------------------

    def dataset(self, g, ts, frames):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = SC
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ts
        ds = Dataset()
        ds.file_meta = meta
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.SOPClassUID, ds.SOPInstanceUID = SC, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.Modality, ds.PatientName, ds.PatientID = "OT", "Interop^Test", "INTEROP"
        ds.Rows, ds.Columns, ds.SamplesPerPixel = g.rows, g.cols, g.spp
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = g.ba, g.bs, g.bs - 1
        ds.PixelRepresentation, ds.PhotometricInterpretation = g.pr, g.photometric
        if g.spp > 1:
            ds.PlanarConfiguration = g.pc
        if len(frames) > 1:
            ds.NumberOfFrames = len(frames)
        if ts == ExplicitVRLittleEndian:
            ds.PixelData = b"".join(frames)
            ds["PixelData"].VR = "OB" if g.ba == 8 else "OW"
        else:
            ds.PixelData = encapsulate([f + (b"\0" if len(f) % 2 else b"") for f in frames],
                                       has_bot=True)
            ds["PixelData"].VR = "OB"
            ds["PixelData"].is_undefined_length = True
        path = self.path(".dcm")
        ds.save_as(path, write_like_original=False)
        return path

    def dcmtk_decompress(self, path):
        out = self.path(".dcm")
        self.dcmtk(DECOMPRESS[self.args.codec], path, out)
        ds = pydicom.dcmread(out)
        g = Geom.of(ds)
        n = int(ds.get("NumberOfFrames", 1) or 1)
        data = bytes(ds.PixelData)
        return [data[i * g.frame_bytes():(i + 1) * g.frame_bytes()] for i in range(n)], g

    # -- the three parts ------------------------------------------------------

    def geometries(self):
        c = self.args.codec
        colours = [(1, 0, "MONOCHROME2"), (1, 0, "MONOCHROME1"), (3, 0, "RGB"), (3, 1, "RGB")]
        sizes = [(1, 1), (3, 5), (67, 129), (256, 255)]
        if c == "jpeg":
            bits = [(8, 8, 0)]
        elif c == "jpegls":
            bits = [(8, 8, 0), (8, 8, 1), (16, 12, 0), (16, 12, 1), (16, 16, 0), (16, 16, 1)]
        else:
            bits = [(8, 8, 0), (8, 8, 1), (16, 12, 0), (16, 12, 1), (16, 16, 0), (16, 16, 1),
                    (32, 32, 0)]
        for ba, bs, pr in bits:
            for spp, pc, ph in colours:
                for rows, cols in sizes:
                    yield Geom(rows, cols, spp, ba, bs, pr, pc, ph)

    def ours_to_dcmtk(self):
        c = self.args.codec
        variants = {"jpegls": [("jpeg-ls-lossless", ()), ("jpeg-ls-near-lossless", ("near=3",))],
                    "jpeg": [("jpeg-baseline", ("quality=90", "subsampling=422")),
                             ("jpeg-baseline", ("quality=75", "subsampling=420")),
                             ("jpeg-baseline", ("quality=95", "subsampling=444"))],
                    "rle": [("rle-lossless", ())]}[c]
        seed = 0
        for g in self.geometries():
            for noisy in (0, 1):
                if noisy and g.rows < 67:
                    continue  # tiny frames: smooth only (the unit suites do the rest)
                for codec, params in variants:
                    if codec == "jpeg-ls-near-lossless" and (noisy == 0 or g.rows < 67):
                        continue
                    if c == "jpeg" and g.rows < 67 and params[0] != "quality=90":
                        continue
                    seed += 1
                    noise = ((1 << min(g.bs, 24)) // 4) if noisy else 0
                    if c == "jpeg" and noisy:
                        noise = 12
                    # two frames: a multi-frame file with a filled BOT
                    frames = [self.synth(g, seed * 10 + k, noise) for k in range(2)]
                    try:
                        enc = [self.encode(codec, g, f, params) for f in frames]
                    except RuntimeError as e:
                        # Signed samples at the ends of their range: near-lossless
                        # would wrap them around, and our encoder refuses (-ERANGE).
                        if codec == "jpeg-ls-near-lossless" and g.pr and "error -34:" in str(e):
                            print(f"  {codec} {g}: refused as it should: {str(e)[-90:]}")
                            continue
                        raise
                    eg, lossy = enc[0][1], enc[0][2]
                    path = self.dataset(eg, TS[codec], [e[0] for e in enc])
                    try:
                        back, bg = self.dcmtk_decompress(path)
                    except RuntimeError as e:
                        # near-lossless on signed data at the range ends may be refused
                        self.fail(f"ours->dcmtk {codec} {params} {g}: {e}")
                        continue
                    for k in range(2):
                        self.checks += 1
                        want = values(frames[k], g)
                        got = values(back[k], bg)
                        if not lossy:
                            if not np.array_equal(want, got):
                                self.fail(f"ours->dcmtk {codec} {g} frame {k}: DCMTK decodes "
                                          f"other pixels (max diff "
                                          f"{int(np.abs(want - got).max())})")
                            continue
                        ours, og = self.decode(codec, eg, enc[k][0])
                        mine = values(ours, og)
                        diff = int(np.abs(mine - got).max())
                        err = int(np.abs(want - got).max())
                        # Lossy: DCMTK must decode exactly what our decoder does
                        # (near-lossless also stays within NEAR of the input).
                        ok = diff == 0 and (codec != "jpeg-ls-near-lossless" or err <= 3)
                        if k == 0 and g.rows >= 67:
                            print(f"  {codec} {' '.join(params)} {g} noise {noise}: DCMTK vs ours "
                                  f"max diff {diff}, PSNR vs input {psnr(want, got, g.bs):.2f} dB")
                        if not ok:
                            self.fail(f"ours->dcmtk {codec} {params} {g} frame {k}: DCMTK and "
                                      f"our decoder differ by {diff}, input by {err}")

    def dcmtk_to_ours(self):
        c = self.args.codec
        options = {"jpegls": [[], ["+is"], ["+in"], ["+iv"], ["+en", "+md", "2"],
                              ["+fs", "1"], ["+pz"]],
                   "jpeg": [["+eb"], ["+eb", "+s4"], ["+eb", "+n2"], ["+eb", "+cr"],
                            ["+eb", "+q", "50"], ["+ee"], ["+eb", "+fs", "1"]],
                   "rle": [[]]}[c]
        geoms = []
        for g in self.geometries():
            if g.rows in (67, 256):
                geoms.append(g)
        if c == "jpeg":  # 12-bit extended is not ours: -ENOTSUP
            geoms.append(Geom(64, 64, 1, 16, 12, 0, 0, "MONOCHROME2"))
        seed = 1000
        for g in geoms:
            for opts in options:
                if g.rows == 256 and opts is not options[0]:
                    continue  # the large frames with the default options only
                seed += 1
                noise = 12 if c == "jpeg" else (1 << min(g.bs, 24)) // 8
                frames = [self.synth(g, seed * 10 + k, noise) for k in range(2)]
                src = self.dataset(g, ExplicitVRLittleEndian, frames)
                comp = self.path(".dcm")
                try:
                    self.dcmtk(COMPRESS[c], *opts, src, comp)
                except RuntimeError as e:
                    if g.pr and (c == "jpeg" or "+en" in opts):
                        # lossy JPEG or near-lossless JPEG-LS of signed data:
                        # DCMTK refuses, as ferry does (-ERANGE / -ENOTSUP)
                        continue
                    self.fail(f"dcmtk->ours {COMPRESS[c]} {opts} {g}: {e}")
                    continue
                ds = pydicom.dcmread(comp)
                ts = str(ds.file_meta.TransferSyntaxUID)
                cg = Geom.of(ds)
                try:
                    ref, rg = self.dcmtk_decompress(comp)
                except RuntimeError as e:
                    print(f"  {COMPRESS[c]} {' '.join(opts)} {g}: DCMTK cannot decode its own "
                          f"output ({str(e)[-60:]}); comparing ours with the input only")
                    ref, rg = None, None
                for k, data in enumerate(generate_pixel_data_frame(ds.PixelData, 2)):
                    self.checks += 1
                    codec = OURS.get(ts)
                    if codec is None:
                        self.fail(f"dcmtk->ours {opts} {g}: DCMTK wrote {ts}")
                        break
                    ours, og = self.decode(codec, cg, data)
                    if ours is None:
                        if cg.bs > 8 and c == "jpeg":
                            print(f"  {' '.join(opts)} {g}: not ours, as expected: {og}")
                            continue
                        self.fail(f"dcmtk->ours {opts} {g}: {og}")
                        continue
                    mine = values(ours, og)
                    if ref is None:
                        if not np.array_equal(mine, values(frames[k], g)):
                            self.fail(f"dcmtk->ours {opts} {g} frame {k}: not the input")
                        continue
                    theirs = values(ref[k], rg)
                    diff = int(np.abs(mine - theirs).max())
                    tol = 0  # libjpeg-turbo and DCMTK's IJG code agree to the bit
                    if k == 0 and (c != "rle" or g.rows == 256):
                        print(f"  {COMPRESS[c]} {' '.join(opts)} {g} ({cg.photometric}): ours vs "
                              f"DCMTK max diff {diff}")
                    if diff > tol:
                        self.fail(f"dcmtk->ours {opts} {g} frame {k}: ours and DCMTK differ by "
                                  f"{diff}")
                    lossless = ts in (TS["jpeg-ls-lossless"], TS["rle-lossless"])
                    if lossless and not np.array_equal(mine, values(frames[k], g)):
                        self.fail(f"dcmtk->ours {opts} {g} frame {k}: lossless, not the input")

    def corpus(self):
        d = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
        mine = {TS[k] for k in TS if PLUGIN[self.args.codec].startswith(
            {"jpeg-ls-lossless": "jpegls", "jpeg-ls-near-lossless": "jpegls",
             "jpeg-baseline": "jpeg.", "jpeg-extended-8bit": "jpeg.",
             "rle-lossless": "rle"}[k])}
        for name in sorted(os.listdir(d)):
            if not name.endswith(".dcm"):
                continue
            path = os.path.join(d, name)
            try:
                ds = pydicom.dcmread(path)
                ts = str(ds.file_meta.TransferSyntaxUID)
            except Exception:
                continue
            if ts not in mine or "PixelData" not in ds:
                continue
            g = Geom.of(ds)
            n = int(ds.get("NumberOfFrames", 1) or 1)
            try:
                ref, rg = self.dcmtk_decompress(path)
            except RuntimeError as e:
                print(f"  corpus {name}: DCMTK cannot decode it either ({e})")
                continue
            for k, data in enumerate(generate_pixel_data_frame(ds.PixelData, n)):
                self.checks += 1
                ours, og = self.decode(OURS[ts], g, data)
                if ours is None:
                    print(f"  corpus {name} frame {k}: not ours: {og}")
                    continue
                diff = int(np.abs(values(ours, og) - values(ref[k], rg)).max())
                tol = 0
                if k == 0:
                    print(f"  corpus {name} ({g}): ours vs DCMTK max diff {diff}")
                if diff > tol:
                    self.fail(f"corpus {name} frame {k}: ours and DCMTK differ by {diff}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--codec", required=True, choices=sorted(PLUGIN))
    ap.add_argument("--part", action="append", choices=["ours", "dcmtk", "corpus"])
    ap.add_argument("--keep", action="store_true", help="keep the temporary files")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # pydicom's notes on the corpus's odd files
    for t in (DECOMPRESS[args.codec], COMPRESS[args.codec]):
        if not shutil.which(t):
            print(f"SKIP: {t} (DCMTK) not installed")
            return 77
    run = Run(args)
    try:
        parts = args.part or ["ours", "dcmtk", "corpus"]
        if "ours" in parts:
            print(f"== ours -> DCMTK ({args.codec})")
            run.ours_to_dcmtk()
        if "dcmtk" in parts:
            print(f"== DCMTK -> ours ({args.codec})")
            run.dcmtk_to_ours()
        if "corpus" in parts:
            print(f"== pydicom corpus ({args.codec})")
            run.corpus()
    finally:
        run.close()
        if not args.keep:
            shutil.rmtree(run.tmp, ignore_errors=True)
    print(f"{run.checks} frames compared, {len(run.failures)} failures")
    return 1 if run.failures or run.checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
