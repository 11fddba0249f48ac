/* pool.c — inkan-scm's signing pool (see pool.h). Workers take the next
 * digest index from a shared counter, so a slow signature never holds up the
 * rest and every result lands in its own slot: the order is the request's.
 * Indices are handed out in increasing order, so once a failure is seen and
 * no new index is taken, every lower index has already been signed or
 * failed: the failure reported is the lowest one, as with one thread.
 * SECURITY: threads are started by the daemon before its seccomp filter
 * (which then covers them too, TSYNC) and after its Landlock wall (which a
 * thread inherits only when created after it). A worker holds no PIN and
 * does nothing but p11_sign on its own session; the key handle cache it
 * shares with the request loop is under a mutex in pkcs11.c. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct scm_worker {
	struct scm_pool *pool;
	struct p11_token tok;             /* own session, parent's login */
	pthread_t thread;
	bool running;
};

struct scm_pool {
	struct p11_token *tok;            /* the parent token */
	unsigned n;                       /* worker threads */
	struct scm_worker *w;
	pthread_mutex_t hold;             /* one batch, or a holder, at a time */
	pthread_mutex_t lock;             /* everything below */
	pthread_cond_t work;              /* a new batch, or stopping */
	pthread_cond_t done;              /* the last worker left the batch */
	const struct scm_sign_job *job;
	unsigned long gen;                /* batch number */
	size_t next;                      /* next digest index to sign */
	unsigned busy;                    /* workers still in this batch */
	unsigned ready;                   /* workers that reached their loop */
	bool stopping;
	int rc;                           /* lowest failure of this batch */
	size_t failed_at;
};

static int sign_one(struct p11_token *t, const struct scm_sign_job *j,
    size_t i)
{
	return p11_sign(t, j->key_id, j->mech, j->hash, j->salt_len,
	    j->digests[i], j->dlen, j->sigs + i * P11_SIG_MAX, &j->sig_lens[i]);
}

static void *worker_main(void *arg)
{
	struct scm_worker *w = arg;
	struct scm_pool *p = w->pool;
	const struct scm_sign_job *j;
	unsigned long seen = 0;
	size_t i;
	int rc;

	pthread_mutex_lock(&p->lock);
	/* glibc's own thread start-up (rseq, robust list, signal mask) is
	 * over once here: scm_pool_start waits for this before the daemon
	 * installs a filter that does not allow those calls. */
	p->ready++;
	pthread_cond_signal(&p->done);
	for (;;) {
		while (!p->stopping && p->gen == seen)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stopping)
			break;
		seen = p->gen;
		j = p->job;
		while (p->rc == 0 && p->next < j->n) {
			i = p->next++;
			pthread_mutex_unlock(&p->lock);
			rc = sign_one(&w->tok, j, i);
			pthread_mutex_lock(&p->lock);
			if (rc != 0 && (p->rc == 0 || i < p->failed_at)) {
				p->rc = rc;
				p->failed_at = i;
				/* The parent is idle: its caller waits. */
				p11_copy_error(p->tok, &w->tok);
			}
		}
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

unsigned scm_pool_threads(const struct scm_pool *p)
{
	return p != NULL ? p->n : 0;
}

void scm_pool_stop(struct scm_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n; i++) {
		if (p->w[i].running)
			pthread_join(p->w[i].thread, NULL);
		p11_close(&p->w[i].tok);
	}
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->hold);
	free(p->w);
	free(p);
}

int scm_pool_start(struct scm_pool **out, struct p11_token *tok, unsigned n)
{
	struct scm_pool *p;
	sigset_t all, old;
	int rc = 0;

	*out = NULL;
	if (tok == NULL || n < 1 || n > SCM_POOL_MAX_THREADS)
		return -EINVAL;
	p = calloc(1, sizeof *p);
	if (p == NULL)
		return -ENOMEM;
	p->tok = tok;
	pthread_mutex_init(&p->hold, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (n == 1) {
		/* One signing thread: the caller's own, on tok. */
		*out = p;
		return 0;
	}
	p->w = calloc(n, sizeof *p->w);
	if (p->w == NULL) {
		scm_pool_stop(p);
		return -ENOMEM;
	}
	p->n = n;
	for (unsigned i = 0; i < n; i++) {
		p->w[i].pool = p;
		rc = p11_open_session(&p->w[i].tok, tok);
		if (rc != 0) {
			p11_copy_error(tok, &p->w[i].tok);
			scm_pool_stop(p);
			return rc;
		}
	}
	/* Signals (SIGTERM) stay the request loop's: it polls and stops. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < n && rc == 0; i++) {
		rc = -pthread_create(&p->w[i].thread, NULL, worker_main,
		    &p->w[i]);
		p->w[i].running = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		scm_pool_stop(p);
		return rc;
	}
	pthread_mutex_lock(&p->lock);
	while (p->ready < n)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
	*out = p;
	return 0;
}

int scm_pool_sign(struct scm_pool *p, const struct scm_sign_job *job,
    size_t *failed_at)
{
	int rc = 0;

	*failed_at = 0;
	if (p == NULL || job == NULL || job->n == 0)
		return -EINVAL;
	if (p->n == 0 || job->n == 1) {
		/* A handoff costs more than it saves for one signature. */
		for (size_t i = 0; i < job->n; i++) {
			rc = sign_one(p->tok, job, i);
			if (rc != 0) {
				*failed_at = i;
				return rc;
			}
		}
		return 0;
	}
	pthread_mutex_lock(&p->hold);
	pthread_mutex_lock(&p->lock);
	p->job = job;
	p->next = 0;
	p->rc = 0;
	p->failed_at = 0;
	p->busy = p->n;
	p->gen++;
	pthread_cond_broadcast(&p->work);
	while (p->busy > 0)
		pthread_cond_wait(&p->done, &p->lock);
	rc = p->rc;
	*failed_at = p->failed_at;
	p->job = NULL;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->hold);
	return rc;
}

void scm_pool_hold(struct scm_pool *p)
{
	if (p != NULL)
		pthread_mutex_lock(&p->hold);
}

void scm_pool_release(struct scm_pool *p)
{
	if (p != NULL)
		pthread_mutex_unlock(&p->hold);
}
