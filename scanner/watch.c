/*
 * watch.c: the change-triggered loop behind `fimscan watch` (scanner.h
 * states the contract, DESIGN.md "Watch mode" the reasons).
 *
 * Threads:
 *   main     places the watches, scans (scan_run) and commits: the only
 *            thread that writes snapshots (the caller's shipper, woken by
 *            committed(), settles the outbox on a connection of its own)
 *   reader   calls the backend's read(); the callback files each event
 *            in the pending set (a new directory's watch is placed by the
 *            backend before its event gets here)
 *   signals  sigwait() for SIGTERM, SIGINT and SIGHUP: sets a flag and
 *            wakes main
 *
 * Locks: `bk` serializes the backend (reader's read(), main's add());
 * `lock` guards the pending set and the flags. Order: bk, then lock. The
 * setup (config, roots) changes only while the reader is stopped.
 *
 * Sections: messages, pending paths, events in, batches, scans, the loop,
 * watch_run().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform/watch.h"
#include "scanner/scanner.h"

#define PEND_MAX (1 << 18)          /* distinct pending paths, then: rescan */
#define UNWATCHED_SCAN_S 60         /* subtrees without watches: scan period */
#define READ_TIMEOUT_MS 200         /* reader: how often it looks at flags */
#define FINAL_ROUNDS 16             /* batches after SIGTERM (hard links) */
#define COALESCE 64                 /* changed names: scan the directory */
#define BACKOFF_MAX_NS (30 * 1000000000LL)
#define GAPS_MAX 256                /* coverage gaps waiting for the store */

struct pend {
	struct pend *next;           /* hash chain */
	uint32_t hash;
	unsigned mask;               /* PW_* */
	unsigned deep : 1;           /* scan the entry and what is below */
	unsigned shallow : 1;        /* scan the entry only */
	unsigned taken : 1;          /* in the batch being built */
	unsigned covered : 1;        /* below a deep root of that batch */
	int64_t first_ns, last_ns;   /* wall clock, for the events */
	int64_t first_mono, last_mono;
	int pid;
	int64_t uid;
	char *exe, *old;
	size_t exe_len, old_len;
	size_t len;
	char path[];                 /* NUL-terminated */
};

struct pendset {
	struct pend **b;
	size_t nb, n;
};

struct unwatched {
	char *path;
	size_t len;
	int err;                     /* ENOSPC, EACCES, ...; ENOENT: root gone */
	int64_t ndirs;
	int reported;
};

/*
 * A coverage gap the store could not take yet (busy, full): kept until it
 * can, so that a blind spot always ends up in the events. Gaps of the
 * same action and path are one, from the earliest start.
 */
struct gap {
	const char *action;          /* "overflow", "lost", "unwatched" */
	char *path;                  /* NULL: all the roots */
	size_t len;
	int64_t since_ns;            /* when the earliest of them began */
	char *detail;                /* the first one's message */
	unsigned times;              /* gaps merged into this one */
	int64_t folded;              /* others, when the list was full */
	int late;                    /* a try failed: said so, once */
};

struct daemon {
	struct store *st, *rd;
	const struct watch_options *o;
	struct watch_setup setup;
	struct fim_config cfg_changed;   /* setup.cfg with rehash = changed */
	uint64_t *rootdev;
	char *db;                    /* the store's own files are not ours */
	size_t dblen;
	const struct plat_watch_ops *ops;
	struct plat_watch *bk;
	int64_t debounce_ns, maxwait_ns, rescan_ns, unwatched_ns;

	pthread_mutex_t bklock, lock;
	pthread_cond_t cv;           /* main sleeps here (CLOCK_MONOTONIC) */
	pthread_t reader, sigthr;
	int reader_running;
	/* under lock: */
	struct pendset pend;
	int overflow;                /* a full rescan is due */
	unsigned noverflow;          /* kernel overflows since the last one */
	int64_t overflow_ns;         /* wall clock of the first of them */
	int pend_full;               /* PEND_MAX was hit */
	struct unwatched *unw;
	size_t nunw, unw_alloc;
	int new_unw;
	int stop, reload, reader_stop, reader_done, reader_err;
	int in_reconcile;            /* SIGTERM interrupts the scan */
	int exiting;                 /* the signal thread may go */
	int64_t delivered;           /* events filed (reader's drain) */
	/* main only: */
	int64_t next_rescan, next_unwatched, retry_at, backoff;
	int64_t last_batch;          /* when the last batch started */
	int busy_warned;
	struct gap *gaps;            /* oldest first */
	size_t ngaps, gaps_alloc;
	int gaps_stop_tried;         /* tried once the stop was asked */
	int rescan_again;            /* a full rescan the store could not
				      * take (busy, full): its reason */
	int unrecorded;              /* something seen is not in the store */
	struct strbuf tmp;
};

/* ---- messages ---------------------------------------------------------- */

const char *watch_reason_name(int reason)
{
	switch (reason) {
	case WATCH_CHANGES: return "changes";
	case WATCH_START: return "start";
	case WATCH_OVERFLOW: return "overflow";
	case WATCH_PERIODIC: return "periodic";
	case WATCH_RELOAD: return "reload";
	case WATCH_UNWATCHED: return "unwatched";
	default: return "unknown";
	}
}

const struct watch_seen *watch_batch_find(const struct watch_batch *b,
					  const char *path, size_t len)
{
	size_t lo = 0, hi = b->nseen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct watch_seen *s = &b->seen[mid];
		int c = memcmp(s->path, path, s->len < len ? s->len : len);

		if (!c)
			c = s->len < len ? -1 : s->len > len;
		if (!c)
			return s;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- pending paths ----------------------------------------------------- */

static uint32_t hash_path(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static struct pend *pend_find(const struct pendset *s, const char *path,
			      size_t len, uint32_t h)
{
	struct pend *p;

	if (!s->nb)
		return NULL;
	for (p = s->b[h & (s->nb - 1)]; p; p = p->next)
		if (p->hash == h && p->len == len && !memcmp(p->path, path, len))
			return p;
	return NULL;
}

static void pend_link(struct pendset *s, struct pend *p)
{
	if (s->n + 1 > s->nb) {
		size_t nb = s->nb ? s->nb * 2 : 1024;
		struct pend **b = xcalloc(nb, sizeof(*b));

		for (size_t i = 0; i < s->nb; i++)
			while (s->b[i]) {
				struct pend *q = s->b[i];
				s->b[i] = q->next;
				q->next = b[q->hash & (nb - 1)];
				b[q->hash & (nb - 1)] = q;
			}
		free(s->b);
		s->b = b;
		s->nb = nb;
	}
	p->next = s->b[p->hash & (s->nb - 1)];
	s->b[p->hash & (s->nb - 1)] = p;
	s->n++;
}

static void pend_free(struct pend *p)
{
	if (!p)
		return;
	free(p->exe);
	free(p->old);
	free(p);
}

/* The entry of path, created when missing (NULL when the set is full). */
static struct pend *pend_get(struct daemon *w, const char *path, size_t len)
{
	uint32_t h = hash_path(path, len);
	struct pend *p = pend_find(&w->pend, path, len, h);

	if (p)
		return p;
	if (w->pend.n >= PEND_MAX) {
		w->pend_full = 1;
		return NULL;
	}
	p = xcalloc(1, sizeof(*p) + len + 1);
	p->hash = h;
	p->len = len;
	p->uid = -1;
	memcpy(p->path, path, len);
	pend_link(&w->pend, p);
	return p;
}

/* Put an entry back (a batch that could not be committed). */
static void pend_merge(struct daemon *w, struct pend *q)
{
	struct pend *p = pend_find(&w->pend, q->path, q->len, q->hash);

	q->taken = q->covered = 0;
	if (!p) {
		pend_link(&w->pend, q);
		return;
	}
	p->mask |= q->mask;
	p->deep |= q->deep;
	p->shallow |= q->shallow;
	if (q->first_mono < p->first_mono) {
		p->first_mono = q->first_mono;
		p->first_ns = q->first_ns;
	}
	if (!p->pid && q->pid) {
		p->pid = q->pid;
		p->uid = q->uid;
		free(p->exe);
		p->exe = q->exe;
		p->exe_len = q->exe_len;
		q->exe = NULL;
	}
	pend_free(q);
}

/* ---- events in ---------------------------------------------------------- */

static int is_own_file(const struct daemon *w, const char *path, size_t len)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };

	if (!w->db || len < w->dblen || memcmp(path, w->db, w->dblen))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++)
		if (len - w->dblen == strlen(suffix[i]) &&
		    !memcmp(path + w->dblen, suffix[i], len - w->dblen))
			return 1;
	return 0;
}

/* The root `path` is in, -1 when none (the deepest one wins). */
static long root_of(const struct daemon *w, const char *path, size_t len)
{
	long best = -1;

	for (size_t i = 0; i < w->setup.nroots; i++)
		if (path_is_under(path, len, w->setup.roots[i],
				  w->setup.rootlens[i]) &&
		    (best < 0 || w->setup.rootlens[i] >
				 w->setup.rootlens[best]))
			best = (long)i;
	return best;
}

/* Is path, or a directory between its root and it, excluded? */
static int excluded(const struct daemon *w, const char *path, size_t len,
		    size_t rootlen)
{
	const struct fim_config *cfg = w->setup.cfg;

	if (!cfg->nfilters)
		return 0;
	for (size_t i = rootlen + 1; i < len; i++)
		if (path[i] == '/' && config_excluded(cfg, path, i))
			return 1;
	return config_excluded(cfg, path, len);
}

/* Would a full scan of the roots record this path? */
static int relevant(const struct daemon *w, const char *path, size_t len)
{
	long r;

	if (!path || !len || (r = root_of(w, path, len)) < 0 ||
	    is_own_file(w, path, len))
		return 0;
	return !excluded(w, path, len, w->setup.rootlens[r]);
}

/* The backend's skip(): directories not to watch. */
static int skip_dir(const char *path, size_t len, const struct stat *st,
		    void *data)
{
	const struct daemon *w = data;
	long r = root_of(w, path, len);

	if (r < 0)
		return 1;
	if (w->setup.cfg->one_filesystem && w->rootdev[r] &&
	    (uint64_t)st->st_dev != w->rootdev[r])
		return 1;        /* the scan stops at mount points too */
	return excluded(w, path, len, w->setup.rootlens[r]);
}

/* How a path filed relates to its event. */
enum role { R_SELF, R_OLD, R_PARENT };

/* File one path: `deep` scans what is below it too. */
static void file_path(struct daemon *w, const struct plat_watch_event *ev,
		      const char *path, size_t len, int deep, int role)
{
	struct pend *p;
	int64_t mono = mono_ns();

	if (!relevant(w, path, len) || !(p = pend_get(w, path, len)))
		return;
	if (!p->first_mono) {
		p->first_mono = mono;
		p->first_ns = ev->time_ns;
	}
	p->last_mono = mono;
	p->last_ns = ev->time_ns;
	if (deep)
		p->deep = 1;
	else
		p->shallow = 1;
	if (role == R_SELF) {
		p->mask |= ev->mask;
		if (ev->old_path && relevant(w, ev->old_path, ev->old_len)) {
			free(p->old);
			p->old = xmemdup(ev->old_path, ev->old_len);
			p->old_len = ev->old_len;
		}
	} else if (role == R_OLD) {
		p->mask |= PW_MOVED_FROM | (ev->mask & PW_ISDIR);
	}
	/* the process of the path's own last event; a directory whose
	 * names changed keeps the first that touched it */
	if (ev->pid > 0 && (role != R_PARENT || !p->pid)) {
		p->pid = ev->pid;
		p->uid = ev->uid;
		free(p->exe);
		p->exe = ev->exe ? xmemdup(ev->exe, ev->exe_len) : NULL;
		p->exe_len = ev->exe ? ev->exe_len : 0;
	}
}

/* A name in a directory changed: so did the directory's mtime. */
static void file_parent(struct daemon *w, const struct plat_watch_event *ev,
			const char *path, size_t len)
{
	size_t dirlen, namelen;
	const char *name;

	path_split(path, len, &dirlen, &name, &namelen);
	if (!dirlen)
		return;
	file_path(w, ev, path, dirlen, 0, R_PARENT);
}

static void add_unwatched(struct daemon *w, const char *path, size_t len,
			  int err, int64_t ndirs)
{
	for (size_t i = 0; i < w->nunw; i++)
		if (w->unw[i].len == len && !memcmp(w->unw[i].path, path, len)) {
			w->unw[i].err = err;
			w->unw[i].ndirs = ndirs;
			return;
		}
	ALLOC_GROW(w->unw, w->nunw + 1, w->unw_alloc);
	w->unw[w->nunw].path = xmemdup(path, len);
	w->unw[w->nunw].len = len;
	w->unw[w->nunw].err = err;
	w->unw[w->nunw].ndirs = ndirs;
	w->unw[w->nunw++].reported = 0;
	w->new_unw = 1;
}

/* The backend's callback (reader thread, or main while placing watches). */
static void on_event(const struct plat_watch_event *ev, void *data)
{
	struct daemon *w = data;
	unsigned m = ev->mask;
	int wake;

	/* the store's own writes (it may live inside a root) */
	if (ev->path && is_own_file(w, ev->path, ev->len))
		return;
	pthread_mutex_lock(&w->lock);
	w->delivered++;
	/* main sleeps until the earliest path ripens: a new path ripens no
	 * earlier than those already pending, unless there were none */
	wake = !w->pend.n || !w->debounce_ns ||
	       (m & (PW_OVERFLOW | PW_RESCAN | PW_UNWATCHED | PW_LOST));
	if (m & (PW_OVERFLOW | PW_RESCAN)) {
		if (!w->noverflow++)
			w->overflow_ns = ev->time_ns;
		w->overflow = 1;
	} else if (m & PW_UNWATCHED) {
		add_unwatched(w, ev->path, ev->len, ev->err, ev->ndirs);
	} else if (m & PW_LOST) {
		/* a root deleted or moved away: record that, and watch it
		 * again when it is back */
		file_path(w, ev, ev->path, ev->len, 1, R_SELF);
		add_unwatched(w, ev->path, ev->len, ENOENT, 1);
	} else if (m & (PW_CREATE | PW_DELETE | PW_MOVED_FROM | PW_MOVED_TO)) {
		file_path(w, ev, ev->path, ev->len, 1, R_SELF);
		file_parent(w, ev, ev->path, ev->len);
		if (ev->old_path) {
			file_path(w, ev, ev->old_path, ev->old_len, 1, R_OLD);
			file_parent(w, ev, ev->old_path, ev->old_len);
		}
	} else if (m & PW_MODIFY) {
		file_path(w, ev, ev->path, ev->len, 1, R_SELF);
	} else if (m & PW_ATTRIB) {
		/* a directory's own attributes: not its subtree */
		file_path(w, ev, ev->path, ev->len,
			  !(m & (PW_ISDIR | PW_SELF)), R_SELF);
	}
	if (w->pend_full)
		w->overflow = wake = 1;
	if (wake)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

/* ---- batches ----------------------------------------------------------- */

struct batch {
	struct pend **v;             /* taken entries, sorted by path */
	size_t n, alloc;
	const char **roots;
	size_t *lens;
	unsigned char *shallow;
	size_t nroots;
	struct watch_seen *seen;
	int has_dirs;                /* a deep root is a directory */
};

static int pend_cmp(const void *a, const void *b)
{
	const struct pend *p = *(const struct pend *const *)a;
	const struct pend *q = *(const struct pend *const *)b;
	int c = memcmp(p->path, q->path, p->len < q->len ? p->len : q->len);

	return c ? c : p->len < q->len ? -1 : p->len > q->len;
}

/* The nearest ancestor of p pending as a deep root, or NULL. */
static struct pend *deep_ancestor(const struct pendset *s,
				  const struct pend *p, int taken)
{
	for (size_t i = p->len; i-- > 0;) {
		struct pend *a;
		size_t alen = i ? i : 1;

		if (p->path[i] != '/' || (alen == p->len))
			continue;
		a = pend_find(s, p->path, alen, hash_path(p->path, alen));
		if (a && a->deep && (!taken || a->taken))
			return a;
	}
	return NULL;
}

static int under_taken(const struct pendset *s, const struct pend *p)
{
	return deep_ancestor(s, p, 1) != NULL;
}

/* When p is ripe: quiet for debounce, or pending for maxwait. */
static int64_t ripe_at(const struct pend *p, const struct daemon *w)
{
	int64_t r = p->last_mono + w->debounce_ns;

	return p->first_mono + w->maxwait_ns < r ? p->first_mono + w->maxwait_ns
						 : r;
}

static int ripe(const struct pend *p, int64_t now, const struct daemon *w)
{
	return ripe_at(p, w) <= now;
}

/* When the next entry ripens (INT64_MAX: none pending); as take() sees
 * it: a path below a busy new directory ripens with it. */
static int64_t next_ripe(const struct daemon *w)
{
	int64_t t = INT64_MAX;

	for (size_t i = 0; i < w->pend.nb; i++)
		for (const struct pend *p = w->pend.b[i]; p; p = p->next) {
			int64_t r = ripe_at(p, w);

			if (r < t) {
				const struct pend *a =
					deep_ancestor(&w->pend, p, 0);

				if (a && ripe_at(a, w) > r)
					r = ripe_at(a, w);
			}
			if (r < t)
				t = r;
		}
	return t;
}

/*
 * Take the ripe entries (all of them with `all`), and with them every
 * entry below a ripe deep one (its scan covers them). Under lock.
 */
struct sib {
	const char *path;            /* an entry's path */
	size_t dirlen;               /* the length of its directory's */
};

static int sib_cmp(const void *a, const void *b)
{
	const struct sib *x = a, *y = b;
	int c = memcmp(x->path, y->path, x->dirlen < y->dirlen ? x->dirlen
							     : y->dirlen);

	return c ? c : x->dirlen < y->dirlen ? -1 : x->dirlen > y->dirlen;
}

/*
 * Many changed names in one directory (a burst of creates): the directory
 * becomes one deep root instead of a root per name, level by level up. A
 * root per name costs an open of its directory and a lookup each, and
 * the scanner deduplicates roots in quadratic time; walking a directory
 * whose other entries did not change costs a stat each (rehash = changed).
 */
static void coalesce(struct daemon *w)
{
	struct pendset *s = &w->pend;
	struct sib *v = NULL;
	size_t alloc = 0;
	int64_t mono = mono_ns(), wall = now_ns();

	for (int round = 0; round < 64; round++) {
		size_t n = 0, promoted = 0;

		for (size_t i = 0; i < s->nb; i++)
			for (struct pend *p = s->b[i]; p; p = p->next) {
				const char *name;
				size_t dirlen, namelen;

				if (!p->taken || under_taken(s, p))
					continue;
				path_split(p->path, p->len, &dirlen, &name,
					   &namelen);
				if (!dirlen)
					continue;
				ALLOC_GROW(v, n + 1, alloc);
				v[n].path = p->path;
				v[n++].dirlen = dirlen;
			}
		if (n)      /* qsort(NULL, 0, ...) is undefined */
			qsort(v, n, sizeof(*v), sib_cmp);
		for (size_t i = 0, j; i < n; i = j) {
			struct pend *q;

			for (j = i + 1; j < n && !sib_cmp(&v[i], &v[j]); j++)
				;
			if (j - i <= COALESCE ||
			    !relevant(w, v[i].path, v[i].dirlen))
				continue;
			/* v[] points into entries: copy before pend_get */
			{
				char *dir = xmemdup(v[i].path, v[i].dirlen);

				q = pend_get(w, dir, v[i].dirlen);
				free(dir);
			}
			if (!q)
				continue;
			if (!q->first_mono) {
				q->first_mono = q->last_mono = mono;
				q->first_ns = q->last_ns = wall;
			}
			if (!q->taken || !q->deep)
				promoted++;
			q->taken = 1;
			q->deep = 1;
		}
		if (!promoted)
			break;
	}
	free(v);
}

static void take(struct daemon *w, struct batch *b, int all)
{
	int64_t now = mono_ns();
	struct pendset *s = &w->pend;

	for (size_t i = 0; i < s->nb; i++)
		for (struct pend *p = s->b[i]; p; p = p->next)
			p->taken = all || ripe(p, now, w);
	/* a path below a new directory that is still busy waits for it:
	 * its scan covers the path (at most maxwait later) */
	for (size_t i = 0; !all && i < s->nb; i++)
		for (struct pend *p = s->b[i]; p; p = p->next) {
			struct pend *a;

			if (p->taken && (a = deep_ancestor(s, p, 0)) &&
			    !ripe(a, now, w))
				p->taken = 0;
		}
	coalesce(w);
	for (size_t i = 0; !all && i < s->nb; i++)
		for (struct pend *p = s->b[i]; p; p = p->next)
			if (!p->taken && under_taken(s, p))
				p->taken = 1;
	for (size_t i = 0; i < s->nb; i++)
		for (struct pend *p = s->b[i]; p; p = p->next)
			p->covered = p->taken && under_taken(s, p);
	for (size_t i = 0; i < s->nb; i++) {
		struct pend **pp = &s->b[i];

		while (*pp) {
			struct pend *p = *pp;

			if (!p->taken) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			s->n--;
			ALLOC_GROW(b->v, b->n + 1, b->alloc);
			b->v[b->n++] = p;
		}
	}
	w->pend_full = 0;
}

/* Roots and what was seen, from the taken entries (main, no lock). */
static void batch_prepare(struct batch *b)
{
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), pend_cmp);
	b->roots = xcalloc(b->n + 1, sizeof(*b->roots));
	b->lens = xcalloc(b->n + 1, sizeof(*b->lens));
	b->shallow = xcalloc(b->n + 1, 1);
	b->seen = xcalloc(b->n + 1, sizeof(*b->seen));
	for (size_t i = 0; i < b->n; i++) {
		struct pend *p = b->v[i];
		struct watch_seen *s = &b->seen[i];
		struct stat st;

		s->path = p->path;
		s->len = p->len;
		s->old_path = p->old;
		s->old_len = p->old_len;
		s->mask = p->mask;
		s->first_ns = p->first_ns;
		s->last_ns = p->last_ns;
		s->pid = p->pid;
		s->uid = p->uid;
		s->exe = p->exe;
		s->exe_len = p->exe_len;
		if (p->covered)
			continue;
		b->roots[b->nroots] = p->path;
		b->lens[b->nroots] = p->len;
		b->shallow[b->nroots++] = !p->deep;
		if (p->deep && !b->has_dirs && !lstat(p->path, &st) &&
		    S_ISDIR(st.st_mode))
			b->has_dirs = 1;
	}
}

static void batch_release(struct batch *b, int free_entries)
{
	if (free_entries)
		for (size_t i = 0; i < b->n; i++)
			pend_free(b->v[i]);
	free(b->v);
	free(b->roots);
	free(b->lens);
	free(b->shallow);
	free(b->seen);
	memset(b, 0, sizeof(*b));
}

/* ---- scans ------------------------------------------------------------- */

/* What one scan covers. */
struct scan_spec {
	int reason;                  /* enum watch_reason */
	int kind;                    /* SNAP_WATCH, SNAP_SCAN */
	const char *const *roots;
	const size_t *lens;
	const unsigned char *shallow;    /* NULL: all deep */
	size_t n;
	const struct batch *b;       /* what was seen, NULL: nothing */
	int links;                   /* follow hard links (changed paths) */
	int has_dirs;                /* ... in directories it creates too */
};

struct hook {
	struct daemon *w;
	const struct watch_batch *wb;
	const struct scan_spec *sp;
	struct inode { uint64_t dev, ino; } *inodes;
	size_t ninodes, inodes_alloc;
	char **links;                /* other names of linked inodes */
	size_t *linklens, nlinks, links_alloc;
	struct strbuf tmp;
};

static int link_inode(uint64_t dev, uint64_t ino, void *data)
{
	struct hook *h = data;

	for (size_t i = 0; i < h->ninodes; i++)
		if (h->inodes[i].dev == dev && h->inodes[i].ino == ino)
			return 0;
	if (h->ninodes >= 4096)
		return 0;        /* the periodic rescan does the rest */
	ALLOC_GROW(h->inodes, h->ninodes + 1, h->inodes_alloc);
	h->inodes[h->ninodes].dev = dev;
	h->inodes[h->ninodes++].ino = ino;
	return 0;
}

static int link_name(const char *dir, size_t dirlen, const char *name,
		     size_t namelen, void *data)
{
	struct hook *h = data;
	const struct scan_spec *sp = h->sp;

	path_join(&h->tmp, dir ? dir : "", dirlen, name ? name : "", namelen);
	/* scanned in this very snapshot: current already */
	for (size_t i = 0; i < sp->n; i++)
		if (!(sp->shallow && sp->shallow[i]) &&
		    path_is_under(h->tmp.buf, h->tmp.len, sp->roots[i],
				  sp->lens[i]))
			return 0;
	ALLOC_GROW(h->links, h->nlinks + 1, h->links_alloc);
	h->linklens = xrealloc(h->linklens, h->links_alloc *
			       sizeof(*h->linklens));
	h->links[h->nlinks] = xmemdup(h->tmp.buf, h->tmp.len);
	h->linklens[h->nlinks++] = h->tmp.len;
	return 0;
}

/*
 * Inside the snapshot's transaction: find the other names of hard-linked
 * files that changed (their link count, ctime or content changed too,
 * and no event says so), then let the caller record its events.
 */
static int before_commit(struct store *st, int64_t snap, void *data)
{
	struct hook *h = data;
	const struct watch_options *o = h->w->o;
	int ret;

	if (h->sp->links) {
		if ((ret = store_snapshot_links(st, snap, h->sp->has_dirs,
						link_inode, h)))
			return ret;
		for (size_t i = 0; i < h->ninodes; i++)
			if ((ret = store_alive_names(st, h->inodes[i].dev,
						     h->inodes[i].ino,
						     link_name, h)))
				return ret;
	}
	return o->record ? o->record(st, snap, h->wb, o->data) : 0;
}

static void hook_release(struct hook *h)
{
	for (size_t i = 0; i < h->nlinks; i++)
		free(h->links[i]);
	free(h->links);
	free(h->linklens);
	free(h->inodes);
	strbuf_release(&h->tmp);
}

/* Failures that go away (store busy, disk full): try again later. */
static int retryable(struct daemon *w, int ret)
{
	if (ret != EXIT_BUSY && ret != EXIT_FULL)
		return 0;
	/* a gap and the scan after it failing together wait once */
	if (w->retry_at > mono_ns())
		return 1;
	w->backoff = w->backoff ? w->backoff * 2 : 1000000000LL;
	if (w->backoff > BACKOFF_MAX_NS)
		w->backoff = BACKOFF_MAX_NS;
	w->retry_at = mono_ns() + w->backoff;
	if (!w->busy_warned++)
		warning("the store cannot take the changes now; they are kept "
			"and tried again");
	return 1;
}

static void retried(struct daemon *w)
{
	if (w->busy_warned)
		inform("the store takes changes again");
	w->backoff = 0;
	w->retry_at = 0;
	w->busy_warned = 0;
}

/* ---- coverage gaps ------------------------------------------------------ */

/* When the gap began, as `fimscan events` shows it, in t. */
static const char *gap_since(struct strbuf *t, const struct gap *g)
{
	strbuf_reset(t);
	time_add_rfc3339(t, g->since_ns);
	return t->buf;
}

static const char *gap_where(const struct gap *g)
{
	return g->path ? escaped(g->path, g->len) : "all the roots";
}

static void gap_free(struct gap *g)
{
	free(g->path);
	free(g->detail);
}

/* Drop gaps[i], keeping the order of the others. */
static void gap_remove(struct daemon *w, size_t i)
{
	gap_free(&w->gaps[i]);
	memmove(&w->gaps[i], &w->gaps[i + 1],
		(w->ngaps - i - 1) * sizeof(*w->gaps));
	w->ngaps--;
}

/*
 * Add a gap to those waiting to be recorded (main only): merged with one
 * of the same action and path, else appended. The list is bounded: the
 * last place is for a gap of all the roots from the earliest start, into
 * which the rest fold; it says what the others said, less precisely.
 */
static void gap_keep(struct daemon *w, const char *action, const char *path,
		     size_t len, int64_t since_ns, const char *detail)
{
	struct gap *g = NULL;
	int fold = 0;

	for (size_t i = 0; i < w->ngaps && !g; i++)
		if (!strcmp(w->gaps[i].action, action) &&
		    !w->gaps[i].path == !path &&
		    (!path || (w->gaps[i].len == len &&
			       !memcmp(w->gaps[i].path, path, len))))
			g = &w->gaps[i];
	if (!g && w->ngaps >= GAPS_MAX - 1) {
		fold = 1;
		action = "overflow";
		path = NULL;
		len = 0;
		for (size_t i = 0; i < w->ngaps && !g; i++)
			if (!strcmp(w->gaps[i].action, action) &&
			    !w->gaps[i].path)
				g = &w->gaps[i];
	}
	if (!g) {
		ALLOC_GROW(w->gaps, w->ngaps + 1, w->gaps_alloc);
		g = &w->gaps[w->ngaps++];
		memset(g, 0, sizeof(*g));
		g->action = action;
		g->path = path ? xmemdup(path, len) : NULL;
		g->len = len;
		g->since_ns = since_ns;
		if (fold) {
			strbuf_reset(&w->tmp);
			strbuf_addf(&w->tmp, "more than %d coverage gaps "
				    "waited for the store: the others are one "
				    "gap of all the roots", GAPS_MAX);
			g->detail = xstrdup(w->tmp.buf);
		} else {
			g->detail = xstrdup(detail ? detail : "");
		}
	}
	if (since_ns < g->since_ns)
		g->since_ns = since_ns;
	if (fold)
		g->folded++;
	else
		g->times++;
}

/* The gaps not recorded yet that have not said so: say it once. */
static void gaps_deferred(struct daemon *w)
{
	struct strbuf t = STRBUF_INIT;

	for (size_t i = 0; i < w->ngaps; i++) {
		struct gap *g = &w->gaps[i];

		if (g->late)
			continue;
		g->late = 1;
		warning("the coverage gap (%s, %s) since %s is not recorded "
			"yet: it is kept and recorded as soon as the store "
			"takes it", g->action, gap_where(g),
			gap_since(&t, g));
	}
	strbuf_release(&t);
}

/*
 * Record the waiting gaps, oldest first, each in a transaction of its
 * own that also queues its document (watch_options.gap): both, or
 * neither. A gap leaves the list once committed, so none is recorded
 * twice. Stops at the first failure that goes away (store busy or full,
 * or a stop request), keeping that gap and the ones after it: the
 * failure is returned. A gap the store refuses for another reason is
 * dropped, loudly (trying again would fail again, and hold up the
 * others and every snapshot).
 */
static int gaps_flush(struct daemon *w)
{
	struct strbuf detail = STRBUF_INIT, t = STRBUF_INIT;
	int ret = 0;

	while (w->ngaps) {
		struct gap *g = &w->gaps[0];
		struct store_event ev = {
			.time_ns = g->since_ns, .kind = EVENT_GAP,
			.action = g->action, .path = g->path,
			.pathlen = g->len, .bytes_changed = -1,
			.backend = w->ops ? w->ops->name : NULL, .uid = -1,
		};

		strbuf_reset(&detail);
		strbuf_addstr(&detail, g->detail);
		if (g->times > 1)
			strbuf_addf(&detail, " (%u times before it could be "
				    "recorded)", g->times);
		if (g->folded)
			strbuf_addf(&detail, "; %lld other gaps are in this "
				    "one", (long long)g->folded);
		if (g->late)
			strbuf_addstr(&detail, "; recorded late: the store "
				      "could not take it at first");
		ev.detail = detail.buf;
		ret = store_event_record(w->st, &ev, w->setup.cfg->busy_ms,
					 w->o->gap, w->o->data);
		if (ret == EXIT_BUSY || ret == EXIT_FULL ||
		    ret == EXIT_INTERRUPTED)
			break;
		if (ret) {
			error("cannot record the coverage gap (%s, %s): it is "
			      "neither in the store's events nor queued for "
			      "shipping", g->action, gap_where(g));
			w->unrecorded = 1;
		} else if (g->late) {
			inform("the coverage gap (%s, %s) since %s is recorded "
			       "now, %.1f s late", g->action, gap_where(g),
			       gap_since(&t, g),
			       (double)(now_ns() - g->since_ns) / 1e9);
		}
		if (!ret && w->o->committed)
			w->o->committed(w->o->data);
		gap_remove(w, 0);
		ret = 0;
	}
	if (ret)
		gaps_deferred(w);
	strbuf_release(&detail);
	strbuf_release(&t);
	return ret;
}

/*
 * Record the waiting gaps now, unless the store failed so recently that
 * the daemon is waiting to try again: then they wait too (and do not
 * hold up the loop for busy-timeout each). 0, or why they wait.
 */
static int gaps_try(struct daemon *w)
{
	int ret, stop;

	if (!w->ngaps)
		return 0;
	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	/* at the stop, a last try whatever the wait */
	if (w->retry_at > mono_ns() && !stop) {
		gaps_deferred(w);
		return EXIT_BUSY;
	}
	if ((ret = gaps_flush(w)))
		retryable(w, ret);
	w->gaps_stop_tried |= stop;
	return ret;
}

/*
 * A coverage gap: the event and its document for Elasticsearch commit
 * together, so the fleet view never misses a gap the host's store lists;
 * when the store cannot take them now, the gap waits in memory (see
 * struct gap). 0, or EXIT_* when it waits.
 */
static int gap(struct daemon *w, const char *action, const char *path,
	       size_t len, int64_t time_ns, const char *detail)
{
	gap_keep(w, action, path, len, time_ns, detail);
	return gaps_try(w);
}

/* At exit: what could not be recorded is said, one line per gap. */
static void gaps_lost(struct daemon *w)
{
	struct strbuf t = STRBUF_INIT;

	for (size_t i = 0; i < w->ngaps; i++)
		error("the coverage gap (%s, %s) since %s could not be "
		      "recorded: it is neither in the store's events nor "
		      "queued for shipping", w->gaps[i].action,
		      gap_where(&w->gaps[i]),
		      gap_since(&t, &w->gaps[i]));
	if (w->ngaps)
		w->unrecorded = 1;
	while (w->ngaps)
		gap_remove(w, w->ngaps - 1);
	strbuf_release(&t);
}

static const char *reason_says(int reason)
{
	switch (reason) {
	case WATCH_START: return "reconciled the store with the disk";
	case WATCH_OVERFLOW: return "rescanned the roots after the overflow";
	case WATCH_PERIODIC: return "periodic rescan";
	case WATCH_RELOAD: return "rescanned the roots after the reload";
	case WATCH_UNWATCHED: return "scanned the subtrees without watches";
	default: return "changes";
	}
}

/* One snapshot and its events; 0 or scan_run()'s EXIT_* (nothing kept). */
static int run_scan(struct daemon *w, const struct scan_spec *sp)
{
	struct scan_options so = { 0 };
	struct scan_result res;
	struct watch_batch wb = { .reason = sp->reason,
				  .backend = w->ops->name };
	struct hook h = { .w = w, .wb = &wb, .sp = sp };
	int ret;

	if (!sp->n)
		return 0;
	/* gaps that wait go first: no snapshot commits before them, and
	 * none while the store cannot take them */
	if ((ret = gaps_try(w)))
		return ret;
	strbuf_init(&h.tmp, 0);
	/* stat data is trusted, except by the periodic safety net when the
	 * config asks for everything to be re-read */
	so.cfg = sp->reason == WATCH_PERIODIC ? w->setup.cfg : &w->cfg_changed;
	so.kind = sp->kind;
	so.roots = sp->roots;
	so.rootlens = sp->lens;
	so.nroots = sp->n;
	so.shallow = sp->shallow;
	so.missing_ok = sp->kind == SNAP_WATCH;
	so.before_commit = before_commit;
	so.hook_data = &h;
	if (sp->b) {
		wb.seen = sp->b->seen;
		wb.nseen = sp->b->n;
	}
	ret = scan_run(w->st, w->rd, &so, &res);
	if (!ret && w->o->committed)
		w->o->committed(w->o->data);
	if (!ret && h.nlinks) {
		/* the other names of linked files: ripe at once */
		int64_t mono = mono_ns() - w->maxwait_ns - 1, wall = now_ns();

		pthread_mutex_lock(&w->lock);
		for (size_t i = 0; i < h.nlinks; i++) {
			struct pend *p = pend_get(w, h.links[i], h.linklens[i]);

			if (!p)
				break;
			if (!p->first_mono) {
				p->first_ns = p->last_ns = wall;
				p->last_mono = mono;
			}
			p->first_mono = mono;
			p->deep = 1;
		}
		pthread_mutex_unlock(&w->lock);
	}
	if (!ret && sp->reason != WATCH_CHANGES &&
	    sp->reason != WATCH_UNWATCHED)
		inform("%s: snapshot %lld, %lld entries, %.2f s",
		       reason_says(sp->reason), (long long)res.snap,
		       (long long)res.entries, res.seconds);
	else if (!ret)
		note("%s: snapshot %lld, %zu paths, %lld entries",
		     reason_says(sp->reason), (long long)res.snap,
		     sp->b ? sp->b->n : sp->n, (long long)res.entries);
	hook_release(&h);
	return ret;
}

/* Put a batch back after a failure that goes away. */
static void give_back(struct daemon *w, struct batch *b)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < b->n; i++)
		pend_merge(w, b->v[i]);
	pthread_mutex_unlock(&w->lock);
	batch_release(b, 0);
}

/* The paths that are ripe (all of them: `all`): one snapshot. */
static int do_batch(struct daemon *w, int all)
{
	struct batch b = { 0 };
	struct scan_spec sp = { .reason = WATCH_CHANGES, .kind = SNAP_WATCH,
				.links = 1 };
	int ret;

	pthread_mutex_lock(&w->lock);
	take(w, &b, all);
	pthread_mutex_unlock(&w->lock);
	if (!b.n)
		return 0;
	batch_prepare(&b);
	sp.roots = b.roots;
	sp.lens = b.lens;
	sp.shallow = b.shallow;
	sp.n = b.nroots;
	sp.b = &b;
	sp.has_dirs = b.has_dirs;
	ret = run_scan(w, &sp);
	if (ret && retryable(w, ret)) {
		give_back(w, &b);
		return 0;
	}
	if (!ret)
		retried(w);
	batch_release(&b, 1);
	return ret;
}

/*
 * A full rescan of the roots; what was pending goes into it (for the
 * process details of the events). After an overflow the gap is recorded
 * first, on its own, so it stays in the store even if the rescan never
 * finishes.
 */
static int do_rescan(struct daemon *w, int reason)
{
	struct batch b = { 0 };
	struct scan_spec sp = { .reason = reason, .kind = SNAP_SCAN };
	int64_t since = 0;
	unsigned n = 0;
	int ret = 0, fresh = 0;

	pthread_mutex_lock(&w->lock);
	if (reason == WATCH_OVERFLOW) {
		/* an overflow since the last rescan has a gap; a rescan done
		 * again (rescan_again) has had its gap already */
		fresh = w->overflow;
		n = w->noverflow;
		since = w->overflow_ns;
		w->noverflow = 0;
		w->overflow = 0;
	}
	take(w, &b, 1);
	pthread_mutex_unlock(&w->lock);
	batch_prepare(&b);
	if (reason == WATCH_OVERFLOW && fresh) {
		struct strbuf msg = STRBUF_INIT;

		if (n)
			strbuf_addf(&msg, "the %s event queue overflowed: "
				    "changes since then are unknown until the "
				    "rescan of the roots, which starts now",
				    w->ops->name);
		else
			strbuf_addf(&msg, "more than %d changed paths were "
				    "waiting: the roots are rescanned instead",
				    PEND_MAX);
		warning("%s", msg.buf);
		/* kept when the store cannot take it: the rescan waits for
		 * the store too, and that gap is recorded first */
		ret = gap(w, "overflow", NULL, 0, since ? since : now_ns(),
			  msg.buf);
		strbuf_release(&msg);
		if (ret != EXIT_BUSY && ret != EXIT_FULL)
			ret = 0;
	}
	sp.roots = w->setup.roots;
	sp.lens = w->setup.rootlens;
	sp.n = w->setup.nroots;
	sp.b = &b;
	if (!ret)
		ret = run_scan(w, &sp);
	if (ret && retryable(w, ret)) {
		give_back(w, &b);
		/* done again once the store takes it: an overflow's lost
		 * events, a reload's new roots are otherwise never seen */
		w->rescan_again = reason;
		return 0;
	}
	if (!ret) {
		retried(w);
		w->rescan_again = 0;    /* every root was rescanned */
	}
	batch_release(&b, 1);
	return ret;
}

/* ---- watches ------------------------------------------------------------ */

/* Say which subtrees have no watches and what would fix it. */
static void report_unwatched(struct daemon *w)
{
	struct strbuf list = STRBUF_INIT, msg = STRBUF_INIT, gone = STRBUF_INIT;
	int64_t ndirs = 0, nspc = 0;
	size_t shown = 0, n = 0;

	pthread_mutex_lock(&w->lock);
	w->new_unw = 0;
	for (size_t i = 0; i < w->nunw; i++) {
		struct unwatched *u = &w->unw[i];

		if (u->reported)
			continue;
		u->reported = 1;
		strbuf_reset(&msg);
		if (u->err == ENOSPC)
			strbuf_addf(&msg, "not watched: out of inotify watches "
				    "(%lld directories); scanned every %lld s "
				    "instead", (long long)u->ndirs,
				    (long long)(w->unwatched_ns / 1000000000));
		else if (u->err == ENOENT)
			strbuf_addf(&msg, "the root is gone: watched again "
				    "when it is back");
		else
			strbuf_addf(&msg, "not watched: %s (%lld directories); "
				    "scanned every %lld s instead",
				    strerror(u->err), (long long)u->ndirs,
				    (long long)(w->unwatched_ns / 1000000000));
		/* recorded below: not under the lock, which the reader
		 * needs, while waiting for the store */
		gap_keep(w, u->err == ENOENT ? "lost" : "unwatched", u->path,
			 u->len, now_ns(), msg.buf);
		if (u->err == ENOENT) {
			strbuf_addf(&gone, "%s: %s\n",
				    escaped(u->path, u->len), msg.buf);
			continue;
		}
		n++;
		ndirs += u->ndirs;
		if (u->err == ENOSPC)
			nspc += u->ndirs;
		if (shown++ < 8)
			strbuf_addf(&list, "%s%s (%lld)", shown > 1 ? ", " : "",
				    escaped(u->path, u->len),
				    (long long)u->ndirs);
	}
	pthread_mutex_unlock(&w->lock);
	/* recorded (or kept) before they are reported: what the warnings
	 * announce is in the store's events when they are read */
	gaps_try(w);
	for (char *p = gone.buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = '\0';
		warning("%s", p);
	}
	if (n) {
		strbuf_reset(&msg);
		strbuf_addf(&msg, "%lld director%s in %zu subtree%s cannot be "
			    "watched: %s%s", (long long)ndirs,
			    ndirs == 1 ? "y" : "ies", n, n == 1 ? "" : "s",
			    list.buf, shown > 8 ? " and more" : "");
		if (nspc) {
			int64_t lim = plat_inotify_limit("max_user_watches");

			strbuf_addf(&msg, "; out of inotify watches: raise "
				    "/proc/sys/fs/inotify/max_user_watches to "
				    "at least %lld (it is %lld), or use "
				    "--backend fanotify",
				    (long long)(lim + nspc), (long long)lim);
		}
		strbuf_addf(&msg, "; until then they are scanned every %lld s",
			    (long long)(w->unwatched_ns / 1000000000));
		warning("%s", msg.buf);
	}
	strbuf_release(&list);
	strbuf_release(&msg);
	strbuf_release(&gone);
}

/* Every minute: watch what could not be watched, if it can be now, and
 * scan it either way. */
static int do_unwatched(struct daemon *w)
{
	struct unwatched *v;
	struct scan_spec sp = { .reason = WATCH_UNWATCHED, .kind = SNAP_WATCH };
	const char **roots;
	size_t n, *lens, k = 0;
	int ret;

	pthread_mutex_lock(&w->lock);
	v = w->unw;
	n = w->nunw;
	w->unw = NULL;
	w->nunw = w->unw_alloc = 0;
	pthread_mutex_unlock(&w->lock);
	roots = xcalloc(n + 1, sizeof(*roots));
	lens = xcalloc(n + 1, sizeof(*lens));
	pthread_mutex_lock(&w->bklock);
	for (size_t i = 0; i < n; i++) {
		struct strbuf why = STRBUF_INIT;
		struct stat st;
		int again;

		if (lstat(v[i].path, &st))
			continue;        /* a lost root still gone */
		/* the add reports what still fails, as new entries */
		w->ops->add(w->bk, v[i].path, v[i].len, &why);
		strbuf_release(&why);
		pthread_mutex_lock(&w->lock);
		again = 0;
		for (size_t j = 0; j < w->nunw; j++)
			if (w->unw[j].len == v[i].len &&
			    !memcmp(w->unw[j].path, v[i].path, v[i].len)) {
				w->unw[j].reported = v[i].reported;
				again = 1;
			}
		pthread_mutex_unlock(&w->lock);
		if (!again)
			inform("%s is watched now",
			       escaped(v[i].path, v[i].len));
		roots[k] = v[i].path;
		lens[k++] = v[i].len;
	}
	pthread_mutex_unlock(&w->bklock);
	sp.roots = roots;
	sp.lens = lens;
	sp.n = k;
	ret = run_scan(w, &sp);
	if (ret && retryable(w, ret))
		ret = 0;
	/* gone roots stay on the list until they are back */
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (lstat(v[i].path, &st) && v[i].err == ENOENT) {
			ALLOC_GROW(w->unw, w->nunw + 1, w->unw_alloc);
			w->unw[w->nunw++] = v[i];
		} else {
			free(v[i].path);
		}
	}
	pthread_mutex_unlock(&w->lock);
	free(v);
	free(roots);
	free(lens);
	return ret;
}

static void *reader_main(void *arg)
{
	struct daemon *w = arg;
	int err = 0;

	for (;;) {
		int stop;

		pthread_mutex_lock(&w->lock);
		stop = w->reader_stop;
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_lock(&w->bklock);
		if (stop) {
			/* what the kernel queued before the signal */
			for (int i = 0; i < 64 && !err; i++) {
				int64_t before;

				pthread_mutex_lock(&w->lock);
				before = w->delivered;
				pthread_mutex_unlock(&w->lock);
				if (w->ops->read(w->bk, 0))
					err = errno;
				pthread_mutex_lock(&w->lock);
				before = w->delivered - before;
				pthread_mutex_unlock(&w->lock);
				if (!before)
					break;
			}
			pthread_mutex_unlock(&w->bklock);
			break;
		}
		if (w->ops->read(w->bk, READ_TIMEOUT_MS))
			err = errno;
		pthread_mutex_unlock(&w->bklock);
		if (err)
			break;
	}
	pthread_mutex_lock(&w->lock);
	w->reader_done = 1;
	if (err) {
		w->reader_err = err;
		w->stop = 1;
	}
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int start_reader(struct daemon *w)
{
	int err;

	w->reader_stop = w->reader_done = 0;
	if ((err = pthread_create(&w->reader, NULL, reader_main, w))) {
		error("cannot start a thread: %s", strerror(err));
		return EXIT_INTERNAL;
	}
	w->reader_running = 1;
	return 0;
}

static void stop_reader(struct daemon *w)
{
	if (w->reader_running) {
		pthread_mutex_lock(&w->lock);
		w->reader_stop = 1;
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->reader, NULL);
		w->reader_running = 0;
	}
	pthread_mutex_lock(&w->lock);
	w->reader_done = 1;
	pthread_mutex_unlock(&w->lock);
}

/* Derived from the setup: call after each change of it. */
static void setup_derive(struct daemon *w)
{
	const struct fim_config *cfg = w->setup.cfg;

	w->cfg_changed = *cfg;
	w->cfg_changed.rehash = REHASH_CHANGED;
	w->debounce_ns = (int64_t)cfg->debounce_ms * 1000000;
	w->maxwait_ns = 4 * w->debounce_ns;
	w->rescan_ns = cfg->rescan_interval_s * 1000000000LL;
	w->unwatched_ns = UNWATCHED_SCAN_S * 1000000000LL;
	if (w->rescan_ns && w->rescan_ns < w->unwatched_ns)
		w->unwatched_ns = w->rescan_ns;
	free(w->rootdev);
	w->rootdev = xcalloc(w->setup.nroots + 1, sizeof(*w->rootdev));
	for (size_t i = 0; i < w->setup.nroots; i++) {
		struct stat st;

		if (!lstat(w->setup.roots[i], &st))
			w->rootdev[i] = st.st_dev;
	}
}

/*
 * Open the backend the setup names (fanotify falls back to inotify when
 * it cannot work here) and watch the roots.
 */
static int place_watches(struct daemon *w)
{
	const struct plat_watch_ops *ops = plat_watch_by_name(
		w->setup.backend ? w->setup.backend : "inotify");
	struct strbuf why = STRBUF_INIT;
	int ret = 0;

	if (!ops) {
		error("unknown watch backend '%s'", w->setup.backend);
		return EXIT_USAGE;
	}
	for (;;) {
		size_t ok = 0;

		strbuf_reset(&why);
		if (ops->open(&w->bk, on_event, skip_dir, w, &why)) {
			if (ops != &plat_watch_inotify) {
				warning("%s: falling back to inotify",
					why.buf);
				ops = &plat_watch_inotify;
				continue;
			}
			error("%s", why.buf);
			ret = EXIT_INTERNAL;
			break;
		}
		w->ops = ops;
		for (size_t i = 0; i < w->setup.nroots; i++) {
			strbuf_reset(&why);
			if (!ops->add(w->bk, w->setup.roots[i],
				      w->setup.rootlens[i], &why)) {
				ok++;
				continue;
			}
			if (errno == ENOENT) {
				/* watched when it appears; scanned meanwhile */
				pthread_mutex_lock(&w->lock);
				add_unwatched(w, w->setup.roots[i],
					      w->setup.rootlens[i], ENOENT, 1);
				pthread_mutex_unlock(&w->lock);
				continue;
			}
			if (ops != &plat_watch_inotify)
				break;
			/* inotify reported what it could not watch */
		}
		if (ops != &plat_watch_inotify && ok < w->setup.nroots &&
		    why.len) {
			warning("%s: falling back to inotify", why.buf);
			ops->close(w->bk);
			w->bk = NULL;
			ops = &plat_watch_inotify;
			continue;
		}
		break;
	}
	strbuf_release(&why);
	return ret;
}

static void close_watches(struct daemon *w)
{
	if (w->bk)
		w->ops->close(w->bk);
	w->bk = NULL;
}

static void tell_ready(struct daemon *w)
{
	struct strbuf status = STRBUF_INIT, msg = STRBUF_INIT;
	int64_t n = w->ops->count(w->bk);

	if (w->o->ready_fd >= 0) {
		ssize_t k = write(w->o->ready_fd, "READY=1\n", 8);
		(void)k;         /* nobody listening any more is fine */
	}
	strbuf_addf(&status, "watching %zu root%s with %s (%lld %s)",
		    w->setup.nroots, w->setup.nroots == 1 ? "" : "s",
		    w->ops->name, (long long)n,
		    w->ops == &plat_watch_inotify ? "directories"
						  : "filesystems");
	strbuf_addf(&msg, "READY=1\nSTATUS=%s", status.buf);
	plat_notify(msg.buf);
	inform("%s", status.buf);
	strbuf_release(&status);
	strbuf_release(&msg);
}

/* ---- signals ------------------------------------------------------------ */

static void *signal_main(void *arg)
{
	struct daemon *w = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		int sig;

		if (sigwait(&set, &sig))
			continue;
		pthread_mutex_lock(&w->lock);
		if (w->exiting) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		if (sig == SIGHUP) {
			w->reload = 1;
		} else if (w->stop || w->in_reconcile) {
			/* impatient, or nothing watched yet: stop now */
			w->stop = 1;
			scan_request_stop();
		} else {
			w->stop = 1;
		}
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/* ---- the loop ----------------------------------------------------------- */

static int do_reload(struct daemon *w)
{
	struct watch_setup next = w->setup;
	char buf[64];
	int ret;

	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%lld",
		 (long long)(mono_ns() / 1000));
	plat_notify(buf);
	inform("reloading the configuration");
	stop_reader(w);          /* the old setup is in use until here */
	if (!w->o->reload || (ret = w->o->reload(&next, w->o->data))) {
		error("reload failed: going on with the configuration in force");
		if ((ret = start_reader(w)))
			return ret;
		tell_ready(w);
		return 0;
	}
	close_watches(w);
	w->setup = next;
	setup_derive(w);
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nunw; i++)
		free(w->unw[i].path);
	w->nunw = 0;
	pthread_mutex_unlock(&w->lock);
	if ((ret = place_watches(w)) || (ret = start_reader(w)))
		return ret;
	if ((ret = do_rescan(w, WATCH_RELOAD)))
		return ret;
	w->next_rescan = w->rescan_ns ? mono_ns() + w->rescan_ns : 0;
	w->next_unwatched = mono_ns() + w->unwatched_ns;
	report_unwatched(w);
	tell_ready(w);
	return 0;
}

static void wait_until(struct daemon *w, int64_t deadline)
{
	struct timespec ts;

	if (deadline == INT64_MAX) {
		pthread_cond_wait(&w->cv, &w->lock);
		return;
	}
	ts.tv_sec = deadline / 1000000000;
	ts.tv_nsec = deadline % 1000000000;
	pthread_cond_timedwait(&w->cv, &w->lock, &ts);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * When the next batch is due: the earliest ripe path, but at most one
 * batch per debounce, so that under a steady stream of changes each
 * snapshot (and its fsync) takes what ripened meanwhile instead of a few
 * paths at a time. Under lock.
 */
static int64_t next_batch(const struct daemon *w)
{
	int64_t due = next_ripe(w);

	if (due < INT64_MAX && due < w->last_batch + w->debounce_ns)
		due = w->last_batch + w->debounce_ns;
	return due;
}

static int loop(struct daemon *w)
{
	int final_rounds = 0, ret = 0;

	for (;;) {
		int64_t now = mono_ns(), due;
		int stop, reload, overflow, final, new_unw;
		size_t nunw;

		pthread_mutex_lock(&w->lock);
		stop = w->stop;
		reload = w->reload;
		overflow = w->overflow;
		final = stop && w->reader_done;
		new_unw = w->new_unw;
		nunw = w->nunw;
		w->reload = 0;
		pthread_mutex_unlock(&w->lock);

		if (new_unw)
			report_unwatched(w);
		if (stop && !final) {
			/* drain what the kernel holds, then record it all */
			stop_reader(w);
			continue;
		}
		if (reload && !stop) {
			if ((ret = do_reload(w)))
				return ret;
			continue;
		}
		if (w->retry_at && now < w->retry_at && !final) {
			pthread_mutex_lock(&w->lock);
			if (!w->stop && !w->reload)
				wait_until(w, w->retry_at);
			pthread_mutex_unlock(&w->lock);
			continue;
		}
		if (w->ngaps && !final) {
			/* gaps the store could not take: again, on their
			 * own (the next snapshot would take them first) */
			if ((ret = gaps_flush(w)) && !retryable(w, ret))
				return ret;
			if (!ret)
				retried(w);
			continue;
		}
		if (overflow) {
			if ((ret = do_rescan(w, WATCH_OVERFLOW)))
				return ret;
			continue;
		}
		if (w->rescan_again && !final) {
			if ((ret = do_rescan(w, w->rescan_again)))
				return ret;
			continue;
		}
		if (final) {
			size_t n;

			pthread_mutex_lock(&w->lock);
			n = w->pend.n;
			pthread_mutex_unlock(&w->lock);
			if (!n || final_rounds++ >= FINAL_ROUNDS) {
				if (w->rescan_again) {
					error("the rescan of the roots (%s) could "
					      "not be recorded: the next start "
					      "rescans",
					      watch_reason_name(w->rescan_again));
					w->unrecorded = 1;
				}
				return 0;
			}
			if ((ret = do_batch(w, 1)))
				return ret;
			if (w->retry_at) {
				error("the last changes could not be recorded: "
				      "the next start rescans");
				w->unrecorded = 1;
				return 0;
			}
			continue;
		}
		pthread_mutex_lock(&w->lock);
		due = next_batch(w);
		pthread_mutex_unlock(&w->lock);
		if (due <= now) {
			w->last_batch = now;
			if ((ret = do_batch(w, 0)))
				return ret;
			continue;
		}
		if (w->next_rescan && now >= w->next_rescan) {
			w->next_rescan = now + w->rescan_ns;
			if ((ret = do_rescan(w, WATCH_PERIODIC)))
				return ret;
			continue;
		}
		if (nunw && now >= w->next_unwatched) {
			w->next_unwatched = now + w->unwatched_ns;
			if ((ret = do_unwatched(w)))
				return ret;
			continue;
		}
		if (w->next_rescan)
			due = min64(due, w->next_rescan);
		if (nunw)
			due = min64(due, w->next_unwatched);
		/* under the lock again: an event filed meanwhile signalled
		 * nobody (see on_event) */
		pthread_mutex_lock(&w->lock);
		if (!w->stop && !w->reload && !w->overflow && !w->new_unw &&
		    next_batch(w) >= due)
			wait_until(w, due);
		pthread_mutex_unlock(&w->lock);
	}
}

/* ---- watch_run ---------------------------------------------------------- */

/* The store's path made absolute, to recognize its files in events. */
static void store_own_path(struct daemon *w)
{
	const char *p = store_path(w->st);
	const char *slash = strrchr(p, '/');
	char *dir = slash ? xmemdup(p, slash == p ? 1 : (size_t)(slash - p))
			  : xstrdup(".");
	char *real = realpath(dir, NULL);

	if (real) {
		strbuf_reset(&w->tmp);
		path_join(&w->tmp, real, strlen(real), slash ? slash + 1 : p,
			  strlen(slash ? slash + 1 : p));
		w->db = strbuf_detach(&w->tmp, &w->dblen);
	}
	free(real);
	free(dir);
}

int watch_run(struct store *st, struct store *rd,
	      const struct watch_options *o)
{
	struct daemon *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;
	sigset_t set, old;
	int ret, err, sigthr = 0;
	const char *js = getenv("JOURNAL_STREAM");

	/* journald reads priorities from stderr when it is the journal */
	if (js && *js) {
		struct stat sb;
		unsigned long long dev, ino;

		if (sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
		    !fstat(STDERR_FILENO, &sb) && sb.st_dev == dev &&
		    sb.st_ino == ino)
			msg_journal = 1;
	}
	w->st = st;
	w->rd = rd;
	w->o = o;
	w->setup = o->setup;
	strbuf_init(&w->tmp, 0);
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->bklock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	setup_derive(w);
	store_own_path(w);

	/* every thread started from here on inherits the blocked set */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if ((err = pthread_create(&w->sigthr, NULL, signal_main, w))) {
		error("cannot start a thread: %s", strerror(err));
		ret = EXIT_INTERNAL;
		goto out;
	}
	sigthr = 1;

	if ((ret = store_watch_prepare(st)))
		goto out;
	/* watches first, then the reconcile: a change made while it runs
	 * is an event, so nothing falls between the two */
	if ((ret = place_watches(w)) || (ret = start_reader(w)))
		goto out;
	pthread_mutex_lock(&w->lock);
	w->in_reconcile = !w->stop;
	pthread_mutex_unlock(&w->lock);
	if (w->in_reconcile) {
		struct scan_spec sp = { .reason = WATCH_START, .kind = SNAP_SCAN,
					.roots = w->setup.roots,
					.lens = w->setup.rootlens,
					.n = w->setup.nroots };

		ret = run_scan(w, &sp);
		pthread_mutex_lock(&w->lock);
		w->in_reconcile = 0;
		pthread_mutex_unlock(&w->lock);
		if (ret == EXIT_INTERRUPTED && w->stop) {
			inform("stopped before watching anything");
			ret = 0;
			goto out;
		}
		if (ret)
			goto out;
	}
	w->next_rescan = w->rescan_ns ? mono_ns() + w->rescan_ns : 0;
	w->next_unwatched = mono_ns() + w->unwatched_ns;
	report_unwatched(w);
	if (!w->stop)
		tell_ready(w);
	ret = loop(w);
	/* gaps still waiting for the store: a last try (at the stop it
	 * waits busy-timeout, as the last snapshot does), then say what
	 * is lost */
	if (w->ngaps && !w->gaps_stop_tried && !gaps_flush(w))
		retried(w);
	gaps_lost(w);
	if (w->reader_err) {
		error("reading %s events failed: %s", w->ops->name,
		      strerror(w->reader_err));
		if (!ret)
			ret = EXIT_INTERNAL;
	}
	if (ret == EXIT_INTERRUPTED)
		error("interrupted: the last changes were not recorded (the "
		      "next start rescans)");
	else if (!ret && !w->unrecorded)
		inform("stopped: every change seen is recorded");
	else if (!ret)
		warning("stopped: not everything seen is recorded (see above)");
	plat_notify("STOPPING=1");
out:
	stop_reader(w);
	close_watches(w);
	if (sigthr) {
		pthread_mutex_lock(&w->lock);
		w->exiting = 1;
		pthread_mutex_unlock(&w->lock);
		pthread_kill(w->sigthr, SIGHUP);
		pthread_join(w->sigthr, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (size_t i = 0; i < w->pend.nb; i++)
		while (w->pend.b[i]) {
			struct pend *p = w->pend.b[i];
			w->pend.b[i] = p->next;
			pend_free(p);
		}
	free(w->pend.b);
	for (size_t i = 0; i < w->nunw; i++)
		free(w->unw[i].path);
	free(w->unw);
	for (size_t i = 0; i < w->ngaps; i++)
		gap_free(&w->gaps[i]);
	free(w->gaps);
	free(w->rootdev);
	free(w->db);
	strbuf_release(&w->tmp);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->bklock);
	free(w);
	return ret;
}
