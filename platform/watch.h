/*
 * watch.h: change notification behind one small table, the way redis
 * picks an ae_<backend>.c and tmux an osdep-<platform>.c. Each backend
 * (platform/linux/inotify.c, platform/linux/fanotify.c; ReadDirectoryChangesW
 * and the USN journal later) fills a struct plat_watch_ops; nothing outside
 * these files sees inotify, fanotify or libinotifytools (whose state is
 * global: one inotify backend per process).
 *
 * A backend turns what the kernel says into plat_watch_events with full
 * paths, in the order the kernel queued them, through the callback given
 * to open(). It places its own watches on directories that appear (a new
 * directory is watched before its event is delivered, so a scan that
 * follows the event misses nothing), pairs renames, and says when it
 * could not watch something (PW_UNWATCHED) or lost events (PW_OVERFLOW).
 * The caller decides what a path means (roots, excludes) and scans.
 *
 * Threads: open/add/read/count/close must not run concurrently on one
 * backend; the callback runs on the thread that called read() or add().
 */
#ifndef FIMSCAN_PLATFORM_WATCH_H
#define FIMSCAN_PLATFORM_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct strbuf;

/* What happened, or'ed (PW_ISDIR and PW_SELF qualify the others). */
enum {
	PW_CREATE = 1 << 0,      /* a name appeared (created, linked) */
	PW_DELETE = 1 << 1,      /* a name went away */
	PW_MODIFY = 1 << 2,      /* content written (modify, close-write) */
	PW_ATTRIB = 1 << 3,      /* metadata: mode, owner, times, xattrs */
	PW_MOVED_FROM = 1 << 4,  /* renamed to somewhere unwatched */
	PW_MOVED_TO = 1 << 5,    /* renamed to `path` (from `old_path` when
				  * that was watched too, else from outside) */
	PW_ISDIR = 1 << 6,       /* the object is a directory */
	PW_SELF = 1 << 7,        /* about the directory `path` itself */
	PW_LOST = 1 << 8,        /* the watch on `path` is gone (a root that
				  * was deleted or moved away) */
	PW_OVERFLOW = 1 << 9,    /* the kernel dropped events: anything may
				  * have changed (path NULL) */
	PW_RESCAN = 1 << 10,     /* the backend rebuilt its watches: events
				  * may be missing (path NULL) */
	PW_UNWATCHED = 1 << 11,  /* `path` and the `ndirs` - 1 directories
				  * below it could not be watched (err) */
};

struct plat_watch_event {
	unsigned mask;                 /* PW_* */
	const char *path;              /* full path (raw bytes), NUL-terminated */
	size_t len;
	const char *old_path;          /* PW_MOVED_TO: where from, or NULL */
	size_t old_len;
	int64_t time_ns;               /* when the event was read */
	int pid;                       /* process that did it, 0: unknown */
	int64_t uid;                   /* its effective uid, -1: unknown */
	const char *exe;               /* its executable, NULL: unknown */
	size_t exe_len;
	int err;                       /* PW_UNWATCHED: the errno */
	int64_t ndirs;                 /* PW_UNWATCHED: directories left out */
};

/* Events go here; the pointers are valid during the call only. */
typedef void (*plat_watch_fn)(const struct plat_watch_event *ev, void *data);
/*
 * Should the directory `path` (and what is below it) be left unwatched?
 * (excluded by the config, another filesystem). `st` is its lstat.
 */
typedef int (*plat_watch_skip_fn)(const char *path, size_t len,
				  const struct stat *st, void *data);

struct plat_watch;

struct plat_watch_ops {
	const char *name;              /* "inotify", "fanotify" */
	/*
	 * Start the backend. 0, or -1 with errno and the reason in `why`
	 * (fanotify: EPERM without CAP_SYS_ADMIN, EINVAL/ENOSYS on a
	 * kernel without FAN_REPORT_DFID_NAME).
	 */
	int (*open)(struct plat_watch **out, plat_watch_fn fn,
		    plat_watch_skip_fn skip, void *data, struct strbuf *why);
	/*
	 * Watch the directory `path` and everything below it that skip()
	 * does not refuse. What cannot be watched is reported as
	 * PW_UNWATCHED events (ENOSPC: out of inotify watches). 0, or -1
	 * with errno and `why` when nothing at all could be watched.
	 */
	int (*add)(struct plat_watch *w, const char *path, size_t len,
		   struct strbuf *why);
	/*
	 * Deliver the events that are queued, waiting up to timeout_ms for
	 * the first one (0: do not wait). 0, or -1 with errno on a failure
	 * of the backend itself.
	 */
	int (*read)(struct plat_watch *w, int timeout_ms);
	/* Watches in place (inotify: directories, fanotify: filesystems). */
	int64_t (*count)(struct plat_watch *w);
	void (*close)(struct plat_watch *w);
};

extern const struct plat_watch_ops plat_watch_inotify;
extern const struct plat_watch_ops plat_watch_fanotify;

/* "inotify" / "fanotify" -> ops, NULL if unknown. */
const struct plat_watch_ops *plat_watch_by_name(const char *name);

/*
 * The process behind an event: its executable and effective uid from
 * /proc. Racy by nature: the process may have exited (then exe is empty
 * and uid -1) or even been replaced by another with the same pid. 
 */
void plat_process_info(int pid, struct strbuf *exe, int64_t *uid);

/*
 * Tell the service manager (systemd's NOTIFY_SOCKET, sd_notify(3)
 * compatible: one datagram on a unix socket, "@" for the abstract
 * namespace) something like "READY=1". Does nothing without
 * NOTIFY_SOCKET. 0, or -1 with errno.
 */
int plat_notify(const char *msg);

/*
 * The inotify limits from /proc/sys/fs/inotify/NAME ("max_user_watches",
 * "max_queued_events", "max_user_instances"), -1 when unreadable.
 */
int64_t plat_inotify_limit(const char *name);

#endif
