/* p11.c — inkan-bench's PKCS#11 baselines. The benchmark makes its own
 * SoftHSMv2 token in a temporary directory (same module, same object store,
 * token keys with inkan's attributes), then measures C_SignInit + C_Sign:
 *   raw:    the module dlopen'ed in this process (the HSM's own limit);
 *   p11kit: the same token served by `p11-kit server` and reached through
 *           p11-kit-client.so (the simplest process boundary around an HSM).
 * Each case runs 1 and 2 threads, one session each, for a fixed time. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/rand.h>

#include <p11-kit/pkcs11.h>

#include "bench.h"

#define TOKEN_LABEL "inkan-bench"
#define SO_PIN "bench-so-pin"
#define USER_PIN "bench-user-pin"

extern char **environ;

struct mod {
	void *dl;
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE key[BK_N][2];   /* one key per thread */
	char err[160];
};

static int ck(struct mod *m, const char *what, CK_RV rv)
{
	if (rv == CKR_OK)
		return 0;
	snprintf(m->err, sizeof m->err, "%s: CKR 0x%lx", what,
	    (unsigned long)rv);
	return -EIO;
}

static void pad32(unsigned char out[32], const char *s)
{
	size_t n = strlen(s);

	memset(out, ' ', 32);
	memcpy(out, s, n > 32 ? 32 : n);
}

static int mod_load(struct mod *m, const char *path)
{
	CK_C_GetFunctionList gfl;
	CK_C_INITIALIZE_ARGS ia;

	m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!m->dl) {
		snprintf(m->err, sizeof m->err, "dlopen %s: %s", path,
		    dlerror());
		return -ENOENT;
	}
	gfl = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (!gfl) {
		snprintf(m->err, sizeof m->err, "%s: no C_GetFunctionList", path);
		return -ENOENT;
	}
	if (ck(m, "C_GetFunctionList", gfl(&m->f)) < 0)
		return -EIO;
	memset(&ia, 0, sizeof ia);
	ia.flags = CKF_OS_LOCKING_OK;   /* several threads use the module */
	return ck(m, "C_Initialize", m->f->C_Initialize(&ia));
}

/* The slot whose token carries our label. */
static int find_slot(struct mod *m)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	unsigned char want[32];

	pad32(want, TOKEN_LABEL);
	if (ck(m, "C_GetSlotList", m->f->C_GetSlotList(CK_TRUE, slots, &n)) < 0)
		return -EIO;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if ((ti.flags & CKF_TOKEN_INITIALIZED) &&
		    memcmp(ti.label, want, 32) == 0) {
			m->slot = slots[i];
			return 0;
		}
	}
	snprintf(m->err, sizeof m->err, "no token labelled %s", TOKEN_LABEL);
	return -ENOENT;
}

static int init_token(struct mod *m)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_SESSION_HANDLE s;
	unsigned char label[32];
	bool done = false;

	pad32(label, TOKEN_LABEL);
	if (ck(m, "C_GetSlotList", m->f->C_GetSlotList(CK_TRUE, slots, &n)) < 0)
		return -EIO;
	for (CK_ULONG i = 0; i < n && !done; i++) {
		CK_TOKEN_INFO ti;

		if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    (ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (ck(m, "C_InitToken", m->f->C_InitToken(slots[i],
		    (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label)) < 0)
			return -EIO;
		done = true;
	}
	if (!done) {
		snprintf(m->err, sizeof m->err, "no free token slot");
		return -ENOSPC;
	}
	/* SoftHSM renumbers the slot once the token exists. */
	if (find_slot(m) < 0)
		return -ENOENT;
	if (ck(m, "C_OpenSession", m->f->C_OpenSession(m->slot,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) < 0)
		return -EIO;
	if (ck(m, "C_Login(SO)", m->f->C_Login(s, CKU_SO,
	    (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN))) < 0 ||
	    ck(m, "C_InitPIN", m->f->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN,
	    strlen(USER_PIN))) < 0)
		return -EIO;
	m->f->C_Logout(s);
	m->f->C_CloseSession(s);
	return 0;
}

/* A logged-in session; the login holds for every session of the process. */
static int login(struct mod *m, CK_SESSION_HANDLE *s)
{
	CK_RV rv;

	if (ck(m, "C_OpenSession", m->f->C_OpenSession(m->slot,
	    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s)) < 0)
		return -EIO;
	rv = m->f->C_Login(*s, CKU_USER, (CK_UTF8CHAR *)USER_PIN,
	    strlen(USER_PIN));
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	return ck(m, "C_Login", rv);
}

static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
	0x22 };

/* Token key pairs with the attributes inkan-scm gives signer keys. */
static int keygen(struct mod *m, CK_SESSION_HANDLE s, int key, int idx)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 2048;
	CK_BYTE e65537[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	char label[32];
	CK_OBJECT_HANDLE pub, priv;
	CK_ATTRIBUTE pub_t[8] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &no, sizeof no },
		{ CKA_VERIFY, &yes, sizeof yes },
		{ CKA_ENCRYPT, &no, sizeof no },
		{ CKA_WRAP, &no, sizeof no },
		{ CKA_LABEL, label, 0 },
	};
	CK_ULONG npub = 6;
	CK_ATTRIBUTE priv_t[] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SIGN, &yes, sizeof yes },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_UNWRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &no, sizeof no },
		{ CKA_LABEL, label, 0 },
	};

	snprintf(label, sizeof label, "bench-%s-%d", bench_keys[key].name, idx);
	pub_t[5].ulValueLen = strlen(label);
	priv_t[8].ulValueLen = strlen(label);
	switch (key) {
	case BK_P256:
		pub_t[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS,
		    (void *)oid_p256, sizeof oid_p256 };
		break;
	case BK_P384:
		pub_t[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS,
		    (void *)oid_p384, sizeof oid_p384 };
		break;
	default:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pub_t[npub++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits,
		    sizeof bits };
		pub_t[npub++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, e65537,
		    sizeof e65537 };
		break;
	}
	return ck(m, "C_GenerateKeyPair", m->f->C_GenerateKeyPair(s, &mech,
	    pub_t, npub, priv_t, sizeof priv_t / sizeof priv_t[0], &pub,
	    &priv));
}

static int find_key(struct mod *m, CK_SESSION_HANDLE s, int key, int idx)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	char label[32];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_LABEL, label, 0 },
	};
	CK_ULONG n = 0;

	snprintf(label, sizeof label, "bench-%s-%d", bench_keys[key].name, idx);
	t[1].ulValueLen = strlen(label);
	if (ck(m, "C_FindObjectsInit", m->f->C_FindObjectsInit(s, t, 2)) < 0)
		return -EIO;
	if (ck(m, "C_FindObjects", m->f->C_FindObjects(s, &m->key[key][idx], 1,
	    &n)) < 0)
		return -EIO;
	m->f->C_FindObjectsFinal(s);
	if (n != 1) {
		snprintf(m->err, sizeof m->err, "key %s not found", label);
		return -ENOENT;
	}
	return 0;
}

/* ---- the signing loop -------------------------------------------------- */

struct job {
	struct mod *m;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM_TYPE mech;
	const uint8_t *data;
	size_t len;
	double seconds;
	pthread_barrier_t *bar;
	struct lat lat;
	uint64_t n, errors, t0, t1;
	CK_RV first_err;
};

static void *sign_thread(void *arg)
{
	struct job *j = arg;
	CK_FUNCTION_LIST *f = j->m->f;
	CK_SESSION_HANDLE s;
	CK_MECHANISM mech = { j->mech, NULL, 0 };
	uint8_t sig[512];
	uint64_t deadline, a, b;
	CK_RV rv;

	rv = f->C_OpenSession(j->m->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	pthread_barrier_wait(j->bar);
	if (rv != CKR_OK) {
		j->first_err = rv;
		j->errors++;
		return NULL;
	}
	j->t0 = now_ns();
	deadline = j->t0 + (uint64_t)(j->seconds * 1e9);
	do {
		CK_ULONG sl = sizeof sig;

		a = now_ns();
		rv = f->C_SignInit(s, &mech, j->key);
		if (rv == CKR_OK)
			rv = f->C_Sign(s, (CK_BYTE *)j->data, j->len, sig, &sl);
		b = now_ns();
		if (rv != CKR_OK) {
			if (!j->errors)
				j->first_err = rv;
			j->errors++;
			break;
		}
		j->n++;
		if (lat_add(&j->lat, b - a) < 0)
			die_oom();
	} while (b < deadline);
	j->t1 = b;
	f->C_CloseSession(s);
	return NULL;
}

/* DigestInfo for SHA-256: inkan-scm signs RSA PKCS#1 v1.5 this way. */
static const uint8_t sha256_prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
	0x20 };

static void run_case(struct mod *m, int key, unsigned threads, double secs,
    struct result *r)
{
	pthread_t th[2];
	struct job jobs[2];
	pthread_barrier_t bar;
	uint8_t data[64];
	size_t len = bench_keys[key].digest_len;
	struct lat all = { 0 };
	uint64_t t0 = UINT64_MAX, t1 = 0;
	CK_MECHANISM_TYPE mech = CKM_ECDSA;

	RAND_bytes(data, sizeof data);
	if (key == BK_RSA2048) {
		memcpy(data, sha256_prefix, sizeof sha256_prefix);
		len = sizeof sha256_prefix + 32;
		mech = CKM_RSA_PKCS;
	}
	pthread_barrier_init(&bar, NULL, threads);
	for (unsigned i = 0; i < threads; i++) {
		jobs[i] = (struct job){ .m = m, .key = m->key[key][i], .mech = mech,
		    .data = data, .len = len, .seconds = secs, .bar = &bar };
		if (pthread_create(&th[i], NULL, sign_thread, &jobs[i]) != 0) {
			fprintf(stderr, "inkan-bench: pthread_create failed\n");
			exit(2);
		}
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		r->ops += jobs[i].n;
		r->errors += jobs[i].errors;
		if (jobs[i].errors && !r->note[0])
			snprintf(r->note, sizeof r->note, "C_Sign: CKR 0x%lx",
			    (unsigned long)jobs[i].first_err);
		if (jobs[i].t0 && jobs[i].t0 < t0)
			t0 = jobs[i].t0;
		if (jobs[i].t1 > t1)
			t1 = jobs[i].t1;
		lat_merge(&all, &jobs[i].lat);
		lat_free(&jobs[i].lat);
	}
	pthread_barrier_destroy(&bar);
	r->sigs = r->ops;
	result_finish(r, &all, t1 > t0 ? (double)(t1 - t0) / 1e9 : 0);
	r->ran = r->errors == 0 && r->sigs > 0;
	lat_free(&all);
}

static void run_all(struct mod *m, const char *kind, double secs,
    struct results *rs)
{
	for (int k = 0; k < BK_N; k++)
		for (unsigned t = 1; t <= 2 && KEY_ON(k); t++) {
			struct result *r = results_new(rs, kind, k, t, 1,
			    "%s %s t%u", kind, bench_keys[k].name, t);

			run_case(m, k, t, secs, r);
		}
}

static void fail_all(struct results *rs, const char *kind, const char *why)
{
	for (int k = 0; k < BK_N; k++)
		for (unsigned t = 1; t <= 2 && KEY_ON(k); t++) {
			struct result *r = results_find(rs, kind, k, t, 1);

			if (!r)
				r = results_new(rs, kind, k, t, 1, "%s %s t%u",
				    kind, bench_keys[k].name, t);
			if (!r->ran && !r->note[0])
				snprintf(r->note, sizeof r->note, "%s", why);
		}
}

/* ---- p11-kit server ---------------------------------------------------- */

static pid_t start_server(const struct p11_opts *o, const char *sock)
{
	posix_spawnattr_t at;
	posix_spawn_file_actions_t fa;
	char uri[64];
	char *argv[] = { (char *)o->p11kit, "server", "-f", "-n", (char *)sock,
	    "--provider", (char *)o->module, uri, NULL };
	pid_t pid;
	int r;

	snprintf(uri, sizeof uri, "pkcs11:token=%s", TOKEN_LABEL);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawn_file_actions_init(&fa);
	/* it prints the shell variables to set: not needed */
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, o->p11kit, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		fprintf(stderr, "inkan-bench: cannot run %s: %s\n", o->p11kit,
		    strerror(r));
		return -1;
	}
	for (int i = 0; i < 200; i++) {
		struct stat st;
		int status;

		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return pid;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "inkan-bench: p11-kit server exited\n");
			return -1;
		}
		usleep(25000);
	}
	fprintf(stderr, "inkan-bench: p11-kit server did not make %s\n", sock);
	kill(-pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static void stop_server(pid_t pid)
{
	/* its own process group: the server and the per-client process it
	 * forks for us */
	kill(-pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int rm_tree(const char *dir)
{
	char cmd[4200];

	/* only our own mkdtemp directory */
	if (strstr(dir, "/inkan-bench-p11.") == NULL)
		return -EINVAL;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -EIO;
}

int p11_bench(const struct p11_opts *o, struct results *rs)
{
	char dir[4096], conf[4200], tokens[4200], sock[4200], addr[4300];
	struct mod raw = { 0 }, cli = { 0 };
	CK_SESSION_HANDLE s;
	FILE *fp;
	pid_t srv;
	int r = 0;

	snprintf(dir, sizeof dir, "%s/inkan-bench-p11.XXXXXX", o->tmpdir);
	if (!mkdtemp(dir)) {
		r = -errno;
		fail_all(rs, "raw", "cannot make a token directory");
		fail_all(rs, "p11kit", "cannot make a token directory");
		return r;
	}
	snprintf(tokens, sizeof tokens, "%s/tokens", dir);
	snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
	snprintf(sock, sizeof sock, "%s/p11kit.sock", dir);
	mkdir(tokens, 0700);
	fp = fopen(conf, "w");
	if (!fp) {
		r = -errno;
		goto out;
	}
	/* the object store inkanctl init configures for inkan-scm */
	fprintf(fp, "directories.tokendir = %s\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", tokens);
	fclose(fp);
	setenv("SOFTHSM2_CONF", conf, 1);

	/* raw: the module in this process */
	if ((r = mod_load(&raw, o->module)) < 0 || (r = init_token(&raw)) < 0 ||
	    (r = login(&raw, &s)) < 0) {
		fprintf(stderr, "inkan-bench: raw PKCS#11 set-up: %s\n", raw.err);
		fail_all(rs, "raw", raw.err);
		fail_all(rs, "p11kit", "no token");
		goto out;
	}
	for (int k = 0; k < 2 * BK_N; k++)
		if (KEY_ON(k / 2) && ((r = keygen(&raw, s, k / 2, k % 2)) < 0 ||
		    (r = find_key(&raw, s, k / 2, k % 2)) < 0)) {
			fprintf(stderr, "inkan-bench: key generation: %s\n",
			    raw.err);
			fail_all(rs, "raw", raw.err);
			fail_all(rs, "p11kit", "no key");
			goto out;
		}
	run_all(&raw, "raw", o->seconds, rs);
	raw.f->C_CloseAllSessions(raw.slot);
	raw.f->C_Finalize(NULL);
	/* the module stays mapped: SoftHSM's OpenSSL state does not like
	 * dlclose */

	/* p11kit: the same token, in a `p11-kit server` process */
	srv = start_server(o, sock);
	if (srv < 0) {
		r = -EIO;
		fail_all(rs, "p11kit", "p11-kit server did not start");
		goto out;
	}
	snprintf(addr, sizeof addr, "unix:path=%s", sock);
	setenv("P11_KIT_SERVER_ADDRESS", addr, 1);
	if ((r = mod_load(&cli, o->client_module)) < 0 ||
	    (r = find_slot(&cli)) < 0 || (r = login(&cli, &s)) < 0) {
		fprintf(stderr, "inkan-bench: p11-kit client set-up: %s\n",
		    cli.err);
		fail_all(rs, "p11kit", cli.err);
	} else {
		for (int k = 0; k < 2 * BK_N && r == 0; k++)
			if (KEY_ON(k / 2))
				r = find_key(&cli, s, k / 2, k % 2);
		if (r < 0)
			fail_all(rs, "p11kit", cli.err);
		else
			run_all(&cli, "p11kit", o->seconds, rs);
		cli.f->C_CloseAllSessions(cli.slot);
		cli.f->C_Finalize(NULL);
	}
	stop_server(srv);
out:
	unsetenv("P11_KIT_SERVER_ADDRESS");
	rm_tree(dir);
	return r;
}
