/* mac.c — the row-integrity MAC key of inkan-scm (see mac.h). The key is
 * made by the token itself (CKM_GENERIC_SECRET_KEY_GEN) and can be used for
 * nothing but HMAC: no encrypt/decrypt/wrap/unwrap/derive, and its value can
 * never be read (SENSITIVE; not EXTRACTABLE, or with key_backup wrappable by
 * a trusted KEK only, so that a restored database keeps valid MACs). Its CKA_ID is not 16 bytes, so
 * no signer-key request (which names a 16-byte CKA_ID of a private key) can
 * ever reach it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mac.h"

static int mac_fail(struct p11_token *t, const char *fn, CK_RV rv)
{
	t->last_fn = fn;
	t->last_rv = rv;
	return -EIO;
}

static int find_mac_keys(struct p11_token *t, CK_OBJECT_HANDLE *hs,
    CK_ULONG max, CK_ULONG *n)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_LABEL, (void *)SCM_MAC_LABEL, sizeof SCM_MAC_LABEL - 1 },
	};
	CK_RV rv, rv2;

	*n = 0;
	rv = t->f->C_FindObjectsInit(t->session, tmpl, 2);
	if (rv != CKR_OK)
		return mac_fail(t, "C_FindObjectsInit", rv);
	rv = t->f->C_FindObjects(t->session, hs, max, n);
	rv2 = t->f->C_FindObjectsFinal(t->session);
	if (rv != CKR_OK)
		return mac_fail(t, "C_FindObjects", rv);
	if (rv2 != CKR_OK)
		return mac_fail(t, "C_FindObjectsFinal", rv2);
	return 0;
}

size_t scm_mac_template(CK_ATTRIBUTE *a, bool wrappable, bool generate)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	static CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	static CK_ULONG len = SCM_MAC_LEN;
	static char id[] = "inkan-mac", label[] = SCM_MAC_LABEL;
	size_t n = 0;

#define ATTR(type, v) (a[n++] = (CK_ATTRIBUTE){ (type), &(v), sizeof(v) })
	ATTR(CKA_CLASS, cls);
	ATTR(CKA_KEY_TYPE, kt);
	if (generate)
		ATTR(CKA_VALUE_LEN, len);
	ATTR(CKA_TOKEN, yes);
	ATTR(CKA_PRIVATE, yes);
	ATTR(CKA_SENSITIVE, yes);
	/* issue 7: with key_backup only a trusted KEK may wrap it */
	if (wrappable)
		ATTR(CKA_EXTRACTABLE, yes);
	else
		ATTR(CKA_EXTRACTABLE, no);
	ATTR(CKA_WRAP_WITH_TRUSTED, yes);
	ATTR(CKA_SIGN, yes);
	ATTR(CKA_VERIFY, yes);
	ATTR(CKA_ENCRYPT, no);
	ATTR(CKA_DECRYPT, no);
	ATTR(CKA_WRAP, no);
	ATTR(CKA_UNWRAP, no);
	ATTR(CKA_DERIVE, no);
	if (generate)
		ATTR(CKA_MODIFIABLE, no);
#undef ATTR
	a[n++] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof label - 1 };
	a[n++] = (CK_ATTRIBUTE){ CKA_ID, id, sizeof id - 1 };
	return n;
}

int scm_mac_open(struct p11_token *t, bool create, bool wrappable,
    CK_OBJECT_HANDLE *key, bool *created)
{
	CK_MECHANISM mech = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_ATTRIBUTE tmpl[SCM_MAC_ATTRS];
	CK_ULONG nt;
	CK_OBJECT_HANDLE hs[2];
	CK_ULONG n;
	CK_RV rv;
	int rc;

	*created = false;
	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	t->err[0] = '\0';
	t->last_fn = NULL;
	t->last_rv = CKR_OK;
	rc = find_mac_keys(t, hs, 2, &n);
	if (rc != 0)
		return rc;
	if (n > 1) {
		snprintf(t->err, sizeof t->err, "more than one secret key "
		    "labelled \"%s\" on the token", SCM_MAC_LABEL);
		return -EEXIST;
	}
	if (n == 1) {
		*key = hs[0];
		return 0;
	}
	if (!create)
		return P11_NOT_FOUND;
	nt = scm_mac_template(tmpl, wrappable, true);
	rv = t->f->C_GenerateKey(t->session, &mech, tmpl, nt, key);
	if (rv != CKR_OK)
		return mac_fail(t, "C_GenerateKey", rv);
	*created = true;
	return 0;
}

int scm_mac_compute(struct p11_token *t, CK_OBJECT_HANDLE key,
    const uint8_t *in, size_t len, uint8_t out[SCM_MAC_LEN])
{
	CK_MECHANISM mech = { CKM_SHA256_HMAC, NULL, 0 };
	CK_ULONG n = SCM_MAC_LEN;
	CK_RV rv;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	rv = t->f->C_SignInit(t->session, &mech, key);
	if (rv != CKR_OK)
		return mac_fail(t, "C_SignInit", rv);
	rv = t->f->C_Sign(t->session, (CK_BYTE *)in, len, out, &n);
	if (rv != CKR_OK)
		return mac_fail(t, "C_Sign", rv);
	if (n != SCM_MAC_LEN)
		return -EIO;
	return 0;
}
