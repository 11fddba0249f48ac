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

#include <stddef.h>
#include <stdint.h>

#define BK_ID_LEN 16
#define BK_SHARE_LEN 32
#define BK_HDR_LEN 56
#define BK_SHARE_TEXT_MAX 256

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
/* Parse one share file: -EINVAL malformed, -EBADMSG check mismatch. */
int bk_share_parse(const char *text, size_t len, uint8_t id[BK_ID_LEN],
    int *n, uint8_t share[BK_SHARE_LEN]);

#endif
