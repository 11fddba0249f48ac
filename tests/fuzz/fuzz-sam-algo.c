/* fuzz-sam-algo.c — fuzz target: the strings and parameters a signHash or
 * authorize request hands inkan-sam: the signing algorithm OID, the hash
 * OID, DER RSASSA-PSS parameters (sam_algo_map for every key type), and the
 * opaque token, SAD and credential id checks (sam_auth_string_ok,
 * sam_cred_id_ok) that run before any database lookup.
 * Input: [kt][len1][OID 1][len2][OID 2][PSS params...] */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"
#include "auth.h"
#include "sad.h"

static char *
take_str(const uint8_t **p, size_t *left)
{
	size_t n;
	char *s;

	if (*left < 1)
		return NULL;
	n = (*p)[0];
	if (n > *left - 1)
		n = *left - 1;
	s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, *p + 1, n);
	s[n] = '\0';
	*p += 1 + n;
	*left -= 1 + n;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1;
	size_t left = size ? size - 1 : 0;
	struct sam_mech m;
	Inkan__HashAlg alg;
	size_t hl;
	char *sign, *hash;

	if (size < 1)
		return 0;
	sign = take_str(&p, &left);
	hash = take_str(&p, &left);
	if (sign != NULL) {
		(void)sam_algo_map(data[0] % 6, sign, hash && hash[0] ? hash : NULL,
		    left ? p : NULL, left, &m);
		(void)sam_algo_hash_by_oid(sign, &alg, &hl);
		(void)sam_auth_string_ok(sign);
		(void)sam_cred_id_ok(sign);
	}
	free(sign);
	free(hash);
	return 0;
}
