/* fuzz-backup-trail.c — fuzz target: the old audit trail that `inkanctl
 * backup restore --audit-dir` scans for keys destroyed after the backup
 * (sam/backup_archive.c bk_trail_*, over sam/audit_format.c audit_parse):
 * record lines, the hash chain, the archived head, key.destroy details.
 * Input layout: fuzz-backup.h. Every id handed out must be 32 hex. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_archive.h"
#include "fuzz-backup.h"

static int
took(void *arg, const char *id)
{
	(void)arg;
	if (!bk_hex_ok(id, 32))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl, *sep;
	char head[80], hash[65];
	uint64_t seq;
	struct bk_trail t;
	int r = 0;

	nl = memchr(p, '\n', size);
	if (nl == NULL || (size_t)(nl - p) >= sizeof head)
		return 0;
	memcpy(head, p, (size_t)(nl - p));
	head[nl - p] = '\0';
	if (sscanf(head, "%" SCNu64 " %64s", &seq, hash) != 2)
		return 0;
	bk_trail_init(&t, seq, hash, took, NULL);
	for (p = nl + 1; r == 0; p = sep + 1) {
		/* One exact-size heap copy per file: ASan sees any over-read. */
		char *f;
		size_t n;

		sep = memchr(p, FUZZ_BK_FILE_SEP, (size_t)(end - p));
		n = (size_t)((sep != NULL ? sep : end) - p);
		if ((f = malloc(n ? n : 1)) == NULL)
			return 0;
		memcpy(f, p, n);
		r = bk_trail_feed(&t, "fuzz", f, n);
		free(f);
		if (sep == NULL)
			break;
	}
	if (r == 0)
		(void)bk_trail_end(&t);
	return 0;
}
