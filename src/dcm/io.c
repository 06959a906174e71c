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

/* Files up to this size are read into memory; larger ones are mapped (a
 * multi-frame of gigabytes costs address space, not memory, and its pixel
 * data is never touched by a parse). Mapping is not the default because
 * on some virtual machines mapping and unmapping a file costs more than
 * reading a CT slice. */
#define READ_WHOLE_MAX ((size_t)64 << 20)
#define CHUNK_FIRST 8192u
#define CHUNK_NEXT 65536u

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

static ssize_t read_some(int fd, uint8_t *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/* Read through the incremental parser (header-only, or every value copied
 * anyway): an 8 KiB read first (a CT header is about 1 KiB), then 64 KiB
 * reads, into buffers that are reused, until the parser has what it needs. */
static struct dcm_dataset *read_chunked(int fd, const struct dcm_parse_opts *opts,
                                        struct ferry_error **err)
{
    struct dcm_parser *p = dcm_parser_new(opts, err);
    if (!p)
        return NULL;
    uint8_t first[CHUNK_FIRST];
    uint8_t *more = NULL;
    struct dcm_dataset *ds = NULL;
    uint8_t *buf = first;
    size_t want = sizeof first;
    for (;;) {
        ssize_t n = read_some(fd, buf, want);
        if (n < 0) {
            ferry_error_set(err, -errno, "%s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        int rc = dcm_parser_feed(p, buf, (size_t)n, err);
        if (rc < 0)
            goto out;
        if (rc == 1)
            break;
        if (!more && !(more = malloc(CHUNK_NEXT))) {
            ferry_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        buf = more;
        want = CHUNK_NEXT;
    }
    ds = dcm_parser_finish(p, err);
out:
    free(more);
    dcm_parser_free(p);
    return ds;
}

struct dcm_dataset *dcm_read_file(const char *path, const struct dcm_parse_opts *opts,
                                  struct ferry_error **err)
{
    struct dcm_parse_opts def = { .flags = DCM_PARSE_PART10 };
    if (!opts)
        opts = &def;
    struct dcm_dataset *ds = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ferry_error_set(err, -errno, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (opts->flags & (DCM_PARSE_HEADER_ONLY | DCM_PARSE_COPY)) {
        /* No fstat: read() says EISDIR for a folder, and the size does not
         * matter. */
        ds = read_chunked(fd, opts, err);
        if (!ds)
            ferry_error_prefix(err, "%s", path);
        goto out_close;
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
    size_t len = (size_t)st.st_size;
    if (len <= READ_WHOLE_MAX) {
        uint8_t *buf = malloc(len ? len : 1);
        size_t got = 0;
        if (!buf) {
            ferry_error_set(err, -ENOMEM, "out of memory");
            goto out_close;
        }
        while (got < len) {
            ssize_t n = read_some(fd, buf + got, len - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got != len) {
            ferry_error_set(err, -EIO, "%s: the file changed while it was read", path);
            free(buf);
            goto out_close;
        }
        ds = dcm_parse_buffer(buf, len, opts, free, buf, err);
        if (!ds)
            free(buf);
    } else {
        struct mapping *m = calloc(1, sizeof *m);
        if (!m) {
            ferry_error_set(err, -ENOMEM, "out of memory");
            goto out_close;
        }
        m->addr = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m->addr == MAP_FAILED) {
            ferry_error_set(err, -errno, "%s: %s", path, strerror(errno));
            free(m);
            goto out_close;
        }
        m->len = len;
        ds = dcm_parse_buffer(m->addr, len, opts, unmap, m, err);
        if (!ds)
            unmap(m);
    }
    if (!ds)
        ferry_error_prefix(err, "%s", path);
out_close:
    close(fd);
    return ds;
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
