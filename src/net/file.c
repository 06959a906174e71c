/* ferry — async file operations on the network ring, for the spool writer:
 * the network thread never waits for a disk. */
#include "net/net-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One SQE moves at most this much (the kernel's MAX_RW_COUNT). */
#define NET_RW_MAX 0x7ffff000u

static struct net_fileop *fileop_new(struct net_loop *l, uint8_t op, const char *path,
                                     const char *path2, net_file_fn *cb, void *arg)
{
    size_t n1 = path ? strlen(path) + 1 : 0;
    size_t n2 = path2 ? strlen(path2) + 1 : 0;
    struct net_fileop *o = calloc(1, sizeof *o + n1 + n2);
    if (!o)
        return NULL;
    o->req.type = NET_REQ_FILE;
    o->loop = l;
    o->op = op;
    o->cb = cb;
    o->arg = arg;
    o->fd = o->fd2 = -1;
    if (path) {
        memcpy(o->storage, path, n1);
        o->path = o->storage;
    }
    if (path2) {
        memcpy(o->storage + n1, path2, n2);
        o->path2 = o->storage + n1;
    }
    o->next = l->fileops;
    if (l->fileops)
        l->fileops->prev = o;
    l->fileops = o;
    l->file_ops++;
    return o;
}

static void fileop_finish(struct net_fileop *o, int res)
{
    struct net_loop *l = o->loop;
    if (o->prev)
        o->prev->next = o->next;
    else
        l->fileops = o->next;
    if (o->next)
        o->next->prev = o->prev;
    l->file_ops--;
    net_file_fn *cb = o->cb;
    void *arg = o->arg;
    free(o);
    cb(arg, res);
    net_loop_maybe_drained(l);
}

void net_fileop_free_all(struct net_loop *l)
{
    while (l->fileops) {
        struct net_fileop *o = l->fileops;
        l->fileops = o->next;
        free(o);
    }
    l->file_ops = 0;
}

static unsigned rw_chunk(const struct net_fileop *o)
{
    size_t left = o->len - o->done;
    return (unsigned)(left > NET_RW_MAX ? NET_RW_MAX : left);
}

void net_fileop_prep(struct net_fileop *o, struct io_uring_sqe *sqe)
{
    switch (o->op) {
    case NET_FOP_OPENAT:
        io_uring_prep_openat(sqe, o->fd, o->path, o->flags, o->mode);
        break;
    case NET_FOP_WRITE:
        io_uring_prep_write(sqe, o->fd, (const char *)o->buf + o->done, rw_chunk(o),
                            o->off + o->done);
        break;
    case NET_FOP_READ:
        io_uring_prep_read(sqe, o->fd, (char *)o->buf + o->done, rw_chunk(o), o->off + o->done);
        break;
    case NET_FOP_FSYNC:
        io_uring_prep_fsync(sqe, o->fd, o->flags ? IORING_FSYNC_DATASYNC : 0);
        break;
    case NET_FOP_CLOSE:
        io_uring_prep_close(sqe, o->fd);
        break;
    case NET_FOP_RENAMEAT:
        io_uring_prep_renameat(sqe, o->fd, o->path, o->fd2, o->path2, (unsigned)o->flags);
        break;
    case NET_FOP_UNLINKAT:
        io_uring_prep_unlinkat(sqe, o->fd, o->path, o->flags);
        break;
    case NET_FOP_MKDIRAT:
        io_uring_prep_mkdirat(sqe, o->fd, o->path, o->mode);
        break;
    case NET_FOP_SYNC_RANGE:
        io_uring_prep_sync_file_range(sqe, o->fd, (unsigned)o->len, o->off, o->flags);
        break;
    default:
        abort();
    }
    io_uring_sqe_set_data(sqe, &o->req);
}

void net_fileop_complete(struct net_fileop *o, int res)
{
    if (res < 0) {
        if (res == -EINTR || res == -EAGAIN) {
            net_loop_queue(o->loop, &o->req); /* try the same step again */
            return;
        }
        fileop_finish(o, res);
        return;
    }
    if (o->op == NET_FOP_WRITE || o->op == NET_FOP_READ) {
        if (res == 0 && o->op == NET_FOP_WRITE) {
            fileop_finish(o, -EIO); /* a write that moves nothing will not progress */
            return;
        }
        o->done += (size_t)res;
        if (res > 0 && o->done < o->len) {
            net_loop_queue(o->loop, &o->req); /* short transfer: the rest */
            return;
        }
        fileop_finish(o, o->op == NET_FOP_WRITE ? 0 : (int)(o->done > INT32_MAX ? INT32_MAX : o->done));
        return;
    }
    fileop_finish(o, res);
}

static int fileop_submit(struct net_fileop *o)
{
    net_loop_queue(o->loop, &o->req);
    return 0;
}

int net_file_openat(struct net_loop *l, int dirfd, const char *path, int flags, mode_t mode,
                    net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_OPENAT, path, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = dirfd;
    o->flags = flags;
    o->mode = mode;
    return fileop_submit(o);
}

int net_file_write(struct net_loop *l, int fd, const void *buf, size_t len, uint64_t off,
                   net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_WRITE, NULL, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = fd;
    o->buf = (void *)(uintptr_t)buf; /* only read from */
    o->len = len;
    o->off = off;
    return fileop_submit(o);
}

int net_file_read(struct net_loop *l, int fd, void *buf, size_t len, uint64_t off,
                  net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_READ, NULL, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = fd;
    o->buf = buf;
    o->len = len;
    o->off = off;
    return fileop_submit(o);
}

int net_file_fsync(struct net_loop *l, int fd, bool datasync, net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_FSYNC, NULL, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = fd;
    o->flags = datasync;
    return fileop_submit(o);
}

int net_file_sync_range(struct net_loop *l, int fd, uint64_t off, uint32_t len, unsigned flags,
                        net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_SYNC_RANGE, NULL, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = fd;
    o->off = off;
    o->len = len;
    o->flags = (int)flags;
    return fileop_submit(o);
}

int net_file_close(struct net_loop *l, int fd, net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_CLOSE, NULL, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = fd;
    return fileop_submit(o);
}

int net_file_renameat(struct net_loop *l, int olddirfd, const char *oldpath, int newdirfd,
                      const char *newpath, unsigned flags, net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_RENAMEAT, oldpath, newpath, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = olddirfd;
    o->fd2 = newdirfd;
    o->flags = (int)flags;
    return fileop_submit(o);
}

int net_file_unlinkat(struct net_loop *l, int dirfd, const char *path, int flags,
                      net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_UNLINKAT, path, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = dirfd;
    o->flags = flags;
    return fileop_submit(o);
}

static void mkdir_sync_done(struct net_work *w)
{
    struct net_fileop *o = ferry_container_of(w, struct net_fileop, sync_work);
    fileop_finish(o, o->sync_res);
}

int net_file_mkdirat(struct net_loop *l, int dirfd, const char *path, mode_t mode,
                     net_file_fn *cb, void *arg)
{
    struct net_fileop *o = fileop_new(l, NET_FOP_MKDIRAT, path, NULL, cb, arg);
    if (!o)
        return -ENOMEM;
    o->fd = dirfd;
    o->mode = mode;
    if (!l->has_mkdirat) {
        /* Linux < 5.15: no IORING_OP_MKDIRAT. Directories are made a few
         * times a day (one per study folder at most); do it here, and still
         * report from the loop as promised. */
        o->sync_res = mkdirat(dirfd, o->path, mode) < 0 ? -errno : 0;
        o->sync_work.fn = mkdir_sync_done;
        net_loop_defer(l, &o->sync_work);
        return 0;
    }
    return fileop_submit(o);
}
