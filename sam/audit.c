/* audit.c — inkan-sam's audit trail writer: records queued by the handlers of
 * one poll round are sealed into the hash chain, written with one write() and
 * made durable with one fdatasync() at the end of the round (group commit);
 * the replies that wait for them (signatures, SADs, tokens, admin changes)
 * leave only after that sync. A failed write or sync is rolled back to the
 * last durable byte (ftruncate), the held releases become AUDIT_UNAVAILABLE
 * and their records say so, and every later request is refused until a write
 * succeeds again. Checkpoints (signed by inkan-scm's audit key) are sealed
 * after every cp_records records, when the oldest uncovered record is
 * cp_seconds old, before a rotation, at start and at shutdown.
 * SECURITY: records hold what callers pass; callers never pass a PIN, OTP,
 * password, token, SAD or key (audit.h). The SAM is single-threaded: no
 * locks, no flusher thread, no new system calls beyond the file ones. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon.h"
#include "log.h"
#include "util.h"
#include "audit.h"
#include "audit_format.h"

/* A record waiting to be written: everything but seq, prev and hash. */
struct qrec {
	uint64_t rid;                 /* queue order, for held replies */
	int64_t time_ms;
	char event[AUDIT_KEY_MAX + 1];
	char *actor;                  /* encoded */
	bool ok;
	char *reason;                 /* encoded */
	char *details;                /* " k=v ..." encoded, sorted */
	char *jdetails;               /* the same without auditor-only keys */
	bool release;
	uint64_t seq;                 /* while sealing */
};

/* A reply held until the records before it are on disk. */
struct held {
	int fd;
	uint64_t id;
	uint32_t type;
	ProtobufCMessage *msg;
	bool secret, release, withheld;
	uint64_t rid;                 /* the last record queued before it */
};

struct obuf {
	char *b;
	size_t len, cap;
};

static struct trail {
	bool open;
	struct audit_params p;
	char *dir;
	int dirfd, fd;
	char cur_name[AUDIT_FILE_NAME_LEN + 1];
	char prev_name[AUDIT_FILE_NAME_LEN + 1];
	bool pending_continue;        /* the current file still needs its first record */
	uint64_t size;                /* durable bytes of the current file */
	/* the durable chain */
	uint64_t next_seq;
	char head[AUDIT_HEX_LEN + 1];
	uint64_t since_cp;
	int64_t oldest_ms;
	bool start_cp;                /* a checkpoint is due once started */
	int64_t cp_retry_ms;
	int cp_err;
	/* queue */
	struct qrec *q;
	size_t nq, capq;
	uint64_t next_rid, durable_rid;
	struct held *h;
	size_t nh, caph;
	/* failure state */
	bool failed;
	int err;
	int64_t failed_since;
	uint64_t refused, withheld, lost;
	struct obuf out;
} T = { .dirfd = -1, .fd = -1 };

/* Details an operator's journal does not get (the auditor's trail does). */
static const char *const private_keys[] = {
	"hashes", "issuer", "not_after", "old_sad", "sad", "serial", "subject",
};

static bool is_private(const char *key)
{
	for (size_t i = 0; i < sizeof private_keys / sizeof private_keys[0]; i++)
		if (!strcmp(key, private_keys[i]))
			return true;
	return false;
}

static int64_t clock_ms(void)
{
	return T.p.now_ms ? T.p.now_ms() : now_ms();
}

/* ---- output buffer ------------------------------------------------------ */

static int ob_reserve(struct obuf *o, size_t more)
{
	size_t cap = o->cap ? o->cap : 4096;
	char *nb;

	if (o->len + more + 1 <= o->cap)
		return 0;
	while (cap < o->len + more + 1)
		cap *= 2;
	nb = realloc(o->b, cap);
	if (nb == NULL)
		return -ENOMEM;
	o->b = nb;
	o->cap = cap;
	o->b[o->len] = '\0';
	return 0;
}

static int ob_add(struct obuf *o, const char *s, size_t n)
{
	if (ob_reserve(o, n) < 0)
		return -ENOMEM;
	memcpy(o->b + o->len, s, n);
	o->len += n;
	o->b[o->len] = '\0';
	return 0;
}

static int ob_str(struct obuf *o, const char *s)
{
	return ob_add(o, s, strlen(s));
}

static int ob_printf(struct obuf *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int ob_printf(struct obuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ob_reserve(o, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(o->b + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
	return 0;
}

static char *enc_dup(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	char *e = malloc(audit_encoded_len(v ? v : "", n) + 1);

	if (e != NULL)
		audit_encode(v ? v : "", n, e);
	return e;
}

/* ---- sealing ------------------------------------------------------------ */

struct wstate {
	uint64_t seq;
	char head[AUDIT_HEX_LEN + 1];
	uint64_t since;
	int64_t oldest;
	/* checkpoints sealed in this batch, for the journal */
	uint64_t cp_seq[8];
	char cp_head[8][AUDIT_HEX_LEN + 1];
	int n_cp;
};

static int seal(struct obuf *o, struct wstate *w, int64_t time_ms,
    const char *event, const char *actor, bool ok, const char *reason,
    const char *details)
{
	char t[AUDIT_TIME_LEN + 1], h[AUDIT_HEX_LEN + 1];
	size_t start = o->len, need;

	if (audit_time_format(time_ms, t) < 0)
		return -EINVAL;
	need = strlen(actor) + strlen(reason) + strlen(details) + 256;
	if (need >= AUDIT_LINE_MAX)
		return -E2BIG;
	if (ob_printf(o, "seq=%" PRIu64 " time=%s event=%s actor=%s outcome=%s "
	    "reason=%s", w->seq, t, event, actor, ok ? "ok" : "fail",
	    reason) < 0 || ob_str(o, details) < 0 ||
	    ob_printf(o, " prev=%s", w->head) < 0)
		return -ENOMEM;
	audit_sha256_hex(o->b + start, o->len - start, h);
	if (ob_printf(o, " hash=%s\n", h) < 0)
		return -ENOMEM;
	memcpy(w->head, h, sizeof h);
	w->seq++;
	return 0;
}

static int seal_checkpoint(struct obuf *o, struct wstate *w, const char *why)
{
	uint8_t sig[256];
	char sighex[2 * sizeof sig + 1], fp[AUDIT_HEX_LEN + 1] = "";
	char details[AUDIT_HEX_LEN + sizeof sighex + 160];
	size_t sl = sizeof sig;
	int64_t now = clock_ms();
	int r;

	if (w->seq < 2)
		return 0;                /* nothing to cover */
	if (T.p.cp_sign == NULL)
		return -ENOTSUP;
	if (now < T.cp_retry_ms)
		return -EAGAIN;
	r = T.p.cp_sign(T.p.cp_arg, w->seq - 1, w->head, sig, &sl, fp);
	if (r < 0 || sl == 0 || sl > sizeof sig || strlen(fp) != AUDIT_HEX_LEN) {
		/* Not fatal for the records: they are written, and the
		 * checkpoint is tried again a second later. */
		if (T.cp_err == 0)
			log_warn("audit: cannot sign a checkpoint: %s "
			    "(inkan-scm unreachable?); retrying",
			    strerror(r < 0 ? -r : EINVAL));
		T.cp_err = r < 0 ? r : -EINVAL;
		T.cp_retry_ms = now + 1000;
		return T.cp_err;
	}
	if (T.cp_err != 0)
		log_info("audit: checkpoints are signed again");
	T.cp_err = 0;
	hex_encode(sig, sl, sighex);
	snprintf(details, sizeof details, " alg=%s cp_records=%u cp_seconds=%u "
	    "key=%s sig=%s", AUDIT_CP_ALG, T.p.cp_records, T.p.cp_seconds, fp,
	    sighex);
	if (w->n_cp < 8) {
		w->cp_seq[w->n_cp] = w->seq;
		memcpy(w->cp_head[w->n_cp], w->head, sizeof w->head);
		w->n_cp++;
	}
	r = seal(o, w, now, AUDIT_EV_CHECKPOINT, AUDIT_ACTOR_SAM, true, why,
	    details);
	if (r == 0) {
		w->since = 0;
		w->oldest = 0;
	}
	return r;
}

static int write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void file_name(uint64_t seq, char *out)
{
	snprintf(out, AUDIT_FILE_NAME_LEN + 1, AUDIT_FILE_PREFIX "%012" PRIu64
	    AUDIT_FILE_SUFFIX, seq);
}

/* Start the next file; its first record (audit.continue) is sealed by the
 * next flush, which may be this one. */
static int rotate(void)
{
	char name[AUDIT_FILE_NAME_LEN + 1];
	struct stat st;
	int fd;

	file_name(T.next_seq, name);
	fd = openat(T.dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Left empty by an earlier failed attempt: reuse it. */
		fd = openat(T.dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC |
		    O_NOFOLLOW);
		if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_size != 0)) {
			close(fd);
			return -EEXIST;
		}
	}
	if (fd < 0)
		return -errno;
	if (fsync(T.dirfd) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	memcpy(T.prev_name, T.cur_name, sizeof T.prev_name);
	close(T.fd);
	T.fd = fd;
	memcpy(T.cur_name, name, sizeof name);
	T.size = 0;
	T.pending_continue = true;
	return 0;
}

static void qrec_free(struct qrec *r)
{
	free(r->actor);
	free(r->reason);
	free(r->details);
	free(r->jdetails);
}

static void journal(const struct qrec *r)
{
	char rs[96];

	snprintf(rs, sizeof rs, "%s", r->reason);
	if (r->ok)
		log_info("audit seq=%" PRIu64 " event=%s actor=%s outcome=ok "
		    "reason=%s%s", r->seq, r->event, r->actor, rs, r->jdetails);
	else
		log_warn("audit seq=%" PRIu64 " event=%s actor=%s outcome=fail "
		    "reason=%s%s", r->seq, r->event, r->actor, rs, r->jdetails);
}

static const char *errno_name(int e)
{
	switch (e) {
	case ENOSPC: return "ENOSPC";
	case EIO: return "EIO";
	case EFBIG: return "EFBIG";
	case EDQUOT: return "EDQUOT";
	case EROFS: return "EROFS";
	case ENOMEM: return "ENOMEM";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	default: return "error";
	}
}

static int flush(const char *force_cp, bool may_rotate);

int audit_flush(const char *force_cp)
{
	return flush(force_cp, true);
}

static int flush(const char *force_cp, bool may_rotate)
{
	struct obuf *o = &T.out;
	struct wstate w;
	int r;

	if (!T.open)
		return -EBADF;
	if (T.nq == 0 && !T.pending_continue && !T.failed &&
	    !(force_cp && T.since_cp > 0))
		return 0;
	if (may_rotate && T.size >= T.p.max_file_size && !T.pending_continue) {
		/* Close the full file with a checkpoint (and what is queued),
		 * then start the next one. */
		if ((r = flush("rotate", false)) < 0)
			return r;
		if ((r = rotate()) < 0)
			goto fail;
	}

	memset(&w, 0, sizeof w);
	w.seq = T.next_seq;
	memcpy(w.head, T.head, sizeof w.head);
	w.since = T.since_cp;
	w.oldest = T.oldest_ms;
	o->len = 0;
	r = 0;
	if (T.pending_continue) {
		char d[64 + AUDIT_FILE_NAME_LEN];
		snprintf(d, sizeof d, " prev_file=%s", T.prev_name);
		r = seal(o, &w, clock_ms(), AUDIT_EV_CONTINUE, AUDIT_ACTOR_SAM,
		    true, "rotate", d);
		if (r == 0 && w.since++ == 0)
			w.oldest = clock_ms();
	}
	if (r == 0 && T.failed) {
		/* The probe that ends an outage is its own record. */
		char d[400], t[AUDIT_TIME_LEN + 1] = "", *e;

		audit_time_format(T.failed_since, t);
		e = enc_dup(strerror(-T.err));
		snprintf(d, sizeof d, " error=%s lost=%" PRIu64 " refused=%"
		    PRIu64 " since=%s withheld=%" PRIu64, e ? e : "?", T.lost,
		    T.refused, t, T.withheld);
		free(e);
		r = seal(o, &w, clock_ms(), "audit.outage", AUDIT_ACTOR_SAM,
		    false, errno_name(-T.err), d);
		if (r == 0 && w.since++ == 0)
			w.oldest = clock_ms();
	}
	for (size_t i = 0; r == 0 && i < T.nq; i++) {
		struct qrec *q = &T.q[i];

		q->seq = w.seq;
		r = seal(o, &w, q->time_ms, q->event, q->actor, q->ok,
		    q->reason, q->details);
		if (r < 0)
			break;
		if (w.since++ == 0)
			w.oldest = q->time_ms;
		if (w.since >= T.p.cp_records)
			(void)seal_checkpoint(o, &w, force_cp && i + 1 == T.nq ?
			    force_cp : "records");
	}
	if (r == 0 && force_cp && w.since > 0)
		(void)seal_checkpoint(o, &w, force_cp);
	if (r < 0)
		goto fail;
	if ((r = write_all(T.fd, o->b, o->len)) < 0 ||
	    (fdatasync(T.fd) < 0 && (r = -errno) < 0)) {
		/* Back to the last durable byte: a partial line must not be
		 * followed by the retry. */
		if (ftruncate(T.fd, (off_t)T.size) == 0)
			(void)fdatasync(T.fd);
		goto fail;
	}

	T.size += o->len;
	T.next_seq = w.seq;
	memcpy(T.head, w.head, sizeof T.head);
	T.since_cp = w.since;
	T.oldest_ms = w.oldest;
	T.pending_continue = false;
	if (T.failed) {
		log_info("audit: the trail is writable again after %s; "
		    "%" PRIu64 " requests were refused meanwhile",
		    strerror(-T.err), T.refused);
		T.failed = false;
		T.err = 0;
		T.refused = T.withheld = T.lost = 0;
	}
	for (size_t i = 0; i < T.nq; i++) {
		if (!T.p.quiet)
			journal(&T.q[i]);
		T.durable_rid = T.q[i].rid;
		qrec_free(&T.q[i]);
	}
	T.nq = 0;
	for (int i = 0; i < w.n_cp && !T.p.quiet; i++)
		log_info("audit seq=%" PRIu64 " event=" AUDIT_EV_CHECKPOINT
		    " covers seq %" PRIu64 " head=%s", w.cp_seq[i],
		    w.cp_seq[i] - 1, w.cp_head[i]);
	return 0;

fail:
	if (!T.failed) {
		T.failed = true;
		T.failed_since = clock_ms();
		log_err("audit: cannot write the trail (%s/%s): %s; nothing is "
		    "released and signatures are refused until it can be "
		    "written", T.dir, T.cur_name, strerror(-r));
	}
	T.err = r;
	/* What was to be released is not: say so in its record. */
	for (size_t i = 0; i < T.nq; i++) {
		struct qrec *q = &T.q[i];
		if (q->release && q->ok) {
			char *nr = strdup("audit_unavailable");
			if (nr != NULL) {
				free(q->reason);
				q->reason = nr;
			}
			q->ok = false;
			T.withheld++;
		}
	}
	for (size_t i = 0; i < T.nh; i++)
		if (T.h[i].rid > T.durable_rid)
			T.h[i].withheld = true;
	return r;
}

/* ---- queue -------------------------------------------------------------- */

static int enqueue(struct qrec *r)
{
	if (!T.open) {
		qrec_free(r);
		return -ENOTCONN;
	}
	if (T.nq >= AUDIT_QUEUE_MAX) {
		T.lost++;
		qrec_free(r);
		return -ENOBUFS;
	}
	if (T.nq == T.capq) {
		size_t cap = T.capq ? 2 * T.capq : 64;
		struct qrec *nq = realloc(T.q, cap * sizeof *nq);
		if (nq == NULL) {
			T.lost++;
			qrec_free(r);
			return -ENOMEM;
		}
		T.q = nq;
		T.capq = cap;
	}
	r->rid = ++T.next_rid;
	T.q[T.nq++] = *r;
	return 0;
}

struct audit_ev {
	char event[AUDIT_KEY_MAX + 1];
	char *actor;
	struct {
		char key[AUDIT_KEY_MAX + 1];
		char *val;
	} kv[AUDIT_DETAILS_MAX];
	size_t n;
	bool release;
	bool bad;
};

struct audit_ev *audit_ev_new(const char *event, const char *actor)
{
	struct audit_ev *e = calloc(1, sizeof *e);

	if (e == NULL)
		return NULL;
	if (event == NULL || !audit_event_ok(event, strlen(event)))
		e->bad = true;
	else
		snprintf(e->event, sizeof e->event, "%s", event);
	e->actor = enc_dup(actor && *actor ? actor : "unknown");
	if (e->actor == NULL)
		e->bad = true;
	return e;
}

void audit_ev_add(struct audit_ev *e, const char *key, const char *value)
{
	if (e == NULL || value == NULL)
		return;
	if (key == NULL || !audit_key_ok(key, strlen(key)) ||
	    !strcmp(key, "prev") || !strcmp(key, "hash") ||
	    !strcmp(key, "seq") || !strcmp(key, "time") ||
	    !strcmp(key, "event") || !strcmp(key, "actor") ||
	    !strcmp(key, "outcome") || !strcmp(key, "reason")) {
		e->bad = true;
		return;
	}
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->kv[i].key, key))
			return;         /* first value wins */
	if (e->n == AUDIT_DETAILS_MAX) {
		e->bad = true;
		return;
	}
	snprintf(e->kv[e->n].key, sizeof e->kv[e->n].key, "%s", key);
	e->kv[e->n].val = strdup(value);
	if (e->kv[e->n].val == NULL) {
		e->bad = true;
		return;
	}
	e->n++;
}

void audit_ev_addf(struct audit_ev *e, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	audit_ev_add(e, key, buf);
}

void audit_ev_add_hex_list(struct audit_ev *e, const char *key,
    const ProtobufCBinaryData *v, size_t n)
{
	size_t len = 0, pos = 0;
	char *s;

	if (e == NULL || n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		len += 2 * v[i].len + 1;
	s = malloc(len + 1);
	if (s == NULL) {
		e->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			s[pos++] = ',';
		hex_encode(v[i].data, v[i].len, s + pos);
		pos += 2 * v[i].len;
	}
	s[pos] = '\0';
	audit_ev_add(e, key, s);
	free(s);
}

void audit_ev_release(struct audit_ev *e)
{
	if (e != NULL)
		e->release = true;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const char *)a), ((const char *)b));
}

static void ev_free(struct audit_ev *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->kv[i].val);
	free(e->actor);
	free(e);
}

int audit_ev_end(struct audit_ev *e, bool ok, const char *reason)
{
	struct obuf d = { 0 }, j = { 0 };
	struct qrec r;
	int rc = -ENOMEM;

	if (e == NULL) {
		T.lost += T.open;
		return -ENOMEM;
	}
	if (e->bad) {
		log_err("audit: malformed event '%s' from the code (bad key or "
		    "too many details); recorded without its details",
		    e->event[0] ? e->event : "?");
		for (size_t i = 0; i < e->n; i++)
			free(e->kv[i].val);
		e->n = 0;
		if (!e->event[0])
			snprintf(e->event, sizeof e->event, "malformed");
		e->bad = false;
	}
	/* Insertion sort (at most AUDIT_DETAILS_MAX entries): glibc's qsort
	 * may call sysinfo(), which the sandbox does not allow. */
	for (size_t a = 1; a < e->n; a++)
		for (size_t b = a; b > 0 && kv_cmp(e->kv[b - 1].key,
		    e->kv[b].key) > 0; b--) {
			char k[AUDIT_KEY_MAX + 1];
			char *v = e->kv[b].val;

			memcpy(k, e->kv[b].key, sizeof k);
			memcpy(e->kv[b].key, e->kv[b - 1].key, sizeof k);
			e->kv[b].val = e->kv[b - 1].val;
			memcpy(e->kv[b - 1].key, k, sizeof k);
			e->kv[b - 1].val = v;
		}
	if (ob_reserve(&d, 0) < 0 || ob_reserve(&j, 0) < 0)
		goto out;
	for (size_t i = 0; i < e->n; i++) {
		size_t vl = strlen(e->kv[i].val);
		char *ev = malloc(audit_encoded_len(e->kv[i].val, vl) + 1);
		if (ev == NULL)
			goto out;
		audit_encode(e->kv[i].val, vl, ev);
		if (ob_printf(&d, " %s=%s", e->kv[i].key, ev) < 0 ||
		    (!is_private(e->kv[i].key) &&
		    ob_printf(&j, " %s=%s", e->kv[i].key, ev) < 0)) {
			free(ev);
			goto out;
		}
		free(ev);
	}
	memset(&r, 0, sizeof r);
	r.time_ms = clock_ms();
	memcpy(r.event, e->event, sizeof r.event);
	r.actor = e->actor;
	e->actor = NULL;
	r.ok = ok;
	r.reason = enc_dup(reason ? reason : "");
	r.details = d.b;
	r.jdetails = j.b;
	r.release = e->release;
	d.b = j.b = NULL;
	if (r.reason == NULL) {
		qrec_free(&r);
		goto out;
	}
	rc = enqueue(&r);
out:
	if (rc == -ENOMEM)
		T.lost += T.open;
	free(d.b);
	free(j.b);
	ev_free(e);
	return rc;
}

int audit_record(const char *event, const char *actor, bool ok,
    const char *reason, ...)
{
	struct audit_ev *e = audit_ev_new(event, actor);
	const char *k, *v;
	va_list ap;

	if (e == NULL)
		return -ENOMEM;
	va_start(ap, reason);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		audit_ev_add(e, k, v);
	}
	va_end(ap);
	return audit_ev_end(e, ok, reason);
}

const char *audit_actor_signer(char *buf, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n > 0 && n <= 64;

	for (size_t i = 0; ok && i < n; i++) {
		char c = name[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '@' || c == '-';
	}
	snprintf(buf, AUDIT_ACTOR_MAX, "signer:%s", ok ? name : "(malformed)");
	return buf;
}

const char *audit_actor_peer(char *buf, const struct srv_ctx *c)
{
	const char *role;

	switch (c->peer) {
	case PEER_SIC: role = "sic"; break;
	case PEER_ADMIN: role = "admin"; break;
	case PEER_SO: role = "so"; break;
	case PEER_AUDITOR: role = "auditor"; break;
	case PEER_SAM: role = "sam"; break;
	default: role = "unknown"; break;
	}
	snprintf(buf, AUDIT_ACTOR_MAX, "operator:%s:uid=%u:pid=%d", role,
	    (unsigned)c->cred.uid, (int)c->cred.pid);
	return buf;
}

/* ---- held replies ------------------------------------------------------- */

static void *sec_alloc(void *data, size_t size)
{
	(void)data;
	return sodium_malloc(size ? size : 1);
}

static void sec_free(void *data, void *p)
{
	(void)data;
	if (p != NULL)
		sodium_free(p);
}

static ProtobufCAllocator sec_allocator = { sec_alloc, sec_free, NULL };

static int hold(struct srv_ctx *c, const ProtobufCMessage *rep, bool secret,
    bool release)
{
	size_t n = protobuf_c_message_get_packed_size(rep);
	ProtobufCMessage *copy;
	uint8_t *buf;

	if (!T.open)
		return srv_reply(c, rep);
	if (c->replied)
		return -EALREADY;
	if (T.nh == T.caph) {
		size_t cap = T.caph ? 2 * T.caph : 16;
		struct held *nh = realloc(T.h, cap * sizeof *nh);
		if (nh == NULL)
			return -ENOMEM;
		T.h = nh;
		T.caph = cap;
	}
	buf = secret ? sodium_malloc(n ? n : 1) : malloc(n ? n : 1);
	if (buf == NULL)
		return -ENOMEM;
	protobuf_c_message_pack(rep, buf);
	copy = protobuf_c_message_unpack(rep->descriptor,
	    secret ? &sec_allocator : NULL, n, buf);
	if (secret)
		sodium_free(buf);
	else
		free(buf);
	if (copy == NULL)
		return -ENOMEM;
	T.h[T.nh++] = (struct held){
		.fd = c->fd, .id = c->id, .type = c->type, .msg = copy,
		.secret = secret, .release = release, .rid = T.next_rid,
	};
	/* Answered: the server loop sends nothing; audit_round does. */
	c->replied = true;
	return 0;
}

int audit_reply(struct srv_ctx *c, const ProtobufCMessage *rep)
{
	return hold(c, rep, false, false);
}

int audit_reply_secret(struct srv_ctx *c, const ProtobufCMessage *rep)
{
	return hold(c, rep, true, false);
}

int audit_release(struct srv_ctx *c, const ProtobufCMessage *rep, bool secret)
{
	return hold(c, rep, secret, true);
}

static void send_held(void)
{
	for (size_t i = 0; i < T.nh; i++) {
		struct held *h = &T.h[i];
		int r;

		if (!h->withheld && h->rid <= T.durable_rid)
			r = ipc_send(h->fd, h->id, ipc_reply_type(h->type),
			    INKAN__STATUS__OK, NULL, h->msg);
		else
			r = ipc_send(h->fd, h->id, ipc_reply_type(h->type),
			    INKAN__STATUS__AUDIT_UNAVAILABLE, h->release ?
			    "the audit trail cannot be written: nothing was "
			    "released; retry later" :
			    "the audit trail cannot be written: the change was "
			    "made and its record is kept until it can be", NULL);
		if (r < 0)
			log_warn("audit: held reply to request %u not sent: %s",
			    h->type, strerror(-r));
		protobuf_c_message_free_unpacked(h->msg,
		    h->secret ? &sec_allocator : NULL);
	}
	T.nh = 0;
}

/* ---- the loop's hooks --------------------------------------------------- */

bool audit_ready(void)
{
	if (!T.open)
		return false;
	if (!T.failed)
		return true;
	if (audit_flush(NULL) == 0)
		return true;
	T.refused++;
	return false;
}

void audit_round(void *app)
{
	const char *cp = NULL;
	int64_t now;

	(void)app;
	if (!T.open)
		return;
	if (!T.failed && (T.nq > 0 || T.pending_continue))
		(void)audit_flush(NULL);
	if (T.nh > 0 && T.p.test_pause_ms > 0 && !T.failed) {
		/* Tests only: a crash window between sync and release. */
		struct timespec ts = { (time_t)(T.p.test_pause_ms / 1000),
		    (long)(T.p.test_pause_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (T.nh > 0)
		send_held();
	if (T.failed)
		return;             /* retried by the next request */
	now = clock_ms();
	if (T.start_cp)
		cp = "start";
	else if (T.since_cp > 0 && T.oldest_ms > 0 &&
	    now - T.oldest_ms >= (int64_t)T.p.cp_seconds * 1000)
		cp = "time";
	if (cp != NULL && now >= T.cp_retry_ms) {
		if (T.since_cp == 0)
			T.start_cp = false;
		else if (audit_flush(cp) == 0 && T.since_cp == 0)
			T.start_cp = false;
	}
}

void audit_refused(void *app, const struct srv_listener *l,
    const struct ucred *cred, const char *why)
{
	char actor[AUDIT_ACTOR_MAX], uid[16], gid[16], pid[16];

	(void)app;
	snprintf(actor, sizeof actor, "peer:uid=%u:pid=%d", (unsigned)cred->uid,
	    (int)cred->pid);
	snprintf(uid, sizeof uid, "%u", (unsigned)cred->uid);
	snprintf(gid, sizeof gid, "%u", (unsigned)cred->gid);
	snprintf(pid, sizeof pid, "%d", (int)cred->pid);
	audit_record("peer.refused", actor, false, why, "socket", l->name,
	    "uid", uid, "gid", gid, "pid", pid, NULL);
}

/* ---- start, recovery, stop ---------------------------------------------- */

struct scan {
	uint64_t seq;
	char head[AUDIT_HEX_LEN + 1];
	uint64_t since;
	int64_t oldest;
	size_t valid;                 /* bytes up to the last complete line */
};

/* Re-check the chain of one file (hashes and links, not signatures). */
static int scan_file(const char *name, uint64_t fseq, const char *buf,
    size_t len, struct scan *s, char *err, size_t errlen)
{
	size_t pos = 0, lineno = 0;

	memset(s, 0, sizeof *s);
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		struct audit_rec r;
		char why[200];
		size_t l;

		lineno++;
		if (nl == NULL)
			break;              /* torn tail: the caller cuts it */
		l = (size_t)(nl - (buf + pos));
		if (audit_parse(buf + pos, l, &r, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s line %zu: %s", name, lineno, why);
			return -EBADMSG;
		}
		if (!audit_hash_ok(buf + pos, &r)) {
			snprintf(err, errlen, "%s line %zu: hash does not match "
			    "the record", name, lineno);
			return -EBADMSG;
		}
		if (lineno == 1) {
			if (r.seq != fseq) {
				snprintf(err, errlen, "%s: first record has seq %"
				    PRIu64, name, r.seq);
				return -EBADMSG;
			}
		} else if (r.seq != s->seq + 1 || strcmp(r.prev, s->head) != 0) {
			snprintf(err, errlen, "%s line %zu: does not follow the "
			    "record before it", name, lineno);
			return -EBADMSG;
		}
		if (audit_tok_eq(&r.event, AUDIT_EV_CHECKPOINT)) {
			s->since = 0;
			s->oldest = 0;
		} else if (s->since++ == 0) {
			s->oldest = r.time_ms;
		}
		s->seq = r.seq;
		memcpy(s->head, r.hash, sizeof s->head);
		pos += l + 1;
		s->valid = pos;
	}
	return 0;
}

static int open_append(const char *name)
{
	int fd = openat(T.dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

static int new_trail(const char *name, bool exists, char *err, size_t errlen)
{
	uint8_t id[16];
	char hex[33], path[4096];
	int fd;

	fd = openat(T.dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	    (exists ? 0 : O_CREAT | O_EXCL), 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: %s", T.dir, name, strerror(errno));
		return -errno;
	}
	T.fd = fd;
	snprintf(T.cur_name, sizeof T.cur_name, "%s", name);
	snprintf(path, sizeof path, "%s/%s", T.dir, name);
	(void)daemon_chown_path(path);
	T.next_seq = 1;
	memcpy(T.head, AUDIT_GENESIS, sizeof T.head);
	randombytes_buf(id, sizeof id);
	hex_encode(id, sizeof id, hex);
	return audit_record(AUDIT_EV_GENESIS, AUDIT_ACTOR_SAM, true, "new",
	    "format", "1", "trail", hex, NULL);
}

static int recover(char **names, int n, char *err, size_t errlen)
{
	const char *last = names[n - 1];
	size_t maxread = T.p.max_file_size * 4 + AUDIT_LINE_MAX * 64;
	struct scan s;
	uint64_t fseq = 0;
	char *buf = NULL;
	size_t len = 0;
	int r, fd;

	audit_file_name(last, &fseq);
	r = audit_read_file(T.dirfd, last, maxread, &buf, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s/%s: %s", T.dir, last, strerror(-r));
		return r;
	}
	if (len == 0) {
		free(buf);
		buf = NULL;
		if (n == 1) {
			if (fseq != 1) {
				snprintf(err, errlen, "%s/%s: empty, and not the "
				    "first file of a trail", T.dir, last);
				return -EBADMSG;
			}
			return new_trail(last, true, err, errlen);
		}
		/* Created by a rotation that crashed before its first
		 * record: the chain head is in the file before it. */
		uint64_t pseq = 0;
		audit_file_name(names[n - 2], &pseq);
		r = audit_read_file(T.dirfd, names[n - 2], maxread, &buf, &len);
		if (r < 0) {
			snprintf(err, errlen, "%s/%s: %s", T.dir, names[n - 2],
			    strerror(-r));
			return r;
		}
		r = scan_file(names[n - 2], pseq, buf, len, &s, err, errlen);
		free(buf);
		if (r < 0)
			return r;
		if (s.valid != len || s.seq + 1 != fseq) {
			snprintf(err, errlen, "%s/%s does not continue %s", T.dir,
			    last, names[n - 2]);
			return -EBADMSG;
		}
		if ((fd = open_append(last)) < 0) {
			snprintf(err, errlen, "%s/%s: %s", T.dir, last,
			    strerror(-fd));
			return fd;
		}
		T.fd = fd;
		snprintf(T.prev_name, sizeof T.prev_name, "%s", names[n - 2]);
		T.pending_continue = true;
		T.size = 0;
	} else {
		r = scan_file(last, fseq, buf, len, &s, err, errlen);
		if (r == 0 && s.valid == 0) {
			snprintf(err, errlen, "%s/%s: no complete record", T.dir,
			    last);
			r = -EBADMSG;
		}
		if (r < 0) {
			free(buf);
			return r;
		}
		if ((fd = open_append(last)) < 0) {
			free(buf);
			snprintf(err, errlen, "%s/%s: %s", T.dir, last,
			    strerror(-fd));
			return fd;
		}
		T.fd = fd;
		T.size = s.valid;
		if (s.valid < len) {
			/* A write cut short by a crash: never synced, so
			 * nothing depending on it was released. */
			char h[AUDIT_HEX_LEN + 1], bytes[24];

			audit_sha256_hex(buf + s.valid, len - s.valid, h);
			snprintf(bytes, sizeof bytes, "%zu", len - s.valid);
			if (ftruncate(fd, (off_t)s.valid) < 0 ||
			    fdatasync(fd) < 0) {
				snprintf(err, errlen, "%s/%s: cannot cut the "
				    "incomplete last line: %s", T.dir, last,
				    strerror(errno));
				free(buf);
				return -errno;
			}
			T.next_seq = s.seq + 1;
			memcpy(T.head, s.head, sizeof T.head);
			audit_record("audit.recover", AUDIT_ACTOR_SAM, true,
			    "torn_tail", "bytes", bytes, "file", last,
			    "sha256", h, NULL);
		}
		free(buf);
	}
	snprintf(T.cur_name, sizeof T.cur_name, "%s", last);
	T.next_seq = s.seq + 1;
	memcpy(T.head, s.head, sizeof T.head);
	T.since_cp = s.since;
	T.oldest_ms = s.oldest;
	return 0;
}

int audit_start(const struct audit_params *p, char *err, size_t errlen)
{
	char **names = NULL;
	char path[4096];
	int n, r;

	struct sigaction sa;

	if (T.open)
		return -EALREADY;
	/* A file size limit (RLIMIT_FSIZE) must fail the write with EFBIG,
	 * not kill the process: then the trail fails closed like on ENOSPC. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGXFSZ, &sa, NULL);
	memset(&T, 0, sizeof T);
	T.dirfd = T.fd = -1;
	T.p = *p;
	if (T.p.max_file_size < 4096)
		T.p.max_file_size = 4096;
	if (T.p.cp_records == 0)
		T.p.cp_records = AUDIT_DEFAULT_CP_RECORDS;
	if (T.p.cp_seconds == 0)
		T.p.cp_seconds = AUDIT_DEFAULT_CP_SECONDS;
	if ((T.dir = strdup(p->dir)) == NULL)
		return -ENOMEM;
	T.p.dir = T.dir;
	if (mkdir(T.dir, 0700) == 0)
		(void)daemon_chown_path(T.dir);
	else if (errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", T.dir, strerror(errno));
		goto fail;
	}
	T.dirfd = open(T.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (T.dirfd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", T.dir, strerror(errno));
		goto fail;
	}
	n = audit_list_dir(T.dir, &names);
	if (n < 0) {
		r = n;
		snprintf(err, errlen, "%s: %s", T.dir, strerror(-n));
		goto fail;
	}
	T.open = true;          /* records may be queued from here on */
	if (n == 0) {
		char name[AUDIT_FILE_NAME_LEN + 1];
		file_name(1, name);
		r = new_trail(name, false, err, errlen);
	} else {
		r = recover(names, n, err, errlen);
	}
	audit_free_list(names, n);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof path, "%s/%s", T.dir, T.cur_name);
	(void)daemon_chown_path(path);
	T.start_cp = true;
	return 0;
fail:
	T.open = false;
	for (size_t i = 0; i < T.nq; i++)
		qrec_free(&T.q[i]);
	free(T.q);
	if (T.fd >= 0)
		close(T.fd);
	if (T.dirfd >= 0)
		close(T.dirfd);
	free(T.dir);
	memset(&T, 0, sizeof T);
	T.dirfd = T.fd = -1;
	return r;
}

void audit_stop(const char *why)
{
	if (!T.open)
		return;
	audit_record("process.stop", AUDIT_ACTOR_SAM, true, why, NULL);
	if (audit_flush("shutdown") < 0)
		log_err("audit: the last records could not be written: %s",
		    strerror(-T.err));
	else if (T.since_cp > 0)
		log_warn("audit: no shutdown checkpoint (inkan-scm "
		    "unreachable?): %" PRIu64 " records are not signed",
		    T.since_cp);
	if (T.nh > 0)
		send_held();
	for (size_t i = 0; i < T.nq; i++)
		qrec_free(&T.q[i]);
	free(T.q);
	free(T.h);
	free(T.out.b);
	if (T.fd >= 0)
		close(T.fd);
	if (T.dirfd >= 0)
		close(T.dirfd);
	free(T.dir);
	memset(&T, 0, sizeof T);
	T.dirfd = T.fd = -1;
}

bool audit_is_open(void)
{
	return T.open;
}

void audit_head(uint64_t *seq, char hash[65])
{
	*seq = T.next_seq ? T.next_seq - 1 : 0;
	memcpy(hash, T.open ? T.head : AUDIT_GENESIS, AUDIT_HEX_LEN + 1);
}

int audit_dir_fd(void)
{
	return T.open ? T.dirfd : -1;
}
