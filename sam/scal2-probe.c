/* scal2-probe.c — test tool for issue 3 item 7 ("privileged users cannot
 * sign") and item 8 (roles): speaks the inkan wire protocol to a SAM socket
 * with every message type the schema defines, bodies filled generically from
 * the protobuf descriptors (found by name: ADMIN_USER_ADD_REQ ->
 * inkan__user_add_req__descriptor), and scans every answer for an ECDSA
 * signature over a chosen digest by a signer's public key.
 *   scal2-probe operator SOCKET USER CRED CERT.pem DIGEST_HEX PUB.pem
 *       every ADMIN_* request, twice (required fields only; every field),
 *       each on a fresh connection; prints one line per request and
 *       "answered=N closed=N signatures=N". Exit 0 when no signature over
 *       DIGEST came back, 1 when one did, 2 when a request type has no
 *       descriptor (a new message the probe cannot fill: name it by the
 *       convention).
 *   scal2-probe refuse SOCKET      every SIGNER_* and CRYPTO_* request: exit 0
 *       when each one closed the connection unanswered, 1 otherwise.
 *   scal2-probe one SOCKET TYPE    one request (e.g. ADMIN_USER_LIST_REQ):
 *       "answered status=N" (exit 0) or "closed" (exit 3) / "connect-failed"
 *       (exit 4).
 *   scal2-probe scan FILE DIGEST_HEX PUB.pem   signatures over DIGEST in FILE
 *       (the positive control of the scanner): prints "signatures=N".
 * Test code: never linked into a daemon. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ipc.h"

static const char *opt_user = "probe-user";
static const char *opt_cred = "00000000000000000000000000000000";
static ProtobufCBinaryData opt_cert, opt_digest;
static const char chosen_text[] = "chosen by the operator";

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p) {
		perror("calloc");
		exit(2);
	}
	return p;
}

/* ADMIN_USER_ADD_REQ -> "inkan__user_add_req__descriptor" (prefix dropped).
 * rep: the _REP descriptor instead. */
static const ProtobufCMessageDescriptor *descriptor_for(const char *type_name,
    bool rep)
{
	char sym[160];
	const char *u = strchr(type_name, '_');
	size_t n = 0, len;

	if (!u)
		return NULL;
	u++;
	len = strlen(u);
	if (len < 4 || strcmp(u + len - 4, "_REQ") != 0)
		return NULL;
	n = (size_t)snprintf(sym, sizeof sym, "inkan__");
	for (size_t i = 0; i < len - 4 && n + 1 < sizeof sym; i++)
		sym[n++] = (char)tolower((unsigned char)u[i]);
	snprintf(sym + n, sizeof sym - n, "%s__descriptor",
	    rep ? "_rep" : "_req");
	return dlsym(RTLD_DEFAULT, sym);
}

static void fill(ProtobufCMessage *m, bool all);

static void set_string(const ProtobufCFieldDescriptor *f, char **slot)
{
	if (strstr(f->name, "username") || !strcmp(f->name, "signer"))
		*slot = (char *)opt_user;
	else if (strstr(f->name, "credential"))
		*slot = (char *)opt_cred;
	else
		*slot = (char *)chosen_text;
}

static void set_bytes(const ProtobufCFieldDescriptor *f,
    ProtobufCBinaryData *slot)
{
	static uint8_t pw[] = "Chosen-Passw0rd";

	if (!strcmp(f->name, "certificate") || !strcmp(f->name, "chain"))
		*slot = opt_cert;
	else if (!strcmp(f->name, "password") || !strcmp(f->name, "pin") ||
	    !strcmp(f->name, "otp")) {
		slot->data = pw;
		slot->len = sizeof pw - 1;
	} else {
		*slot = opt_digest;
	}
}

/* One value of a scalar/string/bytes/message field into slot. */
static void set_value(const ProtobufCFieldDescriptor *f, void *slot, bool all)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		set_string(f, slot);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		set_bytes(f, slot);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)slot = 1;
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		*(int *)slot = e->n_values > 1 ? e->values[1].value :
		    e->values[0].value;
		break;
	}
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)slot = 1;
		break;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)slot = 1;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)slot = 1;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)slot = 1;
		break;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *d = f->descriptor;
		ProtobufCMessage *sub = xcalloc(1, d->sizeof_message);
		d->message_init(sub);
		fill(sub, all);
		*(ProtobufCMessage **)slot = sub;
		break;
	}
	}
}

static size_t slot_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE: return 8;
	default: return 4;
	}
}

/* Required fields always; optional and repeated (one element) with all. */
static void fill(ProtobufCMessage *m, bool all)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *base = (char *)m;

		if (f->label == PROTOBUF_C_LABEL_REQUIRED) {
			set_value(f, base + f->offset, all);
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && all) {
			set_value(f, base + f->offset, all);
			if (f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
			    f->type != PROTOBUF_C_TYPE_MESSAGE)
				*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED && all) {
			void *arr = xcalloc(1, slot_size(f));
			set_value(f, arr, all);
			*(size_t *)(base + f->quantifier_offset) = 1;
			*(void **)(base + f->offset) = arr;
		}
	}
}

/* ---- signature scanner ---------------------------------------------------- */

static EVP_PKEY *pub;

static size_t scan(const uint8_t *buf, size_t len, const uint8_t *dg,
    size_t dlen)
{
	size_t found = 0;

	for (size_t i = 0; i + 8 <= len; i++) {
		const unsigned char *p = buf + i;
		ECDSA_SIG *sig;
		unsigned char *der = NULL;
		int der_len;
		EVP_PKEY_CTX *ctx;

		if (buf[i] != 0x30)
			continue;
		sig = d2i_ECDSA_SIG(NULL, &p, (long)(len - i));
		if (!sig)
			continue;
		der_len = i2d_ECDSA_SIG(sig, &der);
		ECDSA_SIG_free(sig);
		if (der_len <= 0)
			continue;
		ctx = EVP_PKEY_CTX_new(pub, NULL);
		if (ctx && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_verify(ctx, der, (size_t)der_len, dg, dlen) == 1)
			found++;
		EVP_PKEY_CTX_free(ctx);
		OPENSSL_free(der);
	}
	return found;
}

static int load_pub(const char *path)
{
	FILE *fp = fopen(path, "r");

	if (!fp)
		return -1;
	pub = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	return pub ? 0 : -1;
}

static int load_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;
	unsigned char *der = NULL;
	int n;

	if (!fp)
		return -1;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (!x)
		return -1;
	n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0)
		return -1;
	opt_cert.data = der;
	opt_cert.len = (size_t)n;
	return 0;
}

static int hex_digest(const char *hex)
{
	size_t n = strlen(hex);
	uint8_t *b;

	if (n == 0 || n % 2 || n > 128)
		return -1;
	b = xcalloc(n / 2, 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		b[i] = (uint8_t)v;
	}
	opt_digest.data = b;
	opt_digest.len = n / 2;
	return 0;
}

/* ---- talking to the socket -------------------------------------------------- */

/* 0 answered (*st, *body), 3 closed, 4 connect failed. */
static int send_one(const char *sock, uint32_t type,
    const ProtobufCMessage *body, Inkan__Status *st, uint8_t **rep,
    size_t *rep_len)
{
	Inkan__Envelope *env = NULL;
	int fd = ipc_connect(sock), r;

	*rep = NULL;
	*rep_len = 0;
	if (fd < 0)
		return 4;
	r = ipc_send(fd, 7, type, INKAN__STATUS__OK, NULL, body);
	if (r == 0)
		r = ipc_recv(fd, &env);
	close(fd);
	if (r < 0)
		return 3;
	*st = env->has_status ? env->status : INKAN__STATUS__OK;
	if (env->has_body && env->body.len) {
		*rep = malloc(env->body.len);
		if (*rep) {
			memcpy(*rep, env->body.data, env->body.len);
			*rep_len = env->body.len;
		}
	}
	ipc_envelope_free(env);
	return 0;
}

static ProtobufCMessage *make_body(const char *type_name, bool all)
{
	const ProtobufCMessageDescriptor *d = descriptor_for(type_name, false);
	ProtobufCMessage *m;

	if (!d)
		return NULL;
	m = xcalloc(1, d->sizeof_message);
	d->message_init(m);
	fill(m, all);
	return m;
}

static bool is_request(const ProtobufCEnumValue *v, const char *prefix)
{
	size_t n = strlen(v->name);
	return !strncmp(v->name, prefix, strlen(prefix)) && n > 4 &&
	    !strcmp(v->name + n - 4, "_REQ");
}

static int mode_operator(const char *sock)
{
	const ProtobufCEnumDescriptor *e = &inkan__msg_type__descriptor;
	unsigned answered = 0, closed = 0, missing = 0;
	size_t sigs = 0;

	for (unsigned i = 0; i < e->n_values; i++) {
		const ProtobufCEnumValue *v = &e->values[i];

		if (!is_request(v, "ADMIN_"))
			continue;
		for (int all = 0; all < 2; all++) {
			ProtobufCMessage *m = make_body(v->name, all);
			Inkan__Status st = 0;
			uint8_t *rep;
			size_t len;
			int r;

			if (!m) {
				printf("%s: no descriptor\n", v->name);
				missing++;
				break;
			}
			r = send_one(sock, (uint32_t)v->value, m, &st, &rep, &len);
			if (r == 4) {
				printf("connect-failed\n");
				return 4;
			}
			if (r == 3) {
				closed++;
				printf("%s/%s: closed\n", v->name,
				    all ? "all" : "required");
				continue;
			}
			answered++;
			size_t k = scan(rep, len, opt_digest.data, opt_digest.len);
			sigs += k;
			printf("%s/%s: answered status=%d, %zu bytes, %zu "
			    "signatures over the chosen digest\n", v->name,
			    all ? "all" : "required", (int)st, len, k);
			free(rep);
		}
	}
	printf("answered=%u closed=%u signatures=%zu\n", answered, closed, sigs);
	if (missing)
		return 2;
	return sigs ? 1 : 0;
}

static int mode_refuse(const char *sock)
{
	const ProtobufCEnumDescriptor *e = &inkan__msg_type__descriptor;
	unsigned answered = 0, closed = 0;

	for (unsigned i = 0; i < e->n_values; i++) {
		const ProtobufCEnumValue *v = &e->values[i];
		ProtobufCMessage *m;
		Inkan__Status st = 0;
		uint8_t *rep;
		size_t len;
		int r;

		if (!is_request(v, "SIGNER_") && !is_request(v, "CRYPTO_"))
			continue;
		/* a well-formed body when the schema has one by name; the
		 * type alone must close the connection anyway */
		m = make_body(v->name, true);
		r = send_one(sock, (uint32_t)v->value, m, &st, &rep, &len);
		if (r == 4) {
			printf("connect-failed\n");
			return 4;
		}
		if (r == 0) {
			answered++;
			printf("%s: ANSWERED status=%d\n", v->name, (int)st);
			free(rep);
		} else {
			closed++;
			printf("%s: closed\n", v->name);
		}
	}
	printf("answered=%u closed=%u\n", answered, closed);
	return answered ? 1 : 0;
}

static int mode_one(const char *sock, const char *type_name)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value_by_name(
	    &inkan__msg_type__descriptor, type_name);
	ProtobufCMessage *m;
	Inkan__Status st = 0;
	uint8_t *rep;
	size_t len;
	int r;

	if (!v) {
		fprintf(stderr, "scal2-probe: unknown type %s\n", type_name);
		return 2;
	}
	m = make_body(type_name, false);
	r = send_one(sock, (uint32_t)v->value, m, &st, &rep, &len);
	if (r == 4)
		printf("connect-failed\n");
	else if (r == 3)
		printf("closed\n");
	else
		printf("answered status=%d\n", (int)st);
	free(r == 0 ? rep : NULL);
	return r;
}

static int mode_scan(const char *file)
{
	FILE *fp = fopen(file, "rb");
	uint8_t buf[65536];
	size_t n;

	if (!fp)
		return 2;
	n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	printf("signatures=%zu\n", scan(buf, n, opt_digest.data,
	    opt_digest.len));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 8 && !strcmp(argv[1], "operator")) {
		opt_user = argv[3];
		opt_cred = argv[4];
		if (load_cert(argv[5]) < 0 || hex_digest(argv[6]) < 0 ||
		    load_pub(argv[7]) < 0) {
			fprintf(stderr, "scal2-probe: bad certificate, digest "
			    "or public key\n");
			return 2;
		}
		return mode_operator(argv[2]);
	}
	if (argc == 3 && !strcmp(argv[1], "refuse")) {
		static uint8_t d[32];
		opt_digest.data = d;
		opt_digest.len = sizeof d;
		return mode_refuse(argv[2]);
	}
	if (argc == 4 && !strcmp(argv[1], "one"))
		return mode_one(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "scan")) {
		if (hex_digest(argv[3]) < 0 || load_pub(argv[4]) < 0)
			return 2;
		return mode_scan(argv[2]);
	}
	fprintf(stderr, "usage: scal2-probe operator SOCKET USER CRED CERT.pem "
	    "DIGEST_HEX PUB.pem | refuse SOCKET | one SOCKET TYPE | "
	    "scan FILE DIGEST_HEX PUB.pem\n");
	return 2;
}
