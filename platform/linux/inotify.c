/*
 * inotify.c: the inotify backend of platform/watch.h, on libinotifytools.
 *
 * libinotifytools owns the inotify instance (one per process: its state
 * is global, hence `busy`; it even exports a `verbosity` that collides
 * with ours) and reads and buffers the events. Its own
 * wd <-> filename maps are not used: they are keyed by name, so a
 * directory deleted and created again under the same name, or moved out
 * and back in, leaves an entry that shadows the new watch, and the
 * library cannot forget a watch the kernel already dropped (it asks the
 * kernel to remove it first and gives up when that fails). So the watches
 * are placed with inotify_add_watch() on the library's descriptor, found
 * once at open, and this file keeps the wd -> path map, updated from the
 * events themselves:
 *
 *   IN_CREATE of a directory   watch it and everything below, then deliver
 *   IN_MOVED_FROM/IN_MOVED_TO  paired by cookie: the subtree's paths are
 *                              renamed in the map; unpaired MOVED_FROM (moved
 *                              out of sight) drops the subtree's watches,
 *                              unpaired MOVED_TO (moved in) watches it
 *   IN_IGNORED                 the kernel dropped the watch: forget it
 *   IN_DELETE_SELF/MOVE_SELF   of a root: PW_LOST (nothing watches its
 *                              parent)
 *   IN_Q_OVERFLOW              creates and renames may have been lost, so
 *                              the map may be wrong: walk the roots again
 *                              (new directories get watches, paths are
 *                              corrected, vanished ones dropped), then
 *                              deliver PW_OVERFLOW so the caller rescans
 *
 * Placing watches walks pre-order (a directory before its children), so a
 * directory created during the walk is seen either by the walk or by its
 * parent's watch. ENOSPC (max_user_watches) and the other failures are
 * reported per maximal unwatched subtree with the number of directories
 * in it, which tells the caller how far the limit has to go up.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "platform/base.h"
#include "platform/watch.h"

#define WATCH_MASK (IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | \
		    IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | \
		    IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
/* How long an unpaired IN_MOVED_FROM waits for its IN_MOVED_TO: the two
 * are queued by one rename(2), but a read can fall between them. */
#define MOVE_GRACE_MS 10
#define MAX_BATCH 16384          /* events per read() call */

/* One watched directory. */
struct node {
	int wd;                  /* 0: free slot */
	unsigned root : 1;       /* given to add() */
	unsigned gone : 1;       /* moved out of sight: watch being removed */
	unsigned seen : 1;       /* confirmed by the current walk */
	char *path;
	size_t len;
};

/* A MOVED_FROM waiting for its MOVED_TO. */
struct move {
	uint32_t cookie;
	int isdir;
	char *path;
	size_t len;
};

/* A maximal subtree that could not be watched. */
struct top {
	char *path;
	size_t len;
	int err;
	int64_t ndirs;
};

struct plat_watch {
	int fd;                  /* the library's inotify descriptor */
	plat_watch_fn fn;
	plat_watch_skip_fn skip;
	void *data;
	struct node *v;          /* open addressing on wd, linear probing */
	size_t cap, n, live;     /* slots, used, not gone */
	struct move *moves;
	size_t nmoves, moves_alloc;
	char **roots;
	size_t *rootlens, nroots, roots_alloc;
	int rebuild;             /* an overflow: walk the roots again */
	struct strbuf path, tmp;
};

static int busy;                 /* libinotifytools: one per process */

/* ---- the wd -> path map ----------------------------------------------- */

static size_t slot_of(const struct plat_watch *w, int wd)
{
	return ((uint32_t)wd * 2654435761u) & (w->cap - 1);
}

static struct node *node_find(struct plat_watch *w, int wd)
{
	if (!w->cap)
		return NULL;
	for (size_t i = slot_of(w, wd);; i = (i + 1) & (w->cap - 1)) {
		if (!w->v[i].wd)
			return NULL;
		if (w->v[i].wd == wd)
			return &w->v[i];
	}
}

static void node_grow(struct plat_watch *w)
{
	struct node *old = w->v;
	size_t oldcap = w->cap;

	w->cap = w->cap ? w->cap * 2 : 256;
	w->v = xcalloc(w->cap, sizeof(*w->v));
	for (size_t i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].wd)
			continue;
		for (j = slot_of(w, old[i].wd); w->v[j].wd;
		     j = (j + 1) & (w->cap - 1))
			;
		w->v[j] = old[i];
	}
	free(old);
}

/* Insert or re-path the node of wd (the path the walk saw is the truth). */
static struct node *node_put(struct plat_watch *w, int wd, const char *path,
			     size_t len)
{
	struct node *nd = node_find(w, wd);
	size_t i;

	if (nd) {
		if (nd->len != len || memcmp(nd->path, path, len)) {
			free(nd->path);
			nd->path = xmemdup(path, len);
			nd->len = len;
		}
		if (nd->gone) {
			nd->gone = 0;
			w->live++;
		}
		nd->seen = 1;
		return nd;
	}
	if ((w->n + 1) * 4 > w->cap * 3)
		node_grow(w);
	for (i = slot_of(w, wd); w->v[i].wd; i = (i + 1) & (w->cap - 1))
		;
	nd = &w->v[i];
	memset(nd, 0, sizeof(*nd));
	nd->wd = wd;
	nd->path = xmemdup(path, len);
	nd->len = len;
	nd->seen = 1;
	w->n++;
	w->live++;
	return nd;
}

/* Backward-shift deletion: no tombstones to skip later. */
static void node_del(struct plat_watch *w, struct node *nd)
{
	size_t i = nd - w->v, j = i;

	if (!nd->gone)
		w->live--;
	free(nd->path);
	for (;;) {
		size_t k;

		j = (j + 1) & (w->cap - 1);
		if (!w->v[j].wd)
			break;
		k = slot_of(w, w->v[j].wd);
		/* move j back to i unless its home lies in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		w->v[i] = w->v[j];
		i = j;
	}
	memset(&w->v[i], 0, sizeof(w->v[i]));
	w->n--;
}

/* Stop watching `path` and below (moved out of sight, excluded). */
static void drop_subtree(struct plat_watch *w, const char *path, size_t len)
{
	for (size_t i = 0; i < w->cap; i++) {
		struct node *nd = &w->v[i];

		if (!nd->wd || nd->gone || !path_is_under(nd->path, nd->len,
							  path, len))
			continue;
		nd->gone = 1;
		w->live--;
		/* the kernel answers with IN_IGNORED, which frees the node */
		inotify_rm_watch(w->fd, nd->wd);
	}
}

/* A directory was renamed: so were the paths of everything below it. */
static int rename_subtree(struct plat_watch *w, const char *old,
			  size_t oldlen, const char *new, size_t newlen)
{
	int found = 0;

	for (size_t i = 0; i < w->cap; i++) {
		struct node *nd = &w->v[i];
		char *p;

		if (!nd->wd || nd->gone ||
		    !path_is_under(nd->path, nd->len, old, oldlen))
			continue;
		found |= nd->len == oldlen;
		p = xmalloc(newlen + nd->len - oldlen + 1);
		memcpy(p, new, newlen);
		memcpy(p + newlen, nd->path + oldlen, nd->len - oldlen);
		p[newlen + nd->len - oldlen] = '\0';
		free(nd->path);
		nd->path = p;
		nd->len = newlen + nd->len - oldlen;
	}
	return found;
}

/* ---- placing watches --------------------------------------------------- */

struct pending_dir {
	char *path;
	size_t len;
	long top;                /* index into tops, -1: watched so far */
};

static void deliver(struct plat_watch *w, unsigned mask, const char *path,
		    size_t len, const char *old, size_t oldlen)
{
	struct plat_watch_event ev = {
		.mask = mask, .path = path, .len = len,
		.old_path = old, .old_len = oldlen,
		.time_ns = now_ns(), .uid = -1,
	};

	w->fn(&ev, w->data);
}

/*
 * Watch `path` and the directories below it, pre-order. Returns 0 when
 * `path` itself is watched, else -1 with errno (the caller decides
 * whether that matters); everything that could not be watched has been
 * reported as PW_UNWATCHED.
 */
static int add_walk(struct plat_watch *w, const char *path, size_t len,
		    int root)
{
	struct pending_dir *stack = NULL;
	struct top *tops = NULL;
	size_t n = 0, alloc = 0, ntops = 0, tops_alloc = 0;
	int ret = 0, first = 1, first_err = 0;

	ALLOC_GROW(stack, 1, alloc);
	stack[n].path = xmemdup(path, len);
	stack[n].len = len;
	stack[n++].top = -1;
	while (n) {
		struct pending_dir d = stack[--n];
		struct dirent *de;
		DIR *dir;
		int err = 0;

		if (d.top >= 0) {
			tops[d.top].ndirs++;
		} else {
			int wd = inotify_add_watch(w->fd, d.path, WATCH_MASK);

			if (wd >= 0) {
				struct node *nd = node_put(w, wd, d.path,
							   d.len);
				if (first && root)
					nd->root = 1;
			} else if (errno != ENOENT && errno != ENOTDIR) {
				err = errno;
			} else if (first) {
				first_err = errno;
			}
			if (err) {
				if (first)
					first_err = err;
				ALLOC_GROW(tops, ntops + 1, tops_alloc);
				tops[ntops].path = xmemdup(d.path, d.len);
				tops[ntops].len = d.len;
				tops[ntops].err = err;
				tops[ntops].ndirs = 1;
				d.top = (long)ntops++;
			}
			if (wd < 0 && !err) {
				/* vanished or replaced: nothing below */
				free(d.path);
				first = 0;
				continue;
			}
		}
		first = 0;
		if (!(dir = opendir(d.path))) {
			if (errno != ENOENT && errno != ENOTDIR && d.top < 0) {
				/* watched but not listable: its subdirs are
				 * unknown, hence unwatched */
				ALLOC_GROW(tops, ntops + 1, tops_alloc);
				tops[ntops].path = xmemdup(d.path, d.len);
				tops[ntops].len = d.len;
				tops[ntops].err = errno;
				tops[ntops++].ndirs = 0;
			}
			free(d.path);
			continue;
		}
		while ((de = readdir(dir))) {
			struct stat st;

			if (de->d_name[0] == '.' && (!de->d_name[1] ||
			    (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
				continue;
			path_join(&w->tmp, d.path, d.len, de->d_name,
				  strlen(de->d_name));
			if (lstat(w->tmp.buf, &st) || !S_ISDIR(st.st_mode))
				continue;
			if (w->skip && w->skip(w->tmp.buf, w->tmp.len, &st,
					       w->data))
				continue;
			ALLOC_GROW(stack, n + 1, alloc);
			stack[n].path = xmemdup(w->tmp.buf, w->tmp.len);
			stack[n].len = w->tmp.len;
			stack[n++].top = d.top;
		}
		closedir(dir);
		free(d.path);
	}
	for (size_t i = 0; i < ntops; i++) {
		struct plat_watch_event ev = {
			.mask = PW_UNWATCHED | PW_ISDIR, .path = tops[i].path,
			.len = tops[i].len, .time_ns = now_ns(), .uid = -1,
			.err = tops[i].err, .ndirs = tops[i].ndirs,
		};
		w->fn(&ev, w->data);
		free(tops[i].path);
	}
	free(tops);
	free(stack);
	if (first_err) {
		errno = first_err;
		ret = -1;
	}
	return ret;
}

/* After an overflow: walk every root again, drop what the walk missed. */
static void rebuild(struct plat_watch *w)
{
	for (size_t i = 0; i < w->cap; i++)
		w->v[i].seen = 0;
	for (size_t i = 0; i < w->nroots; i++)
		add_walk(w, w->roots[i], w->rootlens[i], 1);
	for (size_t i = 0; i < w->cap; i++) {
		struct node *nd = &w->v[i];

		if (nd->wd && !nd->gone && !nd->seen) {
			nd->gone = 1;
			w->live--;
			inotify_rm_watch(w->fd, nd->wd);
		}
	}
	w->rebuild = 0;
}

/* ---- events ------------------------------------------------------------ */

static void flush_moves(struct plat_watch *w)
{
	for (size_t i = 0; i < w->nmoves; i++) {
		struct move *m = &w->moves[i];

		/* moved out of sight: its watches would report stale paths */
		if (m->isdir)
			drop_subtree(w, m->path, m->len);
		deliver(w, PW_MOVED_FROM | (m->isdir ? PW_ISDIR : 0), m->path,
			m->len, NULL, 0);
		free(m->path);
	}
	w->nmoves = 0;
}

static void moved_to(struct plat_watch *w, uint32_t cookie, int isdir,
		     const char *path, size_t len)
{
	struct move *m = NULL;
	struct stat st;

	for (size_t i = 0; i < w->nmoves; i++)
		if (w->moves[i].cookie == cookie) {
			m = &w->moves[i];
			break;
		}
	if (isdir) {
		int known = m && rename_subtree(w, m->path, m->len, path, len);

		if (!lstat(path, &st) && w->skip &&
		    w->skip(path, len, &st, w->data))
			drop_subtree(w, path, len);
		else if (!known)
			add_walk(w, path, len, 0);
	}
	deliver(w, PW_MOVED_TO | (isdir ? PW_ISDIR : 0), path, len,
		m ? m->path : NULL, m ? m->len : 0);
	if (m) {
		free(m->path);
		*m = w->moves[--w->nmoves];
	}
}

static void handle(struct plat_watch *w, const struct inotify_event *ev)
{
	unsigned isdir = ev->mask & IN_ISDIR ? PW_ISDIR : 0;
	size_t namelen = ev->len ? strnlen(ev->name, ev->len) : 0;
	struct node *nd;
	struct stat st;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->rebuild = 1;
		return;
	}
	if (!(nd = node_find(w, ev->wd)))
		return;          /* forgotten already */
	if (ev->mask & IN_IGNORED) {
		node_del(w, nd);
		return;
	}
	if (nd->gone)
		return;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
		/* a subdirectory's parent reports it; a root has no parent */
		if (nd->root) {
			strbuf_reset(&w->path);
			strbuf_add(&w->path, nd->path, nd->len);
			if (!(ev->mask & IN_DELETE_SELF))
				drop_subtree(w, nd->path, nd->len);
			deliver(w, PW_LOST | PW_ISDIR, w->path.buf, w->path.len,
				NULL, 0);
		}
		return;
	}
	if (namelen)
		path_join(&w->path, nd->path, nd->len, ev->name, namelen);
	else {
		strbuf_reset(&w->path);
		strbuf_add(&w->path, nd->path, nd->len);
	}
	if (ev->mask & IN_MOVED_FROM) {
		ALLOC_GROW(w->moves, w->nmoves + 1, w->moves_alloc);
		w->moves[w->nmoves].cookie = ev->cookie;
		w->moves[w->nmoves].isdir = !!isdir;
		w->moves[w->nmoves].path = xmemdup(w->path.buf, w->path.len);
		w->moves[w->nmoves++].len = w->path.len;
		/* a flood of renames out of sight must not grow this */
		if (w->nmoves > 1024)
			flush_moves(w);
		return;
	}
	if (ev->mask & IN_MOVED_TO) {
		moved_to(w, ev->cookie, !!isdir, w->path.buf, w->path.len);
		return;
	}
	if (ev->mask & IN_CREATE) {
		if (isdir && !lstat(w->path.buf, &st) && S_ISDIR(st.st_mode) &&
		    !(w->skip && w->skip(w->path.buf, w->path.len, &st,
					 w->data)))
			add_walk(w, w->path.buf, w->path.len, 0);
		deliver(w, PW_CREATE | isdir, w->path.buf, w->path.len, NULL,
			0);
	} else if (ev->mask & IN_DELETE) {
		deliver(w, PW_DELETE | isdir, w->path.buf, w->path.len, NULL,
			0);
	} else if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE)) {
		deliver(w, PW_MODIFY, w->path.buf, w->path.len, NULL, 0);
	} else if (ev->mask & IN_ATTRIB) {
		deliver(w, PW_ATTRIB | (namelen ? isdir : PW_ISDIR | PW_SELF),
			w->path.buf, w->path.len, NULL, 0);
	}
}

/* ---- the ops ------------------------------------------------------------ */

/* The descriptor libinotifytools opened: the inotify fd not in `before`. */
static int find_inotify_fd(const unsigned char *before, size_t nbefore)
{
	char link[64], target[64];
	int found = -1;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify"))
			continue;
		if ((size_t)fd < nbefore && before[fd])
			continue;
		found = fd;
	}
	closedir(d);
	return found;
}

static void mark_inotify_fds(unsigned char *v, size_t n)
{
	char link[64], target[64];

	for (size_t fd = 0; fd < n; fd++) {
		ssize_t k;

		snprintf(link, sizeof(link), "/proc/self/fd/%zu", fd);
		k = readlink(link, target, sizeof(target) - 1);
		v[fd] = k > 0 && (size_t)k == strlen("anon_inode:inotify") &&
			!memcmp(target, "anon_inode:inotify", (size_t)k);
	}
}

static int in_open(struct plat_watch **out, plat_watch_fn fn,
		   plat_watch_skip_fn skip, void *data, struct strbuf *why)
{
	unsigned char before[1024];
	struct plat_watch *w;
	int err, v, ok;

	*out = NULL;
	if (busy) {
		strbuf_addstr(why, "libinotifytools is in use already");
		errno = EBUSY;
		return -1;
	}
	mark_inotify_fds(before, sizeof(before));
	/* the library exports a global `verbosity` that ours interposes,
	 * and its init sets it to 0: keep -v and -q as they were */
	v = verbosity;
	ok = inotifytools_initialize();
	verbosity = v;
	if (!ok) {
		err = inotifytools_error();
		if (err == EMFILE)
			strbuf_addf(why, "too many inotify instances: raise "
				    "/proc/sys/fs/inotify/max_user_instances "
				    "(it is %lld)",
				    (long long)plat_inotify_limit(
					    "max_user_instances"));
		else
			strbuf_addf(why, "cannot start inotify: %s",
				    strerror(err));
		errno = err;
		return -1;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = find_inotify_fd(before, sizeof(before));
	if (w->fd < 0) {
		inotifytools_cleanup();
		free(w);
		strbuf_addstr(why, "cannot find libinotifytools' inotify "
			      "descriptor in /proc/self/fd");
		errno = ENOTSUP;
		return -1;
	}
	w->fn = fn;
	w->skip = skip;
	w->data = data;
	strbuf_init(&w->path, 0);
	strbuf_init(&w->tmp, 0);
	busy = 1;
	*out = w;
	return 0;
}

static int in_add(struct plat_watch *w, const char *path, size_t len,
		  struct strbuf *why)
{
	int root = 1, known = 0;

	/* a subtree of a root (watched again once the limit allows) is
	 * covered by the root's walk after an overflow; a root watched
	 * again (it was deleted and is back) is one already */
	for (size_t i = 0; i < w->nroots && root && !known; i++) {
		known = len == w->rootlens[i] &&
			!memcmp(path, w->roots[i], len);
		root = known || !path_is_under(path, len, w->roots[i],
					       w->rootlens[i]);
	}
	if (root && !known) {
		ALLOC_GROW(w->roots, w->nroots + 1, w->roots_alloc);
		w->rootlens = xrealloc(w->rootlens, w->roots_alloc *
				       sizeof(*w->rootlens));
		w->roots[w->nroots] = xmemdup(path, len);
		w->rootlens[w->nroots++] = len;
	}
	if (add_walk(w, path, len, root)) {
		strbuf_addf(why, "cannot watch %s: %s", escaped(path, len),
			    strerror(errno));
		return -1;
	}
	return 0;
}

static int in_read(struct plat_watch *w, int timeout_ms)
{
	for (;;) {
		struct inotify_event *ev;
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		int got = 0, wait;

		/* the library may hold events from its last read(2); a
		 * writer that never stops must not keep us here forever */
		while (got < MAX_BATCH &&
		       (ev = inotifytools_next_events(0, 1))) {
			handle(w, ev);
			got++;
		}
		if (inotifytools_error() && inotifytools_error() != EINTR) {
			errno = inotifytools_error();
			return -1;
		}
		if (w->rebuild) {
			/* pairs may straddle the lost events */
			flush_moves(w);
			rebuild(w);
			deliver(w, PW_OVERFLOW, NULL, 0, NULL, 0);
		}
		if (got >= MAX_BATCH)
			return 0;        /* more to come: the caller calls again */
		if (got)
			timeout_ms = 0;
		wait = w->nmoves && (timeout_ms > MOVE_GRACE_MS ||
				     timeout_ms == 0) ? MOVE_GRACE_MS
						      : timeout_ms;
		if (!wait && !w->nmoves)
			return 0;
		if (poll(&p, 1, wait) > 0)
			continue;
		if (w->nmoves) {
			flush_moves(w);
			continue;
		}
		return 0;
	}
}

static int64_t in_count(struct plat_watch *w)
{
	return (int64_t)w->live;
}

static void in_close(struct plat_watch *w)
{
	if (!w)
		return;
	/*
	 * The library keeps what it read in static storage across
	 * inotifytools_cleanup(): events of this instance would come out of
	 * the next one, with wds that mean other directories there. Stop the
	 * kernel queue from growing, then read it all away.
	 */
	for (size_t i = 0; i < w->cap; i++)
		if (w->v[i].wd && !w->v[i].gone)
			inotify_rm_watch(w->fd, w->v[i].wd);
	for (long n = 0; n < (1L << 24) && inotifytools_next_events(0, 1); n++)
		;
	for (size_t i = 0; i < w->nmoves; i++)
		free(w->moves[i].path);
	free(w->moves);
	for (size_t i = 0; i < w->cap; i++)
		free(w->v[i].path);
	free(w->v);
	for (size_t i = 0; i < w->nroots; i++)
		free(w->roots[i]);
	free(w->roots);
	free(w->rootlens);
	strbuf_release(&w->path);
	strbuf_release(&w->tmp);
	inotifytools_cleanup();   /* closes the descriptor: watches go */
	busy = 0;
	free(w);
}

const struct plat_watch_ops plat_watch_inotify = {
	.name = "inotify",
	.open = in_open,
	.add = in_add,
	.read = in_read,
	.count = in_count,
	.close = in_close,
};
