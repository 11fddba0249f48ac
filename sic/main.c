/* main.c — inkan-sic, the Signer Interaction Component: the only inkan
 * process on the network. It serves the CSC API (v1 and v2) over HTTP with
 * libmicrohttpd and turns each call into one signer.proto request to
 * inkan-sam, and the reply back into CSC JSON.
 *
 * SECURITY: inkan-sic translates HTTP/JSON into signer.proto requests to
 * inkan-sam and back. It holds no secrets (passwords, PINs and OTPs from
 * requests are relayed to the SAM in sodium_malloc'd memory and wiped;
 * tokens and SADs are wiped where it holds them) and no persistent state.
 * If it is fully compromised it can only relay what a signer sends: every
 * decision (factors, SAD, ownership, limits) is the SAM's. Its TCP socket
 * is bound before privileges are dropped; after that it may only make
 * AF_UNIX sockets (to reach the SAM) under policy/seccomp-sic.c. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "csc.h"
#include "daemon.h"
#include "log.h"
#include "samc.h"

#define SIC_CONNECTION_LIMIT    256
#define SIC_CONNECTION_TIMEOUT  30              /* seconds idle */
#define SIC_CONNECTION_MEMORY   (64 * 1024)     /* headers + read buffer */
#define SIC_LISTEN_BACKLOG      128

struct sic_app {
	char *listen;                   /* as configured, for logs */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char *sam_socket;
	unsigned threads;
	size_t max_body;
	int listen_fd;
	struct MHD_Daemon *mhd;
	struct samc *samc;
	struct csc_sam sam;
	atomic_bool ready;              /* set in serve(), after the sandbox */
};

/* One HTTP request's state across MHD's access-handler calls. */
struct sic_req {
	char *body;                     /* wiped on free: may carry a PIN/OTP */
	size_t len, cap;
	bool too_large;
	bool answered;
};

/* ---- config ------------------------------------------------------------ */

/* ADDR:PORT with ADDR a literal IPv4 address or [IPv6]; port 0 = any. */
static int parse_listen(const char *v, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	unsigned long port;
	size_t hl;
	bool v6 = v[0] == '[';

	if (v6) {
		const char *rb = strchr(v, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - v - 1);
		if (hl == 0 || hl >= sizeof host)
			return -EINVAL;
		memcpy(host, v + 1, hl);
		colon = rb + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - v);
		if (hl == 0 || hl >= sizeof host)
			return -EINVAL;
		memcpy(host, v, hl);
	}
	host[hl] = '\0';
	if (cfg_uint(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	memset(ss, 0, sizeof *ss);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		*len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof *a;
	}
	return 0;
}

static int config_key(void *p, const char *key, const char *value)
{
	struct sic_app *app = p;
	unsigned long n;

	if (strcmp(key, "listen") == 0) {
		if (parse_listen(value, &app->addr, &app->addr_len) < 0)
			return -EINVAL;
		free(app->listen);
		app->listen = cfg_strdup(value);
	} else if (strcmp(key, "sam_socket") == 0) {
		if (!value[0])
			return -EINVAL;
		free(app->sam_socket);
		app->sam_socket = cfg_strdup(value);
	} else if (strcmp(key, "threads") == 0) {
		if (cfg_uint(value, 1, 64, &n) < 0)
			return -EINVAL;
		app->threads = (unsigned)n;
	} else if (strcmp(key, "max_body") == 0) {
		if (cfg_uint(value, 1024, 16 * 1024 * 1024, &n) < 0)
			return -EINVAL;
		app->max_body = n;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int config_done(void *p)
{
	struct sic_app *app = p;

	if (!app->sam_socket) {
		log_err("config [sic]: sam_socket is required");
		return -EINVAL;
	}
	if (!app->listen) {
		app->listen = cfg_strdup("127.0.0.1:8080");
		if (parse_listen(app->listen, &app->addr, &app->addr_len) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ---- HTTP -------------------------------------------------------------- */

static void req_free(struct sic_req *rq)
{
	if (!rq)
		return;
	if (rq->body) {
		sodium_memzero(rq->body, rq->cap);
		free(rq->body);
	}
	free(rq);
}

/* Append without realloc, so no copy of a PIN is left behind unwiped. */
static int req_append(struct sic_req *rq, const char *data, size_t n,
    size_t max)
{
	if (n > max || rq->len > max - n)
		return -EFBIG;
	if (rq->len + n + 1 > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 4096;
		char *nb;

		while (cap < rq->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		nb = malloc(cap);
		if (!nb)
			return -ENOMEM;
		if (rq->body) {
			memcpy(nb, rq->body, rq->len);
			sodium_memzero(rq->body, rq->cap);
			free(rq->body);
		}
		rq->body = nb;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = '\0';
	return 0;
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, n, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)n);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
		    (socklen_t)n);
}

static enum MHD_Result send_rep(struct MHD_Connection *conn,
    struct csc_http_rep *rp)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	if (rp->body) {
		r = MHD_create_response_from_buffer_with_free_callback_cls(
		    rp->body_len, rp->body, csc_body_free, rp->body);
		if (!r) {
			csc_body_free(rp->body);
			rp->body = NULL;
			return MHD_NO;
		}
		rp->body = NULL;        /* MHD owns it now */
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
	} else {
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_PRAGMA, "no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (rp->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rp->allow);
	if (rp->www_authenticate)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    rp->www_authenticate);
	ok = MHD_queue_response(conn, rp->status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned http,
    const char *error, const char *desc)
{
	struct csc_http_rep rp;
	struct csc_err e;

	memset(&rp, 0, sizeof rp);
	csc_error_set(&e, http, error, "%s", desc);
	csc_rep_error(&rp, &e);
	return send_rep(conn, &rp);
}

static void log_request(struct MHD_Connection *conn, const char *method,
    const char *url, unsigned status)
{
	char ip[INET6_ADDRSTRLEN];

	client_addr(conn, ip, sizeof ip);
	/* The path carries no secret (MHD keeps the query apart; CSC puts
	 * everything in the body and headers). */
	log_info("%s %.16s %.96s %u", ip, method, url, status);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct sic_app *app = cls;
	struct sic_req *rq = *con_cls;
	struct csc_http_req hr;
	struct csc_http_rep rp;
	enum MHD_Result ok;

	if (!rq) {
		const char *cl;

		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		if (!atomic_load(&app->ready)) {
			rq->answered = true;
			log_request(conn, method, url, 503);
			return send_error(conn, 503, "temporarily_unavailable",
			    "The service is starting");
		}
		/* Refuse an announced oversize body before reading it. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > app->max_body) {
			rq->answered = true;
			log_request(conn, method, url, 413);
			return send_error(conn, 413, "invalid_request",
			    "Request body too large");
		}
		return MHD_YES;
	}
	if (rq->answered) {
		*upload_data_size = 0;  /* discard the rest */
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rq->too_large &&
		    req_append(rq, upload_data, *upload_data_size,
		    app->max_body) < 0) {
			rq->too_large = true;
			if (rq->body) {
				sodium_memzero(rq->body, rq->cap);
				free(rq->body);
				rq->body = NULL;
				rq->len = rq->cap = 0;
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	memset(&hr, 0, sizeof hr);
	hr.method = method;
	hr.path = url;
	hr.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	hr.body = rq->body ? rq->body : "";
	hr.body_len = rq->len;
	hr.body_too_large = rq->too_large;
	csc_handle(&app->sam, &hr, &rp);
	rq->answered = true;
	/* Done with the body: wipe it now rather than at connection end. */
	if (rq->body) {
		sodium_memzero(rq->body, rq->cap);
		free(rq->body);
		rq->body = NULL;
		rq->len = rq->cap = 0;
	}
	log_request(conn, method, url, rp.status);
	ok = send_rep(conn, &rp);
	csc_body_free(rp.body);
	return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
    void **con_cls, enum MHD_RequestTerminationCode toe)
{
	req_free(*con_cls);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

/* ---- daemon ------------------------------------------------------------ */

static int open_listener(struct sic_app *app)
{
	int fd, one = 1, r;
	char host[INET6_ADDRSTRLEN] = "?";
	struct sockaddr_storage bound;
	socklen_t bl = sizeof bound;
	unsigned port = 0;

	fd = socket(app->addr.ss_family,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (app->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    bind(fd, (struct sockaddr *)&app->addr, app->addr_len) < 0 ||
	    listen(fd, SIC_LISTEN_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &bl) < 0) {
		r = -errno;
		log_err("cannot listen on %s: %s", app->listen, strerror(-r));
		close(fd);
		return r;
	}
	if (bound.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&bound;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		port = ntohs(a->sin_port);
	} else if (bound.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&bound;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		port = ntohs(a->sin6_port);
	}
	log_info("listening on %s port %u (HTTP)", host, port);
	app->listen_fd = fd;
	return 0;
}

/* MHD starts its threads in MHD_start_daemon and returns at once. A thread
 * still in its start-up (rseq, set_robust_list, prctl(PR_SET_NAME)) when the
 * sandbox is loaded would be killed by it; naming itself "MHD-..." is the
 * last of those steps, so wait until all have done it rather than allowing
 * prctl after the sandbox. */
static int wait_workers(unsigned want)
{
	const struct timespec tick = { 0, 5 * 1000 * 1000 };
	unsigned tries, named;

	for (tries = 0; tries < 400; tries++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *de;

		if (!d)
			return -errno;
		named = 0;
		while ((de = readdir(d)) != NULL) {
			char path[64], comm[32] = "";
			FILE *f;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "/proc/self/task/%.20s/comm",
			    de->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(comm, sizeof comm, f) &&
			    strncmp(comm, "MHD-", 4) == 0)
				named++;
			fclose(f);
		}
		closedir(d);
		if (named >= want)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

static int init(void *p)
{
	struct sic_app *app = p;
	struct MHD_OptionItem opts[16];
	unsigned flags, n = 0;
	int r;

	/* glibc malloc would look things up lazily, after the sandbox: the
	 * first shrink of a thread arena reads /proc/sys/vm/overcommit_memory,
	 * and creating more arenas than 8 asks for the CPU count. Never trim
	 * (large blocks are mmap'd and unmapped anyway) and cap the arenas. */
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	mallopt(M_ARENA_MAX, (int)app->threads + 1);
	if (sodium_init() < 0)
		return -EIO;
	csc_init();
	if ((r = samc_new(app->sam_socket, app->threads, &app->samc)) < 0)
		return r;
	app->sam.call = samc_call;
	app->sam.ctx = app->samc;
	/* Bind now: after the sandbox this process cannot make a TCP socket. */
	if ((r = open_listener(app)) < 0)
		return r;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG;
	/* TLS (later issue): add MHD_USE_TLS to flags and
	 * MHD_OPTION_HTTPS_MEM_KEY / MHD_OPTION_HTTPS_MEM_CERT below. */
#define OPT(o, v, ptr) \
	opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (ptr) }
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL);   /* first: MHD asks */
	OPT(MHD_OPTION_LISTEN_SOCKET, app->listen_fd, NULL);
	OPT(MHD_OPTION_THREAD_POOL_SIZE, app->threads, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, SIC_CONNECTION_LIMIT, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, SIC_CONNECTION_TIMEOUT, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, SIC_CONNECTION_MEMORY, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, app);
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	app->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, app,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!app->mhd) {
		log_err("cannot start the HTTP server");
		close(app->listen_fd);
		app->listen_fd = -1;
		return -EIO;
	}
	app->listen_fd = -1;    /* MHD closes it */
	if ((r = wait_workers(app->threads)) < 0) {
		log_err("HTTP worker threads did not start: %s", strerror(-r));
		return r;
	}
	log_info("%u HTTP worker threads, max body %zu bytes, SAM at %s",
	    app->threads, app->max_body, app->sam_socket);
	return 0;
}

static int serve(void *p, volatile int *stop)
{
	struct sic_app *app = p;
	const struct timespec tick = { 0, 200 * 1000 * 1000 };

	atomic_store(&app->ready, true);
	while (!*stop)
		nanosleep(&tick, NULL);
	atomic_store(&app->ready, false);
	MHD_stop_daemon(app->mhd);
	app->mhd = NULL;
	return 0;
}

static void fini(void *p)
{
	struct sic_app *app = p;

	samc_free(app->samc);
	app->samc = NULL;
	free(app->listen);
	free(app->sam_socket);
}

int main(int argc, char **argv)
{
	static struct sic_app app = {
		.threads = 4,
		.max_body = 1024 * 1024,
		.listen_fd = -1,
	};
	static const struct daemon_desc d = {
		.name = "inkan-sic",
		.section = "sic",
		.config_key = config_key,
		.config_done = config_done,
		.init = init,
		.policy = &sandbox_policy_sic,
		.serve = serve,
		.fini = fini,
		.app = &app,
	};

	return daemon_main(&d, argc, argv);
}
