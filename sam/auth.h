/* auth.h — the signer's factors and sessions: Argon2id hashes of passwords
 * and PINs (libsodium), TOTP (RFC 6238 via liboath) with replay protection,
 * opaque random access tokens stored only as SHA-256 hashes.
 * Library code: returns statuses / -errno, never logs, never keeps a secret. */
#ifndef INKAN_SAM_AUTH_H
#define INKAN_SAM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sam.h"
#include "store.h"

/* sodium_init + oath_init, Argon2id limits, the dummy hash for unknown
 * users. moderate: MODERATE instead of INTERACTIVE limits. */
int sam_auth_init(struct sam_core *core, bool moderate);

/* [A-Za-z0-9._@-]{1,64} */
bool sam_auth_username_ok(const char *name);

/* Argon2id string of secret with the core's limits. */
int sam_auth_hash(const struct sam_core *core, const uint8_t *secret,
    size_t len, char out[SAM_PWHASH_MAX]);
bool sam_auth_verify(const char *hash, const uint8_t *secret, size_t len);

/* TOTP check: true if otp (6 digits) matches a step within +-1 of now AND
 * that step is strictly after last_step; *step is the matched step. */
/* Steps accepted either side of now ([sam] totp_window; default
 * SAM_TOTP_WINDOW = 1, i.e. +-30 s of clock skew). */
void sam_auth_totp_window(unsigned steps);
bool sam_auth_totp(const uint8_t *secret, size_t secret_len, const char *otp,
    int64_t now, int64_t last_step, int64_t *step);

/* 32 random bytes, base64url without padding: SAM_TOKEN_LEN chars + NUL. */
void sam_auth_random_string(char out[SAM_TOKEN_LEN + 1]);
/* SHA-256 of a token / SAD string: what the database keys on. */
void sam_auth_digest(const char *s, uint8_t out[32]);
/* A string that could be one of ours (length and alphabet). */
bool sam_auth_string_ok(const char *s);

/* The caller behind an access token. */
struct sam_who {
	int64_t user_id;
	char name[SAM_NAME_MAX + 1];
	uint8_t token_hash[32];
	int64_t token_expires;
};

struct sam_macb;

/* LOGIN: OK with a new token (token_out: SAM_TOKEN_LEN + 1 bytes, ideally
 * sodium_malloc'd) or AUTH_FAILED / INVALID_REQUEST / INTERNAL, INTEGRITY
 * (the user row failed its MAC) or UNAVAILABLE (no MAC service). The user
 * row's MAC check and the new token's MAC are one round trip. */
Inkan__Status sam_auth_login(struct sam_core *core, const char *username,
    const ProtobufCBinaryData *password, char *token_out,
    uint32_t *expires_in);
/* Access token -> caller: OK or INVALID_TOKEN. The token row's MAC check
 * is queued on b, to be run with the request's other checks before anything
 * is decided; b NULL runs it at once (then also INTEGRITY / UNAVAILABLE). */
Inkan__Status sam_auth_token(struct sam_core *core, const char *token,
    struct sam_who *who, struct sam_macb *b);
/* A new access token for a user whose factors the caller has checked (login
 * and the OAuth2 flow): token row with its MAC. token_out as for login. */
Inkan__Status sam_auth_issue_token(struct sam_core *core, int64_t user_id,
    char *token_out, uint32_t *expires_in);
/* Deletes the token and every SAD issued under it. OK even if unknown. */
Inkan__Status sam_auth_revoke(struct sam_core *core, const char *token);
/* Drops expired tokens and long-expired SADs. */
int sam_auth_purge(struct sam_core *core);

#endif
