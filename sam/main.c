/* main.c — inkan-sam, the Signature Activation Module.
 * SECURITY: verifies both of the signer's factors (Argon2id PIN, TOTP with
 * replay protection), issues and checks SAD, and owns the signer database.
 * No network: it accepts only inkan-sic on the signer socket (PEER_SIC, uid
 * sic_uid) and inkanctl on the admin socket (PEER_ADMIN, uid admin_uid), and
 * its only outgoing peer is inkan-scm, which obeys nobody else. A SIGN reaches
 * the SCM only after a SAD bound to that user, credential, token and exact
 * digest was consumed in the database. No admin message can produce a
 * signature over caller-chosen data (the CSR is built here). Never logs a
 * password, PIN, OTP, token, SAD or key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "log.h"
#include "util.h"
#include "sam.h"
#include "auth.h"
#include "scm_client.h"
#include "store.h"

static int config_key(void *a, const char *key, const char *value)
{
	struct sam_app *app = a;
	struct sam_config *c = &app->cfg;
	unsigned long v;
	int b, r;

	if (!strcmp(key, "signer_socket")) {
		free(c->signer_socket);
		c->signer_socket = cfg_strdup(value);
	} else if (!strcmp(key, "admin_socket")) {
		free(c->admin_socket);
		c->admin_socket = cfg_strdup(value);
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
	} else if (!strcmp(key, "admin_uid")) {
		if ((r = cfg_uid(value, &c->admin_uid)) < 0)
			return r;
		c->admin_uid_set = true;
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
	} else {
		return -EINVAL;
	}
	return 0;
}

static int config_done(void *a)
{
	struct sam_app *app = a;
	struct sam_config *c = &app->cfg;

	if (!c->signer_socket || !c->admin_socket || !c->scm_socket ||
	    !c->database) {
		log_err("[sam] needs signer_socket, admin_socket, scm_socket "
		    "and database");
		return -EINVAL;
	}
	if (!strcmp(c->signer_socket, c->admin_socket)) {
		log_err("[sam] signer_socket and admin_socket must differ");
		return -EINVAL;
	}
	return 0;
}

static int64_t clock_now(void)
{
	return now_s();
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

static int init(void *a)
{
	struct sam_app *app = a;
	struct sam_core *core = &app->core;
	int r;

	/* Files the libraries would otherwise open lazily, after the sandbox
	 * forbids it: OpenSSL's configuration, and the time zone that
	 * strftime() in the log code loads on its first use. */
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	tzset();

	core->now = clock_now;
	core->sad_lifetime = app->cfg.sad_lifetime;
	core->token_lifetime = app->cfg.token_lifetime;
	core->multisign = app->cfg.multisign;
	core->lock_after = SAM_LOCK_AFTER;
	core->lock_seconds = SAM_LOCK_SECONDS;
	if ((r = sam_auth_init(core, app->cfg.kdf_moderate)) < 0) {
		log_err("crypto libraries: %s", strerror(-r));
		return r;
	}
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
	sam_scm_init(&app->scm, app->cfg.scm_socket);

	app->signer_fd = ipc_listen(app->cfg.signer_socket, 0660);
	if (app->signer_fd < 0) {
		log_err("signer socket %s: %s", app->cfg.signer_socket,
		    strerror(-app->signer_fd));
		return app->signer_fd;
	}
	app->admin_fd = ipc_listen(app->cfg.admin_socket, 0600);
	if (app->admin_fd < 0) {
		log_err("admin socket %s: %s", app->cfg.admin_socket,
		    strerror(-app->admin_fd));
		return app->admin_fd;
	}
	/* Sockets and database files belong to the user we drop to. */
	if ((r = daemon_chown_path(app->cfg.signer_socket)) < 0 ||
	    (r = daemon_chown_path(app->cfg.admin_socket)) < 0 ||
	    (r = chown_db(app->cfg.database)) < 0) {
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
	{ INKAN__MSG_TYPE__ADMIN_USER_ADD_REQ, PEER_ADMIN,
	  &inkan__user_add_req__descriptor, sam_answer_user_add },
	{ INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ, PEER_ADMIN,
	  &inkan__user_list_req__descriptor, sam_answer_user_list },
	{ INKAN__MSG_TYPE__ADMIN_CRED_CREATE_REQ, PEER_ADMIN,
	  &inkan__cred_create_req__descriptor, sam_answer_cred_create },
	{ INKAN__MSG_TYPE__ADMIN_CRED_IMPORT_REQ, PEER_ADMIN,
	  &inkan__cred_import_req__descriptor, sam_answer_cred_import },
	{ INKAN__MSG_TYPE__ADMIN_CRED_LIST_REQ, PEER_ADMIN,
	  &inkan__cred_list_req__descriptor, sam_answer_cred_list },
};

static int serve(void *a, volatile int *stop)
{
	struct sam_app *app = a;
	/* "own uid" is the one we run as after dropping privileges */
	uid_t self = getuid();
	struct srv_listener ls[2] = {
		{ .name = "signer", .fd = app->signer_fd, .peer = PEER_SIC,
		  .uids = { app->cfg.sic_uid_set ? app->cfg.sic_uid : self },
		  .n_uids = 1 },
		{ .name = "admin", .fd = app->admin_fd, .peer = PEER_ADMIN,
		  .uids = { app->cfg.admin_uid_set ? app->cfg.admin_uid : self },
		  .n_uids = 1 },
	};
	int r;

	log_info("serving signer=%s (uid %u) admin=%s (uid %u) scm=%s "
	    "multisign=%u sad_lifetime=%u token_lifetime=%u",
	    app->cfg.signer_socket, (unsigned)ls[0].uids[0],
	    app->cfg.admin_socket, (unsigned)ls[1].uids[0],
	    app->cfg.scm_socket, app->cfg.multisign, app->cfg.sad_lifetime,
	    app->cfg.token_lifetime);
	r = srv_run(ls, 2, handlers, (int)(sizeof handlers / sizeof handlers[0]),
	    app, stop);
	if (r < 0) {
		log_err("serve: %s", strerror(-r));
		return 1;
	}
	return 0;
}

static void fini(void *a)
{
	struct sam_app *app = a;

	sam_scm_close(&app->scm);
	sam_store_close(app->core.store);
	app->core.store = NULL;
	if (app->signer_fd >= 0)
		close(app->signer_fd);
	if (app->admin_fd >= 0)
		close(app->admin_fd);
	app->signer_fd = app->admin_fd = -1;
}

static struct sam_app the_app = {
	.cfg = {
		.sad_lifetime = 300,
		.token_lifetime = 3600,
		.multisign = 100,
	},
	.signer_fd = -1,
	.admin_fd = -1,
};

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
	bool want_init_db = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--init-db"))
			want_init_db = true;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
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
