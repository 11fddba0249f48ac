/* oauth.c — the OAuth2 authorization server endpoints of the CSC API as
 * inkan-sic serves them: oauth2/authorize (GET renders the consent page, POST
 * carries the signer's answer), oauth2/token (authorization code + PKCE S256)
 * and oauth2/revoke. Library code like csc.c: it reaches the SAM only through
 * struct csc_sam and never logs.
 * SECURITY: the SIC decides nothing here. The SAM checks the client and its
 * redirect URI, every factor (password, PIN, OTP), issues the code, checks
 * the PKCE verifier and issues the tokens. This file only renders what it is
 * asked to render (every value HTML-escaped, a strict CSP, no script), and
 * guards the form with a CSRF token: an HMAC under a per-process random key
 * (csc_sam.csrf_key) over a per-browser cookie, a time stamp and the request
 * being consented to. That key can sign nothing and is not a secret of the
 * service. Password, PIN and OTP from the form are copied only into
 * sodium_malloc'd memory and the decoded form is wiped. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>

#include "csc.h"

#define OAUTH_MAX_FIELDS     40
#define OAUTH_MAX_LABEL      100         /* characters of one hash label */
#define OAUTH_CSRF_MAX_AGE   900         /* s: how long a consent form is good */
#define OAUTH_COOKIE         "inkan_csrf"
#define OAUTH_COOKIE_LEN     43          /* 32 random bytes, base64url */
#define OAUTH_CHALLENGE_LEN  43          /* S256: base64url SHA-256, no padding */

/* ---- growable text buffer ----------------------------------------------- */

struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void sb_addf(struct sb *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->oom = true;
		return;
	}
	sb_addn(b, tmp, (size_t)n);
}

/* HTML text and attribute values (always double-quoted). */
static void sb_esc(struct sb *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sb_add(b, "&amp;"); break;
		case '<': sb_add(b, "&lt;"); break;
		case '>': sb_add(b, "&gt;"); break;
		case '"': sb_add(b, "&quot;"); break;
		case '\'': sb_add(b, "&#39;"); break;
		default: sb_addn(b, s, 1); break;
		}
	}
}

/* application/x-www-form-urlencoded value (RFC 3986 unreserved kept). */
static void sb_urlenc(struct sb *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			sb_addn(b, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			sb_addn(b, e, 3);
		}
	}
}

static void sb_free(struct sb *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof *b);
}

/* ---- parameters (query string or form body) ----------------------------- */

struct params {
	struct csc_kv kv[OAUTH_MAX_FIELDS];
	size_t n;
	char *buf;              /* decoded form body (wiped on free) */
	size_t buf_size;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode in place; -1 on a bad escape or an embedded NUL. */
static int url_decode(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '+') {
			*w++ = ' ';
		} else if (*s == '%') {
			int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);

			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return -1;
			*w++ = (char)(h * 16 + l);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

/* Every parameter at most once (RFC 6749 3.1, 3.2). */
static int params_check(const struct params *p)
{
	size_t i, j;

	for (i = 0; i < p->n; i++)
		for (j = i + 1; j < p->n; j++)
			if (strcmp(p->kv[i].key, p->kv[j].key) == 0)
				return -1;
	return 0;
}

static int params_from_query(const struct csc_http_req *rq, struct params *p)
{
	size_t i;

	memset(p, 0, sizeof *p);
	if (rq->n_query > OAUTH_MAX_FIELDS)
		return -1;
	for (i = 0; i < rq->n_query; i++) {
		if (!rq->query[i].key)
			return -1;
		p->kv[i].key = rq->query[i].key;
		p->kv[i].value = rq->query[i].value ? rq->query[i].value : "";
	}
	p->n = rq->n_query;
	return params_check(p);
}

static void params_free(struct params *p)
{
	if (p->buf) {
		sodium_memzero(p->buf, p->buf_size);
		free(p->buf);
	}
	memset(p, 0, sizeof *p);
}

static int params_from_form(const char *body, size_t len, struct params *p)
{
	char *s, *amp;

	memset(p, 0, sizeof *p);
	p->buf_size = len + 1;
	p->buf = malloc(p->buf_size);
	if (!p->buf)
		return -ENOMEM;
	memcpy(p->buf, body, len);
	p->buf[len] = '\0';
	if (memchr(body, '\0', len))
		return -EINVAL;
	for (s = p->buf; *s; s = amp + 1) {
		char *eq;

		amp = strchr(s, '&');
		if (amp)
			*amp = '\0';
		if (*s) {
			if (p->n == OAUTH_MAX_FIELDS)
				return -EINVAL;
			eq = strchr(s, '=');
			if (eq)
				*eq = '\0';
			if (url_decode(s) < 0 || (eq && url_decode(eq + 1) < 0))
				return -EINVAL;
			p->kv[p->n].key = s;
			p->kv[p->n].value = eq ? eq + 1 : "";
			p->n++;
		}
		if (!amp)
			break;
	}
	return params_check(p) < 0 ? -EINVAL : 0;
}

/* A JSON object body with string values only (some clients post JSON to
 * oauth2/token and oauth2/revoke). */
static int params_from_json(const char *body, size_t len, struct params *p,
    json_t **hold)
{
	struct csc_err e;
	const char *k;
	json_t *v;

	memset(p, 0, sizeof *p);
	if (csc_parse_body(body, len, hold, &e) < 0)
		return -EINVAL;
	json_object_foreach(*hold, k, v) {
		if (p->n == OAUTH_MAX_FIELDS)
			return -EINVAL;
		if (json_is_integer(v))
			continue;       /* e.g. numSignatures: not used here */
		if (!json_is_string(v))
			return -EINVAL;
		p->kv[p->n].key = k;
		p->kv[p->n].value = json_string_value(v);
		p->n++;
	}
	return 0;
}

static const char *param(const struct params *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->kv[i].key, key) == 0)
			return p->kv[i].value;
	return NULL;
}

static bool is_form(const char *ct)
{
	return ct && strncasecmp(ct, "application/x-www-form-urlencoded",
	    33) == 0;
}

static bool is_json(const char *ct)
{
	return ct && strncasecmp(ct, "application/json", 16) == 0;
}

/* Visible ASCII (0x21..0x7e), 1..max. */
static bool vis_ok(const char *s, size_t max)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* RFC 7636 unreserved, exactly or at most. */
static bool pkce_chars_ok(const char *s, size_t min, size_t max)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n < min || n > max)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~'))
			return false;
	}
	return true;
}

/* ---- language ------------------------------------------------------------ */

enum lang { LANG_EN, LANG_JA };

static int lang_of_tag(const char *s, size_t n)
{
	if (n >= 2 && strncasecmp(s, "ja", 2) == 0 && (n == 2 || s[2] == '-'))
		return LANG_JA;
	if (n >= 2 && strncasecmp(s, "en", 2) == 0 && (n == 2 || s[2] == '-'))
		return LANG_EN;
	return -1;
}

/* lang parameter first, then the first Accept-Language tag we speak
 * (in the order given; q=0 means "not this one"). */
static enum lang pick_lang(const char *lang, const char *accept)
{
	const char *p;
	int l;

	if (lang && (l = lang_of_tag(lang, strlen(lang))) >= 0)
		return (enum lang)l;
	for (p = accept; p && *p;) {
		const char *end, *semi, *q;
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		end = p + strcspn(p, ",");
		semi = memchr(p, ';', (size_t)(end - p));
		n = (size_t)((semi ? semi : end) - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		q = semi ? strstr(semi, "q=") : NULL;
		if ((l = lang_of_tag(p, n)) >= 0 &&
		    !(q && q < end && strtod(q + 2, NULL) <= 0.0))
			return (enum lang)l;
		p = end;
	}
	return LANG_EN;
}

enum msg {
	M_TITLE, M_HEAD_CRED, M_HEAD_SERVICE, M_ASKS_CRED, M_ASKS_SERVICE,
	M_CLIENT, M_CREDENTIAL, M_DOCUMENTS, M_HASH_ALGO, M_DESCRIPTION,
	M_HASHES, M_USERNAME, M_PASSWORD, M_PIN, M_OTP, M_APPROVE_CRED,
	M_APPROVE_SERVICE, M_DENY, M_NOTE, M_ERR_LOGIN, M_ERR_PIN, M_ERR_OTP,
	M_ERR_MISSING, M_ERR_LOCKED, M_ERR_CSRF, M_ERR_CLIENT, M_ERR_REQUEST,
	M_ERR_UNAVAILABLE, M_ERR_RATE, M_ERR_TITLE, M_UNKNOWN_ALGO, M_N
};

static const char *const text[2][M_N] = {
	[LANG_EN] = {
		[M_TITLE] = "inkan: confirm",
		[M_HEAD_CRED] = "Confirm your signature",
		[M_HEAD_SERVICE] = "Sign in to the signing service",
		[M_ASKS_CRED] = "This application asks to sign with your key. "
		    "Check what will be signed before you approve.",
		[M_ASKS_SERVICE] = "This application asks for access to your "
		    "signing service account (list your keys and certificates). "
		    "It cannot sign without your PIN and one-time password.",
		[M_CLIENT] = "Application",
		[M_CREDENTIAL] = "Signing key (certificate subject)",
		[M_DOCUMENTS] = "Number of documents",
		[M_HASH_ALGO] = "Hash algorithm",
		[M_DESCRIPTION] = "Description",
		[M_HASHES] = "Hash values to be signed (hexadecimal)",
		[M_USERNAME] = "User name",
		[M_PASSWORD] = "Password",
		[M_PIN] = "Signing PIN",
		[M_OTP] = "One-time password (6 digits)",
		[M_APPROVE_CRED] = "Sign",
		[M_APPROVE_SERVICE] = "Allow",
		[M_DENY] = "Cancel",
		[M_NOTE] = "Your password, PIN and one-time password are checked "
		    "by the signing service, never by the application.",
		[M_ERR_LOGIN] = "The user name or password is wrong.",
		[M_ERR_PIN] = "The PIN or the one-time password is wrong.",
		[M_ERR_OTP] = "The one-time password is wrong or was already used. "
		    "Wait for the next one and try again.",
		[M_ERR_MISSING] = "Enter both the PIN and the one-time password.",
		[M_ERR_LOCKED] = "Too many failed attempts: signing is locked for "
		    "a while. Try again later.",
		[M_ERR_CSRF] = "This form has expired or was not sent from this "
		    "page. Go back to the application and start again.",
		[M_ERR_CLIENT] = "The application is not registered with this "
		    "signing service, or its return address is not.",
		[M_ERR_REQUEST] = "The application sent an invalid request",
		[M_ERR_UNAVAILABLE] = "The signing service is temporarily "
		    "unavailable. Try again later.",
		[M_ERR_RATE] = "Too many attempts. Wait a moment and try again.",
		[M_ERR_TITLE] = "inkan: error",
		[M_UNKNOWN_ALGO] = "(from the digest length)",
	},
	[LANG_JA] = {
		[M_TITLE] = "inkan: 署名内容の確認",
		[M_HEAD_CRED] = "署名内容の確認",
		[M_HEAD_SERVICE] = "署名サービスへのログイン",
		[M_ASKS_CRED] = "このアプリケーションがあなたの鍵による署名を求めて"
		    "います。承認する前に、署名の対象を確認してください。",
		[M_ASKS_SERVICE] = "このアプリケーションが署名サービスのアカウント"
		    "（鍵と証明書の一覧）へのアクセスを求めています。"
		    "PIN とワンタイムパスワードなしでは署名できません。",
		[M_CLIENT] = "アプリケーション",
		[M_CREDENTIAL] = "署名鍵（証明書の主体者）",
		[M_DOCUMENTS] = "文書の数",
		[M_HASH_ALGO] = "ハッシュアルゴリズム",
		[M_DESCRIPTION] = "説明",
		[M_HASHES] = "署名するハッシュ値（16 進数）",
		[M_USERNAME] = "ユーザー名",
		[M_PASSWORD] = "パスワード",
		[M_PIN] = "署名用 PIN",
		[M_OTP] = "ワンタイムパスワード（6 桁）",
		[M_APPROVE_CRED] = "署名する",
		[M_APPROVE_SERVICE] = "許可する",
		[M_DENY] = "キャンセル",
		[M_NOTE] = "パスワード、PIN、ワンタイムパスワードは署名サービスが"
		    "検証します。アプリケーションには渡りません。",
		[M_ERR_LOGIN] = "ユーザー名またはパスワードが正しくありません。",
		[M_ERR_PIN] = "PIN またはワンタイムパスワードが正しくありません。",
		[M_ERR_OTP] = "ワンタイムパスワードが正しくないか、使用済みです。"
		    "次のコードを待ってからやり直してください。",
		[M_ERR_MISSING] = "PIN とワンタイムパスワードの両方を入力して"
		    "ください。",
		[M_ERR_LOCKED] = "失敗が続いたため、署名はしばらくロックされて"
		    "います。後でやり直してください。",
		[M_ERR_CSRF] = "このフォームは期限切れか、このページから送信された"
		    "ものではありません。アプリケーションに戻ってやり直して"
		    "ください。",
		[M_ERR_CLIENT] = "このアプリケーション、またはその戻り先アドレスは"
		    "この署名サービスに登録されていません。",
		[M_ERR_REQUEST] = "アプリケーションからの要求が正しくありません",
		[M_ERR_UNAVAILABLE] = "署名サービスは一時的に利用できません。"
		    "後でやり直してください。",
		[M_ERR_RATE] = "試行が多すぎます。少し待ってからやり直して"
		    "ください。",
		[M_ERR_TITLE] = "inkan: エラー",
		[M_UNKNOWN_ALGO] = "（ダイジェスト長から判定）",
	},
};

static const char *T(enum lang l, enum msg m)
{
	return text[l][m];
}

/* ---- the authorization request ------------------------------------------ */

struct authz {
	const char *client_id, *redirect_uri, *scope, *state, *challenge;
	const char *credential_id, *hash_oid, *description, *lang;
	const char *hashes_txt, *labels_txt;
	bool credential;
	unsigned num;
	struct csc_hashes h;
	char *labels[CSC_MAX_HASHES];   /* decoded, NULL when not given */
	char origin[CSC_MAX_REDIRECT_URI + 1];  /* scheme://host[:port] */
};

static void authz_clear(struct authz *a)
{
	size_t i;

	free(a->h.v);
	free(a->h.buf);
	for (i = 0; i < CSC_MAX_HASHES; i++)
		free(a->labels[i]);
	memset(a, 0, sizeof *a);
}

/* http(s)://host[:port][/path][?query], no fragment, no user info, no
 * characters that would need quoting in a CSP or a Location header. Fills
 * the origin for the consent page's form-action. */
static bool redirect_ok(const char *u, char *origin, size_t olen)
{
	const char *host, *end;
	size_t i, n;

	if (!vis_ok(u, CSC_MAX_REDIRECT_URI))
		return false;
	for (i = 0; u[i]; i++)
		if (strchr("#\"'<>\\;,`{}|^*", u[i]))
			return false;
	if (strncmp(u, "https://", 8) == 0)
		host = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		host = u + 7;
	else
		return false;
	end = host + strcspn(host, "/?");
	if (end == host || memchr(host, '@', (size_t)(end - host)))
		return false;
	n = (size_t)(end - u);
	if (n >= olen)
		return false;
	memcpy(origin, u, n);
	origin[n] = '\0';
	return true;
}

/* Comma-separated base64url digests (CSC: hashes / v1 hash). */
static int parse_hashes(const char *txt, struct csc_hashes *h)
{
	const char *p = txt;
	size_t n = 1, i;

	for (i = 0; txt[i]; i++)
		if (txt[i] == ',')
			n++;
	if (!txt[0] || n > CSC_MAX_HASHES)
		return -1;
	h->v = calloc(n, sizeof *h->v);
	h->buf = malloc(n * CSC_DIGEST_MAX);
	if (!h->v || !h->buf)
		return -1;
	for (i = 0; i < n; i++) {
		size_t len = strcspn(p, ","), out = 0;

		if (len == 0 || len > 4 * ((CSC_DIGEST_MAX + 2) / 3) + 4 ||
		    csc_b64_decode(p, len, h->buf + i * CSC_DIGEST_MAX,
		    CSC_DIGEST_MAX, &out) < 0 ||
		    out < CSC_DIGEST_MIN || out > CSC_DIGEST_MAX)
			return -1;
		h->v[i].data = h->buf + i * CSC_DIGEST_MAX;
		h->v[i].len = out;
		h->n = i + 1;
		p += len + 1;
	}
	return 0;
}

/* inkan extension: labels = comma-separated base64url UTF-8, one per hash. */
static int parse_labels(const char *txt, struct authz *a)
{
	const char *p = txt;
	size_t i;

	for (i = 0; i < a->h.n; i++) {
		size_t len = strcspn(p, ","), out = 0;
		uint8_t tmp[4 * OAUTH_MAX_LABEL];

		if (len > 4 * ((sizeof tmp + 2) / 3) + 4)
			return -1;
		if (len > 0 && (csc_b64_decode(p, len, tmp, sizeof tmp, &out) < 0 ||
		    !csc_text_ok(tmp, out)))
			return -1;
		if (out > 0) {
			a->labels[i] = malloc(out + 1);
			if (!a->labels[i])
				return -1;
			memcpy(a->labels[i], tmp, out);
			a->labels[i][out] = '\0';
		}
		p += len;
		if (i + 1 < a->h.n) {
			if (*p != ',')
				return -1;
			p++;
		}
	}
	return *p ? -1 : 0;
}

/* Where a bad request can be reported: nowhere (error page) or to the
 * client's redirect_uri. */
enum fail_to { FAIL_PAGE, FAIL_REDIRECT };

struct fail {
	enum fail_to to;
	unsigned http;
	const char *error;              /* OAuth2 error code */
	char desc[160];
};

__attribute__((format(printf, 4, 5)))
static int set_fail(struct fail *f, enum fail_to to, const char *error,
    const char *fmt, ...)
{
	va_list ap;

	f->to = to;
	f->http = 400;
	f->error = error;
	va_start(ap, fmt);
	vsnprintf(f->desc, sizeof f->desc, fmt, ap);
	va_end(ap);
	return -1;
}

/* Client and redirect first: until both are well-formed nothing can be sent
 * back to the client (RFC 6749 4.1.2.1). The SAM decides whether they are
 * registered. */
static int authz_parse(const struct params *p, struct authz *a,
    struct fail *f)
{
	const char *v;
	char *end;
	unsigned long n;

	memset(a, 0, sizeof *a);
	a->client_id = param(p, "client_id");
	a->redirect_uri = param(p, "redirect_uri");
	if (!vis_ok(a->client_id, CSC_MAX_CLIENT_ID))
		return set_fail(f, FAIL_PAGE, "invalid_request",
		    "Missing or invalid client_id");
	if (!a->redirect_uri || !redirect_ok(a->redirect_uri, a->origin,
	    sizeof a->origin))
		return set_fail(f, FAIL_PAGE, "invalid_request",
		    "Missing or invalid redirect_uri");
	a->state = param(p, "state");
	if (a->state && (strlen(a->state) > CSC_MAX_STATE ||
	    !csc_text_ok((const unsigned char *)a->state, strlen(a->state))))
		return set_fail(f, FAIL_PAGE, "invalid_request",
		    "Invalid state");
	a->lang = param(p, "lang");
	if (a->lang && !vis_ok(a->lang, 16))
		a->lang = NULL;

	v = param(p, "response_type");
	if (!v)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Missing parameter response_type");
	if (strcmp(v, "code") != 0)
		return set_fail(f, FAIL_REDIRECT, "unsupported_response_type",
		    "Only response_type=code is supported");
	a->scope = param(p, "scope");
	if (!a->scope || (strcmp(a->scope, "service") != 0 &&
	    strcmp(a->scope, "credential") != 0))
		return set_fail(f, FAIL_REDIRECT, "invalid_scope",
		    "scope must be service or credential");
	a->credential = strcmp(a->scope, "credential") == 0;
	if (param(p, "authorization_details") || param(p, "request_uri"))
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "authorization_details and request_uri are not supported");
	a->challenge = param(p, "code_challenge");
	v = param(p, "code_challenge_method");
	if (!a->challenge || !v)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "PKCE is required: code_challenge with "
		    "code_challenge_method=S256");
	if (strcmp(v, "S256") != 0)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Only code_challenge_method=S256 is supported");
	if (!pkce_chars_ok(a->challenge, OAUTH_CHALLENGE_LEN,
	    OAUTH_CHALLENGE_LEN))
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Invalid code_challenge");
	if (!a->credential)
		return 0;

	a->credential_id = param(p, "credentialID");
	if (!vis_ok(a->credential_id, CSC_MAX_CRED_ID))
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Missing or invalid credentialID");
	v = param(p, "numSignatures");
	if (!v || !*v)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Missing parameter numSignatures");
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end || errno || v[0] < '1' || v[0] > '9' ||
	    n > CSC_MAX_NUM_SIGNATURES)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Invalid parameter numSignatures");
	a->num = (unsigned)n;
	a->hashes_txt = param(p, "hashes");
	v = param(p, "hash");               /* v1 name */
	if (a->hashes_txt && v && strcmp(a->hashes_txt, v) != 0)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Invalid parameter hash");
	if (!a->hashes_txt)
		a->hashes_txt = v;
	if (!a->hashes_txt)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Missing parameter hashes");
	if (parse_hashes(a->hashes_txt, &a->h) < 0)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Invalid parameter hashes");
	if (a->h.n != a->num)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "numSignatures must equal the number of hashes");
	a->hash_oid = param(p, "hashAlgorithmOID");
	if (a->hash_oid && (!vis_ok(a->hash_oid, CSC_MAX_OID) ||
	    strspn(a->hash_oid, "0123456789.") != strlen(a->hash_oid)))
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Invalid parameter hashAlgorithmOID");
	a->description = param(p, "description");
	if (a->description && (strlen(a->description) > CSC_MAX_DESCRIPTION ||
	    !csc_text_ok((const unsigned char *)a->description,
	    strlen(a->description))))
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Invalid parameter description");
	a->labels_txt = param(p, "labels");
	if (a->labels_txt && parse_labels(a->labels_txt, a) < 0)
		return set_fail(f, FAIL_REDIRECT, "invalid_request",
		    "Invalid parameter labels");
	return 0;
}

/* The request the signer consents to, for the CSRF binding. */
static void authz_digest(const struct authz *a, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	const char *f[] = { a->client_id, a->redirect_uri, a->scope, a->state,
	    a->challenge, a->credential_id, a->hashes_txt, a->hash_oid,
	    a->description, a->labels_txt };
	char num[16];
	size_t i;

	crypto_hash_sha256_init(&st);
	for (i = 0; i < sizeof f / sizeof f[0]; i++) {
		/* length-prefixed, absent distinct from empty */
		uint64_t n = f[i] ? strlen(f[i]) + 1 : 0;

		crypto_hash_sha256_update(&st, (const uint8_t *)&n, sizeof n);
		if (f[i])
			crypto_hash_sha256_update(&st, (const uint8_t *)f[i],
			    n - 1);
	}
	snprintf(num, sizeof num, "%u", a->num);
	crypto_hash_sha256_update(&st, (const uint8_t *)num, strlen(num));
	crypto_hash_sha256_final(&st, out);
}

/* ---- CSRF ---------------------------------------------------------------- */

/* The cookie from the Cookie header, if well-formed. */
static bool cookie_get(const char *hdr, char out[OAUTH_COOKIE_LEN + 1])
{
	const char *p = hdr;
	size_t nl = strlen(OAUTH_COOKIE);

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, OAUTH_COOKIE, nl) == 0 && p[nl] == '=') {
			const char *v = p + nl + 1;
			size_t n = strcspn(v, "; ");

			if (n == OAUTH_COOKIE_LEN &&
			    pkce_chars_ok(v, 1, OAUTH_COOKIE_LEN) &&
			    !memchr(v, '.', n) && !memchr(v, '~', n)) {
				memcpy(out, v, n);
				out[n] = '\0';
				return true;
			}
		}
		p = strchr(p, ';');
	}
	return false;
}

static void csrf_mac(const uint8_t key[32], const char *cookie, long long ts,
    const uint8_t digest[32], uint8_t mac[32])
{
	crypto_auth_hmacsha256_state st;
	char t[24];

	snprintf(t, sizeof t, "%lld", ts);
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)"inkan-consent-v1",
	    16);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)cookie,
	    OAUTH_COOKIE_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)t, strlen(t) + 1);
	crypto_auth_hmacsha256_update(&st, digest, 32);
	crypto_auth_hmacsha256_final(&st, mac);
}

/* "<unix time>.<base64url HMAC>" */
static void csrf_make(const uint8_t key[32], const char *cookie,
    const struct authz *a, char *out, size_t outlen)
{
	uint8_t d[32], mac[32];
	char b[64];
	long long ts = (long long)time(NULL);

	authz_digest(a, d);
	csrf_mac(key, cookie, ts, d, mac);
	sodium_bin2base64(b, sizeof b, mac, sizeof mac,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, outlen, "%lld.%s", ts, b);
}

static bool csrf_check(const uint8_t key[32], const char *cookie,
    const struct authz *a, const char *token)
{
	uint8_t d[32], mac[32], got[32];
	long long ts, now = (long long)time(NULL);
	const char *dot;
	char *end;
	size_t n = 0;

	if (!token || !(dot = strchr(token, '.')))
		return false;
	errno = 0;
	ts = strtoll(token, &end, 10);
	if (end != dot || errno || ts > now + 60 ||
	    now - ts > OAUTH_CSRF_MAX_AGE)
		return false;
	if (sodium_base642bin(got, sizeof got, dot + 1, strlen(dot + 1), NULL,
	    &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0 ||
	    n != sizeof got)
		return false;
	authz_digest(a, d);
	csrf_mac(key, cookie, ts, d, mac);
	return sodium_memcmp(mac, got, sizeof mac) == 0;
}

/* ---- rendering ----------------------------------------------------------- */

static const char css[] =
    "body{font-family:system-ui,sans-serif;background:#f4f4f2;color:#1b1b1b;"
    "margin:0;line-height:1.5}\n"
    "main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;"
    "border:1px solid #ccc;border-radius:6px}\n"
    "h1{font-size:1.4rem;margin-top:0}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}\n"
    "dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\n"
    "ol.hashes{padding-left:1.5rem}ol.hashes li{margin:.3rem 0}\n"
    "code{font-family:ui-monospace,monospace;font-size:.85rem;"
    "overflow-wrap:anywhere;background:#f0f0f0;padding:0 .2rem}\n"
    ".label{display:block;font-weight:600}\n"
    ".error{background:#fde8e8;border:1px solid #c00;color:#900;"
    "padding:.5rem .8rem;border-radius:4px}\n"
    "label{display:block;margin:.6rem 0}\n"
    "input{display:block;width:100%;box-sizing:border-box;padding:.4rem;"
    "font-size:1rem}\n"
    "button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.8rem}\n"
    ".note{font-size:.85rem;color:#555}\n";

void oauth_css(const struct csc_http_req *rq, struct csc_http_rep *rp)
{
	struct csc_err e;

	memset(rp, 0, sizeof *rp);
	if (!rq->method || strcmp(rq->method, "GET") != 0) {
		csc_error_set(&e, 405, "invalid_request",
		    "HTTP method not allowed");
		csc_rep_error(rp, &e);
		rp->allow = "GET";
		return;
	}
	rp->body = strdup(css);
	rp->body_len = rp->body ? sizeof css - 1 : 0;
	rp->status = rp->body ? 200 : 500;
	rp->content_type = "text/css; charset=utf-8";
}

static void page_head(struct sb *b, enum lang l, const char *title)
{
	sb_addf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\">"
	    "<title>", l == LANG_JA ? "ja" : "en");
	sb_esc(b, title);
	sb_add(b, "</title><link rel=\"stylesheet\" href=\"" CSC_CSS_PATH
	    "\"></head>\n<body><main>\n");
}

static void page_done(struct csc_http_rep *rp, struct sb *b, unsigned status,
    const char *form_origin)
{
	char csp[CSC_MAX_REDIRECT_URI + 200];

	sb_add(b, "</main></body></html>\n");
	if (b->oom) {
		struct csc_err e;

		sb_free(b);
		csc_error_set(&e, 500, "server_error", "Internal error");
		csc_rep_error(rp, &e);
		return;
	}
	/* form-action also governs where the form's POST may be redirected:
	 * the client's redirect_uri origin must be listed. */
	snprintf(csp, sizeof csp, "default-src 'none'; style-src 'self'; "
	    "img-src 'self'; form-action 'self'%s%s; frame-ancestors 'none'; "
	    "base-uri 'none'", form_origin ? " " : "",
	    form_origin ? form_origin : "");
	csc_body_free(rp->body);
	rp->body = b->p;
	rp->body_len = b->len;
	rp->status = status;
	rp->content_type = "text/html; charset=utf-8";
	free(rp->csp);
	rp->csp = strdup(csp);
	b->p = NULL;
	sb_free(b);
}

static void error_page(struct csc_http_rep *rp, enum lang l, unsigned status,
    const char *msg, const char *detail)
{
	struct sb b = { 0 };

	page_head(&b, l, T(l, M_ERR_TITLE));
	sb_add(&b, "<h1>");
	sb_esc(&b, T(l, M_ERR_TITLE));
	sb_add(&b, "</h1>\n<p class=\"error\" role=\"alert\">");
	sb_esc(&b, msg);
	if (detail && *detail) {
		sb_add(&b, ": ");
		sb_esc(&b, detail);
	}
	sb_add(&b, "</p>\n");
	page_done(rp, &b, status, NULL);
}

static const char *hash_name(const char *oid, size_t len)
{
	if (oid) {
		if (strcmp(oid, "2.16.840.1.101.3.4.2.1") == 0)
			return "SHA-256";
		if (strcmp(oid, "2.16.840.1.101.3.4.2.2") == 0)
			return "SHA-384";
		if (strcmp(oid, "2.16.840.1.101.3.4.2.3") == 0)
			return "SHA-512";
		return oid;
	}
	return len == 32 ? "SHA-256" : len == 48 ? "SHA-384" :
	    len == 64 ? "SHA-512" : NULL;
}

static void hidden(struct sb *b, const char *name, const char *value)
{
	if (!value)
		return;
	sb_addf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	sb_esc(b, value);
	sb_add(b, "\">\n");
}

static void field(struct sb *b, const char *label, const char *name,
    const char *type, const char *extra, const char *value)
{
	sb_add(b, "<label>");
	sb_esc(b, label);
	sb_addf(b, "<input type=\"%s\" name=\"%s\" required %s", type, name,
	    extra);
	if (value) {
		sb_add(b, " value=\"");
		sb_esc(b, value);
		sb_add(b, "\"");
	}
	sb_add(b, "></label>\n");
}

static void consent_page(struct csc_http_rep *rp, enum lang l,
    enum csc_version v, const struct authz *a, const char *subject,
    const char *csrf, const char *error, const char *username,
    unsigned status)
{
	struct sb b = { 0 };
	char num[16];
	size_t i, j;

	page_head(&b, l, T(l, M_TITLE));
	sb_add(&b, "<h1>");
	sb_esc(&b, T(l, a->credential ? M_HEAD_CRED : M_HEAD_SERVICE));
	sb_add(&b, "</h1>\n<p>");
	sb_esc(&b, T(l, a->credential ? M_ASKS_CRED : M_ASKS_SERVICE));
	sb_add(&b, "</p>\n<dl>\n<dt>");
	sb_esc(&b, T(l, M_CLIENT));
	sb_add(&b, "</dt><dd id=\"client\">");
	sb_esc(&b, a->client_id);
	sb_add(&b, "</dd>\n");
	if (a->credential) {
		sb_add(&b, "<dt>");
		sb_esc(&b, T(l, M_CREDENTIAL));
		sb_add(&b, "</dt><dd id=\"subject\">");
		sb_esc(&b, subject && *subject ? subject : a->credential_id);
		sb_add(&b, "</dd>\n<dt>");
		sb_esc(&b, T(l, M_DOCUMENTS));
		snprintf(num, sizeof num, "%u", a->num);
		sb_add(&b, "</dt><dd id=\"count\">");
		sb_add(&b, num);
		sb_add(&b, "</dd>\n<dt>");
		sb_esc(&b, T(l, M_HASH_ALGO));
		sb_add(&b, "</dt><dd>");
		{
			const char *hn = hash_name(a->hash_oid,
			    a->h.n ? a->h.v[0].len : 0);

			sb_esc(&b, hn ? hn : T(l, M_UNKNOWN_ALGO));
		}
		sb_add(&b, "</dd>\n");
		if (a->description) {
			sb_add(&b, "<dt>");
			sb_esc(&b, T(l, M_DESCRIPTION));
			sb_add(&b, "</dt><dd id=\"description\">");
			sb_esc(&b, a->description);
			sb_add(&b, "</dd>\n");
		}
	}
	sb_add(&b, "</dl>\n");
	if (a->credential) {
		sb_add(&b, "<h2>");
		sb_esc(&b, T(l, M_HASHES));
		sb_add(&b, "</h2>\n<ol class=\"hashes\">\n");
		for (i = 0; i < a->h.n; i++) {
			sb_add(&b, "<li>");
			if (a->labels[i]) {
				sb_add(&b, "<span class=\"label\">");
				sb_esc(&b, a->labels[i]);
				sb_add(&b, "</span>");
			}
			sb_add(&b, "<code class=\"hash\">");
			for (j = 0; j < a->h.v[i].len; j++)
				sb_addf(&b, "%02x", a->h.v[i].data[j]);
			sb_add(&b, "</code></li>\n");
		}
		sb_add(&b, "</ol>\n");
	}
	if (error) {
		sb_add(&b, "<p class=\"error\" id=\"error\" role=\"alert\">");
		sb_esc(&b, error);
		sb_add(&b, "</p>\n");
	}
	sb_addf(&b, "<form method=\"post\" action=\"/csc/v%d/oauth2/authorize\">\n",
	    v == CSC_V2 ? 2 : 1);
	hidden(&b, "csrf", csrf);
	hidden(&b, "response_type", "code");
	hidden(&b, "client_id", a->client_id);
	hidden(&b, "redirect_uri", a->redirect_uri);
	hidden(&b, "scope", a->scope);
	hidden(&b, "state", a->state);
	hidden(&b, "code_challenge", a->challenge);
	hidden(&b, "code_challenge_method", "S256");
	hidden(&b, "lang", l == LANG_JA ? "ja" : "en");
	if (a->credential) {
		snprintf(num, sizeof num, "%u", a->num);
		hidden(&b, "credentialID", a->credential_id);
		hidden(&b, "numSignatures", num);
		hidden(&b, "hashes", a->hashes_txt);
		hidden(&b, "hashAlgorithmOID", a->hash_oid);
		hidden(&b, "description", a->description);
		hidden(&b, "labels", a->labels_txt);
	}
	field(&b, T(l, M_USERNAME), "username", "text",
	    "autocomplete=\"username\" maxlength=\"64\"", username);
	field(&b, T(l, M_PASSWORD), "password", "password",
	    "autocomplete=\"current-password\" maxlength=\"128\"", NULL);
	if (a->credential) {
		field(&b, T(l, M_PIN), "pin", "password",
		    "autocomplete=\"off\" inputmode=\"numeric\" maxlength=\"64\"",
		    NULL);
		field(&b, T(l, M_OTP), "otp", "text",
		    "autocomplete=\"one-time-code\" inputmode=\"numeric\" "
		    "pattern=\"[0-9]{6}\" maxlength=\"6\"", NULL);
	}
	sb_add(&b, "<button type=\"submit\" name=\"action\" value=\"approve\" "
	    "id=\"approve\">");
	sb_esc(&b, T(l, a->credential ? M_APPROVE_CRED : M_APPROVE_SERVICE));
	sb_add(&b, "</button><button type=\"submit\" name=\"action\" "
	    "value=\"deny\" id=\"deny\" formnovalidate>");
	sb_esc(&b, T(l, M_DENY));
	sb_add(&b, "</button>\n</form>\n<p class=\"note\">");
	sb_esc(&b, T(l, M_NOTE));
	sb_add(&b, "</p>\n");
	page_done(rp, &b, status, a->origin);
}

/* 303 to the client: redirect_uri + code or error, and state. */
static void redirect(struct csc_http_rep *rp, const struct authz *a,
    const char *code, const char *error, const char *desc)
{
	struct sb b = { 0 };

	sb_add(&b, a->redirect_uri);
	sb_add(&b, strchr(a->redirect_uri, '?') ? "&" : "?");
	if (code) {
		sb_add(&b, "code=");
		sb_urlenc(&b, code);
	} else {
		sb_add(&b, "error=");
		sb_urlenc(&b, error);
		if (desc) {
			sb_add(&b, "&error_description=");
			sb_urlenc(&b, desc);
		}
	}
	if (a->state) {
		sb_add(&b, "&state=");
		sb_urlenc(&b, a->state);
	}
	csc_body_free(rp->body);
	rp->body = NULL;
	rp->body_len = 0;
	if (b.oom) {
		struct csc_err e;

		sb_free(&b);
		csc_error_set(&e, 500, "server_error", "Internal error");
		csc_rep_error(rp, &e);
		return;
	}
	rp->status = 303;
	csc_body_free(rp->location);
	rp->location = b.p;
}

/* ---- oauth2/authorize ---------------------------------------------------- */

static void fail_out(struct csc_http_rep *rp, enum lang l,
    const struct authz *a, const struct fail *f)
{
	if (f->to == FAIL_REDIRECT)
		redirect(rp, a, NULL, f->error, f->desc);
	else
		error_page(rp, l, f->http, T(l, M_ERR_REQUEST), f->desc);
}

/* Ask the SAM whether the client may use this redirect_uri and whose
 * certificate the credential is. 0 OK; -1 with the response built. */
static int prepare(const struct csc_sam *sam, enum csc_version v,
    enum lang l, const struct authz *a, struct csc_http_rep *rp,
    char *subject, size_t subject_len)
{
	Inkan__OAuthPrepareReq req = INKAN__OAUTH_PREPARE_REQ__INIT;
	Inkan__OAuthPrepareRep *r;
	ProtobufCMessage *rep = NULL;
	struct csc_http_rep tmp;
	Inkan__Status st = INKAN__STATUS__INTERNAL;

	memset(&tmp, 0, sizeof tmp);
	subject[0] = '\0';
	req.client_id = (char *)a->client_id;
	req.redirect_uri = (char *)a->redirect_uri;
	req.credential_id = (char *)a->credential_id;
	if (csc_sam_call(sam, v, CSC_OAUTH_AUTHORIZE,
	    INKAN__MSG_TYPE__SIGNER_OAUTH_PREPARE_REQ, &req.base,
	    &inkan__oauth_prepare_rep__descriptor, &rep, &tmp, &st) < 0) {
		if (st == INKAN__STATUS__OAUTH_INVALID_CLIENT)
			error_page(rp, l, 400, T(l, M_ERR_CLIENT), NULL);
		else if (tmp.status >= 500)
			error_page(rp, l, tmp.status, T(l, M_ERR_UNAVAILABLE),
			    NULL);
		else
			redirect(rp, a, NULL, "invalid_request",
			    "Invalid or unusable credentialID");
		csc_rep_clear(&tmp);
		return -1;
	}
	r = (Inkan__OAuthPrepareRep *)rep;
	if (r->subject_dn && strlen(r->subject_dn) < subject_len &&
	    csc_text_ok((const unsigned char *)r->subject_dn,
	    strlen(r->subject_dn)))
		memcpy(subject, r->subject_dn, strlen(r->subject_dn) + 1);
	protobuf_c_message_free_unpacked(rep, NULL);
	return 0;
}

static void set_cookie(struct csc_http_rep *rp, const char *cookie, bool tls)
{
	char c[200];

	snprintf(c, sizeof c, OAUTH_COOKIE "=%s; Path=/csc/; HttpOnly; "
	    "SameSite=Strict%s", cookie, tls ? "; Secure" : "");
	free(rp->set_cookie);
	rp->set_cookie = strdup(c);
}

static void new_cookie(char out[OAUTH_COOKIE_LEN + 1])
{
	uint8_t r[32];

	randombytes_buf(r, sizeof r);
	sodium_bin2base64(out, OAUTH_COOKIE_LEN + 1, r, sizeof r,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void authorize_get(const struct csc_sam *sam, enum csc_version v,
    const struct csc_http_req *rq, struct csc_http_rep *rp)
{
	struct params p;
	struct authz a;
	struct fail f = { 0 };
	char subject[512], cookie[OAUTH_COOKIE_LEN + 1], csrf[128];
	enum lang l;
	bool have_cookie;
	int parsed;

	if (params_from_query(rq, &p) < 0) {
		l = pick_lang(NULL, rq->accept_language);
		error_page(rp, l, 400, T(l, M_ERR_REQUEST),
		    "A parameter is repeated or there are too many");
		return;
	}
	l = pick_lang(param(&p, "lang"), rq->accept_language);
	parsed = authz_parse(&p, &a, &f);
	if (parsed < 0 && f.to == FAIL_PAGE) {
		fail_out(rp, l, &a, &f);
		authz_clear(&a);
		return;
	}
	/* client and redirect_uri are well-formed: the SAM says whether they
	 * are registered before anything is sent to that address. */
	if (prepare(sam, v, l, &a, rp, subject, sizeof subject) < 0) {
		authz_clear(&a);
		return;
	}
	if (parsed < 0) {
		fail_out(rp, l, &a, &f);
		authz_clear(&a);
		return;
	}
	have_cookie = cookie_get(rq->cookie, cookie);
	if (!have_cookie)
		new_cookie(cookie);
	csrf_make(sam->csrf_key, cookie, &a, csrf, sizeof csrf);
	consent_page(rp, l, v, &a, subject, csrf, NULL, NULL, 200);
	if (!have_cookie)
		set_cookie(rp, cookie, rq->tls);
	authz_clear(&a);
}

/* What the signer is told on the page for a refused factor; NULL for
 * outcomes that end the flow (reported to the client). */
static const char *factor_message(enum lang l, Inkan__Status st)
{
	switch (st) {
	case INKAN__STATUS__AUTH_FAILED:
		return T(l, M_ERR_LOGIN);
	case INKAN__STATUS__INVALID_PIN:
		return T(l, M_ERR_PIN);
	case INKAN__STATUS__INVALID_OTP:
		return T(l, M_ERR_OTP);
	case INKAN__STATUS__MISSING_FACTOR:
		return T(l, M_ERR_MISSING);
	case INKAN__STATUS__LOCKED:
		return T(l, M_ERR_LOCKED);
	default:
		return NULL;
	}
}

static void authorize_post(const struct csc_sam *sam, enum csc_version v,
    const struct csc_http_req *rq, struct csc_http_rep *rp)
{
	Inkan__OAuthAuthorizeReq req = INKAN__OAUTH_AUTHORIZE_REQ__INIT;
	Inkan__OAuthAuthorizeRep *r;
	ProtobufCMessage *rep = NULL;
	struct params p;
	struct authz a;
	struct fail f = { 0 };
	struct csc_http_rep tmp;
	char cookie[OAUTH_COOKIE_LEN + 1], csrf[128], subject[512];
	const char *user, *pw, *pin, *otp, *action;
	unsigned char *secret = NULL;
	size_t pwl, pinl, otpl;
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	const char *msg;
	enum lang l;

	memset(&a, 0, sizeof a);
	memset(&p, 0, sizeof p);
	memset(&tmp, 0, sizeof tmp);
	if (!is_form(rq->content_type) ||
	    params_from_form(rq->body, rq->body_len, &p) < 0) {
		params_free(&p);
		l = pick_lang(NULL, rq->accept_language);
		error_page(rp, l, 400, T(l, M_ERR_REQUEST),
		    "The form could not be read");
		return;
	}
	l = pick_lang(param(&p, "lang"), rq->accept_language);
	/* Forged or stale forms stop here, before anything is acted on. */
	if (authz_parse(&p, &a, &f) < 0 ||
	    !cookie_get(rq->cookie, cookie) ||
	    !csrf_check(sam->csrf_key, cookie, &a, param(&p, "csrf"))) {
		error_page(rp, l, 403, T(l, M_ERR_CSRF), NULL);
		goto out;
	}
	action = param(&p, "action");
	if (action && strcmp(action, "deny") == 0) {
		redirect(rp, &a, NULL, "access_denied",
		    "The signer declined");
		goto out;
	}
	user = param(&p, "username");
	pw = param(&p, "password");
	pin = param(&p, "pin");
	otp = param(&p, "otp");
	pwl = pw ? strlen(pw) : 0;
	pinl = pin ? strlen(pin) : 0;
	otpl = otp ? strlen(otp) : 0;
	csrf_make(sam->csrf_key, cookie, &a, csrf, sizeof csrf);
	if (prepare(sam, v, l, &a, rp, subject, sizeof subject) < 0)
		goto out;
	if (!user || !*user || strlen(user) > CSC_MAX_USERNAME ||
	    !csc_text_ok((const unsigned char *)user, strlen(user)) ||
	    pwl == 0 || pwl > CSC_MAX_PASSWORD) {
		consent_page(rp, l, v, &a, subject, csrf, T(l, M_ERR_LOGIN),
		    user && strlen(user) <= CSC_MAX_USERNAME ? user : NULL, 400);
		goto out;
	}
	if (a.credential && (pinl == 0 || otpl == 0 || pinl > CSC_MAX_PIN ||
	    otpl > CSC_MAX_OTP)) {
		consent_page(rp, l, v, &a, subject, csrf, T(l, M_ERR_MISSING),
		    user, 400);
		goto out;
	}
	if (!csc_admit(sam, "user", user, &tmp)) {
		csc_rep_clear(&tmp);
		consent_page(rp, l, v, &a, subject, csrf, T(l, M_ERR_RATE),
		    user, 429);
		rp->retry_after = 1;
		goto out;
	}
	secret = sodium_malloc(CSC_MAX_PASSWORD + CSC_MAX_PIN + CSC_MAX_OTP);
	if (!secret) {
		error_page(rp, l, 500, T(l, M_ERR_UNAVAILABLE), NULL);
		goto out;
	}
	req.client_id = (char *)a.client_id;
	req.redirect_uri = (char *)a.redirect_uri;
	req.scope = (char *)a.scope;
	req.code_challenge = (char *)a.challenge;
	req.username = (char *)user;
	memcpy(secret, pw, pwl);
	req.password.data = secret;
	req.password.len = pwl;
	if (a.credential) {
		memcpy(secret + CSC_MAX_PASSWORD, pin, pinl);
		memcpy(secret + CSC_MAX_PASSWORD + CSC_MAX_PIN, otp, otpl);
		req.has_pin = req.has_otp = 1;
		req.pin.data = secret + CSC_MAX_PASSWORD;
		req.pin.len = pinl;
		req.otp.data = secret + CSC_MAX_PASSWORD + CSC_MAX_PIN;
		req.otp.len = otpl;
		req.credential_id = (char *)a.credential_id;
		req.has_num_signatures = 1;
		req.num_signatures = a.num;
		req.n_hashes = a.h.n;
		req.hashes = a.h.v;
		req.hash_algo_oid = (char *)a.hash_oid;
		req.description = (char *)a.description;
	}
	if (csc_sam_call(sam, v, CSC_OAUTH_AUTHORIZE,
	    INKAN__MSG_TYPE__SIGNER_OAUTH_AUTHORIZE_REQ, &req.base,
	    &inkan__oauth_authorize_rep__descriptor, &rep, &tmp, &st) < 0) {
		msg = factor_message(l, st);
		if (tmp.status >= 500)
			error_page(rp, l, tmp.status, T(l, M_ERR_UNAVAILABLE),
			    NULL);
		else if (st == INKAN__STATUS__OAUTH_INVALID_CLIENT)
			error_page(rp, l, 400, T(l, M_ERR_CLIENT), NULL);
		else if (msg)
			consent_page(rp, l, v, &a, subject, csrf, msg, user,
			    400);
		else
			redirect(rp, &a, NULL, "invalid_request",
			    st == INKAN__STATUS__CREDENTIAL_DISABLED ||
			    st == INKAN__STATUS__CERT_EXPIRED ?
			    "The credential cannot sign now" :
			    st == INKAN__STATUS__TOO_MANY_SIGNATURES ?
			    "Numbers of signatures is too high" :
			    "The request was refused");
		csc_rep_clear(&tmp);
		goto out;
	}
	r = (Inkan__OAuthAuthorizeRep *)rep;
	if (!vis_ok(r->code, CSC_MAX_CODE))
		error_page(rp, l, 500, T(l, M_ERR_UNAVAILABLE), NULL);
	else
		redirect(rp, &a, r->code, NULL, NULL);
	sodium_memzero(r->code, strlen(r->code));
	protobuf_c_message_free_unpacked(rep, NULL);
out:
	if (secret)
		sodium_free(secret);
	authz_clear(&a);
	params_free(&p);
}

/* ---- oauth2/token and oauth2/revoke -------------------------------------- */

static void token_fail(struct csc_http_rep *rp, unsigned http,
    const char *error, const char *desc)
{
	struct csc_err e;

	csc_error_set(&e, http, error, "%s", desc);
	csc_rep_error(rp, &e);
	if (http == 401)
		rp->www_authenticate = "Basic realm=\"inkan\"";
}

/* Form or JSON body into p; client_id/client_secret also from HTTP Basic
 * (RFC 6749 2.3.1). secret: sodium memory of CSC_MAX_CLIENT_SECRET + 1. */
static int token_params(const struct csc_http_req *rq, struct params *p,
    json_t **hold, const char **client_id, char *basic_id,
    unsigned char *secret, size_t *secret_len, struct csc_http_rep *rp)
{
	const char *cs;

	*hold = NULL;
	if (is_form(rq->content_type) ? params_from_form(rq->body,
	    rq->body_len, p) < 0 : is_json(rq->content_type) ?
	    params_from_json(rq->body, rq->body_len, p, hold) < 0 : true) {
		token_fail(rp, 400, "invalid_request", "The body must be "
		    "application/x-www-form-urlencoded (or a JSON object) "
		    "with each parameter once");
		return -1;
	}
	*client_id = param(p, "client_id");
	cs = param(p, "client_secret");
	*secret_len = 0;
	if (rq->authorization && strncasecmp(rq->authorization, "Basic ", 6) ==
	    0) {
		char dec[CSC_MAX_CLIENT_ID + CSC_MAX_CLIENT_SECRET + 2];
		const char *b = rq->authorization + 6, *colon;
		size_t n = 0;

		while (*b == ' ')
			b++;
		if (sodium_base642bin((unsigned char *)dec, sizeof dec - 1, b,
		    strlen(b), NULL, &n, NULL,
		    sodium_base64_VARIANT_ORIGINAL) < 0 ||
		    !(colon = memchr(dec, ':', n)) ||
		    (size_t)(colon - dec) > CSC_MAX_CLIENT_ID ||
		    n - (size_t)(colon - dec) - 1 > CSC_MAX_CLIENT_SECRET ||
		    (cs != NULL)) {
			sodium_memzero(dec, sizeof dec);
			token_fail(rp, 401, "invalid_client",
			    "Invalid client authentication");
			return -1;
		}
		memcpy(basic_id, dec, (size_t)(colon - dec));
		basic_id[colon - dec] = '\0';
		/* RFC 6749 2.3.1: both form-urlencoded inside Basic */
		*secret_len = n - (size_t)(colon - dec) - 1;
		memcpy(secret, colon + 1, *secret_len);
		secret[*secret_len] = '\0';
		sodium_memzero(dec, sizeof dec);
		if (url_decode(basic_id) < 0 ||
		    url_decode((char *)secret) < 0 ||
		    (*client_id && strcmp(*client_id, basic_id) != 0)) {
			token_fail(rp, 401, "invalid_client",
			    "Invalid client authentication");
			return -1;
		}
		*secret_len = strlen((char *)secret);
		*client_id = basic_id;
	} else if (cs) {
		*secret_len = strlen(cs);
		if (*secret_len > CSC_MAX_CLIENT_SECRET) {
			token_fail(rp, 401, "invalid_client",
			    "Invalid client authentication");
			return -1;
		}
		memcpy(secret, cs, *secret_len);
	}
	if (!vis_ok(*client_id, CSC_MAX_CLIENT_ID)) {
		token_fail(rp, 401, "invalid_client",
		    "Missing or invalid client_id");
		return -1;
	}
	return 0;
}

static void do_token(const struct csc_sam *sam, enum csc_version v,
    const struct csc_http_req *rq, struct csc_http_rep *rp)
{
	Inkan__OAuthTokenReq req = INKAN__OAUTH_TOKEN_REQ__INIT;
	Inkan__OAuthTokenRep *r;
	ProtobufCMessage *rep = NULL;
	struct params p;
	json_t *hold = NULL, *j;
	const char *client_id, *gt, *code, *verifier, *redir;
	char basic_id[CSC_MAX_CLIENT_ID + 1], origin[CSC_MAX_REDIRECT_URI + 1];
	unsigned char *secret = sodium_malloc(CSC_MAX_CLIENT_SECRET + 1);
	size_t secret_len = 0;
	char *tok = NULL;
	size_t tok_size = 0;
	bool cred;

	memset(&p, 0, sizeof p);
	if (!secret) {
		token_fail(rp, 500, "server_error", "Out of memory");
		return;
	}
	if (token_params(rq, &p, &hold, &client_id, basic_id, secret,
	    &secret_len, rp) < 0)
		goto out;
	if (!csc_admit(sam, "client", client_id, rp))
		goto out;
	gt = param(&p, "grant_type");
	code = param(&p, "code");
	verifier = param(&p, "code_verifier");
	redir = param(&p, "redirect_uri");
	if (!gt) {
		token_fail(rp, 400, "invalid_request",
		    "Missing parameter grant_type");
		goto out;
	}
	if (strcmp(gt, "authorization_code") != 0) {
		token_fail(rp, 400, "unsupported_grant_type",
		    "Only grant_type=authorization_code is supported");
		goto out;
	}
	if (!vis_ok(code, CSC_MAX_CODE)) {
		token_fail(rp, 400, "invalid_request",
		    "Missing or invalid code");
		goto out;
	}
	if (!redir || !redirect_ok(redir, origin, sizeof origin)) {
		token_fail(rp, 400, "invalid_request",
		    "Missing or invalid redirect_uri");
		goto out;
	}
	if (!verifier) {
		token_fail(rp, 400, "invalid_request",
		    "Missing parameter code_verifier (PKCE is required)");
		goto out;
	}
	if (!pkce_chars_ok(verifier, 43, CSC_MAX_VERIFIER)) {
		token_fail(rp, 400, "invalid_grant", "Invalid code_verifier");
		goto out;
	}
	req.code = (char *)code;
	req.code_verifier = (char *)verifier;
	req.client_id = (char *)client_id;
	req.redirect_uri = (char *)redir;
	if (secret_len) {
		req.has_client_secret = 1;
		req.client_secret.data = secret;
		req.client_secret.len = secret_len;
	}
	if (csc_sam_call(sam, v, CSC_OAUTH_TOKEN,
	    INKAN__MSG_TYPE__SIGNER_OAUTH_TOKEN_REQ, &req.base,
	    &inkan__oauth_token_rep__descriptor, &rep, rp, NULL) < 0)
		goto out;
	r = (Inkan__OAuthTokenRep *)rep;
	cred = r->sad != NULL;
	tok_size = strlen(r->access_token) + (cred ? strlen(r->sad) + 1 : 0) + 1;
	tok = sodium_malloc(tok_size);
	if (!tok || tok_size > CSC_MAX_TOKEN + 1) {
		token_fail(rp, 500, "server_error", "Internal error");
	} else {
		snprintf(tok, tok_size, "%s%s%s", r->access_token,
		    cred ? "." : "", cred ? r->sad : "");
		/* v1: a credential-scope token is the SAD of signHash */
		j = json_pack("{s:s, s:s, s:I, s:s}", "access_token", tok,
		    "token_type", cred && v == CSC_V1 ? "SAD" : "Bearer",
		    "expires_in", (json_int_t)r->expires_in,
		    "scope", r->scope);
		if (j && r->credential_id)
			json_object_set_new(j, "credentialID",
			    json_string(r->credential_id));
		csc_rep_json(rp, j ? 200 : 500, j);
	}
	sodium_memzero(r->access_token, strlen(r->access_token));
	if (r->sad)
		sodium_memzero(r->sad, strlen(r->sad));
	protobuf_c_message_free_unpacked(rep, NULL);
out:
	if (tok)
		sodium_free(tok);
	sodium_free(secret);
	params_free(&p);
	json_decref(hold);
}

static void do_revoke(const struct csc_sam *sam, enum csc_version v,
    const struct csc_http_req *rq, struct csc_http_rep *rp)
{
	Inkan__RevokeReq req = INKAN__REVOKE_REQ__INIT;
	ProtobufCMessage *rep = NULL;
	struct params p;
	json_t *hold = NULL;
	const char *t, *hint;
	char tok[CSC_MAX_TOKEN + 1], *sad;

	memset(&p, 0, sizeof p);
	if (is_form(rq->content_type) ? params_from_form(rq->body,
	    rq->body_len, &p) < 0 : is_json(rq->content_type) ?
	    params_from_json(rq->body, rq->body_len, &p, &hold) < 0 : true) {
		token_fail(rp, 400, "invalid_request", "The body must be "
		    "application/x-www-form-urlencoded (or a JSON object)");
		goto out;
	}
	t = param(&p, "token");
	hint = param(&p, "token_type_hint");
	if (!t || !*t) {
		token_fail(rp, 400, "invalid_request",
		    "Missing parameter token");
		goto out;
	}
	if (hint && strcmp(hint, "access_token") != 0 &&
	    strcmp(hint, "refresh_token") != 0) {
		token_fail(rp, 400, "unsupported_token_type",
		    "token_type_hint must be access_token");
		goto out;
	}
	/* RFC 7009 2.2: an unknown or malformed token is not an error. */
	rp->status = 200;
	if (strlen(t) > CSC_MAX_TOKEN || !vis_ok(t, CSC_MAX_TOKEN))
		goto out;
	memcpy(tok, t, strlen(t) + 1);
	csc_split_cred_token(tok, &sad);
	if (!csc_admit(sam, "token", tok, rp))
		goto wipe;
	req.access_token = tok;
	if (csc_sam_call(sam, v, CSC_OAUTH_REVOKE,
	    INKAN__MSG_TYPE__SIGNER_REVOKE_REQ, &req.base,
	    &inkan__revoke_rep__descriptor, &rep, rp, NULL) == 0) {
		protobuf_c_message_free_unpacked(rep, NULL);
		rp->status = 200;
	} else if (rp->status == 401) {
		/* unknown or expired: already revoked, as far as anyone can tell */
		csc_rep_clear(rp);
		rp->www_authenticate = NULL;
		rp->status = 200;
	}
wipe:
	sodium_memzero(tok, sizeof tok);
out:
	params_free(&p);
	json_decref(hold);
}

void oauth_handle(const struct csc_sam *sam, enum csc_version v,
    enum csc_method m, const struct csc_http_req *rq,
    struct csc_http_rep *rp)
{
	bool get = strcmp(rq->method, "GET") == 0;

	switch (m) {
	case CSC_OAUTH_AUTHORIZE:
		if (get)
			authorize_get(sam, v, rq, rp);
		else
			authorize_post(sam, v, rq, rp);
		break;
	case CSC_OAUTH_TOKEN:
		do_token(sam, v, rq, rp);
		break;
	case CSC_OAUTH_REVOKE:
		do_revoke(sam, v, rq, rp);
		break;
	default:
		token_fail(rp, 501, "not_implemented", "Method not implemented");
		break;
	}
}
