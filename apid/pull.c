/*
 * pull.c — routes 1, 4, 7, 17 of spec/api.md (being written).
 */
#include <stddef.h>

#include "apid/apid.h"

const struct apid_area pull_area = { NULL, 0 };
