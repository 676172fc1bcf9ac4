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
 * pass, into `e->hashes`. Reading stops once more than `e->size` bytes
 * came in (the caller sets it from fstat), so a file appended to as fast
 * as we read cannot hold a worker forever; *bytes_read then differs from
 * the size and the caller retries or records the file as unstable.
 * Returns 0, or -1 with errno. (Used by the workers; exposed for tests
 * and for the watch mode.)
 */
struct scan_hasher;
struct scan_hasher *scan_hasher_new(const struct fim_config *cfg);
void scan_hasher_free(struct scan_hasher *h);
int scan_hash_fd(struct scan_hasher *h, int fd, struct fim_entry *e,
		 uint64_t *bytes_read);

#endif
