/* ferry — the data dictionary the `ferry` tool gives the config loader to
 * check attribute keywords in routes.
 *
 * Until the dcm module's dictionary is wired in, this is a table generated
 * from DCMTK's dicom.dic at build time (src/cli/gen_keywords.py); cli_dict()
 * is the one place to switch to dcm's lookup. */
#ifndef FERRY_CLI_DICT_H
#define FERRY_CLI_DICT_H

#include "route/route.h"

#include <stddef.h>
#include <stdint.h>

struct cli_keyword {
    const char *keyword;
    uint32_t tag;
    char vr[3];
};

/* Sorted by keyword (strcmp order). */
extern const struct cli_keyword cli_keywords[];
extern const size_t cli_n_keywords;

/* The dictionary for conf_load() / route_rules_new(). Static. */
const struct route_dict *cli_dict(void);

#endif
