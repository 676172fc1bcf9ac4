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

/* Every version ever stored for (dir, name), oldest first (for `show`). */
int store_versions(struct store *st, const char *dir, size_t dirlen,
		   const char *name, size_t namelen,
		   int (*fn)(const struct fim_entry *, void *), void *data);

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

#endif
