/* ferry — route: dictionary and attribute values from the dcm module. */
#include "route/route_dcm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int dict_lookup(void *ud, const char *keyword, uint32_t *tag, char vr[3])
{
    (void)ud;
    uint32_t t;
    if (!dcm_dict_tag_of(keyword, &t))
        return -ENOENT;
    const struct dcm_dict_entry *e = dcm_dict_lookup(t);
    const char *name = e ? dcm_vr_name((enum dcm_vr)e->vr) : "UN";
    if (e && !dcm_vr_is_valid((enum dcm_vr)e->vr)) /* xs, ox, px, lt */
        name = dcm_vr_name(dcm_dict_implicit_vr(t));
    *tag = t;
    memcpy(vr, name, 2);
    vr[2] = '\0';
    return 0;
}

const struct route_dict *route_dcm_dict(void)
{
    static const struct route_dict dict = { dict_lookup, NULL };
    return &dict;
}

int route_dcm_get(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size)
{
    const struct dcm_dataset *ds = ud;
    const struct dcm_element *el = dcm_dataset_get(ds, tag);
    if (!el)
        return -ENOENT;
    enum dcm_vr vr = dcm_element_vr(el);
    if (dcm_vr_is_string(vr))
        return dcm_element_utf8(ds, el, index, buf, size);
    if (vr == DCM_VR_SQ || !dcm_vr_value_size(vr) || vr == DCM_VR_OB || vr == DCM_VR_OW ||
        vr == DCM_VR_UN || vr == DCM_VR_OF || vr == DCM_VR_OD || vr == DCM_VR_OL ||
        vr == DCM_VR_OV) {
        if (index > 0)
            return -ENOENT;
        if (size)
            buf[0] = '\0';
        return 0; /* present; only `present` looks at it */
    }
    int n;
    if (vr == DCM_VR_FL || vr == DCM_VR_FD) {
        double d;
        int rc = dcm_element_double(el, index, &d);
        if (rc < 0)
            return rc;
        n = snprintf(buf, size, "%.17g", d);
    } else if (vr == DCM_VR_SS || vr == DCM_VR_SL || vr == DCM_VR_SV) {
        int64_t v;
        int rc = dcm_element_int(el, index, &v);
        if (rc < 0)
            return rc;
        n = snprintf(buf, size, "%" PRId64, v);
    } else {
        uint64_t v;
        int rc = dcm_element_uint(el, index, &v);
        if (rc < 0)
            return rc;
        n = snprintf(buf, size, "%" PRIu64, v);
    }
    return n < 0 ? -EINVAL : n;
}
