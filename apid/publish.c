/*
 * publish.c — routes 2 of spec/api.md (being written).
 */
#include <stddef.h>

#include "apid/apid.h"

const struct apid_area publish_area = { NULL, 0 };
