/* backup_srv.h — inkan-scm's process side of key backup (issue 7 item 5):
 * the CRYPTO_BACKUP_WRAP_REQ handler body (PEER_SAM) and the one-shot
 * `inkan-scm --restore` that reads a BackupRestoreInput on stdin. Library
 * parts are in backup.h. */
#ifndef INKAN_SCM_BACKUP_SRV_H
#define INKAN_SCM_BACKUP_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "server.h"
#include "pkcs11.h"

struct scm_bk_env {
	struct p11_token *tok;
	bool key_backup;
	char *user_pin;             /* sodium_malloc'd at start-up (mlock'd, guard pages) */
	size_t user_pin_len;
	CK_OBJECT_HANDLE kek;       /* of the backup in progress */
	CK_OBJECT_HANDLE *mac_key;  /* the daemon's MAC key handle */
	bool handles_reset;         /* out: private handles were invalidated */
	bool lost;                  /* out: the user session could not be restored */
};

Inkan__Status scm_bk_answer_wrap(struct srv_ctx *c,
    const Inkan__BackupWrapReq *r, struct scm_bk_env *e);

struct scm_bk_restore_cfg {
	const char *module, *token_label, *token_serial, *pin_file;
	bool key_backup;
};
/* Unpack and check the restore input: a 32-byte unwrapping key, sizes
 * within SCM_BK_*, known key types, 16-byte key ids in strictly increasing
 * order. -EINVAL otherwise (the unwrapping key wiped). */
int scm_bk_restore_input_parse(const uint8_t *data, size_t len,
    Inkan__BackupRestoreInput **out);
/* Exit status: 0 all restored, 1 failure (one line on stderr), 2 usage. */
int scm_bk_restore_main(const struct scm_bk_restore_cfg *cfg);

#endif
