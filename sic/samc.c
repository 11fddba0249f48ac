/* samc.c — inkan-sic's connections to inkan-sam (signer socket).
 * SECURITY: the SAM is the authority; this only carries frames. A reply
 * that is not exactly the expected one (ipc_call: -EPROTO, -EBADMSG) drops
 * the connection and is never retried. Replays caused by the one retry are
 * harmless: a SAD hash is single-use and an OTP step is accepted once. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "samc.h"

/* A SAM that does not answer within this time is treated as down, so an
 * HTTP worker thread is never stuck forever. */
#define SAMC_TIMEOUT_S 60

struct samc_conn {
	struct ipc_client c;    /* c.fd < 0: not connected */
	bool busy;
};

struct samc {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *path;
	unsigned n;
	struct samc_conn conns[];
};

int samc_new(const char *path, unsigned max, struct samc **out)
{
	struct samc *s;
	unsigned i;

	if (max == 0)
		return -EINVAL;
	s = calloc(1, sizeof *s + max * sizeof s->conns[0]);
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->n = max;
	for (i = 0; i < max; i++)
		s->conns[i].c.fd = -1;
	*out = s;
	return 0;
}

void samc_free(struct samc *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		if (s->conns[i].c.fd >= 0)
			close(s->conns[i].c.fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->path);
	free(s);
}

/* A free connected slot first (reuse), else any free slot; waits when all
 * are busy (more concurrent callers than configured threads). */
static struct samc_conn *take(struct samc *s)
{
	struct samc_conn *k;
	unsigned i;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		k = NULL;
		for (i = 0; i < s->n; i++) {
			if (s->conns[i].busy)
				continue;
			if (s->conns[i].c.fd >= 0) {
				k = &s->conns[i];
				break;
			}
			if (!k)
				k = &s->conns[i];
		}
		if (k)
			break;
		pthread_cond_wait(&s->cv, &s->mu);
	}
	k->busy = true;
	pthread_mutex_unlock(&s->mu);
	return k;
}

static void give(struct samc *s, struct samc_conn *k)
{
	pthread_mutex_lock(&s->mu);
	k->busy = false;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static int connect_sam(struct samc *s, struct samc_conn *k)
{
	struct timeval tv = { SAMC_TIMEOUT_S, 0 };
	int fd = ipc_connect(s->path);

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	k->c.fd = fd;
	k->c.next_id = 0;
	return 0;
}

/* Worth one more try on a fresh connection: the pooled one went stale
 * (the SAM restarted or closed it). Not for a protocol violation, an
 * oversize frame or a timeout. */
static bool retryable(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN ||
	    r == -ECONNREFUSED || r == -ECONNABORTED;
}

int samc_call(void *ctx, uint32_t req_type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **rep,
    Inkan__Status *status, char *detail, size_t detail_len)
{
	struct samc *s = ctx;
	struct samc_conn *k = take(s);
	int r = 0, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		bool reused = k->c.fd >= 0;

		if (!reused && (r = connect_sam(s, k)) < 0) {
			log_warn("cannot connect to the SAM at %s: %s", s->path,
			    strerror(-r));
			break;
		}
		r = ipc_call(&k->c, req_type, req, ipc_reply_type(req_type),
		    rep_desc, rep, status, detail, detail_len);
		if (r == 0)
			break;
		close(k->c.fd);
		k->c.fd = -1;
		if (!reused || !retryable(r)) {
			log_warn("SAM call (type %u) failed: %s", req_type,
			    strerror(-r));
			break;
		}
	}
	give(s, k);
	return r;
}
