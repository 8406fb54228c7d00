/*
 * log.c — stderr lines with sd-daemon priority prefixes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const char	*log_name = "ankicollab";
static int		 log_verbose;

void
log_init(const char *name, int verbose)
{
	log_name = name;
	log_verbose = verbose;
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

/* One write per line so that lines from several processes do not interleave. */
static void __attribute__((format(printf, 3, 0)))
log_vline(int pri, const char *err, const char *fmt, va_list ap)
{
	char	 msg[1024];
	char	 line[1200];
	int	 n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != NULL)
		n = snprintf(line, sizeof(line), "<%d>%s: %s: %s\n", pri, log_name, msg, err);
	else
		n = snprintf(line, sizeof(line), "<%d>%s: %s\n", pri, log_name, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fwrite(line, 1, (size_t)n, stderr);
}

#define LOG_BODY(pri, err) do {				\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vline((pri), (err), fmt, ap);		\
	va_end(ap);					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_PRI_WARNING, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_PRI_WARNING, NULL);
}

void
log_notice(const char *fmt, ...)
{
	LOG_BODY(LOG_PRI_NOTICE, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_PRI_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY(LOG_PRI_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_PRI_ERR, err);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_PRI_ERR, NULL);
	exit(1);
}
