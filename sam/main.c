/* main.c — inkan-sam, the Signature Activation Module.
 * SECURITY: verifies both of the signer's factors (Argon2id PIN, TOTP with
 * replay protection, lockout), issues and checks SAD, and owns the signer
 * database, whose rows that link signers, keys, tokens and SADs carry MACs
 * made by an HSM key in inkan-scm (checked on every login, authorize and
 * sign; a mismatch is refused with an ALERT line). No network: it accepts
 * only inkan-sic on the signer socket (PEER_SIC, uid sic_uid) and the three
 * operator roles on their own sockets — administrator (admin_socket),
 * security officer (so_socket) and auditor (auditor_socket) — each admitting
 * its configured uids and Unix group (SO_PEERCRED + SO_PEERGROUPS); a peer
 * that qualifies both for administrator/SO and for auditor is refused, and so
 * is a configuration that allows it. Its only outgoing peer is inkan-scm,
 * which obeys nobody else. A SIGN reaches the SCM only after a SAD bound to
 * that user, credential, token and exact digest reserved the digest in the
 * database, and its signatures leave only after the digest was marked signed
 * and its audit record was fdatasync'ed (sam/audit.c: no release without its
 * record; the trail is read only on the auditor socket). No operator message can produce a signature over caller-chosen data (the
 * CSR is built here) or a SAD. Never logs a password, PIN, OTP, token, SAD
 * or key. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "util.h"
#include "sam.h"
#include "lifecycle.h"
#include "auth.h"
#include "sad.h"
#include "oauth.h"
#include "scm_client.h"
#include "store.h"
#include "audit.h"
#include "backup.h"         /* issue 7 item 5 */

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
#define PEER_GROUPS_MAX 256

/* "1000,backup,1002": uids or user names, at most SRV_MAX_UIDS. */
static int cfg_uid_list(const char *v, struct sam_role *r)
{
	char *copy = cfg_strdup(v), *save = NULL, *tok;
	unsigned uid;
	int n = 0, ret = 0;

	for (tok = strtok_r(copy, ", ", &save); tok;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (n == SRV_MAX_UIDS || cfg_uid(tok, &uid) < 0) {
			ret = -EINVAL;
			break;
		}
		r->uids[n++] = (uid_t)uid;
	}
	free(copy);
	if (ret == 0 && n == 0)
		ret = -EINVAL;
	if (ret == 0)
		r->n_uids = n;
	return ret;
}

/* A group by name or number. */
static int cfg_gid(const char *v, gid_t *out)
{
	struct group *g;
	unsigned long n;

	if (cfg_uint(v, 0, 0x7fffffff, &n) == 0) {
		*out = (gid_t)n;
		return 0;
	}
	g = getgrnam(v);
	if (!g)
		return -EINVAL;
	*out = g->gr_gid;
	return 0;
}

static struct sam_role *role_by_key(struct sam_config *c, const char *key,
    const char **rest)
{
	struct sam_role *roles[] = { &c->admin, &c->so, &c->auditor };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(roles[i]->key);
		if (!strncmp(key, roles[i]->key, n) && key[n] == '_') {
			*rest = key + n + 1;
			return roles[i];
		}
	}
	return NULL;
}

/* test_fault = sign-after-reserve:SECONDS | sign-after-scm:SECONDS */
static int cfg_fault(struct sam_config *c, const char *v)
{
	unsigned long s;
	const char *colon = strchr(v, ':');

	if (!colon || cfg_uint(colon + 1, 0, 60, &s) < 0)
		return -EINVAL;
	if (!strncmp(v, "sign-after-reserve", (size_t)(colon - v)) &&
	    colon - v == (long)strlen("sign-after-reserve"))
		c->fault_after_reserve = (unsigned)s;
	else if (!strncmp(v, "sign-after-scm", (size_t)(colon - v)) &&
	    colon - v == (long)strlen("sign-after-scm"))
		c->fault_after_scm = (unsigned)s;
	else
		return -EINVAL;
	return 0;
}

static int config_key(void *a, const char *key, const char *value)
{
	struct sam_app *app = a;
	struct sam_config *c = &app->cfg;
	struct sam_role *role;
	const char *rest;
	unsigned long v;
	int b, r;

	if ((r = audit_config_key(key, value)) != 0)   /* issue 5: audit_* */
		return r < 0 ? r : 0;
	if ((role = role_by_key(c, key, &rest)) != NULL) {
		if (!strcmp(rest, "socket")) {
			free(role->socket);
			role->socket = cfg_strdup(value);
		} else if (!strcmp(rest, "uid")) {
			return cfg_uid_list(value, role);
		} else if (!strcmp(rest, "group")) {
			if (cfg_gid(value, &role->gid) < 0)
				return -EINVAL;
			role->gid_set = true;
		} else {
			return -EINVAL;
		}
	} else if (!strcmp(key, "signer_socket")) {
		free(c->signer_socket);
		c->signer_socket = cfg_strdup(value);
	} else if (!strcmp(key, "scm_socket")) {
		free(c->scm_socket);
		c->scm_socket = cfg_strdup(value);
	} else if (!strcmp(key, "database")) {
		free(c->database);
		c->database = cfg_strdup(value);
	} else if (!strcmp(key, "sic_uid")) {
		if ((r = cfg_uid(value, &c->sic_uid)) < 0)
			return r;
		c->sic_uid_set = true;
	} else if (!strcmp(key, "sad_lifetime")) {
		if ((r = cfg_uint(value, 10, 3600, &v)) < 0)
			return r;
		c->sad_lifetime = (unsigned)v;
	} else if (!strcmp(key, "token_lifetime")) {
		if ((r = cfg_uint(value, 60, 86400, &v)) < 0)
			return r;
		c->token_lifetime = (unsigned)v;
	} else if (!strcmp(key, "multisign")) {
		if ((r = cfg_uint(value, 1, SAM_HASHES_MAX, &v)) < 0)
			return r;
		c->multisign = (unsigned)v;
	} else if (!strcmp(key, "lock_after")) {
		if ((r = cfg_uint(value, 1, SAM_LOCK_AFTER_MAX, &v)) < 0)
			return r;
		c->lock_after = (unsigned)v;
	} else if (!strcmp(key, "lock_seconds")) {
		if ((r = cfg_uint(value, 0, SAM_LOCK_SECONDS_MAX, &v)) < 0)
			return r;
		c->lock_seconds = (unsigned)v;
	} else if (!strcmp(key, "totp_window")) {
		if ((r = cfg_uint(value, 1, 10, &v)) < 0)
			return r;
		sam_auth_totp_window((unsigned)v);
	} else if (!strcmp(key, "trust_anchors")) {    /* issue 7 */
		free(c->trust_anchors);
		c->trust_anchors = cfg_strdup(value);
	} else if (!strcmp(key, "expiry_check")) {
		if ((r = cfg_uint(value, 60, 86400, &v)) < 0)
			return r;
		c->expiry_check = (unsigned)v;
	} else if (!strcmp(key, "redeliver")) {
		if ((r = cfg_bool(value, &b)) < 0)
			return r;
		c->redeliver = b;
	} else if (!strcmp(key, "key_backup")) {
		if ((r = cfg_bool(value, &b)) < 0)
			return r;
		c->key_backup = b;
	} else if (!strcmp(key, "kdf")) {
		if (!strcmp(value, "interactive"))
			c->kdf_moderate = false;
		else if (!strcmp(value, "moderate"))
			c->kdf_moderate = true;
		else
			return -EINVAL;
	} else if (!strcmp(key, "oauth_client")) {     /* issue 4 */
		return sam_oauth_client_config(value);
	} else if (!strcmp(key, "test_fault")) {
		return cfg_fault(c, value);
	} else {
		return -EINVAL;
	}
	return 0;
}

static bool role_admits_ids(const struct sam_role *r, uid_t uid, gid_t gid,
    const gid_t *groups, int n_groups)
{
	if (!r->socket)
		return false;
	for (int i = 0; i < r->n_uids; i++)
		if (r->uids[i] == uid)
			return true;
	if (!r->gid_set)
		return false;
	if (gid == r->gid)
		return true;
	for (int i = 0; i < n_groups; i++)
		if (groups[i] == r->gid)
			return true;
	return false;
}

/* Does a local account (by its passwd entry and group list) fall in r? */
static bool role_admits_account(const struct sam_role *r, uid_t uid)
{
	gid_t groups[PEER_GROUPS_MAX];
	int n = PEER_GROUPS_MAX;
	struct passwd *pw = getpwuid(uid);

	if (!pw)
		return role_admits_ids(r, uid, (gid_t)-1, NULL, 0);
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		n = 0;
	return role_admits_ids(r, uid, pw->pw_gid, groups, n);
}

/* EN 419 241-1 SRG_M: nobody is both administrator (or security officer)
 * and auditor. Checks the uid lists, the groups, and every local account
 * against both sides. */
static int check_roles(struct sam_config *c)
{
	const struct sam_role *priv[] = { &c->admin, &c->so };
	const struct sam_role *aud = &c->auditor;
	struct passwd *pw;
	int bad = 0;

	if (!aud->socket)
		return 0;
	for (size_t p = 0; p < 2; p++) {
		const struct sam_role *r = priv[p];
		if (!r->socket)
			continue;
		if (r->gid_set && aud->gid_set && r->gid == aud->gid) {
			log_err("[sam] %s_group and auditor_group are the same "
			    "group (%u): one account would hold both roles",
			    r->key, (unsigned)r->gid);
			bad = 1;
		}
		for (int i = 0; i < r->n_uids; i++)
			if (role_admits_account(aud, r->uids[i])) {
				log_err("[sam] uid %u is admitted as %s and as "
				    "auditor", (unsigned)r->uids[i], r->name);
				bad = 1;
			}
		for (int i = 0; i < aud->n_uids; i++)
			if (role_admits_account(r, aud->uids[i])) {
				log_err("[sam] uid %u is admitted as auditor and "
				    "as %s", (unsigned)aud->uids[i], r->name);
				bad = 1;
			}
		setpwent();
		while ((pw = getpwent()) != NULL)
			if (role_admits_account(r, pw->pw_uid) &&
			    role_admits_account(aud, pw->pw_uid)) {
				log_err("[sam] account %s (uid %u) is admitted as "
				    "%s and as auditor", pw->pw_name,
				    (unsigned)pw->pw_uid, r->name);
				bad = 1;
			}
		endpwent();
	}
	return bad ? -EINVAL : 0;
}

/* The one uid other than root a role admits by uid alone: 1 and *uid, 0
 * when there is none (root reaches any socket), -1 when several (they can
 * share a socket only through a group). */
static int role_user(const struct sam_role *r, uid_t *uid)
{
	uid_t first = 0;
	int found = 0;

	for (int i = 0; i < r->n_uids; i++) {
		if (r->uids[i] == 0 || (found && r->uids[i] == first))
			continue;
		if (found)
			return -1;
		first = r->uids[i];
		found = 1;
	}
	if (found && uid != NULL)
		*uid = first;
	return found;
}

static int config_done(void *a)
{
	struct sam_app *app = a;
	struct sam_config *c = &app->cfg;
	struct sam_role *roles[] = { &c->admin, &c->so, &c->auditor };

	if (!c->signer_socket || !c->admin.socket || !c->scm_socket ||
	    !c->database) {
		log_err("[sam] needs signer_socket, admin_socket, scm_socket "
		    "and database");
		return -EINVAL;
	}
	for (size_t i = 0; i < 3; i++) {
		struct sam_role *r = roles[i];
		if (!r->socket) {
			if (r->n_uids || r->gid_set) {
				log_err("[sam] %s_uid/%s_group without %s_socket",
				    r->key, r->key, r->key);
				return -EINVAL;
			}
			continue;
		}
		if (!strcmp(r->socket, c->signer_socket)) {
			log_err("[sam] signer_socket and %s_socket must differ",
			    r->key);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (roles[j]->socket &&
			    !strcmp(r->socket, roles[j]->socket)) {
				log_err("[sam] %s_socket and %s_socket must "
				    "differ", roles[j]->key, r->key);
				return -EINVAL;
			}
		if (!r->gid_set && role_user(r, NULL) < 0) {
			log_err("[sam] %s_uid: several uids other than root "
			    "reach %s_socket only through a group: set "
			    "%s_group", r->key, r->key, r->key);
			return -EINVAL;
		}
		if (r->n_uids || r->gid_set)
			continue;
		/* The auditor is never admitted by default: it must not
		 * fall on the same account as the administrator. */
		if (r == &c->auditor) {
			log_err("[sam] auditor_socket needs auditor_uid or "
			    "auditor_group");
			return -EINVAL;
		}
		/* "own uid": the one we run as after dropping privileges,
		 * known only then (serve() fills it in) */
		r->default_self = true;
	}
	return check_roles(c);
}

static int64_t clock_now(void)
{
	return now_s();
}

/* Row MACs through inkan-scm (rows.h). */
static int scm_mac(void *arg, const uint8_t (*in)[SAM_MAC_LEN], size_t n,
    uint8_t (*out)[SAM_MAC_LEN])
{
	struct sam_app *app = arg;
	Inkan__Status st = sam_req_mac(&app->scm, in, n, out);

	if (st == INKAN__STATUS__OK)
		return 0;
	if (st == INKAN__STATUS__UNAVAILABLE)
		return -EAGAIN;
	log_err("row MAC: inkan-scm answered %s",
	    sam_status_name(app->scm.last_status));
	return -EIO;
}

/* The database and its -wal/-shm companions (those may not exist yet). */
static int chown_db(const char *db)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char path[4096];
	int r;

	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		if (snprintf(path, sizeof path, "%s%s", db, sfx[i]) >=
		    (int)sizeof path)
			return -ENAMETOOLONG;
		r = daemon_chown_path(path);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

static int open_role(struct sam_role *r)
{
	uid_t uid = 0;

	if (!r->socket)
		return 0;
	/* issue 6: socket activation by FileDescriptorName= (admin, so,
	 * auditor); otherwise bound here and handed to the service user. */
	/* 0660: the daemon's group (or the role's, below) may connect; who
	 * is admitted is decided by admit_role() from SO_PEERCRED. */
	r->fd = daemon_listen(r->key, r->socket, 0660);
	if (r->fd < 0) {
		log_err("%s socket %s: %s", r->name, r->socket, strerror(-r->fd));
		return r->fd;
	}
	if (daemon_listen_activated(r->fd))
		return 0;       /* SocketUser/Group/Mode of the unit decide */
	/* A role admitted by group can reach its socket through that group. */
	if (r->gid_set && chown(r->socket, (uid_t)-1, r->gid) < 0) {
		int e = -errno;
		log_err("%s socket %s: chgrp %u: %s", r->name, r->socket,
		    (unsigned)r->gid, strerror(errno));
		return e;
	}
	/* A role admitted by one uid alone: the socket becomes that user's,
	 * mode 0600, so nobody else gets past the file system (SO_PEERCRED
	 * stays the second wall). */
	if (!r->gid_set && role_user(r, &uid) == 1 &&
	    (chown(r->socket, uid, (gid_t)-1) < 0 ||
	    chmod(r->socket, 0600) < 0)) {
		int e = -errno;
		log_err("%s socket %s: cannot hand it to uid %u (%s): start "
		    "inkan-sam as root (it drops to its user), or admit the "
		    "role by %s_group", r->name, r->socket, (unsigned)uid,
		    strerror(errno), r->key);
		return e;
	}
	return 0;
}

static int init(void *a)
{
	struct sam_app *app = a;
	struct sam_core *core = &app->core;
	int r, n;

	/* Files the libraries would otherwise open lazily, after the sandbox
	 * forbids it: OpenSSL's configuration, and the time zone that
	 * strftime() in the log code loads on its first use. */
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	tzset();

	core->now = clock_now;
	core->sad_lifetime = app->cfg.sad_lifetime;
	core->token_lifetime = app->cfg.token_lifetime;
	core->multisign = app->cfg.multisign;
	core->redeliver = app->cfg.redeliver;
	core->lock_after = app->cfg.lock_after;
	core->lock_seconds = app->cfg.lock_seconds;
	core->mac = scm_mac;
	core->mac_arg = app;
	app->fault_after_reserve = app->cfg.fault_after_reserve;
	app->fault_after_scm = app->cfg.fault_after_scm;
	if (app->fault_after_reserve || app->fault_after_scm)
		log_warn("TEST FAULT INJECTION is on (test_fault): never in "
		    "production");
	if ((r = sam_auth_init(core, app->cfg.kdf_moderate)) < 0) {
		log_err("crypto libraries: %s", strerror(-r));
		return r;
	}
	/* issue 7: the CAs a signer certificate must chain to */
	if (app->cfg.trust_anchors) {
		r = sam_lc_load_anchors(app->cfg.trust_anchors);
		if (r < 0) {
			log_err("[sam] trust_anchors %s: %s", app->cfg.trust_anchors,
			    r == -EINVAL ? "no PEM certificate in it" :
			    strerror(-r));
			return r;
		}
		log_info("trust anchors: %d CA certificates from %s", r,
		    app->cfg.trust_anchors);
	} else
		log_warn("no [sam] trust_anchors: certificate import is refused "
		    "until it is set");
	if ((r = sam_store_open(app->cfg.database, &core->store)) < 0) {
		log_err("database %s: %s", app->cfg.database, strerror(-r));
		return r;
	}
	/* The first purge also opens the WAL and shared-memory files while
	 * opening files is still allowed. */
	if ((r = sam_auth_purge(core)) < 0) {
		log_err("database %s: %s", app->cfg.database, strerror(-r));
		return r;
	}
	/* Reservations a crash left behind: no signature was released for
	 * them (commit comes before release), so they go back to their SADs. */
	if ((r = sam_sad_recover(core, &n)) < 0) {
		log_err("database %s: recovering reservations: %s",
		    app->cfg.database, strerror(-r));
		return r;
	}
	if (n > 0)
		log_warn("recovered %d reserved hashes left by an interrupted "
		    "signing (never released): given back to their SADs", n);
	sam_scm_init(&app->scm, app->cfg.scm_socket);
	if ((r = audit_open(app)) < 0)      /* issue 5: the audit trail */
		return r;

	/* issue 6: socket activation by FileDescriptorName= (signer, admin);
	 * otherwise bound here and handed to the service user. */
	app->signer_fd = daemon_listen("signer", app->cfg.signer_socket, 0660);
	if (app->signer_fd < 0) {
		log_err("signer socket %s: %s", app->cfg.signer_socket,
		    strerror(-app->signer_fd));
		return app->signer_fd;
	}
	if ((r = open_role(&app->cfg.admin)) < 0 ||
	    (r = open_role(&app->cfg.so)) < 0 ||
	    (r = open_role(&app->cfg.auditor)) < 0)
		return r;
	/* Database files belong to the user we drop to. */
	if ((r = chown_db(app->cfg.database)) < 0) {
		log_err("cannot hand sockets/database to the service user: %s",
		    strerror(-r));
		return r;
	}
	return 0;
}

static const struct srv_handler handlers[] = {
	{ INKAN__MSG_TYPE__SIGNER_LOGIN_REQ, PEER_SIC,
	  &inkan__login_req__descriptor, sam_answer_login },
	{ INKAN__MSG_TYPE__SIGNER_LIST_REQ, PEER_SIC,
	  &inkan__list_req__descriptor, sam_answer_list },
	{ INKAN__MSG_TYPE__SIGNER_CRED_INFO_REQ, PEER_SIC,
	  &inkan__cred_info_req__descriptor, sam_answer_cred_info },
	{ INKAN__MSG_TYPE__SIGNER_AUTHORIZE_REQ, PEER_SIC,
	  &inkan__authorize_req__descriptor, sam_answer_authorize },
	{ INKAN__MSG_TYPE__SIGNER_SIGN_REQ, PEER_SIC,
	  &inkan__sign_req__descriptor, sam_answer_sign },
	{ INKAN__MSG_TYPE__SIGNER_REVOKE_REQ, PEER_SIC,
	  &inkan__revoke_req__descriptor, sam_answer_revoke },
	/* issue 3 */
	{ INKAN__MSG_TYPE__SIGNER_EXTEND_REQ, PEER_SIC,
	  &inkan__extend_req__descriptor, sam_answer_extend },
	/* issue 7: the signer instructs key generation */
	{ INKAN__MSG_TYPE__SIGNER_CRED_CREATE_REQ, PEER_SIC,
	  &inkan__cred_create_req__descriptor, sam_answer_signer_cred_create },
	/* issue 4: OAuth2 (sam/oauth.c) */
	{ INKAN__MSG_TYPE__SIGNER_OAUTH_PREPARE_REQ, PEER_SIC,
	  &inkan__oauth_prepare_req__descriptor, sam_answer_oauth_prepare },
	{ INKAN__MSG_TYPE__SIGNER_OAUTH_AUTHORIZE_REQ, PEER_SIC,
	  &inkan__oauth_authorize_req__descriptor, sam_answer_oauth_authorize },
	{ INKAN__MSG_TYPE__SIGNER_OAUTH_TOKEN_REQ, PEER_SIC,
	  &inkan__oauth_token_req__descriptor, sam_answer_oauth_token },
	/* administrator */
	{ INKAN__MSG_TYPE__ADMIN_USER_ADD_REQ, PEER_ADMIN,
	  &inkan__user_add_req__descriptor, sam_answer_user_add },
	{ INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ, PEER_ADMIN | PEER_SO,
	  &inkan__user_list_req__descriptor, sam_answer_user_list },
	/* issue 7: no key generation here (SIGNER_CRED_CREATE is the
	 * signer's); registration codes, revocation, termination */
	{ INKAN__MSG_TYPE__ADMIN_USER_IDCODE_REQ, PEER_ADMIN,
	  &inkan__user_idcode_req__descriptor, sam_answer_user_idcode },
	{ INKAN__MSG_TYPE__ADMIN_CRED_REVOKE_REQ, PEER_ADMIN,
	  &inkan__cred_revoke_req__descriptor, sam_answer_cred_revoke },
	{ INKAN__MSG_TYPE__ADMIN_USER_TERMINATE_REQ, PEER_ADMIN,
	  &inkan__user_terminate_req__descriptor, sam_answer_user_terminate },
	{ INKAN__MSG_TYPE__ADMIN_CRED_IMPORT_REQ, PEER_ADMIN,
	  &inkan__cred_import_req__descriptor, sam_answer_cred_import },
	{ INKAN__MSG_TYPE__ADMIN_CRED_LIST_REQ, PEER_ADMIN | PEER_SO,
	  &inkan__cred_list_req__descriptor, sam_answer_cred_list },
	/* security officer (issue 3) */
	{ INKAN__MSG_TYPE__ADMIN_USER_UNLOCK_REQ, PEER_SO,
	  &inkan__user_unlock_req__descriptor, sam_answer_user_unlock },
	{ INKAN__MSG_TYPE__ADMIN_CRED_STATE_REQ, PEER_SO,
	  &inkan__cred_state_req__descriptor, sam_answer_cred_state },
	{ INKAN__MSG_TYPE__ADMIN_CRED_MULTISIGN_REQ, PEER_SO,
	  &inkan__cred_multisign_req__descriptor, sam_answer_cred_multisign },
	{ INKAN__MSG_TYPE__ADMIN_USER_SHOW_REQ, PEER_ADMIN | PEER_SO,
	  &inkan__user_show_req__descriptor, sam_answer_user_show },
	/* auditor (issue 5): the trail is read by the auditor role only */
	{ INKAN__MSG_TYPE__ADMIN_AUDIT_SHOW_REQ, PEER_AUDITOR,
	  &inkan__audit_show_req__descriptor, sam_answer_audit_show },
	{ INKAN__MSG_TYPE__ADMIN_AUDIT_VERIFY_REQ, PEER_AUDITOR,
	  &inkan__audit_verify_req__descriptor, sam_answer_audit_verify },
	{ INKAN__MSG_TYPE__ADMIN_AUDIT_PUBKEY_REQ, PEER_AUDITOR,
	  &inkan__audit_pubkey_req__descriptor, sam_answer_audit_pubkey },
	/* issue 7 item 5: key backup (sam/backup.c), security officer only */
	{ INKAN__MSG_TYPE__ADMIN_BACKUP_CREATE_REQ, PEER_SO,
	  &inkan__backup_create_req__descriptor, sam_answer_backup_create },
};

static struct sam_app the_app = {
	.cfg = {
		.sad_lifetime = 300,
		.token_lifetime = 3600,
		.multisign = 100,
		.redeliver = true,
		.lock_after = SAM_LOCK_AFTER,
		.lock_seconds = SAM_LOCK_SECONDS,
		.admin = { .name = "administrator", .key = "admin",
		    .peer = PEER_ADMIN, .fd = -1 },
		.so = { .name = "security officer", .key = "so",
		    .peer = PEER_SO, .fd = -1 },
		.auditor = { .name = "auditor", .key = "auditor",
		    .peer = PEER_AUDITOR, .fd = -1 },
	},
	.signer_fd = -1,
};

/* Role sockets: SO_PEERCRED's uid and primary gid plus the peer's
 * supplementary groups (SO_PEERGROUPS: from the socket, no file access). A
 * peer that would also qualify for the opposite role is refused. */
static bool admit_role(const struct srv_listener *l, int fd,
    const struct ucred *cred)
{
	struct sam_config *c = &the_app.cfg;
	const struct sam_role *r = l->admit_arg;
	gid_t groups[PEER_GROUPS_MAX];
	socklen_t len = sizeof groups;
	int n = 0;
	bool ok, other;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		n = (int)(len / sizeof groups[0]);
	else if (r->gid_set)
		log_warn("%s socket: peer uid %u: supplementary groups "
		    "unknown (%s): only its uid and primary group count",
		    r->name, (unsigned)cred->uid, strerror(errno));
	ok = role_admits_ids(r, cred->uid, cred->gid, groups, n);
	if (r == &c->auditor)
		other = role_admits_ids(&c->admin, cred->uid, cred->gid, groups,
		    n) || role_admits_ids(&c->so, cred->uid, cred->gid, groups, n);
	else
		other = role_admits_ids(&c->auditor, cred->uid, cred->gid,
		    groups, n);
	if (ok && other)
		log_warn("%s socket: peer uid %u would hold the %s role and "
		    "the %s role: refused", r->name, (unsigned)cred->uid,
		    r->name, r == &c->auditor ? "administrator/SO" : "auditor");
	return ok && !other;
}

static int serve(void *a, volatile int *stop)
{
	struct sam_app *app = a;
	struct sam_config *c = &app->cfg;
	struct sam_role *roles[] = { &c->admin, &c->so, &c->auditor };
	/* "own uid" is the one we run as after dropping privileges */
	uid_t self = getuid();
	struct srv_listener ls[4] = {
		{ .name = "signer", .fd = app->signer_fd, .peer = PEER_SIC,
		  .uids = { c->sic_uid_set ? c->sic_uid : self },
		  .n_uids = 1 },
	};
	int n_ls = 1, r;

	for (size_t i = 0; i < 3; i++) {
		if (!roles[i]->socket)
			continue;
		if (roles[i]->default_self) {
			roles[i]->uids[0] = self;
			roles[i]->n_uids = 1;
		}
	}
	for (size_t i = 1; i < 3; i++) {
		if (roles[i - 1]->default_self && role_admits_ids(&c->auditor,
		    self, (gid_t)-1, NULL, 0)) {
			log_err("[sam] the service's own uid %u would be %s "
			    "and auditor", (unsigned)self, roles[i - 1]->name);
			return 1;
		}
	}
	for (size_t i = 0; i < 3; i++) {
		if (!roles[i]->socket)
			continue;
		ls[n_ls].name = roles[i]->key;
		ls[n_ls].fd = roles[i]->fd;
		ls[n_ls].peer = roles[i]->peer;
		ls[n_ls].admit = admit_role;
		ls[n_ls].admit_arg = roles[i];
		n_ls++;
		if (roles[i]->gid_set)
			log_info("%s socket %s: %d uid(s) (first %u) and group %u",
			    roles[i]->name, roles[i]->socket, roles[i]->n_uids,
			    roles[i]->n_uids ? (unsigned)roles[i]->uids[0] : 0u,
			    (unsigned)roles[i]->gid);
		else
			log_info("%s socket %s: %d uid(s) (first %u)",
			    roles[i]->name, roles[i]->socket, roles[i]->n_uids,
			    (unsigned)roles[i]->uids[0]);
	}
	log_info("serving signer=%s (uid %u) scm=%s multisign=%u "
	    "sad_lifetime=%u token_lifetime=%u lock_after=%u lock_seconds=%u%s "
	    "redeliver=%s",
	    c->signer_socket, (unsigned)ls[0].uids[0], c->scm_socket,
	    c->multisign, c->sad_lifetime, c->token_lifetime, c->lock_after,
	    c->lock_seconds, c->lock_seconds ? "" : " (until unlocked)",
	    c->redeliver ? "yes" : "no");
	audit_serve(app);       /* issue 5: group commit, refused peers */
	/* issue 7 item 5: a restored database's pending marks, fail closed */
	if ((r = sam_backup_resume(app)) < 0) {
		log_err("restore: cannot finish the restore: %s", strerror(-r));
		return 1;
	}
	r = srv_run(ls, n_ls, handlers,
	    (int)(sizeof handlers / sizeof handlers[0]), app, stop);
	if (r < 0) {
		log_err("serve: %s", strerror(-r));
		return 1;
	}
	return 0;
}

static void fini(void *a)
{
	struct sam_app *app = a;
	struct sam_role *roles[] = { &app->cfg.admin, &app->cfg.so,
	    &app->cfg.auditor };

	audit_close(app);       /* issue 5: process.stop, last checkpoint */
	sam_scm_close(&app->scm);
	sam_store_close(app->core.store);
	app->core.store = NULL;
	if (app->signer_fd >= 0)
		close(app->signer_fd);
	app->signer_fd = -1;
	for (size_t i = 0; i < 3; i++) {
		if (roles[i]->fd >= 0)
			close(roles[i]->fd);
		roles[i]->fd = -1;
	}
}


static const struct daemon_desc desc = {
	.name = "inkan-sam",
	.section = "sam",
	.config_key = config_key,
	.config_done = config_done,
	.init = init,
	.policy = &sandbox_policy_sam,
	.serve = serve,
	.fini = fini,
	.app = &the_app,
};

/* inkan-sam --config FILE --init-db: create or upgrade the schema, exit. */
static int init_db(const char *config)
{
	struct sam_store *st;
	int r, version = 0;

	if (daemon_load_config(&desc, config) < 0)
		return 1;
	r = sam_store_open(the_app.cfg.database, &st);
	if (r < 0) {
		log_err("database %s: %s", the_app.cfg.database, strerror(-r));
		return 1;
	}
	r = sam_store_schema_version(st, &version);
	sam_store_close(st);
	if (r < 0) {
		log_err("database %s: %s", the_app.cfg.database, strerror(-r));
		return 1;
	}
	log_info("database %s ready (schema version %d)", the_app.cfg.database,
	    version);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	bool want_init_db = false, want_restore_db = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--init-db"))
			want_init_db = true;
		else if (!strcmp(argv[i], "--restore-db"))    /* issue 7 item 5 */
			want_restore_db = true;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
	}
	if (want_restore_db) {
		log_init(desc.name);
		if (!config) {
			log_err("usage: inkan-sam --config FILE --restore-db < INPUT");
			return 2;
		}
		if (daemon_load_config(&desc, config) < 0)
			return 1;
		return sam_backup_restore_db(&the_app);
	}
	if (want_init_db) {
		log_init(desc.name);
		if (!config) {
			log_err("usage: inkan-sam --config FILE --init-db");
			return 2;
		}
		return init_db(config);
	}
	return daemon_main(&desc, argc, argv);
}
