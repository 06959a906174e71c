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
    if ((int)v == -1 || v == DCM_VR_SQ)
        return -EINVAL;
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
};

const struct ferry_host *work_host(void)
{
    return &host;
}
