/*
 * differ.c: compare two stored states.
 *
 * The store names the candidates (entries born or died between the two
 * states, plus accepted overrides); this file deduplicates them, keeps
 * those inside the scope, compares the two versions of each, applies the
 * rules of the newer config, pairs removals with additions into moves, and
 * sorts the result by path.
 */
#include <stdlib.h>
#include <string.h>

#include "differ/differ.h"
#include "scanner/config.h"

/* ---- a set of full paths (open addressing, FNV-1a) ----------------- */

struct pathset {
	char **keys;
	size_t *lens;
	size_t n, cap;
};

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	while (len--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static void pathset_grow(struct pathset *s);

/* Returns 1 when added, 0 when already there. */
static int pathset_add(struct pathset *s, const char *p, size_t len)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap)
		pathset_grow(s);
	for (i = hash_bytes(p, len) & (s->cap - 1); s->keys[i];
	     i = (i + 1) & (s->cap - 1))
		if (s->lens[i] == len && !memcmp(s->keys[i], p, len))
			return 0;
	s->keys[i] = xmemdup(p, len);
	s->lens[i] = len;
	s->n++;
	return 1;
}

static void pathset_grow(struct pathset *s)
{
	struct pathset bigger = { 0 };

	bigger.cap = s->cap ? s->cap * 2 : 1024;
	bigger.keys = xcalloc(bigger.cap, sizeof(*bigger.keys));
	bigger.lens = xcalloc(bigger.cap, sizeof(*bigger.lens));
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;
		if (!s->keys[i])
			continue;
		for (j = hash_bytes(s->keys[i], s->lens[i]) & (bigger.cap - 1);
		     bigger.keys[j]; j = (j + 1) & (bigger.cap - 1))
			;
		bigger.keys[j] = s->keys[i];
		bigger.lens[j] = s->lens[i];
		bigger.n++;
	}
	free(s->keys);
	free(s->lens);
	*s = bigger;
}

static void pathset_release(struct pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->lens);
	memset(s, 0, sizeof(*s));
}

/* ---- comparing two versions --------------------------------------- */

uint32_t diff_entries(const struct fim_entry *a, const struct fim_entry *b,
		      uint32_t *hash_ids)
{
	uint32_t d = 0, ids = 0;
	int common = 0;

	if (fim_type_of(a->mode) != fim_type_of(b->mode))
		d |= ATTR_TYPE;
	if ((a->mode & 07777) != (b->mode & 07777))
		d |= ATTR_MODE;
	if (a->uid != b->uid)
		d |= ATTR_UID;
	if (a->gid != b->gid)
		d |= ATTR_GID;
	if (a->size != b->size)
		d |= ATTR_SIZE;
	if (a->mtime_ns != b->mtime_ns)
		d |= ATTR_MTIME;
	if (a->ctime_ns != b->ctime_ns)
		d |= ATTR_CTIME;
	if (a->ino != b->ino)
		d |= ATTR_INODE;
	if (a->nlink != b->nlink)
		d |= ATTR_NLINK;
	if (a->dev != b->dev)
		d |= ATTR_DEV;
	if (a->rdev != b->rdev)
		d |= ATTR_RDEV;
	if (a->target.len != b->target.len ||
	    memcmp(a->target.buf, b->target.buf, a->target.len))
		d |= ATTR_TARGET;
	if (a->xattrs.len != b->xattrs.len ||
	    memcmp(a->xattrs.buf, b->xattrs.buf, a->xattrs.len))
		d |= ATTR_XATTRS;
	/* Flags unknown on one side (the file could not be opened) are not
	 * a change; the state says what happened. */
	if (a->has_iflags && b->has_iflags && a->iflags != b->iflags)
		d |= ATTR_FLAGS;
	if (a->state != b->state)
		d |= ATTR_STATE;

	/* Hashes: compare the algorithms both sides have. */
	for (int id = 1; id < HASH_MAX_ID; id++) {
		unsigned la, lb;
		const unsigned char *ha = fim_entry_hash(a, id, &la);
		const unsigned char *hb = fim_entry_hash(b, id, &lb);
		if (!ha || !hb)
			continue;
		common = 1;
		if (la != lb || memcmp(ha, hb, la))
			ids |= 1u << id;
	}
	if (!common && a->hashes_len && b->hashes_len) {
		/* Different algorithm sets: nothing to vouch for equality. */
		for (int id = 1; id < HASH_MAX_ID; id++)
			if (fim_entry_hash(a, id, NULL) ||
			    fim_entry_hash(b, id, NULL))
				ids |= 1u << id;
	}
	if (ids)
		d |= ATTR_HASH;
	if (hash_ids)
		*hash_ids = ids;
	return d;
}

/* ---- the run ------------------------------------------------------- */

struct diff_ctx {
	struct store *st;
	struct diff_result *r;
	struct pathset seen;
	struct fim_config cfg;       /* rules of the newer state */
	struct strbuf path;
	int ret;
};

static int in_scope(const struct diff_result *r, const char *p, size_t len)
{
	for (size_t i = 0; i < r->nscope; i++)
		if (path_is_under(p, len, r->scope[i], r->scopelens[i]))
			return 1;
	return 0;
}

static struct diff_item *item_new(int kind, const char *path, size_t len)
{
	struct diff_item *it = xcalloc(1, sizeof(*it));

	it->kind = kind;
	strbuf_init(&it->path, len);
	strbuf_add(&it->path, path, len);
	strbuf_init(&it->moved_from, 0);
	return it;
}

static struct fim_entry *entry_new(void)
{
	struct fim_entry *e = xmalloc(sizeof(*e));
	fim_entry_init(e);
	return e;
}

static void entry_free(struct fim_entry *e)
{
	if (!e)
		return;
	fim_entry_release(e);
	free(e);
}

static void item_free(struct diff_item *it)
{
	strbuf_release(&it->path);
	strbuf_release(&it->moved_from);
	entry_free(it->old);
	entry_free(it->new);
	if (it->ranges) {
		range_list_release(it->ranges);
		free(it->ranges);
	}
	if (it->new_data) {
		strbuf_release(it->new_data);
		free(it->new_data);
	}
	free(it);
}

static void result_add(struct diff_result *r, struct diff_item *it)
{
	ALLOC_GROW(r->items, r->n + 1, r->alloc);
	r->items[r->n++] = it;
}

/*
 * Is b's content a's content with bytes appended? The scanner proved
 * each append step when it hashed the new version (the old digest equals
 * the digest of the new file's first old-size bytes) and recorded it as
 * `prefix`; an append from a to b is a chain of such steps. 1 proven,
 * 0 not, or an EXIT_* status.
 */
static int proven_append(struct diff_ctx *c, const char *dir, size_t dirlen,
			 const char *name, size_t namelen,
			 const struct fim_entry *a, const struct fim_entry *b)
{
	struct fim_entry cur;
	int ret = 0;

	if (fim_type_of(a->mode) != FT_FILE || fim_type_of(b->mode) != FT_FILE ||
	    b->size <= a->size || a->born >= b->born || !b->prefix)
		return 0;
	fim_entry_init(&cur);
	fim_entry_copy(&cur, b);
	while (cur.prefix && cur.born > a->born) {
		if (cur.prefix == a->born) {
			ret = 1;
			break;
		}
		ret = store_version_born(c->st, dir, dirlen, name, namelen,
					 cur.prefix, &cur);
		if (ret != 1)
			break;
		ret = 0;
	}
	fim_entry_release(&cur);
	return ret;
}

static int candidate(const char *dir, size_t dirlen, const char *name,
		     size_t namelen, void *data)
{
	struct diff_ctx *c = data;
	struct fim_entry *a, *b;
	int fa, fb;

	path_join(&c->path, dir, dirlen, name, namelen);
	if (!in_scope(c->r, c->path.buf, c->path.len) ||
	    !pathset_add(&c->seen, c->path.buf, c->path.len))
		return 0;

	a = entry_new();
	b = entry_new();
	fa = store_version_at(c->st, &c->r->ra, dir, dirlen, name, namelen, a);
	fb = fa > 1 ? 0 :
	     store_version_at(c->st, &c->r->rb, dir, dirlen, name, namelen, b);
	if (fa > 1 || fb > 1) {
		c->ret = fa > 1 ? fa : fb;
		entry_free(a);
		entry_free(b);
		return 1;
	}
	if (fa && fb) {
		uint32_t ids, d = diff_entries(a, b, &ids);
		uint32_t rule = config_attrs_for(&c->cfg, c->path.buf,
						 c->path.len);
		int app = 0;

		if ((d & (ATTR_SIZE | ATTR_HASH)) &&
		    (app = proven_append(c, dir, dirlen, name, namelen, a, b)) > 1) {
			c->ret = app;
			entry_free(a);
			entry_free(b);
			return 1;
		}
		/* A log that only grew is no change for a growing group. */
		if (app && (rule & ATTR_GROWING))
			d &= ~(ATTR_SIZE | ATTR_MTIME | ATTR_CTIME | ATTR_HASH);
		d &= rule;
		if (d) {
			struct diff_item *it = item_new(DIFF_CHANGED,
							c->path.buf,
							c->path.len);
			it->old = a;
			it->new = b;
			it->attrs = d;
			it->hash_ids = d & ATTR_HASH ? ids : 0;
			it->appended = app == 1;
			result_add(c->r, it);
			return 0;
		}
	} else if (fa || fb) {
		struct diff_item *it = item_new(fa ? DIFF_REMOVED : DIFF_ADDED,
						c->path.buf, c->path.len);
		if (fa)
			it->old = a, a = NULL;
		else
			it->new = b, b = NULL;
		result_add(c->r, it);
	}
	entry_free(a);
	entry_free(b);
	return 0;
}

/* Same object, same content: a removal and an addition are one move. */
static int same_object(const struct fim_entry *o, const struct fim_entry *n)
{
	enum fim_type t = fim_type_of(o->mode);
	int common = 0;

	if (o->dev != n->dev || o->ino != n->ino || t != fim_type_of(n->mode))
		return 0;
	if (t == FT_SYMLINK)
		return o->target.len == n->target.len &&
		       !memcmp(o->target.buf, n->target.buf, o->target.len);
	if (t != FT_FILE)
		return 1;
	for (int id = 1; id < HASH_MAX_ID; id++) {
		unsigned lo, ln;
		const unsigned char *ho = fim_entry_hash(o, id, &lo);
		const unsigned char *hn = fim_entry_hash(n, id, &ln);
		if (!ho || !hn)
			continue;
		if (lo != ln || memcmp(ho, hn, lo))
			return 0;
		common = 1;
	}
	return common || (!o->hashes_len && !n->hashes_len &&
			  o->size == n->size);
}

struct inode_slot {
	uint64_t dev, ino;
	size_t item;          /* index + 1 in r->items; 0 empty */
};

static void find_moves(struct diff_ctx *c)
{
	struct diff_result *r = c->r;
	struct inode_slot *tab;
	size_t cap = 16, nrem = 0;

	for (size_t i = 0; i < r->n; i++)
		nrem += r->items[i]->kind == DIFF_REMOVED;
	if (!nrem)
		return;
	while (cap < nrem * 2)
		cap *= 2;
	tab = xcalloc(cap, sizeof(*tab));
	for (size_t i = 0; i < r->n; i++) {
		const struct fim_entry *o = r->items[i]->old;
		size_t k;
		if (r->items[i]->kind != DIFF_REMOVED)
			continue;
		k = hash_bytes(&o->ino, sizeof(o->ino)) & (cap - 1);
		while (tab[k].item)
			k = (k + 1) & (cap - 1);
		tab[k] = (struct inode_slot){ o->dev, o->ino, i + 1 };
	}
	for (size_t i = 0; i < r->n; i++) {
		struct diff_item *add = r->items[i];
		size_t k;
		if (add->kind != DIFF_ADDED)
			continue;
		k = hash_bytes(&add->new->ino, sizeof(uint64_t)) & (cap - 1);
		for (; tab[k].item; k = (k + 1) & (cap - 1)) {
			struct diff_item *rem = r->items[tab[k].item - 1];
			uint32_t ids;
			if (rem->kind != DIFF_REMOVED ||
			    !same_object(rem->old, add->new))
				continue;
			/* The addition becomes the move; the removal goes. */
			add->kind = DIFF_CHANGED;
			add->old = rem->old;
			rem->old = NULL;
			strbuf_add(&add->moved_from, rem->path.buf,
				   rem->path.len);
			add->attrs = diff_entries(add->old, add->new, &ids) &
				     config_attrs_for(&c->cfg, add->path.buf,
						      add->path.len);
			add->hash_ids = add->attrs & ATTR_HASH ? ids : 0;
			rem->kind = 0;
			r->moved++;
			break;
		}
	}
	free(tab);
	/* Drop the removals that became moves. */
	size_t w = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->items[i]->kind)
			r->items[w++] = r->items[i];
		else
			item_free(r->items[i]);
	}
	r->n = w;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct diff_item *a = *(struct diff_item *const *)pa;
	const struct diff_item *b = *(struct diff_item *const *)pb;
	size_t n = a->path.len < b->path.len ? a->path.len : b->path.len;
	int c = memcmp(a->path.buf, b->path.buf, n);

	if (c)
		return c;
	return a->path.len < b->path.len ? -1 : a->path.len > b->path.len;
}

/* Scope: b's roots, narrowed to the PATH operands. */
static void make_scope(struct diff_result *r, const char *const *paths,
		       const size_t *lens, size_t n)
{
	size_t alloc = 0, lalloc = 0;

	if (!n) {
		for (size_t i = 0; i < r->b.nroots; i++) {
			ALLOC_GROW(r->scope, r->nscope + 1, alloc);
			ALLOC_GROW(r->scopelens, r->nscope + 1, lalloc);
			r->scope[r->nscope] = xmemdup(r->b.roots[i],
						      r->b.rootlens[i]);
			r->scopelens[r->nscope++] = r->b.rootlens[i];
		}
		return;
	}
	for (size_t p = 0; p < n; p++) {
		for (size_t i = 0; i < r->b.nroots; i++) {
			const char *s = NULL;
			size_t sl = 0;
			if (path_is_under(paths[p], lens[p], r->b.roots[i],
					  r->b.rootlens[i]))
				s = paths[p], sl = lens[p];
			else if (path_is_under(r->b.roots[i], r->b.rootlens[i],
					       paths[p], lens[p]))
				s = r->b.roots[i], sl = r->b.rootlens[i];
			if (!s)
				continue;
			ALLOC_GROW(r->scope, r->nscope + 1, alloc);
			ALLOC_GROW(r->scopelens, r->nscope + 1, lalloc);
			r->scope[r->nscope] = xmemdup(s, sl);
			r->scopelens[r->nscope++] = sl;
		}
	}
}

int diff_run(struct store *st, const struct store_ref *a,
	     const struct store_ref *b, const char *const *paths,
	     const size_t *pathlens, size_t npaths, struct diff_result *out)
{
	struct diff_ctx c = { .st = st, .r = out };
	int ret;

	memset(out, 0, sizeof(*out));
	out->ra = *a;
	out->rb = *b;
	if ((ret = store_snapshot_get(st, a->snap, &out->a)) ||
	    (ret = store_snapshot_get(st, b->snap, &out->b)))
		return ret;
	make_scope(out, paths, pathlens, npaths);

	/* The newer state's rules decide which differences count. The
	 * text was validated when it was stored; should it not parse now,
	 * every attribute counts (never fewer). */
	config_init(&c.cfg);
	if (config_parse(&c.cfg, "(stored config)",
			 (a->snap > b->snap ? &out->a : &out->b)->config, 0)) {
		config_release(&c.cfg);
		config_init(&c.cfg);
		c.cfg.default_group = 0;
	}
	strbuf_init(&c.path, 0);
	ret = store_candidates(st, a, b, candidate, &c);
	if (!ret)
		ret = c.ret;
	if (!ret) {
		find_moves(&c);
		if (out->n)
			qsort(out->items, out->n, sizeof(*out->items), item_cmp);
		for (size_t i = 0; i < out->n; i++) {
			switch (out->items[i]->kind) {
			case DIFF_ADDED: out->added++; break;
			case DIFF_REMOVED: out->removed++; break;
			default: out->changed++; break;
			}
		}
	}
	strbuf_release(&c.path);
	pathset_release(&c.seen);
	config_release(&c.cfg);
	return ret;
}

void diff_result_release(struct diff_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		item_free(r->items[i]);
	free(r->items);
	for (size_t i = 0; i < r->nscope; i++)
		free(r->scope[i]);
	free(r->scope);
	free(r->scopelens);
	snapshot_info_release(&r->a);
	snapshot_info_release(&r->b);
	memset(r, 0, sizeof(*r));
}

int diff_exit_bits(const struct diff_result *r)
{
	return (r->added ? EXIT_ADDED : 0) | (r->removed ? EXIT_REMOVED : 0) |
	       (r->changed ? EXIT_CHANGED : 0);
}
