/*
 * events.c: the watch daemon's events (schema version 4), and the
 * store-side help it needs for hard links.
 *
 *   event(seq, time, snap, kind, action, type, path, old_path, attrs,
 *         bytes_changed, ranges, backend, pid, exe, uid, detail)
 *       one row per recorded change, coverage gap or rescan; seq is
 *       AUTOINCREMENT so a number is never given twice, even after the
 *       newest rows were deleted
 *   index version_inode ON version(ino) WHERE died IS NULL
 *       created by the first `watch` (store_watch_prepare), not by the
 *       migration: stores that are never watched do not pay for it
 */
#include <string.h>

#include "store/store-private.h"

enum {
	E_ADD = EXT_EVENTS, E_LAST, E_LINKS, E_LINKS_NEW, E_NAMES,
	E_END
};

_Static_assert(E_END <= EXT_EVENTS + 16, "events.c owns 16 statement slots");

int st_migrate_events(struct store *st)
{
	return st_exec(st,
		"CREATE TABLE event(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
		" time INTEGER NOT NULL, snap INTEGER, kind INTEGER NOT NULL,"
		" action TEXT NOT NULL, type INTEGER, path BLOB, old_path BLOB,"
		" attrs TEXT, bytes_changed INTEGER, ranges TEXT, backend TEXT,"
		" pid INTEGER, exe BLOB, uid INTEGER, detail TEXT);"
		"CREATE INDEX event_time ON event(time);");
}

const char *event_kind_name(int kind)
{
	switch (kind) {
	case EVENT_CHANGE: return "change";
	case EVENT_GAP: return "gap";
	case EVENT_RESCAN: return "rescan";
	default: return "unknown";
	}
}

static void bind_text(sqlite3_stmt *s, int i, const char *t)
{
	if (t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
}

int store_event_add(struct store *st, const struct store_event *ev)
{
	sqlite3_stmt *s = st_ext(st, E_ADD, "INSERT INTO event(time, snap, "
				 "kind, action, type, path, old_path, attrs, "
				 "bytes_changed, ranges, backend, pid, exe, "
				 "uid, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
				 "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");

	sqlite3_bind_int64(s, 1, ev->time_ns ? ev->time_ns : now_ns());
	if (ev->snap)
		sqlite3_bind_int64(s, 2, ev->snap);
	sqlite3_bind_int(s, 3, ev->kind);
	sqlite3_bind_text(s, 4, ev->action ? ev->action : "", -1,
			  SQLITE_STATIC);
	if (ev->type)
		sqlite3_bind_int(s, 5, ev->type);
	if (ev->path)
		st_bind_blob(s, 6, ev->path, ev->pathlen);
	if (ev->old_path)
		st_bind_blob(s, 7, ev->old_path, ev->old_pathlen);
	bind_text(s, 8, ev->attrs);
	if (ev->bytes_changed >= 0)
		sqlite3_bind_int64(s, 9, ev->bytes_changed);
	bind_text(s, 10, ev->ranges);
	bind_text(s, 11, ev->backend);
	if (ev->pid > 0)
		sqlite3_bind_int64(s, 12, ev->pid);
	if (ev->exe)
		st_bind_blob(s, 13, ev->exe, ev->exelen);
	if (ev->uid >= 0)
		sqlite3_bind_int64(s, 14, ev->uid);
	bind_text(s, 15, ev->detail);
	return st_step_done(st, s, "cannot record an event");
}

int store_event_record(struct store *st, const struct store_event *ev,
		       int busy_ms, store_event_fn with, void *data)
{
	int ret;

	if (st->snap) {
		if ((ret = store_event_add(st, ev)))
			return ret;
		return with ? with(st, ev, data) : 0;
	}
	if ((ret = st_begin(st, busy_ms)))
		return ret;
	/* the event and what goes with it: both, or neither */
	ret = store_event_add(st, ev);
	if (!ret && with)
		ret = with(st, ev, data);
	if (!ret && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
		ret = st_error(st, "cannot record an event");
	if (ret)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

int store_events_foreach(struct store *st, int64_t after_seq,
			 int64_t since_ns,
			 int (*fn)(const struct store_event *, void *),
			 void *data)
{
	sqlite3_stmt *s;
	int rc = SQLITE_DONE, ret = 0;

	/* not cached: a listing is one statement per run */
	if (sqlite3_prepare_v2(st->db, "SELECT seq, time, snap, kind, action, "
			       "type, path, old_path, attrs, bytes_changed, "
			       "ranges, backend, pid, exe, uid, detail FROM "
			       "event WHERE seq > ?1 AND time >= ?2 ORDER BY seq",
			       -1, &s, NULL) != SQLITE_OK)
		return st_error(st, "cannot read the events");
	sqlite3_bind_int64(s, 1, after_seq);
	sqlite3_bind_int64(s, 2, since_ns);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.seq = sqlite3_column_int64(s, 0);
		ev.time_ns = sqlite3_column_int64(s, 1);
		ev.snap = sqlite3_column_int64(s, 2);
		ev.kind = sqlite3_column_int(s, 3);
		ev.action = col_text(s, 4);
		ev.type = sqlite3_column_int(s, 5);
		if (sqlite3_column_type(s, 6) != SQLITE_NULL) {
			ev.path = sqlite3_column_blob(s, 6);
			ev.pathlen = sqlite3_column_bytes(s, 6);
			if (!ev.path)
				ev.path = "";
		}
		if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
			ev.old_path = sqlite3_column_blob(s, 7);
			ev.old_pathlen = sqlite3_column_bytes(s, 7);
			if (!ev.old_path)
				ev.old_path = "";
		}
		ev.attrs = col_text(s, 8);
		ev.bytes_changed = sqlite3_column_type(s, 9) == SQLITE_NULL ?
				   -1 : sqlite3_column_int64(s, 9);
		ev.ranges = col_text(s, 10);
		ev.backend = col_text(s, 11);
		ev.pid = sqlite3_column_int64(s, 12);
		if (sqlite3_column_type(s, 13) != SQLITE_NULL) {
			ev.exe = sqlite3_column_blob(s, 13);
			ev.exelen = sqlite3_column_bytes(s, 13);
			if (!ev.exe)
				ev.exe = "";
		}
		ev.uid = sqlite3_column_type(s, 14) == SQLITE_NULL ? -1 :
			 sqlite3_column_int64(s, 14);
		ev.detail = col_text(s, 15);
		if (!ev.action)
			ev.action = "";
		ret = fn(&ev, data);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = st_error(st, "cannot read the events");
	sqlite3_finalize(s);
	return ret;
}

int64_t store_events_last_seq(struct store *st)
{
	sqlite3_stmt *s = st_ext(st, E_LAST, "SELECT max(seq) FROM event");
	int64_t seq = 0;

	if (sqlite3_step(s) == SQLITE_ROW)
		seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return seq;
}

/* ---- hard links ------------------------------------------------------ */

int store_watch_prepare(struct store *st)
{
	return st_exec(st, "CREATE INDEX IF NOT EXISTS version_inode ON "
		       "version(ino) WHERE died IS NULL");
}

/* Regular files (S_IFREG) with more than one link. */
#define LINKED "v.nlink > 1 AND (v.mode & 61440) = 32768"

/* Call fn for each (dev, ino) row of s, bound to snap. */
static int links_each(struct store *st, sqlite3_stmt *s, int64_t snap,
		      int (*fn)(uint64_t dev, uint64_t ino, void *),
		      void *data)
{
	int rc = SQLITE_DONE, ret = 0;

	sqlite3_bind_int64(s, 1, snap);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
			 data);
	sqlite3_reset(s);
	if (ret || rc != SQLITE_DONE)
		return ret ? ret : st_error(st, "store");
	return 0;
}

int store_snapshot_links(struct store *st, int64_t snap, int new_dirs,
			 int (*fn)(uint64_t dev, uint64_t ino, void *),
			 void *data)
{
	int ret;

	/* logged births and deaths */
	ret = links_each(st, st_ext(st, E_LINKS, "SELECT v.dev, v.ino FROM "
		"change c JOIN version v ON v.dir = c.dir AND v.name = c.name "
		"WHERE c.snap = ?1 AND (v.born = ?1 OR v.died = ?1) AND "
		LINKED), snap, fn, data);
	if (ret || !new_dirs)
		return ret;
	/* births in directories this snapshot created are not logged */
	return links_each(st, st_ext(st, E_LINKS_NEW, "SELECT v.dev, v.ino "
		"FROM dir d JOIN version v ON v.dir = d.id WHERE d.created = ?1 "
		"AND v.born = ?1 AND " LINKED), snap, fn, data);
}

int store_alive_names(struct store *st, uint64_t dev, uint64_t ino,
		      store_name_fn fn, void *data)
{
	sqlite3_stmt *s = st_ext(st, E_NAMES, "SELECT d.path, v.name FROM "
				 "version v JOIN dir d ON d.id = v.dir WHERE "
				 "v.ino = ?2 AND v.died IS NULL AND v.dev = ?1");
	int rc = SQLITE_DONE, ret = 0;

	sqlite3_bind_int64(s, 1, (int64_t)dev);
	sqlite3_bind_int64(s, 2, (int64_t)ino);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn(sqlite3_column_blob(s, 0), sqlite3_column_bytes(s, 0),
			 sqlite3_column_blob(s, 1), sqlite3_column_bytes(s, 1),
			 data);
	sqlite3_reset(s);
	if (!ret && rc != SQLITE_DONE)
		ret = st_error(st, "store");
	return ret;
}

