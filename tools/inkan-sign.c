/* inkan-sign.c — the signer's CSC client: creates a detached CMS signature
 * (FILE.p7s) of a local file with a key held by a remote signing service.
 * Only hashes leave this machine; the service signs the hash of the CMS
 * signed attributes after the signer proved PIN + OTP.
 * SECURITY: password, PIN and OTP are read from /dev/tty without echo or from
 * the environment (INKAN_PASSWORD, INKAN_PIN, INKAN_OTP, INKAN_TOTP_SECRET;
 * each wiped from the environment once read), live only in sodium_malloc'd
 * memory and are wiped right after their one use; the SAD likewise. The
 * returned signature is verified locally before anything is written.
 * With --oauth no password, PIN or OTP passes through this program at all:
 * the signer gives them to the service's own consent page in a browser, and
 * this program only receives an authorization code on a loopback port
 * (127.0.0.1, random port, random state) and redeems it with its PKCE
 * verifier. The TLS server certificate is always verified (--cacert).
 * `inkan-sign enroll` is the signer's side of key generation (issue 7): with
 * both factors and the CA's one-time identification code (INKAN_ID_CODE or
 * typed without echo) it has the service generate a key in its HSM, checks
 * the CSR it answers (signed by that key, carrying the code) and writes it
 * for the CA. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "cms.h"
#include "csc_client.h"
#include "fileio.h"
#include "secret.h"
#include "totp.h"
#include "inkan-config.h"

#define PROG "inkan-sign"

static void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " --url URL --user NAME --credential ID [options] FILE\n"
	    "Create a detached CMS signature FILE.p7s with a remote CSC signing service.\n"
	    "  --url URL          service base URL (https://host:port)\n"
	    "  --user NAME        signer's user name (HTTP Basic login)\n"
	    "  --credential ID    credential (key) to sign with\n"
	    "  --cacert FILE      trust these CA certificates for TLS (default:\n"
	    "                     $INKAN_CACERT, else the system store)\n"
	    "  --out FILE         output file (default FILE.p7s; replaced if it exists)\n"
	    "  --pem              write PEM instead of DER\n"
	    "  --api v1|v2        CSC API version (default v2)\n"
	    "  --oauth            authorise in a browser on the service's consent page\n"
	    "                     (OAuth2 code flow with PKCE) instead of typing the\n"
	    "                     password, PIN and OTP here; --user is then optional\n"
	    "  --client-id ID     OAuth2 client id (default inkan-sign)\n"
	    "  --lang ja|en       language of the consent page\n"
	    "With --oauth the consent URL is printed and opened with $BROWSER or\n"
	    "xdg-open when available; the answer comes back to 127.0.0.1.\n"
	    "Secrets come from /dev/tty without echo, or from INKAN_PASSWORD, INKAN_PIN,\n"
	    "INKAN_OTP; INKAN_TOTP_SECRET (base32) computes the OTP when INKAN_OTP is unset.\n"
	    "On success prints one line: signature: OUTFILE\n"
	    "\n"
	    "usage: " PROG " enroll --url URL --user NAME [--key TYPE] [--replaces ID]\n"
	    "                  [--cacert FILE] --out CSRFILE\n"
	    "Have the service generate a new key for you and write its CSR for the CA.\n"
	    "  --key TYPE         p256 (default), p384, rsa2048 or rsa3072\n"
	    "  --replaces ID      renew this credential (its key is destroyed once\n"
	    "                     the new certificate is registered)\n"
	    "  --out FILE         where to write the CSR (PEM; must not exist)\n"
	    "Needs the password, PIN, OTP and the CA's identification code\n"
	    "(INKAN_ID_CODE, or typed without echo). Prints: credential: ID, csr: FILE\n");
}

/* ---- the remote signer callback ----------------------------------------- */

struct remote {
	struct csc_client *csc;
	const char *cred_id;
	const char *user;
	const struct cms_algo *algo;
	const char *description;
	int oauth;
	const char *client_id;
	const char *lang;
	const char *label;
	int api;
};

/* ---- OAuth2: loopback redirect, browser ---------------------------------- */

#define OAUTH_WAIT_S 300

struct loopback {
	int fd;
	char redirect[64];
};

static int loopback_open(struct loopback *lb)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lb->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lb->fd < 0 || bind(lb->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lb->fd, 8) < 0 ||
	    getsockname(lb->fd, (struct sockaddr *)&a, &al) < 0)
		return -errno;
	snprintf(lb->redirect, sizeof(lb->redirect),
	    "http://127.0.0.1:%u/callback", (unsigned)ntohs(a.sin_port));
	return 0;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Value of key in a query string, percent-decoded into out. */
static int query_get(const char *q, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	while (q && *q) {
		const char *end = q + strcspn(q, "&");

		if ((size_t)(end - q) > kl && strncmp(q, key, kl) == 0 &&
		    q[kl] == '=') {
			size_t n = 0;
			const char *p;

			for (p = q + kl + 1; p < end && n + 1 < outlen; p++) {
				if (*p == '%' && p + 2 < end + 0 + 1 &&
				    hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
					out[n++] = (char)(hexv(p[1]) * 16 + hexv(p[2]));
					p += 2;
				} else {
					out[n++] = *p == '+' ? ' ' : *p;
				}
			}
			out[n] = '\0';
			return 0;
		}
		q = *end ? end + 1 : end;
	}
	return -ENOENT;
}

static void http_answer(int fd, const char *status, const char *text)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\nContent-Type: "
	    "text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
	    "Content-Security-Policy: default-src 'none'\r\nConnection: "
	    "close\r\n\r\n<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
	    "<title>inkan-sign</title></head><body><p>%s</p></body></html>\n",
	    status, text);

	if (n > 0)
		(void)!write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

/* Wait for GET /callback?code=...&state=... on the loopback socket. */
static int loopback_wait(struct loopback *lb, const char *state, char *code,
    size_t code_len, char *err, size_t err_len)
{
	time_t deadline = time(NULL) + OAUTH_WAIT_S;

	for (;;) {
		struct pollfd p = { .fd = lb->fd, .events = POLLIN };
		char req[8192], got_state[512];
		const char *q, *sp;
		size_t n = 0;
		int c, left = (int)(deadline - time(NULL));

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left * 1000) <= 0)
			continue;
		c = accept4(lb->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		{
			struct timeval tv = { 10, 0 };

			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		}
		while (n + 1 < sizeof(req)) {
			ssize_t k = read(c, req + n, sizeof(req) - 1 - n);

			if (k <= 0)
				break;
			n += (size_t)k;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[n] = '\0';
		if (strncmp(req, "GET /callback?", 14) != 0) {
			http_answer(c, "404 Not Found", "Not found.");
			close(c);
			continue;
		}
		q = req + 14;
		sp = strchr(q, ' ');
		if (sp != NULL)
			*(char *)sp = '\0';
		if (query_get(q, "state", got_state, sizeof(got_state)) < 0 ||
		    strcmp(got_state, state) != 0) {
			/* not the answer to our request: ignore it */
			http_answer(c, "400 Bad Request", "Unexpected request.");
			close(c);
			continue;
		}
		if (query_get(q, "code", code, code_len) == 0 && code[0]) {
			http_answer(c, "200 OK", "inkan-sign received the "
			    "authorisation. You can close this window. / "
			    "認可を受け取りました。このウィンドウを閉じてください。");
			close(c);
			return 0;
		}
		if (query_get(q, "error", err, err_len) < 0)
			snprintf(err, err_len, "no code in the answer");
		http_answer(c, "200 OK", "inkan-sign: the authorisation was not "
		    "given. You can close this window.");
		close(c);
		return -EACCES;
	}
}

/* $BROWSER (a command, the URL appended), else xdg-open when there is a
 * display; either way the URL is printed first. Not waited for here. */
static void open_browser(const char *url)
{
	extern char **environ;
	const char *b = getenv("BROWSER");
	char *argv[8];
	pid_t pid;

	fprintf(stderr, PROG ": open this URL in a browser to authorise:\n%s\n",
	    url);
	if (b != NULL && *b) {
		argv[0] = (char *)"/bin/sh";
		argv[1] = (char *)"-c";
		argv[2] = (char *)"exec $BROWSER \"$1\"";
		argv[3] = (char *)"sh";
		argv[4] = (char *)url;
		argv[5] = NULL;
	} else if (getenv("DISPLAY") != NULL || getenv("WAYLAND_DISPLAY") != NULL) {
		argv[0] = (char *)"xdg-open";
		argv[1] = (char *)url;
		argv[2] = NULL;
	} else {
		return;
	}
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		fprintf(stderr, PROG ": could not start %s; open the URL by hand\n",
		    argv[0]);
}

static void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* One consent: URL, browser, loopback answer, code exchange. For the
 * credential scope *cred_token gets the token to sign with. */
static void oauth_flow(struct csc_client *csc, const struct remote *rm,
    const char *scope, const uint8_t *hash, size_t hash_len, char **cred_token)
{
	struct loopback lb = { .fd = -1 };
	char verifier[44], challenge[44], state[44], code[256], err[256] = "";
	uint8_t sr[16];
	struct csc_oauth_req q = { 0 };
	char *url;
	int r;

	*cred_token = NULL;
	if ((r = loopback_open(&lb)) < 0)
		die(1, "cannot listen on 127.0.0.1 for the OAuth2 redirect: %s",
		    strerror(-r));
	csc_pkce_new(verifier, challenge);
	randombytes_buf(sr, sizeof(sr));
	sodium_bin2base64(state, sizeof(state), sr, sizeof(sr),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	q.client_id = rm->client_id;
	q.redirect_uri = lb.redirect;
	q.scope = scope;
	q.state = state;
	q.challenge = challenge;
	q.lang = rm->lang;
	if (hash != NULL) {
		q.cred_id = rm->cred_id;
		q.hash = hash;
		q.hash_len = hash_len;
		q.hash_oid = rm->algo->hash_oid;
		q.description = rm->description;
		q.label = rm->label;
	}
	url = csc_oauth_url(csc, &q);
	if (url == NULL)
		die(1, "out of memory");
	open_browser(url);
	free(url);
	r = loopback_wait(&lb, state, code, sizeof(code), err, sizeof(err));
	close(lb.fd);
	reap_children();
	if (r == -ETIMEDOUT)
		die(1, "no answer from the consent page within %d s", OAUTH_WAIT_S);
	if (r < 0) {
		char clean[256];
		size_t i;

		for (i = 0; err[i] && i + 1 < sizeof(clean); i++)
			clean[i] = (err[i] >= 0x20 && err[i] < 0x7f) ? err[i] : '?';
		clean[i] = '\0';
		die(1, "authorisation refused on the consent page (%s)", clean);
	}
	r = csc_oauth_token(csc, rm->client_id, lb.redirect, code, verifier,
	    cred_token);
	sodium_memzero(code, sizeof(code));
	sodium_memzero(verifier, sizeof(verifier));
	if (r < 0)
		die(1, "%s", csc_error(csc));
	if (hash != NULL && *cred_token == NULL)
		die(1, "oauth2/token: expected a credential-scope token");
}

static int get_otp(struct secret *otp)
{
	struct secret seed = { 0 };
	char code[TOTP_DIGITS + 1];
	int r;

	r = secret_from_env("INKAN_OTP", otp);
	if (r != -ENOENT)
		return r;
	r = secret_alloc(&seed);
	if (r < 0)
		return r;
	r = secret_from_env("INKAN_TOTP_SECRET", &seed);
	if (r == 0) {
		r = totp_code(seed.buf, time(NULL), code);
		secret_free(&seed);
		if (r < 0)
			die(1, "INKAN_TOTP_SECRET: %s", r == -EINVAL ?
			    "not a valid base32 secret" : "cannot compute the code");
		memcpy(otp->buf, code, TOTP_DIGITS + 1);
		otp->len = TOTP_DIGITS;
		sodium_memzero(code, sizeof(code));
		return 0;
	}
	secret_free(&seed);
	if (r != -ENOENT)
		return r;
	return secret_prompt("One-time password (OTP): ", 0, otp);
}

static int remote_sign(void *arg, const uint8_t *hash, size_t hash_len,
    uint8_t **sig, size_t *sig_len)
{
	struct remote *rm = arg;
	struct secret pin = { 0 }, otp = { 0 };
	char *sad = NULL;
	char prompt[128];
	int r;

	if (rm->oauth) {
		/* The signer sees this hash on the consent page. v2: the
		 * credential token stands for the SAD in the Authorization
		 * header alone; v1: it is the SAD (token_type "SAD"). */
		oauth_flow(rm->csc, rm, "credential", hash, hash_len, &sad);
		r = csc_sign_hash_cred(rm->csc, rm->cred_id, sad, hash,
		    hash_len, rm->algo->hash_oid, rm->algo->sign_oid, sig,
		    sig_len);
		(void)csc_revoke_token(rm->csc, sad);
		csc_sad_free(sad);
		if (r < 0)
			die(1, "%s", csc_error(rm->csc));
		return 0;
	}

	if (secret_alloc(&pin) < 0 || secret_alloc(&otp) < 0)
		die(1, "out of secure memory");
	snprintf(prompt, sizeof(prompt), "PIN for credential %s: ", rm->cred_id);
	r = secret_get("INKAN_PIN", prompt, 0, &pin);
	if (r < 0)
		die(1, "PIN: %s", secret_strerror(r));
	r = get_otp(&otp);
	if (r < 0)
		die(1, "OTP: %s", secret_strerror(r));

	r = csc_authorize(rm->csc, rm->cred_id, hash, hash_len, rm->algo->hash_oid,
	    &pin, &otp, rm->description, &sad);
	secret_free(&pin);
	secret_free(&otp);
	if (r < 0)
		die(1, "%s", csc_error(rm->csc));

	r = csc_sign_hash(rm->csc, rm->cred_id, sad, hash, hash_len,
	    rm->algo->hash_oid, rm->algo->sign_oid, sig, sig_len);
	csc_sad_free(sad);
	if (r < 0)
		die(1, "%s", csc_error(rm->csc));
	return 0;
}

enum { OPT_URL = 1, OPT_USER, OPT_CRED, OPT_CACERT, OPT_OUT, OPT_API, OPT_PEM,
	OPT_HELP, OPT_VERSION, OPT_OAUTH, OPT_CLIENT_ID, OPT_LANG,
	OPT_KEY, OPT_REPLACES };

/* ---- enroll: the signer instructs key generation ------------------------ */

static void warn_plain_http(const char *url);

static const struct {
	const char *name;
	const char *oid;
	int len;
} enroll_keys[] = {
	{ "p256", "1.2.840.10045.2.1", 256 },
	{ "p384", "1.2.840.10045.2.1", 384 },
	{ "rsa2048", "1.2.840.113549.1.1.1", 2048 },
	{ "rsa3072", "1.2.840.113549.1.1.1", 3072 },
};

/* The CSR must be signed by the key it names and carry exactly the code
 * the signer typed as challengePassword: else the service did not do what
 * it was asked and nothing is written. */
static void enroll_check_csr(X509_REQ *req, const struct secret *code)
{
	EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
	int i = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
	X509_ATTRIBUTE *a = i >= 0 ? X509_REQ_get_attr(req, i) : NULL;
	ASN1_TYPE *t = a && X509_ATTRIBUTE_count(a) == 1 ?
	    X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	const ASN1_STRING *v = NULL;

	if (pk == NULL || X509_REQ_verify(req, pk) != 1)
		die(1, "the service's CSR is not signed by the key it names; "
		    "nothing written");
	if (t && (t->type == V_ASN1_PRINTABLESTRING ||
	    t->type == V_ASN1_UTF8STRING || t->type == V_ASN1_IA5STRING))
		v = t->value.asn1_string;
	if (v == NULL || (size_t)ASN1_STRING_length(v) != code->len ||
	    sodium_memcmp(ASN1_STRING_get0_data(v), code->buf, code->len) != 0)
		die(1, "the service's CSR does not carry your identification "
		    "code; nothing written");
}

static const struct option enroll_options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "user", required_argument, NULL, OPT_USER },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "replaces", required_argument, NULL, OPT_REPLACES },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int enroll_main(int argc, char **argv)
{
	const char *url = NULL, *user = NULL, *cacert = NULL, *out = NULL;
	const char *replaces = NULL;
	struct secret password = { 0 }, pin = { 0 }, otp = { 0 }, code = { 0 };
	struct csc_client *csc = NULL;
	char prompt[128], *cred_id = NULL;
	uint8_t *csr = NULL;
	const unsigned char *p;
	size_t csr_len = 0, k = 0;
	X509_REQ *req;
	BIO *mem;
	char *pem;
	long pem_len;
	int opt, r, tmp_exists = 0;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", enroll_options, NULL)) != -1) {
		switch (opt) {
		case OPT_URL: url = optarg; break;
		case OPT_USER: user = optarg; break;
		case OPT_CACERT: cacert = optarg; break;
		case OPT_OUT: out = optarg; break;
		case OPT_REPLACES: replaces = optarg; break;
		case OPT_KEY:
			for (k = 0; k < sizeof enroll_keys / sizeof enroll_keys[0];
			    k++)
				if (strcmp(optarg, enroll_keys[k].name) == 0)
					break;
			if (k == sizeof enroll_keys / sizeof enroll_keys[0])
				die(2, "--key: p256, p384, rsa2048 or rsa3072, not "
				    "'%s'", optarg);
			break;
		case OPT_HELP: usage(stdout); return 0;
		default:
			die(2, "bad or incomplete option '%s' (see " PROG
			    " --help)", argv[optind - 1]);
		}
	}
	if (url == NULL || user == NULL || out == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		die(2, "--url: must start with https:// or http://");
	if (strlen(user) == 0 || strlen(user) > 64 || strchr(user, ':') != NULL)
		die(2, "--user: 1 to 64 bytes, no ':'");
	if (replaces != NULL && (strlen(replaces) == 0 || strlen(replaces) > 64))
		die(2, "--replaces: 1 to 64 bytes");
	if (access(out, F_OK) == 0)
		die(1, "%s exists: the CSR is never written over a file", out);
	if (cacert == NULL && getenv("INKAN_CACERT") != NULL &&
	    *getenv("INKAN_CACERT"))
		cacert = getenv("INKAN_CACERT");
	warn_plain_http(url);
	if (sodium_init() < 0)
		die(1, "libsodium initialisation failed");
	r = csc_client_new(url, cacert, 2, &csc);
	if (r < 0)
		die(1, "cannot set up the HTTP client: %s", strerror(-r));

	if (secret_alloc(&password) < 0 || secret_alloc(&pin) < 0 ||
	    secret_alloc(&otp) < 0 || secret_alloc(&code) < 0)
		die(1, "out of secure memory");
	snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
	if ((r = secret_get("INKAN_PASSWORD", prompt, 0, &password)) < 0)
		die(1, "password: %s", secret_strerror(r));
	r = csc_login(csc, user, &password);
	secret_free(&password);
	if (r < 0)
		die(1, "%s", csc_error(csc));
	if ((r = secret_get("INKAN_ID_CODE", "Identification code from the "
	    "CA: ", 0, &code)) < 0)
		die(1, "identification code: %s", secret_strerror(r));
	if ((r = secret_get("INKAN_PIN", "PIN for the new key: ", 0, &pin)) < 0)
		die(1, "PIN: %s", secret_strerror(r));
	if ((r = get_otp(&otp)) < 0)
		die(1, "OTP: %s", secret_strerror(r));

	r = csc_create(csc, enroll_keys[k].oid, enroll_keys[k].len, &pin, &otp,
	    &code, replaces, &cred_id, &csr, &csr_len);
	secret_free(&pin);
	secret_free(&otp);
	if (r < 0)
		die(1, "%s", csc_error(csc));
	p = csr;
	req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	if (req == NULL || p != csr + csr_len)
		die(1, "the service's CSR is not a DER PKCS#10 request; nothing "
		    "written");
	enroll_check_csr(req, &code);
	secret_free(&code);

	mem = BIO_new(BIO_s_mem());
	if (mem == NULL || !PEM_write_bio_X509_REQ(mem, req))
		die(1, "PEM encoding failed");
	pem_len = BIO_get_mem_data(mem, &pem);
	r = file_write_atomic(out, pem, (size_t)pem_len, 0644, 0, &tmp_exists);
	if (r < 0)
		die(1, "%s: %s (credential %s was created: ask the operator to "
		    "revoke it, or enrol again)", out, strerror(-r), cred_id);
	BIO_free(mem);
	X509_REQ_free(req);
	csc_logout(csc);
	printf("credential: %s\ncsr: %s\n", cred_id, out);
	free(csr);
	free(cred_id);
	csc_client_free(csc);
	return 0;
}

/* ---- main ------------------------------------------------------------- */



static const struct option options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "user", required_argument, NULL, OPT_USER },
	{ "credential", required_argument, NULL, OPT_CRED },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "api", required_argument, NULL, OPT_API },
	{ "pem", no_argument, NULL, OPT_PEM },
	{ "oauth", no_argument, NULL, OPT_OAUTH },
	{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
	{ "lang", required_argument, NULL, OPT_LANG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int has_algo(const struct csc_cred_info *info, const char *oid)
{
	size_t i;

	for (i = 0; i < info->n_algos; i++)
		if (strcmp(info->algos[i], oid) == 0)
			return 1;
	return 0;
}

/* "inkan-sign: NAME" with only printable ASCII, for credentials/authorize. */
static void make_description(const char *path, char *out, size_t outlen)
{
	const char *base = strrchr(path, '/');
	size_t n, i;

	base = base ? base + 1 : path;
	n = (size_t)snprintf(out, outlen, PROG ": ");
	for (i = 0; base[i] != '\0' && n + 1 < outlen && i < 100; i++) {
		unsigned char ch = (unsigned char)base[i];
		out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[n] = '\0';
}

static void warn_plain_http(const char *url)
{
	const char *host, *end;
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return;
	host = url + 7;
	end = host + strcspn(host, "/");
	n = (size_t)(end - host);
	if ((n >= 9 && strncmp(host, "127.0.0.1", 9) == 0 &&
	    (n == 9 || host[9] == ':')) ||
	    (n >= 9 && strncmp(host, "localhost", 9) == 0 &&
	    (n == 9 || host[9] == ':')) ||
	    (n >= 5 && strncmp(host, "[::1]", 5) == 0))
		return;
	fprintf(stderr, PROG ": warning: %s is not https: the password and "
	    "PIN cross the network in clear\n", url);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *user = NULL, *cred_id = NULL, *cacert = NULL;
	const char *client_id = "inkan-sign", *lang = NULL;
	int oauth = 0;
	const char *in_path, *out_path = NULL;
	char *out_alloc = NULL, prompt[128], description[128];
	int api = 2, pem = 0, opt, fd, r, tmp_exists = 0;
	struct csc_client *csc = NULL;
	struct csc_cred_info info;
	struct secret password = { 0 };
	struct cms_algo algo;
	struct remote rm;
	struct stat st;
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t dlen = 0, der_len = 0;
	uint8_t *der = NULL;
	BIO *content;

	if (argc > 1 && strcmp(argv[1], "enroll") == 0)
		return enroll_main(argc - 1, argv + 1);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_URL: url = optarg; break;
		case OPT_USER: user = optarg; break;
		case OPT_CRED: cred_id = optarg; break;
		case OPT_CACERT: cacert = optarg; break;
		case OPT_OUT: out_path = optarg; break;
		case OPT_PEM: pem = 1; break;
		case OPT_OAUTH: oauth = 1; break;
		case OPT_CLIENT_ID: client_id = optarg; break;
		case OPT_LANG: lang = optarg; break;
		case OPT_API:
			if (strcmp(optarg, "v2") == 0 || strcmp(optarg, "2") == 0)
				api = 2;
			else if (strcmp(optarg, "v1") == 0 || strcmp(optarg, "1") == 0)
				api = 1;
			else
				die(2, "--api: expected v1 or v2, not '%s'", optarg);
			break;
		case OPT_HELP: usage(stdout); return 0;
		case OPT_VERSION: printf(PROG " " INKAN_VERSION "\n"); return 0;
		default:
			die(2, "bad or incomplete option '%s' (see " PROG
			    " --help)", argv[optind - 1]);
		}
	}
	if (url == NULL || (user == NULL && !oauth) || cred_id == NULL ||
	    optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		die(2, "--url: must start with https:// or http://");
	if (user != NULL &&
	    (strlen(user) == 0 || strlen(user) > 64 || strchr(user, ':') != NULL))
		die(2, "--user: 1 to 64 bytes, no ':'");
	if (strlen(client_id) == 0 || strlen(client_id) > 64)
		die(2, "--client-id: 1 to 64 bytes");
	if (strlen(cred_id) == 0 || strlen(cred_id) > 64)
		die(2, "--credential: 1 to 64 bytes");
	in_path = argv[optind];
	if (out_path == NULL) {
		if (asprintf(&out_alloc, "%s.p7s", in_path) < 0)
			die(1, "out of memory");
		out_path = out_alloc;
	}
	if (cacert == NULL && getenv("INKAN_CACERT") != NULL &&
	    *getenv("INKAN_CACERT"))
		cacert = getenv("INKAN_CACERT");
	warn_plain_http(url);
	if (sodium_init() < 0)
		die(1, "libsodium initialisation failed");

	fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(1, "%s: %s", in_path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		die(1, "%s: not a regular file", in_path);

	r = csc_client_new(url, cacert, api, &csc);
	if (r < 0)
		die(1, "cannot set up the HTTP client: %s", strerror(-r));

	rm = (struct remote){ .csc = csc, .cred_id = cred_id, .user = user,
	    .oauth = oauth, .client_id = client_id, .lang = lang, .api = api };
	/* 1. login: password, or with --oauth and no --user, the consent page
	 * (scope service) */
	if (oauth && user == NULL) {
		char *unused = NULL;

		oauth_flow(csc, &rm, "service", NULL, 0, &unused);
		csc_sad_free(unused);
	} else {
		if (secret_alloc(&password) < 0)
			die(1, "out of secure memory");
		snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
		r = secret_get("INKAN_PASSWORD", prompt, 0, &password);
		if (r < 0)
			die(1, "password: %s", secret_strerror(r));
		r = csc_login(csc, user, &password);
		secret_free(&password);
		if (r < 0)
			die(1, "%s", csc_error(csc));
	}

	/* 2. credential: certificate and algorithms */
	r = csc_credential_info(csc, cred_id, &info);
	if (r < 0)
		die(1, "%s", csc_error(csc));
	if (strcmp(info.key_status, "disabled") == 0)
		die(1, "credential %s: key is disabled", cred_id);

	/* 3. algorithm from the key, and the service must offer it */
	r = cms_choose_algo(X509_get0_pubkey(info.cert), &algo);
	if (r < 0)
		die(1, "credential %s: key type not supported (EC P-256, P-384 or RSA)",
		    cred_id);
	if (!has_algo(&info, algo.sign_oid))
		die(1, "credential %s: service does not offer %s (%s) for this key",
		    cred_id, algo.name, algo.sign_oid);

	r = cms_digest_fd(fd, &algo, digest, &dlen);
	close(fd);
	if (r < 0)
		die(1, "%s: %s", in_path, strerror(-r));

	/* 4-6. CMS, authorize + signHash through the callback, local verify */
	content = BIO_new_file(in_path, "rb");
	if (content == NULL)
		die(1, "%s: cannot reopen", in_path);
	make_description(in_path, description, sizeof(description));
	rm.algo = &algo;
	rm.description = description;
	rm.label = strrchr(in_path, '/') ? strrchr(in_path, '/') + 1 : in_path;
	r = cms_sign_detached(info.cert, info.chain, &algo, digest, dlen, content,
	    remote_sign, &rm, &der, &der_len);
	BIO_free(content);
	if (r == -EBADMSG)
		die(1, "the signature returned by the service does not verify "
		    "against the credential's certificate (or %s changed while "
		    "signing); nothing written", in_path);
	if (r < 0)
		die(1, "building the CMS signature failed: %s",
		    ERR_reason_error_string(ERR_peek_last_error()) ?
		    ERR_reason_error_string(ERR_peek_last_error()) : strerror(-r));
	csc_logout(csc);

	/* 7. write */
	if (pem) {
		BIO *mem = BIO_new(BIO_s_mem());
		char *p;
		long n;

		if (mem == NULL || !PEM_write_bio(mem, "CMS", "", der, (long)der_len))
			die(1, "PEM encoding failed");
		n = BIO_get_mem_data(mem, &p);
		r = file_write_atomic(out_path, p, (size_t)n, 0644, 1, &tmp_exists);
		BIO_free(mem);
	} else {
		r = file_write_atomic(out_path, der, der_len, 0644, 1, &tmp_exists);
	}
	if (r < 0) {
		if (tmp_exists)
			die(1, "%s.tmp exists (left by an earlier run?): remove it",
			    out_path);
		die(1, "%s: %s", out_path, strerror(-r));
	}
	printf("signature: %s\n", out_path);

	free(der);
	csc_cred_info_free(&info);
	csc_client_free(csc);
	free(out_alloc);
	return 0;
}
