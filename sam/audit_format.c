/* audit_format.c — the audit record format, the hash chain, checkpoint
 * signatures and the trail verifier (see audit_format.h and docs/audit.md).
 * Strict on purpose: a line is accepted only in its one canonical form, so
 * that two different byte strings can never stand for the same record. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "audit_format.h"

static const char hexd[] = "0123456789abcdef";
static const char HEXD[] = "0123456789ABCDEF";

/* ---- encoding ----------------------------------------------------------- */

size_t audit_encoded_len(const void *v, size_t len)
{
	const unsigned char *p = v;
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += audit_raw_byte(p[i]) ? 1 : 3;
	return n;
}

size_t audit_encode(const void *v, size_t len, char *out)
{
	const unsigned char *p = v;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (audit_raw_byte(p[i])) {
			out[n++] = (char)p[i];
		} else {
			out[n++] = '%';
			out[n++] = HEXD[p[i] >> 4];
			out[n++] = HEXD[p[i] & 15];
		}
	}
	out[n] = '\0';
	return n;
}

static int upper_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int audit_decode(const struct audit_tok *t, char *out, size_t outmax)
{
	size_t n = 0;

	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->p[i];
		if (n + 1 >= outmax)
			return -ENOSPC;
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= t->len)
				return -EINVAL;
			hi = upper_nibble(t->p[i + 1]);
			lo = upper_nibble(t->p[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return (int)n;
}

bool audit_tok_eq(const struct audit_tok *t, const char *s)
{
	size_t i = 0, j = 0;

	while (i < t->len) {
		unsigned char c = (unsigned char)t->p[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= t->len)
				return false;
			hi = upper_nibble(t->p[i + 1]);
			lo = upper_nibble(t->p[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 3;
		} else {
			i++;
		}
		if (s[j] == '\0' || (unsigned char)s[j] != c)
			return false;
		j++;
	}
	return s[j] == '\0';
}

/* Canonical value token: raw bytes only where allowed, %XX (upper case)
 * only for bytes that must be escaped. */
static bool value_ok(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return false;
			hi = upper_nibble(p[i + 1]);
			lo = upper_nibble(p[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			if (audit_raw_byte((unsigned char)(hi << 4 | lo)))
				return false;       /* must have been raw */
			i += 2;
		} else if (!audit_raw_byte(c)) {
			return false;
		}
	}
	return true;
}

static bool key_chars(const char *k, size_t len, bool dots)
{
	if (len == 0 || len > AUDIT_KEY_MAX || !(k[0] >= 'a' && k[0] <= 'z'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || (dots && c == '.')))
			return false;
	}
	return true;
}

bool audit_key_ok(const char *k, size_t len)
{
	return key_chars(k, len, false);
}

bool audit_event_ok(const char *e, size_t len)
{
	return key_chars(e, len, true) && e[len - 1] != '.';
}

/* ---- time --------------------------------------------------------------- */

int audit_time_format(int64_t ms, char *out)
{
	struct tm tm;
	time_t s;

	if (ms < 0)
		return -EINVAL;
	s = (time_t)(ms / 1000);
	if (gmtime_r(&s, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return -EINVAL;
	char buf[64];

	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	if (strlen(buf) != AUDIT_TIME_LEN)
		return -EINVAL;
	memcpy(out, buf, AUDIT_TIME_LEN + 1);
	return 0;
}

static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int audit_time_parse(const char *s, size_t len, int64_t *ms)
{
	char again[AUDIT_TIME_LEN + 1];
	struct tm tm;
	int64_t v;
	time_t t;

	if (len != AUDIT_TIME_LEN || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' ||
	    s[23] != 'Z')
		return -EINVAL;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	v = digits(s + 20, 3);
	if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 ||
	    tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0 || v < 0)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	v += (int64_t)t * 1000;
	/* Only a date that formats back to the same text (no 2024-02-31). */
	if (audit_time_format(v, again) < 0 || memcmp(again, s, len) != 0)
		return -EINVAL;
	*ms = v;
	return 0;
}

/* ---- hashing ------------------------------------------------------------ */

void audit_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[2 * SHA256_DIGEST_LENGTH] = '\0';
}

static bool hex64_ok(const char *p, size_t len)
{
	if (len != AUDIT_HEX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

int audit_cp_digest(uint64_t seq, const char *head_hex, uint8_t out[32])
{
	char msg[128];
	int n;

	if (!hex64_ok(head_hex, strlen(head_hex)))
		return -EINVAL;
	n = snprintf(msg, sizeof msg, AUDIT_CP_PREFIX " seq=%" PRIu64
	    " head=%s", seq, head_hex);
	if (n < 0 || (size_t)n >= sizeof msg)
		return -EINVAL;
	SHA256((const unsigned char *)msg, (size_t)n, out);
	return 0;
}

int audit_key_fingerprint(EVP_PKEY *pk, char *out)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);

	if (n <= 0)
		return -EINVAL;
	audit_sha256_hex(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *const header_keys[] = {
	"seq", "time", "event", "actor", "outcome", "reason",
};

static bool reserved_key(const char *k, size_t len)
{
	static const char *const more[] = { "prev", "hash" };

	for (size_t i = 0; i < 6; i++)
		if (strlen(header_keys[i]) == len && !memcmp(header_keys[i], k, len))
			return true;
	for (size_t i = 0; i < 2; i++)
		if (strlen(more[i]) == len && !memcmp(more[i], k, len))
			return true;
	return false;
}

static int tokcmp(const struct audit_tok *a, const struct audit_tok *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

int audit_parse(const char *line, size_t len, struct audit_rec *r,
    char *err, size_t errlen)
{
	struct audit_kv f[6 + AUDIT_DETAILS_MAX + 2];
	size_t nf = 0, i = 0, n;
	char seqbuf[24];

	memset(r, 0, sizeof *r);
	if (len == 0) {
		seterr(err, errlen, "empty line");
		return -EINVAL;
	}
	if (len >= AUDIT_LINE_MAX) {
		seterr(err, errlen, "line longer than %d bytes", AUDIT_LINE_MAX);
		return -EINVAL;
	}
	/* Split into key=value fields separated by exactly one space. */
	while (i <= len) {
		size_t start = i, eq;

		while (i < len && line[i] != ' ')
			i++;
		if (i == start) {
			seterr(err, errlen, "empty field at byte %zu (double, "
			    "leading or trailing space)", start);
			return -EINVAL;
		}
		if (nf == sizeof f / sizeof f[0]) {
			seterr(err, errlen, "more than %d detail fields",
			    AUDIT_DETAILS_MAX);
			return -EINVAL;
		}
		for (eq = start; eq < i && line[eq] != '='; eq++)
			;
		if (eq == i) {
			seterr(err, errlen, "field at byte %zu has no '='", start);
			return -EINVAL;
		}
		f[nf].key.p = line + start;
		f[nf].key.len = eq - start;
		f[nf].val.p = line + eq + 1;
		f[nf].val.len = i - eq - 1;
		nf++;
		i++;            /* the space, or one past the end */
	}
	if (nf < 8) {
		seterr(err, errlen, "%zu fields: a record has at least 8", nf);
		return -EINVAL;
	}
	for (i = 0; i < 6; i++)
		if (!audit_tok_eq(&f[i].key, header_keys[i]) ||
		    f[i].key.len != strlen(header_keys[i])) {
			seterr(err, errlen, "field %zu must be '%s'", i + 1,
			    header_keys[i]);
			return -EINVAL;
		}
	if (f[nf - 2].key.len != 4 || memcmp(f[nf - 2].key.p, "prev", 4) ||
	    f[nf - 1].key.len != 4 || memcmp(f[nf - 1].key.p, "hash", 4)) {
		seterr(err, errlen, "the last two fields must be 'prev' and 'hash'");
		return -EINVAL;
	}
	for (i = 0; i < nf; i++)
		if (!value_ok(f[i].val.p, f[i].val.len)) {
			seterr(err, errlen, "field '%.*s': value not in canonical "
			    "encoding", (int)(f[i].key.len > 32 ? 32 : f[i].key.len),
			    f[i].key.p);
			return -EINVAL;
		}
	/* seq: decimal, no leading zero, >= 1 */
	n = f[0].val.len;
	if (n == 0 || n > 19 || f[0].val.p[0] == '0') {
		seterr(err, errlen, "seq: a decimal number from 1, no leading zeros");
		return -EINVAL;
	}
	memcpy(seqbuf, f[0].val.p, n);
	seqbuf[n] = '\0';
	for (i = 0; i < n; i++)
		if (seqbuf[i] < '0' || seqbuf[i] > '9') {
			seterr(err, errlen, "seq: not a number");
			return -EINVAL;
		}
	errno = 0;
	r->seq = strtoull(seqbuf, NULL, 10);
	if (errno != 0 || r->seq > INT64_MAX) {
		seterr(err, errlen, "seq: out of range");
		return -EINVAL;
	}
	if (audit_time_parse(f[1].val.p, f[1].val.len, &r->time_ms) < 0) {
		seterr(err, errlen, "time: not YYYY-MM-DDTHH:MM:SS.mmmZ");
		return -EINVAL;
	}
	if (!audit_event_ok(f[2].val.p, f[2].val.len)) {
		seterr(err, errlen, "event: [a-z][a-z0-9_.]*, at most %d bytes",
		    AUDIT_KEY_MAX);
		return -EINVAL;
	}
	if (f[3].val.len == 0) {
		seterr(err, errlen, "actor: empty");
		return -EINVAL;
	}
	if (!((f[4].val.len == 2 && !memcmp(f[4].val.p, "ok", 2)) ||
	    (f[4].val.len == 4 && !memcmp(f[4].val.p, "fail", 4)))) {
		seterr(err, errlen, "outcome: ok or fail");
		return -EINVAL;
	}
	r->time = f[1].val;
	r->event = f[2].val;
	r->actor = f[3].val;
	r->outcome = f[4].val;
	r->reason = f[5].val;
	for (i = 6; i < nf - 2; i++) {
		if (!audit_key_ok(f[i].key.p, f[i].key.len) ||
		    reserved_key(f[i].key.p, f[i].key.len)) {
			seterr(err, errlen, "detail key '%.*s' is not allowed",
			    (int)(f[i].key.len > 32 ? 32 : f[i].key.len),
			    f[i].key.p);
			return -EINVAL;
		}
		if (i > 6 && tokcmp(&f[i - 1].key, &f[i].key) >= 0) {
			seterr(err, errlen, "detail keys out of order or repeated "
			    "at '%.*s'", (int)f[i].key.len, f[i].key.p);
			return -EINVAL;
		}
		r->kv[r->n_kv++] = f[i];
	}
	if (!hex64_ok(f[nf - 2].val.p, f[nf - 2].val.len) ||
	    !hex64_ok(f[nf - 1].val.p, f[nf - 1].val.len)) {
		seterr(err, errlen, "prev and hash: 64 lower-case hex digits");
		return -EINVAL;
	}
	memcpy(r->prev, f[nf - 2].val.p, AUDIT_HEX_LEN);
	memcpy(r->hash, f[nf - 1].val.p, AUDIT_HEX_LEN);
	/* The hash covers everything before " hash=". */
	r->body_len = (size_t)(f[nf - 1].key.p - line) - 1;
	return 0;
}

const struct audit_tok *audit_get(const struct audit_rec *r, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < r->n_kv; i++)
		if (r->kv[i].key.len == kl && !memcmp(r->kv[i].key.p, key, kl))
			return &r->kv[i].val;
	return NULL;
}

bool audit_hash_ok(const char *line, const struct audit_rec *r)
{
	char h[AUDIT_HEX_LEN + 1];

	audit_sha256_hex(line, r->body_len, h);
	return memcmp(h, r->hash, AUDIT_HEX_LEN) == 0;
}

/* ---- filters ------------------------------------------------------------ */

bool audit_filter_match(const struct audit_filter *f,
    const struct audit_rec *r)
{
	if (f->from_ms && r->time_ms < f->from_ms)
		return false;
	if (f->to_ms && r->time_ms > f->to_ms)
		return false;
	if (f->event && f->event[0]) {
		size_t n = strlen(f->event);
		if (f->event[n - 1] == '*') {
			if (r->event.len < n - 1 ||
			    memcmp(r->event.p, f->event, n - 1) != 0)
				return false;
		} else if (!audit_tok_eq(&r->event, f->event)) {
			return false;
		}
	}
	if (f->signer && f->signer[0]) {
		const struct audit_tok *u = audit_get(r, "user");
		char actor[8 + 256];
		bool hit = u && audit_tok_eq(u, f->signer);

		if (!hit && strlen(f->signer) < 256) {
			snprintf(actor, sizeof actor, "signer:%s", f->signer);
			hit = audit_tok_eq(&r->actor, actor);
		}
		if (!hit)
			return false;
	}
	if (f->credential && f->credential[0]) {
		const struct audit_tok *c = audit_get(r, "cred");
		if (!c || !audit_tok_eq(c, f->credential))
			return false;
	}
	return true;
}

/* ---- verification ------------------------------------------------------- */

int audit_verify_init(struct audit_verifier *v, EVP_PKEY *pub)
{
	memset(v, 0, sizeof *v);
	if (pub == NULL)
		return -EINVAL;
	if (audit_key_fingerprint(pub, v->key_fp) < 0)
		return -EINVAL;
	v->pub = pub;
	return 0;
}

static int vfail(struct audit_verifier *v, const char *name, size_t lineno,
    uint64_t seq, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int vfail(struct audit_verifier *v, const char *name, size_t lineno,
    uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (v->failed)
		return -EBADMSG;
	v->failed = true;
	v->bad_seq = seq;
	if (seq)
		snprintf(v->where, sizeof v->where, "%s:%zu seq=%" PRIu64,
		    name, lineno, seq);
	else
		snprintf(v->where, sizeof v->where, "%s:%zu", name, lineno);
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof v->problem, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int hex_to_bin(const struct audit_tok *t, unsigned char *out,
    size_t max, size_t *len)
{
	if (t->len % 2 || t->len / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < t->len; i += 2) {
		int hi, lo;
		char a = t->p[i], b = t->p[i + 1];
		hi = a >= '0' && a <= '9' ? a - '0' : a >= 'a' && a <= 'f' ?
		    a - 'a' + 10 : -1;
		lo = b >= '0' && b <= '9' ? b - '0' : b >= 'a' && b <= 'f' ?
		    b - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*len = t->len / 2;
	return 0;
}

static unsigned tok_uint(const struct audit_tok *t)
{
	char b[16];

	if (t == NULL || t->len == 0 || t->len >= sizeof b)
		return 0;
	memcpy(b, t->p, t->len);
	b[t->len] = '\0';
	for (size_t i = 0; i < t->len; i++)
		if (b[i] < '0' || b[i] > '9')
			return 0;
	return (unsigned)strtoul(b, NULL, 10);
}

static int check_checkpoint(struct audit_verifier *v, const char *name,
    size_t lineno, const struct audit_rec *r)
{
	const struct audit_tok *alg = audit_get(r, "alg");
	const struct audit_tok *key = audit_get(r, "key");
	const struct audit_tok *sig = audit_get(r, "sig");
	unsigned char sigbin[160], md[32];
	size_t siglen = 0;
	EVP_PKEY_CTX *ctx;
	int ok;

	if (!audit_tok_eq(&r->outcome, "ok") || !alg || !key || !sig ||
	    !audit_tok_eq(alg, AUDIT_CP_ALG))
		return vfail(v, name, lineno, r->seq, "checkpoint without "
		    "alg=" AUDIT_CP_ALG ", key and sig");
	if (key->len != AUDIT_HEX_LEN || memcmp(key->p, v->key_fp, AUDIT_HEX_LEN))
		return vfail(v, name, lineno, r->seq, "checkpoint signed by "
		    "another key (key=%.*s, the given public key is %.16s...)",
		    (int)(key->len > 64 ? 64 : key->len), key->p, v->key_fp);
	if (hex_to_bin(sig, sigbin, sizeof sigbin, &siglen) < 0 || siglen == 0)
		return vfail(v, name, lineno, r->seq, "checkpoint: sig is not "
		    "hex DER");
	if (audit_cp_digest(r->seq - 1, r->prev, md) < 0)
		return vfail(v, name, lineno, r->seq, "checkpoint: bad head");
	ctx = EVP_PKEY_CTX_new(v->pub, NULL);
	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_verify(ctx, sigbin, siglen, md, sizeof md) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		if (v->last_cp_seq)
			return vfail(v, name, lineno, r->seq, "checkpoint "
			    "signature does not verify: records %" PRIu64
			    "..%" PRIu64 " (since the checkpoint at seq %" PRIu64
			    ") were altered and re-chained, or the checkpoint "
			    "is forged", v->last_cp_seq + 1, r->seq - 1,
			    v->last_cp_seq);
		return vfail(v, name, lineno, r->seq, "checkpoint signature "
		    "does not verify: records %" PRIu64 "..%" PRIu64 " were "
		    "altered and re-chained, or the checkpoint is forged",
		    v->first_seq, r->seq - 1);
	}
	return 0;
}

static int verify_line(struct audit_verifier *v, const char *name,
    uint64_t file_seq, bool first_in_file, size_t lineno, const char *line,
    size_t len)
{
	struct audit_rec r;
	char err[200];
	bool is_cp;

	if (audit_parse(line, len, &r, err, sizeof err) < 0)
		return vfail(v, name, lineno, v->started ? v->seq + 1 : 0,
		    "malformed record: %s", err);
	if (!audit_hash_ok(line, &r))
		return vfail(v, name, lineno, r.seq, "hash does not match the "
		    "record's content: the record was edited");
	if (first_in_file && file_seq && r.seq != file_seq)
		return vfail(v, name, lineno, r.seq, "file name says the first "
		    "record is seq %" PRIu64 ": records were removed or added "
		    "at the start of the file", file_seq);
	if (!v->started) {
		if (r.seq == 1) {
			if (!audit_tok_eq(&r.event, AUDIT_EV_GENESIS) ||
			    strcmp(r.prev, AUDIT_GENESIS) != 0)
				return vfail(v, name, lineno, r.seq, "seq 1 must "
				    "be " AUDIT_EV_GENESIS " with prev = 64 zeros");
		} else if (audit_tok_eq(&r.event, AUDIT_EV_CONTINUE)) {
			v->partial = true;
		} else {
			return vfail(v, name, lineno, r.seq, "the trail starts "
			    "with neither " AUDIT_EV_GENESIS " (seq 1) nor "
			    AUDIT_EV_CONTINUE ": its first records were removed");
		}
		v->started = true;
		v->first_seq = r.seq;
	} else {
		if (r.seq != v->seq + 1) {
			if (r.seq > v->seq + 1)
				return vfail(v, name, lineno, r.seq, "expected "
				    "seq %" PRIu64 ", found %" PRIu64 ": record(s) "
				    "%" PRIu64 "..%" PRIu64 " deleted, or records "
				    "reordered", v->seq + 1, r.seq, v->seq + 1,
				    r.seq - 1);
			return vfail(v, name, lineno, r.seq, "expected seq %"
			    PRIu64 ", found %" PRIu64 ": a record was inserted "
			    "or records reordered", v->seq + 1, r.seq);
		}
		if (strcmp(r.prev, v->head) != 0)
			return vfail(v, name, lineno, r.seq, "prev is not the "
			    "hash of record %" PRIu64 ": a record was replaced, "
			    "inserted or reordered here", v->seq);
		if (first_in_file && !audit_tok_eq(&r.event, AUDIT_EV_CONTINUE))
			return vfail(v, name, lineno, r.seq, "a file after the "
			    "first must start with " AUDIT_EV_CONTINUE);
		if (audit_tok_eq(&r.event, AUDIT_EV_GENESIS))
			return vfail(v, name, lineno, r.seq, AUDIT_EV_GENESIS
			    " in the middle of a trail");
	}
	is_cp = audit_tok_eq(&r.event, AUDIT_EV_CHECKPOINT);
	if (is_cp) {
		if (check_checkpoint(v, name, lineno, &r) < 0)
			return -EBADMSG;
		v->checkpoints++;
		v->last_cp_seq = r.seq;
		v->since_cp = 0;
		v->first_uncovered_ms = 0;
		if (audit_get(&r, "cp_records"))
			v->cp_records = tok_uint(audit_get(&r, "cp_records"));
		if (audit_get(&r, "cp_seconds"))
			v->cp_seconds = tok_uint(audit_get(&r, "cp_seconds"));
		v->ends_with_shutdown = audit_tok_eq(&r.reason, "shutdown");
	} else {
		if (v->since_cp == 0)
			v->first_uncovered_ms = r.time_ms;
		v->since_cp++;
		v->ends_with_shutdown = false;
		/* A (re)start declares the interval it runs with. */
		if (audit_tok_eq(&r.event, "process.start")) {
			unsigned n = tok_uint(audit_get(&r, "cp_records"));
			unsigned s = tok_uint(audit_get(&r, "cp_seconds"));
			if (n)
				v->cp_records = n;
			if (s)
				v->cp_seconds = s;
		}
	}
	if (v->expect_seq && r.seq == v->expect_seq) {
		if (strcmp(r.hash, v->expect_hash) != 0)
			return vfail(v, name, lineno, r.seq, "this record's hash "
			    "is %.16s..., not the expected %.16s...: the trail was "
			    "replaced from here or before", r.hash, v->expect_hash);
		v->expect_seen = true;
	}
	v->records++;
	v->seq = r.seq;
	memcpy(v->head, r.hash, AUDIT_HEX_LEN + 1);
	v->last_time_ms = r.time_ms;
	return 0;
}

int audit_verify_buf(struct audit_verifier *v, const char *name,
    uint64_t file_seq, const char *buf, size_t len, bool last_file)
{
	size_t pos = 0, lineno = 0;
	bool first = true;

	if (v->failed)
		return -EBADMSG;
	v->files++;
	if (len == 0) {
		if (!last_file)
			return vfail(v, name, 0, 0, "empty file in the middle "
			    "of the trail");
		snprintf(v->warning, sizeof v->warning, "%s is empty (inkan-sam "
		    "stopped right after starting it)", name);
		return 0;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l;

		lineno++;
		if (nl == NULL) {
			/* A write cut short by a crash: never synced, so
			 * never released. Only acceptable at the very end. */
			if (!last_file)
				return vfail(v, name, lineno, 0, "incomplete "
				    "last line in a file that is not the last");
			snprintf(v->warning, sizeof v->warning, "%s:%zu: "
			    "incomplete last line (%zu bytes, a write cut short "
			    "by a crash) ignored", name, lineno, len - pos);
			break;
		}
		l = (size_t)(nl - (buf + pos));
		if (verify_line(v, name, file_seq, first, lineno, buf + pos,
		    l) < 0)
			return -EBADMSG;
		first = false;
		pos += l + 1;
	}
	return 0;
}

int audit_verify_end(struct audit_verifier *v)
{
	if (v->failed)
		return -EBADMSG;
	if (!v->started)
		return vfail(v, "(trail)", 0, 0, "no records");
	if (v->checkpoints == 0)
		return vfail(v, "(trail)", 0, 0, "no checkpoint: nothing in this "
		    "trail is signed by the audit key");
	if (v->expect_seq && !v->expect_seen)
		return vfail(v, "(end of trail)", 0, v->seq + 1, "the trail ends "
		    "at seq %" PRIu64 " but record %" PRIu64 " was expected: "
		    "records were removed from the end", v->seq, v->expect_seq);
	if (v->since_cp > 0 && v->cp_records > 0 && v->since_cp >= v->cp_records)
		return vfail(v, "(end of trail)", 0, v->last_cp_seq +
		    v->cp_records + 1, "%" PRIu64 " records after the last "
		    "checkpoint (seq %" PRIu64 "), but one follows every %u: "
		    "the checkpoint after seq %" PRIu64 " and the records after "
		    "it are missing (trail truncated), or inkan-sam could not "
		    "sign checkpoints (see its journal)", v->since_cp,
		    v->last_cp_seq, v->cp_records, v->last_cp_seq + v->cp_records);
	if (v->since_cp > 0 && v->cp_seconds > 0 &&
	    v->last_time_ms - v->first_uncovered_ms >
	    ((int64_t)v->cp_seconds + AUDIT_TIME_SLACK_S) * 1000)
		return vfail(v, "(end of trail)", 0, v->last_cp_seq + 1,
		    "the records after the last checkpoint (seq %" PRIu64 ") "
		    "span %" PRId64 " s, but a checkpoint follows within %u s: "
		    "a checkpoint and the records after it are missing (trail "
		    "truncated)", v->last_cp_seq,
		    (v->last_time_ms - v->first_uncovered_ms) / 1000,
		    v->cp_seconds);
	return 0;
}

bool audit_file_name(const char *name, uint64_t *seq)
{
	size_t pl = strlen(AUDIT_FILE_PREFIX), sl = strlen(AUDIT_FILE_SUFFIX);
	uint64_t s = 0;

	if (strlen(name) != AUDIT_FILE_NAME_LEN ||
	    strncmp(name, AUDIT_FILE_PREFIX, pl) != 0 ||
	    strcmp(name + AUDIT_FILE_NAME_LEN - sl, AUDIT_FILE_SUFFIX) != 0)
		return false;
	for (size_t i = pl; i < AUDIT_FILE_NAME_LEN - sl; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		s = s * 10 + (uint64_t)(name[i] - '0');
	}
	if (s == 0)
		return false;
	if (seq)
		*seq = s;
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void audit_free_list(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int audit_list_dir(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int n = 0, cap = 0;

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (!audit_file_name(e->d_name, NULL))
			continue;
		if (n == cap) {
			char **nv;
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, (size_t)cap * sizeof *v);
			if (nv == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[n] = strdup(e->d_name)) == NULL)
			goto nomem;
		n++;
	}
	closedir(d);
	/* Insertion sort: glibc's qsort may call sysinfo(), which inkan-sam's
	 * sandbox does not allow. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && cmp_names(&v[j - 1], &v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	return n;
nomem:
	closedir(d);
	audit_free_list(v, n);
	return -ENOMEM;
}

int audit_read_file(int dirfd, const char *path, size_t max, char **buf,
    size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	char *b;
	int fd;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (b == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			char *nb;
			if (cap > max) {
				free(b);
				close(fd);
				return -EFBIG;
			}
			nb = realloc(b, cap * 2);
			if (nb == NULL) {
				free(b);
				close(fd);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(b);
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

#define AUDIT_FILE_READ_MAX ((size_t)1 << 32)

int audit_verify_path(struct audit_verifier *v, const char *path,
    char *err, size_t errlen)
{
	struct stat st;
	char **names = NULL;
	char *buf = NULL;
	size_t len = 0;
	int n, r, dfd;

	if (stat(path, &st) < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		const char *base = strrchr(path, '/');
		uint64_t fs = 0;

		base = base ? base + 1 : path;
		if (!audit_file_name(base, &fs))
			fs = 0;
		r = audit_read_file(AT_FDCWD, path, AUDIT_FILE_READ_MAX, &buf, &len);
		if (r < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(-r));
			return r;
		}
		r = audit_verify_buf(v, base, fs, buf, len, true);
		free(buf);
		if (r < 0)
			return r;
		return audit_verify_end(v);
	}
	n = audit_list_dir(path, &names);
	if (n < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(-n));
		return n;
	}
	if (n == 0) {
		audit_free_list(names, n);
		return vfail(v, path, 0, 0, "no audit-*.log files in this "
		    "directory");
	}
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		audit_free_list(names, n);
		return r;
	}
	r = 0;
	for (int i = 0; i < n && r == 0; i++) {
		uint64_t fs = 0;

		audit_file_name(names[i], &fs);
		r = audit_read_file(dfd, names[i], AUDIT_FILE_READ_MAX, &buf, &len);
		if (r < 0) {
			seterr(err, errlen, "%s/%s: %s", path, names[i],
			    strerror(-r));
			break;
		}
		r = audit_verify_buf(v, names[i], fs, buf, len, i == n - 1);
		free(buf);
		buf = NULL;
		if (r == 0 && i == 0 && v->partial)
			r = vfail(v, names[0], 1, v->first_seq, "the first file "
			    "starts at seq %" PRIu64 " with " AUDIT_EV_CONTINUE
			    ": the files before it are missing", v->first_seq);
	}
	close(dfd);
	audit_free_list(names, n);
	if (r < 0)
		return r;
	return audit_verify_end(v);
}

void audit_verify_summary(const struct audit_verifier *v, FILE *out)
{
	fprintf(out, "OK: %" PRIu64 " records verified (seq %" PRIu64 "..%"
	    PRIu64 ") in %" PRIu64 " file%s, %" PRIu64 " checkpoint%s "
	    "verified\n", v->records, v->first_seq, v->seq, v->files,
	    v->files == 1 ? "" : "s", v->checkpoints,
	    v->checkpoints == 1 ? "" : "s");
	fprintf(out, "last checkpoint: seq %" PRIu64 "%s; %" PRIu64 " record%s "
	    "after it (chained, not yet signed)\n", v->last_cp_seq,
	    v->ends_with_shutdown ? " (shutdown)" : "", v->since_cp,
	    v->since_cp == 1 ? "" : "s");
	fprintf(out, "head: seq %" PRIu64 " hash %s\n", v->seq, v->head);
	fprintf(out, "audit key: %s\n", v->key_fp);
	if (v->partial)
		fprintf(out, "note: the input starts at seq %" PRIu64 " (a "
		    "continuation): records before it were not checked\n",
		    v->first_seq);
	if (v->warning[0])
		fprintf(out, "warning: %s\n", v->warning);
}
