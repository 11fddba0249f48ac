/* backup.h — inkan-sam's part of key backup and recovery (issue 7 item 5):
 * the security officer's ADMIN_BACKUP_CREATE_REQ (so_socket), the one-shot
 * `inkan-sam --restore-db` (installs a restored database), and the step at
 * the start of service that marks the credentials whose keys a restore did
 * not bring back (destroyed after the backup) and records the restore. */
#ifndef INKAN_SAM_BACKUP_H
#define INKAN_SAM_BACKUP_H

#include "sam.h"

Inkan__Status sam_answer_backup_create(struct srv_ctx *c,
    const ProtobufCMessage *m);
/* serve(), after the privilege drop: 0, or -errno (refuse to serve). */
int sam_backup_resume(struct sam_app *app);
/* inkan-sam --config FILE --restore-db < BackupRestoreDb: exit status. */
/* Unpack and check that input: a 16-byte archive id, a database image of
 * at least BK_DB_MIN bytes, a 64-hex chain head, a seq that fits SQLite's
 * integer, well-formed credential ids; -EINVAL otherwise. */
int sam_backup_restore_db_parse(const uint8_t *data, size_t len,
    Inkan__BackupRestoreDb **out);
int sam_backup_restore_db(struct sam_app *app);

#endif
