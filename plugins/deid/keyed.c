/* The per-deployment secret and the keyed hash everything else derives
 * from: HMAC-SHA-256 (OpenSSL's EVP_MAC). The secret is keyed once into a
 * template context at configure time; each hash duplicates it (a read-only
 * use of the template, safe from several workers at once). */
#include "deid-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define SECRET_MIN 32
#define SECRET_MAX 4096

struct deid_secret {
    EVP_MAC *mac;
    EVP_MAC_CTX *keyed;   /* keyed template, never updated itself */
};

void deid_secret_free(struct deid_secret *s)
{
    if (!s)
        return;
    EVP_MAC_CTX_free(s->keyed);
    EVP_MAC_free(s->mac);
    free(s);
}

struct deid_secret *deid_secret_from_bytes(const void *key, size_t len)
{
    struct deid_secret *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!s->mac)
        goto out_free;
    s->keyed = EVP_MAC_CTX_new(s->mac);
    if (!s->keyed)
        goto out_free;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_init(s->keyed, key, len, params))
        goto out_free;
    return s;

out_free:
    deid_secret_free(s);
    return NULL;
}

struct deid_secret *deid_secret_load(const char *path, char *msg, size_t msgsize)
{
    struct deid_secret *s = NULL;
    unsigned char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msgsize, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(msg, msgsize, "%s: %s", path, strerror(errno));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(msg, msgsize, "%s: not a regular file", path);
        goto out_close;
    }
    if (st.st_mode & 077) {
        snprintf(msg, msgsize,
                 "%s: group or others may access it (mode %04o); make it readable by its "
                 "owner only (chmod 600)",
                 path, (unsigned)(st.st_mode & 07777));
        goto out_close;
    }
    if (st.st_size > SECRET_MAX + 64) {
        snprintf(msg, msgsize, "%s: larger than %d bytes", path, SECRET_MAX);
        goto out_close;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        snprintf(msg, msgsize, "%s: out of memory", path);
        goto out_close;
    }
    size_t len = 0;
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(msg, msgsize, "%s: %s", path, strerror(errno));
            goto out_wipe;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                   buf[len - 1] == '\t'))
        len--;
    if (len < SECRET_MIN) {
        snprintf(msg, msgsize, "%s: %zu bytes of secret; at least %d are needed", path, len,
                 SECRET_MIN);
        goto out_wipe;
    }
    if (len > SECRET_MAX) {
        snprintf(msg, msgsize, "%s: larger than %d bytes", path, SECRET_MAX);
        goto out_wipe;
    }
    s = deid_secret_from_bytes(buf, len);
    if (!s)
        snprintf(msg, msgsize, "%s: cannot set up HMAC-SHA-256", path);

out_wipe:
    OPENSSL_cleanse(buf, (size_t)st.st_size);
    free(buf);
out_close:
    close(fd);
    return s;
}

int deid_hmac(const struct deid_secret *s, const char *label, const void *data, size_t len,
              uint8_t out[32])
{
    int rc = -EIO;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(s->keyed);
    if (!c)
        return -ENOMEM;
    static const unsigned char zero = 0;
    size_t outl = 0;
    if (EVP_MAC_update(c, (const unsigned char *)label, strlen(label)) &&
        EVP_MAC_update(c, &zero, 1) && EVP_MAC_update(c, data, len) &&
        EVP_MAC_final(c, out, &outl, 32) && outl == 32)
        rc = 0;
    EVP_MAC_CTX_free(c);
    return rc;
}
