/*
 * store.c: the SQLite snapshot store (the model is described in store.h
 * and DESIGN.md).
 *
 * Sections:
 *   opening      open, defensive settings, schema creation and checks
 *   statements   the prepared statement cache
 *   snapshots    resolve, get, foreach
 *   writing      begin / merge / commit / abort
 *   reading      alive ranges, candidates, versions
 *   names        user and group names
 *   accept       baseline overrides
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store-private.h"

#define STORE_APP_ID 0x46494d53   /* "FIMS" */
#define STORE_SCHEMA 4

/*
 * Migrations: migrations[v] turns schema version v into v + 1. They run
 * in one transaction when a store is opened, so a store is either fully
 * at the old version or fully at the new one.
 */
static int (*const migrations[STORE_SCHEMA])(struct store *) = {
	[1] = st_migrate_content,
	[2] = st_migrate_outbox,
	[3] = st_migrate_events,
};

enum {
	S_DIR_GET, S_DIR_INS, S_DIR_SUB, S_DIR_ALL,
	S_RANGE_LH, S_RANGE_L, S_RANGE_H, S_RANGE_ALL, S_RANGE_EQ,
	S_VER_INS, S_VER_KILL, S_VER_DEL, S_VER_SETCONTENT, S_LOG, S_LOG_DIR, S_KILL_DIR,
	S_AT, S_AT_BORN, S_OVERRIDE, S_VERSIONS,
	S_NAME_PUT, S_NAME_GET, S_STARTED,
	S_COUNT
};

_Static_assert(S_COUNT <= STORE_STMTS, "raise STORE_STMTS");

static const char *const sql[S_COUNT] = {
	[S_DIR_GET] = "SELECT id, created FROM dir WHERE path = ?1",
	[S_DIR_INS] = "INSERT INTO dir(path, created) VALUES(?1, ?2)",
	/* directories at or below ?1: path = ?1, or ?2 <= path < ?3 */
	[S_DIR_SUB] = "SELECT id FROM dir WHERE path = ?1 "
		      "OR (path >= ?2 AND path < ?3)",
	[S_DIR_ALL] = "SELECT id FROM dir WHERE path >= ?1",
#define VCOLS "name, born, died, mode, uid, gid, size, mtime, ctime, ino, " \
	      "dev, nlink, rdev, target, xattrs, iflags, hashes, state, " \
	      "clist, content, prefix"
	[S_RANGE_LH] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
		       "name > ?2 AND name <= ?3 AND died IS NULL ORDER BY name",
	[S_RANGE_L] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
		      "name > ?2 AND died IS NULL ORDER BY name",
	[S_RANGE_H] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
		      "name <= ?3 AND died IS NULL ORDER BY name",
	[S_RANGE_ALL] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
			"died IS NULL ORDER BY name",
	[S_RANGE_EQ] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
		       "name = ?2 AND died IS NULL",
	[S_VER_INS] = "INSERT INTO version(dir, " VCOLS ") VALUES(?1, ?2, ?3, "
		      "NULL, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
		      "?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	[S_VER_KILL] = "UPDATE version SET died = ?4 WHERE dir = ?1 AND "
		       "name = ?2 AND born = ?3",
	[S_VER_DEL] = "DELETE FROM version WHERE dir = ?1 AND name = ?2 AND "
		      "born = ?3",
	[S_VER_SETCONTENT] = "UPDATE version SET clist = ?4, content = ?5 "
			     "WHERE dir = ?1 AND name = ?2 AND born = ?3",
	[S_LOG] = "INSERT OR IGNORE INTO change(snap, dir, name) "
		  "VALUES(?1, ?2, ?3)",
	[S_LOG_DIR] = "INSERT OR IGNORE INTO change(snap, dir, name) "
		      "SELECT ?1, dir, name FROM version "
		      "WHERE dir = ?2 AND died IS NULL",
	[S_KILL_DIR] = "UPDATE version SET died = ?1 "
		       "WHERE dir = ?2 AND died IS NULL",
	[S_AT] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
		 "name = ?2 AND born <= ?3 AND (died IS NULL OR died > ?3) "
		 "ORDER BY born DESC LIMIT 1",
	[S_AT_BORN] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
		      "name = ?2 AND born = ?3",
	[S_OVERRIDE] = "SELECT born FROM override WHERE dir = ?1 AND name = ?2",
	[S_VERSIONS] = "SELECT " VCOLS " FROM version WHERE dir = ?1 AND "
		       "name = ?2 ORDER BY born",
	[S_NAME_PUT] = "INSERT OR REPLACE INTO idname(kind, id, name) "
		       "VALUES(?1, ?2, ?3)",
	[S_NAME_GET] = "SELECT name FROM idname WHERE kind = ?1 AND id = ?2",
	[S_STARTED] = "SELECT started FROM snapshot WHERE id = ?1",
};

/* ---- opening ------------------------------------------------------- */

int st_error(struct store *st, const char *what)
{
	int code = sqlite3_extended_errcode(st->db);

	switch (code & 0xff) {
	case SQLITE_FULL:
		error("%s: store %s: disk full", what, st->path);
		return EXIT_FULL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		/* busy_wait() gave up because it was asked to stop */
		if (st->stop && st->stop())
			return EXIT_INTERRUPTED;
		error("store %s is busy: another fimscan is writing it "
		      "(try again later, or raise busy-timeout)", st->path);
		return EXIT_BUSY;
	case SQLITE_INTERRUPT:
		return EXIT_INTERRUPTED;
	case SQLITE_NOMEM:
		error("%s: out of memory", what);
		return EXIT_INTERNAL;
	default:
		error("%s: store %s: %s", what, st->path, sqlite3_errmsg(st->db));
		return EXIT_STORE;
	}
}

/*
 * The busy handler of a connection with a stop(): SQLite's own back-off
 * (sqliteDefaultBusyCallback), at most busy_ms in all, but asking stop()
 * before each sleep, so that a stop request ends the wait within 100 ms.
 */
static int busy_wait(void *arg, int count)
{
	static const unsigned char delays[] =
		{ 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };
	static const unsigned char totals[] =
		{ 0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228 };
	const int n = (int)ARRAY_SIZE(delays);
	struct store *st = arg;
	int64_t delay, prior;

	if (st->stop())
		return 0;
	if (count < n) {
		delay = delays[count];
		prior = totals[count];
	} else {
		delay = delays[n - 1];
		prior = totals[n - 1] + delay * (count - (n - 1));
	}
	if (prior + delay > st->busy_ms) {
		delay = st->busy_ms - prior;
		if (delay <= 0)
			return 0;
	}
	sqlite3_sleep((int)delay);
	return 1;
}

void st_set_busy(struct store *st, int ms)
{
	if (st->stop)
		st->busy_ms = ms;
	else
		sqlite3_busy_timeout(st->db, ms);
}

void store_set_stop(struct store *st, int (*stop)(void))
{
	st->stop = stop;
	if (stop)
		sqlite3_busy_handler(st->db, busy_wait, st);
	st_set_busy(st, 5000);
}

int st_exec(struct store *st, const char *q)
{
	if (sqlite3_exec(st->db, q, NULL, NULL, NULL) != SQLITE_OK)
		return st_error(st, "store");
	return 0;
}

static int pragma_int(struct store *st, const char *q, int64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, q, -1, &s, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static const char schema[] =
	"PRAGMA application_id = 1179209043;"   /* 0x46494d53 */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"CREATE TABLE config(id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);"
	"CREATE TABLE snapshot(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind INTEGER NOT NULL, started INTEGER, finished INTEGER,"
	" host TEXT, user TEXT, config INTEGER, hashes TEXT,"
	" entries INTEGER, added INTEGER, removed INTEGER, changed INTEGER,"
	" warnings INTEGER, unstable INTEGER, bytes_hashed INTEGER);"
	"CREATE TABLE snapshot_root(snap INTEGER NOT NULL, path BLOB NOT NULL,"
	" PRIMARY KEY(snap, path)) WITHOUT ROWID;"
	"CREATE TABLE dir(id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE version(dir INTEGER NOT NULL, name BLOB NOT NULL,"
	" born INTEGER NOT NULL, died INTEGER, mode INTEGER, uid INTEGER,"
	" gid INTEGER, size INTEGER, mtime INTEGER, ctime INTEGER, ino INTEGER,"
	" dev INTEGER, nlink INTEGER, rdev INTEGER, target BLOB, xattrs BLOB,"
	" iflags INTEGER, hashes BLOB, state INTEGER,"
	" PRIMARY KEY(dir, name, born)) WITHOUT ROWID;"
	"CREATE INDEX version_died ON version(died) WHERE died IS NOT NULL;"
	"CREATE TABLE change(snap INTEGER NOT NULL, dir INTEGER NOT NULL,"
	" name BLOB NOT NULL, PRIMARY KEY(snap, dir, name)) WITHOUT ROWID;"
	"CREATE TABLE idname(kind INTEGER NOT NULL, id INTEGER NOT NULL,"
	" name TEXT, PRIMARY KEY(kind, id)) WITHOUT ROWID;"
	"CREATE TABLE accept(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time INTEGER, user TEXT, baseline_before INTEGER, to_snap INTEGER,"
	" count INTEGER, paths BLOB);"
	"CREATE TABLE override(dir INTEGER NOT NULL, name BLOB NOT NULL,"
	" born INTEGER, accept INTEGER, PRIMARY KEY(dir, name)) WITHOUT ROWID;"
	"PRAGMA user_version = 1;";

static int mkdir_parents(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = 0;

	strbuf_addstr(&sb, path);
	for (size_t i = 1; i < sb.len; i++) {
		if (sb.buf[i] != '/')
			continue;
		sb.buf[i] = '\0';
		if (mkdir(sb.buf, 0700) && errno != EEXIST) {
			ret = error("cannot create directory %s for the store: %s",
				    escaped(sb.buf, i), strerror(errno));
			break;
		}
		sb.buf[i] = '/';
	}
	strbuf_release(&sb);
	return ret;
}

static int migrate(struct store *st, int64_t ver)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	if ((ret = st_begin(st, 5000)))
		return ret;
	for (; ver < STORE_SCHEMA; ver++) {
		if ((ret = migrations[ver](st)))
			goto fail;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "PRAGMA user_version = %lld", (long long)ver + 1);
		if ((ret = st_exec(st, sb.buf)))
			goto fail;
	}
	strbuf_release(&sb);
	return st_exec(st, "COMMIT");
fail:
	strbuf_release(&sb);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	error("cannot upgrade store %s to schema version %d; it was left as "
	      "it was", st->path, STORE_SCHEMA);
	return ret;
}

static int check_schema(struct store *st, int flags)
{
	int64_t app = 0, ver = 0, tables = 0;

	if (pragma_int(st, "PRAGMA application_id", &app) ||
	    pragma_int(st, "PRAGMA user_version", &ver) ||
	    pragma_int(st, "SELECT count(*) FROM sqlite_schema", &tables)) {
		error("%s is not a fimscan store (%s)", st->path,
		      sqlite3_errmsg(st->db));
		return EXIT_STORE;
	}
	if (!tables && !app) {
		int ret;
		if (!(flags & STORE_WRITE)) {
			error("%s is an empty store: run 'fimscan baseline' first",
			      st->path);
			return EXIT_NOSNAP;
		}
		/* A fresh file: WAL is persistent, set it once. */
		if ((ret = st_exec(st, "PRAGMA journal_mode = WAL")) ||
		    (ret = st_exec(st, "BEGIN IMMEDIATE")))
			return ret;
		if ((ret = st_exec(st, schema))) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return ret;
		}
		if ((ret = st_exec(st, "COMMIT")))
			return ret;
		return migrate(st, 1);
	}
	if (app != STORE_APP_ID) {
		error("%s is not a fimscan store (application id 0x%llx); "
		      "refusing to touch it", st->path, (unsigned long long)app);
		return EXIT_STORE;
	}
	if (ver < 1 || ver > STORE_SCHEMA) {
		error("store %s has schema version %lld, this fimscan knows "
		      "versions 1 to %d: use the fimscan that wrote it, or a "
		      "newer one", st->path, (long long)ver, STORE_SCHEMA);
		return EXIT_STORE;
	}
	return ver < STORE_SCHEMA ? migrate(st, ver) : 0;
}

int store_open(struct store **out, const char *path, int flags)
{
	struct store *st = xcalloc(1, sizeof(*st));
	/* A store is never reached through a symbolic link. */
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		     SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW;
	int ret;

	st->path = xstrdup(path);
	st->flags = flags;
	strbuf_init(&st->dir, 0);
	*out = NULL;
	if (flags & STORE_WRITE) {
		int fd;
		if ((ret = mkdir_parents(path) ? EXIT_STORE : 0))
			goto fail;
		/*
		 * Create it 0600 ourselves: SQLite would follow the umask,
		 * and the -wal and -shm files copy the database's mode. Only
		 * when it does not exist yet: close() drops every POSIX lock
		 * this process holds on the file, so opening and closing an
		 * existing store next to a live connection (the watch
		 * daemon's shipper) would let another process think it is
		 * the last user and delete the WAL under us.
		 */
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
		if (fd >= 0) {
			close(fd);
		} else if (errno != EEXIST) {
			error("cannot create store %s: %s", path,
			      strerror(errno));
			ret = EXIT_STORE;
			goto fail;
		}
		oflags |= SQLITE_OPEN_CREATE;
	} else if (access(path, F_OK)) {
		error("no store at %s: run 'fimscan baseline' first "
		      "(or give --db)", path);
		ret = EXIT_STORE;
		goto fail;
	}
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		struct stat sb;

		if (!lstat(path, &sb) && S_ISLNK(sb.st_mode))
			error("cannot open store %s: it is a symbolic link; "
			      "give the store's own path with --db", path);
		else
			error("cannot open store %s: %s", path, st->db ?
			      sqlite3_errmsg(st->db) : "out of memory");
		ret = EXIT_STORE;
		goto fail;
	}
	/* A store is attacker-reachable input: no triggers, views, schema
	 * functions or writable schema, and check cells as they are read. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0,
			  NULL);
	sqlite3_busy_timeout(st->db, 5000);
	/* Keep -wal and -shm between runs: creating and deleting them
	 * would change the store's directory on every run, a false alarm
	 * whenever the store lives inside a monitored root. */
	{
		int persist = 1;
		sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL,
				     &persist);
	}
	/* The writer gets a cache that holds a big snapshot's hot pages;
	 * readers (rehash lookups, diff) need little. */
	if ((ret = st_exec(st, "PRAGMA cell_size_check = ON;"
			    "PRAGMA synchronous = FULL;"
			    "PRAGMA foreign_keys = OFF;")) ||
	    (ret = st_exec(st, flags & STORE_WRITE ? "PRAGMA cache_size = -16384"
						: "PRAGMA cache_size = -4096")))
		goto fail;
	if ((ret = check_schema(st, flags)))
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return ret;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (int i = 0; i < EXT_COUNT; i++)
		sqlite3_finalize(st->ext[i]);
	store_content_free(st);
	if (st->snap)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(st->db);
	for (size_t i = 0; i < st->nnames; i++)
		free(st->names[i].name);
	for (size_t i = 0; i < st->old_alloc; i++)
		fim_entry_release(&st->old[i]);
	free(st->old);
	free(st->names);
	strbuf_release(&st->dir);
	free(st->path);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

size_t store_own_files(struct store *st, struct store_file_id *out,
		       size_t max)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	struct strbuf sb = STRBUF_INIT;
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(suffix) && n < max; i++) {
		struct stat s;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s%s", st->path, suffix[i]);
		if (!stat(sb.buf, &s)) {
			out[n].dev = s.st_dev;
			out[n].ino = s.st_ino;
			n++;
		}
	}
	strbuf_release(&sb);
	return n;
}

/* ---- statements ---------------------------------------------------- */

static sqlite3_stmt *stmt(struct store *st, int i)
{
	sqlite3_stmt *s = st->stmt[i];

	if (!s) {
		if (sqlite3_prepare_v3(st->db, sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &s,
				       NULL) != SQLITE_OK)
			die("cannot prepare statement %d: %s", i,
			    sqlite3_errmsg(st->db));
		st->stmt[i] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

sqlite3_stmt *st_ext(struct store *st, int slot, const char *q)
{
	sqlite3_stmt *s = st->ext[slot];

	if (!s) {
		if (sqlite3_prepare_v3(st->db, q, -1, SQLITE_PREPARE_PERSISTENT,
				       &s, NULL) != SQLITE_OK)
			die("cannot prepare statement: %s: %s", q,
			    sqlite3_errmsg(st->db));
		st->ext[slot] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

void st_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len)
{
	/* An empty name is still a BLOB, never NULL. */
	sqlite3_bind_blob64(s, i, len ? p : "", len, SQLITE_STATIC);
}

/* Step a statement that returns no rows. */
int st_step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return st_error(st, what);
	return 0;
}

static void row_to_entry(sqlite3_stmt *s, struct fim_entry *e)
{
	const void *p;
	int n;

	strbuf_reset(&e->name);
	strbuf_add(&e->name, sqlite3_column_blob(s, 0),
		   sqlite3_column_bytes(s, 0));
	e->born = sqlite3_column_int64(s, 1);
	e->died = sqlite3_column_int64(s, 2);
	e->mode = sqlite3_column_int64(s, 3);
	e->uid = sqlite3_column_int64(s, 4);
	e->gid = sqlite3_column_int64(s, 5);
	e->size = sqlite3_column_int64(s, 6);
	e->mtime_ns = sqlite3_column_int64(s, 7);
	e->ctime_ns = sqlite3_column_int64(s, 8);
	e->ino = sqlite3_column_int64(s, 9);
	e->dev = sqlite3_column_int64(s, 10);
	e->nlink = sqlite3_column_int64(s, 11);
	e->rdev = sqlite3_column_int64(s, 12);
	strbuf_reset(&e->target);
	if ((p = sqlite3_column_blob(s, 13)))
		strbuf_add(&e->target, p, sqlite3_column_bytes(s, 13));
	strbuf_reset(&e->xattrs);
	if ((p = sqlite3_column_blob(s, 14)))
		strbuf_add(&e->xattrs, p, sqlite3_column_bytes(s, 14));
	e->has_iflags = sqlite3_column_type(s, 15) != SQLITE_NULL;
	e->iflags = sqlite3_column_int64(s, 15);
	e->hashes_len = 0;
	p = sqlite3_column_blob(s, 16);
	n = sqlite3_column_bytes(s, 16);
	if (p && n > 0 && n <= FIM_HASH_BUF) {
		memcpy(e->hashes, p, n);
		e->hashes_len = n;
	}
	e->state = sqlite3_column_int(s, 17);
	e->clist_id = sqlite3_column_type(s, 18) == SQLITE_NULL ? -1 :
		      sqlite3_column_int64(s, 18);
	e->content = sqlite3_column_int(s, 19) != 0;
	e->prefix = sqlite3_column_int64(s, 20);
	e->trusted = 0;
	e->err = 0;
}

/* ---- snapshots ----------------------------------------------------- */

const char *snap_kind_name(int kind)
{
	switch (kind) {
	case SNAP_BASELINE: return "baseline";
	case SNAP_SCAN: return "scan";
	case SNAP_WATCH: return "watch";
	default: return "unknown";
	}
}

int64_t st_meta_int(struct store *st, const char *key)
{
	sqlite3_stmt *s;
	int64_t v = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

int st_meta_set_int(struct store *st, const char *key, int64_t v)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta(key, value)"
			       " VALUES(?1, ?2)", -1, &s, NULL) != SQLITE_OK)
		return st_error(st, "store");
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, v);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : st_error(st, "store");
}

/* The nth newest snapshot id (0 = latest), 0 when there is none. */
static int64_t nth_newest(struct store *st, int n)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT id FROM snapshot ORDER BY id "
			       "DESC LIMIT 1 OFFSET ?1", -1, &s,
			       NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int(s, 1, n);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return id;
}

static int snapshot_exists(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int found;

	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM snapshot WHERE id = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(s, 1, id);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

int store_resolve(struct store *st, const char *ref, struct store_ref *out)
{
	char *end;
	long long v;

	out->overlay = 0;
	out->snap = 0;
	if (!strcmp(ref, "baseline")) {
		out->snap = st_meta_int(st, "baseline");
		out->overlay = 1;
		if (!out->snap) {
			error("no baseline in %s yet: run 'fimscan baseline' "
			      "first", st->path);
			return EXIT_NOSNAP;
		}
		return 0;
	}
	if (!strcmp(ref, "latest") || !strcmp(ref, "previous")) {
		out->snap = nth_newest(st, ref[0] == 'p');
		if (!out->snap) {
			error("no %s snapshot in %s (there %s)", ref, st->path,
			      nth_newest(st, 0) ? "is only one" : "are none");
			return EXIT_NOSNAP;
		}
		return 0;
	}
	errno = 0;
	v = strtoll(ref, &end, 10);
	if (!*ref || *end || errno || v <= 0) {
		error("bad snapshot reference '%s': use an id, 'baseline', "
		      "'latest' or 'previous'", escaped(ref, strlen(ref)));
		return EXIT_USAGE;
	}
	if (!snapshot_exists(st, v)) {
		error("no snapshot %lld in %s (see 'fimscan log')", v,
		      st->path);
		return EXIT_NOSNAP;
	}
	out->snap = v;
	return 0;
}

void snapshot_info_release(struct snapshot_info *si)
{
	for (size_t i = 0; i < si->nroots; i++)
		free(si->roots[i]);
	free(si->roots);
	free(si->rootlens);
	free(si->config);
	free(si->hashes);
	free(si->host);
	free(si->user);
	memset(si, 0, sizeof(*si));
}

static char *col_strdup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return xstrdup(t ? (const char *)t : "");
}

#define SNAP_COLS "s.id, s.kind, s.started, s.finished, s.host, s.user, " \
		  "c.text, s.hashes, s.entries, s.added, s.removed, " \
		  "s.changed, s.warnings, s.unstable, s.bytes_hashed"

static int load_roots(struct store *st, struct snapshot_info *si)
{
	sqlite3_stmt *s;
	size_t alloc = 0, lalloc = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT path FROM snapshot_root WHERE "
			       "snap = ?1 ORDER BY path", -1, &s,
			       NULL) != SQLITE_OK)
		return st_error(st, "store");
	sqlite3_bind_int64(s, 1, si->id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		size_t len = sqlite3_column_bytes(s, 0);
		ALLOC_GROW(si->roots, si->nroots + 1, alloc);
		ALLOC_GROW(si->rootlens, si->nroots + 1, lalloc);
		si->roots[si->nroots] = xmemdup(sqlite3_column_blob(s, 0), len);
		si->rootlens[si->nroots++] = len;
	}
	sqlite3_finalize(s);
	return 0;
}

static void row_to_info(sqlite3_stmt *s, struct snapshot_info *si,
			int64_t baseline)
{
	memset(si, 0, sizeof(*si));
	si->id = sqlite3_column_int64(s, 0);
	si->kind = sqlite3_column_int(s, 1);
	si->started_ns = sqlite3_column_int64(s, 2);
	si->finished_ns = sqlite3_column_int64(s, 3);
	si->host = col_strdup(s, 4);
	si->user = col_strdup(s, 5);
	si->config = col_strdup(s, 6);
	si->hashes = col_strdup(s, 7);
	si->entries = sqlite3_column_int64(s, 8);
	si->added = sqlite3_column_int64(s, 9);
	si->removed = sqlite3_column_int64(s, 10);
	si->changed = sqlite3_column_int64(s, 11);
	si->warnings = sqlite3_column_int64(s, 12);
	si->unstable = sqlite3_column_int64(s, 13);
	si->bytes_hashed = sqlite3_column_int64(s, 14);
	si->is_baseline = si->id == baseline;
}

int store_snapshot_get(struct store *st, int64_t id, struct snapshot_info *out)
{
	sqlite3_stmt *s;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, "SELECT " SNAP_COLS " FROM snapshot s "
			       "LEFT JOIN config c ON c.id = s.config "
			       "WHERE s.id = ?1", -1, &s, NULL) != SQLITE_OK)
		return st_error(st, "store");
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		row_to_info(s, out, st_meta_int(st, "baseline"));
	} else {
		error("no snapshot %lld in %s", (long long)id, st->path);
		ret = EXIT_NOSNAP;
	}
	sqlite3_finalize(s);
	if (!ret)
		ret = load_roots(st, out);
	return ret;
}

int64_t store_snapshot_started(struct store *st, int64_t id)
{
	sqlite3_stmt *s = stmt(st, S_STARTED);
	int64_t started = 0;

	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		started = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return started;
}

int store_snapshot_foreach(struct store *st,
			   int (*fn)(const struct snapshot_info *, void *),
			   void *data)
{
	sqlite3_stmt *s;
	int64_t baseline = st_meta_int(st, "baseline");
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT " SNAP_COLS " FROM snapshot s "
			       "LEFT JOIN config c ON c.id = s.config "
			       "ORDER BY s.id", -1, &s, NULL) != SQLITE_OK)
		return st_error(st, "store");
	while (!ret && sqlite3_step(s) == SQLITE_ROW) {
		struct snapshot_info si;
		row_to_info(s, &si, baseline);
		ret = load_roots(st, &si);
		if (!ret)
			ret = fn(&si, data);
		snapshot_info_release(&si);
	}
	sqlite3_finalize(s);
	return ret;
}

/* ---- writing ------------------------------------------------------- */

int st_begin(struct store *st, int busy_ms)
{
	int rc;

	st_set_busy(st, busy_ms);
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	st_set_busy(st, 5000);
	if (rc != SQLITE_OK)
		return st_error(st, "cannot start writing");
	return 0;
}

static int64_t config_id(struct store *st, const char *text)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO config(text) VALUES(?1) "
			       "ON CONFLICT(text) DO UPDATE SET text = text "
			       "RETURNING id", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else
		id = -1;
	sqlite3_finalize(s);
	return id;
}

static const char *current_user(void)
{
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_name : "?";
}

int store_begin_snapshot(struct store *st, const struct snapshot_start *ss,
			 int64_t *id)
{
	char host[256] = "";
	sqlite3_stmt *s = NULL;
	int64_t cfg;
	int ret;

	if ((ret = st_begin(st, ss->busy_ms)))
		return ret;
	if ((cfg = config_id(st, ss->config ? ss->config : "")) < 0)
		goto fail;
	gethostname(host, sizeof(host) - 1);
	if (sqlite3_prepare_v2(st->db, "INSERT INTO snapshot(kind, started, "
			       "host, user, config, hashes) VALUES(?1, ?2, ?3, "
			       "?4, ?5, ?6)", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int(s, 1, ss->kind);
	sqlite3_bind_int64(s, 2, now_ns());
	sqlite3_bind_text(s, 3, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, current_user(), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, cfg);
	sqlite3_bind_text(s, 6, ss->hashes, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	st->snap = sqlite3_last_insert_rowid(st->db);
	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO snapshot_root"
			       "(snap, path) VALUES(?1, ?2)", -1, &s,
			       NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < ss->nroots; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, st->snap);
		st_bind_blob(s, 2, ss->roots[i], ss->rootlens[i]);
		if (sqlite3_step(s) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(s);
	st->snap_kind = ss->kind;
	st->content_max = ss->content_max_total;
	st->content_full_warned = 0;
	st->entries = st->added = st->removed = st->changed = 0;
	st->dir_id = 0;
	*id = st->snap;
	return 0;
fail:
	ret = st_error(st, "cannot start snapshot");
	sqlite3_finalize(s);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->snap = 0;
	return ret;
}

/* Find (or, when writing, create) the id of directory `dir`. */
static int dir_lookup(struct store *st, const char *dir, size_t len,
		      int create, int64_t *id)
{
	sqlite3_stmt *s;
	int rc;

	if (st->dir_id && st->dir.len == len && !memcmp(st->dir.buf, dir, len)) {
		*id = st->dir_id;
		return 0;
	}
	s = stmt(st, S_DIR_GET);
	st_bind_blob(s, 1, dir, len);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		/* A directory merged in several chunks is new in all of
		 * them, not only in the first. */
		if (create)
			st->dir_new = sqlite3_column_int64(s, 1) == st->snap;
		sqlite3_reset(s);
	} else if (rc != SQLITE_DONE) {
		return st_error(st, "store");
	} else if (!create) {
		sqlite3_reset(s);
		*id = 0;
		return 0;
	} else {
		sqlite3_reset(s);
		s = stmt(st, S_DIR_INS);
		st_bind_blob(s, 1, dir, len);
		sqlite3_bind_int64(s, 2, st->snap);
		if ((rc = st_step_done(st, s, "store")))
			return rc;
		*id = sqlite3_last_insert_rowid(st->db);
		st->dir_new = 1;
	}
	if (create) {
		strbuf_reset(&st->dir);
		strbuf_add(&st->dir, dir, len);
		st->dir_id = *id;
	}
	return 0;
}

static int log_entry(struct store *st, int64_t dir, const char *name,
		     size_t len)
{
	sqlite3_stmt *s = stmt(st, S_LOG);

	sqlite3_bind_int64(s, 1, st->snap);
	sqlite3_bind_int64(s, 2, dir);
	st_bind_blob(s, 3, name, len);
	return st_step_done(st, s, "store");
}

static int kill_version(struct store *st, int64_t dir,
			const struct fim_entry *old)
{
	/* Seen twice in one snapshot (a nested root on another filesystem
	 * is also an entry of its parent): the newer look replaces it. */
	sqlite3_stmt *s = stmt(st, old->born == st->snap ? S_VER_DEL
							   : S_VER_KILL);
	int ret;

	sqlite3_bind_int64(s, 1, dir);
	st_bind_blob(s, 2, old->name.buf, old->name.len);
	sqlite3_bind_int64(s, 3, old->born);
	if (old->born != st->snap)
		sqlite3_bind_int64(s, 4, st->snap);
	if ((ret = st_step_done(st, s, "store")))
		return ret;
	return log_entry(st, dir, old->name.buf, old->name.len);
}

/* Remove everything alive below the directory `path`. */
static int kill_subtree(struct store *st, const char *path, size_t len)
{
	struct strbuf lo = STRBUF_INIT, hi = STRBUF_INIT;
	sqlite3_stmt *s;
	int64_t *ids = NULL;
	size_t n = 0, alloc = 0;
	int ret = 0, rc;

	if (len == 1 && path[0] == '/') {
		s = stmt(st, S_DIR_ALL);
		st_bind_blob(s, 1, "/", 1);
	} else {
		/* Children sort between "P/" and "P0" ('0' follows '/'). */
		strbuf_add(&lo, path, len);
		strbuf_addch(&lo, '/');
		strbuf_add(&hi, path, len);
		strbuf_addch(&hi, '0');
		s = stmt(st, S_DIR_SUB);
		st_bind_blob(s, 1, path, len);
		st_bind_blob(s, 2, lo.buf, lo.len);
		st_bind_blob(s, 3, hi.buf, hi.len);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ALLOC_GROW(ids, n + 1, alloc);
		ids[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		ret = st_error(st, "store");
	for (size_t i = 0; !ret && i < n; i++) {
		int changes;
		s = stmt(st, S_LOG_DIR);
		sqlite3_bind_int64(s, 1, st->snap);
		sqlite3_bind_int64(s, 2, ids[i]);
		if ((ret = st_step_done(st, s, "store")))
			break;
		s = stmt(st, S_KILL_DIR);
		sqlite3_bind_int64(s, 1, st->snap);
		sqlite3_bind_int64(s, 2, ids[i]);
		if ((ret = st_step_done(st, s, "store")))
			break;
		changes = sqlite3_changes(st->db);
		st->removed += changes;
	}
	free(ids);
	strbuf_release(&lo);
	strbuf_release(&hi);
	return ret;
}

/*
 * The chunk list and kept bytes of e, stored (or found) before its
 * version row points at them. Content beyond the total limit is not kept,
 * said once per snapshot.
 */
static int put_content(struct store *st, struct fim_entry *e,
		       int64_t *clist, int *kept)
{
	int ret;

	*kept = 0;
	if ((ret = st_clist_put(st, e, clist)))
		return ret;
	if (!e->keep || !*clist)
		return 0;
	if (st->content_max && st_content_total(st) + (int64_t)e->data.len >
			       st->content_max) {
		if (!st->content_full_warned++)
			warning("content-max-total (%lld bytes) reached: the "
				"bytes of %s and later files are not kept "
				"(raise it, or 'fimscan prune' old content)",
				(long long)st->content_max,
				escaped(e->name.buf, e->name.len));
		return 0;
	}
	if ((ret = st_content_put(st, e)))
		return ret;
	*kept = 1;
	return 0;
}

static int insert_version(struct store *st, int64_t dir,
			  struct fim_entry *e, int64_t prefix)
{
	sqlite3_stmt *s;
	int64_t clist = -1;
	int kept = 0, ret;

	/* A file we read has a list (0 when it is a single chunk); one we
	 * trusted lends what its stored version had. */
	if (e->trusted) {
		clist = e->clist_id;
		kept = e->content;
	} else if (fim_type_of(e->mode) == FT_FILE && e->state == FS_OK &&
		   e->hashes_len &&
		   (ret = put_content(st, e, &clist, &kept))) {
		return ret;
	}
	s = stmt(st, S_VER_INS);

	sqlite3_bind_int64(s, 1, dir);
	st_bind_blob(s, 2, e->name.buf, e->name.len);
	sqlite3_bind_int64(s, 3, st->snap);
	sqlite3_bind_int64(s, 4, e->mode);
	sqlite3_bind_int64(s, 5, e->uid);
	sqlite3_bind_int64(s, 6, e->gid);
	sqlite3_bind_int64(s, 7, (int64_t)e->size);
	sqlite3_bind_int64(s, 8, e->mtime_ns);
	sqlite3_bind_int64(s, 9, e->ctime_ns);
	sqlite3_bind_int64(s, 10, (int64_t)e->ino);
	sqlite3_bind_int64(s, 11, (int64_t)e->dev);
	sqlite3_bind_int64(s, 12, (int64_t)e->nlink);
	if (e->rdev)
		sqlite3_bind_int64(s, 13, (int64_t)e->rdev);
	if (e->target.len || fim_type_of(e->mode) == FT_SYMLINK)
		st_bind_blob(s, 14, e->target.buf, e->target.len);
	if (e->xattrs.len)
		st_bind_blob(s, 15, e->xattrs.buf, e->xattrs.len);
	if (e->has_iflags)
		sqlite3_bind_int64(s, 16, e->iflags);
	if (e->hashes_len)
		st_bind_blob(s, 17, e->hashes, e->hashes_len);
	if (e->state)
		sqlite3_bind_int(s, 18, e->state);
	if (clist >= 0)
		sqlite3_bind_int64(s, 19, clist);   /* 0 costs no bytes */
	if (kept)
		sqlite3_bind_int(s, 20, 1);
	if (prefix)
		sqlite3_bind_int64(s, 21, prefix);
	return st_step_done(st, s, "store");
}

static int same_version(const struct fim_entry *a, const struct fim_entry *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns && a->ino == b->ino &&
	       a->dev == b->dev && a->nlink == b->nlink &&
	       a->rdev == b->rdev && a->state == b->state &&
	       a->has_iflags == b->has_iflags &&
	       (!a->has_iflags || a->iflags == b->iflags) &&
	       a->target.len == b->target.len &&
	       !memcmp(a->target.buf, b->target.buf, a->target.len) &&
	       a->xattrs.len == b->xattrs.len &&
	       !memcmp(a->xattrs.buf, b->xattrs.buf, a->xattrs.len) &&
	       a->hashes_len == b->hashes_len &&
	       !memcmp(a->hashes, b->hashes, a->hashes_len);
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Bind a range to the right statement; *stmt_out to step. */
static sqlite3_stmt *range_stmt(struct store *st, int64_t dir,
				const struct store_range *r,
				struct fim_entry *const *ents, size_t n)
{
	sqlite3_stmt *s;

	if (r->flags & STORE_RANGE_EXACT) {
		s = stmt(st, S_RANGE_EQ);
		if (r->lo)
			st_bind_blob(s, 2, r->lo, r->lolen);
		else if (n)
			st_bind_blob(s, 2, ents[0]->name.buf, ents[0]->name.len);
		else
			die("store_merge: exact range without a name");
	} else if (r->lo && r->hi) {
		s = stmt(st, S_RANGE_LH);
	} else if (r->lo) {
		s = stmt(st, S_RANGE_L);
	} else if (r->hi) {
		s = stmt(st, S_RANGE_H);
	} else {
		s = stmt(st, S_RANGE_ALL);
	}
	sqlite3_bind_int64(s, 1, dir);
	if (!(r->flags & STORE_RANGE_EXACT)) {
		if (r->lo)
			st_bind_blob(s, 2, r->lo, r->lolen);
		if (r->hi)
			st_bind_blob(s, 3, r->hi, r->hilen);
	}
	return s;
}

/* Read the alive versions of a range into a growing array. */
static int load_range(struct store *st, int64_t dir,
		      const struct store_range *r,
		      struct fim_entry *const *ents, size_t n,
		      struct fim_entry **out, size_t *nout, size_t *alloc)
{
	sqlite3_stmt *s = range_stmt(st, dir, r, ents, n);
	int rc;

	*nout = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*nout == *alloc) {
			size_t old = *alloc;
			ALLOC_GROW(*out, *nout + 1, *alloc);
			for (size_t i = old; i < *alloc; i++)
				fim_entry_init(&(*out)[i]);
		}
		row_to_entry(s, &(*out)[(*nout)++]);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : st_error(st, "store");
}

static int is_dir(const struct fim_entry *e)
{
	return fim_type_of(e->mode) == FT_DIR;
}

/*
 * An unchanged entry may still gain what its version lacks: its chunk
 * list (a store upgraded from schema 1) or its bytes (content retention
 * turned on). That is not a change: the row is completed in place.
 */
static int complete_version(struct store *st, int64_t dir,
			    struct fim_entry *e, const struct fim_entry *o)
{
	sqlite3_stmt *s;
	int64_t clist = o->clist_id;
	int kept = o->content, ret;

	if (fim_type_of(e->mode) != FT_FILE || e->state != FS_OK ||
	    e->trusted || !e->hashes_len ||
	    (o->clist_id >= 0 && (o->content || !e->keep)))
		return 0;
	if ((ret = put_content(st, e, &clist, &kept)))
		return ret;
	if (clist == o->clist_id && kept == o->content)
		return 0;
	s = stmt(st, S_VER_SETCONTENT);
	sqlite3_bind_int64(s, 1, dir);
	st_bind_blob(s, 2, o->name.buf, o->name.len);
	sqlite3_bind_int64(s, 3, o->born);
	if (clist >= 0)
		sqlite3_bind_int64(s, 4, clist);
	if (kept)
		sqlite3_bind_int(s, 5, 1);
	return st_step_done(st, s, "store");
}

int store_merge(struct store *st, const struct store_range *r,
		struct fim_entry *const *ents, size_t n)
{
	struct fim_entry *old;
	struct strbuf path = STRBUF_INIT;
	size_t nold = 0, i = 0, j = 0;
	int64_t dir;
	int ret;

	if (!st->snap)
		die("store_merge outside a snapshot");
	if ((ret = dir_lookup(st, r->dir, r->dirlen, 1, &dir)))
		return ret;
	if (!st->dir_new &&
	    (ret = load_range(st, dir, r, ents, n, &st->old, &nold,
			      &st->old_alloc)))
		return ret;
	old = st->old;

	while (!ret && (i < n || j < nold)) {
		struct fim_entry *e = i < n ? ents[i] : NULL;
		const struct fim_entry *o = j < nold ? &old[j] : NULL;
		int c = !e ? 1 : !o ? -1 :
			name_cmp(e->name.buf, e->name.len, o->name.buf,
				 o->name.len);

		if (c < 0) {                    /* new entry */
			ret = insert_version(st, dir, e, 0);
			if (!ret && !st->dir_new)
				ret = log_entry(st, dir, e->name.buf,
						e->name.len);
			st->added++;
			st->entries++;
			i++;
			continue;
		}
		if (c > 0 || !same_version(e, o)) {     /* gone or changed */
			ret = kill_version(st, dir, o);
			if (!ret && is_dir(o) && (c > 0 || !is_dir(e))) {
				path_join(&path, r->dir, r->dirlen,
					  o->name.buf, o->name.len);
				ret = kill_subtree(st, path.buf, path.len);
			}
			if (c > 0) {
				st->removed++;
				j++;
				continue;
			}
			/* The scanner proved an append against what it
			 * looked up; it must be this very version. */
			if (!ret)
				ret = insert_version(st, dir, e,
						     e->prefix == o->born ?
						     e->prefix : 0);
			st->changed++;
		} else if (!ret) {
			ret = complete_version(st, dir, e, o);
		}
		st->entries++;
		i++;
		j++;
	}
	/* kill_subtree may have looked up other directories: keep the
	 * cache pointing at this one. */
	strbuf_release(&path);
	return ret;
}

int store_commit_snapshot(struct store *st, const struct snapshot_counts *c)
{
	sqlite3_stmt *s;
	int ret;

	if (!st->snap)
		die("store_commit_snapshot outside a snapshot");
	if ((ret = st_content_flush(st)))
		goto fail_ret;
	/* coalesce: store_outbox_stamp() may have fixed it already */
	if (sqlite3_prepare_v2(st->db, "UPDATE snapshot SET finished = "
			       "coalesce(finished, ?2), entries = ?3, "
			       "added = ?4, removed = ?5, "
			       "changed = ?6, warnings = ?7, unstable = ?8, "
			       "bytes_hashed = ?9 WHERE id = ?1", -1, &s,
			       NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, st->snap);
	sqlite3_bind_int64(s, 2, now_ns());
	sqlite3_bind_int64(s, 3, st->entries);
	sqlite3_bind_int64(s, 4, st->added);
	sqlite3_bind_int64(s, 5, st->removed);
	sqlite3_bind_int64(s, 6, st->changed);
	sqlite3_bind_int64(s, 7, c ? c->warnings : 0);
	sqlite3_bind_int64(s, 8, c ? c->unstable : 0);
	sqlite3_bind_int64(s, 9, c ? c->bytes_hashed : 0);
	if (sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		goto fail;
	}
	sqlite3_finalize(s);
	if (st->snap_kind == SNAP_BASELINE) {
		if ((ret = st_meta_set_int(st, "baseline", st->snap)) ||
		    (ret = st_exec(st, "DELETE FROM override")))
			goto fail_ret;
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	st->snap = 0;
	st->dir_id = 0;
	/* Keep the WAL from holding a copy of a big snapshot; readers in
	 * the way only make this partial, which is fine. */
	sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				  NULL, NULL);
	return 0;
fail:
	ret = st_error(st, "cannot commit snapshot");
fail_ret:
	store_abort_snapshot(st);
	return ret;
}

void store_abort_snapshot(struct store *st)
{
	if (!st->snap)
		return;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->snap = 0;
	st->dir_id = 0;
	store_content_free(st);    /* the pending pack went with it */
}

/* ---- reading ------------------------------------------------------- */

int store_alive_range(struct store *st, const struct store_range *r,
		      int (*fn)(const struct fim_entry *, void *), void *data)
{
	struct fim_entry e;
	sqlite3_stmt *s;
	int64_t dir;
	int rc, ret = 0;

	if ((ret = dir_lookup(st, r->dir, r->dirlen, 0, &dir)) || !dir)
		return ret;
	if ((r->flags & STORE_RANGE_EXACT) && !r->lo)
		return 0;
	s = range_stmt(st, dir, r, NULL, 0);
	fim_entry_init(&e);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_entry(s, &e);
		if (fn(&e, data))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = st_error(st, "store");
	sqlite3_reset(s);
	fim_entry_release(&e);
	return ret;
}

/* Run a query yielding (dir path, name) rows into fn. */
static int each_name(struct store *st, sqlite3_stmt *s, store_name_fn fn,
		     void *data)
{
	int rc, ret = 0;

	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn(sqlite3_column_blob(s, 0), sqlite3_column_bytes(s, 0),
			 sqlite3_column_blob(s, 1), sqlite3_column_bytes(s, 1),
			 data);
	if (!ret && rc != SQLITE_DONE)
		ret = st_error(st, "store");
	sqlite3_finalize(s);
	return ret;
}

int store_candidates(struct store *st, const struct store_ref *a,
		     const struct store_ref *b, store_name_fn fn, void *data)
{
	int64_t lo = a->snap < b->snap ? a->snap : b->snap;
	int64_t hi = a->snap < b->snap ? b->snap : a->snap;
	sqlite3_stmt *s;
	int ret;

	/* Logged births and deaths, then births in directories that were
	 * created (and so not logged) in the interval. */
	if (sqlite3_prepare_v2(st->db,
			       "SELECT d.path, c.name FROM change c JOIN dir d "
			       "ON d.id = c.dir WHERE c.snap > ?1 AND "
			       "c.snap <= ?2", -1, &s, NULL) != SQLITE_OK)
		return st_error(st, "store");
	sqlite3_bind_int64(s, 1, lo);
	sqlite3_bind_int64(s, 2, hi);
	if ((ret = each_name(st, s, fn, data)))
		return ret;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT d.path, v.name FROM dir d JOIN version v "
			       "ON v.dir = d.id WHERE d.created > ?1 AND "
			       "d.created <= ?2 AND v.born > ?1 AND "
			       "v.born <= ?2", -1, &s, NULL) != SQLITE_OK)
		return st_error(st, "store");
	sqlite3_bind_int64(s, 1, lo);
	sqlite3_bind_int64(s, 2, hi);
	if ((ret = each_name(st, s, fn, data)))
		return ret;
	if (!a->overlay && !b->overlay)
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT d.path, o.name FROM override o "
			       "JOIN dir d ON d.id = o.dir", -1, &s,
			       NULL) != SQLITE_OK)
		return st_error(st, "store");
	return each_name(st, s, fn, data);
}

static int fetch_one(struct store *st, sqlite3_stmt *s, struct fim_entry *out)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		row_to_entry(s, out);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : st_error(st, "store");
}

int store_version_at(struct store *st, const struct store_ref *ref,
		     const char *dirp, size_t dirlen, const char *name,
		     size_t namelen, struct fim_entry *out)
{
	sqlite3_stmt *s;
	int64_t dir = 0;
	int ret, rc;

	if ((ret = dir_lookup(st, dirp, dirlen, 0, &dir)))
		return ret;
	if (!dir)
		return 0;
	if (ref->overlay) {
		s = stmt(st, S_OVERRIDE);
		sqlite3_bind_int64(s, 1, dir);
		st_bind_blob(s, 2, name, namelen);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			int absent = sqlite3_column_type(s, 0) == SQLITE_NULL;
			int64_t born = sqlite3_column_int64(s, 0);
			sqlite3_reset(s);
			if (absent)
				return 0;
			s = stmt(st, S_AT_BORN);
			sqlite3_bind_int64(s, 1, dir);
			st_bind_blob(s, 2, name, namelen);
			sqlite3_bind_int64(s, 3, born);
			return fetch_one(st, s, out);
		}
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return st_error(st, "store");
	}
	s = stmt(st, S_AT);
	sqlite3_bind_int64(s, 1, dir);
	st_bind_blob(s, 2, name, namelen);
	sqlite3_bind_int64(s, 3, ref->snap);
	return fetch_one(st, s, out);
}

int store_version_born(struct store *st, const char *dirp, size_t dirlen,
		       const char *name, size_t namelen, int64_t born,
		       struct fim_entry *out)
{
	sqlite3_stmt *s;
	int64_t dir = 0;
	int ret;

	if ((ret = dir_lookup(st, dirp, dirlen, 0, &dir)) || !dir)
		return ret;
	s = stmt(st, S_AT_BORN);
	sqlite3_bind_int64(s, 1, dir);
	st_bind_blob(s, 2, name, namelen);
	sqlite3_bind_int64(s, 3, born);
	return fetch_one(st, s, out);
}

int store_versions(struct store *st, const char *dirp, size_t dirlen,
		   const char *name, size_t namelen,
		   int (*fn)(const struct fim_entry *, void *), void *data)
{
	struct fim_entry e;
	sqlite3_stmt *s;
	int64_t dir;
	int rc, ret;

	if ((ret = dir_lookup(st, dirp, dirlen, 0, &dir)) || !dir)
		return ret;
	s = stmt(st, S_VERSIONS);
	sqlite3_bind_int64(s, 1, dir);
	st_bind_blob(s, 2, name, namelen);
	fim_entry_init(&e);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_entry(s, &e);
		ret = fn(&e, data);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = st_error(st, "store");
	sqlite3_reset(s);
	fim_entry_release(&e);
	return ret;
}

/* ---- names --------------------------------------------------------- */

static const char *name_get(struct store *st, int kind, uint32_t id)
{
	struct name_cache *c;
	sqlite3_stmt *s;

	for (size_t i = 0; i < st->nnames; i++)
		if (st->names[i].kind == kind && st->names[i].id == id)
			return st->names[i].name;
	ALLOC_GROW(st->names, st->nnames + 1, st->names_alloc);
	c = &st->names[st->nnames++];
	c->kind = kind;
	c->id = id;
	c->name = NULL;
	s = stmt(st, S_NAME_GET);
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, id);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		c->name = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return c->name;
}

const char *store_user_name(struct store *st, uint32_t uid)
{
	return name_get(st, 0, uid);
}

const char *store_group_name(struct store *st, uint32_t gid)
{
	return name_get(st, 1, gid);
}

static int name_put(struct store *st, int kind, uint32_t id, const char *name)
{
	sqlite3_stmt *s = stmt(st, S_NAME_PUT);

	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, id);
	if (name)
		sqlite3_bind_text(s, 3, name, -1, SQLITE_TRANSIENT);
	return st_step_done(st, s, "store");
}

int store_note_names(struct store *st, uint32_t uid, const char *user,
		     uint32_t gid, const char *group)
{
	int ret = name_put(st, 0, uid, user);
	return ret ? ret : name_put(st, 1, gid, group);
}

/* ---- accept -------------------------------------------------------- */

int store_accept(struct store *st, const struct store_ref *to,
		 const struct store_accept_item *items, size_t n,
		 const char *paths_text, int busy_ms, int64_t *accept_id)
{
	struct fim_entry e;
	sqlite3_stmt *s = NULL;
	int64_t before, acc, dir;
	int ret;

	if ((ret = st_begin(st, busy_ms)))
		return ret;
	before = st_meta_int(st, "baseline");
	fim_entry_init(&e);
	if (sqlite3_prepare_v2(st->db, "INSERT INTO accept(time, user, "
			       "baseline_before, to_snap, count, paths) "
			       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1, &s,
			       NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, now_ns());
	sqlite3_bind_text(s, 2, current_user(), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, before);
	sqlite3_bind_int64(s, 4, to->snap);
	sqlite3_bind_int64(s, 5, (int64_t)n);
	st_bind_blob(s, 6, paths_text, strlen(paths_text));
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	s = NULL;
	acc = sqlite3_last_insert_rowid(st->db);

	if (!n) {
		if ((ret = st_meta_set_int(st, "baseline", to->snap)) ||
		    (ret = st_exec(st, "DELETE FROM override")))
			goto fail_ret;
	}
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO override(dir, "
			       "name, born, accept) VALUES(?1, ?2, ?3, ?4)",
			       -1, &s, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		int found;
		if ((ret = dir_lookup(st, items[i].dir, items[i].dirlen, 0,
				      &dir)))
			goto fail_ret;
		if (!dir)
			continue;       /* never stored: nothing to accept */
		found = store_version_at(st, to, items[i].dir, items[i].dirlen,
					 items[i].name, items[i].namelen, &e);
		if (found < 0 || found > 1) {
			ret = found;
			goto fail_ret;
		}
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, dir);
		st_bind_blob(s, 2, items[i].name, items[i].namelen);
		if (found)
			sqlite3_bind_int64(s, 3, e.born);
		else
			sqlite3_bind_null(s, 3);
		sqlite3_bind_int64(s, 4, acc);
		if (sqlite3_step(s) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	fim_entry_release(&e);
	if (accept_id)
		*accept_id = acc;
	return 0;
fail:
	ret = st_error(st, "cannot record accept");
fail_ret:
	sqlite3_finalize(s);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	fim_entry_release(&e);
	return ret;
}

int store_accept_foreach(struct store *st,
			 int (*fn)(const struct accept_info *, void *),
			 void *data)
{
	sqlite3_stmt *s;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT id, time, user, "
			       "baseline_before, to_snap, count, paths FROM "
			       "accept ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return st_error(st, "store");
	while (!ret && sqlite3_step(s) == SQLITE_ROW) {
		struct accept_info a = {
			.id = sqlite3_column_int64(s, 0),
			.time_ns = sqlite3_column_int64(s, 1),
			.baseline_before = sqlite3_column_int64(s, 3),
			.to_snap = sqlite3_column_int64(s, 4),
			.count = sqlite3_column_int64(s, 5),
		};
		a.user = col_strdup(s, 2);
		a.paths = xmemdup(sqlite3_column_blob(s, 6),
				  sqlite3_column_bytes(s, 6));
		ret = fn(&a, data);
		free(a.user);
		free(a.paths);
	}
	sqlite3_finalize(s);
	return ret;
}
