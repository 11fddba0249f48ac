/* csc_client.c — CSC API client calls for inkan-sign over libcurl + jansson.
 * SECURITY: the password, PIN, OTP, access token and SAD are handled only in
 * sodium_malloc'd buffers here; JSON trees use an allocator that wipes every
 * block on free; request bodies and header strings are wiped after each call.
 * libcurl's internal send buffer is the one copy this file cannot wipe.
 * Server-supplied text is sanitised before it is kept for messages. */
#include "csc_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "inkan-config.h"

/* Longest access token or SAD we keep (other CSC services use JWTs). */
#define CSC_TOKEN_MAX 8192
/* Longest certificate, and most certificates in a chain. */
#define CSC_CERT_MAX (64 * 1024)
#define CSC_CHAIN_MAX 16
#define CSC_ALGOS_MAX 64
#define CSC_SIG_MAX 2048
/* Longest server error text we repeat. */
#define CSC_ERRTEXT_MAX 200

struct csc_client {
	CURL *curl;
	char *base;                 /* without trailing '/' */
	int api;                    /* 1 or 2 */
	char *token;                /* sodium_malloc'd access token or NULL */
	size_t token_size;
	char err[512];
	char curl_err[CURL_ERROR_SIZE];
};

/* ---- allocation that wipes ------------------------------------------- */

/* jansson copies every string it holds (tokens, SAD, PIN in requests):
 * give it blocks that remember their size and are wiped on free. */
#define HDR 16
static void *json_wiping_malloc(size_t n)
{
	uint8_t *p;

	if (n > SIZE_MAX - HDR)
		return NULL;
	p = malloc(n + HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + HDR;
}

static void json_wiping_free(void *ptr)
{
	uint8_t *p;
	size_t n;

	if (ptr == NULL)
		return;
	p = (uint8_t *)ptr - HDR;
	memcpy(&n, p, sizeof(n));
	sodium_memzero(p, n + HDR);
	free(p);
}

/* A response body: grows by copy-and-wipe so no stale copy stays behind. */
struct rbuf {
	uint8_t *p;
	size_t len, cap;
	int too_big;
};

static void rbuf_free(struct rbuf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct rbuf *b = arg;
	size_t n = size * nmemb;

	if (n > CSC_RESPONSE_MAX - b->len) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = malloc(cap);
		if (np == NULL)
			return 0;
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* ---- small helpers ---------------------------------------------------- */

static void set_err(struct csc_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(struct csc_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* Printable ASCII only, bounded: server text must not drive the terminal. */
static void sanitise(const char *in, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; in != NULL && in[i] != '\0' && n + 1 < outlen &&
	    n < CSC_ERRTEXT_MAX; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[n] = '\0';
}

/* Token or SAD: 1..CSC_TOKEN_MAX visible ASCII (it goes into a header). */
static int token_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > CSC_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static char *secure_strndup(const char *s, size_t len, size_t *size)
{
	char *p = sodium_malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	*size = len + 1;
	return p;
}

static void secure_strfree(char *p, size_t size)
{
	if (p != NULL) {
		sodium_memzero(p, size);
		sodium_free(p);
	}
}

static json_t *b64_json(const uint8_t *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	json_t *j;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(s);
	free(s);
	return j;
}

/* Standard base64, padded or not, whitespace ignored. */
static int b64_decode(const char *s, size_t max, uint8_t **out, size_t *outlen)
{
	size_t slen = strlen(s), cap = slen / 4 * 3 + 3, n = 0;
	uint8_t *buf;

	if (slen == 0 || cap > max + 3)
		return -EINVAL;
	buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	if (sodium_base642bin(buf, cap, s, slen, " \t\r\n", &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 &&
	    sodium_base642bin(buf, cap, s, slen, " \t\r\n", &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
		free(buf);
		return -EINVAL;
	}
	if (n == 0 || n > max) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/* ---- client ----------------------------------------------------------- */

int csc_client_new(const char *base_url, const char *cacert, int api,
    struct csc_client **out)
{
	struct csc_client *c;
	size_t n;

	if (api != 1 && api != 2)
		return -EINVAL;
	if (strncmp(base_url, "https://", 8) != 0 &&
	    strncmp(base_url, "http://", 7) != 0)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	json_set_alloc_funcs(json_wiping_malloc, json_wiping_free);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	c->api = api;
	c->base = strdup(base_url);
	if (c->base == NULL)
		goto nomem;
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		goto nomem;

#define SETOPT(opt, val) do { \
	if (curl_easy_setopt(c->curl, opt, val) != CURLE_OK) goto nomem; \
	} while (0)
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);    /* never re-send credentials */
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT, 15L);
	SETOPT(CURLOPT_TIMEOUT, 120L);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CSC_RESPONSE_MAX);
	SETOPT(CURLOPT_ERRORBUFFER, c->curl_err);
	SETOPT(CURLOPT_USERAGENT, "inkan-sign/" INKAN_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	if (cacert != NULL)
		SETOPT(CURLOPT_CAINFO, cacert);
#undef SETOPT
	*out = c;
	return 0;
nomem:
	csc_client_free(c);
	return -ENOMEM;
}

void csc_client_free(struct csc_client *c)
{
	if (c == NULL)
		return;
	secure_strfree(c->token, c->token_size);
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free(c);
	curl_global_cleanup();
}

const char *csc_error(const struct csc_client *c)
{
	return c->err[0] ? c->err : "unknown error";
}

enum auth_kind { AUTH_NONE, AUTH_BEARER };

/* POST one method. extra_auth (a full "Authorization: ..." line in sodium
 * memory) overrides the bearer token. On success *reply is the JSON object
 * answered. -EIO transport, -EACCES HTTP error, -EPROTO unusable answer. */
static int csc_post_raw(struct csc_client *c, const char *method,
    const char *ctype, const char *data, size_t data_len,
    enum auth_kind auth, const char *extra_auth, json_t **reply);

static int csc_post(struct csc_client *c, const char *method, json_t *body,
    enum auth_kind auth, const char *extra_auth, json_t **reply)
{
	char *json;
	size_t json_size;
	int r;

	*reply = NULL;
	json_size = json_dumpb(body, NULL, 0, JSON_COMPACT);
	if (json_size == 0) {
		set_err(c, "%s: out of memory", method);
		return -ENOMEM;
	}
	json = sodium_malloc(json_size);
	if (json == NULL ||
	    json_dumpb(body, json, json_size, JSON_COMPACT) != json_size) {
		secure_strfree(json, json_size);
		set_err(c, "%s: out of memory", method);
		return -ENOMEM;
	}
	r = csc_post_raw(c, method, "Content-Type: application/json", json,
	    json_size, auth, extra_auth, reply);
	secure_strfree(json, json_size);
	return r;
}

/* POST data (Content-Type line ctype) to <base>/csc/v<api>/<method>. */
static int csc_post_raw(struct csc_client *c, const char *method,
    const char *ctype, const char *data, size_t data_len,
    enum auth_kind auth, const char *extra_auth, json_t **reply)
{
	struct curl_slist *hdrs = NULL, *h, *tmp;
	struct rbuf resp = { 0 };
	char *url = NULL, *bearer = NULL;
	size_t bearer_size = 0;
	long code = 0;
	json_t *root = NULL;
	json_error_t jerr;
	CURLcode cr;
	int r = -ENOMEM;

	*reply = NULL;
	c->err[0] = '\0';
	c->curl_err[0] = '\0';
	if (asprintf(&url, "%s/csc/v%d/%s", c->base, c->api, method) < 0) {
		url = NULL;
		goto out;
	}
	tmp = curl_slist_append(hdrs, ctype);
	if (tmp == NULL)
		goto out;
	hdrs = tmp;
	tmp = curl_slist_append(hdrs, "Accept: application/json");
	if (tmp == NULL)
		goto out;
	hdrs = tmp;
	tmp = curl_slist_append(hdrs, "Expect:");
	if (tmp == NULL)
		goto out;
	hdrs = tmp;
	if (extra_auth != NULL) {
		tmp = curl_slist_append(hdrs, extra_auth);
		if (tmp == NULL)
			goto out;
		hdrs = tmp;
	} else if (auth == AUTH_BEARER) {
		if (c->token == NULL) {
			set_err(c, "not logged in");
			r = -EINVAL;
			goto out;
		}
		bearer_size = strlen(c->token) + sizeof("Authorization: Bearer ");
		bearer = sodium_malloc(bearer_size);
		if (bearer == NULL)
			goto out;
		snprintf(bearer, bearer_size, "Authorization: Bearer %s", c->token);
		tmp = curl_slist_append(hdrs, bearer);
		if (tmp == NULL)
			goto out;
		hdrs = tmp;
	}

	if (curl_easy_setopt(c->curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	        (curl_off_t)(data_len)) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, data) != CURLE_OK ||
	    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &resp) != CURLE_OK)
		goto out;

	cr = curl_easy_perform(c->curl);
	(void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	(void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	if (cr != CURLE_OK) {
		if (resp.too_big || cr == CURLE_FILESIZE_EXCEEDED)
			set_err(c, "%s: response larger than %u bytes", method,
			    CSC_RESPONSE_MAX);
		else
			set_err(c, "%s: %s", method, c->curl_err[0] ?
			    c->curl_err : curl_easy_strerror(cr));
		r = (resp.too_big || cr == CURLE_FILESIZE_EXCEEDED) ? -EPROTO : -EIO;
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);

	if (resp.len > 0)
		root = json_loadb((const char *)resp.p, resp.len,
		    JSON_REJECT_DUPLICATES, &jerr);
	if (code < 200 || code > 299) {
		const char *e = NULL, *d = NULL;
		char es[CSC_ERRTEXT_MAX + 1], ds[CSC_ERRTEXT_MAX + 1];

		if (json_is_object(root)) {
			e = json_string_value(json_object_get(root, "error"));
			d = json_string_value(json_object_get(root, "error_description"));
		}
		sanitise(e, es, sizeof(es));
		sanitise(d, ds, sizeof(ds));
		if (es[0] && ds[0])
			set_err(c, "%s: HTTP %ld %s: %s", method, code, es, ds);
		else if (es[0])
			set_err(c, "%s: HTTP %ld %s", method, code, es);
		else
			set_err(c, "%s: HTTP %ld", method, code);
		r = -EACCES;
		goto out;
	}
	if (!json_is_object(root)) {
		set_err(c, "%s: answer is not a JSON object", method);
		r = -EPROTO;
		goto out;
	}
	*reply = root;
	root = NULL;
	r = 0;
out:
	if (r == -ENOMEM && c->err[0] == '\0')
		set_err(c, "%s: out of memory", method);
	json_decref(root);
	rbuf_free(&resp);
	for (h = hdrs; h != NULL; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);
	secure_strfree(bearer, bearer_size);
	free(url);
	return r;
}

/* ---- methods ---------------------------------------------------------- */

int csc_login(struct csc_client *c, const char *user, const struct secret *password)
{
	size_t ulen = strlen(user), cred_len, b64_size, hdr_size;
	char *cred = NULL, *b64 = NULL, *hdr = NULL;
	json_t *body = NULL, *rep = NULL;
	const char *tok;
	int r = -ENOMEM;

	if (ulen == 0 || strchr(user, ':') != NULL) {
		set_err(c, "user name must be non-empty and have no ':'");
		return -EINVAL;
	}
	cred_len = ulen + 1 + password->len;
	b64_size = sodium_base64_ENCODED_LEN(cred_len, sodium_base64_VARIANT_ORIGINAL);
	hdr_size = b64_size + sizeof("Authorization: Basic ");
	cred = sodium_malloc(cred_len);
	b64 = sodium_malloc(b64_size);
	hdr = sodium_malloc(hdr_size);
	body = json_object();
	if (cred == NULL || b64 == NULL || hdr == NULL || body == NULL)
		goto out;
	memcpy(cred, user, ulen);
	cred[ulen] = ':';
	memcpy(cred + ulen + 1, password->buf, password->len);
	sodium_bin2base64(b64, b64_size, (const unsigned char *)cred, cred_len,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(hdr, hdr_size, "Authorization: Basic %s", b64);

	r = csc_post(c, "auth/login", body, AUTH_NONE, hdr, &rep);
	if (r < 0)
		goto out;
	tok = json_string_value(json_object_get(rep, "access_token"));
	if (tok == NULL || !token_ok(tok, strlen(tok))) {
		set_err(c, "auth/login: no usable access_token in the answer");
		r = -EPROTO;
		goto out;
	}
	secure_strfree(c->token, c->token_size);
	c->token = secure_strndup(tok, strlen(tok), &c->token_size);
	r = c->token != NULL ? 0 : -ENOMEM;
out:
	json_decref(rep);
	json_decref(body);
	secure_strfree(hdr, hdr_size);
	secure_strfree(b64, b64_size);
	secure_strfree(cred, cred_len);
	return r;
}

void csc_logout(struct csc_client *c)
{
	json_t *body, *rep = NULL;

	if (c->token == NULL)
		return;
	body = json_object();
	if (body != NULL &&
	    json_object_set_new(body, "token", json_string(c->token)) == 0 &&
	    json_object_set_new(body, "token_type_hint", json_string("access_token")) == 0)
		(void)csc_post(c, "auth/revoke", body, AUTH_BEARER, NULL, &rep);
	json_decref(rep);
	json_decref(body);
	secure_strfree(c->token, c->token_size);
	c->token = NULL;
	c->token_size = 0;
}

void csc_cred_info_free(struct csc_cred_info *info)
{
	size_t i;

	for (i = 0; i < info->n_algos; i++)
		free(info->algos[i]);
	free(info->algos);
	X509_free(info->cert);
	sk_X509_pop_free(info->chain, X509_free);
	memset(info, 0, sizeof(*info));
}

static int oid_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.')
			return 0;
	return 1;
}

static X509 *cert_from_b64(const char *s)
{
	uint8_t *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509 *x;

	if (s == NULL || b64_decode(s, CSC_CERT_MAX, &der, &len) < 0)
		return NULL;
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	free(der);
	return x;
}

int csc_credential_info(struct csc_client *c, const char *cred_id,
    struct csc_cred_info *out)
{
	json_t *body = NULL, *rep = NULL, *key, *cert, *algo, *certs, *v;
	const char *status;
	size_t i;
	int r = -ENOMEM;

	memset(out, 0, sizeof(*out));
	body = json_pack("{s:s, s:s, s:b}", "credentialID", cred_id,
	    "certificates", "chain", "certInfo", 1);
	if (body == NULL) {
		set_err(c, "credentials/info: credential id is not valid UTF-8");
		return -EINVAL;
	}
	r = csc_post(c, "credentials/info", body, AUTH_BEARER, NULL, &rep);
	if (r < 0)
		goto out;

	r = -EPROTO;
	key = json_object_get(rep, "key");
	cert = json_object_get(rep, "cert");
	algo = json_object_get(key, "algo");
	certs = json_object_get(cert, "certificates");
	if (!json_is_array(algo) || json_array_size(algo) == 0 ||
	    json_array_size(algo) > CSC_ALGOS_MAX) {
		set_err(c, "credentials/info: no usable key.algo in the answer");
		goto out;
	}
	if (!json_is_array(certs) || json_array_size(certs) == 0 ||
	    json_array_size(certs) > CSC_CHAIN_MAX) {
		set_err(c, "credentials/info: no certificate in the answer "
		    "(is one imported for this credential?)");
		goto out;
	}
	status = json_string_value(json_object_get(key, "status"));
	if (status != NULL)
		sanitise(status, out->key_status, sizeof(out->key_status));

	out->algos = calloc(json_array_size(algo), sizeof(char *));
	if (out->algos == NULL) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(algo, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || !oid_ok(s)) {
			set_err(c, "credentials/info: key.algo holds a bad OID");
			goto out;
		}
		out->algos[out->n_algos] = strdup(s);
		if (out->algos[out->n_algos] == NULL) {
			r = -ENOMEM;
			goto out;
		}
		out->n_algos++;
	}

	out->chain = sk_X509_new_null();
	if (out->chain == NULL) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(certs, i, v) {
		X509 *x = cert_from_b64(json_string_value(v));

		if (x == NULL) {
			set_err(c, "credentials/info: certificate %zu is not base64 DER X.509", i);
			goto out;
		}
		if (i == 0) {
			out->cert = x;
		} else if (!sk_X509_push(out->chain, x)) {
			X509_free(x);
			r = -ENOMEM;
			goto out;
		}
	}
	r = 0;
out:
	if (r < 0)
		csc_cred_info_free(out);
	json_decref(rep);
	json_decref(body);
	return r;
}

void csc_sad_free(char *sad)
{
	if (sad != NULL)
		secure_strfree(sad, strlen(sad) + 1);
}

static json_t *secret_json(const struct secret *s)
{
	return json_stringn(s->buf, s->len);
}

int csc_authorize(struct csc_client *c, const char *cred_id,
    const uint8_t *hash, size_t hash_len, const char *hash_oid,
    const struct secret *pin, const struct secret *otp,
    const char *description, char **sad)
{
	json_t *body = NULL, *rep = NULL, *hashes = NULL, *pj = NULL, *oj = NULL;
	const char *s;
	size_t size;
	int r = -ENOMEM;

	*sad = NULL;
	pj = secret_json(pin);
	oj = secret_json(otp);
	if (pj == NULL || oj == NULL) {
		set_err(c, "credentials/authorize: PIN or OTP is not valid UTF-8");
		r = -EINVAL;
		goto out;
	}
	hashes = json_array();
	if (hashes == NULL || json_array_append_new(hashes, b64_json(hash, hash_len)) < 0)
		goto out;
	if (c->api == 2) {
		json_t *auth = json_pack("[{s:s, s:O}, {s:s, s:O}]",
		    "id", "PIN", "value", pj, "id", "OTP", "value", oj);

		body = json_pack("{s:s, s:i, s:O, s:s, s:o}",
		    "credentialID", cred_id, "numSignatures", 1, "hashes", hashes,
		    "hashAlgorithmOID", hash_oid, "authData", auth);
	} else {
		body = json_pack("{s:s, s:i, s:O, s:O, s:O}",
		    "credentialID", cred_id, "numSignatures", 1, "hash", hashes,
		    "PIN", pj, "OTP", oj);
	}
	if (body == NULL)
		goto out;
	if (description != NULL &&
	    json_object_set_new(body, "description", json_string(description)) < 0)
		goto out;

	r = csc_post(c, "credentials/authorize", body, AUTH_BEARER, NULL, &rep);
	if (r < 0)
		goto out;
	s = json_string_value(json_object_get(rep, "SAD"));
	if (s == NULL || !token_ok(s, strlen(s))) {
		set_err(c, "credentials/authorize: no usable SAD in the answer");
		r = -EPROTO;
		goto out;
	}
	*sad = secure_strndup(s, strlen(s), &size);
	r = *sad != NULL ? 0 : -ENOMEM;
out:
	if (r == -ENOMEM && c->err[0] == '\0')
		set_err(c, "credentials/authorize: out of memory");
	json_decref(rep);
	json_decref(body);
	json_decref(hashes);
	json_decref(pj);
	json_decref(oj);
	return r;
}

/* A credential id as the service writes it: 1..64 of [A-Za-z0-9._-]. */
static int cred_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

int csc_create(struct csc_client *c, const char *key_algo, int key_len,
    const struct secret *pin, const struct secret *otp,
    const struct secret *id_code, const char *replaces, char **cred_id,
    uint8_t **csr, size_t *csr_len)
{
	json_t *body = NULL, *rep = NULL, *pj = NULL, *oj = NULL, *cj = NULL;
	const char *id;
	int r = -ENOMEM;

	*cred_id = NULL;
	*csr = NULL;
	*csr_len = 0;
	if (c->api != 2) {
		set_err(c, "credentials/create: a CSC v2 method");
		return -EINVAL;
	}
	pj = secret_json(pin);
	oj = secret_json(otp);
	cj = secret_json(id_code);
	if (pj == NULL || oj == NULL || cj == NULL) {
		set_err(c, "credentials/create: PIN, OTP or identification code "
		    "is not valid UTF-8");
		r = -EINVAL;
		goto out;
	}
	body = json_pack("{s:s, s:i, s:O, s:O, s:O}", "keyAlgo", key_algo,
	    "keyLength", key_len, "PIN", pj, "OTP", oj,
	    "identificationCode", cj);
	if (body == NULL)
		goto out;
	if (replaces != NULL &&
	    json_object_set_new(body, "replaces", json_string(replaces)) < 0)
		goto out;
	r = csc_post(c, "credentials/create", body, AUTH_BEARER, NULL, &rep);
	if (r < 0)
		goto out;
	id = json_string_value(json_object_get(rep, "credentialID"));
	if (!cred_id_ok(id) ||
	    !json_is_string(json_object_get(rep, "csr")) ||
	    b64_decode(json_string_value(json_object_get(rep, "csr")),
	    CSC_CERT_MAX, csr, csr_len) < 0) {
		set_err(c, "credentials/create: no usable credentialID and CSR "
		    "in the answer");
		r = -EPROTO;
		goto out;
	}
	if ((*cred_id = strdup(id)) == NULL) {
		free(*csr);
		*csr = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = 0;
out:
	if (r == -ENOMEM && c->err[0] == '\0')
		set_err(c, "credentials/create: out of memory");
	json_decref(rep);
	json_decref(body);
	json_decref(pj);
	json_decref(oj);
	json_decref(cj);
	return r;
}

int csc_sign_hash(struct csc_client *c, const char *cred_id, const char *sad,
    const uint8_t *hash, size_t hash_len, const char *hash_oid,
    const char *sign_oid, uint8_t **sig, size_t *sig_len)
{
	json_t *body = NULL, *rep = NULL, *hashes = NULL, *sigs;
	int r = -ENOMEM;

	*sig = NULL;
	hashes = json_array();
	if (hashes == NULL || json_array_append_new(hashes, b64_json(hash, hash_len)) < 0)
		goto out;
	if (c->api == 2)
		body = json_pack("{s:s, s:O, s:s, s:s}",
		    "credentialID", cred_id, "hashes", hashes,
		    "hashAlgorithmOID", hash_oid, "signAlgo", sign_oid);
	else
		body = json_pack("{s:s, s:O, s:s, s:s}",
		    "credentialID", cred_id, "hash", hashes,
		    "hashAlgo", hash_oid, "signAlgo", sign_oid);
	if (body == NULL)
		goto out;
	if (sad != NULL && json_object_set_new(body, "SAD", json_string(sad)) < 0)
		goto out;

	r = csc_post(c, "signatures/signHash", body, AUTH_BEARER, NULL, &rep);
	if (r < 0)
		goto out;
	sigs = json_object_get(rep, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) != 1 ||
	    !json_is_string(json_array_get(sigs, 0)) ||
	    b64_decode(json_string_value(json_array_get(sigs, 0)), CSC_SIG_MAX,
	        sig, sig_len) < 0) {
		set_err(c, "signatures/signHash: answer does not hold exactly one "
		    "base64 signature");
		r = -EPROTO;
		goto out;
	}
	r = 0;
out:
	if (r == -ENOMEM && c->err[0] == '\0')
		set_err(c, "signatures/signHash: out of memory");
	json_decref(rep);
	json_decref(body);
	json_decref(hashes);
	return r;
}

/* ---- OAuth2 ------------------------------------------------------------ */

static void urlenc(char *out, size_t outlen, size_t *n, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			if (*n + 1 < outlen)
				out[(*n)++] = (char)ch;
		} else if (*n + 3 < outlen) {
			out[(*n)++] = '%';
			out[(*n)++] = hex[ch >> 4];
			out[(*n)++] = hex[ch & 15];
		}
	}
	out[*n] = '\0';
}

static void add_param(char *out, size_t outlen, size_t *n, const char *key,
    const char *val)
{
	if (val == NULL)
		return;
	if (*n > 0 && *n + 1 < outlen)
		out[(*n)++] = '&';
	urlenc(out, outlen, n, key, strlen(key));
	if (*n + 1 < outlen)
		out[(*n)++] = '=';
	urlenc(out, outlen, n, val, strlen(val));
}

static char *b64url(const uint8_t *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(n);

	if (s != NULL)
		sodium_bin2base64(s, n, bin, len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

char *csc_oauth_url(const struct csc_client *c, const struct csc_oauth_req *r)
{
	size_t cap = 8192, n = 0;
	char *q = malloc(cap), *url = NULL, *h = NULL, *lab = NULL, num[4];

	if (q == NULL)
		return NULL;
	q[0] = '\0';
	add_param(q, cap, &n, "response_type", "code");
	add_param(q, cap, &n, "client_id", r->client_id);
	add_param(q, cap, &n, "redirect_uri", r->redirect_uri);
	add_param(q, cap, &n, "scope", r->scope);
	add_param(q, cap, &n, "state", r->state);
	add_param(q, cap, &n, "code_challenge", r->challenge);
	add_param(q, cap, &n, "code_challenge_method", "S256");
	add_param(q, cap, &n, "lang", r->lang);
	if (strcmp(r->scope, "credential") == 0) {
		h = b64url(r->hash, r->hash_len);
		if (r->label != NULL)
			lab = b64url((const uint8_t *)r->label, strlen(r->label));
		snprintf(num, sizeof(num), "1");
		add_param(q, cap, &n, "credentialID", r->cred_id);
		add_param(q, cap, &n, "numSignatures", num);
		add_param(q, cap, &n, c->api == 2 ? "hashes" : "hash", h);
		add_param(q, cap, &n, "hashAlgorithmOID", r->hash_oid);
		add_param(q, cap, &n, "description", r->description);
		add_param(q, cap, &n, "labels", lab);
	}
	if (asprintf(&url, "%s/csc/v%d/oauth2/authorize?%s", c->base, c->api,
	    q) < 0)
		url = NULL;
	free(q);
	free(h);
	free(lab);
	return url;
}

void csc_pkce_new(char *verifier, char *challenge)
{
	uint8_t r[32], d[32];

	randombytes_buf(r, sizeof(r));
	sodium_bin2base64(verifier, 44, r, sizeof(r),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(d, (const uint8_t *)verifier, strlen(verifier));
	sodium_bin2base64(challenge, 44, d, sizeof(d),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(r, sizeof(r));
}

int csc_oauth_token(struct csc_client *c, const char *client_id,
    const char *redirect_uri, const char *code, const char *verifier,
    char **cred_token)
{
	size_t cap = 2048, n = 0, size;
	char *form = sodium_malloc(cap);
	json_t *rep = NULL;
	const char *tok, *type, *scope;
	int r = -ENOMEM;

	*cred_token = NULL;
	if (form == NULL) {
		set_err(c, "oauth2/token: out of memory");
		return -ENOMEM;
	}
	form[0] = '\0';
	add_param(form, cap, &n, "grant_type", "authorization_code");
	add_param(form, cap, &n, "code", code);
	add_param(form, cap, &n, "redirect_uri", redirect_uri);
	add_param(form, cap, &n, "client_id", client_id);
	add_param(form, cap, &n, "code_verifier", verifier);
	r = csc_post_raw(c, "oauth2/token",
	    "Content-Type: application/x-www-form-urlencoded", form, n,
	    AUTH_NONE, NULL, &rep);
	secure_strfree(form, cap);
	if (r < 0)
		return r;
	tok = json_string_value(json_object_get(rep, "access_token"));
	type = json_string_value(json_object_get(rep, "token_type"));
	scope = json_string_value(json_object_get(rep, "scope"));
	if (tok == NULL || !token_ok(tok, strlen(tok)) || type == NULL) {
		set_err(c, "oauth2/token: no usable access_token in the answer");
		r = -EPROTO;
		goto out;
	}
	if (strcasecmp(type, "SAD") == 0 ||
	    (scope != NULL && strcmp(scope, "credential") == 0)) {
		*cred_token = secure_strndup(tok, strlen(tok), &size);
		r = *cred_token != NULL ? 0 : -ENOMEM;
	} else {
		secure_strfree(c->token, c->token_size);
		c->token = secure_strndup(tok, strlen(tok), &c->token_size);
		r = c->token != NULL ? 0 : -ENOMEM;
	}
out:
	json_decref(rep);
	return r;
}

int csc_revoke_token(struct csc_client *c, const char *token)
{
	json_t *body = json_pack("{s:s, s:s}", "token", token,
	    "token_type_hint", "access_token"), *rep = NULL;
	int r;

	char *saved = c->token;

	if (body == NULL)
		return -ENOMEM;
	/* auth/revoke revokes the Bearer token itself */
	c->token = (char *)token;
	r = csc_post(c, "auth/revoke", body, AUTH_BEARER, NULL, &rep);
	c->token = saved;
	json_decref(rep);
	json_decref(body);
	return r;
}

int csc_sign_hash_cred(struct csc_client *c, const char *cred_id,
    const char *cred_token, const uint8_t *hash, size_t hash_len,
    const char *hash_oid, const char *sign_oid, uint8_t **sig, size_t *sig_len)
{
	char *saved = c->token;
	int r;

	if (c->api == 1)
		return csc_sign_hash(c, cred_id, cred_token, hash, hash_len,
		    hash_oid, sign_oid, sig, sig_len);
	c->token = (char *)cred_token;
	r = csc_sign_hash(c, cred_id, NULL, hash, hash_len, hash_oid, sign_oid,
	    sig, sig_len);
	c->token = saved;
	return r;
}
