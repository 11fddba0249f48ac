/* store.c — inkan-sam's SQLite store (WAL, synchronous=FULL, foreign keys,
 * busy timeout, secure_delete). All statements are prepared once at open and
 * reset after every use; nothing is built from strings at run time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store.h"

enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_USER_ADD, ST_USER_BY_NAME, ST_USER_BY_ID, ST_USER_TOTP,
	ST_USER_FAIL, ST_USER_LIST,
	ST_CRED_ADD, ST_CRED_GET, ST_CRED_CERT, ST_CHAIN_CLEAR, ST_CHAIN_ADD,
	ST_CHAIN_GET, ST_CRED_IDS, ST_CRED_LIST,
	ST_TOKEN_ADD, ST_TOKEN_GET, ST_TOKEN_DEL, ST_TOKEN_PURGE,
	ST_SAD_ADD, ST_SAD_GET, ST_SAD_CONSUME, ST_SAD_DEL_TOKEN, ST_SAD_PURGE,
	ST_SADH_ADD, ST_SADH_RESERVE,
	/* issue 3 */
	ST_USER_MAC, ST_CRED_STATUS, ST_CRED_MULTISIGN, ST_SAD_DEL,
	ST_SAD_DEL_CRED, ST_SADH_COMMIT, ST_SADH_RELEASE, ST_SADH_LIST,
	ST_RECOVER_COUNT, ST_RECOVER_HASHES,
	/* redelivery */
	ST_SADH_SIGNED,
	/* issue 7: lifecycle */
	ST_REG_SET, ST_REG_GET, ST_TOKEN_DEL_USER, ST_CRED_EXPIRED,
	ST_COUNT
};

#define USER_COLS "id, name, pw_hash, pin_hash, totp_secret, totp_last_step, " \
	"failures, locked_until, created, mac"
#define CRED_COLS "c.id, c.user_id, c.key_type, c.key_id, c.spki, c.cert, " \
	"c.subject_dn, c.issuer_dn, c.serial_hex, c.not_before, c.not_after, " \
	"c.status, c.multisign, c.mac, c.replaces"
#define CRED_NCOLS 15

static const char *const sql_text[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_USER_ADD] = "INSERT INTO users (name, pw_hash, pin_hash, totp_secret, "
	    "created) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
	[ST_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
	[ST_USER_TOTP] = "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 "
	    "AND totp_last_step < ?2",
	[ST_USER_FAIL] = "UPDATE users SET failures = ?2, locked_until = ?3 "
	    "WHERE id = ?1",
	[ST_USER_LIST] = "SELECT u.name, (SELECT count(*) FROM credentials c "
	    "WHERE c.user_id = u.id), u.created FROM users u ORDER BY u.name",
	[ST_CRED_ADD] = "INSERT INTO credentials (id, user_id, key_type, key_id, "
	    "spki, status, created, mac, replaces) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)",
	[ST_CRED_GET] = "SELECT " CRED_COLS " FROM credentials c WHERE c.id = ?1",
	[ST_CRED_CERT] = "UPDATE credentials SET cert = ?2, subject_dn = ?3, "
	    "issuer_dn = ?4, serial_hex = ?5, not_before = ?6, not_after = ?7, "
	    "status = ?8, mac = ?9 WHERE id = ?1",
	[ST_CHAIN_CLEAR] = "DELETE FROM cred_chain WHERE cred_id = ?1",
	[ST_CHAIN_ADD] = "INSERT INTO cred_chain (cred_id, idx, der) "
	    "VALUES (?1, ?2, ?3)",
	[ST_CHAIN_GET] = "SELECT der FROM cred_chain WHERE cred_id = ?1 "
	    "ORDER BY idx",
	[ST_CRED_IDS] = "SELECT id FROM credentials WHERE user_id = ?1 "
	    "ORDER BY created, id",
	[ST_CRED_LIST] = "SELECT " CRED_COLS ", u.name FROM credentials c "
	    "JOIN users u ON u.id = c.user_id WHERE ?1 IS NULL OR u.name = ?1 "
	    "ORDER BY u.name, c.created, c.id",
	[ST_TOKEN_ADD] = "INSERT INTO tokens (hash, user_id, expires, created, mac) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_TOKEN_GET] = "SELECT t.user_id, t.expires, u.name, t.mac FROM tokens t "
	    "JOIN users u ON u.id = t.user_id WHERE t.hash = ?1",
	[ST_TOKEN_DEL] = "DELETE FROM tokens WHERE hash = ?1",
	[ST_TOKEN_PURGE] = "DELETE FROM tokens WHERE expires <= ?1",
	[ST_SAD_ADD] = "INSERT INTO sads (hash, user_id, cred_id, token_hash, "
	    "hash_alg, remaining, expires, created, mac) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_SAD_GET] = "SELECT user_id, cred_id, token_hash, hash_alg, remaining, "
	    "expires, mac FROM sads WHERE hash = ?1",
	[ST_SAD_CONSUME] = "UPDATE sads SET remaining = remaining - ?2 "
	    "WHERE hash = ?1 AND remaining >= ?2",
	[ST_SAD_DEL_TOKEN] = "DELETE FROM sads WHERE token_hash = ?1",
	[ST_SAD_PURGE] = "DELETE FROM sads WHERE expires < ?1",
	[ST_SADH_ADD] = "INSERT INTO sad_hashes (sad_hash, digest, used) "
	    "VALUES (?1, ?2, 0)",
	[ST_SADH_RESERVE] = "UPDATE sad_hashes SET used = 2, op = ?3 "
	    "WHERE sad_hash = ?1 AND digest = ?2 AND used = 0",
	[ST_USER_MAC] = "UPDATE users SET mac = ?2 WHERE id = ?1",
	[ST_CRED_STATUS] = "UPDATE credentials SET status = ?2, mac = ?3 "
	    "WHERE id = ?1",
	[ST_CRED_MULTISIGN] = "UPDATE credentials SET multisign = ?2, mac = ?3 "
	    "WHERE id = ?1",
	[ST_SAD_DEL] = "DELETE FROM sads WHERE hash = ?1",
	[ST_SAD_DEL_CRED] = "DELETE FROM sads WHERE cred_id = ?1",
	[ST_SADH_COMMIT] = "UPDATE sad_hashes SET used = 1, op = NULL, "
	    "sig = ?4, scheme = ?5 "
	    "WHERE sad_hash = ?1 AND digest = ?2 AND op = ?3 AND used = 2",
	[ST_SADH_RELEASE] = "UPDATE sad_hashes SET used = 0, op = NULL "
	    "WHERE sad_hash = ?1 AND op = ?2 AND used = 2",
	[ST_SADH_LIST] = "SELECT digest, used FROM sad_hashes WHERE sad_hash = ?1",
	[ST_RECOVER_COUNT] = "UPDATE sads SET remaining = remaining + "
	    "(SELECT count(*) FROM sad_hashes h WHERE h.sad_hash = sads.hash "
	    "AND h.used = 2) WHERE hash IN "
	    "(SELECT sad_hash FROM sad_hashes WHERE used = 2)",
	[ST_RECOVER_HASHES] = "UPDATE sad_hashes SET used = 0, op = NULL "
	    "WHERE used = 2",
	[ST_REG_SET] = "INSERT OR REPLACE INTO registrations (user_id, subject, "
	    "idcode_hash, idcode_used, terminated, mac) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_REG_GET] = "SELECT subject, idcode_hash, idcode_used, terminated, mac "
	    "FROM registrations WHERE user_id = ?1",
	[ST_TOKEN_DEL_USER] = "DELETE FROM tokens WHERE user_id = ?1",
	[ST_CRED_EXPIRED] = "SELECT id FROM credentials WHERE status IN (1, 2) "
	    "AND cert IS NOT NULL AND not_after < ?1 ORDER BY id",
	[ST_SADH_SIGNED] = "SELECT sig, scheme FROM sad_hashes "
	    "WHERE sad_hash = ?1 AND digest = ?2 AND used = 1 "
	    "AND sig IS NOT NULL",
};

/* Version 1. Foreign keys cascade so that deleting a user, credential, token
 * or SAD takes everything bound to it along. */
static const char schema_v1[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" pw_hash TEXT NOT NULL,"
	" pin_hash TEXT NOT NULL,"
	" totp_secret BLOB NOT NULL,"
	" totp_last_step INTEGER NOT NULL DEFAULT 0,"
	" failures INTEGER NOT NULL DEFAULT 0,"
	" locked_until INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE credentials ("
	" id TEXT PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" key_type INTEGER NOT NULL,"
	" key_id BLOB NOT NULL UNIQUE,"
	" spki BLOB NOT NULL,"
	" cert BLOB,"
	" subject_dn TEXT, issuer_dn TEXT, serial_hex TEXT,"
	" not_before INTEGER, not_after INTEGER,"
	" status INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX credentials_user ON credentials(user_id);"
	"CREATE TABLE cred_chain ("
	" cred_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" der BLOB NOT NULL,"
	" PRIMARY KEY (cred_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE tokens ("
	" hash BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" expires INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX tokens_expires ON tokens(expires);"
	"CREATE TABLE sads ("
	" hash BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" cred_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,"
	" token_hash BLOB NOT NULL REFERENCES tokens(hash) ON DELETE CASCADE,"
	" hash_alg INTEGER NOT NULL,"
	" remaining INTEGER NOT NULL CHECK (remaining >= 0),"
	" expires INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX sads_token ON sads(token_hash);"
	"CREATE INDEX sads_expires ON sads(expires);"
	"CREATE TABLE sad_hashes ("
	" sad_hash BLOB NOT NULL REFERENCES sads(hash) ON DELETE CASCADE,"
	" digest BLOB NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (sad_hash, digest)) WITHOUT ROWID;"
	"INSERT INTO schema_version (version) VALUES (1);";

/* Version 2 (issue 3): row MACs made with inkan-scm's HSM key (NULL = none:
 * refused when read), a credential's own multisign (0 = the service's), and
 * the reservation id of a digest being signed (used = 2). */
static const char schema_v2[] =
	"ALTER TABLE users ADD COLUMN mac BLOB;"
	"ALTER TABLE credentials ADD COLUMN mac BLOB;"
	"ALTER TABLE credentials ADD COLUMN multisign INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE tokens ADD COLUMN mac BLOB;"
	"ALTER TABLE sads ADD COLUMN mac BLOB;"
	"ALTER TABLE sad_hashes ADD COLUMN op INTEGER;"
	"CREATE INDEX sads_cred ON sads(cred_id);"
	"INSERT INTO schema_version (version) VALUES (2);";

/* Version 3: the signature released for a digest, kept with the SAD so that
 * a signer whose answer was lost on the way (inkan-sic or the network died
 * after the commit) gets the same bytes again, never a second signature;
 * scheme says how it was made (mechanism, hash, salt). Gone with the SAD. */
static const char schema_v3[] =
	"ALTER TABLE sad_hashes ADD COLUMN sig BLOB;"
	"ALTER TABLE sad_hashes ADD COLUMN scheme INTEGER;"
	"INSERT INTO schema_version (version) VALUES (3);";

/* Version 4 (issue 7): the registration of a signer (the certificate
 * subject the operator verified, the CA's one-time identification code,
 * hashed, and termination), MACed like the user row; the credential a
 * renewal replaces (destroyed when the new certificate is registered). */
static const char schema_v4[] =
	"CREATE TABLE registrations ("
	" user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	" subject TEXT NOT NULL,"
	" idcode_hash TEXT,"
	" idcode_used INTEGER NOT NULL DEFAULT 0,"
	" terminated INTEGER NOT NULL DEFAULT 0,"
	" mac BLOB);"
	"ALTER TABLE credentials ADD COLUMN replaces TEXT;"
	"INSERT INTO schema_version (version) VALUES (4);";

struct sam_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

static int db_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT: return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH: return -EACCES;
	case SQLITE_CANTOPEN: return -ENOENT;
	default: return -EIO;
	}
}

/* Borrow a prepared statement: always handed out reset and unbound. */
static sqlite3_stmt *stmt(struct sam_store *st, int which)
{
	sqlite3_stmt *s = st->st[which];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Run a statement that returns no rows; *changes (optional) = rows changed. */
static int run(struct sam_store *st, sqlite3_stmt *s, int *changes)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_err(rc);
	if (changes)
		*changes = sqlite3_changes(st->db);
	return 0;
}

static int bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len)
{
	/* a zero-length blob must still be a blob, not NULL */
	if (len > INT32_MAX)
		return -EOVERFLOW;
	return sqlite3_bind_blob(s, i, len ? p : "", (int)len,
	    SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -ENOMEM;
}

static int bind_text(sqlite3_stmt *s, int i, const char *t)
{
	if (!t)
		return sqlite3_bind_null(s, i) == SQLITE_OK ? 0 : -ENOMEM;
	return sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT) == SQLITE_OK ?
	    0 : -ENOMEM;
}

static int bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(s, i, v) == SQLITE_OK ? 0 : -ENOMEM;
}

static int copy_text(sqlite3_stmt *s, int col, char *out, size_t outlen)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	if (!t || n >= outlen)
		return -EIO;
	memcpy(out, t, n);
	out[n] = '\0';
	return 0;
}

static int dup_text(sqlite3_stmt *s, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*out = NULL;
	if (!t)
		return 0;
	*out = strdup((const char *)t);
	return *out ? 0 : -ENOMEM;
}

static int dup_blob(sqlite3_stmt *s, int col, uint8_t **out, size_t *len)
{
	const void *b = sqlite3_column_blob(s, col);
	int n = sqlite3_column_bytes(s, col);
	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 0;
	*out = malloc(n > 0 ? (size_t)n : 1);
	if (!*out)
		return -ENOMEM;
	if (n > 0)
		memcpy(*out, b, (size_t)n);
	*len = (size_t)n;
	return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_err(rc);
}

int sam_store_schema_version(struct sam_store *st, int *version)
{
	sqlite3_stmt *s;
	int rc;

	*version = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name = 'schema_version'", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(rc);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return db_err(rc);
	}
	int have = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (!have)
		return 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_version",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_err(rc);
}

static int schema_upgrade(struct sam_store *st)
{
	int v, r;

	if ((r = exec(st->db, "BEGIN IMMEDIATE")) < 0)
		return r;
	r = sam_store_schema_version(st, &v);
	if (r == 0 && v > SAM_SCHEMA_VERSION)
		r = -ENOTSUP;          /* written by a newer inkan-sam */
	if (r == 0 && v < 1)
		r = exec(st->db, schema_v1);
	if (r == 0 && v < 2)
		r = exec(st->db, schema_v2);
	if (r == 0 && v < 3)
		r = exec(st->db, schema_v3);
	if (r == 0 && v < 4)
		r = exec(st->db, schema_v4);
	/* later versions: if (v < 5) apply v5 ... in this same transaction */
	if (r == 0)
		r = exec(st->db, "COMMIT");
	if (r < 0)
		exec(st->db, "ROLLBACK");
	return r;
}

int sam_store_open(const char *path, struct sam_store **out)
{
	struct sam_store *st;
	int fd, rc, r;

	*out = NULL;
	/* Create the file ourselves so it (and, by SQLite's rule, its -wal and
	 * -shm files) is never readable by others: it holds TOTP secrets. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	close(fd);

	st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		r = db_err(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	r = exec(st->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA trusted_schema = OFF;");
	if (r < 0)
		goto fail;
	if ((r = schema_upgrade(st)) < 0)
		goto fail;
	/* SQLite does two things lazily that need open(): seeding its PRNG
	 * (/dev/urandom) and, on the first sync of a new WAL file, syncing
	 * the directory. Do both now, before the daemon's sandbox forbids
	 * opening files: the user_version write always produces a WAL frame. */
	{
		unsigned char seed;
		sqlite3_randomness(1, &seed);
	}
	r = exec(st->db, "PRAGMA user_version = " SAM_SCHEMA_VERSION_STR);
	if (r < 0)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, sql_text[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->st[i], NULL);
		if (rc != SQLITE_OK) {
			r = db_err(rc);
			goto fail;
		}
	}
	*out = st;
	return 0;
fail:
	sam_store_close(st);
	return r;
}

void sam_store_close(struct sam_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->st[i]);
	sqlite3_close(st->db);
	free(st);
}

int sam_store_begin(struct sam_store *st)
{
	return run(st, stmt(st, ST_BEGIN), NULL);
}

int sam_store_commit(struct sam_store *st)
{
	int r = run(st, stmt(st, ST_COMMIT), NULL);
	if (r < 0)
		sam_store_rollback(st);
	return r;
}

void sam_store_rollback(struct sam_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		run(st, stmt(st, ST_ROLLBACK), NULL);
}

/* ---- users ---- */

int sam_store_user_add(struct sam_store *st, const char *name,
    const char *pw_hash, const char *pin_hash, const uint8_t *totp,
    size_t totp_len, int64_t created, int64_t *id)
{
	sqlite3_stmt *s = stmt(st, ST_USER_ADD);
	int r;

	if ((r = bind_text(s, 1, name)) < 0 || (r = bind_text(s, 2, pw_hash)) < 0 ||
	    (r = bind_text(s, 3, pin_hash)) < 0 ||
	    (r = bind_blob(s, 4, totp, totp_len)) < 0 ||
	    (r = bind_i64(s, 5, created)) < 0)
		return r;
	if ((r = run(st, s, NULL)) < 0)
		return r;
	if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int user_row(sqlite3_stmt *s, struct sam_user *u)
{
	int rc = sqlite3_step(s), r;
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_err(rc);
	}
	u->id = sqlite3_column_int64(s, 0);
	r = copy_text(s, 1, u->name, sizeof u->name);
	if (!r)
		r = copy_text(s, 2, u->pw_hash, sizeof u->pw_hash);
	if (!r)
		r = copy_text(s, 3, u->pin_hash, sizeof u->pin_hash);
	if (!r) {
		int n = sqlite3_column_bytes(s, 4);
		if (n <= 0 || (size_t)n > sizeof u->totp_secret)
			r = -EIO;
		else {
			memcpy(u->totp_secret, sqlite3_column_blob(s, 4), (size_t)n);
			u->totp_len = (size_t)n;
		}
	}
	u->totp_last_step = sqlite3_column_int64(s, 5);
	u->failures = sqlite3_column_int64(s, 6);
	u->locked_until = sqlite3_column_int64(s, 7);
	u->created = sqlite3_column_int64(s, 8);
	u->has_mac = sqlite3_column_bytes(s, 9) == 32;
	if (u->has_mac)
		memcpy(u->mac, sqlite3_column_blob(s, 9), 32);
	sqlite3_reset(s);
	return r;
}

int sam_store_user_by_name(struct sam_store *st, const char *name,
    struct sam_user *u)
{
	sqlite3_stmt *s = stmt(st, ST_USER_BY_NAME);
	int r = bind_text(s, 1, name);
	return r < 0 ? r : user_row(s, u);
}

int sam_store_user_by_id(struct sam_store *st, int64_t id, struct sam_user *u)
{
	sqlite3_stmt *s = stmt(st, ST_USER_BY_ID);
	int r = bind_i64(s, 1, id);
	return r < 0 ? r : user_row(s, u);
}

int sam_store_user_totp_step(struct sam_store *st, int64_t id, int64_t step)
{
	sqlite3_stmt *s = stmt(st, ST_USER_TOTP);
	int r, n = 0;
	if ((r = bind_i64(s, 1, id)) < 0 || (r = bind_i64(s, 2, step)) < 0)
		return r;
	if ((r = run(st, s, &n)) < 0)
		return r;
	return n == 1 ? 0 : -EALREADY;
}

int sam_store_user_failures(struct sam_store *st, int64_t id,
    int64_t failures, int64_t locked_until)
{
	sqlite3_stmt *s = stmt(st, ST_USER_FAIL);
	int r;
	if ((r = bind_i64(s, 1, id)) < 0 || (r = bind_i64(s, 2, failures)) < 0 ||
	    (r = bind_i64(s, 3, locked_until)) < 0)
		return r;
	return run(st, s, NULL);
}

int sam_store_user_set_mac(struct sam_store *st, int64_t id,
    const uint8_t mac[32])
{
	sqlite3_stmt *s = stmt(st, ST_USER_MAC);
	int r, n = 0;
	if ((r = bind_i64(s, 1, id)) < 0 || (r = bind_blob(s, 2, mac, 32)) < 0)
		return r;
	if ((r = run(st, s, &n)) < 0)
		return r;
	return n == 1 ? 0 : -ENOENT;
}

int sam_store_user_list(struct sam_store *st,
    int (*cb)(void *arg, const char *name, int64_t n_creds, int64_t created),
    void *arg)
{
	sqlite3_stmt *s = stmt(st, ST_USER_LIST);
	int rc, r = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = cb(arg, (const char *)sqlite3_column_text(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
		if (r < 0)
			break;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

/* ---- credentials ---- */

void sam_cred_clear(struct sam_cred *c)
{
	free(c->spki);
	free(c->cert);
	free(c->subject_dn);
	free(c->issuer_dn);
	free(c->serial_hex);
	memset(c, 0, sizeof *c);
}

int sam_store_cred_add(struct sam_store *st, const char *id, int64_t user_id,
    int key_type, const uint8_t *key_id, const uint8_t *spki, size_t spki_len,
    int64_t created, const char *replaces, const uint8_t mac[32])
{
	sqlite3_stmt *s = stmt(st, ST_CRED_ADD);
	int r;
	if ((r = bind_text(s, 1, id)) < 0 || (r = bind_i64(s, 2, user_id)) < 0 ||
	    (r = bind_i64(s, 3, key_type)) < 0 ||
	    (r = bind_blob(s, 4, key_id, SAM_KEY_ID_LEN)) < 0 ||
	    (r = bind_blob(s, 5, spki, spki_len)) < 0 ||
	    (r = bind_i64(s, 6, created)) < 0 ||
	    (r = bind_blob(s, 7, mac, 32)) < 0 ||
	    (r = bind_text(s, 8, replaces && *replaces ? replaces : NULL)) < 0)
		return r;
	return run(st, s, NULL);
}

/* ---- registrations (issue 7) ---- */

int sam_store_reg_set(struct sam_store *st, int64_t user_id,
    const struct sam_reg *g)
{
	sqlite3_stmt *s = stmt(st, ST_REG_SET);
	int r;
	if ((r = bind_i64(s, 1, user_id)) < 0 ||
	    (r = bind_text(s, 2, g->subject)) < 0 ||
	    (r = bind_text(s, 3, g->idcode_hash[0] ? g->idcode_hash : NULL)) < 0 ||
	    (r = bind_i64(s, 4, g->idcode_used)) < 0 ||
	    (r = bind_i64(s, 5, g->terminated)) < 0 ||
	    (r = bind_blob(s, 6, g->mac, 32)) < 0)
		return r;
	return run(st, s, NULL);
}

int sam_store_reg_get(struct sam_store *st, int64_t user_id,
    struct sam_reg *g)
{
	sqlite3_stmt *s = stmt(st, ST_REG_GET);
	int rc, r;

	memset(g, 0, sizeof *g);
	if ((r = bind_i64(s, 1, user_id)) < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		r = copy_text(s, 0, g->subject, sizeof g->subject);
		if (!r && sqlite3_column_type(s, 1) != SQLITE_NULL)
			r = copy_text(s, 1, g->idcode_hash,
			    sizeof g->idcode_hash);
		g->idcode_used = sqlite3_column_int64(s, 2);
		g->terminated = sqlite3_column_int64(s, 3);
		g->has_mac = sqlite3_column_bytes(s, 4) == 32;
		if (g->has_mac)
			memcpy(g->mac, sqlite3_column_blob(s, 4), 32);
	} else
		r = rc == SQLITE_DONE ? -ENOENT : db_err(rc);
	sqlite3_reset(s);
	return r;
}

int sam_store_token_del_user(struct sam_store *st, int64_t user_id)
{
	sqlite3_stmt *s = stmt(st, ST_TOKEN_DEL_USER);
	int r = bind_i64(s, 1, user_id);
	return r < 0 ? r : run(st, s, NULL);
}

/* Runs statement `which` with one integer parameter and hands the text of
 * the first column of every row to cb. */
static int each_id(struct sam_store *st, int which, int64_t arg1,
    int (*cb)(void *arg, const char *id), void *arg)
{
	sqlite3_stmt *s = stmt(st, which);
	int rc, r = bind_i64(s, 1, arg1);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		r = id ? cb(arg, id) : -ENOMEM;
		if (r < 0)
			break;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

int sam_store_cred_expired(struct sam_store *st, int64_t now,
    int (*cb)(void *arg, const char *id), void *arg)
{
	return each_id(st, ST_CRED_EXPIRED, now, cb, arg);
}

/* Columns of CRED_COLS starting at 0. */
static int cred_row(sqlite3_stmt *s, struct sam_cred *c)
{
	uint8_t *kid = NULL;
	size_t kid_len = 0;
	int r;

	memset(c, 0, sizeof *c);
	r = copy_text(s, 0, c->id, sizeof c->id);
	c->user_id = sqlite3_column_int64(s, 1);
	c->key_type = sqlite3_column_int(s, 2);
	if (!r)
		r = dup_blob(s, 3, &kid, &kid_len);
	if (!r && kid_len != SAM_KEY_ID_LEN)
		r = -EIO;
	if (!r)
		memcpy(c->key_id, kid, SAM_KEY_ID_LEN);
	free(kid);
	if (!r)
		r = dup_blob(s, 4, &c->spki, &c->spki_len);
	if (!r)
		r = dup_blob(s, 5, &c->cert, &c->cert_len);
	if (!r)
		r = dup_text(s, 6, &c->subject_dn);
	if (!r)
		r = dup_text(s, 7, &c->issuer_dn);
	if (!r)
		r = dup_text(s, 8, &c->serial_hex);
	c->not_before = sqlite3_column_int64(s, 9);
	c->not_after = sqlite3_column_int64(s, 10);
	c->status = sqlite3_column_int(s, 11);
	{
		int64_t ms = sqlite3_column_int64(s, 12);
		c->multisign = ms < 0 || ms > SAM_HASHES_MAX ? SAM_HASHES_MAX + 1 :
		    (unsigned)ms;   /* out of range: the MAC check refuses it */
	}
	c->has_mac = sqlite3_column_bytes(s, 13) == 32;
	if (c->has_mac)
		memcpy(c->mac, sqlite3_column_blob(s, 13), 32);
	if (!r && sqlite3_column_type(s, 14) != SQLITE_NULL)
		r = copy_text(s, 14, c->replaces, sizeof c->replaces);
	if (r < 0)
		sam_cred_clear(c);
	return r;
}

int sam_store_cred_get(struct sam_store *st, const char *id,
    struct sam_cred *c)
{
	sqlite3_stmt *s = stmt(st, ST_CRED_GET);
	int r, rc;
	if ((r = bind_text(s, 1, id)) < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = cred_row(s, c);
	else
		r = rc == SQLITE_DONE ? -ENOENT : db_err(rc);
	sqlite3_reset(s);
	return r;
}

int sam_store_cred_set_cert(struct sam_store *st, const char *id,
    const uint8_t *cert, size_t cert_len, const char *subject_dn,
    const char *issuer_dn, const char *serial_hex, int64_t not_before,
    int64_t not_after, int status, const uint8_t mac[32])
{
	sqlite3_stmt *s = stmt(st, ST_CRED_CERT);
	int r, n = 0;
	if ((r = bind_text(s, 1, id)) < 0 ||
	    (r = bind_blob(s, 2, cert, cert_len)) < 0 ||
	    (r = bind_text(s, 3, subject_dn)) < 0 ||
	    (r = bind_text(s, 4, issuer_dn)) < 0 ||
	    (r = bind_text(s, 5, serial_hex)) < 0 ||
	    (r = bind_i64(s, 6, not_before)) < 0 ||
	    (r = bind_i64(s, 7, not_after)) < 0 ||
	    (r = bind_i64(s, 8, status)) < 0 ||
	    (r = bind_blob(s, 9, mac, 32)) < 0)
		return r;
	if ((r = run(st, s, &n)) < 0)
		return r;
	return n == 1 ? 0 : -ENOENT;
}

int sam_store_cred_set_status(struct sam_store *st, const char *id,
    int status, const uint8_t mac[32])
{
	sqlite3_stmt *s = stmt(st, ST_CRED_STATUS);
	int r, n = 0;
	if ((r = bind_text(s, 1, id)) < 0 || (r = bind_i64(s, 2, status)) < 0 ||
	    (r = bind_blob(s, 3, mac, 32)) < 0)
		return r;
	if ((r = run(st, s, &n)) < 0)
		return r;
	return n == 1 ? 0 : -ENOENT;
}

int sam_store_cred_set_multisign(struct sam_store *st, const char *id,
    unsigned multisign, const uint8_t mac[32])
{
	sqlite3_stmt *s = stmt(st, ST_CRED_MULTISIGN);
	int r, n = 0;
	if ((r = bind_text(s, 1, id)) < 0 ||
	    (r = bind_i64(s, 2, multisign)) < 0 ||
	    (r = bind_blob(s, 3, mac, 32)) < 0)
		return r;
	if ((r = run(st, s, &n)) < 0)
		return r;
	return n == 1 ? 0 : -ENOENT;
}

int sam_store_chain_clear(struct sam_store *st, const char *id)
{
	sqlite3_stmt *s = stmt(st, ST_CHAIN_CLEAR);
	int r = bind_text(s, 1, id);
	return r < 0 ? r : run(st, s, NULL);
}

int sam_store_chain_add(struct sam_store *st, const char *id, int idx,
    const uint8_t *der, size_t len)
{
	sqlite3_stmt *s = stmt(st, ST_CHAIN_ADD);
	int r;
	if ((r = bind_text(s, 1, id)) < 0 || (r = bind_i64(s, 2, idx)) < 0 ||
	    (r = bind_blob(s, 3, der, len)) < 0)
		return r;
	return run(st, s, NULL);
}

int sam_store_chain_get(struct sam_store *st, const char *id,
    int (*cb)(void *arg, const uint8_t *der, size_t len), void *arg)
{
	sqlite3_stmt *s = stmt(st, ST_CHAIN_GET);
	int rc, r = bind_text(s, 1, id);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = cb(arg, sqlite3_column_blob(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0));
		if (r < 0)
			break;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

int sam_store_cred_ids(struct sam_store *st, int64_t user_id,
    int (*cb)(void *arg, const char *id), void *arg)
{
	return each_id(st, ST_CRED_IDS, user_id, cb, arg);
}

int sam_store_cred_list(struct sam_store *st, const char *username,
    int (*cb)(void *arg, const struct sam_cred *c, const char *username),
    void *arg)
{
	sqlite3_stmt *s = stmt(st, ST_CRED_LIST);
	struct sam_cred c;
	int rc, r = bind_text(s, 1, username);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = cred_row(s, &c)) < 0)
			break;
		r = cb(arg, &c, (const char *)sqlite3_column_text(s, CRED_NCOLS));
		sam_cred_clear(&c);
		if (r < 0)
			break;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

/* ---- tokens ---- */

int sam_store_token_add(struct sam_store *st, const uint8_t hash[32],
    int64_t user_id, int64_t expires, int64_t created, const uint8_t mac[32])
{
	sqlite3_stmt *s = stmt(st, ST_TOKEN_ADD);
	int r;
	if ((r = bind_blob(s, 1, hash, 32)) < 0 || (r = bind_i64(s, 2, user_id)) < 0 ||
	    (r = bind_i64(s, 3, expires)) < 0 || (r = bind_i64(s, 4, created)) < 0 ||
	    (r = bind_blob(s, 5, mac, 32)) < 0)
		return r;
	return run(st, s, NULL);
}

int sam_store_token_get(struct sam_store *st, const uint8_t hash[32],
    struct sam_token_row *t)
{
	sqlite3_stmt *s = stmt(st, ST_TOKEN_GET);
	int rc, r = bind_blob(s, 1, hash, 32);
	if (r < 0)
		return r;
	memset(t, 0, sizeof *t);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		t->user_id = sqlite3_column_int64(s, 0);
		t->expires = sqlite3_column_int64(s, 1);
		r = copy_text(s, 2, t->name, sizeof t->name);
		t->has_mac = sqlite3_column_bytes(s, 3) == 32;
		if (t->has_mac)
			memcpy(t->mac, sqlite3_column_blob(s, 3), 32);
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : db_err(rc);
	}
	sqlite3_reset(s);
	return r;
}

int sam_store_token_del(struct sam_store *st, const uint8_t hash[32])
{
	sqlite3_stmt *s = stmt(st, ST_TOKEN_DEL);
	int r = bind_blob(s, 1, hash, 32);
	return r < 0 ? r : run(st, s, NULL);
}

/* ---- SADs ---- */

int sam_store_sad_add(struct sam_store *st, const uint8_t hash[32],
    const struct sam_sad_row *row, int64_t created)
{
	sqlite3_stmt *s = stmt(st, ST_SAD_ADD);
	int r;
	if ((r = bind_blob(s, 1, hash, 32)) < 0 ||
	    (r = bind_i64(s, 2, row->user_id)) < 0 ||
	    (r = bind_text(s, 3, row->cred_id)) < 0 ||
	    (r = bind_blob(s, 4, row->token_hash, 32)) < 0 ||
	    (r = bind_i64(s, 5, row->hash_alg)) < 0 ||
	    (r = bind_i64(s, 6, row->remaining)) < 0 ||
	    (r = bind_i64(s, 7, row->expires)) < 0 ||
	    (r = bind_i64(s, 8, created)) < 0)
		return r;
	if (!row->has_mac)
		return -EINVAL;
	if ((r = bind_blob(s, 9, row->mac, 32)) < 0)
		return r;
	return run(st, s, NULL);
}

int sam_store_sad_del(struct sam_store *st, const uint8_t hash[32])
{
	sqlite3_stmt *s = stmt(st, ST_SAD_DEL);
	int r = bind_blob(s, 1, hash, 32);
	return r < 0 ? r : run(st, s, NULL);
}

int sam_store_sad_del_by_cred(struct sam_store *st, const char *cred_id)
{
	sqlite3_stmt *s = stmt(st, ST_SAD_DEL_CRED);
	int r = bind_text(s, 1, cred_id);
	return r < 0 ? r : run(st, s, NULL);
}

int sam_store_sad_get(struct sam_store *st, const uint8_t hash[32],
    struct sam_sad_row *row)
{
	sqlite3_stmt *s = stmt(st, ST_SAD_GET);
	int rc, r = bind_blob(s, 1, hash, 32);
	if (r < 0)
		return r;
	memset(row, 0, sizeof *row);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row->user_id = sqlite3_column_int64(s, 0);
		r = copy_text(s, 1, row->cred_id, sizeof row->cred_id);
		if (!r && sqlite3_column_bytes(s, 2) == 32)
			memcpy(row->token_hash, sqlite3_column_blob(s, 2), 32);
		else if (!r)
			r = -EIO;
		row->hash_alg = sqlite3_column_int(s, 3);
		row->remaining = sqlite3_column_int64(s, 4);
		row->expires = sqlite3_column_int64(s, 5);
		row->has_mac = sqlite3_column_bytes(s, 6) == 32;
		if (row->has_mac)
			memcpy(row->mac, sqlite3_column_blob(s, 6), 32);
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : db_err(rc);
	}
	sqlite3_reset(s);
	return r;
}

int sam_store_sad_consume(struct sam_store *st, const uint8_t hash[32],
    int64_t n)
{
	sqlite3_stmt *s = stmt(st, ST_SAD_CONSUME);
	int r, changed = 0;
	if ((r = bind_blob(s, 1, hash, 32)) < 0 || (r = bind_i64(s, 2, n)) < 0)
		return r;
	if ((r = run(st, s, &changed)) < 0)
		return r;
	return changed == 1 ? 0 : -ERANGE;
}

int sam_store_sad_del_by_token(struct sam_store *st, const uint8_t tok[32])
{
	sqlite3_stmt *s = stmt(st, ST_SAD_DEL_TOKEN);
	int r = bind_blob(s, 1, tok, 32);
	return r < 0 ? r : run(st, s, NULL);
}

int sam_store_sad_hash_add(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len)
{
	sqlite3_stmt *s = stmt(st, ST_SADH_ADD);
	int r;
	if ((r = bind_blob(s, 1, sad, 32)) < 0 ||
	    (r = bind_blob(s, 2, digest, len)) < 0)
		return r;
	return run(st, s, NULL);
}

int sam_store_sad_hash_reserve(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len, int64_t op)
{
	sqlite3_stmt *s = stmt(st, ST_SADH_RESERVE);
	int r, n = 0;
	if ((r = bind_blob(s, 1, sad, 32)) < 0 ||
	    (r = bind_blob(s, 2, digest, len)) < 0 ||
	    (r = bind_i64(s, 3, op)) < 0)
		return r;
	if ((r = run(st, s, &n)) < 0)
		return r;
	return n == 1 ? 0 : -ENOENT;
}

static int hash_op(struct sam_store *st, int which, const uint8_t sad[32],
    int64_t op, int *n)
{
	sqlite3_stmt *s = stmt(st, which);
	int r;
	*n = 0;
	if ((r = bind_blob(s, 1, sad, 32)) < 0 || (r = bind_i64(s, 2, op)) < 0)
		return r;
	return run(st, s, n);
}

int sam_store_sad_hash_commit(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len, int64_t op, const uint8_t *sig,
    size_t sig_len, int64_t scheme, int *n)
{
	sqlite3_stmt *s = stmt(st, ST_SADH_COMMIT);
	int r;

	*n = 0;
	if ((r = bind_blob(s, 1, sad, 32)) < 0 ||
	    (r = bind_blob(s, 2, digest, len)) < 0 ||
	    (r = bind_i64(s, 3, op)) < 0 ||
	    (r = bind_blob(s, 4, sig, sig_len)) < 0 ||
	    (r = bind_i64(s, 5, scheme)) < 0)
		return r;
	return run(st, s, n);
}

int sam_store_sad_hash_signed(struct sam_store *st, const uint8_t sad[32],
    const uint8_t *digest, size_t len, int64_t scheme, uint8_t **sig,
    size_t *sig_len)
{
	sqlite3_stmt *s = stmt(st, ST_SADH_SIGNED);
	int rc, r;

	*sig = NULL;
	*sig_len = 0;
	if ((r = bind_blob(s, 1, sad, 32)) < 0 ||
	    (r = bind_blob(s, 2, digest, len)) < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t l = (size_t)sqlite3_column_bytes(s, 0);
		const void *p = sqlite3_column_blob(s, 0);

		if (sqlite3_column_int64(s, 1) != scheme || l == 0 || p == NULL)
			r = -ENOENT;  /* another algorithm: that is a new signature */
		else if ((*sig = malloc(l)) == NULL)
			r = -ENOMEM;
		else {
			memcpy(*sig, p, l);
			*sig_len = l;
		}
	} else
		r = rc == SQLITE_DONE ? -ENOENT : db_err(rc);
	sqlite3_reset(s);
	return r;
}

int sam_store_sad_hash_release(struct sam_store *st, const uint8_t sad[32],
    int64_t op, int *n)
{
	return hash_op(st, ST_SADH_RELEASE, sad, op, n);
}

int sam_store_sad_hashes(struct sam_store *st, const uint8_t sad[32],
    int (*cb)(void *arg, const uint8_t *digest, size_t len, int state),
    void *arg)
{
	sqlite3_stmt *s = stmt(st, ST_SADH_LIST);
	int rc, r = bind_blob(s, 1, sad, 32);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = cb(arg, sqlite3_column_blob(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0), sqlite3_column_int(s, 1));
		if (r < 0)
			break;
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

int sam_store_recover_reserved(struct sam_store *st, int *n)
{
	int r;

	*n = 0;
	if ((r = sam_store_begin(st)) < 0)
		return r;
	if ((r = run(st, stmt(st, ST_RECOVER_COUNT), NULL)) < 0 ||
	    (r = run(st, stmt(st, ST_RECOVER_HASHES), n)) < 0) {
		sam_store_rollback(st);
		return r;
	}
	return sam_store_commit(st);
}

int sam_store_purge(struct sam_store *st, int64_t now, int64_t sad_before)
{
	sqlite3_stmt *s;
	int r;

	if ((r = sam_store_begin(st)) < 0)
		return r;
	s = stmt(st, ST_SAD_PURGE);
	if ((r = bind_i64(s, 1, sad_before)) < 0 || (r = run(st, s, NULL)) < 0)
		goto fail;
	s = stmt(st, ST_TOKEN_PURGE);
	if ((r = bind_i64(s, 1, now)) < 0 || (r = run(st, s, NULL)) < 0)
		goto fail;
	return sam_store_commit(st);
fail:
	sam_store_rollback(st);
	return r;
}
