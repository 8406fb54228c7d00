/*
 * ankicollabctl — administer an ankicollab-lite install.
 *
 * Reads the same config as the supervisor (-c FILE, else the default path
 * when it exists, else the built-in defaults), then runs one command.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "ctl/ctl.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: ankicollabctl [-c file] command [args]\n"
	    "\n"
	    "  status [--json]            each daemon's state, pid, memory and restarts\n"
	    "  start|stop|restart NAME    NAME is apid, mediad or gcd\n"
	    "  reload                     re-read the config file everywhere\n"
	    "  gc run [JOB]               run gcd's jobs now (tokens, batches, notetypes,\n"
	    "                             media, strays, stats, snapshots, wal; all when\n"
	    "                             none is named) and print what they did\n"
	    "\n"
	    "  user add NAME --password-stdin\n"
	    "                             new account; the password is the first line\n"
	    "                             of standard input; NAME: letters, digits, _ - . @\n"
	    "  user passwd NAME --password-stdin\n"
	    "                             new password; also logs NAME out everywhere\n"
	    "  user del NAME [--with-decks]\n"
	    "                             disable the account: password and auth tokens,\n"
	    "                             maintainer entries, subscriptions and stats go;\n"
	    "                             what NAME contributed to decks stays, and so does\n"
	    "                             the name. Refused while NAME owns decks, unless\n"
	    "                             --with-decks deletes them (and their notes) too\n"
	    "  user list [--json]         accounts, root decks owned, deleted or not\n"
	    "  deck list [--json]         root decks: owner, notes, subscribers, last update\n"
	    "  maintainer add|remove DECK_HASH USER\n"
	    "                             let USER act as owner of that deck and its\n"
	    "                             subdecks, or no longer\n"
	    "  maintainer list [DECK_HASH] [--json]\n"
	    "                             every entry, or those that cover DECK_HASH\n"
	    "\n"
	    "  review list DECK_HASH [--json]\n"
	    "                             open suggestions on that deck and its subdecks\n"
	    "  review show COMMIT [--json]\n"
	    "                             what a commit would change, field by field\n"
	    "  review approve COMMIT [--note GUID]\n"
	    "                             apply it (or only its change to that note); its\n"
	    "                             author is notified, subscribers pull the result\n"
	    "  review deny COMMIT [--note GUID] [--reason TEXT]\n"
	    "                             drop it; the deck stays as it is\n"
	    "\n"
	    "  migrate from-postgres URL --media DIR [--data-dir DIR] [--batch N]\n"
	    "                             copy an upstream AnkiCollab PostgreSQL database\n"
	    "                             and its bucket's files (DIR/xx/<md5>) into a new\n"
	    "                             data dir, checking counts and every MD5; the\n"
	    "                             source is only read; run again to resume\n"
	    "  migrate to-postgres URL --media DIR [--data-dir DIR]\n"
	    "                             copy this data dir into an empty PostgreSQL\n"
	    "                             database with upstream's schema, and the media\n"
	    "                             into DIR/xx/<md5>\n"
	    "  migrate upstream-schema    print upstream's schema (SQL)\n"
	    "\n"
	    "  backup DIR                 copy the database and media into DIR while the\n"
	    "                             suite serves; an earlier backup in DIR is updated\n"
	    "  restore DIR                check the backup in DIR against its manifest and\n"
	    "                             restore it into data_dir (the suite must be stopped)\n");
}

int
main(int argc, char *argv[])
{
	static struct ctl	 ctl;
	const char		*path = NULL;
	char			 err[1024];
	int			 i, n, rc;

	/* Options may come before or after the command: -c FILE, --json. */
	for (i = 1, n = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			ctl.json = 1;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage();
			return CTL_EXIT_OK;
		} else
			argv[n++] = argv[i];
	}
	argc = n - 1;
	argv++;
	if (argc < 1) {
		usage();
		return CTL_EXIT_USAGE;
	}
	if (path == NULL && access(ANKICOLLAB_DEFAULT_CONFIG, R_OK) == 0)
		path = ANKICOLLAB_DEFAULT_CONFIG;
	if (config_load(&ctl.cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "ankicollabctl: %s\n", err);
		return CTL_EXIT_FAIL;
	}
	log_init("ankicollabctl", ctl.cfg.verbose);
	if ((rc = ctl_supervise(&ctl, argc, argv)) != -1 ||
	    (rc = ctl_users(&ctl, argc, argv)) != -1 ||
	    (rc = ctl_decks(&ctl, argc, argv)) != -1 ||
	    (rc = ctl_review(&ctl, argc, argv)) != -1 ||
	    (rc = ctl_migrate(&ctl, argc, argv)) != -1 ||
	    (rc = ctl_backup(&ctl, argc, argv)) != -1)
		return rc;
	fprintf(stderr, "ankicollabctl: unknown command '%s'\n", argv[0]);
	usage();
	return CTL_EXIT_USAGE;
}
