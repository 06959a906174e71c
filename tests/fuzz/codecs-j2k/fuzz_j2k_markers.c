/* libFuzzer target: the htj2k plugin's codestream marker parser and TLM
 * writer. Whatever parses must, once TLM segments are inserted, parse again
 * with the same tile-parts and a TLM that matches them. */
#include "j2k_markers.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jm_codestream cs;
    char msg[200] = "";
    if (jm_parse(data, size, &cs, msg, sizeof msg) != 0) {
        if (msg[0] == '\0')
            abort();
        return 0;
    }
    if (cs.tlm_segments == 0) {
        size_t extra = jm_tlm_size(&cs);
        uint8_t *out = malloc(size + extra);
        if (!out)
            abort();
        jm_write_with_tlm(data, size, &cs, out);
        struct jm_codestream again;
        if (jm_parse(out, size + extra, &again, msg, sizeof msg) != 0)
            abort();
        if (!again.tlm_consistent || again.n_tileparts != cs.n_tileparts ||
            again.tlm_entries != cs.n_tileparts)
            abort();
        for (uint32_t i = 0; i < cs.n_tileparts; i++)
            if (again.tileparts[i].length != cs.tileparts[i].length ||
                again.tileparts[i].offset != cs.tileparts[i].offset + extra)
                abort();
        jm_free(&again);
        free(out);
    }
    jm_free(&cs);
    return 0;
}
