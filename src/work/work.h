/* ferry — work: plugin pipelines on instances.
 *
 * A route's action for a destination names a pipeline: an ordered list of
 * steps, each either `compress` (re-encode the pixel data in a transfer
 * syntax, through the codec a plugin registered for it) or a plugin step
 * (de-identification, ...). The config is compiled once into a struct
 * work_pipeline, whose steps' parameters were validated by their plugins at
 * load time.
 *
 * A received instance becomes one struct work_source, shared by the
 * pipelines of all its destinations: its pixel data is decoded at most once,
 * whatever number of destinations need native pixels. Each pipeline run works
 * on its own copy of the data set and produces its own output data set.
 *
 * Threads: work_pipeline_new/free on the main thread (config load);
 * work_pipeline_run on worker threads, several at once, also on the same
 * source.
 *
 * Memory: a run that changes pixels makes frame-sized buffers. A process
 * that runs pipelines all day should keep freed memory in malloc
 * (mallopt(M_TRIM_THRESHOLD, 256 MiB), mallopt(M_MMAP_THRESHOLD, 32 MiB)):
 * with glibc's defaults each new buffer is page-faulted in again, which
 * perf/deid shows costing 20 times the masking itself in a virtual machine.
 */
#ifndef FERRY_WORK_H
#define FERRY_WORK_H

#include <ferry/plugin.h>
#include <stddef.h>

#include "base/error.h"
#include "dcm/dcm.h"
#include "work/plugins.h"

enum work_step_kind {
    WORK_STEP_COMPRESS = 0, /* name: a codec name or transfer syntax UID, or
                             * "explicit-vr-little-endian" (decompress) */
    WORK_STEP_PLUGIN = 1,   /* name: a plugin step */
};

/* One step as the config describes it. Borrowed for work_pipeline_new(). */
struct work_step_spec {
    enum work_step_kind kind;
    const char *name;
    const struct ferry_param *params;
    uint32_t n_params;
};

struct work_pipeline;

/* Compile a pipeline: find each step's codec or plugin step in `reg`
 * (borrowed for the pipeline's life) and let it validate its parameters. A
 * compress step names a codec, a transfer syntax UID, or explicit-little
 * (also explicit-vr-little-endian, uncompressed): decompress.
 * Parameters of a compress step that the host itself reads:
 *   lossy-new-uid  yes|no   new SOP Instance UID when the result is lossy
 *                           (default yes, as PS3.3 C.7.6.1.1.5 requires)
 *   on-failure     fail|uncompressed   what a codec failure does (default
 *                           fail: the job fails and is retried; uncompressed:
 *                           the instance goes on in Explicit VR LE)
 *   offset-table   auto|basic|extended  which table indexes the frames
 *                           (default auto: the Basic Offset Table, or the
 *                           Extended one, PS3.3 C.7.6.3.1.8, once the frames
 *                           pass the 4 GiB its 32-bit offsets reach; basic
 *                           leaves it empty then; extended always writes the
 *                           Extended Offset Table with an empty Basic one)
 * The rest go to the codec's configure().
 * On error returns NULL, sets *err ("step 2 (compress jpeg-ls-lossless):
 * parameter 'near': ...") and, when the fault is one parameter, *bad_step and
 * *bad_param to its indexes (else -1), so that the config loader can name the
 * file:line:col. */
struct work_pipeline *work_pipeline_new(const struct work_registry *reg,
                                        const struct work_step_spec *steps, size_t n,
                                        int *bad_step, int *bad_param,
                                        struct ferry_error **err);
void work_pipeline_free(struct work_pipeline *p);

/* The transfer syntax the pipeline's last compress step produces, or NULL if
 * it does not change the encoding: what the forwarder proposes first. */
const char *work_pipeline_output_syntax(const struct work_pipeline *p);

/* The host table plugins are handed (one for the whole process). */
const struct ferry_host *work_host(void);

/* ---------------------------------------------------------------------------
 * Pseudonym records (plugin ABI 1.1 record_pseudonym): what a plugin
 * replaced by what, for authorized re-identification. The program says
 * where they go; with no sink, plugins are told that nothing is recorded
 * (and deid refuses `record-pseudonyms: on` at configure time).
 *
 * ferry deid writes them to a file of mode 0600. The daemon is to write them
 * into its index (store), readable only by the owner of the data folder:
 * set a sink that inserts (kind, original, replacement, context, time) in
 * the index transaction of the job's result, before the pipelines are
 * compiled (see docs/deid.md, "Pseudonym map"). */

struct work_pseudonym {
    const char *kind;         /* "patient-id", "patient-name", "study-uid" */
    const char *original;     /* UTF-8 */
    const char *replacement;  /* UTF-8 */
    const char *step;         /* the step's label ("deid") */
    const char *context;      /* the instance, as log lines name it */
};

/* Called on worker threads, several at once: it must be thread-safe.
 * Everything in rec is borrowed for the call. Returns 0 or a negative errno,
 * which the plugin receives (deid then fails the job: nothing leaves
 * unrecorded). */
typedef int (*work_pseudonym_fn)(void *ud, const struct work_pseudonym *rec);

/* Where every pipeline's records go, for the whole process (fn NULL: none).
 * Main thread, before pipelines are compiled and while none runs. */
void work_set_pseudonym_sink(work_pseudonym_fn fn, void *ud);

struct work_source;

/* A received instance: `ds` is a fully parsed root (a reference is taken).
 * `context` names it in log lines ("TOWNSHIP_CT1 1.2.3.4.5"), copied. */
struct work_source *work_source_new(struct dcm_dataset *ds, const struct work_registry *reg,
                                    const char *context);
struct work_source *work_source_ref(struct work_source *src);
/* Accepts NULL. */
void work_source_unref(struct work_source *src);

/* Frames that codecs decoded from sources (received instances) since the
 * process started, all sources together: a source decodes each frame once
 * for all the pipelines that need it (a run that wants a frame another is
 * decoding waits for it). Any thread. */
uint64_t work_frames_decoded(void);

/* Outcome of one run, besides the output data set. */
struct work_result {
    int step_result;       /* FERRY_STEP_OK, _QUARANTINE or _DROP */
    char reason[1024];     /* for QUARANTINE / DROP, and for failures */
    bool lossy;            /* a lossy step ran */
    bool fell_back;        /* a codec failed and on-failure: uncompressed applied */
};

/* Run pipeline `p` (NULL: no steps) on `src` for one destination. On success
 * returns 0 and *out, a new root (owned by the caller) whose
 * dcm_dataset_transfer_syntax() is the syntax to send and write it in; with
 * step_result QUARANTINE or DROP, *out is NULL. On failure returns a negative
 * errno with *err set (the job fails; the source is untouched). */
int work_pipeline_run(const struct work_pipeline *p, struct work_source *src,
                      struct dcm_dataset **out, struct work_result *result,
                      struct ferry_error **err);

#endif
