/* audit.h — inkan-sam's audit trail: append-only, hash-chained record files
 * in [sam] audit_dir, checkpoints signed by inkan-scm's audit key, group
 * commit (one fdatasync for the records of a whole poll round), replies held
 * back until their records are on disk, rotation by size, recovery at
 * start-up, one journal line per record. Format: audit_format.h and
 * docs/audit.md.
 *
 * ---------------------------------------------------------------------------
 * FOR OTHER SAM CODE (issue 3 lock/unlock/roles, issue 4 OAuth, ...):
 *
 *   Record an event (values are written as given: NEVER a PIN, OTP,
 *   password, access token, SAD, code, client secret or key):
 *       char actor[AUDIT_ACTOR_MAX];
 *       audit_record("user.lock", audit_actor_signer(actor, name), true,
 *           "TOO_MANY_FAILURES", "user", name, "until", until_text, NULL);
 *   - event: [a-z][a-z0-9_.]*, e.g. user.lock, user.unlock, cred.disable,
 *     role.change; ok: the outcome; reason: a Status name or short word
 *     (NULL = none); then key/value string pairs, NULL-terminated; keys
 *     [a-z][a-z0-9_]* (any order; a value may be NULL = omitted).
 *   - actors: audit_actor_signer(buf, name) for a signer,
 *     audit_actor_peer(buf, c) for the operator/peer of a request (role +
 *     uid), AUDIT_ACTOR_SAM for the SAM itself.
 *   - Keys that only auditors may see (hashes, sad, serial, issuer, subject,
 *     ...: see audit.c) are left out of the journal line automatically.
 *
 *   Before a request changes state or releases anything:
 *       if (!audit_ready())
 *               return INKAN__STATUS__AUDIT_UNAVAILABLE;
 *   and answer with audit_reply(c, &rep.base) (admin changes) or
 *   audit_release(c, &rep.base, secret) (tokens, SADs, signatures) instead
 *   of srv_reply(): the reply leaves once the round's records are on disk,
 *   or becomes AUDIT_UNAVAILABLE if they cannot be written.
 * ---------------------------------------------------------------------------
 */
#ifndef INKAN_SAM_AUDIT_H
#define INKAN_SAM_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "server.h"

#define AUDIT_ACTOR_MAX 160
#define AUDIT_ACTOR_SAM "component:inkan-sam"
/* Defaults of the [sam] audit_* keys. */
#define AUDIT_DEFAULT_MAX_FILE (16ull * 1024 * 1024)
#define AUDIT_DEFAULT_CP_RECORDS 1000
#define AUDIT_DEFAULT_CP_SECONDS 60
/* Records kept in memory while the trail cannot be written (beyond: counted
 * as lost and reported in the audit.outage record). */
#define AUDIT_QUEUE_MAX 20000

struct sam_app;
struct sam_who;
struct sam_sign_plan;

/* ---- the trail (generic; unit-tested in test-audit.c) -------------------- */

struct audit_params {
	const char *dir;                  /* created 0700 if missing */
	uint64_t max_file_size;           /* rotate beyond this many bytes */
	unsigned cp_records;              /* a checkpoint after this many records */
	unsigned cp_seconds;              /* ... or when the oldest uncovered is this old */
	/* Sign a checkpoint statement (seq, head) with the audit key: DER
	 * signature into sig (<= *sig_len bytes), the key's fingerprint (hex)
	 * into key_fp. 0 or -errno. */
	int (*cp_sign)(void *arg, uint64_t seq, const char *head, uint8_t *sig,
	    size_t *sig_len, char *key_fp);
	void *cp_arg;
	int64_t (*now_ms)(void);          /* NULL: the real clock */
	bool quiet;                       /* no journal lines (unit tests) */
	unsigned test_pause_ms;           /* tests: pause between a batch's
	                                   * sync and its replies */
};

/* Open the trail: create the directory or recover the last file (a torn
 * last line from a crash is cut off and recorded; any other damage refuses
 * the start, err says where). */
int audit_start(const struct audit_params *p, char *err, size_t errlen);
/* Write and fdatasync what is queued (with the checkpoints due by count);
 * force_cp: also end with a checkpoint (reason). 0 or -errno. */
int audit_flush(const char *force_cp);
/* Queue process.stop, write, end with a shutdown checkpoint, close. */
void audit_stop(const char *why);
bool audit_is_open(void);
/* The durable chain head (seq 0 before the first record). */
void audit_head(uint64_t *seq, char hash[65]);
/* The directory fd of the open trail (for reading it back), or -1. */
int audit_dir_fd(void);

/* ---- recording ---------------------------------------------------------- */

int audit_record(const char *event, const char *actor, bool ok,
    const char *reason, ...) __attribute__((sentinel));

/* Builder for records with many or computed details. */
struct audit_ev;
struct audit_ev *audit_ev_new(const char *event, const char *actor);
void audit_ev_add(struct audit_ev *e, const char *key, const char *value);
void audit_ev_addf(struct audit_ev *e, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Digests as comma-separated lower-case hex. */
void audit_ev_add_hex_list(struct audit_ev *e, const char *key,
    const ProtobufCBinaryData *v, size_t n);
/* This record stands for something released to a client (a signature, a
 * SAD, a token): if its write fails the release is withheld and the record
 * is rewritten as outcome=fail reason=audit_unavailable. */
void audit_ev_release(struct audit_ev *e);
/* Queue it (frees e). 0 or -errno (then nothing was queued). */
int audit_ev_end(struct audit_ev *e, bool ok, const char *reason);

const char *audit_actor_signer(char *buf, const char *name);
const char *audit_actor_peer(char *buf, const struct srv_ctx *c);

/* ---- fail closed and group commit --------------------------------------- */

/* True when the trail is writable (retries a failed trail first). */
bool audit_ready(void);
/* Hold the reply until the records queued so far are on disk. */
int audit_reply(struct srv_ctx *c, const ProtobufCMessage *rep);
/* The same for a reply that carries a secret (e.g. a new TOTP secret). */
int audit_reply_secret(struct srv_ctx *c, const ProtobufCMessage *rep);
/* Same for a release; secret: the reply carries a token or SAD (its copy
 * lives in guarded memory and is wiped). */
int audit_release(struct srv_ctx *c, const ProtobufCMessage *rep,
    bool secret);
/* srv hooks: the end of a poll round (flush, send held replies, timed
 * checkpoints) and a refused peer. */
void audit_round(void *app);
void audit_refused(void *app, const struct srv_listener *l,
    const struct ucred *cred, const char *why);

/* ---- inkan-sam wiring (audit_sam.c) ------------------------------------- */

/* [sam] keys: audit_dir, audit_max_file_size, audit_checkpoint_records,
 * audit_checkpoint_seconds. Returns 1 if the key was ours, 0 if not, or
 * -EINVAL. Every [sam] key/value is also noted for the config record. */
int audit_config_key(const char *key, const char *value);
/* init(): open the trail (default dir: <database dir>/audit), queue
 * process.start and the configuration. */
int audit_open(struct sam_app *app);
/* serve(): install the server hooks. */
void audit_serve(struct sam_app *app);
/* fini(): process.stop and the shutdown checkpoint. */
void audit_close(struct sam_app *app);

/* One-line event helpers for signer.c / admin.c. */
void audit_login(const struct srv_ctx *c, const char *username,
    Inkan__Status st);
void audit_authorize(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__AuthorizeReq *req, const char *sad, Inkan__Status st);
void audit_sign(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__SignReq *req, Inkan__Status st);
/* sign.redeliver: the kept signatures of committed hashes given again. */
void audit_sign_redelivered(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__SignReq *req);
void audit_revoke(const struct srv_ctx *c, Inkan__Status st);
void audit_extend(const struct srv_ctx *c, const struct sam_who *who,
    const Inkan__ExtendReq *req, const char *sad, Inkan__Status st);
void audit_user_add(const struct srv_ctx *c, const char *username,
    Inkan__Status st);
void audit_keygen(const struct srv_ctx *c, const char *username,
    const char *cred_id, int key_type, Inkan__Status st, const char *why);
void audit_key_destroy(const struct srv_ctx *c, const char *cred_id,
    bool ok, const char *why);
void audit_cert_import(const struct srv_ctx *c, const char *cred_id,
    const char *serial, const char *issuer, const char *subject,
    const char *not_after, Inkan__Status st);

/* Issue 3 events: security-officer changes (user.unlock, cred.disable,
 * cred.enable, cred.multisign), a lock set by failures, a row that failed
 * its MAC. Any argument may be NULL (omitted). */
void audit_so_event(const struct srv_ctx *c, const char *event,
    const char *user, const char *cred, const char *key, const char *value);
void audit_lock(const char *user, int64_t failures, int64_t until);
void audit_alert(const char *op, const char *user, const char *alert);

/* Auditor socket handlers (PEER_AUDITOR only). */
Inkan__Status sam_answer_audit_show(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_audit_verify(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_audit_pubkey(struct srv_ctx *c, const ProtobufCMessage *m);

#endif
