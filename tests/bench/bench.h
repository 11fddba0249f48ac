/* bench.h — inkan-bench, the signing-path benchmark (issue 8): shared types.
 * One run measures the HSM's own limit (C_Sign in-process), the same C_Sign
 * through p11-kit's remote PKCS#11, raw Argon2id verification, and inkan's
 * CSC API (login, credentials/authorize, signatures/signHash), and prints each
 * figure as a ratio of the baselines measured in the same run. Test tool, not
 * installed; it holds only throw-away secrets of the benchmark's own signers. */
#ifndef INKAN_BENCH_H
#define INKAN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum bench_key { BK_P256, BK_P384, BK_RSA2048, BK_N };
/* Key types this run measures (--keys); all by default. */
extern unsigned bench_key_mask;
#define KEY_ON(k) (bench_key_mask & (1u << (k)))

struct bench_keyinfo {
	const char *name;           /* p256, p384, rsa2048 (inkanctl names) */
	size_t digest_len;          /* the hash the benchmark signs with */
	const char *sign_algo;      /* CSC signAlgo OID */
	const char *hash_oid;       /* CSC hashAlgorithmOID */
};
extern const struct bench_keyinfo bench_keys[BK_N];

/* Latency samples in nanoseconds. */
struct lat {
	uint64_t *v;
	size_t n, cap;
};
int lat_add(struct lat *l, uint64_t ns);
void lat_merge(struct lat *into, const struct lat *from);
void lat_free(struct lat *l);
/* Sorts in place; q in [0,1]; 0 when empty. */
double lat_pct_us(struct lat *l, double q);

uint64_t now_ns(void);
/* CPU seconds (user + system, all threads) of a process; this process
 * when pid is 0. Negative when unknown. */
double proc_cpu_s(int pid);

/* One measured case. */
struct result {
	char name[64];
	char kind[16];              /* raw, p11kit, inkan, pwhash, authorize, login */
	int key;                    /* enum bench_key, or -1 */
	unsigned threads;           /* threads or connections */
	unsigned batch;             /* hashes per request (inkan) */
	uint64_t ops;               /* requests (or C_Sign calls, verifications) */
	uint64_t sigs;              /* signatures made (0 for pwhash/login) */
	uint64_t errors;
	double seconds;
	double rate;                /* signatures/s, or operations/s */
	double p50_us, p99_us;      /* per operation (request) */
	bool ran;                   /* case completed and its checks passed */
	bool has_cpu;
	double cpu_s[4];            /* CPU seconds: sic, sam, scm, this client */
	char note[160];             /* why a case failed, or a remark */
};

struct results {
	struct result *v;
	size_t n, cap;
};
struct result *results_new(struct results *rs, const char *kind, int key,
    unsigned threads, unsigned batch, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
struct result *results_find(struct results *rs, const char *kind, int key,
    unsigned threads, unsigned batch);
/* Fill rate/p50/p99 from samples and a wall time. */
void result_finish(struct result *r, struct lat *l, double seconds);

/* ---- PKCS#11 baselines (p11.c) ----------------------------------------- */
struct p11_opts {
	const char *module;         /* SoftHSMv2 module */
	const char *p11kit;         /* the p11-kit program ("p11-kit server") */
	const char *client_module;  /* p11-kit-client.so */
	double seconds;             /* per case */
	const char *tmpdir;         /* parent of the benchmark's own token dir */
};
/* Raw and p11-kit cases for every key type, 1 and 2 threads. Returns 0, or
 * -errno when the set-up failed (the cases that did not run stay !ran). */
int p11_bench(const struct p11_opts *o, struct results *rs);

/* ---- inkan over the CSC API (csc.c) ------------------------------------ */
struct signer {
	int key;
	char user[64], password[96], pin[32], secret[128], cred[96];
	char token[128];            /* access token after login */
	int64_t last_step;          /* last TOTP step used (absolute) */
	bool busy, dead;
};

struct csc_opts {
	const char *url;            /* http(s)://host:port, no trailing slash */
	const char *cacert;         /* CA file for https, or NULL */
	struct signer *signers;
	size_t n_signers;
	unsigned multisign;
	bool quick;
	bool verify;                /* OpenSSL-check one request of each case */
	int pids[3];                /* inkan-sic, -sam, -scm (0: unknown) */
	const char *hook;           /* run "HOOK start|stop NAME" around cases */
	unsigned scale;             /* full mode: requests x scale */
};

/* Planned requests per case (same table for --plan and the run). */
struct plan_case {
	unsigned batch, conns, requests;
};
#define N_BATCH 3
#define N_CONNS 3
extern const unsigned bench_batches[N_BATCH];
extern const unsigned bench_conns[N_CONNS];
void plan_cases(int key, bool quick, unsigned scale,
    struct plan_case out[N_BATCH * N_CONNS]);
unsigned plan_sads(int key, bool quick, unsigned scale, unsigned multisign);
unsigned plan_signers(int key, bool quick, unsigned scale, unsigned multisign);
/* Cases this run measures (--batches, --conns); all by default. */
extern unsigned bench_batch_mask, bench_conn_mask;

int csc_bench(const struct csc_opts *o, struct results *rs);

/* ---- small helpers ----------------------------------------------------- */
void die_oom(void) __attribute__((noreturn));
void *xcalloc(size_t n, size_t sz);
char *b64_enc(const uint8_t *in, size_t n);

#endif
