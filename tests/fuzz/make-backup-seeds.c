/* make-backup-seeds.c — writes the seed corpora of the backup fuzz targets
 * into DIR/backup-{share,archive,payload,restore-input,restore-db,trail}:
 * valid inputs (archives sealed with the fixed shares of fuzz-backup.h,
 * a trail with a real hash chain) and the edge cases each decoder must
 * refuse. Every seed is checked against the decoder here, so a seed that
 * stops meaning what its name says fails this program.
 * Run by hand after a format change: fuzz-make-backup-seeds tests/fuzz/corpus */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "audit_format.h"
#include "backup.h"
#include "backup_archive.h"
#include "fuzz-backup.h"

static char outdir[4096];

static void
put(const char *target, const char *name, const void *p, size_t n)
{
	char path[8192];
	FILE *f;

	snprintf(path, sizeof path, "%s/backup-%s", outdir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/backup-%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "make-backup-seeds: %s: not as intended\n", what);
		exit(1);
	}
}

/* ---- shares ---- */

static void
shares(void)
{
	uint8_t id[BK_ID_LEN], sh[BK_SHARE_LEN], gid[BK_ID_LEN], gsh[BK_SHARE_LEN];
	char t[BK_SHARE_TEXT_MAX], b[2 * BK_SHARE_TEXT_MAX];
	int n;

	memset(id, 0xa1, sizeof id);
	memset(sh, FUZZ_BK_SHARE1, sizeof sh);
	bk_share_format(id, 1, sh, t);
	expect(bk_share_parse(t, strlen(t), gid, &n, gsh) == 0, "share 1");
	put("share", "share1", t, strlen(t));
	memset(sh, FUZZ_BK_SHARE2, sizeof sh);
	bk_share_format(id, 2, sh, t);
	expect(bk_share_parse(t, strlen(t), gid, &n, gsh) == 0, "share 2");
	put("share", "share2", t, strlen(t));
	/* no final newline */
	put("share", "no-final-lf", t, strlen(t) - 1);
	expect(bk_share_parse(t, strlen(t) - 1, gid, &n, gsh) == -EINVAL, "lf");
	/* trailing garbage */
	snprintf(b, sizeof b, "%sx", t);
	put("share", "trailing-byte", b, strlen(b));
	expect(bk_share_parse(b, strlen(b), gid, &n, gsh) == -EINVAL, "trail");
	/* a typo in the share (check no longer matches) */
	snprintf(b, sizeof b, "%s", t);
	b[strstr(b, "share: ") - b + 7] ^= 0x01;  /* 'c'<->'b' in hex */
	put("share", "typo", b, strlen(b));
	expect(bk_share_parse(b, strlen(b), gid, &n, gsh) == -EBADMSG, "typo");
	/* upper-case hex, share 3 of 2, CRLF */
	snprintf(b, sizeof b, "%s", t);
	for (char *p = strstr(b, "share: ") + 7; *p != '\n'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p -= 32;
	put("share", "upper-hex", b, strlen(b));
	expect(bk_share_parse(b, strlen(b), gid, &n, gsh) == -EINVAL, "upper");
	snprintf(b, sizeof b, "%s", t);
	b[strlen("inkan backup share ")] = '3';
	put("share", "share3", b, strlen(b));
	expect(bk_share_parse(b, strlen(b), gid, &n, gsh) == -EINVAL, "3 of 2");
	{
		size_t k = 0;

		for (const char *p = t; *p; p++) {
			if (*p == '\n')
				b[k++] = '\r';
			b[k++] = *p;
		}
		put("share", "crlf", b, k);
		expect(bk_share_parse(b, k, gid, &n, gsh) == -EINVAL, "crlf");
	}
	put("share", "empty", "", 0);
}

/* ---- payloads, archives, restore inputs ---- */

static uint8_t db_img[BK_DB_MIN];
static uint8_t spki[91], wrapped[80], wkek[40], wmac[40];
static Inkan__WrappedKey keys[3];
static Inkan__WrappedKey *kp[3] = { &keys[0], &keys[1], &keys[2] };
static const char head_hex[] =
    "2c4f9ff1a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5cadc";

static void
init_keys(void)
{
	memcpy(db_img, "SQLite format 3", 16);
	memset(spki, 0x30, sizeof spki);
	memset(wrapped, 0x77, sizeof wrapped);
	memset(wkek, 0x66, sizeof wkek);
	memset(wmac, 0x55, sizeof wmac);
	for (int i = 0; i < 3; i++) {
		inkan__wrapped_key__init(&keys[i]);
		keys[i].key_id.data = malloc(BK_ID_LEN);
		memset(keys[i].key_id.data, 0x10 * (i + 1), BK_ID_LEN);
		keys[i].key_id.len = BK_ID_LEN;
		keys[i].key_type = (Inkan__KeyType)(1 + i);
		keys[i].spki.data = spki;
		keys[i].spki.len = sizeof spki;
		keys[i].wrapped.data = wrapped;
		keys[i].wrapped.len = sizeof wrapped;
	}
}

static void
payload_init(Inkan__BackupPayload *p, size_t n)
{
	inkan__backup_payload__init(p);
	p->version = 1;
	p->created_ms = 1795000000000;
	p->audit_seq = 42;
	p->audit_head = (char *)head_hex;
	p->wrapped_kek.data = wkek;
	p->wrapped_kek.len = sizeof wkek;
	p->wrapped_mac_key.data = wmac;
	p->wrapped_mac_key.len = sizeof wmac;
	p->n_keys = n;
	p->keys = kp;
	p->database.data = db_img;
	p->database.len = sizeof db_img;
}

static uint8_t *
pack_payload(const Inkan__BackupPayload *p, size_t *n)
{
	uint8_t *b;

	*n = inkan__backup_payload__get_packed_size(p);
	b = malloc(*n ? *n : 1);
	inkan__backup_payload__pack(p, b);
	return b;
}

/* Put payload p in both corpora: as plaintext and sealed. */
static void
payload(const char *name, const Inkan__BackupPayload *p, bool valid)
{
	uint8_t id[BK_ID_LEN], s1[BK_SHARE_LEN], s2[BK_SHARE_LEN], *b, *a;
	Inkan__BackupPayload *q = NULL;
	size_t n, alen;

	b = pack_payload(p, &n);
	expect((bk_payload_parse(b, n, &q) == 0) == valid, name);
	if (q != NULL)
		inkan__backup_payload__free_unpacked(q, NULL);
	put("payload", name, b, n);
	memset(id, 0xa1, sizeof id);
	memset(s1, FUZZ_BK_SHARE1, sizeof s1);
	memset(s2, FUZZ_BK_SHARE2, sizeof s2);
	expect(bk_archive_seal(id, p->created_ms, s1, s2, b, n, &a, &alen) == 0,
	    "seal");
	put("archive", name, a, alen);
	if (strcmp(name, "valid-2-keys") == 0) {
		/* The archive-only edge cases, from a valid one. */
		put("archive", "header-only", a, BK_HDR_LEN);
		put("archive", "truncated-tag", a, alen - 1);
		a[alen - 1] ^= 0x80;
		put("archive", "bad-tag", a, alen);
		a[alen - 1] ^= 0x80;
		a[30] ^= 0x01;                  /* created_ms: authenticated */
		put("archive", "header-altered", a, alen);
		a[30] ^= 0x01;
		a[7] = '2';
		put("archive", "magic-v2", a, alen);
		memset(s2, FUZZ_BK_SHARE1, sizeof s2);
		free(a);
		expect(bk_archive_seal(id, p->created_ms, s1, s2, b, n, &a,
		    &alen) == 0, "seal");
		put("archive", "other-shares", a, alen);
	}
	free(a);
	free(b);
}

static void
payloads(void)
{
	Inkan__BackupPayload p;
	uint8_t big[BK_WRAPPED_MAX + 1];
	uint8_t save;

	payload_init(&p, 2);
	payload("valid-2-keys", &p, true);
	payload_init(&p, 3);
	payload("valid-3-keys", &p, true);
	payload_init(&p, 0);
	payload("valid-no-keys", &p, true);
	payload_init(&p, 2);
	p.version = 2;
	payload("version-2", &p, false);
	payload_init(&p, 2);
	p.audit_head = "2C4F9FF1A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2F3A4B5CADC";
	payload("head-upper-hex", &p, false);
	payload_init(&p, 2);
	p.audit_head = "2c4f";
	payload("head-short", &p, false);
	payload_init(&p, 2);
	p.database.len = BK_DB_MIN - 1;
	payload("database-short", &p, false);
	payload_init(&p, 2);
	p.wrapped_kek.len = 0;
	payload("kek-empty", &p, false);
	payload_init(&p, 2);
	memset(big, 0x77, sizeof big);
	keys[1].wrapped.data = big;
	keys[1].wrapped.len = sizeof big;
	payload("wrapped-too-long", &p, false);
	keys[1].wrapped.data = wrapped;
	keys[1].wrapped.len = sizeof wrapped;
	keys[1].key_type = INKAN__KEY_TYPE__KEY_NONE;
	payload("key-type-none", &p, false);
	keys[1].key_type = INKAN__KEY_TYPE__KEY_EC_P384;
	/* Same id twice; then out of order. */
	save = keys[1].key_id.data[0];
	memcpy(keys[1].key_id.data, keys[0].key_id.data, BK_ID_LEN);
	payload("duplicate-key-id", &p, false);
	memset(keys[1].key_id.data, 0x01, BK_ID_LEN);
	payload("key-ids-unordered", &p, false);
	memset(keys[1].key_id.data, save, BK_ID_LEN);
	keys[1].key_id.len = 15;
	payload("key-id-15", &p, false);
	keys[1].key_id.len = BK_ID_LEN;
	put("payload", "empty", "", 0);
}

static void
restore_inputs(void)
{
	Inkan__BackupRestoreInput ri;
	uint8_t uk[32], *b;
	size_t n;
	struct { const char *name; int what; } cases[] = {
		{ "valid-3-keys", 0 }, { "valid-no-keys", 1 },
		{ "unwrap-key-31", 2 }, { "kek-65", 3 }, { "duplicate-key-id", 4 },
		{ "key-type-none", 5 }, { "spki-empty", 6 },
	};
	uint8_t kek65[65];

	memset(uk, 0x99, sizeof uk);
	memset(kek65, 0x66, sizeof kek65);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint8_t id0[BK_ID_LEN];

		inkan__backup_restore_input__init(&ri);
		ri.unwrap_key.data = uk;
		ri.unwrap_key.len = sizeof uk;
		ri.wrapped_kek.data = wkek;
		ri.wrapped_kek.len = sizeof wkek;
		ri.wrapped_mac_key.data = wmac;
		ri.wrapped_mac_key.len = sizeof wmac;
		ri.n_keys = cases[c].what == 1 ? 0 : 3;
		ri.keys = kp;
		memcpy(id0, keys[2].key_id.data, BK_ID_LEN);
		switch (cases[c].what) {
		case 2: ri.unwrap_key.len = 31; break;
		case 3: ri.wrapped_kek.data = kek65;
			ri.wrapped_kek.len = sizeof kek65; break;
		case 4: memcpy(keys[2].key_id.data, keys[1].key_id.data,
			    BK_ID_LEN); break;
		case 5: keys[2].key_type = INKAN__KEY_TYPE__KEY_NONE; break;
		case 6: keys[2].spki.len = 0; break;
		}
		n = inkan__backup_restore_input__get_packed_size(&ri);
		b = malloc(n);
		inkan__backup_restore_input__pack(&ri, b);
		put("restore-input", cases[c].name, b, n);
		free(b);
		memcpy(keys[2].key_id.data, id0, BK_ID_LEN);
		keys[2].key_type = INKAN__KEY_TYPE__KEY_RSA_2048;
		keys[2].spki.len = sizeof spki;
	}
	put("restore-input", "empty", "", 0);
}

static void
restore_dbs(void)
{
	Inkan__BackupRestoreDb rd;
	Inkan__BackupRestoreDb *q;
	uint8_t aid[BK_ID_LEN], *b;
	size_t n;
	char *gone[2] = { "430951c301ff38e86b969a7fbb759c1e",
	    "530951c301ff38e86b969a7fbb759c1e" };
	static const char *names[] = { "valid-2-destroyed", "valid-none",
	    "head-short", "head-not-hex", "archive-id-15", "database-short",
	    "cred-id-upper", "cred-id-33", "seq-over-int64" };

	memset(aid, 0xa1, sizeof aid);
	for (int c = 0; c < 9; c++) {
		char bad[40], *badv[2] = { gone[0], bad };

		inkan__backup_restore_db__init(&rd);
		rd.database.data = db_img;
		rd.database.len = sizeof db_img;
		rd.archive_id.data = aid;
		rd.archive_id.len = sizeof aid;
		rd.audit_seq = 42;
		rd.audit_head = (char *)head_hex;
		rd.n_destroyed = c == 1 ? 0 : 2;
		rd.destroyed = gone;
		switch (c) {
		case 2: rd.audit_head = "2c4f"; break;
		case 3: rd.audit_head = "2c4f9ff1a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
			    "e6f7a8b9c0d1e2f3a4b5cadX"; break;
		case 4: rd.archive_id.len = 15; break;
		case 5: rd.database.len = BK_DB_MIN - 1; break;
		case 6: snprintf(bad, sizeof bad, "%s", gone[1]);
			bad[0] = 'A';
			rd.destroyed = badv; break;
		case 7: snprintf(bad, sizeof bad, "%s0", gone[1]);
			rd.destroyed = badv; break;
		case 8: rd.audit_seq = (uint64_t)INT64_MAX + 1; break;
		}
		n = inkan__backup_restore_db__get_packed_size(&rd);
		b = malloc(n);
		inkan__backup_restore_db__pack(&rd, b);
		q = NULL;
		expect((sam_backup_restore_db_parse(b, n, &q) == 0) == (c < 2),
		    names[c]);
		if (q != NULL)
			inkan__backup_restore_db__free_unpacked(q, NULL);
		put("restore-db", names[c], b, n);
		free(b);
	}
	put("restore-db", "empty", "", 0);
}

/* ---- the old audit trail ---- */

struct trail {
	char buf[16384];
	size_t len;
	uint64_t seq;
	char prev[AUDIT_HEX_LEN + 1];
	char head[AUDIT_HEX_LEN + 1];   /* hash of record head_at */
};

/* Append one canonical record (details already "k=v ..." or ""). */
static void
rec(struct trail *t, const char *event, const char *outcome,
    const char *details)
{
	char line[1024], hash[AUDIT_HEX_LEN + 1];
	int n;

	t->seq++;
	n = snprintf(line, sizeof line, "seq=%" PRIu64 " time=2026-11-22T04:20:"
	    "%02u.031Z event=%s actor=component:inkan-sam outcome=%s reason=%s%s"
	    " prev=%s", t->seq, (unsigned)(t->seq % 60), event, outcome,
	    details[0] ? " " : "", details, t->prev);
	audit_sha256_hex(line, (size_t)n, hash);
	t->len += (size_t)snprintf(t->buf + t->len, sizeof t->buf - t->len,
	    "%s hash=%s\n", line, hash);
	memcpy(t->prev, hash, sizeof hash);
}

static int
count(void *arg, const char *id)
{
	(void)id;
	++*(size_t *)arg;
	return 0;
}

/* head line + files; check the scan's verdict (want: found, or -1 refused) */
static void
trail_seed(const char *name, uint64_t head_seq, const char *head_hash,
    const char *const files[], const size_t lens[], int nf, long want)
{
	char out[65536];
	size_t k, found = 0;
	struct bk_trail t;
	int r = 0;

	k = (size_t)snprintf(out, sizeof out, "%" PRIu64 " %s\n", head_seq,
	    head_hash);
	bk_trail_init(&t, head_seq, head_hash, count, &found);
	for (int i = 0; i < nf; i++) {
		if (i > 0)
			out[k++] = FUZZ_BK_FILE_SEP;
		memcpy(out + k, files[i], lens[i]);
		k += lens[i];
		if (r == 0)
			r = bk_trail_feed(&t, name, files[i], lens[i]);
	}
	if (r == 0)
		r = bk_trail_end(&t);
	if (!(want < 0 ? r < 0 : (r == 0 && found == (size_t)want)))
		fprintf(stderr, "%s: r=%d found=%zu: %s\n", name, r, found,
		    t.problem);
	expect(want < 0 ? r < 0 : (r == 0 && found == (size_t)want), name);
	put("trail", name, out, k);
}

static void
trails(void)
{
	static struct trail a;
	const char *cred = "cred=430951c301ff38e86b969a7fbb759c1e";
	const char *cred2 = "cred=530951c301ff38e86b969a7fbb759c1e";
	char head[AUDIT_HEX_LEN + 1], bad[16384];
	const char *f[2];
	size_t l[2], cut, headseq;

	memcpy(a.prev, AUDIT_GENESIS, sizeof a.prev);
	rec(&a, "audit.genesis", "ok", "");
	rec(&a, "key.destroy", "ok", cred2);     /* before the head: ignored */
	rec(&a, "backup.create", "ok", "archive=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1 "
	    "keys=2");
	headseq = a.seq;
	memcpy(head, a.prev, sizeof head);
	cut = a.len;                            /* second file from here */
	rec(&a, "sign", "ok", "cred=430951c301ff38e86b969a7fbb759c1e n=1");
	rec(&a, "key.destroy", "ok", cred);
	rec(&a, "key.destroy", "fail", "cred=630951c301ff38e86b969a7fbb759c1e "
	    "error=CKR_GENERAL_ERROR");
	rec(&a, "key.destroy", "ok", "cred=not-a-credential");
	rec(&a, "key.destroy", "ok", "cred=43%20x");  /* decodes to "43 x" */

	f[0] = a.buf;
	l[0] = a.len;
	trail_seed("one-file", headseq, head, f, l, 1, 2);
	f[1] = a.buf + cut;
	l[0] = cut;
	l[1] = a.len - cut;
	trail_seed("two-files", headseq, head, f, l, 2, 2);
	trail_seed("head-is-genesis-seq0", 0, AUDIT_GENESIS, f, l, 2, 3);
	trail_seed("head-last-record", headseq + 5, a.prev, f, l, 2, 0);
	trail_seed("head-hash-differs", headseq, a.prev, f, l, 2, -1);
	trail_seed("head-after-trail", a.seq + 1, head, f, l, 2, -1);
	/* The trail starts after the head (older files gone). */
	trail_seed("starts-after-head", headseq, head, f + 1, l + 1, 1, -1);
	/* Torn last line: the rest is not read. */
	l[1] = a.len - cut - 10;
	trail_seed("torn-tail", headseq, head, f, l, 2, 2);
	l[1] = a.len - cut;
	/* A record altered: hash mismatch; a record removed: chain break. */
	memcpy(bad, a.buf, a.len);
	*strstr(bad + cut, "outcome=fail") = 'O';
	f[0] = bad;
	l[0] = a.len;
	trail_seed("record-malformed", headseq, head, f, l, 1, -1);
	memcpy(bad, a.buf, a.len);
	memcpy(strstr(bad + cut, "n=1"), "n=2", 3);
	trail_seed("record-altered", headseq, head, f, l, 1, -1);
	{
		const char *second = memchr(a.buf + cut, '\n', a.len - cut) + 1;
		size_t k = cut;

		memcpy(bad, a.buf, cut);
		memcpy(bad + k, second, a.len - (size_t)(second - a.buf));
		k += a.len - (size_t)(second - a.buf);
		l[0] = k;
		trail_seed("record-removed", headseq, head, f, l, 1, -1);
	}
	trail_seed("no-files", headseq, head, f, l, 0, -1);
}

int
main(int argc, char **argv)
{
	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: fuzz-make-backup-seeds CORPUS_DIR\n");
		return 2;
	}
	snprintf(outdir, sizeof outdir, "%s", argv[1]);
	mkdir(outdir, 0755);
	init_keys();
	shares();
	payloads();
	restore_inputs();
	restore_dbs();
	trails();
	return 0;
}
