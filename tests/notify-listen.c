/* notify-listen.c — test tool standing in for systemd's notification socket:
 * binds an AF_UNIX datagram socket at PATH and prints every message it
 * receives for SECONDS, one per line (newlines inside a message become '|'),
 * or until a message equal to LAST arrived.
 * Usage: notify-listen PATH SECONDS [LAST] */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct timespec t0, t;
	char buf[4096];
	double limit;
	int fd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: notify-listen PATH SECONDS [LAST]\n");
		return 2;
	}
	limit = atof(argv[2]);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sa.sun_path)
		return 2;
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "notify-listen: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	/* Daemons run as other users: let them send. */
	chmod(argv[1], 0666);
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		double el;

		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (double)(t.tv_sec - t0.tv_sec) +
		    (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		if (el >= limit)
			break;
		if (poll(&p, 1, (int)((limit - el) * 1000) + 1) <= 0)
			continue;
		n = recv(fd, buf, sizeof buf - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '|';
		printf("%s\n", buf);
		if (argc == 4 && strcmp(buf, argv[3]) == 0)
			break;
	}
	unlink(argv[1]);
	return 0;
}
