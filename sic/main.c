/* main.c — inkan-sic, the Signer Interaction Component: the only inkan
 * process on the network. It serves the CSC API (v1 and v2) and the OAuth2
 * consent page over HTTPS (TLS 1.2/1.3, libmicrohttpd with GnuTLS; plain
 * HTTP only on loopback and only when allow_plain_http = true) and turns
 * each call into signer.proto requests to inkan-sam, and the replies back
 * into CSC JSON or HTML.
 *
 * SECURITY: inkan-sic translates HTTP/JSON into signer.proto requests to
 * inkan-sam and back. It holds no secrets (passwords, PINs and OTPs from
 * requests are relayed to the SAM in sodium_malloc'd memory and wiped;
 * tokens and SADs are wiped where it holds them) and no persistent state.
 * If it is fully compromised it can only relay what a signer sends: every
 * decision (factors, SAD, ownership, limits) is the SAM's. Its TCP socket
 * is bound and its certificate files are read before privileges are
 * dropped; after that it may only make AF_UNIX sockets (to reach the SAM)
 * under policy/seccomp-sic.c. The TLS private key is the one key it holds:
 * it protects the transport only and can sign nothing; its buffer is wiped
 * once GnuTLS has parsed it. The CSRF key of the consent page is random per
 * process and authorises nothing either. */
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

#include <fcntl.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <sodium.h>

#include "csc.h"
#include "daemon.h"
#include "log.h"
#include "ratelimit.h"
#include "samc.h"

#define SIC_CONNECTION_LIMIT    256             /* default max_connections */
#define SIC_PER_IP_LIMIT        64              /* default max_connections_per_ip */
#define SIC_CONNECTION_TIMEOUT  30              /* default, seconds idle */
#define SIC_CONNECTION_MEMORY   (128 * 1024)    /* request line + headers + buffer */
#define SIC_MAX_HEADERS         (16 * 1024)     /* header bytes, answered 431 */
#define SIC_MAX_QUERY           (48 * 1024)     /* query string bytes, answered 414 */
#define SIC_MAX_QUERY_ARGS      64
#define SIC_LISTEN_BACKLOG      128
#define SIC_PEM_MAX             (256 * 1024)    /* certificate / CA file */
#define SIC_RATE_SLOTS          8192
/* TLS 1.3 and 1.2 only; 1.2 with forward-secret AEAD suites only. */
#define SIC_TLS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

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
	/* TLS */
	char *tls_cert_path, *tls_key_path, *tls_ca_path;
	char *cert_pem, *ca_pem;        /* NUL-terminated PEM */
	char *key_pem;                  /* sodium_malloc'd, wiped after start */
	size_t key_size;
	bool allow_plain_http;
	bool tls;
	char *base_url;                 /* configured, or NULL: from Host */
	/* limits */
	unsigned max_conns, per_ip, timeout;
	unsigned rate, burst;
	struct ratelimit *rl;
	uint8_t csrf_key[32];
};

/* One HTTP request's state across MHD's access-handler calls. */
struct sic_req {
	char *body;                     /* wiped on free: may carry a PIN/OTP */
	size_t len, cap;
	bool too_large;
	bool answered;
};

/* Query-string arguments of one request, collected from MHD. */
struct query {
	struct csc_kv kv[SIC_MAX_QUERY_ARGS];
	size_t n;
	size_t bytes;
	bool too_many;
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

/* 127.0.0.0/8 or ::1: the only addresses plain HTTP may be served on. */
static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return false;
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
	} else if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0 ||
	    strcmp(key, "tls_client_ca") == 0) {
		char **dst = strcmp(key, "tls_cert") == 0 ? &app->tls_cert_path :
		    strcmp(key, "tls_key") == 0 ? &app->tls_key_path :
		    &app->tls_ca_path;

		if (!value[0])
			return -EINVAL;
		free(*dst);
		*dst = cfg_strdup(value);
	} else if (strcmp(key, "allow_plain_http") == 0) {
		int b;

		if (cfg_bool(value, &b) < 0)
			return -EINVAL;
		app->allow_plain_http = b;
	} else if (strcmp(key, "base_url") == 0) {
		size_t i, l = strlen(value);

		if ((strncmp(value, "https://", 8) != 0 &&
		    strncmp(value, "http://", 7) != 0) || l > 200 ||
		    value[l - 1] == '/')
			return -EINVAL;
		for (i = 0; i < l; i++)
			if (value[i] <= 0x20 || value[i] >= 0x7f ||
			    strchr("\"<>\\'`", value[i]))
				return -EINVAL;
		free(app->base_url);
		app->base_url = cfg_strdup(value);
	} else if (strcmp(key, "max_connections") == 0) {
		if (cfg_uint(value, 1, 65536, &n) < 0)
			return -EINVAL;
		app->max_conns = (unsigned)n;
	} else if (strcmp(key, "max_connections_per_ip") == 0) {
		if (cfg_uint(value, 1, 65536, &n) < 0)
			return -EINVAL;
		app->per_ip = (unsigned)n;
	} else if (strcmp(key, "connection_timeout") == 0) {
		if (cfg_uint(value, 1, 3600, &n) < 0)
			return -EINVAL;
		app->timeout = (unsigned)n;
	} else if (strcmp(key, "rate_limit") == 0) {
		if (cfg_uint(value, 0, 100000, &n) < 0)
			return -EINVAL;
		app->rate = (unsigned)n;
	} else if (strcmp(key, "rate_burst") == 0) {
		if (cfg_uint(value, 1, 100000, &n) < 0)
			return -EINVAL;
		app->burst = (unsigned)n;
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
	if (!app->tls_cert_path != !app->tls_key_path) {
		log_err("config [sic]: tls_cert and tls_key go together");
		return -EINVAL;
	}
	app->tls = app->tls_cert_path != NULL;
	if (app->tls_ca_path && !app->tls) {
		log_err("config [sic]: tls_client_ca needs tls_cert and tls_key");
		return -EINVAL;
	}
	if (!app->tls && !app->allow_plain_http) {
		log_err("config [sic]: no tls_cert/tls_key; plain HTTP needs "
		    "allow_plain_http = true (and a loopback listen address)");
		return -EINVAL;
	}
	if (!app->tls && !is_loopback(&app->addr)) {
		log_err("config [sic]: refusing plain HTTP on %s: not a "
		    "loopback address (configure tls_cert and tls_key)",
		    app->listen);
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
    struct csc_http_rep *rp, bool tls)
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
		    rp->content_type ? rp->content_type : "application/json");
	} else {
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_PRAGMA, "no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy", rp->csp ? rp->csp :
	    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
	if (tls)
		MHD_add_response_header(r, "Strict-Transport-Security",
		    "max-age=31536000");
	if (rp->location)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION,
		    rp->location);
	if (rp->set_cookie)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE,
		    rp->set_cookie);
	if (rp->retry_after) {
		char ra[16];

		snprintf(ra, sizeof ra, "%u", rp->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (rp->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rp->allow);
	if (rp->www_authenticate)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    rp->www_authenticate);
	ok = MHD_queue_response(conn, rp->status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, bool tls,
    unsigned http, const char *error, const char *desc)
{
	struct csc_http_rep rp;
	struct csc_err e;
	enum MHD_Result ok;

	memset(&rp, 0, sizeof rp);
	csc_error_set(&e, http, error, "%s", desc);
	csc_rep_error(&rp, &e);
	ok = send_rep(conn, &rp, tls);
	csc_rep_clear(&rp);
	return ok;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
    const char *key, const char *value)
{
	size_t *n = cls;

	*n += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
    const char *key, const char *value)
{
	struct query *q = cls;

	q->bytes += strlen(key) + (value ? strlen(value) : 0) + 2;
	if (q->n == SIC_MAX_QUERY_ARGS) {
		q->too_many = true;
		return MHD_NO;
	}
	q->kv[q->n].key = key;
	q->kv[q->n].value = value ? value : "";
	q->n++;
	return MHD_YES;
}

/* tls_client_ca: the peer's certificate chain must verify against it and be
 * meant for TLS clients. GnuTLS holds the trust list MHD gave it. */
static bool client_cert_ok(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	unsigned status = 0;

	if (!ci || !ci->tls_session)
		return false;
	if (gnutls_certificate_type_get(ci->tls_session) != GNUTLS_CRT_X509)
		return false;
	if (gnutls_certificate_verify_peers(ci->tls_session, &purpose, 1,
	    &status) != GNUTLS_E_SUCCESS)
		return false;
	return status == 0;
}

/* "https://Host" from the Host header when base_url is not configured:
 * only a plain host[:port] is accepted. */
static void base_from_host(struct MHD_Connection *conn, bool tls, char *out,
    size_t n)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	size_t i, l = h ? strlen(h) : 0;

	out[0] = '\0';
	if (l == 0 || l > 255)
		return;
	for (i = 0; i < l; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' &&
		    h[i] <= 'Z') || (h[i] >= '0' && h[i] <= '9') ||
		    strchr(".-:[]", h[i])))
			return;
	snprintf(out, n, "%s://%s", tls ? "https" : "http", h);
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
	struct query q;
	char base[300];
	enum MHD_Result ok;

	if (!rq) {
		const char *cl;
		size_t hbytes = 0;

		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		rq->answered = true;    /* unless it passes the checks below */
		if (!atomic_load(&app->ready)) {
			log_request(conn, method, url, 503);
			return send_error(conn, app->tls, 503,
			    "temporarily_unavailable", "The service is starting");
		}
		if (app->tls_ca_path && !client_cert_ok(conn)) {
			log_request(conn, method, url, 401);
			return send_error(conn, app->tls, 401, "invalid_client",
			    "A client certificate issued by the configured CA "
			    "is required");
		}
		MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header,
		    &hbytes);
		if (hbytes > SIC_MAX_HEADERS) {
			log_request(conn, method, url, 431);
			return send_error(conn, app->tls, 431, "invalid_request",
			    "Request header fields too large");
		}
		/* Refuse an announced oversize body before reading it. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > app->max_body) {
			log_request(conn, method, url, 413);
			return send_error(conn, app->tls, 413, "invalid_request",
			    "Request body too large");
		}
		rq->answered = false;
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

	memset(&q, 0, sizeof q);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
	rq->answered = true;
	if (q.too_many || q.bytes > SIC_MAX_QUERY) {
		log_request(conn, method, url, 414);
		return send_error(conn, app->tls, 414, "invalid_request",
		    "Query string too long");
	}
	memset(&hr, 0, sizeof hr);
	hr.method = method;
	hr.path = url;
	hr.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	hr.body = rq->body ? rq->body : "";
	hr.body_len = rq->len;
	hr.body_too_large = rq->too_large;
	hr.query = q.kv;
	hr.n_query = q.n;
	hr.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	hr.cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_COOKIE);
	hr.accept_language = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
	hr.tls = app->tls;
	if (app->base_url) {
		hr.base_url = app->base_url;
	} else {
		base_from_host(conn, app->tls, base, sizeof base);
		hr.base_url = base[0] ? base : NULL;
	}
	csc_handle(&app->sam, &hr, &rp);
	/* Done with the body: wipe it now rather than at connection end. */
	if (rq->body) {
		sodium_memzero(rq->body, rq->cap);
		free(rq->body);
		rq->body = NULL;
		rq->len = rq->cap = 0;
	}
	log_request(conn, method, url, rp.status);
	ok = send_rep(conn, &rp, app->tls);
	csc_rep_clear(&rp);
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
	log_info("listening on %s port %u (%s)", host, port,
	    app->tls ? app->tls_ca_path ? "HTTPS, client certificates required"
	    : "HTTPS" : "plain HTTP, loopback only");
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

/* A whole PEM file into memory (NUL-terminated); secure: sodium_malloc'd
 * (the TLS private key). Read before the sandbox. */
static int read_pem(const char *path, bool secure, char **out, size_t *size)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, r = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > SIC_PEM_MAX) {
		r = -EINVAL;
		goto out;
	}
	if (secure && (st.st_mode & 0077))
		log_warn("%s is readable by group or others (mode %04o)", path,
		    (unsigned)(st.st_mode & 07777));
	*size = (size_t)st.st_size + 1;
	buf = secure ? sodium_malloc(*size) : malloc(*size);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)k;
	}
	buf[got] = '\0';
	if (r < 0 || memchr(buf, '\0', got)) {
		if (secure) {
			sodium_free(buf);
		} else {
			free(buf);
		}
		r = r < 0 ? r : -EINVAL;
		goto out;
	}
	*out = buf;
out:
	close(fd);
	return r;
}

static int load_tls(struct sic_app *app)
{
	size_t sz;
	int r;

	if (!app->tls)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		log_err("this libmicrohttpd has no TLS support");
		return -ENOTSUP;
	}
	if ((r = read_pem(app->tls_cert_path, false, &app->cert_pem, &sz)) < 0) {
		log_err("tls_cert %s: %s", app->tls_cert_path, strerror(-r));
		return r;
	}
	if ((r = read_pem(app->tls_key_path, true, &app->key_pem,
	    &app->key_size)) < 0) {
		log_err("tls_key %s: %s", app->tls_key_path, strerror(-r));
		return r;
	}
	if (app->tls_ca_path &&
	    (r = read_pem(app->tls_ca_path, false, &app->ca_pem, &sz)) < 0) {
		log_err("tls_client_ca %s: %s", app->tls_ca_path, strerror(-r));
		return r;
	}
	return 0;
}

static void wipe_tls(struct sic_app *app)
{
	if (app->key_pem) {
		sodium_free(app->key_pem);      /* wipes */
		app->key_pem = NULL;
	}
	free(app->cert_pem);
	free(app->ca_pem);
	app->cert_pem = app->ca_pem = NULL;
}

static int init(void *p)
{
	struct sic_app *app = p;
	struct MHD_OptionItem opts[24];
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
	/* The SAM answers extendTransaction (issue 3) and the OAuth2 messages
	 * (issue 4); whether a client is registered is the SAM's to say. */
	app->sam.have_extend = true;
	app->sam.have_oauth = true;
	randombytes_buf(app->csrf_key, sizeof app->csrf_key);
	app->sam.csrf_key = app->csrf_key;
	if ((r = ratelimit_new(app->rate, app->burst, SIC_RATE_SLOTS,
	    &app->rl)) < 0)
		return r;
	if (app->rl) {
		app->sam.admit = ratelimit_admit;
		app->sam.admit_ctx = app->rl;
	}
	if ((r = load_tls(app)) < 0)
		return r;
	/* Bind now: after the sandbox this process cannot make a TCP socket. */
	if ((r = open_listener(app)) < 0)
		return r;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG;
	if (app->tls)
		flags |= MHD_USE_TLS;
#define OPT(o, v, ptr) \
	opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (ptr) }
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL);   /* first: MHD asks */
	OPT(MHD_OPTION_LISTEN_SOCKET, app->listen_fd, NULL);
	OPT(MHD_OPTION_THREAD_POOL_SIZE, app->threads, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, app->max_conns, NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, app->per_ip, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, app->timeout, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, SIC_CONNECTION_MEMORY, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, app);
	if (app->tls) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, app->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, app->key_pem);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, SIC_TLS_PRIORITIES);
		if (app->ca_pem)        /* asks for, then we verify, a client cert */
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, app->ca_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	app->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, app,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	/* GnuTLS has parsed the key into its own credentials. */
	wipe_tls(app);
	if (!app->mhd) {
		log_err("cannot start the HTTP server%s", app->tls ?
		    " (check tls_cert / tls_key / tls_client_ca)" : "");
		close(app->listen_fd);
		app->listen_fd = -1;
		return -EIO;
	}
	app->listen_fd = -1;    /* MHD closes it */
	if ((r = wait_workers(app->threads)) < 0) {
		log_err("HTTP worker threads did not start: %s", strerror(-r));
		return r;
	}
	log_info("%u HTTP worker threads, max body %zu bytes, %u connections "
	    "(%u per address, %u s idle timeout), rate %u/s burst %u per "
	    "account, SAM at %s", app->threads, app->max_body, app->max_conns,
	    app->per_ip, app->timeout, app->rate, app->burst, app->sam_socket);
	return 0;
}

static int serve(void *p, volatile int *stop)
{
	struct sic_app *app = p;
	const struct timespec tick = { 0, 200 * 1000 * 1000 };

	atomic_store(&app->ready, true);
	while (!*stop) {
		daemon_heartbeat();     /* issue 6: systemd watchdog */
		nanosleep(&tick, NULL);
	}
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
	ratelimit_free(app->rl);
	app->rl = NULL;
	wipe_tls(app);
	sodium_memzero(app->csrf_key, sizeof app->csrf_key);
	free(app->listen);
	free(app->sam_socket);
	free(app->tls_cert_path);
	free(app->tls_key_path);
	free(app->tls_ca_path);
	free(app->base_url);
}

int main(int argc, char **argv)
{
	static struct sic_app app = {
		.threads = 4,
		.max_body = 1024 * 1024,
		.listen_fd = -1,
		.max_conns = SIC_CONNECTION_LIMIT,
		.per_ip = SIC_PER_IP_LIMIT,
		.timeout = SIC_CONNECTION_TIMEOUT,
		.rate = 20,
		.burst = 60,
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
