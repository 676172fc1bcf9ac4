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

struct range_list;

/* What --bytes could say about a modified regular file. */
enum bytes_state {
	BYTES_NONE = 0,       /* not computed (no --bytes, or not a content change) */
	BYTES_CHUNKS,         /* ranges at chunk granularity */
	BYTES_EXACT,          /* ranges refined to the byte from kept content */
	BYTES_APPENDED,       /* proven append: one insert at the old end */
	BYTES_UNKNOWN         /* changed, location unknown (see bytes_why) */
};

struct diff_item {
	int kind;                   /* enum diff_kind */
	struct strbuf path;         /* full path (the new one for moves) */
	struct strbuf moved_from;   /* full old path when moved, else empty */
	struct fim_entry *old;      /* REMOVED and CHANGED, else NULL */
	struct fim_entry *new;      /* ADDED and CHANGED, else NULL */
	uint32_t attrs;             /* ATTR_* that differ and count */
	uint32_t hash_ids;          /* bit (1 << id) per differing hash */
	unsigned appended : 1;      /* new content = old content + more, proven */
	/* diff_bytes(): */
	int bytes_state;            /* enum bytes_state */
	const char *bytes_why;      /* for BYTES_UNKNOWN: a static reason */
	struct range_list *ranges;  /* NULL unless computed */
	struct strbuf *new_data;    /* with DIFF_CONTENT: the new bytes of
				     * every insert/modify range, in order */
	int content_kept;           /* both versions' bytes are in the store */
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
 * Work out the changed byte ranges of every modified regular file in `r`
 * (from stored chunk lists, refined to the byte where both versions' bytes
 * were kept). With DIFF_CONTENT also collect the new bytes of insert and
 * modify ranges, so the new file can be rebuilt from the old one.
 * Returns 0 or an EXIT_* status.
 */
enum { DIFF_BYTES = 1, DIFF_CONTENT = 2 };
int diff_bytes(struct store *st, struct diff_result *r, int flags);

/*
 * Compare two versions of one entry; returns the ATTR_* bits that differ
 * (before any rule is applied), and in *hash_ids the differing algorithms.
 * Hashes are compared on the algorithms both versions have.
 */
uint32_t diff_entries(const struct fim_entry *a, const struct fim_entry *b,
		      uint32_t *hash_ids);

/* ---- changed byte ranges ------------------------------------------ */

#include "scanner/chunk.h"

enum range_op { RANGE_MODIFY = 1, RANGE_INSERT = 2, RANGE_DELETE = 3 };

/*
 * One changed region: old bytes [old_off, old_off + old_len) became new
 * bytes [new_off, new_off + new_len). INSERT has old_len 0, DELETE has
 * new_len 0. Everything between ranges is equal in both versions, so
 * applying the ranges (with the new bytes) to the old file rebuilds the
 * new one. `exact` is 1 when refined to the byte from kept content, 0 at
 * chunk granularity.
 */
struct byte_range {
	int op;
	uint64_t old_off, old_len;
	uint64_t new_off, new_len;
	int exact;
};

struct range_list {
	struct byte_range *v;
	size_t n, alloc;
};

void range_list_release(struct range_list *l);
/* Append, merging with the previous range when they touch. */
void range_list_add(struct range_list *l, uint64_t old_off, uint64_t old_len,
		    uint64_t new_off, uint64_t new_len, int exact);
/* Bytes changed: the sum over ranges of max(old_len, new_len). */
uint64_t range_list_bytes(const struct range_list *l);

/*
 * Align two chunk lists (trim the common prefix and suffix; in a gap of
 * equal byte length on both sides match chunks equal at the same offset
 * first, so periodic content does not pair a chunk with its copy one
 * period away; then anchor on ids unique on both sides in longest-
 * increasing-subsequence order, and work into the gaps) and append the
 * chunk-granular ranges that cover every difference. Equal lists give no
 * range. A gap with no anchor is one range: coarse, never wrong.
 */
void diff_align_chunks(const struct chunk_entry *a, size_t na,
		       const struct chunk_entry *b, size_t nb,
		       struct range_list *out);

/*
 * Refine one region to the byte: `old`/`new` hold the region's bytes,
 * which start at old_base/new_base in their files. Appends exact ranges
 * (equal bytes are trimmed; overwrites of equal length give exactly the
 * runs of differing bytes; shifted content is re-aligned with tiny
 * chunks).
 */
void diff_refine(const unsigned char *old, size_t oldlen,
		 const unsigned char *new, size_t newlen, uint64_t old_base,
		 uint64_t new_base, struct range_list *out);

#endif
