/* fuzz-backup-share.c — fuzz target: a share file as `inkanctl backup
 * restore --share` reads it (sam/backup_archive.c bk_share_parse). A share
 * that parses must format back to exactly the same bytes: the format has
 * one spelling, so a second one accepted would be a parser bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup_archive.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[BK_ID_LEN], share[BK_SHARE_LEN];
	char text[BK_SHARE_TEXT_MAX];
	int n = 0;

	if (bk_share_parse((const char *)data, size, id, &n, share) != 0)
		return 0;
	if (n != 1 && n != 2)
		abort();
	bk_share_format(id, n, share, text);
	if (strlen(text) != size || memcmp(text, data, size) != 0)
		abort();
	return 0;
}
