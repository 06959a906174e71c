/* ferry — route: the rules' view of the dcm module. The route core takes
 * its dictionary and attribute values through callbacks (route.h); these
 * are the ones the daemon and the tool pass, backed by dcm. */
#ifndef FERRY_ROUTE_DCM_H
#define FERRY_ROUTE_DCM_H

#include "dcm/dcm.h"
#include "route/route.h"

/* The data dictionary generated from dicom.dic. Static. */
const struct route_dict *route_dcm_dict(void);

/* A route_ctx.get() over a data set: ud is a const struct dcm_dataset *
 * (the top level of an instance). Text is decoded through the instance's
 * Specific Character Set; binary numbers are written in decimal. */
int route_dcm_get(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size);

#endif
