/* inkan-audit-verify.c — the auditor's offline check of an inkan audit trail:
 *   inkan-audit-verify [--expect SEQ:HASH] LOG_OR_DIR PUBKEY
 * needs nothing but the files (libc and OpenSSL): every record's canonical
 * form and hash, the chain (seq + prev), every checkpoint's ECDSA signature
 * with the audit public key, the file boundaries of a directory, and the
 * tail rule (no more records after the last checkpoint than the interval
 * allows). Exit 0 with the counts when the trail is intact; 1 naming the
 * first bad record; 2 for usage or unreadable input. docs/audit.md states
 * exactly what this proves. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit_format.h"

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: inkan-audit-verify [--expect SEQ:HASH] LOG_OR_DIR PUBKEY\n"
	    "  LOG_OR_DIR  one audit file (or an export of `inkanctl audit show`),\n"
	    "              or the audit directory (all audit-*.log files, in order)\n"
	    "  PUBKEY      the audit public key (PEM), obtained out of band\n"
	    "              (`inkanctl audit pubkey`); compare its fingerprint\n"
	    "  --expect SEQ:HASH  the trail must reach record SEQ with this hash\n"
	    "              (a head noted earlier, e.g. from the journal): detects\n"
	    "              truncation at a checkpoint boundary\n"
	    "exit: 0 intact, 1 tampered (first bad record named), 2 usage/input\n");
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL) {
		fprintf(stderr, "inkan-audit-verify: %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    EVP_PKEY_get_bits(k) != 256) {
		fprintf(stderr, "inkan-audit-verify: %s: not a PEM EC P-256 "
		    "public key\n", path);
		EVP_PKEY_free(k);
		ERR_clear_error();
		return NULL;
	}
	return k;
}

int main(int argc, char **argv)
{
	struct audit_verifier v;
	const char *expect = NULL, *path, *keypath;
	uint64_t want_seq = 0;
	char want_hash[AUDIT_HEX_LEN + 1] = "", err[512] = "";
	EVP_PKEY *pub;
	int i = 1, r;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (i + 1 < argc && !strcmp(argv[i], "--expect")) {
		expect = argv[i + 1];
		i += 2;
	}
	if (argc - i != 2) {
		usage(stderr);
		return 2;
	}
	path = argv[i];
	keypath = argv[i + 1];
	if (expect != NULL) {
		char *end;
		errno = 0;
		want_seq = strtoull(expect, &end, 10);
		if (errno || end == expect || *end != ':' ||
		    strlen(end + 1) != AUDIT_HEX_LEN) {
			fprintf(stderr, "inkan-audit-verify: --expect SEQ:HASH "
			    "(HASH: 64 hex digits)\n");
			return 2;
		}
		memcpy(want_hash, end + 1, AUDIT_HEX_LEN + 1);
	}
	if ((pub = load_key(keypath)) == NULL)
		return 2;
	audit_verify_init(&v, pub);
	if (expect != NULL) {
		v.expect_seq = want_seq;
		memcpy(v.expect_hash, want_hash, sizeof want_hash);
	}
	r = audit_verify_path(&v, path, err, sizeof err);
	if (r == 0) {
		audit_verify_summary(&v, stdout);
		EVP_PKEY_free(pub);
		return 0;
	}
	EVP_PKEY_free(pub);
	if (r == -EBADMSG) {
		printf("FAILED: %s: %s\n", v.where, v.problem);
		if (v.bad_seq)
			printf("first bad record: seq %" PRIu64 "\n", v.bad_seq);
		printf("verified before the failure: %" PRIu64 " records, %" PRIu64
		    " checkpoints\n", v.records, v.checkpoints);
		return 1;
	}
	fprintf(stderr, "inkan-audit-verify: %s\n", err[0] ? err :
	    strerror(-r));
	return 2;
}
