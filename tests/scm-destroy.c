/* scm-destroy.c — test tool (t-backup.sh): send one CRYPTO_DESTROY_REQ for
 * a key id (32 hex) to inkan-scm, as inkan-sam would. Run as the SAM's uid.
 * Prints "destroyed" (exit 0) or "status=N" (exit 1); transport errors 3. */
#include <stdio.h>
#include <string.h>

#include "ipc.h"

int
main(int argc, char **argv)
{
	Inkan__DestroyReq req = INKAN__DESTROY_REQ__INIT;
	struct ipc_client c = { 0, 1 };
	ProtobufCMessage *rep = NULL;
	uint8_t id[16];
	Inkan__Status st;
	unsigned v;

	if (argc != 3 || strlen(argv[2]) != 32) {
		fprintf(stderr, "usage: scm-destroy SCM_SOCKET KEY_ID_HEX\n");
		return 2;
	}
	for (int i = 0; i < 16; i++) {
		if (sscanf(argv[2] + 2 * i, "%2x", &v) != 1)
			return 2;
		id[i] = (uint8_t)v;
	}
	req.key_id.data = id;
	req.key_id.len = sizeof id;
	c.fd = ipc_connect(argv[1]);
	if (c.fd < 0 || ipc_call(&c, INKAN__MSG_TYPE__CRYPTO_DESTROY_REQ,
	    &req.base, INKAN__MSG_TYPE__CRYPTO_DESTROY_REP,
	    &inkan__destroy_rep__descriptor, &rep, &st, NULL, 0) < 0) {
		printf("transport-error\n");
		return 3;
	}
	if (st != INKAN__STATUS__OK) {
		printf("status=%d\n", (int)st);
		return 1;
	}
	protobuf_c_message_free_unpacked(rep, NULL);
	printf("destroyed\n");
	return 0;
}
