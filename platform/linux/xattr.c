/*
 * xattr.c: extended attributes and inode flags on Linux.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>

#include "platform/base.h"
#include "platform/platform.h"
#include "platform/platform-private.h"

/* Where to read: an open fd, or a path that is not followed. */
struct xsrc {
	int fd;
	const char *path;
};

/* One listxattr (attr NULL) or getxattr call. */
static ssize_t xcall(const struct xsrc *src, const char *attr, char *buf,
		     size_t size)
{
	if (attr)
		return src->fd >= 0 ? fgetxattr(src->fd, attr, buf, size) :
				      lgetxattr(src->path, attr, buf, size);
	return src->fd >= 0 ? flistxattr(src->fd, buf, size) :
			      llistxattr(src->path, buf, size);
}

/*
 * Append the attribute list or value to `sb` without a size limit
 * (AIDE's fixed 16 KiB buffer was CVE-2021-45417). Sizes change between
 * calls, so ERANGE means ask again; doubling at least each time bounds
 * the retries even when someone keeps resizing the attribute.
 */
static ssize_t xread(const struct xsrc *src, const char *attr,
		     struct strbuf *sb)
{
	ssize_t n;
	size_t room;

	strbuf_grow(sb, 256);
	for (;;) {
		room = sb->alloc - sb->len - 1;
		n = xcall(src, attr, sb->buf + sb->len, room);
		if (n >= 0 || errno != ERANGE)
			break;
		if ((n = xcall(src, attr, NULL, 0)) < 0)
			break;
		strbuf_grow(sb, (size_t)n > room * 2 ? (size_t)n : room * 2);
	}
	if (n >= 0)
		strbuf_setlen(sb, sb->len + (size_t)n);
	return n;
}

static void put_u32(char *p, size_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> 8 * i & 0xff);
}

static int cmp_names(const void *a, const void *b)
{
	/* strcmp() compares as unsigned char: byte order */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int plat_xattrs(int fd, int dirfd, const char *name, struct strbuf *out)
{
	struct strbuf list = STRBUF_INIT, path = STRBUF_INIT;
	struct xsrc src = { fd, name };
	char **v = NULL;
	size_t nr = 0, alloc = 0;
	int ret = -1;

	strbuf_reset(out);
	if (plat_fault(PLAT_XATTR))
		return -1;
	/*
	 * There is no lgetxattrat(): reach the entry through its directory's
	 * /proc link, which keeps long paths working and the last component
	 * unfollowed.
	 */
	if (fd < 0 && dirfd != AT_FDCWD && name[0] != '/') {
		strbuf_addf(&path, "/proc/self/fd/%d/%s", dirfd, name);
		src.path = path.buf;
	}
	if (xread(&src, NULL, &list) < 0) {
		if (errno == ENOTSUP || errno == ENODATA)
			ret = 0;
		goto out;
	}
	for (char *p = list.buf; p < list.buf + list.len; p += strlen(p) + 1) {
		if (!*p)
			continue;
		ALLOC_GROW(v, nr + 1, alloc);
		v[nr++] = p;
	}
	if (nr)
		qsort(v, nr, sizeof(*v), cmp_names);
	for (size_t i = 0; i < nr; i++) {
		size_t start = out->len, len = strlen(v[i]), val;

		strbuf_grow(out, 8 + len);
		put_u32(out->buf + out->len, len);
		strbuf_setlen(out, out->len + 4);
		strbuf_add(out, v[i], len);
		strbuf_setlen(out, out->len + 4);
		val = out->len;
		if (xread(&src, v[i], out) < 0) {
			if (errno != ENODATA)
				goto out;
			/* removed since the list was read */
			strbuf_setlen(out, start);
			continue;
		}
		put_u32(out->buf + val - 4, out->len - val);
	}
	ret = 0;
out:
	if (ret)
		strbuf_reset(out);
	free(v);
	strbuf_release(&list);
	strbuf_release(&path);
	return ret;
}

int plat_inode_flags(int fd, uint32_t *flags)
{
	int f = 0;

	/* the kernel reads and writes an int, whatever _IOR() says */
	if (ioctl(fd, FS_IOC_GETFLAGS, &f) < 0) {
		*flags = 0;
		return -1;
	}
	*flags = (uint32_t)f;
	return 0;
}

static const struct {
	uint32_t flag;
	const char *name;
} flag_names[] = {
	{ FS_IMMUTABLE_FL, "immutable" },
	{ FS_APPEND_FL, "append" },
	{ FS_NODUMP_FL, "nodump" },
	{ FS_NOATIME_FL, "noatime" },
	{ FS_SYNC_FL, "sync" },
	{ FS_DIRSYNC_FL, "dirsync" },
	{ FS_COMPR_FL, "compress" },
	{ FS_NOCOW_FL, "nocow" },
	{ FS_EXTENT_FL, "extents" },
	{ FS_INDEX_FL, "index" },
#ifdef FS_DAX_FL
	{ FS_DAX_FL, "dax" },
#endif
#ifdef FS_CASEFOLD_FL
	{ FS_CASEFOLD_FL, "casefold" },
#endif
#ifdef FS_VERITY_FL
	{ FS_VERITY_FL, "verity" },
#endif
#ifdef FS_ENCRYPT_FL
	{ FS_ENCRYPT_FL, "encrypt" },
#endif
#ifdef FS_INLINE_DATA_FL
	{ FS_INLINE_DATA_FL, "inline" },
#endif
};

void plat_inode_flags_str(uint32_t flags, struct strbuf *out)
{
	strbuf_reset(out);
	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++) {
		if (!(flags & flag_names[i].flag))
			continue;
		if (out->len)
			strbuf_addch(out, ',');
		strbuf_addstr(out, flag_names[i].name);
		flags &= ~flag_names[i].flag;
	}
	if (flags)
		strbuf_addf(out, "%s0x%x", out->len ? "," : "",
			    (unsigned)flags);
}
