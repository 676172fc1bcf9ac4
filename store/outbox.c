/*
 * outbox.c: the durable queue of documents waiting for Elasticsearch
 * (schema version 3).
 *
 *   outbox(seq, snap, time, ns, doc_id, doc, tries)
 *       one row per document not yet acknowledged, oldest first by seq
 *   outbox_dead(seq, snap, time, ns, doc_id, doc, status, reason, dead)
 *       documents Elasticsearch refused for good (an item 4xx other than
 *       409 and 429), with its answer
 *   meta outbox.enqueued / .delivered / .dead / .dropped
 *       counters that change in the same transaction as the rows, so
 *       enqueued = pending + delivered + dead + dropped always holds
 *
 * Rows are added inside a snapshot's transaction (the scanner's
 * before_commit hook): a snapshot and its events commit together or not
 * at all. A shipper reads rows in short read statements and settles each
 * batch in one short write transaction; a document is deleted only once
 * Elasticsearch acknowledged it, so a crash at any point leaves it
 * pending, and the resend is answered 409 (already stored) because its
 * _id is deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store-private.h"

enum {
	O_ADD = EXT_OUTBOX, O_COUNT, O_READ, O_DEL, O_DEAD, O_TRY, O_PREV,
	O_NTH, O_TRIM, O_LAST, O_OLDEST, O_DEADLIST, O_COUNTERS, O_STAMP,
	O_END
};

_Static_assert(O_END <= EXT_OUTBOX + 16, "outbox.c owns 16 statement slots");

static const char *const counter_key[] = {
	"outbox.enqueued", "outbox.delivered", "outbox.dead", "outbox.dropped",
};
enum { K_ENQUEUED, K_DELIVERED, K_DEAD, K_DROPPED };

int st_migrate_outbox(struct store *st)
{
	return st_exec(st,
		"CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
		" snap INTEGER NOT NULL, time INTEGER NOT NULL, ns TEXT NOT NULL,"
		" doc_id TEXT NOT NULL, doc BLOB NOT NULL,"
		" tries INTEGER NOT NULL DEFAULT 0);"
		"CREATE TABLE outbox_dead(seq INTEGER PRIMARY KEY, snap INTEGER,"
		" time INTEGER, ns TEXT, doc_id TEXT, doc BLOB, status INTEGER,"
		" reason TEXT, dead INTEGER);"
		"INSERT INTO meta(key, value) VALUES('outbox.enqueued', 0),"
		" ('outbox.delivered', 0), ('outbox.dead', 0),"
		" ('outbox.dropped', 0);");
}

static int count(struct store *st, int key, int64_t n)
{
	sqlite3_stmt *s;

	if (!n)
		return 0;
	s = st_ext(st, O_COUNT, "UPDATE meta SET value = value + ?2 "
		   "WHERE key = ?1");
	sqlite3_bind_text(s, 1, counter_key[key], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, n);
	return st_step_done(st, s, "outbox");
}

int store_outbox_add(struct store *st, int64_t snap, const char *ns,
		     const char *id, const char *doc, size_t len)
{
	/* The row and its counter change together, in the caller's
	 * transaction or in one of their own. */
	int own = sqlite3_get_autocommit(st->db);
	sqlite3_stmt *s;
	int ret;

	if (own && (ret = st_begin(st, 5000)))
		return ret;
	s = st_ext(st, O_ADD, "INSERT INTO outbox(snap, time, ns, doc_id, doc) "
		   "VALUES(?1, ?2, ?3, ?4, ?5)");
	sqlite3_bind_int64(s, 1, snap);
	sqlite3_bind_int64(s, 2, now_ns());
	sqlite3_bind_text(s, 3, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, id, -1, SQLITE_STATIC);
	st_bind_blob(s, 5, doc, len);
	ret = st_step_done(st, s, "cannot queue an event");
	if (!ret)
		ret = count(st, K_ENQUEUED, 1);
	if (own && !ret)
		ret = st_exec(st, "COMMIT");
	if (own && ret)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int store_outbox_stamp(struct store *st, int64_t snap)
{
	sqlite3_stmt *s;
	int ret;

	/* The differ reads kept bytes inside this transaction too. */
	if ((ret = st_content_flush(st)))
		return ret;
	s = st_ext(st, O_STAMP, "UPDATE snapshot SET finished = ?2 "
		   "WHERE id = ?1 AND finished IS NULL");
	sqlite3_bind_int64(s, 1, snap);
	sqlite3_bind_int64(s, 2, now_ns());
	return st_step_done(st, s, "store");
}

int64_t store_outbox_prev_snapshot(struct store *st, int64_t snap)
{
	sqlite3_stmt *s = st_ext(st, O_PREV, "SELECT max(id) FROM snapshot "
				 "WHERE id < ?1");
	int64_t id = 0;

	sqlite3_bind_int64(s, 1, snap);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return id;
}

static int64_t counter(struct store *st, int key)
{
	sqlite3_stmt *s = st_ext(st, O_COUNTERS, "SELECT value FROM meta "
				 "WHERE key = ?1");
	int64_t v = 0;

	sqlite3_bind_text(s, 1, counter_key[key], -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

static int64_t pending(struct store *st)
{
	return counter(st, K_ENQUEUED) - counter(st, K_DELIVERED) -
	       counter(st, K_DEAD) - counter(st, K_DROPPED);
}

int store_outbox_trim(struct store *st, int64_t keep, int64_t *dropped,
		      int64_t *first, int64_t *last)
{
	int64_t n = pending(st) - (keep < 0 ? 0 : keep), lo = 0, hi = 0;
	sqlite3_stmt *s;
	int ret;

	*dropped = 0;
	if (n <= 0)
		return 0;
	/* The n-th oldest row bounds the range to drop. */
	s = st_ext(st, O_NTH, "SELECT min(seq), (SELECT seq FROM outbox "
		   "ORDER BY seq LIMIT 1 OFFSET ?1) FROM outbox");
	sqlite3_bind_int64(s, 1, n - 1);
	if (sqlite3_step(s) == SQLITE_ROW) {
		lo = sqlite3_column_int64(s, 0);
		hi = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (!hi)
		return 0;
	s = st_ext(st, O_TRIM, "DELETE FROM outbox WHERE seq <= ?1");
	sqlite3_bind_int64(s, 1, hi);
	if ((ret = st_step_done(st, s, "cannot trim the outbox")))
		return ret;
	n = sqlite3_changes(st->db);
	if ((ret = count(st, K_DROPPED, n)))
		return ret;
	*dropped = n;
	if (first)
		*first = lo;
	if (last)
		*last = hi;
	return 0;
}

int64_t store_outbox_last_seq(struct store *st)
{
	sqlite3_stmt *s = st_ext(st, O_LAST, "SELECT max(seq) FROM outbox");
	int64_t v = 0;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

int store_outbox_read(struct store *st, int64_t after, int64_t upto,
		      size_t max, int (*fn)(const struct outbox_doc *, void *),
		      void *data)
{
	sqlite3_stmt *s = st_ext(st, O_READ, "SELECT seq, snap, ns, doc_id, "
				 "doc, tries FROM outbox WHERE seq > ?1 AND "
				 "seq <= ?2 ORDER BY seq LIMIT ?3");
	int rc = SQLITE_DONE, stop = 0, ret = 0;

	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, upto);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *ns = (const char *)sqlite3_column_text(s, 2);
		const char *id = (const char *)sqlite3_column_text(s, 3);
		struct outbox_doc d = {
			.seq = sqlite3_column_int64(s, 0),
			.snap = sqlite3_column_int64(s, 1),
			.ns = ns ? ns : "",
			.id = id ? id : "",
			.tries = sqlite3_column_int64(s, 5),
		};
		d.doc = sqlite3_column_blob(s, 4);
		d.len = sqlite3_column_bytes(s, 4);
		if (!d.doc)
			d.doc = "";
		stop = fn(&d, data);
	}
	if (!stop && rc != SQLITE_DONE)
		ret = st_error(st, "cannot read the outbox");
	sqlite3_reset(s);
	return ret;
}

int store_outbox_settle(struct store *st, const struct outbox_settle *v,
			size_t n, int busy_ms)
{
	int64_t delivered = 0, dead = 0;
	sqlite3_stmt *s;
	int ret;

	if (!n)
		return 0;
	if ((ret = st_begin(st, busy_ms)))
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		switch (v[i].fate) {
		case OUTBOX_DEAD:
			s = st_ext(st, O_DEAD, "INSERT OR REPLACE INTO "
				   "outbox_dead(seq, snap, time, ns, doc_id, "
				   "doc, status, reason, dead) SELECT seq, snap, "
				   "time, ns, doc_id, doc, ?2, ?3, ?4 FROM outbox "
				   "WHERE seq = ?1");
			sqlite3_bind_int64(s, 1, v[i].seq);
			sqlite3_bind_int(s, 2, v[i].status);
			sqlite3_bind_text(s, 3, v[i].reason ? v[i].reason : "",
					  -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 4, now_ns());
			if ((ret = st_step_done(st, s, "outbox")))
				break;
			/* the row leaves the outbox as a delivered one does */
			/* fall through */
		case OUTBOX_DELIVERED:
			s = st_ext(st, O_DEL, "DELETE FROM outbox WHERE seq = ?1");
			sqlite3_bind_int64(s, 1, v[i].seq);
			if ((ret = st_step_done(st, s, "outbox")))
				break;
			/* Gone already: dropped by an overflow meanwhile,
			 * and counted there. */
			if (sqlite3_changes(st->db))
				*(v[i].fate == OUTBOX_DEAD ? &dead : &delivered) += 1;
			break;
		case OUTBOX_RETRY:
			s = st_ext(st, O_TRY, "UPDATE outbox SET tries = tries + 1 "
				   "WHERE seq = ?1");
			sqlite3_bind_int64(s, 1, v[i].seq);
			ret = st_step_done(st, s, "outbox");
			break;
		}
	}
	if (!ret)
		ret = count(st, K_DELIVERED, delivered);
	if (!ret)
		ret = count(st, K_DEAD, dead);
	if (!ret)
		ret = st_exec(st, "COMMIT");
	if (ret)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int store_outbox_status(struct store *st, struct outbox_status *out)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	out->enqueued = counter(st, K_ENQUEUED);
	out->delivered = counter(st, K_DELIVERED);
	out->dead = counter(st, K_DEAD);
	out->dropped = counter(st, K_DROPPED);
	out->pending = out->enqueued - out->delivered - out->dead -
		       out->dropped;
	s = st_ext(st, O_OLDEST, "SELECT seq, snap, time, tries FROM outbox "
		   "ORDER BY seq LIMIT 1");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->oldest_seq = sqlite3_column_int64(s, 0);
		out->oldest_snap = sqlite3_column_int64(s, 1);
		out->oldest_time_ns = sqlite3_column_int64(s, 2);
		out->oldest_tries = sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return st_error(st, "cannot read the outbox");
	return 0;
}

int store_outbox_dead_foreach(struct store *st, size_t max,
			      int (*fn)(const struct outbox_dead_info *, void *),
			      void *data)
{
	sqlite3_stmt *s = st_ext(st, O_DEADLIST, "SELECT seq, snap, time, "
				 "ns, doc_id, status, reason, dead, doc FROM "
				 "outbox_dead ORDER BY seq DESC LIMIT ?1");
	int rc = SQLITE_DONE, stop = 0, ret = 0;

	sqlite3_bind_int64(s, 1, (int64_t)max);
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *ns = (const char *)sqlite3_column_text(s, 3);
		const char *id = (const char *)sqlite3_column_text(s, 4);
		const char *reason = (const char *)sqlite3_column_text(s, 6);
		struct outbox_dead_info d = {
			.seq = sqlite3_column_int64(s, 0),
			.snap = sqlite3_column_int64(s, 1),
			.time_ns = sqlite3_column_int64(s, 2),
			.ns = ns ? ns : "",
			.id = id ? id : "",
			.status = sqlite3_column_int(s, 5),
			.reason = reason ? reason : "",
			.dead_ns = sqlite3_column_int64(s, 7),
		};
		d.doc = sqlite3_column_blob(s, 8);
		d.len = sqlite3_column_bytes(s, 8);
		if (!d.doc)
			d.doc = "";
		stop = fn(&d, data);
	}
	if (!stop && rc != SQLITE_DONE)
		ret = st_error(st, "cannot read the dead letters");
	sqlite3_reset(s);
	return ret;
}
