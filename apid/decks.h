/*
 * decks.h — deck questions several areas ask (spec/api.md §2.7, §2.9, §6.1).
 *
 * All run on apid->db, inside or outside the caller's transaction; none
 * opens one of its own.
 */
#ifndef ANKICOLLAB_APID_DECKS_H
#define ANKICOLLAB_APID_DECKS_H

#include <stdint.h>

#include "apid/password.h"

struct apid_call;

/*
 * §2.9: 1 if user owns or maintains the deck of that hash or any of its
 * ancestors, else 0. An unknown hash is 0, and so is a DB fault (logged):
 * upstream treats a failed check as "no".
 */
int	decks_owner_or_maintainer(int64_t user, const char *hash);

/* The id of the deck with that human_hash: > 0, 0 if none, -1 on a DB fault. */
int64_t	decks_find(const char *hash);

/*
 * §2.7 for a hash from a request body: 1 if valid, else 0 after answering
 * 400 "Invalid deck hash format".
 */
int	decks_hash_arg(struct apid_call *call, const char *hash);

/*
 * §6.1 "what moves last_update": sets it to now on the deck and every
 * ancestor. Returns 0, or -1 on a DB fault.
 */
int	decks_touch(int64_t deck, int64_t now_us);

/*
 * §2.8 user hash (subscriptions, note_stats): hex SHA-256 of the stored
 * user name. Returns 0, or -1 if the user is gone or on a DB fault.
 */
int	decks_user_hash(int64_t user, char out[PASSWORD_USER_HASH_LEN + 1]);

#endif
