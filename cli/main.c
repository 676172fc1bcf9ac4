/*
 * main.c: global options, the command table, and the exit status.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "platform/platform.h"
#include "scanner/scanner.h"
#include "report/report.h"

static const struct cmd_entry *const commands[] = {
	&cmd_baseline_entry,
	&cmd_scan_entry,
	&cmd_diff_entry,
	&cmd_report_entry,
	&cmd_log_entry,
	&cmd_show_entry,
	&cmd_accept_entry,
	&cmd_prune_entry,
	&cmd_watch_entry,
	&cmd_events_entry,
	&cmd_ship_entry,
	&cmd_es_setup_entry,
	&cmd_check_config_entry,
};

static const char main_options[] =
	"  -q               print only errors\n"
	"  -v               print informational messages\n"
	"  -c config        configuration file (FIMSCAN_CONFIG; default\n"
	"                   /etc/fimscan/fimscan.conf when it exists)\n"
	"  --db path        the store (FIMSCAN_DB; default\n"
	"                   /var/lib/fimscan/fimscan.db for root)\n"
	"  -h, --help       this help; 'fimscan COMMAND -h' for a command\n"
	"  --version        print the version\n";

int cmd_usage(const struct cmd_entry *e, int to_stdout)
{
	FILE *f = to_stdout ? stdout : stderr;

	fprintf(f, "usage: %s\n", e->usage);
	if (to_stdout) {
		fprintf(f, "\n%s.\n", e->summary);
		if (e->options)
			fprintf(f, "\n%s", e->options);
	}
	return EXIT_USAGE;
}

static void main_usage(FILE *f)
{
	fprintf(f, "usage: %s\n\n%s\ncommands:\n", USAGE_MAIN, main_options);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name,
			commands[i]->summary);
	fprintf(f, "\nSee fimscan(1) and fimscan.conf(5).\n");
}

/* Exact name, or an unambiguous prefix. */
static const struct cmd_entry *find_command(const char *name)
{
	const struct cmd_entry *found = NULL;
	size_t len = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(commands[i]->name, name))
			return commands[i];
		if (!strncmp(commands[i]->name, name, len)) {
			if (found) {
				error("ambiguous command '%s': %s or %s?",
				      escaped(name, len), found->name,
				      commands[i]->name);
				return NULL;
			}
			found = commands[i];
		}
	}
	if (!found)
		error("unknown command '%s' (see 'fimscan -h')",
		      escaped(name, len));
	return found;
}

static char *default_db(void)
{
	struct strbuf sb = STRBUF_INIT;
	const char *xdg = getenv("XDG_DATA_HOME");

	if (geteuid() == 0)
		return xstrdup("/var/lib/fimscan/fimscan.db");
	if (xdg && *xdg == '/') {
		strbuf_addf(&sb, "%s/fimscan/fimscan.db", xdg);
	} else {
		const char *home = getenv("HOME");
		struct passwd *pw;
		if ((!home || *home != '/') && (pw = getpwuid(getuid())))
			home = pw->pw_dir;
		strbuf_addf(&sb, "%s/.local/share/fimscan/fimscan.db",
			    home ? home : ".");
	}
	return strbuf_detach(&sb, NULL);
}

static void on_signal(int sig)
{
	(void)sig;
	scan_request_stop();
}

int main(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL;
	const struct cmd_entry *cmd;
	struct cmd_ctx ctx = { 0 };
	char *db_alloc = NULL;
	struct sigaction sa;
	int i, ret;

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* Global options come before the command. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			main_usage(stdout);
			return report_finish(stdout);
		} else if (!strcmp(a, "--version")) {
			printf("fimscan %s\n", FIMSCAN_VERSION);
			return report_finish(stdout);
		} else if (!strcmp(a, "-c") || !strcmp(a, "--db")) {
			if (i + 1 >= argc) {
				error("option %s needs an argument", a);
				fprintf(stderr, "usage: %s\n", USAGE_MAIN);
				return EXIT_USAGE;
			}
			if (a[1] == 'c')
				config_path = argv[++i];
			else
				db = argv[++i];
		} else if (!strncmp(a, "--db=", 5)) {
			db = a + 5;
		} else if (a[1] != '-' && strspn(a + 1, "qv") == strlen(a + 1)) {
			for (const char *p = a + 1; *p; p++)
				verbosity = *p == 'q' ? 0 : verbosity + 1;
		} else {
			error("unknown option '%s'", escaped(a, strlen(a)));
			fprintf(stderr, "usage: %s\n", USAGE_MAIN);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc && (cmd = find_command(argv[i + 1]))) {
			cmd_usage(cmd, 1);
			return report_finish(stdout);
		}
		main_usage(stdout);
		return report_finish(stdout);
	}
	if (!(cmd = find_command(argv[i])))
		return EXIT_USAGE;
	if (plat_init())
		return EXIT_USAGE;

	/* -h needs neither config nor store. */
	for (int k = i + 1; k < argc && strcmp(argv[k], "--"); k++)
		if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
			cmd_usage(cmd, 1);
			return report_finish(stdout);
		}

	config_init(&ctx.cfg);
	if (!config_path)
		config_path = getenv("FIMSCAN_CONFIG");
	if (config_path && !*config_path)
		config_path = NULL;
	if (!config_path && !access("/etc/fimscan/fimscan.conf", F_OK))
		config_path = "/etc/fimscan/fimscan.conf";
	if (config_path &&
	    (ret = config_load(&ctx.cfg, config_path,
			       cmd == &cmd_check_config_entry))) {
		config_release(&ctx.cfg);
		return ret;
	}

	if (!db || !*db)
		db = getenv("FIMSCAN_DB");
	if (!db || !*db)
		db = ctx.cfg.store;
	if (!db || !*db)
		db = db_alloc = default_db();
	ctx.db_path = db;
	ctx.tty_out = isatty(STDOUT_FILENO);
	ctx.tty_err = isatty(STDERR_FILENO);

	ret = 0;
	if (cmd->flags & (CMD_STORE_READ | CMD_STORE_WRITE))
		ret = store_open(&ctx.st, db, cmd->flags & CMD_STORE_WRITE ?
					      STORE_WRITE : STORE_READ);
	/* An interrupt also ends a wait for another fimscan's write lock
	 * (busy-timeout can be an hour): exit 23, nothing written. */
	if (!ret && ctx.st)
		store_set_stop(ctx.st, scan_stop_requested);
	if (!ret) {
		ret = cmd->exec(argc - i, argv + i, &ctx);
		/* A report cut short by a full disk is an error. */
		if (ret < EXIT_USAGE) {
			int out = report_finish(stdout);
			if (out)
				ret = out;
		}
	}
	store_close(ctx.st);
	config_release(&ctx.cfg);
	free(db_alloc);
	return ret;
}
