"""Reading pixels without ferry: the independent side of the transcode tests.

decode(path) gives the frames of any DICOM file as numpy arrays of sample
values (rows, columns, samples), read by Bits Stored and Pixel
Representation, through tools that share no code with ferry's plugins
where such tools exist:

  native syntaxes          pydicom's parser, the bytes read here
  JPEG 4.50 4.51 4.57 4.70 DCMTK dcmdjpeg
  JPEG-LS 4.80 4.81        DCMTK dcmdjpls
  RLE 1.2.5                DCMTK dcmdrle
  JPEG 2000 4.90 4.91      OpenJPEG opj_decompress, on each frame's codestream
  HTJ2K 4.201 4.202 4.203  OpenJPH ojph_expand, on each frame's codestream

(ferry decodes JPEG 2000 with OpenJPEG too: for 4.90/4.91 the independence
is the tool's, not the library's. ferry never decodes HTJ2K with OpenJPH.)
"""
import os
import subprocess

import numpy as np
import pydicom
from pydicom.encaps import generate_pixel_data_frame

# pydicom 2.3 predates HTJ2K: teach it the three syntaxes, so that it reads
# and writes such files as encapsulated.
try:
    import pydicom._uid_dict as _uids
    for _uid, _name, _kw in (
            ("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
             "HTJ2KLossless"),
            ("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image "
             "Compression (Lossless Only)", "HTJ2KLosslessRPCL"),
            ("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", "HTJ2K")):
        _uids.UID_dictionary.setdefault(_uid, (_name, "Transfer Syntax", "", "", _kw))
except ImportError:  # pragma: no cover
    pass

NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
          "1.2.840.10008.1.2.1.99"}
DCMTK = {"1.2.840.10008.1.2.4.50": "dcmdjpeg", "1.2.840.10008.1.2.4.51": "dcmdjpeg",
         "1.2.840.10008.1.2.4.57": "dcmdjpeg", "1.2.840.10008.1.2.4.70": "dcmdjpeg",
         "1.2.840.10008.1.2.4.80": "dcmdjpls", "1.2.840.10008.1.2.4.81": "dcmdjpls",
         "1.2.840.10008.1.2.5": "dcmdrle"}
J2K = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
HTJ2K = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
TOOLS = ["dcmdjpeg", "dcmdjpls", "dcmdrle", "opj_decompress", "ojph_expand"]


class DecodeError(Exception):
    pass


class Geom:
    """What a decoded frame is: enough to read its bytes and compare."""

    def __init__(self, rows, cols, spp, ba, bs, pr, pc, pi):
        self.rows, self.cols, self.spp, self.ba, self.bs = rows, cols, spp, ba, bs
        self.pr, self.pc, self.pi = pr, pc, pi

    @classmethod
    def of(cls, ds):
        return cls(int(ds.Rows), int(ds.Columns), int(ds.get("SamplesPerPixel", 1)),
                   int(ds.BitsAllocated), int(ds.get("BitsStored", ds.BitsAllocated)),
                   int(ds.get("PixelRepresentation", 0)),
                   int(ds.get("PlanarConfiguration", 0) or 0),
                   str(ds.get("PhotometricInterpretation", "MONOCHROME2")))

    def frame_bytes(self):
        if self.ba == 1:
            return (self.rows * self.cols * self.spp + 7) // 8
        n = self.rows * self.cols * self.ba // 8
        if self.spp == 3 and self.pi == "YBR_FULL_422":
            return n * 2
        return n * self.spp

    def __str__(self):
        return (f"{self.rows}x{self.cols} spp{self.spp} {self.ba}/{self.bs} "
                f"{'signed' if self.pr else 'unsigned'} pc{self.pc} {self.pi}")


def values(raw, g, big_endian=False):
    """One native frame's bytes as int64 (rows, cols, spp), by Bits Stored;
    native YBR_FULL_422 is expanded to one chrominance pair per pixel."""
    if g.ba == 1:  # bits packed from the least significant (PS3.5 8.1.1)
        bits = np.unpackbits(np.frombuffer(raw, "u1"), bitorder="little")
        return bits[:g.rows * g.cols * g.spp].astype(np.int64).reshape(g.rows, g.cols, g.spp)
    dt = {8: "u1", 16: "u2", 32: "u4"}[g.ba]
    dt = (">" if big_endian else "<") + dt
    a = np.frombuffer(raw[:g.frame_bytes()], dtype=dt).astype(np.int64)
    a &= (1 << g.bs) - 1
    if g.pr:
        a = np.where(a >= (1 << (g.bs - 1)), a - (1 << g.bs), a)
    if g.spp == 3 and g.pi == "YBR_FULL_422":
        q = a.reshape(g.rows, g.cols // 2, 4)
        out = np.empty((g.rows, g.cols, 3), dtype=np.int64)
        out[:, 0::2, 0], out[:, 1::2, 0] = q[:, :, 0], q[:, :, 1]
        for c in (1, 2):
            out[:, 0::2, c] = out[:, 1::2, c] = q[:, :, c + 1]
        return out
    if g.spp > 1 and g.pc == 1:
        return a.reshape(g.spp, g.rows, g.cols).transpose(1, 2, 0)
    return a.reshape(g.rows, g.cols, g.spp)


def nframes(ds):
    try:
        return int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        return 1


def read_native(path):
    ds = pydicom.dcmread(path)
    g = Geom.of(ds)
    big = str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.2"
    raw = bytes(ds.PixelData)
    n = nframes(ds)
    fb = g.frame_bytes()
    if len(raw) < n * fb:
        raise DecodeError(f"{path}: {len(raw)} bytes of pixel data for {n} frames of {fb}")
    # Big endian OB (8-bit) is a byte stream; OW words are swapped.
    if big and g.ba == 32:
        # pydicom writes 32-bit samples of OW big endian, DCMTK (and ferry)
        # read 16-bit words: the retired syntax leaves it open.
        raise DecodeError(f"{path}: 32-bit samples in Explicit VR Big Endian OW are read "
                          "differently by pydicom and DCMTK")
    swap = big and g.ba > 8
    if g.ba == 1 and n > 1:
        raise DecodeError(f"{path}: multi-frame 1-bit pixel data is not read here")
    frames = [values(raw[i * fb:(i + 1) * fb], g, swap) for i in range(n)]
    if g.spp == 3 and g.pi == "YBR_FULL_422":
        g.pi = "YBR_FULL"  # what values() made of it
    return g, frames


def run(argv, tmp):
    p = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, TCP_NODELAY="1"),
                       cwd=tmp, timeout=120)
    if p.returncode != 0:
        raise DecodeError(f"{' '.join(argv)}: exit {p.returncode}: {(p.stderr or p.stdout).strip()[-300:]}")
    return p


def frames_of(ds):
    return list(generate_pixel_data_frame(ds.PixelData, nframes(ds)))


def codestream(data):
    """The J2K codestream of a frame: a bare one, or the one in a JP2 file's
    contiguous codestream box (some writers put whole JP2 files in DICOM)."""
    at = data.find(b"\xff\x4f\xff\x51")
    if at < 0:
        raise DecodeError("no J2K codestream (SOC, SIZ) in the frame")
    return data[at:]


def unsigned_siz(cs):
    """A copy of a J2K codestream whose SIZ says every component is unsigned,
    and the bit depth of each: ojph_expand 0.9 writes negative samples as 0,
    and decoding signed data as unsigned only adds 2^(B-1) to every sample
    (the DC level shift is the one thing signedness changes)."""
    b = bytearray(cs)
    if b[0:4] != b"\xff\x4f\xff\x51":
        raise DecodeError("codestream does not start with SOC, SIZ")
    ncomp = int.from_bytes(b[40:42], "big")
    depths = []
    for c in range(ncomp):
        s = b[42 + 3 * c]
        depths.append(((s & 0x7F) + 1, bool(s & 0x80)))
        b[42 + 3 * c] = s & 0x7F
    return bytes(b), depths


def decode_j2k(path, ds, g, tmp, htj2k, use_opj):
    out_frames = []
    for k, data in enumerate(frames_of(ds)):
        cs = codestream(data)
        src = os.path.join(tmp, f"ref{k}.j2c")
        unsigned_cs, depths = unsigned_siz(cs)
        if htj2k and use_opj:
            htj2k = False  # OpenJPEG decodes HT code-blocks as well
        if htj2k:
            cs = unsigned_cs
            # .yuv: planes; ojph_expand writes 3 components only as .ppm
            dst = os.path.join(tmp, f"ref{k}.yuv" if g.spp == 1 else f"ref{k}.ppm")
        else:
            dst = os.path.join(tmp, f"ref{k}.rawl")
        with open(src, "wb") as f:
            f.write(cs)
        if os.path.exists(dst):
            os.unlink(dst)
        if htj2k:
            run(["ojph_expand", "-i", src, "-o", dst], tmp)
        else:
            run(["opj_decompress", "-quiet", "-i", src, "-o", dst], tmp)
        with open(dst, "rb") as f:
            raw = f.read()
        bits = max(d for d, _ in depths)
        bytes_per = 1 if bits <= 8 else 2
        n = g.rows * g.cols * g.spp
        if dst.endswith(".ppm"):
            # P6 header, then colour-by-pixel samples, 16-bit ones big endian
            parts = raw.split(b"\n", 3)
            raw = parts[3]
            a = np.frombuffer(raw, dtype=">u2" if bytes_per == 2 else "u1").astype(np.int64)
            if a.size != n:
                raise DecodeError(f"{path} frame {k}: the tool wrote {a.size} samples, "
                                  f"expected {n}")
            a = a.reshape(g.rows * g.cols, g.spp).T.copy()
        else:
            # Each component a plane: bytes up to 8 bits, 16-bit little
            # endian words above.
            if len(raw) != n * bytes_per:
                raise DecodeError(f"{path} frame {k}: the tool wrote {len(raw)} bytes, "
                                  f"expected {n * bytes_per}")
            a = np.frombuffer(raw, dtype="<u2" if bytes_per == 2 else "u1").astype(np.int64)
            a = a.reshape(g.spp, g.rows * g.cols).copy()
        for c, (prec, signed) in enumerate(depths):
            if not signed:
                continue
            if htj2k:
                # decoded as unsigned: every sample 2^(B-1) too high
                a[c] -= 1 << (prec - 1)
            else:
                # opj_decompress writes a signed sample's low B bits
                a[c] &= (1 << prec) - 1
                a[c] = np.where(a[c] >= (1 << (prec - 1)), a[c] - (1 << prec), a[c])
        # The data set says how to read the samples' bits (a codestream whose
        # signedness disagrees with Pixel Representation holds the same bits).
        a &= (1 << g.bs) - 1
        if g.pr:
            a = np.where(a >= (1 << (g.bs - 1)), a - (1 << g.bs), a)
        out_frames.append(a.reshape(g.spp, g.rows, g.cols).transpose(1, 2, 0).copy())
    return out_frames


def decode(path, tmp, keep_ybr=False, htj2k_with_opj=False):
    """(Geom, [frames]) of the file at path, by a tool independent of ferry.
    keep_ybr: DCMTK leaves YCbCr JPEG as it is instead of converting it to
    RGB (to compare with a YBR_FULL source). htj2k_with_opj: HTJ2K through
    opj_decompress (the library ferry decodes with) instead of ojph_expand:
    two 9/7 decoders may differ by one grey level."""
    try:
        ds = pydicom.dcmread(path)
        ts = str(ds.file_meta.TransferSyntaxUID)
    except Exception as e:
        raise DecodeError(f"{path}: pydicom cannot read it: {e}")
    if "PixelData" not in ds:
        raise DecodeError(f"{path}: no pixel data")
    if ts in NATIVE:
        return read_native(path)
    if ts in DCMTK:
        out = os.path.join(tmp, "ref-native.dcm")
        opts = ["+cn"] if keep_ybr and DCMTK[ts] == "dcmdjpeg" else []
        run([DCMTK[ts], *opts, path, out], tmp)
        return read_native(out)
    if ts in J2K or ts in HTJ2K:
        g = Geom.of(ds)
        if g.spp == 3 and g.pi in ("YBR_RCT", "YBR_ICT"):
            g.pi = "RGB"  # the decoder undoes the component transform
        g.pc = 0
        return g, decode_j2k(path, ds, g, tmp, ts in HTJ2K, htj2k_with_opj)
    raise DecodeError(f"{path}: no independent decoder for {ts}")
