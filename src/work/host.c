/* ferry — work: the host side of the plugin ABI, on top of the dcm module.
 *
 * struct ferry_dataset is a struct dcm_dataset (a root or an item) seen
 * through the ABI; struct ferry_instance is one pipeline run
 * (work-private.h). */
#include "work/work-private.h"

#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct dcm_dataset *to_dcm(struct ferry_dataset *ds)
{
    return (struct dcm_dataset *)ds;
}

static struct ferry_dataset *to_ferry(struct dcm_dataset *ds)
{
    return (struct ferry_dataset *)ds;
}

static void host_log(struct ferry_instance *inst, int32_t level, const char *fmt, ...)
{
    enum ferry_log_level l = level <= FERRY_PLUGIN_LOG_ERROR  ? FERRY_LOG_ERROR
                             : level == FERRY_PLUGIN_LOG_WARN ? FERRY_LOG_WARN
                             : level == FERRY_PLUGIN_LOG_INFO ? FERRY_LOG_INFO
                                                              : FERRY_LOG_DEBUG;
    va_list ap;
    va_start(ap, fmt);
    ferry_logv(l, inst ? inst->context : "plugin", fmt, ap);
    va_end(ap);
}

static void *host_alloc(size_t n)
{
    return malloc(n ? n : 1);
}

static void host_free(void *p)
{
    free(p);
}

static struct ferry_dataset *host_root(struct ferry_instance *inst)
{
    return to_ferry(inst->ds);
}

static void fill_value(const struct dcm_dataset *ds, const struct dcm_element *el,
                       struct ferry_value *out)
{
    (void)ds;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->tag = dcm_element_tag(el);
    const char *vr = dcm_vr_name(dcm_element_vr(el));
    out->vr[0] = vr[0];
    out->vr[1] = vr[1];
    if (dcm_element_is_sequence(el)) {
        out->items = dcm_element_item_count(el);
    } else if (!dcm_element_is_encapsulated(el)) {
        out->bytes = dcm_element_value(el);
        out->length = out->bytes ? dcm_element_length(el) : 0;
    }
}

static int host_get(struct ferry_dataset *ds, uint32_t tag, struct ferry_value *out)
{
    const struct dcm_element *el = dcm_dataset_get(to_dcm(ds), tag);
    if (!el)
        return -ENOENT;
    fill_value(to_dcm(ds), el, out);
    return 0;
}

static int host_get_string(struct ferry_dataset *ds, uint32_t tag, uint32_t index, char *buf,
                           size_t bufsize)
{
    return dcm_dataset_get_utf8(to_dcm(ds), tag, index, buf, bufsize);
}

static enum dcm_vr vr_arg(const char *vr)
{
    if (!vr)
        return DCM_VR_NONE;
    char name[3] = { vr[0], vr[0] ? vr[1] : 0, 0 };
    enum dcm_vr v = dcm_vr_from_name(name);
    return dcm_vr_is_valid(v) ? v : (enum dcm_vr)-1;
}

static int host_set(struct ferry_dataset *ds, uint32_t tag, const char *vr, const void *bytes,
                    uint32_t length)
{
    enum dcm_vr v = vr_arg(vr);
    if ((int)v == -1)
        return -EINVAL;
    if (v == DCM_VR_NONE && dcm_dict_implicit_vr(tag) == DCM_VR_SQ)
        v = DCM_VR_SQ;
    if (v == DCM_VR_SQ)
        /* 1.1: an empty sequence (Z on a sequence); items are added with
         * add_item, never as bytes. */
        return length == 0 ? dcm_dataset_set_sequence(to_dcm(ds), tag) : -EINVAL;
    return dcm_dataset_set(to_dcm(ds), tag, v, bytes, length);
}

static int host_set_string(struct ferry_dataset *ds, uint32_t tag, const char *vr,
                           const char *utf8)
{
    enum dcm_vr v = vr_arg(vr);
    if ((int)v == -1 || v == DCM_VR_SQ)
        return -EINVAL;
    int rc = dcm_dataset_set_utf8(to_dcm(ds), tag, v, utf8);
    if (rc == -EILSEQ) {
        /* The text does not fit the instance's character set: move the whole
         * instance to UTF-8, which holds everything, and try again. */
        struct dcm_dataset *root = dcm_dataset_root(to_dcm(ds));
        rc = dcm_dataset_convert_charset(root, "ISO_IR 192", NULL);
        if (rc == 0)
            rc = dcm_dataset_set_utf8(to_dcm(ds), tag, v, utf8);
    }
    return rc;
}

static int host_remove(struct ferry_dataset *ds, uint32_t tag)
{
    return dcm_dataset_remove(to_dcm(ds), tag);
}

/* The index of the first element of ds whose tag is >= tag. */
static size_t lower_bound(const struct dcm_dataset *ds, uint32_t tag)
{
    size_t lo = 0, hi = dcm_dataset_count(ds);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dcm_element_tag(dcm_dataset_at(ds, mid)) < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int host_foreach(struct ferry_dataset *fds,
                        int (*fn)(void *ud, struct ferry_dataset *ds, const struct ferry_value *v),
                        void *ud)
{
    struct dcm_dataset *ds = to_dcm(fds);
    /* The callback may replace or remove the element it is handed, which may
     * move the element array: find the next element by tag each time. */
    uint64_t next = 0;
    for (;;) {
        size_t i = lower_bound(ds, (uint32_t)next);
        if (next > UINT32_MAX || i >= dcm_dataset_count(ds))
            return 0;
        const struct dcm_element *el = dcm_dataset_at(ds, i);
        struct ferry_value v;
        fill_value(ds, el, &v);
        next = (uint64_t)v.tag + 1;
        int rc = fn(ud, fds, &v);
        if (rc != 0)
            return rc;
    }
}

static struct ferry_dataset *host_item(struct ferry_dataset *ds, uint32_t tag, uint32_t index)
{
    return to_ferry(dcm_dataset_item(to_dcm(ds), tag, index));
}

static struct ferry_dataset *host_add_item(struct ferry_dataset *ds, uint32_t tag)
{
    return to_ferry(dcm_dataset_add_item(to_dcm(ds), tag));
}

static int host_pixel_info(struct ferry_instance *inst, struct ferry_pixel_info *out)
{
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    uint32_t frames;
    int rc = work_pixel_geometry(inst->ds, &out->frame, &frames, NULL);
    if (rc < 0)
        return rc;
    out->frames = frames;
    if (inst->frames)
        out->frame = inst->geom;
    snprintf(out->transfer_syntax, sizeof out->transfer_syntax, "%s",
             inst->frames ? DCM_UID_ExplicitVRLittleEndian
                          : dcm_dataset_transfer_syntax(inst->ds));
    return 0;
}

static int host_get_frame(struct ferry_instance *inst, uint32_t index, const uint8_t **pixels,
                          size_t *length, struct ferry_frame *geometry)
{
    struct ferry_error *err = NULL;
    int rc = work_instance_frame(inst, index, pixels, length, geometry, &err);
    if (rc < 0 && err)
        ferry_log(FERRY_LOG_WARN, inst->context, "%s", err->message);
    ferry_error_free(err);
    return rc;
}

static int host_set_frame(struct ferry_instance *inst, uint32_t index, const uint8_t *pixels,
                          size_t length, const struct ferry_frame *geometry)
{
    return work_instance_set_frame(inst, index, pixels, length, geometry);
}

/* ---------------------------------------------------------------------------
 * Elements that arrived as UN */

/* The VR to read a UN value of `tag` as, or DCM_VR_NONE to leave it UN:
 * the dictionary's VR when it names one VR that is not SQ (a sequence in
 * UN of defined length would need parsing) and, for binary VRs, when the
 * bytes are little endian. */
static enum dcm_vr known_vr(uint32_t tag, bool big_endian)
{
    const struct dcm_dict_entry *e = dcm_dict_lookup(tag);
    if (!e || (DCM_TAG_GROUP(tag) & 1))
        return DCM_VR_NONE;
    enum dcm_vr vr = (enum dcm_vr)e->vr;
    if (!dcm_vr_is_valid(vr) || vr == DCM_VR_SQ || vr == DCM_VR_UN)
        return DCM_VR_NONE;
    if (big_endian && !dcm_vr_is_string(vr) && dcm_vr_value_size(vr) > 1)
        return DCM_VR_NONE;
    return vr;
}

static int copy_elements(struct dcm_dataset *dst, const struct dcm_dataset *src, int depth);

/* Sequence `tag` of dst becomes a copy of sequence element sq. */
static int copy_sequence(struct dcm_dataset *dst, uint32_t tag, const struct dcm_element *sq,
                         int depth)
{
    int rc = dcm_dataset_set_sequence(dst, tag);
    uint32_t n = dcm_element_item_count(sq);
    for (uint32_t k = 0; rc == 0 && k < n; k++) {
        struct dcm_dataset *item = dcm_dataset_add_item(dst, tag);
        rc = item ? copy_elements(item, dcm_element_item(sq, k), depth + 1) : -ENOMEM;
    }
    return rc;
}

static int copy_elements(struct dcm_dataset *dst, const struct dcm_dataset *src, int depth)
{
    if (depth > 64)
        return -E2BIG;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < dcm_dataset_count(src); i++) {
        const struct dcm_element *el = dcm_dataset_at(src, i);
        uint32_t tag = dcm_element_tag(el);
        if (dcm_element_is_sequence(el))
            rc = copy_sequence(dst, tag, el, depth);
        else if (!dcm_element_is_encapsulated(el))
            rc = dcm_dataset_set(dst, tag, dcm_element_vr(el), dcm_element_value(el),
                                 dcm_element_value(el) ? dcm_element_length(el) : 0);
    }
    return rc;
}

/* A sequence that arrived as UN of defined length: its items are Implicit
 * VR Little Endian whatever the transfer syntax (PS3.5 6.2.2, CP-246).
 * Parsed and put in place as a sequence; left as it is when it does not
 * parse (the plugin then sees UN bytes it cannot read, and deid removes
 * them). */
static int un_sequence(struct dcm_dataset *ds, uint32_t tag, const uint8_t *v, uint32_t len)
{
    if (len > UINT32_MAX - 8)
        return 0;
    uint8_t *buf = malloc((size_t)len + 8);
    if (!buf)
        return -ENOMEM;
    uint16_t g = DCM_TAG_GROUP(tag), e = DCM_TAG_ELEMENT(tag);
    uint8_t head[8] = { (uint8_t)g, (uint8_t)(g >> 8), (uint8_t)e, (uint8_t)(e >> 8),
                        (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                        (uint8_t)(len >> 24) };
    memcpy(buf, head, 8);
    if (len)
        memcpy(buf + 8, v, len);
    struct dcm_parse_opts o = { .flags = DCM_PARSE_COPY,
                                .transfer_syntax = DCM_UID_ImplicitVRLittleEndian,
                                .max_depth = 64 };
    struct dcm_dataset *parsed = dcm_parse_buffer(buf, (size_t)len + 8, &o, NULL, NULL, NULL);
    int rc = 0;
    const struct dcm_element *sq = parsed ? dcm_dataset_get(parsed, tag) : NULL;
    if (sq && dcm_element_is_sequence(sq) && dcm_dataset_count(parsed) == 1)
        rc = copy_sequence(ds, tag, sq, 0);
    dcm_dataset_unref(parsed);
    free(buf);
    return rc == -E2BIG || rc == -EINVAL ? 0 : rc;
}

static int resolve_un(struct dcm_dataset *ds, bool big_endian, int depth)
{
    if (depth > 64)
        return 0;
    for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
        const struct dcm_element *el = dcm_dataset_at(ds, i);
        uint32_t tag = dcm_element_tag(el);
        if (dcm_element_is_sequence(el)) {
            uint32_t n = dcm_element_item_count(el);
            for (uint32_t k = 0; k < n; k++) {
                int rc = resolve_un(dcm_element_item(el, k), big_endian, depth + 1);
                if (rc < 0)
                    return rc;
            }
            continue;
        }
        if (dcm_element_vr(el) != DCM_VR_UN || !dcm_element_has_value(el))
            continue;
        const struct dcm_dict_entry *de = dcm_dict_lookup(tag);
        if (de && de->vr == DCM_VR_SQ && !(DCM_TAG_GROUP(tag) & 1)) {
            int rc = un_sequence(ds, tag, dcm_element_value(el), dcm_element_length(el));
            if (rc < 0)
                return rc;
            el = dcm_dataset_at(ds, i);
            if (dcm_element_is_sequence(el))
                i--; /* walk the new sequence's items too */
            continue;
        }
        enum dcm_vr vr = known_vr(tag, big_endian);
        if (vr == DCM_VR_NONE)
            continue;
        uint32_t len = dcm_element_length(el);
        size_t unit = dcm_vr_is_string(vr) ? 1 : dcm_vr_value_size(vr);
        if (unit > 1 && len % unit)
            continue; /* not a whole number of values: leave it as it came */
        const uint8_t *v = dcm_element_value(el);
        /* dcm_dataset_set copies before it replaces; el is stale after. */
        int rc = dcm_dataset_set(ds, tag, vr, v, v ? len : 0);
        if (rc < 0 && rc != -EINVAL) /* -EINVAL: too long for the VR; stays UN */
            return rc;
    }
    return 0;
}

int work_instance_resolve_un(struct ferry_instance *inst)
{
    const struct dcm_ts *ts = dcm_ts_lookup(dcm_dataset_transfer_syntax(inst->ds));
    return resolve_un(inst->ds, ts && ts->big_endian, 0);
}

/* ---------------------------------------------------------------------------
 * Pseudonym records */

/* The process's pseudonym sink: set once at start, read by workers. */
static struct {
    work_pseudonym_fn fn;
    void *ud;
} sink;

void work_set_pseudonym_sink(work_pseudonym_fn fn, void *ud)
{
    sink.fn = fn;
    sink.ud = ud;
}

static int host_record_pseudonym(struct ferry_instance *inst, const char *kind,
                                 const char *original, const char *replacement)
{
    if (!inst)
        return sink.fn ? 0 : -ENOTSUP;
    if (!kind || !*kind || !original || !replacement)
        return -EINVAL;
    if (!sink.fn)
        return -ENOTSUP;
    struct work_pseudonym rec = {
        .kind = kind,
        .original = original,
        .replacement = replacement,
        .step = inst->step ? inst->step : "",
        .context = inst->context,
    };
    return sink.fn(sink.ud, &rec);
}

static const struct ferry_host host = {
    .size = sizeof(struct ferry_host),
    .abi_major = FERRY_PLUGIN_ABI_MAJOR,
    .abi_minor = FERRY_PLUGIN_ABI_MINOR,
    .log = host_log,
    .alloc = host_alloc,
    .free = host_free,
    .root = host_root,
    .get = host_get,
    .get_string = host_get_string,
    .set = host_set,
    .set_string = host_set_string,
    .remove = host_remove,
    .foreach = host_foreach,
    .item = host_item,
    .add_item = host_add_item,
    .pixel_info = host_pixel_info,
    .get_frame = host_get_frame,
    .set_frame = host_set_frame,
    .record_pseudonym = host_record_pseudonym,
};

const struct ferry_host *work_host(void)
{
    return &host;
}
