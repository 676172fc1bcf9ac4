/*
 * file.c: the POSIX syscall table behind platform.h.
 *
 *   - fault injection (FIMSCAN_FAULT) and plat_fault()
 *   - opening, stat, reading and symlinks, relative to directory fds
 *   - user and group names, cached per thread
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/base.h"
#include "platform/platform.h"
#include "platform/platform-private.h"

/* ---- fault injection ---- */

struct fault {
	unsigned long n;        /* 1-based call number that fails */
	int plus;               /* ... and every later one */
	int err;                /* errno to fail with */
};

static struct {
	atomic_ulong calls;     /* calls so far, across all threads */
	struct fault *v;
	size_t nr, alloc;
} faults[PLAT_NR_OPS];

static const char *const op_names[PLAT_NR_OPS] = {
	[PLAT_OPEN] = "open",
	[PLAT_READ] = "read",
	[PLAT_FSTAT] = "fstat",
	[PLAT_LSTAT] = "lstat",
	[PLAT_OPENDIR] = "opendir",
	[PLAT_XATTR] = "xattr",
};

#define E(e) { #e, e }
static const struct {
	const char *name;
	int err;
} errnos[] = {
	E(EIO), E(ENOMEM), E(EACCES), E(ENOENT), E(ENOSPC), E(EPERM),
	E(ELOOP), E(ENAMETOOLONG), E(EINTR), E(EAGAIN), E(EBADF), E(EBUSY),
	E(EFBIG), E(EINVAL), E(EISDIR), E(EMFILE), E(ENFILE), E(ENODATA),
	E(ENOTDIR), E(ENOTSUP), E(ENXIO), E(EOVERFLOW), E(ERANGE), E(EROFS),
	E(ESTALE), E(E2BIG),
};
#undef E

int plat_fault(int op)
{
	unsigned long k;

	/* without rules nothing is counted: no shared cache line per read */
	if (!faults[op].nr)
		return 0;
	k = atomic_fetch_add_explicit(&faults[op].calls, 1,
				      memory_order_relaxed) + 1;
	for (size_t i = 0; i < faults[op].nr; i++) {
		const struct fault *f = &faults[op].v[i];

		if (k == f->n || (f->plus && k > f->n)) {
			errno = f->err;
			return -1;
		}
	}
	return 0;
}

static int parse_errno(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (!strcmp(s, errnos[i].name))
			return errnos[i].err;
	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	return *end || v < 1 || v > 4095 ? -1 : (int)v;
}

/* Parse one "op:N[+]:errno", cutting `item` into its parts. */
static int parse_fault(char *item, int *op, struct fault *f)
{
	char *num = strchr(item, ':'), *err = num ? strchr(num + 1, ':') : NULL;
	char *end = num;

	if (!err)
		return error("malformed FIMSCAN_FAULT entry '%s', "
			     "expected op:N:errno", escaped(item, strlen(item)));
	*num++ = '\0';
	*err++ = '\0';
	for (*op = 0; *op < PLAT_NR_OPS; (*op)++)
		if (!strcmp(item, op_names[*op]))
			break;
	if (*op == PLAT_NR_OPS)
		return error("unknown op '%s' in FIMSCAN_FAULT",
			     escaped(item, strlen(item)));
	f->n = isdigit((unsigned char)*num) ? strtoul(num, &end, 10) : 0;
	f->plus = f->n && *end == '+';
	if (!f->n || f->n == ULONG_MAX || end[f->plus])
		return error("bad call number '%s' in FIMSCAN_FAULT",
			     escaped(num, strlen(num)));
	if ((f->err = parse_errno(err)) < 0)
		return error("unknown errno '%s' in FIMSCAN_FAULT",
			     escaped(err, strlen(err)));
	return 0;
}

static void clear_faults(void)
{
	for (int op = 0; op < PLAT_NR_OPS; op++) {
		free(faults[op].v);
		faults[op].v = NULL;
		faults[op].nr = faults[op].alloc = 0;
		atomic_store(&faults[op].calls, 0);
	}
}

int plat_init(void)
{
	const char *env = getenv("FIMSCAN_FAULT");
	char *copy, *item, *next;
	int ret = -1;

	clear_faults();
	if (!env || !*env)
		return 0;
	copy = xstrdup(env);
	for (item = copy; item; item = next) {
		struct fault f;
		int op = 0;

		if ((next = strchr(item, ',')))
			*next++ = '\0';
		if (parse_fault(item, &op, &f))
			goto out;
		ALLOC_GROW(faults[op].v, faults[op].nr + 1, faults[op].alloc);
		faults[op].v[faults[op].nr++] = f;
	}
	ret = 0;
out:
	/* a half-parsed setting would test something nobody asked for */
	if (ret)
		clear_faults();
	free(copy);
	return ret;
}

/* ---- files ---- */

/* O_NOATIME needs ownership or CAP_FOWNER: EPERM means try without. */
static int open_noatime(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd;
}

int plat_open_file(int dirfd, const char *name)
{
	if (plat_fault(PLAT_OPEN))
		return -1;
	return open_noatime(dirfd, name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
}

int plat_open_dir(int dirfd, const char *name)
{
	if (plat_fault(PLAT_OPENDIR))
		return -1;
	return open_noatime(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_NONBLOCK | O_CLOEXEC);
}

int plat_lstat(int dirfd, const char *name, struct stat *st)
{
	if (plat_fault(PLAT_LSTAT))
		return -1;
	return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW);
}

int plat_fstat(int fd, struct stat *st)
{
	if (plat_fault(PLAT_FSTAT))
		return -1;
	return fstat(fd, st);
}

ssize_t plat_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	if (plat_fault(PLAT_READ))
		return -1;
	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

void plat_advise_sequential(int fd)
{
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}

void plat_close(int fd)
{
	/* keep errno for the `out:` paths that close before reporting */
	int saved = errno;

	close(fd);
	errno = saved;
}

int plat_readlink(int dirfd, const char *name, struct strbuf *out)
{
	ssize_t n;

	strbuf_reset(out);
	strbuf_grow(out, 256);
	/* a result that fills the buffer may be truncated: grow and retry */
	while ((n = readlinkat(dirfd, name, out->buf, out->alloc - 1)) >= 0 &&
	       (size_t)n >= out->alloc - 1)
		strbuf_grow(out, out->alloc * 2);
	if (n < 0)
		return -1;
	strbuf_setlen(out, (size_t)n);
	return 0;
}

/* ---- user and group names ---- */

/*
 * A scan asks for the same few ids once per entry, and an NSS lookup may
 * be a round trip to LDAP: keep the last few per thread, for a minute so
 * that a long-running process sees renames.
 */
#define NAME_TTL 60

struct id_slot {
	int kind;               /* 0 empty, 1 user, 2 group */
	uint32_t id;
	time_t when;            /* time of the lookup */
	char *name;             /* NULL: no such id */
};

struct id_cache {
	struct id_slot slot[16];
	unsigned next;          /* round-robin victim */
	char *buf;              /* getpwuid_r()/getgrgid_r() scratch */
	size_t size;
};

static pthread_key_t id_key;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_cache_free(void *p)
{
	struct id_cache *c = p;

	for (size_t i = 0; i < ARRAY_SIZE(c->slot); i++)
		free(c->slot[i].name);
	free(c->buf);
	free(c);
}

static void id_key_init(void)
{
	if (pthread_key_create(&id_key, id_cache_free))
		die("cannot create a thread key");
}

static char *id_lookup(struct id_cache *c, int kind, uint32_t id)
{
	for (;;) {
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		int err;

		if (kind == 1)
			err = getpwuid_r(id, &pw, c->buf, c->size, &pwp);
		else
			err = getgrgid_r(id, &gr, c->buf, c->size, &grp);
		if (pwp)
			return xstrdup(pw.pw_name);
		if (grp)
			return xstrdup(gr.gr_name);
		if (err != ERANGE)
			return NULL;
		c->size *= 2;
		c->buf = xrealloc(c->buf, c->size);
	}
}

static const char *id_name(int kind, uint32_t id)
{
	struct id_cache *c;
	struct id_slot *s = NULL;
	time_t now = time(NULL);

	pthread_once(&id_once, id_key_init);
	if (!(c = pthread_getspecific(id_key))) {
		c = xcalloc(1, sizeof(*c));
		c->size = 1024;
		c->buf = xmalloc(c->size);
		if (pthread_setspecific(id_key, c))
			die("cannot set a thread key");
	}
	for (size_t i = 0; i < ARRAY_SIZE(c->slot) && !s; i++)
		if (c->slot[i].kind == kind && c->slot[i].id == id)
			s = &c->slot[i];
	if (s && now - s->when < NAME_TTL && now >= s->when)
		return s->name;
	if (!s)
		s = &c->slot[c->next++ % ARRAY_SIZE(c->slot)];
	free(s->name);
	s->kind = kind;
	s->id = id;
	s->when = now;
	s->name = id_lookup(c, kind, id);
	return s->name;
}

const char *plat_user_name(uint32_t uid)
{
	return id_name(1, uid);
}

const char *plat_group_name(uint32_t gid)
{
	return id_name(2, gid);
}
