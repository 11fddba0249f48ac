/* fuzz-sam-x509.c — fuzz target: the DER inkan-sam parses from its peers:
 * a signer certificate and chain imported by an administrator
 * (sam_x509_parse, sam_x509_info, sam_x509_key_matches), a public key
 * (SubjectPublicKeyInfo) and a signed PKCS#10 request from inkan-scm
 * (sam_x509_spki_check, sam_x509_csr_check). Input: [what][DER...]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "x509.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sam_cert_info ci;
	X509 *x = NULL;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (sam_x509_parse(data + 1, size - 1, &x) == 0) {
			memset(&ci, 0, sizeof ci);
			if (sam_x509_info(x, &ci) == 0)
				sam_cert_info_clear(&ci);
			(void)sam_x509_key_matches(x, data + 1,
			    size > 65 ? 64 : size - 1);
			X509_free(x);
		}
		break;
	case 1:
		for (int kt = 1; kt <= 4; kt++)
			(void)sam_x509_spki_check(data + 1, size - 1, kt);
		break;
	case 2:
		/* The CSR against a key it does not carry: must be refused,
		 * never crash. (The seed corpus has a matching pair.) */
		(void)sam_x509_csr_check(data + 1, size - 1, data + 1,
		    size - 1 > 91 ? 91 : size - 1, "fuzz\x1f\x1f\x1f\x1f\x1f",
		    (const uint8_t *)"fuzz-code", 9);
		break;
	case 3: {
		char *cn = malloc(size);
		if (cn == NULL)
			return 0;
		memcpy(cn, data + 1, size - 1);
		cn[size - 1] = '\0';
		(void)sam_x509_cn_ok(cn);
		(void)sam_x509_subject_ok(cn);          /* issue 7 */
		(void)sam_x509_id_code_ok(data + 1, size - 1);
		free(cn);
		break;
	}
	}
	return 0;
}
