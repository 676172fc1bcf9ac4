/*
 * store.h: the snapshot store. The only code that includes <sqlite3.h>.
 *
 * Model (DESIGN.md has the long version):
 *   - A snapshot is one complete observation of its roots at one time.
 *   - An entry is identified by (dir, name): the directory's full path and
 *     the name inside it, both raw bytes. The root "/" is ("", "/").
 *   - A version is one state of an entry, valid from snapshot `born` until
 *     the snapshot `died` that saw it change or disappear (NULL: alive).
 *     An unchanged rescan writes no version at all, so the store grows with
 *     the number of changes, not with the number of snapshots.
 *   - The change log lists, per snapshot, the entries whose version was born
 *     or died in it, except births inside a directory seen for the first
 *     time (the dir row records which snapshot created it, and candidates
 *     are enumerated from there). A diff costs time proportional to the
 *     changes, and a first baseline pays nothing for the log.
 *   - The baseline is a snapshot plus the overrides that `accept PATH`
 *     recorded since.
 *
 * Every function returns 0 on success or an EXIT_* status (base.h) after
 * printing the reason with error(). Strings returned inside structs are
 * owned by the struct and freed by its _release function.
 */
#ifndef FIMSCAN_STORE_H
#define FIMSCAN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "platform/base.h"

/* ---- the record: one version of one entry -------------------------- */

enum fim_type {
	FT_NONE = 0,   /* absent */
	FT_FILE, FT_DIR, FT_SYMLINK, FT_FIFO, FT_SOCK, FT_CHR, FT_BLK, FT_OTHER
};

enum fim_state {
	FS_OK = 0,
	FS_UNSTABLE = 1,     /* kept changing while being read: no hash */
	FS_UNREADABLE = 2    /* could not be opened or read: no hash */
};

/*
 * Hash algorithms. The numeric ids are part of the store format: never
 * renumber, only append.
 */
enum fim_hash_id {
	HASH_MD5 = 1, HASH_SHA1, HASH_SHA224, HASH_SHA256, HASH_SHA384,
	HASH_SHA512, HASH_SHA512_256, HASH_SHA3_256, HASH_SHA3_384,
	HASH_SHA3_512, HASH_BLAKE2S256, HASH_BLAKE2B512,
	HASH_MAX_ID
};
#define FIM_HASH_MAX 4     /* algorithms per snapshot */
#define FIM_HASH_BUF (FIM_HASH_MAX * (2 + 64))   /* packed, see below */

struct fim_hash_algo {
	int id;
	const char *name;       /* our name, also the JSON attribute name */
	const char *evp_name;   /* OpenSSL's name for EVP_MD_fetch */
	unsigned len;           /* digest bytes */
};
/* NULL when unknown. */
const struct fim_hash_algo *hash_algo_by_name(const char *name);
const struct fim_hash_algo *hash_algo_by_id(int id);

/*
 * One version of one entry. `hashes` is packed: for each algorithm in the
 * order configured, one byte id, one byte length, the digest.
 */
struct fim_entry {
	struct strbuf name;      /* entry name (raw bytes) */
	uint32_t mode;           /* st_mode, file type bits included */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime_ns, ctime_ns;
	uint64_t ino, dev, rdev, nlink;
	uint32_t iflags;         /* inode flags, meaningful if has_iflags */
	unsigned has_iflags : 1;
	unsigned trusted : 1;    /* scanner: hashes copied from the store */
	int state;               /* enum fim_state */
	int err;                 /* scanner: errno behind FS_UNREADABLE */
	struct strbuf target;    /* symlink target (raw bytes) */
	struct strbuf xattrs;    /* packed as in plat_xattrs() */
	unsigned char hashes[FIM_HASH_BUF];
	size_t hashes_len;       /* 0: no hash (not a regular file, or state) */
	int64_t born, died;      /* store: validity (died 0 = alive) */
	/* Byte-level history (regular files). */
	int64_t clist_id;        /* store: chunk list row; 0: the file is one
				  * chunk (no list needed); -1: no list was
				  * recorded (not a file, or an old store) */
	int64_t prefix;          /* store: born of the version this one only
				  * appended to (proven), 0 = not proven */
	unsigned content : 1;    /* store: every chunk's bytes are kept */
	unsigned keep : 1;       /* scanner: keep this version's bytes */
	struct strbuf chunks;    /* scanner: packed chunk list (chunk.h) */
	struct strbuf data;      /* scanner: the bytes to keep */
	struct fim_prev {        /* scanner: the alive version before */
		int64_t born;    /* 0: none */
		uint64_t size;
		int64_t clist_id;
		unsigned content : 1;
		int alg;         /* hash id of digest, 0 = none */
		unsigned len;
		unsigned char digest[64];
	} prev;
};

void fim_entry_init(struct fim_entry *e);
void fim_entry_release(struct fim_entry *e);
/* Deep copy (dst must be initialized). */
void fim_entry_copy(struct fim_entry *dst, const struct fim_entry *src);
enum fim_type fim_type_of(uint32_t mode);
const char *fim_type_name(enum fim_type t);  /* "file", "dir", ... */
/* Find algorithm `id` in packed hashes; returns digest or NULL. */
const unsigned char *fim_entry_hash(const struct fim_entry *e, int id,
				    unsigned *len);

/* ---- opening ------------------------------------------------------- */

struct store;

enum {
	STORE_READ = 0,
	STORE_WRITE = 1,    /* will write: create file and schema if missing */
};

/*
 * Open the store at `path`. With STORE_WRITE, creates the file, its
 * directory (mode 0700) and the schema when missing. A store whose schema
 * version is unknown, or that is not a fimscan store, is refused
 * (EXIT_STORE) and left untouched. Opened defensively
 * (SQLITE_DBCONFIG_DEFENSIVE, trusted_schema=OFF), WAL mode.
 */
int store_open(struct store **out, const char *path, int flags);
void store_close(struct store *st);
/*
 * Let stop() cut this connection's waits for another connection's lock
 * short: the wait (busy_ms of the function that writes, 5 s otherwise)
 * sleeps in SQLite's steps (1 ms growing to 100 ms) and asks stop()
 * before each; once it says nonzero, the write gives up at once with
 * EXIT_INTERRUPTED and no message, and nothing is written. Every
 * command's connection has scan_stop_requested (cli/main.c), the watch
 * daemon's shipper its own flag. NULL gives the plain wait back.
 */
void store_set_stop(struct store *st, int (*stop)(void));
const char *store_path(const struct store *st);

/*
 * (dev, ino) of the store's own files (database, -wal, -shm), so the
 * scanner never records the store itself. Returns how many were filled.
 */
struct store_file_id { uint64_t dev, ino; };
size_t store_own_files(struct store *st, struct store_file_id *out,
		       size_t max);

/* ---- snapshots ----------------------------------------------------- */

enum snap_kind { SNAP_BASELINE = 1, SNAP_SCAN = 2, SNAP_WATCH = 3 };
const char *snap_kind_name(int kind);

struct snapshot_info {
	int64_t id;
	int kind;                /* enum snap_kind */
	int64_t started_ns, finished_ns;
	char **roots;            /* full paths, NUL-terminated */
	size_t *rootlens;
	size_t nroots;
	char *config;            /* config text in force (for the rules) */
	char *hashes;            /* e.g. "sha256,sha512" */
	char *host, *user;
	int64_t entries;         /* entries covered */
	int64_t added, removed, changed;   /* against the state before it */
	int64_t warnings, unstable;
	int64_t bytes_hashed;
	int is_baseline;         /* the snapshot the baseline points at */
};
void snapshot_info_release(struct snapshot_info *si);

/*
 * A reference state: a snapshot, optionally with the baseline's accepted
 * overrides applied ("baseline" resolves to that).
 */
struct store_ref {
	int64_t snap;
	int overlay;
};

/*
 * Resolve "baseline", "latest", "previous" or a decimal id to a state.
 * EXIT_NOSNAP (with a message naming the reference and what exists) when
 * it does not resolve.
 */
int store_resolve(struct store *st, const char *ref, struct store_ref *out);
int store_snapshot_get(struct store *st, int64_t id,
		       struct snapshot_info *out);
/*
 * The start time of snapshot `id` (0 if there is none): the scanner's
 * "racy clean" test looks up only the snapshots it meets, instead of
 * reading them all (a watched store has a snapshot every few seconds).
 */
int64_t store_snapshot_started(struct store *st, int64_t id);
/* Call fn for every complete snapshot, oldest first; stops on nonzero. */
int store_snapshot_foreach(struct store *st,
			   int (*fn)(const struct snapshot_info *, void *),
			   void *data);

/* ---- writing a snapshot (one writer thread) ----------------------- */

/*
 * Start a snapshot: takes the write lock (waiting at most `busy_ms`, then
 * EXIT_BUSY naming the store) and opens the transaction that
 * store_commit_snapshot() commits atomically.
 */
struct snapshot_start {
	int kind;
	const char *const *roots;   /* normalized full paths */
	const size_t *rootlens;
	size_t nroots;
	const char *config;         /* config text, may be "" */
	const char *hashes;         /* "sha256,..." */
	int busy_ms;
	int64_t content_max_total;  /* bytes of kept content, 0 = no limit */
};
int store_begin_snapshot(struct store *st, const struct snapshot_start *s,
			 int64_t *id);

/*
 * Merge what the scanner saw in one directory range into the snapshot
 * being written. `ents` are sorted by name (memcmp order, shorter first on
 * a tie) and are exactly the entries that exist in (dir, range); every
 * stored alive entry of that range that is not in `ents` is removed (with
 * its whole subtree when it was a directory). The range is
 * lo < name <= hi, with lo == NULL meaning unbounded below, hi == NULL
 * unbounded above, and STORE_RANGE_EXACT meaning exactly the name `lo` (or
 * ents[0]'s name when lo is NULL): a root entry, whose siblings are not
 * ours; an EXACT range with n == 0 removes a root that no longer exists.
 * Entries whose attributes equal the alive version cost nothing.
 * Directories in `ents` whose stored version was a directory keep their
 * subtree; a directory replaced by something else loses it.
 */
enum { STORE_RANGE_EXACT = 1 };
struct store_range {
	const char *dir; size_t dirlen;
	const char *lo; size_t lolen;
	const char *hi; size_t hilen;
	int flags;
};
int store_merge(struct store *st, const struct store_range *r,
		struct fim_entry *const *ents, size_t n);

/* Counters the scanner adds to the snapshot row at commit. */
struct snapshot_counts {
	int64_t warnings, unstable, bytes_hashed;
};
int store_commit_snapshot(struct store *st, const struct snapshot_counts *c);
/* Roll back the open snapshot (no trace of it remains). */
void store_abort_snapshot(struct store *st);

/*
 * Read the alive versions (as of the last commit, i.e. before the open
 * snapshot) in one directory range, in name order. Used by the scanner's
 * "rehash = changed" mode through a separate read connection. fn returns
 * nonzero to stop.
 */
int store_alive_range(struct store *st, const struct store_range *r,
		      int (*fn)(const struct fim_entry *, void *), void *data);

/* ---- reading for the differ --------------------------------------- */

/*
 * Call fn(dir, dirlen, name, namelen) for every entry that may differ
 * between states a and b: those born or died in snapshots between them,
 * plus the baseline overrides of an overlay ref. An entry may be named
 * more than once; the caller deduplicates.
 */
typedef int (*store_name_fn)(const char *dir, size_t dirlen,
			     const char *name, size_t namelen, void *data);
int store_candidates(struct store *st, const struct store_ref *a,
		     const struct store_ref *b, store_name_fn fn, void *data);

/* The version of (dir, name) in state `ref`: 1 found, 0 absent, or an
 * EXIT_* status. `out` must be initialized. */
int store_version_at(struct store *st, const struct store_ref *ref,
		     const char *dir, size_t dirlen, const char *name,
		     size_t namelen, struct fim_entry *out);

/* The version of (dir, name) born in snapshot `born`: 1, 0 or EXIT_*. */
int store_version_born(struct store *st, const char *dir, size_t dirlen,
		       const char *name, size_t namelen, int64_t born,
		       struct fim_entry *out);

/* Every version ever stored for (dir, name), oldest first (for `show`). */
int store_versions(struct store *st, const char *dir, size_t dirlen,
		   const char *name, size_t namelen,
		   int (*fn)(const struct fim_entry *, void *), void *data);

/* ---- chunk lists and kept content -------------------------------- */

/*
 * The chunking parameters of this store (chunk_params_id() text), fixed
 * when the store was created. Lists in it were cut with them.
 */
const char *store_chunk_params(struct store *st);
/* The packed chunk list `id` into `out` (replacing it); 0 or EXIT_*. */
int store_clist(struct store *st, int64_t id, struct strbuf *out);
/*
 * Bytes [off, off + len) of a version whose content is kept (e->content,
 * e->clist_id) appended to `out`; 0, or EXIT_* (EXIT_STORE with a message
 * when a chunk is missing or a pack is corrupt).
 */
int store_content_read(struct store *st, const struct fim_entry *e,
		       uint64_t off, uint64_t len, struct strbuf *out);
/* Bytes of content kept in the store (compressed) and raw. */
int store_content_size(struct store *st, int64_t *packed, int64_t *raw);

/* Last-known user and group names recorded by scans (NULL if none). The
 * result stays valid until the store is closed. */
const char *store_user_name(struct store *st, uint32_t uid);
const char *store_group_name(struct store *st, uint32_t gid);
/* Record names seen by a scan (writer connection, inside the snapshot). */
int store_note_names(struct store *st, uint32_t uid, const char *user,
		     uint32_t gid, const char *group);

/* ---- accept -------------------------------------------------------- */

/*
 * Make the baseline equal to state `to` for every (dir, name) in the
 * list (an accepted removal records the entry as absent), or for
 * everything when n == 0 (the baseline then points at to.snap and its
 * overrides are dropped). Recorded with time, user and the paths in the
 * accept log. Runs in its own transaction; EXIT_BUSY as for a snapshot.
 */
struct store_accept_item {
	const char *dir; size_t dirlen;
	const char *name; size_t namelen;
};
int store_accept(struct store *st, const struct store_ref *to,
		 const struct store_accept_item *items, size_t n,
		 const char *paths_text, int busy_ms, int64_t *accept_id);

struct accept_info {
	int64_t id, time_ns, baseline_before, to_snap, count;
	char *user;
	char *paths;    /* as given on the command line, "" for all */
};
int store_accept_foreach(struct store *st,
			 int (*fn)(const struct accept_info *, void *),
			 void *data);


/* ---- outbox: events waiting for Elasticsearch (outbox.c) ----------- */

/*
 * A durable queue of rendered documents. Rows are added inside a
 * snapshot's transaction (scan_options.before_commit), so a snapshot and
 * its events commit together; a shipper reads them oldest first and
 * settles each batch in a short transaction of its own. A document leaves
 * the outbox only when Elasticsearch acknowledged it (delivered) or
 * refused it for good (dead letter, kept with the reason), or when the
 * outbox overflowed (dropped, oldest first). Counters reconcile:
 * enqueued = pending + delivered + dead + dropped.
 */
struct outbox_doc {
	int64_t seq;             /* queue order, never reused */
	int64_t snap;            /* snapshot whose change it is */
	const char *ns;          /* data stream namespace */
	const char *id;          /* deterministic _id */
	const char *doc;         /* the JSON document, one line */
	size_t len;
	int64_t tries;           /* sends answered "retry" so far */
};

/* Queue one document: in the caller's open transaction (a snapshot's),
 * or, outside any, in one of its own. */
int store_outbox_add(struct store *st, int64_t snap, const char *ns,
		     const char *id, const char *doc, size_t len);
/*
 * Fix the finish time of the open snapshot now (the commit keeps it):
 * documents rendered before the commit then carry the time the store
 * records, so their @timestamp and _id are those of any later rendering.
 * Kept content still pending is written out first, for the differ.
 */
int store_outbox_stamp(struct store *st, int64_t snap);
/* The newest snapshot before `snap`, 0 when there is none. */
int64_t store_outbox_prev_snapshot(struct store *st, int64_t snap);
/*
 * Drop the oldest pending documents so that at most `keep` remain
 * (inside an open transaction). *dropped is how many went (0: none),
 * [*first, *last] their seq range (either pointer may be NULL).
 */
int store_outbox_trim(struct store *st, int64_t keep, int64_t *dropped,
		      int64_t *first, int64_t *last);
/* The highest pending seq, 0 when the outbox is empty. */
int64_t store_outbox_last_seq(struct store *st);
/*
 * Call fn for at most `max` pending documents with after < seq <= upto,
 * oldest first; fn returns nonzero to stop. The pointers in the
 * outbox_doc are valid during the call only. 0 or EXIT_*.
 */
int store_outbox_read(struct store *st, int64_t after, int64_t upto,
		      size_t max, int (*fn)(const struct outbox_doc *, void *),
		      void *data);

enum outbox_fate {
	OUTBOX_DELIVERED = 1,    /* stored (201), or stored before (409) */
	OUTBOX_DEAD = 2,         /* refused for good: to the dead letters */
	OUTBOX_RETRY = 3,        /* try again later: the try count goes up */
};
struct outbox_settle {
	int64_t seq;
	int fate;                /* enum outbox_fate */
	int status;              /* HTTP status of the item (dead letters) */
	const char *reason;      /* the server's reason (dead letters) */
};
/* Record the fates of a batch in one transaction (waits busy_ms). */
int store_outbox_settle(struct store *st, const struct outbox_settle *v,
			size_t n, int busy_ms);

struct outbox_status {
	int64_t pending, delivered, dead, dropped, enqueued;
	int64_t oldest_seq;      /* 0: nothing pending */
	int64_t oldest_snap, oldest_time_ns, oldest_tries;
};
int store_outbox_status(struct store *st, struct outbox_status *out);

struct outbox_dead_info {
	int64_t seq, snap, time_ns, dead_ns;
	const char *ns, *id;
	int status;
	const char *reason;      /* as the server said it: escape to print */
	const char *doc;
	size_t len;
};
/* The newest `max` dead letters, newest first; fn returns nonzero to stop. */
int store_outbox_dead_foreach(struct store *st, size_t max,
			      int (*fn)(const struct outbox_dead_info *,
					void *),
			      void *data);

/* ---- prune (prune.c) ----------------------------------------------- */

/*
 * What `fimscan prune` drops. A snapshot is dropped when every rule given
 * says so (not among the newest `keep`, finished before the cutoff); the
 * latest snapshot and the baseline's are never dropped. Then every
 * version alive at no remaining snapshot and named by no accept
 * override, the change log rows no remaining pair of snapshots can ask
 * for, chunk lists, directories and configs nothing refers to, and every
 * kept chunk that no version with content needs (packs that lose chunks
 * are rewritten). Remaining snapshots compare exactly as before, except
 * that versions whose bytes were dropped give chunk-granular ranges.
 */
struct store_prune_policy {
	int64_t keep;               /* keep the newest n snapshots; 0: no rule */
	int64_t finished_before_ns; /* drop snapshots finished before; 0: no rule */
	int64_t content_died_before_ns; /* drop the kept bytes of versions
					 * that died before; 0: keep all */
	int dry_run;                /* work it all out, then roll back */
	int busy_ms;                /* wait for the write lock */
	int (*stop)(void);          /* nonzero: roll back, EXIT_INTERRUPTED */
};

struct store_prune_result {
	int64_t *snaps;             /* the snapshots dropped, oldest first */
	size_t nsnaps;
	int64_t versions;           /* versions dropped */
	int64_t changes;            /* change log rows dropped */
	int64_t clists;             /* chunk lists dropped */
	int64_t dirs;               /* directory rows dropped */
	int64_t content_versions;   /* versions whose kept bytes were dropped */
	int64_t chunks;             /* kept chunks dropped */
	int64_t content_raw;        /* their bytes */
	int64_t content_packed;     /* compressed bytes freed */
	int64_t packs;              /* packs rewritten or dropped */
};

/*
 * Prune in one transaction (waiting `busy_ms` for the write lock, like
 * a snapshot); with dry_run, the same work is rolled back. 0 or EXIT_*;
 * on failure nothing changed. Either way, release the result with
 * store_prune_result_release(). The file does not shrink by itself: see
 * store_vacuum().
 */
int store_prune(struct store *st, const struct store_prune_policy *p,
		struct store_prune_result *r);
void store_prune_result_release(struct store_prune_result *r);
/* VACUUM (gives the free pages back to the file system) and truncate
 * the WAL. Outside any transaction; 0 or EXIT_*. */
int store_vacuum(struct store *st, int busy_ms);
/* Bytes of the store's database and WAL files. */
int64_t store_file_size(struct store *st);

/* ---- events: what `watch` recorded (events.c) ---------------------- */

/*
 * The watch daemon's account of what happened: one row per change it
 * recorded (a version born or dying in one of its snapshots, as the
 * differ tells it, with the process behind it when the backend knows),
 * per gap in its coverage (the kernel dropped events, a subtree could not
 * be watched) and per full rescan (with its reason). Sequence numbers
 * only grow. Change and rescan rows are written inside the transaction of
 * their snapshot (scan_options.before_commit), so a snapshot and its
 * events commit together; a gap row is written at once, in a transaction
 * of its own that also holds its document for Elasticsearch.
 */
enum event_kind { EVENT_CHANGE = 0, EVENT_GAP = 1, EVENT_RESCAN = 2 };
const char *event_kind_name(int kind);     /* "change", "gap", "rescan" */

struct store_event {
	int64_t seq;                 /* given by the store */
	int64_t time_ns;             /* when it was seen */
	int64_t snap;                /* snapshot that recorded it, 0: none */
	int kind;                    /* enum event_kind */
	const char *action;          /* change: added, removed, changed,
				      * moved, transient; gap and rescan:
				      * the reason (overflow, unwatched,
				      * start, periodic, reload, ...) */
	int type;                    /* enum fim_type, FT_NONE: not known */
	const char *path;            /* raw bytes; NULL: all the roots */
	size_t pathlen;
	const char *old_path;        /* moved: the path before, else NULL */
	size_t old_pathlen;
	const char *attrs;           /* changed attributes: "size,sha256" */
	int64_t bytes_changed;       /* -1: not a content change */
	const char *ranges;          /* JSON array of the byte ranges */
	const char *backend;         /* inotify, fanotify, scan */
	int64_t pid;                 /* process that did it, 0: unknown */
	const char *exe;             /* its executable (raw bytes) or NULL */
	size_t exelen;
	int64_t uid;                 /* its effective uid, -1: unknown */
	const char *detail;          /* a sentence for gaps and rescans */
};

/* Add an event inside the open snapshot transaction; 0 or EXIT_*. */
int store_event_add(struct store *st, const struct store_event *ev);
/*
 * Add an event in a transaction of its own (waits busy_ms). `with`, when
 * not NULL, runs in that transaction after the row is added, to write
 * what goes with the event (its document in the outbox): the two commit
 * together, and an EXIT_* from `with` rolls both back and is returned.
 * Inside an open snapshot both are part of the snapshot's transaction.
 */
typedef int (*store_event_fn)(struct store *st, const struct store_event *ev,
			      void *data);
int store_event_record(struct store *st, const struct store_event *ev,
		       int busy_ms, store_event_fn with, void *data);
/*
 * Call fn for the events with seq > after_seq and time >= since_ns,
 * oldest first; fn returns nonzero to stop. The pointers are valid during
 * the call only.
 */
int store_events_foreach(struct store *st, int64_t after_seq,
			 int64_t since_ns,
			 int (*fn)(const struct store_event *, void *),
			 void *data);
/* The newest seq, 0 when there is none. */
int64_t store_events_last_seq(struct store *st);

/*
 * Hard links for `watch`: a change to one name of an inode changes the
 * others (link count, ctime, content) without an event for them.
 * store_watch_prepare() adds the index that finds names by inode (it
 * costs the stores of users who never run watch nothing); inside a
 * snapshot, store_snapshot_links() lists (dev, ino) of the regular files
 * with more than one link whose version was born or died in it (with
 * new_dirs, also in directories it created), and store_alive_names()
 * the names alive now of an inode.
 */
int store_watch_prepare(struct store *st);
int store_snapshot_links(struct store *st, int64_t snap, int new_dirs,
			 int (*fn)(uint64_t dev, uint64_t ino, void *),
			 void *data);
int store_alive_names(struct store *st, uint64_t dev, uint64_t ino,
		      store_name_fn fn, void *data);

#endif
