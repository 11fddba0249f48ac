/* server.h — the request loop shared by inkan-sam and inkan-scm: listeners
 * each admit one class of peer (checked with SO_PEERCRED), requests are
 * dispatched from a table {type, allowed peer classes, request descriptor,
 * handler}; an unknown type or a type the peer's class may not send closes the
 * connection. Handlers: unpack is done, then validate -> check state -> act ->
 * srv_reply(). */
#ifndef INKAN_SERVER_H
#define INKAN_SERVER_H

#include <stdbool.h>
#include <sys/socket.h>
#include "ipc.h"

/* Peer classes (bit flags). */
enum srv_peer {
	PEER_SIC = 1u << 0,     /* inkan-sic on the SAM's signer socket */
	PEER_ADMIN = 1u << 1,   /* administrator (inkanctl) on the admin socket */
	PEER_SAM = 1u << 2,     /* inkan-sam on the SCM's socket */
	PEER_SO = 1u << 3,      /* security officer (inkanctl) on the SO socket */
	PEER_AUDITOR = 1u << 4, /* auditor (inkanctl) on the auditor socket */
};

struct srv_ctx {
	int fd;
	uint64_t id;
	uint32_t type;
	unsigned peer;            /* the listener's peer class */
	struct ucred cred;        /* SO_PEERCRED at accept time */
	bool replied;
	bool send_failed;         /* srv_reply could not send: drop peer */
	char detail[IPC_DETAIL_MAX];
	void *app;
};

typedef Inkan__Status (*srv_handler_fn)(struct srv_ctx *c,
    const ProtobufCMessage *req);

struct srv_handler {
	uint32_t type;                            /* request MsgType */
	unsigned peers;                           /* PEER_* allowed to send it */
	const ProtobufCMessageDescriptor *desc;   /* request body */
	srv_handler_fn fn;
};

#define SRV_MAX_UIDS 4
struct srv_listener {
	const char *name;       /* for logs: "signer", "admin", "crypto" */
	int fd;
	unsigned peer;          /* class granted to whoever connects here */
	uid_t uids[SRV_MAX_UIDS];   /* allowed peer uids */
	int n_uids;
	/* Optional (issue 3, role sockets): when set, decides admission
	 * instead of the uid list, e.g. by the peer's groups (SO_PEERGROUPS
	 * on fd). Called right after accept with SO_PEERCRED in cred. */
	bool (*admit)(const struct srv_listener *l, int fd,
	    const struct ucred *cred);
	void *admit_arg;
};

/* Send the OK reply (type = request + 1). Exactly once per request. */
int srv_reply(struct srv_ctx *c, const ProtobufCMessage *rep);
/* Reason text sent with a non-OK status; never put a secret in it. */
void srv_detail(struct srv_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Optional application hooks (issue 5, audit trail; one set per process).
 * round: called at the top of every loop iteration, before poll(), i.e.
 *   after all requests of the previous round were handled. inkan-sam's audit
 *   trail syncs the round's records there (group commit) and sends the
 *   replies it held back: the loop never closes a connection between a
 *   handler's return and this call, so a held-back reply reaches its peer.
 * refused: a peer was turned away at a listener (why: short reason). */
struct srv_hooks {
	void (*round)(void *app);
	void (*refused)(void *app, const struct srv_listener *l,
	    const struct ucred *cred, const char *why);
};
void srv_set_hooks(const struct srv_hooks *h);

/* Serve until *stop becomes nonzero. Single-threaded poll loop. */
int srv_run(struct srv_listener *ls, int n_ls, const struct srv_handler *tab,
    int n_tab, void *app, volatile int *stop);

#endif
