/*
 * decks.c — routes 5, 6, 8, 18 of spec/api.md (being written).
 */
#include <stddef.h>

#include "apid/apid.h"

const struct apid_area decks_area = { NULL, 0 };
