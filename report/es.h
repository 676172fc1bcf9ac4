/*
 * es.h: the Elasticsearch sink (report/es.c). `ship` sends the outbox to
 * _bulk; `es-setup` installs the templates and the Kibana dashboard.
 *
 * The contract it follows is ../shared/reference/elastic.md: create
 * actions with deterministic _ids (a resend is answered 409 and counts as
 * delivered), gzip, item-level acknowledgement, 413 splits the batch,
 * 429/5xx and network errors back off exponentially with jitter and
 * honour Retry-After, other item 4xx go to the dead letters, 401/403 stop.
 *
 * Security: TLS verification is always on (a CA file or a pinned key may
 * be given); plaintext http:// is refused unless insecure_http is set, and
 * then only to a loopback address, checked on the connected socket.
 * Redirects are never followed. Credentials come from files, never from
 * the command line or the URL, and are never printed.
 */
#ifndef FIMSCAN_ES_H
#define FIMSCAN_ES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"


struct es_options {
	const char *url;              /* base URL, https:// */
	const char *api_key_file;     /* API key ("id:key" or its base64) */
	const char *credentials_file; /* "user:password" for Basic auth */
	const char *ca_file;          /* PEM trust anchors, NULL: system's */
	const char *pinned_key;       /* sha256//BASE64;... or a key file */
	int insecure_http;            /* allow http:// to a loopback address */
	long connect_ms;              /* TCP + TLS handshake */
	long read_ms;                 /* longest wait for the next byte */
	long request_ms;              /* one whole request */
	size_t response_max;          /* bytes of a response body */
};

/* Defaults for the timeouts and the response cap (0 fields). */
void es_options_defaults(struct es_options *o);

struct es_client;

/*
 * Check the URL (scheme, loopback for http, no credentials in it), read
 * the credentials and set up the connection. EXIT_USAGE or EXIT_CONFIG
 * with a message when something is refused; nothing is sent yet.
 */
int es_client_new(struct es_client **out, const struct es_options *o);
void es_client_free(struct es_client *c);
/* The URL, without any credentials, for messages. */
const char *es_client_url(const struct es_client *c);

struct es_ship_options {
	const char *ns;          /* send every document to this namespace
				  * (data_stream.namespace is rewritten);
				  * NULL: each document's own */
	size_t batch_docs;       /* documents per request */
	size_t batch_bytes;      /* uncompressed bytes per request */
	long backoff_ms;         /* first retry delay */
	long backoff_max_ms;     /* longest retry delay */
	long stall_ms;           /* give up after this long without progress */
	int busy_ms;             /* wait for the store's write lock */
	int (*stop)(void);       /* nonzero: stop at the next safe point */
	/*
	 * For a daemon, which says once per outage what is wrong. When
	 * set, es_ship calls it with the reason instead of warning before
	 * each retry (final 0), and instead of the error when it gives up
	 * or is refused (final 1: it returns EXIT_REMOTE next); with -v
	 * each is a note as well. NULL: warnings and errors as `ship`.
	 */
	void (*trouble)(const char *why, int final, void *data);
	void *data;              /* for trouble() */
};
void es_ship_defaults(struct es_ship_options *o);

struct es_ship_stats {
	int64_t created;         /* item 201 */
	int64_t existed;         /* item 409: stored by an earlier attempt */
	int64_t dead;            /* refused for good: dead letters */
	int64_t retried;         /* item or request answers "try again" */
	int64_t requests;
	int64_t raw_bytes, wire_bytes;
};

/*
 * Deliver every document pending when it starts, oldest first. Returns 0
 * when each was acknowledged (delivered or dead-lettered); EXIT_REMOTE
 * when it gave up (credentials refused, TLS, no progress for stall_ms);
 * EXIT_INTERRUPTED when stop() said so; or a store error. Whatever was
 * not acknowledged stays pending.
 */
int es_ship(struct es_client *c, struct store *st,
	    const struct es_ship_options *o, struct es_ship_stats *stats);

/* ---- continuous shipping: the watch daemon (es-shipper.c) --------- */

/*
 * A thread that delivers the outbox of the store at `db` with es_ship():
 * soon after es_shipper_wake() says something was committed, and at
 * least every 10 s (for what other processes queue). It has a connection
 * of its own, whose only writes are the short transactions that settle a
 * batch; it waits as long as it takes for the write lock, so a long scan
 * delays it and the writer never fails because of it.
 *
 * While Elasticsearch cannot be reached or refuses for longer than
 * es-backoff-max, or a run gives up, it warns once for the outage, with
 * the reason, keeps every event in the outbox and tries again after
 * es-backoff, doubling to es-backoff-max, half random; wakes do not
 * hurry it then. When a run succeeds again it says so.
 *
 * One per process: es_ship's stop() takes no argument, so the stop flag
 * is the file's. `eo` and `so` are copied (their strings must outlive
 * the start only); so->stop, busy_ms, trouble and data are the
 * shipper's own. Every signal is blocked in the thread. 0, or an EXIT_*
 * with a message when the client or the store cannot be set up.
 */
struct es_shipper;
int es_shipper_start(struct es_shipper **out, const char *db,
		     const struct es_options *eo,
		     const struct es_ship_options *so);
/* Something was committed: ship it soon. Thread-safe; wakes coalesce. */
void es_shipper_wake(struct es_shipper *sh);
/*
 * Stop at the next safe point (a request in flight is abandoned, and so
 * is a wait for the write lock to settle a batch: what was not
 * acknowledged, or not settled, stays in the outbox, and a resend is
 * answered 409), join the thread, free everything. NULL does nothing.
 */
void es_shipper_stop(struct es_shipper *sh);

/*
 * Install the component template fimscan@mappings and the index template
 * logs-fimscan.events, and, when `kibana` is not NULL, import the
 * dashboard through Kibana's saved-objects API (overwrite: idempotent).
 * A line per step goes to `out` (NULL: nothing). 0 or EXIT_REMOTE.
 */
int es_setup(struct es_client *es, struct es_client *kibana, FILE *out);

/* The assets es_setup sends (share/, embedded at build time). */
extern const char es_asset_mappings[], es_asset_index_template[],
	es_asset_dashboard[];
extern const size_t es_asset_mappings_len, es_asset_index_template_len,
	es_asset_dashboard_len;

/* ---- pieces exposed for the unit tests ---------------------------- */

/* A namespace Elasticsearch accepts in a data stream name. */
int es_namespace_ok(const char *ns);

/* Is [p, p + len) exactly one JSON value (strict RFC 8259, UTF-8)? */
int es_json_valid(const char *p, size_t len);

enum es_fate { ES_CREATED = 1, ES_EXISTED, ES_RETRY, ES_DEAD };

struct es_bulk_item {
	int status;              /* the item's HTTP status */
	int fate;                /* enum es_fate */
	char id[128];            /* _id when the server sent it, else "" */
	char type[64];           /* error.type, truncated */
	char reason[256];        /* error.reason, truncated, raw UTF-8 */
};

/*
 * Parse a _bulk response for `n` create actions: strictly (any syntax
 * error, a missing status, an action other than create, or a number of
 * items other than n is -1: the outcome is ambiguous and the batch must be
 * resent). 0 with items[0..n) filled.
 */
int es_bulk_parse(const char *body, size_t len, struct es_bulk_item *items,
		  size_t n);

/*
 * The delay before retry number `attempt` (0 = the first): base doubling
 * up to max, with jitter from `rnd` (half fixed, half random), and never
 * less than what Retry-After asked for (retry_after_ms, -1: none; at most
 * an hour is honoured).
 */
long es_backoff_ms(unsigned attempt, long base_ms, long max_ms,
		   long retry_after_ms, uint64_t rnd);
/* Random bits for that jitter (xorshift seeded by getrandom). */
uint64_t es_jitter(void);
/* A Retry-After value (seconds or an HTTP date) in ms; -1 if invalid. */
long es_retry_after_ms(const char *value, int64_t now_s);

/*
 * Copy `doc` to `out` with the string value of data_stream.namespace
 * replaced by `ns`. -1 (out unchanged) when the document has none.
 */
int es_set_namespace(struct strbuf *out, const char *doc, size_t len,
		     const char *ns);

#endif
