/* csc.h — the CSC API (v1.0.4.0 and v2.0.0.2) as inkan-sic speaks it: routing,
 * JSON -> signer.proto request mapping, signer.proto reply -> JSON mapping, and
 * Inkan__Status -> HTTP/CSC error mapping. Library code: pure functions plus one
 * request handler that reaches the SAM only through struct csc_sam, so all of it
 * is unit-testable without sockets or HTTP. Never logs; every secret it copies
 * (password, PIN, OTP, token, SAD) lives in wiped memory. */
#ifndef INKAN_SIC_CSC_H
#define INKAN_SIC_CSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "ipc.h"         /* protobuf types, INKAN_MAX_HASHES */

enum csc_version { CSC_V1 = 1, CSC_V2 = 2 };

enum csc_method {
	CSC_INFO,
	CSC_AUTH_LOGIN,
	CSC_AUTH_REVOKE,
	CSC_CRED_LIST,
	CSC_CRED_INFO,
	CSC_CRED_AUTHORIZE,
	CSC_SIGN_HASH,
	CSC_CRED_EXTEND,                /* credentials/extendTransaction */
	CSC_OAUTH_AUTHORIZE,            /* oauth2/authorize (sic/oauth.c) */
	CSC_OAUTH_TOKEN,
	CSC_OAUTH_REVOKE,
	CSC_CRED_CREATE,                /* credentials/create (v2, issue 7) */
	CSC_N_METHODS
};

/* Limits on what a client may send (the SAM re-checks its own). */
#define CSC_MAX_HASHES          INKAN_MAX_HASHES
#define CSC_DIGEST_MIN          20
#define CSC_DIGEST_MAX          64
#define CSC_MAX_NUM_SIGNATURES  INKAN_MAX_HASHES
#define CSC_MAX_CRED_ID         64
#define CSC_MAX_SAD             128
#define CSC_MAX_TOKEN           128
#define CSC_MAX_USERNAME        64
#define CSC_MAX_PASSWORD        128
#define CSC_MAX_PIN             64
#define CSC_MAX_OTP             16
#define CSC_MAX_DESCRIPTION     500
#define CSC_MAX_OID             64
#define CSC_MAX_ALGO_PARAMS     256
#define CSC_MAX_AUTH_DATA       8
#define CSC_MAX_DETAIL          120     /* SAM detail text copied into errors */
#define CSC_MAX_CLIENT_ID       64      /* OAuth2 client_id */
#define CSC_MAX_REDIRECT_URI    512
#define CSC_MAX_STATE           255     /* OAuth2 state, echoed to the client */
#define CSC_MAX_CODE            64      /* OAuth2 authorization code */
#define CSC_MAX_VERIFIER        128     /* PKCE code_verifier (RFC 7636) */
#define CSC_MAX_CLIENT_SECRET   128

/* A CSC error response: HTTP status, "error" and "error_description". */
struct csc_err {
	unsigned http;
	const char *error;
	char description[256];
};

/* Call csc_init() once, before any other thread uses jansson: it makes every
 * jansson allocation wipe itself on free (request bodies carry PINs/OTPs). */
void csc_init(void);

/* ---- routing ---------------------------------------------------------- */

/* Returns 0 and sets *v, *m for a CSC method path; -ENOENT for a path outside
 * /csc/ (404); -ENOSYS for an unknown method under /csc/v1/ or /csc/v2/ (501). */
int csc_route(const char *path, enum csc_version *v, enum csc_method *m);
const char *csc_method_name(enum csc_method m);

/* ---- status -> error (csc_error.c) ------------------------------------ */

/* Fill e for a non-OK status. detail is the SAM's reason text (may be NULL);
 * it is used, sanitised and capped, only where the CSC message is generic. */
void csc_error_for(Inkan__Status st, enum csc_version v, enum csc_method m,
    const char *detail, struct csc_err *e);
/* Fill e directly. */
void csc_error_set(struct csc_err *e, unsigned http, const char *error,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- request parsing (JSON / headers -> protobuf) ---------------------- */

/* Parse a request body: empty => {}; must be one JSON object without duplicate
 * keys. Returns 0 or -1 with e filled. */
int csc_parse_body(const char *body, size_t len, json_t **out,
    struct csc_err *e);

/* "Bearer <token>" -> token (NUL-terminated, <= CSC_MAX_TOKEN). 0 or -1
 * (e: 401 invalid_token). */
int csc_parse_bearer(const char *authorization, char *token, size_t token_size,
    struct csc_err *e);

struct csc_hashes {
	size_t n;
	ProtobufCBinaryData *v;         /* n entries pointing into buf */
	uint8_t *buf;
};

struct csc_login {
	Inkan__LoginReq req;
	char username[CSC_MAX_USERNAME + 1];
	unsigned char *secret;          /* sodium_malloc'd: the decoded credentials */
	size_t secret_size;
};
/* HTTP Basic header + body (rememberMe etc. type-checked, refresh_token
 * rejected: inkan issues none). */
int csc_login_parse(const char *authorization, const json_t *body,
    struct csc_login *l, struct csc_err *e);
void csc_login_clear(struct csc_login *l);

enum csc_certs { CSC_CERTS_NONE, CSC_CERTS_SINGLE, CSC_CERTS_CHAIN };

struct csc_info_opts {
	enum csc_certs certs;
	bool cert_info;
	bool auth_info;
};

struct csc_list {
	Inkan__ListReq req;
	bool credential_info;           /* add credentialInfos */
	bool only_valid;                /* only enabled, unexpired credentials */
	struct csc_info_opts opts;
	long long max_results;          /* 0: no limit */
	size_t offset;                  /* from pageToken */
};
int csc_list_parse(const json_t *body, const char *token, struct csc_list *l,
    struct csc_err *e);

struct csc_cred_info {
	Inkan__CredInfoReq req;
	char credential_id[CSC_MAX_CRED_ID + 1];
	struct csc_info_opts opts;
};
int csc_cred_info_parse(const json_t *body, const char *token,
    struct csc_cred_info *ci, struct csc_err *e);

struct csc_authorize {
	Inkan__AuthorizeReq req;
	struct csc_hashes hashes;
	char credential_id[CSC_MAX_CRED_ID + 1];
	char hash_algo[CSC_MAX_OID + 1];
	char description[CSC_MAX_DESCRIPTION + 1];
	unsigned char *secret;          /* sodium_malloc'd: PIN, then OTP */
};
int csc_authorize_parse(const json_t *body, const char *token,
    struct csc_authorize *a, struct csc_err *e);
void csc_authorize_clear(struct csc_authorize *a);

struct csc_sign {
	Inkan__SignReq req;
	struct csc_hashes hashes;
	char credential_id[CSC_MAX_CRED_ID + 1];
	char sad[CSC_MAX_SAD + 1];
	char hash_algo[CSC_MAX_OID + 1];
	char sign_algo[CSC_MAX_OID + 1];
	uint8_t params[CSC_MAX_ALGO_PARAMS];
	char access[CSC_MAX_TOKEN + 1];
};
/* token is the Bearer token. An OAuth2 credential-scope token has the form
 * "<access token>.<SAD>" (sic/oauth.c): as the Bearer token it stands for
 * both (v2: SAD may then be absent), and given as SAD (v1 token_type "SAD")
 * it brings its own access token. Nothing is decided here: the SAM checks
 * the pair as for any SAD. */
int csc_sign_parse(const json_t *body, const char *token, struct csc_sign *s,
    struct csc_err *e);
struct csc_extend {
	Inkan__ExtendReq req;
	char credential_id[CSC_MAX_CRED_ID + 1];
	char sad[CSC_MAX_SAD + 1];
	char access[CSC_MAX_TOKEN + 1];
};
/* credentials/extendTransaction; token as for csc_sign_parse. */
int csc_extend_parse(const json_t *body, const char *token,
    struct csc_extend *x, struct csc_err *e);

/* credentials/create (issue 7): the signer instructs key generation. */
struct csc_create {
	Inkan__CredCreateReq req;
	char replaces[CSC_MAX_CRED_ID + 1];
	uint8_t *secret;                /* PIN, OTP, code (sodium_malloc) */
};
int csc_create_parse(const json_t *body, const char *token,
    struct csc_create *x, struct csc_err *e);
void csc_create_clear(struct csc_create *x);

/* Split a credential-scope token in place: "<a>.<b>" -> a, *sad = b; any
 * other string is left whole with *sad = NULL. */
void csc_split_cred_token(char *token, char **sad);
void csc_sign_clear(struct csc_sign *s);

/* Revoke: body "token" is type-checked and otherwise ignored (the Bearer token
 * is the one revoked). */
int csc_revoke_parse(const json_t *body, const char *token,
    Inkan__RevokeReq *r, struct csc_err *e);

/* ---- reply building (protobuf -> JSON) --------------------------------- */

struct csc_sam;
/* base_url: "https://host:port" for the oauth2 field (NULL: omitted). */
json_t *csc_json_info(enum csc_version v, const struct csc_sam *sam,
    const char *base_url);
json_t *csc_json_login(const Inkan__LoginRep *r);
json_t *csc_json_authorize(const Inkan__AuthorizeRep *r);
/* signatures/signHash body {"signatures":["<base64>",...]}, written
 * straight into one malloc'd, NUL-terminated buffer of exactly the right
 * size (no JSON DOM: a 256-signature answer is the largest body inkan
 * sends; base64 needs no JSON escaping). *len: its length without the NUL.
 * NULL when out of memory. */
char *csc_sign_body(const Inkan__SignRep *r, size_t *len);
/* credentials/info body; now decides cert.status "valid"/"expired". */
json_t *csc_json_cred_info(const Inkan__CredInfoRep *r, enum csc_version v,
    const struct csc_info_opts *o, time_t now);
json_t *csc_json_error(const struct csc_err *e);

/* ---- the handler ------------------------------------------------------- */

/* How the handler reaches the SAM (sic/samc.c in the daemon, a fake in tests).
 * Same contract as ipc_call: < 0 transport failure (-EPROTO/-EBADMSG: the SAM
 * misbehaved), else 0 with *status and, when OK, *rep (caller frees). */
struct csc_sam {
	int (*call)(void *ctx, uint32_t req_type, const ProtobufCMessage *req,
	    const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **rep,
	    Inkan__Status *status, char *detail, size_t detail_len);
	void *ctx;
	/* Per-account request rate (sic/ratelimit.c): false = over the limit
	 * (answered 429). kind separates name spaces ("user", "token",
	 * "client"); key is the account's name or token. NULL: no limit. */
	bool (*admit)(void *admit_ctx, const char *kind, const char *key);
	void *admit_ctx;
	/* The SAM answers credentials/extendTransaction (a message type the
	 * protocol has); false: 501 and not listed in info. */
	bool have_extend;
	/* OAuth2 endpoints served (sic/oauth.c); false: 501, not listed. */
	bool have_oauth;
	const uint8_t *csrf_key;        /* 32 bytes, per process (sic/oauth.c) */
};

/* One decoded query-string argument. */
struct csc_kv {
	const char *key;
	const char *value;
};

struct csc_http_req {
	const char *method;             /* "POST", "GET", ... */
	const char *path;               /* without query string */
	const char *authorization;      /* Authorization header or NULL */
	const char *body;
	size_t body_len;
	bool body_too_large;            /* the transport dropped the body */
	/* Below: zero in callers that only speak the JSON methods. */
	const struct csc_kv *query;     /* GET arguments, percent-decoded */
	size_t n_query;
	const char *content_type;       /* Content-Type header or NULL */
	const char *cookie;             /* Cookie header or NULL */
	const char *accept_language;    /* Accept-Language header or NULL */
	const char *base_url;           /* "https://host:port" this service is
	                                 * reached at (info.oauth2); NULL: none */
	bool tls;                       /* arrived over TLS (cookie Secure) */
};

struct csc_http_rep {
	unsigned status;
	char *body;                     /* NUL-terminated JSON, or NULL (204) */
	size_t body_len;
	const char *allow;              /* Allow: for 405 */
	const char *www_authenticate;   /* WWW-Authenticate: for 401 */
	const char *content_type;       /* NULL: application/json */
	char *location;                 /* Location: (malloc'd) for 302/303 */
	char *set_cookie;               /* Set-Cookie: (malloc'd) */
	char *csp;                      /* Content-Security-Policy: (malloc'd) */
	unsigned retry_after;           /* Retry-After: for 429/503 (0: none) */
};

/* Route, validate, call the SAM, build the response. Always fills rp. */
void csc_handle(const struct csc_sam *sam, const struct csc_http_req *rq,
    struct csc_http_rep *rp);
/* ---- shared with sic/oauth.c ------------------------------------------ */

/* The consent page's style sheet (the only non-CSC path served). */
#define CSC_CSS_PATH "/csc/consent.css"

/* Serialise j (stolen) as the response body. */
void csc_rep_json(struct csc_http_rep *rp, unsigned status, json_t *j);
/* Per-account rate check; false: a 429 response is built. */
bool csc_admit(const struct csc_sam *sam, const char *kind, const char *key,
    struct csc_http_rep *rp);
/* One SAM round trip; on failure (< 0) the CSC error response for (v, m) is
 * already in rp and *st (if st) says why (UNAVAILABLE / INTERNAL for a
 * transport failure). On success *rep is the reply (caller frees). */
int csc_sam_call(const struct csc_sam *sam, enum csc_version v,
    enum csc_method m, uint32_t type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **rep,
    struct csc_http_rep *rp, Inkan__Status *st);
/* Standard or URL-safe base64, padded or not: 0 or -1. */
int csc_b64_decode(const char *s, size_t n, uint8_t *out, size_t max,
    size_t *len);
/* Valid UTF-8 without control characters. */
bool csc_text_ok(const unsigned char *s, size_t n);

/* sic/oauth.c: oauth2/authorize (GET: consent page, POST: the signer's
 * answer), oauth2/token, oauth2/revoke; and the style sheet. */
void oauth_handle(const struct csc_sam *sam, enum csc_version v,
    enum csc_method m, const struct csc_http_req *rq,
    struct csc_http_rep *rp);
void oauth_css(const struct csc_http_req *rq, struct csc_http_rep *rp);

/* Free everything a response holds (body and the malloc'd headers). */
void csc_rep_clear(struct csc_http_rep *rp);
/* Build an error response (also for the transport layer, e.g. 413). */
void csc_rep_error(struct csc_http_rep *rp, const struct csc_err *e);
/* Wipe and free a response body (NULL ok); fits MHD's free callback. */
void csc_body_free(void *body);

#endif
