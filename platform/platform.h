/*
 * platform.h: every system call the scanner makes on monitored files goes
 * through this table, so that
 *   - tests can make the Nth call of a kind fail (fault injection, the way
 *     SQLite routes its syscalls through aSyscall[]);
 *   - a Windows port replaces one file (platform/win32/) instead of growing
 *     #ifdefs in the scanner.
 *
 * Fault injection: FIMSCAN_FAULT="op:N:errno[,op:N:errno...]" makes the
 * Nth call (1-based, counted per op across all threads) of `op` fail with
 * errno (a number or a name such as EIO, ENOMEM, EACCES). Ops: open, read,
 * fstat, lstat, opendir, xattr. "op:N+:errno" fails the Nth and every later
 * call. Read once by plat_init().
 */
#ifndef FIMSCAN_PLATFORM_H
#define FIMSCAN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct strbuf;

/* Parse FIMSCAN_FAULT; returns -1 (after error()) when it is malformed. */
int plat_init(void);

/*
 * Open a regular file for hashing relative to a directory fd, never
 * following a symlink and never blocking (O_RDONLY|O_NOFOLLOW|O_NONBLOCK|
 * O_NOATIME|O_CLOEXEC, retried without O_NOATIME on EPERM). -1 and errno on
 * failure.
 */
int plat_open_file(int dirfd, const char *name);

/*
 * Open a subdirectory relative to its parent for walking: O_DIRECTORY|
 * O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC (O_NOATIME when allowed). `name` may be an
 * absolute path when dirfd is AT_FDCWD.
 */
int plat_open_dir(int dirfd, const char *name);

/* lstat relative to dirfd (fstatat with AT_SYMLINK_NOFOLLOW). */
int plat_lstat(int dirfd, const char *name, struct stat *st);
int plat_fstat(int fd, struct stat *st);
/* read(2), retried on EINTR. */
ssize_t plat_read(int fd, void *buf, size_t len);
/* Advise sequential access, whole file (no-op where unsupported). */
void plat_advise_sequential(int fd);
void plat_close(int fd);

/*
 * Read the target of the symlink `name` in dirfd into `out` (replacing its
 * content, exact bytes, any length). 0 or -1 with errno.
 */
int plat_readlink(int dirfd, const char *name, struct strbuf *out);

/*
 * All extended attributes of an entry, exact bytes, any size, packed into
 * `out` (replacing its content) as a sequence sorted by name of
 *     u32 name length (little endian), name bytes,
 *     u32 value length (little endian), value bytes.
 * An entry without xattrs gives an empty `out`. If fd >= 0 it is used
 * (regular files and directories we opened); otherwise the entry `name`
 * in `dirfd` is read without following symlinks and without opening it
 * (FIFOs, devices, symlinks). Returns 0, or -1 with errno (ENOTSUP is
 * mapped to success with an empty result).
 */
int plat_xattrs(int fd, int dirfd, const char *name, struct strbuf *out);

/*
 * Linux inode flags (FS_IOC_GETFLAGS: immutable, append-only, ...) of an
 * open regular file or directory. Returns 0 and sets *flags, or -1 when
 * the filesystem has none (then *flags is 0 and the attribute is absent).
 */
int plat_inode_flags(int fd, uint32_t *flags);

/*
 * Names of inode flags for reports, e.g. "immutable,append": written into
 * `out` (replacing its content).
 */
void plat_inode_flags_str(uint32_t flags, struct strbuf *out);

/* User and group names for reports and the store; NULL when unknown. The
 * result is valid until the next call from the same thread. */
const char *plat_user_name(uint32_t uid);
const char *plat_group_name(uint32_t gid);

#endif
