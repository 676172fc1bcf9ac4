/*
 * notify.c: what the watch backends share on Linux: the backend table,
 * the process behind an event (/proc), the inotify limits, and readiness
 * for the service manager (sd_notify(3) without libsystemd).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/base.h"
#include "platform/watch.h"

const struct plat_watch_ops *plat_watch_by_name(const char *name)
{
	static const struct plat_watch_ops *const ops[] = {
		&plat_watch_inotify, &plat_watch_fanotify,
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(ops[i]->name, name))
			return ops[i];
	return NULL;
}

void plat_process_info(int pid, struct strbuf *exe, int64_t *uid)
{
	char path[64], line[256];
	FILE *f;

	strbuf_reset(exe);
	*uid = -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	for (size_t size = 256;; size *= 2) {
		ssize_t n;

		strbuf_grow(exe, size);
		n = readlink(path, exe->buf, size);
		if (n < 0)
			break;
		if ((size_t)n < size) {
			strbuf_setlen(exe, (size_t)n);
			break;
		}
		if (size >= 1 << 16)
			break;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		long long real, eff;

		/* "Uid:\treal\teffective\tsaved\tfs" */
		if (!strncmp(line, "Uid:", 4) &&
		    sscanf(line + 4, "%lld %lld", &real, &eff) == 2) {
			*uid = eff;
			break;
		}
	}
	fclose(f);
}

int64_t plat_inotify_limit(const char *name)
{
	char path[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/fs/inotify/%s", name);
	if (!(f = fopen(path, "re")))
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int plat_notify(const char *msg)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t len;
	int fd, ret = 0;

	if (!e || (e[0] != '/' && e[0] != '@'))
		return 0;
	len = strlen(e);
	if (len >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, e, len);
	if (e[0] == '@')
		sa.sun_path[0] = '\0';     /* the abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			    (e[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, salen) < 0)
		ret = -1;
	close(fd);
	return ret;
}
