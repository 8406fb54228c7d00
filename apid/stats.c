/*
 * stats.c — routes 11 of spec/api.md (being written).
 */
#include <stddef.h>

#include "apid/apid.h"

const struct apid_area stats_area = { NULL, 0 };
