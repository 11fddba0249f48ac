/* fuzz-backup-archive.c — fuzz target: a backup archive file as `inkanctl
 * backup restore --archive` reads it: the header (bk_archive_peek), the
 * authenticated decryption (bk_archive_open) with the two fixed shares the
 * seed corpus was sealed with (make-backup-seeds.c), and, when it opens,
 * the payload checks (bk_payload_parse). Without the shares a mutated
 * archive stops at the AEAD tag: fuzz-backup-payload feeds the payload
 * decoder directly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup_archive.h"
#include "fuzz-backup.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[BK_ID_LEN], s1[BK_SHARE_LEN], s2[BK_SHARE_LEN], *plain = NULL;
	Inkan__BackupPayload *p = NULL;
	int64_t created;
	size_t plen = 0;

	if (bk_archive_peek(data, size, id, &created) != 0)
		return 0;
	memset(s1, FUZZ_BK_SHARE1, sizeof s1);
	memset(s2, FUZZ_BK_SHARE2, sizeof s2);
	if (bk_archive_open(data, size, s1, s2, &plain, &plen) != 0)
		return 0;
	if (plen > size)
		abort();
	if (bk_payload_parse(plain, plen, &p) == 0)
		inkan__backup_payload__free_unpacked(p, NULL);
	free(plain);
	return 0;
}
