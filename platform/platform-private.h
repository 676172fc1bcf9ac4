/*
 * platform-private.h: shared by the files behind platform.h, not an API.
 */
#ifndef FIMSCAN_PLATFORM_PRIVATE_H
#define FIMSCAN_PLATFORM_PRIVATE_H

/* The ops FIMSCAN_FAULT can make fail (see platform.h). */
enum plat_op {
	PLAT_OPEN,      /* plat_open_file() */
	PLAT_READ,      /* plat_read() */
	PLAT_FSTAT,     /* plat_fstat() */
	PLAT_LSTAT,     /* plat_lstat() */
	PLAT_OPENDIR,   /* plat_open_dir() */
	PLAT_XATTR,     /* plat_xattrs() */
	PLAT_NR_OPS
};

/*
 * Count one call of `op`; returns 0, or -1 with errno set when
 * FIMSCAN_FAULT says this call fails. Call it before the real syscall.
 */
int plat_fault(int op);

#endif
