/*
 * scanner.h: walk the roots, read every regular file once, and hand what
 * was seen to the store, one directory range at a time.
 *
 * Threads: the calling thread walks (directory fds, explicit stack,
 * bounded open fds); `threads` workers open, stat-check and hash regular
 * files; one writer thread owns the store's write connection and merges
 * finished directory ranges. Memory is bounded by the ranges in flight,
 * not by the size of the tree.
 *
 * Per-entry problems (permission denied, vanished, changed while read,
 * name too long, I/O error) are warnings: printed with the escaped path,
 * counted, and the scan goes on. A directory that cannot be read keeps its
 * stored contents (nothing is reported removed because we could not look).
 */
#ifndef FIMSCAN_SCANNER_H
#define FIMSCAN_SCANNER_H

#include <signal.h>
#include <stdint.h>

#include "scanner/config.h"
#include "store/store.h"

struct scan_options {
	const struct fim_config *cfg;   /* excludes, hashes, threads, ... */
	const char *const *roots;       /* normalized (config_normalize_root) */
	const size_t *rootlens;
	size_t nroots;
	int kind;                       /* SNAP_BASELINE / SNAP_SCAN */
	int progress;                   /* draw progress on stderr */
	int keep_content;               /* --keep-content (rules may differ) */
	/*
	 * Called after the last merge, inside the snapshot's transaction,
	 * on the thread that commits: what it writes commits atomically with
	 * the snapshot (0), or nothing does (an EXIT_* status aborts it).
	 */
	int (*before_commit)(struct store *st, int64_t snap, void *data);
	void *hook_data;
	/*
	 * Per root (NULL: none): nonzero records the root's own entry but
	 * does not walk below it. `watch` uses it for a directory whose
	 * mtime moved because a name in it changed: walking its whole
	 * subtree for that would cost as much as a full scan. A shallow root
	 * covers no other root; a deep root of the same path covers it.
	 */
	const unsigned char *shallow;
	/* A root that does not exist is a removal, not a warning (watch:
	 * the change was a deletion). */
	int missing_ok;
};

struct scan_result {
	int64_t snap;                   /* id of the committed snapshot */
	int64_t entries;                /* entries recorded */
	int64_t files_hashed;
	int64_t bytes_hashed;
	int64_t warnings;               /* per-entry problems */
	int64_t unstable;               /* files that kept changing */
	double seconds;
};

/*
 * Take a snapshot of the roots into `st` (opened STORE_WRITE). `rd` is a
 * second, read-only connection to the same store used by the
 * "rehash = changed" mode to look up stored stat data (may be NULL
 * otherwise). Returns 0 when the snapshot was committed (warnings are
 * counted in `res`), or an EXIT_* status with nothing committed.
 */
int scan_run(struct store *st, struct store *rd,
	     const struct scan_options *opt, struct scan_result *res);

/*
 * Ask a running scan_run() to stop at the next safe point: it rolls back
 * and returns EXIT_INTERRUPTED. Async-signal-safe.
 */
void scan_request_stop(void);
int scan_stop_requested(void);

/*
 * Hash an open regular file with the configured algorithms, in one read
 * pass, into `e->hashes`, cutting it into chunks (e->chunks) on the way
 * and keeping its bytes (e->data) when e->keep. Reading stops at
 * `e->size` bytes (the caller sets it from fstat), so a file appended to
 * as fast as we read cannot hold a worker forever: the fstat after
 * hashing shows the growth and the caller retries or records the file as
 * unstable; a file that shrank gives *bytes_read < size. When e->prev
 * describes the previous version and the file grew, e->prefix is set if
 * the old content is an exact prefix (the append proof).
 * Returns 0, or -1 with errno. (Used by the workers; exposed for tests
 * and for the watch mode.)
 *
 * Benchmark knob, not an interface: with FIMSCAN_NO_CHUNKS=1 in the
 * environment (read once per hasher), files are hashed without being cut
 * into chunks, to measure what chunking costs (bench/bytes.sh). Every
 * file then looks like a single chunk to the store, so byte ranges from
 * such a store are wrong: never set it outside a benchmark.
 */
struct scan_hasher;
struct chunk_params;
/* A hasher cutting chunks with `cp` (the store's parameters). */
struct scan_hasher *scan_hasher_new(const struct fim_config *cfg,
				    const struct chunk_params *cp);
void scan_hasher_free(struct scan_hasher *h);
int scan_hash_fd(struct scan_hasher *h, int fd, struct fim_entry *e,
		 uint64_t *bytes_read);

/* ---- watch: the change-triggered loop behind `fimscan watch` -------- */

/*
 * watch_run() places the watches of a backend (platform/watch.h) on the
 * roots, reconciles the store with the disk (a full scan that trusts
 * unchanged stat data), says it is ready, and then turns changes into
 * snapshots of kind SNAP_WATCH whose roots are the changed paths: a path
 * is scanned once it has been quiet for `debounce` ms, so a burst of
 * writes costs one snapshot; everything that became ripe together is one
 * snapshot. A deleted path is a root that no longer exists (a removal),
 * a new or renamed-in directory a root whose subtree is walked after its
 * watch was placed, and a directory whose names changed a shallow root
 * (its own entry). So the store, its change log and `diff` work as for
 * any scan, and the state converges to what a full scan would find. The
 * kernel dropping events (queue overflow) is recorded as a gap and
 * answered with an immediate rescan of the roots; subtrees that cannot be
 * watched are scanned every minute (or every rescan-interval if shorter);
 * a full rescan every rescan-interval is the safety net. DESIGN.md has
 * the long version.
 *
 * Signals (blocked in every thread; one thread takes them): SIGTERM and
 * SIGINT finish the snapshot being written, drain what the kernel queued,
 * record it and return 0 (a second one interrupts); SIGHUP calls
 * reload() and starts over with what it gives (the watches are placed
 * again and the roots rescanned).
 */

/* What the backend said about one path, merged over its events. */
struct watch_seen {
	const char *path;            /* full path, raw bytes */
	size_t len;
	const char *old_path;        /* a rename's source, or NULL */
	size_t old_len;
	unsigned mask;               /* PW_* (platform/watch.h), or'ed */
	int64_t first_ns, last_ns;   /* first and last event (wall clock) */
	int pid;                     /* last process known to change it, 0 */
	int64_t uid;                 /* its effective uid, -1: unknown */
	const char *exe;             /* its executable, NULL: unknown */
	size_t exe_len;
};

enum watch_reason {
	WATCH_CHANGES = 0,           /* paths that changed */
	WATCH_START,                 /* reconcile the store with the disk */
	WATCH_OVERFLOW,              /* the kernel dropped events */
	WATCH_PERIODIC,              /* rescan-interval */
	WATCH_RELOAD,                /* SIGHUP */
	WATCH_UNWATCHED,             /* subtrees that have no watches */
};
const char *watch_reason_name(int reason);  /* "changes", "start", ... */

/* A snapshot being committed by the watch loop, for the record hook. */
struct watch_batch {
	int reason;                  /* enum watch_reason */
	const char *backend;         /* "inotify", "fanotify" */
	const struct watch_seen *seen;   /* sorted by path (memcmp) */
	size_t nseen;
};
/* The seen entry of a path in a batch, NULL when there is none. */
const struct watch_seen *watch_batch_find(const struct watch_batch *b,
					  const char *path, size_t len);

/* What to watch; reload() replaces it. The pointers must stay valid
 * until the next reload() or the end of watch_run(). */
struct watch_setup {
	const struct fim_config *cfg;    /* excludes, debounce, ... */
	const char *const *roots;        /* normalized */
	const size_t *rootlens;
	size_t nroots;
	const char *backend;             /* "inotify" or "fanotify" */
};

struct watch_options {
	struct watch_setup setup;
	int ready_fd;                /* "READY=1\n" goes here, -1: nowhere */
	/*
	 * Called inside each snapshot's transaction (before_commit): what it
	 * writes commits with the snapshot, an EXIT_* aborts both.
	 */
	int (*record)(struct store *st, int64_t snap,
		      const struct watch_batch *b, void *data);
	/*
	 * A coverage gap (the kernel's queue overflowed, a subtree has no
	 * watches, a root is gone) is being recorded in the store's events,
	 * in a transaction of its own; `ev` is that event. Called inside
	 * that transaction, after the event's row: what it writes commits
	 * with the event, and an EXIT_* rolls both back. A gap the store
	 * cannot take now (busy, full) waits in the daemon and is recorded
	 * again, before the next snapshot; any other failure is reported
	 * and the daemon goes on. NULL: nothing more to do.
	 */
	int (*gap)(struct store *st, const struct store_event *ev,
		   void *data);
	/*
	 * A snapshot or a gap was committed: other connections to the
	 * store see it now (the shipper is woken). NULL: nobody to tell.
	 */
	void (*committed)(void *data);
	/* SIGHUP: fill in a new setup (0), or keep the old one (EXIT_*). */
	int (*reload)(struct watch_setup *setup, void *data);
	void *data;
};

/*
 * Run until SIGTERM/SIGINT. `st` is the store (STORE_WRITE), `rd` a
 * second, read-only connection (see scan_run). Returns 0 after a clean
 * stop, or an EXIT_* status (the store failed, nothing could be
 * watched, a second signal interrupted the last snapshot).
 */
int watch_run(struct store *st, struct store *rd,
	      const struct watch_options *o);

#endif
