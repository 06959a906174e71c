/* ferry — CONVENIENCE I/O for tools and tests (the daemon feeds buffers),
 * and UID generation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcm/dcm-private.h"

struct mapping {
    void *addr;
    size_t len;
};

static void unmap(void *ud)
{
    struct mapping *m = ud;
    if (m->len)
        munmap(m->addr, m->len);
    free(m);
}

struct dcm_dataset *dcm_read_file(const char *path, const struct dcm_parse_opts *opts,
                                  struct ferry_error **err)
{
    struct dcm_parse_opts def = { .flags = DCM_PARSE_PART10 };
    if (!opts)
        opts = &def;
    struct dcm_dataset *ds = NULL;
    struct mapping *m = calloc(1, sizeof *m);
    if (!m) {
        ferry_error_set(err, -ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ferry_error_set(err, -errno, "%s: %s", path, strerror(errno));
        goto out_free;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        ferry_error_set(err, -errno, "%s: %s", path, strerror(errno));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        ferry_error_set(err, -EINVAL, "%s: not a regular file", path);
        goto out_close;
    }
    m->len = (size_t)st.st_size;
    static const uint8_t empty[1];
    const void *data = empty;
    if (m->len) {
        m->addr = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m->addr == MAP_FAILED) {
            m->len = 0;
            ferry_error_set(err, -errno, "%s: %s", path, strerror(errno));
            goto out_close;
        }
        data = m->addr;
    }
    ds = dcm_parse_buffer(data, m->len, opts, unmap, m, err);
    if (!ds)
        ferry_error_prefix(err, "%s", path);
out_close:
    close(fd);
    if (ds)
        return ds; /* the mapping now belongs to the data set */
    if (m->len)
        munmap(m->addr, m->len);
out_free:
    free(m);
    return NULL;
}

static int fd_sink(void *ud, const void *data, size_t len)
{
    int fd = *(int *)ud;
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int dcm_write_file(const char *path, const struct dcm_dataset *ds,
                   const struct dcm_meta_info *meta, struct ferry_error **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ferry_error_set(err, -errno, "%s: %s", path, strerror(errno));
    int rc = dcm_write_part10(ds, meta, 0, fd_sink, &fd, err);
    if (close(fd) < 0 && rc == 0)
        rc = ferry_error_set(err, -errno, "%s: %s", path, strerror(errno));
    if (rc < 0)
        ferry_error_prefix(err, "%s", path);
    return rc;
}

int dcm_uid_generate(char out[65])
{
    uint8_t r[16];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    /* 128 bits as a decimal integer: repeated division of the big-endian
     * byte string by 10. */
    char digits[48];
    int nd = 0;
    bool nonzero = true;
    while (nonzero) {
        unsigned rem = 0;
        nonzero = false;
        for (int i = 0; i < 16; i++) {
            unsigned cur = (rem << 8) | r[i];
            r[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            if (r[i])
                nonzero = true;
        }
        digits[nd++] = (char)('0' + rem);
    }
    memcpy(out, "2.25.", 5);
    for (int i = 0; i < nd; i++)
        out[5 + i] = digits[nd - 1 - i];
    out[5 + nd] = '\0';
    return 0;
}
