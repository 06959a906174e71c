/* JPEG 2000 codestream markers: see j2k_markers.h.
 *
 * Marker codes and segment layouts (ISO/IEC 15444-1 Annex A):
 *   SOC FF4F, SOT FF90 (Lsot=10, Isot u16, Psot u32, TPsot u8, TNsot u8),
 *   SOD FF93, EOC FFD9, SIZ FF51, COD FF52, TLM FF55, CAP FF50 (Part 15).
 *   TLM: Ltlm u16, Ztlm u8, Stlm u8 (ST = bits 4-5: Ttlm is 0, 1 or 2 bytes;
 *   SP = bit 6: Ptlm is 2 or 4 bytes), then (Ttlm, Ptlm) per tile-part. */
#include "j2k_markers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M_SOC 0xff4f
#define M_CAP 0xff50
#define M_SIZ 0xff51
#define M_COD 0xff52
#define M_TLM 0xff55
#define M_SOT 0xff90
#define M_SOD 0xff93
#define M_EOC 0xffd9

static uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

struct tlm_entry {
    uint32_t tile;     /* UINT32_MAX when the segment does not say */
    uint32_t length;
};

struct parse {
    const uint8_t *p;
    size_t n;
    char *msg;
    size_t msglen;
    struct tlm_entry *tlm;
    uint32_t n_tlm, cap_tlm;
    bool tlm_order_ok;
};

static int fail(struct parse *ps, size_t at, const char *what)
{
    snprintf(ps->msg, ps->msglen, "codestream byte %zu: %s", at, what);
    return -EINVAL;
}

static int parse_siz(struct parse *ps, size_t at, uint32_t len, struct jm_codestream *cs)
{
    const uint8_t *s = ps->p + at + 4; /* after marker and Lsiz */
    if (len < 41)
        return fail(ps, at, "SIZ marker segment too short");
    uint32_t csiz = be16(s + 34);
    if (csiz < 1 || csiz > 16384 || len != 38 + 3 * csiz)
        return fail(ps, at, "SIZ length does not match its component count");
    uint32_t xsiz = be32(s + 2), ysiz = be32(s + 6), xo = be32(s + 10), yo = be32(s + 14);
    uint32_t xt = be32(s + 18), yt = be32(s + 22), xto = be32(s + 26), yto = be32(s + 30);
    if (xo >= xsiz || yo >= ysiz)
        return fail(ps, at, "SIZ image offset outside the image");
    if (xt == 0 || yt == 0 || xto > xo || yto > yo || (uint64_t)xto + xt <= xo ||
        (uint64_t)yto + yt <= yo)
        return fail(ps, at, "SIZ tile grid does not cover the image");
    uint64_t tx = ((uint64_t)xsiz - xto + xt - 1) / xt;
    uint64_t ty = ((uint64_t)ysiz - yto + yt - 1) / yt;
    if (tx * ty > 65535)
        return fail(ps, at, "SIZ gives more than 65535 tiles");
    cs->rsiz = (uint16_t)be16(s);
    cs->width = xsiz - xo;
    cs->height = ysiz - yo;
    cs->tiles = (uint32_t)(tx * ty);
    cs->components = (uint16_t)csiz;
    return 0;
}

static int parse_cod(struct parse *ps, size_t at, uint32_t len, struct jm_codestream *cs)
{
    const uint8_t *s = ps->p + at + 4;
    if (len < 12)
        return fail(ps, at, "COD marker segment too short");
    if (s[1] > JM_CPRL)
        return fail(ps, at, "COD progression order is not one of LRCP, RLCP, RPCL, PCRL, CPRL");
    if (s[5] > 32)
        return fail(ps, at, "COD has more than 32 decomposition levels");
    cs->progression = s[1];
    cs->layers = (uint16_t)be16(s + 2);
    cs->mct = s[4] != 0;
    cs->decompositions = s[5];
    cs->block_style = s[8];
    cs->reversible = s[9] == 1;
    return 0;
}

static int parse_tlm(struct parse *ps, size_t at, uint32_t len, struct jm_codestream *cs)
{
    const uint8_t *s = ps->p + at + 4;
    if (len < 4)
        return fail(ps, at, "TLM marker segment too short");
    unsigned ztlm = s[0], st = (s[1] >> 4) & 3, sp = (s[1] >> 6) & 1;
    if (st == 3 || (s[1] & 0x8f) != 0)
        return fail(ps, at, "TLM Stlm has reserved bits set");
    unsigned esize = st + (sp ? 4 : 2);
    if ((len - 4) % esize != 0)
        return fail(ps, at, "TLM length is not a whole number of entries");
    if (ztlm != cs->tlm_segments)
        ps->tlm_order_ok = false;
    cs->tlm_segments++;
    uint32_t count = (len - 4) / esize;
    if (ps->n_tlm + count > JM_MAX_TILEPARTS)
        return fail(ps, at, "TLM lists too many tile-parts");
    if (ps->n_tlm + count > ps->cap_tlm) {
        uint32_t cap = ps->n_tlm + count;
        struct tlm_entry *e = realloc(ps->tlm, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        ps->tlm = e;
        ps->cap_tlm = cap;
    }
    const uint8_t *q = s + 2;
    for (uint32_t i = 0; i < count; i++, q += esize) {
        struct tlm_entry *e = &ps->tlm[ps->n_tlm++];
        e->tile = st == 0 ? UINT32_MAX : st == 1 ? q[0] : be16(q);
        e->length = sp ? be32(q + st) : be16(q + st);
    }
    cs->tlm_entries += count;
    return 0;
}

static int add_tilepart(struct jm_codestream *cs, uint32_t *cap, const struct jm_tilepart *tp)
{
    if (cs->n_tileparts == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 8;
        struct jm_tilepart *t = realloc(cs->tileparts, ncap * sizeof *t);
        if (!t)
            return -ENOMEM;
        cs->tileparts = t;
        *cap = ncap;
    }
    cs->tileparts[cs->n_tileparts++] = *tp;
    return 0;
}

/* Every tile has a tile-part, and as many as its TNsot says (when it says):
 * a codestream without EOC is only taken as whole if this holds. */
static bool all_tiles_complete(const struct jm_codestream *cs)
{
    uint16_t *seen = calloc(cs->tiles, sizeof *seen);
    uint8_t *want = calloc(cs->tiles, 1);
    bool ok = seen && want;
    for (uint32_t i = 0; ok && i < cs->n_tileparts; i++) {
        const struct jm_tilepart *t = &cs->tileparts[i];
        seen[t->tile]++;
        if (t->parts)
            want[t->tile] = t->parts;
    }
    for (uint32_t k = 0; ok && k < cs->tiles; k++)
        if (seen[k] == 0 || (want[k] && seen[k] != want[k]))
            ok = false;
    free(seen);
    free(want);
    return ok;
}

/* Walk the tile-part header (marker segments after SOT) to its SOD. */
static int find_sod(struct parse *ps, struct jm_tilepart *tp)
{
    size_t end = tp->offset + tp->length, pos = tp->offset + 12;
    for (;;) {
        if (end - pos < 2)
            return fail(ps, tp->offset, "tile-part header without an SOD marker");
        uint32_t m = be16(ps->p + pos);
        if (m == M_SOD) {
            tp->data = pos + 2;
            return 0;
        }
        if ((m & 0xff00) != 0xff00 || m < 0xff30 || m == M_SOT || m == M_EOC || m == M_SOC)
            return fail(ps, pos, "expected a marker in the tile-part header");
        if (m <= 0xff3f) {
            pos += 2;
            continue;
        }
        if (end - pos < 4)
            return fail(ps, pos, "marker segment length cut off in a tile-part header");
        uint32_t len = be16(ps->p + pos + 2);
        if (len < 2 || len > end - pos - 2)
            return fail(ps, pos, "marker segment runs past the end of its tile-part");
        pos += 2 + len;
    }
}

static void check_tlm(struct parse *ps, struct jm_codestream *cs)
{
    cs->tlm_consistent = ps->tlm_order_ok && ps->n_tlm == cs->n_tileparts;
    for (uint32_t i = 0; cs->tlm_consistent && i < ps->n_tlm; i++) {
        const struct tlm_entry *e = &ps->tlm[i];
        const struct jm_tilepart *t = &cs->tileparts[i];
        /* Without Ttlm, tile-parts are one per tile in tile order. */
        uint32_t tile = e->tile == UINT32_MAX ? i : e->tile;
        if (e->length != t->length || tile != t->tile)
            cs->tlm_consistent = false;
    }
}

int jm_parse(const uint8_t *p, size_t n, struct jm_codestream *cs, char *msg, size_t msglen)
{
    struct parse ps = {.p = p, .n = n, .msg = msg, .msglen = msglen, .tlm_order_ok = true};
    uint32_t cap = 0;
    int rc;
    memset(cs, 0, sizeof *cs);
    if (n < 4 || be16(p) != M_SOC || be16(p + 2) != M_SIZ) {
        rc = fail(&ps, 0, "not a JPEG 2000 codestream (no SOC and SIZ markers)");
        goto out;
    }
    bool have_cod = false;
    size_t pos = 2;
    for (;;) {
        if (n - pos < 2) {
            rc = fail(&ps, pos, "the main header ends before the first tile-part");
            goto out;
        }
        uint32_t m = be16(p + pos);
        if (m == M_SOT)
            break;
        if ((m & 0xff00) != 0xff00 || m < 0xff30) {
            rc = fail(&ps, pos, "expected a marker in the main header");
            goto out;
        }
        if (m == M_SOC || m == M_SOD || m == M_EOC) {
            rc = fail(&ps, pos, "misplaced SOC, SOD or EOC marker in the main header");
            goto out;
        }
        if (m <= 0xff3f) { /* reserved markers without a segment (A.1.2) */
            pos += 2;
            continue;
        }
        if (n - pos < 4) {
            rc = fail(&ps, pos, "marker segment length cut off");
            goto out;
        }
        uint32_t len = be16(p + pos + 2);
        if (len < 2 || len > n - pos - 2) {
            rc = fail(&ps, pos, "marker segment length runs past the end of the codestream");
            goto out;
        }
        if (pos == 2 && m != M_SIZ) {
            rc = fail(&ps, pos, "SIZ must follow SOC");
            goto out;
        }
        rc = 0;
        if (m == M_SIZ) {
            if (pos != 2)
                rc = fail(&ps, pos, "a second SIZ marker");
            else
                rc = parse_siz(&ps, pos, len, cs);
        } else if (m == M_COD) {
            rc = parse_cod(&ps, pos, len, cs);
            have_cod = true;
        } else if (m == M_TLM) {
            rc = parse_tlm(&ps, pos, len, cs);
        } else if (m == M_CAP) {
            cs->has_cap = true;
        }
        if (rc < 0)
            goto out;
        pos += 2 + len;
    }
    if (!have_cod) {
        rc = fail(&ps, pos, "no COD marker in the main header");
        goto out;
    }
    cs->main_header_end = pos;

    for (;;) {
        if (pos == n && cs->n_tileparts > 0 && all_tiles_complete(cs)) {
            cs->eoc = n; /* no EOC, but every tile is there and the data ends */
            break;
        }
        if (n - pos < 2) {
            rc = fail(&ps, pos, "the codestream ends without an EOC marker");
            goto out;
        }
        uint32_t m = be16(p + pos);
        if (m == M_EOC) {
            cs->eoc = pos;
            break;
        }
        if (m != M_SOT) {
            rc = fail(&ps, pos, "expected SOT or EOC after a tile-part");
            goto out;
        }
        if (n - pos < 12 || be16(p + pos + 2) != 10) {
            rc = fail(&ps, pos, "SOT marker segment cut off or of the wrong length");
            goto out;
        }
        struct jm_tilepart tp = {
            .offset = pos,
            .tile = (uint16_t)be16(p + pos + 4),
            .length = be32(p + pos + 6),
            .part = p[pos + 10],
            .parts = p[pos + 11],
        };
        if (tp.tile >= cs->tiles) {
            rc = fail(&ps, pos, "SOT tile index beyond the tile grid");
            goto out;
        }
        if (tp.length == 0) {
            /* The last tile-part may run to the EOC (A.4.2). */
            if (n - pos < 14 || be16(p + n - 2) != M_EOC) {
                rc = fail(&ps, pos, "Psot 0 but the codestream does not end with EOC");
                goto out;
            }
            size_t len = n - 2 - pos;
            if (len > UINT32_MAX) {
                rc = fail(&ps, pos, "tile-part longer than 4 GiB");
                goto out;
            }
            tp.length = (uint32_t)len;
        }
        if (tp.length < 14 || tp.length > n - pos) {
            rc = fail(&ps, pos, "Psot runs past the end of the codestream");
            goto out;
        }
        if (cs->n_tileparts >= JM_MAX_TILEPARTS) {
            rc = fail(&ps, pos, "too many tile-parts");
            goto out;
        }
        rc = find_sod(&ps, &tp);
        if (rc < 0)
            goto out;
        rc = add_tilepart(cs, &cap, &tp);
        if (rc < 0)
            goto out;
        pos += tp.length;
    }
    if (cs->n_tileparts == 0) {
        rc = fail(&ps, pos, "no tile-part");
        goto out;
    }
    check_tlm(&ps, cs);
    rc = 0;
out:
    free(ps.tlm);
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(msg, msglen, "out of memory parsing the codestream");
        jm_free(cs);
    }
    return rc;
}

int jm_check_data(const uint8_t *p, size_t n, const struct jm_codestream *cs, size_t *at)
{
    for (uint32_t t = 0; t < cs->n_tileparts; t++) {
        const struct jm_tilepart *tp = &cs->tileparts[t];
        size_t end = tp->offset + tp->length;
        if (end > n || tp->data > end)
            return -EINVAL; /* not what jm_parse produced */
        const uint8_t *q = p + tp->data, *stop = p + end;
        while (q + 1 < stop) {
            q = memchr(q, 0xff, (size_t)(stop - 1 - q));
            if (!q)
                break;
            uint8_t next = q[1];
            if (next > 0x8f && next != 0x91 && next != 0x92) {
                *at = (size_t)(q - p);
                return -EINVAL;
            }
            q++;
        }
    }
    return 0;
}

int jm_jp2_codestream(const uint8_t *p, size_t n, const uint8_t **cs, size_t *cs_len, char *msg,
                      size_t msglen)
{
    size_t pos = 0;
    while (n - pos >= 8) {
        uint64_t len = be32(p + pos);
        uint32_t type = be32(p + pos + 4);
        size_t header = 8;
        if (len == 1) {
            if (n - pos < 16) {
                snprintf(msg, msglen, "JP2 byte %zu: box length cut off", pos);
                return -EINVAL;
            }
            len = ((uint64_t)be32(p + pos + 8) << 32) | be32(p + pos + 12);
            header = 16;
        } else if (len == 0) {
            len = n - pos; /* the last box runs to the end */
        }
        if (len < header || len > n - pos) {
            snprintf(msg, msglen, "JP2 byte %zu: box length runs past the end of the file", pos);
            return -EINVAL;
        }
        if (type == 0x6a703263) { /* 'jp2c' */
            *cs = p + pos + header;
            *cs_len = (size_t)len - header;
            return 0;
        }
        pos += (size_t)len;
    }
    snprintf(msg, msglen, "JP2 file without a codestream (jp2c) box");
    return -EINVAL;
}

void jm_free(struct jm_codestream *cs)
{
    free(cs->tileparts);
    cs->tileparts = NULL;
    cs->n_tileparts = 0;
}

/* The layout of the TLM entries written for cs. */
static void tlm_layout(const struct jm_codestream *cs, unsigned *st, unsigned *sp,
                       uint32_t *per_segment)
{
    uint32_t max_tile = 0, max_len = 0;
    for (uint32_t i = 0; i < cs->n_tileparts; i++) {
        if (cs->tileparts[i].tile > max_tile)
            max_tile = cs->tileparts[i].tile;
        if (cs->tileparts[i].length > max_len)
            max_len = cs->tileparts[i].length;
    }
    *st = max_tile < 256 ? 1 : 2;
    *sp = max_len > 0xffff ? 1 : 0;
    *per_segment = (0xffffu - 4) / (*st + (*sp ? 4 : 2));
}

size_t jm_tlm_size(const struct jm_codestream *cs)
{
    unsigned st, sp;
    uint32_t per;
    tlm_layout(cs, &st, &sp, &per);
    uint32_t segments = (cs->n_tileparts + per - 1) / per;
    return (size_t)segments * 6 + (size_t)cs->n_tileparts * (st + (sp ? 4 : 2));
}

void jm_write_with_tlm(const uint8_t *p, size_t n, const struct jm_codestream *cs, uint8_t *out)
{
    unsigned st, sp;
    uint32_t per;
    tlm_layout(cs, &st, &sp, &per);
    size_t h = cs->main_header_end;
    memcpy(out, p, h);
    uint8_t *q = out + h;
    uint32_t done = 0;
    for (unsigned z = 0; done < cs->n_tileparts; z++) {
        uint32_t count = cs->n_tileparts - done < per ? cs->n_tileparts - done : per;
        uint32_t ltlm = 4 + count * (st + (sp ? 4 : 2));
        *q++ = 0xff;
        *q++ = 0x55;
        *q++ = (uint8_t)(ltlm >> 8);
        *q++ = (uint8_t)ltlm;
        *q++ = (uint8_t)z;
        *q++ = (uint8_t)((sp << 6) | (st << 4));
        for (uint32_t i = 0; i < count; i++) {
            const struct jm_tilepart *t = &cs->tileparts[done + i];
            if (st == 2)
                *q++ = (uint8_t)(t->tile >> 8);
            *q++ = (uint8_t)t->tile;
            if (sp) {
                *q++ = (uint8_t)(t->length >> 24);
                *q++ = (uint8_t)(t->length >> 16);
            }
            *q++ = (uint8_t)(t->length >> 8);
            *q++ = (uint8_t)t->length;
        }
        done += count;
    }
    memcpy(q, p + h, n - h);
}

int jm_encode_photometric(uint32_t samples, const char *pi, bool lossy, bool *ct,
                          const char **out_pi, char *msg, size_t msglen)
{
    *ct = false;
    *out_pi = pi;
    if (samples == 1) {
        bool mono = strcmp(pi, "MONOCHROME1") == 0 || strcmp(pi, "MONOCHROME2") == 0;
        if (!mono && !(strcmp(pi, "PALETTE COLOR") == 0 && !lossy)) {
            snprintf(msg, msglen, "cannot encode Photometric Interpretation '%s' with one sample%s",
                     pi, lossy ? " lossily" : "");
            return -EINVAL;
        }
    } else if (strcmp(pi, "RGB") == 0) {
        *ct = true;
        *out_pi = lossy ? "YBR_ICT" : "YBR_RCT";
    } else if (strcmp(pi, "YBR_FULL") != 0) {
        snprintf(msg, msglen, "cannot encode Photometric Interpretation '%s' (RGB or YBR_FULL)", pi);
        return -EINVAL;
    }
    return 0;
}
