/* fuzz-envelope.c — fuzz target: one frame as it arrives on any inkan socket
 * (inkan-scm's crypto socket, inkan-sam's signer and role sockets, replies
 * to inkan-sic and inkan-sam). The bytes travel through a real
 * SOCK_SEQPACKET socketpair into ipc_recv (size cap, strict envelope unpack,
 * status and detail checks); an accepted envelope's body goes through
 * ipc_unpack (strict: required fields, no unknown fields) with the
 * descriptor its type selects among every message of proto/ — the exact
 * decoding common/server.c does before a handler runs. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"

extern const ProtobufCMessageDescriptor *const fuzz_descriptors[];
extern const unsigned fuzz_n_descriptors;

static int sv[2] = { -1, -1 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ProtobufCBinaryData none = { 0, NULL };
	Inkan__Envelope *env = NULL;
	ProtobufCMessage *m;
	int big = 512 * 1024;

	if (sv[0] < 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
			abort();
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
		(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
		(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	}
	if (size == 0)
		return 0;       /* an empty datagram reads as EOF: nothing to fuzz */
	if (send(sv[0], data, size, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)size)
		return 0;
	if (ipc_recv(sv[1], &env) < 0)
		return 0;
	m = ipc_unpack(fuzz_descriptors[env->type % fuzz_n_descriptors],
	    env->has_body ? &env->body : &none);
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
	ipc_envelope_free(env);
	return 0;
}
