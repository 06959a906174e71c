#!/usr/bin/python3
"""perf/transcode: one run of ferry's compression over a CT series, beside
the bare libraries and DCMTK's command-line tools. Not a test.

  perf/transcode/run.py [--build build] [--series DIR] [--slices 400]
                        [--reps 3] [--files N] [--skip-files] [--only SUBSTR]

Steps (all on the same frames: `dcmgen ct --slices 400`, 512x512, 12 of 16
bits, unsigned):
  1. bench_codecs and bench_codecs_j2k on the raw frames: each codec plugin
     against the bare library it wraps (CharLS, OpenJPEG, OpenJPH, DCMTK's IJG
     codecs, libjpeg-turbo), frame by frame, alternating;
  2. bench_transcode on the files: ferry's pipeline (work_pipeline_run, what a
     route's compress step runs) against the plugin's own encode/decode;
  3. whole files, as an administrator would run them: `ferry transcode` and
     DCMTK's dcmcjpls / dcmcjpeg / dcmcrle (and dcmdjpls / dcmdjpeg /
     dcmdrle back), one process per file, CPU time (user + system) of each.
Every figure is a median (over frames or files, and repetitions); MB is
10^6 bytes of native pixels; "per core" means bytes / CPU seconds.

The wrapper overhead printed in the summary is ferry's pipeline against the
bare library: (pipeline / plugin) x (plugin / bare) - 1, each ratio measured
within one process with the two alternating, so that load from the other
users of the machine moves both sides.
"""
import argparse
import glob
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

FRAME = 512 * 512 * 2

# syntax label, codec, ferry params, bench_codecs label, bench_codecs_j2k label,
# DCMTK compressor argv, DCMTK decompressor
SYNTAXES = [
    ("4.80 JPEG-LS lossless", "jpeg-ls-lossless", [], "jpeg-ls lossless", None,
     ["dcmcjpls"], "dcmdjpls", "jpeg-ls-lossless (4.80)"),
    ("4.81 JPEG-LS near=2", "jpeg-ls-near-lossless", ["near=2"], "jpeg-ls near=2", None,
     ["dcmcjpls", "+en", "+md", "2"], "dcmdjpls", "jpeg-ls near=2 (4.81)"),
    ("4.57 JPEG lossless", "jpeg-lossless", ["predictor=6"], None, "jpeg-lossless (4.57)",
     ["dcmcjpeg", "+el"], "dcmdjpeg", "jpeg-lossless (4.57)"),
    ("4.70 JPEG lossless SV1", "jpeg-lossless-sv1", [], None, "jpeg-lossless-sv1 (4.70)",
     ["dcmcjpeg"], "dcmdjpeg", "jpeg-lossless-sv1 (4.70)"),
    ("4.51 JPEG 12-bit q90", "jpeg-extended", ["quality=90"], None, "jpeg-extended q90 (4.51)",
     ["dcmcjpeg", "+ee"], "dcmdjpeg", "jpeg-extended q90 (4.51)"),
    ("4.90 JPEG 2000 lossless", "jpeg2000-lossless", [], None, "jpeg2000-lossless (4.90)",
     None, None, "jpeg2000-lossless (4.90)"),
    ("4.91 JPEG 2000 rate 10", "jpeg2000", ["rate=10"], None, "jpeg2000 rate 10 (4.91)",
     None, None, "jpeg2000 rate=10 (4.91)"),
    ("4.201 HTJ2K lossless", "htj2k-lossless", [], None, "htj2k-lossless (4.201)",
     None, None, "htj2k-lossless (4.201)"),
    ("4.202 HTJ2K RPCL", "htj2k-lossless-rpcl", [], None, "htj2k-lossless-rpcl (4.202)",
     None, None, "htj2k-lossless-rpcl (4.202)"),
    ("4.203 HTJ2K qstep auto", "htj2k", [], None, "htj2k qstep auto (4.203)",
     None, None, "htj2k qstep=auto (4.203)"),
    ("1.2.5 RLE", "rle-lossless", [], "rle lossless", None,
     ["dcmcrle"], "dcmdrle", "rle-lossless (1.2.5)"),
]
LOSSLESS_AIM_RATIO = 2.5
AIMS_MBS = {"4.80 JPEG-LS lossless": 70.0, "4.201 HTJ2K lossless": 150.0,
            "4.202 HTJ2K RPCL": 150.0}


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv[:3])}...: exit {p.returncode}: {p.stderr.strip()[-400:]}")
    return p.stdout


def cpu_of(argv, env=None):
    """CPU seconds (user + system) of one process run to completion."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_RDWR)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execvpe(argv[0], argv, env or os.environ)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)}: failed")
    return ru.ru_utime + ru.ru_stime


def parse_bench_codecs(text):
    """label -> (ratio, enc plugin, enc bare, dec plugin, dec bare) MB/s"""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(.+?)\s+([\d.]+) \|\s+([\d.]+)\s+([\d.]+)\s+\S+ \|\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            out[m.group(1).strip()] = tuple(float(m.group(i)) for i in range(2, 7))
    return out


def parse_bench_j2k(text):
    """label -> (ratio, enc plugin, enc bare, dec plugin, dec bare, ojph dec)"""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"(.+?) (encode|decode)\s+plugin\s+([\d.]+) MB/s\s+(\S+)\s+([\d.]+) MB/s"
                     r".*ratio\s+([\d.]+)", line)
        if not m:
            continue
        label, way, plug, bare_name, bare, ratio = m.groups()
        r = rows.setdefault(label.strip(), {"ratio": float(ratio)})
        if way == "decode" and bare_name == "OpenJPH" and "htj2k" in label:
            r["ojph_dec"] = float(bare)
            r["ojph_dec_plugin"] = float(plug)
        else:
            r[way] = (float(plug), float(bare))
    return {k: (v["ratio"], *v["encode"], *v["decode"], v.get("ojph_dec"))
            for k, v in rows.items() if "encode" in v and "decode" in v}


def parse_bench_transcode(text):
    """label -> (ratio, enc pipe, enc plugin, dec pipe, dec plugin)"""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(.+?\))\s+([\d.]+) \|\s+([\d.]+)\s+([\d.]+)\s+\S+ \|\s+([\d.]+)\s+([\d.]+)",
                     line)
        if m:
            out[m.group(1).strip()] = tuple(float(m.group(i)) for i in range(2, 7))
    return out


def whole_files(args, files, tmp, syntax):
    """Per-file CPU seconds: ferry transcode and the DCMTK tool, both ways."""
    label, codec, params, _, _, dcmtk_c, dcmtk_d, _ = syntax
    ferry = os.path.join(args.build, "bin", "ferry")
    env = dict(os.environ, FERRY_PLUGIN_DIR=os.path.join(args.build, "plugins"),
               TCP_NODELAY="1")
    times = {"ferry_c": [], "dcmtk_c": [], "ferry_d": [], "dcmtk_d": []}
    sizes = {"ferry": 0, "dcmtk": 0}
    fo, do_ = os.path.join(tmp, "f.dcm"), os.path.join(tmp, "d.dcm")
    fn, dn = os.path.join(tmp, "fn.dcm"), os.path.join(tmp, "dn.dcm")
    fargs = [x for p in params for x in ("--param", p)]
    for k, f in enumerate(files):
        order = (0, 1) if k % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                times["ferry_c"].append(cpu_of([ferry, "transcode", "--to", codec, *fargs, f, fo], env))
            else:
                times["dcmtk_c"].append(cpu_of([*dcmtk_c, f, do_], env))
        sizes["ferry"] += os.path.getsize(fo)
        sizes["dcmtk"] += os.path.getsize(do_)
        for which in order:
            if which == 0:
                times["ferry_d"].append(cpu_of([ferry, "transcode", "--to", "explicit-little", fo, fn], env))
            else:
                times["dcmtk_d"].append(cpu_of([dcmtk_d, do_, dn], env))
    return {k: statistics.median(v) for k, v in times.items()}, sizes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--series", default="/tmp/ferry-perf-ct400")
    ap.add_argument("--slices", type=int, default=400)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--files", type=int, default=0,
                    help="whole-file comparison on every Nth file only (0: all)")
    ap.add_argument("--skip-files", action="store_true")
    ap.add_argument("--only", help="syntaxes whose label contains this")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    syntaxes = [s for s in SYNTAXES if not args.only or args.only in s[0]]

    files = sorted(glob.glob(os.path.join(args.series, "CT*.dcm")))
    if len(files) != args.slices:
        shutil.rmtree(args.series, ignore_errors=True)
        run([os.path.join(args.build, "tests", "dcmgen"), "ct", "--slices", str(args.slices),
             "--out", args.series])
        files = sorted(glob.glob(os.path.join(args.series, "CT*.dcm")))
    tmp = tempfile.mkdtemp(prefix="ferry-perf-")
    try:
        # dcmgen writes Pixel Data last, native, unpadded: a frame is the
        # file's last 512 KiB.
        raws = []
        for i, f in enumerate(files):
            with open(f, "rb") as fp:
                fp.seek(-FRAME, os.SEEK_END)
                data = fp.read()
            raws.append(os.path.join(tmp, f"{i:04d}.raw"))
            with open(raws[-1], "wb") as fp:
                fp.write(data)
        env = dict(os.environ, FERRY_BUILD_DIR=args.build)
        print(f"series: {len(files)} slices of 512x512, 16 bits allocated, 12 stored "
              f"({args.series}); {args.reps} passes; load average {os.getloadavg()[0]:.1f}",
              flush=True)

        bc, bj = {}, {}
        if any(s[3] for s in syntaxes):
            t = run([os.path.join(args.build, "bin", "bench_codecs"), "--reps", str(args.reps),
                     "--raw", "512,512,1,16,12,0,0,MONOCHROME2", *raws], env=env)
            print("\n== bench_codecs (plugin against CharLS / our RLE core)\n" + t, flush=True)
            bc = parse_bench_codecs(t)
        j2k_labels = [s[4] for s in syntaxes if s[4]]
        if j2k_labels:
            t = run([os.path.join(args.build, "perf", "bench_codecs_j2k"), "--reps",
                     str(args.reps), "--raw", *raws], env=env)
            print("== bench_codecs_j2k (plugin against OpenJPEG / OpenJPH / DCMTK)\n" + t,
                  flush=True)
            bj = parse_bench_j2k(t)
        bt = {}
        for s in syntaxes:
            t = run([os.path.join(args.build, "perf", "bench_transcode"), "--reps",
                     str(args.reps), "--only", s[7], *files], env=env)
            if not bt:
                print("== bench_transcode (ferry's pipeline against the plugin)")
                print("\n".join(t.splitlines()[:2]))
            print(t.splitlines()[-1], flush=True)
            bt.update(parse_bench_transcode(t))

        wf = {}
        if not args.skip_files:
            subset = files[::args.files] if args.files else files
            print(f"\n== whole files, one process each, {len(subset)} files "
                  "(median CPU ms per file: compress, decompress)", flush=True)
            for s in syntaxes:
                if not s[5]:
                    continue
                t, sizes = whole_files(args, subset, tmp, s)
                wf[s[0]] = (t, sizes)
                print(f"  {s[0]:24s} ferry {1000 * t['ferry_c']:6.1f} {1000 * t['ferry_d']:6.1f}"
                      f"  {' '.join(s[5]):18s} {1000 * t['dcmtk_c']:6.1f} "
                      f"{s[6]} {1000 * t['dcmtk_d']:6.1f}   output bytes ferry/DCMTK "
                      f"{sizes['ferry'] / sizes['dcmtk']:.3f}", flush=True)

        print("\n== summary (MB/s per core; overhead: ferry's pipeline against the bare "
              "library)")
        hdr = (f"{'syntax':24s} {'ratio':>6s} | {'enc ferry':>9s} {'bare':>7s} {'ovh':>6s} | "
               f"{'dec ferry':>9s} {'bare':>7s} {'ovh':>6s} | {'file c/d ferry/DCMTK':>20s}")
        print(hdr)
        print("-" * len(hdr))
        notes = []
        for s in syntaxes:
            label = s[0]
            pipe = bt.get(s[7])
            lib = bc.get(s[3]) if s[3] else bj.get(s[4])
            if not pipe or not lib:
                print(f"{label:24s} (missing figures)")
                continue
            ratio, enc_pipe, enc_plug, dec_pipe, dec_plug = pipe
            enc_ovh = (enc_plug / enc_pipe) * (lib[2] / lib[1]) - 1
            dec_ovh = (dec_plug / dec_pipe) * (lib[4] / lib[3]) - 1
            files_col = ""
            if label in wf:
                t, _ = wf[label]
                files_col = f"{t['ferry_c'] / t['dcmtk_c']:.2f} / {t['ferry_d'] / t['dcmtk_d']:.2f}"
            print(f"{label:24s} {ratio:6.2f} | {enc_pipe:9.1f} {lib[2]:7.1f} {100 * enc_ovh:+5.1f}% | "
                  f"{dec_pipe:9.1f} {lib[4]:7.1f} {100 * dec_ovh:+5.1f}% | {files_col:>20s}")
            if label in AIMS_MBS and enc_pipe < AIMS_MBS[label]:
                notes.append(f"{label}: {enc_pipe:.1f} MB/s encoding, under the {AIMS_MBS[label]:.0f} "
                             f"MB/s aim; the bare library reaches {lib[2]:.1f}")
            if "lossless" in label.lower() or "RPCL" in label or "RLE" in label:
                if ratio < LOSSLESS_AIM_RATIO:
                    notes.append(f"{label}: lossless ratio {ratio:.2f}, under {LOSSLESS_AIM_RATIO}")
            if max(enc_ovh, dec_ovh) > 0.05:
                notes.append(f"{label}: overhead {100 * max(enc_ovh, dec_ovh):+.1f}% over 5%")
            if s[4] and "htj2k" in s[4] and len(lib) > 5 and lib[5]:
                notes.append(f"{label}: decoding is OpenJPEG's ({lib[4]:.1f} MB/s bare); "
                             f"OpenJPH decodes the same frames at {lib[5]:.1f} MB/s, but is not "
                             "used for data from the network (perf/codecs-j2k/README.md)")
        print("\nfile c/d: CPU time per file of `ferry transcode` over the DCMTK tool's, "
              "compressing / decompressing (1.00 = the same)")
        for n in notes:
            print("note:", n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
