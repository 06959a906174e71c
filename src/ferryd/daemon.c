/* ferryd: the data folder, the log, the pid file, detaching.
 *
 * Detaching forks before any thread or ring exists. The parent waits on a
 * pipe until the child says it listens (then exits 0, so that a script
 * that starts ferryd can talk to it at once) or why it could not start
 * (then prints that and exits 1). */
#include "ferryd/ferryd.h"

#include "base/fs.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int ferryd_prepare_data_dir(struct ferryd *d, char *msg, size_t msg_size)
{
    int rc = ferry_mkdir_p(d->data_dir, 0750);
    if (rc < 0) {
        snprintf(msg, msg_size, "cannot make the data folder %s: %s", d->data_dir, strerror(-rc));
        return rc;
    }
    struct stat st;
    if (stat(d->data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, msg_size, "the data folder %s is not a folder", d->data_dir);
        return -ENOTDIR;
    }
    /* One ferryd per data folder: the pid file is locked while it runs. */
    const char *pid_file = d->conf->server.pid_file;
    if (pid_file && *pid_file)
        snprintf(d->pid_path, sizeof d->pid_path, "%s", pid_file);
    else
        snprintf(d->pid_path, sizeof d->pid_path, "%s/ferryd.pid", d->data_dir);
    d->pid_fd = open(d->pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d->pid_fd < 0) {
        snprintf(msg, msg_size, "cannot open the pid file %s: %s", d->pid_path, strerror(errno));
        return -errno;
    }
    if (flock(d->pid_fd, LOCK_EX | LOCK_NB) < 0) {
        char other[32] = "";
        ssize_t n = pread(d->pid_fd, other, sizeof other - 1, 0);
        other[n > 0 ? n : 0] = '\0';
        other[strcspn(other, "\n")] = '\0';
        snprintf(msg, msg_size, "another ferryd (pid %s) is running with %s", other[0] ? other : "?",
                 d->pid_path);
        close(d->pid_fd);
        d->pid_fd = -1;
        return -EBUSY;
    }
    return 0;
}

int ferryd_open_log(struct ferryd *d, char *msg, size_t msg_size)
{
    const char *file = d->conf->server.log_file;
    char path[4200];
    if (file && *file)
        snprintf(path, sizeof path, "%s", file);
    else if (!d->args.foreground)
        snprintf(path, sizeof path, "%s/ferryd.log", d->data_dir);
    else
        path[0] = '\0';
    d->log_fd = 2;
    if (path[0]) {
        d->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (d->log_fd < 0) {
            snprintf(msg, msg_size, "cannot open the log file %s: %s", path, strerror(errno));
            d->log_fd = 2;
            return -errno;
        }
    }
    ferry_log_init(d->log_fd, (enum ferry_log_level)d->conf->server.log_level);
    return 0;
}

void ferryd_raise_fd_limit(void)
{
    /* A socket and an open spool file per association: take what the hard
     * limit allows. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int ferryd_daemonize(struct ferryd *d, char *msg, size_t msg_size)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(msg, msg_size, "pipe: %s", strerror(errno));
        return -errno;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, msg_size, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -errno;
    }
    if (pid > 0) {
        /* The parent: report what the child says, then go. */
        close(p[1]);
        char line[1024];
        size_t n = 0;
        ssize_t r;
        while (n < sizeof line - 1 && (r = read(p[0], line + n, sizeof line - 1 - n)) != 0) {
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            n += (size_t)r;
        }
        line[n] = '\0';
        close(p[0]);
        if (strncmp(line, "OK ", 3) == 0) {
            fputs(line + 3, stdout);
            fflush(stdout);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, WNOHANG);
        if (n > 4 && strncmp(line, "ERR ", 4) == 0)
            fprintf(stderr, "ferryd: %s", line + 4);
        else
            fprintf(stderr, "ferryd: exited while starting (see %s/ferryd.log)\n", d->data_dir);
        fflush(stderr);
        _exit(1);
    }
    close(p[0]);
    d->ready_fd = p[1];
    if (setsid() < 0) {
        snprintf(msg, msg_size, "setsid: %s", strerror(errno));
        return -errno;
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        close(null);
    }
    /* Whatever writes to stderr (a sanitizer report) lands in the log. */
    if (d->log_fd != 2)
        dup2(d->log_fd, 2);
    return 0;
}

void ferryd_ready(struct ferryd *d, const char *line)
{
    if (d->ready_fd < 0)
        return;
    dprintf(d->ready_fd, "OK %s\n", line);
    close(d->ready_fd);
    d->ready_fd = -1;
}

void ferryd_fail_start(struct ferryd *d, const char *msg)
{
    if (d->ready_fd >= 0) {
        dprintf(d->ready_fd, "ERR %s\n", msg);
        close(d->ready_fd);
        d->ready_fd = -1;
    } else if (d->log_fd != 2) {
        fprintf(stderr, "ferryd: %s\n", msg);
    }
    ferry_log(FERRY_LOG_ERROR, "ferryd", "%s", msg);
}

int ferryd_write_pid(struct ferryd *d, char *msg, size_t msg_size)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(d->pid_fd, 0) < 0 || pwrite(d->pid_fd, buf, (size_t)n, 0) != n) {
        snprintf(msg, msg_size, "cannot write the pid file %s: %s", d->pid_path, strerror(errno));
        return -errno;
    }
    return 0;
}

void ferryd_remove_pid(struct ferryd *d)
{
    if (d->pid_fd < 0)
        return;
    unlink(d->pid_path);
    close(d->pid_fd); /* and the lock with it */
    d->pid_fd = -1;
}
