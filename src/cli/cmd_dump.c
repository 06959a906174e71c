/* ferry dump FILE... — print data sets the way dcmdump does: tag, VR, value,
 * length, VM, keyword; names decoded to UTF-8; sequences, items and pixel
 * fragments indented. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dcm/dcm.h"


#define VALUE_MAX 64   /* longer values are cut and end in "..." like dcmdump's */

struct line {
    char text[VALUE_MAX + 256];
    size_t len;
    bool cut;
};

static void add(struct line *l, const char *s, size_t n)
{
    size_t room = VALUE_MAX - l->len;
    if (l->len >= VALUE_MAX) {
        l->cut = true;
        return;
    }
    if (n > room) {
        n = room;
        l->cut = true;
    }
    memcpy(l->text + l->len, s, n);
    l->len += n;
    l->text[l->len] = '\0';
}

static void addf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct line *l, const char *fmt, ...)
{
    char tmp[96];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        add(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static void binary_value(struct line *l, enum dcm_vr vr, const uint8_t *v, uint32_t len)
{
    size_t unit = dcm_vr_value_size(vr);
    if (unit == 0)
        unit = 1;
    for (uint32_t i = 0; i + unit <= len && !l->cut; i += (uint32_t)unit) {
        if (i)
            add(l, "\\", 1);
        uint64_t x = le(v + i, unit);
        switch (vr) {
        case DCM_VR_US: addf(l, "%u", (unsigned)x); break;
        case DCM_VR_SS: addf(l, "%d", (int16_t)x); break;
        case DCM_VR_UL: addf(l, "%u", (unsigned)x); break;
        case DCM_VR_SL: addf(l, "%d", (int32_t)x); break;
        case DCM_VR_UV: addf(l, "%" PRIu64, x); break;
        case DCM_VR_SV: addf(l, "%" PRId64, (int64_t)x); break;
        case DCM_VR_FL: {
            uint32_t b = (uint32_t)x;
            float f;
            memcpy(&f, &b, 4);
            addf(l, "%.9g", f);
            break;
        }
        case DCM_VR_FD: {
            double d;
            memcpy(&d, &x, 8);
            addf(l, "%.17g", d);
            break;
        }
        case DCM_VR_AT:
            break;
        default:
            addf(l, "%0*" PRIx64, (int)(unit * 2), x);
        }
    }
}

static void format_value(const struct dcm_dataset *ds, const struct dcm_element *el,
                         struct line *l)
{
    enum dcm_vr vr = dcm_element_vr(el);
    const uint8_t *v = dcm_element_value(el);
    uint32_t len = dcm_element_length(el);
    if (!dcm_element_has_value(el)) {
        add(l, "(not loaded)", 12);
        return;
    }
    if (!v || len == 0) {
        add(l, "(no value available)", 20);
        return;
    }
    if (vr == DCM_VR_UI) {
        char uid[80];
        int n = dcm_dataset_get_cstr(ds, dcm_element_tag(el), DCM_ALL_VALUES, uid, sizeof uid);
        const struct dcm_ts *ts = n > 0 ? dcm_ts_lookup(uid) : NULL;
        const struct dcm_sop_class *sc = n > 0 && !ts ? dcm_sop_class_lookup(uid) : NULL;
        if (ts || sc) {
            addf(l, "=%s", ts ? ts->keyword : sc->keyword);
            return;
        }
    }
    if (dcm_vr_is_string(vr)) {
        char *s = dcm_element_utf8_dup(ds, el, DCM_ALL_VALUES, NULL);
        add(l, "[", 1);
        if (s) {
            /* Keep the line one line. */
            for (char *c = s; *c; c++)
                if (*c == '\r' || *c == '\n' || *c == '\t')
                    *c = '.';
            add(l, s, strlen(s));
        }
        free(s);
        if (l->cut) {
            /* cut at a character boundary */
            while (l->len > 0 && ((unsigned char)l->text[l->len - 1] & 0xC0) == 0x80)
                l->len--;
            if (l->len > 0 && ((unsigned char)l->text[l->len - 1] & 0xC0) == 0xC0)
                l->len--;
            l->text[l->len] = '\0';
        } else {
            l->text[l->len++] = ']';
            l->text[l->len] = '\0';
        }
        return;
    }
    if (vr == DCM_VR_AT) {
        for (uint32_t i = 0; i + 4 <= len && !l->cut; i += 4) {
            if (i)
                add(l, "\\", 1);
            addf(l, "(%04x,%04x)", (unsigned)le(v + i, 2), (unsigned)le(v + i + 2, 2));
        }
        return;
    }
    binary_value(l, vr, v, len);
}

static void print_line(int depth, uint32_t tag, const char *vr, const char *value, bool cut,
                       const char *length, uint32_t vm, const char *keyword)
{
    char head[64];
    snprintf(head, sizeof head, "%*s(%04x,%04x) %s ", depth * 2, "", DCM_TAG_GROUP(tag),
             DCM_TAG_ELEMENT(tag), vr);
    char val[160];
    snprintf(val, sizeof val, "%s%s", value, cut ? "..." : "");
    printf("%s%-40s # %3s, %u %s\n", head, val, length, vm, keyword);
}

static void len_text(char out[16], uint32_t len, bool undef)
{
    if (undef)
        snprintf(out, 16, "u/l");
    else
        snprintf(out, 16, "%u", len);
}

static void dump_dataset(const struct dcm_dataset *ds, int depth);

static void dump_element(const struct dcm_dataset *ds, const struct dcm_element *el, int depth)
{
    uint32_t tag = dcm_element_tag(el);
    const char *kw = dcm_dict_keyword(tag);
    char lt[16], text[96];
    if (dcm_element_is_encapsulated(el)) {
        uint32_t n = dcm_element_fragment_count(el);
        snprintf(text, sizeof text, "(PixelSequence #=%u)", n + 1);
        print_line(depth, tag, dcm_vr_name(dcm_element_vr(el)), text, false, "u/l", 1, kw);
        const uint8_t *b;
        uint32_t blen;
        for (uint32_t i = 0; i <= n; i++) {
            if (i == 0)
                dcm_element_offset_table(el, &b, &blen);
            else
                dcm_element_fragment(el, i - 1, &b, &blen, NULL);
            struct line l = { .len = 0 };
            l.text[0] = '\0';
            if (!b && blen)
                add(&l, "(not loaded)", 12);
            else if (!blen)
                add(&l, "(no value available)", 20);
            else
                binary_value(&l, DCM_VR_OB, b, blen);
            len_text(lt, blen, false);
            print_line(depth + 1, 0xFFFEE000u, "pi", l.text, l.cut, lt, 1, "Item");
        }
        print_line(depth, 0xFFFEE0DDu, "na", "(SequenceDelimitationItem)", false, "0", 0,
                   "SequenceDelimitationItem");
        return;
    }
    if (dcm_element_is_sequence(el)) {
        bool undef = dcm_element_undefined_length(el) || dcm_element_offset(el) == UINT64_MAX;
        uint32_t n = dcm_element_item_count(el);
        snprintf(text, sizeof text, "(Sequence with %s length #=%u)",
                 undef ? "undefined" : "explicit", n);
        len_text(lt, dcm_element_length(el), undef);
        print_line(depth, tag, "SQ", text, false, lt, 1, kw);
        for (uint32_t i = 0; i < n; i++) {
            const struct dcm_dataset *it = dcm_element_item(el, i);
            bool iu = dcm_dataset_undefined_length(it);
            snprintf(text, sizeof text, "(Item with %s length #=%zu)",
                     iu ? "undefined" : "explicit", dcm_dataset_count(it));
            uint32_t ilen = iu ? 0 : dcm_dataset_item_length(it);
            len_text(lt, ilen, iu);
            print_line(depth + 1, 0xFFFEE000u, "na", text, false, lt, 1, "Item");
            dump_dataset(it, depth + 2);
            print_line(depth + 1, 0xFFFEE00Du, "na",
                       iu ? "(ItemDelimitationItem)" : "(ItemDelimitationItem for re-encoding)",
                       false, "0", 0, "ItemDelimitationItem");
        }
        print_line(depth, 0xFFFEE0DDu, "na",
                   undef ? "(SequenceDelimitationItem)" : "(SequenceDelimitationItem for re-encod.)",
                   false, "0", 0, "SequenceDelimitationItem");
        return;
    }
    struct line l = { .len = 0 };
    l.text[0] = '\0';
    format_value(ds, el, &l);
    len_text(lt, dcm_element_length(el), false);
    print_line(depth, tag, dcm_vr_name(dcm_element_vr(el)), l.text, l.cut, lt,
               dcm_element_vm(ds, el), kw);
}

static void dump_dataset(const struct dcm_dataset *ds, int depth)
{
    size_t n = dcm_dataset_count(ds);
    for (size_t i = 0; i < n; i++)
        dump_element(ds, dcm_dataset_at(ds, i), depth);
}

static const char *ts_name(const char *uid)
{
    const struct dcm_ts *ts = dcm_ts_lookup(uid);
    return ts ? ts->name : uid;
}

static int dump_file(const char *path, bool header_only, bool many)
{
    struct ferry_error *err = NULL;
    struct dcm_parse_opts o = { .flags = DCM_PARSE_PART10 | (header_only ? DCM_PARSE_HEADER_ONLY : 0) };
    struct dcm_dataset *ds = dcm_read_file(path, &o, &err);
    if (!ds) {
        fflush(stdout);
        fprintf(stderr, "ferry dump: %s\n", ferry_error_message(err));
        ferry_error_free(err);
        return CLI_FAILED;
    }
    if (many)
        printf("\n# File: %s\n", path);
    printf("\n# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n");
    const struct dcm_dataset *meta = dcm_dataset_meta(ds);
    if (meta) {
        printf("# Used TransferSyntax: %s\n", ts_name(DCM_UID_ExplicitVRLittleEndian));
        dump_dataset(meta, 0);
    }
    printf("\n# Dicom-Data-Set\n# Used TransferSyntax: %s\n",
           ts_name(dcm_dataset_transfer_syntax(ds)));
    dump_dataset(ds, 0);
    uint64_t off;
    if (dcm_dataset_stop_offset(ds, &off))
        printf("# Pixel Data and what follows start at byte %" PRIu64 " (not read: --header-only)\n",
               off);
    dcm_dataset_unref(ds);
    return CLI_OK;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferry dump [--header-only] FILE...\n\n"
            "Print DICOM files the way dcmdump does: tag, VR, value, length, VM and\n"
            "keyword, names decoded to UTF-8, sequences and items indented.\n\n"
            "  --header-only  stop at Pixel Data (7FE0,0010) and say where it starts\n"
            "  -h, --help     this text\n\n"
            "A file that cannot be read is reported with the byte offset, the tag and\n"
            "the reason; the other files are still printed, and the exit status is 1.\n");
}

int cmd_dump(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "header-only", no_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool header_only = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            header_only = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        default:
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    int status = CLI_OK;
    bool many = argc - optind > 1;
    for (int i = optind; i < argc; i++)
        if (dump_file(argv[i], header_only, many) != CLI_OK)
            status = CLI_FAILED;
    return status;
}
