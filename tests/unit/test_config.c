/*
 * test_config.c — the config reader: defaults, the file, the environment,
 * and a "FILE:LINE: reason" for each kind of bad line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

static char	path[64];

static void
write_conf(const char *text)
{
	FILE *fp;

	strcpy(path, "/tmp/test_config.XXXXXX");
	assert_int_not_equal(mkstemp(path), -1);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int
teardown(void **state)
{
	if (path[0] != '\0')
		unlink(path);
	path[0] = '\0';
	unsetenv("MEDIA_BASE_URL");
	unsetenv("STANDARD_API_RATE_LIMIT_PER_MINUTE");
	return 0;
}

static void
test_defaults(void **state)
{
	struct config	cfg;
	char		err[256], p[CONFIG_PATH_MAX];

	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_string_equal(cfg.data_dir, "./var");
	assert_string_equal(cfg.daemon[DAEMON_APID].listen, "127.0.0.1:5555");
	assert_string_equal(cfg.daemon[DAEMON_MEDIAD].listen, "127.0.0.1:5556");
	assert_string_equal(cfg.daemon[DAEMON_GCD].listen, "");
	assert_int_equal(cfg.daemon[DAEMON_APID].memory_max, 64 << 20);
	assert_int_equal(cfg.daemon[DAEMON_MEDIAD].memory_max, 32 << 20);
	assert_int_equal(cfg.daemon[DAEMON_GCD].memory_max, 16 << 20);
	assert_int_equal(cfg.daemon[DAEMON_APID].memory_high, (64 << 20) / 8 * 7);
	assert_int_equal(cfg.backoff_min_ms, 100);
	assert_int_equal(cfg.backoff_max_ms, 30000);
	assert_int_equal(cfg.crash_limit, 5);
	config_runtime_path(&cfg, "control.sock", p, sizeof(p));
	assert_string_equal(p, "./var/run/control.sock");
}

static void
test_file_and_env(void **state)
{
	struct config	cfg;
	char		err[256], p[CONFIG_PATH_MAX];

	write_conf("# comment\n"
	    "data_dir = /srv/ac\n"
	    "runtime_dir = /run/ac\n"
	    "\n"
	    "[apid]\n"
	    "  listen = 0.0.0.0:8080  \n"
	    "memory_max = 96M\n"
	    "memory_high = 80M\n"
	    "; another comment\n"
	    "[mediad]\n"
	    "public_url = \"https://media.example.org\"\n"
	    "[supervisor]\n"
	    "backoff_min = 250ms\n"
	    "healthy_after = 2m\n");
	setenv("MEDIA_BASE_URL", "https://env.example.org", 1);
	setenv("STANDARD_API_RATE_LIMIT_PER_MINUTE", "120", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.data_dir, "/srv/ac");
	assert_string_equal(cfg.daemon[DAEMON_APID].listen, "0.0.0.0:8080");
	assert_int_equal(cfg.daemon[DAEMON_APID].memory_max, 96 << 20);
	assert_int_equal(cfg.daemon[DAEMON_APID].memory_high, 80 << 20);
	assert_string_equal(cfg.public_url, "https://env.example.org");
	assert_int_equal(cfg.standard_rate_per_minute, 120);
	assert_int_equal(cfg.backoff_min_ms, 250);
	assert_int_equal(cfg.healthy_after_ms, 120000);
	assert_string_equal(cfg.path, path);
	config_runtime_path(&cfg, "x", p, sizeof(p));
	assert_string_equal(p, "/run/ac/x");
}

static void
expect_error(const char *text, const char *want)
{
	struct config	cfg;
	char		err[512], full[600];

	write_conf(text);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	snprintf(full, sizeof(full), "%s:%s", path, want);
	assert_string_equal(err, full);
	unlink(path);
	path[0] = '\0';
}

static void
test_errors(void **state)
{
	expect_error("data_dir = /x\nnonsense\n", "2: expected key = value");
	expect_error("bogus = 1\n", "1: unknown key");
	expect_error("[apid]\nmemory_max = 12Q\n", "2: expected a size such as 512K, 64M or 2G");
	expect_error("[nowhere]\n", "1: unknown section");
	expect_error("[apid\n", "1: expected [section]");
	expect_error("[supervisor]\ncrash_limit = -1\n", "2: expected a whole number");
	expect_error("[supervisor]\nstop_timeout = soon\n",
	    "2: expected a duration such as 250ms, 5s, 2m or 1h");
	expect_error("verbose = maybe\n", "1: expected yes or no");
	/* a key of another section */
	expect_error("[gcd]\nlisten = 1.2.3.4:5\n", "2: unknown key");
}

static void
test_bom_and_last_line(void **state)
{
	struct config	cfg;
	char		err[512], text[5000];
	int		n;

	/* A BOM, then a last line of over 4 KiB (a comment) with no newline. */
	n = snprintf(text, sizeof(text), "\xef\xbb\xbfverbose = yes\n# ");
	memset(text + n, 'x', 4500);
	text[n + 4500] = '\0';
	write_conf(text);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: line too long"));
	unlink(path);
	write_conf("\xef\xbb\xbfverbose = yes\n# a comment without a newline");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.verbose, 1);
}

static void
test_missing_file(void **state)
{
	struct config	cfg;
	char		err[256];

	assert_int_equal(config_load(&cfg, "/nonexistent/x.conf", err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/x.conf: No such file or directory");
}

static void
test_env_error(void **state)
{
	struct config	cfg;
	char		err[256];

	setenv("STANDARD_API_RATE_LIMIT_PER_MINUTE", "many", 1);
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "environment STANDARD_API_RATE_LIMIT_PER_MINUTE: expected a whole number");
}

static void
test_units(void **state)
{
	uint64_t v;

	assert_int_equal(config_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(config_parse_size("512K", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(config_parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(config_parse_size("99999999999999999999", &v), -1);
	assert_int_equal(config_parse_size("18446744073709551615G", &v), -1);
	assert_int_equal(config_parse_size("", &v), -1);
	assert_int_equal(config_parse_size("-1M", &v), -1);
	assert_int_equal(config_parse_duration_ms("1h", &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(config_parse_duration_ms("7", &v), 0);
	assert_int_equal(v, 7000);
	assert_int_equal(config_parse_duration_ms("7 s", &v), -1);
}

static void
test_secrets(void **state)
{
	struct config	cfg;
	char		err[256], dir[] = "/tmp/test_secrets.XXXXXX", first[CONFIG_STR_MAX];
	char		cmd[128];

	assert_non_null(mkdtemp(dir));
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/data", dir);
	assert_int_equal(config_ensure_secrets(&cfg, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.media_token_secret), 64);
	assert_string_equal(cfg.cache_token_secret, cfg.media_token_secret);
	strcpy(first, cfg.media_token_secret);
	/* The second start reads the same secret back. */
	cfg.media_token_secret[0] = cfg.cache_token_secret[0] = '\0';
	assert_int_equal(config_ensure_secrets(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.media_token_secret, first);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_file_and_env, teardown),
		cmocka_unit_test_teardown(test_errors, teardown),
		cmocka_unit_test_teardown(test_bom_and_last_line, teardown),
		cmocka_unit_test_teardown(test_missing_file, teardown),
		cmocka_unit_test_teardown(test_env_error, teardown),
		cmocka_unit_test_teardown(test_units, teardown),
		cmocka_unit_test_teardown(test_secrets, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
