/* ipc.h — the one transport every inkan process uses: AF_UNIX SOCK_SEQPACKET,
 * one packed Envelope per datagram, a hard frame cap checked before anything is
 * unpacked, request ids echoed in replies, and a client call that accepts only
 * the reply type it asked for. Library code: returns 0 or -errno, never logs. */
#ifndef INKAN_IPC_H
#define INKAN_IPC_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <protobuf-c/protobuf-c.h>

#include "common.pb-c.h"
#include "signer.pb-c.h"
#include "admin.pb-c.h"
#include "crypto.pb-c.h"
#include "backup.pb-c.h"

/* Largest frame on any inkan socket (envelope + body). An AF_UNIX datagram
 * must fit the socket's send buffer (net.core.wmem_default is 208 KiB on a
 * stock kernel), so the cap stays below that: INKAN_MAX_HASHES RSA-3072
 * signatures (256 x 384 bytes) fit with room to spare. */
#define IPC_FRAME_MAX (160 * 1024)
/* Most hashes one request may carry, on every interface. */
#define INKAN_MAX_HASHES 256
/* Longest `detail` text carried in a reply. */
#define IPC_DETAIL_MAX 200

/* Listening socket at path (unlinked first), mode applied with fchmod before
 * listen. Returns fd (CLOEXEC) or -errno. */
int ipc_listen(const char *path, mode_t mode);
/* Connected client socket, or -errno. */
int ipc_connect(const char *path);
/* SO_PEERCRED of a connected socket. */
int ipc_peercred(int fd, struct ucred *cred);

/* Send one frame. body may be NULL. Returns 0 or -errno (-EMSGSIZE if the
 * packed frame would exceed IPC_FRAME_MAX). */
int ipc_send(int fd, uint64_t id, uint32_t type, Inkan__Status status,
    const char *detail, const ProtobufCMessage *body);

/* Receive one frame: -EMSGSIZE when it exceeds IPC_FRAME_MAX (datagram is
 * consumed and dropped), -EBADMSG when it does not unpack or carries unknown
 * fields, -ECONNRESET on EOF. *out must be freed with ipc_envelope_free. */
int ipc_recv(int fd, Inkan__Envelope **out);
void ipc_envelope_free(Inkan__Envelope *env);

/* Strict unpack of an envelope body: required fields present, no unknown
 * fields. Returns NULL on any failure. Free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *ipc_unpack(const ProtobufCMessageDescriptor *desc,
    const ProtobufCBinaryData *body);

/* A client connection with its own id counter. */
struct ipc_client {
	int fd;
	uint64_t next_id;
};

/* Round trip: sends req as req_type and waits for exactly one frame. Returns
 * -EPROTO if the reply's id or type is not the expected one (the caller must
 * then drop the connection), other -errno on transport failure, else 0 with
 * *status set. When *status == OK, *rep holds the strictly unpacked reply
 * (caller frees); otherwise *rep is NULL and detail (if non-NULL, size
 * detail_len) holds the peer's reason. */
int ipc_call(struct ipc_client *c, uint32_t req_type,
    const ProtobufCMessage *req, uint32_t rep_type,
    const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **rep,
    Inkan__Status *status, char *detail, size_t detail_len);

/* Reply type for a request type (request + 1). */
static inline uint32_t ipc_reply_type(uint32_t req_type) { return req_type + 1; }

#endif
