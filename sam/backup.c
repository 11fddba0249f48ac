/* backup.c — inkan-sam's part of key backup and recovery (see backup.h).
 * SECURITY: a backup is made only for the security officer (PEER_SO, so
 * socket), only with [sam] key_backup = true, and only with its audit
 * record (backup.create) on disk before the first byte is answered. The SO
 * PIN in the request goes to inkan-scm once and is wiped; never logged.
 * The database image is read through a second, read-only SQLite
 * connection inside one read transaction (a consistent snapshot) and never
 * leaves this process unencrypted: the archive is sealed here with a key
 * derived from share1 XOR share2 (backup_archive.h), and the shares leave
 * only in the first answer to the SO (guarded memory, wiped). The archive
 * is kept in memory until its last chunk was fetched or the next backup.
 * Restore: the credentials listed by inkanctl (their keys were destroyed
 * after the backup, so they were not brought back) are marked unusable
 * with fresh row MACs at the start of service, each with a key.destroy
 * record, and a backup.restore record links the new trail to the archived
 * chain head. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit.h"
#include "backup.h"
#include "backup_archive.h"
#include "log.h"
#include "rows.h"
#include "sad.h"
#include "store.h"
#include "util.h"

#define BK_SO_PIN_MAX 64
#define BK_CHUNK (128 * 1024)
#define BK_SCM_TIMEOUT_S 120
#define BK_STDIN_MAX (512u * 1024 * 1024)
/* The state a credential whose key is gone is put in: the key lifecycle's
 * "destroyed" (sam_lc_destroy), which no operator command can undo. */
#define BK_CRED_GONE SAM_CRED_DESTROYED

static struct {
	bool ready;
	uint8_t id[BK_ID_LEN];
	uint8_t *arch;
	size_t len;
} B;

static void bk_drop(void)
{
	free(B.arch);
	memset(&B, 0, sizeof B);
}

/* ---- the database image -------------------------------------------------- */

static int db_image(const char *path, uint8_t **out, size_t *len)
{
	sqlite3 *db = NULL;
	sqlite3_int64 n = 0;
	unsigned char *img = NULL;
	int r = -EIO;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	/* One read transaction: the image is one consistent state. */
	if (sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_master;",
	    NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	img = sqlite3_serialize(db, "main", &n, 0);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (img == NULL || n <= 0)
		goto out;
	if ((*out = malloc((size_t)n)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(*out, img, (size_t)n);
	*len = (size_t)n;
	r = 0;
out:
	if (img != NULL) {
		sodium_memzero(img, (size_t)n);
		sqlite3_free(img);
	}
	sqlite3_close(db);
	return r;
}

/* ---- inkan-scm: its own connection for the backup ------------------------ */

struct bk_scm {
	struct ipc_client c;
	char detail[IPC_DETAIL_MAX];
};

static Inkan__Status scm_wrap(struct bk_scm *s, const Inkan__BackupWrapReq *req,
    Inkan__BackupWrapRep **rep)
{
	ProtobufCMessage *m = NULL;
	Inkan__Status st = INKAN__STATUS__INTERNAL;
	int r;

	r = ipc_call(&s->c, INKAN__MSG_TYPE__CRYPTO_BACKUP_WRAP_REQ, &req->base,
	    INKAN__MSG_TYPE__CRYPTO_BACKUP_WRAP_REP,
	    &inkan__backup_wrap_rep__descriptor, &m, &st, s->detail,
	    sizeof s->detail);
	if (r < 0) {
		snprintf(s->detail, sizeof s->detail, "inkan-scm: %s",
		    strerror(-r));
		return INKAN__STATUS__UNAVAILABLE;
	}
	*rep = (Inkan__BackupWrapRep *)m;
	return st;
}

/* Every key, page by page, into payload (which takes ownership). */
static Inkan__Status gather(struct sam_app *app, const ProtobufCBinaryData *pin,
    Inkan__BackupPayload *p, Inkan__BackupWrapRep ***pages, size_t *npages,
    uint8_t s1[32], uint8_t s2[32], char *why, size_t whylen)
{
	Inkan__BackupWrapReq req = INKAN__BACKUP_WRAP_REQ__INIT;
	Inkan__BackupWrapRep *rep = NULL;
	struct bk_scm s;
	struct timeval tv = { .tv_sec = BK_SCM_TIMEOUT_S };
	Inkan__Status st;
	uint8_t after[SAM_KEY_ID_LEN];
	int fd;

	memset(&s, 0, sizeof s);
	fd = ipc_connect(app->cfg.scm_socket);
	if (fd < 0) {
		snprintf(why, whylen, "cannot reach inkan-scm: %s",
		    strerror(-fd));
		return INKAN__STATUS__UNAVAILABLE;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	s.c.fd = fd;
	s.c.next_id = 1;
	req.has_so_pin = true;
	req.so_pin = *pin;
	for (;;) {
		Inkan__BackupWrapRep **np;

		rep = NULL;
		st = scm_wrap(&s, &req, &rep);
		if (st != INKAN__STATUS__OK) {
			snprintf(why, whylen, "%s", s.detail[0] ? s.detail :
			    sam_status_name(st));
			goto out;
		}
		np = realloc(*pages, (*npages + 1) * sizeof *np);
		if (np == NULL) {
			protobuf_c_message_free_unpacked(&rep->base, NULL);
			st = INKAN__STATUS__INTERNAL;
			goto out;
		}
		*pages = np;
		np[(*npages)++] = rep;
		if (req.has_so_pin) {
			if (!rep->has_share1 || rep->share1.len != 32 ||
			    !rep->has_share2 || rep->share2.len != 32 ||
			    !rep->has_wrapped_kek || rep->wrapped_kek.len == 0 ||
			    rep->wrapped_kek.len > BK_WRAPPED_KEK_MAX ||
			    !rep->has_wrapped_mac_key ||
			    rep->wrapped_mac_key.len == 0 ||
			    rep->wrapped_mac_key.len > BK_WRAPPED_MAX) {
				snprintf(why, whylen, "inkan-scm answered an "
				    "incomplete first page");
				st = INKAN__STATUS__INTERNAL;
				goto out;
			}
			memcpy(s1, rep->share1.data, 32);
			memcpy(s2, rep->share2.data, 32);
			sodium_memzero(rep->share1.data, 32);
			sodium_memzero(rep->share2.data, 32);
			p->wrapped_kek = rep->wrapped_kek;
			p->wrapped_mac_key = rep->wrapped_mac_key;
		}
		for (size_t i = 0; i < rep->n_keys; i++) {
			Inkan__WrappedKey **nk;

			/* The checks a restore applies (bk_payload_parse),
			 * key type included: no archive is made that could
			 * not be restored. */
			if (!bk_wrapped_key_ok(rep->keys[i]) || (p->n_keys > 0 &&
			    memcmp(rep->keys[i]->key_id.data, after,
			    SAM_KEY_ID_LEN) <= 0) ||
			    (req.has_after_key_id && memcmp(
			    rep->keys[i]->key_id.data, after,
			    SAM_KEY_ID_LEN) <= 0)) {
				snprintf(why, whylen, "inkan-scm answered a "
				    "malformed or unordered key");
				st = INKAN__STATUS__INTERNAL;
				goto out;
			}
			nk = realloc(p->keys, (p->n_keys + 1) * sizeof *nk);
			if (nk == NULL) {
				st = INKAN__STATUS__INTERNAL;
				goto out;
			}
			p->keys = nk;
			nk[p->n_keys++] = rep->keys[i];
			memcpy(after, rep->keys[i]->key_id.data, SAM_KEY_ID_LEN);
		}
		if (!rep->more)
			break;
		if (rep->n_keys == 0) {
			snprintf(why, whylen, "inkan-scm: an empty page with more");
			st = INKAN__STATUS__INTERNAL;
			goto out;
		}
		req.has_so_pin = false;
		req.so_pin.data = NULL;
		req.so_pin.len = 0;
		req.has_after_key_id = true;
		req.after_key_id.data = after;
		req.after_key_id.len = SAM_KEY_ID_LEN;
	}
	st = INKAN__STATUS__OK;
out:
	if (st != INKAN__STATUS__OK) {
		Inkan__BackupWrapReq fin = INKAN__BACKUP_WRAP_REQ__INIT;
		Inkan__BackupWrapRep *r2 = NULL;

		fin.has_finish = fin.finish = true;
		if (scm_wrap(&s, &fin, &r2) == INKAN__STATUS__OK && r2)
			protobuf_c_message_free_unpacked(&r2->base, NULL);
	}
	close(fd);
	return st;
}

Inkan__Status sam_answer_backup_create(struct srv_ctx *c,
    const ProtobufCMessage *m)
{
	struct sam_app *app = c->app;
	const Inkan__BackupCreateReq *req = (const Inkan__BackupCreateReq *)m;
	Inkan__BackupCreateRep rep = INKAN__BACKUP_CREATE_REP__INIT;
	Inkan__BackupPayload p = INKAN__BACKUP_PAYLOAD__INIT;
	Inkan__BackupWrapRep **pages = NULL;
	char actor[AUDIT_ACTOR_MAX], idhex[2 * BK_ID_LEN + 1], why[256] = "";
	char head[65], seqtxt[24], keystxt[16];
	uint8_t *s = NULL, *img = NULL, *plain = NULL;
	size_t npages = 0, img_len = 0, plen = 0;
	uint64_t seq = 0;
	Inkan__Status st;

	if (req->has_archive_id || req->has_offset) {
		/* A later chunk of the archive made last. */
		if (req->has_so_pin || !req->has_archive_id ||
		    !req->has_offset || req->archive_id.len != BK_ID_LEN) {
			if (req->has_so_pin)
				sam_wipe_bin(&req->so_pin);
			srv_detail(c, "a chunk request has archive_id and offset only");
			return INKAN__STATUS__INVALID_REQUEST;
		}
		if (!B.ready || sodium_memcmp(B.id, req->archive_id.data,
		    BK_ID_LEN) != 0 || req->offset >= B.len) {
			srv_detail(c, "no such archive, or offset past its end");
			return INKAN__STATUS__NOT_FOUND;
		}
		rep.archive_id.data = B.id;
		rep.archive_id.len = BK_ID_LEN;
		rep.total = B.len;
		rep.offset = req->offset;
		rep.chunk.data = B.arch + req->offset;
		rep.chunk.len = B.len - req->offset > BK_CHUNK ? BK_CHUNK :
		    B.len - (size_t)req->offset;
		srv_reply(c, &rep.base);
		if (req->offset + rep.chunk.len == B.len)
			bk_drop();      /* all of it fetched */
		return INKAN__STATUS__OK;
	}
	if (!req->has_so_pin || req->so_pin.len < 1 ||
	    req->so_pin.len > BK_SO_PIN_MAX) {
		if (req->has_so_pin)
			sam_wipe_bin(&req->so_pin);
		srv_detail(c, "so_pin must be 1..64 bytes");
		return INKAN__STATUS__INVALID_REQUEST;
	}
	if (!app->cfg.key_backup) {
		sam_wipe_bin(&req->so_pin);
		srv_detail(c, "key backup is disabled ([sam] key_backup)");
		return INKAN__STATUS__DENIED;
	}
	if (!audit_ready()) {
		sam_wipe_bin(&req->so_pin);
		return INKAN__STATUS__AUDIT_UNAVAILABLE;
	}
	bk_drop();
	/* The chain head the archive covers: everything recorded so far. */
	(void)audit_flush(NULL);
	audit_head(&seq, head);
	st = INKAN__STATUS__INTERNAL;
	if (db_image(app->cfg.database, &img, &img_len) < 0) {
		snprintf(why, sizeof why, "cannot read the database image");
		goto out;
	}
	if ((s = sodium_malloc(64)) == NULL)
		goto out;
	st = gather(app, &req->so_pin, &p, &pages, &npages, s, s + 32, why,
	    sizeof why);
	sam_wipe_bin(&req->so_pin);
	if (st != INKAN__STATUS__OK)
		goto out;
	p.version = 1;
	p.created_ms = now_ms();
	p.audit_seq = seq;
	p.audit_head = head;
	p.database.data = img;
	p.database.len = img_len;
	st = INKAN__STATUS__INTERNAL;
	plen = inkan__backup_payload__get_packed_size(&p);
	if ((plain = malloc(plen)) == NULL)
		goto out;
	inkan__backup_payload__pack(&p, plain);
	randombytes_buf(B.id, BK_ID_LEN);
	if (bk_archive_seal(B.id, p.created_ms, s, s + 32, plain, plen,
	    &B.arch, &B.len) < 0)
		goto out;
	B.ready = true;
	sodium_bin2hex(idhex, sizeof idhex, B.id, BK_ID_LEN);
	snprintf(seqtxt, sizeof seqtxt, "%" PRIu64, seq);
	snprintf(keystxt, sizeof keystxt, "%zu", p.n_keys);
	audit_record("backup.create", audit_actor_peer(actor, c), true, NULL,
	    "archive", idhex, "keys", keystxt, "audit_seq", seqtxt,
	    "audit_head", head, NULL);
	log_warn("so: backup %s made for the security officer (peer uid %u): "
	    "%zu signer key(s), database %zu bytes, chain head %" PRIu64,
	    idhex, (unsigned)c->cred.uid, p.n_keys, img_len, seq);
	rep.archive_id.data = B.id;
	rep.archive_id.len = BK_ID_LEN;
	rep.total = B.len;
	rep.offset = 0;
	rep.chunk.data = B.arch;
	rep.chunk.len = B.len > BK_CHUNK ? BK_CHUNK : B.len;
	rep.has_share1 = rep.has_share2 = true;
	rep.share1.data = s;
	rep.share1.len = 32;
	rep.share2.data = s + 32;
	rep.share2.len = 32;
	rep.has_keys = true;
	rep.keys = (uint32_t)p.n_keys;
	rep.has_audit_seq = true;
	rep.audit_seq = seq;
	rep.audit_head = head;
	/* Held until backup.create is on disk; the copy is guarded memory. */
	st = audit_reply_secret(c, &rep.base) < 0 ? INKAN__STATUS__INTERNAL :
	    INKAN__STATUS__OK;
	if (rep.chunk.len == B.len && st == INKAN__STATUS__OK)
		bk_drop();
out:
	if (st != INKAN__STATUS__OK) {
		bk_drop();
		audit_record("backup.create", audit_actor_peer(actor, c), false,
		    sam_status_name(st), NULL);
		log_warn("so: backup failed: %s%s%s", sam_status_name(st),
		    why[0] ? ": " : "", why);
		if (why[0])
			srv_detail(c, "%s", why);
	}
	if (s != NULL)
		sodium_free(s);
	if (plain != NULL) {
		sodium_memzero(plain, plen);
		free(plain);
	}
	if (img != NULL) {
		sodium_memzero(img, img_len);
		free(img);
	}
	free(p.keys);
	for (size_t i = 0; i < npages; i++)
		protobuf_c_message_free_unpacked(&pages[i]->base, NULL);
	free(pages);
	return st;
}

/* ---- after a restore: at the start of service ----------------------------- */

static int mark_gone(struct sam_app *app, const char *id)
{
	struct sam_store *store = app->core.store;
	struct sam_cred cred, upd;
	struct sam_macb b;
	uint8_t d[32], mac[SAM_MAC_LEN];
	char what[80];
	Inkan__Status st;
	int r = -EIO;

	memset(&cred, 0, sizeof cred);
	if (!sam_cred_id_ok(id))
		return -EINVAL;
	if (sam_store_cred_get(store, id, &cred) < 0)
		return -ENOENT;         /* made after the backup: not in it */
	sam_row_cred(&cred, d);
	sam_rows_what_cred(cred.id, what);
	sam_macb_init(&b);
	sam_macb_check(&b, d, cred.has_mac ? cred.mac : NULL, what);
	sam_notes_begin(app);
	st = sam_macb_run(&app->core, &b);
	if (st == INKAN__STATUS__OK) {
		upd = cred;
		upd.status = BK_CRED_GONE;
		st = sam_rows_cred_remac(&app->core, &cred, &upd, mac);
	}
	sam_notes_end(app, "restore", "-");
	if (st != INKAN__STATUS__OK)
		goto out;
	if (sam_store_begin(store) < 0)
		goto out;
	if (sam_store_cred_set_status(store, cred.id, BK_CRED_GONE, mac) < 0 ||
	    sam_store_sad_del_by_cred(store, cred.id) < 0) {
		sam_store_rollback(store);
		goto out;
	}
	if (sam_store_commit(store) < 0)
		goto out;
	r = 0;
out:
	sam_cred_clear(&cred);
	return r;
}

int sam_backup_resume(struct sam_app *app)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char archive[2 * BK_ID_LEN + 1] = "", head[65] = "", seq[24] = "";
	char **ids = NULL, n_txt[16];
	const char *t;
	size_t n = 0;
	int r = 0, have = 0;

	if (sqlite3_open_v2(app->cfg.database, &db, SQLITE_OPEN_READWRITE,
	    NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "SELECT archive_id, audit_seq, audit_head "
	    "FROM backup_restore_meta", -1, &q, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return 0;       /* no restore pending */
	}
	if (sqlite3_step(q) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(q, 0);
		const char *h = (const char *)sqlite3_column_text(q, 2);

		/* Written by --restore-db; checked again before it reaches
		 * the audit trail and the log. */
		if (!bk_hex_ok(a, 2 * BK_ID_LEN) || !bk_hex_ok(h, 64)) {
			log_err("restore: the pending restore's record is "
			    "malformed");
			sqlite3_finalize(q);
			sqlite3_close(db);
			return -EINVAL;
		}
		memcpy(archive, a, sizeof archive);
		memcpy(head, h, sizeof head);
		snprintf(seq, sizeof seq, "%lld",
		    (long long)sqlite3_column_int64(q, 1));
		have = 1;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, "SELECT cred_id FROM backup_restore_gone "
	    "ORDER BY cred_id", -1, &q, NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		char **ni = realloc(ids, (n + 1) * sizeof *ids);

		if (ni == NULL) {
			r = -ENOMEM;
			goto out;
		}
		ids = ni;
		t = (const char *)sqlite3_column_text(q, 0);
		ids[n++] = strdup(t != NULL ? t : "");
	}
	sqlite3_finalize(q);
	q = NULL;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == NULL) {
			r = -ENOMEM;
			goto out;
		}
		r = mark_gone(app, ids[i]);
		if (r == -ENOENT || r == -EINVAL) {
			r = 0;
			continue;
		}
		if (r < 0) {
			log_err("restore: cannot mark credential %s unusable "
			    "(is inkan-scm up, with the restored MAC key?)",
			    ids[i]);
			goto out;
		}
		log_warn("restore: credential %s stays unusable: its key was "
		    "destroyed after the backup and was not brought back", ids[i]);
		audit_record("key.destroy", AUDIT_ACTOR_SAM, true,
		    "destroyed_after_backup", "cred", ids[i], "archive",
		    archive, NULL);
	}
	if (have) {
		snprintf(n_txt, sizeof n_txt, "%zu", n);
		audit_record("backup.restore", AUDIT_ACTOR_SAM, true, NULL,
		    "archive", archive, "archive_audit_seq", seq,
		    "archive_audit_head", head, "destroyed", n_txt, NULL);
		log_warn("restore: serving a database restored from backup %s "
		    "(archived chain head %s at seq %s); %zu credential(s) "
		    "kept unusable", archive, head, seq, n);
	}
	if (audit_flush(NULL) < 0) {
		r = -EIO;
		goto out;
	}
	if (sqlite3_exec(db, "DROP TABLE backup_restore_gone; "
	    "DROP TABLE backup_restore_meta;", NULL, NULL, NULL) != SQLITE_OK)
		r = -EIO;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return r;
}

/* ---- inkan-sam --restore-db ------------------------------------------------ */

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_err("restore-db: %s", err ? err : "sqlite error");
		sqlite3_free(err);
		return -EIO;
	}
	return 0;
}

int sam_backup_restore_db_parse(const uint8_t *data, size_t len,
    Inkan__BackupRestoreDb **out)
{
	Inkan__BackupRestoreDb *in;

	*out = NULL;
	in = inkan__backup_restore_db__unpack(NULL, len, data);
	if (in == NULL)
		return -EINVAL;
	if (in->archive_id.len != BK_ID_LEN || in->database.len < BK_DB_MIN ||
	    !bk_hex_ok(in->audit_head, 64) || in->audit_seq > INT64_MAX)
		goto bad;
	for (size_t i = 0; i < in->n_destroyed; i++)
		if (!sam_cred_id_ok(in->destroyed[i]))
			goto bad;
	*out = in;
	return 0;
bad:
	inkan__backup_restore_db__free_unpacked(in, NULL);
	return -EINVAL;
}

/* All of it, or -errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int sam_backup_restore_db(struct sam_app *app)
{
	const char *dbp = app->cfg.database;
	Inkan__BackupRestoreDb *in = NULL;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	char *tmp = NULL, *side = NULL, archive[2 * BK_ID_LEN + 1];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	struct stat st;
	int fd = -1, ret = 1, r;

	/* As the owner of the database (the service user). */
	if (stat(dbp, &st) < 0) {
		log_err("restore-db: %s: %s (run inkanctl init first)", dbp,
		    strerror(errno));
		return 1;
	}
	if (geteuid() == 0 && st.st_uid != 0 &&
	    (setgroups(0, NULL) < 0 || setresgid(st.st_gid, st.st_gid,
	    st.st_gid) < 0 || setresuid(st.st_uid, st.st_uid, st.st_uid) < 0)) {
		log_err("restore-db: cannot become uid %u: %s",
		    (unsigned)st.st_uid, strerror(errno));
		return 1;
	}
	if ((r = read_fd_wiped(0, BK_STDIN_MAX, &raw, &raw_len)) < 0) {
		log_err("restore-db: reading the input: %s", strerror(-r));
		return 1;
	}
	if (sam_backup_restore_db_parse(raw, raw_len, &in) < 0) {
		log_err("restore-db: the input is malformed");
		goto out;
	}
	if (asprintf(&tmp, "%s.restore", dbp) < 0) {
		tmp = NULL;
		goto out;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		r = -errno;
	else if ((r = write_all(fd, in->database.data, in->database.len)) == 0
	    && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		log_err("restore-db: writing %s: %s", tmp, strerror(-r));
		goto out;
	}
	close(fd);
	fd = -1;
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) !=
	    SQLITE_OK || sqlite3_step(q) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
		log_err("restore-db: the archived database fails its integrity "
		    "check");
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	sodium_bin2hex(archive, sizeof archive, in->archive_id.data, BK_ID_LEN);
	/* Access tokens and SADs of before the backup are not carried over;
	 * the credentials to keep unusable and the link to the archived chain
	 * head are left for the SAM's first start (sam_backup_resume). */
	if (exec_sql(db, "BEGIN IMMEDIATE; DELETE FROM sad_hashes; "
	    "DELETE FROM sads; DELETE FROM tokens; "
	    "CREATE TABLE backup_restore_gone (cred_id TEXT PRIMARY KEY); "
	    "CREATE TABLE backup_restore_meta (archive_id TEXT NOT NULL, "
	    "audit_seq INTEGER NOT NULL, audit_head TEXT NOT NULL);") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO backup_restore_meta VALUES "
	    "(?1, ?2, ?3)", -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, archive, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)in->audit_seq);
	sqlite3_bind_text(q, 3, in->audit_head, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO backup_restore_gone "
	    "VALUES (?1)", -1, &q, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < in->n_destroyed; i++) {
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, in->destroyed[i], -1, SQLITE_TRANSIENT);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (exec_sql(db, "COMMIT; PRAGMA journal_mode = WAL;") < 0)
		goto out;
	sqlite3_close(db);
	db = NULL;
	/* The fresh database's side files belong to the old content. */
	if (asprintf(&side, "%s-wal", dbp) < 0) {
		side = NULL;
		goto out;
	}
	unlink(side);
	free(side);
	if (asprintf(&side, "%s-shm", dbp) < 0) {
		side = NULL;
		goto out;
	}
	unlink(side);
	if (rename(tmp, dbp) < 0) {
		log_err("restore-db: rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	log_info("database %s restored from backup %s (%zu credential(s) to "
	    "keep unusable)", dbp, archive, in->n_destroyed);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	sqlite3_finalize(q);
	sqlite3_close(db);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(side);
	if (in != NULL)
		inkan__backup_restore_db__free_unpacked(in, NULL);
	if (raw != NULL) {
		sodium_memzero(raw, raw_len);
		free(raw);
	}
	return ret;
}
