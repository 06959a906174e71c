/* Benchmark of the j2k, htj2k and jpegll codec plugins against the bare
 * libraries they wrap (OpenJPEG 2.5, OpenJPH 0.9, DCMTK 3.6.7 dcmjpeg), on
 * synthetic CT-like 512x512 frames (16 bits allocated, 12 stored,
 * unsigned; or 16 stored, signed with --signed).
 *
 * For every codec and direction it prints the median MB/s per core (raw
 * frame bytes / CPU seconds of the process, so other load on the machine
 * does not count) through the plugin and through the bare library, the
 * wrapper overhead (plugin time / bare time - 1, medians) and the
 * compression ratio. Plugin and bare runs alternate frame by frame, and
 * which of them goes first alternates too.
 *
 *   bench_codecs_j2k [--frames N] [--reps R] [--threads T] [--signed] [--only SUBSTR]
 *                    [--raw FILE...]
 *
 * --raw takes the frames from files of 512x512 16-bit little-endian samples
 * (12 stored unsigned, or 16 signed with --signed) instead, e.g. a CT series
 * dumped to raw by perf/transcode/run.py.
 *
 * Not a test: run by hand from the build directory (FERRY_BUILD_DIR=build). */
#include "j2k-private.h"
#include "plugin_harness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <openjpeg.h>

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_params.h>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmjpeg/djcparam.h"
#include "dcmtk/dcmjpeg/djdijg12.h"
#include "dcmtk/dcmjpeg/djdijg16.h"
#include "dcmtk/dcmjpeg/djeijg12.h"
#include "dcmtk/dcmjpeg/djeijg16.h"
#include "dcmtk/dcmjpeg/djutils.h"

namespace {

const uint32_t W = 512, H = 512;
const uint32_t J2K_DEFAULT_THREADS_FOR_BENCH = J2K_DEFAULT_THREADS; /* j2k-private.h */
bool g_signed = false;
uint32_t g_threads = 1;

double cpu_now()
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return NAN;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* --- CT-like frames -------------------------------------------------- */

struct rng {
    uint64_t s;
    double uniform()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return (double)(s >> 11) * (1.0 / 9007199254740992.0);
    }
    double gauss()
    {
        double u = uniform() + 1e-12, v = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(2 * M_PI * v);
    }
};

bool in_ellipse(double x, double y, double cx, double cy, double a, double b)
{
    double dx = (x - cx) / a, dy = (y - cy) / b;
    return dx * dx + dy * dy <= 1.0;
}

/* One axial slice: air around a body (fat rim, soft tissue with texture,
 * two lungs, a vertebra, vessels) and 12 HU of Gaussian noise; stored as HU
 * + 1024 in 12 unsigned bits, or as HU in 16 signed bits. */
std::vector<uint8_t> ct_frame(int slice)
{
    std::vector<uint8_t> f(W * H * 2);
    rng r{0x9e3779b97f4a7c15ull ^ (uint64_t)(slice + 1) * 0x100000001b3ull};
    double s = 1.0 + 0.04 * std::sin(slice * 0.3);
    double cx = W / 2.0, cy = H / 2.0 + 10;
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            double hu = -1000;
            if (in_ellipse(x, y, cx, cy, 210 * s, 160 * s)) {
                hu = -90; /* fat */
                if (in_ellipse(x, y, cx, cy, 196 * s, 146 * s)) {
                    hu = 40 + 15 * std::sin(x * 0.05 + slice) * std::cos(y * 0.045);
                    if (in_ellipse(x, y, cx - 85 * s, cy - 20, 70 * s, 95 * s) ||
                        in_ellipse(x, y, cx + 85 * s, cy - 20, 70 * s, 95 * s))
                        hu = -850 + 40 * std::sin(x * 0.2) * std::sin(y * 0.17);
                    if (in_ellipse(x, y, cx, cy + 105 * s, 28, 24))
                        hu = in_ellipse(x, y, cx, cy + 105 * s, 18, 15) ? 300 : 1100;
                    if (in_ellipse(x, y, cx + 20, cy + 30, 14, 14))
                        hu = 180; /* aorta with contrast */
                }
            }
            hu += 12 * r.gauss();
            int v = (int)std::lround(hu);
            uint16_t u;
            if (g_signed) {
                v = std::max(-32768, std::min(32767, v));
                u = (uint16_t)(int16_t)v;
            } else {
                v = std::max(0, std::min(4095, v + 1024));
                u = (uint16_t)v;
            }
            f[2 * (y * W + x)] = (uint8_t)u;
            f[2 * (y * W + x) + 1] = (uint8_t)(u >> 8);
        }
    return f;
}

struct ferry_frame ct_geometry()
{
    struct ferry_frame g;
    memset(&g, 0, sizeof g);
    g.size = sizeof g;
    g.rows = H;
    g.columns = W;
    g.samples_per_pixel = 1;
    g.bits_allocated = 16;
    g.bits_stored = g_signed ? 16 : 12;
    g.high_bit = (uint16_t)(g.bits_stored - 1);
    g.pixel_representation = g_signed ? 1 : 0;
    snprintf(g.photometric, sizeof g.photometric, "MONOCHROME2");
    return g;
}

/* --- bare OpenJPEG ---------------------------------------------------- */

struct mem {
    std::vector<uint8_t> buf;
    size_t pos = 0;
    size_t len = 0;
};

OPJ_SIZE_T m_read(void *b, OPJ_SIZE_T n, void *u)
{
    mem *m = (mem *)u;
    if (m->pos >= m->len)
        return (OPJ_SIZE_T)-1;
    size_t k = std::min(n, m->len - m->pos);
    memcpy(b, m->buf.data() + m->pos, k);
    m->pos += k;
    return k;
}
OPJ_SIZE_T m_write(void *b, OPJ_SIZE_T n, void *u)
{
    mem *m = (mem *)u;
    if (m->pos + n > m->buf.size())
        m->buf.resize(std::max(m->buf.size() * 2, m->pos + n));
    memcpy(m->buf.data() + m->pos, b, n);
    m->pos += n;
    m->len = std::max(m->len, m->pos);
    return n;
}
OPJ_OFF_T m_skip(OPJ_OFF_T n, void *u)
{
    mem *m = (mem *)u;
    m->pos += n;
    return n;
}
OPJ_BOOL m_seek(OPJ_OFF_T p, void *u)
{
    ((mem *)u)->pos = (size_t)p;
    return OPJ_TRUE;
}
void quiet(const char *, void *) {}

/* lossy: ratio > 0 */
size_t opj_bare_encode(const std::vector<uint8_t> &f, float ratio)
{
    const struct ferry_frame g = ct_geometry();
    opj_image_cmptparm_t cp;
    memset(&cp, 0, sizeof cp);
    cp.dx = cp.dy = 1;
    cp.w = W;
    cp.h = H;
    cp.prec = g.bits_stored;
    cp.sgnd = g.pixel_representation;
    opj_image_t *img = opj_image_create(1, &cp, OPJ_CLRSPC_GRAY);
    img->x1 = W;
    img->y1 = H;
    const uint16_t *s = (const uint16_t *)f.data();
    OPJ_INT32 *d = img->comps[0].data;
    for (size_t i = 0; i < (size_t)W * H; i++)
        d[i] = g_signed ? (int16_t)s[i] : s[i];
    opj_cparameters_t p;
    opj_set_default_encoder_parameters(&p);
    p.tcp_numlayers = 1;
    p.cp_disto_alloc = 1;
    p.tcp_rates[0] = ratio > 0 ? ratio : 0;
    p.irreversible = ratio > 0;
    opj_codec_t *c = opj_create_compress(OPJ_CODEC_J2K);
    opj_set_error_handler(c, quiet, NULL);
    opj_set_warning_handler(c, quiet, NULL);
    opj_set_info_handler(c, quiet, NULL);
    opj_setup_encoder(c, &p, img);
    if (g_threads > 1)
        opj_codec_set_threads(c, (int)g_threads);
    mem m;
    m.buf.resize(64 * 1024);
    opj_stream_t *st = opj_stream_create(64 * 1024, OPJ_FALSE);
    opj_stream_set_user_data(st, &m, NULL);
    opj_stream_set_write_function(st, m_write);
    opj_stream_set_skip_function(st, m_skip);
    opj_stream_set_seek_function(st, m_seek);
    if (!opj_start_compress(c, img, st) || !opj_encode(c, st) || !opj_end_compress(c, st))
        abort();
    opj_stream_destroy(st);
    opj_destroy_codec(c);
    opj_image_destroy(img);
    return m.len;
}

void opj_bare_decode(const std::vector<uint8_t> &cs, uint8_t *out)
{
    mem m;
    m.buf = cs;
    m.len = cs.size();
    opj_codec_t *c = opj_create_decompress(OPJ_CODEC_J2K);
    opj_set_error_handler(c, quiet, NULL);
    opj_set_warning_handler(c, quiet, NULL);
    opj_set_info_handler(c, quiet, NULL);
    opj_dparameters_t dp;
    opj_set_default_decoder_parameters(&dp);
    opj_setup_decoder(c, &dp);
    if (g_threads > 1)
        opj_codec_set_threads(c, (int)g_threads);
    opj_stream_t *st = opj_stream_create(64 * 1024, OPJ_TRUE);
    opj_stream_set_user_data(st, &m, NULL);
    opj_stream_set_user_data_length(st, m.len);
    opj_stream_set_read_function(st, m_read);
    opj_stream_set_skip_function(st, m_skip);
    opj_stream_set_seek_function(st, m_seek);
    opj_image_t *img = NULL;
    if (!opj_read_header(st, c, &img) || !opj_decode(c, st, img) || !opj_end_decompress(c, st))
        abort();
    const OPJ_INT32 *d = img->comps[0].data;
    uint16_t *o = (uint16_t *)out;
    for (size_t i = 0; i < (size_t)W * H; i++)
        o[i] = (uint16_t)d[i];
    opj_image_destroy(img);
    opj_stream_destroy(st);
    opj_destroy_codec(c);
}

/* --- bare OpenJPH ------------------------------------------------------ */

size_t ojph_bare_encode(const std::vector<uint8_t> &f, bool rpcl, float qstep)
{
    const struct ferry_frame g = ct_geometry();
    ojph::codestream cs;
    ojph::param_siz siz = cs.access_siz();
    siz.set_image_extent(ojph::point(W, H));
    siz.set_num_components(1);
    siz.set_component(0, ojph::point(1, 1), g.bits_stored, g_signed);
    siz.set_tile_size(ojph::size(W, H));
    ojph::param_cod cod = cs.access_cod();
    cod.set_num_decomposition(5);
    cod.set_block_dims(64, 64);
    cod.set_progression_order("RPCL");
    cod.set_color_transform(false);
    cod.set_reversible(qstep <= 0);
    if (qstep > 0)
        cs.access_qcd().set_irrev_quant(qstep);
    (void)rpcl; /* same codestream; the plugin adds TLM for 4.202 */
    cs.set_planar(false);
    ojph::mem_outfile out;
    out.open();
    cs.write_headers(&out);
    ojph::ui32 next = 0;
    ojph::line_buf *line = cs.exchange(NULL, next);
    const uint16_t *s = (const uint16_t *)f.data();
    for (uint32_t y = 0; y < H; y++) {
        ojph::si32 *d = line->i32;
        const uint16_t *row = s + (size_t)y * W;
        if (g_signed)
            for (uint32_t x = 0; x < W; x++)
                d[x] = (int16_t)row[x];
        else
            for (uint32_t x = 0; x < W; x++)
                d[x] = row[x];
        line = cs.exchange(line, next);
    }
    cs.flush();
    size_t n = (size_t)out.tell();
    cs.close();
    return n;
}

void ojph_bare_decode(const std::vector<uint8_t> &bytes, uint8_t *out)
{
    ojph::mem_infile in;
    in.open(bytes.data(), bytes.size());
    ojph::codestream cs;
    cs.read_headers(&in);
    cs.create();
    uint16_t *o = (uint16_t *)out;
    for (uint32_t y = 0; y < H; y++) {
        ojph::ui32 comp;
        ojph::line_buf *line = cs.pull(comp);
        const ojph::si32 *s = line->i32;
        for (uint32_t x = 0; x < W; x++)
            o[(size_t)y * W + x] = (uint16_t)s[x];
    }
    cs.close();
}

/* --- bare DCMTK -------------------------------------------------------- */

DJCodecParameter *dj_params(bool lossy)
{
    return new DJCodecParameter(lossy ? ECC_lossyYCbCr : ECC_lossyRGB, EDC_photometricInterpretation,
                                EUC_never, EPC_colorByPixel, OFFalse, OFFalse, OFFalse, OFTrue);
}

size_t dcmtk_bare_encode(const std::vector<uint8_t> &f, int quality)
{
    static DJCodecParameter *cp_lossless = dj_params(false), *cp_lossy = dj_params(true);
    DJEncoder *e;
    /* quality > 0: lossy; 0: lossless, predictor 1; -p: lossless, predictor p */
    int predictor = quality < 0 ? -quality : 1;
    if (quality > 0)
        e = new DJCompressIJG12Bit(*cp_lossy, EJM_sequential, (Uint8)quality);
    else if (g_signed)
        e = new DJCompressIJG16Bit(*cp_lossless, EJM_lossless, predictor, 0);
    else
        e = new DJCompressIJG12Bit(*cp_lossless, EJM_lossless, predictor, 0);
    Uint8 *to = NULL;
    Uint32 len = 0;
    /* the encoder does not write to its input */
    Uint16 *in = const_cast<Uint16 *>((const Uint16 *)f.data());
    if (e->encode(W, H, EPI_Monochrome2, 1, in, to, len).bad())
        abort();
    delete[] to;
    delete e;
    return len;
}

void dcmtk_bare_decode(const std::vector<uint8_t> &cs, uint8_t *out)
{
    static DJCodecParameter *cp = dj_params(false);
    DJDecoder *d = g_signed ? (DJDecoder *)new DJDecompressIJG16Bit(*cp, OFFalse)
                            : (DJDecoder *)new DJDecompressIJG12Bit(*cp, OFFalse);
    if (d->init().bad() ||
        d->decode(const_cast<Uint8 *>(cs.data()), (Uint32)cs.size(), out, W * H * 2, g_signed).bad())
        abort();
    delete d;
}

/* --- plugins ----------------------------------------------------------- */

struct plugins {
    harness_plugin *j2k = NULL, *ht = NULL, *jl = NULL;
};

struct codec_run {
    const struct ferry_codec *c;
    void *st;
};

codec_run configure(harness_plugin *p, const char *name, std::vector<ferry_param> params)
{
    codec_run r{harness_codec(p, name), NULL};
    if (!r.c) {
        fprintf(stderr, "no codec %s\n", name);
        exit(1);
    }
    struct ferry_diag d;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    if (r.c->configure(params.data(), (uint32_t)params.size(), &r.st, &d) != 0) {
        fprintf(stderr, "%s: %s\n", name, d.message);
        exit(1);
    }
    return r;
}

std::vector<uint8_t> plugin_encode(codec_run r, const std::vector<uint8_t> &f)
{
    struct ferry_frame g = ct_geometry();
    struct ferry_encoded e;
    memset(&e, 0, sizeof e);
    e.size = sizeof e;
    struct ferry_diag d;
    memset(&d, 0, sizeof d);
    if (r.c->encode(r.st, harness_host(), &g, f.data(), f.size(), &e, &d) != 0) {
        fprintf(stderr, "%s encode: %s\n", r.c->name, d.message);
        exit(1);
    }
    std::vector<uint8_t> out(e.bytes, e.bytes + e.length);
    harness_host()->free(e.bytes);
    return out;
}

void plugin_decode(codec_run r, const std::vector<uint8_t> &cs, uint8_t *out)
{
    struct ferry_frame g = ct_geometry(), og = g;
    struct ferry_diag d;
    memset(&d, 0, sizeof d);
    if (r.c->decode(r.st, &g, cs.data(), cs.size(), out, (size_t)W * H * 2, &og, &d) != 0) {
        fprintf(stderr, "%s decode: %s\n", r.c->name, d.message);
        exit(1);
    }
}

/* --- the table ---------------------------------------------------------- */

struct line {
    std::string what;
    double plugin_mbs, bare_mbs, ratio;
    std::string bare_name;
};
std::vector<line> table;

double mbs(double seconds) { return (double)W * H * 2 / seconds / 1e6; }

template <typename P, typename B>
void measure(const std::string &what, const std::string &bare_name, int reps, size_t frames, P plug,
             B bare, double ratio)
{
    std::vector<double> tp, tb;
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < frames; i++) {
            /* Which goes first alternates: the second finds the frame in
             * the caches the first warmed. */
            bool plug_first = (i + (size_t)r) % 2 == 0;
            for (int half = 0; half < 2; half++) {
                bool is_plug = (half == 0) == plug_first;
                double t0 = cpu_now();
                if (is_plug)
                    plug(i);
                else
                    bare(i);
                (is_plug ? tp : tb).push_back(cpu_now() - t0);
            }
        }
    double mp = median(tp), mb = median(tb);
    table.push_back({what, mbs(mp), mbs(mb), ratio, bare_name});
    printf("%-34s plugin %8.1f MB/s  %-9s %8.1f MB/s  overhead %+6.1f%%  ratio %5.2f\n",
           what.c_str(), mbs(mp), bare_name.c_str(), mbs(mb), (mp / mb - 1) * 100, ratio);
    fflush(stdout);
}

bool wanted(const char *only, const char *what)
{
    return !only || strstr(what, only) != NULL;
}

} // namespace

int main(int argc, char **argv)
{
    size_t nframes = 16;
    int reps = 3;
    const char *only = NULL;
    char **raw_files = NULL;
    int n_raw = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            nframes = (size_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            g_threads = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--signed"))
            g_signed = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--raw") && i + 1 < argc) {
            raw_files = argv + i + 1;
            n_raw = argc - i - 1;
            break;
        } else {
            fprintf(stderr,
                    "usage: %s [--frames N] [--reps R] [--threads T] [--signed] [--only SUBSTR] "
                    "[--raw FILE...]\n",
                    argv[0]);
            return 2;
        }
    }
    DCM_dcmjpegLogger.setLogLevel(OFLogger::OFF_LOG_LEVEL);
    char err[512];
    plugins p;
    p.j2k = harness_load(harness_plugin_path("j2k"), err, sizeof err);
    p.ht = harness_load(harness_plugin_path("htj2k"), err, sizeof err);
    p.jl = harness_load(harness_plugin_path("jpegll"), err, sizeof err);
    if (!p.j2k || !p.ht || !p.jl) {
        fprintf(stderr, "%s (set FERRY_BUILD_DIR)\n", err);
        return 1;
    }
    std::vector<std::vector<uint8_t>> frames;
    if (raw_files) {
        for (int i = 0; i < n_raw; i++) {
            std::vector<uint8_t> f((size_t)W * H * 2);
            FILE *fp = fopen(raw_files[i], "rb");
            if (!fp || fread(f.data(), 1, f.size(), fp) != f.size()) {
                fprintf(stderr, "%s: cannot read %zu bytes\n", raw_files[i], f.size());
                return 1;
            }
            fclose(fp);
            frames.push_back(std::move(f));
        }
        nframes = frames.size();
    } else {
        for (size_t i = 0; i < nframes; i++)
            frames.push_back(ct_frame((int)i));
    }
    printf("%zu %s frames %ux%u, 16 bits allocated, %s; %d reps; OpenJPEG threads %u; "
           "medians of MB/s per core (raw bytes / process CPU time)\n\n",
           nframes, raw_files ? "raw" : "CT-like", W, H,
           g_signed ? "16 stored signed" : "12 stored unsigned", reps, g_threads);

    char th[8];
    snprintf(th, sizeof th, "%u", g_threads);
    std::vector<uint8_t> out((size_t)W * H * 2);
    auto ratio_of = [&](const std::vector<std::vector<uint8_t>> &cs) {
        double raw = 0, coded = 0;
        for (auto &c : cs) {
            raw += (double)W * H * 2;
            coded += (double)c.size();
        }
        return raw / coded;
    };

    struct j2k_case {
        const char *what, *codec;
        std::vector<ferry_param> params;
        float rate;
    };
    std::vector<j2k_case> j2k_cases = {
        {"jpeg2000-lossless (4.90)", "jpeg2000-lossless", {{"threads", th}}, 0},
        {"jpeg2000 rate 10 (4.91)", "jpeg2000", {{"rate", "10"}, {"threads", th}}, 10},
    };
    for (auto &jc : j2k_cases) {
        if (!wanted(only, jc.what))
            continue;
        codec_run r = configure(p.j2k, jc.codec, jc.params);
        std::vector<std::vector<uint8_t>> cs(nframes);
        for (size_t i = 0; i < nframes; i++)
            cs[i] = plugin_encode(r, frames[i]);
        measure(std::string(jc.what) + " encode", "OpenJPEG", reps, nframes,
                [&](size_t i) { cs[i] = plugin_encode(r, frames[i]); },
                [&](size_t i) { opj_bare_encode(frames[i], jc.rate); }, ratio_of(cs));
        measure(std::string(jc.what) + " decode", "OpenJPEG", reps, nframes,
                [&](size_t i) { plugin_decode(r, cs[i], out.data()); },
                [&](size_t i) { opj_bare_decode(cs[i], out.data()); }, ratio_of(cs));
        r.c->release(r.st);
    }

    struct ht_case {
        const char *what, *codec, *uid;
        std::vector<ferry_param> params;
        float qstep;
    };
    std::vector<ht_case> ht_cases = {
        {"htj2k-lossless (4.201)", "htj2k-lossless", "1.2.840.10008.1.2.4.201", {}, 0},
        {"htj2k-lossless-rpcl (4.202)", "htj2k-lossless-rpcl", "1.2.840.10008.1.2.4.202", {}, 0},
        /* the plugin's default, auto: 1/256 of the range, at most 16 grey levels */
        {"htj2k qstep auto (4.203)", "htj2k", "1.2.840.10008.1.2.4.203", {},
         (float)std::min(1.0 / 256, 16.0 / (double)(1u << ct_geometry().bits_stored))},
    };
    for (auto &hc : ht_cases) {
        if (!wanted(only, hc.what))
            continue;
        codec_run enc = configure(p.ht, hc.codec, hc.params);
        codec_run dec = configure(p.j2k, hc.uid, {});
        std::vector<std::vector<uint8_t>> cs(nframes);
        bool rpcl = strstr(hc.codec, "rpcl") != NULL;
        for (size_t i = 0; i < nframes; i++)
            cs[i] = plugin_encode(enc, frames[i]);
        measure(std::string(hc.what) + " encode", "OpenJPH", reps, nframes,
                [&](size_t i) { cs[i] = plugin_encode(enc, frames[i]); },
                [&](size_t i) { ojph_bare_encode(frames[i], rpcl, hc.qstep); }, ratio_of(cs));
        /* The HTJ2K decoders take no parameters: they run with the plugin's
         * default OpenJPEG threads, and so does the bare library here. */
        uint32_t saved = g_threads;
        g_threads = J2K_DEFAULT_THREADS_FOR_BENCH;
        measure(std::string(hc.what) + " decode", "OpenJPEG", reps, nframes,
                [&](size_t i) { plugin_decode(dec, cs[i], out.data()); },
                [&](size_t i) { opj_bare_decode(cs[i], out.data()); }, ratio_of(cs));
        g_threads = saved;
        /* Not a wrapper overhead: ferry's decoder (OpenJPEG) against
         * OpenJPH's, which the htj2k plugin does not use for decoding (see
         * README.md). */
        measure(std::string(hc.what) + " decode", "OpenJPH", reps, nframes,
                [&](size_t i) { plugin_decode(dec, cs[i], out.data()); },
                [&](size_t i) { ojph_bare_decode(cs[i], out.data()); }, ratio_of(cs));
        enc.c->release(enc.st);
        dec.c->release(dec.st);
    }

    struct jl_case {
        const char *what, *codec;
        std::vector<ferry_param> params;
        int quality;
    };
    std::vector<jl_case> jl_cases = {
        /* 4.57 with predictor 6 (DCMTK's dcmcjpeg +el default); 4.70 is 1 */
        {"jpeg-lossless (4.57)", "jpeg-lossless", {{"predictor", "6"}}, -6},
        {"jpeg-lossless-sv1 (4.70)", "jpeg-lossless-sv1", {}, 0},
        {"jpeg-extended q90 (4.51)", "jpeg-extended", {{"quality", "90"}}, 90},
    };
    for (auto &lc : jl_cases) {
        if (!wanted(only, lc.what) || (g_signed && lc.quality > 0))
            continue;
        codec_run r = configure(p.jl, lc.codec, lc.params);
        std::vector<std::vector<uint8_t>> cs(nframes);
        for (size_t i = 0; i < nframes; i++)
            cs[i] = plugin_encode(r, frames[i]);
        measure(std::string(lc.what) + " encode", "DCMTK", reps, nframes,
                [&](size_t i) { cs[i] = plugin_encode(r, frames[i]); },
                [&](size_t i) { dcmtk_bare_encode(frames[i], lc.quality); }, ratio_of(cs));
        measure(std::string(lc.what) + " decode", "DCMTK", reps, nframes,
                [&](size_t i) { plugin_decode(r, cs[i], out.data()); },
                [&](size_t i) { dcmtk_bare_decode(cs[i], out.data()); }, ratio_of(cs));
        r.c->release(r.st);
    }
    harness_unload(p.j2k);
    harness_unload(p.ht);
    harness_unload(p.jl);
    return 0;
}
