/* main.c — inkan-scm, the Signature Creation Module (crypto module): key pair
 * generation inside the HSM, digest signing, CSR proof of possession and key
 * destruction, on behalf of inkan-sam only.
 *
 * SECURITY: the only inkan process that loads a PKCS#11 module and holds the
 * token's logged-in user session. It obeys only the SAM: one listener whose
 * peers must carry sam_uid (SO_PEERCRED), every message type limited to
 * PEER_SAM, every field re-checked for exact size here (key_id 16 bytes,
 * 1..INKAN_MAX_HASHES digests of exactly the hash length, CSR <= 16 KiB)
 * even though the SAM checked them. It never returns private key material: private keys are
 * generated SENSITIVE and never extractable (or, with key_backup, wrappable
 * only by a trusted KEK); answers are public keys, signatures and CSRs for
 * the key's own public key. Its own audit key (issue 5, scm/audit_key.c)
 * signs only checkpoint statements built here from (seq, head); no request
 * can name it and it can sign nothing else. Key backup (issue 7 item 5,
 * scm/backup_srv.c, only with key_backup): keys leave only wrapped by a
 * trusted session KEK made under the SO PIN the SAM passes on, the KEK only
 * wrapped by two shares' XOR. It reads the token PIN once at start-up,
 * keeps it in sodium_malloc'd memory and wipes it right after C_Login
 * (with key_backup it keeps it for the user login that follows a backup's
 * SO login). A sign request's digests are shared out over [scm]
 * sign_threads worker threads (scm/pool.c), each on its own session of the
 * same login, started before the seccomp filter; the request loop itself
 * stays one thread and waits for the batch. It may not: use
 * the network, exec or fork, read PINs after init, or log key material, PINs
 * or digests (seccomp policy: policy/seccomp-scm.c). If the token session is
 * lost it stops (fail closed) rather than serving without it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "inkan-config.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "pkcs11.h"
#include "mac.h"
#include "audit_key.h"
#include "backup.h"       /* issue 7 item 5 */
#include "backup_srv.h"
#include "pool.h"

#define SCM_KEY_ID_LEN P11_KEY_ID_LEN
#define SCM_MAX_DIGESTS INKAN_MAX_HASHES    /* 256: fits one frame */
#define SCM_CSR_MAX (16 * 1024)
#define SCM_PIN_MAX 256
#define SCM_SIGN_THREADS_DEFAULT 2

struct scm {
	/* config */
	char *socket;
	unsigned sam_uid;
	bool have_sam_uid;
	char *module;
	char *softhsm_conf;
	char *token_label;
	char *token_serial;
	char *pin_file;
	int key_backup;
	unsigned sign_threads;      /* 1: the request loop signs alone */
	/* state */
	int fd;
	volatile int *stop;
	bool lost;              /* token session gone: exit non-zero */
	struct p11_token tok;
	CK_OBJECT_HANDLE mac_key;   /* issue 3: row-integrity HMAC key */
	struct scm_audit_key audit_key;   /* issue 5: checkpoint signing key */
	bool have_audit_key;
	struct scm_bk_env bk;       /* issue 7 item 5: key backup */
	struct scm_pool *pool;      /* signing threads (scm/pool.c) */
};

static struct scm scm = { .fd = -1, .sign_threads = SCM_SIGN_THREADS_DEFAULT };

/* ---- configuration ----------------------------------------------------- */

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = cfg_strdup(v);
}

static int scm_config_key(void *app, const char *key, const char *value)
{
	struct scm *s = app;

	if (strcmp(key, "socket") == 0) {
		if (value[0] != '/')
			return -EINVAL;
		set_str(&s->socket, value);
	} else if (strcmp(key, "sam_uid") == 0) {
		if (cfg_uid(value, &s->sam_uid) < 0)
			return -EINVAL;
		s->have_sam_uid = true;
	} else if (strcmp(key, "pkcs11_module") == 0) {
		if (value[0] == '\0')
			return -EINVAL;
		set_str(&s->module, value);
	} else if (strcmp(key, "softhsm2_conf") == 0) {
		if (value[0] == '\0')
			return -EINVAL;
		set_str(&s->softhsm_conf, value);
	} else if (strcmp(key, "token_label") == 0) {
		if (value[0] == '\0' || strlen(value) > 32)
			return -EINVAL;
		set_str(&s->token_label, value);
	} else if (strcmp(key, "token_serial") == 0) {
		if (value[0] == '\0' || strlen(value) > 16)
			return -EINVAL;
		set_str(&s->token_serial, value);
	} else if (strcmp(key, "pin_file") == 0) {
		if (value[0] == '\0')
			return -EINVAL;
		set_str(&s->pin_file, value);
	} else if (strcmp(key, "pin_credential") == 0) {
		/* issue 6: systemd LoadCredential=NAME:... */
		char *path;

		if (daemon_credential_path(value, &path) < 0)
			return -EINVAL;
		free(s->pin_file);
		s->pin_file = path;
	} else if (strcmp(key, "key_backup") == 0) {
		if (cfg_bool(value, &s->key_backup) < 0)
			return -EINVAL;
	} else if (strcmp(key, "sign_threads") == 0) {
		unsigned long n;

		if (cfg_uint(value, 1, SCM_POOL_MAX_THREADS, &n) < 0) {
			log_err("config [scm] sign_threads: \"%s\" is not a "
			    "number of threads from 1 to %d", value,
			    SCM_POOL_MAX_THREADS);
			return -EINVAL;
		}
		s->sign_threads = (unsigned)n;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int scm_config_done(void *app)
{
	struct scm *s = app;

	if (s->socket == NULL) {
		log_err("config [scm]: 'socket' is required");
		return -EINVAL;
	}
	if (s->pin_file == NULL) {
		log_err("config [scm]: 'pin_file' or 'pin_credential' is "
		    "required");
		return -EINVAL;
	}
	if ((s->token_label == NULL) == (s->token_serial == NULL)) {
		log_err("config [scm]: set exactly one of 'token_label' and "
		    "'token_serial'");
		return -EINVAL;
	}
	if (s->module == NULL)
		s->module = cfg_strdup(INKAN_SOFTHSM_MODULE);
	if (!s->have_sam_uid)
		s->sam_uid = (unsigned)getuid();
	return 0;
}

/* ---- start-up ---------------------------------------------------------- */

/* Read a PIN file into sodium_malloc'd memory; the bounce buffer of
 * read_small_file is wiped at once. */
static int read_pin(const char *path, char **pin, size_t *len)
{
	struct stat st;
	char *raw = NULL;
	size_t n = 0;
	int r;

	r = read_small_file(path, SCM_PIN_MAX, &raw, &n);
	if (r < 0)
		return r;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (st.st_mode & 0077) != 0)
		log_warn("PIN file %s is accessible to group or others "
		    "(mode %03o)", path, (unsigned)(st.st_mode & 0777));
	if (n == 0) {
		free(raw);
		return -ENODATA;
	}
	*pin = sodium_malloc(n + 1);
	if (*pin == NULL) {
		sodium_memzero(raw, n);
		free(raw);
		return -ENOMEM;
	}
	memcpy(*pin, raw, n + 1);
	sodium_memzero(raw, n + 1);
	free(raw);
	*len = n;
	return 0;
}

static void p11_log_failure(const char *what, int rc)
{
	char buf[320];

	if (rc == -EIO || rc == P11_BAD_SETUP || rc == P11_TOKEN_NOT_FOUND ||
	    rc == P11_TOKEN_EXISTS || rc == P11_NO_FREE_SLOT ||
	    scm.tok.err[0] != '\0')
		log_err("%s: %s", what, p11_describe(&scm.tok, buf, sizeof buf));
	else
		log_err("%s: %s", what, p11_strerror(rc));
}

static int scm_init(void *app)
{
	struct scm *s = app;
	char *pin = NULL;
	size_t pin_len = 0;
	int r;

	if (s->softhsm_conf != NULL && setenv("SOFTHSM2_CONF",
	    s->softhsm_conf, 1) < 0)
		return -errno;
	r = read_pin(s->pin_file, &pin, &pin_len);
	if (r < 0) {
		log_err("cannot read PIN file %s: %s", s->pin_file,
		    r == -ENODATA ? "empty" : strerror(-r));
		return r;
	}
	r = p11_open(&s->tok, s->module, s->token_label, s->token_serial, pin,
	    pin_len);
	/* issue 7 item 5: with key_backup the PIN is kept (sodium_malloc'd:
	 * mlock'd, guard pages, no core dumps) for the user login after a
	 * backup's SO login; otherwise it is wiped now and never needed
	 * again. (No PROT_NONE toggling: when this was written the sandbox
	 * forbade mprotect; it now allows it without PROT_EXEC, for the
	 * signing threads' arenas, but sodium_mprotect_noaccess is not used
	 * yet.) */
	if (r == 0 && s->key_backup) {
		s->bk.user_pin = pin;
		s->bk.user_pin_len = pin_len;
	} else {
		sodium_free(pin);
	}
	if (r != 0) {
		p11_log_failure("cannot open the token", r);
		return -EIO;
	}
	/* issue 3: the row-integrity MAC key; made in the token on the first
	 * MAC request (as the serving user, who must own its object file) */
	{
		bool created = false;

		s->mac_key = CK_INVALID_HANDLE;
		r = scm_mac_open(&s->tok, false, s->key_backup, &s->mac_key,
		    &created);
		if (r != 0 && r != P11_NOT_FOUND) {
			p11_log_failure("cannot look up the MAC key", r);
			return -EIO;
		}
	}
	/* issue 5: the audit key (made by --init-token; on a token from
	 * before, on first use: after the privilege drop, so that its object
	 * file belongs to the service user) */
	{
		bool created = false;

		r = scm_audit_open(&s->tok, &s->audit_key, false, &created);
		if (r == 0)
			s->have_audit_key = true;
		else if (r == P11_NOT_FOUND)
			log_info("no audit key \"%s\" on the token yet: it is "
			    "generated on first use", SCM_AUDIT_LABEL);
		else {
			p11_log_failure("cannot use the audit key", r);
			return -EIO;
		}
	}
	/* issue 6: systemd socket activation (FileDescriptorName=crypto) */
	s->fd = daemon_listen("crypto", s->socket, 0660);
	if (s->fd < 0) {
		log_err("cannot listen on %s: %s", s->socket, strerror(-s->fd));
		return s->fd;
	}
	log_info("token %s \"%s\" open via %s; serving sam uid %u on %s%s",
	    s->token_label ? "label" : "serial",
	    s->token_label ? s->token_label : s->token_serial, s->module,
	    s->sam_uid, s->socket, s->key_backup ? " (key backup enabled)" : "");
	return 0;
}

/* As the service user, after Landlock, before seccomp (common/daemon.c). */
static int scm_start_threads(void *app)
{
	struct scm *s = app;
	int r;

	r = scm_pool_start(&s->pool, &s->tok, s->sign_threads);
	if (r == -EIO) {
		p11_log_failure("cannot open the signing threads' sessions", r);
		return r;
	}
	if (r < 0) {
		log_err("cannot start %u signing threads: %s", s->sign_threads,
		    strerror(-r));
		return r;
	}
	if (scm_pool_threads(s->pool) > 0)
		log_info("signing pool: %u threads, one token session each",
		    scm_pool_threads(s->pool));
	else
		log_info("signing pool: none (sign_threads = 1)");
	return 0;
}

/* ---- handlers ---------------------------------------------------------- */

static const char *key_hex(const ProtobufCBinaryData *id, char *buf)
{
	if (id->len != SCM_KEY_ID_LEN)
		return "(bad id)";
	hex_encode(id->data, id->len, buf);
	return buf;
}

/* The token session is gone when these come back; the PIN was wiped, so
 * the only safe course is to stop and be restarted. */
static bool session_lost(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	    rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
	    rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

static Inkan__Status scm_status(int rc)
{
	switch (rc) {
	case P11_NOT_FOUND: return INKAN__STATUS__NOT_FOUND;
	case P11_EXISTS: return INKAN__STATUS__EXISTS;
	case P11_UNSUPPORTED:
	case P11_MECH_MISMATCH: return INKAN__STATUS__UNSUPPORTED_ALGO;
	case P11_DIGEST_LENGTH: return INKAN__STATUS__INVALID_DIGEST_LENGTH;
	case P11_SALT_TOO_LONG:
	case P11_BAD_CSR:
	case -EINVAL: return INKAN__STATUS__INVALID_REQUEST;
	case P11_KEY_MISMATCH: return INKAN__STATUS__KEY_MISMATCH;
	case -ENOTCONN: return INKAN__STATUS__UNAVAILABLE;
	case -EIO:
		return session_lost(scm.tok.last_rv) ?
		    INKAN__STATUS__UNAVAILABLE : INKAN__STATUS__INTERNAL;
	default: return INKAN__STATUS__INTERNAL;
	}
}

/* One log line and a safe reason for a failed operation. */
static Inkan__Status scm_fail(struct srv_ctx *c, const char *op,
    const ProtobufCBinaryData *id, int rc)
{
	char hex[2 * SCM_KEY_ID_LEN + 1], why[320];
	Inkan__Status st = scm_status(rc);

	if (rc == -EIO || scm.tok.err[0] != '\0')
		p11_describe(&scm.tok, why, sizeof why);
	else
		snprintf(why, sizeof why, "%s", p11_strerror(rc));
	log_warn("%s key %s: %s", op, key_hex(id, hex), why);
	srv_detail(c, "%s", why);
	if (rc == -EIO && session_lost(scm.tok.last_rv) && scm.stop != NULL) {
		log_err("token session lost: stopping so that the service "
		    "manager restarts inkan-scm");
		scm.lost = true;
		*scm.stop = 1;
	}
	return st;
}

static Inkan__Status scm_refuse(struct srv_ctx *c, const char *op,
    const ProtobufCBinaryData *id, Inkan__Status st, const char *why)
{
	char hex[2 * SCM_KEY_ID_LEN + 1];

	log_warn("%s key %s: refused: %s", op, key_hex(id, hex), why);
	srv_detail(c, "%s", why);
	return st;
}

static bool key_id_ok(const ProtobufCBinaryData *id)
{
	return id->len == SCM_KEY_ID_LEN && id->data != NULL;
}

static enum p11_key_type key_type_from(Inkan__KeyType t)
{
	switch (t) {
	case INKAN__KEY_TYPE__KEY_EC_P256: return P11_KEY_EC_P256;
	case INKAN__KEY_TYPE__KEY_EC_P384: return P11_KEY_EC_P384;
	case INKAN__KEY_TYPE__KEY_RSA_2048: return P11_KEY_RSA_2048;
	case INKAN__KEY_TYPE__KEY_RSA_3072: return P11_KEY_RSA_3072;
	default: return P11_KEY_NONE;
	}
}

static Inkan__KeyType key_type_to(enum p11_key_type t)
{
	switch (t) {
	case P11_KEY_EC_P256: return INKAN__KEY_TYPE__KEY_EC_P256;
	case P11_KEY_EC_P384: return INKAN__KEY_TYPE__KEY_EC_P384;
	case P11_KEY_RSA_2048: return INKAN__KEY_TYPE__KEY_RSA_2048;
	case P11_KEY_RSA_3072: return INKAN__KEY_TYPE__KEY_RSA_3072;
	default: return INKAN__KEY_TYPE__KEY_NONE;
	}
}

static const char *key_type_name(enum p11_key_type t)
{
	switch (t) {
	case P11_KEY_EC_P256: return "EC P-256";
	case P11_KEY_EC_P384: return "EC P-384";
	case P11_KEY_RSA_2048: return "RSA-2048";
	case P11_KEY_RSA_3072: return "RSA-3072";
	default: return "?";
	}
}

static Inkan__Status scm_answer_keygen(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	const Inkan__KeygenReq *r = (const Inkan__KeygenReq *)msg;
	Inkan__KeygenRep rep = INKAN__KEYGEN_REP__INIT;
	enum p11_key_type type = key_type_from(r->key_type);
	char hex[2 * SCM_KEY_ID_LEN + 1];
	uint8_t *spki = NULL;
	size_t len = 0;
	int rc;

	if (!key_id_ok(&r->key_id))
		return scm_refuse(c, "keygen", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST, "key_id must be 16 bytes");
	if (type == P11_KEY_NONE)
		return scm_refuse(c, "keygen", &r->key_id,
		    INKAN__STATUS__UNSUPPORTED_ALGO, "unsupported key type");
	/* The SAM decides per request, but never beyond what this module's
	 * own policy allows. */
	if (r->extractable && !scm.key_backup)
		return scm_refuse(c, "keygen", &r->key_id,
		    INKAN__STATUS__DENIED, "key backup is disabled in inkan-scm");
	rc = p11_keygen(&scm.tok, r->key_id.data, type, r->extractable, &spki,
	    &len);
	if (rc != 0)
		return scm_fail(c, "keygen", &r->key_id, rc);
	rep.spki.data = spki;
	rep.spki.len = len;
	srv_reply(c, &rep.base);
	free(spki);
	log_info("generated %s key %s%s", key_type_name(type),
	    key_hex(&r->key_id, hex), r->extractable ?
	    " (wrappable by a trusted KEK)" : " (never extractable)");
	return INKAN__STATUS__OK;
}

static Inkan__Status scm_answer_pubkey(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	const Inkan__PubkeyReq *r = (const Inkan__PubkeyReq *)msg;
	Inkan__PubkeyRep rep = INKAN__PUBKEY_REP__INIT;
	enum p11_key_type type = P11_KEY_NONE;
	uint8_t *spki = NULL;
	size_t len = 0;
	int rc;

	if (!key_id_ok(&r->key_id))
		return scm_refuse(c, "pubkey", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST, "key_id must be 16 bytes");
	rc = p11_pubkey(&scm.tok, r->key_id.data, &spki, &len, &type);
	if (rc != 0)
		return scm_fail(c, "pubkey", &r->key_id, rc);
	rep.spki.data = spki;
	rep.spki.len = len;
	rep.key_type = key_type_to(type);
	srv_reply(c, &rep.base);
	free(spki);
	return INKAN__STATUS__OK;
}

static Inkan__Status scm_answer_sign(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	const Inkan__SignDigestReq *r = (const Inkan__SignDigestReq *)msg;
	Inkan__SignDigestRep rep = INKAN__SIGN_DIGEST_REP__INIT;
	const uint8_t *digests[SCM_MAX_DIGESTS];
	size_t lens[SCM_MAX_DIGESTS], failed_at = 0;
	struct scm_sign_job job;
	ProtobufCBinaryData *sigs = NULL;
	uint8_t *buf = NULL;
	enum der_hash hash;
	enum p11_mech mech;
	uint32_t salt = 0;
	size_t hlen;
	int rc = 0;

	if (!key_id_ok(&r->key_id))
		return scm_refuse(c, "sign", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST, "key_id must be 16 bytes");
	switch (r->mech) {
	case INKAN__SIGN_MECH__MECH_ECDSA: mech = P11_MECH_ECDSA; break;
	case INKAN__SIGN_MECH__MECH_RSA_PKCS1: mech = P11_MECH_RSA_PKCS1; break;
	case INKAN__SIGN_MECH__MECH_RSA_PSS: mech = P11_MECH_RSA_PSS; break;
	default:
		return scm_refuse(c, "sign", &r->key_id,
		    INKAN__STATUS__UNSUPPORTED_ALGO, "unsupported mechanism");
	}
	switch (r->hash_alg) {
	case INKAN__HASH_ALG__HASH_SHA256: hash = DER_HASH_SHA256; break;
	case INKAN__HASH_ALG__HASH_SHA384: hash = DER_HASH_SHA384; break;
	case INKAN__HASH_ALG__HASH_SHA512: hash = DER_HASH_SHA512; break;
	default:
		return scm_refuse(c, "sign", &r->key_id,
		    INKAN__STATUS__UNSUPPORTED_ALGO, "unsupported hash");
	}
	hlen = der_hash_len(hash);
	if (r->n_digests < 1 || r->n_digests > SCM_MAX_DIGESTS)
		return scm_refuse(c, "sign", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST, "need 1..256 digests");
	for (size_t i = 0; i < r->n_digests; i++)
		if (r->digests[i].len != hlen || r->digests[i].data == NULL)
			return scm_refuse(c, "sign", &r->key_id,
			    INKAN__STATUS__INVALID_DIGEST_LENGTH,
			    "digest length does not match the hash");
	if (mech == P11_MECH_RSA_PSS) {
		/* Absent: the usual choice, a salt as long as the hash. */
		salt = r->has_salt_len ? r->salt_len : (uint32_t)hlen;
	} else if (r->has_salt_len && r->salt_len != 0) {
		return scm_refuse(c, "sign", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST,
		    "salt_len is for RSA-PSS only");
	}

	sigs = calloc(r->n_digests, sizeof *sigs);
	buf = malloc(r->n_digests * P11_SIG_MAX);
	if (sigs == NULL || buf == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < r->n_digests; i++)
		digests[i] = r->digests[i].data;
	job = (struct scm_sign_job){
		.key_id = r->key_id.data, .mech = mech, .hash = hash,
		.salt_len = salt, .n = r->n_digests, .digests = digests,
		.dlen = hlen, .sigs = buf, .sig_lens = lens,
	};
	/* All or nothing: one failure answers no signature at all. */
	rc = scm_pool_sign(scm.pool, &job, &failed_at);
	if (rc != 0)
		goto fail;
	for (size_t i = 0; i < r->n_digests; i++) {
		sigs[i].data = buf + i * P11_SIG_MAX;
		sigs[i].len = lens[i];
	}
	rep.n_signatures = r->n_digests;
	rep.signatures = sigs;
	srv_reply(c, &rep.base);
	free(sigs);
	free(buf);
	return INKAN__STATUS__OK;
fail:
	free(sigs);
	free(buf);
	return scm_fail(c, "sign", &r->key_id, rc);
}

static Inkan__Status scm_answer_sign_csr(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	const Inkan__SignCsrReq *r = (const Inkan__SignCsrReq *)msg;
	Inkan__SignCsrRep rep = INKAN__SIGN_CSR_REP__INIT;
	uint8_t *out = NULL;
	size_t len = 0;
	int rc;

	if (!key_id_ok(&r->key_id))
		return scm_refuse(c, "sign-csr", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST, "key_id must be 16 bytes");
	if (r->csr.len == 0 || r->csr.len > SCM_CSR_MAX || r->csr.data == NULL)
		return scm_refuse(c, "sign-csr", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST, "csr must be 1..16384 bytes");
	rc = p11_sign_csr(&scm.tok, r->key_id.data, r->csr.data, r->csr.len,
	    &out, &len);
	if (rc != 0)
		return scm_fail(c, "sign-csr", &r->key_id, rc);
	rep.csr.data = out;
	rep.csr.len = len;
	srv_reply(c, &rep.base);
	free(out);
	return INKAN__STATUS__OK;
}

static Inkan__Status scm_answer_destroy(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	const Inkan__DestroyReq *r = (const Inkan__DestroyReq *)msg;
	Inkan__DestroyRep rep = INKAN__DESTROY_REP__INIT;
	char hex[2 * SCM_KEY_ID_LEN + 1];
	int rc;

	if (!key_id_ok(&r->key_id))
		return scm_refuse(c, "destroy", &r->key_id,
		    INKAN__STATUS__INVALID_REQUEST, "key_id must be 16 bytes");
	rc = p11_destroy(&scm.tok, r->key_id.data);
	if (rc != 0)
		return scm_fail(c, "destroy", &r->key_id, rc);
	srv_reply(c, &rep.base);
	log_info("destroyed key %s", key_hex(&r->key_id, hex));
	return INKAN__STATUS__OK;
}

/* issue 3: HMAC-SHA256 of the SAM's row digests with the MAC key only. */
#define SCM_MAC_MAX_INPUTS 16
static Inkan__Status scm_answer_mac(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	const Inkan__MacReq *r = (const Inkan__MacReq *)msg;
	Inkan__MacRep rep = INKAN__MAC_REP__INIT;
	ProtobufCBinaryData macs[SCM_MAC_MAX_INPUTS];
	uint8_t buf[SCM_MAC_MAX_INPUTS][SCM_MAC_LEN];
	static const ProtobufCBinaryData none = { 0, NULL };
	int rc;

	if (scm.mac_key == CK_INVALID_HANDLE) {
		bool created = false;

		rc = scm_mac_open(&scm.tok, true, scm.key_backup, &scm.mac_key,
		    &created);
		if (rc != 0) {
			scm.mac_key = CK_INVALID_HANDLE;
			return scm_fail(c, "mac", &none, rc);
		}
		if (created)
			log_info("generated the row-integrity MAC key \"%s\" "
			    "(HMAC-SHA256, sensitive, never extractable)",
			    SCM_MAC_LABEL);
	}
	if (r->n_inputs < 1 || r->n_inputs > SCM_MAC_MAX_INPUTS) {
		log_warn("mac: refused: need 1..16 inputs");
		srv_detail(c, "need 1..16 inputs");
		return INKAN__STATUS__INVALID_REQUEST;
	}
	for (size_t i = 0; i < r->n_inputs; i++) {
		if (r->inputs[i].len != SCM_MAC_INPUT_LEN ||
		    r->inputs[i].data == NULL) {
			log_warn("mac: refused: an input is not 32 bytes");
			srv_detail(c, "each input must be 32 bytes");
			return INKAN__STATUS__INVALID_REQUEST;
		}
		rc = scm_mac_compute(&scm.tok, scm.mac_key, r->inputs[i].data,
		    r->inputs[i].len, buf[i]);
		if (rc != 0)
			return scm_fail(c, "mac", &none, rc);
		macs[i].data = buf[i];
		macs[i].len = SCM_MAC_LEN;
	}
	rep.n_macs = r->n_inputs;
	rep.macs = macs;
	srv_reply(c, &rep.base);
	sodium_memzero(buf, sizeof buf);
	return INKAN__STATUS__OK;
}

/* issue 5: the audit key, generated inside the token on first use. */
static int audit_key(void)
{
	bool created = false;
	int rc;

	if (scm.have_audit_key)
		return 0;
	rc = scm_audit_open(&scm.tok, &scm.audit_key, true, &created);
	if (rc != 0)
		return rc;
	scm.have_audit_key = true;
	if (created)
		log_info("generated the audit key \"%s\" (EC P-256, sign only, "
		    "sensitive, never extractable)", SCM_AUDIT_LABEL);
	return 0;
}

/* issue 5: sign a checkpoint statement built here from (seq, head) with the
 * audit key only; the request names no key and carries no data to sign. */
static Inkan__Status scm_answer_audit_sign(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	const Inkan__AuditSignReq *r = (const Inkan__AuditSignReq *)msg;
	Inkan__AuditSignRep rep = INKAN__AUDIT_SIGN_REP__INIT;
	static const ProtobufCBinaryData none = { 0, NULL };
	uint8_t md[32], sig[DER_ECDSA_SIG_MAX];
	size_t len = 0;
	int rc;

	if (r->head.len != 32 || r->head.data == NULL || r->seq == 0) {
		log_warn("audit-sign: refused: need seq >= 1 and a 32-byte head");
		srv_detail(c, "need seq >= 1 and a 32-byte head");
		return INKAN__STATUS__INVALID_REQUEST;
	}
	if ((rc = audit_key()) != 0 ||
	    (rc = scm_audit_digest(r->seq, r->head.data, md)) != 0 ||
	    (rc = scm_audit_sign(&scm.tok, &scm.audit_key, md, sig, &len)) != 0)
		return scm_fail(c, "audit-sign", &none, rc);
	rep.signature.data = sig;
	rep.signature.len = len;
	srv_reply(c, &rep.base);
	return INKAN__STATUS__OK;
}

static Inkan__Status scm_answer_audit_key(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	Inkan__AuditKeyRep rep = INKAN__AUDIT_KEY_REP__INIT;
	static const ProtobufCBinaryData none = { 0, NULL };
	int rc;

	(void)msg;
	if ((rc = audit_key()) != 0)
		return scm_fail(c, "audit-key", &none, rc);
	rep.spki.data = scm.audit_key.spki;
	rep.spki.len = sizeof scm.audit_key.spki;
	srv_reply(c, &rep.base);
	return INKAN__STATUS__OK;
}

/* issue 7 item 5: backup (scm/backup_srv.c). The SO login in between
 * invalidates private handles: the audit key is looked up again. */
static Inkan__Status scm_answer_backup_wrap(struct srv_ctx *c,
    const ProtobufCMessage *msg)
{
	Inkan__Status st;

	scm.bk.tok = &scm.tok;
	scm.bk.key_backup = scm.key_backup;
	scm.bk.mac_key = &scm.mac_key;
	/* The SO login in between is the whole token's: no worker signs
	 * meanwhile (none can, the loop is here; the hold makes it sure). */
	scm_pool_hold(scm.pool);
	st = scm_bk_answer_wrap(c, (const Inkan__BackupWrapReq *)msg, &scm.bk);
	scm_pool_release(scm.pool);
	if (scm.bk.handles_reset)
		scm.have_audit_key = false;
	if (scm.bk.lost && scm.stop != NULL) {
		log_err("backup: the user login could not be restored: "
		    "stopping so that the service manager restarts inkan-scm");
		scm.lost = true;
		*scm.stop = 1;
	}
	return st;
}

static const struct srv_handler scm_handlers[] = {
	{ INKAN__MSG_TYPE__CRYPTO_KEYGEN_REQ, PEER_SAM,
	    &inkan__keygen_req__descriptor, scm_answer_keygen },
	{ INKAN__MSG_TYPE__CRYPTO_PUBKEY_REQ, PEER_SAM,
	    &inkan__pubkey_req__descriptor, scm_answer_pubkey },
	{ INKAN__MSG_TYPE__CRYPTO_SIGN_REQ, PEER_SAM,
	    &inkan__sign_digest_req__descriptor, scm_answer_sign },
	{ INKAN__MSG_TYPE__CRYPTO_SIGN_CSR_REQ, PEER_SAM,
	    &inkan__sign_csr_req__descriptor, scm_answer_sign_csr },
	{ INKAN__MSG_TYPE__CRYPTO_DESTROY_REQ, PEER_SAM,
	    &inkan__destroy_req__descriptor, scm_answer_destroy },
	{ INKAN__MSG_TYPE__CRYPTO_MAC_REQ, PEER_SAM,
	    &inkan__mac_req__descriptor, scm_answer_mac },
	{ INKAN__MSG_TYPE__CRYPTO_AUDIT_SIGN_REQ, PEER_SAM,
	    &inkan__audit_sign_req__descriptor, scm_answer_audit_sign },
	{ INKAN__MSG_TYPE__CRYPTO_AUDIT_PUBKEY_REQ, PEER_SAM,
	    &inkan__audit_key_req__descriptor, scm_answer_audit_key },
	{ INKAN__MSG_TYPE__CRYPTO_BACKUP_WRAP_REQ, PEER_SAM,
	    &inkan__backup_wrap_req__descriptor, scm_answer_backup_wrap },
};

static int scm_serve(void *app, volatile int *stop)
{
	struct scm *s = app;
	struct srv_listener l = {
		.name = "crypto",
		.fd = s->fd,
		.peer = PEER_SAM,
		.uids = { (uid_t)s->sam_uid },
		.n_uids = 1,
	};
	int r;

	s->stop = stop;
	r = srv_run(&l, 1, scm_handlers,
	    (int)(sizeof scm_handlers / sizeof scm_handlers[0]), s, stop);
	if (r < 0) {
		log_err("request loop failed: %s", strerror(-r));
		return 1;
	}
	/* Stopped because the token session was lost: exit non-zero. */
	return s->lost ? 1 : 0;
}

static void scm_fini(void *app)
{
	struct scm *s = app;

	scm_bk_finish(&s->tok, &s->bk.kek);
	/* Wiped, not sodium_free'd: that needs munlock and
	 * madvise(MADV_DODUMP), which the sandbox forbids; the pages go with
	 * the process. */
	if (s->bk.user_pin != NULL)
		sodium_memzero(s->bk.user_pin, s->bk.user_pin_len);
	s->bk.user_pin = NULL;
	/* The workers' sessions go before the token they were opened on. */
	scm_pool_stop(s->pool);
	s->pool = NULL;
	p11_close(&s->tok);
	if (s->fd >= 0)
		close(s->fd);
}

static const struct daemon_desc scm_desc = {
	.name = "inkan-scm",
	.section = "scm",
	.config_key = scm_config_key,
	.config_done = scm_config_done,
	.init = scm_init,
	.start_threads = scm_start_threads,
	.policy = &sandbox_policy_scm,
	.serve = scm_serve,
	.fini = scm_fini,
	.app = &scm,
};

/* ---- one-shot: --init-token -------------------------------------------- */

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: inkan-scm --config FILE [--check-config]\n"
	    "       inkan-scm --config FILE --init-token --so-pin-file FILE\n"
	    "       inkan-scm --config FILE --restore < INPUT\n"
	    "  --init-token  initialise a free token slot with [scm] "
	    "token_label,\n"
	    "                the SO PIN from --so-pin-file and the user PIN "
	    "from pin_file\n"
	    "  --restore     put the keys of a backup back into a fresh token "
	    "(input from\n"
	    "                inkanctl backup restore; docs/lifecycle.md)\n");
}

static int init_token_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "init-token", no_argument, NULL, 'i' },
		{ "so-pin-file", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *so_file = NULL;
	struct rlimit nocore = { 0, 0 };
	struct p11_token t;
	char *so = NULL, *user = NULL, buf[320];
	size_t so_len = 0, user_len = 0;
	int init = 0, c, r, ret = 1;

	log_init("inkan-scm");
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &nocore);
	umask(0077);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'i': init = 1; break;
		case 's': so_file = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (!init || config == NULL || so_file == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (daemon_load_config(&scm_desc, config) < 0)
		return 1;
	if (scm.token_label == NULL) {
		log_err("--init-token needs token_label in [scm] (a serial is "
		    "chosen by the token)");
		return 1;
	}
	if (scm.softhsm_conf != NULL &&
	    setenv("SOFTHSM2_CONF", scm.softhsm_conf, 1) < 0) {
		log_err("setenv: %s", strerror(errno));
		return 1;
	}
	if ((r = read_pin(so_file, &so, &so_len)) < 0) {
		log_err("cannot read SO PIN file %s: %s", so_file,
		    r == -ENODATA ? "empty" : strerror(-r));
		goto out;
	}
	if ((r = read_pin(scm.pin_file, &user, &user_len)) < 0) {
		log_err("cannot read PIN file %s: %s", scm.pin_file,
		    r == -ENODATA ? "empty" : strerror(-r));
		goto out;
	}
	memset(&t, 0, sizeof t);
	r = p11_init_token(&t, scm.module, scm.token_label, so, so_len, user,
	    user_len);
	if (r == P11_TOKEN_EXISTS) {
		/* Exit 3 = "already there": inkanctl init --force keeps it. */
		log_err("cannot initialise token \"%s\": %s", scm.token_label,
		    p11_describe(&t, buf, sizeof buf));
		ret = 3;
		goto out;
	}
	if (r != 0) {
		if (r == -EIO || t.err[0] != '\0')
			log_err("cannot initialise token \"%s\": %s",
			    scm.token_label, p11_describe(&t, buf, sizeof buf));
		else
			log_err("cannot initialise token \"%s\": %s",
			    scm.token_label, p11_strerror(r));
		goto out;
	}
	log_info("token \"%s\" initialised", scm.token_label);
	/* issue 5: the audit key is made with the token, so that the
	 * auditors can have its public key before the first record. */
	{
		struct p11_token u;
		struct scm_audit_key k;
		bool created = false;

		memset(&u, 0, sizeof u);
		r = p11_open(&u, scm.module, scm.token_label, NULL, user,
		    user_len);
		if (r == 0)
			r = scm_audit_open(&u, &k, true, &created);
		if (r != 0)
			log_err("cannot generate the audit key: %s",
			    p11_describe(&u, buf, sizeof buf));
		else
			log_info("generated the audit key \"%s\" (EC P-256, sign "
			    "only, sensitive, never extractable)",
			    SCM_AUDIT_LABEL);
		p11_close(&u);
		if (r != 0)
			goto out;
	}
	ret = 0;
out:
	sodium_free(so);
	sodium_free(user);
	return ret;
}

/* issue 7 item 5: one-shot restore (scm/backup_srv.c), before any service. */
static int restore_main(int argc, char **argv)
{
	struct scm_bk_restore_cfg cfg;
	struct rlimit nocore = { 0, 0 };
	const char *config = NULL;

	log_init("inkan-scm");
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &nocore);
	umask(0077);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--restore") != 0) {
			usage(stderr);
			return 2;
		}
	}
	if (config == NULL) {
		usage(stderr);
		return 2;
	}
	if (daemon_load_config(&scm_desc, config) < 0)
		return 1;
	if (scm.softhsm_conf != NULL &&
	    setenv("SOFTHSM2_CONF", scm.softhsm_conf, 1) < 0)
		return 1;
	cfg.module = scm.module;
	cfg.token_label = scm.token_label;
	cfg.token_serial = scm.token_serial;
	cfg.pin_file = scm.pin_file;
	cfg.key_backup = scm.key_backup;
	return scm_bk_restore_main(&cfg);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "inkan-scm: libsodium failed to initialise\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		/* issue 7 item 5: inkan-scm --config FILE --restore */
		if (strcmp(argv[i], "--restore") == 0)
			return restore_main(argc, argv);
		if (strcmp(argv[i], "--init-token") == 0 ||
		    strcmp(argv[i], "--so-pin-file") == 0)
			return init_token_main(argc, argv);
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	}
	return daemon_main(&scm_desc, argc, argv);
}
