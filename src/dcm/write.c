/* ferry — writing data sets, meta groups and command sets. */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include "dcm/dcm-private.h"

#define STAGE 65536u
#define DIRECT 16384u   /* values at least this long bypass the staging buffer */

struct enc {
    bool implicit, big;
};

struct writer {
    dcm_write_fn fn;
    void *ud;
    bool counting;          /* only count bytes */
    bool passthrough;       /* unchanged items may be copied from the source */
    uint64_t count;
    int rc;
    struct ferry_error **err;
    uint8_t *stage;
    size_t len;
};

static int flush(struct writer *w)
{
    if (w->rc == 0 && w->len) {
        int rc = w->fn(w->ud, w->stage, w->len);
        if (rc < 0) {
            w->rc = rc;
            ferry_error_set(w->err, rc, "write failed");
        }
    }
    w->len = 0;
    return w->rc;
}

static void put(struct writer *w, const void *p, size_t n)
{
    w->count += n;
    if (w->counting || w->rc || n == 0)
        return;
    if (n >= DIRECT) {
        if (flush(w) < 0)
            return;
        int rc = w->fn(w->ud, p, n);
        if (rc < 0) {
            w->rc = rc;
            ferry_error_set(w->err, rc, "write failed");
        }
        return;
    }
    if (w->len + n > STAGE && flush(w) < 0)
        return;
    memcpy(w->stage + w->len, p, n);
    w->len += n;
}

/* A value, byte-swapped in units of `unit` for big endian. */
static void put_value(struct writer *w, const uint8_t *p, size_t n, size_t unit, bool big)
{
    if (!big || unit < 2) {
        put(w, p, n);
        return;
    }
    if (w->counting) {
        w->count += n;
        return;
    }
    uint8_t tmp[4096];
    size_t chunk = sizeof tmp - sizeof tmp % unit;
    while (n > 0) {
        size_t k = n < chunk ? n : chunk;
        memcpy(tmp, p, k);
        dcm__swap(tmp, k, unit);
        put(w, tmp, k);
        p += k;
        n -= k;
    }
}

static void put_tag(struct writer *w, uint32_t tag, struct enc e)
{
    uint8_t b[4];
    if (e.big) {
        wr16be(b, DCM_TAG_GROUP(tag));
        wr16be(b + 2, DCM_TAG_ELEMENT(tag));
    } else {
        wr16le(b, DCM_TAG_GROUP(tag));
        wr16le(b + 2, DCM_TAG_ELEMENT(tag));
    }
    put(w, b, 4);
}

static void put32(struct writer *w, uint32_t v, struct enc e)
{
    uint8_t b[4];
    if (e.big)
        wr32be(b, v);
    else
        wr32le(b, v);
    put(w, b, 4);
}

/* Encode a header into out; returns its size. vr is what to write (the
 * caller chose UN for oversized short-length values). */
static size_t header_bytes(uint8_t out[12], uint32_t tag, enum dcm_vr vr, uint32_t len,
                           struct enc e)
{
    void (*w16)(uint8_t *, uint16_t) = e.big ? wr16be : wr16le;
    void (*w32)(uint8_t *, uint32_t) = e.big ? wr32be : wr32le;
    w16(out, DCM_TAG_GROUP(tag));
    w16(out + 2, DCM_TAG_ELEMENT(tag));
    if (e.implicit || DCM_TAG_GROUP(tag) == 0xFFFE) {
        w32(out + 4, len);
        return 8;
    }
    out[4] = (uint8_t)((unsigned)vr >> 8);
    out[5] = (uint8_t)vr;
    if (dcm_vr_has_long_length(vr)) {
        out[6] = out[7] = 0;
        w32(out + 8, len);
        return 12;
    }
    w16(out + 6, (uint16_t)len);
    return 8;
}

static void put_header(struct writer *w, uint32_t tag, enum dcm_vr vr, uint32_t len,
                       struct enc e)
{
    uint8_t b[12];
    size_t n = header_bytes(b, tag, vr, len, e);
    put(w, b, n);
}

static int werr(struct writer *w, int code, const struct dcm_element *el, const char *what)
{
    if (w->rc == 0) {
        w->rc = code;
        dcm__perr(w->err, code, el->offset == UINT64_MAX ? 0 : el->offset, el->tag, el->vr,
                  "%s", what);
    }
    return code;
}

static void write_elements(struct writer *w, const struct dcm_dataset *ds, uint32_t from,
                           uint32_t to, struct enc e);

static uint64_t size_of(struct writer *parent, const struct dcm_dataset *ds, uint32_t from,
                        uint32_t to, struct enc e)
{
    struct writer c = { .counting = true, .passthrough = parent->passthrough, .err = parent->err };
    write_elements(&c, ds, from, to, e);
    if (c.rc && !parent->rc)
        parent->rc = c.rc;
    return c.count;
}

static bool same_encoding(const struct dcm_dataset *item, struct enc e)
{
    return !!(item->flags & DS_SRC_IMPLICIT) == e.implicit && !!(item->flags & DS_SRC_BIG) == e.big;
}

static void write_item(struct writer *w, const struct dcm_dataset *it, struct enc e)
{
    bool undef = (it->flags & DS_UNDEF) != 0;
    put_tag(w, DCM_TAG_ITEM, e);
    if (w->passthrough && it->src && !(it->flags & DS_CHANGED) && same_encoding(it, e)) {
        put32(w, undef ? DCM_UNDEFINED_LENGTH : it->src_len, e);
        put(w, it->src, it->src_len);
    } else {
        uint32_t len = DCM_UNDEFINED_LENGTH;
        if (!undef) {
            uint64_t n = size_of(w, it, 0, it->n, e);
            if (n >= DCM_UNDEFINED_LENGTH) {
                undef = true; /* too long for a defined length */
            } else {
                len = (uint32_t)n;
            }
        }
        put32(w, len, e);
        write_elements(w, it, 0, it->n, e);
    }
    if (undef) {
        put_tag(w, DCM_TAG_ITEM_DELIM, e);
        put32(w, 0, e);
    }
}

static void write_sequence(struct writer *w, const struct dcm_element *el, struct enc e)
{
    const struct dcm_seq *sq = el->u.seq;
    uint32_t n = sq ? sq->n : 0;
    bool un = (el->flags & EL_UN_SQ) != 0;
    struct enc ie = un ? (struct enc){ true, false } : e;
    bool undef = (el->flags & EL_UNDEF) != 0 || el->offset == UINT64_MAX;
    /* In implicit VR a reader knows a sequence by the dictionary or by its
     * undefined length: a sequence the dictionary does not know gets the
     * latter. */
    if (e.implicit && dcm__implicit_vr(el->tag) != DCM_VR_SQ)
        undef = true;
    uint32_t len = DCM_UNDEFINED_LENGTH;
    if (!undef) {
        struct writer c = { .counting = true, .passthrough = w->passthrough, .err = w->err };
        for (uint32_t i = 0; i < n; i++)
            write_item(&c, sq->items[i], ie);
        if (c.rc && !w->rc)
            w->rc = c.rc;
        if (c.count >= DCM_UNDEFINED_LENGTH)
            undef = true;
        else
            len = (uint32_t)c.count;
    }
    put_header(w, el->tag, un && !e.implicit ? DCM_VR_UN : DCM_VR_SQ, len, e);
    for (uint32_t i = 0; i < n; i++)
        write_item(w, sq->items[i], ie);
    if (undef) {
        /* The delimiter is part of the value: for UN it is little endian. */
        put_tag(w, DCM_TAG_SEQ_DELIM, ie);
        put32(w, 0, ie);
    }
}

static void write_pixseq(struct writer *w, const struct dcm_element *el, struct enc e)
{
    const struct dcm_pixseq *px = el->u.px;
    if (e.big || e.implicit) {
        werr(w, -ENOTSUP, el, "encapsulated pixel data needs Explicit VR Little Endian");
        return;
    }
    put_header(w, el->tag, (enum dcm_vr)el->vr, DCM_UNDEFINED_LENGTH, e);
    const struct dcm_frag *f = &px->bot;
    for (uint32_t i = 0;; i++) {
        if ((f->flags & FRAG_SKIPPED) || (f->length && !f->bytes)) {
            werr(w, -EINVAL, el, "a fragment was not kept in memory");
            return;
        }
        put_tag(w, DCM_TAG_ITEM, e);
        put32(w, f->length, e);
        put(w, f->bytes, f->length);
        if (i >= px->n)
            break;
        f = &px->frags[i];
    }
    put_tag(w, DCM_TAG_SEQ_DELIM, e);
    put32(w, 0, e);
}

static void write_element(struct writer *w, const struct dcm_dataset *ds, uint32_t i,
                          struct enc e)
{
    const struct dcm_element *el = &ds->els[i];
    if (el->flags & EL_PIXSEQ) {
        write_pixseq(w, el, e);
        return;
    }
    if (el->vr == DCM_VR_SQ) {
        write_sequence(w, el, e);
        return;
    }
    if (DCM_TAG_ELEMENT(el->tag) == 0 && el->length == 4 &&
        (el->vr == DCM_VR_UL || e.implicit)) {
        /* A group length: recomputed from what follows in its group (in
         * implicit VR whatever VR it had: a reader will take it for UL). */
        uint32_t j = i + 1;
        while (j < ds->n && DCM_TAG_GROUP(ds->els[j].tag) == DCM_TAG_GROUP(el->tag))
            j++;
        uint64_t n = size_of(w, ds, i + 1, j, e);
        put_header(w, el->tag, DCM_VR_UL, 4, e);
        put32(w, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, e);
        return;
    }
    if (el->flags & EL_SKIPPED) {
        werr(w, -EINVAL, el, "the value was not kept in memory (parsed with DCM_PARSE_SKIP_BULK)");
        return;
    }
    enum dcm_vr vr = (enum dcm_vr)el->vr;
    if (e.implicit && el->length > 0 && dcm__implicit_vr(el->tag) == DCM_VR_SQ) {
        /* A reader would take the value for items. */
        werr(w, -EINVAL, el, "not a sequence, but the dictionary says SQ: cannot be written in "
                             "implicit VR");
        return;
    }
    if (!e.implicit && !dcm_vr_has_long_length(vr) && el->length > 0xFFFF)
        vr = DCM_VR_UN; /* PS3.5 6.2.2: too long for its VR's length field */
    put_header(w, el->tag, vr, el->length, e);
    if (el->length)
        put_value(w, el->u.value, el->length, dcm_vr_value_size((enum dcm_vr)el->vr), e.big);
}

static void write_elements(struct writer *w, const struct dcm_dataset *ds, uint32_t from,
                           uint32_t to, struct enc e)
{
    for (uint32_t i = from; i < to && w->rc == 0; i++)
        write_element(w, ds, i, e);
}

/* ---------------------------------------------------------------------------
 * Deflate */

struct deflater {
    z_stream z;
    dcm_write_fn fn;
    void *ud;
    uint64_t out;
    uint8_t buf[STAGE];
};

static int deflate_run(struct deflater *d, const void *data, size_t len, int mode)
{
    d->z.next_in = (Bytef *)(uintptr_t)data;
    d->z.avail_in = (uInt)len;
    for (;;) {
        d->z.next_out = d->buf;
        d->z.avail_out = sizeof d->buf;
        int zr = deflate(&d->z, mode);
        if (zr == Z_STREAM_ERROR)
            return -EINVAL;
        size_t n = sizeof d->buf - d->z.avail_out;
        if (n) {
            int rc = d->fn(d->ud, d->buf, n);
            if (rc < 0)
                return rc;
            d->out += n;
        }
        if (mode == Z_FINISH ? zr == Z_STREAM_END : d->z.avail_in == 0 && d->z.avail_out != 0)
            return 0;
    }
}

static int deflate_put(void *ud, const void *data, size_t len)
{
    struct deflater *d = ud;
    while (len > 0) {
        size_t k = len > (1u << 30) ? (1u << 30) : len;
        int rc = deflate_run(d, data, k, Z_NO_FLUSH);
        if (rc < 0)
            return rc;
        data = (const uint8_t *)data + k;
        len -= k;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Entry points */

static int check_pixels(const struct dcm_dataset *ds, const struct dcm_ts *ts, bool encaps,
                        struct ferry_error **err)
{
    if (ds != &ds->root->ds)
        return 0;
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PIXEL_DATA);
    if (!pd)
        return 0;
    bool is_encaps = (pd->flags & EL_PIXSEQ) != 0;
    if (is_encaps && !encaps)
        return ferry_error_set(err, -ENOTSUP,
                               "the pixel data is encapsulated (%s); writing it in %s needs a codec",
                               ds->root->ts_uid, ts ? ts->name : "this syntax");
    if (!is_encaps && encaps)
        return ferry_error_set(err, -ENOTSUP,
                               "the pixel data is native; writing it in %s needs a codec",
                               ts ? ts->name : "an encapsulated syntax");
    return 0;
}

static int write_with(const struct dcm_dataset *ds, struct enc e, bool passthrough,
                      dcm_write_fn fn, void *ud, struct ferry_error **err)
{
    struct writer w = { .fn = fn, .ud = ud, .passthrough = passthrough, .err = err };
    w.stage = malloc(STAGE);
    if (!w.stage)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    write_elements(&w, ds, 0, ds->n, e);
    flush(&w);
    free(w.stage);
    return w.rc;
}

int dcm_write(const struct dcm_dataset *ds, const char *ts_uid, uint32_t flags, dcm_write_fn fn,
              void *ud, struct ferry_error **err)
{
    const struct dcm_root *r = ds->root;
    if (!ts_uid)
        return ferry_error_set(err, -EINVAL, "no transfer syntax given");
    const struct dcm_ts *ts = dcm_ts_lookup(ts_uid);
    bool same = strcmp(ts_uid, r->ts_uid) == 0;
    if (!ts && !same)
        return ferry_error_set(err, -ENOTSUP, "unknown transfer syntax %s", ts_uid);
    if ((r->flags & ROOT_STOPPED) && !(flags & DCM_WRITE_PARTIAL))
        return ferry_error_set(err, -EINVAL,
                               "the data set was parsed header-only; its pixel data is not in memory");
    if (r->flags & ROOT_SKIP_BULK)
        return ferry_error_set(err, -EINVAL, "the data set was parsed with DCM_PARSE_SKIP_BULK; "
                                             "some of its values are not in memory");
    bool encaps = ts ? ts->encapsulated : true;
    bool partial_pixels = (r->flags & ROOT_STOPPED) != 0;
    if (!partial_pixels) {
        int rc = check_pixels(ds, ts, encaps, err);
        if (rc < 0)
            return rc;
    }
    bool passthrough = !(flags & DCM_WRITE_NO_PASSTHROUGH) && !(r->flags & ROOT_STOPPED);
    struct enc e = { ts ? !ts->explicit_vr : false, ts ? ts->big_endian : false };
    if (passthrough && same && ds == &r->ds && !(ds->flags & DS_CHANGED) && r->raw &&
        same_encoding(ds, e)) {
        int rc = r->raw_len ? fn(ud, r->raw, r->raw_len) : 0;
        if (rc < 0)
            ferry_error_set(err, rc, "write failed");
        return rc;
    }
    if (ts && ts->deflated) {
        struct deflater *d = calloc(1, sizeof *d);
        if (!d)
            return ferry_error_set(err, -ENOMEM, "out of memory");
        d->fn = fn;
        d->ud = ud;
        if (deflateInit2(&d->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK) {
            free(d);
            return ferry_error_set(err, -ENOMEM, "out of memory");
        }
        int rc = write_with(ds, e, passthrough, deflate_put, d, err);
        if (rc == 0 && (rc = deflate_run(d, NULL, 0, Z_FINISH)) < 0)
            ferry_error_set(err, rc, "write failed");
        if (rc == 0 && (d->out & 1)) {
            /* PS3.5 A.5: pad the deflated stream to even length. */
            static const uint8_t zero[1];
            if ((rc = fn(ud, zero, 1)) < 0)
                ferry_error_set(err, rc, "write failed");
        }
        deflateEnd(&d->z);
        free(d);
        return rc;
    }
    return write_with(ds, e, passthrough, fn, ud, err);
}

static int buf_sink(void *ud, const void *data, size_t len)
{
    return dcm_buf_append(ud, data, len);
}

int dcm_write_buf(const struct dcm_dataset *ds, const char *ts_uid, uint32_t flags,
                  struct dcm_buf *out, struct ferry_error **err)
{
    return dcm_write(ds, ts_uid, flags, buf_sink, out, err);
}

int dcm_encode_header(const char *ts_uid, uint32_t tag, enum dcm_vr vr, uint32_t length,
                      uint8_t out[12])
{
    const struct dcm_ts *ts = dcm_ts_lookup(ts_uid);
    struct enc e = { ts ? !ts->explicit_vr : false, ts ? ts->big_endian : false };
    if (!e.implicit && DCM_TAG_GROUP(tag) != 0xFFFE) {
        if (!dcm_vr_is_valid(vr))
            return -EINVAL;
        if (!dcm_vr_has_long_length(vr) && length > 0xFFFF)
            return -EINVAL;
    }
    return (int)header_bytes(out, tag, vr, length, e);
}

/* ---------------------------------------------------------------------------
 * Meta group, Part 10, command sets */

static int uid_from(const struct dcm_dataset *ds, uint32_t tag, char *buf, size_t size)
{
    if (!ds)
        return -ENOENT;
    int n = dcm_dataset_get_cstr(ds, tag, 0, buf, size);
    return n <= 0 || (size_t)n >= size ? -ENOENT : 0;
}

int dcm_meta_encode(const struct dcm_meta_info *meta, const struct dcm_dataset *ds,
                    struct dcm_buf *out, struct ferry_error **err)
{
    char cls[80], inst[80];
    const char *sop_class = meta->sop_class_uid, *sop_inst = meta->sop_instance_uid;
    if (!meta->transfer_syntax || !*meta->transfer_syntax)
        return ferry_error_set(err, -EINVAL, "meta group: no transfer syntax");
    if (!sop_class) {
        if (uid_from(ds, DCM_TAG_SOPClassUID, cls, sizeof cls) < 0)
            return ferry_error_set(err, -EINVAL, "meta group: no SOP Class UID (0008,0016)");
        sop_class = cls;
    }
    if (!sop_inst) {
        if (uid_from(ds, DCM_TAG_SOPInstanceUID, inst, sizeof inst) < 0)
            return ferry_error_set(err, -EINVAL, "meta group: no SOP Instance UID (0008,0018)");
        sop_inst = inst;
    }
    struct dcm_dataset *m = dcm_dataset_new();
    if (!m)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    static const uint8_t version[2] = { 0, 1 };
    int rc = 0;
    rc = rc ? rc : dcm_dataset_set_uint(m, DCM_TAG_FileMetaInformationGroupLength, DCM_VR_UL, 0);
    rc = rc ? rc : dcm_dataset_set(m, DCM_TAG_FileMetaInformationVersion, DCM_VR_OB, version, 2);
    rc = rc ? rc : dcm_dataset_set_string(m, DCM_TAG_MediaStorageSOPClassUID, DCM_VR_UI, sop_class);
    rc = rc ? rc : dcm_dataset_set_string(m, DCM_TAG_MediaStorageSOPInstanceUID, DCM_VR_UI,
                                          sop_inst);
    rc = rc ? rc : dcm_dataset_set_string(m, DCM_TAG_TransferSyntaxUID, DCM_VR_UI,
                                          meta->transfer_syntax);
    rc = rc ? rc : dcm_dataset_set_string(m, DCM_TAG_ImplementationClassUID, DCM_VR_UI,
                                          meta->implementation_class_uid
                                              ? meta->implementation_class_uid
                                              : FERRY_IMPLEMENTATION_CLASS_UID);
    rc = rc ? rc : dcm_dataset_set_string(m, DCM_TAG_ImplementationVersionName, DCM_VR_SH,
                                          meta->implementation_version_name
                                              ? meta->implementation_version_name
                                              : FERRY_IMPLEMENTATION_VERSION);
    if (rc == 0 && meta->source_ae_title && *meta->source_ae_title)
        rc = dcm_dataset_set_string(m, DCM_TAG_SourceApplicationEntityTitle, DCM_VR_AE,
                                    meta->source_ae_title);
    if (rc < 0)
        ferry_error_set(err, rc, "meta group: a value is invalid or memory ran out");
    else
        rc = write_with(m, (struct enc){ false, false }, false, buf_sink, out, err);
    dcm_dataset_unref(m);
    return rc;
}

int dcm_write_part10(const struct dcm_dataset *ds, const struct dcm_meta_info *meta,
                     uint32_t flags, dcm_write_fn fn, void *ud, struct ferry_error **err)
{
    struct dcm_buf head = { 0 };
    uint8_t pre[132] = { 0 };
    memcpy(pre + 128, "DICM", 4);
    int rc = dcm_buf_append(&head, pre, sizeof pre);
    if (rc < 0)
        ferry_error_set(err, rc, "out of memory");
    if (rc == 0)
        rc = dcm_meta_encode(meta, ds, &head, err);
    if (rc == 0 && (rc = fn(ud, head.data, head.len)) < 0)
        ferry_error_set(err, rc, "write failed");
    dcm_buf_free(&head);
    if (rc == 0)
        rc = dcm_write(ds, meta->transfer_syntax, flags, fn, ud, err);
    return rc;
}

int dcm_command_encode(struct dcm_dataset *cmd, struct dcm_buf *out, struct ferry_error **err)
{
    for (uint32_t i = 0; i < cmd->n; i++)
        if (DCM_TAG_GROUP(cmd->els[i].tag) != 0x0000)
            return ferry_error_set(err, -EINVAL,
                                   "(%04X,%04X) is not a command element (group 0000)",
                                   DCM_TAG_GROUP(cmd->els[i].tag),
                                   DCM_TAG_ELEMENT(cmd->els[i].tag));
    struct enc e = { true, false };
    struct writer c = { .counting = true, .err = err };
    uint32_t from = cmd->n && cmd->els[0].tag == DCM_TAG_CommandGroupLength ? 1 : 0;
    write_elements(&c, cmd, from, cmd->n, e);
    if (c.rc)
        return c.rc;
    if (c.count > UINT32_MAX)
        return ferry_error_set(err, -E2BIG, "command set too long");
    int rc = dcm_dataset_set_uint(cmd, DCM_TAG_CommandGroupLength, DCM_VR_UL, c.count);
    if (rc < 0)
        return ferry_error_set(err, rc, "out of memory");
    return write_with(cmd, e, false, buf_sink, out, err);
}
