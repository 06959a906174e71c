/* ferry — the plugin ABI.
 *
 * This is the only header a plugin includes. A plugin is a shared object that
 * exports one function, ferry_plugin_init(), and never links against the
 * daemon: everything it may do to an instance goes through the table of
 * functions the host hands it (struct ferry_host).
 *
 * A plugin offers two kinds of things:
 *   - codecs (struct ferry_codec): decode and/or encode the frames of one
 *     transfer syntax. The host calls them when a pipeline decodes an instance
 *     or when a `compress` step asks for a syntax.
 *   - steps (struct ferry_step): something a route's pipeline runs on an
 *     instance (de-identification, masking, ...), named in the config:
 *
 *         pipeline:
 *           - step: deid
 *             params: { secret-file: /etc/ferry/secret, option: [retain-uids] }
 *           - compress: { syntax: jpeg-ls-lossless }
 *
 * ---------------------------------------------------------------------------
 * Versioning
 *
 * FERRY_PLUGIN_ABI_MAJOR changes when anything that exists changes meaning or
 * layout, or is removed. The host refuses a plugin built against another
 * major, with a log line naming the plugin and both majors.
 *
 * FERRY_PLUGIN_ABI_MINOR changes when something is added: a function appended
 * to the end of struct ferry_host, a field appended to the end of a struct
 * that begins with its `size`, a new enum value or flag. Nothing is ever
 * inserted in the middle. So:
 *   - a plugin built against an older minor keeps loading and working;
 *   - a plugin built against a newer minor loads in an older host, and before
 *     it calls a function added after 1.0 it checks that host->size covers it
 *     (FERRY_HOST_HAS(host, member)). Each addition below is marked with the
 *     minor that added it.
 *
 * Structs that cross the boundary begin with `uint32_t size` (the size the
 * side that filled it was built with) and only grow at the end; enums that
 * cross it are passed as int32_t / uint32_t. Memory is freed by the side that
 * allocated it: what a plugin returns to the host is allocated with
 * host->alloc and freed by the host with host->free.
 *
 * ---------------------------------------------------------------------------
 * Threads
 *
 * ferry_plugin_init() runs once, on the main thread, at start (and at a config
 * reload that loads a new plugin), before any other call.
 * codec->configure / step->configure run on the main thread while a config is
 * validated (at start, and on reload while the old config keeps running).
 * codec->decode / codec->encode / step->run run on worker threads, never on
 * the network thread, possibly several at once with the same `state`: state
 * is read-only after configure, or the plugin locks it itself.
 * ->release runs on the main thread once no worker uses the state any more.
 * The host functions that take a struct ferry_instance may only be called
 * from the thread that is running a step on that instance, during that call.
 * host->log, host->alloc and host->free may be called from any thread.
 *
 * Return values: 0 for success or a negative errno value (-EINVAL, -ENOMEM,
 * -ENOENT, ...), unless a function says otherwise.
 */
#ifndef FERRY_PLUGIN_H
#define FERRY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FERRY_PLUGIN_ABI_MAJOR 1
#define FERRY_PLUGIN_ABI_MINOR 1

#define FERRY_PLUGIN_EXPORT __attribute__((visibility("default")))

/* The entry point's name, for the host's dlsym(). */
#define FERRY_PLUGIN_ENTRY "ferry_plugin_init"

/* (gggg,eeee) as one 32-bit number. */
#define FERRY_TAG(group, element) ((((uint32_t)(group)) << 16) | ((uint32_t)(element) & 0xffffu))

/* True if `host` was built with `member` (a function added in a later minor). */
#define FERRY_HOST_HAS(host, member) \
    ((host)->size >= offsetof(struct ferry_host, member) + sizeof((host)->member))

/* An instance going through a pipeline. Opaque. */
struct ferry_instance;

/* A data set: the instance's top level, or an item of a sequence. Opaque,
 * borrowed from its instance, valid until the step's run() returns or the
 * element holding it is removed or replaced. */
struct ferry_dataset;

enum ferry_plugin_log_level {
    FERRY_PLUGIN_LOG_ERROR = 0,
    FERRY_PLUGIN_LOG_WARN = 1,
    FERRY_PLUGIN_LOG_INFO = 2,
    FERRY_PLUGIN_LOG_DEBUG = 3,
};

/* A view of one element. Filled by the host. */
struct ferry_value {
    uint32_t size;
    uint32_t tag;
    char vr[4];            /* two letters and two NULs: "PN", "SQ", "OB" */
    uint32_t length;       /* bytes at `bytes` (even, as encoded) */
    const uint8_t *bytes;  /* the value, little endian as in Explicit VR Little
                            * Endian; string values keep the bytes of the data
                            * set's Specific Character Set, with their padding.
                            * NULL for SQ and for encapsulated Pixel Data.
                            * Borrowed: valid until the element changes. */
    uint32_t items;        /* SQ: the number of items; otherwise 0 */
};

/* The geometry of a frame, as the pixel module of the data set describes it. */
struct ferry_frame {
    uint32_t size;
    uint32_t rows;
    uint32_t columns;
    uint16_t samples_per_pixel;
    uint16_t bits_allocated;
    uint16_t bits_stored;
    uint16_t high_bit;
    uint16_t pixel_representation;   /* 0 unsigned, 1 two's complement */
    uint16_t planar_configuration;   /* 0 colour-by-pixel, 1 colour-by-plane */
    char photometric[24];            /* "MONOCHROME2", "RGB", "YBR_FULL_422", ... */
};

/* What the instance's pixel data is. Filled by the host. */
struct ferry_pixel_info {
    uint32_t size;
    uint32_t frames;                 /* Number of Frames, 1 when absent */
    struct ferry_frame frame;        /* geometry of each frame */
    char transfer_syntax[68];        /* the syntax the pixel data is in now */
};

/* A parameter of a pipeline step or a compress step, from the config.
 * Values are strings; a list in the config becomes repeated keys in order.
 * This struct never grows. */
struct ferry_param {
    const char *key;
    const char *value;
};

/* Where a plugin explains a failure. The host clears it and sets `param` to
 * -1 before each call that takes one. A plugin writes a NUL-terminated
 * message (no file name, no newline; the host adds the context), and for a
 * configure() error the index of the parameter at fault, so the host can
 * name the file:line:col of that parameter in the config. */
struct ferry_diag {
    uint32_t size;
    int32_t param;
    char message[480];
};

/* ---------------------------------------------------------------------------
 * What the host offers. Every function pointer is non-NULL. */
struct ferry_host {
    uint32_t size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /* --- 1.0 ------------------------------------------------------------- */

    /* A log line with the instance's context (source AE, SOP Instance UID,
     * route, step); inst may be NULL. Any thread. */
    void (*log)(struct ferry_instance *inst, int32_t level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Memory that crosses the boundary. Any thread. */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);

    /* The top-level data set of an instance. The File Meta Information
     * (group 0002) and the preamble are not part of it: whoever writes the
     * instance to a file builds them afresh from the output data set, so
     * (0002,0003) follows (0008,0018) and no Source AE Title is carried over. */
    struct ferry_dataset *(*root)(struct ferry_instance *inst);

    /* Look an element up. Returns -ENOENT if it is absent. */
    int (*get)(struct ferry_dataset *ds, uint32_t tag, struct ferry_value *out);

    /* The value number `index` (0-based, of a backslash-separated string
     * value) decoded from the Specific Character Set to UTF-8, without its
     * padding, NUL-terminated, into buf. ST, LT, UT and UR hold one value,
     * in which a backslash is text: index 0 is the whole value. Returns the
     * length of the string (which may be >= bufsize: then the text was cut
     * and the caller may ask again with a larger buffer), -ENOENT if the
     * element or that value is absent, -EINVAL if it is not a string VR
     * (UN included: its bytes are not known to be text). */
    int (*get_string)(struct ferry_dataset *ds, uint32_t tag, uint32_t index, char *buf,
                      size_t bufsize);

    /* Add or replace an element with these bytes (copied; little endian;
     * length even, or the host pads it as the VR requires). vr is two
     * letters; NULL means the dictionary's VR. For SQ only length 0 is
     * accepted: it makes an empty sequence, replacing what was there (1.1;
     * a 1.0 host answers -EINVAL); items are added with add_item. */
    int (*set)(struct ferry_dataset *ds, uint32_t tag, const char *vr, const void *bytes,
               uint32_t length);

    /* Add or replace a string element from UTF-8 text (several values joined
     * with '\\'). The host encodes it in the data set's Specific Character
     * Set, or changes the instance to ISO_IR 192 (UTF-8) when the text does
     * not fit that set. vr NULL means the dictionary's VR. */
    int (*set_string)(struct ferry_dataset *ds, uint32_t tag, const char *vr,
                      const char *utf8);

    /* Remove an element (and everything below it). -ENOENT if absent. */
    int (*remove)(struct ferry_dataset *ds, uint32_t tag);

    /* Call fn for each element of ds, in tag order, not descending into
     * sequences (use item() for that). fn may replace or remove the element it
     * was handed, and nothing else of ds; when it is handed a sequence, fn may
     * also walk its items (item()) and change anything inside them, foreach
     * included. Elements fn adds to ds are not visited. fn returns 0 to go on,
     * a positive value to stop (foreach returns it), a negative value to fail
     * (foreach returns it). */
    int (*foreach)(struct ferry_dataset *ds,
                   int (*fn)(void *ud, struct ferry_dataset *ds, const struct ferry_value *v),
                   void *ud);

    /* Item `index` of sequence `tag` in ds, or NULL. */
    struct ferry_dataset *(*item)(struct ferry_dataset *ds, uint32_t tag, uint32_t index);

    /* Append an empty item to sequence `tag` (creating the sequence when
     * absent) and return it, or NULL on failure. */
    struct ferry_dataset *(*add_item)(struct ferry_dataset *ds, uint32_t tag);

    /* The pixel data's geometry and syntax. -ENOENT without Pixel Data. */
    int (*pixel_info)(struct ferry_instance *inst, struct ferry_pixel_info *out);

    /* Frame `index` as native pixels (decoded once per instance with the
     * registered codec, then shared by every pipeline of that instance).
     * The layout is that of `geometry` (filled when not NULL), which after
     * decoding may differ from the data set's (a JPEG baseline frame decodes
     * to RGB with planar configuration 0). The bytes are borrowed until the
     * step returns or set_frame() is called. */
    int (*get_frame)(struct ferry_instance *inst, uint32_t index, const uint8_t **pixels,
                     size_t *length, struct ferry_frame *geometry);

    /* Replace frame `index` with native pixels of the given geometry (copied).
     * After the first set_frame the instance's pixel data is native; the
     * pipeline re-encodes it later in the output syntax of the route. */
    int (*set_frame)(struct ferry_instance *inst, uint32_t index, const uint8_t *pixels,
                     size_t length, const struct ferry_frame *geometry);

    /* --- 1.1 ------------------------------------------------------------- */

    /* Record that `original` was replaced by `replacement` in the instance,
     * for authorized re-identification. `kind` names what was replaced, in
     * lower-case ASCII ("patient-id", "patient-name", "study-uid"); the
     * strings are UTF-8, NUL-terminated, borrowed for the call. The program
     * keeps the record where only the owner of its data folder can read it
     * (ferry deid: a file of mode 0600; the daemon: its index) and never in
     * a log. A plugin records only when its configuration asks it to.
     * With inst NULL (and the other arguments NULL) it is a probe, meant for
     * configure(): 0 if this program keeps records, -ENOTSUP if not.
     * Returns 0, -ENOTSUP (the program keeps no records), -EINVAL (a NULL
     * or empty kind, a NULL string), or the error of the program's store;
     * a plugin should then fail the instance rather than send it out
     * unrecorded. Thread: that of the step running on inst. */
    int (*record_pseudonym)(struct ferry_instance *inst, const char *kind,
                            const char *original, const char *replacement);
};

/* ---------------------------------------------------------------------------
 * Codecs */

enum ferry_codec_flags {
    FERRY_CODEC_DECODE = 1u << 0,  /* decode() is set */
    FERRY_CODEC_ENCODE = 1u << 1,  /* encode() is set */
    FERRY_CODEC_LOSSY = 1u << 2,   /* encoding may lose information */
};

/* What encode() reports besides the bytes. */
struct ferry_encoded {
    uint32_t size;
    uint8_t *bytes;          /* allocated with host->alloc; the host frees it */
    size_t length;
    struct ferry_frame frame; /* geometry as encoded: photometric interpretation
                               * and planar configuration of the output */
    uint32_t lossy;          /* 1 if this frame lost information (a near-
                              * lossless codec with NEAR=0 reports 0) */
};

struct ferry_codec {
    uint32_t size;
    const char *name;             /* what `compress: { syntax: ... }` names,
                                   * e.g. "jpeg-ls-lossless" */
    const char *transfer_syntax;  /* the UID it reads and writes */
    uint32_t flags;               /* enum ferry_codec_flags */

    /* Check the parameters of a compress step (quality, rate, near, ...) and
     * build the state encode() uses; NULL params with n 0 for decoding.
     * *state may be left NULL. On error, fill diag. May be NULL when the
     * codec takes no parameters. */
    int (*configure)(const struct ferry_param *params, uint32_t n, void **state,
                     struct ferry_diag *diag);
    void (*release)(void *state);

    /* Decode one frame (the bytes of all its fragments, concatenated; the
     * last may end in the pad byte that makes a fragment's length even,
     * PS3.5 A.4) into `out`, which holds rows * columns * samples *
     * bits_allocated/8 bytes.
     * `in_geom` is the data set's geometry; `out_geom` (pre-filled by the host
     * with a copy of in_geom) is updated to the layout written: for example
     * photometric "RGB" after decoding a YCbCr JPEG. */
    int (*decode)(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                  size_t in_len, uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
                  struct ferry_diag *diag);

    /* Encode one native frame of geometry `geom` into `out`. */
    int (*encode)(void *state, const struct ferry_host *host, const struct ferry_frame *geom,
                  const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                  struct ferry_diag *diag);
};

/* ---------------------------------------------------------------------------
 * Steps */

enum ferry_step_result {
    FERRY_STEP_OK = 0,
    /* Positive results: the instance is not sent to this destination. */
    FERRY_STEP_QUARANTINE = 1,  /* kept in the quarantine folder with diag's reason */
    FERRY_STEP_DROP = 2,        /* dropped on purpose for this destination (logged) */
    /* Negative results: the job failed (retried by policy; the original stays
     * in the spool). */
};

struct ferry_step {
    uint32_t size;
    const char *name;  /* what `step:` names in a pipeline */

    /* Validate the step's parameters and build its state. Runs when a config
     * is loaded, so that a bad parameter is a config error. The parameters
     * (keys and values) are borrowed for the call only: the host may free
     * them as soon as configure() returns, so the state copies what it
     * keeps. */
    int (*configure)(const struct ferry_host *host, const struct ferry_param *params,
                     uint32_t n, void **state, struct ferry_diag *diag);
    void (*release)(void *state);

    /* Run on one instance. Returns a ferry_step_result or a negative errno;
     * anything but FERRY_STEP_OK explains itself in diag. */
    int (*run)(void *state, const struct ferry_host *host, struct ferry_instance *inst,
               struct ferry_diag *diag);
};

/* ---------------------------------------------------------------------------
 * The plugin */

struct ferry_plugin {
    uint32_t size;
    uint32_t abi_major;   /* FERRY_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* FERRY_PLUGIN_ABI_MINOR the plugin was built with */
    const char *name;     /* unique among loaded plugins: "jpegls", "deid" */
    const char *version;
    const char *description;
    const struct ferry_codec *const *codecs;  /* n_codecs pointers */
    uint32_t n_codecs;
    const struct ferry_step *const *steps;    /* n_steps pointers */
    uint32_t n_steps;
    /* Called once before dlclose(); may be NULL. */
    void (*unload)(void);
};

/* The one exported entry point. The host is borrowed for the whole life of
 * the plugin. Returns a description that lives until unload, or NULL if the
 * plugin cannot run here (it logs why through host->log). */
FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *host);

/* Fill a struct ferry_plugin's version fields. */
#define FERRY_PLUGIN_HEADER                                                              \
    .size = sizeof(struct ferry_plugin), .abi_major = FERRY_PLUGIN_ABI_MAJOR,            \
    .abi_minor = FERRY_PLUGIN_ABI_MINOR

#ifdef __cplusplus
}
#endif

#endif
