/* The step's parameters, validated at configure time so that a mistake is a
 * config error with the parameter's place, not a failure at run time:
 *
 *   secret-file: PATH            required; 32..4096 bytes, mode 0600
 *   option: NAME                 repeated; deid_option_name() spellings
 *   pseudonym-template: TEXT     default "{site}-{hash:12}"
 *   site: CODE                   default "DEID"; 1..16 of [A-Za-z0-9_-]
 *   burned-in: reject|warn|mask  default reject
 *   mask-file: PATH              rectangles per device (masks.c)
 *   record-pseudonyms: on|off    default off
 */
#include "deid-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TEMPLATE "{site}-{hash:12}"
#define DEFAULT_SITE "DEID"

void deid_diag(struct ferry_diag *diag, int32_t param, const char *fmt, ...)
{
    if (!diag)
        return;
    diag->param = param;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->message, sizeof diag->message, fmt, ap);
    va_end(ap);
}

void deid_config_free(struct deid_config *c)
{
    if (!c)
        return;
    deid_secret_free(c->secret);
    deid_template_free(&c->tmpl);
    deid_masks_free(c->masks);
    free(c);
}

static const char *const keys[] = { "secret-file", "option", "pseudonym-template", "site",
                                    "burned-in", "mask-file", "record-pseudonyms" };
enum key { K_SECRET, K_OPTION, K_TEMPLATE, K_SITE, K_BURNED, K_MASKS, K_RECORD, K_COUNT };

static bool site_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void option_list(char *out, size_t size)
{
    size_t pos = 0;
    out[0] = '\0';
    for (int o = 0; o < DEID_OPT_COUNT && pos < size; o++) {
        int n = snprintf(out + pos, size - pos, "%s%s", o ? ", " : "", deid_option_name(o));
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

int deid_config_parse(const struct ferry_param *params, uint32_t n, struct deid_config **out,
                      struct ferry_diag *diag)
{
    int rc = -EINVAL;
    int at[K_COUNT];
    int option_at[DEID_OPT_COUNT];
    char msg[400];
    for (int k = 0; k < K_COUNT; k++)
        at[k] = -1;
    for (int o = 0; o < DEID_OPT_COUNT; o++)
        option_at[o] = -1;
    *out = NULL;
    struct deid_config *c = calloc(1, sizeof *c);
    if (!c) {
        deid_diag(diag, -1, "out of memory");
        return -ENOMEM;
    }
    snprintf(c->site, sizeof c->site, "%s", DEFAULT_SITE);
    c->burned_in = DEID_BURNED_REJECT;
    c->record_param = -1;

    for (uint32_t i = 0; i < n; i++) {
        const char *key = params[i].key ? params[i].key : "";
        const char *value = params[i].value ? params[i].value : "";
        int k = 0;
        while (k < K_COUNT && strcmp(key, keys[k]) != 0)
            k++;
        if (k == K_COUNT) {
            deid_diag(diag, (int32_t)i,
                      "unknown parameter \"%.64s\"; deid takes secret-file, option, "
                      "pseudonym-template, site, burned-in, mask-file, record-pseudonyms",
                      key);
            goto out_free;
        }
        if (k != K_OPTION && at[k] >= 0) {
            deid_diag(diag, (int32_t)i, "%s given twice", key);
            goto out_free;
        }
        at[k] = (int)i;
        if (!*value) {
            deid_diag(diag, (int32_t)i, "%s is empty", key);
            goto out_free;
        }
        switch (k) {
        case K_OPTION: {
            int o = deid_option_from_name(value);
            if (o < 0) {
                char list[300];
                option_list(list, sizeof list);
                deid_diag(diag, (int32_t)i, "unknown option \"%.64s\"; options: %s", value,
                          list);
                goto out_free;
            }
            if (option_at[o] >= 0) {
                deid_diag(diag, (int32_t)i, "option %s given twice", value);
                goto out_free;
            }
            option_at[o] = (int)i;
            c->options |= DEID_OPT_BIT(o);
            break;
        }
        case K_SITE:
            if (!site_ok(value)) {
                deid_diag(diag, (int32_t)i,
                          "site must be 1 to 16 letters, digits, '-' or '_', not \"%.64s\"",
                          value);
                goto out_free;
            }
            snprintf(c->site, sizeof c->site, "%s", value);
            break;
        case K_BURNED:
            if (strcmp(value, "reject") == 0) {
                c->burned_in = DEID_BURNED_REJECT;
            } else if (strcmp(value, "warn") == 0) {
                c->burned_in = DEID_BURNED_WARN;
            } else if (strcmp(value, "mask") == 0) {
                c->burned_in = DEID_BURNED_MASK;
            } else {
                deid_diag(diag, (int32_t)i, "burned-in must be reject, warn or mask, not \"%.64s\"",
                          value);
                goto out_free;
            }
            break;
        case K_RECORD:
            /* Whether the host keeps the records (plugin ABI 1.1
             * record_pseudonym) is the configure step's to check
             * (deid_config_check_host): this layer has no host. */
            if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
                deid_diag(diag, (int32_t)i, "record-pseudonyms must be on or off, not \"%.64s\"",
                          value);
                goto out_free;
            }
            c->record_pseudonyms = strcmp(value, "on") == 0;
            c->record_param = (int32_t)i;
            break;
        default:   /* secret-file, mask-file, pseudonym-template: after the loop */
            break;
        }
    }

    int full = option_at[DEID_OPT_RETAIN_LONG_FULL_DATES];
    int modified = option_at[DEID_OPT_RETAIN_LONG_MODIFIED_DATES];
    if (full >= 0 && modified >= 0) {
        deid_diag(diag, full > modified ? full : modified,
                  "options retain-long-full-dates and retain-long-modified-dates exclude each "
                  "other");
        goto out_free;
    }
    if (at[K_SECRET] < 0) {
        deid_diag(diag, -1, "secret-file is required (a file of 32 to 4096 secret bytes that only "
                            "its owner may read)");
        goto out_free;
    }
    c->secret = deid_secret_load(params[at[K_SECRET]].value, msg, sizeof msg);
    if (!c->secret) {
        deid_diag(diag, at[K_SECRET], "secret-file %s", msg);
        goto out_free;
    }
    const char *tmpl = at[K_TEMPLATE] >= 0 ? params[at[K_TEMPLATE]].value : DEFAULT_TEMPLATE;
    rc = deid_template_compile(tmpl, c->site, &c->tmpl, msg, sizeof msg);
    if (rc < 0) {
        deid_diag(diag, at[K_TEMPLATE], "pseudonym-template: %s", msg);
        goto out_free;
    }
    rc = -EINVAL;
    if (at[K_MASKS] >= 0) {
        c->masks = deid_masks_load(params[at[K_MASKS]].value, msg, sizeof msg);
        if (!c->masks) {
            deid_diag(diag, at[K_MASKS], "mask-file %s", msg);
            goto out_free;
        }
    }
    if (c->burned_in == DEID_BURNED_MASK && !c->masks) {
        deid_diag(diag, at[K_BURNED], "burned-in: mask needs a mask-file");
        goto out_free;
    }
    *out = c;
    return 0;

out_free:
    deid_config_free(c);
    return rc;
}

int deid_config_check_host(const struct deid_config *c, const struct ferry_host *host,
                           struct ferry_diag *diag)
{
    if (!c->record_pseudonyms)
        return 0;
    /* The pseudonym map belongs where only the data folder's owner reads it,
     * and the host decides where that is; a host without the call, or a
     * program that keeps no records, would leave the map nowhere, and
     * writing it anywhere else would leak the identities. */
    if (!host || !FERRY_HOST_HAS(host, record_pseudonym)) {
        deid_diag(diag, c->record_param,
                  "record-pseudonyms: on needs plugin ABI 1.1 (record_pseudonym); this host "
                  "offers %u.%u; leave it off",
                  host ? host->abi_major : 0u, host ? host->abi_minor : 0u);
        return -EINVAL;
    }
    int rc = host->record_pseudonym(NULL, NULL, NULL, NULL);
    if (rc < 0) {
        deid_diag(diag, c->record_param,
                  "record-pseudonyms: on, but this program keeps no pseudonym map (%s); leave "
                  "it off",
                  rc == -ENOTSUP ? "no place to record it is set up" : strerror(-rc));
        return -EINVAL;
    }
    return 0;
}
