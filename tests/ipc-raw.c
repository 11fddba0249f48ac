/* ipc-raw.c — test tool: send one raw datagram to an inkan socket and report
 * what came back, to check that malformed frames are refused cleanly.
 *   ipc-raw [--as UID:GID] SOCKET hex [HEXBYTES]      the datagram, verbatim
 *   ipc-raw [--as UID:GID] SOCKET env TYPE [HEXBODY]  Envelope{id 7, TYPE, body}
 *   ipc-raw [--as UID:GID] SOCKET size N            N bytes of 0x0a
 * Prints "answered type=T status=S" (exit 0), "closed" (exit 3: the peer
 * dropped the connection), "connect-failed" (4), "silent" (5: no answer in
 * 3 s), "send-failed" (6). */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"

static size_t
unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (s[0] && s[1] && n < max && sscanf(s, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[512 * 1024], body[IPC_FRAME_MAX];
	Inkan__Envelope env = INKAN__ENVELOPE__INIT;
	Inkan__Envelope *rep;
	size_t len = 0;
	int fd, i = 1, big = 400 * 1024;
	ssize_t n;

	if (argc > 2 && strcmp(argv[1], "--as") == 0) {
		unsigned uid, gid;
		if (sscanf(argv[2], "%u:%u", &uid, &gid) != 2 ||
		    setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
			perror("ipc-raw: --as");
			return 2;
		}
		i = 3;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: ipc-raw [--as UID:GID] SOCKET "
		    "hex HEX | env TYPE HEXBODY | size N\n");
		return 2;
	}
	if (strcmp(argv[i + 1], "hex") == 0) {
		/* no HEX: an empty datagram */
		len = argc - i >= 3 ? unhex(argv[i + 2], buf, sizeof buf) : 0;
	} else if (strcmp(argv[i + 1], "env") == 0 && argc - i >= 3) {
		env.id = 7;
		env.type = (uint32_t)strtoul(argv[i + 2], NULL, 10);
		if (argc - i >= 4) {    /* no HEXBODY: no body at all */
			env.has_body = 1;
			env.body.len = unhex(argv[i + 3], body, sizeof body);
			env.body.data = body;
		}
		len = protobuf_c_message_pack(&env.base, buf);
	} else if (strcmp(argv[i + 1], "size") == 0 && argc - i >= 3) {
		len = strtoul(argv[i + 2], NULL, 10);
		if (len > sizeof buf)
			len = sizeof buf;
		memset(buf, 0x0a, len);
	} else {
		fprintf(stderr, "ipc-raw: unknown mode %s\n", argv[i + 1]);
		return 2;
	}
	fd = ipc_connect(argv[i]);
	if (fd < 0) {
		printf("connect-failed %s\n", strerror(-fd));
		return 4;
	}
	/* Room for an oversize frame (root may exceed wmem_max). */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
	n = send(fd, buf, len, MSG_NOSIGNAL);
	if (n < 0) {
		printf("send-failed %s\n", strerror(errno));
		return 6;
	}
	{
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 3000) <= 0) {
			printf("silent\n");
			return 5;
		}
	}
	n = recv(fd, buf, sizeof buf, 0);
	if (n <= 0) {
		printf("closed\n");
		return 3;
	}
	rep = (Inkan__Envelope *)protobuf_c_message_unpack(
	    &inkan__envelope__descriptor, NULL, (size_t)n, buf);
	if (rep == NULL) {
		printf("garbage-reply\n");
		return 7;
	}
	printf("answered type=%u status=%d\n", rep->type,
	    rep->has_status ? (int)rep->status : 0);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	close(fd);
	return 0;
}
