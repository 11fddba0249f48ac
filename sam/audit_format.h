/* audit_format.h — the audit trail's record format, its hash chain and the
 * checkpoint signature, as data: encode a value, parse one record line in its
 * only canonical form, and verify a whole trail (files or a directory) against
 * the audit public key. Shared by inkan-sam (writer, live verification, show
 * filters) and tools/inkan-audit-verify (standalone: libc + OpenSSL only).
 * Library code: no logging, no global state; returns 0 / -errno.
 *
 * A record is one line of printable ASCII (docs/audit.md is the reference):
 *   seq=N time=YYYY-MM-DDTHH:MM:SS.mmmZ event=E actor=A outcome=ok|fail
 *   reason=R [k=v ...] prev=HEX64 hash=HEX64 LF
 * Fields are separated by one space; detail keys follow `reason` in strictly
 * increasing byte order; a value byte outside 0x21..0x7e, or '%', is written
 * as %XX (upper-case hex) and no other byte is; hash = SHA-256 of the line up
 * to (excluding) " hash=", prev = the previous record's hash (64 zeros for the
 * first record of a trail). */
#ifndef INKAN_AUDIT_FORMAT_H
#define INKAN_AUDIT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

#define AUDIT_HEX_LEN 64                 /* SHA-256 in lower-case hex */
#define AUDIT_LINE_MAX (256 * 1024)      /* longest record line, LF included */
#define AUDIT_KEY_MAX 32                 /* longest detail key / event name */
#define AUDIT_DETAILS_MAX 40             /* detail fields per record */
#define AUDIT_TIME_LEN 24                /* 2024-01-02T03:04:05.678Z */
#define AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"
/* File names in an audit directory: audit-<12-digit first seq>.log */
#define AUDIT_FILE_PREFIX "audit-"
#define AUDIT_FILE_SUFFIX ".log"
#define AUDIT_FILE_NAME_LEN 22
/* The public key file inkan-sam writes next to the trail (a convenience:
 * an auditor compares its fingerprint with one obtained out of band). */
#define AUDIT_PUBKEY_FILE "audit-key.pem"
/* The checkpoint signature is ECDSA P-256 over SHA-256 of this text
 * (seq = the seq of the last record covered, head = its hash):
 *   "inkan-audit checkpoint v1 seq=<decimal> head=<64 hex>" */
#define AUDIT_CP_PREFIX "inkan-audit checkpoint v1"
#define AUDIT_CP_ALG "ecdsa-p256-sha256"
/* Event names the format itself gives meaning to. */
#define AUDIT_EV_GENESIS "audit.genesis"
#define AUDIT_EV_CONTINUE "audit.continue"
#define AUDIT_EV_CHECKPOINT "audit.checkpoint"
/* Tail rule tolerance: a checkpoint is due T seconds after the oldest record
 * it would cover; the SAM checks between requests, so allow this much. */
#define AUDIT_TIME_SLACK_S 10

/* A view into a line (still encoded). */
struct audit_tok {
	const char *p;
	size_t len;
};

struct audit_kv {
	struct audit_tok key, val;
};

/* One parsed record. All tokens point into the caller's line. */
struct audit_rec {
	uint64_t seq;
	int64_t time_ms;
	struct audit_tok time, event, actor, outcome, reason;
	struct audit_kv kv[AUDIT_DETAILS_MAX];
	size_t n_kv;
	char prev[AUDIT_HEX_LEN + 1];
	char hash[AUDIT_HEX_LEN + 1];
	size_t body_len;     /* bytes the hash covers */
};

/* ---- encoding ----------------------------------------------------------- */

/* True if byte c is written as itself in a value. */
static inline bool audit_raw_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%';
}
/* Encoded length of len bytes. */
size_t audit_encoded_len(const void *v, size_t len);
/* Encode into out (audit_encoded_len + 1 bytes); returns the length. */
size_t audit_encode(const void *v, size_t len, char *out);
/* Decode a token into out (at most outmax - 1 bytes + NUL); returns the
 * decoded length or -ENOSPC. Tokens from audit_parse are well-formed. */
int audit_decode(const struct audit_tok *t, char *out, size_t outmax);
/* Compare a token with a plain string (decoded comparison). */
bool audit_tok_eq(const struct audit_tok *t, const char *s);

/* [a-z][a-z0-9_]{0,31}: a detail key. Events also allow '.'. */
bool audit_key_ok(const char *k, size_t len);
bool audit_event_ok(const char *e, size_t len);

/* UTC milliseconds <-> "YYYY-MM-DDTHH:MM:SS.mmmZ" (out: 25 bytes). */
int audit_time_format(int64_t ms, char *out);
int audit_time_parse(const char *s, size_t len, int64_t *ms);

/* SHA-256 in lower-case hex (out: 65 bytes). */
void audit_sha256_hex(const void *data, size_t len, char *out);
/* The digest the audit key signs for a checkpoint covering record seq with
 * hash head_hex. */
int audit_cp_digest(uint64_t seq, const char *head_hex, uint8_t out[32]);
/* SHA-256 of a DER SubjectPublicKeyInfo, hex: the key's fingerprint. */
int audit_key_fingerprint(EVP_PKEY *pk, char *out);

/* ---- parsing ------------------------------------------------------------ */

/* Parse one line (without its LF) in canonical form. On failure returns
 * -EINVAL and a reason in err. Does not check the hash. */
int audit_parse(const char *line, size_t len, struct audit_rec *r,
    char *err, size_t errlen);
/* The detail named key, or NULL. */
const struct audit_tok *audit_get(const struct audit_rec *r, const char *key);
/* Hash of the parsed line matches its content? */
bool audit_hash_ok(const char *line, const struct audit_rec *r);

/* ---- filters (inkanctl audit show) -------------------------------------- */

struct audit_filter {
	int64_t from_ms, to_ms;      /* 0 = open */
	const char *signer;          /* actor signer:NAME or detail user=NAME */
	const char *credential;      /* detail cred=ID */
	const char *event;           /* exact, or a prefix when it ends in '*' */
};
bool audit_filter_match(const struct audit_filter *f,
    const struct audit_rec *r);

/* ---- verification ------------------------------------------------------- */

struct audit_verifier {
	/* input */
	EVP_PKEY *pub;                    /* audit public key (required) */
	char key_fp[AUDIT_HEX_LEN + 1];   /* its fingerprint */
	uint64_t expect_seq;              /* optional: a head known from elsewhere */
	char expect_hash[AUDIT_HEX_LEN + 1];
	bool expect_seen;
	/* running state */
	bool started;                     /* a first record was seen */
	bool partial;                     /* first record is a continuation */
	uint64_t first_seq;
	uint64_t seq;                     /* last record's seq */
	char head[AUDIT_HEX_LEN + 1];     /* last record's hash */
	int64_t last_time_ms;
	uint64_t records, checkpoints, files;
	uint64_t last_cp_seq;             /* 0: none yet */
	uint64_t since_cp;                /* records after the last checkpoint */
	int64_t first_uncovered_ms;
	unsigned cp_records, cp_seconds;  /* interval declared by the trail */
	bool ends_with_shutdown;          /* last record: shutdown checkpoint */
	/* result */
	bool failed;
	char where[160];                  /* "FILE:LINE seq=N" of the failure */
	char problem[320];
	uint64_t bad_seq;                 /* seq of the first bad record, 0 if unknown */
	char warning[320];                /* torn tail etc. */
};

/* pub is borrowed (the caller frees it after audit_verify_end). */
int audit_verify_init(struct audit_verifier *v, EVP_PKEY *pub);
/* Feed one file's content (all its bytes). name: for messages; file_seq:
 * the seq in the file name, 0 when unknown (a single LOG). first_file: the
 * first file of a directory must open the trail (genesis). Returns 0 while
 * the trail is intact so far, -EBADMSG once it is not (see v->problem). */
int audit_verify_buf(struct audit_verifier *v, const char *name,
    uint64_t file_seq, const char *buf, size_t len, bool last_file);
/* End of input: tail rules (records after the last checkpoint). */
int audit_verify_end(struct audit_verifier *v);
/* Read and verify a file or a directory of audit-*.log files. Returns 0,
 * -EBADMSG (tampering: see v), or -errno for an unreadable input (err). */
int audit_verify_path(struct audit_verifier *v, const char *path,
    char *err, size_t errlen);
/* One-line summary of a successful verification. */
void audit_verify_summary(const struct audit_verifier *v, FILE *out);

/* Is name an audit file name? *seq gets its first seq. */
bool audit_file_name(const char *name, uint64_t *seq);
/* Sorted list of audit file names in dir (malloc'd array of malloc'd
 * strings). Returns the count or -errno. */
int audit_list_dir(const char *dir, char ***names);
void audit_free_list(char **names, int n);
/* Read a whole file (at most max bytes) into a malloc'd buffer. */
int audit_read_file(int dirfd, const char *path, size_t max, char **buf,
    size_t *len);

#endif
