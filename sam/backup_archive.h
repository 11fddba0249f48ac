/* backup_archive.h — the backup archive and share file formats (issue 7
 * item 5), shared by inkan-sam (which seals) and inkanctl (which opens).
 * Archive: "INKANBK1" | archive id (16) | created ms (8, big endian) |
 * nonce (24) | XChaCha20-Poly1305(key, nonce, ad = the 56 header bytes,
 * BackupPayload). key = BLAKE2b KDF (libsodium crypto_kdf, context
 * "inkanbak", id 1) of share1 XOR share2: without both shares the archive
 * can be neither read nor altered unnoticed. A share file is four text
 * lines: "inkan backup share N of 2", "archive: <32 hex>", "share: <64
 * hex>", "check: <8 hex>" (a typo check over N, archive and share; it says
 * nothing about the other share). Library code: 0 or -errno, never logs. */
#ifndef INKAN_SAM_BACKUP_ARCHIVE_H
#define INKAN_SAM_BACKUP_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup.pb-c.h"

#define BK_ID_LEN 16
#define BK_SHARE_LEN 32
#define BK_HDR_LEN 56
#define BK_SHARE_TEXT_MAX 256
/* Limits of the payload's parts (the same as inkan-scm's, scm/backup.h). */
#define BK_WRAPPED_KEK_MAX 64
#define BK_WRAPPED_MAX 4096
#define BK_SPKI_MAX 1024
#define BK_DB_MIN 512               /* the smallest SQLite image */

/* Seal payload into a malloc'd archive. */
int bk_archive_seal(const uint8_t id[BK_ID_LEN], int64_t created_ms,
    const uint8_t s1[BK_SHARE_LEN], const uint8_t s2[BK_SHARE_LEN],
    const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len);
/* Header fields without any key: -EINVAL when it is no archive. */
int bk_archive_peek(const uint8_t *a, size_t len, uint8_t id[BK_ID_LEN],
    int64_t *created_ms);
/* Authenticate and decrypt: -EBADMSG when the shares do not open it (wrong
 * share, or the archive was altered). *payload is malloc'd (wipe it). */
int bk_archive_open(const uint8_t *a, size_t len,
    const uint8_t s1[BK_SHARE_LEN], const uint8_t s2[BK_SHARE_LEN],
    uint8_t **payload, size_t *plen);

/* Share file text (NUL-terminated into out, BK_SHARE_TEXT_MAX bytes). */
void bk_share_format(const uint8_t id[BK_ID_LEN], int n,
    const uint8_t share[BK_SHARE_LEN], char out[BK_SHARE_TEXT_MAX]);
/* Parse one share file, exactly as bk_share_format wrote it (no other
 * spelling, white space or line end): -EINVAL malformed, -EBADMSG check
 * mismatch. */
int bk_share_parse(const char *text, size_t len, uint8_t id[BK_ID_LEN],
    int *n, uint8_t share[BK_SHARE_LEN]);


/* Unpack and check an opened archive's payload: version 1, a 64-hex chain
 * head, every size within the limits above, key ids of 16 bytes in strictly
 * increasing order (as inkan-sam gathers them), known key types, a database
 * image of at least BK_DB_MIN bytes. -EINVAL otherwise; *out is freed with
 * inkan__backup_payload__free_unpacked. */
int bk_payload_parse(const uint8_t *data, size_t len,
    Inkan__BackupPayload **out);
/* A key as archived (the checks bk_payload_parse applies to each). */
bool bk_wrapped_key_ok(const Inkan__WrappedKey *k);
/* s is exactly n lower-case hex digits. */
bool bk_hex_ok(const char *s, size_t n);

/* The old audit trail read by `inkanctl backup restore --audit-dir`: the
 * audit-*.log files are fed in order. The records must form one unbroken
 * hash chain that runs through the archived head (same seq, same hash);
 * each key.destroy record after the head, whatever its outcome, names a
 * credential whose key stays out (destroyed(arg, id), a 32-hex id). */
struct bk_trail {
	uint64_t head_seq;                  /* in */
	char head_hash[65];
	int (*destroyed)(void *arg, const char *cred_id);
	void *arg;
	uint64_t last;                      /* running: last seq, 0 none yet */
	char prev[65];                      /* its hash */
	bool seen_head;
	size_t found;                       /* out: key.destroy records taken */
	size_t torn;                        /* files that end without LF */
	char problem[256];                  /* out: why -EBADMSG */
};
void bk_trail_init(struct bk_trail *t, uint64_t head_seq,
    const char *head_hash, int (*destroyed)(void *, const char *),
    void *arg);
/* One file's bytes. A last line without LF (a torn write) is skipped and
 * counted in t->torn. 0, -EBADMSG (t->problem), or the callback's < 0. */
int bk_trail_feed(struct bk_trail *t, const char *name, const char *buf,
    size_t len);
/* After the last file: -EBADMSG when the head was not in the trail. */
int bk_trail_end(struct bk_trail *t);

#endif
