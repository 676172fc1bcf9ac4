/*
 * prune.c: drop old snapshots, the versions only they saw, and old kept
 * content (`fimscan prune`), in one transaction, without changing what a
 * remaining snapshot says.
 *
 * Why every remaining pair of snapshots diffs as before:
 *   - The state of an entry at snapshot S is its version with
 *     born <= S < died. A version alive at no remaining snapshot is never
 *     looked up again, unless an override (accept) names it: those stay.
 *   - A diff of (a, b] takes its candidates from the change log rows of
 *     the snapshots in (min, max] and from directories created there. A
 *     row of a dropped snapshot s moves to the next remaining snapshot
 *     n(s): for remaining lo < hi, lo < s <= hi exactly when
 *     lo < n(s) <= hi. Rows at or before the oldest remaining snapshot
 *     are never asked for and go.
 *   - born, died and dir.created keep their values even when they name a
 *     dropped snapshot: only their order against remaining ids matters,
 *     and born is part of a version's identity (the primary key, the
 *     overrides, the ECS document ids).
 *   - A proven append is a chain of `prefix` links through the versions
 *     in between. A link to a dropped version is redirected to that
 *     version's own prefix (appends compose), so the chain proves the
 *     same thing without it.
 *
 * Kept bytes live in chunks that the lists of versions with content
 * reference. Chunks no such list references go; a pack that loses some
 * is rewritten with the rest (each checked against its id on the way, so
 * a damaged pack stops the prune instead of spreading), and packs of
 * survivors are filled up to the usual size again.
 *
 * Sections: helpers, content, snapshots, versions, change log, rows
 * nothing references, chunks and packs, the transaction, vacuum.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "scanner/chunk.h"
#include "store/store-private.h"

/* Packs as content.c writes them; it refuses to read one above RAW_MAX. */
#define REPACK_TARGET (1024 * 1024)
#define REPACK_LEVEL 3
#define PACK_RAW_MAX (64ll * 1024 * 1024)

struct prune {
	struct store *st;
	const struct store_prune_policy *p;
	struct store_prune_result *r;
};

/* ---- helpers ------------------------------------------------------- */

static int prep(struct store *st, const char *q, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(st->db, q, -1, s, NULL) != SQLITE_OK) {
		*s = NULL;
		return st_error(st, "prune");
	}
	return 0;
}

/* Run a statement without results; *changes gets the rows it changed. */
static int run(struct store *st, const char *q, int64_t a, int64_t b,
	       int64_t *changes)
{
	sqlite3_stmt *s;
	int ret;

	if ((ret = prep(st, q, &s)))
		return ret;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, b);
	ret = sqlite3_step(s) == SQLITE_DONE ? 0 : st_error(st, "prune");
	sqlite3_finalize(s);
	if (!ret && changes)
		*changes += sqlite3_changes64(st->db);
	return ret;
}

/* One integer from a query (0 when it yields no row or NULL). */
static int scalar(struct store *st, const char *q, int64_t a, int64_t *out)
{
	sqlite3_stmt *s;
	int rc, ret;

	*out = 0;
	if ((ret = prep(st, q, &s)))
		return ret;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, a);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	ret = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : st_error(st, "prune");
	sqlite3_finalize(s);
	return ret;
}

static int stopped(const struct prune *pr)
{
	if (!pr->p->stop || !pr->p->stop())
		return 0;
	error("interrupted: nothing was pruned");
	return EXIT_INTERRUPTED;
}

int64_t store_file_size(struct store *st)
{
	static const char *const suffix[] = { "", "-wal" };
	struct strbuf sb = STRBUF_INIT;
	int64_t total = 0;

	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		struct stat s;
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%s%s", st->path, suffix[i]);
		if (!stat(sb.buf, &s))
			total += s.st_size;
	}
	strbuf_release(&sb);
	return total;
}

void store_prune_result_release(struct store_prune_result *r)
{
	free(r->snaps);
	memset(r, 0, sizeof(*r));
}

/* ---- content ------------------------------------------------------- */

/*
 * Forget the kept bytes of versions that died before the cutoff. A
 * version died in snapshot `died`; when that one was dropped by an
 * earlier prune, the next remaining one finished later, which only keeps
 * the bytes a little longer.
 */
static int drop_content(struct prune *pr)
{
	if (!pr->p->content_died_before_ns)
		return 0;
	return run(pr->st, "UPDATE version SET content = NULL WHERE content "
		   "AND died IS NOT NULL AND (SELECT s.finished FROM snapshot s "
		   "WHERE s.id >= version.died ORDER BY s.id LIMIT 1) < ?1",
		   pr->p->content_died_before_ns, 0, &pr->r->content_versions);
}

/* ---- snapshots ----------------------------------------------------- */

/*
 * A snapshot goes when every rule given says so: it is not among the
 * newest `keep`, and it finished before the cutoff. The latest and the
 * baseline snapshot always stay.
 */
static int drop_snapshots(struct prune *pr)
{
	const struct store_prune_policy *p = pr->p;
	struct store_prune_result *r = pr->r;
	int64_t baseline = st_meta_int(pr->st, "baseline"), rank = 0;
	size_t alloc = 0;
	sqlite3_stmt *s;
	int rc, ret;

	if (!p->keep && !p->finished_before_ns)
		return 0;
	if ((ret = prep(pr->st, "SELECT id, finished FROM snapshot ORDER BY "
			"id DESC", &s)))
		return ret;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		int old = sqlite3_column_type(s, 1) != SQLITE_NULL &&
			  sqlite3_column_int64(s, 1) < p->finished_before_ns;

		if (rank++ > 0 && id != baseline &&
		    (!p->keep || rank > p->keep) &&
		    (!p->finished_before_ns || old)) {
			ALLOC_GROW(r->snaps, r->nsnaps + 1, alloc);
			r->snaps[r->nsnaps++] = id;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return st_error(pr->st, "prune");
	/* oldest first, for the change log and for people */
	for (size_t i = 0, j = r->nsnaps; i + 1 < j; i++, j--) {
		int64_t t = r->snaps[i];
		r->snaps[i] = r->snaps[j - 1];
		r->snaps[j - 1] = t;
	}
	for (size_t i = 0; i < r->nsnaps && !ret; i++) {
		ret = run(pr->st, "DELETE FROM snapshot WHERE id = ?1",
			  r->snaps[i], 0, NULL);
		if (!ret)
			ret = run(pr->st, "DELETE FROM snapshot_root WHERE "
				  "snap = ?1", r->snaps[i], 0, NULL);
	}
	return ret;
}

/* ---- versions ------------------------------------------------------ */

static int drop_versions(struct prune *pr)
{
	struct store *st = pr->st;
	sqlite3_stmt *s = NULL, *relink = NULL, *del = NULL;
	int rc = SQLITE_DONE, ret;

	if ((ret = st_exec(st, "CREATE TEMP TABLE prune_doomed(dir INTEGER, "
			   "name BLOB, born INTEGER, PRIMARY KEY(dir, name, "
			   "born)) WITHOUT ROWID")) ||
	    (ret = st_exec(st, "INSERT INTO temp.prune_doomed SELECT dir, "
			   "name, born FROM version v WHERE v.died IS NOT NULL "
			   "AND NOT EXISTS (SELECT 1 FROM snapshot s WHERE "
			   "s.id >= v.born AND s.id < v.died) AND NOT EXISTS "
			   "(SELECT 1 FROM override o WHERE o.dir = v.dir AND "
			   "o.name = v.name AND o.born = v.born)")))
		return ret;
	if ((ret = prep(st, "SELECT dir, name, born FROM temp.prune_doomed",
			&s)) ||
	    /* a later version proven to append to this one now appends to
	     * what this one appended to (or is no proven append) */
	    (ret = prep(st, "UPDATE version SET prefix = (SELECT p.prefix FROM "
			"version p WHERE p.dir = ?1 AND p.name = ?2 AND "
			"p.born = ?3) WHERE dir = ?1 AND name = ?2 AND "
			"prefix = ?3", &relink)) ||
	    (ret = prep(st, "DELETE FROM version WHERE dir = ?1 AND name = ?2 "
			"AND born = ?3", &del)))
		goto out;
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int k = 0; k < 2; k++) {
			sqlite3_stmt *w = k ? del : relink;

			sqlite3_bind_int64(w, 1, sqlite3_column_int64(s, 0));
			sqlite3_bind_blob64(w, 2, sqlite3_column_blob(s, 1),
					    sqlite3_column_bytes(s, 1),
					    SQLITE_TRANSIENT);
			sqlite3_bind_int64(w, 3, sqlite3_column_int64(s, 2));
			if ((ret = st_step_done(st, w, "prune")))
				break;
		}
		pr->r->versions++;
		if (!(pr->r->versions & 4095))
			ret = ret ? ret : stopped(pr);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = st_error(st, "prune");
out:
	sqlite3_finalize(s);
	sqlite3_finalize(relink);
	sqlite3_finalize(del);
	return ret ? ret : st_exec(st, "DROP TABLE temp.prune_doomed");
}

/* ---- change log ---------------------------------------------------- */

static int compact_log(struct prune *pr)
{
	struct store *st = pr->st;
	int64_t before, after, oldest, next;
	int ret;

	if ((ret = scalar(st, "SELECT count(*) FROM change", 0, &before)) ||
	    (ret = scalar(st, "SELECT min(id) FROM snapshot", 0, &oldest)))
		return ret;
	for (size_t i = 0; i < pr->r->nsnaps && !ret; i++) {
		int64_t s = pr->r->snaps[i];

		if (s < oldest)
			continue;
		if (!(ret = scalar(st, "SELECT min(id) FROM snapshot WHERE "
				   "id > ?1", s, &next)) && next)
			/* a row already there for the entry says the same */
			ret = run(st, "UPDATE OR REPLACE change SET snap = ?2 "
				  "WHERE snap = ?1", s, next, NULL);
	}
	if (!ret)
		ret = run(st, "DELETE FROM change WHERE snap <= ?1", oldest, 0,
			  NULL);
	if (!ret && !(ret = scalar(st, "SELECT count(*) FROM change", 0,
				   &after)))
		pr->r->changes = before - after;
	return ret;
}

/* ---- rows nothing references --------------------------------------- */

static int drop_unreferenced(struct prune *pr)
{
	struct store *st = pr->st;
	int ret;

	if ((ret = run(st, "DELETE FROM clist WHERE id NOT IN (SELECT clist "
		       "FROM version WHERE clist IS NOT NULL)", 0, 0,
		       &pr->r->clists)) ||
	    (ret = run(st, "DELETE FROM dir WHERE id NOT IN (SELECT dir FROM "
		       "version) AND id NOT IN (SELECT dir FROM change) AND "
		       "id NOT IN (SELECT dir FROM override)", 0, 0,
		       &pr->r->dirs)))
		return ret;
	return run(st, "DELETE FROM config WHERE id NOT IN (SELECT config "
		   "FROM snapshot WHERE config IS NOT NULL)", 0, 0, NULL);
}

/* ---- chunks and packs ---------------------------------------------- */

struct moved {
	unsigned char id[CHUNK_ID_LEN];
	int64_t off;                  /* in the old pack */
	int64_t len;
};

struct repack {
	struct strbuf raw;            /* the new pack being filled */
	struct moved *v;              /* its chunks, in order */
	size_t n, alloc;
	struct strbuf old;            /* an old pack, decompressed */
};

/* Compress the new pack, store it, point its chunks at it. */
static int repack_flush(struct prune *pr, struct repack *rp)
{
	struct store *st = pr->st;
	sqlite3_stmt *s = NULL;
	size_t bound, zlen;
	int64_t pack, off = 0;
	void *z;
	int ret;

	if (!rp->n)
		return 0;
	bound = ZSTD_compressBound(rp->raw.len);
	z = xmalloc(bound);
	zlen = ZSTD_compress(z, bound, rp->raw.buf, rp->raw.len, REPACK_LEVEL);
	if (ZSTD_isError(zlen)) {
		free(z);
		error("cannot compress content: %s", ZSTD_getErrorName(zlen));
		return EXIT_INTERNAL;
	}
	if (!(ret = prep(st, "INSERT INTO pack(raw, data) VALUES(?1, ?2)",
			 &s))) {
		sqlite3_bind_int64(s, 1, (int64_t)rp->raw.len);
		st_bind_blob(s, 2, z, zlen);
		ret = sqlite3_step(s) == SQLITE_DONE ? 0 : st_error(st, "prune");
		sqlite3_finalize(s);
	}
	free(z);
	if (ret)
		return ret;
	pack = sqlite3_last_insert_rowid(st->db);
	if ((ret = prep(st, "UPDATE chunk SET pack = ?2, off = ?3 WHERE "
			"id = ?1", &s)))
		return ret;
	for (size_t i = 0; i < rp->n && !ret; i++) {
		st_bind_blob(s, 1, rp->v[i].id, CHUNK_ID_LEN);
		sqlite3_bind_int64(s, 2, pack);
		sqlite3_bind_int64(s, 3, off);
		ret = st_step_done(st, s, "prune");
		off += rp->v[i].len;
	}
	sqlite3_finalize(s);
	rp->n = 0;
	strbuf_reset(&rp->raw);
	return ret;
}

static int pack_corrupt(struct store *st, int64_t pack)
{
	error("store %s: content pack %lld is corrupt; nothing was pruned",
	      st->path, (long long)pack);
	return EXIT_STORE;
}

/* Move the live chunks of old pack `pack` into the new pack(s). */
static int repack_one(struct prune *pr, struct repack *rp, int64_t pack)
{
	struct store *st = pr->st;
	struct moved *live = NULL;
	size_t nlive = 0, alloc = 0;
	sqlite3_stmt *s;
	int rc, ret;

	/* Read the list first: moving chunks updates the rows we select. */
	if ((ret = prep(st, "SELECT id, off, len FROM chunk WHERE pack = ?1 "
			"AND id IN (SELECT id FROM temp.prune_live) ORDER BY off",
			&s)))
		return ret;
	sqlite3_bind_int64(s, 1, pack);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != CHUNK_ID_LEN) {
			sqlite3_finalize(s);
			free(live);
			return pack_corrupt(st, pack);
		}
		ALLOC_GROW(live, nlive + 1, alloc);
		memcpy(live[nlive].id, sqlite3_column_blob(s, 0), CHUNK_ID_LEN);
		live[nlive].off = sqlite3_column_int64(s, 1);
		live[nlive++].len = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		ret = st_error(st, "prune");
	if (ret || !nlive)
		goto out;

	if ((ret = prep(st, "SELECT raw, data FROM pack WHERE id = ?1", &s)))
		goto out;
	sqlite3_bind_int64(s, 1, pack);
	if (sqlite3_step(s) != SQLITE_ROW) {
		ret = pack_corrupt(st, pack);
	} else {
		int64_t raw = sqlite3_column_int64(s, 0);
		size_t got = 0;

		if (raw >= 0 && raw <= PACK_RAW_MAX) {
			strbuf_reset(&rp->old);
			strbuf_grow(&rp->old, raw);
			got = ZSTD_decompress(rp->old.buf, raw,
					      sqlite3_column_blob(s, 1),
					      sqlite3_column_bytes(s, 1));
		}
		if (raw < 0 || raw > PACK_RAW_MAX || ZSTD_isError(got) ||
		    got != (size_t)raw)
			ret = pack_corrupt(st, pack);
		else
			strbuf_setlen(&rp->old, raw);
	}
	sqlite3_finalize(s);

	for (size_t i = 0; i < nlive && !ret; i++) {
		unsigned char id[CHUNK_ID_LEN];

		const struct moved *m = &live[i];

		if (m->off < 0 || m->len <= 0 ||
		    (uint64_t)m->off + m->len > rp->old.len) {
			ret = pack_corrupt(st, pack);
			break;
		}
		chunk_id(rp->old.buf + m->off, m->len, id);
		if (memcmp(id, m->id, CHUNK_ID_LEN)) {
			ret = pack_corrupt(st, pack);
			break;
		}
		ALLOC_GROW(rp->v, rp->n + 1, rp->alloc);
		rp->v[rp->n++] = *m;
		strbuf_add(&rp->raw, rp->old.buf + m->off, m->len);
		if (rp->raw.len >= REPACK_TARGET)
			ret = repack_flush(pr, rp);
	}
out:
	free(live);
	return ret;
}

static int drop_chunks(struct prune *pr)
{
	struct store *st = pr->st;
	struct store_prune_result *r = pr->r;
	struct strbuf list = STRBUF_INIT;
	struct repack rp = { .raw = STRBUF_INIT, .old = STRBUF_INIT };
	sqlite3_stmt *s = NULL, *ins = NULL;
	int64_t *packs = NULL, npacks_all, packed_before, packed_after, raw;
	size_t npacks = 0, alloc = 0;
	int rc = SQLITE_DONE, ret;

	if ((ret = scalar(st, "SELECT count(*) FROM pack", 0, &npacks_all)) ||
	    !npacks_all)
		return ret;
	if ((ret = scalar(st, "SELECT coalesce(sum(length(data)), 0) FROM "
			  "pack", 0, &packed_before)) ||
	    (ret = st_exec(st, "CREATE TEMP TABLE prune_live(id BLOB PRIMARY "
			   "KEY) WITHOUT ROWID")))
		return ret;

	/* Every chunk that a version with content still needs. */
	if ((ret = prep(st, "SELECT DISTINCT clist FROM version WHERE content "
			"AND clist > 0", &s)) ||
	    (ret = prep(st, "INSERT OR IGNORE INTO temp.prune_live(id) "
			"VALUES(?1)", &ins)))
		goto out;
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct chunk_entry *v = NULL;
		int64_t id = sqlite3_column_int64(s, 0);
		ssize_t n;

		if ((ret = store_clist(st, id, &list)))
			break;
		if ((n = chunk_list_decode(list.buf, list.len, &v)) < 0) {
			error("store %s: chunk list %lld is corrupt; nothing "
			      "was pruned", st->path, (long long)id);
			ret = EXIT_STORE;
		}
		for (ssize_t i = 0; i < n && !ret; i++) {
			st_bind_blob(ins, 1, v[i].id, CHUNK_ID_LEN);
			ret = st_step_done(st, ins, "prune");
		}
		free(v);
	}
	if (!ret && rc != SQLITE_DONE)
		ret = st_error(st, "prune");
	sqlite3_finalize(s);
	s = NULL;
	if (ret || (ret = stopped(pr)))
		goto out;

	/* What goes, and the packs it is in. */
	if ((ret = prep(st, "SELECT count(*), coalesce(sum(len), 0) FROM chunk "
			"WHERE id NOT IN (SELECT id FROM temp.prune_live)", &s)))
		goto out;
	if (sqlite3_step(s) == SQLITE_ROW) {
		r->chunks = sqlite3_column_int64(s, 0);
		r->content_raw = sqlite3_column_int64(s, 1);
	} else {
		ret = st_error(st, "prune");
	}
	sqlite3_finalize(s);
	s = NULL;
	if (ret || (ret = prep(st, "SELECT DISTINCT pack FROM chunk WHERE id "
			       "NOT IN (SELECT id FROM temp.prune_live) ORDER "
			       "BY pack", &s)))
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ALLOC_GROW(packs, npacks + 1, alloc);
		packs[npacks++] = sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE)
		ret = st_error(st, "prune");
	sqlite3_finalize(s);
	s = NULL;

	/* The survivors of those packs go into new ones, which get ids
	 * above every old one: no chunk row can end up meaning the wrong
	 * pack. */
	for (size_t i = 0; i < npacks && !ret; i++) {
		ret = repack_one(pr, &rp, packs[i]);
		if (!ret && !(i & 63))
			ret = stopped(pr);
	}
	if (!ret)
		ret = repack_flush(pr, &rp);
	r->packs = npacks;
	/* Then the dead chunks, and the packs no chunk points into any
	 * more: the old ones just emptied (and any an older fimscan left). */
	if (ret ||
	    (ret = run(st, "DELETE FROM chunk WHERE id NOT IN (SELECT id FROM "
		       "temp.prune_live)", 0, 0, NULL)) ||
	    (ret = run(st, "DELETE FROM pack WHERE id NOT IN (SELECT pack "
		       "FROM chunk)", 0, 0, NULL)) ||
	    (ret = scalar(st, "SELECT coalesce(sum(length(data)), 0) FROM "
			  "pack", 0, &packed_after)) ||
	    (ret = scalar(st, "SELECT coalesce(sum(raw), 0) FROM pack", 0,
			  &raw)) ||
	    /* the total that content-max-total is checked against */
	    (ret = st_meta_set_int(st, "content_raw", raw)))
		goto out;
	r->content_packed = packed_before - packed_after;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(ins);
	free(packs);
	free(rp.v);
	strbuf_release(&rp.raw);
	strbuf_release(&rp.old);
	strbuf_release(&list);
	return ret ? ret : st_exec(st, "DROP TABLE temp.prune_live");
}

/* ---- the transaction ----------------------------------------------- */

int store_prune(struct store *st, const struct store_prune_policy *p,
		struct store_prune_result *r)
{
	struct prune pr = { .st = st, .p = p, .r = r };
	int ret;

	memset(r, 0, sizeof(*r));
	if (st->snap)
		die("store_prune inside a snapshot");
	if ((ret = st_begin(st, p->busy_ms)))
		return ret;
	/* Content first: a version's death time comes from its snapshot,
	 * which may be about to go. */
	if ((ret = drop_content(&pr)) || (ret = stopped(&pr)) ||
	    (ret = drop_snapshots(&pr)) || (ret = stopped(&pr)) ||
	    (ret = drop_versions(&pr)) || (ret = stopped(&pr)) ||
	    (ret = compact_log(&pr)) ||
	    (ret = drop_unreferenced(&pr)) || (ret = stopped(&pr)) ||
	    (ret = drop_chunks(&pr)) || (ret = stopped(&pr)))
		goto fail;
	if (p->dry_run) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	} else if (sqlite3_exec(st->db, "COMMIT", NULL, NULL,
				NULL) != SQLITE_OK) {
		ret = st_error(st, "cannot commit the prune");
		goto fail;
	}
	/* Cached packs, totals and directory ids may describe what is gone. */
	store_content_free(st);
	st->dir_id = 0;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	store_content_free(st);
	st->dir_id = 0;
	return ret;
}

/* ---- vacuum -------------------------------------------------------- */

int store_vacuum(struct store *st, int busy_ms)
{
	int rc;

	st_set_busy(st, busy_ms);
	rc = sqlite3_exec(st->db, "VACUUM", NULL, NULL, NULL);
	st_set_busy(st, 5000);
	if (rc != SQLITE_OK)
		return st_error(st, "cannot vacuum the store (the prune was "
				"committed; its free pages stay in the file "
				"and are reused)");
	/* VACUUM went through the WAL: copy it back and truncate both. A
	 * reader in the way leaves part of it for a later checkpoint. */
	sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				  NULL, NULL);
	return 0;
}
