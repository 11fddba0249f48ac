/* ipc-probe.c — test tool: connect to an inkan socket and send one
 * well-formed request, to show who is refused. Prints "answered status=N"
 * (exit 0), "closed" (exit 3: the peer dropped us) or "connect-failed"
 * (exit 4). Usage: ipc-probe SOCKET crypto-sign|crypto-keygen|admin-user-list|signer-list */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

int
main(int argc, char **argv)
{
	static uint8_t key_id[16], digest[32];
	Inkan__SignDigestReq sreq = INKAN__SIGN_DIGEST_REQ__INIT;
	Inkan__KeygenReq kreq = INKAN__KEYGEN_REQ__INIT;
	Inkan__UserListReq ureq = INKAN__USER_LIST_REQ__INIT;
	Inkan__ListReq lreq = INKAN__LIST_REQ__INIT;
	ProtobufCBinaryData dg = { sizeof digest, digest };
	const ProtobufCMessageDescriptor *rd;
	const ProtobufCMessage *req;
	struct ipc_client c = { 0, 0 };
	ProtobufCMessage *rep = NULL;
	Inkan__Status st;
	uint32_t type;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: ipc-probe SOCKET crypto-sign|crypto-keygen|admin-user-list|signer-list\n");
		return 2;
	}
	if (strcmp(argv[2], "crypto-sign") == 0) {
		sreq.key_id.data = key_id;
		sreq.key_id.len = sizeof key_id;
		sreq.mech = INKAN__SIGN_MECH__MECH_ECDSA;
		sreq.hash_alg = INKAN__HASH_ALG__HASH_SHA256;
		sreq.n_digests = 1;
		sreq.digests = &dg;
		req = &sreq.base;
		type = INKAN__MSG_TYPE__CRYPTO_SIGN_REQ;
		rd = &inkan__sign_digest_rep__descriptor;
	} else if (strcmp(argv[2], "crypto-keygen") == 0) {
		kreq.key_id.data = key_id;
		kreq.key_id.len = sizeof key_id;
		kreq.key_type = INKAN__KEY_TYPE__KEY_EC_P256;
		req = &kreq.base;
		type = INKAN__MSG_TYPE__CRYPTO_KEYGEN_REQ;
		rd = &inkan__keygen_rep__descriptor;
	} else if (strcmp(argv[2], "admin-user-list") == 0) {
		req = &ureq.base;
		type = INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ;
		rd = &inkan__user_list_rep__descriptor;
	} else if (strcmp(argv[2], "signer-list") == 0) {
		lreq.access_token = (char *)"probe";
		req = &lreq.base;
		type = INKAN__MSG_TYPE__SIGNER_LIST_REQ;
		rd = &inkan__list_rep__descriptor;
	} else {
		fprintf(stderr, "ipc-probe: unknown message '%s'\n", argv[2]);
		return 2;
	}
	c.fd = ipc_connect(argv[1]);
	if (c.fd < 0) {
		printf("connect-failed %s\n", strerror(-c.fd));
		return 4;
	}
	r = ipc_call(&c, type, req, ipc_reply_type(type), rd, &rep, &st, NULL, 0);
	if (rep != NULL)
		protobuf_c_message_free_unpacked(rep, NULL);
	close(c.fd);
	if (r < 0) {
		printf("closed\n");
		return 3;
	}
	printf("answered status=%d\n", (int)st);
	return 0;
}
