/* pool.h — inkan-scm's signing pool (docs/performance.md recommendation 6):
 * N worker threads, each with its own PKCS#11 session on the token's one
 * user login, share out the digests of one sign request; the answer keeps
 * the request's order. The request loop stays single-threaded and waits for
 * the batch, so every other handler still runs alone. Library code: no
 * logging; a failure's PKCS#11 detail is copied into the parent token. */
#ifndef INKAN_SCM_POOL_H
#define INKAN_SCM_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "pkcs11.h"

#define SCM_POOL_MAX_THREADS 64

/* One sign request, already validated by the caller. */
struct scm_sign_job {
	const uint8_t *key_id;            /* P11_KEY_ID_LEN bytes */
	enum p11_mech mech;
	enum der_hash hash;
	uint32_t salt_len;
	size_t n;                         /* number of digests, >= 1 */
	const uint8_t *const *digests;    /* n digests of dlen bytes each */
	size_t dlen;
	uint8_t *sigs;                    /* out: n * P11_SIG_MAX bytes */
	size_t *sig_lens;                 /* out: n lengths */
};

struct scm_pool;

/* Open n (1..SCM_POOL_MAX_THREADS) more sessions on tok (open and logged
 * in) and start one thread for each, every signal blocked in them. n == 1
 * starts no thread: scm_pool_sign then signs on tok itself, as one thread.
 * Returns 0, -EINVAL, -ENOMEM, -EAGAIN (no thread), or -EIO with the failing
 * call in tok (C_OpenSession). */
int scm_pool_start(struct scm_pool **out, struct p11_token *tok, unsigned n);

/* Sign job's digests: a single digest (or a one-thread pool) on tok in the
 * calling thread, more across the workers. All or nothing: the return value
 * is p11_sign's for the lowest-numbered digest that failed (its detail
 * copied into tok, *failed_at set to its index), or 0 with every signature
 * and length filled in. */
int scm_pool_sign(struct scm_pool *p, const struct scm_sign_job *job,
    size_t *failed_at);

/* While held, no worker touches the token (there is no batch running and
 * none can start): for whatever changes the login state (key backup's SO
 * login). Not recursive; the holder must not call scm_pool_sign. */
void scm_pool_hold(struct scm_pool *p);
void scm_pool_release(struct scm_pool *p);

/* Number of worker threads (0 for a one-thread pool). */
unsigned scm_pool_threads(const struct scm_pool *p);

/* Stop and join the threads, close their sessions, free. NULL is fine. */
void scm_pool_stop(struct scm_pool *p);

#endif
