/* ipc.c — inkan's frame transport over AF_UNIX SOCK_SEQPACKET.
 * Every datagram is one packed Envelope. Sizes are capped before unpacking;
 * unknown fields are refused (strict, like Postfix attribute parsing); a
 * client accepts only the reply it asked for. No logging here. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"

/* Room for one full frame in the kernel's send buffer (it doubles this). */
static void
size_buffers(int fd)
{
	int n = IPC_FRAME_MAX + 16 * 1024;

	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
}

static int
fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path == NULL || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int
ipc_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	int fd, r;

	if ((r = fill_addr(&sa, path)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	size_buffers(fd);
	if (unlink(path) < 0 && errno != ENOENT)
		goto fail;
	/* Bind under a tight umask so there is no window with a wider mode. */
	mode_t old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		goto fail;
	if (chmod(path, mode) < 0)
		goto fail;
	if (listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

int
ipc_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;

	if ((r = fill_addr(&sa, path)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	size_buffers(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int
ipc_peercred(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return -errno;
	if (len != sizeof(*cred))
		return -EPROTO;
	return 0;
}

/* Pack `m` into a fresh buffer; caller frees (and wipes: bodies may carry
 * a PIN on its way to the SAM). */
static int
pack_msg(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (n > IPC_FRAME_MAX)
		return -EMSGSIZE;
	*out = malloc(n ? n : 1);
	if (*out == NULL)
		return -ENOMEM;
	*len = protobuf_c_message_pack(m, *out);
	return 0;
}

static void
wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

int
ipc_send(int fd, uint64_t id, uint32_t type, Inkan__Status status,
    const char *detail, const ProtobufCMessage *body)
{
	Inkan__Envelope env = INKAN__ENVELOPE__INIT;
	uint8_t *bbuf = NULL, *fbuf = NULL;
	size_t blen = 0, flen = 0;
	char dbuf[IPC_DETAIL_MAX];
	ssize_t w;
	int r;

	env.id = id;
	env.type = type;
	if (status != INKAN__STATUS__OK) {
		env.has_status = true;
		env.status = status;
	}
	if (detail != NULL && detail[0] != '\0') {
		snprintf(dbuf, sizeof(dbuf), "%s", detail);
		env.detail = dbuf;
	}
	if (body != NULL) {
		if ((r = pack_msg(body, &bbuf, &blen)) < 0)
			return r;
		env.has_body = true;
		env.body.data = bbuf;
		env.body.len = blen;
	}
	r = pack_msg(&env.base, &fbuf, &flen);
	if (r == 0 && flen > IPC_FRAME_MAX)
		r = -EMSGSIZE;
	if (r == 0) {
		do {
			w = send(fd, fbuf, flen, MSG_NOSIGNAL);
		} while (w < 0 && errno == EINTR);
		if (w < 0)
			r = -errno;
		else if ((size_t)w != flen)
			r = -EIO;
	}
	wipe_free(bbuf, blen);
	wipe_free(fbuf, flen);
	return r;
}

/* Strictness: protobuf-c keeps unknown fields instead of failing; an inkan
 * peer never sends any, so their presence means a confused or hostile peer. */
static bool
has_unknown(const ProtobufCMessage *m)
{
	return m->n_unknown_fields != 0;
}

ProtobufCMessage *
ipc_unpack(const ProtobufCMessageDescriptor *desc, const ProtobufCBinaryData *body)
{
	ProtobufCMessage *m;
	static const uint8_t empty[1];

	if (body->len > IPC_FRAME_MAX)
		return NULL;
	m = protobuf_c_message_unpack(desc, NULL, body->len,
	    body->len ? body->data : empty);
	if (m == NULL)
		return NULL;
	if (has_unknown(m) || !protobuf_c_message_check(m)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

int
ipc_recv(int fd, Inkan__Envelope **out)
{
	uint8_t *buf;
	ssize_t n;
	int r = 0;

	*out = NULL;
	/* One extra byte: with MSG_TRUNC recv reports the real datagram
	 * length, so an oversize frame is detected, never half-read. */
	buf = malloc(IPC_FRAME_MAX + 1);
	if (buf == NULL)
		return -ENOMEM;
	do {
		n = recv(fd, buf, IPC_FRAME_MAX + 1, MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if (n == 0)
		r = -ECONNRESET;
	else if ((size_t)n > IPC_FRAME_MAX)
		r = -EMSGSIZE;
	else {
		*out = (Inkan__Envelope *)protobuf_c_message_unpack(&inkan__envelope__descriptor,
		    NULL, (size_t)n, buf);
		if (*out == NULL)
			r = -EBADMSG;
		else if (has_unknown(&(*out)->base) ||
		    ((*out)->has_status && protobuf_c_enum_descriptor_get_value(
		    &inkan__status__descriptor, (int)(*out)->status) == NULL) ||
		    ((*out)->detail != NULL &&
		    strlen((*out)->detail) >= IPC_DETAIL_MAX)) {
			ipc_envelope_free(*out);
			*out = NULL;
			r = -EBADMSG;
		}
	}
	if (n > 0)
		explicit_bzero(buf, (size_t)n > IPC_FRAME_MAX ?
		    IPC_FRAME_MAX : (size_t)n);
	free(buf);
	return r;
}

void
ipc_envelope_free(Inkan__Envelope *env)
{
	if (env == NULL)
		return;
	if (env->has_body && env->body.data != NULL)
		explicit_bzero(env->body.data, env->body.len);
	protobuf_c_message_free_unpacked(&env->base, NULL);
}

int
ipc_call(struct ipc_client *c, uint32_t req_type, const ProtobufCMessage *req,
    uint32_t rep_type, const ProtobufCMessageDescriptor *rep_desc,
    ProtobufCMessage **rep, Inkan__Status *status, char *detail,
    size_t detail_len)
{
	Inkan__Envelope *env = NULL;
	uint64_t id = ++c->next_id;
	int r;

	*rep = NULL;
	*status = INKAN__STATUS__INTERNAL;
	if (detail != NULL && detail_len > 0)
		detail[0] = '\0';
	if ((r = ipc_send(c->fd, id, req_type, INKAN__STATUS__OK, NULL, req)) < 0)
		return r;
	if ((r = ipc_recv(c->fd, &env)) < 0)
		return r;
	if (env->id != id || env->type != rep_type) {
		ipc_envelope_free(env);
		return -EPROTO;
	}
	if (detail != NULL && detail_len > 0 && env->detail != NULL)
		snprintf(detail, detail_len, "%s", env->detail);
	*status = env->has_status ? env->status : INKAN__STATUS__OK;
	if (*status == INKAN__STATUS__OK) {
		static const ProtobufCBinaryData none = { 0, NULL };
		*rep = ipc_unpack(rep_desc, env->has_body ? &env->body : &none);
		if (*rep == NULL)
			r = -EBADMSG;
	}
	ipc_envelope_free(env);
	return r;
}
