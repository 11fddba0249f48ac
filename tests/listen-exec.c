/* listen-exec.c — test tool standing in for systemd's socket units: binds
 * AF_UNIX SOCK_SEQPACKET listening sockets, passes them as fds 3.. with
 * LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES, and execs the daemon (same pid,
 * as sd_listen_fds requires).
 * Usage: listen-exec [--owner UID:GID] [--mode OCTAL] NAME=PATH... -- PROG ARGS */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_SOCKS 8

static int
bind_one(const char *path, int target, long uid, long gid, mode_t mode)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "listen-exec: path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    chmod(path, mode) < 0 ||
	    (uid >= 0 && chown(path, (uid_t)uid, (gid_t)gid) < 0) ||
	    listen(fd, 64) < 0) {
		fprintf(stderr, "listen-exec: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fd != target) {
		if (dup2(fd, target) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char names[512] = "", num[32];
	long uid = -1, gid = -1;
	mode_t mode = 0660;
	int i = 1, n = 0;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc) {
			if (sscanf(argv[++i], "%ld:%ld", &uid, &gid) != 2)
				return 2;
			continue;
		}
		if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			mode = (mode_t)strtoul(argv[++i], NULL, 8);
			continue;
		}
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || n == MAX_SOCKS) {
			fprintf(stderr, "usage: listen-exec [--owner UID:GID] "
			    "[--mode OCTAL] NAME=PATH... -- PROG ARGS\n");
			return 2;
		}
		*eq = '\0';
		/* fds 3..: move out of the way first if a bind landed there */
		if (bind_one(eq + 1, 3 + n, uid, gid, mode) < 0)
			return 1;
		if (n > 0)
			strncat(names, ":", sizeof names - strlen(names) - 1);
		strncat(names, argv[i], sizeof names - strlen(names) - 1);
		n++;
	}
	if (i >= argc - 1) {
		fprintf(stderr, "listen-exec: no program\n");
		return 2;
	}
	snprintf(num, sizeof num, "%d", n);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof num, "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "listen-exec: %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}
