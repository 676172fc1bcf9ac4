/*
 * chunk.h: content-defined chunking (Gear hash CDC) and chunk lists.
 *
 * A file is cut where a rolling Gear hash of its last 64 bytes has its top
 * `bits` bits zero, but never before `min` bytes nor after `max` bytes of
 * a chunk; an insertion therefore disturbs only the chunks around it. The
 * cut points depend only on the bytes, never on how they were fed in.
 * Each chunk is identified by its XXH3-128.
 *
 * The parameters and the gear table are part of the store: a store
 * records them once (chunk_params_id) and every list in it was cut with
 * them; lists cut with different parameters are never compared.
 *
 * A chunk list is packed as a sequence of entries
 *     varint length (LEB128), 16-byte id (XXH3-128, big endian)
 * and the offset of a chunk is the sum of the lengths before it.
 */
#ifndef FIMSCAN_CHUNK_H
#define FIMSCAN_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform/base.h"

struct xxh_impl;

#define CHUNK_ID_LEN 16

struct chunk_params {
	uint32_t min;          /* no cut before this many bytes */
	uint32_t max;          /* always cut here */
	unsigned bits;         /* cut when the top `bits` bits are zero */
	uint64_t seed;         /* the gear table is derived from it */
};

/* New stores' parameters: min 7 KiB, average ~8 KiB, max 64 KiB. */
extern const struct chunk_params chunk_params_default;
/* Stores made by the first releases: min 4 KiB, average ~8 KiB. */
extern const struct chunk_params chunk_params_v1_4k;
/* Tiny chunks for refining a changed region to the byte (~64 B). */
extern const struct chunk_params chunk_params_tiny;

/*
 * A printable identity of the parameters and the gear table, e.g.
 * "gear-v1 min=7168 max=65536 bits=10 table=96e6...". Stored in the store's
 * meta table; equal strings mean equal cut points. Caller frees.
 */
char *chunk_params_id(const struct chunk_params *p);
/* The parameters this fimscan knows by that identity, or NULL. */
const struct chunk_params *chunk_params_known(const char *id);

struct chunk_entry {
	uint64_t len;
	unsigned char id[CHUNK_ID_LEN];
};

/*
 * The streaming chunker. chunker_update() may be called with any buffer
 * sizes; each completed chunk is appended to `list` (packed), and, when
 * `keep` is set, its bytes are passed to `on_chunk` before the next
 * update (for content retention). chunker_final() cuts the last chunk.
 */
struct chunker {
	const struct chunk_params *p;
	const uint64_t *gear;      /* 256 entries */
	uint64_t h;                /* rolling hash */
	uint64_t pos;              /* bytes in the current chunk */
	const struct xxh_impl *x;  /* XXH3-128 code for this CPU */
	void *xxh;                 /* its state for the current chunk */
	struct strbuf *list;       /* packed output (not owned) */
	uint64_t nchunks;
	/* content retention: the current chunk's bytes, when keep is set */
	int keep;
	struct strbuf cur;
	void (*on_chunk)(void *data, const struct chunk_entry *c,
			 const void *bytes);
	void *data;
};

void chunker_init(struct chunker *c, const struct chunk_params *p,
		  struct strbuf *list);
/* Start over on a new input (keeps the parameters and allocations). */
void chunker_reset(struct chunker *c, struct strbuf *list);
void chunker_update(struct chunker *c, const void *buf, size_t len);
void chunker_final(struct chunker *c);
void chunker_release(struct chunker *c);

/* Cut a whole buffer at once (tests, refinement). */
void chunk_buffer(const struct chunk_params *p, const void *buf, size_t len,
		  struct strbuf *list);

/*
 * Decode a packed list into an array (caller frees *out). Returns the
 * number of entries, or -1 when the blob is malformed (truncated varint,
 * partial id, zero length): stored input is not trusted.
 */
ssize_t chunk_list_decode(const void *blob, size_t len,
			  struct chunk_entry **out);
void chunk_list_add(struct strbuf *list, uint64_t len, const void *id);

/* XXH3-128 of a buffer, big endian, for ids. */
void chunk_id(const void *buf, size_t len, unsigned char id[CHUNK_ID_LEN]);

#endif
