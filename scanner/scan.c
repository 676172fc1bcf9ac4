/*
 * scan.c: the scan pipeline (DESIGN.md, "The scan pipeline").
 *
 *   walker (the calling thread)
 *     walks the roots depth first with an explicit stack of directory
 *     frames, lstat()s every name relative to its directory fd and cuts
 *     each directory's sorted names into chunks of at most CHUNK_NAMES;
 *   workers (cfg->threads)
 *     open, stat-check and hash the regular files of a chunk;
 *   writer (one thread, owns the store's write connection)
 *     merges a chunk as soon as its last file is done.
 *
 * Sections: counters and messages, chunks and queues, entries, workers,
 * writer, the walker (frames, chunks, descending, roots), scan_run().
 *
 * Every chunk carries the store range (dir, lo, hi] it speaks for; a name
 * we could not look at is left out of every range, so the store never
 * reads "could not stat" as "removed".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "scanner/scan-private.h"
#include "scanner/chunk.h"
#include "scanner/scanner.h"

#define CHUNK_NAMES 512          /* names per chunk (one store range) */
#define MAX_KEEP_FDS 64          /* directory fds kept open on the stack */
#define MAX_IN_FLIGHT 64         /* chunks, whatever the thread count */
#define PROGRESS_NS 250000000LL  /* progress redraw interval */
/* Longer than any name a system call accepts (PATH_MAX - 1). */
#define PRED_LEN 4096
#define JOB_BATCH_FILES 32       /* files a worker claims at once, at most */
#define JOB_BATCH_BYTES (256 * 1024)  /* ... and their bytes, past the first */

void (*scan_test_after_hash)(int dirfd, const char *name, int attempt);
void (*scan_test_enter_dir)(const char *path, size_t len);

/*
 * rehash = changed does not trust a stored version whose ctime is this
 * close to (or after) the start of the snapshot that hashed it: a write
 * in the same timestamp tick as the hash would not move ctime ("racy
 * clean" in git). Two seconds cover filesystems with coarse timestamps.
 */
int64_t scan_racy_ns = 2000000000;

static atomic_int stop_flag;

void scan_request_stop(void)
{
	atomic_store(&stop_flag, 1);
}

int scan_stop_requested(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

void scan_test_reset_stop(void)
{
	atomic_store(&stop_flag, 0);
}

/* A directory fd shared by the walker and the chunks that use it. */
struct dirref {
	int fd;                  /* AT_FDCWD for "the root's parent is /" */
	atomic_int refs;
};

enum {
	EF_SKIP = 1,             /* vanished: not part of the merge */
	EF_ATTRS = 2,            /* directory: xattrs/flags from the store */
	EF_STOREDIR = 4          /* the directory holding the store */
};

/* One store range of one directory and what was seen in it. */
struct chunk {
	struct chunk *next;      /* queue / pool link */
	struct dirref *dir;      /* NULL when the parent could not be opened */
	struct strbuf dirpath;   /* full path of the directory */
	struct strbuf lo, hi;    /* range bounds when has_lo / has_hi */
	int has_lo, has_hi, exact;
	int storedir;            /* an entry has EF_STOREDIR */
	struct fim_entry *ents;  /* sorted by name */
	unsigned char *eflags;   /* EF_* per entry */
	size_t n, alloc;
	uint32_t *jobs;          /* indexes of the files to hash */
	size_t njobs, next_job, jobs_alloc;
	size_t pending;          /* jobs not finished */
};

struct progress {
	pthread_mutex_t lock;    /* also serializes warnings with the line */
	int64_t start, last;     /* ns */
	int64_t last_bytes;
	double rate;             /* bytes/s, smoothed */
	size_t line_len;         /* chars on screen, 0: no line drawn */
	int64_t prev_entries, prev_bytes;  /* last snapshot of these roots */
};

struct scan {
	const struct scan_options *opt;
	int content_rules;       /* some rule says content (keep_content) */
	const struct fim_config *cfg;
	struct store *st, *rd;
	int retries;
	int threads;

	pthread_mutex_t lock;
	pthread_cond_t work_cv;  /* workers: jobs or quit */
	pthread_cond_t write_cv; /* writer: ready chunks or quit */
	pthread_cond_t space_cv; /* walker/main: a chunk was freed */
	struct chunk *work_head, *work_tail;
	struct chunk *ready_head, *ready_tail;
	struct chunk *pool;
	size_t in_flight, max_in_flight;
	size_t nready;           /* chunks in the ready queue */
	size_t write_batch;      /* ... that wake the writer */
	int walked;              /* the walk is over: wake it for each */
	int quit;

	atomic_int fatal;        /* EXIT_* of a store error: stop */

	atomic_llong seen;       /* entries recorded by the walker */
	atomic_llong entries;    /* entries merged */
	atomic_llong files_hashed, bytes, warnings, unstable;

	const char *const *roots;          /* deduplicated */
	const size_t *rootlens;
	const unsigned char *shallow;      /* per root: its entry only */
	size_t nroots;

	struct store_file_id own[8];
	size_t nown;
	struct store_file_id storedir;     /* directory of the store */
	int has_storedir;

	struct snap_time {       /* start of every stored snapshot, by id */
		int64_t id, started;
	} *times;
	size_t ntimes, times_alloc;

	struct progress prog;
};

static int aborting(struct scan *s)
{
	return atomic_load_explicit(&s->fatal, memory_order_relaxed) ||
	       scan_stop_requested();
}

static void set_fatal(struct scan *s, int code)
{
	int zero = 0;

	atomic_compare_exchange_strong(&s->fatal, &zero, code);
}

/* ---- counters and messages ---------------------------------------- */

static void clear_line_locked(struct scan *s)
{
	if (s->prog.line_len) {
		fprintf(stderr, "\r%*s\r", (int)s->prog.line_len, "");
		s->prog.line_len = 0;
	}
}

/* A per-entry problem: printed (over the progress line) and counted. */
__attribute__((format(printf, 2, 3)))
static void scan_warn(struct scan *s, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	atomic_fetch_add(&s->warnings, 1);
	pthread_mutex_lock(&s->prog.lock);
	clear_line_locked(s);
	warning("%s", sb.buf);
	pthread_mutex_unlock(&s->prog.lock);
	strbuf_release(&sb);
}

static void add_human(struct strbuf *sb, double v, const char *unit)
{
	static const char *const pre[] = { "", "k", "M", "G", "T", "P", "E" };
	size_t i = 0;

	while (v >= 1000 && i + 1 < ARRAY_SIZE(pre)) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		strbuf_addf(sb, "%.0f %s%s", v, pre[i], unit);
	else
		strbuf_addf(sb, "%.1f %s%s", v, pre[i], unit);
}

/* Redraw the progress line if it is due (or `force`). Any thread. */
static void progress_tick(struct scan *s, int force)
{
	struct progress *p = &s->prog;
	struct strbuf sb = STRBUF_INIT;
	int64_t now, bytes, seen;
	double dt, f = -1;

	if (!s->opt->progress)
		return;
	now = now_ns();
	if (!force && now - p->last < PROGRESS_NS)
		return;
	if (pthread_mutex_trylock(&p->lock))
		return;
	if (!force && now - p->last < PROGRESS_NS)
		goto out;
	bytes = atomic_load(&s->bytes);
	seen = atomic_load(&s->seen);
	dt = (now - p->last) / 1e9;
	if (dt > 0) {
		double r = (bytes - p->last_bytes) / dt;
		p->rate = p->rate ? 0.7 * p->rate + 0.3 * r : r;
	}
	p->last = now;
	p->last_bytes = bytes;
	strbuf_addf(&sb, "\r  %lld files  ", (long long)seen);
	add_human(&sb, (double)bytes, "B");
	strbuf_addstr(&sb, "  ");
	add_human(&sb, p->rate, "B/s");
	/* ETA from the last snapshot of the same roots: entries and bytes */
	if (p->prev_entries > 0) {
		f = (double)seen / p->prev_entries;
		if (p->prev_bytes > 0)
			f = (f + (double)bytes / p->prev_bytes) / 2;
	}
	if (f > 0.01 && f < 1 && now - p->start > 1000000000LL) {
		double el = (now - p->start) / 1e9;
		long long eta = (long long)(el * (1 - f) / f);
		strbuf_addf(&sb, "  ETA %lld:%02lld", eta / 60, eta % 60);
	}
	if (sb.len - 1 < p->line_len)
		strbuf_addf(&sb, "%*s", (int)(p->line_len - (sb.len - 1)), "");
	p->line_len = sb.len - 1;
	fputs(sb.buf, stderr);
	fflush(stderr);
out:
	pthread_mutex_unlock(&p->lock);
	strbuf_release(&sb);
}

/*
 * With s->lock held: wait until a chunk is freed, but wake at least every
 * PROGRESS_NS so the progress line keeps moving while a big file hashes.
 */
static void wait_for_space(struct scan *s)
{
	struct timespec ts;

	/* what the writer has not been woken for yet frees the space */
	if (s->ready_head)
		pthread_cond_signal(&s->write_cv);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += PROGRESS_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->space_cv, &s->lock, &ts);
	progress_tick(s, 0);
}

struct snap_find {
	struct scan *s;
	const char *const *roots;
	const size_t *rootlens;
	size_t nroots;
};

/* The stored snapshots: start times (rehash), the last of these roots
 * (progress ETA). */
static int snap_fn(const struct snapshot_info *si, void *data)
{
	struct snap_find *sf = data;
	struct scan *s = sf->s;

	ALLOC_GROW(s->times, s->ntimes + 1, s->times_alloc);
	s->times[s->ntimes].id = si->id;
	s->times[s->ntimes++].started = si->started_ns;
	if (si->nroots != sf->nroots)
		return 0;
	for (size_t i = 0; i < si->nroots; i++)
		if (si->rootlens[i] != sf->rootlens[i] ||
		    memcmp(si->roots[i], sf->roots[i], si->rootlens[i]))
			return 0;
	/* oldest first: the last match wins */
	s->prog.prev_entries = si->entries;
	s->prog.prev_bytes = s->cfg->rehash == REHASH_CHANGED ?
			     0 : si->bytes_hashed;
	return 0;
}

/*
 * The start of snapshot `id`. Without a progress display the table is
 * filled on demand from the read connection (walker thread only): a
 * watch batch then costs nothing per stored snapshot, and a store
 * written by `watch` has one every few seconds.
 */
static int64_t snap_started(struct scan *s, int64_t id)
{
	size_t lo = 0, hi = s->ntimes;
	int64_t started;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->times[mid].id == id)
			return s->times[mid].started;
		if (s->times[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->opt->progress || !s->rd)
		return 0;        /* the table is complete */
	started = store_snapshot_started(s->rd, id);
	ALLOC_GROW(s->times, s->ntimes + 1, s->times_alloc);
	memmove(s->times + lo + 1, s->times + lo,
		(s->ntimes - lo) * sizeof(*s->times));
	s->times[lo].id = id;
	s->times[lo].started = started;
	s->ntimes++;
	return started;
}

/* ---- directory refs, chunks and queues ----------------------------- */

static struct dirref *dirref_new(int fd)
{
	struct dirref *d = xmalloc(sizeof(*d));

	d->fd = fd;
	atomic_init(&d->refs, 1);
	return d;
}

static struct dirref *dirref_get(struct dirref *d)
{
	if (d)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

static void dirref_put(struct dirref *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1) {
		if (d->fd >= 0)
			plat_close(d->fd);
		free(d);
	}
}

/* Clear an entry for reuse, keeping its buffers. */
static void entry_reset(struct fim_entry *e)
{
	struct strbuf name = e->name, target = e->target, xattrs = e->xattrs,
		      chunks = e->chunks, data = e->data;

	fim_entry_init(e);
	e->name = name;
	e->target = target;
	e->xattrs = xattrs;
	e->chunks = chunks;
	e->data = data;
	strbuf_reset(&e->name);
	strbuf_reset(&e->target);
	strbuf_reset(&e->xattrs);
	strbuf_reset(&e->chunks);
	/* kept bytes can be a megabyte: do not let the pool hoard them */
	if (e->data.alloc > 65536)
		strbuf_release(&e->data);
	strbuf_reset(&e->data);
}

static void chunk_free(struct chunk *c)
{
	for (size_t i = 0; i < c->alloc; i++)
		fim_entry_release(&c->ents[i]);
	free(c->ents);
	free(c->eflags);
	free(c->jobs);
	strbuf_release(&c->dirpath);
	strbuf_release(&c->lo);
	strbuf_release(&c->hi);
	dirref_put(c->dir);
	free(c);
}

static struct fim_entry *chunk_add(struct chunk *c, const char *name,
				   size_t len)
{
	struct fim_entry *e;

	if (c->n == c->alloc) {
		size_t old = c->alloc;

		c->alloc = c->alloc ? 2 * c->alloc : 64;
		c->ents = xrealloc(c->ents, c->alloc * sizeof(*c->ents));
		c->eflags = xrealloc(c->eflags, c->alloc);
		for (size_t i = old; i < c->alloc; i++)
			fim_entry_init(&c->ents[i]);
	}
	e = &c->ents[c->n];
	entry_reset(e);
	strbuf_add(&e->name, name, len);
	c->eflags[c->n++] = 0;
	return e;
}

/*
 * Get an empty chunk, waiting while too many are in flight (memory stays
 * bounded whatever the tree). NULL when the scan is being aborted.
 */
static struct chunk *chunk_get(struct scan *s)
{
	struct chunk *c;

	pthread_mutex_lock(&s->lock);
	while (s->in_flight >= s->max_in_flight && !aborting(s)) {
		wait_for_space(s);
	}
	if (aborting(s)) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	s->in_flight++;
	if ((c = s->pool))
		s->pool = c->next;
	pthread_mutex_unlock(&s->lock);
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		strbuf_init(&c->dirpath, 0);
		strbuf_init(&c->lo, 0);
		strbuf_init(&c->hi, 0);
	}
	c->next = NULL;
	c->dir = NULL;
	strbuf_reset(&c->dirpath);
	strbuf_reset(&c->lo);
	strbuf_reset(&c->hi);
	c->has_lo = c->has_hi = c->exact = c->storedir = 0;
	c->n = c->njobs = c->next_job = c->pending = 0;
	return c;
}

/* Done with a chunk (merged, discarded): back to the pool. */
static void chunk_put(struct scan *s, struct chunk *c)
{
	dirref_put(c->dir);
	c->dir = NULL;
	pthread_mutex_lock(&s->lock);
	c->next = s->pool;
	s->pool = c;
	s->in_flight--;
	pthread_cond_broadcast(&s->space_cv);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Queue a chunk for the writer. The writer is woken for a batch of them,
 * not for each: when the walk outruns nothing (a rescan that trusts most
 * files queues a chunk per directory, 17,000 on /usr), a wake-up and a
 * sleep per directory were a fifth of the CPU. Whoever waits for the
 * writer wakes it first (wait_for_space), and after the walk every chunk
 * does.
 */
static void push_ready_locked(struct scan *s, struct chunk *c)
{
	c->next = NULL;
	if (s->ready_tail)
		s->ready_tail->next = c;
	else
		s->ready_head = c;
	s->ready_tail = c;
	if (++s->nready >= s->write_batch || s->walked)
		pthread_cond_signal(&s->write_cv);
}

/*
 * The batch of c's jobs that starts at `from`: as many small files as add
 * up to JOB_BATCH_BYTES (at most JOB_BATCH_FILES), but always one large
 * file alone, so that a directory of small files costs one lock round
 * trip per batch instead of per file while big files still spread over
 * the workers. Returns its length.
 */
static size_t batch_len(const struct chunk *c, size_t from)
{
	uint64_t bytes = 0;
	size_t n = 0;

	while (from + n < c->njobs && n < JOB_BATCH_FILES) {
		uint64_t size = c->ents[c->jobs[from + n]].size;

		if (n && bytes + size > JOB_BATCH_BYTES)
			break;
		bytes += size;
		n++;
	}
	return n;
}

/* With s->lock held: claim c's next batch; it starts at c->next_job
 * before the call. Returns its length. */
static size_t take_jobs(struct chunk *c)
{
	size_t n = batch_len(c, c->next_job);

	c->next_job += n;
	return n;
}

/*
 * How many workers a new chunk can keep busy: its batches, at most the
 * thread count. Waking every idle worker for a directory of a few small
 * files (one batch) woke seven for nothing, each a sleep and a wake-up
 * (tens of thousands on /usr).
 */
static size_t workers_for(const struct chunk *c, int threads)
{
	size_t k = 0;

	for (size_t at = 0; at < c->njobs && k < (size_t)threads; k++)
		at += batch_len(c, at);
	return k;
}

/* Hand a built chunk to the workers, or straight to the writer. */
static void chunk_submit(struct scan *s, struct chunk *c)
{
	pthread_mutex_lock(&s->lock);
	if (!c->njobs) {
		push_ready_locked(s, c);
	} else {
		c->pending = c->njobs;
		c->next = NULL;
		if (s->work_tail)
			s->work_tail->next = c;
		else
			s->work_head = c;
		s->work_tail = c;
		for (size_t k = workers_for(c, s->threads); k; k--)
			pthread_cond_signal(&s->work_cv);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- entries -------------------------------------------------------- */

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void fill_stat(struct fim_entry *e, const struct stat *st)
{
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = (uint64_t)st->st_size;
	e->mtime_ns = ts_ns(&st->st_mtim);
	e->ctime_ns = ts_ns(&st->st_ctim);
	e->ino = st->st_ino;
	e->dev = st->st_dev;
	e->nlink = st->st_nlink;
	e->rdev = S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ?
		  st->st_rdev : 0;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       ts_ns(&a->st_mtim) == ts_ns(&b->st_mtim) &&
	       ts_ns(&a->st_ctim) == ts_ns(&b->st_ctim);
}

static const char *full_path(struct strbuf *sb, const struct chunk *c,
			     const struct fim_entry *e)
{
	path_join(sb, c->dirpath.buf, c->dirpath.len, e->name.buf,
		  e->name.len);
	return escaped(sb->buf, sb->len);
}

static void entry_unreadable(struct scan *s, struct strbuf *tmp,
			     const struct chunk *c, struct fim_entry *e,
			     int err)
{
	e->state = FS_UNREADABLE;
	e->err = err;
	e->hashes_len = 0;
	scan_warn(s, "cannot read %s: %s", full_path(tmp, c, e),
		  strerror(err));
}

/* Gone between the listing and now: absent from the merge (so removed). */
static void entry_vanished(struct scan *s, struct strbuf *tmp,
			   struct chunk *c, size_t i)
{
	c->eflags[i] |= EF_SKIP;
	scan_warn(s, "%s: vanished during the scan",
		  full_path(tmp, c, &c->ents[i]));
}

/*
 * The parts of a non-regular, non-directory entry that need more than
 * lstat: the target of a symlink, the xattrs (read by name, never
 * opening the entry: FIFOs and devices are not opened). Thread-safe.
 */
static void fill_special(struct scan *s, struct strbuf *tmp, struct chunk *c,
			 size_t i)
{
	struct fim_entry *e = &c->ents[i];
	int dirfd = c->dir->fd;

	if (S_ISLNK(e->mode) && plat_readlink(dirfd, e->name.buf, &e->target)) {
		if (errno == ENOENT)
			entry_vanished(s, tmp, c, i);
		else
			entry_unreadable(s, tmp, c, e, errno);
		return;
	}
	if (plat_xattrs(-1, dirfd, e->name.buf, &e->xattrs)) {
		if (errno == ENOENT)
			entry_vanished(s, tmp, c, i);
		else
			entry_unreadable(s, tmp, c, e, errno);
	}
}

/* ---- workers -------------------------------------------------------- */

struct worker {
	struct scan *s;
	pthread_t tid;
	int started;
	struct scan_hasher *h;
	struct strbuf tmp;
};

static void entry_unstable(struct worker *wk, struct chunk *c,
			   struct fim_entry *e)
{
	e->state = FS_UNSTABLE;
	e->hashes_len = 0;
	atomic_fetch_add(&wk->s->unstable, 1);
	scan_warn(wk->s, "%s: changed while being read (recorded as unstable)",
		  full_path(&wk->tmp, c, e));
}

/*
 * Keep this file's bytes? Secrets never (config_content_for); otherwise
 * a content / no-content rule decides, else --keep-content; and nothing
 * over content-max-file, said with the way out.
 */
static int keep_content(struct worker *wk, const struct chunk *c,
			const struct fim_entry *e)
{
	const struct scan *s = wk->s;
	const struct fim_config *cfg = s->cfg;
	int want;

	/* Nothing asks for content: skip the patterns (every file). */
	if (!s->opt->keep_content && !e->prev.content && !s->content_rules)
		return 0;
	path_join(&wk->tmp, c->dirpath.buf, c->dirpath.len, e->name.buf,
		  e->name.len);
	want = config_content_for(cfg, wk->tmp.buf, wk->tmp.len);
	/* Without a rule, the bytes of a file whose last version was kept
	 * stay kept, so its next change is exact too. */
	if (want == CONTENT_NEVER ||
	    (!want && !s->opt->keep_content && !e->prev.content))
		return 0;
	if (cfg->content_max_file && e->size > (uint64_t)cfg->content_max_file) {
		warning("not keeping the bytes of %s: %llu bytes is more than "
			"content-max-file (%lld); raise it in the config",
			escaped(wk->tmp.buf, wk->tmp.len),
			(unsigned long long)e->size,
			(long long)cfg->content_max_file);
		return 0;
	}
	return 1;
}

/*
 * Open, check, hash and check again one regular file (security.md: "swap
 * the file between stat and open, or rewrite it while hashing"). The
 * entry ends up with the stat data of the last fstat, so the stat data
 * and the hash describe the same content, or with a state saying why
 * there is no hash.
 */
static void hash_file(struct worker *wk, struct chunk *c, size_t i)
{
	struct scan *s = wk->s;
	struct fim_entry *e = &c->ents[i];
	const char *name = e->name.buf;
	int dirfd = c->dir->fd;
	struct stat a, b;

	for (int attempt = 1;; attempt++) {
		uint64_t nread = 0;
		int fd, r, err;

		if (aborting(s))
			return;
		fd = plat_open_file(dirfd, name);
		if (fd < 0) {
			err = errno;
			if (err == ENOENT) {
				entry_vanished(s, &wk->tmp, c, i);
				return;
			}
			/* O_NOFOLLOW met a symlink, or a socket: swapped */
			if (err == ELOOP || err == ENXIO)
				goto swapped;
			goto unreadable_by_name;
		}
		if (plat_fstat(fd, &a)) {
			err = errno;
			plat_close(fd);
			goto unreadable_by_name;
		}
		if (a.st_dev != e->dev || a.st_ino != e->ino ||
		    !S_ISREG(a.st_mode)) {
			plat_close(fd);
			goto swapped;
		}
		if (plat_xattrs(fd, -1, NULL, &e->xattrs)) {
			err = errno;
			plat_close(fd);
			goto unreadable;
		}
		e->has_iflags = !plat_inode_flags(fd, &e->iflags);
		if (!e->has_iflags)
			e->iflags = 0;
		e->size = (uint64_t)a.st_size;  /* read no further than this */
		e->keep = attempt == 1 ? keep_content(wk, c, e) : e->keep;
		r = scan_hash_fd(wk->h, fd, e, &nread);
		err = errno;
		atomic_fetch_add(&s->bytes, (long long)nread);
		if (r) {
			plat_close(fd);
			if (aborting(s))
				return;
			goto unreadable;
		}
		if (scan_test_after_hash)
			scan_test_after_hash(dirfd, name, attempt);
		if (plat_fstat(fd, &b)) {
			err = errno;
			plat_close(fd);
			goto unreadable;
		}
		plat_close(fd);
		fill_stat(e, &b);
		if (same_file(&a, &b) && nread == (uint64_t)a.st_size &&
		    S_ISREG(b.st_mode)) {
			e->state = FS_OK;
			atomic_fetch_add(&s->files_hashed, 1);
			return;
		}
		e->hashes_len = 0;
		if (attempt >= s->retries) {
			entry_unstable(wk, c, e);
			return;
		}
		continue;
swapped:
		if (attempt >= s->retries) {
			entry_unstable(wk, c, e);
			return;
		}
		if (plat_lstat(dirfd, name, &a)) {
			err = errno;
			if (err == ENOENT) {
				entry_vanished(s, &wk->tmp, c, i);
				return;
			}
			goto unreadable;
		}
		fill_stat(e, &a);
		if (!S_ISREG(a.st_mode)) {
			/* now something else: record what is there (a new
			 * directory is not descended before the next scan) */
			fill_special(s, &wk->tmp, c, i);
			return;
		}
		continue;
unreadable_by_name:
		/* no fd: xattrs by name are better than none */
		if (plat_xattrs(-1, dirfd, name, &e->xattrs))
			strbuf_reset(&e->xattrs);
unreadable:
		entry_unreadable(s, &wk->tmp, c, e, err);
		return;
	}
}

/*
 * Four per CPU: a thread waiting for an inode or a page from the disk
 * leaves its CPU to the others, and the disk sees several requests at
 * once. On a million small files with cold inodes, 8 threads on 2 CPUs
 * took 8-10 s where 2 took 26-66 s (most of it system time); with a warm
 * cache they cost 0-5% (bench/RESULTS.md).
 */
static int default_threads(void)
{
	int n = 4 * ncpus();

	return n > 16 ? 16 : n;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct scan *s = wk->s;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct chunk *c;
		size_t first, n;

		while (!s->work_head && !s->quit)
			pthread_cond_wait(&s->work_cv, &s->lock);
		if (!(c = s->work_head))
			break;
		first = c->next_job;
		n = take_jobs(c);
		if (c->next_job == c->njobs) {
			s->work_head = c->next;
			if (!s->work_head)
				s->work_tail = NULL;
		}
		pthread_mutex_unlock(&s->lock);
		for (size_t k = 0; k < n; k++)
			hash_file(wk, c, c->jobs[first + k]);
		pthread_mutex_lock(&s->lock);
		c->pending -= n;
		if (!c->pending)
			push_ready_locked(s, c);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- writer --------------------------------------------------------- */

struct id_set {
	uint32_t *v;
	size_t n, alloc;
};

/* Add id; returns 1 when it was new. Sorted array: few distinct ids. */
static int id_set_add(struct id_set *set, uint32_t id)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->v[mid] == id)
			return 0;
		if (set->v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	ALLOC_GROW(set->v, set->n + 1, set->alloc);
	memmove(set->v + lo + 1, set->v + lo, (set->n - lo) * sizeof(*set->v));
	set->v[lo] = id;
	set->n++;
	return 1;
}

struct writer {
	struct scan *s;
	pthread_t tid;
	int started;
	struct fim_entry **v;
	size_t valloc;
	struct id_set uids, gids;
	uint32_t last_uid, last_gid;
	int have_last;
};

static int note_names(struct writer *w, const struct fim_entry *e)
{
	int nu, ng;
	char *user;

	if (w->have_last && e->uid == w->last_uid && e->gid == w->last_gid)
		return 0;
	w->have_last = 1;
	w->last_uid = e->uid;
	w->last_gid = e->gid;
	nu = id_set_add(&w->uids, e->uid);
	ng = id_set_add(&w->gids, e->gid);
	if (!nu && !ng)
		return 0;
	/* plat_*_name() results live until the next call of the thread */
	user = plat_user_name(e->uid) ? xstrdup(plat_user_name(e->uid)) : NULL;
	nu = store_note_names(w->s->st, e->uid, user, e->gid,
			      plat_group_name(e->gid));
	free(user);
	return nu;
}

/*
 * The directory holding the store changes on every run (SQLite creates
 * and removes -wal and -shm in it): that is our own doing, not a change
 * to the tree. Its mtime, ctime and size stay as stored while it is the
 * same directory; what it contains is compared entry by entry anyway.
 */
static int keep_times_fn(const struct fim_entry *o, void *data)
{
	struct fim_entry *e = data;

	if (S_ISDIR(o->mode) && o->dev == e->dev && o->ino == e->ino) {
		e->mtime_ns = o->mtime_ns;
		e->ctime_ns = o->ctime_ns;
		e->size = o->size;
	}
	return 1;
}

static int merge_chunk(struct writer *w, struct chunk *c)
{
	struct store_range r = {
		.dir = c->dirpath.buf, .dirlen = c->dirpath.len,
		.lo = c->has_lo ? c->lo.buf : NULL, .lolen = c->lo.len,
		.hi = c->has_hi ? c->hi.buf : NULL, .hilen = c->hi.len,
		.flags = c->exact ? STORE_RANGE_EXACT : 0,
	};
	size_t k = 0;
	int ret;

	for (size_t i = 0; c->storedir && i < c->n; i++) {
		struct store_range er = r;

		if (!(c->eflags[i] & EF_STOREDIR) || (c->eflags[i] & EF_SKIP))
			continue;
		er.lo = c->ents[i].name.buf;
		er.lolen = c->ents[i].name.len;
		er.hi = NULL;
		er.flags = STORE_RANGE_EXACT;
		if ((ret = store_alive_range(w->s->st, &er, keep_times_fn,
					     &c->ents[i])))
			return ret;
	}
	ALLOC_GROW(w->v, c->n, w->valloc);
	for (size_t i = 0; i < c->n; i++)
		if (!(c->eflags[i] & EF_SKIP))
			w->v[k++] = &c->ents[i];
	if ((ret = store_merge(w->s->st, &r, w->v, k)))
		return ret;
	atomic_fetch_add(&w->s->entries, (long long)k);
	for (size_t i = 0; i < k; i++)
		if ((ret = note_names(w, w->v[i])))
			return ret;
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct scan *s = w->s;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct chunk *c;

		while (!s->ready_head && !s->quit)
			pthread_cond_wait(&s->write_cv, &s->lock);
		if (!(c = s->ready_head))
			break;
		s->ready_head = c->next;
		if (!s->ready_head)
			s->ready_tail = NULL;
		s->nready--;
		pthread_mutex_unlock(&s->lock);
		if (!aborting(s)) {
			int ret = merge_chunk(w, c);
			if (ret)
				set_fatal(s, ret);
		}
		chunk_put(s, c);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- the walker ----------------------------------------------------- */

/* A subdirectory of the current chunk, to descend into after it. */
struct sub {
	const char *name;        /* in the frame's arena */
	size_t len;
	uint64_t dev, ino;       /* from lstat */
	uint64_t rootdev;
};

/* One directory on the stack. */
struct frame {
	size_t pathlen;          /* its path is walker.path[0..pathlen) */
	const char *name;        /* own name, in the parent's arena */
	struct dirref *dir;      /* NULL while closed (not among the deepest) */
	uint64_t dev, ino;       /* identity, checked when re-opening */
	uint64_t rootdev;        /* st_dev of the root it belongs to */
	char *arena;             /* names, NUL-terminated */
	char **names;            /* sorted */
	size_t nnames, pos;      /* next name to stat */
	struct strbuf lo;        /* exclusive lower bound of the next chunk */
	int has_lo;
	int exact;               /* pseudo frame: the parent of a root */
	int shallow;             /* ... of a root not to walk below */
	int chunked;             /* a chunk was made (an empty dir has one) */
	int dead;                /* moved away: the rest is not scanned */
	struct sub *subs;        /* subdirectories of the last chunk */
	size_t nsubs, subpos, subs_alloc;
};

struct walker {
	struct scan *s;
	struct frame *stack;
	size_t depth, alloc;
	size_t keep;             /* fds kept open at the bottom of the stack */
	struct strbuf path;      /* path of the top frame, plus scratch */
	struct strbuf tmp;       /* messages */
	struct strbuf arena;     /* listing scratch */
	size_t *offs;            /* listing scratch: name offsets */
	size_t offs_alloc;
	const char *enames[CHUNK_NAMES];  /* frame name of each chunk entry */
	struct trust {           /* rehash = changed: per chunk */
		struct chunk *c;
		size_t i;
		struct scan *s;
	} trust;
};

/* Append a name to a path the way path_join() does. */
static void path_push(struct strbuf *p, const char *name, size_t len)
{
	if (p->len && p->buf[p->len - 1] != '/')
		strbuf_addch(p, '/');
	strbuf_add(p, name, len);
}

/* Escaped path of `name` in the top frame, for messages. */
static const char *entry_msg_path(struct walker *w, const struct frame *f,
				  const char *name, size_t len)
{
	strbuf_reset(&w->tmp);
	strbuf_add(&w->tmp, w->path.buf, f->pathlen);
	path_push(&w->tmp, name, len);
	return escaped(w->tmp.buf, w->tmp.len);
}

static const char *frame_msg_path(struct walker *w, const struct frame *f)
{
	return escaped(w->path.buf, f->pathlen);
}

static void frame_release(struct frame *f)
{
	dirref_put(f->dir);
	f->dir = NULL;
	free(f->arena);
	free(f->names);
	free(f->subs);
	strbuf_release(&f->lo);
	memset(f, 0, sizeof(*f));
}

static int name_cmp(const void *a, const void *b)
{
	/* strcmp on names without NULs == memcmp order, shorter first */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read and sort all names of the directory `fd` into the frame. */
static int read_names(struct walker *w, int fd, struct frame *f)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (dfd < 0)
		return -1;
	if (!(d = fdopendir(dfd))) {
		plat_close(dfd);
		return -1;
	}
	strbuf_reset(&w->arena);
	for (;;) {
		size_t len;

		errno = 0;
		if (!(de = readdir(d)))
			break;
		if (de->d_name[0] == '.' && (!de->d_name[1] ||
		    (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		len = strlen(de->d_name);
		ALLOC_GROW(w->offs, n + 1, w->offs_alloc);
		w->offs[n++] = w->arena.len;
		strbuf_add(&w->arena, de->d_name, len + 1);
	}
	if (errno) {
		int err = errno;
		closedir(d);
		errno = err;
		return -1;
	}
	closedir(d);
	f->arena = xmemdup(w->arena.buf, w->arena.len);
	f->names = xmalloc((n ? n : 1) * sizeof(*f->names));
	for (size_t i = 0; i < n; i++)
		f->names[i] = f->arena + w->offs[i];
	qsort(f->names, n, sizeof(*f->names), name_cmp);
	f->nnames = n;
	/* don't keep huge scratch buffers after a huge directory */
	if (w->arena.alloc > (1u << 20))
		strbuf_release(&w->arena);
	if (w->offs_alloc > (1u << 17)) {
		free(w->offs);
		w->offs = NULL;
		w->offs_alloc = 0;
	}
	return 0;
}

static struct frame *push_frame(struct walker *w)
{
	struct frame *f;

	ALLOC_GROW(w->stack, w->depth + 1, w->alloc);
	f = &w->stack[w->depth++];
	memset(f, 0, sizeof(*f));
	strbuf_init(&f->lo, 0);
	/* only the deepest `keep` frames hold an fd of their own */
	if (w->depth > w->keep) {
		struct frame *old = &w->stack[w->depth - 1 - w->keep];
		if (old->dir && old->dir->fd >= 0) {
			dirref_put(old->dir);
			old->dir = NULL;
		}
	}
	return f;
}

static int fd_is(int fd, uint64_t dev, uint64_t ino)
{
	struct stat st;

	return !plat_fstat(fd, &st) && S_ISDIR(st.st_mode) &&
	       (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

/*
 * Re-open frame `fi` after its fd was closed: from its child with "..",
 * or else down from the nearest open ancestor by name. Every step is
 * checked against the (dev, ino) recorded on the way down.
 */
static int reopen_frame(struct walker *w, size_t fi, int childfd)
{
	struct frame *f = &w->stack[fi];
	size_t j;
	int fd = -1;

	if (childfd >= 0) {
		fd = plat_open_dir(childfd, "..");
		if (fd >= 0 && !fd_is(fd, f->dev, f->ino)) {
			plat_close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		/* nearest ancestor with an fd, or the absolute path of the
		 * bottom frame (the parent of the root: a short path) */
		int cur = -1, owned = 0;

		for (j = fi; j > 0 && !w->stack[j - 1].dir; j--)
			;
		if (j > 0) {
			cur = w->stack[j - 1].dir->fd;
		} else if (w->stack[0].pathlen) {
			struct frame *b = &w->stack[0];
			char *p = xmemdup(w->path.buf, b->pathlen);

			cur = plat_open_dir(AT_FDCWD, p);
			free(p);
			owned = 1;
			if (cur >= 0 && !fd_is(cur, b->dev, b->ino)) {
				plat_close(cur);
				cur = -1;
			}
			j = 1;
		}
		for (; cur != -1 && j <= fi; j++) {
			struct frame *g = &w->stack[j];
			int nfd = plat_open_dir(cur, g->name);

			if (owned)
				plat_close(cur);
			cur = nfd;
			owned = 1;
			if (cur >= 0 && !fd_is(cur, g->dev, g->ino)) {
				plat_close(cur);
				cur = -1;
			}
		}
		if (cur != -1 && owned && j > fi) {
			fd = cur;
		} else {
			/* frame j - 1 is not where it was: neither it nor
			 * anything below it can be reached any more */
			size_t lost = j ? j - 1 : 0;

			for (size_t k = lost; k <= fi; k++)
				w->stack[k].dead = 1;
			scan_warn(w->s, "%s: directory moved during scan; its "
				  "remaining entries were not scanned",
				  frame_msg_path(w, &w->stack[lost]));
			return -1;
		}
	}
	f->dir = dirref_new(fd);
	return 0;
}

static int frame_has_work(const struct frame *f)
{
	return !f->dead && (f->subpos < f->nsubs || f->pos < f->nnames ||
			    !f->chunked);
}

static void pop_frame(struct walker *w)
{
	struct frame *f = &w->stack[w->depth - 1];

	if (w->depth >= 2) {
		struct frame *p = &w->stack[w->depth - 2];

		if (!p->dir && frame_has_work(p) && !aborting(w->s))
			reopen_frame(w, w->depth - 2,
				     f->dir ? f->dir->fd : -1);
		strbuf_setlen(&w->path, p->pathlen);
	}
	frame_release(f);
	w->depth--;
}

/* The largest name below `name` (names are at most PRED_LEN - 1 bytes). */
static void name_pred(struct strbuf *out, const char *name, size_t len)
{
	strbuf_reset(out);
	strbuf_add(out, name, len - 1);
	strbuf_addch(out, (unsigned char)name[len - 1] - 1);
	while (out->len < PRED_LEN)
		strbuf_addch(out, (char)0xff);
}

static int is_root(const struct scan *s, const char *path, size_t len)
{
	for (size_t i = 0; i < s->nroots; i++)
		if (s->rootlens[i] == len && !memcmp(s->roots[i], path, len))
			return 1;
	return 0;
}

static int own_file(const struct scan *s, const struct stat *st)
{
	for (size_t i = 0; i < s->nown; i++)
		if (s->own[i].dev == (uint64_t)st->st_dev &&
		    s->own[i].ino == (uint64_t)st->st_ino)
			return 1;
	return 0;
}

static int hashes_configured(const struct fim_config *cfg,
			     const struct fim_entry *o)
{
	size_t off = 0;

	if (!o->hashes_len)
		return 0;
	for (size_t i = 0; i < cfg->nhashes; i++) {
		const struct fim_hash_algo *a;

		a = hash_algo_by_id(cfg->hash_ids[i]);
		if (!a || off + 2 + a->len > o->hashes_len ||
		    o->hashes[off] != a->id || o->hashes[off + 1] != a->len)
			return 0;
		off += 2 + a->len;
	}
	return off == o->hashes_len;
}

static int cmp_names(const struct fim_entry *a, const struct fim_entry *b)
{
	size_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
	int c = memcmp(a->name.buf, b->name.buf, n);

	if (c)
		return c;
	return a->name.len < b->name.len ? -1 : a->name.len > b->name.len;
}

/*
 * rehash = changed: the stored version of a file whose (dev, ino, size,
 * mtime, ctime, mode, nlink) are unchanged lends its hashes; xattrs and
 * inode flags cannot change without moving ctime, so they come along
 * (for directories too, which then need no open just for them).
 */
/*
 * What the worker needs to prove an append: the previous version's size
 * and digest (the first configured algorithm it has).
 */
static void remember_prev(struct fim_entry *e, const struct fim_entry *o)
{
	size_t i = 0;

	memset(&e->prev, 0, sizeof(e->prev));
	if (o->state != FS_OK || !o->hashes_len)
		return;
	e->prev.born = o->born;
	e->prev.size = o->size;
	e->prev.clist_id = o->clist_id;
	e->prev.content = o->content;
	while (i + 2 <= o->hashes_len) {
		unsigned len = o->hashes[i + 1];
		if (i + 2 + len > o->hashes_len || len > sizeof(e->prev.digest))
			break;
		e->prev.alg = o->hashes[i];
		e->prev.len = len;
		memcpy(e->prev.digest, o->hashes + i + 2, len);
		break;
	}
}

static int trust_fn(const struct fim_entry *o, void *data)
{
	struct trust *t = data;
	struct chunk *c = t->c;
	struct fim_entry *e;

	while (t->i < c->n && cmp_names(&c->ents[t->i], o) < 0)
		t->i++;
	if (t->i >= c->n)
		return 1;
	e = &c->ents[t->i];
	if (cmp_names(e, o))
		return 0;
	if (S_ISREG(e->mode) && S_ISREG(o->mode))
		remember_prev(e, o);
	if (t->s->cfg->rehash != REHASH_CHANGED)
		return 0;
	if (o->state != FS_OK || o->dev != e->dev || o->ino != e->ino ||
	    o->ctime_ns != e->ctime_ns || o->mode != e->mode ||
	    o->ctime_ns + scan_racy_ns >= snap_started(t->s, o->born))
		return 0;
	if (S_ISREG(e->mode)) {
		if (o->size != e->size || o->mtime_ns != e->mtime_ns ||
		    o->nlink != e->nlink || !hashes_configured(t->s->cfg, o))
			return 0;
		memcpy(e->hashes, o->hashes, o->hashes_len);
		e->hashes_len = o->hashes_len;
		e->clist_id = o->clist_id;
		e->content = o->content;
		e->trusted = 1;
	} else if (S_ISDIR(e->mode)) {
		c->eflags[t->i] |= EF_ATTRS;
	} else {
		return 0;
	}
	strbuf_reset(&e->xattrs);
	strbuf_add(&e->xattrs, o->xattrs.buf, o->xattrs.len);
	e->iflags = o->iflags;
	e->has_iflags = o->has_iflags;
	return 0;
}

/*
 * A directory entry of the chunk: read the attributes that need an fd
 * (xattrs, inode flags) and decide whether to descend.
 */
static void walk_dir_entry(struct walker *w, struct frame *f,
			   struct chunk *c, size_t i, uint64_t rootdev,
			   const char *fname)
{
	struct scan *s = w->s;
	struct fim_entry *e = &c->ents[i];
	struct sub *sb;
	int fd;

	if (s->cfg->one_filesystem && e->dev != rootdev)
		return;         /* a mount point: recorded, not entered */
	if (!(c->eflags[i] & EF_ATTRS)) {
		fd = plat_open_dir(c->dir->fd, e->name.buf);
		if (fd < 0) {
			if (errno == ENOENT)
				entry_vanished(s, &w->tmp, c, i);
			else
				entry_unreadable(s, &w->tmp, c, e, errno);
			return;
		}
		if (!fd_is(fd, e->dev, e->ino)) {
			plat_close(fd);
			e->state = FS_UNSTABLE;
			atomic_fetch_add(&s->unstable, 1);
			scan_warn(s, "%s: replaced during scan; not scanned",
				  full_path(&w->tmp, c, e));
			return;
		}
		if (plat_xattrs(fd, -1, NULL, &e->xattrs)) {
			/* the contents can still be walked */
			entry_unreadable(s, &w->tmp, c, e, errno);
		}
		e->has_iflags = !plat_inode_flags(fd, &e->iflags);
		if (!e->has_iflags)
			e->iflags = 0;
		plat_close(fd);
	}
	if (f->shallow)
		return;         /* a shallow root: its entry, not below */
	ALLOC_GROW(f->subs, f->nsubs + 1, f->subs_alloc);
	sb = &f->subs[f->nsubs++];
	sb->name = fname;
	sb->len = e->name.len;
	sb->dev = e->dev;
	sb->ino = e->ino;
	sb->rootdev = rootdev;
}

/*
 * Stat the next names of the top frame into one chunk and hand it on.
 * Returns -1 when the scan is being aborted.
 */
static int walk_chunk(struct walker *w)
{
	struct scan *s = w->s;
	const struct fim_config *cfg = s->cfg;
	struct frame *f = &w->stack[w->depth - 1];
	size_t first = f->pos, processed = 0;
	uint64_t rootdev = f->rootdev;
	int dirfd = f->dir->fd, discard = 0;
	struct chunk *c;

	if (!(c = chunk_get(s)))
		return -1;
	f->chunked = 1;
	c->dir = dirref_get(f->dir);
	strbuf_add(&c->dirpath, w->path.buf, f->pathlen);
	c->exact = f->exact;
	if ((c->has_lo = f->has_lo))
		strbuf_add(&c->lo, f->lo.buf, f->lo.len);
	f->nsubs = f->subpos = 0;

	while (f->pos < f->nnames && processed < CHUNK_NAMES) {
		const char *name = f->names[f->pos];
		size_t len = strlen(name);
		struct fim_entry *e;
		struct stat st;

		f->pos++;
		processed++;
		if (aborting(s)) {
			discard = 1;
			break;
		}
		if (plat_lstat(dirfd, name, &st)) {
			int err = errno;

			if (err == ENOENT && f->exact) {
				if (!s->opt->missing_ok)
					scan_warn(s, "root %s does not exist",
						  entry_msg_path(w, f, name,
								 len));
				continue;
			}
			if (err == ENOENT) {
				scan_warn(s, "%s: vanished during the scan",
					  entry_msg_path(w, f, name, len));
				continue;
			}
			scan_warn(s, "cannot read %s: %s",
				  entry_msg_path(w, f, name, len),
				  strerror(err));
			if (f->exact) {
				/* nothing known about the root: no merge */
				discard = 1;
				break;
			}
			/* close this range just below the name and start the
			 * next one just above it: the name is in neither */
			name_pred(&c->hi, name, len);
			c->has_hi = 1;
			strbuf_reset(&f->lo);
			strbuf_add(&f->lo, name, len);
			f->has_lo = 1;
			goto ranged;
		}
		if (cfg->nfilters || (cfg->one_filesystem && s->nroots > 1 &&
		    !f->exact && (uint64_t)st.st_dev != rootdev)) {
			int ex, other;

			strbuf_setlen(&w->path, f->pathlen);
			path_push(&w->path, name, len);
			ex = cfg->nfilters &&
			     config_excluded(cfg, w->path.buf, w->path.len);
			other = !ex && !f->exact && cfg->one_filesystem &&
				(uint64_t)st.st_dev != rootdev &&
				is_root(s, w->path.buf, w->path.len);
			strbuf_setlen(&w->path, f->pathlen);
			if (ex)
				continue;
			if (other) {
				/* a root of its own (a mount point listed
				 * beside its parent root): its entry is
				 * merged there, not in this range */
				name_pred(&c->hi, name, len);
				c->has_hi = 1;
				strbuf_reset(&f->lo);
				strbuf_add(&f->lo, name, len);
				f->has_lo = 1;
				goto ranged;
			}
		}
		if (S_ISREG(st.st_mode) && own_file(s, &st))
			continue;
		w->enames[c->n] = name;
		e = chunk_add(c, name, len);
		fill_stat(e, &st);
		if (f->exact)
			rootdev = st.st_dev;
	}
	if (f->pos < f->nnames) {
		const char *last = f->names[f->pos - 1];

		strbuf_reset(&c->hi);
		strbuf_add(&c->hi, last, strlen(last));
		c->has_hi = 1;
		strbuf_reset(&f->lo);
		strbuf_add(&f->lo, last, strlen(last));
		f->has_lo = 1;
	}
ranged:
	if (discard) {
		chunk_put(s, c);
		return aborting(s) ? -1 : 0;
	}
	if (c->exact) {
		/* the root's own entry: exactly its name, siblings untouched */
		const char *name = f->names[first];

		strbuf_reset(&c->lo);
		strbuf_add(&c->lo, name, strlen(name));
		c->has_lo = 1;
		c->has_hi = 0;
	}

	/* The stored versions: for rehash = changed, and for the append
	 * proof of every file that grew. */
	if (s->rd && c->n) {
		struct store_range r = {
			.dir = c->dirpath.buf, .dirlen = c->dirpath.len,
			.lo = c->has_lo ? c->lo.buf : NULL, .lolen = c->lo.len,
			.hi = c->has_hi ? c->hi.buf : NULL, .hilen = c->hi.len,
			.flags = c->exact ? STORE_RANGE_EXACT : 0,
		};
		int ret;

		w->trust.c = c;
		w->trust.i = 0;
		w->trust.s = s;
		if ((ret = store_alive_range(s->rd, &r, trust_fn, &w->trust))) {
			set_fatal(s, ret);
			chunk_put(s, c);
			return -1;
		}
	}

	for (size_t i = 0; i < c->n; i++) {
		struct fim_entry *e = &c->ents[i];

		if (S_ISREG(e->mode)) {
			if (!e->trusted) {
				ALLOC_GROW(c->jobs, c->njobs + 1,
					   c->jobs_alloc);
				c->jobs[c->njobs++] = (uint32_t)i;
			}
		} else if (S_ISDIR(e->mode)) {
			if (s->has_storedir && e->dev == s->storedir.dev &&
			    e->ino == s->storedir.ino) {
				c->eflags[i] |= EF_STOREDIR;
				c->storedir = 1;
			}
			walk_dir_entry(w, f, c, i, rootdev, w->enames[i]);
		} else {
			fill_special(s, &w->tmp, c, i);
		}
	}
	atomic_fetch_add(&s->seen, (long long)c->n);
	chunk_submit(s, c);
	return 0;
}

/* Enter the next subdirectory of the top frame. */
static void descend(struct walker *w)
{
	struct scan *s = w->s;
	size_t pi = w->depth - 1;
	struct frame *p = &w->stack[pi], tmp, *f;
	struct sub sb = p->subs[p->subpos++];
	int fd;

	fd = plat_open_dir(p->dir->fd, sb.name);
	if (fd < 0) {
		/* its entry is recorded; what is stored below it stays */
		if (errno != ENOENT)
			scan_warn(s, "cannot read %s: %s",
				  entry_msg_path(w, p, sb.name, sb.len),
				  strerror(errno));
		else
			scan_warn(s, "%s: vanished during the scan",
				  entry_msg_path(w, p, sb.name, sb.len));
		return;
	}
	if (!fd_is(fd, sb.dev, sb.ino)) {
		plat_close(fd);
		scan_warn(s, "%s: replaced during scan; not scanned",
			  entry_msg_path(w, p, sb.name, sb.len));
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	if (read_names(w, fd, &tmp)) {
		/* its entry is recorded; what is stored below it stays */
		scan_warn(s, "cannot read %s: %s",
			  entry_msg_path(w, p, sb.name, sb.len),
			  strerror(errno));
		plat_close(fd);
		return;
	}
	f = push_frame(w);
	p = &w->stack[pi];
	strbuf_setlen(&w->path, p->pathlen);
	path_push(&w->path, sb.name, sb.len);
	f->pathlen = w->path.len;
	f->name = sb.name;
	f->dir = dirref_new(fd);
	f->dev = sb.dev;
	f->ino = sb.ino;
	f->rootdev = sb.rootdev;
	f->arena = tmp.arena;
	f->names = tmp.names;
	f->nnames = tmp.nnames;
	if (scan_test_enter_dir)
		scan_test_enter_dir(w->path.buf, w->path.len);
}

static void walk(struct walker *w)
{
	while (w->depth) {
		size_t fi = w->depth - 1;
		struct frame *f = &w->stack[fi];

		if (aborting(w->s))
			break;
		progress_tick(w->s, 0);
		if (!f->dir && frame_has_work(f) && reopen_frame(w, fi, -1))
			continue;
		if (f->dead) {
			pop_frame(w);
		} else if (f->subpos < f->nsubs) {
			descend(w);
		} else if (f->pos < f->nnames || !f->chunked) {
			if (walk_chunk(w))
				break;
		} else {
			pop_frame(w);
		}
	}
	while (w->depth)
		pop_frame(w);
}

/*
 * One root: its entry is the single name of a pseudo frame, the root's
 * parent directory, merged as an exact range so its siblings are not
 * touched. The root "/" is the entry ("", "/").
 */
static void walk_root(struct walker *w, const char *root, size_t len,
		      int shallow)
{
	struct scan *s = w->s;
	size_t dirlen, namelen;
	const char *name;
	struct frame *f;
	struct stat st;
	int fd = AT_FDCWD;

	memset(&st, 0, sizeof(st));
	path_split(root, len, &dirlen, &name, &namelen);
	strbuf_reset(&w->path);
	strbuf_add(&w->path, root, dirlen);
	if (dirlen && (fd = plat_open_dir(AT_FDCWD, w->path.buf)) >= 0 &&
	    plat_fstat(fd, &st)) {
		plat_close(fd);
		fd = -1;
	}
	if (fd == -1) {
		struct chunk *c;

		if (errno != ENOENT && errno != ENOTDIR) {
			scan_warn(s, "cannot read %s: %s", escaped(root, len),
				  strerror(errno));
			return;
		}
		/* gone with its parent: remove what was stored */
		if (!s->opt->missing_ok)
			scan_warn(s, "root %s does not exist",
				  escaped(root, len));
		if (!(c = chunk_get(s)))
			return;
		strbuf_add(&c->dirpath, root, dirlen);
		strbuf_add(&c->lo, name, namelen);
		c->has_lo = 1;
		c->exact = 1;
		chunk_submit(s, c);
		return;
	}
	f = push_frame(w);
	f->pathlen = dirlen;
	f->dir = dirref_new(fd);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->exact = 1;
	f->shallow = shallow;
	f->arena = xmemdup(name, namelen);
	f->names = xmalloc(sizeof(*f->names));
	f->names[0] = f->arena;
	f->nnames = 1;
	walk(w);
}

/* ---- scan_run ------------------------------------------------------- */

static int lstat_dev(const char *path, size_t len, uint64_t *dev)
{
	char *p = xmemdup(path, len);
	struct stat st;
	int ret = lstat(p, &st);

	free(p);
	*dev = st.st_dev;
	return ret;
}

/*
 * Drop roots inside other roots (and repeats): each entry once. A root
 * inside another one but on another filesystem stays when the walk does
 * not cross mount points: listing /boot/efi beside /boot asks for it.
 * A shallow root covers only itself (a deep root of the same path covers
 * it).
 */
static size_t dedupe_roots(const struct scan_options *opt,
			   const char **roots, size_t *lens,
			   unsigned char *shallow)
{
	size_t n = 0;

	for (size_t i = 0; i < opt->nroots; i++) {
		int si = opt->shallow && opt->shallow[i], covered = 0;

		for (size_t j = 0; j < opt->nroots && !covered; j++) {
			int same = opt->rootlens[i] == opt->rootlens[j] &&
				   !memcmp(opt->roots[i], opt->roots[j],
					   opt->rootlens[i]);
			int sj = opt->shallow && opt->shallow[j];
			uint64_t di, dj;

			if (i == j ||
			    !path_is_under(opt->roots[i], opt->rootlens[i],
					   opt->roots[j], opt->rootlens[j]))
				continue;
			if (same ? (sj && !si) || (sj == si && j > i) : sj)
				continue;
			covered = 1;
			if (!same && opt->cfg->one_filesystem &&
			    !lstat_dev(opt->roots[i], opt->rootlens[i], &di) &&
			    !lstat_dev(opt->roots[j], opt->rootlens[j], &dj) &&
			    di != dj)
				covered = 0;
		}
		if (!covered) {
			roots[n] = opt->roots[i];
			shallow[n] = si;
			lens[n++] = opt->rootlens[i];
		}
	}
	return n;
}

/* (dev, ino) of the directory that holds the store's files. */
static int store_dir_id(struct store *st, struct store_file_id *id)
{
	const char *p = store_path(st), *slash = p ? strrchr(p, '/') : NULL;
	char *dir;
	struct stat sb;
	int ret;

	if (!p)
		return -1;
	if (!slash)
		dir = xstrdup(".");
	else
		dir = xmemdup(p, slash == p ? 1 : (size_t)(slash - p));
	ret = stat(dir, &sb);
	free(dir);
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	return ret;
}

/* Fit the fds we keep (stack frames, chunks in flight) under the limit. */
static void fd_budget(struct scan *s, size_t *keep)
{
	struct rlimit rl;
	size_t avail = 1u << 20, max = 4 * (size_t)s->threads + 4;

	/* stdio, two store connections (db, wal, shm each), slack */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		avail = rl.rlim_cur > 24 ? rl.rlim_cur - 24 : 0;
	if (max > MAX_IN_FLIGHT)
		max = MAX_IN_FLIGHT;
	if (max > avail / 3)
		max = avail / 3 ? avail / 3 : 1;
	s->max_in_flight = max;
	s->write_batch = max / 4 ? max / 4 : 1;
	avail = avail > max + s->threads + 4 ? avail - max - s->threads - 4 : 0;
	*keep = avail < 2 ? 2 : avail > MAX_KEEP_FDS ? MAX_KEEP_FDS : avail;
}

static void free_chain(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		chunk_free(c);
		c = next;
	}
}

int scan_run(struct store *st, struct store *rd,
	     const struct scan_options *opt, struct scan_result *res)
{
	const struct fim_config *cfg = opt->cfg;
	struct scan *s = xcalloc(1, sizeof(*s));
	struct walker w;
	struct writer wr;
	struct worker *wk;
	const char **roots = xcalloc(opt->nroots + 1, sizeof(*roots));
	size_t *lens = xcalloc(opt->nroots + 1, sizeof(*lens)), nroots;
	unsigned char *shallow = xcalloc(opt->nroots + 1, 1);
	struct snapshot_start ss;
	struct snapshot_counts counts;
	pthread_condattr_t ca;
	const struct chunk_params *cp = &chunk_params_default;
	const char *theirs;
	char *hashes = NULL;
	int64_t start = now_ns(), snap = 0;
	int ret = 0, began = 0;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	memset(&wr, 0, sizeof(wr));
	s->opt = opt;
	for (size_t i = 0; i < cfg->nrules; i++)
		s->content_rules |= cfg->rules[i].content == CONTENT_KEEP;
	s->cfg = cfg;
	s->st = st;
	s->rd = rd;
	s->retries = cfg->retries > 0 ? cfg->retries : 1;
	s->threads = cfg->threads > 0 ? cfg->threads : default_threads();
	if (s->threads > 256)
		s->threads = 256;
	nroots = dedupe_roots(opt, roots, lens, shallow);
	s->roots = roots;
	s->rootlens = lens;
	s->shallow = shallow;
	s->nroots = nroots;
	w.s = s;
	strbuf_init(&w.path, 0);
	strbuf_init(&w.tmp, 0);
	strbuf_init(&w.arena, 0);
	fd_budget(s, &w.keep);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->space_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->write_cv, NULL);
	pthread_mutex_init(&s->prog.lock, NULL);
	s->prog.start = s->prog.last = start;

	wk = xcalloc(s->threads, sizeof(*wk));
	/*
	 * Cut with the store's parameters: lists cut differently would make
	 * every chunk differ. A store from a fimscan with parameters this one
	 * does not know is refused rather than silently re-cut.
	 */
	theirs = store_chunk_params(st);
	if (*theirs && !(cp = chunk_params_known(theirs))) {
		char *mine = chunk_params_id(&chunk_params_default);

		error("store %s was chunked with '%s' but this fimscan "
		      "cuts with '%s': use the fimscan that created it",
		      store_path(st), theirs, mine);
		free(mine);
		ret = EXIT_STORE;
		goto out;
	}
	for (int i = 0; i < s->threads; i++) {
		wk[i].s = s;
		strbuf_init(&wk[i].tmp, 0);
		if (!(wk[i].h = scan_hasher_new(cfg, cp))) {
			ret = EXIT_CONFIG;
			goto out;
		}
	}
	if (opt->progress) {
		struct snap_find sf = { s, roots, lens, nroots };

		if ((ret = store_snapshot_foreach(st, snap_fn, &sf)))
			goto out;
	}

	hashes = config_hashes_str(cfg);
	ss.kind = opt->kind;
	ss.roots = roots;
	ss.rootlens = lens;
	ss.nroots = nroots;
	ss.config = cfg->text ? cfg->text : "";
	ss.hashes = hashes;
	ss.busy_ms = cfg->busy_ms;
	ss.content_max_total = cfg->content_max_total;
	if ((ret = store_begin_snapshot(st, &ss, &snap)))
		goto out;
	began = 1;
	s->nown = store_own_files(st, s->own, ARRAY_SIZE(s->own));
	s->has_storedir = !store_dir_id(st, &s->storedir);

	wr.s = s;
	if ((ret = pthread_create(&wr.tid, NULL, writer_main, &wr))) {
		error("cannot start a thread: %s", strerror(ret));
		ret = 0;
		set_fatal(s, EXIT_INTERNAL);
	} else {
		wr.started = 1;
	}
	for (int i = 0; i < s->threads && !aborting(s); i++) {
		int err = pthread_create(&wk[i].tid, NULL, worker_main, &wk[i]);

		if (err) {
			error("cannot start a thread: %s", strerror(err));
			set_fatal(s, EXIT_INTERNAL);
		} else {
			wk[i].started = 1;
		}
	}

	for (size_t i = 0; i < nroots && !aborting(s); i++)
		walk_root(&w, roots[i], lens[i], shallow[i]);

	/* drain: every chunk merged (or dropped when aborting) */
	pthread_mutex_lock(&s->lock);
	s->walked = 1;
	while (s->in_flight) {
		wait_for_space(s);
	}
	s->quit = 1;
	pthread_cond_broadcast(&s->work_cv);
	pthread_cond_broadcast(&s->write_cv);
	pthread_mutex_unlock(&s->lock);

out:
	for (int i = 0; i < s->threads; i++)
		if (wk[i].started)
			pthread_join(wk[i].tid, NULL);
	if (wr.started)
		pthread_join(wr.tid, NULL);
	if (began) {
		if ((ret = atomic_load(&s->fatal))) {
			store_abort_snapshot(st);
		} else if (scan_stop_requested()) {
			store_abort_snapshot(st);
			ret = EXIT_INTERRUPTED;
		} else {
			counts.warnings = atomic_load(&s->warnings);
			counts.unstable = atomic_load(&s->unstable);
			counts.bytes_hashed = atomic_load(&s->bytes);
			/* Work that must commit with the snapshot or not at
			 * all (events for the outbox). */
			if (opt->before_commit &&
			    (ret = opt->before_commit(st, snap,
						      opt->hook_data)))
				store_abort_snapshot(st);
			else
				ret = store_commit_snapshot(st, &counts);
		}
	}
	if (opt->progress) {
		pthread_mutex_lock(&s->prog.lock);
		clear_line_locked(s);
		pthread_mutex_unlock(&s->prog.lock);
	}
	res->snap = ret ? 0 : snap;
	res->entries = atomic_load(&s->entries);
	res->files_hashed = atomic_load(&s->files_hashed);
	res->bytes_hashed = atomic_load(&s->bytes);
	res->warnings = atomic_load(&s->warnings);
	res->unstable = atomic_load(&s->unstable);
	res->seconds = (now_ns() - start) / 1e9;

	for (int i = 0; i < s->threads; i++) {
		scan_hasher_free(wk[i].h);
		strbuf_release(&wk[i].tmp);
	}
	free(wk);
	free(wr.v);
	free(wr.uids.v);
	free(wr.gids.v);
	free_chain(s->pool);
	free_chain(s->work_head);
	free_chain(s->ready_head);
	free(w.stack);
	free(w.offs);
	strbuf_release(&w.path);
	strbuf_release(&w.tmp);
	strbuf_release(&w.arena);
	pthread_cond_destroy(&s->space_cv);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->write_cv);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->prog.lock);
	free(s->times);
	free(hashes);
	free(roots);
	free(lens);
	free(shallow);
	free(s);
	return ret;
}
