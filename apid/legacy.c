/*
 * legacy.c — routes §15 of spec/api.md (being written).
 */
#include <stddef.h>

#include "apid/apid.h"

const struct apid_area legacy_area = { NULL, 0 };
