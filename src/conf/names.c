/* ferry — config: names administrators write for transfer syntaxes and SOP
 * classes. The SOP class keywords come from data/dicom/storage_sop_classes.tsv
 * (generated into sop_classes.c at build time); the transfer syntax names are
 * ferry's own short names, listed in docs/config.md, for the UIDs of
 * data/dicom/transfer_syntaxes.tsv; they are the names the codec plugins
 * give their codecs, so `compress: { syntax: ... }` and a destination's
 * transfer_syntaxes speak the same language. */
#include "conf/conf-private.h"

#include <string.h>

static const struct {
    const char *name;
    const char *uid;
} syntaxes[] = {
    { "implicit-little", "1.2.840.10008.1.2" },
    { "explicit-little", "1.2.840.10008.1.2.1" },
    { "encapsulated-uncompressed", "1.2.840.10008.1.2.1.98" },
    { "deflated", "1.2.840.10008.1.2.1.99" },
    { "explicit-big", "1.2.840.10008.1.2.2" },
    { "jpeg-baseline", "1.2.840.10008.1.2.4.50" },
    { "jpeg-extended", "1.2.840.10008.1.2.4.51" },
    { "jpeg-lossless", "1.2.840.10008.1.2.4.57" },
    { "jpeg-lossless-sv1", "1.2.840.10008.1.2.4.70" },
    { "jpeg-ls-lossless", "1.2.840.10008.1.2.4.80" },
    { "jpeg-ls-near-lossless", "1.2.840.10008.1.2.4.81" },
    { "jpeg2000-lossless", "1.2.840.10008.1.2.4.90" },
    { "jpeg2000", "1.2.840.10008.1.2.4.91" },
    { "jpeg2000-mc-lossless", "1.2.840.10008.1.2.4.92" },
    { "jpeg2000-mc", "1.2.840.10008.1.2.4.93" },
    { "htj2k-lossless", "1.2.840.10008.1.2.4.201" },
    { "htj2k-lossless-rpcl", "1.2.840.10008.1.2.4.202" },
    { "htj2k", "1.2.840.10008.1.2.4.203" },
    { "jpeg-xl-lossless", "1.2.840.10008.1.2.4.110" },
    { "jpeg-xl-recompression", "1.2.840.10008.1.2.4.111" },
    { "jpeg-xl", "1.2.840.10008.1.2.4.112" },
    { "rle-lossless", "1.2.840.10008.1.2.5" },
    { "deflated-image-frame", "1.2.840.10008.1.2.8.1" },
    { "mpeg2-main", "1.2.840.10008.1.2.4.100" },
    { "h264-high", "1.2.840.10008.1.2.4.102" },
    { "hevc-main", "1.2.840.10008.1.2.4.107" },
};

#define N_SYNTAXES (sizeof syntaxes / sizeof *syntaxes)

bool conf_uid_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 64)
        return false;
    const char *comp = s;
    for (const char *q = s;; q++) {
        if (*q == '.' || *q == '\0') {
            size_t clen = (size_t)(q - comp);
            if (clen == 0 || (clen > 1 && comp[0] == '0'))
                return false;
            if (*q == '\0')
                return true;
            comp = q + 1;
        } else if (*q < '0' || *q > '9') {
            return false;
        }
    }
}

const char *conf_transfer_syntax_uid(const char *s)
{
    for (size_t i = 0; i < N_SYNTAXES; i++)
        if (strcmp(s, syntaxes[i].name) == 0 || strcmp(s, syntaxes[i].uid) == 0)
            return syntaxes[i].uid;
    return conf_uid_valid(s) ? s : NULL;
}

const char *conf_transfer_syntax_name(const char *uid)
{
    for (size_t i = 0; i < N_SYNTAXES; i++)
        if (strcmp(uid, syntaxes[i].uid) == 0)
            return syntaxes[i].name;
    return NULL;
}

const char *conf_sop_class_uid(const char *s)
{
    for (size_t i = 0; i < conf_n_sop_classes; i++)
        if (strcmp(s, conf_sop_classes[i].keyword) == 0 || strcmp(s, conf_sop_classes[i].uid) == 0)
            return conf_sop_classes[i].uid;
    return conf_uid_valid(s) ? s : NULL;
}
