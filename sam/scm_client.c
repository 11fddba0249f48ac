/* scm_client.c — the SAM side of the crypto interface. A call that fails in
 * transport drops the connection (a late reply must never be read as the
 * answer to a later request); a stale connection (SCM restarted) is retried
 * once on a fresh one. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "scm_client.h"

#define SCM_TIMEOUT_S 60     /* 256 RSA-3072 signatures take ~0.7 s on SoftHSM */

void sam_scm_init(struct sam_scm *s, const char *path)
{
	memset(s, 0, sizeof *s);
	s->path = (char *)path;
	s->c.fd = -1;
	s->c.next_id = 1;
	s->timeout_s = SCM_TIMEOUT_S;
}

void sam_scm_close(struct sam_scm *s)
{
	if (s->c.fd >= 0)
		close(s->c.fd);
	s->c.fd = -1;
}

static int scm_connect(struct sam_scm *s)
{
	struct timeval tv = { .tv_sec = (time_t)s->timeout_s };
	int fd;

	if (s->c.fd >= 0)
		return 0;
	fd = ipc_connect(s->path);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	s->c.fd = fd;
	return 0;
}

/* Errors that mean "the connection we held is dead", worth one retry. */
static bool stale(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN ||
	    r == -ECONNREFUSED || r == -EBADF;
}

static Inkan__Status call(struct sam_scm *s, uint32_t req_type,
    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rep_desc,
    ProtobufCMessage **rep)
{
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	char detail[IPC_DETAIL_MAX];
	bool fresh;
	int r;

	*rep = NULL;
	s->last_status = INKAN__STATUS__OK;
	s->last_err = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		fresh = s->c.fd < 0;
		if ((r = scm_connect(s)) < 0) {
			s->last_err = r;
			return INKAN__STATUS__UNAVAILABLE;
		}
		r = ipc_call(&s->c, req_type, req, ipc_reply_type(req_type),
		    rep_desc, rep, &st, detail, sizeof detail);
		if (r == 0)
			break;
		s->last_err = r;
		sam_scm_close(s);
		*rep = NULL;
		if (fresh || !stale(r))
			return INKAN__STATUS__UNAVAILABLE;
	}
	if (r < 0)
		return INKAN__STATUS__UNAVAILABLE;
	if (st != INKAN__STATUS__OK) {
		s->last_status = st;
		return st == INKAN__STATUS__UNAVAILABLE ?
		    INKAN__STATUS__UNAVAILABLE : INKAN__STATUS__INTERNAL;
	}
	return *rep ? INKAN__STATUS__OK : INKAN__STATUS__INTERNAL;
}

Inkan__Status sam_req_keygen(struct sam_scm *s, const uint8_t *key_id,
    Inkan__KeyType kt, bool extractable, Inkan__KeygenRep **rep)
{
	Inkan__KeygenReq req = INKAN__KEYGEN_REQ__INIT;
	ProtobufCMessage *m;
	Inkan__Status st;

	req.key_id.data = (uint8_t *)key_id;
	req.key_id.len = SAM_KEY_ID_LEN;
	req.key_type = kt;
	req.extractable = extractable;
	st = call(s, INKAN__MSG_TYPE__CRYPTO_KEYGEN_REQ, &req.base,
	    &inkan__keygen_rep__descriptor, &m);
	*rep = (Inkan__KeygenRep *)m;
	return st;
}

Inkan__Status sam_req_sign(struct sam_scm *s, const Inkan__SignDigestReq *req,
    Inkan__SignDigestRep **rep)
{
	ProtobufCMessage *m;
	Inkan__Status st;

	st = call(s, INKAN__MSG_TYPE__CRYPTO_SIGN_REQ, &req->base,
	    &inkan__sign_digest_rep__descriptor, &m);
	*rep = (Inkan__SignDigestRep *)m;
	return st;
}

Inkan__Status sam_req_sign_csr(struct sam_scm *s, const uint8_t *key_id,
    const uint8_t *csr, size_t csr_len, Inkan__SignCsrRep **rep)
{
	Inkan__SignCsrReq req = INKAN__SIGN_CSR_REQ__INIT;
	ProtobufCMessage *m;
	Inkan__Status st;

	req.key_id.data = (uint8_t *)key_id;
	req.key_id.len = SAM_KEY_ID_LEN;
	req.csr.data = (uint8_t *)csr;
	req.csr.len = csr_len;
	st = call(s, INKAN__MSG_TYPE__CRYPTO_SIGN_CSR_REQ, &req.base,
	    &inkan__sign_csr_rep__descriptor, &m);
	*rep = (Inkan__SignCsrRep *)m;
	return st;
}

Inkan__Status sam_req_pubkey(struct sam_scm *s, const uint8_t *key_id,
    Inkan__PubkeyRep **rep)
{
	Inkan__PubkeyReq req = INKAN__PUBKEY_REQ__INIT;
	ProtobufCMessage *m;
	Inkan__Status st;

	req.key_id.data = (uint8_t *)key_id;
	req.key_id.len = SAM_KEY_ID_LEN;
	st = call(s, INKAN__MSG_TYPE__CRYPTO_PUBKEY_REQ, &req.base,
	    &inkan__pubkey_rep__descriptor, &m);
	*rep = (Inkan__PubkeyRep *)m;
	return st;
}

Inkan__Status sam_req_destroy(struct sam_scm *s, const uint8_t *key_id)
{
	Inkan__DestroyReq req = INKAN__DESTROY_REQ__INIT;
	ProtobufCMessage *m;
	Inkan__Status st;

	req.key_id.data = (uint8_t *)key_id;
	req.key_id.len = SAM_KEY_ID_LEN;
	st = call(s, INKAN__MSG_TYPE__CRYPTO_DESTROY_REQ, &req.base,
	    &inkan__destroy_rep__descriptor, &m);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

Inkan__Status sam_req_mac(struct sam_scm *s, const uint8_t (*in)[32],
    size_t n, uint8_t (*out)[32])
{
	Inkan__MacReq req = INKAN__MAC_REQ__INIT;
	ProtobufCBinaryData v[SAM_MAC_BATCH_MAX];
	Inkan__MacRep *rep;
	ProtobufCMessage *m;
	Inkan__Status st;

	if (n == 0 || n > SAM_MAC_BATCH_MAX)
		return INKAN__STATUS__INTERNAL;
	for (size_t i = 0; i < n; i++) {
		v[i].data = (uint8_t *)in[i];
		v[i].len = 32;
	}
	req.n_inputs = n;
	req.inputs = v;
	st = call(s, INKAN__MSG_TYPE__CRYPTO_MAC_REQ, &req.base,
	    &inkan__mac_rep__descriptor, &m);
	if (st != INKAN__STATUS__OK)
		return st;
	rep = (Inkan__MacRep *)m;
	if (rep->n_macs != n)
		st = INKAN__STATUS__INTERNAL;
	for (size_t i = 0; st == INKAN__STATUS__OK && i < n; i++) {
		if (rep->macs[i].len != 32)
			st = INKAN__STATUS__INTERNAL;
		else
			memcpy(out[i], rep->macs[i].data, 32);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return st;
}

/* issue 5: audit checkpoints and the audit public key */
Inkan__Status sam_req_audit_sign(struct sam_scm *s, uint64_t seq,
    const uint8_t head[32], Inkan__AuditSignRep **rep)
{
	Inkan__AuditSignReq req = INKAN__AUDIT_SIGN_REQ__INIT;
	ProtobufCMessage *m;
	Inkan__Status st;

	req.seq = seq;
	req.head.data = (uint8_t *)head;
	req.head.len = 32;
	st = call(s, INKAN__MSG_TYPE__CRYPTO_AUDIT_SIGN_REQ, &req.base,
	    &inkan__audit_sign_rep__descriptor, &m);
	*rep = (Inkan__AuditSignRep *)m;
	return st;
}

Inkan__Status sam_req_audit_key(struct sam_scm *s, Inkan__AuditKeyRep **rep)
{
	Inkan__AuditKeyReq req = INKAN__AUDIT_KEY_REQ__INIT;
	ProtobufCMessage *m;
	Inkan__Status st;

	st = call(s, INKAN__MSG_TYPE__CRYPTO_AUDIT_PUBKEY_REQ, &req.base,
	    &inkan__audit_key_rep__descriptor, &m);
	*rep = (Inkan__AuditKeyRep *)m;
	return st;
}
