/* make-seeds.c — writes the seed corpora of the envelope and csc fuzz
 * targets (binary inputs), into DIR/envelope and DIR/csc:
 *   envelope: one frame per message type of proto/ (a filled, valid body)
 *             and one per MsgType value (empty body);
 *   csc: one request per CSC method, answered by a valid SAM reply, plus
 *        the same with a refusing SAM and with a SAM that is down.
 * Run by hand after a protocol change: fuzz-make-seeds tests/fuzz/corpus */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipc.h"
#include "fill.h"

extern const ProtobufCMessageDescriptor *const fuzz_descriptors[];
extern const unsigned fuzz_n_descriptors;

static void
write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void
envelope(const char *dir, const char *name, uint32_t type,
    const ProtobufCMessage *body)
{
	static uint8_t bbuf[IPC_FRAME_MAX], fbuf[IPC_FRAME_MAX];
	Inkan__Envelope env = INKAN__ENVELOPE__INIT;
	size_t n;

	env.id = 1;
	env.type = type;
	if (body != NULL) {
		env.has_body = 1;
		env.body.len = protobuf_c_message_pack(body, bbuf);
		env.body.data = bbuf;
	}
	n = protobuf_c_message_pack(&env.base, fbuf);
	write_file(dir, name, fbuf, n);
}

struct route {
	uint8_t index;                  /* into fuzz-csc.c's routes[] */
	const char *name;
	const char *auth;               /* NULL: none */
	const char *body;
};

static void
csc(const char *dir, const struct route *r, uint8_t mode, const char *sfx)
{
	uint8_t buf[4096];
	size_t n = 0, al = r->auth ? strlen(r->auth) : 0, bl = strlen(r->body);
	char name[128];

	buf[n++] = r->index;
	buf[n++] = r->auth ? 2 : 0;
	buf[n++] = mode;
	buf[n++] = 0;
	buf[n++] = 0;                   /* no reply bytes */
	buf[n++] = (uint8_t)al;
	memcpy(buf + n, r->auth ? r->auth : "", al);
	n += al;
	memcpy(buf + n, r->body, bl);
	n += bl;
	snprintf(name, sizeof name, "%s%s", r->name, sfx);
	write_file(dir, name, buf, n);
}

int
main(int argc, char **argv)
{
	static const char tok[] = "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	static const char h[] = "\"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=\"";
	const struct route routes[] = {
		{ 0, "v2-info", NULL, "{}" },
		{ 1, "v2-auth-login", "Basic YWxpY2U6c2VjcmV0LXBhc3N3b3Jk",
		  "{\"rememberMe\":false}" },
		{ 2, "v2-auth-revoke", tok, "{\"token\":\"x\",\"token_type_hint\":\"access_token\"}" },
		{ 3, "v2-credentials-list", tok,
		  "{\"credentialInfo\":true,\"certificates\":\"chain\",\"certInfo\":true,\"authInfo\":true,\"maxResults\":10}" },
		{ 4, "v2-credentials-info", tok,
		  "{\"credentialID\":\"00112233445566778899aabbccddeeff\",\"certificates\":\"single\",\"certInfo\":true,\"authInfo\":true}" },
		{ 5, "v2-credentials-authorize", tok, NULL },
		{ 6, "v2-signatures-signHash", tok, NULL },
		{ 7, "v2-credentials-extendTransaction", tok,
		  "{\"credentialID\":\"00112233445566778899aabbccddeeff\",\"SAD\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}" },
		{ 11, "v1-info", NULL, "{}" },
		{ 12, "v1-auth-login", "Basic YWxpY2U6c2VjcmV0LXBhc3N3b3Jk", "{}" },
		{ 16, "v1-credentials-authorize", tok, NULL },
		{ 17, "v1-signatures-signHash", tok, NULL },
		{ 18, "unknown-method", tok, "{}" },
	};
	char dir[4096], name[160], authz[512], sign[512], v1a[512], v1s[512];
	unsigned i;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-make-seeds CORPUS_DIR\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s/envelope", argv[1]);
	mkdir(dir, 0755);
	for (i = 0; i < fuzz_n_descriptors; i++) {
		ProtobufCMessage *m = fill_message(fuzz_descriptors[i], 1);
		snprintf(name, sizeof name, "msg-%s",
		    fuzz_descriptors[i]->short_name);
		envelope(dir, name, i, m);
		fill_reset();
	}
	for (i = 0; i < inkan__msg_type__descriptor.n_values; i++) {
		snprintf(name, sizeof name, "type-%s",
		    inkan__msg_type__descriptor.values[i].name);
		envelope(dir, name,
		    (uint32_t)inkan__msg_type__descriptor.values[i].value, NULL);
	}

	snprintf(authz, sizeof authz, "{\"credentialID\":\"00112233445566778899aabbccddeeff\","
	    "\"numSignatures\":1,\"hashes\":[%s],\"hashAlgorithmOID\":\"2.16.840.1.101.3.4.2.1\","
	    "\"authData\":[{\"id\":\"PIN\",\"value\":\"123456\"},{\"id\":\"OTP\",\"value\":\"654321\"}],"
	    "\"description\":\"seed\"}", h);
	snprintf(sign, sizeof sign, "{\"credentialID\":\"00112233445566778899aabbccddeeff\","
	    "\"SAD\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"hashes\":[%s],"
	    "\"hashAlgorithmOID\":\"2.16.840.1.101.3.4.2.1\",\"signAlgo\":\"1.2.840.10045.4.3.2\","
	    "\"signAlgoParams\":\"MAA=\"}", h);
	snprintf(v1a, sizeof v1a, "{\"credentialID\":\"00112233445566778899aabbccddeeff\","
	    "\"numSignatures\":1,\"hash\":[%s],\"PIN\":\"123456\",\"OTP\":\"654321\"}", h);
	snprintf(v1s, sizeof v1s, "{\"credentialID\":\"00112233445566778899aabbccddeeff\","
	    "\"SAD\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"hash\":[%s],"
	    "\"hashAlgo\":\"2.16.840.1.101.3.4.2.1\",\"signAlgo\":\"1.2.840.10045.4.3.2\"}", h);
	snprintf(dir, sizeof dir, "%s/csc", argv[1]);
	mkdir(dir, 0755);
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		struct route r = routes[i];

		if (r.body == NULL)
			r.body = r.index == 5 ? authz : r.index == 6 ? sign :
			    r.index == 16 ? v1a : v1s;
		csc(dir, &r, 0, "");
		csc(dir, &r, INKAN__STATUS__INVALID_REQUEST, "-refused");
		csc(dir, &r, 0xfe, "-sam-down");
	}
	return 0;
}
