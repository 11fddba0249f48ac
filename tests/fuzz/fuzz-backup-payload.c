/* fuzz-backup-payload.c — fuzz target: the decrypted payload of a backup
 * archive (BackupPayload), as `inkanctl backup restore` unpacks and checks
 * it before it hands parts of it to inkan-scm and inkan-sam
 * (sam/backup_archive.c bk_payload_parse). The archive's AEAD keeps a
 * fuzzer away from this decoder; the payload is fed here directly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup_archive.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Inkan__BackupPayload *p = NULL;

	if (bk_payload_parse(data, size, &p) != 0)
		return 0;
	/* What the restore relies on once the checks passed. */
	if (p->version != 1 || strlen(p->audit_head) != 64 ||
	    p->database.len < BK_DB_MIN)
		abort();
	for (size_t i = 0; i < p->n_keys; i++)
		if (!bk_wrapped_key_ok(p->keys[i]) || (i > 0 &&
		    memcmp(p->keys[i - 1]->key_id.data, p->keys[i]->key_id.data,
		    BK_ID_LEN) >= 0))
			abort();
	inkan__backup_payload__free_unpacked(p, NULL);
	return 0;
}
