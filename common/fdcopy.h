/*
 * fdcopy.h — read a file to its end once, hashing it, copying it, or both.
 *
 * Backups, restores and migrations each hash and copy media and database
 * files; this is the one loop they share. Memory: one 64 KiB block on the
 * stack, whatever the file's size.
 */
#ifndef ANKICOLLAB_COMMON_FDCOPY_H
#define ANKICOLLAB_COMMON_FDCOPY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define FDCOPY_BLOCK	65536

/*
 * Reads in to its end. Each block is written to out unless out is -1, and
 * hashed with md unless md is NULL (then dig may be NULL); the digest goes
 * to dig (EVP_MAX_MD_SIZE bytes, its length to *diglen when not NULL) and
 * the bytes read to *size. Returns 0, or -1 with errno (EIO for a digest
 * failure); out is neither synced nor closed.
 */
int	fdcopy(int in, int out, const EVP_MD *md, unsigned char *dig, unsigned *diglen,
	    uint64_t *size);

/* Writes all of p, across short writes and EINTR; 0, or -1 with errno. */
int	write_all(int fd, const void *p, size_t len);

#endif
