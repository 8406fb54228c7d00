/*
 * log.h — the one logger: a line per event on stderr.
 *
 * Each line starts with an sd-daemon priority prefix ("<3>" error … "<7>"
 * debug) so that journald, which captures the supervisor's stderr and so its
 * children's, files it at the right level. Then the program name, then the text.
 */
#ifndef ANKICOLLAB_LOG_H
#define ANKICOLLAB_LOG_H

#include <stdarg.h>

#define LOG_PRI_ERR	3
#define LOG_PRI_WARNING	4
#define LOG_PRI_NOTICE	5
#define LOG_PRI_INFO	6
#define LOG_PRI_DEBUG	7

/* name: shown on every line; verbose: print debug lines too. */
void	log_init(const char *name, int verbose);
void	log_set_verbose(int verbose);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* + strerror(errno) */
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Broken invariant or unusable state: log at error level and exit(1). */
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));	/* + strerror(errno) */
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
