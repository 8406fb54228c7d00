/*
 * links.c — routes 9, 10 of spec/api.md (being written).
 */
#include <stddef.h>

#include "apid/apid.h"

const struct apid_area links_area = { NULL, 0 };
