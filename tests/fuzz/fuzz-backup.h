/* fuzz-backup.h — what the backup fuzz targets and their seed generator
 * (make-backup-seeds.c) share: the two shares every seed archive is sealed
 * with (each byte the same), and the input layout of fuzz-backup-trail. */
#ifndef INKAN_FUZZ_BACKUP_H
#define INKAN_FUZZ_BACKUP_H

#define FUZZ_BK_SHARE1 0x5a
#define FUZZ_BK_SHARE2 0xc3
/* fuzz-backup-trail input: the archived head as "<seq> <64 hex>\n", then
 * the audit files' bytes, one file from the next separated by a form feed
 * (which no record contains). */
#define FUZZ_BK_FILE_SEP '\f'

#endif
