/* oauth.h — inkan-sam's side of the OAuth2 authorization code flow (issue 4):
 * the registered clients (from [sam] oauth_client), the authorization codes
 * (in memory, SHA-256 only, 60 s, single use, bound to client, redirect_uri
 * and PKCE S256 challenge) and the three signer-socket handlers. Every factor
 * is checked with the same rules as auth/login and credentials/authorize
 * (auth.c, sad.c); a credential-scope grant is an access token plus a SAD
 * bound to it exactly like one from credentials/authorize. */
#ifndef INKAN_SAM_OAUTH_H
#define INKAN_SAM_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sam.h"

#define SAM_OAUTH_CLIENTS_MAX 32
#define SAM_OAUTH_REDIRECTS_MAX 8
#define SAM_OAUTH_CLIENT_ID_MAX 64
#define SAM_OAUTH_REDIRECT_MAX 512
#define SAM_OAUTH_CODES_MAX 256        /* pending codes at once */
#define SAM_OAUTH_CODE_LIFETIME 60     /* s */
#define SAM_OAUTH_CODE_LEN 43          /* 32 random bytes, base64url */

/* One [sam] oauth_client value:
 *   CLIENT_ID REDIRECT_URI [REDIRECT_URI...] [secret-sha256=HEX64]
 * A redirect URI of the form http://127.0.0.1/PATH (or [::1]) without a port
 * admits any port (RFC 8252 7.3: native apps listen on an ephemeral port).
 * 0 or -EINVAL. */
int sam_oauth_client_config(const char *value);
/* Forget every client and pending code (tests). */
void sam_oauth_reset(void);

/* Library entry points (unit-testable; the handlers below wrap them). */
Inkan__Status sam_oauth_prepare(struct sam_core *core,
    const Inkan__OAuthPrepareReq *req, struct sam_cred *cred, bool *have_cred);
/* code_out: SAM_OAUTH_CODE_LEN + 1 bytes. sad_id (may be NULL): 17 bytes,
 * the audit trail's name of the SAD issued (credential scope), else "". */
Inkan__Status sam_oauth_authorize(struct sam_core *core,
    const Inkan__OAuthAuthorizeReq *req, char *code_out, uint32_t *expires_in,
    char *sad_id);

struct sam_oauth_grant {
	bool credential;                /* sad filled */
	char cred_id[SAM_CRED_ID_LEN + 1];
	char user[SAM_NAME_MAX + 1];    /* who consented */
	uint32_t expires_in;
};
/* token_out, sad_out: SAM_TOKEN_LEN + 1 bytes each (sodium_malloc'd). */
Inkan__Status sam_oauth_token(struct sam_core *core,
    const Inkan__OAuthTokenReq *req, char *token_out, char *sad_out,
    struct sam_oauth_grant *g);
/* The audit trail's name of a SAD: hex of the first 8 bytes of its
 * SHA-256 (as audit_sam.c writes it). */
void sam_oauth_sad_id(const char *sad, char out[17]);

/* signer socket, PEER_SIC */
Inkan__Status sam_answer_oauth_prepare(struct srv_ctx *c,
    const ProtobufCMessage *m);
Inkan__Status sam_answer_oauth_authorize(struct srv_ctx *c,
    const ProtobufCMessage *m);
Inkan__Status sam_answer_oauth_token(struct srv_ctx *c,
    const ProtobufCMessage *m);

#endif
