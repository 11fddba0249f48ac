/* backup.c — key backup and recovery inside inkan-scm (see backup.h).
 * Nothing here returns a key in clear: what leaves is wrapped by the
 * trusted KEK, and the KEK itself wrapped by the shares' key. The shares
 * are the only secret handed out; they are made with libsodium's CSPRNG
 * and wiped here once wrapped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "backup.h"
#include "mac.h"

static int bk_fail(struct p11_token *t, const char *fn, CK_RV rv)
{
	t->last_fn = fn;
	t->last_rv = rv;
	return -EIO;
}

static void bk_clear(struct p11_token *t)
{
	t->err[0] = '\0';
	t->last_fn = NULL;
	t->last_rv = CKR_OK;
}

void scm_bk_keys_free(struct scm_bk_key *k, size_t n)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(k[i].spki);
		free(k[i].wrapped);
	}
	free(k);
}

/* A session AES key with this value that can wrap (start) or unwrap
 * (restore) and nothing else. */
static int import_share_key(struct p11_token *t, const uint8_t *value,
    bool unwrap, CK_OBJECT_HANDLE *h)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL w = unwrap ? CK_FALSE : CK_TRUE, u = unwrap ? CK_TRUE : CK_FALSE;
	CK_ATTRIBUTE a[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_VALUE, (void *)value, SCM_BK_SHARE_LEN },
		{ CKA_TOKEN, &no, sizeof no },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &no, sizeof no },
		{ CKA_WRAP, &w, sizeof w },
		{ CKA_UNWRAP, &u, sizeof u },
		{ CKA_ENCRYPT, &no, sizeof no },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_SIGN, &no, sizeof no },
		{ CKA_VERIFY, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
	};
	CK_RV rv = t->f->C_CreateObject(t->session, a, sizeof a / sizeof a[0], h);

	return rv == CKR_OK ? 0 : bk_fail(t, "C_CreateObject(share key)", rv);
}

/* C_WrapKey with CKM_AES_KEY_WRAP_PAD into a malloc'd buffer. */
static int wrap(struct p11_token *t, CK_OBJECT_HANDLE wrapping,
    CK_OBJECT_HANDLE key, uint8_t **out, size_t *len)
{
	CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_ULONG n = 0;
	CK_RV rv;

	rv = t->f->C_WrapKey(t->session, &m, wrapping, key, NULL, &n);
	if (rv != CKR_OK)
		return bk_fail(t, "C_WrapKey", rv);
	if (n == 0 || n > SCM_BK_WRAPPED_MAX) {
		snprintf(t->err, sizeof t->err, "C_WrapKey: %lu bytes",
		    (unsigned long)n);
		return -EIO;
	}
	if ((*out = malloc(n)) == NULL)
		return -ENOMEM;
	rv = t->f->C_WrapKey(t->session, &m, wrapping, key, *out, &n);
	if (rv != CKR_OK) {
		free(*out);
		*out = NULL;
		return bk_fail(t, "C_WrapKey", rv);
	}
	*len = n;
	return 0;
}

/* 1 extractable, 0 not, -EIO the attribute cannot be read. */
static int extractable(struct p11_token *t, CK_OBJECT_HANDLE h)
{
	CK_BBOOL e = CK_FALSE;
	CK_ATTRIBUTE a = { CKA_EXTRACTABLE, &e, sizeof e };
	CK_RV rv = t->f->C_GetAttributeValue(t->session, h, &a, 1);

	if (rv != CKR_OK)
		return bk_fail(t, "C_GetAttributeValue(CKA_EXTRACTABLE)", rv);
	return e == CK_TRUE;
}

/* ---- backup ------------------------------------------------------------ */

static int make_kek(struct p11_token *t, CK_OBJECT_HANDLE *kek)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM m = { CKM_AES_KEY_GEN, NULL, 0 };
	/* SO-made objects are public: a session object never reaches disk.
	 * EXTRACTABLE so that the shares' key can wrap it; it wraps only. */
	CK_ATTRIBUTE a[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_VALUE_LEN, &len, sizeof len },
		{ CKA_TOKEN, &no, sizeof no },
		{ CKA_PRIVATE, &no, sizeof no },
		{ CKA_TRUSTED, &yes, sizeof yes },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &yes, sizeof yes },
		{ CKA_WRAP, &yes, sizeof yes },
		{ CKA_UNWRAP, &no, sizeof no },
		{ CKA_ENCRYPT, &no, sizeof no },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_SIGN, &no, sizeof no },
		{ CKA_VERIFY, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_LABEL, (void *)SCM_BK_KEK_LABEL, sizeof SCM_BK_KEK_LABEL - 1 },
	};
	CK_RV rv = t->f->C_GenerateKey(t->session, &m, a, sizeof a / sizeof a[0],
	    kek);

	return rv == CKR_OK ? 0 : bk_fail(t, "C_GenerateKey(KEK)", rv);
}

/* Back to the user session the service runs in. */
static int relogin_user(struct p11_token *t, const char *pin, size_t len)
{
	CK_RV rv;

	p11_cache_clear(t);     /* private handles are gone */
	rv = t->f->C_Login(t->session, CKU_USER, (CK_UTF8CHAR *)pin, len);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		t->logged_in = false;
		bk_fail(t, "C_Login(user)", rv);
		return SCM_BK_RELOGIN;
	}
	t->logged_in = true;
	return 0;
}

int scm_bk_start(struct p11_token *t, const char *so_pin, size_t so_len,
    const char *user_pin, size_t user_len, CK_OBJECT_HANDLE *kek, uint8_t share1[SCM_BK_SHARE_LEN],
    uint8_t share2[SCM_BK_SHARE_LEN], uint8_t **wkek, size_t *wkek_len,
    uint8_t **wmac, size_t *wmac_len)
{
	uint8_t w[SCM_BK_SHARE_LEN];
	CK_OBJECT_HANDLE wk = CK_INVALID_HANDLE, mac_key = CK_INVALID_HANDLE;
	bool created;
	CK_RV rv;
	int rc, rc2;

	*kek = CK_INVALID_HANDLE;
	*wkek = *wmac = NULL;
	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	bk_clear(t);
	/* Looked up before and after the SO login: a logout invalidates
	 * every handle of a private object. */
	if ((rc = scm_mac_open(t, false, true, &mac_key, &created)) != 0)
		return rc;
	if ((rc = extractable(t, mac_key)) < 0)
		return rc;
	if (rc == 0) {
		snprintf(t->err, sizeof t->err, "the row-MAC key \"%s\" is not "
		    "extractable (made before key_backup was enabled): no "
		    "backup possible", SCM_MAC_LABEL);
		return SCM_BK_NOT_EXTRACTABLE;
	}
	rv = t->f->C_Logout(t->session);
	if (rv != CKR_OK)
		return bk_fail(t, "C_Logout(user)", rv);
	t->logged_in = false;
	rv = t->f->C_Login(t->session, CKU_SO, (CK_UTF8CHAR *)so_pin, so_len);
	if (rv != CKR_OK) {
		rc = (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) ?
		    SCM_BK_SO_PIN : bk_fail(t, "C_Login(SO)", rv);
		t->last_fn = "C_Login(SO)";
		t->last_rv = rv;
		rc2 = relogin_user(t, user_pin, user_len);
		return rc2 != 0 ? rc2 : rc;
	}
	rc = make_kek(t, kek);
	rv = t->f->C_Logout(t->session);
	rc2 = relogin_user(t, user_pin, user_len);
	if (rc2 != 0)
		return rc2;
	if (rv != CKR_OK && rc == 0)
		rc = bk_fail(t, "C_Logout(SO)", rv);
	if (rc != 0)
		goto fail;
	if ((rc = scm_mac_open(t, false, true, &mac_key, &created)) != 0)
		goto fail;

	/* The shares: only their XOR is a key, and it lives in the token for
	 * one wrap (a stack buffer, wiped: inkan-scm's sandbox forbids the
	 * mlock and madvise(MADV_DONTDUMP) that sodium_malloc needs). */
	randombytes_buf(share1, SCM_BK_SHARE_LEN);
	randombytes_buf(share2, SCM_BK_SHARE_LEN);
	for (int i = 0; i < SCM_BK_SHARE_LEN; i++)
		w[i] = share1[i] ^ share2[i];
	rc = import_share_key(t, w, false, &wk);
	sodium_memzero(w, sizeof w);
	if (rc != 0)
		goto fail;
	rc = wrap(t, wk, *kek, wkek, wkek_len);
	t->f->C_DestroyObject(t->session, wk);
	if (rc != 0)
		goto fail;
	rc = wrap(t, *kek, mac_key, wmac, wmac_len);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	free(*wkek);
	free(*wmac);
	*wkek = *wmac = NULL;
	sodium_memzero(share1, SCM_BK_SHARE_LEN);
	sodium_memzero(share2, SCM_BK_SHARE_LEN);
	scm_bk_finish(t, kek);
	return rc;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, P11_KEY_ID_LEN);
}

/* Every 16-byte CKA_ID of a private key, sorted (malloc'd). */
static int list_ids(struct p11_token *t, uint8_t (**ids)[P11_KEY_ID_LEN],
    size_t *n)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl = { CKA_CLASS, &cls, sizeof cls };
	CK_OBJECT_HANDLE hs[64];
	CK_ULONG got;
	uint8_t (*v)[P11_KEY_ID_LEN] = NULL;
	size_t cap = 0;
	CK_RV rv;
	int rc = 0;

	*n = 0;
	rv = t->f->C_FindObjectsInit(t->session, &tmpl, 1);
	if (rv != CKR_OK)
		return bk_fail(t, "C_FindObjectsInit", rv);
	for (;;) {
		rv = t->f->C_FindObjects(t->session, hs, 64, &got);
		if (rv != CKR_OK) {
			rc = bk_fail(t, "C_FindObjects", rv);
			break;
		}
		if (got == 0)
			break;
		for (CK_ULONG i = 0; i < got; i++) {
			uint8_t id[64];
			CK_ATTRIBUTE a = { CKA_ID, id, sizeof id };

			if (t->f->C_GetAttributeValue(t->session, hs[i], &a, 1)
			    != CKR_OK || a.ulValueLen != P11_KEY_ID_LEN)
				continue;       /* not a signer key (audit key) */
			if (*n == cap) {
				size_t c = cap ? 2 * cap : 64;
				void *nv = realloc(v, c * sizeof *v);

				if (nv == NULL) {
					rc = -ENOMEM;
					goto done;
				}
				v = nv;
				cap = c;
			}
			memcpy(v[(*n)++], id, P11_KEY_ID_LEN);
		}
	}
done:
	t->f->C_FindObjectsFinal(t->session);
	if (rc != 0) {
		free(v);
		*n = 0;
		return rc;
	}
	if (*n > 1)
		qsort(v, *n, sizeof *v, id_cmp);
	*ids = v;
	return 0;
}

int scm_bk_page(struct p11_token *t, CK_OBJECT_HANDLE kek,
    const uint8_t *after, struct scm_bk_key **out, size_t *n, bool *more)
{
	uint8_t (*ids)[P11_KEY_ID_LEN] = NULL;
	struct scm_bk_key *k = NULL;
	size_t nids = 0, first = 0, cnt;
	int rc;

	*out = NULL;
	*n = 0;
	*more = false;
	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	bk_clear(t);
	if ((rc = list_ids(t, &ids, &nids)) != 0)
		return rc;
	if (after != NULL)
		while (first < nids && memcmp(ids[first], after,
		    P11_KEY_ID_LEN) <= 0)
			first++;
	cnt = nids - first;
	if (cnt > SCM_BK_PAGE) {
		cnt = SCM_BK_PAGE;
		*more = true;
	}
	if (cnt > 0 && (k = calloc(cnt, sizeof *k)) == NULL) {
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cnt; i++) {
		CK_OBJECT_HANDLE priv, pub;
		char hex[2 * P11_KEY_ID_LEN + 1];

		memcpy(k[i].id, ids[first + i], P11_KEY_ID_LEN);
		*n = i + 1;
		rc = p11_find_key(t, k[i].id, &priv, &pub, &k[i].type);
		if (rc == 0)
			rc = p11_pubkey(t, k[i].id, &k[i].spki, &k[i].spki_len,
			    &k[i].type);
		if (rc != 0)
			break;
		if ((rc = extractable(t, priv)) < 0)
			break;
		if (rc == 0) {
			for (int j = 0; j < P11_KEY_ID_LEN; j++)
				snprintf(hex + 2 * j, 3, "%02x", k[i].id[j]);
			snprintf(t->err, sizeof t->err, "key %s is not "
			    "extractable (made before key_backup was "
			    "enabled): no backup possible", hex);
			rc = SCM_BK_NOT_EXTRACTABLE;
			break;
		}
		if ((rc = wrap(t, kek, priv, &k[i].wrapped,
		    &k[i].wrapped_len)) != 0)
			break;
	}
	free(ids);
	if (rc != 0) {
		scm_bk_keys_free(k, *n);
		*n = 0;
		*more = false;
		return rc;
	}
	*out = k;
	return 0;
}

void scm_bk_finish(struct p11_token *t, CK_OBJECT_HANDLE *kek)
{
	if (*kek != CK_INVALID_HANDLE && t->f != NULL && t->have_session)
		t->f->C_DestroyObject(t->session, *kek);
	*kek = CK_INVALID_HANDLE;
}

/* ---- restore ------------------------------------------------------------ */

int scm_bk_restore_begin(struct p11_token *t,
    const uint8_t unwrap_key[SCM_BK_SHARE_LEN], const uint8_t *wkek,
    size_t wkek_len, CK_OBJECT_HANDLE *kek)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_ATTRIBUTE a[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_TOKEN, &no, sizeof no },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &no, sizeof no },
		{ CKA_UNWRAP, &yes, sizeof yes },
		{ CKA_WRAP, &no, sizeof no },
		{ CKA_ENCRYPT, &no, sizeof no },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_SIGN, &no, sizeof no },
		{ CKA_VERIFY, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
	};
	uint8_t (*ids)[P11_KEY_ID_LEN] = NULL;
	CK_OBJECT_HANDLE wk = CK_INVALID_HANDLE, mac = CK_INVALID_HANDLE;
	size_t n = 0;
	bool created = false;
	CK_RV rv;
	int rc;

	*kek = CK_INVALID_HANDLE;
	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	bk_clear(t);
	if ((rc = list_ids(t, &ids, &n)) != 0)
		return rc;
	free(ids);
	rc = scm_mac_open(t, false, false, &mac, &created);
	if (n != 0 || rc == 0) {
		snprintf(t->err, sizeof t->err, "the token holds %zu signer "
		    "key(s)%s already: restore only into a fresh token "
		    "(inkanctl init)", n, rc == 0 ? " and a row-MAC key" : "");
		return SCM_BK_NOT_FRESH;
	}
	if (rc != P11_NOT_FOUND)
		return rc;
	bk_clear(t);
	if ((rc = import_share_key(t, unwrap_key, true, &wk)) != 0)
		return rc;
	rv = t->f->C_UnwrapKey(t->session, &m, wk, (CK_BYTE *)wkek, wkek_len,
	    a, sizeof a / sizeof a[0], kek);
	t->f->C_DestroyObject(t->session, wk);
	if (rv != CKR_OK) {
		bk_fail(t, "C_UnwrapKey(KEK)", rv);
		*kek = CK_INVALID_HANDLE;
		/* SoftHSM answers a wrong key with CKR_GENERAL_ERROR. */
		return SCM_BK_BAD_SHARES;
	}
	return 0;
}

int scm_bk_restore_mac(struct p11_token *t, CK_OBJECT_HANDLE kek,
    const uint8_t *wrapped, size_t len, bool wrappable)
{
	CK_BBOOL no = CK_FALSE;
	CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_ATTRIBUTE a[SCM_MAC_ATTRS];
	CK_ULONG na = scm_mac_template(a, wrappable, false);
	CK_ATTRIBUTE fix = { CKA_MODIFIABLE, &no, sizeof no };
	CK_OBJECT_HANDLE h, h2;
	CK_RV rv;

	bk_clear(t);
	/* SoftHSM 2.6.1 refuses CKA_MODIFIABLE in an unwrap template
	 * (CKR_ATTRIBUTE_READ_ONLY): unwrap, then a copy that is not
	 * modifiable (C_CopyObject may clear it), then drop the first. */
	rv = t->f->C_UnwrapKey(t->session, &m, kek, (CK_BYTE *)wrapped, len, a,
	    na, &h);
	if (rv != CKR_OK)
		return bk_fail(t, "C_UnwrapKey(MAC key)", rv);
	rv = t->f->C_CopyObject(t->session, h, &fix, 1, &h2);
	t->f->C_DestroyObject(t->session, h);
	return rv == CKR_OK ? 0 : bk_fail(t, "C_CopyObject(MAC key)", rv);
}

/* Public key attributes from a DER SPKI of the expected type. */
static int pub_object(struct p11_token *t, const struct scm_bk_key *k,
    const char *label)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	const unsigned char *p = k->spki;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)k->spki_len);
	uint8_t point[2 + 97], nbuf[512], ebuf[16];
	char group[32];
	size_t plen = 0, want;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	CK_ATTRIBUTE a[12] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_VERIFY, &yes, sizeof yes },
		{ CKA_ENCRYPT, &no, sizeof no },
		{ CKA_WRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_ID, (void *)k->id, P11_KEY_ID_LEN },
		{ CKA_LABEL, (void *)label, 2 * P11_KEY_ID_LEN },
	};
	CK_ULONG na = 10;
	CK_OBJECT_HANDLE h;
	CK_RV rv;
	int rc = -EINVAL;

	if (pk == NULL || p != k->spki + k->spki_len)
		goto bad;
	switch (k->type) {
	case P11_KEY_EC_P256:
	case P11_KEY_EC_P384:
		want = k->type == P11_KEY_EC_P256 ? 65 : 97;
		/* The curve by name: another 256- or 384-bit curve (e.g.
		 * brainpool) must not get P-256/P-384 EC_PARAMS. */
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
		    !EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) ||
		    strcmp(group, want == 65 ? "prime256v1" : "secp384r1") != 0 ||
		    EVP_PKEY_get_bits(pk) != (want == 65 ? 256 : 384) ||
		    !EVP_PKEY_get_octet_string_param(pk,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point + 2, want, &plen) ||
		    plen != want)
			goto bad;
		point[0] = 0x04;        /* DER OCTET STRING around the point */
		point[1] = (uint8_t)want;
		kt = CKK_EC;
		if (k->type == P11_KEY_EC_P256)
			a[na++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS,
			    (void *)der_oid_p256, sizeof der_oid_p256 };
		else
			a[na++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS,
			    (void *)der_oid_p384, sizeof der_oid_p384 };
		a[na++] = (CK_ATTRIBUTE){ CKA_EC_POINT, point, want + 2 };
		break;
	case P11_KEY_RSA_2048:
	case P11_KEY_RSA_3072:
		want = k->type == P11_KEY_RSA_2048 ? 2048 : 3072;
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
		    EVP_PKEY_get_bits(pk) != (int)want ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn_n) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &bn_e) ||
		    BN_num_bytes(bn_e) > (int)sizeof ebuf)
			goto bad;
		kt = CKK_RSA;
		a[na++] = (CK_ATTRIBUTE){ CKA_MODULUS, nbuf,
		    (CK_ULONG)BN_bn2bin(bn_n, nbuf) };
		a[na++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, ebuf,
		    (CK_ULONG)BN_bn2bin(bn_e, ebuf) };
		break;
	default:
		goto bad;
	}
	rv = t->f->C_CreateObject(t->session, a, na, &h);
	rc = rv == CKR_OK ? 0 : bk_fail(t, "C_CreateObject(public key)", rv);
	goto out;
bad:
	snprintf(t->err, sizeof t->err, "the archived public key does not "
	    "match the key type");
out:
	BN_free(bn_n);
	BN_free(bn_e);
	EVP_PKEY_free(pk);
	return rc;
}

/* Sign a random digest with the restored key and verify it with OpenSSL
 * under the archived SPKI: the key is back, and it is the same key. */
static int selftest(struct p11_token *t, const struct scm_bk_key *k)
{
	bool ec = k->type == P11_KEY_EC_P256 || k->type == P11_KEY_EC_P384;
	uint8_t md[32], sig[P11_SIG_MAX], *spki = NULL;
	size_t sig_len = 0, spki_len = 0;
	enum p11_key_type type;
	const unsigned char *p = k->spki;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc;

	rc = p11_pubkey(t, k->id, &spki, &spki_len, &type);
	if (rc != 0)
		return rc;
	if (type != k->type || spki_len != k->spki_len ||
	    memcmp(spki, k->spki, spki_len) != 0) {
		free(spki);
		snprintf(t->err, sizeof t->err, "the restored public key differs "
		    "from the archived one");
		return SCM_BK_SELFTEST;
	}
	free(spki);
	randombytes_buf(md, sizeof md);
	rc = p11_sign(t, k->id, ec ? P11_MECH_ECDSA : P11_MECH_RSA_PKCS1,
	    DER_HASH_SHA256, 0, md, sizeof md, sig, &sig_len);
	if (rc != 0)
		return rc;
	rc = SCM_BK_SELFTEST;
	pk = d2i_PUBKEY(NULL, &p, (long)k->spki_len);
	if (pk != NULL && (ctx = EVP_PKEY_CTX_new(pk, NULL)) != NULL &&
	    EVP_PKEY_verify_init(ctx) == 1 &&
	    (ec || (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1)) &&
	    EVP_PKEY_verify(ctx, sig, sig_len, md, sizeof md) == 1)
		rc = 0;
	else
		snprintf(t->err, sizeof t->err, "the restored key's test "
		    "signature does not verify under the archived public key");
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rc;
}

int scm_bk_restore_key(struct p11_token *t, CK_OBJECT_HANDLE kek,
    const struct scm_bk_key *k, bool wrappable)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL ex = wrappable ? CK_TRUE : CK_FALSE;
	CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	char label[2 * P11_KEY_ID_LEN + 1];
	CK_ATTRIBUTE a[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SIGN, &yes, sizeof yes },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_UNWRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_SIGN_RECOVER, &no, sizeof no },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &ex, sizeof ex },
		{ CKA_WRAP_WITH_TRUSTED, &yes, sizeof yes },
		{ CKA_ID, (void *)k->id, P11_KEY_ID_LEN },
		{ CKA_LABEL, label, 2 * P11_KEY_ID_LEN },
	};
	CK_OBJECT_HANDLE h;
	CK_RV rv;
	int rc;

	bk_clear(t);
	for (int i = 0; i < P11_KEY_ID_LEN; i++)
		snprintf(label + 2 * i, 3, "%02x", k->id[i]);
	switch (k->type) {
	case P11_KEY_EC_P256:
	case P11_KEY_EC_P384: kt = CKK_EC; break;
	case P11_KEY_RSA_2048:
	case P11_KEY_RSA_3072: kt = CKK_RSA; break;
	default: return P11_UNSUPPORTED;
	}
	rv = t->f->C_UnwrapKey(t->session, &m, kek, k->wrapped, k->wrapped_len,
	    a, sizeof a / sizeof a[0], &h);
	if (rv != CKR_OK)
		return bk_fail(t, "C_UnwrapKey(signer key)", rv);
	if ((rc = pub_object(t, k, label)) != 0 || (rc = selftest(t, k)) != 0) {
		/* No half-restored key stays behind (keep the reason). */
		char why[sizeof t->err];
		const char *fn = t->last_fn;
		CK_RV last = t->last_rv;

		memcpy(why, t->err, sizeof why);
		p11_destroy(t, k->id);
		memcpy(t->err, why, sizeof why);
		t->last_fn = fn;
		t->last_rv = last;
		return rc;
	}
	return 0;
}
