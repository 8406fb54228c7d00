/*
 * backup.c — ankicollabctl backup DIR, restore DIR (common/backup.c does
 * the work; gcd's periodic backups call the same code).
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/backup.h"
#include "ctl/ctl.h"

/*
 * Run by root (sudo ankicollabctl ...), work as the owner of data_dir, as
 * sudo -u ankicollab would: a root-owned -shm beside the database, or
 * restored files root owns, would keep the suite from writing them.
 */
static int
ctl_become_owner(const struct ctl *ctl)
{
	struct passwd	*pw;
	struct stat	 sb;
	int		 rc;

	if (geteuid() != 0 || stat(ctl->cfg.data_dir, &sb) == -1 || sb.st_uid == 0)
		return 0;
	if ((pw = getpwuid(sb.st_uid)) != NULL)
		rc = initgroups(pw->pw_name, sb.st_gid);
	else
		rc = setgroups(0, NULL);
	if (rc == -1 || setgid(sb.st_gid) == -1 || setuid(sb.st_uid) == -1) {
		fprintf(stderr, "ankicollabctl: cannot act as the owner of %s (uid %u): %s\n",
		    ctl->cfg.data_dir, (unsigned)sb.st_uid, strerror(errno));
		return -1;
	}
	return 0;
}

static int
ctl_backup_take(struct ctl *ctl, const char *dir)
{
	struct backup_stats	st;
	char			err[1024];

	if (backup_create(&ctl->cfg, dir, NULL, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "ankicollabctl: backup: %s\n", err);
		return CTL_EXIT_FAIL;
	}
	printf("backup %s: database %" PRIu64 " bytes (schema %d), %" PRIu64
	    " media files, %" PRIu64 " bytes (%" PRIu64 " linked, %" PRIu64
	    " copied, %" PRIu64 " kept)\n", dir, st.db_bytes, st.schema,
	    st.media_files, st.media_bytes, st.linked, st.copied, st.kept);
	return CTL_EXIT_OK;
}

/* Into a stopped suite only: apid must not have the old file open. */
static int
ctl_restore(struct ctl *ctl, const char *dir)
{
	struct backup_stats	st;
	char			err[1024], path[CONFIG_PATH_MAX];
	int			fd;

	if ((fd = ctl_connect(ctl, path, sizeof(path))) != -1) {
		close(fd);
		fprintf(stderr, "ankicollabctl: restore: the suite is running (the "
		    "supervisor answers on %s); stop it first, e.g. systemctl stop "
		    "ankicollab\n", path);
		return CTL_EXIT_FAIL;
	}
	if (backup_restore(&ctl->cfg, dir, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "ankicollabctl: restore refused: %s\n", err);
		return CTL_EXIT_FAIL;
	}
	printf("restored %s into %s: database %" PRIu64 " bytes (schema %d), %"
	    PRIu64 " media files (%" PRIu64 " linked, %" PRIu64 " copied, %"
	    PRIu64 " already there)\n", dir, ctl->cfg.data_dir, st.db_bytes,
	    st.schema, st.media_files, st.linked, st.copied, st.kept);
	return CTL_EXIT_OK;
}

int
ctl_backup(struct ctl *ctl, int argc, char **argv)
{
	int restore;

	if (strcmp(argv[0], "backup") == 0)
		restore = 0;
	else if (strcmp(argv[0], "restore") == 0)
		restore = 1;
	else
		return -1;
	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "usage: ankicollabctl %s DIR\n", argv[0]);
		return CTL_EXIT_USAGE;
	}
	if (ctl_become_owner(ctl) == -1)
		return CTL_EXIT_FAIL;
	return restore ? ctl_restore(ctl, argv[1]) : ctl_backup_take(ctl, argv[1]);
}
