/* fuzz-backup-restore-db.c — fuzz target: what `inkan-sam --restore-db`
 * reads from its pipe (BackupRestoreDb), unpacked and checked before any
 * file is written (sam/backup.c sam_backup_restore_db_parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "backup_archive.h"
#include "sad.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Inkan__BackupRestoreDb *in = NULL;

	if (sam_backup_restore_db_parse(data, size, &in) != 0)
		return 0;
	if (in->archive_id.len != BK_ID_LEN || strlen(in->audit_head) != 64 ||
	    in->database.len < BK_DB_MIN)
		abort();
	for (size_t i = 0; i < in->n_destroyed; i++)
		if (!sam_cred_id_ok(in->destroyed[i]))
			abort();
	inkan__backup_restore_db__free_unpacked(in, NULL);
	return 0;
}
