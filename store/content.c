/*
 * content.c: chunk lists and kept content (schema version 2).
 *
 *   clist(id, key, nchunks, list)   one packed chunk list per distinct
 *                                   content (key: XXH3-128 of the file's
 *                                   hashes and size), shared by versions
 *   version.clist / content / prefix
 *   chunk(id, pack, off, len)       where a kept chunk's bytes are
 *   pack(id, raw, data)             zstd frames of ~1 MiB of chunks: one
 *                                   8 KiB chunk at a time compresses far
 *                                   worse (bytediff.md: 3.9 vs 5.8)
 *
 * Chunks are deduplicated across files and versions by id before they
 * are packed. Reading verifies each chunk's id, so a damaged pack is an
 * error, never wrong bytes in a report.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "scanner/chunk.h"
#include "store/store-private.h"

#define PACK_TARGET (1024 * 1024)   /* raw bytes per pack */
#define PACK_LEVEL 3

enum {
	C_CLIST_GET = EXT_CONTENT, C_CLIST_KEY, C_CLIST_INS, C_CHUNK_HAS,
	C_CHUNK_INS, C_PACK_INS, C_CHUNK_GET, C_PACK_GET
};

struct store_content {
	/* writing: the pack being filled */
	struct strbuf raw;
	struct chunk_entry *pend;      /* chunks in `raw`, in order */
	size_t npend, pend_alloc;
	/* reading: the last pack, decompressed */
	int64_t pack_id;
	struct strbuf pack;
	char *params;                  /* cached meta chunk_params */
	int64_t total;                 /* raw bytes kept (meta) */
};

int st_migrate_content(struct store *st)
{
	char *params = chunk_params_id(&chunk_params_default);
	sqlite3_stmt *s;
	int ret;

	ret = st_exec(st,
		"CREATE TABLE clist(id INTEGER PRIMARY KEY, key BLOB NOT NULL"
		" UNIQUE, nchunks INTEGER NOT NULL, list BLOB NOT NULL);"
		"ALTER TABLE version ADD COLUMN clist INTEGER;"
		"ALTER TABLE version ADD COLUMN content INTEGER;"
		"ALTER TABLE version ADD COLUMN prefix INTEGER;"
		"CREATE TABLE pack(id INTEGER PRIMARY KEY, raw INTEGER NOT NULL,"
		" data BLOB NOT NULL);"
		"CREATE TABLE chunk(id BLOB PRIMARY KEY, pack INTEGER NOT NULL,"
		" off INTEGER NOT NULL, len INTEGER NOT NULL) WITHOUT ROWID;"
		"CREATE INDEX chunk_pack ON chunk(pack);");
	if (!ret) {
		/* Fixed for the life of the store: lists cut with other
		 * parameters would make every chunk look changed. */
		if (sqlite3_prepare_v2(st->db, "INSERT INTO meta(key, value) "
				       "VALUES('chunk_params', ?1)", -1, &s,
				       NULL) != SQLITE_OK)
			ret = st_error(st, "store");
		else {
			sqlite3_bind_text(s, 1, params, -1, SQLITE_STATIC);
			ret = sqlite3_step(s) == SQLITE_DONE ? 0
				: st_error(st, "store");
			sqlite3_finalize(s);
		}
	}
	free(params);
	return ret;
}

static struct store_content *content(struct store *st)
{
	if (!st->content) {
		st->content = xcalloc(1, sizeof(*st->content));
		strbuf_init(&st->content->raw, 0);
		strbuf_init(&st->content->pack, 0);
		st->content->total = -1;
	}
	return st->content;
}

void store_content_free(struct store *st)
{
	struct store_content *c = st->content;

	if (!c)
		return;
	strbuf_release(&c->raw);
	strbuf_release(&c->pack);
	free(c->pend);
	free(c->params);
	free(c);
	st->content = NULL;
}

const char *store_chunk_params(struct store *st)
{
	struct store_content *c = content(st);
	sqlite3_stmt *s;

	if (c->params)
		return c->params;
	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = "
			       "'chunk_params'", -1, &s, NULL) != SQLITE_OK)
		return "";
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		c->params = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return c->params ? c->params : "";
}

/* ---- writing ------------------------------------------------------- */

/*
 * The chunk list row for e's content: found by key, or added. Lists of a
 * single chunk are not stored unless the content is kept (the whole file
 * is then the only range, and nothing is gained).
 */
int st_clist_put(struct store *st, const struct fim_entry *e, int64_t *id)
{
	unsigned char key[16];
	XXH128_canonical_t canon;
	struct chunk_entry *v = NULL;
	XXH3_state_t *x;
	sqlite3_stmt *s;
	ssize_t n;
	int rc;

	*id = 0;                  /* a single chunk (or empty): no list */
	if (!e->chunks.len || !e->hashes_len)
		return 0;
	n = chunk_list_decode(e->chunks.buf, e->chunks.len, &v);
	free(v);
	if (n < 0) {
		error("internal: bad chunk list");
		return EXIT_INTERNAL;
	}
	if (n < 2 && !e->keep)
		return 0;
	x = XXH3_createState();
	if (!x)
		die("out of memory");
	XXH3_128bits_reset(x);
	XXH3_128bits_update(x, e->hashes, e->hashes_len);
	XXH3_128bits_update(x, &e->size, sizeof(e->size));
	XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(x));
	XXH3_freeState(x);
	memcpy(key, canon.digest, sizeof(key));

	s = st_ext(st, C_CLIST_KEY, "SELECT id FROM clist WHERE key = ?1");
	st_bind_blob(s, 1, key, sizeof(key));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return st_error(st, "store");
	s = st_ext(st, C_CLIST_INS, "INSERT INTO clist(key, nchunks, list) "
		   "VALUES(?1, ?2, ?3)");
	st_bind_blob(s, 1, key, sizeof(key));
	sqlite3_bind_int64(s, 2, n);
	st_bind_blob(s, 3, e->chunks.buf, e->chunks.len);
	if ((rc = st_step_done(st, s, "store")))
		return rc;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int chunk_known(struct store *st, const unsigned char *id)
{
	struct store_content *c = content(st);
	sqlite3_stmt *s;
	int rc;

	for (size_t i = 0; i < c->npend; i++)
		if (!memcmp(c->pend[i].id, id, CHUNK_ID_LEN))
			return 1;
	s = st_ext(st, C_CHUNK_HAS, "SELECT 1 FROM chunk WHERE id = ?1");
	st_bind_blob(s, 1, id, CHUNK_ID_LEN);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_ROW;
}

/* Compress the pending chunks into one pack and index them. */
int st_content_flush(struct store *st)
{
	struct store_content *c = content(st);
	size_t bound, zlen;
	uint64_t off = 0;
	sqlite3_stmt *s;
	int64_t pack;
	void *z;
	int ret;

	if (!c->npend)
		return 0;
	bound = ZSTD_compressBound(c->raw.len);
	z = xmalloc(bound);
	zlen = ZSTD_compress(z, bound, c->raw.buf, c->raw.len, PACK_LEVEL);
	if (ZSTD_isError(zlen)) {
		free(z);
		error("cannot compress content: %s", ZSTD_getErrorName(zlen));
		return EXIT_INTERNAL;
	}
	s = st_ext(st, C_PACK_INS, "INSERT INTO pack(raw, data) VALUES(?1, ?2)");
	sqlite3_bind_int64(s, 1, (int64_t)c->raw.len);
	st_bind_blob(s, 2, z, zlen);
	ret = st_step_done(st, s, "store");
	free(z);
	if (ret)
		return ret;
	pack = sqlite3_last_insert_rowid(st->db);
	for (size_t i = 0; i < c->npend; i++) {
		s = st_ext(st, C_CHUNK_INS, "INSERT OR IGNORE INTO chunk(id, "
			   "pack, off, len) VALUES(?1, ?2, ?3, ?4)");
		st_bind_blob(s, 1, c->pend[i].id, CHUNK_ID_LEN);
		sqlite3_bind_int64(s, 2, pack);
		sqlite3_bind_int64(s, 3, (int64_t)off);
		sqlite3_bind_int64(s, 4, (int64_t)c->pend[i].len);
		if ((ret = st_step_done(st, s, "store")))
			return ret;
		off += c->pend[i].len;
	}
	c->total += c->raw.len;
	c->npend = 0;
	strbuf_reset(&c->raw);
	return st_meta_set_int(st, "content_raw", c->total);
}

int64_t st_content_total(struct store *st)
{
	struct store_content *c = content(st);

	if (c->total < 0)
		c->total = st_meta_int(st, "content_raw");
	return c->total + (int64_t)c->raw.len;
}

/*
 * Keep e's bytes (e->data, cut as e->chunks): every chunk not stored yet
 * goes into the pending pack. The caller checked the limits.
 */
int st_content_put(struct store *st, const struct fim_entry *e)
{
	struct store_content *c = content(st);
	struct chunk_entry *v = NULL;
	ssize_t n = chunk_list_decode(e->chunks.buf, e->chunks.len, &v);
	uint64_t off = 0;
	int ret = 0;

	if (n < 0) {
		free(v);
		error("internal: bad chunk list for kept content");
		return EXIT_INTERNAL;
	}
	st_content_total(st);     /* loads the total before we add */
	for (ssize_t i = 0; i < n && !ret; i++) {
		if (off + v[i].len > e->data.len) {
			ret = EXIT_INTERNAL;
			error("internal: kept content shorter than its chunks");
			break;
		}
		if (!chunk_known(st, v[i].id)) {
			ALLOC_GROW(c->pend, c->npend + 1, c->pend_alloc);
			c->pend[c->npend++] = v[i];
			strbuf_add(&c->raw, e->data.buf + off, v[i].len);
			if (c->raw.len >= PACK_TARGET)
				ret = st_content_flush(st);
		}
		off += v[i].len;
	}
	free(v);
	return ret;
}

/* ---- reading ------------------------------------------------------- */

int store_clist(struct store *st, int64_t id, struct strbuf *out)
{
	sqlite3_stmt *s = st_ext(st, C_CLIST_GET,
				 "SELECT list FROM clist WHERE id = ?1");
	int rc;

	strbuf_reset(out);
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		strbuf_add(out, sqlite3_column_blob(s, 0),
			   sqlite3_column_bytes(s, 0));
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE) {
		error("store %s: chunk list %lld is missing", st->path,
		      (long long)id);
		return EXIT_STORE;
	}
	return st_error(st, "store");
}

static int load_pack(struct store *st, int64_t id)
{
	struct store_content *c = content(st);
	sqlite3_stmt *s;
	const void *z;
	size_t zlen, got;
	int64_t raw;

	if (c->pack_id == id)
		return 0;
	s = st_ext(st, C_PACK_GET, "SELECT raw, data FROM pack WHERE id = ?1");
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		error("store %s: content pack %lld is missing", st->path,
		      (long long)id);
		return EXIT_STORE;
	}
	raw = sqlite3_column_int64(s, 0);
	z = sqlite3_column_blob(s, 1);
	zlen = sqlite3_column_bytes(s, 1);
	if (raw < 0 || raw > 64 * PACK_TARGET) {
		sqlite3_reset(s);
		error("store %s: content pack %lld is corrupt", st->path,
		      (long long)id);
		return EXIT_STORE;
	}
	strbuf_reset(&c->pack);
	strbuf_grow(&c->pack, raw);
	got = ZSTD_decompress(c->pack.buf, raw, z, zlen);
	sqlite3_reset(s);
	if (ZSTD_isError(got) || got != (size_t)raw) {
		c->pack_id = 0;
		error("store %s: content pack %lld is corrupt", st->path,
		      (long long)id);
		return EXIT_STORE;
	}
	strbuf_setlen(&c->pack, raw);
	c->pack_id = id;
	return 0;
}

/* Append chunk `ce`'s bytes [from, from + n) to out, verifying its id. */
static int read_chunk(struct store *st, const struct chunk_entry *ce,
		      uint64_t from, uint64_t n, struct strbuf *out)
{
	struct store_content *c = content(st);
	unsigned char id[CHUNK_ID_LEN];
	sqlite3_stmt *s;
	int64_t pack, off, len;
	int ret;

	/* Bytes still in the pending pack (same snapshot) come from there. */
	for (size_t i = 0, o = 0; i < c->npend; o += c->pend[i].len, i++)
		if (!memcmp(c->pend[i].id, ce->id, CHUNK_ID_LEN)) {
			strbuf_add(out, c->raw.buf + o + from, n);
			return 0;
		}
	s = st_ext(st, C_CHUNK_GET, "SELECT pack, off, len FROM chunk WHERE "
		   "id = ?1");
	st_bind_blob(s, 1, ce->id, CHUNK_ID_LEN);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		error("store %s: a kept chunk is missing", st->path);
		return EXIT_STORE;
	}
	pack = sqlite3_column_int64(s, 0);
	off = sqlite3_column_int64(s, 1);
	len = sqlite3_column_int64(s, 2);
	sqlite3_reset(s);
	if ((ret = load_pack(st, pack)))
		return ret;
	if (off < 0 || len != (int64_t)ce->len ||
	    (uint64_t)off + ce->len > c->pack.len) {
		error("store %s: content pack %lld is corrupt", st->path,
		      (long long)pack);
		return EXIT_STORE;
	}
	chunk_id(c->pack.buf + off, ce->len, id);
	if (memcmp(id, ce->id, CHUNK_ID_LEN)) {
		error("store %s: a kept chunk does not match its id (pack "
		      "%lld is damaged)", st->path, (long long)pack);
		return EXIT_STORE;
	}
	strbuf_add(out, c->pack.buf + off + from, n);
	return 0;
}

int store_content_read(struct store *st, const struct fim_entry *e,
		       uint64_t off, uint64_t len, struct strbuf *out)
{
	struct strbuf list = STRBUF_INIT;
	struct chunk_entry *v = NULL;
	uint64_t pos = 0, end = off + len;
	ssize_t n;
	int ret;

	if (!e->content || e->clist_id <= 0) {
		error("the content of this version was not kept");
		return EXIT_STORE;
	}
	if ((ret = store_clist(st, e->clist_id, &list)))
		goto out;
	if ((n = chunk_list_decode(list.buf, list.len, &v)) < 0) {
		error("store %s: chunk list %lld is corrupt", st->path,
		      (long long)e->clist_id);
		ret = EXIT_STORE;
		goto out;
	}
	for (ssize_t i = 0; i < n && pos < end && !ret; i++) {
		uint64_t a = pos, b = pos + v[i].len;
		if (b > off) {
			uint64_t from = off > a ? off - a : 0;
			uint64_t to = (end < b ? end : b) - a;
			ret = read_chunk(st, &v[i], from, to - from, out);
		}
		pos = b;
	}
	if (!ret && pos < end) {
		error("store %s: kept content is shorter than asked", st->path);
		ret = EXIT_STORE;
	}
out:
	free(v);
	strbuf_release(&list);
	return ret;
}

int store_content_size(struct store *st, int64_t *packed, int64_t *raw)
{
	sqlite3_stmt *s;
	int ret = 0;

	*packed = *raw = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT coalesce(sum(length(data)), 0),"
			       " coalesce(sum(raw), 0) FROM pack", -1, &s,
			       NULL) != SQLITE_OK)
		return st_error(st, "store");
	if (sqlite3_step(s) == SQLITE_ROW) {
		*packed = sqlite3_column_int64(s, 0);
		*raw = sqlite3_column_int64(s, 1);
	} else {
		ret = st_error(st, "store");
	}
	sqlite3_finalize(s);
	return ret;
}
