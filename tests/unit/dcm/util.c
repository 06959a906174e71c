/* Helpers for the dcm unit tests. */
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void tb_bytes(struct tb *t, const void *p, size_t n)
{
    if (t->n + n > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n)
            cap *= 2;
        t->d = realloc(t->d, cap);
        ck_assert_ptr_nonnull(t->d);
        t->cap = cap;
    }
    if (n)
        memcpy(t->d + t->n, p, n);
    t->n += n;
}

void tb_u16(struct tb *t, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    if (t->big) {
        b[0] = (uint8_t)(v >> 8);
        b[1] = (uint8_t)v;
    }
    tb_bytes(t, b, 2);
}

void tb_u32(struct tb *t, uint32_t v)
{
    if (t->big) {
        tb_u16(t, (uint16_t)(v >> 16));
        tb_u16(t, (uint16_t)v);
    } else {
        tb_u16(t, (uint16_t)v);
        tb_u16(t, (uint16_t)(v >> 16));
    }
}

void tb_tag(struct tb *t, uint32_t tag)
{
    tb_u16(t, (uint16_t)(tag >> 16));
    tb_u16(t, (uint16_t)tag);
}

void tb_head(struct tb *t, uint32_t tag, const char *vr, uint32_t len)
{
    tb_tag(t, tag);
    if (t->implicit) {
        tb_u32(t, len);
        return;
    }
    tb_bytes(t, vr, 2);
    if (dcm_vr_has_long_length(dcm_vr_from_name(vr))) {
        tb_u16(t, 0);
        tb_u32(t, len);
    } else {
        tb_u16(t, (uint16_t)len);
    }
}

void tb_el(struct tb *t, uint32_t tag, const char *vr, const void *v, uint32_t len)
{
    tb_head(t, tag, vr, len);
    tb_bytes(t, v, len);
}

void tb_str(struct tb *t, uint32_t tag, const char *vr, const char *s)
{
    size_t n = strlen(s);
    tb_head(t, tag, vr, (uint32_t)(n + (n & 1)));
    tb_bytes(t, s, n);
    if (n & 1)
        tb_bytes(t, strcmp(vr, "UI") == 0 ? "\0" : " ", 1);
}

void tb_item(struct tb *t, uint32_t len)
{
    tb_tag(t, 0xFFFEE000u);
    tb_u32(t, len);
}

void tb_item_end(struct tb *t)
{
    tb_tag(t, 0xFFFEE00Du);
    tb_u32(t, 0);
}

void tb_seq_end(struct tb *t)
{
    tb_tag(t, 0xFFFEE0DDu);
    tb_u32(t, 0);
}

void tb_part10(struct tb *t, const char *ts)
{
    struct tb m = { 0 };
    static const uint8_t ver[2] = { 0, 1 };
    tb_el(&m, 0x00020001u, "OB", ver, 2);
    tb_str(&m, 0x00020002u, "UI", "1.2.840.10008.5.1.4.1.1.7");
    tb_str(&m, 0x00020003u, "UI", "1.2.3.4");
    tb_str(&m, 0x00020010u, "UI", ts);
    uint8_t pre[128] = { 0 };
    tb_bytes(t, pre, sizeof pre);
    tb_bytes(t, "DICM", 4);
    bool big = t->big, imp = t->implicit;
    t->big = t->implicit = false;
    uint8_t gl[4] = { (uint8_t)m.n, (uint8_t)(m.n >> 8), (uint8_t)(m.n >> 16), (uint8_t)(m.n >> 24) };
    tb_el(t, 0x00020000u, "UL", gl, 4);
    tb_bytes(t, m.d, m.n);
    t->big = big;
    t->implicit = imp;
    tb_free(&m);
}

void tb_free(struct tb *t)
{
    free(t->d);
    t->d = NULL;
    t->n = t->cap = 0;
}

struct dcm_dataset *parse_ok(const struct tb *t, uint32_t flags, const char *ts)
{
    struct ferry_error *err = NULL;
    struct dcm_parse_opts o = { .flags = flags, .transfer_syntax = ts };
    struct dcm_dataset *ds = dcm_parse_buffer(t->d, t->n, &o, NULL, NULL, &err);
    ck_assert_msg(ds != NULL, "parse failed: %s", ferry_error_message(err));
    ferry_error_free(err);
    return ds;
}

char *parse_err(const struct tb *t, uint32_t flags, const char *ts)
{
    struct ferry_error *err = NULL;
    struct dcm_parse_opts o = { .flags = flags, .transfer_syntax = ts };
    struct dcm_dataset *ds = dcm_parse_buffer(t->d, t->n, &o, NULL, NULL, &err);
    ck_assert_msg(ds == NULL, "parse should have failed");
    ck_assert_ptr_nonnull(err);
    char *m = strdup(err->message);
    ferry_error_free(err);
    return m;
}

struct dcm_dataset *parse_chunks(const uint8_t *d, size_t n, const struct dcm_parse_opts *o,
                                 size_t chunk, struct ferry_error **err)
{
    struct dcm_parser *p = dcm_parser_new(o, err);
    if (!p)
        return NULL;
    uint32_t seed = 12345;
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0) {
        size_t k = chunk;
        if (k == 0) {
            seed = seed * 1103515245u + 12345u;
            static const size_t sizes[] = { 1, 2, 3, 5, 7, 8, 11, 12, 13, 64, 131, 4096, 16384 };
            k = sizes[(seed >> 16) % (sizeof sizes / sizeof sizes[0])];
        }
        if (k > n - i)
            k = n - i;
        /* A copy, scribbled over afterwards: the parser must not keep
         * pointers into what it was fed. */
        static uint8_t tmp[16384];
        memcpy(tmp, d + i, k);
        rc = dcm_parser_feed(p, tmp, k, err);
        memset(tmp, 0xA5, k);
        i += k;
    }
    struct dcm_dataset *ds = rc < 0 ? NULL : dcm_parser_finish(p, err);
    dcm_parser_free(p);
    return ds;
}

static bool values_equal(const struct dcm_element *x, const struct dcm_element *y)
{
    if (dcm_element_length(x) != dcm_element_length(y))
        return false;
    const uint8_t *a = dcm_element_value(x), *b = dcm_element_value(y);
    if (!a || !b)
        return a == b || dcm_element_length(x) == 0;
    return memcmp(a, b, dcm_element_length(x)) == 0;
}

bool ds_equal(const struct dcm_dataset *a, const struct dcm_dataset *b, bool loose_vr,
              char *why, size_t why_size)
{
    size_t n = dcm_dataset_count(a);
    if (n != dcm_dataset_count(b)) {
        if (why)
            snprintf(why, why_size, "%zu vs %zu elements", n, dcm_dataset_count(b));
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct dcm_element *x = dcm_dataset_at(a, i), *y = dcm_dataset_at(b, i);
        uint32_t tag = dcm_element_tag(x);
        char where[64];
        snprintf(where, sizeof where, "(%04X,%04X)", DCM_TAG_GROUP(tag), DCM_TAG_ELEMENT(tag));
        if (tag != dcm_element_tag(y)) {
            if (why)
                snprintf(why, why_size, "%s vs (%08X)", where, dcm_element_tag(y));
            return false;
        }
        enum dcm_vr vx = dcm_element_vr(x), vy = dcm_element_vr(y);
        if (vx != vy) {
            bool ok = loose_vr && (vy == DCM_VR_UN || vy == dcm_dict_implicit_vr(tag) ||
                                   (vx == DCM_VR_UN && vy == DCM_VR_SQ));
            if (!ok) {
                if (why)
                    snprintf(why, why_size, "%s VR %s vs %s", where, dcm_vr_name(vx),
                             dcm_vr_name(vy));
                return false;
            }
        }
        if (dcm_element_is_sequence(x) != dcm_element_is_sequence(y) ||
            dcm_element_is_encapsulated(x) != dcm_element_is_encapsulated(y)) {
            if (why)
                snprintf(why, why_size, "%s kind differs", where);
            return false;
        }
        if (dcm_element_is_sequence(x)) {
            uint32_t k = dcm_element_item_count(x);
            if (k != dcm_element_item_count(y)) {
                if (why)
                    snprintf(why, why_size, "%s %u vs %u items", where, k,
                             dcm_element_item_count(y));
                return false;
            }
            for (uint32_t j = 0; j < k; j++) {
                char sub[200];
                if (!ds_equal(dcm_element_item(x, j), dcm_element_item(y, j), loose_vr, sub,
                              sizeof sub)) {
                    if (why)
                        snprintf(why, why_size, "%s item %u: %s", where, j, sub);
                    return false;
                }
            }
            continue;
        }
        if (dcm_element_is_encapsulated(x)) {
            uint32_t k = dcm_element_fragment_count(x);
            if (k != dcm_element_fragment_count(y)) {
                if (why)
                    snprintf(why, why_size, "%s fragments %u vs %u", where, k,
                             dcm_element_fragment_count(y));
                return false;
            }
            for (uint32_t j = 0; j <= k; j++) {
                const uint8_t *p, *q;
                uint32_t lp, lq;
                if (j == 0) {
                    dcm_element_offset_table(x, &p, &lp);
                    dcm_element_offset_table(y, &q, &lq);
                } else {
                    dcm_element_fragment(x, j - 1, &p, &lp, NULL);
                    dcm_element_fragment(y, j - 1, &q, &lq, NULL);
                }
                if (lp != lq || (lp && (!p || !q || memcmp(p, q, lp) != 0))) {
                    if (why)
                        snprintf(why, why_size, "%s fragment %u differs", where, j);
                    return false;
                }
            }
            continue;
        }
        /* Group lengths are recomputed by the writer: not compared. */
        if (DCM_TAG_ELEMENT(tag) == 0 && vx == DCM_VR_UL)
            continue;
        if (!values_equal(x, y)) {
            if (why)
                snprintf(why, why_size, "%s value differs (%u vs %u bytes)", where,
                         dcm_element_length(x), dcm_element_length(y));
            return false;
        }
    }
    return true;
}

uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(len > 0 ? (size_t)len : 1);
    size_t got = len > 0 ? fread(d, 1, (size_t)len, f) : 0;
    fclose(f);
    *n = got;
    return d;
}

const char *corpus_dir(void)
{
    static const char dir[] = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

static void walk(const char *dir, char ***list, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk(path, list, n, cap);
            continue;
        }
        if (*n + 2 > *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *list = realloc(*list, sizeof **list * *cap);
        }
        (*list)[(*n)++] = strdup(path);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **list_files(const char *dir)
{
    char **l = NULL;
    size_t n = 0, cap = 0;
    walk(dir, &l, &n, &cap);
    if (!l)
        l = calloc(1, sizeof *l);
    else
        qsort(l, n, sizeof *l, cmp_str);
    l[n] = NULL;
    return l;
}

void free_list(char **l)
{
    for (char **p = l; p && *p; p++)
        free(*p);
    free(l);
}
