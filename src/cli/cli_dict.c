/* ferry — the data dictionary of the `ferry` tool (see cli_dict.h). */
#include "cli/cli_dict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_keyword(const void *key, const void *elem)
{
    return strcmp(key, ((const struct cli_keyword *)elem)->keyword);
}

static int lookup(void *ud, const char *keyword, uint32_t *tag, char vr[3])
{
    (void)ud;
    const struct cli_keyword *k =
        bsearch(keyword, cli_keywords, cli_n_keywords, sizeof *cli_keywords, cmp_keyword);
    if (!k)
        return -ENOENT;
    *tag = k->tag;
    memcpy(vr, k->vr, 3);
    return 0;
}

const struct route_dict *cli_dict(void)
{
    static const struct route_dict dict = { lookup, NULL };
    return &dict;
}
