/* csc.c — inkan-bench's client of inkan's CSC API (libcurl, one easy handle
 * per connection thread, so every connection is kept alive; https with a CA
 * file). It logs the benchmark's signers in, authorises every SAD the cases
 * will spend (credentials/authorize, PIN + a fresh TOTP step each: timed as
 * its own case, since Argon2id is slow on purpose), then runs
 * signatures/signHash with 1, 10 and 100 hashes per request at 1, 8 and 64
 * concurrent connections. A SAD binds up to `multisign` hashes and is spent
 * across consecutive requests. One request of each case is checked with
 * OpenSSL against the certificate's public key.
 * The signers' secrets are throw-away values made by tests/bench/run.sh for
 * this run; they are never printed. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <liboath/oath.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bench.h"

const unsigned bench_batches[N_BATCH] = { 1, 10, 100 };
const unsigned bench_conns[N_CONNS] = { 1, 8, 64 };
unsigned bench_batch_mask = (1u << N_BATCH) - 1;
unsigned bench_conn_mask = (1u << N_CONNS) - 1;

/* Requests per case. Full mode: about a second of signing per case at the
 * rates this machine reaches; quick mode: every connection sends at least
 * one request, nothing more. The SAD count (and so the number of signers,
 * Argon2id runs and TOTP steps) follows from this table. */
void plan_cases(int key, bool quick, unsigned scale,
    struct plan_case out[N_BATCH * N_CONNS])
{
	static const unsigned full_fast[N_BATCH][N_CONNS] = {
		{ 600, 1200, 1920 }, { 200, 320, 640 }, { 30, 48, 128 } };
	static const unsigned full_slow[N_BATCH][N_CONNS] = {
		{ 150, 240, 256 }, { 30, 64, 128 }, { 5, 16, 64 } };
	static const unsigned quick_all[N_BATCH][N_CONNS] = {
		{ 2, 8, 64 }, { 2, 8, 64 }, { 1, 8, 64 } };
	const unsigned (*t)[N_CONNS] = quick ? quick_all :
	    key == BK_P256 ? full_fast : full_slow;

	for (int b = 0; b < N_BATCH; b++)
		for (int c = 0; c < N_CONNS; c++) {
			bool on = KEY_ON(key) && (bench_batch_mask & (1u << b)) &&
			    (bench_conn_mask & (1u << c));

			out[b * N_CONNS + c] = (struct plan_case){
			    bench_batches[b], bench_conns[c],
			    on ? t[b][c] * (quick || !scale ? 1 : scale) : 0 };
		}
}

static unsigned per_sad(unsigned batch, unsigned multisign)
{
	unsigned n = multisign / batch;

	return n ? n : 1;
}

unsigned plan_sads(int key, bool quick, unsigned scale, unsigned multisign)
{
	struct plan_case pc[N_BATCH * N_CONNS];
	unsigned n = 0;

	plan_cases(key, quick, scale, pc);
	for (int i = 0; i < N_BATCH * N_CONNS; i++) {
		unsigned k = per_sad(pc[i].batch, multisign);

		n += (pc[i].requests + k - 1) / k;
	}
	return n;
}

/* Three TOTP steps per signer (the SAM's window is -1..+1 and each step is
 * accepted once), plus spares for a step lost at a 30 s boundary. */
unsigned plan_signers(int key, bool quick, unsigned scale, unsigned multisign)
{
	unsigned sads = plan_sads(key, quick, scale, multisign);

	return sads ? (sads + 2) / 3 + 1 + sads / 30 : 0;
}

/* ---- HTTP -------------------------------------------------------------- */

struct buf {
	char *p;
	size_t n, cap;
};

struct conn {
	CURL *h;
	struct buf rep;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->n + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, ptr, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

static const struct csc_opts *O;

/* CPU time of the three daemons and of this client around a case: where
 * the time goes per request, on a machine where they share the cores. */
static void cpu_mark(double v[4])
{
	for (int i = 0; i < 3; i++)
		v[i] = O->pids[i] > 0 ? proc_cpu_s(O->pids[i]) : -1;
	v[3] = proc_cpu_s(0);
}

static void cpu_set(struct result *r, const double a[4], const double b[4])
{
	r->has_cpu = true;
	for (int i = 0; i < 4; i++) {
		r->cpu_s[i] = a[i] >= 0 && b[i] >= 0 ? b[i] - a[i] : -1;
		if (a[i] < 0 || b[i] < 0)
			r->has_cpu = false;
	}
}

/* --hook: e.g. start/stop a profiler around each signing case. */
static void hook(const char *what, const char *name)
{
	char cmd[1024];

	if (!O->hook)
		return;
	snprintf(cmd, sizeof cmd, "%s %s '%s'", O->hook, what, name);
	if (system(cmd) != 0)
		fprintf(stderr, "inkan-bench: hook failed: %s\n", cmd);
}

static void conn_init(struct conn *c)
{
	memset(c, 0, sizeof *c);
	c->h = curl_easy_init();
	if (!c->h)
		die_oom();
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &c->rep);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->h, CURLOPT_POST, 1L);
	if (O->cacert)
		curl_easy_setopt(c->h, CURLOPT_CAINFO, O->cacert);
}

static void conn_free(struct conn *c)
{
	if (c->h)
		curl_easy_cleanup(c->h);
	free(c->rep.p);
	memset(c, 0, sizeof *c);
}

/* POST json to URL/csc/v2/<method>; returns the HTTP status or -1. */
static long post(struct conn *c, const char *method, const char *json,
    size_t len, struct curl_slist *hdr, const char *basic)
{
	char url[512];
	long code = -1;
	CURLcode rc;

	snprintf(url, sizeof url, "%s/csc/v2/%s", O->url, method);
	c->rep.n = 0;
	if (c->rep.p)
		c->rep.p[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdr);
	if (basic) {
		curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c->h, CURLOPT_USERPWD, basic);
	} else {
		curl_easy_setopt(c->h, CURLOPT_USERPWD, NULL);
	}
	rc = curl_easy_perform(c->h);
	if (rc != CURLE_OK)
		return -1;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static struct curl_slist *headers(const char *token)
{
	struct curl_slist *h = curl_slist_append(NULL,
	    "Content-Type: application/json");
	char line[256];

	if (token) {
		snprintf(line, sizeof line, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	if (!h)
		die_oom();
	return h;
}

/* A one-line reason from a failed reply, never its body verbatim beyond
 * the CSC error fields. */
static void why(struct conn *c, long code, char *out, size_t n)
{
	json_t *j;

	if (code < 0) {
		snprintf(out, n, "transport: %.120s",
		    c->errbuf[0] ? c->errbuf : "?");
		return;
	}
	j = c->rep.p ? json_loads(c->rep.p, 0, NULL) : NULL;
	snprintf(out, n, "HTTP %ld %s: %s", code,
	    j ? json_string_value(json_object_get(j, "error")) ?: "" : "",
	    j ? json_string_value(json_object_get(j, "error_description")) ?:
	    "" : "");
	json_decref(j);
}

/* ---- login ------------------------------------------------------------- */

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct signer *s;
	size_t n;
	atomic_size_t next;
	struct lat lat;
	uint64_t errors;
	char note[160];
};

static void *login_thread(void *arg)
{
	struct pool *p = arg;
	struct curl_slist *h = headers(NULL);
	struct conn c;
	size_t i;

	conn_init(&c);
	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		struct signer *s = &p->s[i];
		char basic[200];
		uint64_t a, b;
		json_t *j = NULL;
		const char *tok;
		long code;

		snprintf(basic, sizeof basic, "%s:%s", s->user, s->password);
		a = now_ns();
		code = post(&c, "auth/login", "{}", 2, h, basic);
		b = now_ns();
		if (code == 200)
			j = json_loads(c.rep.p, 0, NULL);
		tok = j ? json_string_value(json_object_get(j, "access_token")) :
		    NULL;
		pthread_mutex_lock(&p->mu);
		if (tok && strlen(tok) < sizeof s->token) {
			strcpy(s->token, tok);
			if (lat_add(&p->lat, b - a) < 0)
				die_oom();
		} else {
			s->dead = true;
			if (!p->errors++)
				why(&c, code, p->note, sizeof p->note);
		}
		pthread_mutex_unlock(&p->mu);
		json_decref(j);
		memset(basic, 0, sizeof basic);
	}
	curl_slist_free_all(h);
	conn_free(&c);
	return NULL;
}

static void login_all(struct results *rs, unsigned workers)
{
	struct pool p = { .s = O->signers, .n = O->n_signers };
	struct result *r = results_new(rs, "login", -1, workers, 0,
	    "login c%u", workers);
	pthread_t th[8];
	uint64_t t0 = now_ns();

	pthread_mutex_init(&p.mu, NULL);
	for (unsigned i = 0; i < workers; i++)
		pthread_create(&th[i], NULL, login_thread, &p);
	for (unsigned i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	r->ops = p.lat.n;
	r->errors = p.errors;
	snprintf(r->note, sizeof r->note, "%s", p.note);
	result_finish(r, &p.lat, (double)(now_ns() - t0) / 1e9);
	r->ran = p.errors == 0 && r->ops > 0;
	lat_free(&p.lat);
	pthread_mutex_destroy(&p.mu);
}

/* ---- TOTP and credentials/authorize ------------------------------------ */

/* The smallest step this signer has not used that the SAM will still
 * accept a few seconds from now (its window is -1..+1 steps; a request
 * waits in the SAM's queue behind other Argon2id runs for < 1 s). */
static bool pick_step(struct signer *s, int64_t *step)
{
	time_t t = time(NULL);
	int64_t lo = (int64_t)(t + 3) / 30 - 1, hi = (int64_t)t / 30 + 1;
	int64_t st = s->last_step + 1 > lo ? s->last_step + 1 : lo;

	if (st > hi)
		return false;
	*step = st;
	return true;
}

static int totp(const struct signer *s, int64_t step, char out[7])
{
	char *key = NULL;
	size_t klen = 0;
	int r;

	if (oath_base32_decode(s->secret, strlen(s->secret), &key, &klen) !=
	    OATH_OK)
		return -EINVAL;
	r = oath_hotp_generate(key, klen, (uint64_t)step, 6, false,
	    OATH_HOTP_DYNAMIC_TRUNCATION, out);
	memset(key, 0, klen);
	free(key);
	return r == OATH_OK ? 0 : -EIO;
}

struct sad {
	int key;
	size_t signer;
	unsigned n;                 /* hashes bound */
	uint8_t *hashes;            /* n * digest_len */
	char **b64;                 /* n */
	char sad[128];
	bool ok;
};

struct authz {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sad *v;
	size_t n;
	atomic_size_t next;
	struct lat lat;
	uint64_t errors;
	char note[160];
};

/* A signer of this key type, not in use, with a fresh TOTP step. */
static long take_signer(struct authz *a, int key, int64_t *step)
{
	int w, waited = 0;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		bool any_busy = false;

		for (size_t i = 0; i < O->n_signers; i++) {
			struct signer *s = &O->signers[i];

			if (s->key != key || s->dead)
				continue;
			if (s->busy) {
				any_busy = true;
				continue;
			}
			if (pick_step(s, step)) {
				s->busy = true;
				s->last_step = *step;
				pthread_mutex_unlock(&a->mu);
				return (long)i;
			}
		}
		if (any_busy) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		/* Near the end of a step the oldest one is too close to expiry
		 * to use, so signers offer two steps, not three: the third
		 * comes with the next step. Wait for it. */
		w = 30 - (int)(time(NULL) % 30);
		if (w > 6 || waited++ > 2)
			break;
		pthread_mutex_unlock(&a->mu);
		usleep((useconds_t)w * 1000000u + 300000u);
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return -1;
}

static void give_signer(struct authz *a, size_t i)
{
	pthread_mutex_lock(&a->mu);
	O->signers[i].busy = false;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static char *authorize_body(const struct sad *d, const struct signer *s,
    const char *otp)
{
	size_t cap = 512 + (size_t)d->n * 72;
	char *b = xcalloc(cap, 1);
	size_t n;

	n = (size_t)snprintf(b, cap, "{\"credentialID\":\"%s\","
	    "\"numSignatures\":%u,\"hashAlgorithmOID\":\"%s\",\"hashes\":[",
	    s->cred, d->n, bench_keys[d->key].hash_oid);
	for (unsigned i = 0; i < d->n; i++)
		n += (size_t)snprintf(b + n, cap - n, "%s\"%s\"", i ? "," : "",
		    d->b64[i]);
	snprintf(b + n, cap - n, "],\"authData\":[{\"id\":\"PIN\",\"value\":"
	    "\"%s\"},{\"id\":\"OTP\",\"value\":\"%s\"}]}", s->pin, otp);
	return b;
}

static void *authz_thread(void *arg)
{
	struct authz *a = arg;
	struct conn c;
	size_t i;

	conn_init(&c);
	while ((i = atomic_fetch_add(&a->next, 1)) < a->n) {
		struct sad *d = &a->v[i];

		for (int attempt = 0; attempt < 4 && !d->ok; attempt++) {
			struct curl_slist *h;
			int64_t step;
			char otp[8], *body;
			uint64_t t0, t1;
			json_t *j = NULL;
			const char *sad;
			long si, code;

			si = take_signer(a, d->key, &step);
			if (si < 0) {
				pthread_mutex_lock(&a->mu);
				if (!a->errors++)
					snprintf(a->note, sizeof a->note,
					    "no signer with a fresh TOTP step "
					    "left for %s", bench_keys[d->key].name);
				pthread_mutex_unlock(&a->mu);
				break;
			}
			if (totp(&O->signers[si], step, otp) < 0) {
				give_signer(a, (size_t)si);
				continue;
			}
			body = authorize_body(d, &O->signers[si], otp);
			h = headers(O->signers[si].token);
			t0 = now_ns();
			code = post(&c, "credentials/authorize", body,
			    strlen(body), h, NULL);
			t1 = now_ns();
			memset(body, 0, strlen(body));
			free(body);
			curl_slist_free_all(h);
			if (code == 200)
				j = json_loads(c.rep.p, 0, NULL);
			sad = j ? json_string_value(json_object_get(j, "SAD")) :
			    NULL;
			pthread_mutex_lock(&a->mu);
			if (sad && strlen(sad) < sizeof d->sad) {
				strcpy(d->sad, sad);
				d->signer = (size_t)si;
				d->ok = true;
				if (lat_add(&a->lat, t1 - t0) < 0)
					die_oom();
			} else if (!a->errors++) {
				why(&c, code, a->note, sizeof a->note);
			}
			pthread_mutex_unlock(&a->mu);
			json_decref(j);
			give_signer(a, (size_t)si);
		}
	}
	conn_free(&c);
	return NULL;
}

/* Authorise v[0..n) with `workers` connections, timed as one case. */
static void authorize_run(struct results *rs, struct sad *v, size_t n,
    unsigned workers)
{
	struct authz a = { .v = v, .n = n };
	struct result *r = results_new(rs, "authorize", -1, workers, 0,
	    "authorize c%u", workers);
	pthread_t th[16];
	uint64_t t0 = now_ns();
	double cpu0[4], cpu1[4];

	cpu_mark(cpu0);
	pthread_mutex_init(&a.mu, NULL);
	pthread_cond_init(&a.cv, NULL);
	for (unsigned i = 0; i < workers; i++)
		pthread_create(&th[i], NULL, authz_thread, &a);
	for (unsigned i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	cpu_mark(cpu1);
	cpu_set(r, cpu0, cpu1);
	r->ops = a.lat.n;
	r->errors = a.errors;
	snprintf(r->note, sizeof r->note, "%s", a.note);
	result_finish(r, &a.lat, (double)(now_ns() - t0) / 1e9);
	r->ran = r->ops == n;
	lat_free(&a.lat);
	pthread_mutex_destroy(&a.mu);
	pthread_cond_destroy(&a.cv);
}

/* ---- signatures/signHash ----------------------------------------------- */

struct sreq {
	char *body;
	size_t len;
	struct curl_slist *hdr;
	const uint8_t *hashes;      /* batch * digest_len, for verification */
};

struct scase {
	struct sreq *v;
	size_t n;
	unsigned batch;
	atomic_size_t next;
	pthread_barrier_t bar;
	pthread_mutex_t mu;
	struct lat lat;
	uint64_t errors, t0, t1;
	char note[160];
	char *first_rep;            /* reply to request 0, for verification */
};

static int count_sigs(const char *rep, unsigned want, char **keep, bool copy)
{
	json_t *j = json_loads(rep, 0, NULL);
	json_t *a = j ? json_object_get(j, "signatures") : NULL;
	int r = a && json_is_array(a) && json_array_size(a) == want ? 0 : -1;

	if (r == 0 && copy)
		*keep = strdup(rep);
	json_decref(j);
	return r;
}

static void *sign_thread(void *arg)
{
	struct scase *sc = arg;
	struct curl_slist *h = headers(NULL);
	struct lat lat = { 0 };
	struct conn c;
	uint64_t first = 0, last = 0;
	size_t i;
	long code;

	conn_init(&c);
	/* open (and for https, handshake) the connection before the clock */
	code = post(&c, "info", "{}", 2, h, NULL);
	pthread_barrier_wait(&sc->bar);
	if (code != 200) {
		pthread_mutex_lock(&sc->mu);
		if (!sc->errors++)
			why(&c, code, sc->note, sizeof sc->note);
		pthread_mutex_unlock(&sc->mu);
	}
	while ((i = atomic_fetch_add(&sc->next, 1)) < sc->n) {
		struct sreq *q = &sc->v[i];
		uint64_t a = now_ns(), b;

		if (!first)
			first = a;
		code = post(&c, "signatures/signHash", q->body, q->len, q->hdr,
		    NULL);
		b = last = now_ns();
		if (code == 200 && count_sigs(c.rep.p, sc->batch,
		    &sc->first_rep, i == 0) == 0) {
			if (lat_add(&lat, b - a) < 0)
				die_oom();
			continue;
		}
		pthread_mutex_lock(&sc->mu);
		if (!sc->errors++)
			why(&c, code, sc->note, sizeof sc->note);
		pthread_mutex_unlock(&sc->mu);
	}
	pthread_mutex_lock(&sc->mu);
	lat_merge(&sc->lat, &lat);
	if (first && (!sc->t0 || first < sc->t0))
		sc->t0 = first;
	if (last > sc->t1)
		sc->t1 = last;
	pthread_mutex_unlock(&sc->mu);
	lat_free(&lat);
	curl_slist_free_all(h);
	conn_free(&c);
	return NULL;
}

static int fetch_pubkey(const struct signer *s, EVP_PKEY **out,
    unsigned *multisign);


/* Every signature of the first request, checked with OpenSSL against the
 * certificate of the credential that made them. */
static int verify_rep(int key, const struct signer *sg, const char *rep,
    const uint8_t *hashes, unsigned n, char *note, size_t nn)
{
	size_t dl = bench_keys[key].digest_len;
	json_t *j = json_loads(rep, 0, NULL);
	json_t *a = j ? json_object_get(j, "signatures") : NULL;
	EVP_PKEY *pk = NULL;
	int bad = 0;

	if (fetch_pubkey(sg, &pk, NULL) < 0 || !a) {
		EVP_PKEY_free(pk);
		snprintf(note, nn, "no public key or no signatures to verify");
		json_decref(j);
		return -1;
	}
	for (unsigned i = 0; i < n && i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		uint8_t sig[1024];
		EVP_PKEY_CTX *ctx;
		int len, pad = 0;
		size_t sl = s ? strlen(s) : 0;

		if (!s || sl > 4 * (sizeof sig / 3)) {
			bad++;
			continue;
		}
		len = EVP_DecodeBlock(sig, (const unsigned char *)s, (int)sl);
		while (sl > 0 && s[sl - 1] == '=') {
			sl--;
			pad++;
		}
		ctx = EVP_PKEY_CTX_new(pk, NULL);
		if (len < 0 || !ctx || EVP_PKEY_verify_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, dl == 48 ? EVP_sha384() :
		    EVP_sha256()) != 1 ||
		    (key == BK_RSA2048 && EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING) != 1) ||
		    EVP_PKEY_verify(ctx, sig, (size_t)(len - pad),
		    hashes + i * dl, dl) != 1)
			bad++;
		EVP_PKEY_CTX_free(ctx);
	}
	json_decref(j);
	EVP_PKEY_free(pk);
	if (bad)
		snprintf(note, nn, "%d of %u signatures do not verify", bad, n);
	return bad ? -1 : 0;
}

static void sign_case(struct results *rs, int key, const struct plan_case *pc,
    struct sad *sads)
{
	const struct bench_keyinfo *ki = &bench_keys[key];
	struct result *r = results_new(rs, "inkan", key, pc->conns, pc->batch,
	    "inkan %s b%u c%u", ki->name, pc->batch, pc->conns);
	struct scase sc = { .n = pc->requests, .batch = pc->batch };
	pthread_t *th = xcalloc(pc->conns, sizeof *th);
	struct sad *d = NULL;
	unsigned used = 0;
	double cpu0[4], cpu1[4];

	sc.v = xcalloc(sc.n, sizeof *sc.v);
	/* consecutive requests spend consecutive slices of one SAD */
	for (size_t i = 0; i < sc.n; i++) {
		struct sreq *q = &sc.v[i];
		const struct signer *s;
		size_t cap, n;

		if (!d || used + pc->batch > d->n) {
			d = d ? d + 1 : sads;
			used = 0;
		}
		if (!d->ok) {
			snprintf(r->note, sizeof r->note, "a SAD for this case "
			    "was not authorised");
			goto out;
		}
		s = &O->signers[d->signer];
		cap = 512 + (size_t)pc->batch * 72;
		q->body = xcalloc(cap, 1);
		n = (size_t)snprintf(q->body, cap, "{\"credentialID\":\"%s\","
		    "\"SAD\":\"%s\",\"signAlgo\":\"%s\",\"hashes\":[", s->cred,
		    d->sad, ki->sign_algo);
		for (unsigned h = 0; h < pc->batch; h++)
			n += (size_t)snprintf(q->body + n, cap - n, "%s\"%s\"",
			    h ? "," : "", d->b64[used + h]);
		n += (size_t)snprintf(q->body + n, cap - n, "]}");
		q->len = n;
		q->hdr = headers(s->token);
		q->hashes = d->hashes + (size_t)used * ki->digest_len;
		used += pc->batch;
	}

	pthread_barrier_init(&sc.bar, NULL, pc->conns);
	pthread_mutex_init(&sc.mu, NULL);
	hook("start", r->name);
	cpu_mark(cpu0);
	for (unsigned i = 0; i < pc->conns; i++)
		if (pthread_create(&th[i], NULL, sign_thread, &sc) != 0) {
			fprintf(stderr, "inkan-bench: pthread_create failed\n");
			exit(2);
		}
	for (unsigned i = 0; i < pc->conns; i++)
		pthread_join(th[i], NULL);
	cpu_mark(cpu1);
	hook("stop", r->name);
	cpu_set(r, cpu0, cpu1);
	pthread_barrier_destroy(&sc.bar);
	pthread_mutex_destroy(&sc.mu);

	r->ops = sc.lat.n;
	r->sigs = (uint64_t)sc.lat.n * pc->batch;
	r->errors = sc.errors;
	snprintf(r->note, sizeof r->note, "%s", sc.note);
	result_finish(r, &sc.lat, sc.t1 > sc.t0 ?
	    (double)(sc.t1 - sc.t0) / 1e9 : 0);
	r->ran = r->errors == 0 && r->ops == sc.n;
	if (r->ran && O->verify) {
		if (!sc.first_rep) {
			snprintf(r->note, sizeof r->note, "no reply kept");
			r->ran = false;
		} else if (verify_rep(key, &O->signers[sads[0].signer],
		    sc.first_rep, sc.v[0].hashes, pc->batch, r->note,
		    sizeof r->note) < 0) {
			r->ran = false;
		}
	}
out:
	for (size_t i = 0; i < sc.n; i++) {
		free(sc.v[i].body);
		curl_slist_free_all(sc.v[i].hdr);
	}
	free(sc.v);
	free(sc.first_rep);
	lat_free(&sc.lat);
	free(th);
}

/* ---- set-up: certificates, SADs ---------------------------------------- */

/* The public key of a signer's credential (credentials/info, the
 * certificate), and the multisign it announces. */
static int fetch_pubkey(const struct signer *s, EVP_PKEY **out,
    unsigned *multisign)
{
	struct curl_slist *h;
	struct conn c;
	char body[256];
	json_t *j = NULL;
	const char *b64;
	long code;
	int r = -ENOENT;

	*out = NULL;
	conn_init(&c);
	h = headers(s->token);
	snprintf(body, sizeof body, "{\"credentialID\":\"%s\",\"certificates\""
	    ":\"single\"}", s->cred);
	code = post(&c, "credentials/info", body, strlen(body), h, NULL);
	if (code == 200)
		j = json_loads(c.rep.p, 0, NULL);
	b64 = j ? json_string_value(json_array_get(json_object_get(
	    json_object_get(j, "cert"), "certificates"), 0)) : NULL;
	if (multisign && j &&
	    json_is_integer(json_object_get(j, "multisign")))
		*multisign = (unsigned)json_integer_value(json_object_get(j,
		    "multisign"));
	if (b64) {
		size_t bl = strlen(b64);
		unsigned char *der = xcalloc(bl, 1);
		const unsigned char *p = der;
		int dl = EVP_DecodeBlock(der, (const unsigned char *)b64,
		    (int)bl);
		X509 *x = dl > 0 ? d2i_X509(NULL, &p, dl) : NULL;

		if (x) {
			*out = X509_get_pubkey(x);
			X509_free(x);
			r = *out ? 0 : -EINVAL;
		}
		free(der);
	}
	json_decref(j);
	curl_slist_free_all(h);
	conn_free(&c);
	return r;
}

static void sad_fill(struct sad *d, int key, unsigned n)
{
	size_t dl = bench_keys[key].digest_len;

	d->key = key;
	d->n = n;
	d->hashes = xcalloc(n, dl);
	d->b64 = xcalloc(n, sizeof *d->b64);
	RAND_bytes(d->hashes, (int)(n * dl));
	for (unsigned i = 0; i < n; i++)
		d->b64[i] = b64_enc(d->hashes + i * dl, dl);
}

static void sad_free(struct sad *d)
{
	for (unsigned i = 0; i < d->n; i++)
		free(d->b64[i]);
	free(d->b64);
	free(d->hashes);
}

int csc_bench(const struct csc_opts *o, struct results *rs)
{
	struct plan_case pc[BK_N][N_BATCH * N_CONNS];
	size_t start[BK_N][N_BATCH * N_CONNS];
	struct sad *sads;
	size_t n_sads = 0, si = 0, first;
	unsigned ms = o->multisign;

	O = o;
	login_all(rs, 2);
	for (int k = 0; k < BK_N; k++) {
		const struct signer *sg = NULL;
		EVP_PKEY *pk = NULL;
		unsigned m = 0;

		for (size_t i = 0; i < o->n_signers && !sg; i++)
			if (o->signers[i].key == k && !o->signers[i].dead)
				sg = &o->signers[i];
		if (!KEY_ON(k))
			continue;
		if (!sg || fetch_pubkey(sg, &pk, &m) < 0)
			fprintf(stderr, "inkan-bench: no usable %s credential\n",
			    bench_keys[k].name);
		EVP_PKEY_free(pk);
		if (m && m < ms)
			ms = m;
	}
	if (ms != o->multisign) {
		fprintf(stderr, "inkan-bench: the credentials allow %u "
		    "signatures per SAD (planned for %u)\n", ms, o->multisign);
	}

	/* Every SAD, in the order the cases will spend them. */
	for (int k = 0; k < BK_N; k++) {
		plan_cases(k, o->quick, o->scale, pc[k]);
		n_sads += plan_sads(k, o->quick, o->scale, ms);
	}
	sads = xcalloc(n_sads, sizeof *sads);
	for (int k = 0; k < BK_N; k++)
		for (int c = 0; c < N_BATCH * N_CONNS; c++) {
			unsigned per = per_sad(pc[k][c].batch, ms);
			unsigned left = pc[k][c].requests;

			start[k][c] = si;
			while (left) {
				unsigned take = left < per ? left : per;

				sad_fill(&sads[si++], k, take * pc[k][c].batch);
				left -= take;
			}
		}
	/* authorize: a few one at a time, the rest over 4 connections */
	first = n_sads < 8 ? n_sads : 8;
	authorize_run(rs, sads, first, 1);
	authorize_run(rs, sads + first, n_sads - first, 4);

	for (int k = 0; k < BK_N; k++)
		for (int c = 0; c < N_BATCH * N_CONNS; c++)
			if (pc[k][c].requests)
				sign_case(rs, k, &pc[k][c], sads + start[k][c]);

	for (size_t i = 0; i < n_sads; i++)
		sad_free(&sads[i]);
	free(sads);
	return 0;
}
