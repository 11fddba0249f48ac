/* test-csc.c — unit tests of the CSC mapping in inkan-sic: v1 and v2 field
 * names give the same signer.proto request; every malformed field gets the
 * documented HTTP status and CSC error; every Inkan__Status has a mapping;
 * replies serialise to the documented JSON; the whole handler against a fake
 * SAM (routing, auth headers, transport failures, 204, 405, 413); the
 * OAuth2 endpoints and consent page (escaping, CSP, CSRF, PKCE checks,
 * redirects and errors), credential-scope tokens, extendTransaction and the
 * per-account rate limiter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "csc.h"
#include "ratelimit.h"

/* ---- helpers ----------------------------------------------------------- */

static json_t *J(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);

	if (!j)
		fail_msg("bad test JSON: %s: %s", err.text, text);
	return j;
}

static size_t pack(const ProtobufCMessage *m, uint8_t **out)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	*out = malloc(n + 1);
	assert_non_null(*out);
	assert_int_equal(protobuf_c_message_pack(m, *out), n);
	return n;
}

static void assert_same_msg(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	uint8_t *pa, *pb;
	size_t na = pack(a, &pa), nb = pack(b, &pb);

	assert_int_equal(na, nb);
	assert_memory_equal(pa, pb, na);
	free(pa);
	free(pb);
}

static void assert_err(const struct csc_err *e, unsigned http,
    const char *error, const char *desc)
{
	assert_int_equal(e->http, http);
	assert_string_equal(e->error, error);
	if (desc)
		assert_string_equal(e->description, desc);
}

/* base64 of `n` bytes of `c` */
static char *b64(unsigned char c, size_t n, int variant)
{
	unsigned char buf[256];
	size_t m = sodium_base64_ENCODED_LEN(n, variant);
	char *s = malloc(m);

	memset(buf, c, n);
	sodium_bin2base64(s, m, buf, n, variant);
	return s;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static const char *H32A = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="; /* 32 x 'A' */
static const char *H32B = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="; /* 32 x 'B' */

/* ---- routing ----------------------------------------------------------- */

static void test_route(void **state)
{
	enum csc_version v;
	enum csc_method m;

	assert_int_equal(csc_route("/csc/v2/info", &v, &m), 0);
	assert_int_equal(v, CSC_V2);
	assert_int_equal(m, CSC_INFO);
	assert_int_equal(csc_route("/csc/v1/signatures/signHash", &v, &m), 0);
	assert_int_equal(v, CSC_V1);
	assert_int_equal(m, CSC_SIGN_HASH);
	assert_int_equal(csc_route("/csc/v2/credentials/authorize", &v, &m), 0);
	assert_int_equal(m, CSC_CRED_AUTHORIZE);
	assert_int_equal(csc_route("/csc/v2/signatures/signDoc", &v, &m), -ENOSYS);
	assert_int_equal(csc_route("/csc/v3/info", &v, &m), -ENOSYS);
	assert_int_equal(csc_route("/csc/v2/info/", &v, &m), -ENOSYS);
	assert_int_equal(csc_route("/csc/v2/", &v, &m), -ENOSYS);
	assert_int_equal(csc_route("/", &v, &m), -ENOENT);
	assert_int_equal(csc_route("/cscx/v2/info", &v, &m), -ENOENT);
	assert_int_equal(csc_route("/v2/info", &v, &m), -ENOENT);
}

/* ---- v1 and v2 names map to the same request --------------------------- */

static void test_authorize_v1_v2_same(void **state)
{
	json_t *v2 = J("{\"credentialID\":\"c0ffee\",\"numSignatures\":2,"
	    "\"hashes\":[\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\","
	    "\"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\"],"
	    "\"hashAlgorithmOID\":\"2.16.840.1.101.3.4.2.1\","
	    "\"authData\":[{\"id\":\"PIN\",\"value\":\"123456\"},"
	    "{\"id\":\"OTP\",\"value\":\"654321\"}],"
	    "\"description\":\"contract\",\"clientData\":\"x\",\"extra\":[1]}");
	/* v1 names; the second hash in base64url without padding */
	json_t *v1 = J("{\"credentialID\":\"c0ffee\",\"numSignatures\":2,"
	    "\"hash\":[\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\","
	    "\"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI\"],"
	    "\"hashAlgo\":\"2.16.840.1.101.3.4.2.1\","
	    "\"PIN\":\"123456\",\"OTP\":\"654321\",\"description\":\"contract\"}");
	struct csc_authorize a, b;
	struct csc_err e;

	assert_int_equal(csc_authorize_parse(v2, "tok", &a, &e), 0);
	assert_int_equal(csc_authorize_parse(v1, "tok", &b, &e), 0);
	assert_same_msg(&a.req.base, &b.req.base);
	assert_string_equal(a.req.access_token, "tok");
	assert_string_equal(a.req.credential_id, "c0ffee");
	assert_int_equal(a.req.num_signatures, 2);
	assert_int_equal(a.req.n_hashes, 2);
	assert_int_equal(a.req.hashes[0].len, 32);
	assert_memory_equal(a.req.hashes[1].data, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", 32);
	assert_string_equal(a.req.hash_algo_oid, "2.16.840.1.101.3.4.2.1");
	assert_true(a.req.has_pin && a.req.has_otp);
	assert_int_equal(a.req.pin.len, 6);
	assert_memory_equal(a.req.pin.data, "123456", 6);
	assert_memory_equal(a.req.otp.data, "654321", 6);
	assert_string_equal(a.req.description, "contract");
	/* the factors live in sodium_malloc'd memory, not in the JSON tree */
	assert_ptr_equal(a.req.pin.data, a.secret);
	csc_authorize_clear(&a);
	csc_authorize_clear(&b);
	json_decref(v1);
	json_decref(v2);
}

static void test_authorize_mixed_names(void **state)
{
	/* v2 path with v1 names, both forms of a factor given and equal */
	json_t *o = J("{\"credentialID\":\"c\",\"numSignatures\":1,"
	    "\"hash\":[\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\"],"
	    "\"hashes\":[\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\"],"
	    "\"PIN\":\"1\",\"authData\":[{\"id\":\"PIN\",\"value\":\"1\"}]}");
	struct csc_authorize a;
	struct csc_err e;

	assert_int_equal(csc_authorize_parse(o, "t", &a, &e), 0);
	assert_true(a.req.has_pin);
	assert_false(a.req.has_otp);
	assert_null(a.req.hash_algo_oid);
	assert_null(a.req.description);
	csc_authorize_clear(&a);
	json_decref(o);
}

static void test_sign_v1_v2_same(void **state)
{
	json_t *v2 = J("{\"credentialID\":\"c0ffee\",\"SAD\":\"sad-sad_SAD\","
	    "\"hashes\":[\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\"],"
	    "\"hashAlgorithmOID\":\"2.16.840.1.101.3.4.2.1\","
	    "\"signAlgo\":\"1.2.840.113549.1.1.10\",\"signAlgoParams\":\"MAA=\","
	    "\"operationMode\":\"S\"}");
	json_t *v1 = J("{\"credentialID\":\"c0ffee\",\"SAD\":\"sad-sad_SAD\","
	    "\"hash\":[\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE\"],"
	    "\"hashAlgo\":\"2.16.840.1.101.3.4.2.1\","
	    "\"signAlgo\":\"1.2.840.113549.1.1.10\",\"signAlgoParams\":\"MAA\"}");
	struct csc_sign a, b;
	struct csc_err e;

	assert_int_equal(csc_sign_parse(v2, "tok", &a, &e), 0);
	assert_int_equal(csc_sign_parse(v1, "tok", &b, &e), 0);
	assert_same_msg(&a.req.base, &b.req.base);
	assert_string_equal(a.req.sad, "sad-sad_SAD");
	assert_string_equal(a.req.sign_algo_oid, "1.2.840.113549.1.1.10");
	assert_true(a.req.has_sign_algo_params);
	assert_int_equal(a.req.sign_algo_params.len, 2);
	assert_memory_equal(a.req.sign_algo_params.data, "\x30\x00", 2);
	assert_int_equal(a.req.n_hashes, 1);
	csc_sign_clear(&a);
	csc_sign_clear(&b);
	json_decref(v1);
	json_decref(v2);
}

static void test_cred_info_and_list_parse(void **state)
{
	json_t *o = J("{\"credentialID\":\"abc\",\"certificates\":\"chain\","
	    "\"certInfo\":true,\"authInfo\":false,\"lang\":\"ja\"}");
	struct csc_cred_info ci;
	struct csc_list l;
	struct csc_err e;

	assert_int_equal(csc_cred_info_parse(o, "t", &ci, &e), 0);
	assert_string_equal(ci.req.credential_id, "abc");
	assert_int_equal(ci.opts.certs, CSC_CERTS_CHAIN);
	assert_true(ci.opts.cert_info);
	json_decref(o);

	o = J("{\"credentialID\":\"abc\"}");
	assert_int_equal(csc_cred_info_parse(o, "t", &ci, &e), 0);
	assert_int_equal(ci.opts.certs, CSC_CERTS_SINGLE);
	json_decref(o);

	o = J("{\"credentialInfo\":true,\"maxResults\":10,\"pageToken\":\"3\","
	    "\"userID\":\"u\",\"onlyValid\":false}");
	assert_int_equal(csc_list_parse(o, "t", &l, &e), 0);
	assert_true(l.credential_info);
	assert_int_equal(l.max_results, 10);
	assert_int_equal(l.offset, 3);
	assert_string_equal(l.req.access_token, "t");
	json_decref(o);
}

/* ---- malformed input --------------------------------------------------- */

struct bad_case {
	const char *json;
	unsigned http;
	const char *error;
	const char *desc;
};

#define HASH1 "[\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\"]"
#define AUTHZ(extra) "{\"credentialID\":\"c\",\"numSignatures\":1," \
	"\"hashes\":" HASH1 extra "}"
#define SIGN(extra) "{\"credentialID\":\"c\",\"SAD\":\"s\"," \
	"\"signAlgo\":\"1.2.840.10045.4.3.2\"" extra "}"

static const struct bad_case bad_authorize[] = {
	{ "{\"credentialID\":12,\"numSignatures\":1}", 400, "invalid_request",
	  "Invalid parameter credentialID" },
	{ "{\"numSignatures\":1}", 400, "invalid_request",
	  "Missing parameter credentialID" },
	{ "{\"credentialID\":\"\",\"numSignatures\":1}", 400, "invalid_request",
	  "Invalid parameter credentialID" },
	{ "{\"credentialID\":\"a b\",\"numSignatures\":1}", 400,
	  "invalid_request", "Invalid parameter credentialID" },
	{ "{\"credentialID\":\"c\"}", 400, "invalid_request",
	  "Missing parameter numSignatures" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":\"1\"}", 400,
	  "invalid_request", "Invalid parameter numSignatures" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1.0}", 400,
	  "invalid_request", "Invalid parameter numSignatures" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":0}", 400,
	  "invalid_request", "Invalid parameter numSignatures" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":257}", 400,
	  "invalid_request", "Invalid parameter numSignatures" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,\"hashes\":\"x\"}", 400,
	  "invalid_request", "Invalid parameter hashes" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,\"hashes\":[]}", 400,
	  "invalid_request", "Invalid parameter hashes" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,\"hash\":[5]}", 400,
	  "invalid_request", "Invalid parameter hash" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,\"hashes\":[\"@@@\"]}",
	  400, "invalid_request", "Invalid parameter hashes" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,"
	  "\"hashes\":[\"QUFB QUFB\"]}", 400, "invalid_request",
	  "Invalid parameter hashes" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,\"hashes\":[\"AAAA\"]}",
	  400, "invalid_request", "Invalid digest value length" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,\"hashes\":[\"\"]}",
	  400, "invalid_request", "Invalid digest value length" },
	{ "{\"credentialID\":\"c\",\"numSignatures\":1,\"hashes\":" HASH1
	  ",\"hash\":[\"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\"]}", 400,
	  "invalid_request", "Invalid parameter hash" },
	{ AUTHZ(",\"hashAlgorithmOID\":5"), 400, "invalid_request",
	  "Invalid parameter hashAlgorithmOID" },
	{ AUTHZ(",\"hashAlgo\":\"sha256\""), 400, "invalid_request",
	  "Invalid parameter hashAlgo" },
	{ AUTHZ(",\"hashAlgorithmOID\":\"2.16.\""), 400, "invalid_request",
	  "Invalid parameter hashAlgorithmOID" },
	{ AUTHZ(",\"PIN\":1234"), 400, "invalid_request", "Invalid parameter PIN" },
	{ AUTHZ(",\"OTP\":null"), 400, "invalid_request", "Invalid parameter OTP" },
	{ AUTHZ(",\"authData\":{}"), 400, "invalid_request",
	  "Invalid parameter authData" },
	{ AUTHZ(",\"authData\":[\"PIN\"]"), 400, "invalid_request",
	  "Invalid parameter authData" },
	{ AUTHZ(",\"authData\":[{\"id\":\"FACE\",\"value\":\"x\"}]"), 400,
	  "invalid_request", "Invalid parameter authData" },
	{ AUTHZ(",\"authData\":[{\"id\":\"PIN\"}]"), 400, "invalid_request",
	  "Invalid parameter authData" },
	{ AUTHZ(",\"authData\":[{\"id\":\"PIN\",\"value\":1}]"), 400,
	  "invalid_request", "Invalid parameter PIN" },
	{ AUTHZ(",\"authData\":[{\"id\":\"PIN\",\"value\":\"1\"},"
	  "{\"id\":\"PIN\",\"value\":\"1\"}]"), 400, "invalid_request",
	  "Invalid parameter authData" },
	{ AUTHZ(",\"PIN\":\"1\",\"authData\":[{\"id\":\"PIN\",\"value\":\"2\"}]"),
	  400, "invalid_request", "Invalid parameter PIN" },
	{ AUTHZ(",\"description\":[]"), 400, "invalid_request",
	  "Invalid parameter description" },
	{ AUTHZ(",\"clientData\":{}"), 400, "invalid_request",
	  "Invalid parameter clientData" },
};

static const struct bad_case bad_sign[] = {
	{ "{\"SAD\":\"s\",\"hashes\":" HASH1 ",\"signAlgo\":\"1.2\"}", 400,
	  "invalid_request", "Missing parameter credentialID" },
	{ "{\"credentialID\":\"c\",\"hashes\":" HASH1 ",\"signAlgo\":\"1.2\"}",
	  400, "invalid_request", "Missing parameter SAD" },
	{ SIGN(""), 400, "invalid_request", "Missing parameter hashes" },
	{ SIGN(",\"hash\":[]"), 400, "invalid_request", "Invalid parameter hash" },
	{ "{\"credentialID\":\"c\",\"SAD\":\"s\",\"hashes\":" HASH1 "}", 400,
	  "invalid_request", "Missing parameter signAlgo" },
	{ "{\"credentialID\":\"c\",\"SAD\":true,\"hashes\":" HASH1
	  ",\"signAlgo\":\"1.2\"}", 400, "invalid_request",
	  "Invalid parameter SAD" },
	{ SIGN(",\"hashes\":" HASH1 ",\"signAlgoParams\":\"!!\""), 400,
	  "invalid_request", "Invalid parameter signAlgoParams" },
	{ SIGN(",\"hashes\":" HASH1 ",\"signAlgoParams\":7"), 400,
	  "invalid_request", "Invalid parameter signAlgoParams" },
	{ SIGN(",\"hashes\":" HASH1 ",\"operationMode\":\"A\""), 400,
	  "invalid_request", "Invalid parameter operationMode" },
	{ SIGN(",\"hashes\":" HASH1 ",\"validity_period\":\"1\""), 400,
	  "invalid_request", "Invalid parameter validity_period" },
	{ SIGN(",\"hashes\":[\"AAAA\"]"), 400, "invalid_request",
	  "Invalid digest value length" },
};

static void run_bad(const struct bad_case *cases, size_t n, bool sign)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *o;
		struct csc_err e;
		int r;

		memset(&e, 0, sizeof e);
		o = J(cases[i].json);
		if (sign) {
			struct csc_sign s;

			r = csc_sign_parse(o, "t", &s, &e);
			csc_sign_clear(&s);
		} else {
			struct csc_authorize a;

			r = csc_authorize_parse(o, "t", &a, &e);
			csc_authorize_clear(&a);
		}
		if (r != -1 || e.http != cases[i].http ||
		    strcmp(e.error, cases[i].error) != 0 ||
		    (cases[i].desc && strcmp(e.description, cases[i].desc)))
			fail_msg("case %zu %s: got %d %u %s '%s'", i, cases[i].json,
			    r, e.http, e.error ? e.error : "-", e.description);
		json_decref(o);
	}
}

static void test_bad_authorize(void **state)
{
	run_bad(bad_authorize, sizeof bad_authorize / sizeof bad_authorize[0],
	    false);
}

static void test_bad_sign(void **state)
{
	run_bad(bad_sign, sizeof bad_sign / sizeof bad_sign[0], true);
}

static void test_hash_limits(void **state)
{
	struct csc_authorize a;
	struct csc_err e;
	json_t *o, *arr;
	char *s;
	size_t i;

	/* digest lengths: 19 and 65 refused, 20 and 64 taken, in every
	 * base64 flavour */
	static const struct { size_t len; int variant; int ok; } L[] = {
		{ 19, sodium_base64_VARIANT_ORIGINAL, 0 },
		{ 20, sodium_base64_VARIANT_ORIGINAL, 1 },
		{ 64, sodium_base64_VARIANT_ORIGINAL, 1 },
		{ 65, sodium_base64_VARIANT_ORIGINAL, 0 },
		{ 200, sodium_base64_VARIANT_ORIGINAL, 0 },
		{ 48, sodium_base64_VARIANT_URLSAFE, 1 },
		{ 33, sodium_base64_VARIANT_URLSAFE_NO_PADDING, 1 },
		{ 31, sodium_base64_VARIANT_ORIGINAL_NO_PADDING, 1 },
	};
	for (i = 0; i < sizeof L / sizeof L[0]; i++) {
		s = b64(0xfb, L[i].len, L[i].variant);    /* 0xfb: '+'/'-' */
		o = json_pack("{s:s, s:i, s:[s]}", "credentialID", "c",
		    "numSignatures", 1, "hashes", s);
		memset(&e, 0, sizeof e);
		if (L[i].ok) {
			assert_int_equal(csc_authorize_parse(o, "t", &a, &e), 0);
			assert_int_equal(a.req.hashes[0].len, L[i].len);
		} else {
			assert_int_equal(csc_authorize_parse(o, "t", &a, &e), -1);
			assert_err(&e, 400, "invalid_request",
			    "Invalid digest value length");
		}
		csc_authorize_clear(&a);
		json_decref(o);
		free(s);
	}

	/* CSC_MAX_HASHES taken, one more refused */
	arr = json_array();
	for (i = 0; i < CSC_MAX_HASHES; i++)
		json_array_append_new(arr, json_string(H32A));
	o = json_pack("{s:s, s:i, s:O}", "credentialID", "c",
	    "numSignatures", 1, "hashes", arr);
	assert_int_equal(csc_authorize_parse(o, "t", &a, &e), 0);
	assert_int_equal(a.req.n_hashes, CSC_MAX_HASHES);
	csc_authorize_clear(&a);
	json_decref(o);
	json_array_append_new(arr, json_string(H32B));
	o = json_pack("{s:s, s:i, s:O}", "credentialID", "c",
	    "numSignatures", 1, "hashes", arr);
	assert_int_equal(csc_authorize_parse(o, "t", &a, &e), -1);
	assert_err(&e, 400, "invalid_request", "Invalid parameter hashes");
	csc_authorize_clear(&a);
	json_decref(o);
	json_decref(arr);
}

/* String bounds: the limit is accepted, one more is refused. */
static void test_string_limits(void **state)
{
	static const struct { const char *field; size_t max; bool sign; } F[] = {
		{ "credentialID", CSC_MAX_CRED_ID, false },
		{ "PIN", CSC_MAX_PIN, false },
		{ "OTP", CSC_MAX_OTP, false },
		{ "description", CSC_MAX_DESCRIPTION, false },
		{ "SAD", CSC_MAX_SAD, true },
	};
	size_t i, extra;

	for (i = 0; i < sizeof F / sizeof F[0]; i++) {
		for (extra = 0; extra <= 1; extra++) {
			char *v = repeat('7', F[i].max + extra);
			json_t *o;
			struct csc_err e;
			int r;

			if (F[i].sign) {
				struct csc_sign s;

				o = J(SIGN(",\"hashes\":" HASH1));
				json_object_set_new(o, F[i].field, json_string(v));
				r = csc_sign_parse(o, "t", &s, &e);
				csc_sign_clear(&s);
			} else {
				struct csc_authorize a;

				o = J(AUTHZ(""));
				json_object_set_new(o, F[i].field, json_string(v));
				r = csc_authorize_parse(o, "t", &a, &e);
				csc_authorize_clear(&a);
			}
			if (extra == 0) {
				assert_int_equal(r, 0);
			} else {
				char want[64];

				assert_int_equal(r, -1);
				snprintf(want, sizeof want, "Invalid parameter %s",
				    F[i].field);
				assert_err(&e, 400, "invalid_request", want);
			}
			json_decref(o);
			free(v);
		}
	}
}

static void test_body(void **state)
{
	struct csc_err e;
	json_t *j;

	assert_int_equal(csc_parse_body("{\"a\":1,\"a\":2}", 13, &j, &e), -1);
	assert_err(&e, 400, "invalid_request", "Duplicate key in the request body");
	assert_int_equal(csc_parse_body("{\"a\":{\"b\":1,\"b\":1}}", 19, &j, &e), -1);
	assert_err(&e, 400, "invalid_request", "Duplicate key in the request body");
	assert_int_equal(csc_parse_body("[1]", 3, &j, &e), -1);
	assert_err(&e, 400, "invalid_request",
	    "The request body must be a JSON object");
	assert_int_equal(csc_parse_body("\"x\"", 3, &j, &e), -1);
	assert_int_equal(csc_parse_body("{not json", 9, &j, &e), -1);
	assert_err(&e, 400, "invalid_request",
	    "The request body is not valid JSON");
	assert_int_equal(csc_parse_body("{} {}", 5, &j, &e), -1);
	/* NUL inside a string is refused (no JSON_ALLOW_NUL) */
	assert_int_equal(csc_parse_body("{\"a\":\"\\u0000\"}", 14, &j, &e), -1);
	assert_int_equal(csc_parse_body(" \r\n", 3, &j, &e), 0);
	assert_true(json_is_object(j) && json_object_size(j) == 0);
	json_decref(j);
	assert_int_equal(csc_parse_body("{\"a\":{\"a\":1}}", 13, &j, &e), 0);
	json_decref(j);
}

static void test_bearer(void **state)
{
	char tok[CSC_MAX_TOKEN + 1];
	char hdr[300];
	struct csc_err e;
	char *t;

	assert_int_equal(csc_parse_bearer("Bearer abc-_.~+/=", tok, sizeof tok, &e), 0);
	assert_string_equal(tok, "abc-_.~+/=");
	assert_int_equal(csc_parse_bearer("bearer   xyz  ", tok, sizeof tok, &e), 0);
	assert_string_equal(tok, "xyz");
	assert_int_equal(csc_parse_bearer(NULL, tok, sizeof tok, &e), -1);
	assert_err(&e, 401, "invalid_token", NULL);
	assert_int_equal(csc_parse_bearer("Bearer", tok, sizeof tok, &e), -1);
	assert_int_equal(csc_parse_bearer("Bearer ", tok, sizeof tok, &e), -1);
	assert_int_equal(csc_parse_bearer("Basic abc", tok, sizeof tok, &e), -1);
	assert_int_equal(csc_parse_bearer("Bearerabc", tok, sizeof tok, &e), -1);
	assert_int_equal(csc_parse_bearer("Bearer a b", tok, sizeof tok, &e), -1);
	assert_int_equal(csc_parse_bearer("Bearer a\"b", tok, sizeof tok, &e), -1);
	t = repeat('x', CSC_MAX_TOKEN);
	snprintf(hdr, sizeof hdr, "Bearer %s", t);
	assert_int_equal(csc_parse_bearer(hdr, tok, sizeof tok, &e), 0);
	snprintf(hdr, sizeof hdr, "Bearer %sx", t);
	assert_int_equal(csc_parse_bearer(hdr, tok, sizeof tok, &e), -1);
	free(t);
}

static void test_login_parse(void **state)
{
	struct csc_login l;
	struct csc_err e;
	json_t *empty = J("{}");
	json_t *o;
	char hdr[400], *u, *enc;
	size_t n;

	/* alice:pa:ss (a colon inside the password is fine) */
	assert_int_equal(csc_login_parse("Basic YWxpY2U6cGE6c3M=", empty, &l, &e), 0);
	assert_string_equal(l.req.username, "alice");
	assert_int_equal(l.req.password.len, 5);
	assert_memory_equal(l.req.password.data, "pa:ss", 5);
	csc_login_clear(&l);
	/* without padding */
	assert_int_equal(csc_login_parse("basic YWxpY2U6cGE6c3M", empty, &l, &e), 0);
	csc_login_clear(&l);

	static const char *const bad[] = {
		NULL, "", "Basic", "Basic !!!!", "Bearer YWxpY2U6cGE6c3M=",
		"Basic YWxpY2U=",               /* alice (no colon) */
		"Basic OnB3",                   /* :pw */
		"Basic YWxpY2U6",               /* alice: */
		"Basic YQFiOnB3",               /* a\x01b:pw */
		"Basic gDpwdw==",               /* \x80:pw (not UTF-8) */
	};
	for (n = 0; n < sizeof bad / sizeof bad[0]; n++) {
		if (csc_login_parse(bad[n], empty, &l, &e) != -1)
			fail_msg("accepted %s", bad[n] ? bad[n] : "(null)");
		assert_err(&e, 401, "authentication_error", NULL);
		csc_login_clear(&l);
	}
	/* 64-byte user and 128-byte password taken; 65-byte user refused */
	for (n = 0; n <= 1; n++) {
		char raw[300];
		size_t m;

		u = repeat('u', CSC_MAX_USERNAME + n);
		m = (size_t)snprintf(raw, sizeof raw, "%s:%s", u,
		    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
		enc = malloc(sodium_base64_ENCODED_LEN(m, sodium_base64_VARIANT_ORIGINAL));
		sodium_bin2base64(enc, sodium_base64_ENCODED_LEN(m,
		    sodium_base64_VARIANT_ORIGINAL), (unsigned char *)raw, m,
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(hdr, sizeof hdr, "Basic %s", enc);
		assert_int_equal(csc_login_parse(hdr, empty, &l, &e), n ? -1 : 0);
		if (n == 0)
			assert_int_equal(l.req.password.len, CSC_MAX_PASSWORD);
		csc_login_clear(&l);
		free(u);
		free(enc);
	}
	o = J("{\"rememberMe\":\"yes\"}");
	assert_int_equal(csc_login_parse("Basic YWxpY2U6cGE6c3M=", o, &l, &e), -1);
	assert_err(&e, 400, "invalid_request", "Invalid parameter rememberMe");
	csc_login_clear(&l);
	json_decref(o);
	o = J("{\"refresh_token\":\"r\"}");
	assert_int_equal(csc_login_parse("Basic YWxpY2U6cGE6c3M=", o, &l, &e), -1);
	assert_err(&e, 400, "invalid_grant", NULL);
	csc_login_clear(&l);
	json_decref(o);
	json_decref(empty);
}

static void test_bad_info_list_params(void **state)
{
	static const char *const ci_bad[] = {
		"{\"credentialID\":\"c\",\"certificates\":\"all\"}",
		"{\"credentialID\":\"c\",\"certificates\":1}",
		"{\"credentialID\":\"c\",\"certInfo\":\"true\"}",
		"{\"credentialID\":\"c\",\"authInfo\":1}",
		"{\"credentialID\":\"c\",\"lang\":1}",
		"{\"credentialID\":[\"c\"]}",
		"{}",
	};
	static const char *const list_bad[] = {
		"{\"credentialInfo\":\"yes\"}",
		"{\"maxResults\":0}",
		"{\"maxResults\":\"1\"}",
		"{\"pageToken\":\"x\"}",
		"{\"pageToken\":\"\"}",
		"{\"pageToken\":1}",
		"{\"userID\":1}",
		"{\"onlyValid\":null}",
	};
	struct csc_cred_info ci;
	struct csc_list l;
	struct csc_err e;
	size_t i;

	for (i = 0; i < sizeof ci_bad / sizeof ci_bad[0]; i++) {
		json_t *o = J(ci_bad[i]);

		if (csc_cred_info_parse(o, "t", &ci, &e) != -1)
			fail_msg("accepted %s", ci_bad[i]);
		assert_err(&e, 400, "invalid_request", NULL);
		json_decref(o);
	}
	for (i = 0; i < sizeof list_bad / sizeof list_bad[0]; i++) {
		json_t *o = J(list_bad[i]);

		if (csc_list_parse(o, "t", &l, &e) != -1)
			fail_msg("accepted %s", list_bad[i]);
		assert_err(&e, 400, "invalid_request", NULL);
		json_decref(o);
	}
}

/* ---- status -> error --------------------------------------------------- */

static void test_every_status_mapped(void **state)
{
	const ProtobufCEnumDescriptor *d = &inkan__status__descriptor;
	unsigned i;

	for (i = 0; i < d->n_values; i++) {
		Inkan__Status st = (Inkan__Status)d->values[i].value;
		int v;

		for (v = CSC_V1; v <= CSC_V2; v++) {
			struct csc_err e;

			memset(&e, 0, sizeof e);
			csc_error_for(st, (enum csc_version)v, CSC_SIGN_HASH,
			    NULL, &e);
			if (!e.error || !e.description[0] ||
			    (e.http != 400 && e.http != 401 && e.http != 500 &&
			    e.http != 503))
				fail_msg("status %s has no mapping", d->values[i].name);
			/* only a handful are server-side failures */
			if (e.http == 500 && st != INKAN__STATUS__OK &&
			    st != INKAN__STATUS__INTERNAL &&
			    st != INKAN__STATUS__KEY_MISMATCH &&
			    st != INKAN__STATUS__EXISTS &&
			    st != INKAN__STATUS__NOT_FOUND &&
			    st != INKAN__STATUS__DENIED &&
			    st != INKAN__STATUS__INTEGRITY)
				fail_msg("status %s maps to 500", d->values[i].name);
		}
	}
}

static void test_status_table(void **state)
{
	static const struct {
		Inkan__Status st;
		enum csc_version v;
		unsigned http;
		const char *error, *desc;
	} T[] = {
		{ INKAN__STATUS__INVALID_REQUEST, CSC_V2, 400, "invalid_request", "Invalid request" },
		{ INKAN__STATUS__INVALID_TOKEN, CSC_V2, 401, "invalid_token", "Invalid or expired access token" },
		{ INKAN__STATUS__AUTH_FAILED, CSC_V1, 401, "authentication_error", "Invalid user name or password" },
		{ INKAN__STATUS__INVALID_PIN, CSC_V1, 400, "invalid_pin", NULL },
		{ INKAN__STATUS__INVALID_PIN, CSC_V2, 400, "invalid_authentication_data", NULL },
		{ INKAN__STATUS__INVALID_OTP, CSC_V1, 400, "invalid_otp", NULL },
		{ INKAN__STATUS__INVALID_OTP, CSC_V2, 400, "invalid_authentication_data", NULL },
		{ INKAN__STATUS__MISSING_FACTOR, CSC_V1, 400, "invalid_request", NULL },
		{ INKAN__STATUS__MISSING_FACTOR, CSC_V2, 400, "invalid_authentication_data", NULL },
		{ INKAN__STATUS__LOCKED, CSC_V1, 400, "invalid_pin", "PIN locked" },
		{ INKAN__STATUS__LOCKED, CSC_V2, 400, "invalid_authentication_data", "Credential locked" },
		{ INKAN__STATUS__UNKNOWN_CREDENTIAL, CSC_V2, 400, "invalid_request", "Invalid parameter credentialID" },
		{ INKAN__STATUS__CREDENTIAL_DISABLED, CSC_V2, 400, "invalid_request", "Credential is disabled" },
		{ INKAN__STATUS__SAD_INVALID, CSC_V2, 400, "invalid_request", "Invalid SAD" },
		{ INKAN__STATUS__SAD_EXPIRED, CSC_V1, 400, "invalid_request", "SAD expired" },
		{ INKAN__STATUS__HASH_NOT_AUTHORIZED, CSC_V2, 400, "invalid_request", "Hash is not authorized by the SAD" },
		{ INKAN__STATUS__TOO_MANY_SIGNATURES, CSC_V2, 400, "invalid_request", "Numbers of signatures is too high" },
		{ INKAN__STATUS__CERT_EXPIRED, CSC_V2, 400, "invalid_request", "Signing certificate is expired" },
		{ INKAN__STATUS__UNSUPPORTED_ALGO, CSC_V2, 400, "invalid_request", "Invalid parameter signAlgo" },
		{ INKAN__STATUS__INVALID_DIGEST_LENGTH, CSC_V2, 400, "invalid_request", "Invalid digest value length" },
		{ INKAN__STATUS__UNAVAILABLE, CSC_V2, 503, "temporarily_unavailable", NULL },
		{ INKAN__STATUS__INTERNAL, CSC_V2, 500, "server_error", NULL },
		{ INKAN__STATUS__DENIED, CSC_V2, 500, "server_error", NULL },
		{ (Inkan__Status)999, CSC_V2, 500, "server_error", NULL },
	};
	struct csc_err e;
	size_t i;

	for (i = 0; i < sizeof T / sizeof T[0]; i++) {
		csc_error_for(T[i].st, T[i].v, CSC_CRED_AUTHORIZE, NULL, &e);
		assert_err(&e, T[i].http, T[i].error, T[i].desc);
	}
	/* login: a locked account is an authentication error */
	csc_error_for(INKAN__STATUS__LOCKED, CSC_V2, CSC_AUTH_LOGIN, NULL, &e);
	assert_err(&e, 401, "authentication_error", NULL);
	/* the SAM's detail explains a generic invalid_request, cleaned and capped */
	csc_error_for(INKAN__STATUS__INVALID_REQUEST, CSC_V2, CSC_SIGN_HASH,
	    "numSignatures must equal\nthe number of hashes", &e);
	assert_string_equal(e.description,
	    "numSignatures must equal?the number of hashes");
	{
		char *longd = repeat('d', 500);

		csc_error_for(INKAN__STATUS__INVALID_REQUEST, CSC_V2,
		    CSC_SIGN_HASH, longd, &e);
		assert_int_equal(strlen(e.description), CSC_MAX_DETAIL);
		free(longd);
	}
	/* but never changes a documented CSC message */
	csc_error_for(INKAN__STATUS__SAD_EXPIRED, CSC_V2, CSC_SIGN_HASH,
	    "sad 1234 expired at noon", &e);
	assert_string_equal(e.description, "SAD expired");
}

/* ---- reply JSON -------------------------------------------------------- */

static void assert_json(json_t *got, const char *want_text)
{
	json_t *want = J(want_text);

	assert_non_null(got);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);

		fail_msg("got  %s\nwant %s", g, want_text);
	}
	json_decref(want);
	json_decref(got);
}

/* csc_sign_body writes exactly this text, and exactly its length. */
static void assert_sign_body(const Inkan__SignRep *r, const char *want)
{
	size_t len = 12345;
	char *got = csc_sign_body(r, &len);

	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

/* The signHash body, written without a DOM, is byte for byte what jansson
 * makes of the same signatures: every signature length an RSA-4096 or
 * ECDSA answer can have (and around them), up to 256 signatures. */
static void test_sign_body(void **state)
{
	static const size_t counts[] = { 1, 2, 3, 100, 256 };
	static uint8_t data[256][600];
	ProtobufCBinaryData sigs[256];
	Inkan__SignRep sr = INKAN__SIGN_REP__INIT;
	json_t *o, *a;
	char *want, *got, b64[1024];
	size_t len;

	(void)state;
	randombytes_buf(data, sizeof data);
	for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
		o = json_object();
		a = json_array();
		for (size_t i = 0; i < counts[k]; i++) {
			/* 0..599 bytes: every remainder mod 3, 64..512 */
			sigs[i].len = (i * 37 + k * 7) % 600;
			sigs[i].data = data[i];
			sodium_bin2base64(b64, sizeof b64, data[i], sigs[i].len,
			    sodium_base64_VARIANT_ORIGINAL);
			json_array_append_new(a, json_string(b64));
		}
		json_object_set_new(o, "signatures", a);
		/* (jansson's allocator is inkan's wiping one: dump into ours) */
		len = json_dumpb(o, NULL, 0, JSON_COMPACT);
		want = malloc(len + 1);
		assert_non_null(want);
		assert_int_equal(json_dumpb(o, want, len, JSON_COMPACT), len);
		want[len] = '\0';
		sr.n_signatures = counts[k];
		sr.signatures = sigs;
		got = csc_sign_body(&sr, &len);
		assert_non_null(got);
		assert_string_equal(got, want);
		assert_int_equal(len, strlen(want));
		free(got);
		free(want);
		json_decref(o);
	}
}

static void test_reply_json(void **state)
{
	Inkan__LoginRep lr = INKAN__LOGIN_REP__INIT;
	Inkan__AuthorizeRep ar = INKAN__AUTHORIZE_REP__INIT;
	Inkan__SignRep sr = INKAN__SIGN_REP__INIT;
	ProtobufCBinaryData sigs[2] = {
		{ 3, (uint8_t *)"\xfb\xff\x00" }, { 1, (uint8_t *)"A" },
	};

	lr.access_token = (char *)"tok";
	lr.expires_in = 3600;
	assert_json(csc_json_login(&lr),
	    "{\"access_token\":\"tok\",\"expires_in\":3600}");
	ar.sad = (char *)"sad";
	ar.expires_in = 300;
	assert_json(csc_json_authorize(&ar), "{\"SAD\":\"sad\",\"expiresIn\":300}");
	sr.n_signatures = 2;
	sr.signatures = sigs;
	assert_sign_body(&sr, "{\"signatures\":[\"+/8A\",\"QQ==\"]}");
	sr.n_signatures = 0;
	assert_sign_body(&sr, "{\"signatures\":[]}");
	sr.n_signatures = 1;
	sigs[0].len = 0;
	assert_sign_body(&sr, "{\"signatures\":[\"\"]}");
	/* invalid UTF-8 from a peer cannot produce broken JSON */
	lr.access_token = (char *)"\xff";
	assert_null(csc_json_login(&lr));
}

static const char *ALGOS = "[\"1.2.840.113549.1.1.1\",\"1.2.840.113549.1.1.10\","
    "\"1.2.840.113549.1.1.11\",\"1.2.840.113549.1.1.12\",\"1.2.840.113549.1.1.13\","
    "\"1.2.840.10045.4.3.2\",\"1.2.840.10045.4.3.3\",\"1.2.840.10045.4.3.4\"]";
static const char *METHODS = "[\"auth/login\",\"auth/revoke\",\"credentials/list\","
    "\"credentials/info\",\"credentials/authorize\",\"signatures/signHash\"]";
/* v2 adds the v2.2 method credentials/create (issue 7) */
static const char *METHODS_V2 = "[\"auth/login\",\"auth/revoke\",\"credentials/list\","
    "\"credentials/info\",\"credentials/authorize\",\"signatures/signHash\","
    "\"credentials/create\"]";

static void test_info_json(void **state)
{
	char want[2048];

	snprintf(want, sizeof want, "{\"specs\":\"2.0.0.2\",\"name\":\"inkan\","
	    "\"logo\":\"\",\"region\":\"JP\",\"lang\":\"en-US\","
	    "\"description\":\"inkan remote signing service\","
	    "\"authType\":[\"basic\"],\"methods\":%s,"
	    "\"signAlgorithms\":{\"algos\":%s},"
	    "\"asynchronousOperationMode\":false,\"validationInfo\":false}",
	    METHODS_V2, ALGOS);
	assert_json(csc_json_info(CSC_V2, NULL, NULL), want);
	snprintf(want, sizeof want, "{\"specs\":\"1.0.4.0\",\"name\":\"inkan\","
	    "\"logo\":\"\",\"region\":\"JP\",\"lang\":\"en-US\","
	    "\"description\":\"inkan remote signing service\","
	    "\"authType\":[\"basic\"],\"methods\":%s}", METHODS);
	assert_json(csc_json_info(CSC_V1, NULL, NULL), want);
}

static ProtobufCBinaryData certs[2] = {
	{ 3, (uint8_t *)"\x30\x01\x00" }, { 2, (uint8_t *)"\x30\x00" },
};
static char *algos_ec[] = { (char *)"1.2.840.10045.4.3.2" };

static void fill_cred(Inkan__CredInfoRep *r)
{
	inkan__cred_info_rep__init(r);
	r->credential_id = (char *)"c0ffee";
	r->key_type = INKAN__KEY_TYPE__KEY_EC_P256;
	r->enabled = 1;
	r->n_sign_algos = 1;
	r->sign_algos = algos_ec;
	r->key_bits = 256;
	r->curve_oid = (char *)"1.2.840.10045.3.1.7";
	r->n_certificates = 2;
	r->certificates = certs;
	r->subject_dn = (char *)"CN=erin";
	r->issuer_dn = (char *)"CN=inkan test CA,O=inkan";
	r->serial_hex = (char *)"0a1b";
	r->valid_from = (char *)"20240101000000Z";
	r->valid_to = (char *)"20340101000000Z";
	r->multisign = 100;
}

#define KEY_EC "\"key\":{\"status\":\"enabled\",\"algo\":[\"1.2.840.10045.4.3.2\"]," \
	"\"len\":256,\"curve\":\"1.2.840.10045.3.1.7\"}"
#define CERT_TAIL "\"issuerDN\":\"CN=inkan test CA,O=inkan\",\"serialNumber\":\"0a1b\"," \
	"\"subjectDN\":\"CN=erin\",\"validFrom\":\"20240101000000Z\"," \
	"\"validTo\":\"20340101000000Z\""
#define AUTH_V2 "\"auth\":{\"mode\":\"explicit\",\"expression\":\"PIN AND OTP\"," \
	"\"objects\":[{\"type\":\"Password\",\"id\":\"PIN\",\"format\":\"N\"," \
	"\"label\":\"PIN\",\"description\":\"Signing PIN\"},{\"type\":\"Password\"," \
	"\"id\":\"OTP\",\"format\":\"N\",\"generator\":\"totp\",\"label\":\"OTP\"," \
	"\"description\":\"6-digit one-time password\"}]}"

static void test_cred_info_json(void **state)
{
	Inkan__CredInfoRep r;
	struct csc_info_opts o = { CSC_CERTS_SINGLE, false, false };
	const time_t now = 1767225600;          /* 2026-01-01 */

	fill_cred(&r);
	assert_json(csc_json_cred_info(&r, CSC_V2, &o, now),
	    "{" KEY_EC ",\"cert\":{\"status\":\"valid\",\"certificates\":[\"MAEA\"],"
	    CERT_TAIL "}," AUTH_V2 ",\"SCAL\":\"2\",\"multisign\":100}");
	o.certs = CSC_CERTS_CHAIN;
	assert_json(csc_json_cred_info(&r, CSC_V1, &o, now),
	    "{" KEY_EC ",\"cert\":{\"status\":\"valid\","
	    "\"certificates\":[\"MAEA\",\"MAA=\"]," CERT_TAIL "},"
	    "\"authMode\":\"explicit\",\"PIN\":{\"presence\":\"true\","
	    "\"format\":\"N\",\"label\":\"PIN\",\"description\":\"Signing PIN\"},"
	    "\"OTP\":{\"presence\":\"true\",\"type\":\"offline\",\"format\":\"N\","
	    "\"label\":\"OTP\",\"description\":\"TOTP\",\"ID\":\"totp\","
	    "\"provider\":\"inkan\"},\"SCAL\":\"2\",\"multisign\":100}");
	/* expired certificate, no certificates asked, RSA key: no curve */
	o.certs = CSC_CERTS_NONE;
	r.valid_to = (char *)"20250101000000Z";
	r.key_type = INKAN__KEY_TYPE__KEY_RSA_2048;
	r.key_bits = 2048;
	r.enabled = 0;
	{
		json_t *j = csc_json_cred_info(&r, CSC_V2, &o, now);

		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(j, "cert"), "status")), "expired");
		assert_null(json_object_get(json_object_get(j, "cert"),
		    "certificates"));
		assert_null(json_object_get(json_object_get(j, "key"), "curve"));
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(j, "key"), "status")), "disabled");
		assert_int_equal(json_integer_value(json_object_get(
		    json_object_get(j, "key"), "len")), 2048);
		json_decref(j);
	}
}

/* ---- the whole handler against a fake SAM ------------------------------ */

struct fake {
	int ret;                        /* transport result */
	Inkan__Status status;
	const char *detail;
	int calls;
	uint32_t last_type;
	uint8_t last[65536];
	size_t last_len;
	const ProtobufCMessage *reply[16]; /* by (type - 100) / 2 */
	bool admit_no;                  /* the rate limiter says no */
	char admitted[64];              /* last kind:key asked about */
	uint32_t fail_type;             /* this request type answers... */
	Inkan__Status fail_status;      /* ...this status */
};

static int fake_call(void *ctx, uint32_t type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **rep,
    Inkan__Status *st, char *detail, size_t dlen)
{
	struct fake *f = ctx;
	const ProtobufCMessage *r;
	uint8_t *buf;
	size_t n;

	f->calls++;
	f->last_type = type;
	n = protobuf_c_message_get_packed_size(req);
	assert_true(n <= sizeof f->last);
	f->last_len = protobuf_c_message_pack(req, f->last);
	assert_true(protobuf_c_message_check(req));
	*rep = NULL;
	if (f->ret)
		return f->ret;
	*st = f->fail_type == type ? f->fail_status : f->status;
	snprintf(detail, dlen, "%s", f->detail ? f->detail : "");
	if (*st != INKAN__STATUS__OK)
		return 0;
	assert_true(type >= 100 && type <= 130 && type % 2 == 0);
	r = f->reply[(type - 100) / 2];
	assert_non_null(r);
	assert_ptr_equal(r->descriptor, desc);
	n = pack(r, &buf);
	*rep = protobuf_c_message_unpack(desc, NULL, n, buf);
	free(buf);
	assert_non_null(*rep);
	return 0;
}

static struct fake F;
static const struct csc_sam SAM = { .call = fake_call, .ctx = &F };

static bool fake_admit(void *ctx, const char *kind, const char *key)
{
	struct fake *f = ctx;

	snprintf(f->admitted, sizeof f->admitted, "%s:%s", kind, key);
	return !f->admit_no;
}

static const uint8_t CSRF_KEY[32] = { 1, 2, 3 };
/* The daemon's configuration: extendTransaction, OAuth2, rate limit. */
static const struct csc_sam SAM4 = { .call = fake_call, .ctx = &F,
    .admit = fake_admit, .admit_ctx = &F, .have_extend = true,
    .have_oauth = true, .csrf_key = CSRF_KEY };

static json_t *handle(const char *method, const char *path, const char *auth,
    const char *body, unsigned want_status)
{
	struct csc_http_req rq = { .method = method, .path = path,
	    .authorization = auth, .body = body,
	    .body_len = body ? strlen(body) : 0 };
	struct csc_http_rep rp;
	json_t *j = NULL;

	csc_handle(&SAM, &rq, &rp);
	if (rp.status != want_status)
		fail_msg("%s %s: status %u, want %u: %s", method, path,
		    rp.status, want_status, rp.body ? rp.body : "");
	if (rp.body) {
		assert_int_equal(strlen(rp.body), rp.body_len);
		j = J(rp.body);
	}
	csc_body_free(rp.body);
	return j;
}

static void assert_error_json(json_t *j, const char *error, const char *desc)
{
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")), error);
	assert_non_null(json_string_value(json_object_get(j, "error_description")));
	if (desc)
		assert_string_equal(json_string_value(json_object_get(j,
		    "error_description")), desc);
	json_decref(j);
}

static int reset(void **state)
{
	memset(&F, 0, sizeof F);
	return 0;
}

static void test_handle_routing(void **state)
{
	struct csc_http_req rq = { .method = "PUT", .path = "/csc/v2/info",
	    .body = "" };
	struct csc_http_rep rp;
	json_t *j;

	j = handle("POST", "/csc/v2/info", NULL, "", 200);
	assert_string_equal(json_string_value(json_object_get(j, "specs")), "2.0.0.2");
	json_decref(j);
	j = handle("GET", "/csc/v1/info", NULL, NULL, 200);
	assert_string_equal(json_string_value(json_object_get(j, "specs")), "1.0.4.0");
	json_decref(j);
	assert_error_json(handle("POST", "/index.html", NULL, "{}", 404),
	    "invalid_request", NULL);
	assert_error_json(handle("POST", "/csc/v2/signatures/signDoc", "Bearer t",
	    "{}", 501), "not_implemented", NULL);
	assert_error_json(handle("POST", "/csc/v2/oauth2/authorize", NULL, "{}",
	    501), "not_implemented", NULL);
	assert_error_json(handle("GET", "/csc/v2/credentials/list", "Bearer t",
	    NULL, 405), "invalid_request", NULL);
	csc_handle(&SAM, &rq, &rp);
	assert_int_equal(rp.status, 405);
	assert_string_equal(rp.allow, "GET, POST");
	csc_body_free(rp.body);
	rq.method = "POST";
	rq.body_too_large = true;
	csc_handle(&SAM, &rq, &rp);
	assert_int_equal(rp.status, 413);
	assert_error_json(J(rp.body), "invalid_request", NULL);
	csc_body_free(rp.body);
	assert_error_json(handle("POST", "/csc/v2/info", NULL, "[]", 400),
	    "invalid_request", NULL);
	assert_error_json(handle("POST", "/csc/v2/info", NULL, "{\"lang\":1}", 400),
	    "invalid_request", "Invalid parameter lang");
	assert_int_equal(F.calls, 0);
}

static void test_handle_auth_required(void **state)
{
	static const char *const paths[] = {
		"/csc/v2/auth/revoke", "/csc/v2/credentials/list",
		"/csc/v1/credentials/info", "/csc/v2/credentials/authorize",
		"/csc/v1/signatures/signHash",
	};
	struct csc_http_req rq = { .method = "POST", .body = "{}",
	    .body_len = 2 };
	struct csc_http_rep rp;
	size_t i;

	for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		rq.path = paths[i];
		rq.authorization = i % 2 ? NULL : "Basic YWxpY2U6cHc=";
		csc_handle(&SAM, &rq, &rp);
		assert_int_equal(rp.status, 401);
		assert_string_equal(rp.www_authenticate, "Bearer error=\"invalid_token\"");
		assert_error_json(J(rp.body), "invalid_token", NULL);
		csc_body_free(rp.body);
	}
	assert_int_equal(F.calls, 0);
}

static void test_handle_login_revoke(void **state)
{
	Inkan__LoginRep lr = INKAN__LOGIN_REP__INIT;
	Inkan__RevokeRep rr = INKAN__REVOKE_REP__INIT;
	Inkan__LoginReq *lq;
	Inkan__RevokeReq *rq;
	json_t *j;

	lr.access_token = (char *)"T0KEN";
	lr.expires_in = 3600;
	F.reply[0] = &lr.base;
	F.reply[5] = &rr.base;
	j = handle("POST", "/csc/v1/auth/login", "Basic YWxpY2U6cHc=",
	    "{\"rememberMe\":false}", 200);
	assert_json(j, "{\"access_token\":\"T0KEN\",\"expires_in\":3600}");
	assert_int_equal(F.last_type, INKAN__MSG_TYPE__SIGNER_LOGIN_REQ);
	lq = inkan__login_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(lq->username, "alice");
	assert_int_equal(lq->password.len, 2);
	assert_memory_equal(lq->password.data, "pw", 2);
	inkan__login_req__free_unpacked(lq, NULL);

	/* no Basic: 401 with a Basic challenge, SAM not asked */
	F.calls = 0;
	{
		struct csc_http_req q = { .method = "POST",
		    .path = "/csc/v2/auth/login", .body = "" };
		struct csc_http_rep p;

		csc_handle(&SAM, &q, &p);
		assert_int_equal(p.status, 401);
		assert_non_null(strstr(p.www_authenticate, "Basic"));
		assert_error_json(J(p.body), "authentication_error", NULL);
		csc_body_free(p.body);
	}
	assert_int_equal(F.calls, 0);

	F.status = INKAN__STATUS__AUTH_FAILED;
	assert_error_json(handle("POST", "/csc/v2/auth/login",
	    "Basic YWxpY2U6cHc=", "{}", 401), "authentication_error",
	    "Invalid user name or password");
	F.status = INKAN__STATUS__OK;

	assert_null(handle("POST", "/csc/v2/auth/revoke", "Bearer T0KEN",
	    "{\"token\":\"T0KEN\",\"token_type_hint\":\"access_token\"}", 204));
	rq = inkan__revoke_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(rq->access_token, "T0KEN");
	inkan__revoke_req__free_unpacked(rq, NULL);
}

static void test_handle_authorize_sign(void **state)
{
	Inkan__AuthorizeRep ar = INKAN__AUTHORIZE_REP__INIT;
	Inkan__SignRep sr = INKAN__SIGN_REP__INIT;
	ProtobufCBinaryData sig = { 2, (uint8_t *)"\x30\x00" };
	Inkan__AuthorizeReq *aq;
	Inkan__SignReq *sq;

	ar.sad = (char *)"SAD0";
	ar.expires_in = 300;
	sr.n_signatures = 1;
	sr.signatures = &sig;
	F.reply[3] = &ar.base;
	F.reply[4] = &sr.base;

	assert_json(handle("POST", "/csc/v2/credentials/authorize", "Bearer tk",
	    AUTHZ(",\"authData\":[{\"id\":\"PIN\",\"value\":\"1234\"},"
	    "{\"id\":\"OTP\",\"value\":\"000111\"}]"), 200),
	    "{\"SAD\":\"SAD0\",\"expiresIn\":300}");
	assert_int_equal(F.last_type, INKAN__MSG_TYPE__SIGNER_AUTHORIZE_REQ);
	aq = inkan__authorize_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(aq->access_token, "tk");
	assert_string_equal(aq->credential_id, "c");
	assert_memory_equal(aq->pin.data, "1234", 4);
	assert_memory_equal(aq->otp.data, "000111", 6);
	assert_int_equal(aq->n_hashes, 1);
	inkan__authorize_req__free_unpacked(aq, NULL);

	assert_json(handle("POST", "/csc/v1/signatures/signHash", "Bearer tk",
	    SIGN(",\"hash\":" HASH1 ",\"hashAlgo\":\"2.16.840.1.101.3.4.2.1\""),
	    200), "{\"signatures\":[\"MAA=\"]}");
	sq = inkan__sign_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(sq->sad, "s");
	assert_string_equal(sq->hash_algo_oid, "2.16.840.1.101.3.4.2.1");
	inkan__sign_req__free_unpacked(sq, NULL);

	/* statuses per version */
	F.status = INKAN__STATUS__INVALID_OTP;
	assert_error_json(handle("POST", "/csc/v1/credentials/authorize",
	    "Bearer tk", AUTHZ(",\"PIN\":\"1\",\"OTP\":\"2\""), 400),
	    "invalid_otp", NULL);
	assert_error_json(handle("POST", "/csc/v2/credentials/authorize",
	    "Bearer tk", AUTHZ(",\"PIN\":\"1\",\"OTP\":\"2\""), 400),
	    "invalid_authentication_data", NULL);
	F.status = INKAN__STATUS__INVALID_TOKEN;
	{
		struct csc_http_req q = { .method = "POST",
		    .path = "/csc/v2/signatures/signHash",
		    .authorization = "Bearer tk",
		    .body = SIGN(",\"hashes\":" HASH1) };
		struct csc_http_rep p;

		q.body_len = strlen(q.body);
		csc_handle(&SAM, &q, &p);
		assert_int_equal(p.status, 401);
		assert_non_null(p.www_authenticate);
		assert_error_json(J(p.body), "invalid_token", NULL);
		csc_body_free(p.body);
	}
	F.status = INKAN__STATUS__INVALID_REQUEST;
	F.detail = "numSignatures must equal the number of hashes";
	assert_error_json(handle("POST", "/csc/v2/credentials/authorize",
	    "Bearer tk", AUTHZ(""), 400), "invalid_request",
	    "numSignatures must equal the number of hashes");
	F.status = INKAN__STATUS__OK;
	F.detail = NULL;

	/* transport failures */
	F.ret = -ECONNREFUSED;
	assert_error_json(handle("POST", "/csc/v2/signatures/signHash",
	    "Bearer tk", SIGN(",\"hashes\":" HASH1), 503),
	    "temporarily_unavailable", NULL);
	F.ret = -EPROTO;
	assert_error_json(handle("POST", "/csc/v2/signatures/signHash",
	    "Bearer tk", SIGN(",\"hashes\":" HASH1), 500), "server_error", NULL);
	F.ret = 0;

	/* a malformed request never reaches the SAM */
	F.calls = 0;
	assert_error_json(handle("POST", "/csc/v2/credentials/authorize",
	    "Bearer tk", AUTHZ(",\"PIN\":5"), 400), "invalid_request",
	    "Invalid parameter PIN");
	assert_error_json(handle("POST", "/csc/v2/credentials/authorize",
	    "Bearer tk", "{\"credentialID\":\"c\",\"credentialID\":\"d\"}", 400),
	    "invalid_request", NULL);
	assert_int_equal(F.calls, 0);
}

static void test_handle_list_info(void **state)
{
	Inkan__ListRep lr = INKAN__LIST_REP__INIT;
	Inkan__CredInfoRep cr;
	char *ids[3] = { (char *)"c1", (char *)"c2", (char *)"c3" };
	json_t *j;

	fill_cred(&cr);
	cr.valid_to = (char *)"29990101000000Z";
	lr.n_credential_ids = 3;
	lr.credential_ids = ids;
	F.reply[1] = &lr.base;
	F.reply[2] = &cr.base;

	assert_json(handle("POST", "/csc/v2/credentials/list", "Bearer tk", "{}",
	    200), "{\"credentialIDs\":[\"c1\",\"c2\",\"c3\"]}");
	assert_int_equal(F.calls, 1);
	assert_json(handle("POST", "/csc/v1/credentials/list", "Bearer tk",
	    "{\"maxResults\":2}", 200),
	    "{\"credentialIDs\":[\"c1\",\"c2\"],\"nextPageToken\":\"2\"}");
	assert_json(handle("POST", "/csc/v1/credentials/list", "Bearer tk",
	    "{\"maxResults\":2,\"pageToken\":\"2\"}", 200),
	    "{\"credentialIDs\":[\"c3\"]}");
	assert_error_json(handle("POST", "/csc/v1/credentials/list", "Bearer tk",
	    "{\"pageToken\":\"4\"}", 400), "invalid_request",
	    "Invalid parameter pageToken");

	F.calls = 0;
	j = handle("POST", "/csc/v2/credentials/list", "Bearer tk",
	    "{\"credentialInfo\":true,\"certificates\":\"none\"}", 200);
	assert_int_equal(F.calls, 4);
	assert_int_equal(json_array_size(json_object_get(j, "credentialInfos")), 3);
	{
		json_t *i1 = json_array_get(json_object_get(j, "credentialInfos"), 1);

		assert_string_equal(json_string_value(json_object_get(i1,
		    "credentialID")), "c2");
		assert_string_equal(json_string_value(json_object_get(i1, "SCAL")), "2");
		assert_non_null(json_object_get(i1, "auth"));
		assert_null(json_object_get(json_object_get(i1, "cert"),
		    "certificates"));
	}
	json_decref(j);

	j = handle("POST", "/csc/v2/credentials/info", "Bearer tk",
	    "{\"credentialID\":\"c2\",\"certificates\":\"chain\"}", 200);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j,
	    "cert"), "certificates")), 2);
	json_decref(j);
	{
		Inkan__CredInfoReq *q = inkan__cred_info_req__unpack(NULL,
		    F.last_len, F.last);

		assert_string_equal(q->credential_id, "c2");
		assert_string_equal(q->access_token, "tk");
		inkan__cred_info_req__free_unpacked(q, NULL);
	}
	j = handle("POST", "/csc/v1/credentials/info", "Bearer tk",
	    "{\"credentialID\":\"c2\"}", 200);
	assert_string_equal(json_string_value(json_object_get(j, "authMode")),
	    "explicit");
	json_decref(j);

	/* onlyValid drops a disabled credential */
	cr.enabled = 0;
	assert_json(handle("POST", "/csc/v2/credentials/list", "Bearer tk",
	    "{\"onlyValid\":true}", 200), "{\"credentialIDs\":[]}");

	F.status = INKAN__STATUS__UNKNOWN_CREDENTIAL;
	assert_error_json(handle("POST", "/csc/v2/credentials/info", "Bearer tk",
	    "{\"credentialID\":\"dead\"}", 400), "invalid_request",
	    "Invalid parameter credentialID");
}

/* ---- issue 4: OAuth2, credential tokens, extendTransaction, limits ---- */

static void run(const struct csc_sam *sam, struct csc_http_req *rq,
    struct csc_http_rep *rp, unsigned want)
{
	csc_handle(sam, rq, rp);
	if (rp->status != want)
		fail_msg("%s %s: status %u, want %u: %s", rq->method, rq->path,
		    rp->status, want, rp->body ? rp->body : "");
}

static void test_info_oauth(void **state)
{
	struct csc_http_req rq = { .method = "GET", .path = "/csc/v2/info",
	    .base_url = "https://h.example:8443" };
	struct csc_http_rep rp;
	json_t *j, *m;

	run(&SAM4, &rq, &rp, 200);
	j = J(rp.body);
	assert_string_equal(json_string_value(json_object_get(j, "oauth2")),
	    "https://h.example:8443/csc/v2");
	m = json_object_get(j, "methods");
	assert_int_equal(json_array_size(m), 11);   /* + credentials/create */
	assert_string_equal(json_string_value(json_array_get(m, 6)),
	    "credentials/extendTransaction");
	assert_string_equal(json_string_value(json_array_get(m, 9)),
	    "oauth2/revoke");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "authType"), 1)), "oauth2code");
	assert_true(json_is_false(json_object_get(j, "asynchronousOperationMode")));
	json_decref(j);
	csc_rep_clear(&rp);
	rq.path = "/csc/v1/info";
	run(&SAM4, &rq, &rp, 200);
	j = J(rp.body);
	assert_string_equal(json_string_value(json_object_get(j, "oauth2")),
	    "https://h.example:8443/csc/v1");
	assert_null(json_object_get(j, "signAlgorithms"));
	json_decref(j);
	csc_rep_clear(&rp);
	/* without OAuth2 the methods are not offered and answer 501 */
	assert_error_json(handle("POST", "/csc/v2/credentials/extendTransaction",
	    "Bearer t", "{}", 501), "not_implemented", NULL);
	assert_error_json(handle("POST", "/csc/v2/oauth2/token", NULL, "", 501),
	    "not_implemented", NULL);
}

static void test_cred_token(void **state)
{
	Inkan__SignRep sr = INKAN__SIGN_REP__INIT;
	Inkan__RevokeRep vr = INKAN__REVOKE_REP__INIT;
	struct csc_http_req rq = { .method = "POST",
	    .path = "/csc/v2/signatures/signHash" };
	struct csc_http_rep rp;
	Inkan__SignReq *q;
	char body[512];

	F.reply[(108 - 100) / 2] = &sr.base;
	F.reply[(110 - 100) / 2] = &vr.base;
	/* v2: the credential token alone, as the Bearer token */
	snprintf(body, sizeof body, "{\"credentialID\":\"c\",\"hashes\":%s,"
	    "\"signAlgo\":\"1.2.840.10045.4.3.2\"}", "[\"" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "\"]");
	rq.authorization = "Bearer TTT.SSS";
	rq.body = body;
	rq.body_len = strlen(body);
	run(&SAM4, &rq, &rp, 200);
	csc_rep_clear(&rp);
	q = inkan__sign_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->access_token, "TTT");
	assert_string_equal(q->sad, "SSS");
	inkan__sign_req__free_unpacked(q, NULL);
	assert_string_equal(F.admitted, "token:TTT");
	/* v1: a service token, the credential token as SAD */
	snprintf(body, sizeof body, "{\"credentialID\":\"c\",\"SAD\":\"TT2.SS2\","
	    "\"hash\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"],"
	    "\"signAlgo\":\"1.2.840.10045.4.3.2\"}");
	rq.path = "/csc/v1/signatures/signHash";
	rq.authorization = "Bearer svc";
	rq.body_len = strlen(body);
	run(&SAM4, &rq, &rp, 200);
	csc_rep_clear(&rp);
	q = inkan__sign_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->access_token, "TT2");
	assert_string_equal(q->sad, "SS2");
	inkan__sign_req__free_unpacked(q, NULL);
	/* an ordinary SAD with an ordinary token is passed as it is */
	{
		json_t *j = handle("POST", "/csc/v2/signatures/signHash",
		    "Bearer tk", SIGN(",\"hashes\":" HASH1), 200);

		assert_non_null(j);
		json_decref(j);
	}
	q = inkan__sign_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->access_token, "tk");
	assert_string_equal(q->sad, "s");
	inkan__sign_req__free_unpacked(q, NULL);
	/* revoking a credential token revokes its access token (and SAD) */
	assert_null(handle("POST", "/csc/v2/auth/revoke", "Bearer TTT.SSS", "{}",
	    204));
	{
		Inkan__RevokeReq *v = inkan__revoke_req__unpack(NULL,
		    F.last_len, F.last);

		assert_string_equal(v->access_token, "TTT");
		inkan__revoke_req__free_unpacked(v, NULL);
	}
}

static void test_extend(void **state)
{
	Inkan__ExtendRep xr = INKAN__EXTEND_REP__INIT;
	struct csc_http_req rq = { .method = "POST",
	    .path = "/csc/v2/credentials/extendTransaction",
	    .authorization = "Bearer tk" };
	struct csc_http_rep rp;
	Inkan__ExtendReq *q;
	const char *b = "{\"credentialID\":\"c\",\"SAD\":\"old\"}";

	xr.sad = (char *)"new";
	xr.expires_in = 300;
	F.reply[(112 - 100) / 2] = &xr.base;
	rq.body = b;
	rq.body_len = strlen(b);
	run(&SAM4, &rq, &rp, 200);
	assert_json(J(rp.body), "{\"SAD\":\"new\",\"expiresIn\":300}");
	csc_rep_clear(&rp);
	assert_int_equal(F.last_type, INKAN__MSG_TYPE__SIGNER_EXTEND_REQ);
	q = inkan__extend_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->access_token, "tk");
	assert_string_equal(q->credential_id, "c");
	assert_string_equal(q->sad, "old");
	inkan__extend_req__free_unpacked(q, NULL);
	b = "{\"credentialID\":\"c\"}";
	rq.body = b;
	rq.body_len = strlen(b);
	run(&SAM4, &rq, &rp, 400);
	assert_error_json(J(rp.body), "invalid_request", "Missing parameter SAD");
	csc_rep_clear(&rp);
	b = "{\"credentialID\":\"c\",\"SAD\":\"old\",\"hash\":[\"AAAA\"]}";
	rq.body = b;
	rq.body_len = strlen(b);
	run(&SAM4, &rq, &rp, 400);
	assert_error_json(J(rp.body), "invalid_request",
	    "Invalid digest value length");
	csc_rep_clear(&rp);
	F.status = INKAN__STATUS__SAD_EXPIRED;
	b = "{\"credentialID\":\"c\",\"SAD\":\"old\"}";
	rq.body = b;
	rq.body_len = strlen(b);
	run(&SAM4, &rq, &rp, 400);
	assert_error_json(J(rp.body), "invalid_request", "SAD expired");
	csc_rep_clear(&rp);
}

static void test_rate_limited(void **state)
{
	struct csc_http_req rq = { .method = "POST",
	    .path = "/csc/v2/credentials/list", .authorization = "Bearer tk",
	    .body = "{}", .body_len = 2 };
	struct csc_http_rep rp;

	F.admit_no = true;
	run(&SAM4, &rq, &rp, 429);
	assert_error_json(J(rp.body), "too_many_requests", NULL);
	assert_int_equal(rp.retry_after, 1);
	assert_int_equal(F.calls, 0);
	assert_string_equal(F.admitted, "token:tk");
	csc_rep_clear(&rp);
	rq.path = "/csc/v2/auth/login";
	rq.authorization = "Basic YWxpY2U6cHc=";        /* alice:pw */
	run(&SAM4, &rq, &rp, 429);
	assert_string_equal(F.admitted, "user:alice");
	assert_int_equal(F.calls, 0);
	csc_rep_clear(&rp);
}

/* A consent request as a client would send it. */
#define CHAL "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define H32A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define H32B "_____________________________________________"
static struct csc_kv Q[] = {
	{ "response_type", "code" },
	{ "client_id", "app" },
	{ "redirect_uri", "https://app.example/cb?x=1" },
	{ "scope", "credential" },
	{ "state", "s<1>" },
	{ "code_challenge", CHAL },
	{ "code_challenge_method", "S256" },
	{ "credentialID", "c1" },
	{ "numSignatures", "2" },
	{ "hashes", H32A "," "_____________________________________________w" },
	{ "hashAlgorithmOID", "2.16.840.1.101.3.4.2.1" },
	{ "description", "<script>alert(1)</script> & co" },
	{ "labels", "YS5wZGY,YiZjLnBkZg" },     /* a.pdf, b&c.pdf */
	{ "lang", "ja" },
};
#define NQ (sizeof Q / sizeof Q[0])

static Inkan__OAuthPrepareRep PREP = INKAN__OAUTH_PREPARE_REP__INIT;

static void consent_get(struct csc_kv *q, size_t n, const char *accept,
    struct csc_http_rep *rp, unsigned want)
{
	struct csc_http_req rq = { .method = "GET",
	    .path = "/csc/v2/oauth2/authorize", .query = q, .n_query = n,
	    .accept_language = accept, .tls = true };

	PREP.subject_dn = (char *)"CN=Taro <x>,O=inkan";
	F.reply[(120 - 100) / 2] = &PREP.base;
	run(&SAM4, &rq, rp, want);
}

static void test_consent_page(void **state)
{
	struct csc_http_rep rp;
	Inkan__OAuthPrepareReq *q;

	consent_get(Q, NQ, NULL, &rp, 200);
	assert_string_equal(rp.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(rp.csp, "default-src 'none'"));
	assert_non_null(strstr(rp.csp, "form-action 'self' https://app.example;"));
	assert_null(strstr(rp.csp, "script-src"));
	assert_non_null(strstr(rp.set_cookie, "inkan_csrf="));
	assert_non_null(strstr(rp.set_cookie, "HttpOnly; SameSite=Strict; Secure"));
	/* everything shown is escaped; no script anywhere */
	assert_null(strstr(rp.body, "<script"));
	assert_non_null(strstr(rp.body, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
	assert_non_null(strstr(rp.body, "CN=Taro &lt;x&gt;,O=inkan"));
	assert_non_null(strstr(rp.body, "b&amp;c.pdf"));
	assert_non_null(strstr(rp.body, "<code class=\"hash\">0000000000000000"
	    "000000000000000000000000000000000000000000000000</code>"));
	assert_non_null(strstr(rp.body, "ffffffffffffffffffffffffffffffff"));
	assert_non_null(strstr(rp.body, "<dd id=\"count\">2</dd>"));
	assert_non_null(strstr(rp.body, "SHA-256"));
	assert_non_null(strstr(rp.body, "署名内容の確認"));
	assert_non_null(strstr(rp.body, "name=\"csrf\" value=\""));
	assert_non_null(strstr(rp.body, "name=\"state\" value=\"s&lt;1&gt;\""));
	assert_null(rp.location);
	csc_rep_clear(&rp);
	q = inkan__oauth_prepare_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->client_id, "app");
	assert_string_equal(q->redirect_uri, "https://app.example/cb?x=1");
	assert_string_equal(q->credential_id, "c1");
	inkan__oauth_prepare_req__free_unpacked(q, NULL);
	/* English from Accept-Language when lang is not given */
	consent_get(Q, NQ - 1, "fr;q=0.9, en-GB;q=0.8, ja;q=0.1", &rp, 200);
	assert_non_null(strstr(rp.body, "Confirm your signature"));
	assert_non_null(strstr(rp.body, "<html lang=\"en\">"));
	csc_rep_clear(&rp);
	consent_get(Q, NQ - 1, "en;q=0, ja-JP", &rp, 200);
	assert_non_null(strstr(rp.body, "<html lang=\"ja\">"));
	csc_rep_clear(&rp);
	/* the style sheet */
	{
		struct csc_http_req rq = { .method = "GET",
		    .path = CSC_CSS_PATH };

		run(&SAM4, &rq, &rp, 200);
		assert_string_equal(rp.content_type, "text/css; charset=utf-8");
		csc_rep_clear(&rp);
	}
}

static struct csc_kv *qcopy(void)
{
	static struct csc_kv q[NQ + 2];

	memcpy(q, Q, sizeof Q);
	return q;
}

static void qset(struct csc_kv *q, size_t *n, const char *k, const char *v)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(q[i].key, k) == 0) {
			if (v) {
				q[i].value = v;
			} else {
				memmove(&q[i], &q[i + 1], (*n - i - 1) * sizeof *q);
				(*n)--;
			}
			return;
		}
	q[(*n)].key = k;
	q[(*n)++].value = v;
}

static void expect_redirect_error(struct csc_kv *q, size_t n,
    const char *error)
{
	struct csc_http_rep rp;
	char want[256];

	consent_get(q, n, NULL, &rp, 303);
	snprintf(want, sizeof want, "https://app.example/cb?x=1&error=%s&",
	    error);
	if (strncmp(rp.location, want, strlen(want)) != 0)
		fail_msg("Location %s, want %s...", rp.location, want);
	assert_non_null(strstr(rp.location, "&state=s%3C1%3E"));
	assert_null(rp.body);
	csc_rep_clear(&rp);
}

static void test_consent_errors(void **state)
{
	struct csc_http_rep rp;
	struct csc_kv *q;
	size_t n;

	/* not registered: an error page, never a redirect */
	F.status = INKAN__STATUS__OAUTH_INVALID_CLIENT;
	consent_get(Q, NQ, NULL, &rp, 400);
	assert_null(rp.location);
	assert_non_null(strstr(rp.body, "class=\"error\""));
	csc_rep_clear(&rp);
	F.status = INKAN__STATUS__OK;
	q = qcopy(); n = NQ;
	qset(q, &n, "redirect_uri", "javascript:alert(1)");
	F.calls = 0;
	consent_get(q, n, NULL, &rp, 400);
	assert_int_equal(F.calls, 0);
	assert_null(rp.location);
	csc_rep_clear(&rp);
	q = qcopy(); n = NQ;
	qset(q, &n, "client_id", "app");
	q[n].key = "client_id";         /* repeated parameter */
	q[n++].value = "other";
	consent_get(q, n, NULL, &rp, 400);
	assert_null(rp.location);
	csc_rep_clear(&rp);
	/* registered client: the client hears of its mistakes */
	q = qcopy(); n = NQ;
	qset(q, &n, "code_challenge", NULL);
	expect_redirect_error(q, n, "invalid_request");
	q = qcopy(); n = NQ;
	qset(q, &n, "code_challenge_method", "plain");
	expect_redirect_error(q, n, "invalid_request");
	q = qcopy(); n = NQ;
	qset(q, &n, "scope", "everything");
	expect_redirect_error(q, n, "invalid_scope");
	q = qcopy(); n = NQ;
	qset(q, &n, "response_type", "token");
	expect_redirect_error(q, n, "unsupported_response_type");
	q = qcopy(); n = NQ;
	qset(q, &n, "numSignatures", "3");
	expect_redirect_error(q, n, "invalid_request");
	q = qcopy(); n = NQ;
	qset(q, &n, "hashes", "AAAA");
	expect_redirect_error(q, n, "invalid_request");
	q = qcopy(); n = NQ;
	qset(q, &n, "hash", H32A);        /* v1 name disagreeing with v2 */
	expect_redirect_error(q, n, "invalid_request");
	q = qcopy(); n = NQ;
	qset(q, &n, "authorization_details", "[]");
	expect_redirect_error(q, n, "invalid_request");
	/* a credential the SAM does not know */
	F.status = INKAN__STATUS__UNKNOWN_CREDENTIAL;
	expect_redirect_error(Q, NQ, "invalid_request");
}

/* Value of the hidden field `name` in a page. */
static char *hidden_value(const char *page, const char *name)
{
	char pat[64], *out;
	const char *p, *e;

	snprintf(pat, sizeof pat, "name=\"%s\" value=\"", name);
	p = strstr(page, pat);
	assert_non_null(p);
	p += strlen(pat);
	e = strchr(p, '"');
	out = strndup(p, (size_t)(e - p));
	return out;
}

/* Form body of the consent page's hidden fields plus extra. */
static char *form_of(const char *page, const char *extra)
{
	static const char *const names[] = { "csrf", "response_type",
	    "client_id", "redirect_uri", "scope", "state", "code_challenge",
	    "code_challenge_method", "lang", "credentialID", "numSignatures",
	    "hashes", "hashAlgorithmOID", "description", "labels" };
	char *out = calloc(1, 8192);
	size_t i, n = 0;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *v = hidden_value(page, names[i]), *p;

		n += (size_t)snprintf(out + n, 8192 - n, "%s%s=", n ? "&" : "",
		    names[i]);
		/* undo the HTML escapes, then percent-encode */
		for (p = v; *p; p++) {
			unsigned char c = (unsigned char)*p;

			if (strncmp(p, "&lt;", 4) == 0) { c = '<'; p += 3; }
			else if (strncmp(p, "&gt;", 4) == 0) { c = '>'; p += 3; }
			else if (strncmp(p, "&amp;", 5) == 0) { c = '&'; p += 4; }
			else if (strncmp(p, "&quot;", 6) == 0) { c = '"'; p += 5; }
			else if (strncmp(p, "&#39;", 5) == 0) { c = '\''; p += 4; }
			n += (size_t)snprintf(out + n, 8192 - n, "%%%02X", c);
		}
		free(v);
	}
	snprintf(out + n, 8192 - n, "&%s", extra);
	return out;
}

static void consent_post(const char *form, const char *cookie,
    struct csc_http_rep *rp, unsigned want)
{
	struct csc_http_req rq = { .method = "POST",
	    .path = "/csc/v2/oauth2/authorize", .body = form,
	    .body_len = strlen(form), .cookie = cookie, .tls = true,
	    .content_type = "application/x-www-form-urlencoded" };

	run(&SAM4, &rq, rp, want);
}

static void test_consent_post(void **state)
{
	Inkan__OAuthAuthorizeRep ar = INKAN__OAUTH_AUTHORIZE_REP__INIT;
	struct csc_http_rep rp;
	char cookie[128], *form, *page, *p;
	Inkan__OAuthAuthorizeReq *q;

	consent_get(Q, NQ, NULL, &rp, 200);
	page = strdup(rp.body);
	snprintf(cookie, sizeof cookie, "other=1; %.*s", 54, rp.set_cookie);
	csc_rep_clear(&rp);
	ar.code = (char *)"CODE-1";
	ar.expires_in = 60;
	F.reply[(122 - 100) / 2] = &ar.base;

	form = form_of(page, "username=taro&password=p%26w&pin=1234&otp=123456"
	    "&action=approve");
	consent_post(form, cookie, &rp, 303);
	assert_string_equal(rp.location,
	    "https://app.example/cb?x=1&code=CODE-1&state=s%3C1%3E");
	csc_rep_clear(&rp);
	assert_int_equal(F.last_type, INKAN__MSG_TYPE__SIGNER_OAUTH_AUTHORIZE_REQ);
	q = inkan__oauth_authorize_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->client_id, "app");
	assert_string_equal(q->scope, "credential");
	assert_string_equal(q->code_challenge, CHAL);
	assert_string_equal(q->username, "taro");
	assert_int_equal(q->password.len, 3);
	assert_memory_equal(q->password.data, "p&w", 3);
	assert_memory_equal(q->pin.data, "1234", 4);
	assert_memory_equal(q->otp.data, "123456", 6);
	assert_string_equal(q->credential_id, "c1");
	assert_int_equal(q->num_signatures, 2);
	assert_int_equal(q->n_hashes, 2);
	assert_int_equal(q->hashes[1].data[0], 0xff);
	assert_string_equal(q->description, "<script>alert(1)</script> & co");
	inkan__oauth_authorize_req__free_unpacked(q, NULL);
	assert_string_equal(F.admitted, "user:taro");

	/* a wrong PIN: the page again, with the error, the name kept */
	F.fail_type = INKAN__MSG_TYPE__SIGNER_OAUTH_AUTHORIZE_REQ;
	F.fail_status = INKAN__STATUS__INVALID_PIN;
	consent_post(form, cookie, &rp, 400);
	assert_non_null(strstr(rp.body, "id=\"error\""));
	assert_non_null(strstr(rp.body, "PIN またはワンタイムパスワードが"));
	assert_non_null(strstr(rp.body, "value=\"taro\""));
	assert_null(strstr(rp.body, "1234"));
	csc_rep_clear(&rp);
	F.fail_status = INKAN__STATUS__LOCKED;
	consent_post(form, cookie, &rp, 400);
	assert_non_null(strstr(rp.body, "ロック"));
	csc_rep_clear(&rp);
	F.fail_type = 0;
	free(form);

	/* forged, stale or foreign CSRF tokens: 403, the SAM never asked */
	F.calls = 0;
	form = form_of(page, "username=taro&password=pw&pin=1&otp=123456");
	p = strstr(form, "csrf=") + 5 + 3 * 20 + 2;   /* a MAC character */
	*p = *p == '1' ? '2' : '1';
	consent_post(form, cookie, &rp, 403);
	csc_rep_clear(&rp);
	free(form);
	form = form_of(page, "username=taro&password=pw&pin=1&otp=123456");
	consent_post(form, NULL, &rp, 403);                   /* no cookie */
	csc_rep_clear(&rp);
	consent_post(form, "inkan_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    &rp, 403);                                       /* another browser */
	csc_rep_clear(&rp);
	free(form);
	{
		/* the same token, but other hashes than the signer was shown */
		char *f2 = form_of(page, "username=taro&password=pw&pin=1&otp=1");
		char *h = strstr(f2, "hashes=%41");

		assert_non_null(h);
		h[9] = '2';
		consent_post(f2, cookie, &rp, 403);
		csc_rep_clear(&rp);
		free(f2);
	}
	assert_int_equal(F.calls, 0);
	/* not the consent form at all */
	consent_post("{}", cookie, &rp, 403);
	csc_rep_clear(&rp);

	/* the signer declines */
	form = form_of(page, "action=deny");
	consent_post(form, cookie, &rp, 303);
	assert_non_null(strstr(rp.location, "error=access_denied"));
	assert_non_null(strstr(rp.location, "&state=s%3C1%3E"));
	csc_rep_clear(&rp);
	free(form);
	/* missing factors never reach the SAM */
	F.calls = 0;
	form = form_of(page, "username=taro&password=pw&pin=&otp=");
	consent_post(form, cookie, &rp, 400);
	assert_non_null(strstr(rp.body, "id=\"error\""));
	assert_int_equal(F.calls, 1);   /* only PREPARE */
	csc_rep_clear(&rp);
	free(form);
	free(page);
}

static void token_post(const char *path, const char *ctype, const char *auth,
    const char *body, struct csc_http_rep *rp, unsigned want)
{
	struct csc_http_req rq = { .method = "POST", .path = path,
	    .content_type = ctype, .authorization = auth, .body = body,
	    .body_len = strlen(body) };

	run(&SAM4, &rq, rp, want);
}

#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define TOKEN_FORM "grant_type=authorization_code&code=C0de&client_id=app" \
	"&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&code_verifier=" \
	VERIFIER

static void test_token_endpoint(void **state)
{
	Inkan__OAuthTokenRep tr = INKAN__OAUTH_TOKEN_REP__INIT;
	struct csc_http_rep rp;
	Inkan__OAuthTokenReq *q;
	json_t *j;

	tr.access_token = (char *)"TOK";
	tr.sad = (char *)"SAD";
	tr.expires_in = 300;
	tr.scope = (char *)"credential";
	tr.credential_id = (char *)"c1";
	F.reply[(124 - 100) / 2] = &tr.base;
	token_post("/csc/v1/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, TOKEN_FORM, &rp, 200);
	j = J(rp.body);
	assert_json(j, "{\"access_token\":\"TOK.SAD\",\"token_type\":\"SAD\","
	    "\"expires_in\":300,\"scope\":\"credential\",\"credentialID\":\"c1\"}");
	csc_rep_clear(&rp);
	q = inkan__oauth_token_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->code, "C0de");
	assert_string_equal(q->code_verifier, VERIFIER);
	assert_string_equal(q->client_id, "app");
	assert_string_equal(q->redirect_uri, "https://app.example/cb?x=1");
	assert_false(q->has_client_secret);
	inkan__oauth_token_req__free_unpacked(q, NULL);
	assert_string_equal(F.admitted, "client:app");
	token_post("/csc/v2/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, TOKEN_FORM, &rp, 200);
	j = J(rp.body);
	assert_string_equal(json_string_value(json_object_get(j, "token_type")),
	    "Bearer");
	json_decref(j);
	csc_rep_clear(&rp);
	/* service scope; JSON body; client secret by HTTP Basic */
	tr.sad = NULL;
	tr.scope = (char *)"service";
	tr.credential_id = NULL;
	token_post("/csc/v2/oauth2/token", "application/json",
	    "Basic YXBwOnMlMjBjcmV0",           /* app:s%20cret */
	    "{\"grant_type\":\"authorization_code\",\"code\":\"C0de\","
	    "\"redirect_uri\":\"https://app.example/cb?x=1\",\"code_verifier\":\""
	    VERIFIER "\"}", &rp, 200);
	assert_json(J(rp.body), "{\"access_token\":\"TOK\",\"token_type\":"
	    "\"Bearer\",\"expires_in\":300,\"scope\":\"service\"}");
	csc_rep_clear(&rp);
	q = inkan__oauth_token_req__unpack(NULL, F.last_len, F.last);
	assert_true(q->has_client_secret);
	assert_int_equal(q->client_secret.len, 6);
	assert_memory_equal(q->client_secret.data, "s cret", 6);
	inkan__oauth_token_req__free_unpacked(q, NULL);

	/* errors, in OAuth2 form */
	F.calls = 0;
	token_post("/csc/v2/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, "grant_type=password&client_id=app", &rp, 400);
	assert_error_json(J(rp.body), "unsupported_grant_type", NULL);
	csc_rep_clear(&rp);
	token_post("/csc/v2/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, "grant_type=authorization_code&code=C&client_id=app"
	    "&redirect_uri=https%3A%2F%2Fa.example%2Fcb", &rp, 400);
	assert_error_json(J(rp.body), "invalid_request",
	    "Missing parameter code_verifier (PKCE is required)");
	csc_rep_clear(&rp);
	token_post("/csc/v2/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, "grant_type=authorization_code&code=C", &rp, 401);
	assert_error_json(J(rp.body), "invalid_client", NULL);
	csc_rep_clear(&rp);
	token_post("/csc/v2/oauth2/token", "text/plain", NULL, TOKEN_FORM, &rp,
	    400);
	csc_rep_clear(&rp);
	token_post("/csc/v2/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, TOKEN_FORM "&code=again", &rp, 400);       /* repeated */
	csc_rep_clear(&rp);
	assert_int_equal(F.calls, 0);
	F.status = INKAN__STATUS__OAUTH_INVALID_GRANT;
	token_post("/csc/v2/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, TOKEN_FORM, &rp, 400);
	assert_error_json(J(rp.body), "invalid_grant", NULL);
	csc_rep_clear(&rp);
	F.status = INKAN__STATUS__OAUTH_INVALID_CLIENT;
	token_post("/csc/v2/oauth2/token", "application/x-www-form-urlencoded",
	    NULL, TOKEN_FORM, &rp, 401);
	assert_error_json(J(rp.body), "invalid_client", NULL);
	csc_rep_clear(&rp);
	/* GET is not allowed on the token endpoint */
	{
		struct csc_http_req rq = { .method = "GET",
		    .path = "/csc/v2/oauth2/token" };

		run(&SAM4, &rq, &rp, 405);
		assert_string_equal(rp.allow, "POST");
		csc_rep_clear(&rp);
	}
}

static void test_revoke_endpoint(void **state)
{
	Inkan__RevokeRep vr = INKAN__REVOKE_REP__INIT;
	struct csc_http_rep rp;
	Inkan__RevokeReq *q;

	F.reply[(110 - 100) / 2] = &vr.base;
	token_post("/csc/v2/oauth2/revoke", "application/x-www-form-urlencoded",
	    NULL, "token=TOK.SAD&token_type_hint=access_token", &rp, 200);
	csc_rep_clear(&rp);
	q = inkan__revoke_req__unpack(NULL, F.last_len, F.last);
	assert_string_equal(q->access_token, "TOK");
	inkan__revoke_req__free_unpacked(q, NULL);
	/* RFC 7009: an unknown token is not an error */
	F.status = INKAN__STATUS__INVALID_TOKEN;
	token_post("/csc/v1/oauth2/revoke", "application/x-www-form-urlencoded",
	    NULL, "token=nope", &rp, 200);
	assert_null(rp.body);
	csc_rep_clear(&rp);
	token_post("/csc/v1/oauth2/revoke", "application/x-www-form-urlencoded",
	    NULL, "token_type_hint=access_token", &rp, 400);
	assert_error_json(J(rp.body), "invalid_request", "Missing parameter token");
	csc_rep_clear(&rp);
}

static void test_ratelimit_buckets(void **state)
{
	struct ratelimit *rl;

	assert_int_equal(ratelimit_new(0, 5, 64, &rl), 0);
	assert_null(rl);                /* rate 0: no limiter */
	assert_true(ratelimit_take(NULL, "user", "a", 0));
	assert_int_equal(ratelimit_new(2, 3, 64, &rl), 0);
	assert_true(ratelimit_take(rl, "user", "a", 1000));
	assert_true(ratelimit_take(rl, "user", "a", 1000));
	assert_true(ratelimit_take(rl, "user", "a", 1000));
	assert_false(ratelimit_take(rl, "user", "a", 1000));
	/* other accounts and other kinds are not affected */
	assert_true(ratelimit_take(rl, "user", "b", 1000));
	assert_true(ratelimit_take(rl, "token", "a", 1000));
	/* 2 per second: one more after 500 ms, not two */
	assert_true(ratelimit_take(rl, "user", "a", 1500));
	assert_false(ratelimit_take(rl, "user", "a", 1500));
	/* a full table reuses the least recently used bucket */
	for (unsigned i = 0; i < 1000; i++) {
		char k[16];

		snprintf(k, sizeof k, "u%u", i);
		assert_true(ratelimit_take(rl, "user", k, 2000 + i));
	}
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_authorize_v1_v2_same),
		cmocka_unit_test(test_authorize_mixed_names),
		cmocka_unit_test(test_sign_v1_v2_same),
		cmocka_unit_test(test_cred_info_and_list_parse),
		cmocka_unit_test(test_bad_authorize),
		cmocka_unit_test(test_bad_sign),
		cmocka_unit_test(test_hash_limits),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_login_parse),
		cmocka_unit_test(test_bad_info_list_params),
		cmocka_unit_test(test_every_status_mapped),
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_reply_json),
		cmocka_unit_test(test_sign_body),
		cmocka_unit_test(test_info_json),
		cmocka_unit_test(test_cred_info_json),
		cmocka_unit_test_setup(test_handle_routing, reset),
		cmocka_unit_test_setup(test_handle_auth_required, reset),
		cmocka_unit_test_setup(test_handle_login_revoke, reset),
		cmocka_unit_test_setup(test_handle_authorize_sign, reset),
		cmocka_unit_test_setup(test_handle_list_info, reset),
		cmocka_unit_test_setup(test_info_oauth, reset),
		cmocka_unit_test_setup(test_cred_token, reset),
		cmocka_unit_test_setup(test_extend, reset),
		cmocka_unit_test_setup(test_rate_limited, reset),
		cmocka_unit_test_setup(test_consent_page, reset),
		cmocka_unit_test_setup(test_consent_errors, reset),
		cmocka_unit_test_setup(test_consent_post, reset),
		cmocka_unit_test_setup(test_token_endpoint, reset),
		cmocka_unit_test_setup(test_revoke_endpoint, reset),
		cmocka_unit_test(test_ratelimit_buckets),
	};

	if (sodium_init() < 0)
		return 1;
	csc_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
