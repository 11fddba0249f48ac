/* fuzz-backup-restore-input.c — fuzz target: what `inkan-scm --restore`
 * reads from its pipe (BackupRestoreInput), unpacked and checked before the
 * token is opened (scm/backup_srv.c scm_bk_restore_input_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "backup_srv.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Inkan__BackupRestoreInput *in = NULL;

	if (scm_bk_restore_input_parse(data, size, &in) != 0)
		return 0;
	if (in->unwrap_key.len != SCM_BK_SHARE_LEN)
		abort();
	for (size_t i = 0; i < in->n_keys; i++)
		if (in->keys[i]->key_id.len != P11_KEY_ID_LEN || (i > 0 &&
		    memcmp(in->keys[i - 1]->key_id.data, in->keys[i]->key_id.data,
		    P11_KEY_ID_LEN) >= 0))
			abort();
	inkan__backup_restore_input__free_unpacked(in, NULL);
	return 0;
}
