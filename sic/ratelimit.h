/* ratelimit.h — per-account request rate in inkan-sic: a token bucket per
 * account (user name at login and on the consent page, access token on
 * authenticated calls, client_id at oauth2/token), in a fixed-size table in
 * memory. Keys are kept only as keyed BLAKE2b digests (per-process random
 * key), so the table never holds a token. Thread-safe. Not a secret and not
 * a security decision: it only keeps one account from taking the service's
 * capacity (the SAM's lockout is what stops guessing). */
#ifndef INKAN_SIC_RATELIMIT_H
#define INKAN_SIC_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* rate: requests per second refilled; burst: bucket size. rate 0 = no
 * limit. slots: table size (oldest bucket is reused when full). */
int ratelimit_new(unsigned rate, unsigned burst, unsigned slots,
    struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);
/* Take one token from the bucket of (kind, key); false when it is empty.
 * now_ms: a monotonic clock in milliseconds (injected for tests). */
bool ratelimit_take(struct ratelimit *rl, const char *kind, const char *key,
    uint64_t now_ms);
/* struct csc_sam.admit: ratelimit_take with CLOCK_MONOTONIC. */
bool ratelimit_admit(void *rl, const char *kind, const char *key);

#endif
