/* rows.h — integrity of the database rows that decide who may sign with
 * which key (issue 3 item 5, REQUIREMENTS R36): canonical SHA-256 digests of
 * user, credential, access-token and SAD rows, MACed with HMAC-SHA256 by a
 * key that never leaves the HSM (inkan-scm, through core->mac), and the
 * writes that keep those MACs right. A batch gathers every check and every
 * new MAC of one request so that a request costs one round trip to
 * inkan-scm. Library code: statuses / -errno, never logs; an integrity
 * failure is described in core->notes.alert for the daemon to log. */
#ifndef INKAN_SAM_ROWS_H
#define INKAN_SAM_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sam.h"
#include "store.h"

struct sam_macb {
	size_t n;
	uint8_t in[SAM_MAC_BATCH_MAX][SAM_MAC_LEN];
	uint8_t want[SAM_MAC_BATCH_MAX][SAM_MAC_LEN];
	bool check[SAM_MAC_BATCH_MAX];       /* false: a new MAC to compute */
	bool have[SAM_MAC_BATCH_MAX];        /* the row carried a MAC */
	char what[SAM_MAC_BATCH_MAX][80];    /* row, for the alert */
	uint8_t out[SAM_MAC_BATCH_MAX][SAM_MAC_LEN];
};

void sam_macb_init(struct sam_macb *b);
/* Queue the check of a row's stored MAC (stored NULL: the row has none,
 * which fails). what: "credential 0a1b..." for the alert. Slot or -ENOSPC. */
int sam_macb_check(struct sam_macb *b, const uint8_t digest[32],
    const uint8_t *stored, const char *what);
/* Queue a new MAC for a row about to be written. Slot or -ENOSPC. */
int sam_macb_new(struct sam_macb *b, const uint8_t digest[32]);
/* One call for the whole batch: OK (every check passed; new MACs in
 * b->out[slot]), INTEGRITY (core->notes.alert names the first bad row),
 * UNAVAILABLE (the MAC service is down) or INTERNAL. Checks compare in
 * constant time. An empty batch is OK. */
Inkan__Status sam_macb_run(struct sam_core *core, struct sam_macb *b);

/* Row digests (domain-separated, length-prefixed fields). */
void sam_row_user(const struct sam_user *u, uint8_t out[32]);
void sam_row_cred(const struct sam_cred *c, uint8_t out[32]);
void sam_row_reg(int64_t user_id, const struct sam_reg *g, uint8_t out[32]);
void sam_row_token(const uint8_t token_hash[32], int64_t user_id,
    int64_t expires, uint8_t out[32]);
/* A SAD row with the set of its digests (order does not matter). */
int sam_row_sad(const uint8_t sad_hash[32], const struct sam_sad_row *r,
    const ProtobufCBinaryData *digests, size_t n, uint8_t out[32]);

/* A SAD's digests as stored, with their states. */
struct sam_digests {
	ProtobufCBinaryData *v;
	int *state;                           /* enum sam_hash_state */
	size_t n, cap;
};
int sam_digests_load(struct sam_store *st, const uint8_t sad_hash[32],
    struct sam_digests *d);
void sam_digests_free(struct sam_digests *d);

/* ---- writes that carry their MAC -------------------------------------- */

/* New user row, MACed (the MAC covers the row id, so: insert, MAC, update,
 * in one transaction). OK, EXISTS, UNAVAILABLE, INTERNAL. */
Inkan__Status sam_rows_user_add(struct sam_core *core, const char *name,
    const char *pw_hash, const char *pin_hash, const uint8_t *totp,
    size_t totp_len, int64_t created, int64_t *id);

/* New credential of owner (whose row MAC is checked in the same round
 * trip). OK, EXISTS, INTEGRITY, UNAVAILABLE, INTERNAL. */
Inkan__Status sam_rows_cred_add(struct sam_core *core,
    const struct sam_user *owner, const char *id, int key_type,
    const uint8_t *key_id, const uint8_t *spki, size_t spki_len,
    int64_t created, const char *replaces);

/* Registration rows (issue 7). check: reads and verifies its MAC (OK,
 * NOT_FOUND, INTEGRITY, ...); write: MACs g and stores it (inside the
 * caller's transaction when there is one). */
Inkan__Status sam_rows_reg_check(struct sam_core *core, int64_t user_id,
    const char *name, struct sam_reg *g);
Inkan__Status sam_rows_reg_write(struct sam_core *core, int64_t user_id,
    struct sam_reg *g);

/* For an update of a credential row: checks old's MAC and makes the MAC of
 * upd (old with the changed fields) in one round trip; mac_out is what the
 * caller then stores with the change. */
Inkan__Status sam_rows_cred_remac(struct sam_core *core,
    const struct sam_cred *old, const struct sam_cred *upd,
    uint8_t mac_out[SAM_MAC_LEN]);

/* "credential 0a1b..." / "user 12 (alice)" for alerts. */
void sam_rows_what_cred(const char *cred_id, char out[80]);
void sam_rows_what_user(int64_t id, const char *name, char out[80]);

#endif
