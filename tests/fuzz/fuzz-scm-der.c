/* fuzz-scm-der.c — fuzz target: what inkan-scm decodes or re-encodes around
 * PKCS#11 (scm/der.c): CKA_EC_POINT as a module returns it (wrapped or
 * bare), raw ECDSA r||s from C_Sign, and DigestInfo around a digest from the
 * SAM. Input: [what][bytes...]. */
#include <stdint.h>
#include <stdlib.h>

#include "der.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[DER_ECDSA_SIG_MAX + DER_DIGEST_INFO_MAX];
	const uint8_t *point;
	size_t n;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		(void)der_ec_point_unwrap(data + 1, size - 1, 65, &point);
		(void)der_ec_point_unwrap(data + 1, size - 1, 97, &point);
		break;
	case 1:
		(void)der_ecdsa_raw_to_der(data + 1, size - 1, out,
		    DER_ECDSA_SIG_MAX, &n);
		break;
	case 2:
		for (int h = 0; h <= 4; h++)
			(void)der_digest_info((enum der_hash)h, data + 1,
			    size - 1, out, DER_DIGEST_INFO_MAX, &n);
		break;
	}
	return 0;
}
