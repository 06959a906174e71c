/* ferry deid [--option NAME]... --secret-file F [--param KEY=VALUE]...
 *            [--pseudonym-map PATH] [--plugin-dir DIR] IN... OUTDIR
 *
 * Runs the deid plugin through the same pipeline code as a route's
 * `step: deid` on files and folders, so that an administrator can check a
 * profile before a route uses it and a research team can de-identify a disk
 * it was handed. Outputs are named by their (new) UIDs, never by the input's
 * path, which often holds a patient's name:
 * OUTDIR/<Study Instance UID>/<Series Instance UID>/<SOP Instance UID>.dcm,
 * each with a File Meta Information group built afresh. */
#include "cli/cli.h"

#include "base/fs.h"
#include "base/log.h"
#include "dcm/dcm.h"
#include "work/work.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PSEUDONYM_MAP_NAME "pseudonyms.tsv"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferry deid [--option NAME]... --secret-file FILE [--param KEY=VALUE]...\n"
            "                  [--pseudonym-map PATH] [--plugin-dir DIR] IN... OUTDIR\n\n"
            "De-identify DICOM files (PS3.15 Annex E Basic Profile) with the deid plugin, as\n"
            "a route's `step: deid` would. IN is a file or a folder (read recursively);\n"
            "outputs go to OUTDIR/<study UID>/<series UID>/<SOP instance UID>.dcm.\n\n"
            "  --option NAME        retain-safe-private, retain-uids, retain-device-identity,\n"
            "                       retain-institution-identity, retain-patient-characteristics,\n"
            "                       retain-long-full-dates, retain-long-modified-dates,\n"
            "                       clean-descriptors, clean-structured-content, clean-graphics\n"
            "  --secret-file FILE   the deployment's secret (mode 0600, 32..4096 bytes)\n"
            "  --param KEY=VALUE    other step parameters: site, pseudonym-template,\n"
            "                       burned-in (reject|warn|mask), mask-file,\n"
            "                       record-pseudonyms (on|off)\n"
            "  --pseudonym-map PATH where record-pseudonyms=on writes the map (mode 0600;\n"
            "                       default OUTDIR/" PSEUDONYM_MAP_NAME ")\n"
            "  --plugin-dir DIR     where the plugins are (default: $FERRY_PLUGIN_DIR, else\n"
            "                       the plugins folder next to this program's folder)\n\n"
            "Quarantined inputs (burned-in annotation under burned-in=reject, ...) and inputs\n"
            "that cannot be read are listed with their reason; the exit status is then 1.\n"
            "See docs/deid.md.\n");
}

/* ---------------------------------------------------------------------------
 * The pseudonym map: a TSV file of mode 0600, appended to, one line per
 * distinct (kind, original, replacement). */

/* A set of strings (open addressing). */
struct strset {
    char **slots;
    size_t cap, n;
};

struct map_sink {
    char path[PATH_MAX];
    int fd;                     /* -1 until opened */
    pthread_mutex_t lock;
    struct strset seen;         /* lines in the file */
    unsigned long written;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* Adds s to the set; 1 if it was new, 0 if known, -ENOMEM. Takes over `s`
 * when it returns 1. */
static int strset_add(struct strset *set, char *s)
{
    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        char **t = calloc(cap, sizeof *t);
        if (!t)
            return -ENOMEM;
        for (size_t i = 0; i < set->cap; i++)
            if (set->slots[i]) {
                size_t k = fnv1a(set->slots[i]) & (cap - 1);
                while (t[k])
                    k = (k + 1) & (cap - 1);
                t[k] = set->slots[i];
            }
        free(set->slots);
        set->slots = t;
        set->cap = cap;
    }
    size_t k = fnv1a(s) & (set->cap - 1);
    while (set->slots[k]) {
        if (strcmp(set->slots[k], s) == 0)
            return 0;
        k = (k + 1) & (set->cap - 1);
    }
    set->slots[k] = s;
    set->n++;
    return 1;
}

static void strset_free(struct strset *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i]);
    free(set->slots);
}

static void map_free(struct map_sink *m)
{
    if (m->fd >= 0)
        close(m->fd);
    strset_free(&m->seen);
    pthread_mutex_destroy(&m->lock);
}

/* Append s to the line; with `escape`, backslash, tab, CR and LF become
 * \\ \t \r \n so that a field never breaks the line or the columns. */
static int put(char **p, size_t *n, size_t *cap, const char *s, bool escape)
{
    for (; *s; s++) {
        char e = !escape      ? 0
                 : *s == '\\' ? '\\'
                 : *s == '\t'  ? 't'
                 : *s == '\n'  ? 'n'
                 : *s == '\r'  ? 'r'
                                : 0;
        if (*n + 4 > *cap) {
            size_t c = (*cap + 16) * 2;
            char *q = realloc(*p, c);
            if (!q)
                return -ENOMEM;
            *p = q;
            *cap = c;
        }
        if (e) {
            (*p)[(*n)++] = '\\';
            (*p)[(*n)++] = e;
        } else {
            (*p)[(*n)++] = *s;
        }
        (*p)[*n] = '\0';
    }
    return 0;
}

/* Open (or create) the map: a regular file of ours that nobody else may
 * read. The lines already there are loaded so that none is written twice. */
static int map_open(struct map_sink *m)
{
    int fd = open(m->path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077)) {
        close(fd);
        return -EPERM;
    }
    if (st.st_size == 0) {
        static const char head[] = "# ferry deid pseudonym map: kind\toriginal\treplacement "
                                   "(UTF-8; \\\\ \\t \\n \\r escaped). Keep it secret.\n";
        if (write(fd, head, sizeof head - 1) != (ssize_t)(sizeof head - 1)) {
            int e = errno ? -errno : -EIO;
            close(fd);
            return e;
        }
    } else {
        FILE *f = fdopen(dup(fd), "r");
        if (!f) {
            close(fd);
            return -errno;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int rc = 0;
        while (rc >= 0 && (len = getline(&line, &cap, f)) > 0) {
            if (line[0] == '#')
                continue;
            if (line[len - 1] == '\n')
                line[len - 1] = '\0';
            char *copy = strdup(line);
            rc = copy ? strset_add(&m->seen, copy) : -ENOMEM;
            if (rc == 0)
                free(copy);
        }
        free(line);
        fclose(f);
        if (rc < 0) {
            close(fd);
            return rc;
        }
    }
    m->fd = fd;
    return 0;
}

static int map_record(void *ud, const struct work_pseudonym *rec)
{
    struct map_sink *m = ud;
    char *line = NULL;
    size_t n = 0, cap = 0;
    int rc = put(&line, &n, &cap, rec->kind, true);
    rc = rc ? rc : put(&line, &n, &cap, "\t", false);
    rc = rc ? rc : put(&line, &n, &cap, rec->original, true);
    rc = rc ? rc : put(&line, &n, &cap, "\t", false);
    rc = rc ? rc : put(&line, &n, &cap, rec->replacement, true);
    rc = rc ? rc : put(&line, &n, &cap, "\n", false); /* room for the newline */
    if (rc < 0) {
        free(line);
        return rc;
    }
    line[--n] = '\0';
    pthread_mutex_lock(&m->lock);
    if (m->fd < 0)
        rc = -EBADF;
    else
        rc = strset_add(&m->seen, line);
    if (rc == 1) {
        line[n] = '\n';
        ssize_t w = write(m->fd, line, n + 1);
        line[n] = '\0';
        rc = w == (ssize_t)(n + 1) ? 0 : w < 0 ? -errno : -EIO;
        if (rc == 0)
            m->written++;
        line = NULL; /* the set owns it */
    }
    pthread_mutex_unlock(&m->lock);
    free(line);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Inputs */

struct inputs {
    char **paths;
    size_t n, cap;
};

static int inputs_add(struct inputs *in, const char *path)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        char **p = realloc(in->paths, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        in->paths = p;
        in->cap = cap;
    }
    if (!(in->paths[in->n] = strdup(path)))
        return -ENOMEM;
    in->n++;
    return 0;
}

static void inputs_free(struct inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->paths[i]);
    free(in->paths);
}

/* The files under `dir`, in name order; symbolic links to folders are not
 * followed (no loops), and `skip` (the output folder) is left out. */
static int collect_dir(struct inputs *in, const char *dir, const char *skip, int depth)
{
    if (depth > 64) {
        fprintf(stderr, "ferry deid: %s: folders nested deeper than 64 levels; not read\n", dir);
        return -ELOOP;
    }
    char real[PATH_MAX];
    if (skip && realpath(dir, real) && strcmp(real, skip) == 0)
        return 0;
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        int e = errno;
        fprintf(stderr, "ferry deid: %s: %s\n", dir, strerror(e));
        return -e;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (rc == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            char path[PATH_MAX];
            struct stat st;
            if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
                fprintf(stderr, "ferry deid: %s/%s: path too long\n", dir, name);
                rc = -ENAMETOOLONG;
            } else if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                rc = collect_dir(in, path, skip, depth + 1);
            } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                rc = inputs_add(in, path);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Outputs */

/* A UID usable as a file name: digits and dots, 1..64. */
static bool uid_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            return false;
    return true;
}

static void uid_or(const struct dcm_dataset *ds, uint32_t tag, const char *fallback, char *out,
                   size_t size)
{
    if (dcm_dataset_get_cstr(ds, tag, 0, out, size) <= 0 || !uid_name_ok(out))
        snprintf(out, size, "%s", fallback);
}

/* Write the result under outdir; the File Meta Information is built afresh
 * (dcm_write_part10): (0002,0003) is the output's SOP Instance UID and no
 * Source AE Title is written. */
static int write_output(const char *outdir, const struct dcm_dataset *ds, char *path,
                        size_t size, struct ferry_error **err)
{
    char study[80], series[80], sop[80], dir[PATH_MAX], tmp[PATH_MAX + 8];
    uid_or(ds, DCM_TAG_StudyInstanceUID, "no-study-uid", study, sizeof study);
    uid_or(ds, DCM_TAG_SeriesInstanceUID, "no-series-uid", series, sizeof series);
    if (dcm_dataset_get_cstr(ds, DCM_TAG_SOPInstanceUID, 0, sop, sizeof sop) <= 0 ||
        !uid_name_ok(sop))
        return ferry_error_set(err, -EINVAL, "the output has no usable SOP Instance UID "
                                             "(0008,0018) to name its file");
    if (snprintf(dir, sizeof dir, "%s/%s/%s", outdir, study, series) >= (int)sizeof dir ||
        snprintf(path, size, "%s/%s.dcm", dir, sop) >= (int)size ||
        snprintf(tmp, sizeof tmp, "%s.part", path) >= (int)sizeof tmp)
        return ferry_error_set(err, -ENAMETOOLONG, "output path too long under %s", outdir);
    int rc = ferry_mkdir_p(dir, 0777);
    if (rc < 0)
        return ferry_error_set(err, rc, "%s: %s", dir, strerror(-rc));
    struct dcm_meta_info meta = { .transfer_syntax = dcm_dataset_transfer_syntax(ds) };
    if ((rc = dcm_write_file(tmp, ds, &meta, err)) < 0) {
        unlink(tmp);
        return rc;
    }
    if (rename(tmp, path) < 0) {
        rc = -errno;
        unlink(tmp);
        return ferry_error_set(err, rc, "%s: %s", path, strerror(-rc));
    }
    return 0;
}

static bool is_dicomdir(const struct dcm_dataset *ds)
{
    const struct dcm_dataset *meta = dcm_dataset_meta(ds);
    char cls[80];
    return meta &&
           dcm_dataset_get_cstr(meta, DCM_TAG_MediaStorageSOPClassUID, 0, cls, sizeof cls) > 0 &&
           strcmp(cls, "1.2.840.10008.1.3.10") == 0;
}

struct counts {
    unsigned long done, quarantined, failed, skipped;
};

static void run_one(const char *in, const char *outdir, const struct work_pipeline *pipe,
                    const struct work_registry *reg, struct strset *outputs, struct counts *c)
{
    struct ferry_error *err = NULL;
    struct dcm_dataset *ds = dcm_read_file(in, NULL, &err), *out = NULL;
    struct work_source *src = NULL;
    if (!ds) {
        fprintf(stderr, "ferry deid: %s: not read: %s\n", in, ferry_error_message(err));
        c->failed++;
        goto out;
    }
    if (is_dicomdir(ds)) {
        fprintf(stderr, "ferry deid: %s: skipped: a DICOMDIR (the media's index, which names "
                        "patients) is not copied\n", in);
        c->skipped++;
        goto out;
    }
    src = work_source_new(ds, reg, in);
    struct work_result res;
    if (!src) {
        fprintf(stderr, "ferry deid: %s: out of memory\n", in);
        c->failed++;
        goto out;
    }
    if (work_pipeline_run(pipe, src, &out, &res, &err) < 0) {
        fprintf(stderr, "ferry deid: %s: failed: %s\n", in, ferry_error_message(err));
        c->failed++;
        goto out;
    }
    if (res.step_result == FERRY_STEP_QUARANTINE || res.step_result == FERRY_STEP_DROP) {
        fprintf(stderr, "ferry deid: %s: %s: %s\n", in,
                res.step_result == FERRY_STEP_QUARANTINE ? "quarantined" : "dropped",
                res.reason);
        c->quarantined++;
        goto out;
    }
    char path[PATH_MAX];
    if (write_output(outdir, out, path, sizeof path, &err) < 0) {
        fprintf(stderr, "ferry deid: %s: not written: %s\n", in, ferry_error_message(err));
        c->failed++;
        goto out;
    }
    printf("%s -> %s\n", in, path);
    char *copy = strdup(path);
    int added = copy ? strset_add(outputs, copy) : -ENOMEM;
    if (added == 0) {
        free(copy);
        fprintf(stderr, "ferry deid: %s: has the SOP Instance UID of an earlier input; its "
                        "output %s replaced that input's\n", in, path);
    } else if (added < 0) {
        free(copy);
    }
    c->done++;
out:
    dcm_dataset_unref(out);
    work_source_unref(src);
    dcm_dataset_unref(ds);
    ferry_error_free(err);
}

/* ---------------------------------------------------------------------------
 * The command */

static int add_param(struct ferry_param *params, uint32_t *n, const char *key, const char *value)
{
    params[(*n)++] = (struct ferry_param){ key, value };
    return 0;
}

int cmd_deid(int argc, char **argv)
{
    static const struct option opts[] = {
        { "option", required_argument, NULL, 'o' },
        { "secret-file", required_argument, NULL, 's' },
        { "param", required_argument, NULL, 'p' },
        { "pseudonym-map", required_argument, NULL, 'm' },
        { "plugin-dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char plugin_dir[PATH_MAX];
    const char *map_path = NULL;
    bool have_secret = false;
    cli_plugin_dir(plugin_dir, sizeof plugin_dir);
    struct ferry_param *params = calloc((size_t)argc + 1, sizeof *params);
    uint32_t n_params = 0;
    int status = CLI_FAILED;
    struct map_sink map = { .fd = -1 };
    pthread_mutex_init(&map.lock, NULL);
    struct inputs in = { 0 };
    struct work_registry *reg = NULL;
    struct work_pipeline *pipe = NULL;
    struct ferry_error *err = NULL;
    if (!params)
        goto out;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:p:m:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            add_param(params, &n_params, "option", optarg);
            break;
        case 's':
            add_param(params, &n_params, "secret-file", optarg);
            have_secret = true;
            break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "ferry deid: --param '%s' is not KEY=VALUE\n", optarg);
                status = CLI_USAGE;
                goto out;
            }
            *eq = '\0';
            add_param(params, &n_params, optarg, eq + 1);
            break;
        }
        case 'm':
            map_path = optarg;
            break;
        case 'd':
            snprintf(plugin_dir, sizeof plugin_dir, "%s", optarg);
            break;
        case 'h':
            usage(stdout);
            status = CLI_OK;
            goto out;
        default:
            usage(stderr);
            status = CLI_USAGE;
            goto out;
        }
    }
    if (argc - optind < 2 || !have_secret) {
        if (!have_secret)
            fprintf(stderr, "ferry deid: --secret-file is required\n");
        usage(stderr);
        status = CLI_USAGE;
        goto out;
    }
    const char *outdir = argv[argc - 1];
    int rc = ferry_mkdir_p(outdir, 0777);
    if (rc < 0) {
        fprintf(stderr, "ferry deid: %s: %s\n", outdir, strerror(-rc));
        goto out;
    }
    char outreal[PATH_MAX];
    if (!realpath(outdir, outreal)) {
        fprintf(stderr, "ferry deid: %s: %s\n", outdir, strerror(errno));
        goto out;
    }
    if (snprintf(map.path, sizeof map.path, "%s", map_path ? map_path : "") >= (int)sizeof map.path ||
        (!map_path &&
         snprintf(map.path, sizeof map.path, "%s/%s", outdir, PSEUDONYM_MAP_NAME) >=
             (int)sizeof map.path)) {
        fprintf(stderr, "ferry deid: the pseudonym map's path is too long\n");
        goto out;
    }

    for (int i = optind; i < argc - 1; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "ferry deid: %s: %s\n", argv[i], strerror(errno));
            goto out;
        }
        rc = S_ISDIR(st.st_mode) ? collect_dir(&in, argv[i], outreal, 0)
                                 : inputs_add(&in, argv[i]);
        if (rc < 0)
            goto out;
    }

    /* The map is opened (and checked) before anything is processed, when
     * the step is asked to record; the sink is set before the pipeline is
     * compiled, since deid's configure() asks whether the program keeps it. */
    bool recording = false;
    for (uint32_t i = 0; i < n_params; i++)
        recording |= strcmp(params[i].key, "record-pseudonyms") == 0 &&
                     strcmp(params[i].value, "on") == 0;
    if (recording && (rc = map_open(&map)) < 0) {
        if (rc == -EPERM)
            fprintf(stderr, "ferry deid: pseudonym map %s: it is not this user's, or others "
                            "may read it (chmod 600 it); not used\n", map.path);
        else
            fprintf(stderr, "ferry deid: pseudonym map %s: %s\n", map.path,
                    rc == -EINVAL ? "not a regular file" : strerror(-rc));
        goto out;
    }
    work_set_pseudonym_sink(map_record, &map);
    reg = work_registry_load_all(plugin_dir, work_host(), &err);
    if (!reg) {
        fprintf(stderr, "ferry deid: %s\n", ferry_error_message(err));
        goto out;
    }
    struct work_step_spec step = { WORK_STEP_PLUGIN, "deid", params, n_params };
    int bad_step, bad_param;
    pipe = work_pipeline_new(reg, &step, 1, &bad_step, &bad_param, &err);
    if (!pipe) {
        if (bad_param >= 0)
            fprintf(stderr, "ferry deid: %s=%s: %s\n", params[bad_param].key,
                    params[bad_param].value, ferry_error_message(err));
        else
            fprintf(stderr, "ferry deid: %s\n", ferry_error_message(err));
        status = CLI_USAGE;
        goto out;
    }

    /* Masking makes a new frame buffer per instance; with glibc's defaults
     * freed ones go back to the kernel and every new one is page-faulted in
     * again, which costs more than the masking (perf/deid). */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    struct counts cnt = { 0 };
    struct strset outputs = { 0 };
    for (size_t i = 0; i < in.n; i++)
        run_one(in.paths[i], outdir, pipe, reg, &outputs, &cnt);
    strset_free(&outputs);
    fprintf(stderr,
            "ferry deid: %lu de-identified, %lu quarantined, %lu failed, %lu skipped; "
            "outputs in %s\n",
            cnt.done, cnt.quarantined, cnt.failed, cnt.skipped, outdir);
    if (map.written)
        fprintf(stderr, "ferry deid: %lu new pseudonym records in %s (mode 0600; keep it "
                        "secret)\n", map.written, map.path);
    status = cnt.quarantined || cnt.failed ? CLI_FAILED : CLI_OK;
out:
    work_pipeline_free(pipe);
    work_registry_free(reg);
    work_set_pseudonym_sink(NULL, NULL);
    map_free(&map);
    inputs_free(&in);
    ferry_error_free(err);
    free(params);
    return status;
}
