/* ferry — work: private declarations shared by host.c, pixels.c and
 * pipeline.c. */
#ifndef FERRY_WORK_PRIVATE_H
#define FERRY_WORK_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "work/work.h"

/* A received instance shared by the pipelines of its destinations. */
struct work_source {
    atomic_int refs;
    struct dcm_dataset *ds;            /* the full parse; read-only */
    const struct work_registry *reg;
    char context[256];
    pthread_mutex_t lock;              /* guards the frame cache */
    pthread_cond_t decoded;            /* a frame's decoding finished */
    uint8_t **frames;                  /* decoded frames, by index; NULL until needed */
    struct ferry_frame *geoms;         /* the geometry each was decoded to */
    bool *decoding;                    /* a run is decoding this frame: others wait */
    uint32_t n_frames;
};

/* One pipeline run on a source for one destination (what plugins see as
 * struct ferry_instance). */
struct ferry_instance {
    struct work_source *src;
    struct dcm_dataset *ds;            /* this run's copy of the data set */
    char context[320];
    const char *step;                  /* label of the step running now */
    /* Once a plugin calls set_frame: one slot per frame, holding the native
     * frame that replaces the source's, or NULL where the source's frame
     * (decoded) still stands; all with geometry `geom`. NULL before. */
    uint8_t **frames;
    uint32_t n_frames;
    struct ferry_frame geom;
    bool pixels_replaced;              /* frames differ from what ds encodes */
    /* Once a compress step has re-encoded ds, its frames are ds's, no longer
     * the source's: later steps read them through `cur`, a source over ds
     * made when first needed (and dropped at the next re-encoding). */
    bool reencoded;
    struct work_source *cur;
};

/* The geometry of the pixel data ds describes, and its number of frames.
 * -ENOENT without Pixel Data, -EINVAL with *err for attributes that cannot
 * describe a frame. */
int work_pixel_geometry(const struct dcm_dataset *ds, struct ferry_frame *g, uint32_t *frames,
                        struct ferry_error **err);

/* Bytes of one native frame of geometry g; 0 if g cannot be a native frame
 * (bits allocated not a multiple of 8, overflow). */
size_t work_frame_size(const struct ferry_frame *g);

/* Frame `index` of the instance as native pixels: the run's own frame if
 * it replaced it, else that of the data set as the last compress step left
 * it, else the source's (decoded once and cached). Borrowed. */
int work_instance_frame(struct ferry_instance *inst, uint32_t index, const uint8_t **pixels,
                        size_t *length, struct ferry_frame *geometry, struct ferry_error **err);

/* Frame `index` as a malloc'd buffer the caller takes over, when the run
 * can give it up without a copy: its own frame, or a frame the source
 * decoded that no one else can read (the source is the run's alone). Else
 * NULL: the caller copies what work_instance_frame() gives. Call it after
 * work_instance_frame() succeeded for that frame, and only while re-encoding
 * (a taken frame is no longer the run's). */
uint8_t *work_instance_take_frame(struct ferry_instance *inst, uint32_t index);

/* Replace frame `index` of the run (a copy of pixels). The frames it does
 * not replace stay the source's, so a multi-frame instance keeps one layout:
 * -EINVAL for another shape, or (with several frames) another photometric
 * interpretation, planar configuration, bits stored or representation. */
int work_instance_set_frame(struct ferry_instance *inst, uint32_t index, const uint8_t *pixels,
                            size_t length, const struct ferry_frame *geometry);

/* Which offset table indexes the frames of encapsulated output (a compress
 * step's `offset-table` parameter). */
enum work_offset_table {
    WORK_OFFSET_TABLE_AUTO = 0,     /* the Basic Offset Table while its 32-bit offsets
                                     * reach every frame, else the Extended one */
    WORK_OFFSET_TABLE_BASIC = 1,    /* the Basic Offset Table; left empty when the
                                     * frames pass what it can address */
    WORK_OFFSET_TABLE_EXTENDED = 2, /* the Extended Offset Table, with an empty Basic
                                     * Offset Table (PS3.3 C.7.6.3.1.8) */
};

/* How a compress step re-encodes. */
struct work_encode_opts {
    bool new_uid_on_lossy;               /* PS3.3 C.7.6.1.1.5; default true */
    enum work_offset_table offset_table;
};

/* True if frames of these encoded lengths (one fragment each, before
 * padding) get the Extended Offset Table under `mode`: always for EXTENDED,
 * never for BASIC, and for AUTO when the Basic Offset Table's 32-bit entry of
 * the last frame would overflow. */
bool work_wants_extended_offsets(enum work_offset_table mode, const uint64_t *lengths,
                                 uint32_t frames);

/* Re-encode the instance's pixel data with `codec` (state from its
 * configure()), or as native Explicit VR Little Endian when codec is NULL,
 * updating the pixel module, the transfer syntax and, when lossy, the lossy
 * compression attributes (and the SOP Instance UID when
 * opts->new_uid_on_lossy). *lossy says whether information was lost. */
int work_instance_encode(struct ferry_instance *inst, const struct ferry_codec *codec,
                         void *codec_state, const struct work_encode_opts *opts, bool *lossy,
                         struct ferry_error **err);

/* Drop the run's own frames and its source over ds (after a re-encoding,
 * and when the run ends). */
void work_instance_free_frames(struct ferry_instance *inst);

/* Give the elements of the run's data set that arrived as UN, whose tags the
 * dictionary knows, their dictionary VR (PS3.5 6.2.2: a receiver may), so
 * that plugin steps read and clean them as what they are: a SOP Class UID
 * sent as UN is a UID. Values that cannot be read so (sequences, binary
 * values of a big-endian source, private tags) stay UN. Before the first
 * plugin step. */
int work_instance_resolve_un(struct ferry_instance *inst);

#endif
