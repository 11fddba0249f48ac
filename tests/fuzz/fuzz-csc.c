/* fuzz-csc.c — fuzz target: one HTTP request as inkan-sic's CSC layer sees it
 * (sic/csc.c: routing, every JSON request parser, the Authorization header,
 * the mapping of the SAM's answer back to JSON). The SAM is a stand-in that
 * answers every call the way the input's header says: a valid reply built by
 * reflection (fill.c), a given status, or a reply unpacked from input bytes
 * (a misbehaving SAM).
 * Input: [route][flags][sam][replen][reply bytes...][authlen][auth...][body...]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "csc.h"
#include "fill.h"

static const char *const routes[] = {
	"/csc/v2/info", "/csc/v2/auth/login", "/csc/v2/auth/revoke",
	"/csc/v2/credentials/list", "/csc/v2/credentials/info",
	"/csc/v2/credentials/authorize", "/csc/v2/signatures/signHash",
	"/csc/v2/credentials/extendTransaction", "/csc/v2/oauth2/authorize",
	"/csc/v2/oauth2/token", "/csc/v2/oauth2/revoke",
	"/csc/v1/info", "/csc/v1/auth/login", "/csc/v1/auth/revoke",
	"/csc/v1/credentials/list", "/csc/v1/credentials/info",
	"/csc/v1/credentials/authorize", "/csc/v1/signatures/signHash",
	"/csc/v2/no/such/method", "/elsewhere", "/csc/consent.css",
};

struct fake {
	uint8_t mode;                   /* 0: filled reply; 0xff: from input */
	const uint8_t *rep;
	size_t rep_len;
};

static int
fake_call(void *ctx, uint32_t req_type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **rep,
    Inkan__Status *status, char *detail, size_t detail_len)
{
	struct fake *f = ctx;

	(void)req_type;
	*rep = NULL;
	/* The request must be a well-formed message of its kind. */
	if (req != NULL && !protobuf_c_message_check(req))
		abort();
	if (detail != NULL && detail_len > 0)
		strncpy(detail, "fuzz detail\n\x01", detail_len - 1);
	if (f->mode == 0xff) {
		ProtobufCBinaryData b = { f->rep_len, (uint8_t *)f->rep };
		*rep = ipc_unpack(rep_desc, &b);
		if (*rep == NULL)
			return -EBADMSG;
		*status = INKAN__STATUS__OK;
		return 0;
	}
	if (f->mode == 0xfe)
		return -ECONNREFUSED;
	if (f->mode != 0) {
		*status = (Inkan__Status)(f->mode % 64);
		if (*status == INKAN__STATUS__OK)
			*status = INKAN__STATUS__INTERNAL;
		return 0;
	}
	{
		/* A valid reply of the expected type, deep-copied through the
		 * wire format so the caller can free it as usual. */
		ProtobufCMessage *m = fill_message(rep_desc, (uint8_t)req_type);
		uint8_t *buf;
		size_t n;

		if (m == NULL)
			return -ENOMEM;
		n = protobuf_c_message_get_packed_size(m);
		buf = malloc(n ? n : 1);
		if (buf == NULL)
			return -ENOMEM;
		protobuf_c_message_pack(m, buf);
		*rep = protobuf_c_message_unpack(rep_desc, NULL, n, buf);
		free(buf);
		fill_reset();
		*status = INKAN__STATUS__OK;
		return *rep ? 0 : -EBADMSG;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* As inkan-sic's init does: secrets go to sodium_malloc'd memory. */
	if (sodium_init() < 0)
		abort();
	csc_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake f = { 0, NULL, 0 };
	struct csc_sam sam;
	struct csc_http_req rq;
	struct csc_http_rep rp;
	char *auth = NULL, *body;
	size_t rl, al, off = 5;
	uint8_t flags;

	if (size < 5)
		return 0;
	flags = data[1];
	f.mode = data[2];
	rl = (size_t)data[3] << 8 | data[4];
	if (rl > size - off)
		return 0;
	f.rep = data + off;
	f.rep_len = rl;
	off += rl;
	if (off >= size)
		return 0;
	al = data[off++];
	if (al > size - off)
		return 0;
	if (flags & 2) {
		auth = malloc(al + 1);
		if (auth == NULL)
			return 0;
		memcpy(auth, data + off, al);
		auth[al] = '\0';
	}
	off += al;
	body = malloc(size - off + 1);
	if (body == NULL) {
		free(auth);
		return 0;
	}
	memcpy(body, data + off, size - off);
	body[size - off] = '\0';

	memset(&sam, 0, sizeof sam);
	sam.call = fake_call;
	sam.ctx = &f;
	/* issue 4: the OAuth2 endpoints and extendTransaction as the daemon
	 * serves them, with form bodies and query strings too */
	if (flags & 8) {
		static const uint8_t csrf_key[32] = { 4 };

		sam.have_oauth = sam.have_extend = true;
		sam.csrf_key = csrf_key;
	}
	memset(&rq, 0, sizeof rq);
	memset(&rp, 0, sizeof rp);
	rq.method = (flags & 1) ? "GET" : "POST";
	rq.path = routes[data[0] % (sizeof routes / sizeof routes[0])];
	rq.authorization = auth;
	rq.body = body;
	rq.body_len = size - off;
	rq.body_too_large = (flags & 4) != 0;
	if (flags & 16)
		rq.content_type = "application/x-www-form-urlencoded";
	if (flags & 32) {
		/* the body as a query string: key=value pairs split on '&' */
		static struct csc_kv kv[16];
		char *p = body, *amp;

		for (rq.n_query = 0; p && rq.n_query < 16; p = amp) {
			amp = strchr(p, '&');
			if (amp)
				*amp++ = '\0';
			kv[rq.n_query].key = p;
			kv[rq.n_query].value = "";
			if (strchr(p, '=')) {
				*strchr(p, '=') = '\0';
				kv[rq.n_query].value = p + strlen(p) + 1;
			}
			rq.n_query++;
		}
		rq.query = kv;
		rq.body_len = strlen(body);
		rq.cookie = auth;
	}
	csc_handle(&sam, &rq, &rp);
	/* Every answer is a status and, but for 204, a JSON (or page) body. */
	if (rp.status < 200 || rp.status > 599)
		abort();
	csc_rep_clear(&rp);
	free(body);
	free(auth);
	return 0;
}
