/*
 * fanotify.c: the fanotify backend of platform/watch.h.
 *
 * One fanotify group reporting directory file handles and names
 * (FAN_REPORT_DFID_NAME, Linux 5.9), a FAN_MARK_FILESYSTEM mark on the
 * filesystem of each root: no watch per directory, nothing to place when
 * a directory appears, nothing to run out of, and every process that
 * writes is named (the event carries its pid). It needs CAP_SYS_ADMIN.
 *
 * Each event names a directory by its file handle and an entry by name.
 * The handle is opened (open_by_handle_at on a descriptor of the root,
 * O_PATH) and the directory's current path read back from /proc/self/fd:
 * a path as of when the event is read, not when it happened, which is
 * what a scan that follows needs anyway. A handle that no longer opens
 * (ESTALE) is a directory that was deleted since: its deletion reaches us
 * through an ancestor that still exists, so the event is dropped. Name
 * "." is the directory itself (its own attributes).
 *
 * Renames come as one FAN_RENAME event with both names (Linux 5.17);
 * on older kernels as FAN_MOVED_FROM and FAN_MOVED_TO, unpaired, which
 * the caller handles as a removal and an arrival. The filesystem mark
 * sees the whole filesystem: the caller filters by roots.
 *
 * The process: pid from the event, executable and uid read from /proc
 * at once. That is racy: a short-lived process may be gone (then only the
 * pid is known) and its pid even reused; it is evidence, not proof.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "platform/base.h"
#include "platform/watch.h"

#ifndef FAN_REPORT_DFID_NAME
#define FAN_REPORT_DFID_NAME 0x00000c00
#endif
#ifndef FAN_RENAME
#define FAN_RENAME 0x10000000
#endif
#ifndef FAN_EVENT_INFO_TYPE_DFID_NAME
#define FAN_EVENT_INFO_TYPE_DFID_NAME 2
#endif
#ifndef FAN_EVENT_INFO_TYPE_DFID
#define FAN_EVENT_INFO_TYPE_DFID 3
#endif
#ifndef FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
#define FAN_EVENT_INFO_TYPE_OLD_DFID_NAME 10
#define FAN_EVENT_INFO_TYPE_NEW_DFID_NAME 12
#endif

#define BASE_MASK (FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_CLOSE_WRITE | \
		   FAN_ATTRIB | FAN_ONDIR)
#define MAX_READS 64             /* read(2) calls per read() op */

/* A marked filesystem and a directory on it to open handles against. */
struct fsmark {
	fsid_t fsid;
	int mountfd;
};

struct plat_watch {
	int fd;
	plat_watch_fn fn;
	plat_watch_skip_fn skip;
	void *data;
	struct fsmark *fs;
	size_t nfs, fs_alloc;
	uint64_t mask;           /* what the marks ask for */
	pid_t self;
	struct strbuf path, old, exe;
	int exe_pid;             /* the process exe and uid describe */
	int64_t uid;
	union {                  /* the first event is aligned */
		struct fanotify_event_metadata m;
		char b[1 << 16];
	} buf;
};

static struct fsmark *fs_find(struct plat_watch *w, const void *fsid)
{
	for (size_t i = 0; i < w->nfs; i++)
		if (!memcmp(&w->fs[i].fsid, fsid, sizeof(fsid_t)))
			return &w->fs[i];
	return NULL;
}

/*
 * One info record naming a directory (and maybe an entry in it), as read:
 * records follow each other at any byte offset, so nothing is read from
 * them in place but bytes (memcpy into aligned copies).
 */
struct fid_rec {
	const char *p;           /* the record */
	size_t len;              /* its length */
	int type;                /* FAN_EVENT_INFO_TYPE_* */
};

/*
 * The path of the entry a record names, into `out`: the directory's path,
 * plus "/name" unless the name is "." or empty (the directory itself:
 * *self = 1). -1 when the directory is gone.
 */
static int resolve(struct plat_watch *w, const struct fid_rec *r,
		   struct strbuf *out, int *self)
{
	/* header (4), fsid (8), then a struct file_handle */
	const size_t fsid_off = sizeof(struct fanotify_event_info_header);
	const size_t fh_off = fsid_off + sizeof(fsid_t);
	union {
		struct file_handle fh;
		char b[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	const char *name = NULL, *end = r->p + r->len;
	char link[64], target[PATH_MAX];
	struct fsmark *fs;
	struct stat st;
	fsid_t fsid;
	ssize_t n;
	int dfd;

	*self = 0;
	if (r->len < fh_off + sizeof(struct file_handle))
		return -1;
	memcpy(&fsid, r->p + fsid_off, sizeof(fsid));
	memcpy(&h.fh, r->p + fh_off, sizeof(struct file_handle));
	if (!(fs = fs_find(w, &fsid)) || h.fh.handle_bytes > MAX_HANDLE_SZ ||
	    h.fh.handle_bytes > r->len - fh_off - sizeof(struct file_handle))
		return -1;
	memcpy(h.fh.f_handle, r->p + fh_off + sizeof(struct file_handle),
	       h.fh.handle_bytes);
	if (r->type != FAN_EVENT_INFO_TYPE_DFID)
		name = r->p + fh_off + sizeof(struct file_handle) +
		       h.fh.handle_bytes;
	dfd = open_by_handle_at(fs->mountfd, &h.fh, O_PATH | O_CLOEXEC);
	if (dfd < 0)
		return -1;       /* ESTALE: deleted since */
	/* an unlinked directory still open somewhere is gone for us */
	if (fstat(dfd, &st) || !st.st_nlink) {
		close(dfd);
		return -1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	n = readlink(link, target, sizeof(target));
	close(dfd);
	if (n <= 0 || n >= (ssize_t)sizeof(target) || target[0] != '/')
		return -1;
	if (!name || name >= end || !*name || !strcmp(name, ".")) {
		strbuf_reset(out);
		strbuf_add(out, target, n);
		*self = 1;
	} else {
		path_join(out, target, n, name, strnlen(name, end - name));
	}
	return 0;
}

static void describe(struct plat_watch *w, int pid)
{
	if (pid == w->exe_pid)
		return;
	plat_process_info(pid, &w->exe, &w->uid);
	w->exe_pid = pid;
}

static void deliver(struct plat_watch *w, unsigned mask,
		    const struct strbuf *path, const struct strbuf *old,
		    int pid)
{
	struct plat_watch_event ev = {
		.mask = mask, .time_ns = now_ns(), .pid = pid, .uid = -1,
	};

	if (path) {
		ev.path = path->buf;
		ev.len = path->len;
	}
	if (old) {
		ev.old_path = old->buf;
		ev.old_len = old->len;
	}
	if (pid > 0) {
		describe(w, pid);
		ev.uid = w->uid;
		if (w->exe.len) {
			ev.exe = w->exe.buf;
			ev.exe_len = w->exe.len;
		}
	}
	w->fn(&ev, w->data);
}

/* One event: `ev` points at its metadata, `len` bytes are there. */
static void handle(struct plat_watch *w, const char *ev, size_t len)
{
	struct fanotify_event_metadata m;
	struct fid_rec main = { 0 }, from = { 0 }, to = { 0 };
	const char *p, *end;
	unsigned mask = 0;
	int self = 0, oself;

	memcpy(&m, ev, sizeof(m));
	if (m.event_len > len || m.event_len < sizeof(m))
		return;
	end = ev + m.event_len;
	if (m.fd >= 0)
		close(m.fd);
	if (m.mask & FAN_Q_OVERFLOW) {
		deliver(w, PW_OVERFLOW, NULL, NULL, 0);
		return;
	}
	if (m.pid == w->self)
		return;          /* our own store writes */
	for (p = ev + m.metadata_len;
	     p + sizeof(struct fanotify_event_info_header) <= end;) {
		struct fanotify_event_info_header h;
		struct fid_rec *r = NULL;

		memcpy(&h, p, sizeof(h));
		if (h.len < sizeof(h) || h.len > (size_t)(end - p))
			break;
		switch (h.info_type) {
		case FAN_EVENT_INFO_TYPE_DFID_NAME:
		case FAN_EVENT_INFO_TYPE_DFID:
			r = &main;
			break;
		case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
			r = &from;
			break;
		case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
			r = &to;
			break;
		}
		if (r) {
			r->p = p;
			r->len = h.len;
			r->type = h.info_type;
		}
		p += h.len;
	}
	if (m.mask & FAN_ONDIR)
		mask |= PW_ISDIR;
	if (m.mask & FAN_RENAME) {
		int have_from = from.p && !resolve(w, &from, &w->old, &oself);
		int have_to = to.p && !resolve(w, &to, &w->path, &self);

		if (have_to)
			deliver(w, PW_MOVED_TO | mask, &w->path,
				have_from ? &w->old : NULL, m.pid);
		else if (have_from)
			deliver(w, PW_MOVED_FROM | mask, &w->old, NULL, m.pid);
	}
	if (!main.p || !(m.mask & ~(FAN_RENAME | FAN_ONDIR)))
		return;
	if (resolve(w, &main, &w->path, &self))
		return;
	if (m.mask & FAN_CREATE)
		mask |= PW_CREATE;
	if (m.mask & FAN_DELETE)
		mask |= PW_DELETE;
	if (m.mask & (FAN_MODIFY | FAN_CLOSE_WRITE))
		mask |= PW_MODIFY;
	if (m.mask & FAN_ATTRIB)
		mask |= PW_ATTRIB;
	if (m.mask & FAN_MOVED_FROM)
		mask |= PW_MOVED_FROM;
	if (m.mask & FAN_MOVED_TO)
		mask |= PW_MOVED_TO;
	if (self)
		mask |= PW_SELF | PW_ISDIR;
	deliver(w, mask, &w->path, NULL, m.pid);
}

static int fa_open(struct plat_watch **out, plat_watch_fn fn,
		   plat_watch_skip_fn skip, void *data, struct strbuf *why)
{
	struct plat_watch *w;
	int fd;

	*out = NULL;
	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
			   FAN_REPORT_DFID_NAME,
			   O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == EPERM)
			strbuf_addstr(why, "fanotify needs CAP_SYS_ADMIN "
				      "(run as root)");
		else if (err == EINVAL || err == ENOSYS)
			strbuf_addstr(why, "this kernel has no fanotify with "
				      "FAN_REPORT_DFID_NAME (Linux 5.9 or later "
				      "is needed)");
		else
			strbuf_addf(why, "fanotify_init: %s", strerror(err));
		errno = err;
		return -1;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->fn = fn;
	w->skip = skip;
	w->data = data;
	w->self = getpid();
	w->mask = BASE_MASK | FAN_RENAME;
	w->exe_pid = -1;
	strbuf_init(&w->path, 0);
	strbuf_init(&w->old, 0);
	strbuf_init(&w->exe, 0);
	*out = w;
	return 0;
}

static int fa_add(struct plat_watch *w, const char *path, size_t len,
		  struct strbuf *why)
{
	struct statfs sfs;
	int fd, err;

	if (statfs(path, &sfs)) {
		err = errno;
		strbuf_addf(why, "cannot watch %s: %s", escaped(path, len),
			    strerror(err));
		errno = err;
		return -1;
	}
	if (fs_find(w, &sfs.f_fsid))
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		err = errno;
		strbuf_addf(why, "cannot open %s: %s", escaped(path, len),
			    strerror(err));
		errno = err;
		return -1;
	}
	err = fanotify_mark(w->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
			    w->mask, fd, NULL) ? errno : 0;
	if (err == EINVAL && (w->mask & FAN_RENAME)) {
		/* before Linux 5.17: the two halves, unpaired */
		w->mask = BASE_MASK | FAN_MOVED_FROM | FAN_MOVED_TO;
		err = fanotify_mark(w->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
				    w->mask, fd, NULL) ? errno : 0;
	}
	if (err) {
		if (err == EXDEV || err == ENODEV || err == EOPNOTSUPP)
			strbuf_addf(why, "the filesystem of %s cannot report "
				    "file handles to fanotify",
				    escaped(path, len));
		else
			strbuf_addf(why, "cannot mark the filesystem of %s: %s",
				    escaped(path, len), strerror(err));
		close(fd);
		errno = err;
		return -1;
	}
	ALLOC_GROW(w->fs, w->nfs + 1, w->fs_alloc);
	w->fs[w->nfs].fsid = sfs.f_fsid;
	w->fs[w->nfs++].mountfd = fd;
	return 0;
}

static int fa_read(struct plat_watch *w, int timeout_ms)
{
	struct pollfd p = { .fd = w->fd, .events = POLLIN };

	if (timeout_ms && poll(&p, 1, timeout_ms) <= 0)
		return 0;
	w->exe_pid = -1;         /* pids may be reused between calls */
	for (int i = 0; i < MAX_READS; i++) {
		ssize_t n = read(w->fd, w->buf.b, sizeof(w->buf.b));
		size_t off = 0;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		if (n == 0)
			return 0;
		/* FAN_EVENT_OK/NEXT, without reading the events in place:
		 * an event with a name leaves the next one unaligned */
		while ((size_t)n - off >= FAN_EVENT_METADATA_LEN) {
			struct fanotify_event_metadata m;

			memcpy(&m, w->buf.b + off, sizeof(m));
			if (m.event_len < FAN_EVENT_METADATA_LEN ||
			    m.event_len > (size_t)n - off)
				break;
			if (m.vers != FANOTIFY_METADATA_VERSION) {
				errno = EPROTO;
				return -1;
			}
			handle(w, w->buf.b + off, (size_t)n - off);
			off += m.event_len;
		}
	}
	return 0;
}

static int64_t fa_count(struct plat_watch *w)
{
	return (int64_t)w->nfs;
}

static void fa_close(struct plat_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nfs; i++)
		close(w->fs[i].mountfd);
	free(w->fs);
	close(w->fd);
	strbuf_release(&w->path);
	strbuf_release(&w->old);
	strbuf_release(&w->exe);
	free(w);
}

const struct plat_watch_ops plat_watch_fanotify = {
	.name = "fanotify",
	.open = fa_open,
	.add = fa_add,
	.read = fa_read,
	.count = fa_count,
	.close = fa_close,
};
