/*
 * store-private.h: what the files of store/ share. Nothing outside store/
 * includes this (or <sqlite3.h>).
 */
#ifndef FIMSCAN_STORE_PRIVATE_H
#define FIMSCAN_STORE_PRIVATE_H

#include <sqlite3.h>

#include "store/store.h"

/* Statements cached per file of store/: store.c numbers its own (S_*). */
#define STORE_STMTS 32
/* Extension slots: each file of store/ owns a range. */
enum {
	EXT_CONTENT = 0,           /* content.c: 0..15 */
	EXT_OUTBOX = 16,           /* outbox.c: 16..31 */
	EXT_EVENTS = 32,           /* events.c: 32..47 */
	EXT_COUNT = 48
};

struct name_cache {
	int kind;
	uint32_t id;
	char *name;               /* NULL: looked up, unknown */
};

struct store {
	sqlite3 *db;
	char *path;
	int flags;                /* STORE_READ / STORE_WRITE */
	sqlite3_stmt *stmt[STORE_STMTS];
	sqlite3_stmt *ext[EXT_COUNT];
	int64_t snap;             /* snapshot being written, 0 if none */
	int snap_kind;
	struct strbuf dir;        /* dir path cached in dir_id */
	int64_t dir_id;           /* 0: nothing cached */
	int dir_new;              /* dir row created by this snapshot */
	int64_t entries, added, removed, changed;
	struct name_cache *names;
	size_t nnames, names_alloc;
	struct fim_entry *old;    /* store_merge: the stored range */
	size_t old_alloc;
	struct store_content *content;   /* content.c state, NULL until used */
	int64_t content_max;      /* content-max-total, 0 = no limit */
	int content_full_warned;
	int (*stop)(void);        /* store_set_stop(), NULL: plain waits */
	int busy_ms;              /* with stop: the lock wait in force */
};

/* Print what went wrong and map the SQLite error to an EXIT_* status. */
int st_error(struct store *st, const char *what);
/* Run SQL without results; 0 or EXIT_*. */
int st_exec(struct store *st, const char *sql);
/* BEGIN IMMEDIATE, waiting at most busy_ms for the write lock. */
int st_begin(struct store *st, int busy_ms);
/* Wait at most ms for another connection's lock from now on, through the
 * stop-aware handler when the connection has one (store_set_stop). */
void st_set_busy(struct store *st, int ms);
/* Bind bytes as a BLOB (never NULL, even when empty). */
void st_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len);
/* Step a statement that returns no rows, reset it; 0 or EXIT_*. */
int st_step_done(struct store *st, sqlite3_stmt *s, const char *what);
int64_t st_meta_int(struct store *st, const char *key);
int st_meta_set_int(struct store *st, const char *key, int64_t v);
/* A cached extension statement, reset and unbound, prepared on first use. */
sqlite3_stmt *st_ext(struct store *st, int slot, const char *sql);

/* content.c, for the writer. */
/* The chunk list row of e's content (found or added), 0 when none kept. */
int st_clist_put(struct store *st, const struct fim_entry *e, int64_t *id);
/* Queue e's bytes (chunks not yet stored) into the pending pack. */
int st_content_put(struct store *st, const struct fim_entry *e);
/* Compress and index the pending pack (at commit, or when full). */
int st_content_flush(struct store *st);
/* Raw bytes of content kept, including the pending pack. */
int64_t st_content_total(struct store *st);
void store_content_free(struct store *st);

/* Schema migrations, each inside the caller's transaction. */
int st_migrate_content(struct store *st);   /* 1 -> 2, content.c */
int st_migrate_outbox(struct store *st);    /* 2 -> 3, outbox.c */
int st_migrate_events(struct store *st);    /* 3 -> 4, events.c */

#endif
