/* sam.h — inkan-sam's shared types: the core context the SAD and factor rules
 * run against (store, injectable clock, limits), the daemon's configuration
 * and app state, and the request handlers main.c puts in its dispatch table. */
#ifndef INKAN_SAM_H
#define INKAN_SAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"
#include "server.h"

/* Wire limits the SAM enforces (proto/signer.proto lists them). */
#define SAM_NAME_MAX 64             /* user name, [A-Za-z0-9._@-] */
#define SAM_LOGIN_PW_MAX 128        /* password at login */
#define SAM_ADMIN_PW_MIN 8          /* password at user creation */
#define SAM_PIN_MIN_NEW 4           /* PIN at user creation */
#define SAM_PIN_MAX 64
#define SAM_OTP_LEN 6
#define SAM_HASHES_MAX INKAN_MAX_HASHES   /* hashes per request (256) */
#define SAM_DESCRIPTION_MAX 500
#define SAM_PSS_PARAMS_MAX 256
#define SAM_DIGEST_MIN 20
#define SAM_DIGEST_MAX 64
#define SAM_TOKEN_LEN 43            /* 32 random bytes, base64url, no padding */
#define SAM_TOKEN_BYTES 32
#define SAM_KEY_ID_LEN 16           /* PKCS#11 CKA_ID of a signer key */
#define SAM_CRED_ID_LEN 32          /* hex of the key id */
#define SAM_CN_MAX 64
#define SAM_CERT_MAX (16 * 1024)
#define SAM_CHAIN_MAX 8
#define SAM_TOTP_SECRET_LEN 20
#define SAM_TOTP_STEP 30
#define SAM_TOTP_WINDOW 1
#define SAM_PWHASH_MAX 128          /* crypto_pwhash_STRBYTES */
#define SAM_SUBJECT_MAX 1024        /* a registration subject, joined (x509.h) */
#define SAM_SAD_PURGE_GRACE 3600    /* keep expired SADs this long: SAD_EXPIRED, not SAD_INVALID */
#define SAM_LOCK_AFTER 5            /* consecutive PIN/OTP failures before a lock */
#define SAM_LOCK_SECONDS 300
#define SAM_LOCK_AFTER_MAX 100
#define SAM_LOCK_SECONDS_MAX (366 * 86400)
#define SAM_LOCK_FOREVER INT64_MAX  /* locked_until: until an operator unlocks */
#define SAM_MAC_LEN 32              /* HMAC-SHA256 row MACs (rows.h) */
#define SAM_MAC_BATCH_MAX 8         /* row MACs in one request to inkan-scm */
#define SAM_ALERT_MAX 200

struct sam_store;

/* Row MACs (issue 3): HMAC-SHA256 with a key that never leaves the HSM,
 * computed by inkan-scm in the daemon and by a local key in unit tests.
 * 0, -EAGAIN (the MAC service is unreachable: retry later) or -errno. */
typedef int (*sam_mac_fn)(void *arg, const uint8_t (*in)[SAM_MAC_LEN],
    size_t n, uint8_t (*out)[SAM_MAC_LEN]);

/* What one request left for the daemon layer to log (library code does not
 * log): a row that failed its MAC, a lock that was just set. Cleared by the
 * handlers before each request. */
struct sam_notes {
	char alert[SAM_ALERT_MAX];          /* non-empty: integrity ALERT */
	bool locked;                        /* this request locked the signer */
	int64_t failures;
	int64_t locked_until;
};

/* What the SAD and factor rules need: nothing from the sockets. */
struct sam_core {
	struct sam_store *store;
	int64_t (*now)(void);               /* seconds since the epoch (UTC) */
	unsigned sad_lifetime;              /* s */
	unsigned token_lifetime;            /* s */
	unsigned multisign;                 /* max signatures per SAD */
	unsigned long long kdf_ops;         /* Argon2id limits for new hashes */
	size_t kdf_mem;
	unsigned lock_after;                /* 0 = never lock */
	unsigned lock_seconds;              /* 0 = until an operator unlocks */
	bool redeliver;                     /* lost answers: kept signatures */
	char dummy_hash[SAM_PWHASH_MAX];    /* verified for unknown users at login */
	sam_mac_fn mac;                     /* row MACs; NULL: every check fails */
	void *mac_arg;
	struct sam_notes notes;
};

/* One operator role (issue 3 item 8): its own socket, admitted by uid list
 * and/or Unix group (the peer's primary or supplementary groups). */
struct sam_role {
	const char *name;                   /* "administrator" ... */
	const char *key;                    /* config key prefix: "admin" */
	unsigned peer;                      /* PEER_ADMIN / PEER_SO / PEER_AUDITOR */
	char *socket;
	uid_t uids[SRV_MAX_UIDS];
	int n_uids;
	gid_t gid;
	bool gid_set;
	bool default_self;                  /* no uid/group set: the SAM's own uid */
	int fd;
};

struct sam_config {
	char *signer_socket;
	char *scm_socket;
	char *database;
	unsigned sic_uid;
	bool sic_uid_set;
	struct sam_role admin, so, auditor;
	unsigned sad_lifetime;
	unsigned token_lifetime;
	unsigned multisign;
	unsigned lock_after;
	unsigned lock_seconds;
	bool key_backup;
	bool kdf_moderate;
	bool redeliver;
	char *trust_anchors;                /* issue 7: PEM CA certificates */
	unsigned expiry_check;              /* s between expiry sweeps */
	/* test only (test_fault = WHERE:SECONDS): hold a sign request at one
	 * point so that a test can kill a process there; off by default */
	unsigned fault_after_reserve, fault_after_scm;
};

/* One persistent connection to inkan-scm. */
struct sam_scm {
	char *path;
	struct ipc_client c;
	unsigned timeout_s;                 /* receive timeout of one call */
	Inkan__Status last_status;          /* the SCM's own answer, for logs */
	int last_err;                       /* last transport error (-errno) */
};

struct sam_app {
	struct sam_config cfg;
	struct sam_core core;
	struct sam_scm scm;
	int signer_fd;
	unsigned fault_after_reserve, fault_after_scm;
};

/* signer.c — requests from inkan-sic (PEER_SIC) */
Inkan__Status sam_answer_login(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_revoke(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_list(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_cred_info(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_authorize(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_sign(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_extend(struct srv_ctx *c, const ProtobufCMessage *m);

/* admin.c — requests from inkanctl (PEER_ADMIN) */
Inkan__Status sam_answer_user_add(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_user_list(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_cred_import(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_cred_list(struct srv_ctx *c, const ProtobufCMessage *m);
/* admin.c — security officer (PEER_SO) and shared lookups */
Inkan__Status sam_answer_user_unlock(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_cred_state(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_cred_multisign(struct srv_ctx *c, const ProtobufCMessage *m);
Inkan__Status sam_answer_user_show(struct srv_ctx *c, const ProtobufCMessage *m);

/* signer.c — per-request notes of the core (integrity alerts, locks) */
void sam_notes_begin(struct sam_app *app);
void sam_notes_end(struct sam_app *app, const char *op, const char *user);

/* Overwrite a secret field of an unpacked request once it has been used
 * (the server frees the message; this keeps the bytes from lingering). */
void sam_wipe_bin(const ProtobufCBinaryData *b);
void sam_wipe_str(const char *s);
/* "INVALID_PIN" etc., for log lines. */
const char *sam_status_name(Inkan__Status st);

#endif
