/* test-backup.c — scm/backup.c (issue 7 item 5) against real SoftHSMv2
 * tokens in a temporary directory: a wrong SO PIN is refused and leaves the
 * user session usable; a backup wraps the row-MAC key and every signer key
 * type inkan makes (P-256, P-384, RSA-2048, RSA-3072; the wrapped sizes are
 * printed for docs/lifecycle.md) under a trusted session KEK; an untrusted
 * key cannot wrap a signer key; a second, fresh token refuses the KEK with
 * one share alone, takes it with both, gets every key back under the same
 * CKA_ID with the same safe attributes and the same public key, signs, and
 * computes the same row MACs; a token that is not fresh is refused; a key
 * that is not extractable stops the backup. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sodium.h>

#include "inkan-config.h"
#include "test-softhsm.h"
#include "backup.h"
#include "backup_srv.h"
#include "mac.h"

#define LABEL_A "inkan-bk-a"
#define LABEL_B "inkan-bk-b"
#define LABEL_C "inkan-bk-c"
#define NKEYS 4

static struct test_softhsm hsm;

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	if (test_softhsm_make(&hsm, "bk") != 0 ||
	    test_softhsm_init_token(&hsm, LABEL_A) != 0 ||
	    test_softhsm_init_token(&hsm, LABEL_C) != 0)
		return -1;
	return test_softhsm_init_token(&hsm, LABEL_B);
}

static int teardown(void **state)
{
	(void)state;
	test_softhsm_remove(&hsm);
	return 0;
}

static void open_token(struct p11_token *t, const char *label)
{
	memset(t, 0, sizeof *t);
	assert_int_equal(p11_open(t, hsm.module, label, NULL, USER_PIN,
	    strlen(USER_PIN)), 0);
}

static CK_BBOOL attr_bool(struct p11_token *t, CK_OBJECT_HANDLE h,
    CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = 2;
	CK_ATTRIBUTE a = { type, &v, sizeof v };
	assert_int_equal(t->f->C_GetAttributeValue(t->session, h, &a, 1), CKR_OK);
	return v;
}

static const char *type_name(enum p11_key_type t)
{
	static const char *n[] = { "?", "EC P-256", "EC P-384", "RSA-2048",
	    "RSA-3072" };
	return n[t];
}

/* inkan-scm --restore into token C, the input on stdin: the exit status. */
static int restore_main(const uint8_t unwrap[32], const uint8_t *wkek,
    size_t wkek_len, const uint8_t *wmac, size_t wmac_len,
    const struct scm_bk_key *keys, size_t n)
{
	Inkan__BackupRestoreInput ri = INKAN__BACKUP_RESTORE_INPUT__INIT;
	Inkan__WrappedKey wk[8], *pw[8];
	struct scm_bk_restore_cfg cfg = { .module = hsm.module,
	    .token_label = LABEL_C, .key_backup = true };
	char path[128], pin[128];
	uint8_t *b;
	size_t bl;
	int fd, saved, rc;
	FILE *fp;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		inkan__wrapped_key__init(&wk[i]);
		wk[i].key_id.data = (uint8_t *)keys[i].id;
		wk[i].key_id.len = P11_KEY_ID_LEN;
		wk[i].key_type = (Inkan__KeyType)keys[i].type;
		wk[i].spki.data = keys[i].spki;
		wk[i].spki.len = keys[i].spki_len;
		wk[i].wrapped.data = keys[i].wrapped;
		wk[i].wrapped.len = keys[i].wrapped_len;
		pw[i] = &wk[i];
	}
	ri.unwrap_key.data = (uint8_t *)unwrap;
	ri.unwrap_key.len = 32;
	ri.wrapped_kek.data = (uint8_t *)wkek;
	ri.wrapped_kek.len = wkek_len;
	ri.wrapped_mac_key.data = (uint8_t *)wmac;
	ri.wrapped_mac_key.len = wmac_len;
	ri.n_keys = n;
	ri.keys = pw;
	bl = inkan__backup_restore_input__get_packed_size(&ri);
	assert_non_null(b = malloc(bl));
	inkan__backup_restore_input__pack(&ri, b);
	snprintf(path, sizeof path, "%s/restore-input", hsm.dir);
	snprintf(pin, sizeof pin, "%s/user.pin", hsm.dir);
	assert_non_null(fp = fopen(pin, "w"));
	fputs(USER_PIN, fp);
	fclose(fp);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(b, 1, bl, fp), bl);
	fclose(fp);
	free(b);
	cfg.pin_file = pin;
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	saved = dup(0);
	dup2(fd, 0);
	close(fd);
	rc = scm_bk_restore_main(&cfg);
	dup2(saved, 0);
	close(saved);
	unlink(path);
	return rc;
}

static void test_backup_restore(void **state)
{
	static const enum p11_key_type types[NKEYS] = { P11_KEY_EC_P256,
	    P11_KEY_EC_P384, P11_KEY_RSA_2048, P11_KEY_RSA_3072 };
	struct p11_token t;
	uint8_t ids[NKEYS][P11_KEY_ID_LEN], s1[32], s2[32], w[32];
	uint8_t *spki[NKEYS], *wkek = NULL, *wmac = NULL, *x;
	size_t spki_len[NKEYS], wkek_len = 0, wmac_len = 0, n = 0, xl;
	uint8_t in[SCM_MAC_INPUT_LEN], mac_a[SCM_MAC_LEN], mac_b[SCM_MAC_LEN];
	uint8_t md[32], sig[P11_SIG_MAX];
	size_t sig_len;
	struct scm_bk_key *keys = NULL;
	CK_OBJECT_HANDLE mac = CK_INVALID_HANDLE, kek, priv, pub;
	enum p11_key_type type;
	bool created, more = true;

	(void)state;
	open_token(&t, LABEL_A);
	assert_int_equal(scm_mac_open(&t, true, true, &mac, &created), 0);
	assert_int_equal(attr_bool(&t, mac, CKA_EXTRACTABLE), CK_TRUE);
	assert_int_equal(attr_bool(&t, mac, CKA_WRAP_WITH_TRUSTED), CK_TRUE);
	randombytes_buf(in, sizeof in);
	assert_int_equal(scm_mac_compute(&t, mac, in, sizeof in, mac_a), 0);
	for (int i = 0; i < NKEYS; i++) {
		randombytes_buf(ids[i], P11_KEY_ID_LEN);
		assert_int_equal(p11_keygen(&t, ids[i], types[i], true, &spki[i],
		    &spki_len[i]), 0);
	}

	/* A wrong SO PIN: refused, and the service's user session is back. */
	assert_int_equal(scm_bk_start(&t, "wrong-pin", 9, USER_PIN,
	    strlen(USER_PIN), &kek, s1, s2, &wkek, &wkek_len, &wmac,
	    &wmac_len), SCM_BK_SO_PIN);
	assert_true(t.logged_in);
	/* The logout in between invalidated private handles: find again. */
	mac = CK_INVALID_HANDLE;
	assert_int_equal(scm_mac_open(&t, false, true, &mac, &created), 0);
	randombytes_buf(md, sizeof md);
	assert_int_equal(p11_sign(&t, ids[0], P11_MECH_ECDSA, DER_HASH_SHA256,
	    0, md, 32, sig, &sig_len), 0);

	/* An untrusted key cannot wrap a signer key (WRAP_WITH_TRUSTED). */
	{
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt = CKK_AES;
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
		CK_ULONG len = 32;
		CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
		CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
		CK_ATTRIBUTE a[] = {
			{ CKA_CLASS, &cls, sizeof cls },
			{ CKA_KEY_TYPE, &kt, sizeof kt },
			{ CKA_VALUE_LEN, &len, sizeof len },
			{ CKA_TOKEN, &no, sizeof no },
			{ CKA_WRAP, &yes, sizeof yes },
		};
		CK_OBJECT_HANDLE k;
		CK_ULONG outl = 0;

		assert_int_equal(t.f->C_GenerateKey(t.session, &gen, a, 5, &k),
		    CKR_OK);
		assert_int_equal(p11_find_key(&t, ids[0], &priv, &pub, &type), 0);
		assert_int_not_equal(t.f->C_WrapKey(t.session, &m, k, priv, NULL,
		    &outl), CKR_OK);
		t.f->C_DestroyObject(t.session, k);
	}

	{
		char why[320];
		int rc = scm_bk_start(&t, SO_PIN, strlen(SO_PIN), USER_PIN,
		    strlen(USER_PIN), &kek, s1, s2, &wkek, &wkek_len,
		    &wmac, &wmac_len);

		if (rc != 0)
			print_message("start: %s\n", p11_describe(&t, why,
			    sizeof why));
		assert_int_equal(rc, 0);
	}
	assert_true(t.logged_in);
	assert_int_equal(attr_bool(&t, kek, CKA_TRUSTED), CK_TRUE);
	assert_int_equal(attr_bool(&t, kek, CKA_TOKEN), CK_FALSE);
	print_message("KEK (AES-256) wrapped by the shares' key: %zu bytes; "
	    "row-MAC key (HMAC, 32 bytes) wrapped: %zu bytes\n", wkek_len,
	    wmac_len);
	assert_int_equal(wkek_len, 40);
	assert_int_equal(scm_bk_page(&t, kek, NULL, &keys, &n, &more), 0);
	assert_int_equal(n, NKEYS);
	assert_false(more);
	for (size_t i = 0; i < n; i++)
		print_message("%s: wrapped PKCS#8 %zu bytes, SPKI %zu bytes\n",
		    type_name(keys[i].type), keys[i].wrapped_len,
		    keys[i].spki_len);
	scm_bk_finish(&t, &kek);
	/* Signing goes on after the SO login in between. */
	assert_int_equal(p11_sign(&t, ids[2], P11_MECH_RSA_PKCS1,
	    DER_HASH_SHA256, 0, md, 32, sig, &sig_len), 0);
	p11_close(&t);

	/* Restore into token B. */
	open_token(&t, LABEL_B);
	assert_int_equal(scm_bk_restore_begin(&t, s1, wkek, wkek_len, &kek),
	    SCM_BK_BAD_SHARES);
	for (int i = 0; i < 32; i++)
		w[i] = s1[i] ^ s2[i];
	{
		char why[320];
		int rc = scm_bk_restore_begin(&t, w, wkek, wkek_len, &kek);

		if (rc != 0)
			print_message("restore: %s\n", p11_describe(&t, why,
			    sizeof why));
		assert_int_equal(rc, 0);
	}
	{
		char why[320];
		int rc = scm_bk_restore_mac(&t, kek, wmac, wmac_len, true);

		if (rc != 0)
			print_message("mac: %s\n", p11_describe(&t, why,
			    sizeof why));
		assert_int_equal(rc, 0);
		for (size_t i = 0; i < n; i++) {
			rc = scm_bk_restore_key(&t, kek, &keys[i], true);
			if (rc != 0)
				print_message("key %zu: %s\n", i,
				    p11_describe(&t, why, sizeof why));
			assert_int_equal(rc, 0);
		}
	}
	scm_bk_finish(&t, &kek);
	mac = CK_INVALID_HANDLE;
	assert_int_equal(scm_mac_open(&t, false, true, &mac, &created), 0);
	assert_int_equal(attr_bool(&t, mac, CKA_MODIFIABLE), CK_FALSE);
	assert_int_equal(attr_bool(&t, mac, CKA_SENSITIVE), CK_TRUE);
	assert_int_equal(attr_bool(&t, mac, CKA_WRAP_WITH_TRUSTED), CK_TRUE);
	assert_int_equal(scm_mac_compute(&t, mac, in, sizeof in, mac_b), 0);
	assert_memory_equal(mac_a, mac_b, SCM_MAC_LEN);
	for (int i = 0; i < NKEYS; i++) {
		assert_int_equal(p11_pubkey(&t, ids[i], &x, &xl, &type), 0);
		assert_int_equal(type, types[i]);
		assert_int_equal(xl, spki_len[i]);
		assert_memory_equal(x, spki[i], xl);
		free(x);
		assert_int_equal(p11_find_key(&t, ids[i], &priv, &pub, &type), 0);
		assert_int_equal(attr_bool(&t, priv, CKA_SENSITIVE), CK_TRUE);
		assert_int_equal(attr_bool(&t, priv, CKA_EXTRACTABLE), CK_TRUE);
		assert_int_equal(attr_bool(&t, priv, CKA_WRAP_WITH_TRUSTED),
		    CK_TRUE);
		assert_int_equal(attr_bool(&t, priv, CKA_DECRYPT), CK_FALSE);
		assert_int_equal(attr_bool(&t, priv, CKA_UNWRAP), CK_FALSE);
		assert_int_equal(attr_bool(&t, priv, CKA_TOKEN), CK_TRUE);
		if (i == 0)
			print_message("restored key: LOCAL=%d ALWAYS_SENSITIVE=%d "
			    "NEVER_EXTRACTABLE=%d\n",
			    attr_bool(&t, priv, CKA_LOCAL),
			    attr_bool(&t, priv, CKA_ALWAYS_SENSITIVE),
			    attr_bool(&t, priv, CKA_NEVER_EXTRACTABLE));
	}
	/* Not fresh any more. */
	for (int i = 0; i < 32; i++)
		w[i] = s1[i] ^ s2[i];
	assert_int_equal(scm_bk_restore_begin(&t, w, wkek, wkek_len, &kek),
	    SCM_BK_NOT_FRESH);
	p11_close(&t);

	/* inkan-scm --restore that fails at the last key (its wrapped bytes
	 * altered) takes back the MAC key and the keys it restored: token C
	 * is fresh again, and the same restore with the key intact succeeds. */
	keys[n - 1].wrapped[keys[n - 1].wrapped_len / 2] ^= 0x01;
	assert_int_equal(restore_main(w, wkek, wkek_len, wmac, wmac_len, keys,
	    n), 1);
	keys[n - 1].wrapped[keys[n - 1].wrapped_len / 2] ^= 0x01;
	open_token(&t, LABEL_C);
	mac = CK_INVALID_HANDLE;
	assert_int_equal(scm_mac_open(&t, false, false, &mac, &created),
	    P11_NOT_FOUND);
	for (int i = 0; i < NKEYS; i++)
		assert_int_equal(p11_find_key(&t, ids[i], &priv, &pub, &type),
		    P11_NOT_FOUND);
	p11_close(&t);
	assert_int_equal(restore_main(w, wkek, wkek_len, wmac, wmac_len, keys,
	    n), 0);
	open_token(&t, LABEL_C);
	for (int i = 0; i < NKEYS; i++)
		assert_int_equal(p11_find_key(&t, ids[i], &priv, &pub, &type), 0);
	p11_close(&t);

	/* A key that is not extractable stops a backup. */
	open_token(&t, LABEL_A);
	mac = CK_INVALID_HANDLE;
	assert_int_equal(scm_mac_open(&t, false, true, &mac, &created), 0);
	randombytes_buf(ids[0], P11_KEY_ID_LEN);
	free(spki[0]);
	assert_int_equal(p11_keygen(&t, ids[0], P11_KEY_EC_P256, false,
	    &spki[0], &spki_len[0]), 0);
	free(wkek);
	free(wmac);
	assert_int_equal(scm_bk_start(&t, SO_PIN, strlen(SO_PIN), USER_PIN,
	    strlen(USER_PIN), &kek, s1, s2, &wkek, &wkek_len, &wmac,
	    &wmac_len), 0);
	scm_bk_keys_free(keys, n);
	keys = NULL;
	assert_int_equal(scm_bk_page(&t, kek, NULL, &keys, &n, &more),
	    SCM_BK_NOT_EXTRACTABLE);
	assert_null(keys);
	scm_bk_finish(&t, &kek);
	p11_close(&t);
	for (int i = 0; i < NKEYS; i++)
		free(spki[i]);
	free(wkek);
	free(wmac);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_restore, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
