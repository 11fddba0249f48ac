/* test-mac.c — scm/mac.c (issue 3) against a real SoftHSMv2 token in a
 * temporary directory: the row-integrity MAC key is looked up without being
 * made, made once on request, found again after a reopen; it is a generic
 * secret that is sensitive, never extractable, good for SIGN/VERIFY only, and
 * its value cannot be read; the MAC is deterministic, input-sensitive, and a
 * second key under the same label is refused rather than guessed at. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "inkan-config.h"
#include "test-softhsm.h"
#include "mac.h"

#define LABEL "inkan-mac-test"

static struct test_softhsm hsm;

static int setup(void **state)
{
	(void)state;
	if (test_softhsm_make(&hsm, "mac") != 0)
		return -1;
	return test_softhsm_init_token(&hsm, LABEL);
}

static int teardown(void **state)
{
	(void)state;
	test_softhsm_remove(&hsm);
	return 0;
}

static void open_token(struct p11_token *t)
{
	memset(t, 0, sizeof *t);
	assert_int_equal(p11_open(t, hsm.module, LABEL, NULL, USER_PIN,
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

static void test_mac_key(void **state)
{
	struct p11_token t;
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE, k2 = CK_INVALID_HANDLE;
	bool created = true;
	uint8_t in1[SCM_MAC_INPUT_LEN], in2[SCM_MAC_INPUT_LEN];
	uint8_t m1[SCM_MAC_LEN], m1b[SCM_MAC_LEN], m2[SCM_MAC_LEN];

	(void)state;
	open_token(&t);
	/* looked up only: nothing is made */
	assert_int_equal(scm_mac_open(&t, false, false, &k, &created), P11_NOT_FOUND);
	assert_false(created);
	/* made on request */
	assert_int_equal(scm_mac_open(&t, true, false, &k, &created), 0);
	assert_true(created);

	/* its attributes */
	{
		CK_KEY_TYPE kt = 0;
		CK_ULONG len = 0;
		CK_ATTRIBUTE a[] = {
			{ CKA_KEY_TYPE, &kt, sizeof kt },
			{ CKA_VALUE_LEN, &len, sizeof len },
		};
		assert_int_equal(t.f->C_GetAttributeValue(t.session, k, a, 2),
		    CKR_OK);
		assert_int_equal(kt, CKK_GENERIC_SECRET);
		assert_int_equal(len, 32);
	}
	assert_int_equal(attr_bool(&t, k, CKA_TOKEN), CK_TRUE);
	assert_int_equal(attr_bool(&t, k, CKA_SENSITIVE), CK_TRUE);
	assert_int_equal(attr_bool(&t, k, CKA_EXTRACTABLE), CK_FALSE);
	assert_int_equal(attr_bool(&t, k, CKA_NEVER_EXTRACTABLE), CK_TRUE);
	assert_int_equal(attr_bool(&t, k, CKA_SIGN), CK_TRUE);
	assert_int_equal(attr_bool(&t, k, CKA_ENCRYPT), CK_FALSE);
	assert_int_equal(attr_bool(&t, k, CKA_DECRYPT), CK_FALSE);
	assert_int_equal(attr_bool(&t, k, CKA_WRAP), CK_FALSE);
	assert_int_equal(attr_bool(&t, k, CKA_UNWRAP), CK_FALSE);
	assert_int_equal(attr_bool(&t, k, CKA_DERIVE), CK_FALSE);
	/* its value cannot be read */
	{
		uint8_t v[64];
		CK_ATTRIBUTE a = { CKA_VALUE, v, sizeof v };
		assert_int_equal(t.f->C_GetAttributeValue(t.session, k, &a, 1),
		    CKR_ATTRIBUTE_SENSITIVE);
	}

	/* the MAC: deterministic and input-sensitive */
	memset(in1, 0x11, sizeof in1);
	memcpy(in2, in1, sizeof in2);
	in2[31] ^= 1;
	assert_int_equal(scm_mac_compute(&t, k, in1, sizeof in1, m1), 0);
	assert_int_equal(scm_mac_compute(&t, k, in1, sizeof in1, m1b), 0);
	assert_int_equal(scm_mac_compute(&t, k, in2, sizeof in2, m2), 0);
	assert_memory_equal(m1, m1b, SCM_MAC_LEN);
	assert_memory_not_equal(m1, m2, SCM_MAC_LEN);
	p11_close(&t);

	/* the same key after a reopen (the database's MACs stay valid) */
	open_token(&t);
	assert_int_equal(scm_mac_open(&t, true, false, &k2, &created), 0);
	assert_false(created);
	assert_int_equal(scm_mac_compute(&t, k2, in1, sizeof in1, m1b), 0);
	assert_memory_equal(m1, m1b, SCM_MAC_LEN);

	/* a second key under the label: refused, not picked */
	{
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
		CK_ULONG len = 32;
		CK_MECHANISM mech = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
		CK_OBJECT_HANDLE other;
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_CLASS, &cls, sizeof cls },
			{ CKA_KEY_TYPE, &kt, sizeof kt },
			{ CKA_VALUE_LEN, &len, sizeof len },
			{ CKA_TOKEN, &yes, sizeof yes },
			{ CKA_PRIVATE, &yes, sizeof yes },
			{ CKA_SENSITIVE, &yes, sizeof yes },
			{ CKA_EXTRACTABLE, &no, sizeof no },
			{ CKA_SIGN, &yes, sizeof yes },
			{ CKA_LABEL, (void *)SCM_MAC_LABEL, sizeof SCM_MAC_LABEL - 1 },
		};
		assert_int_equal(t.f->C_GenerateKey(t.session, &mech, tmpl,
		    sizeof tmpl / sizeof tmpl[0], &other), CKR_OK);
		assert_int_equal(scm_mac_open(&t, true, false, &k2, &created), -EEXIST);
	}
	p11_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mac_key, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
