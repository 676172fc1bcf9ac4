/*
 * scan-private.h: knobs and hooks of scan.c for the unit tests. Not an API.
 */
#ifndef FIMSCAN_SCAN_PRIVATE_H
#define FIMSCAN_SCAN_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Called by a worker after it has hashed a regular file and before the
 * second fstat, with the directory fd and name the file was opened by and
 * the 1-based attempt. A test changes the file here to make the
 * "changed while being read" path deterministic. NULL in production.
 */
extern void (*scan_test_after_hash)(int dirfd, const char *name, int attempt);

/*
 * Called by the walker when it has entered a directory (listed it, pushed
 * its frame), with the directory's full path. NULL in production.
 */
extern void (*scan_test_enter_dir)(const char *path, size_t len);

/*
 * rehash = changed re-hashes a file whose ctime is less than this many
 * nanoseconds before the start of the snapshot that stored its hash
 * (2 s; see scan.c). Tests of trees made a moment ago set it to 0.
 */
extern int64_t scan_racy_ns;

/* Forget an earlier scan_request_stop(), so a test can scan again. */
void scan_test_reset_stop(void);

#endif
