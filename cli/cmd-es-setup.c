/*
 * cmd-es-setup.c: `es-setup`: install the component and index templates
 * in Elasticsearch and import the dashboard into Kibana. Idempotent: the
 * templates are PUT, the dashboard imported with overwrite.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "report/es.h"

struct setup_args {
	const char *url;
	const char *kibana;
	const char *key_file;
};

static int setup_opt(int opt, const char *arg, void *data)
{
	struct setup_args *a = data;

	switch (opt) {
	case 'u':
		a->url = arg;
		return 0;
	case 'K':
		a->kibana = arg;
		return 0;
	case 'k':
		a->key_file = arg;
		return 0;
	}
	return EXIT_USAGE;
}

static const struct option setup_longopts[] = {
	{ "es-url", required_argument, NULL, 'u' },
	{ "kibana-url", required_argument, NULL, 'K' },
	{ "api-key-file", required_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 }
};

static int cmd_es_setup_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct setup_args a = { 0 };
	struct es_client *es = NULL, *kb = NULL;
	struct es_options eo;
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_es_setup_entry, argc, argv, "",
			     setup_longopts, setup_opt, &a, &first, &nops,
			     &dd)))
		return ret;
	if (nops || dd < argc) {
		error("es-setup takes no operands");
		return cmd_usage(&cmd_es_setup_entry, 0);
	}
	cmd_es_options(ctx, a.url, a.key_file, &eo);
	if ((ret = es_client_new(&es, &eo)))
		goto out;
	if (!a.kibana)
		a.kibana = ctx->cfg.kibana_url;
	if (a.kibana) {
		/* Kibana takes the same credentials and TLS settings. */
		eo.url = a.kibana;
		if ((ret = es_client_new(&kb, &eo)))
			goto out;
	}
	ret = es_setup(es, kb, verbosity ? stdout : NULL);
out:
	es_client_free(es);
	es_client_free(kb);
	return ret;
}

const struct cmd_entry cmd_es_setup_entry = {
	.name = "es-setup",
	.usage = "fimscan es-setup [--es-url url] [--kibana-url url] "
		 "[--api-key-file file]",
	.summary = "install the Elasticsearch templates and the Kibana "
		   "dashboard",
	.options =
		"  --es-url url        Elasticsearch (default: the config's\n"
		"                      'elasticsearch' setting)\n"
		"  --kibana-url url    also import the dashboard into this\n"
		"                      Kibana (default: the 'kibana' setting)\n"
		"  --api-key-file file a file holding the API key\n",
	.flags = 0,
	.exec = cmd_es_setup_exec,
};
