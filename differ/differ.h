/*
 * differ.h: compare two stored states (snapshots, or the baseline with its
 * accepted overrides) and say what was added, removed, changed and moved.
 *
 * The scope is the roots of state b, optionally narrowed to PATHs; the
 * state of a path at a snapshot that did not cover it is its last known
 * state.
 * Which attribute differences count for a path is decided by the rules of
 * the config stored with the newer state. A move is a removal and an
 * addition of the same (dev, inode) with the same type and content; it is
 * reported once, as a change carrying moved_from.
 */
#ifndef FIMSCAN_DIFFER_H
#define FIMSCAN_DIFFER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum diff_kind { DIFF_ADDED = 1, DIFF_REMOVED = 2, DIFF_CHANGED = 4 };

struct diff_item {
	int kind;                   /* enum diff_kind */
	struct strbuf path;         /* full path (the new one for moves) */
	struct strbuf moved_from;   /* full old path when moved, else empty */
	struct fim_entry *old;      /* REMOVED and CHANGED, else NULL */
	struct fim_entry *new;      /* ADDED and CHANGED, else NULL */
	uint32_t attrs;             /* ATTR_* that differ and count */
	uint32_t hash_ids;          /* bit (1 << id) per differing hash */
};

struct diff_result {
	struct diff_item **items;   /* sorted by path (bytes) */
	size_t n, alloc;
	size_t added, removed, changed, moved;
	struct snapshot_info a, b;  /* the two snapshots compared */
	struct store_ref ra, rb;
	char **scope; size_t *scopelens; size_t nscope;
};

/*
 * Compare state a with state b. `paths` (may be empty) narrows the scope
 * to entries at or below each of them. Returns 0 or an EXIT_* status.
 */
int diff_run(struct store *st, const struct store_ref *a,
	     const struct store_ref *b, const char *const *paths,
	     const size_t *pathlens, size_t npaths, struct diff_result *out);
void diff_result_release(struct diff_result *r);

/* The contract's bitmask: 1 added, 2 removed, 4 changed (moves count). */
int diff_exit_bits(const struct diff_result *r);

/*
 * Compare two versions of one entry; returns the ATTR_* bits that differ
 * (before any rule is applied), and in *hash_ids the differing algorithms.
 * Hashes are compared on the algorithms both versions have.
 */
uint32_t diff_entries(const struct fim_entry *a, const struct fim_entry *b,
		      uint32_t *hash_ids);

#endif
