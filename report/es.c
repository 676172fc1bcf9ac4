/*
 * es.c: the Elasticsearch sink (the contract is in es.h and
 * ../shared/reference/elastic.md).
 *
 * Sections:
 *   json       a small, strict JSON scanner (RFC 8259, UTF-8, bounded
 *              depth): it reads what servers send, so it trusts nothing
 *   bulk       the _bulk response: one fate per item
 *   backoff    exponential with jitter, Retry-After
 *   client     URL checks, credentials, TLS, one request
 *   ship       batches from the outbox: send, split, settle, retry
 *   setup      templates and the Kibana dashboard
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "report/es.h"
#include "report/report.h"

#define INDEX_PREFIX "logs-fimscan.events-"
#define SECRET_MAX 4096           /* larger is not a key file */
#define RETRY_AFTER_MAX_MS 3600000L
#define DEAD_PRINT_MAX 20         /* dead letters named per run */

/* ---- json ------------------------------------------------------------ */

#define JS_MAX_DEPTH 64
#define JS_KEY_MAX 64

struct js {
	const char *p, *end;
	int depth;
};

typedef int (*js_member_fn)(struct js *j, const char *key, size_t keylen,
			    void *data);
typedef int (*js_elem_fn)(struct js *j, size_t i, void *data);

static int js_skip(struct js *j);

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int js_peek(struct js *j)
{
	js_ws(j);
	return j->p < j->end ? (unsigned char)*j->p : -1;
}

static int js_lit(struct js *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return -1;
	j->p += n;
	return 0;
}

static int js_hex4(struct js *j, uint32_t *out)
{
	uint32_t v = 0;

	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hex_value((unsigned char)j->p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (uint32_t)h;
	}
	j->p += 4;
	*out = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at p (2..4 bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static size_t utf8_put(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | (cp >> 6 & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	b[0] = 0xf0 | cp >> 18;
	b[1] = 0x80 | (cp >> 12 & 0x3f);
	b[2] = 0x80 | (cp >> 6 & 0x3f);
	b[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/*
 * The string at j->p, decoded into out (NUL-terminated, whole characters
 * only, truncated to cap - 1 bytes; out may be NULL). *full is the length
 * it decodes to, truncated or not.
 */
static int js_string(struct js *j, char *out, size_t cap, size_t *full)
{
	size_t n = 0, w = 0;
	int room = out && cap;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	for (;;) {
		unsigned char b[4];
		size_t blen;
		unsigned char c;

		if (j->p >= j->end)
			return -1;
		c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			uint32_t cp, lo;

			if (j->end - j->p < 2)
				return -1;
			c = (unsigned char)j->p[1];
			j->p += 2;
			blen = 1;
			switch (c) {
			case '"': case '\\': case '/': b[0] = c; break;
			case 'b': b[0] = '\b'; break;
			case 'f': b[0] = '\f'; break;
			case 'n': b[0] = '\n'; break;
			case 'r': b[0] = '\r'; break;
			case 't': b[0] = '\t'; break;
			case 'u':
				if (js_hex4(j, &cp))
					return -1;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return -1;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (j->end - j->p < 2 || j->p[0] != '\\' ||
					    j->p[1] != 'u')
						return -1;
					j->p += 2;
					if (js_hex4(j, &lo) || lo < 0xdc00 ||
					    lo > 0xdfff)
						return -1;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
				}
				blen = utf8_put(cp, b);
				break;
			default:
				return -1;
			}
		} else if (c < 0x80) {
			b[0] = c;
			blen = 1;
			j->p++;
		} else {
			blen = utf8_seq((const unsigned char *)j->p,
					(const unsigned char *)j->end);
			if (!blen)
				return -1;
			memcpy(b, j->p, blen);
			j->p += blen;
		}
		if (room && w + blen < cap) {
			memcpy(out + w, b, blen);
			w += blen;
		} else {
			room = 0;
		}
		n += blen;
	}
	if (out && cap)
		out[w] = '\0';
	if (full)
		*full = n;
	return 0;
}

/*
 * A number; *iv gets its value and *integral 1 when it is an integer
 * that fits comfortably (at most 18 digits).
 */
static int js_number(struct js *j, long long *iv, int *integral)
{
	const char *p = j->p, *digits;
	int neg = 0, whole = 1;
	long long v = 0;

	if (p < j->end && *p == '-') {
		neg = 1;
		p++;
	}
	digits = p;
	if (p < j->end && *p == '0') {
		p++;
	} else if (p < j->end && *p >= '1' && *p <= '9') {
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return -1;
	}
	if (p - digits > 18)
		whole = 0;
	else
		for (const char *d = digits; d < p; d++)
			v = v * 10 + (*d - '0');
	if (p < j->end && *p == '.') {
		p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return -1;
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
		whole = 0;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return -1;
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
		whole = 0;
	}
	j->p = p;
	if (iv)
		*iv = neg ? -v : v;
	if (integral)
		*integral = whole;
	return 0;
}

/* An object; fn (NULL: skip) must consume each member's value. */
static int js_object(struct js *j, js_member_fn fn, void *data)
{
	if (js_peek(j) != '{' || ++j->depth > JS_MAX_DEPTH)
		return -1;
	j->p++;
	if (js_peek(j) == '}') {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		char key[JS_KEY_MAX];
		size_t klen;
		int c;

		if (js_peek(j) != '"' || js_string(j, key, sizeof(key), &klen))
			return -1;
		if (js_peek(j) != ':')
			return -1;
		j->p++;
		js_ws(j);
		if (klen >= sizeof(key))
			klen = sizeof(key);   /* never equal to a known key */
		if (fn ? fn(j, key, klen, data) : js_skip(j))
			return -1;
		c = js_peek(j);
		j->p++;
		if (c == '}')
			break;
		if (c != ',')
			return -1;
	}
	j->depth--;
	return 0;
}

static int js_array(struct js *j, js_elem_fn fn, void *data)
{
	size_t i = 0;

	if (js_peek(j) != '[' || ++j->depth > JS_MAX_DEPTH)
		return -1;
	j->p++;
	if (js_peek(j) == ']') {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		int c;

		js_ws(j);
		if (fn ? fn(j, i++, data) : js_skip(j))
			return -1;
		c = js_peek(j);
		j->p++;
		if (c == ']')
			break;
		if (c != ',')
			return -1;
	}
	j->depth--;
	return 0;
}

static int js_skip(struct js *j)
{
	switch (js_peek(j)) {
	case '{':
		return js_object(j, NULL, NULL);
	case '[':
		return js_array(j, NULL, NULL);
	case '"':
		return js_string(j, NULL, 0, NULL);
	case 't':
		return js_lit(j, "true");
	case 'f':
		return js_lit(j, "false");
	case 'n':
		return js_lit(j, "null");
	case -1:
		return -1;
	default:
		return js_number(j, NULL, NULL);
	}
}

static int key_is(const char *key, size_t klen, const char *name)
{
	return klen == strlen(name) && !memcmp(key, name, klen);
}

/* true/false into *v. */
static int js_bool(struct js *j, int *v)
{
	int c = js_peek(j);

	*v = c == 't';
	return c == 't' ? js_lit(j, "true") : js_lit(j, "false");
}

/* A string member into a buffer; any other value is skipped. */
static int js_string_or_skip(struct js *j, char *out, size_t cap)
{
	if (js_peek(j) != '"')
		return js_skip(j);
	return js_string(j, out, cap, NULL);
}

int es_json_valid(const char *p, size_t len)
{
	struct js j = { p, p + len, 0 };

	if (js_skip(&j))
		return 0;
	js_ws(&j);
	return j.p == j.end;
}

/* "error": {"type": ..., "reason": ...}, as ES answers failures. */
struct js_error {
	char type[64];
	char reason[256];
};

static int error_member(struct js *j, const char *key, size_t klen,
			void *data)
{
	struct js_error *e = data;

	if (key_is(key, klen, "type"))
		return js_string_or_skip(j, e->type, sizeof(e->type));
	if (key_is(key, klen, "reason"))
		return js_string_or_skip(j, e->reason, sizeof(e->reason));
	return js_skip(j);
}

static int error_top(struct js *j, const char *key, size_t klen, void *data)
{
	struct js_error *e = data;

	if (!key_is(key, klen, "error"))
		return js_skip(j);
	if (js_peek(j) == '"')
		return js_string(j, e->reason, sizeof(e->reason), NULL);
	if (js_peek(j) == '{')
		return js_object(j, error_member, e);
	return js_skip(j);
}

/* error.type and error.reason of an error body (empty when absent). */
static void body_error(const char *body, size_t len, struct js_error *e)
{
	struct js j = { body, body + len, 0 };

	memset(e, 0, sizeof(*e));
	if (js_object(&j, error_top, e))
		memset(e, 0, sizeof(*e));
}

/* ---- bulk ------------------------------------------------------------ */

struct bulk {
	struct es_bulk_item *items;
	size_t n, k;
	int have_items;
	int seen;                 /* keys in the current item */
};

static int item_fate(int status)
{
	if (status == 200 || status == 201)
		return ES_CREATED;
	if (status == 409)
		return ES_EXISTED;
	if (status == 429 || (status >= 500 && status <= 599))
		return ES_RETRY;
	if (status >= 400 && status <= 499)
		return ES_DEAD;
	return 0;
}

static int bulk_error_member(struct js *j, const char *key, size_t klen,
			     void *data)
{
	struct es_bulk_item *it = data;

	if (key_is(key, klen, "type"))
		return js_string_or_skip(j, it->type, sizeof(it->type));
	if (key_is(key, klen, "reason"))
		return js_string_or_skip(j, it->reason, sizeof(it->reason));
	return js_skip(j);
}

static int bulk_result(struct js *j, const char *key, size_t klen,
		       void *data)
{
	struct es_bulk_item *it = data;

	if (key_is(key, klen, "status")) {
		long long v;
		int whole;
		if (js_peek(j) == '"' || js_number(j, &v, &whole) || !whole ||
		    v < 100 || v > 599)
			return -1;
		it->status = (int)v;
		return 0;
	}
	if (key_is(key, klen, "_id")) {
		size_t full;
		if (js_peek(j) != '"' ||
		    js_string(j, it->id, sizeof(it->id), &full))
			return -1;
		/* An id we cannot hold whole cannot be compared. */
		return full >= sizeof(it->id) ? -1 : 0;
	}
	if (key_is(key, klen, "error")) {
		if (js_peek(j) == '{')
			return js_object(j, bulk_error_member, it);
		return js_string_or_skip(j, it->reason, sizeof(it->reason));
	}
	return js_skip(j);
}

static int bulk_action(struct js *j, const char *key, size_t klen,
		       void *data)
{
	struct bulk *b = data;

	/* Exactly one action per item, and we only send create. */
	if (b->seen++ || !key_is(key, klen, "create") || js_peek(j) != '{')
		return -1;
	return js_object(j, bulk_result, &b->items[b->k]);
}

static int bulk_elem(struct js *j, size_t i, void *data)
{
	struct bulk *b = data;
	struct es_bulk_item *it;

	(void)i;
	if (b->k >= b->n || js_peek(j) != '{')
		return -1;
	it = &b->items[b->k];
	memset(it, 0, sizeof(*it));
	b->seen = 0;
	if (js_object(j, bulk_action, b) || b->seen != 1)
		return -1;
	if (!it->status || !(it->fate = item_fate(it->status)))
		return -1;
	b->k++;
	return 0;
}

static int bulk_top(struct js *j, const char *key, size_t klen, void *data)
{
	struct bulk *b = data;

	if (key_is(key, klen, "items")) {
		if (b->have_items++)
			return -1;
		return js_array(j, bulk_elem, b);
	}
	if (key_is(key, klen, "errors")) {
		int v;
		return js_bool(j, &v);
	}
	return js_skip(j);
}

int es_bulk_parse(const char *body, size_t len, struct es_bulk_item *items,
		  size_t n)
{
	struct bulk b = { .items = items, .n = n };
	struct js j = { body, body + len, 0 };

	if (!body || js_object(&j, bulk_top, &b))
		return -1;
	js_ws(&j);
	if (j.p != j.end || !b.have_items || b.k != n)
		return -1;
	return 0;
}

/* data_stream.namespace: where its string value is. */
struct ns_find {
	const char *start, *end;
	int found;
};

static int ns_member(struct js *j, const char *key, size_t klen, void *data)
{
	struct ns_find *f = data;

	if (!key_is(key, klen, "namespace") || js_peek(j) != '"')
		return js_skip(j);
	f->start = j->p;
	if (js_string(j, NULL, 0, NULL))
		return -1;
	f->end = j->p;
	f->found++;
	return 0;
}

static int ns_top(struct js *j, const char *key, size_t klen, void *data)
{
	if (!key_is(key, klen, "data_stream") || js_peek(j) != '{')
		return js_skip(j);
	return js_object(j, ns_member, data);
}

int es_set_namespace(struct strbuf *out, const char *doc, size_t len,
		     const char *ns)
{
	struct ns_find f = { 0 };
	struct js j = { doc, doc + len, 0 };

	if (js_object(&j, ns_top, &f) || f.found != 1)
		return -1;
	js_ws(&j);
	if (j.p != j.end)
		return -1;
	strbuf_reset(out);
	strbuf_add(out, doc, f.start - doc);
	json_add_string(out, ns, strlen(ns));
	strbuf_add(out, f.end, doc + len - f.end);
	return 0;
}

int es_namespace_ok(const char *ns)
{
	size_t n = strlen(ns);

	/* As `report --namespace`: lowercase letters, digits and '_', at
	 * most 100 bytes ('-' separates the parts of the stream name). */
	return n && n <= 100 &&
	       strspn(ns, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* ---- backoff --------------------------------------------------------- */

long es_backoff_ms(unsigned attempt, long base_ms, long max_ms,
		   long retry_after_ms, uint64_t rnd)
{
	long d = base_ms > 0 ? base_ms : 1, half, w;

	if (max_ms < d)
		max_ms = d;
	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d = d > max_ms / 2 ? max_ms : d * 2;
	/* Half fixed, half random: retries of many hosts spread out, and
	 * no retry comes sooner than half the schedule. */
	half = d / 2;
	w = d - half + (long)(rnd % (uint64_t)(half + 1));
	if (retry_after_ms > RETRY_AFTER_MAX_MS)
		retry_after_ms = RETRY_AFTER_MAX_MS;
	return retry_after_ms > w ? retry_after_ms : w;
}

long es_retry_after_ms(const char *value, int64_t now_s)
{
	const char *p = value;
	long long v = 0;
	size_t n = 0;
	time_t t;

	while (*p == ' ' || *p == '\t')
		p++;
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	if (n) {
		const char *q = p + n;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q)
			return -1;
		if (n > 9)
			return RETRY_AFTER_MAX_MS;
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (p[i] - '0');
		return v * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS
						      : (long)(v * 1000);
	}
	if (!*p)
		return -1;
	t = curl_getdate(p, NULL);
	if (t == -1)
		return -1;
	if (t <= now_s)
		return 0;
	if (t - now_s > RETRY_AFTER_MAX_MS / 1000)
		return RETRY_AFTER_MAX_MS;
	return (long)(t - now_s) * 1000;
}

uint64_t es_jitter(void)
{
	/* per thread: `ship` and the watch daemon's shipper each have one */
	static _Thread_local uint64_t x;

	if (!x) {
		if (getrandom(&x, sizeof(x), 0) != sizeof(x))
			x = (uint64_t)now_ns() ^ (uint64_t)getpid() << 32;
		x |= 1;
	}
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* ---- client ---------------------------------------------------------- */

enum { REQ_OK = 0, REQ_NET = -1, REQ_FATAL = -2 };

struct es_client {
	CURL *curl;
	char *url;                /* base URL, no trailing '/' */
	int http;                 /* plaintext to loopback (insecure-http) */
	struct es_options o;
	char *ca_file, *pinned;
	char *auth;               /* "Authorization: ApiKey ..." */
	char *user, *password;    /* Basic */
	char errbuf[CURL_ERROR_SIZE];
	struct strbuf err;        /* the last request's failure */
	/* the last response */
	long status;
	struct strbuf body;
	int too_big;
	char retry_after[64];
	int product;              /* X-Elastic-Product: Elasticsearch */
	char location[256];
	/* the read timeout: the last time a byte went either way */
	int64_t active_ns;
	curl_off_t seen_down, seen_up;
	int idle;
	int (*stop)(void);        /* es_ship's: abort a request to stop */
};

void es_options_defaults(struct es_options *o)
{
	if (!o->connect_ms)
		o->connect_ms = 10000;
	if (!o->read_ms)
		o->read_ms = 60000;
	if (!o->request_ms)
		o->request_ms = 300000;
	if (!o->response_max)
		o->response_max = 64u << 20;
}

void es_ship_defaults(struct es_ship_options *o)
{
	if (!o->batch_docs)
		o->batch_docs = 2000;
	if (!o->batch_bytes)
		o->batch_bytes = 8u << 20;
	if (!o->backoff_ms)
		o->backoff_ms = 1000;
	if (!o->backoff_max_ms)
		o->backoff_max_ms = 60000;
	if (!o->stall_ms)
		o->stall_ms = 300000;
	if (!o->busy_ms)
		o->busy_ms = 60000;
}

static void secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void sb_secret_release(struct strbuf *sb)
{
	if (sb->alloc)
		explicit_bzero(sb->buf, sb->alloc);
	strbuf_release(sb);
}

/*
 * A one-line secret from a file. Never printed: messages name the file.
 */
static int read_secret(const char *path, const char *what, struct strbuf *out)
{
	char buf[512];
	struct stat s;
	ssize_t r;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		error("cannot open the %s %s: %s", what,
		      escaped(path, strlen(path)), strerror(errno));
		return EXIT_CONFIG;
	}
	if (fstat(fd, &s) || !S_ISREG(s.st_mode) || s.st_size > SECRET_MAX) {
		error("the %s %s is not a small regular file", what,
		      escaped(path, strlen(path)));
		close(fd);
		return EXIT_CONFIG;
	}
	if (s.st_mode & 077)
		warning("the %s %s can be read or changed by other users: "
			"chmod 600 it", what, escaped(path, strlen(path)));
	while ((r = read(fd, buf, sizeof(buf))) > 0 && out->len <= SECRET_MAX)
		strbuf_add(out, buf, r);
	explicit_bzero(buf, sizeof(buf));
	if (r < 0) {
		error("cannot read the %s %s: %s", what,
		      escaped(path, strlen(path)), strerror(errno));
		ret = EXIT_CONFIG;
	}
	close(fd);
	if (ret)
		return ret;
	while (out->len && (out->buf[out->len - 1] == '\n' ||
			    out->buf[out->len - 1] == '\r' ||
			    out->buf[out->len - 1] == ' ' ||
			    out->buf[out->len - 1] == '\t'))
		out->len--;
	out->buf[out->len] = '\0';
	if (!out->len) {
		error("the %s %s is empty", what, escaped(path, strlen(path)));
		return EXIT_CONFIG;
	}
	/* One line of printable characters: nothing can end a header. */
	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = out->buf[i];
		if (c < 0x20 || c == 0x7f) {
			error("the %s %s must hold one line of printable "
			      "characters", what, escaped(path, strlen(path)));
			return EXIT_CONFIG;
		}
	}
	return 0;
}

static int load_api_key(struct es_client *c, const char *path)
{
	struct strbuf key = STRBUF_INIT, hdr = STRBUF_INIT;
	int ret;

	if ((ret = read_secret(path, "API key file", &key)))
		goto out;
	for (size_t i = 0; i < key.len; i++) {
		if (key.buf[i] == ' ') {
			error("the API key file %s must hold the key alone "
			      "(id:key, or its base64 \"encoded\" form)",
			      escaped(path, strlen(path)));
			ret = EXIT_CONFIG;
			goto out;
		}
	}
	strbuf_addstr(&hdr, "Authorization: ApiKey ");
	/* "id:key" as Elasticsearch returned it, or already encoded. */
	if (memchr(key.buf, ':', key.len))
		base64_add(&hdr, key.buf, key.len);
	else
		strbuf_add(&hdr, key.buf, key.len);
	c->auth = strbuf_detach(&hdr, NULL);
out:
	sb_secret_release(&key);
	sb_secret_release(&hdr);
	return ret;
}

static int load_credentials(struct es_client *c, const char *path)
{
	struct strbuf cred = STRBUF_INIT;
	char *colon;
	int ret;

	if ((ret = read_secret(path, "credentials file", &cred)))
		goto out;
	colon = memchr(cred.buf, ':', cred.len);
	if (!colon || colon == cred.buf || colon == cred.buf + cred.len - 1) {
		error("the credentials file %s must hold one line "
		      "user:password", escaped(path, strlen(path)));
		ret = EXIT_CONFIG;
		goto out;
	}
	c->user = xmemdup(cred.buf, colon - cred.buf);
	c->password = xstrdup(colon + 1);
out:
	sb_secret_release(&cred);
	return ret;
}

static int loopback_name(const char *host)
{
	unsigned a, b, cc, d;
	char end;

	if (!strcmp(host, "localhost") || !strcmp(host, "[::1]") ||
	    !strcmp(host, "::1"))
		return 1;
	return sscanf(host, "%3u.%3u.%3u.%3u%c", &a, &b, &cc, &d, &end) == 4 &&
	       a == 127 && b < 256 && cc < 256 && d < 256;
}

static int loopback_ip(const char *ip)
{
	if (!strncmp(ip, "::ffff:", 7))
		ip += 7;
	return !strcmp(ip, "::1") || loopback_name(ip);
}

/* Plaintext may only ever reach this machine: check the socket. */
static int prereq_loopback(void *data, char *primary_ip, char *local_ip,
			   int primary_port, int local_port)
{
	struct es_client *c = data;

	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (loopback_ip(primary_ip))
		return CURL_PREREQFUNC_OK;
	strbuf_reset(&c->err);
	strbuf_addf(&c->err, "plaintext http is only allowed to a loopback "
		    "address, and %s is not one", escaped(primary_ip,
							   strlen(primary_ip)));
	return CURL_PREREQFUNC_ABORT;
}

static int check_url(struct es_client *c, const char *url, int insecure)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *pw = NULL,
	     *query = NULL, *frag = NULL, *full = NULL;
	const char *shown = escaped(url, strlen(url));
	CURLUcode rc;
	int ret = EXIT_USAGE;
	size_t n;

	if (!u)
		die("out of memory");
	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0))) {
		error("bad URL '%s': %s", shown, curl_url_strerror(rc));
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pw, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	if (user || pw) {
		/* Not even the URL is printed: it holds a password. */
		error("credentials in the URL are refused (they would show in "
		      "the process list and in messages): put them in a file "
		      "named by es-api-key-file or es-credentials-file");
		goto out;
	}
	if (query || frag) {
		error("the URL '%s' must not have a query or a fragment", shown);
		goto out;
	}
	if (!scheme || !host) {
		error("bad URL '%s': give https://HOST[:PORT]", shown);
		goto out;
	}
	if (!strcmp(scheme, "http")) {
		if (!insecure) {
			error("refusing plaintext %s: use https:// (for a test "
			      "against this machine only, set "
			      "'es-insecure-http = yes' in the config)", shown);
			goto out;
		}
		if (!loopback_name(host)) {
			error("refusing plaintext %s: es-insecure-http only "
			      "allows a loopback address (127.0.0.1, ::1, "
			      "localhost)", shown);
			goto out;
		}
		warning("INSECURE: sending to %s over plaintext HTTP without "
			"TLS (es-insecure-http = yes); for tests on this "
			"machine only", shown);
		c->http = 1;
	} else if (strcmp(scheme, "https")) {
		error("refusing URL '%s': only https:// is supported", shown);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, &full, 0) || !full) {
		error("bad URL '%s'", shown);
		goto out;
	}
	n = strlen(full);
	while (n && full[n - 1] == '/')
		n--;
	c->url = xmemdup(full, n);
	ret = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	if (pw)
		explicit_bzero(pw, strlen(pw));
	curl_free(pw);
	curl_free(query);
	curl_free(frag);
	curl_free(full);
	curl_url_cleanup(u);
	return ret;
}

int es_client_new(struct es_client **out, const struct es_options *opt)
{
	static int global;
	struct es_client *c = xcalloc(1, sizeof(*c));
	int ret;

	*out = NULL;
	c->o = *opt;
	es_options_defaults(&c->o);
	strbuf_init(&c->err, 0);
	strbuf_init(&c->body, 0);
	if (!global) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			die("cannot initialize libcurl");
		global = 1;
	}
	if (!opt->url || !*opt->url) {
		error("no Elasticsearch URL: give --es-url, or set "
		      "'elasticsearch' in the config");
		ret = EXIT_USAGE;
		goto fail;
	}
	if ((ret = check_url(c, opt->url, opt->insecure_http)))
		goto fail;
	if (opt->api_key_file && opt->credentials_file) {
		error("give either an API key file or a credentials file, "
		      "not both");
		ret = EXIT_USAGE;
		goto fail;
	}
	if (opt->api_key_file && (ret = load_api_key(c, opt->api_key_file)))
		goto fail;
	if (opt->credentials_file &&
	    (ret = load_credentials(c, opt->credentials_file)))
		goto fail;
	if (opt->ca_file) {
		if (access(opt->ca_file, R_OK)) {
			error("cannot read the CA file %s: %s",
			      escaped(opt->ca_file, strlen(opt->ca_file)),
			      strerror(errno));
			ret = EXIT_CONFIG;
			goto fail;
		}
		c->ca_file = xstrdup(opt->ca_file);
	}
	if (opt->pinned_key)
		c->pinned = xstrdup(opt->pinned_key);
	if (c->http && (c->ca_file || c->pinned))
		warning("es-ca-file and es-pinned-key do nothing without TLS");
	if (!(c->curl = curl_easy_init()))
		die("cannot initialize libcurl");
	*out = c;
	return 0;
fail:
	es_client_free(c);
	return ret;
}

void es_client_free(struct es_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->url);
	free(c->ca_file);
	free(c->pinned);
	secret_free(c->auth);
	secret_free(c->user);
	secret_free(c->password);
	strbuf_release(&c->err);
	strbuf_release(&c->body);
	free(c);
}

const char *es_client_url(const struct es_client *c)
{
	return c->url;
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct es_client *c = data;
	size_t len = size * n;

	if (c->body.len + len > c->o.response_max) {
		c->too_big = 1;
		return 0;        /* aborts the transfer */
	}
	strbuf_add(&c->body, p, len);
	return len;
}

/* Copy a header's value, trimmed, if the line is "name: value". */
static int header_value(const char *p, size_t len, const char *name,
			char *out, size_t cap)
{
	size_t n = strlen(name), i, e;

	if (len <= n || strncasecmp(p, name, n) || p[n] != ':')
		return 0;
	for (i = n + 1; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	for (e = len; e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' ||
				p[e - 1] == ' ' || p[e - 1] == '\t'); e--)
		;
	if (e - i >= cap)
		e = i + cap - 1;
	memcpy(out, p + i, e - i);
	out[e - i] = '\0';
	return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *data)
{
	struct es_client *c = data;
	size_t len = size * n;
	char v[64];

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		/* a new response (after 100 Continue, say) */
		c->retry_after[0] = '\0';
		c->location[0] = '\0';
		c->product = 0;
	} else if (header_value(p, len, "retry-after", c->retry_after,
				sizeof(c->retry_after))) {
		;
	} else if (header_value(p, len, "x-elastic-product", v, sizeof(v))) {
		c->product = !strcmp(v, "Elasticsearch");
	} else {
		header_value(p, len, "location", c->location,
			     sizeof(c->location));
	}
	return len;
}

/*
 * The read timeout: abort when no byte moved either way for read_ms.
 * (curl's low-speed limit averages over seconds, so a request that sent
 * its body at once would wait several read timeouts for the answer.)
 */
static int on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct es_client *c = data;
	int64_t now = now_ns();

	(void)dltotal;
	(void)ultotal;
	if (c->stop && c->stop())
		return 1;         /* the answer would be resent anyway */
	if (dlnow != c->seen_down || ulnow != c->seen_up || !c->active_ns) {
		c->seen_down = dlnow;
		c->seen_up = ulnow;
		c->active_ns = now;
		return 0;
	}
	if (now - c->active_ns > (int64_t)c->o.read_ms * 1000000) {
		c->idle = 1;
		return 1;
	}
	return 0;
}

static void set_common(struct es_client *c)
{
	CURL *h = c->curl;

	curl_easy_reset(h);   /* keeps the connection and TLS sessions */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->http ? "http" : "https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->pinned)
		curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->pinned);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->o.connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.request_ms);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "fimscan/" FIMSCAN_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)c->o.response_max);
	curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	if (c->http) {
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, prereq_loopback);
		curl_easy_setopt(h, CURLOPT_PREREQDATA, c);
	}
	if (c->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
}

static int tls_refusal(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_CIPHER:
		return 1;
	default:
		return 0;
	}
}

/*
 * One request. REQ_OK: an HTTP answer is in c->status, c->body;
 * REQ_NET: no (complete) answer, worth retrying; REQ_FATAL: refused
 * here (TLS verification, a plaintext connection off this machine).
 * c->err says why for the last two.
 */
static int request(struct es_client *c, const char *method, const char *path,
		   const char *const *headers, const void *body, size_t len,
		   curl_mime *mime)
{
	struct curl_slist *hl = NULL;
	struct strbuf url = STRBUF_INIT;
	CURLcode rc;

	set_common(c);
	strbuf_addstr(&url, c->url);
	strbuf_addstr(&url, path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url.buf);
	if (!strcmp(method, "GET")) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	} else if (mime) {
		curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, mime);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, len ? body : "");
		if (strcmp(method, "POST"))
			curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	/* No "Expect: 100-continue": one round trip less per batch. */
	hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (c->auth)
		hl = curl_slist_append(hl, c->auth);
	if (!hl)
		die("out of memory");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hl);

	strbuf_reset(&c->body);
	strbuf_reset(&c->err);
	c->too_big = 0;
	c->status = 0;
	c->errbuf[0] = '\0';
	c->retry_after[0] = '\0';
	c->location[0] = '\0';
	c->product = 0;
	c->active_ns = 0;
	c->seen_down = c->seen_up = 0;
	c->idle = 0;
	rc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	strbuf_release(&url);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
		return REQ_OK;
	}
	if (c->err.len)          /* the loopback check said why */
		return REQ_FATAL;
	if (c->idle) {
		strbuf_addf(&c->err, "no answer for %ld ms (es-read-timeout)",
			    c->o.read_ms);
		return REQ_NET;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK && c->stop && c->stop()) {
		strbuf_addstr(&c->err, "interrupted");
		return REQ_NET;
	}
	if (c->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		strbuf_addf(&c->err, "the answer is larger than %zu bytes",
			    c->o.response_max);
		return REQ_NET;
	}
	strbuf_addstr(&c->err, curl_easy_strerror(rc));
	if (c->errbuf[0] && strcmp(c->errbuf, curl_easy_strerror(rc))) {
		strbuf_addstr(&c->err, ": ");
		strbuf_add_escaped(&c->err, c->errbuf, strlen(c->errbuf));
	}
	if (tls_refusal(rc) || rc == CURLE_UNSUPPORTED_PROTOCOL ||
	    rc == CURLE_URL_MALFORMAT) {
		strbuf_addstr(&c->err, " (refused: the connection is not "
			      "trusted; see es-ca-file and es-pinned-key)");
		return REQ_FATAL;
	}
	return REQ_NET;
}

/* "401 security_exception: reason" from the last answer, into sb. */
static void describe_answer(struct es_client *c, struct strbuf *sb)
{
	struct js_error e;

	body_error(c->body.buf, c->body.len, &e);
	strbuf_addf(sb, "HTTP %ld", c->status);
	if (e.type[0]) {
		strbuf_addch(sb, ' ');
		strbuf_add_escaped(sb, e.type, strlen(e.type));
	}
	if (e.reason[0]) {
		strbuf_addstr(sb, ": ");
		strbuf_add_escaped(sb, e.reason, strlen(e.reason));
	}
}

/* The answer's Retry-After in ms, -1 when it had none. */
static long answer_retry_after(struct es_client *c)
{
	if (!c->retry_after[0])
		return -1;
	return es_retry_after_ms(c->retry_after, (int64_t)time(NULL));
}

/* Why an answer ends the run (401, redirects, ...), into out. */
static void fatal_why(struct es_client *c, const char *what,
		      struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;

	describe_answer(c, &sb);
	if (c->status == 401 || c->status == 403)
		strbuf_addf(out, "%s: %s refused the credentials (%s): check "
			    "the API key or credentials file and its "
			    "privileges", what, c->url, sb.buf);
	else if (c->status >= 300 && c->status < 400)
		strbuf_addf(out, "%s: %s answered with a redirect (%s%s%s), "
			    "which is not followed (it could carry the "
			    "credentials elsewhere): give the final URL", what,
			    c->url, sb.buf, c->location[0] ? " to " : "",
			    escaped(c->location, strlen(c->location)));
	else
		strbuf_addf(out, "%s: %s answered %s", what, c->url, sb.buf);
	strbuf_release(&sb);
}

static void fatal_answer(struct es_client *c, const char *what)
{
	struct strbuf sb = STRBUF_INIT;

	fatal_why(c, what, &sb);
	error("%s", sb.buf);
	strbuf_release(&sb);
}

/* gzip `len` bytes into out (replacing it) with the stream *z. */
static int gzip_body(z_stream *z, int *ready, const char *p, size_t len,
		     struct strbuf *out)
{
	uLong bound;

	if (!*ready) {
		memset(z, 0, sizeof(*z));
		/* 15 + 16: a gzip wrapper; level 1: NDJSON still shrinks
		 * about eight times, at a few hundred MB/s. */
		if (deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			die("cannot initialize zlib");
		*ready = 1;
	} else if (deflateReset(z) != Z_OK) {
		return -1;
	}
	bound = deflateBound(z, len);
	strbuf_reset(out);
	strbuf_grow(out, bound);
	z->next_in = (Bytef *)p;
	z->avail_in = (uInt)len;
	z->next_out = (Bytef *)out->buf;
	z->avail_out = (uInt)bound;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return -1;
	strbuf_setlen(out, z->total_out);
	return 0;
}

/* ---- ship ------------------------------------------------------------ */

struct entry {
	int64_t seq;
	size_t off, len;          /* action + document lines in raw */
	size_t idoff;             /* its _id in ids */
};

struct range { size_t lo, hi; };

/*
 * A batch read from the outbox, ready to send: NDJSON and its gzip. The
 * next batch is read and compressed by a helper thread while this one is
 * on the wire (the store connection is used by one thread at a time:
 * the main thread joins the helper before it touches the store).
 */
struct batch {
	struct store *st;
	const struct es_ship_options *o;
	int64_t upto;
	int64_t after;            /* read from seq > after */
	int64_t last_seq;         /* the last seq read (after: none) */
	int ret;                  /* the read's status */
	struct strbuf raw;        /* the batch as NDJSON */
	struct strbuf ids;        /* _ids, NUL-terminated, one per entry */
	struct strbuf doc;        /* a document with its namespace changed */
	struct strbuf gz;         /* raw, compressed */
	struct entry *v;
	size_t n, alloc;
	int64_t *bad;             /* seqs refused here (not one JSON line) */
	size_t nbad, bad_alloc;
	z_stream z;
	int z_ready;
};

struct ship {
	struct es_client *c;
	struct store *st;
	const struct es_ship_options *o;
	struct es_ship_stats *stats;
	struct batch b[2];
	struct batch *cur;        /* being sent */
	struct batch *next;       /* read ahead */
	pthread_t helper;
	int reading;              /* the helper thread is running */
	int have_next;            /* next holds the batch after cur */
	struct strbuf slice;      /* gzip of part of a batch (413) */
	struct strbuf why;        /* dead-letter reasons, NUL-separated */
	struct es_bulk_item *items;
	size_t items_alloc;
	struct outbox_settle *set;
	size_t set_alloc;
	size_t *whyoff;           /* each dead item's reason in `why` */
	size_t whyoff_alloc;
	int64_t first_retry;      /* lowest seq answered "retry", 0: none */
	long retry_after_ms;      /* from the last answer, -1: none */
	unsigned attempt;         /* consecutive retries */
	int64_t progress_ns;      /* when something was last settled */
	int64_t dead_printed;
	struct strbuf why_retry;  /* for the message before a wait */
};

static int add_doc(const struct outbox_doc *d, void *data)
{
	struct batch *b = data;
	const char *doc = d->doc, *ns = d->ns;
	size_t len = d->len;
	struct entry *e;

	if (b->n && b->raw.len + len + 128 > b->o->batch_bytes)
		return 1;         /* full: it starts the next batch */
	if (b->o->ns && strcmp(ns, b->o->ns) &&
	    !es_set_namespace(&b->doc, doc, len, b->o->ns)) {
		doc = b->doc.buf;
		len = b->doc.len;
		ns = b->o->ns;
	}
	b->last_seq = d->seq;
	/* A document that is not one line of JSON would break the framing
	 * of the whole request: it never leaves the host. */
	if (!len || doc[0] != '{' || memchr(doc, '\n', len) ||
	    !es_namespace_ok(ns) || !es_json_valid(doc, len)) {
		ALLOC_GROW(b->bad, b->nbad + 1, b->bad_alloc);
		b->bad[b->nbad++] = d->seq;
		return 0;
	}
	ALLOC_GROW(b->v, b->n + 1, b->alloc);
	e = &b->v[b->n++];
	e->seq = d->seq;
	e->off = b->raw.len;
	e->idoff = b->ids.len;
	strbuf_add(&b->ids, d->id, strlen(d->id) + 1);
	strbuf_addstr(&b->raw, "{\"create\":{\"_index\":\"" INDEX_PREFIX);
	strbuf_addstr(&b->raw, ns);
	strbuf_addstr(&b->raw, "\",\"_id\":");
	json_add_string(&b->raw, d->id, strlen(d->id));
	strbuf_addstr(&b->raw, "}}\n");
	strbuf_add(&b->raw, doc, len);
	strbuf_addch(&b->raw, '\n');
	e->len = b->raw.len - e->off;
	return 0;
}

/* Read the batch after `after` and compress it. */
static void batch_fill(struct batch *b, int64_t after)
{
	strbuf_reset(&b->raw);
	strbuf_reset(&b->ids);
	strbuf_reset(&b->gz);
	b->n = 0;
	b->nbad = 0;
	b->after = after;
	b->last_seq = after;
	b->ret = store_outbox_read(b->st, after, b->upto, b->o->batch_docs,
				   add_doc, b);
	if (!b->ret && b->n &&
	    gzip_body(&b->z, &b->z_ready, b->raw.buf, b->raw.len, &b->gz))
		die("gzip failed");
}

static void batch_release(struct batch *b)
{
	strbuf_release(&b->raw);
	strbuf_release(&b->ids);
	strbuf_release(&b->doc);
	strbuf_release(&b->gz);
	free(b->v);
	free(b->bad);
	if (b->z_ready)
		deflateEnd(&b->z);
}

static void *helper_main(void *data)
{
	struct ship *s = data;

	batch_fill(s->next, s->cur->last_seq);
	return NULL;
}

/* Read the batch after cur in the background. */
static void read_ahead(struct ship *s)
{
	s->have_next = 0;
	if (s->cur->last_seq >= s->next->upto)
		return;
	if (!pthread_create(&s->helper, NULL, helper_main, s))
		s->reading = s->have_next = 1;
}

/* The store is the main thread's again (call before touching it). */
static void store_mine(struct ship *s)
{
	if (s->reading) {
		pthread_join(s->helper, NULL);
		s->reading = 0;
	}
}

static void dead_message(struct ship *s, int64_t seq, const char *id,
			 int status, const char *reason)
{
	struct strbuf sb = STRBUF_INIT;

	if (s->dead_printed++ < DEAD_PRINT_MAX) {
		/* escaped() has one buffer: build the message in two steps */
		strbuf_add_escaped(&sb, reason, strlen(reason));
		warning("Elasticsearch refused event %lld (_id %s) for good, "
			"kept as a dead letter: %d %s", (long long)seq,
			escaped(id, strlen(id)), status, sb.buf);
	} else if (s->dead_printed == DEAD_PRINT_MAX + 1) {
		warning("more dead letters: see 'fimscan ship --status'");
	}
	strbuf_release(&sb);
}

static int settle(struct ship *s, size_t n)
{
	int ret;

	store_mine(s);
	ret = store_outbox_settle(s->st, s->set, n, s->o->busy_ms);
	if (ret == EXIT_INTERRUPTED)
		note("stopped waiting for the store: the events Elasticsearch "
		     "acknowledged last will be sent again (and answered 409)");
	else if (ret)
		error("Elasticsearch acknowledged events that could not be "
		      "marked in the store; they will be sent again (and "
		      "answered 409)");
	return ret;
}

static int settle_bad(struct ship *s, struct batch *b)
{
	static const char why[] = "not a single-line JSON object with a "
				  "valid namespace: never sent";
	int ret;

	if (!b->nbad)
		return 0;
	ALLOC_GROW(s->set, b->nbad, s->set_alloc);
	for (size_t i = 0; i < b->nbad; i++) {
		s->set[i] = (struct outbox_settle){
			.seq = b->bad[i], .fate = OUTBOX_DEAD, .status = 0,
			.reason = why,
		};
		dead_message(s, b->bad[i], "-", 0, why);
	}
	if (!(ret = settle(s, b->nbad))) {
		s->stats->dead += b->nbad;
		s->progress_ns = now_ns();
	}
	b->nbad = 0;
	return ret;
}

static void set_why(struct ship *s, const char *text);

static void note_retry(struct ship *s, int64_t seq)
{
	if (!s->first_retry || seq < s->first_retry)
		s->first_retry = seq;
}

/* Settle the items of [lo, hi) from a parsed answer. */
static int settle_items(struct ship *s, size_t lo, size_t hi)
{
	const struct batch *b = s->cur;
	size_t n = hi - lo, retry = 0, done = 0;
	int ret;

	/* The items must answer our documents, in order. */
	for (size_t i = 0; i < n; i++) {
		const char *id = b->ids.buf + b->v[lo + i].idoff;
		if (s->items[i].id[0] && strcmp(s->items[i].id, id))
			return -1;
	}
	ALLOC_GROW(s->set, n, s->set_alloc);
	ALLOC_GROW(s->whyoff, n, s->whyoff_alloc);
	strbuf_reset(&s->why);
	for (size_t i = 0; i < n; i++) {
		const struct es_bulk_item *it = &s->items[i];
		struct outbox_settle *o = &s->set[i];

		o->seq = b->v[lo + i].seq;
		o->status = it->status;
		o->reason = NULL;
		switch (it->fate) {
		case ES_CREATED:
			o->fate = OUTBOX_DELIVERED;
			s->stats->created++;
			done++;
			break;
		case ES_EXISTED:
			o->fate = OUTBOX_DELIVERED;
			s->stats->existed++;
			done++;
			break;
		case ES_DEAD:
			o->fate = OUTBOX_DEAD;
			/* a pointer once `why` stops moving */
			s->whyoff[i] = s->why.len;
			strbuf_addstr(&s->why, it->type[0] ? it->type : "error");
			if (it->reason[0]) {
				strbuf_addstr(&s->why, ": ");
				strbuf_addstr(&s->why, it->reason);
			}
			strbuf_addch(&s->why, '\0');
			s->stats->dead++;
			done++;
			break;
		default:
			o->fate = OUTBOX_RETRY;
			s->stats->retried++;
			note_retry(s, o->seq);
			retry++;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct outbox_settle *o = &s->set[i];
		if (o->fate == OUTBOX_DEAD) {
			o->reason = s->why.buf + s->whyoff[i];
			dead_message(s, o->seq, b->ids.buf + b->v[lo + i].idoff,
				     o->status, o->reason);
		}
	}
	if ((ret = settle(s, n)))
		return ret;
	if (done)
		s->progress_ns = now_ns();
	if (retry) {
		set_why(s, "some events were answered 429 or 5xx");
		long ra = answer_retry_after(s->c);
		if (ra >= 0)
			s->retry_after_ms = ra;
	}
	return 0;
}

/* Sleep up to ms, waking early to stop; EXIT_INTERRUPTED if asked to. */
static int wait_ms(const struct es_ship_options *o, long ms)
{
	int64_t until = now_ns() + (int64_t)ms * 1000000;

	for (;;) {
		int64_t left = until - now_ns();
		struct timespec ts;

		if (o->stop && o->stop())
			return EXIT_INTERRUPTED;
		if (left <= 0)
			return 0;
		if (left > 50000000)
			left = 50000000;
		ts.tv_sec = 0;
		ts.tv_nsec = left;
		nanosleep(&ts, NULL);
	}
}

/*
 * A problem with the server: `ship` prints it with `tail` (an error when
 * the run ends, else a warning); a daemon gets it through trouble(), to
 * say once per outage, and -v still shows each.
 */
static void problem(struct ship *s, int final, const char *msg,
		    const char *tail)
{
	if (s->o->trouble) {
		note("%s%s", msg, tail);
		s->o->trouble(msg, final, s->o->data);
	} else if (final) {
		error("%s%s", msg, tail);
	} else {
		warning("%s%s", msg, tail);
	}
}

/*
 * Wait before a retry; EXIT_REMOTE once nothing was settled for
 * stall_ms (the caller keeps every unsettled event pending).
 */
static int backoff(struct ship *s)
{
	long ms = es_backoff_ms(s->attempt++, s->o->backoff_ms,
				s->o->backoff_max_ms, s->retry_after_ms,
				es_jitter());
	long left = s->o->stall_ms -
		    (long)((now_ns() - s->progress_ns) / 1000000);
	struct strbuf msg = STRBUF_INIT;
	char tail[64];

	if (s->o->stop && s->o->stop())
		return EXIT_INTERRUPTED;
	s->retry_after_ms = -1;
	if (left <= 0) {
		strbuf_addf(&msg, "giving up on %s: nothing was delivered for "
			    "%ld s (%s)", s->c->url, s->o->stall_ms / 1000,
			    s->why_retry.buf);
		problem(s, 1, msg.buf, "; the events stay in the outbox");
		strbuf_release(&msg);
		return EXIT_REMOTE;
	}
	if (ms > left)
		ms = left;
	strbuf_addf(&msg, "%s: %s", s->c->url, s->why_retry.buf);
	snprintf(tail, sizeof(tail), "; retrying in %.1f s", ms / 1000.0);
	problem(s, 0, msg.buf, tail);
	strbuf_release(&msg);
	return wait_ms(s->o, ms);
}

enum { R_DONE, R_SPLIT, R_RETRY };

/* The run ends here (REQ_FATAL, or an answer such as 401): EXIT_REMOTE. */
static int refused(struct ship *s, int req)
{
	struct strbuf msg = STRBUF_INIT;

	if (req == REQ_FATAL)
		strbuf_addf(&msg, "cannot ship to %s: %s", s->c->url,
			    s->c->err.buf);
	else
		fatal_why(s->c, "cannot ship", &msg);
	problem(s, 1, msg.buf, "");
	strbuf_release(&msg);
	return EXIT_REMOTE;
}

/* Why the next wait: `text`, or the last answer when NULL. */
static void set_why(struct ship *s, const char *text)
{
	strbuf_reset(&s->why_retry);
	if (text)
		strbuf_addstr(&s->why_retry, text);
	else
		describe_answer(s->c, &s->why_retry);
}

/*
 * Send entries [lo, hi) as one _bulk request and settle what the answer
 * settles. R_DONE: answered item by item (some items may wait for a
 * retry); R_SPLIT: too large, send the halves; R_RETRY: no usable answer,
 * send it again after a wait. Fatal problems return EXIT_*.
 */
static int send_range(struct ship *s, size_t lo, size_t hi, int *verdict)
{
	static const char *const headers[] = {
		"Content-Type: application/x-ndjson",
		"Content-Encoding: gzip",
		"Accept: application/json",
		NULL
	};
	struct batch *b = s->cur;
	const char *p = b->raw.buf + b->v[lo].off;
	size_t len = b->v[hi - 1].off + b->v[hi - 1].len - b->v[lo].off;
	const struct strbuf *gz = &b->gz;
	int r;

	/* The whole batch was compressed when it was read. */
	if (lo || hi != b->n) {
		if (gzip_body(&b->z, &b->z_ready, p, len, &s->slice))
			die("gzip failed");
		gz = &s->slice;
	}
	s->stats->requests++;
	s->stats->raw_bytes += len;
	s->stats->wire_bytes += gz->len;
	r = request(s->c, "POST", "/_bulk?filter_path=errors,items.*.error,"
		    "items.*.status,items.*._id", headers, gz->buf, gz->len,
		    NULL);
	if (r == REQ_FATAL)
		return refused(s, r);
	if (r == REQ_NET) {
		/* Maybe stored, maybe not: resend; 409 sorts it out. */
		set_why(s, s->c->err.buf);
		*verdict = R_RETRY;
		return 0;
	}
	note("%s/_bulk: %zu events, %zu bytes (%zu gzipped): HTTP %ld",
	     s->c->url, hi - lo, len, gz->len, s->c->status);
	if (s->c->status == 200) {
		ALLOC_GROW(s->items, hi - lo, s->items_alloc);
		if (es_bulk_parse(s->c->body.buf, s->c->body.len, s->items,
				  hi - lo)) {
			set_why(s, "the _bulk answer could not be read "
				"(truncated or not the expected JSON)");
			*verdict = R_RETRY;
			return 0;
		}
		r = settle_items(s, lo, hi);
		if (r < 0) {
			set_why(s, "the _bulk answer names other documents "
				"than were sent");
			*verdict = R_RETRY;
			return 0;
		}
		*verdict = R_DONE;
		return r;
	}
	if (s->c->status == 413) {
		*verdict = R_SPLIT;
		return 0;
	}
	if (s->c->status == 429 || s->c->status == 408 ||
	    (s->c->status >= 500 && s->c->status <= 599)) {
		s->retry_after_ms = answer_retry_after(s->c);
		set_why(s, NULL);
		*verdict = R_RETRY;
		return 0;
	}
	return refused(s, r);
}

/* One batch: send it (split as needed) until every range was answered. */
static int send_batch(struct ship *s)
{
	struct range stack[128];
	size_t sp = 0;
	int ret = 0;

	stack[sp++] = (struct range){ 0, s->cur->n };
	while (sp && !ret) {
		struct range r = stack[--sp];
		int verdict = R_DONE;

		if (s->o->stop && s->o->stop())
			return EXIT_INTERRUPTED;
		if ((ret = send_range(s, r.lo, r.hi, &verdict)))
			break;
		if (verdict == R_RETRY) {
			stack[sp++] = r;
			ret = backoff(s);
		} else if (verdict == R_SPLIT && r.hi - r.lo == 1) {
			struct outbox_settle o = {
				.seq = s->cur->v[r.lo].seq, .fate = OUTBOX_DEAD,
				.status = 413,
				.reason = "request_entity_too_large: the document "
					  "alone is larger than the server "
					  "accepts (http.max_content_length)",
			};
			dead_message(s, o.seq,
				     s->cur->ids.buf + s->cur->v[r.lo].idoff,
				     413, o.reason);
			store_mine(s);
			if (!(ret = store_outbox_settle(s->st, &o, 1,
							s->o->busy_ms))) {
				s->stats->dead++;
				s->progress_ns = now_ns();
			}
		} else if (verdict == R_SPLIT) {
			size_t mid = r.lo + (r.hi - r.lo) / 2;
			note("413 for %zu events: sending them in two halves",
			     r.hi - r.lo);
			/* depth is log2(batch): never near the stack's size */
			stack[sp++] = (struct range){ mid, r.hi };
			stack[sp++] = (struct range){ r.lo, mid };
		}
	}
	return ret;
}

int es_ship(struct es_client *c, struct store *st,
	    const struct es_ship_options *opt, struct es_ship_stats *stats)
{
	struct es_ship_options o = *opt;
	struct ship s = { 0 };
	int64_t upto, cursor = 0;
	int ret = 0;

	es_ship_defaults(&o);
	memset(stats, 0, sizeof(*stats));
	if (o.ns && !es_namespace_ok(o.ns)) {
		error("invalid namespace '%s': use 1 to 100 lowercase letters, "
		      "digits and '_'", escaped(o.ns, strlen(o.ns)));
		return EXIT_USAGE;
	}
	/* Everything pending now; what a running scan adds meanwhile waits
	 * for the next run, so `ship` always ends. */
	upto = store_outbox_last_seq(st);
	s.c = c;
	c->stop = o.stop;
	s.st = st;
	s.o = &o;
	s.stats = stats;
	s.retry_after_ms = -1;
	s.progress_ns = now_ns();
	for (int i = 0; i < 2; i++) {
		struct batch *b = &s.b[i];
		b->st = st;
		b->o = &o;
		b->upto = upto;
		strbuf_init(&b->raw, 0);
		strbuf_init(&b->ids, 0);
		strbuf_init(&b->doc, 0);
		strbuf_init(&b->gz, 0);
	}
	strbuf_init(&s.slice, 0);
	strbuf_init(&s.why, 0);
	strbuf_init(&s.why_retry, 0);
	s.cur = &s.b[0];
	s.next = &s.b[1];
	batch_fill(s.cur, cursor);
	while (!ret) {
		struct batch *b = s.cur;

		if (o.stop && o.stop()) {
			ret = EXIT_INTERRUPTED;
			break;
		}
		if ((ret = b->ret) || (ret = settle_bad(&s, b)))
			break;
		if (!b->n) {
			if (b->last_seq == cursor)
				break;            /* nothing left: done */
			cursor = b->last_seq;
			batch_fill(b, cursor);
			continue;
		}
		read_ahead(&s);
		s.first_retry = 0;
		ret = send_batch(&s);
		store_mine(&s);
		if (ret)
			break;
		if (s.first_retry) {
			/* Resend from the first event told to wait; those
			 * settled since are gone from the outbox. */
			cursor = s.first_retry - 1;
			set_why(&s, "some events were answered 429 or 5xx");
			if ((ret = backoff(&s)))
				break;
			batch_fill(s.cur, cursor);
		} else {
			cursor = b->last_seq;
			s.attempt = 0;
			if (s.have_next) {
				s.cur = s.next;
				s.next = b;
			} else {
				batch_fill(b, cursor);
			}
		}
	}
	store_mine(&s);
	batch_release(&s.b[0]);
	batch_release(&s.b[1]);
	strbuf_release(&s.slice);
	strbuf_release(&s.why);
	strbuf_release(&s.why_retry);
	free(s.items);
	free(s.set);
	free(s.whyoff);
	c->stop = NULL;
	return ret;
}

/* ---- setup ----------------------------------------------------------- */

static int acknowledged_top(struct js *j, const char *key, size_t klen,
			    void *data)
{
	if (key_is(key, klen, "acknowledged") && js_peek(j) == 't')
		return js_bool(j, data);
	return js_skip(j);
}

static int put_json(struct es_client *c, const char *path, const char *body,
		    size_t len, const char *what, FILE *out)
{
	static const char *const headers[] = {
		"Content-Type: application/json",
		"Accept: application/json",
		NULL
	};
	int r = request(c, "PUT", path, headers, body, len, NULL), ack = 0;
	struct js j;

	if (r != REQ_OK) {
		error("cannot install the %s: %s: %s", what, c->url,
		      c->err.buf);
		return EXIT_REMOTE;
	}
	j = (struct js){ c->body.buf, c->body.buf + c->body.len, 0 };
	if (c->status != 200 || js_object(&j, acknowledged_top, &ack) ||
	    !ack) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "cannot install the %s", what);
		fatal_answer(c, sb.buf);
		strbuf_release(&sb);
		return EXIT_REMOTE;
	}
	if (out)
		fprintf(out, "installed the %s\n", what);
	return 0;
}

struct import_answer {
	int success;
	long long count;
	int nerrors;
	struct strbuf errors;     /* escaped, for the message */
};

static int import_error_member(struct js *j, const char *key, size_t klen,
			       void *data)
{
	struct import_answer *a = data;
	char v[128];

	if (key_is(key, klen, "id") || key_is(key, klen, "type") ||
	    key_is(key, klen, "title")) {
		if (js_peek(j) != '"')
			return js_skip(j);
		if (js_string(j, v, sizeof(v), NULL))
			return -1;
		strbuf_addf(&a->errors, " %.*s=", (int)klen, key);
		strbuf_add_escaped(&a->errors, v, strlen(v));
		return 0;
	}
	if (key_is(key, klen, "error") && js_peek(j) == '{') {
		struct js_error e = { "", "" };
		if (js_object(j, error_member, &e))
			return -1;
		strbuf_addstr(&a->errors, " error=");
		strbuf_add_escaped(&a->errors, e.type, strlen(e.type));
		return 0;
	}
	return js_skip(j);
}

static int import_error(struct js *j, size_t i, void *data)
{
	struct import_answer *a = data;

	(void)i;
	if (js_peek(j) != '{')
		return js_skip(j);
	a->nerrors++;
	strbuf_addstr(&a->errors, "\n ");
	return js_object(j, import_error_member, a);
}

static int import_top(struct js *j, const char *key, size_t klen,
		      void *data)
{
	struct import_answer *a = data;
	int whole;

	if (key_is(key, klen, "success") &&
	    (js_peek(j) == 't' || js_peek(j) == 'f'))
		return js_bool(j, &a->success);
	if (key_is(key, klen, "successCount") && js_peek(j) != '"')
		return js_number(j, &a->count, &whole);
	if (key_is(key, klen, "errors") && js_peek(j) == '[')
		return js_array(j, import_error, a);
	return js_skip(j);
}

static int import_dashboard(struct es_client *k, FILE *out)
{
	static const char *const headers[] = {
		"kbn-xsrf: true",
		"Accept: application/json",
		NULL
	};
	struct import_answer a = { 0 };
	curl_mime *mime;
	curl_mimepart *part;
	struct js j;
	int r, ret = 0;

	/* The connection is set up by request(); the form needs a handle. */
	mime = curl_mime_init(k->curl);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "file");
	curl_mime_filename(part, "fimscan-dashboard.ndjson");
	curl_mime_type(part, "application/ndjson");
	curl_mime_data(part, es_asset_dashboard, es_asset_dashboard_len);
	r = request(k, "POST", "/api/saved_objects/_import?overwrite=true",
		    headers, NULL, 0, mime);
	curl_mime_free(mime);
	if (r != REQ_OK) {
		error("cannot import the dashboard: %s: %s", k->url,
		      k->err.buf);
		return EXIT_REMOTE;
	}
	strbuf_init(&a.errors, 0);
	j = (struct js){ k->body.buf, k->body.buf + k->body.len, 0 };
	if (k->status != 200 || js_object(&j, import_top, &a)) {
		fatal_answer(k, "cannot import the dashboard");
		ret = EXIT_REMOTE;
	} else if (!a.success) {
		error("Kibana at %s refused the dashboard (%d errors):%s",
		      k->url, a.nerrors, a.errors.buf);
		ret = EXIT_REMOTE;
	} else if (out) {
		fprintf(out, "imported the dashboard into Kibana (%lld saved "
			"objects)\n", a.count);
	}
	strbuf_release(&a.errors);
	return ret;
}

int es_setup(struct es_client *es, struct es_client *kibana, FILE *out)
{
	static const char *const headers[] = { "Accept: application/json",
					       NULL };
	int r, ret;

	r = request(es, "GET", "/", headers, NULL, 0, NULL);
	if (r != REQ_OK) {
		error("cannot reach Elasticsearch at %s: %s", es->url,
		      es->err.buf);
		return EXIT_REMOTE;
	}
	if (es->status != 200) {
		fatal_answer(es, "cannot set up Elasticsearch");
		return EXIT_REMOTE;
	}
	if (!es->product) {
		error("%s did not say it is Elasticsearch (no "
		      "'X-Elastic-Product: Elasticsearch' header): refusing "
		      "to install anything there", es->url);
		return EXIT_REMOTE;
	}
	if ((ret = put_json(es, "/_component_template/fimscan@mappings",
			    es_asset_mappings, es_asset_mappings_len,
			    "component template fimscan@mappings", out)) ||
	    (ret = put_json(es, "/_index_template/logs-fimscan.events",
			    es_asset_index_template,
			    es_asset_index_template_len,
			    "index template logs-fimscan.events", out)))
		return ret;
	if (kibana)
		ret = import_dashboard(kibana, out);
	return ret;
}
