#!/usr/bin/python3
"""Write the seed corpora of the codec fuzz targets (tests/fuzz/codecs/corpus/*):
small frames encoded by our plugins, each behind the 8-byte geometry header
that fuzz_frame.h reads. Run from the source tree after a build:

  tests/fuzz/codecs/make_codec_seeds.py build/tests/codec_tool build/plugins
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MONO = ["MONOCHROME2", "MONOCHROME1", "PALETTE_COLOR"]
COLOUR = ["RGB", "YBR_FULL", "YBR_FULL_422"]
BITS = {8: 0, 16: 1, 32: 2}


def header(rows, cols, spp, ba, bs, pr, pc, ph, codec):
    flags = (spp == 3) | (pr << 1) | (pc << 2) | (BITS[ba] << 3)
    index = (COLOUR if spp == 3 else MONO).index(ph)
    return bytes([(rows - 1) & 255, (rows - 1) >> 8, (cols - 1) & 255, (cols - 1) >> 8, flags,
                  bs - 1, index, codec])


def main(tool, plugins):
    seeds = {
        "rle_decode": ("rle.so", "rle-lossless", 0, [
            ((8, 8, 1, 8, 8, 0, 0, "MONOCHROME2"), 0, ()),
            ((5, 7, 1, 16, 12, 1, 0, "MONOCHROME2"), 300, ()),
            ((4, 6, 3, 8, 8, 0, 0, "RGB"), 20, ()),
            ((3, 3, 3, 32, 32, 0, 1, "RGB"), 1000, ()),
            ((16, 16, 1, 16, 16, 0, 0, "MONOCHROME1"), 5000, ()),
            ((2, 130, 1, 8, 8, 0, 0, "MONOCHROME2"), 0, ()),
        ]),
        "jpegls_decode": ("jpegls.so", "jpeg-ls-lossless", 0, [
            ((8, 8, 1, 8, 8, 0, 0, "MONOCHROME2"), 10, ()),
            ((16, 12, 1, 16, 12, 1, 0, "MONOCHROME2"), 200, ()),
            ((9, 7, 3, 8, 8, 0, 0, "RGB"), 20, ()),
            ((9, 7, 3, 8, 8, 0, 1, "RGB"), 20, ()),
            ((6, 5, 1, 16, 8, 0, 0, "MONOCHROME2"), 30, ()),
            ((12, 12, 1, 16, 16, 0, 0, "MONOCHROME2"), 3000, ("near=2",)),
        ]),
        "jpeg_decode": ("jpeg.so", "jpeg-baseline", 0, [
            ((16, 16, 1, 8, 8, 0, 0, "MONOCHROME2"), 10, ("quality=90",)),
            ((17, 9, 3, 8, 8, 0, 0, "RGB"), 10, ("subsampling=422",)),
            ((8, 8, 3, 8, 8, 0, 1, "RGB"), 10, ("subsampling=444",)),
            ((16, 16, 3, 8, 8, 0, 0, "YBR_FULL"), 10, ("subsampling=420", "quality=50")),
            ((3, 3, 3, 8, 8, 0, 0, "RGB"), 0, ()),
        ]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for target, (plugin, codec, _, cases) in seeds.items():
            out_dir = os.path.join(HERE, "corpus", target)
            os.makedirs(out_dir, exist_ok=True)
            for n, (geom, noise, params) in enumerate(cases):
                g = ",".join(map(str, geom))
                raw, enc = os.path.join(tmp, "in.raw"), os.path.join(tmp, "out.bin")
                subprocess.run([tool, "synth", g, str(n + 1), str(noise), raw], check=True)
                name = "jpeg-ls-near-lossless" if any(p.startswith("near") for p in params) \
                    else codec
                p = subprocess.run([tool, "encode", os.path.join(plugins, plugin), name, g, raw,
                                    enc, *params], check=True, capture_output=True, text=True)
                f = p.stdout.split()[0].split(",")
                eg = list(map(int, f[:7])) + [f[7]]
                index = 1 if name == "jpeg-ls-near-lossless" else 0
                with open(enc, "rb") as fh:
                    data = fh.read()
                label = f"{eg[0]}x{eg[1]}-s{eg[2]}-{eg[3]}-{eg[4]}-pr{eg[5]}-pc{eg[6]}-{eg[7]}"
                with open(os.path.join(out_dir, f"seed-{n:02d}-{label}"), "wb") as fh:
                    fh.write(header(*eg, index) + data)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
