/* csc_client.h — the few CSC API calls inkan-sign makes (explicit
 * authorisation): auth/login, credentials/info, credentials/authorize,
 * signatures/signHash, auth/revoke; v2 or v1 paths and field names. One
 * libcurl easy handle per client (connection reuse), http/https only, peer
 * and host always verified, bounded responses and timeouts.
 * Library code: returns 0 or -errno, never logs; the reason of the last
 * failure (server's CSC error text, sanitised; never a secret) is kept for
 * csc_error(). */
#ifndef INKAN_TOOLS_CSC_CLIENT_H
#define INKAN_TOOLS_CSC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "secret.h"

/* Largest response body accepted. */
#define CSC_RESPONSE_MAX (4u * 1024 * 1024)

struct csc_client;

struct csc_cred_info {
	char **algos;              /* key.algo OIDs */
	size_t n_algos;
	char key_status[16];       /* "enabled", "disabled" or "" */
	X509 *cert;                /* end-entity */
	STACK_OF(X509) *chain;     /* the rest, as sent (may be empty) */
};

/* base_url: "https://host[:port][/prefix]"; api: 1 or 2; cacert may be NULL
 * (system store). */
int csc_client_new(const char *base_url, const char *cacert, int api,
    struct csc_client **out);
void csc_client_free(struct csc_client *c);
/* Reason of the last failure, one line. */
const char *csc_error(const struct csc_client *c);

/* HTTP Basic login; keeps the access token (sodium memory) for later calls.
 * -EACCES when the server refuses, -EPROTO for an unusable answer, -EIO for
 * a transport failure. */
int csc_login(struct csc_client *c, const char *user, const struct secret *password);
/* Best effort: revoke the access token and forget it. */
void csc_logout(struct csc_client *c);

int csc_credential_info(struct csc_client *c, const char *cred_id,
    struct csc_cred_info *out);
void csc_cred_info_free(struct csc_cred_info *info);

/* One hash, numSignatures 1, PIN and OTP. *sad is allocated with
 * sodium_malloc (free with csc_sad_free). description may be NULL. */
int csc_authorize(struct csc_client *c, const char *cred_id,
    const uint8_t *hash, size_t hash_len, const char *hash_oid,
    const struct secret *pin, const struct secret *otp,
    const char *description, char **sad);
void csc_sad_free(char *sad);

/* The signature of one hash; *sig malloc'd. sad NULL: none sent (v2, when
 * the access token is an OAuth2 credential-scope token). */
int csc_sign_hash(struct csc_client *c, const char *cred_id, const char *sad,
    const uint8_t *hash, size_t hash_len, const char *hash_oid,
    const char *sign_oid, uint8_t **sig, size_t *sig_len);

/* credentials/create (v2 only): the service generates a key in its HSM
 * and answers its credential id and a PKCS#10 CSR signed by the key.
 * key_algo: the key algorithm OID; key_len: 256/384 (EC), 2048/3072 (RSA).
 * replaces may be NULL. *cred_id and *csr are malloc'd. */
int csc_create(struct csc_client *c, const char *key_algo, int key_len,
    const struct secret *pin, const struct secret *otp,
    const struct secret *id_code, const char *replaces, char **cred_id,
    uint8_t **csr, size_t *csr_len);

/* ---- OAuth2 authorization code flow with PKCE (inkan-sign --oauth) ---- */

struct csc_oauth_req {
	const char *client_id;
	const char *redirect_uri;
	const char *scope;              /* "service" or "credential" */
	const char *state;
	const char *challenge;          /* S256 */
	const char *lang;               /* may be NULL */
	/* credential scope: one hash */
	const char *cred_id;
	const uint8_t *hash;
	size_t hash_len;
	const char *hash_oid;
	const char *description;        /* may be NULL */
	const char *label;              /* the document's name, may be NULL */
};
/* The consent page URL <base>/csc/v<api>/oauth2/authorize?...; malloc'd. */
char *csc_oauth_url(const struct csc_client *c, const struct csc_oauth_req *r);
/* PKCE: verifier (43 chars + NUL, sodium memory of 44 bytes) and its S256
 * challenge (44 bytes). */
void csc_pkce_new(char *verifier, char *challenge);
/* oauth2/token with the code. Service scope: the token becomes the client's
 * access token (as after csc_login). Credential scope: *cred_token is the
 * token to use as SAD (sodium memory, csc_sad_free). */
int csc_oauth_token(struct csc_client *c, const char *client_id,
    const char *redirect_uri, const char *code, const char *verifier,
    char **cred_token);

/* auth/revoke of another token of the same signer (best effort). */
int csc_revoke_token(struct csc_client *c, const char *token);

/* signHash with an OAuth2 credential-scope token: v2 sends it as the
 * Bearer token and no SAD; v1 sends it as the SAD (token_type "SAD") next
 * to the service token. */
int csc_sign_hash_cred(struct csc_client *c, const char *cred_id,
    const char *cred_token, const uint8_t *hash, size_t hash_len,
    const char *hash_oid, const char *sign_oid, uint8_t **sig, size_t *sig_len);

#endif
