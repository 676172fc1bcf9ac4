/*
 * cmd-check-config.c: `check-config`: main() has already parsed the config
 * with warnings on (errors there exit 17 before we get here); say what it
 * amounts to.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"

static int cmd_check_config_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	const struct fim_config *c = &ctx->cfg;
	char *hashes;

	(void)argv;
	if (argc > 1) {
		error("check-config takes no operands (the config is -c FILE)");
		return cmd_usage(&cmd_check_config_entry, 0);
	}
	hashes = config_hashes_str(c);
	printf("config: %s\n", c->path ? escaped(c->path, strlen(c->path))
				       : "(built-in defaults)");
	printf("store: %s\n", escaped(ctx->db_path, strlen(ctx->db_path)));
	printf("roots: %zu\n", c->nroots);
	for (size_t i = 0; i < c->nroots; i++)
		printf("  %s\n", escaped(c->roots[i], c->rootlens[i]));
	printf("filters: %zu, groups: %zu, rules: %zu\n", c->nfilters,
	       c->ngroups, c->nrules);
	printf("hashes: %s, threads: %d, rehash: %s, one-filesystem: %s\n",
	       hashes, c->threads, c->rehash == REHASH_CHANGED ? "changed"
							       : "all",
	       c->one_filesystem ? "yes" : "no");
	free(hashes);
	return 0;
}

const struct cmd_entry cmd_check_config_entry = {
	.name = "check-config",
	.usage = "fimscan check-config",
	.summary = "check the configuration file and summarize it",
	.options = NULL,
	.flags = 0,
	.exec = cmd_check_config_exec,
};
