/*
 * cmd-events.c: `events`: what `watch` recorded, oldest first. Names are
 * raw bytes in the store and escaped once here: strbuf_add_escaped() for
 * text, json_add_path() (a string plus the exact bytes in base64) for
 * JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd.h"

struct events_args {
	int format;
	int64_t after;             /* --since SEQ */
	int64_t since_ns;          /* --since TIME */
	struct strbuf sb;
	size_t n;
};

/*
 * A time in UTC: YYYY-MM-DD, optionally followed by 'T' or ' ' and
 * HH:MM, HH:MM:SS or HH:MM:SS.fraction, optionally ending in 'Z'.
 */
static int parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	int64_t frac = 0, scale = 100000000;
	const char *p;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	p = s + n;
	if (*p == 'T' || *p == ' ') {
		int m = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
			return -1;
		p += 1 + m;
		if (*p == ':') {
			if (sscanf(p + 1, "%2d%n", &sec, &m) != 1 || m != 2)
				return -1;
			p += 3;
			if (*p == '.') {
				for (p++; *p >= '0' && *p <= '9'; p++) {
					frac += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	if (*p == 'Z')
		p++;
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*out = (int64_t)t * 1000000000 + frac;
	return 0;
}

static int events_opt(int opt, const char *arg, void *data)
{
	struct events_args *a = data;

	switch (opt) {
	case 'f':
		return cmd_format(arg, &a->format);
	case 's':
		if (*arg && strspn(arg, "0123456789") == strlen(arg)) {
			char *end;

			errno = 0;
			a->after = strtoll(arg, &end, 10);
			if (!errno)
				return 0;
		} else if (!parse_time(arg, &a->since_ns)) {
			return 0;
		}
		error("--since wants a sequence number or a UTC time such as "
		      "2026-11-21T20:00:00Z, not '%s'",
		      escaped(arg, strlen(arg)));
		return EXIT_USAGE;
	}
	return EXIT_USAGE;
}

static const struct option events_longopts[] = {
	{ "since", required_argument, NULL, 's' },
	{ "format", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};

/* "2026-11-21 20:01:02.123 UTC" */
static void add_time(struct strbuf *sb, int64_t ns)
{
	size_t at = sb->len;

	time_add_rfc3339(sb, ns);
	/* YYYY-MM-DDTHH:MM:SS.mmm of the RFC 3339 form */
	if (sb->len >= at + 23) {
		sb->buf[at + 10] = ' ';
		strbuf_setlen(sb, at + 23);
	}
	strbuf_addstr(sb, " UTC");
}

/*
 * The ranges column as cmd-watch.c writes it, and nothing else: a store
 * is input that may have been tampered with, and this text goes into the
 * JSON output as it is. Returns the number of ranges, -1 when it is not
 * exactly that shape.
 */
static long check_ranges(const char *p)
{
	static const char *const ops[] = { "modify", "insert", "delete" };
	static const char *const keys[] = {
		"old_offset", "old_length", "new_offset", "new_length",
	};
	long n = 0;

	if (!p || *p++ != '[')
		return -1;
	while (*p != ']') {
		size_t i, k;

		if (n && *p++ != ',')
			return -1;
		if (strncmp(p, "{\"op\":\"", 7))
			return -1;
		p += 7;
		for (i = 0; i < ARRAY_SIZE(ops); i++)
			if (!strncmp(p, ops[i], strlen(ops[i])) &&
			    p[strlen(ops[i])] == '"')
				break;
		if (i == ARRAY_SIZE(ops))
			return -1;
		p += strlen(ops[i]) + 1;
		for (k = 0; k < ARRAY_SIZE(keys); k++) {
			size_t d;

			if (*p++ != ',' || *p++ != '"' ||
			    strncmp(p, keys[k], strlen(keys[k])) ||
			    strncmp(p + strlen(keys[k]), "\":", 2))
				return -1;
			p += strlen(keys[k]) + 2;
			d = strspn(p, "0123456789");
			if (!d || d > 20)
				return -1;
			p += d;
		}
		if (!strncmp(p, ",\"exact\":true}", 14))
			p += 14;
		else if (!strncmp(p, ",\"exact\":false}", 15))
			p += 15;
		else
			return -1;
		n++;
	}
	return p[1] ? -1 : n;
}

static void add_escaped_str(struct strbuf *sb, const char *s)
{
	strbuf_add_escaped(sb, s, strlen(s));
}

static void text_event(struct strbuf *sb, const struct store_event *ev)
{
	strbuf_addf(sb, "%6lld ", (long long)ev->seq);
	add_time(sb, ev->time_ns);
	/* everything read from the store is escaped, not just the paths */
	strbuf_addch(sb, ' ');
	if (ev->kind == EVENT_CHANGE) {
		size_t at = sb->len;

		add_escaped_str(sb, ev->action);
		strbuf_addf(sb, "%*s%-4s ", sb->len - at < 10 ?
			    (int)(10 - (sb->len - at)) : 1, "",
			    ev->type ? fim_type_name(ev->type) : "-");
	} else {
		strbuf_addf(sb, "%-9s ", event_kind_name(ev->kind));
		add_escaped_str(sb, ev->action);
		strbuf_addch(sb, ' ');
	}
	if (ev->path)
		strbuf_add_escaped(sb, ev->path, ev->pathlen);
	else
		strbuf_addstr(sb, "(all roots)");
	if (ev->old_path) {
		strbuf_addstr(sb, " (from ");
		strbuf_add_escaped(sb, ev->old_path, ev->old_pathlen);
		strbuf_addch(sb, ')');
	}
	strbuf_addch(sb, '\n');
	if (ev->attrs && *ev->attrs) {
		size_t at;

		strbuf_addstr(sb, "    attrs    ");
		at = sb->len;
		add_escaped_str(sb, ev->attrs);
		for (size_t i = at; i < sb->len; i++)
			if (sb->buf[i] == ',')
				sb->buf[i] = ' ';
		strbuf_addch(sb, '\n');
	}
	if (ev->bytes_changed >= 0) {
		long n = check_ranges(ev->ranges);

		strbuf_addf(sb, "    bytes    %lld changed", (long long)
			    ev->bytes_changed);
		if (n >= 0)
			strbuf_addf(sb, " in %ld range%s", n, n == 1 ? "" : "s");
		strbuf_addch(sb, '\n');
	}
	if (ev->pid > 0 || ev->exe) {
		strbuf_addf(sb, "    process  pid %lld", (long long)ev->pid);
		if (ev->uid >= 0)
			strbuf_addf(sb, ", uid %lld", (long long)ev->uid);
		if (ev->exe && ev->exelen) {
			strbuf_addstr(sb, ", ");
			strbuf_add_escaped(sb, ev->exe, ev->exelen);
		}
		strbuf_addch(sb, '\n');
	}
	if (ev->detail && *ev->detail) {
		strbuf_addstr(sb, "    detail   ");
		add_escaped_str(sb, ev->detail);
		strbuf_addch(sb, '\n');
	}
	strbuf_addstr(sb, "    seen by  ");
	add_escaped_str(sb, ev->backend ? ev->backend : "-");
	if (ev->snap)
		strbuf_addf(sb, ", snapshot %lld", (long long)ev->snap);
	strbuf_addch(sb, '\n');
}

static void json_event(struct strbuf *sb, const struct store_event *ev,
		       int first)
{
	strbuf_addstr(sb, first ? "\n{" : ",\n{");
	strbuf_addf(sb, "\"seq\":%lld,\"time\":\"", (long long)ev->seq);
	time_add_rfc3339(sb, ev->time_ns);
	strbuf_addf(sb, "\",\"kind\":\"%s\",\"action\":",
		    event_kind_name(ev->kind));
	json_add_string(sb, ev->action, strlen(ev->action));
	if (ev->type)
		strbuf_addf(sb, ",\"type\":\"%s\"", fim_type_name(ev->type));
	if (ev->path) {
		strbuf_addch(sb, ',');
		json_add_path(sb, "path", ev->path, ev->pathlen);
	}
	if (ev->old_path) {
		strbuf_addch(sb, ',');
		json_add_path(sb, "moved_from", ev->old_path, ev->old_pathlen);
	}
	if (ev->attrs) {
		const char *p = ev->attrs;

		strbuf_addstr(sb, ",\"attrs\":[");
		while (*p) {
			const char *c = strchr(p, ',');
			size_t n = c ? (size_t)(c - p) : strlen(p);

			if (p != ev->attrs)
				strbuf_addch(sb, ',');
			json_add_string(sb, p, n);
			p += n + (c != NULL);
		}
		strbuf_addch(sb, ']');
	}
	if (ev->bytes_changed >= 0)
		strbuf_addf(sb, ",\"bytes_changed\":%lld",
			    (long long)ev->bytes_changed);
	/* as cmd-watch.c writes it (checked): inserted as it is */
	if (check_ranges(ev->ranges) >= 0)
		strbuf_addf(sb, ",\"ranges\":%s", ev->ranges);
	if (ev->backend) {
		strbuf_addstr(sb, ",\"backend\":");
		json_add_string(sb, ev->backend, strlen(ev->backend));
	}
	if (ev->pid > 0 || ev->exe) {
		strbuf_addstr(sb, ",\"process\":{");
		if (ev->pid > 0)
			strbuf_addf(sb, "\"pid\":%lld", (long long)ev->pid);
		if (ev->exe) {
			if (ev->pid > 0)
				strbuf_addch(sb, ',');
			json_add_path(sb, "executable", ev->exe, ev->exelen);
		}
		if (ev->uid >= 0)
			strbuf_addf(sb, ",\"uid\":%lld", (long long)ev->uid);
		strbuf_addch(sb, '}');
	}
	if (ev->snap)
		strbuf_addf(sb, ",\"snapshot\":%lld", (long long)ev->snap);
	if (ev->detail) {
		strbuf_addstr(sb, ",\"detail\":");
		json_add_string(sb, ev->detail, strlen(ev->detail));
	}
	strbuf_addch(sb, '}');
}

static int event_fn(const struct store_event *ev, void *data)
{
	struct events_args *a = data;

	if (a->format == FMT_JSON)
		json_event(&a->sb, ev, !a->n);
	else
		text_event(&a->sb, ev);
	a->n++;
	if (a->sb.len > 65536) {
		fwrite(a->sb.buf, 1, a->sb.len, stdout);
		strbuf_reset(&a->sb);
	}
	return 0;
}

static int cmd_events_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct events_args a = { .format = FMT_TEXT };
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_events_entry, argc, argv, "", events_longopts,
			     events_opt, &a, &first, &nops, &dd)))
		return ret;
	if (nops || dd < argc) {
		error("events takes no operands");
		return cmd_usage(&cmd_events_entry, 0);
	}
	strbuf_init(&a.sb, 0);
	if (a.format == FMT_JSON)
		strbuf_addstr(&a.sb, "{\"fimscan\":1,\"events\":[");
	ret = store_events_foreach(ctx->st, a.after, a.since_ns, event_fn, &a);
	if (!ret && a.format == FMT_JSON)
		strbuf_addstr(&a.sb, a.n ? "\n]}\n" : "]}\n");
	if (!ret)
		fwrite(a.sb.buf, 1, a.sb.len, stdout);
	strbuf_release(&a.sb);
	return ret;
}

const struct cmd_entry cmd_events_entry = {
	.name = "events",
	.usage = "fimscan events [--since seq|time] [--format text|json]",
	.summary = "list what watch recorded",
	.options =
		"  --since SEQ|TIME    only events after sequence number SEQ, or\n"
		"                      from TIME on (UTC: 2026-11-21, or\n"
		"                      2026-11-21T20:00:00Z)\n"
		"  --format text|json  output format (default text)\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_events_exec,
};
