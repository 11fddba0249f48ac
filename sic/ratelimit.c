/* ratelimit.c — token buckets per account for inkan-sic (see ratelimit.h).
 * Open addressing over a fixed table with a short probe; when every probed
 * slot is taken the least recently used of them is reused, so memory stays
 * bounded whatever the number of accounts. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "ratelimit.h"

#define PROBE 8

struct bucket {
	uint8_t key[16];
	bool used;
	double tokens;
	uint64_t last_ms;
};

struct ratelimit {
	pthread_mutex_t mu;
	uint8_t hkey[crypto_generichash_KEYBYTES];
	double rate;                    /* tokens per ms */
	double burst;
	unsigned n;
	struct bucket b[];
};

int ratelimit_new(unsigned rate, unsigned burst, unsigned slots,
    struct ratelimit **out)
{
	struct ratelimit *rl;

	*out = NULL;
	if (rate == 0)
		return 0;
	if (slots < PROBE || burst == 0)
		return -EINVAL;
	rl = calloc(1, sizeof *rl + slots * sizeof rl->b[0]);
	if (!rl)
		return -ENOMEM;
	pthread_mutex_init(&rl->mu, NULL);
	randombytes_buf(rl->hkey, sizeof rl->hkey);
	rl->rate = rate / 1000.0;
	rl->burst = burst;
	rl->n = slots;
	*out = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->mu);
	sodium_memzero(rl, sizeof *rl + rl->n * sizeof rl->b[0]);
	free(rl);
}

bool ratelimit_take(struct ratelimit *rl, const char *kind, const char *key,
    uint64_t now_ms)
{
	crypto_generichash_state st;
	uint8_t h[16];
	struct bucket *hit = NULL, *victim = NULL;
	unsigned start, i;
	bool ok;

	if (!rl || !key)
		return true;
	crypto_generichash_init(&st, rl->hkey, sizeof rl->hkey, sizeof h);
	crypto_generichash_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
	crypto_generichash_update(&st, (const uint8_t *)key, strlen(key));
	crypto_generichash_final(&st, h, sizeof h);
	memcpy(&start, h, sizeof start);

	pthread_mutex_lock(&rl->mu);
	for (i = 0; i < PROBE; i++) {
		struct bucket *b = &rl->b[(start + i) % rl->n];

		if (b->used && memcmp(b->key, h, sizeof h) == 0) {
			hit = b;
			break;
		}
		if (!b->used) {
			if (!victim || victim->used)
				victim = b;
		} else if (!victim || (victim->used &&
		    b->last_ms < victim->last_ms)) {
			victim = b;
		}
	}
	if (!hit) {
		hit = victim;
		memcpy(hit->key, h, sizeof h);
		hit->used = true;
		hit->tokens = rl->burst;
		hit->last_ms = now_ms;
	}
	if (now_ms > hit->last_ms) {
		hit->tokens += (double)(now_ms - hit->last_ms) * rl->rate;
		if (hit->tokens > rl->burst)
			hit->tokens = rl->burst;
		hit->last_ms = now_ms;
	}
	ok = hit->tokens >= 1.0;
	if (ok)
		hit->tokens -= 1.0;
	pthread_mutex_unlock(&rl->mu);
	sodium_memzero(h, sizeof h);
	return ok;
}

bool ratelimit_admit(void *rl, const char *kind, const char *key)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ratelimit_take(rl, kind, key,
	    (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}
