/*
 * record.c: the in-memory record (struct fim_entry) and the table of hash
 * algorithms. No SQLite here: the scanner, differ and reports use these.
 */
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"

/* Ids are stored in every version's packed hashes: append only. */
static const struct fim_hash_algo algos[] = {
	{ HASH_MD5, "md5", "MD5", 16 },
	{ HASH_SHA1, "sha1", "SHA1", 20 },
	{ HASH_SHA224, "sha224", "SHA224", 28 },
	{ HASH_SHA256, "sha256", "SHA256", 32 },
	{ HASH_SHA384, "sha384", "SHA384", 48 },
	{ HASH_SHA512, "sha512", "SHA512", 64 },
	{ HASH_SHA512_256, "sha512-256", "SHA512-256", 32 },
	{ HASH_SHA3_256, "sha3-256", "SHA3-256", 32 },
	{ HASH_SHA3_384, "sha3-384", "SHA3-384", 48 },
	{ HASH_SHA3_512, "sha3-512", "SHA3-512", 64 },
	{ HASH_BLAKE2S256, "blake2s256", "BLAKE2S-256", 32 },
	{ HASH_BLAKE2B512, "blake2b512", "BLAKE2B-512", 64 },
};

const struct fim_hash_algo *hash_algo_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (!strcmp(algos[i].name, name))
			return &algos[i];
	return NULL;
}

const struct fim_hash_algo *hash_algo_by_id(int id)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (algos[i].id == id)
			return &algos[i];
	return NULL;
}

void fim_entry_init(struct fim_entry *e)
{
	memset(e, 0, offsetof(struct fim_entry, hashes));
	strbuf_init(&e->name, 0);
	strbuf_init(&e->target, 0);
	strbuf_init(&e->xattrs, 0);
	e->hashes_len = 0;
	memset(&e->born, 0, sizeof(*e) - offsetof(struct fim_entry, born));
	strbuf_init(&e->chunks, 0);
	strbuf_init(&e->data, 0);
}

void fim_entry_release(struct fim_entry *e)
{
	strbuf_release(&e->name);
	strbuf_release(&e->target);
	strbuf_release(&e->xattrs);
	strbuf_release(&e->chunks);
	strbuf_release(&e->data);
	fim_entry_init(e);
}

void fim_entry_copy(struct fim_entry *dst, const struct fim_entry *src)
{
	struct strbuf name = dst->name, target = dst->target,
		      xattrs = dst->xattrs, chunks = dst->chunks,
		      data = dst->data;

	memcpy(dst, src, offsetof(struct fim_entry, hashes));
	dst->name = name;
	dst->target = target;
	dst->xattrs = xattrs;
	strbuf_reset(&dst->name);
	strbuf_add(&dst->name, src->name.buf, src->name.len);
	strbuf_reset(&dst->target);
	strbuf_add(&dst->target, src->target.buf, src->target.len);
	strbuf_reset(&dst->xattrs);
	strbuf_add(&dst->xattrs, src->xattrs.buf, src->xattrs.len);
	memcpy(dst->hashes, src->hashes, src->hashes_len);
	dst->hashes_len = src->hashes_len;
	memcpy(&dst->born, &src->born,
	       sizeof(*dst) - offsetof(struct fim_entry, born));
	dst->chunks = chunks;
	dst->data = data;
	strbuf_reset(&dst->chunks);
	strbuf_add(&dst->chunks, src->chunks.buf, src->chunks.len);
	strbuf_reset(&dst->data);
	strbuf_add(&dst->data, src->data.buf, src->data.len);
}

enum fim_type fim_type_of(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return FT_FILE;
	case S_IFDIR: return FT_DIR;
	case S_IFLNK: return FT_SYMLINK;
	case S_IFIFO: return FT_FIFO;
	case S_IFSOCK: return FT_SOCK;
	case S_IFCHR: return FT_CHR;
	case S_IFBLK: return FT_BLK;
	case 0: return FT_NONE;
	default: return FT_OTHER;
	}
}

const char *fim_type_name(enum fim_type t)
{
	static const char *const names[] = {
		[FT_NONE] = "none", [FT_FILE] = "file", [FT_DIR] = "dir",
		[FT_SYMLINK] = "symlink", [FT_FIFO] = "fifo",
		[FT_SOCK] = "socket", [FT_CHR] = "chardev",
		[FT_BLK] = "blockdev", [FT_OTHER] = "other",
	};
	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "other";
}

const unsigned char *fim_entry_hash(const struct fim_entry *e, int id,
				    unsigned *len)
{
	size_t i = 0;

	while (i + 2 <= e->hashes_len) {
		unsigned l = e->hashes[i + 1];
		if (i + 2 + l > e->hashes_len)
			break;
		if (e->hashes[i] == id) {
			if (len)
				*len = l;
			return e->hashes + i + 2;
		}
		i += 2 + l;
	}
	return NULL;
}
