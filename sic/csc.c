/* csc.c — CSC API v1/v2 on the inkan-sic side: routes a request, checks every
 * known JSON field (type, length, range, count; unknown fields are ignored, as
 * clients add extras), maps it onto one signer.proto request, asks the SAM
 * through struct csc_sam and turns the reply or status into CSC JSON.
 * Both v1 and v2 field names are accepted on both paths; the response shape
 * follows the path. Secrets (password, PIN, OTP) are copied into sodium_malloc
 * memory and wiped after the call; tokens and SADs are wiped where this code
 * holds them; jansson's own allocations wipe themselves (csc_init). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "csc.h"

/* ---- wiping allocator for jansson -------------------------------------- */

/* jansson copies the PIN/OTP strings of a request body into its own heap
 * blocks; keep their size in front so that free can wipe them. */
#define WIPE_HDR 16

static void *wipe_malloc(size_t n)
{
	unsigned char *p;

	if (n > SIZE_MAX - WIPE_HDR)
		return NULL;
	p = malloc(n + WIPE_HDR);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof n);
	return p + WIPE_HDR;
}

static void wipe_free(void *q)
{
	unsigned char *p;
	size_t n;

	if (!q)
		return;
	p = (unsigned char *)q - WIPE_HDR;
	memcpy(&n, p, sizeof n);
	sodium_memzero(p, n + WIPE_HDR);
	free(p);
}

void csc_init(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
	/* jansson would read /dev/urandom for its hash seed on first use,
	 * which in inkan-sic is after the sandbox: seed it now. */
	json_object_seed(0);
}

void csc_body_free(void *body)
{
	if (!body)
		return;
	sodium_memzero(body, strlen(body));
	free(body);
}

/* ---- routing ----------------------------------------------------------- */

static const char *const method_names[CSC_N_METHODS] = {
	[CSC_INFO] = "info",
	[CSC_AUTH_LOGIN] = "auth/login",
	[CSC_AUTH_REVOKE] = "auth/revoke",
	[CSC_CRED_LIST] = "credentials/list",
	[CSC_CRED_INFO] = "credentials/info",
	[CSC_CRED_AUTHORIZE] = "credentials/authorize",
	[CSC_SIGN_HASH] = "signatures/signHash",
	[CSC_CRED_EXTEND] = "credentials/extendTransaction",
	[CSC_OAUTH_AUTHORIZE] = "oauth2/authorize",
	[CSC_OAUTH_TOKEN] = "oauth2/token",
	[CSC_OAUTH_REVOKE] = "oauth2/revoke",
	[CSC_CRED_CREATE] = "credentials/create",
};

const char *csc_method_name(enum csc_method m)
{
	return (unsigned)m < CSC_N_METHODS ? method_names[m] : "?";
}

int csc_route(const char *path, enum csc_version *v, enum csc_method *m)
{
	unsigned i;

	if (!path || strncmp(path, "/csc/", 5) != 0)
		return -ENOENT;
	if (strncmp(path + 5, "v1/", 3) == 0)
		*v = CSC_V1;
	else if (strncmp(path + 5, "v2/", 3) == 0)
		*v = CSC_V2;
	else
		return -ENOSYS;
	for (i = 0; i < CSC_N_METHODS; i++) {
		if (strcmp(path + 8, method_names[i]) == 0) {
			*m = (enum csc_method)i;
			return 0;
		}
	}
	return -ENOSYS;
}

/* ---- field helpers ----------------------------------------------------- */

static int invalid(struct csc_err *e, const char *name)
{
	csc_error_set(e, 400, "invalid_request", "Invalid parameter %s", name);
	return -1;
}

static int missing(struct csc_err *e, const char *name)
{
	csc_error_set(e, 400, "invalid_request", "Missing parameter %s", name);
	return -1;
}

/* A field with a v2 name and possibly a v1 alias. When a client sends both
 * they must agree. *name is the one it used, for error messages. */
static int field(const json_t *o, const char *v2name, const char *v1name,
    const json_t **out, const char **name, struct csc_err *e)
{
	const json_t *a = json_object_get(o, v2name);
	const json_t *b = v1name ? json_object_get(o, v1name) : NULL;

	*out = a ? a : b;
	*name = (!a && b) ? v1name : v2name;
	if (a && b && !json_equal(a, b))
		return invalid(e, v1name);
	return 0;
}

/* Valid UTF-8 without control characters (JSON already guarantees UTF-8, the
 * Basic header does not). */
bool csc_text_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp, k;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

#define text_ok csc_text_ok

/* Visible ASCII only: identifiers the SAM made (credential ids, SADs). */
static bool ident_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/* Dotted decimal OID: "1.2.840.10045.4.3.2". */
static bool oid_ok(const char *s, size_t n)
{
	size_t i, arcs = 0;
	bool digit = false;

	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			digit = true;
		} else if (s[i] == '.' && digit) {
			digit = false;
			arcs++;
		} else {
			return false;
		}
	}
	return digit && arcs >= 1;
}

enum str_kind { STR_TEXT, STR_IDENT, STR_OID };

/* Optional (or required) bounded string copied into dst[max + 1].
 * Returns 1 present, 0 absent, -1 error. */
static int get_str(const json_t *o, const char *v2name, const char *v1name,
    bool required, enum str_kind kind, size_t max, char *dst,
    struct csc_err *e)
{
	const json_t *j;
	const char *name;
	size_t n;

	dst[0] = '\0';
	if (field(o, v2name, v1name, &j, &name, e) < 0)
		return -1;
	if (!j)
		return required ? missing(e, name) : 0;
	if (!json_is_string(j))
		return invalid(e, name);
	n = json_string_length(j);
	if (n > max || (kind != STR_TEXT && n == 0))
		return invalid(e, name);
	if ((kind == STR_IDENT && !ident_ok(json_string_value(j), n)) ||
	    (kind == STR_OID && !oid_ok(json_string_value(j), n)))
		return invalid(e, name);
	memcpy(dst, json_string_value(j), n);
	dst[n] = '\0';
	return 1;
}

/* Type check only. */
static int check_type(const json_t *o, const char *name, json_type t,
    struct csc_err *e)
{
	const json_t *j = json_object_get(o, name);

	if (!j)
		return 0;
	if (t == JSON_TRUE ? !json_is_boolean(j) : json_typeof(j) != t)
		return invalid(e, name);
	return 1;
}

static int get_bool(const json_t *o, const char *name, bool *out,
    struct csc_err *e)
{
	int r = check_type(o, name, JSON_TRUE, e);

	if (r > 0)
		*out = json_is_true(json_object_get(o, name));
	return r;
}

static int get_int(const json_t *o, const char *name, long long min,
    long long max, long long *out, struct csc_err *e)
{
	const json_t *j = json_object_get(o, name);

	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < min ||
	    json_integer_value(j) > max)
		return invalid(e, name);
	*out = json_integer_value(j);
	return 1;
}

/* Standard base64 as the CSC API says, but base64url (what query strings
 * carry) too, with or without padding. Returns 0 or -1. */
int csc_b64_decode(const char *s, size_t n, uint8_t *out, size_t max,
    size_t *len)
{
	static const int variants[] = {
		sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	size_t i;

	for (i = 0; i < sizeof variants / sizeof variants[0]; i++)
		if (sodium_base642bin(out, max, s, n, NULL, len, NULL,
		    variants[i]) == 0)
			return 0;
	return -1;
}

#define b64_decode csc_b64_decode

static char *b64_encode(const uint8_t *in, size_t n)
{
	size_t m = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(m);

	if (s)
		sodium_bin2base64(s, m, in, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

static json_t *json_b64(const uint8_t *in, size_t n)
{
	char *s = b64_encode(in, n);
	json_t *j = s ? json_string(s) : NULL;

	free(s);
	return j;
}

static void hashes_clear(struct csc_hashes *h)
{
	free(h->v);
	free(h->buf);
	memset(h, 0, sizeof *h);
}

/* hashes|hash: 1..CSC_MAX_HASHES digests of CSC_DIGEST_MIN..MAX bytes. */
static int get_hashes(const json_t *o, bool required, struct csc_hashes *h,
    struct csc_err *e)
{
	/* Longest text that can hold CSC_DIGEST_MAX bytes, with slack for
	 * padding; anything longer is certainly a wrong length. */
	enum { TXT_MAX = 4 * ((CSC_DIGEST_MAX + 2) / 3) + 4 };
	uint8_t tmp[CSC_DIGEST_MAX + 4];
	const json_t *arr;
	const char *name;
	size_t i, n;

	if (field(o, "hashes", "hash", &arr, &name, e) < 0)
		return -1;
	if (!arr)
		return required ? missing(e, name) : 0;
	if (!json_is_array(arr))
		return invalid(e, name);
	n = json_array_size(arr);
	if (n == 0 || n > CSC_MAX_HASHES)
		return invalid(e, name);
	h->v = calloc(n, sizeof *h->v);
	h->buf = malloc(n * CSC_DIGEST_MAX);
	if (!h->v || !h->buf) {
		csc_error_set(e, 500, "server_error", "Out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		const json_t *s = json_array_get(arr, i);
		size_t len = 0, slen;

		if (!json_is_string(s))
			return invalid(e, name);
		slen = json_string_length(s);
		if (slen > TXT_MAX) {
			csc_error_set(e, 400, "invalid_request",
			    "Invalid digest value length");
			return -1;
		}
		if (b64_decode(json_string_value(s), slen, tmp, sizeof tmp,
		    &len) < 0)
			return invalid(e, name);
		if (len < CSC_DIGEST_MIN || len > CSC_DIGEST_MAX) {
			csc_error_set(e, 400, "invalid_request",
			    "Invalid digest value length");
			return -1;
		}
		memcpy(h->buf + i * CSC_DIGEST_MAX, tmp, len);
		h->v[i].data = h->buf + i * CSC_DIGEST_MAX;
		h->v[i].len = len;
		h->n = i + 1;
	}
	return 1;
}

/* ---- body and headers -------------------------------------------------- */

int csc_parse_body(const char *body, size_t len, json_t **out,
    struct csc_err *e)
{
	json_error_t jerr;
	json_t *j;
	size_t i;

	*out = NULL;
	for (i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' &&
		    body[i] != '\n')
			break;
	if (i == len) {
		/* Some clients POST without a body (info, auth/login). */
		*out = json_object();
		if (!*out) {
			csc_error_set(e, 500, "server_error", "Out of memory");
			return -1;
		}
		return 0;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		bool dup = json_error_code(&jerr) == json_error_duplicate_key;

		sodium_memzero(&jerr, sizeof jerr);     /* quotes the body */
		csc_error_set(e, 400, "invalid_request", "%s", dup ?
		    "Duplicate key in the request body" :
		    "The request body is not valid JSON");
		return -1;
	}
	sodium_memzero(&jerr, sizeof jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		csc_error_set(e, 400, "invalid_request",
		    "The request body must be a JSON object");
		return -1;
	}
	*out = j;
	return 0;
}

/* "<scheme> <param>" with a case-insensitive scheme; returns the param with
 * surrounding blanks stripped, or NULL. */
static const char *auth_param(const char *h, const char *scheme, size_t *len)
{
	size_t n = strlen(scheme), end;
	const char *p;

	if (!h || strncasecmp(h, scheme, n) != 0 || (h[n] != ' ' && h[n] != '\t'))
		return NULL;
	p = h + n;
	while (*p == ' ' || *p == '\t')
		p++;
	end = strlen(p);
	while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
		end--;
	*len = end;
	return end ? p : NULL;
}

int csc_parse_bearer(const char *authorization, char *token, size_t token_size,
    struct csc_err *e)
{
	size_t n, i;
	const char *p = auth_param(authorization, "Bearer", &n);

	token[0] = '\0';
	if (!p)
		goto bad;
	if (n > CSC_MAX_TOKEN || n + 1 > token_size)
		goto bad;
	/* RFC 6750 b64token */
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~+/=", c)))
			goto bad;
	}
	memcpy(token, p, n);
	token[n] = '\0';
	return 0;
bad:
	csc_error_set(e, 401, "invalid_token",
	    "Missing or invalid access token");
	return -1;
}

/* ---- request parsing --------------------------------------------------- */

static int check_client_data(const json_t *o, struct csc_err *e)
{
	return check_type(o, "clientData", JSON_STRING, e) < 0 ? -1 : 0;
}

int csc_login_parse(const char *authorization, const json_t *body,
    struct csc_login *l, struct csc_err *e)
{
	/* user (64) ':' password (128) in base64, with padding */
	enum { RAW_MAX = CSC_MAX_USERNAME + 1 + CSC_MAX_PASSWORD,
	    TXT_MAX = 4 * ((RAW_MAX + 2) / 3) };
	const char *p, *colon;
	size_t n, len = 0, ulen;
	bool b;

	memset(l, 0, sizeof *l);
	inkan__login_req__init(&l->req);
	if (get_bool(body, "rememberMe", &b, e) < 0 ||
	    check_client_data(body, e) < 0)
		return -1;
	if (check_type(body, "refresh_token", JSON_STRING, e) < 0)
		return -1;
	if (json_object_get(body, "refresh_token")) {
		/* inkan issues no refresh tokens, so none can be valid */
		csc_error_set(e, 400, "invalid_grant", "Invalid refresh_token");
		return -1;
	}
	p = auth_param(authorization, "Basic", &n);
	if (!p || n > TXT_MAX)
		goto bad;
	l->secret_size = RAW_MAX + 1;
	l->secret = sodium_malloc(l->secret_size);
	if (!l->secret) {
		csc_error_set(e, 500, "server_error", "Out of memory");
		return -1;
	}
	if (sodium_base642bin(l->secret, RAW_MAX, p, n, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) < 0 &&
	    sodium_base642bin(l->secret, RAW_MAX, p, n, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) < 0)
		goto bad;
	l->secret[len] = '\0';
	colon = memchr(l->secret, ':', len);
	if (!colon)
		goto bad;
	ulen = (size_t)(colon - (const char *)l->secret);
	if (ulen == 0 || ulen > CSC_MAX_USERNAME || !text_ok(l->secret, ulen))
		goto bad;
	if (len - ulen - 1 == 0 || len - ulen - 1 > CSC_MAX_PASSWORD)
		goto bad;
	memcpy(l->username, l->secret, ulen);
	l->username[ulen] = '\0';
	l->req.username = l->username;
	l->req.password.data = l->secret + ulen + 1;
	l->req.password.len = len - ulen - 1;
	return 0;
bad:
	csc_error_set(e, 401, "authentication_error",
	    "Missing or invalid HTTP Basic authentication");
	return -1;
}

void csc_login_clear(struct csc_login *l)
{
	sodium_free(l->secret);         /* wipes */
	sodium_memzero(l, sizeof *l);
}

static int get_info_opts(const json_t *o, struct csc_info_opts *opts,
    struct csc_err *e)
{
	char certs[8];
	int r;

	opts->certs = CSC_CERTS_SINGLE;
	opts->cert_info = false;
	opts->auth_info = false;
	r = get_str(o, "certificates", NULL, false, STR_TEXT, sizeof certs - 1,
	    certs, e);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (strcmp(certs, "none") == 0)
			opts->certs = CSC_CERTS_NONE;
		else if (strcmp(certs, "single") == 0)
			opts->certs = CSC_CERTS_SINGLE;
		else if (strcmp(certs, "chain") == 0)
			opts->certs = CSC_CERTS_CHAIN;
		else
			return invalid(e, "certificates");
	}
	if (get_bool(o, "certInfo", &opts->cert_info, e) < 0 ||
	    get_bool(o, "authInfo", &opts->auth_info, e) < 0 ||
	    check_type(o, "lang", JSON_STRING, e) < 0)
		return -1;
	return 0;
}

int csc_list_parse(const json_t *body, const char *token, struct csc_list *l,
    struct csc_err *e)
{
	char page[16];
	int r;

	memset(l, 0, sizeof *l);
	inkan__list_req__init(&l->req);
	l->req.access_token = (char *)token;
	if (check_type(body, "userID", JSON_STRING, e) < 0 ||
	    get_bool(body, "credentialInfo", &l->credential_info, e) < 0 ||
	    get_bool(body, "onlyValid", &l->only_valid, e) < 0 ||
	    get_int(body, "maxResults", 1, 1000000, &l->max_results, e) < 0 ||
	    get_info_opts(body, &l->opts, e) < 0 ||
	    check_client_data(body, e) < 0)
		return -1;
	r = get_str(body, "pageToken", NULL, false, STR_TEXT, 9, page, e);
	if (r < 0)
		return -1;
	if (r > 0) {
		size_t i;

		if (!page[0])
			return invalid(e, "pageToken");
		for (i = 0; page[i]; i++)
			if (page[i] < '0' || page[i] > '9')
				return invalid(e, "pageToken");
		l->offset = strtoul(page, NULL, 10);
	}
	return 0;
}

int csc_cred_info_parse(const json_t *body, const char *token,
    struct csc_cred_info *ci, struct csc_err *e)
{
	memset(ci, 0, sizeof *ci);
	inkan__cred_info_req__init(&ci->req);
	ci->req.access_token = (char *)token;
	if (get_str(body, "credentialID", NULL, true, STR_IDENT,
	    CSC_MAX_CRED_ID, ci->credential_id, e) < 0 ||
	    get_info_opts(body, &ci->opts, e) < 0 ||
	    check_client_data(body, e) < 0)
		return -1;
	ci->req.credential_id = ci->credential_id;
	return 0;
}

/* A PIN/OTP given twice (top-level v1 name and v2 authData) must agree. */
struct factor {
	const char *v;
	size_t n;
};

static int set_factor(struct factor *f, const json_t *j, const char *name,
    size_t max, struct csc_err *e)
{
	const char *s;
	size_t n;

	if (!json_is_string(j))
		return invalid(e, name);
	s = json_string_value(j);
	n = json_string_length(j);
	if (n > max)
		return invalid(e, name);
	if (f->v && (f->n != n || memcmp(f->v, s, n) != 0))
		return invalid(e, name);
	f->v = s;
	f->n = n;
	return 0;
}

static int get_factors(const json_t *o, struct factor *pin, struct factor *otp,
    struct csc_err *e)
{
	const json_t *j, *ad;
	size_t i;

	if ((j = json_object_get(o, "PIN")) &&
	    set_factor(pin, j, "PIN", CSC_MAX_PIN, e) < 0)
		return -1;
	if ((j = json_object_get(o, "OTP")) &&
	    set_factor(otp, j, "OTP", CSC_MAX_OTP, e) < 0)
		return -1;
	ad = json_object_get(o, "authData");
	if (!ad)
		return 0;
	if (!json_is_array(ad) || json_array_size(ad) > CSC_MAX_AUTH_DATA)
		return invalid(e, "authData");
	{
		bool seen_pin = false, seen_otp = false;

		for (i = 0; i < json_array_size(ad); i++) {
			const json_t *it = json_array_get(ad, i);
			const json_t *id = json_object_get(it, "id");
			const json_t *val = json_object_get(it, "value");
			const char *ids;

			if (!json_is_object(it) || !json_is_string(id) || !val)
				return invalid(e, "authData");
			ids = json_string_value(id);
			if (strcmp(ids, "PIN") == 0 && !seen_pin) {
				seen_pin = true;
				if (set_factor(pin, val, "PIN", CSC_MAX_PIN, e) < 0)
					return -1;
			} else if (strcmp(ids, "OTP") == 0 && !seen_otp) {
				seen_otp = true;
				if (set_factor(otp, val, "OTP", CSC_MAX_OTP, e) < 0)
					return -1;
			} else {
				return invalid(e, "authData");
			}
		}
	}
	return 0;
}

int csc_authorize_parse(const json_t *body, const char *token,
    struct csc_authorize *a, struct csc_err *e)
{
	struct factor pin = { NULL, 0 }, otp = { NULL, 0 };
	long long num = 0;
	int r;

	memset(a, 0, sizeof *a);
	inkan__authorize_req__init(&a->req);
	a->req.access_token = (char *)token;
	if (get_str(body, "credentialID", NULL, true, STR_IDENT,
	    CSC_MAX_CRED_ID, a->credential_id, e) < 0)
		return -1;
	r = get_int(body, "numSignatures", 1, CSC_MAX_NUM_SIGNATURES, &num, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return missing(e, "numSignatures");
	if (get_hashes(body, false, &a->hashes, e) < 0)
		return -1;
	r = get_str(body, "hashAlgorithmOID", "hashAlgo", false, STR_OID,
	    CSC_MAX_OID, a->hash_algo, e);
	if (r < 0)
		return -1;
	if (r > 0)
		a->req.hash_algo_oid = a->hash_algo;
	r = get_str(body, "description", NULL, false, STR_TEXT,
	    CSC_MAX_DESCRIPTION, a->description, e);
	if (r < 0)
		return -1;
	if (r > 0)
		a->req.description = a->description;
	if (check_client_data(body, e) < 0 || get_factors(body, &pin, &otp, e) < 0)
		return -1;

	a->secret = sodium_malloc(CSC_MAX_PIN + 1 + CSC_MAX_OTP + 1);
	if (!a->secret) {
		csc_error_set(e, 500, "server_error", "Out of memory");
		return -1;
	}
	if (pin.v) {
		memcpy(a->secret, pin.v, pin.n);
		a->req.has_pin = 1;
		a->req.pin.data = a->secret;
		a->req.pin.len = pin.n;
	}
	if (otp.v) {
		memcpy(a->secret + CSC_MAX_PIN + 1, otp.v, otp.n);
		a->req.has_otp = 1;
		a->req.otp.data = a->secret + CSC_MAX_PIN + 1;
		a->req.otp.len = otp.n;
	}
	a->req.credential_id = a->credential_id;
	a->req.num_signatures = (uint32_t)num;
	a->req.n_hashes = a->hashes.n;
	a->req.hashes = a->hashes.v;
	return 0;
}

void csc_authorize_clear(struct csc_authorize *a)
{
	sodium_free(a->secret);
	hashes_clear(&a->hashes);
	sodium_memzero(a, sizeof *a);
}

int csc_sign_parse(const json_t *body, const char *token, struct csc_sign *s,
    struct csc_err *e)
{
	const json_t *j;
	long long vp;
	char mode[4];
	int r;

	char *bearer_sad = NULL, *field_sad = NULL;
	size_t tl = token ? strlen(token) : 0;

	memset(s, 0, sizeof *s);
	inkan__sign_req__init(&s->req);
	if (tl > CSC_MAX_TOKEN) {
		csc_error_set(e, 401, "invalid_token",
		    "Missing or invalid access token");
		return -1;
	}
	memcpy(s->access, token ? token : "", tl + 1);
	csc_split_cred_token(s->access, &bearer_sad);
	s->req.access_token = s->access;
	if (get_str(body, "credentialID", NULL, true, STR_IDENT,
	    CSC_MAX_CRED_ID, s->credential_id, e) < 0 ||
	    get_str(body, "SAD", NULL, bearer_sad == NULL, STR_IDENT,
	    CSC_MAX_SAD, s->sad, e) < 0 ||
	    get_hashes(body, true, &s->hashes, e) < 0)
		return -1;
	if (!s->sad[0]) {
		/* v2: the credential-scope Bearer token is the SAD */
		memmove(s->sad, bearer_sad, strlen(bearer_sad) + 1);
	} else {
		char tmp[CSC_MAX_SAD + 1];

		memcpy(tmp, s->sad, sizeof tmp);
		csc_split_cred_token(tmp, &field_sad);
		if (field_sad) {
			/* v1: SAD is a credential token, with its own access
			 * token; the Bearer (a service token) is not needed. */
			memcpy(s->access, tmp, strlen(tmp) + 1);
			memmove(s->sad, field_sad, strlen(field_sad) + 1);
		}
		sodium_memzero(tmp, sizeof tmp);
	}
	r = get_str(body, "hashAlgorithmOID", "hashAlgo", false, STR_OID,
	    CSC_MAX_OID, s->hash_algo, e);
	if (r < 0)
		return -1;
	if (r > 0)
		s->req.hash_algo_oid = s->hash_algo;
	if (get_str(body, "signAlgo", NULL, true, STR_OID, CSC_MAX_OID,
	    s->sign_algo, e) < 0)
		return -1;
	j = json_object_get(body, "signAlgoParams");
	if (j) {
		size_t len = 0;

		if (!json_is_string(j) || json_string_length(j) >
		    4 * ((CSC_MAX_ALGO_PARAMS + 2) / 3) ||
		    b64_decode(json_string_value(j), json_string_length(j),
		    s->params, sizeof s->params, &len) < 0 || len == 0)
			return invalid(e, "signAlgoParams");
		s->req.has_sign_algo_params = 1;
		s->req.sign_algo_params.data = s->params;
		s->req.sign_algo_params.len = len;
	}
	r = get_str(body, "operationMode", NULL, false, STR_TEXT, 1, mode, e);
	if (r < 0)
		return -1;
	if (r > 0 && strcmp(mode, "S") != 0)
		return invalid(e, "operationMode");  /* no asynchronous mode */
	if (get_int(body, "validity_period", 0, INT32_MAX, &vp, e) < 0 ||
	    check_type(body, "response_uri", JSON_STRING, e) < 0 ||
	    check_client_data(body, e) < 0)
		return -1;
	s->req.credential_id = s->credential_id;
	s->req.sad = s->sad;
	s->req.sign_algo_oid = s->sign_algo;
	s->req.n_hashes = s->hashes.n;
	s->req.hashes = s->hashes.v;
	return 0;
}

void csc_split_cred_token(char *token, char **sad)
{
	char *dot = strchr(token, '.');

	*sad = NULL;
	if (!dot || dot == token || !dot[1] || strchr(dot + 1, '.'))
		return;
	*dot = '\0';
	*sad = dot + 1;
}

void csc_sign_clear(struct csc_sign *s)
{
	hashes_clear(&s->hashes);
	sodium_memzero(s, sizeof *s);
}

int csc_revoke_parse(const json_t *body, const char *token,
    Inkan__RevokeReq *r, struct csc_err *e)
{
	inkan__revoke_req__init(r);
	r->access_token = (char *)token;
	if (check_type(body, "token", JSON_STRING, e) < 0 ||
	    check_type(body, "token_type_hint", JSON_STRING, e) < 0 ||
	    check_client_data(body, e) < 0)
		return -1;
	return 0;
}

/* ---- reply building ---------------------------------------------------- */

/* Steals v; false if v is NULL or the set failed. */
static bool put(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set_new(o, k, v) == 0;
}

static bool push(json_t *a, json_t *v)
{
	return v && json_array_append_new(a, v) == 0;
}

static json_t *done(json_t *o, bool ok)
{
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *const sign_algos[] = {
	"1.2.840.113549.1.1.1",         /* rsaEncryption (with hashAlgorithmOID) */
	"1.2.840.113549.1.1.10",        /* RSASSA-PSS */
	"1.2.840.113549.1.1.11",        /* sha256WithRSAEncryption */
	"1.2.840.113549.1.1.12",        /* sha384WithRSAEncryption */
	"1.2.840.113549.1.1.13",        /* sha512WithRSAEncryption */
	"1.2.840.10045.4.3.2",          /* ecdsa-with-SHA256 */
	"1.2.840.10045.4.3.3",          /* ecdsa-with-SHA384 */
	"1.2.840.10045.4.3.4",          /* ecdsa-with-SHA512 */
};

/* Is method m served (else 501, and not in info.methods)? */
static bool method_served(const struct csc_sam *sam, enum csc_method m)
{
	switch (m) {
	case CSC_CRED_EXTEND:
		return sam && sam->have_extend;
	case CSC_OAUTH_AUTHORIZE:
	case CSC_OAUTH_TOKEN:
	case CSC_OAUTH_REVOKE:
		return sam && sam->have_oauth;
	default:
		return (unsigned)m < CSC_N_METHODS;
	}
}

json_t *csc_json_info(enum csc_version v, const struct csc_sam *sam,
    const char *base_url)
{
	json_t *methods = json_array(), *algos = json_array(), *auth, *j;
	bool ok = methods && algos;
	bool oauth = sam && sam->have_oauth && base_url;
	unsigned i;

	for (i = CSC_AUTH_LOGIN; ok && i < CSC_N_METHODS; i++)
		if (method_served(sam, (enum csc_method)i) &&
		    !(v == CSC_V1 && i == CSC_CRED_CREATE))     /* a v2.2 method */
			ok = push(methods, json_string(method_names[i]));
	for (i = 0; ok && i < sizeof sign_algos / sizeof sign_algos[0]; i++)
		ok = push(algos, json_string(sign_algos[i]));
	if (!ok) {
		json_decref(methods);
		json_decref(algos);
		return NULL;
	}
	auth = oauth ? json_pack("[s, s]", "basic", "oauth2code") :
	    json_pack("[s]", "basic");
	if (!auth) {
		json_decref(methods);
		json_decref(algos);
		return NULL;
	}
	if (v == CSC_V2) {
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o,"
		    " s:{s:o}}",
		    "specs", "2.0.0.2", "name", "inkan", "logo", "",
		    "region", "JP", "lang", "en-US",
		    "description", "inkan remote signing service",
		    "authType", auth, "methods", methods,
		    "signAlgorithms", "algos", algos);
	} else {
		json_decref(algos);
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
		    "specs", "1.0.4.0", "name", "inkan", "logo", "",
		    "region", "JP", "lang", "en-US",
		    "description", "inkan remote signing service",
		    "authType", auth, "methods", methods);
	}
	if (j && oauth) {
		char url[600];

		/* The authorization server's base: its endpoints are
		 * <oauth2>/oauth2/authorize etc., per API version. */
		if ((size_t)snprintf(url, sizeof url, "%s/csc/v%d", base_url,
		    v == CSC_V2 ? 2 : 1) >= sizeof url ||
		    !put(j, "oauth2", json_string(url))) {
			json_decref(j);
			return NULL;
		}
	}
	if (j && v == CSC_V2 &&
	    (!put(j, "asynchronousOperationMode", json_false()) ||
	    !put(j, "validationInfo", json_false()))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *csc_json_login(const Inkan__LoginRep *r)
{
	json_t *o = json_object();
	bool ok = o;

	ok = ok && put(o, "access_token", json_string(r->access_token));
	ok = ok && put(o, "expires_in", json_integer(r->expires_in));
	return done(o, ok);
}

json_t *csc_json_authorize(const Inkan__AuthorizeRep *r)
{
	json_t *o = json_object();
	bool ok = o;

	ok = ok && put(o, "SAD", json_string(r->sad));
	ok = ok && put(o, "expiresIn", json_integer(r->expires_in));
	return done(o, ok);
}

char *csc_sign_body(const Inkan__SignRep *r, size_t *len)
{
	static const char head[] = "{\"signatures\":[", tail[] = "]}";
	size_t n = sizeof head - 1 + sizeof tail - 1, m, i;
	char *s, *p;

	/* Sizes from the SAM's message: overflow-checked all the same. */
	for (i = 0; i < r->n_signatures; i++) {
		if (r->signatures[i].len > SIZE_MAX / 2)
			return NULL;
		m = sodium_base64_ENCODED_LEN(r->signatures[i].len,
		    sodium_base64_VARIANT_ORIGINAL) - 1 + 3;   /* "", */
		if (m > SIZE_MAX - n - 1)
			return NULL;
		n += m;
	}
	if (r->n_signatures > 0)
		n--;                    /* no comma after the last */
	s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	p = s;
	memcpy(p, head, sizeof head - 1);
	p += sizeof head - 1;
	for (i = 0; i < r->n_signatures; i++) {
		m = sodium_base64_ENCODED_LEN(r->signatures[i].len,
		    sodium_base64_VARIANT_ORIGINAL);
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		/* Writes m - 1 characters and a NUL the quote replaces. */
		sodium_bin2base64(p, m, r->signatures[i].data,
		    r->signatures[i].len, sodium_base64_VARIANT_ORIGINAL);
		p += m - 1;
		*p++ = '"';
	}
	memcpy(p, tail, sizeof tail);   /* with the NUL */
	*len = n;
	return s;
}

/* GeneralizedTime "YYYYMMDDHHMMSSZ": compares as text. */
static bool gentime_ok(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 15 || s[14] != 'Z')
		return false;
	for (i = 0; i < 14; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static json_t *opt_string(const char *s)
{
	return json_string(s ? s : "");
}

static json_t *key_json(const Inkan__CredInfoRep *r)
{
	json_t *k, *algo = json_array();
	bool ok = algo;
	size_t i;

	for (i = 0; ok && i < r->n_sign_algos; i++)
		ok = push(algo, json_string(r->sign_algos[i]));
	k = ok ? json_pack("{s:s, s:o, s:I}",
	    "status", r->enabled ? "enabled" : "disabled",
	    "algo", algo, "len", (json_int_t)r->key_bits) : NULL;
	if (!ok)
		json_decref(algo);
	if (k && r->curve_oid && (r->key_type == INKAN__KEY_TYPE__KEY_EC_P256 ||
	    r->key_type == INKAN__KEY_TYPE__KEY_EC_P384))
		return done(k, put(k, "curve", json_string(r->curve_oid)));
	return k;
}

static json_t *cert_json(const Inkan__CredInfoRep *r,
    const struct csc_info_opts *o, time_t now)
{
	json_t *c = json_object();
	bool ok = c;
	size_t i, n;

	if (ok && r->n_certificates > 0) {
		char t[32];
		struct tm tm;
		const char *status = "valid";

		gmtime_r(&now, &tm);
		strftime(t, sizeof t, "%Y%m%d%H%M%SZ", &tm);
		if (gentime_ok(r->valid_to) && strcmp(r->valid_to, t) < 0)
			status = "expired";
		ok = put(c, "status", json_string(status));
	}
	if (ok && o->certs != CSC_CERTS_NONE) {
		json_t *a = json_array();

		n = o->certs == CSC_CERTS_SINGLE && r->n_certificates > 1 ?
		    1 : r->n_certificates;
		ok = a != NULL;
		for (i = 0; ok && i < n; i++)
			ok = push(a, json_b64(r->certificates[i].data,
			    r->certificates[i].len));
		if (ok)
			ok = put(c, "certificates", a);
		else
			json_decref(a);
	}
	/* certInfo fields are always given: clients rarely ask for them and
	 * all of them are public. */
	if (ok && r->n_certificates > 0) {
		ok = put(c, "issuerDN", opt_string(r->issuer_dn)) &&
		    put(c, "serialNumber", opt_string(r->serial_hex)) &&
		    put(c, "subjectDN", opt_string(r->subject_dn)) &&
		    put(c, "validFrom", opt_string(r->valid_from)) &&
		    put(c, "validTo", opt_string(r->valid_to));
	}
	return done(c, ok);
}

static json_t *auth_json_v2(void)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s},"
	    " {s:s, s:s, s:s, s:s, s:s, s:s}]}",
	    "mode", "explicit",
	    "expression", "PIN AND OTP",
	    "objects",
	    "type", "Password", "id", "PIN", "format", "N", "label", "PIN",
	    "description", "Signing PIN",
	    "type", "Password", "id", "OTP", "format", "N",
	    "generator", "totp", "label", "OTP",
	    "description", "6-digit one-time password");
}

json_t *csc_json_cred_info(const Inkan__CredInfoRep *r, enum csc_version v,
    const struct csc_info_opts *o, time_t now)
{
	json_t *j = json_object();
	bool ok = j;

	ok = ok && put(j, "key", key_json(r));
	ok = ok && put(j, "cert", cert_json(r, o, now));
	if (v == CSC_V2) {
		ok = ok && put(j, "auth", auth_json_v2());
	} else {
		ok = ok && put(j, "authMode", json_string("explicit"));
		ok = ok && put(j, "PIN", json_pack("{s:s, s:s, s:s, s:s}",
		    "presence", "true", "format", "N", "label", "PIN",
		    "description", "Signing PIN"));
		ok = ok && put(j, "OTP", json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		    "presence", "true", "type", "offline", "format", "N",
		    "label", "OTP", "description", "TOTP", "ID", "totp",
		    "provider", "inkan"));
	}
	ok = ok && put(j, "SCAL", json_string("2"));
	ok = ok && put(j, "multisign", json_integer(r->multisign));
	return done(j, ok);
}

json_t *csc_json_error(const struct csc_err *e)
{
	return json_pack("{s:s, s:s}", "error", e->error,
	    "error_description", e->description);
}

/* ---- the handler ------------------------------------------------------- */

struct call {
	const struct csc_sam *sam;
	enum csc_version v;
	enum csc_method m;
	const json_t *body;
	const char *token;              /* access token (credential token split) */
	const char *bearer;             /* the Bearer token as sent */
	const char *base_url;
	struct csc_http_rep *rp;
	Inkan__Status st;               /* of the last SAM call */
};

/* s: a malloc'd body of n bytes (NUL-terminated), or NULL: a 500. */
static void rep_body(struct csc_http_rep *rp, unsigned status, char *s,
    size_t n)
{
	if (s) {
		rp->status = status;
		rp->body = s;
		rp->body_len = n;
	} else {
		static const char oom[] = "{\"error\":\"server_error\","
		    "\"error_description\":\"Internal error\"}";

		rp->status = 500;
		rp->body = strdup(oom);
		rp->body_len = rp->body ? sizeof oom - 1 : 0;
	}
}

static void rep_json(struct csc_http_rep *rp, unsigned status, json_t *j)
{
	size_t n = 0;
	char *s = NULL;

	if (j && (n = json_dumpb(j, NULL, 0, JSON_COMPACT)) > 0 &&
	    (s = malloc(n + 1)) != NULL) {
		json_dumpb(j, s, n, JSON_COMPACT);
		s[n] = '\0';
	}
	json_decref(j);
	rep_body(rp, status, s, n);
}

void csc_rep_clear(struct csc_http_rep *rp)
{
	csc_body_free(rp->body);
	csc_body_free(rp->location);    /* may carry an authorization code */
	free(rp->set_cookie);
	free(rp->csp);
	rp->body = rp->location = rp->set_cookie = rp->csp = NULL;
	rp->body_len = 0;
}

void csc_rep_error(struct csc_http_rep *rp, const struct csc_err *e)
{
	csc_body_free(rp->body);
	rp->body = NULL;
	if (e->http == 401)
		rp->www_authenticate = strcmp(e->error, "invalid_token") == 0 ?
		    "Bearer error=\"invalid_token\"" :
		    "Basic realm=\"inkan\", charset=\"UTF-8\"";
	rep_json(rp, e->http, csc_json_error(e));
}

void csc_rep_json(struct csc_http_rep *rp, unsigned status, json_t *j)
{
	rep_json(rp, status, j);
}

bool csc_admit(const struct csc_sam *sam, const char *kind, const char *key,
    struct csc_http_rep *rp)
{
	struct csc_err e;

	if (!sam->admit || sam->admit(sam->admit_ctx, kind, key))
		return true;
	csc_error_set(&e, 429, "too_many_requests",
	    "Too many requests for this account; retry later");
	csc_rep_error(rp, &e);
	rp->retry_after = 1;
	return false;
}

static void fail(struct call *c, const struct csc_err *e)
{
	csc_rep_error(c->rp, e);
}

/* One round trip; on failure the error response is already built. */
static int sam_call(struct call *c, uint32_t type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **rep)
{
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	char detail[256] = "";
	struct csc_err e;
	int r;

	*rep = NULL;
	r = c->sam->call(c->sam->ctx, type, req, desc, rep, &st, detail,
	    sizeof detail);
	detail[sizeof detail - 1] = '\0';
	c->st = r < 0 ? (r == -EPROTO || r == -EBADMSG ?
	    INKAN__STATUS__INTERNAL : INKAN__STATUS__UNAVAILABLE) : st;
	if (r < 0) {
		if (r == -EPROTO || r == -EBADMSG)
			csc_error_set(&e, 500, "server_error", "Internal error");
		else
			csc_error_for(INKAN__STATUS__UNAVAILABLE, c->v, c->m,
			    NULL, &e);
		fail(c, &e);
		return -1;
	}
	if (st != INKAN__STATUS__OK || !*rep) {
		if (*rep)
			protobuf_c_message_free_unpacked(*rep, NULL);
		*rep = NULL;
		csc_error_for(st == INKAN__STATUS__OK ? INKAN__STATUS__INTERNAL :
		    st, c->v, c->m, detail, &e);
		fail(c, &e);
		return -1;
	}
	return 0;
}

int csc_sam_call(const struct csc_sam *sam, enum csc_version v,
    enum csc_method m, uint32_t type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **rep,
    struct csc_http_rep *rp, Inkan__Status *st)
{
	struct call c = { .sam = sam, .v = v, .m = m, .rp = rp };
	int r = sam_call(&c, type, req, desc, rep);

	if (st)
		*st = c.st;
	return r;
}

static void wipe_str(char *s)
{
	if (s)
		sodium_memzero(s, strlen(s));
}

static void do_info(struct call *c)
{
	struct csc_err e;

	if (check_type(c->body, "lang", JSON_STRING, &e) < 0)
		{ fail(c, &e); return; }
	rep_json(c->rp, 200, csc_json_info(c->v, c->sam, c->base_url));
}

static void do_login(struct call *c, const char *authorization)
{
	struct csc_login l;
	struct csc_err e;
	ProtobufCMessage *rep;
	Inkan__LoginRep *lr;

	if (csc_login_parse(authorization, c->body, &l, &e) < 0) {
		csc_login_clear(&l);
		{ fail(c, &e); return; }
	}
	if (!csc_admit(c->sam, "user", l.username, c->rp)) {
		csc_login_clear(&l);
		return;
	}
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_LOGIN_REQ, &l.req.base,
	    &inkan__login_rep__descriptor, &rep) < 0) {
		csc_login_clear(&l);
		return;
	}
	csc_login_clear(&l);
	lr = (Inkan__LoginRep *)rep;
	rep_json(c->rp, 200, csc_json_login(lr));
	wipe_str(lr->access_token);
	protobuf_c_message_free_unpacked(rep, NULL);
}

static void do_revoke(struct call *c)
{
	Inkan__RevokeReq r;
	struct csc_err e;
	ProtobufCMessage *rep;

	if (csc_revoke_parse(c->body, c->token, &r, &e) < 0)
		{ fail(c, &e); return; }
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_REVOKE_REQ, &r.base,
	    &inkan__revoke_rep__descriptor, &rep) < 0)
		return;
	protobuf_c_message_free_unpacked(rep, NULL);
	c->rp->status = 204;
}

/* credentials/info for one id; *out is the JSON object or NULL with the
 * error response built. */
static int cred_info(struct call *c, const char *id,
    const struct csc_info_opts *o, json_t **out, bool *usable)
{
	Inkan__CredInfoReq req = INKAN__CRED_INFO_REQ__INIT;
	Inkan__CredInfoRep *r;
	ProtobufCMessage *rep;
	struct csc_err e;
	time_t now = time(NULL);

	req.access_token = (char *)c->token;
	req.credential_id = (char *)id;
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_CRED_INFO_REQ, &req.base,
	    &inkan__cred_info_rep__descriptor, &rep) < 0)
		return -1;
	r = (Inkan__CredInfoRep *)rep;
	*out = csc_json_cred_info(r, c->v, o, now);
	if (usable) {
		json_t *st = json_object_get(json_object_get(*out, "cert"),
		    "status");

		*usable = r->enabled && st &&
		    strcmp(json_string_value(st), "valid") == 0;
	}
	protobuf_c_message_free_unpacked(rep, NULL);
	if (!*out) {
		csc_error_set(&e, 500, "server_error", "Internal error");
		fail(c, &e);
		return -1;
	}
	return 0;
}

static void do_list(struct call *c)
{
	struct csc_list l;
	struct csc_err e;
	ProtobufCMessage *rep;
	Inkan__ListRep *lr;
	json_t *o = NULL, *ids = NULL, *infos = NULL;
	size_t i, count = 0, end;
	bool ok, need_info;

	if (csc_list_parse(c->body, c->token, &l, &e) < 0)
		{ fail(c, &e); return; }
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_LIST_REQ, &l.req.base,
	    &inkan__list_rep__descriptor, &rep) < 0)
		return;
	lr = (Inkan__ListRep *)rep;
	need_info = l.credential_info || l.only_valid;
	o = json_object();
	ids = json_array();
	infos = json_array();
	ok = o && ids && infos;
	/* Filter first (onlyValid), then page: pageToken is an offset into the
	 * filtered list, so paging is stateless. */
	for (i = 0; ok && i < lr->n_credential_ids; i++) {
		json_t *info = NULL;
		bool usable = true;

		if (need_info) {
			if (cred_info(c, lr->credential_ids[i], &l.opts, &info,
			    &usable) < 0)
				goto out;
			if (!usable && l.only_valid) {
				json_decref(info);
				continue;
			}
			if (!put(info, "credentialID",
			    json_string(lr->credential_ids[i]))) {
				json_decref(info);
				ok = false;
				break;
			}
			ok = push(infos, info);
		}
		ok = push(ids, json_string(lr->credential_ids[i]));
		count++;
	}
	if (ok && l.offset > count) {
		invalid(&e, "pageToken");
		fail(c, &e);
		goto out;
	}
	end = count;
	if (ok && l.max_results > 0 && count - l.offset > (size_t)l.max_results)
		end = l.offset + (size_t)l.max_results;
	if (ok) {
		/* keep [offset, end) */
		while (json_array_size(ids) > end) {
			json_array_remove(ids, end);
			if (need_info)
				json_array_remove(infos, end);
		}
		for (i = 0; i < l.offset; i++) {
			json_array_remove(ids, 0);
			if (need_info)
				json_array_remove(infos, 0);
		}
		ok = put(o, "credentialIDs", ids);
		ids = NULL;
	}
	if (ok && l.credential_info) {
		ok = put(o, "credentialInfos", infos);
		infos = NULL;
	}
	if (ok && end < count) {
		char t[24];

		snprintf(t, sizeof t, "%zu", end);
		ok = put(o, "nextPageToken", json_string(t));
	}
	if (!ok) {
		csc_error_set(&e, 500, "server_error", "Internal error");
		fail(c, &e);
		goto out;
	}
	rep_json(c->rp, 200, o);
	o = NULL;
out:
	json_decref(o);
	json_decref(ids);
	json_decref(infos);
	protobuf_c_message_free_unpacked(rep, NULL);
}

static void do_cred_info(struct call *c)
{
	struct csc_cred_info ci;
	struct csc_err e;
	json_t *j;

	if (csc_cred_info_parse(c->body, c->token, &ci, &e) < 0)
		{ fail(c, &e); return; }
	if (cred_info(c, ci.credential_id, &ci.opts, &j, NULL) < 0)
		return;
	rep_json(c->rp, 200, j);
}

static void do_authorize(struct call *c)
{
	struct csc_authorize a;
	struct csc_err e;
	ProtobufCMessage *rep;
	Inkan__AuthorizeRep *ar;

	if (csc_authorize_parse(c->body, c->token, &a, &e) < 0) {
		csc_authorize_clear(&a);
		{ fail(c, &e); return; }
	}
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_AUTHORIZE_REQ, &a.req.base,
	    &inkan__authorize_rep__descriptor, &rep) < 0) {
		csc_authorize_clear(&a);
		return;
	}
	csc_authorize_clear(&a);
	ar = (Inkan__AuthorizeRep *)rep;
	rep_json(c->rp, 200, csc_json_authorize(ar));
	wipe_str(ar->sad);
	protobuf_c_message_free_unpacked(rep, NULL);
}

static void do_sign(struct call *c)
{
	struct csc_sign s;
	struct csc_err e;
	ProtobufCMessage *rep;

	if (csc_sign_parse(c->body, c->bearer, &s, &e) < 0) {
		csc_sign_clear(&s);
		{ fail(c, &e); return; }
	}
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_SIGN_REQ, &s.req.base,
	    &inkan__sign_rep__descriptor, &rep) < 0) {
		csc_sign_clear(&s);
		return;
	}
	csc_sign_clear(&s);
	{
		size_t n = 0;
		char *body = csc_sign_body((Inkan__SignRep *)rep, &n);

		rep_body(c->rp, 200, body, n);
	}
	protobuf_c_message_free_unpacked(rep, NULL);
}

/* credentials/extendTransaction: a fresh SAD for the old one's unused hashes
 * and remaining count (SAM: sam_sad_extend). hashes/hash, when sent, are
 * checked for form only: the new SAD covers exactly what the old one still
 * covered. A credential-scope token works as in signHash. */
int csc_extend_parse(const json_t *body, const char *token,
    struct csc_extend *x, struct csc_err *e)
{
	struct csc_hashes h = { 0 };
	char *bearer_sad = NULL, *field_sad = NULL;
	size_t tl = token ? strlen(token) : 0;
	char tmp[CSC_MAX_SAD + 1];
	int r;

	memset(x, 0, sizeof *x);
	inkan__extend_req__init(&x->req);
	if (tl > CSC_MAX_TOKEN) {
		csc_error_set(e, 401, "invalid_token",
		    "Missing or invalid access token");
		return -1;
	}
	memcpy(x->access, token ? token : "", tl + 1);
	csc_split_cred_token(x->access, &bearer_sad);
	if (get_str(body, "credentialID", NULL, true, STR_IDENT,
	    CSC_MAX_CRED_ID, x->credential_id, e) < 0 ||
	    get_str(body, "SAD", NULL, bearer_sad == NULL, STR_IDENT,
	    CSC_MAX_SAD, x->sad, e) < 0)
		return -1;
	r = get_hashes(body, false, &h, e);
	hashes_clear(&h);
	if (r < 0 || check_client_data(body, e) < 0)
		return -1;
	if (!x->sad[0]) {
		memmove(x->sad, bearer_sad, strlen(bearer_sad) + 1);
	} else {
		memcpy(tmp, x->sad, sizeof tmp);
		csc_split_cred_token(tmp, &field_sad);
		if (field_sad) {
			memcpy(x->access, tmp, strlen(tmp) + 1);
			memmove(x->sad, field_sad, strlen(field_sad) + 1);
		}
		sodium_memzero(tmp, sizeof tmp);
	}
	x->req.access_token = x->access;
	x->req.credential_id = x->credential_id;
	x->req.sad = x->sad;
	return 0;
}

static void do_extend(struct call *c)
{
	struct csc_extend x;
	struct csc_err e;
	ProtobufCMessage *rep;
	Inkan__ExtendRep *xr;
	json_t *j;

	if (csc_extend_parse(c->body, c->bearer, &x, &e) < 0) {
		sodium_memzero(&x, sizeof x);
		{ fail(c, &e); return; }
	}
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_EXTEND_REQ, &x.req.base,
	    &inkan__extend_rep__descriptor, &rep) < 0) {
		sodium_memzero(&x, sizeof x);
		return;
	}
	sodium_memzero(&x, sizeof x);
	xr = (Inkan__ExtendRep *)rep;
	j = json_pack("{s:s, s:I}", "SAD", xr->sad, "expiresIn",
	    (json_int_t)xr->expires_in);
	rep_json(c->rp, 200, j);
	wipe_str(xr->sad);
	protobuf_c_message_free_unpacked(rep, NULL);
}

/* credentials/create (issue 7; docs/csc-api.md). The SAM checks the
 * factors, the identification code and the key type; here only form. */
#define CSC_ID_CODE_MAX 64
static const struct {
	const char *algo;
	long long len;
	Inkan__KeyType kt;
} create_keys[] = {
	{ "1.2.840.10045.2.1", 256, INKAN__KEY_TYPE__KEY_EC_P256 },
	{ "1.2.840.10045.2.1", 384, INKAN__KEY_TYPE__KEY_EC_P384 },
	{ "1.2.840.113549.1.1.1", 2048, INKAN__KEY_TYPE__KEY_RSA_2048 },
	{ "1.2.840.113549.1.1.1", 3072, INKAN__KEY_TYPE__KEY_RSA_3072 },
};

int csc_create_parse(const json_t *body, const char *token,
    struct csc_create *x, struct csc_err *e)
{
	struct factor pin = { NULL, 0 }, otp = { NULL, 0 };
	char algo[CSC_MAX_OID + 1];
	const json_t *j;
	long long len = 0;
	size_t n, o = 0;
	int r;

	memset(x, 0, sizeof *x);
	inkan__cred_create_req__init(&x->req);
	x->req.access_token = (char *)token;
	if (get_str(body, "keyAlgo", NULL, true, STR_OID, CSC_MAX_OID, algo,
	    e) < 0)
		return -1;
	r = get_int(body, "keyLength", 1, 16384, &len, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return missing(e, "keyLength");
	for (size_t i = 0; i < sizeof create_keys / sizeof create_keys[0]; i++)
		if (!strcmp(algo, create_keys[i].algo) && len == create_keys[i].len)
			x->req.key_type = create_keys[i].kt;
	if (x->req.key_type == INKAN__KEY_TYPE__KEY_NONE)
		return invalid(e, "keyAlgo");
	r = get_str(body, "replaces", NULL, false, STR_IDENT, CSC_MAX_CRED_ID,
	    x->replaces, e);
	if (r < 0)
		return -1;
	if (r > 0)
		x->req.replaces = x->replaces;
	j = json_object_get(body, "identificationCode");
	if (!j)
		return missing(e, "identificationCode");
	n = json_is_string(j) ? json_string_length(j) : 0;
	if (!json_is_string(j) || n == 0 || n > CSC_ID_CODE_MAX ||
	    !ident_ok(json_string_value(j), n))
		return invalid(e, "identificationCode");
	if (check_client_data(body, e) < 0 || get_factors(body, &pin, &otp, e) < 0)
		return -1;
	x->secret = sodium_malloc(CSC_MAX_PIN + CSC_MAX_OTP + CSC_ID_CODE_MAX);
	if (!x->secret) {
		csc_error_set(e, 500, "server_error", "Out of memory");
		return -1;
	}
	if (pin.v) {
		memcpy(x->secret + o, pin.v, pin.n);
		x->req.has_pin = 1;
		x->req.pin.data = x->secret + o;
		x->req.pin.len = pin.n;
		o += pin.n;
	}
	if (otp.v) {
		memcpy(x->secret + o, otp.v, otp.n);
		x->req.has_otp = 1;
		x->req.otp.data = x->secret + o;
		x->req.otp.len = otp.n;
		o += otp.n;
	}
	memcpy(x->secret + o, json_string_value(j), n);
	x->req.id_code.data = x->secret + o;
	x->req.id_code.len = n;
	return 0;
}

void csc_create_clear(struct csc_create *x)
{
	if (x->secret)
		sodium_free(x->secret);     /* zeroed by libsodium */
	x->secret = NULL;
}

static void do_create(struct call *c)
{
	struct csc_create x;
	struct csc_err e;
	ProtobufCMessage *rep;
	Inkan__CredCreateRep *cr;

	if (c->v != CSC_V2) {
		csc_error_set(&e, 501, "not_implemented",
		    "Method not implemented");
		fail(c, &e);
		return;
	}
	if (csc_create_parse(c->body, c->token, &x, &e) < 0) {
		csc_create_clear(&x);
		fail(c, &e);
		return;
	}
	if (sam_call(c, INKAN__MSG_TYPE__SIGNER_CRED_CREATE_REQ, &x.req.base,
	    &inkan__cred_create_rep__descriptor, &rep) < 0) {
		csc_create_clear(&x);
		return;
	}
	csc_create_clear(&x);
	cr = (Inkan__CredCreateRep *)rep;
	rep_json(c->rp, 200, json_pack("{s:s, s:o}", "credentialID",
	    cr->credential_id, "csr", json_b64(cr->csr.data, cr->csr.len)));
	protobuf_c_message_free_unpacked(rep, NULL);
}

void csc_handle(const struct csc_sam *sm, const struct csc_http_req *rq,
    struct csc_http_rep *rp)
{
	char token[CSC_MAX_TOKEN + 1], bearer[CSC_MAX_TOKEN + 1];
	struct call c = { .sam = sm, .rp = rp, .token = token,
	    .bearer = bearer, .base_url = rq->base_url };
	struct csc_err e;
	json_t *body = NULL;
	char *cred_sad = NULL;
	bool get, post;
	int r;

	memset(rp, 0, sizeof *rp);
	token[0] = bearer[0] = '\0';
	if (rq->path && strcmp(rq->path, CSC_CSS_PATH) == 0) {
		oauth_css(rq, rp);
		return;
	}
	r = csc_route(rq->path, &c.v, &c.m);
	if (r == -ENOENT) {
		csc_error_set(&e, 404, "invalid_request", "Unknown path");
		{ csc_rep_error(rp, &e); return; }
	}
	if (r < 0 || !method_served(sm, c.m)) {
		csc_error_set(&e, 501, "not_implemented",
		    "Method not implemented");
		{ csc_rep_error(rp, &e); return; }
	}
	get = rq->method && strcmp(rq->method, "GET") == 0;
	post = rq->method && strcmp(rq->method, "POST") == 0;
	if (!post && !(get && (c.m == CSC_INFO || c.m == CSC_OAUTH_AUTHORIZE))) {
		csc_error_set(&e, 405, "invalid_request",
		    "HTTP method not allowed");
		csc_rep_error(rp, &e);
		rp->allow = (c.m == CSC_INFO || c.m == CSC_OAUTH_AUTHORIZE) ?
		    "GET, POST" : "POST";
		return;
	}
	if (rq->body_too_large) {
		csc_error_set(&e, 413, "invalid_request",
		    "Request body too large");
		{ csc_rep_error(rp, &e); return; }
	}
	if (c.m == CSC_OAUTH_AUTHORIZE || c.m == CSC_OAUTH_TOKEN ||
	    c.m == CSC_OAUTH_REVOKE) {
		/* Form bodies and query strings, HTML for the consent page. */
		oauth_handle(sm, c.v, c.m, rq, rp);
		return;
	}
	if (csc_parse_body(get ? "" : rq->body, get ? 0 : rq->body_len, &body,
	    &e) < 0)
		{ csc_rep_error(rp, &e); return; }
	c.body = body;
	if (c.m != CSC_INFO && c.m != CSC_AUTH_LOGIN) {
		if (csc_parse_bearer(rq->authorization, bearer, sizeof bearer,
		    &e) < 0) {
			json_decref(body);
			{ csc_rep_error(rp, &e); return; }
		}
		memcpy(token, bearer, sizeof token);
		csc_split_cred_token(token, &cred_sad);
		if (!csc_admit(sm, "token", token, rp)) {
			json_decref(body);
			sodium_memzero(token, sizeof token);
			sodium_memzero(bearer, sizeof bearer);
			return;
		}
	}
	switch (c.m) {
	case CSC_INFO:
		do_info(&c);
		break;
	case CSC_AUTH_LOGIN:
		do_login(&c, rq->authorization);
		break;
	case CSC_AUTH_REVOKE:
		do_revoke(&c);
		break;
	case CSC_CRED_LIST:
		do_list(&c);
		break;
	case CSC_CRED_INFO:
		do_cred_info(&c);
		break;
	case CSC_CRED_AUTHORIZE:
		do_authorize(&c);
		break;
	case CSC_SIGN_HASH:
		do_sign(&c);
		break;
	case CSC_CRED_EXTEND:
		do_extend(&c);
		break;
	case CSC_CRED_CREATE:
		do_create(&c);
		break;
	case CSC_OAUTH_AUTHORIZE:
	case CSC_OAUTH_TOKEN:
	case CSC_OAUTH_REVOKE:
	case CSC_N_METHODS:
		csc_error_set(&e, 501, "not_implemented",
		    "Method not implemented");
		csc_rep_error(rp, &e);
		break;
	}
	json_decref(body);
	sodium_memzero(token, sizeof token);
	sodium_memzero(bearer, sizeof bearer);
}
