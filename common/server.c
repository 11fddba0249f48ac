/* server.c — the single-threaded request loop of inkan-sam and inkan-scm.
 * Admission: a listener admits one peer class; SO_PEERCRED uid must be on
 * its list. Dispatch: table lookup by type, then the peer-class check, then a
 * strict unpack; anything unknown or unpermitted closes the connection. The
 * reply always carries the request's id and the request type + 1. */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "server.h"

#define SRV_MAX_CONN 128

struct conn {
	int fd;
	int listener;             /* index into the listener array */
	struct ucred cred;
};

static const struct srv_hooks *hooks;   /* issue 5: audit trail */

void
srv_set_hooks(const struct srv_hooks *h)
{
	hooks = h;
}

int
srv_reply(struct srv_ctx *c, const ProtobufCMessage *rep)
{
	int r;

	if (c->replied)
		return -EALREADY;
	c->replied = true;
	r = ipc_send(c->fd, c->id, ipc_reply_type(c->type), INKAN__STATUS__OK,
	    NULL, rep);
	if (r < 0) {
		/* The peer must not wait forever: the loop drops it. */
		log_warn("reply to request %u failed: %s", c->type, strerror(-r));
		c->send_failed = true;
	}
	return r;
}

void
srv_detail(struct srv_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

/* Requests carry passwords, PINs, OTPs, the SO PIN and key material:
 * every block of an unpacked request is wiped before it is freed (the
 * default allocator of protobuf-c unpacked it with malloc). */
static void *plain_alloc(void *data, size_t size)
{
	(void)data;
	return malloc(size);
}

static void wipe_free(void *data, void *p)
{
	(void)data;
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static ProtobufCAllocator wiping_free = { plain_alloc, wipe_free, NULL };

static const struct srv_handler *
find_handler(const struct srv_handler *tab, int n, uint32_t type)
{
	int i;

	for (i = 0; i < n; i++)
		if (tab[i].type == type)
			return &tab[i];
	return NULL;
}

static bool
uid_allowed(const struct srv_listener *l, uid_t uid)
{
	int i;

	for (i = 0; i < l->n_uids; i++)
		if (l->uids[i] == uid)
			return true;
	return false;
}

/* Returns 0 to keep the connection, -1 to close it. */
static int
serve_one(struct conn *cn, const struct srv_listener *l,
    const struct srv_handler *tab, int n_tab, void *app)
{
	Inkan__Envelope *env = NULL;
	const struct srv_handler *h;
	ProtobufCMessage *req;
	struct srv_ctx c;
	Inkan__Status st;
	int r;

	if ((r = ipc_recv(cn->fd, &env)) < 0) {
		if (r != -ECONNRESET)
			log_warn("%s peer pid %d uid %u: bad frame (%s), closing",
			    l->name, (int)cn->cred.pid, (unsigned)cn->cred.uid,
			    strerror(-r));
		return -1;
	}
	h = find_handler(tab, n_tab, env->type);
	if (h == NULL || (h->peers & l->peer) == 0 || env->has_status ||
	    env->detail != NULL) {
		log_warn("%s peer pid %d uid %u: message type %u not permitted "
		    "here, closing", l->name, (int)cn->cred.pid,
		    (unsigned)cn->cred.uid, env->type);
		if (hooks != NULL && hooks->refused != NULL)
			hooks->refused(app, l, &cn->cred,
			    "message type not permitted here");
		ipc_envelope_free(env);
		return -1;
	}
	{
		static const ProtobufCBinaryData none = { 0, NULL };
		req = ipc_unpack(h->desc, env->has_body ? &env->body : &none);
	}
	if (req == NULL) {
		log_warn("%s peer pid %d uid %u: malformed body for type %u, "
		    "closing", l->name, (int)cn->cred.pid,
		    (unsigned)cn->cred.uid, env->type);
		ipc_envelope_free(env);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.fd = cn->fd;
	c.id = env->id;
	c.type = env->type;
	c.peer = l->peer;
	c.cred = cn->cred;
	c.app = app;
	ipc_envelope_free(env);

	st = h->fn(&c, req);
	protobuf_c_message_free_unpacked(req, &wiping_free);
	if (st == INKAN__STATUS__OK && !c.replied) {
		log_err("handler for type %u answered nothing", c.type);
		st = INKAN__STATUS__INTERNAL;
	}
	if (c.send_failed)
		return -1;
	if (st != INKAN__STATUS__OK && !c.replied) {
		r = ipc_send(c.fd, c.id, ipc_reply_type(c.type), st, c.detail,
		    NULL);
		if (r < 0)
			return -1;
	}
	return 0;
}

int
srv_run(struct srv_listener *ls, int n_ls, const struct srv_handler *tab,
    int n_tab, void *app, volatile int *stop)
{
	struct pollfd pfd[SRV_MAX_CONN + 8];
	struct conn conns[SRV_MAX_CONN];
	int n_conn = 0, i, n;

	if (n_ls > 8)
		return -EINVAL;
	while (!*stop) {
		daemon_heartbeat();        /* systemd watchdog, when enabled */
		if (hooks != NULL && hooks->round != NULL)
			hooks->round(app);  /* issue 5: group commit */
		for (i = 0; i < n_ls; i++) {
			pfd[i].fd = ls[i].fd;
			/* Full: stop accepting until a slot frees up. */
			pfd[i].events = n_conn < SRV_MAX_CONN ? POLLIN : 0;
			pfd[i].revents = 0;
		}
		for (i = 0; i < n_conn; i++) {
			pfd[n_ls + i].fd = conns[i].fd;
			pfd[n_ls + i].events = POLLIN;
			pfd[n_ls + i].revents = 0;
		}
		n = poll(pfd, (nfds_t)(n_ls + n_conn), 500);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			continue;
		/* Connections first (indices shift when one closes). */
		for (i = n_conn - 1; i >= 0; i--) {
			short re = pfd[n_ls + i].revents;
			if (re == 0)
				continue;
			if ((re & POLLIN) == 0 ||
			    serve_one(&conns[i], &ls[conns[i].listener], tab,
			    n_tab, app) < 0) {
				close(conns[i].fd);
				conns[i] = conns[--n_conn];
			}
		}
		for (i = 0; i < n_ls; i++) {
			struct ucred cred = { 0, 0, 0 };
			int fd;

			if ((pfd[i].revents & POLLIN) == 0)
				continue;
			fd = accept4(ls[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (ipc_peercred(fd, &cred) < 0 ||
			    !(ls[i].admit ? ls[i].admit(&ls[i], fd, &cred) :
			    uid_allowed(&ls[i], cred.uid))) {
				log_warn("%s socket: refused peer pid %d uid %u "
				    "gid %u (not an allowed peer)", ls[i].name,
				    (int)cred.pid, (unsigned)cred.uid,
				    (unsigned)cred.gid);
				if (hooks != NULL && hooks->refused != NULL)
					hooks->refused(app, &ls[i], &cred,
					    "not an allowed peer");
				close(fd);
				continue;
			}
			conns[n_conn].fd = fd;
			conns[n_conn].listener = i;
			conns[n_conn].cred = cred;
			n_conn++;
		}
	}
	for (i = 0; i < n_conn; i++)
		close(conns[i].fd);
	return 0;
}
