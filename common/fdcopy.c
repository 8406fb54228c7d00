/*
 * fdcopy.c — read a file to its end once, hashing it, copying it, or both.
 */
#include <errno.h>
#include <unistd.h>

#include "common/fdcopy.h"

int
write_all(int fd, const void *p, size_t len)
{
	const char	*c = p;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, c, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fdcopy(int in, int out, const EVP_MD *md, unsigned char *dig, unsigned *diglen,
    uint64_t *size)
{
	char		 buf[FDCOPY_BLOCK];
	EVP_MD_CTX	*ctx = NULL;
	unsigned	 dlen;
	ssize_t		 n;
	int		 rc = -1;

	*size = 0;
	if (md != NULL && ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, md, NULL) != 1)) {
		errno = EIO;
		goto out;
	}
	for (;;) {
		if ((n = read(in, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		if (ctx != NULL && EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			errno = EIO;
			goto out;
		}
		if (out != -1 && write_all(out, buf, (size_t)n) == -1)
			goto out;
		*size += (uint64_t)n;
	}
	if (ctx != NULL) {
		if (EVP_DigestFinal_ex(ctx, dig, &dlen) != 1) {
			errno = EIO;
			goto out;
		}
		if (diglen != NULL)
			*diglen = dlen;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
