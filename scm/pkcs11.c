/* pkcs11.c — inkan-scm's PKCS#11 layer (see pkcs11.h): module loading, token
 * selection by label/serial, one logged-in session (and more on the same
 * login for the signing pool), a handle cache under a mutex, key pair
 * generation with every usage attribute set explicitly, signing, CSR proof of
 * possession, destruction, token initialisation. No logging: failures leave
 * last_fn/last_rv/err in the token for the daemon to report. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "pkcs11.h"

/* Longest attribute value read back from the token (an RSA-4096 modulus is
 * 512 bytes, an EC point under 140). */
#define ATTR_MAX 1024

/* ---- errors ------------------------------------------------------------ */

static const struct { CK_RV rv; const char *name; } rv_names[] = {
	{ CKR_OK, "CKR_OK" },
	{ CKR_CANCEL, "CKR_CANCEL" },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
	{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
	{ CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY" },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
	{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
	{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
	{ CKR_DATA_INVALID, "CKR_DATA_INVALID" },
	{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
	{ CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED" },
	{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
	{ CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE" },
	{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
	{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
	{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
	{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
	{ CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
	{ CKR_PIN_INVALID, "CKR_PIN_INVALID" },
	{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
	{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
	{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY" },
	{ CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS" },
	{ CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS" },
	{ CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID" },
	{ CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE" },
	{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
	{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
	{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
	{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
	{ CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
	{ CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN" },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
	{ CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
	{ CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID" },
	{ CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED" },
};

const char *p11_rv_name(CK_RV rv)
{
	for (size_t i = 0; i < sizeof rv_names / sizeof rv_names[0]; i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	return NULL;
}

const char *p11_strerror(int rc)
{
	switch (rc) {
	case P11_OK: return "ok";
	case P11_NOT_FOUND: return "no key with that id";
	case P11_EXISTS: return "a key with that id exists";
	case P11_UNSUPPORTED: return "unsupported key type, mechanism or hash";
	case P11_MECH_MISMATCH: return "mechanism does not fit the key type";
	case P11_DIGEST_LENGTH: return "digest length does not match the hash";
	case P11_SALT_TOO_LONG: return "PSS salt too long for the key";
	case P11_BAD_CSR: return "CSR does not parse";
	case P11_KEY_MISMATCH: return "CSR public key is not the key's own";
	case P11_TOKEN_NOT_FOUND: return "token not found";
	case P11_TOKEN_EXISTS: return "a token with that label exists";
	case P11_NO_FREE_SLOT: return "no uninitialised token slot";
	case P11_BAD_SETUP: return "PKCS#11 set-up error";
	case -EIO: return "PKCS#11 call failed";
	case -ENOMEM: return "out of memory";
	case -EINVAL: return "invalid argument";
	default: return rc < 0 ? strerror(-rc) : "unknown error";
	}
}

const char *p11_describe(const struct p11_token *t, char *buf, size_t len)
{
	const char *name;

	if (t->err[0] != '\0') {
		snprintf(buf, len, "%s", t->err);
	} else if (t->last_fn != NULL) {
		name = p11_rv_name(t->last_rv);
		if (name != NULL)
			snprintf(buf, len, "%s failed: %s", t->last_fn, name);
		else
			snprintf(buf, len, "%s failed: CKR 0x%lx", t->last_fn,
			    (unsigned long)t->last_rv);
	} else {
		snprintf(buf, len, "no PKCS#11 error recorded");
	}
	return buf;
}

static void clear_err(struct p11_token *t)
{
	/* Nothing left over from an earlier failure may be misread later. */
	ERR_clear_error();
	t->err[0] = '\0';
	t->last_fn = NULL;
	t->last_rv = CKR_OK;
}

static void seterr(struct p11_token *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void seterr(struct p11_token *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
}

/* Record a failed call; -EIO tells the caller to look at last_fn/last_rv. */
static int ck_fail(struct p11_token *t, const char *fn, CK_RV rv)
{
	t->last_fn = fn;
	t->last_rv = rv;
	return -EIO;
}

/* ---- module loading ---------------------------------------------------- */

/* SoftHSM answers a missing config or token directory with a bare
 * CKR_GENERAL_ERROR: look first and name what is missing. */
static int check_softhsm_conf(struct p11_token *t)
{
	const char *conf = getenv("SOFTHSM2_CONF");
	char line[1024], *k, *v, *e;
	char tokendir[1024] = "";
	struct stat st;
	FILE *fp;

	if (conf == NULL || conf[0] == '\0')
		return 0;
	if (stat(conf, &st) != 0) {
		seterr(t, "SOFTHSM2_CONF %s: %s", conf, strerror(errno));
		return P11_BAD_SETUP;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(t, "SOFTHSM2_CONF %s is not a regular file", conf);
		return P11_BAD_SETUP;
	}
	fp = fopen(conf, "re");
	if (fp == NULL) {
		seterr(t, "SOFTHSM2_CONF %s: %s", conf, strerror(errno));
		return P11_BAD_SETUP;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		k = line + strspn(line, " \t");
		if (*k == '#' || strncmp(k, "directories.tokendir", 20) != 0)
			continue;
		v = k + 20;
		v += strspn(v, " \t");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		e = v + strlen(v);
		while (e > v && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		snprintf(tokendir, sizeof tokendir, "%s", v);
	}
	fclose(fp);
	if (tokendir[0] == '\0')
		return 0;       /* SoftHSM's built-in default applies */
	if (stat(tokendir, &st) != 0) {
		seterr(t, "SOFTHSM2_CONF %s: tokendir %s: %s", conf, tokendir,
		    strerror(errno));
		return P11_BAD_SETUP;
	}
	if (!S_ISDIR(st.st_mode)) {
		seterr(t, "SOFTHSM2_CONF %s: tokendir %s is not a directory",
		    conf, tokendir);
		return P11_BAD_SETUP;
	}
	if (faccessat(AT_FDCWD, tokendir, R_OK | W_OK | X_OK, AT_EACCESS) != 0) {
		seterr(t, "SOFTHSM2_CONF %s: tokendir %s (owner uid %u) not "
		    "usable by uid %u: %s", conf, tokendir, (unsigned)st.st_uid,
		    (unsigned)geteuid(), strerror(errno));
		return P11_BAD_SETUP;
	}
	return 0;
}

static int load(struct p11_token *t, const char *module)
{
	CK_C_GetFunctionList getlist;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;
	int rc;

	clear_err(t);
	if (module == NULL || module[0] == '\0')
		return -EINVAL;
	rc = check_softhsm_conf(t);
	if (rc != 0)
		return rc;
	t->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (t->dl == NULL) {
		seterr(t, "cannot load PKCS#11 module %s: %s", module,
		    dlerror());
		return P11_BAD_SETUP;
	}
	getlist = (CK_C_GetFunctionList)dlsym(t->dl, "C_GetFunctionList");
	if (getlist == NULL) {
		seterr(t, "%s has no C_GetFunctionList", module);
		return P11_BAD_SETUP;
	}
	rv = getlist(&t->f);
	if (rv != CKR_OK || t->f == NULL) {
		t->f = NULL;
		return ck_fail(t, "C_GetFunctionList", rv);
	}
	/* NULL args would switch off SoftHSM's locking (HSM-NOTES). */
	memset(&args, 0, sizeof args);
	args.flags = CKF_OS_LOCKING_OK;
	rv = t->f->C_Initialize(&args);
	if (rv != CKR_OK) {
		if (rv == CKR_GENERAL_ERROR)
			seterr(t, "C_Initialize failed: CKR_GENERAL_ERROR (for "
			    "SoftHSM: check SOFTHSM2_CONF%s, its tokendir and "
			    "their owner)", getenv("SOFTHSM2_CONF") ? "" :
			    " (unset: /etc/softhsm/softhsm2.conf)");
		return ck_fail(t, "C_Initialize", rv);
	}
	t->initialized = true;
	return 0;
}

void p11_close(struct p11_token *t)
{
	if (t->parent != NULL) {
		/* A pool session: no C_Logout, which would log the whole
		 * token out; no C_Finalize, the parent's. */
		if (t->f != NULL && t->have_session)
			t->f->C_CloseSession(t->session);
		t->have_session = false;
		t->logged_in = false;
		t->f = NULL;
		t->parent = NULL;
		return;
	}
	if (t->f != NULL && t->have_session) {
		if (t->logged_in)
			t->f->C_Logout(t->session);
		t->f->C_CloseSession(t->session);
	}
	if (t->f != NULL && t->initialized)
		t->f->C_Finalize(NULL);
	if (t->dl != NULL)
		dlclose(t->dl);
	t->dl = NULL;
	t->f = NULL;
	t->initialized = false;
	t->have_session = false;
	t->logged_in = false;
	memset(t->cache, 0, sizeof t->cache);
	t->cache_next = 0;
	if (t->have_cache_lock)
		pthread_mutex_destroy(&t->cache_lock);
	t->have_cache_lock = false;
}

int p11_open_session(struct p11_token *t, struct p11_token *parent)
{
	CK_RV rv;

	clear_err(t);
	if (parent == NULL || parent->parent != NULL || parent->f == NULL ||
	    !parent->logged_in || !parent->have_cache_lock)
		return -ENOTCONN;
	t->f = parent->f;
	t->slot = parent->slot;
	t->parent = parent;
	/* RW like the parent's: an SO login (backup) fails while any
	 * read-only session exists. */
	rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &t->session);
	if (rv != CKR_OK) {
		ck_fail(t, "C_OpenSession", rv);
		t->f = NULL;
		t->parent = NULL;
		return -EIO;
	}
	t->have_session = true;
	t->logged_in = true;
	return 0;
}

void p11_copy_error(struct p11_token *to, const struct p11_token *from)
{
	to->last_fn = from->last_fn;
	to->last_rv = from->last_rv;
	memcpy(to->err, from->err, sizeof to->err);
}

/* ---- token selection --------------------------------------------------- */

static int pad(const char *s, unsigned char *out, size_t n)
{
	size_t len = strlen(s);

	if (len == 0 || len > n)
		return -EINVAL;
	memset(out, ' ', n);
	memcpy(out, s, len);
	return 0;
}

static int slot_list(struct p11_token *t, CK_SLOT_ID **out, CK_ULONG *n)
{
	CK_SLOT_ID *list = NULL, *nl;
	CK_ULONG cnt = 0;
	CK_RV rv;

	for (int tries = 0; tries < 4; tries++) {
		rv = t->f->C_GetSlotList(CK_TRUE, NULL, &cnt);
		if (rv != CKR_OK) {
			free(list);
			return ck_fail(t, "C_GetSlotList", rv);
		}
		nl = realloc(list, (cnt ? cnt : 1) * sizeof *list);
		if (nl == NULL) {
			free(list);
			return -ENOMEM;
		}
		list = nl;
		rv = t->f->C_GetSlotList(CK_TRUE, list, &cnt);
		if (rv == CKR_BUFFER_TOO_SMALL)
			continue;       /* a slot appeared in between */
		if (rv != CKR_OK) {
			free(list);
			return ck_fail(t, "C_GetSlotList", rv);
		}
		*out = list;
		*n = cnt;
		return 0;
	}
	free(list);
	return ck_fail(t, "C_GetSlotList", CKR_BUFFER_TOO_SMALL);
}

/* The slot of the initialised token with this label or serial. Slot ids are
 * not stable in SoftHSM, so this is the only way tokens are found. */
static int find_token(struct p11_token *t, const char *label,
    const char *serial, CK_SLOT_ID *slot)
{
	unsigned char want_label[32], want_serial[16];
	CK_SLOT_ID *list = NULL;
	CK_TOKEN_INFO ti;
	CK_ULONG n = 0;
	CK_RV rv;
	int rc, found = 0;

	if (label != NULL && pad(label, want_label, sizeof want_label) != 0) {
		seterr(t, "token label must be 1..32 bytes");
		return -EINVAL;
	}
	if (serial != NULL &&
	    pad(serial, want_serial, sizeof want_serial) != 0) {
		seterr(t, "token serial must be 1..16 bytes");
		return -EINVAL;
	}
	rc = slot_list(t, &list, &n);
	if (rc != 0)
		return rc;
	for (CK_ULONG i = 0; i < n; i++) {
		rv = t->f->C_GetTokenInfo(list[i], &ti);
		if (rv == CKR_TOKEN_NOT_PRESENT)
			continue;
		if (rv != CKR_OK) {
			free(list);
			return ck_fail(t, "C_GetTokenInfo", rv);
		}
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (label != NULL &&
		    memcmp(ti.label, want_label, sizeof want_label) != 0)
			continue;
		if (serial != NULL && memcmp(ti.serialNumber, want_serial,
		    sizeof want_serial) != 0)
			continue;
		*slot = list[i];
		found++;
	}
	free(list);
	if (found == 0) {
		seterr(t, "no initialised token with %s \"%s\"",
		    label ? "label" : "serial", label ? label : serial);
		return P11_TOKEN_NOT_FOUND;
	}
	if (found > 1) {
		seterr(t, "%d tokens with %s \"%s\": select by token_serial",
		    found, label ? "label" : "serial", label ? label : serial);
		return P11_BAD_SETUP;
	}
	return 0;
}

int p11_open(struct p11_token *t, const char *module, const char *label,
    const char *serial, const char *pin, size_t pin_len)
{
	CK_RV rv;
	int rc;

	if ((label == NULL) == (serial == NULL) || pin == NULL || pin_len == 0)
		return -EINVAL;
	rc = load(t, module);
	if (rc != 0)
		goto fail;
	if (pthread_mutex_init(&t->cache_lock, NULL) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	t->have_cache_lock = true;
	rc = find_token(t, label, serial, &t->slot);
	if (rc != 0)
		goto fail;
	rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &t->session);
	if (rv != CKR_OK) {
		rc = ck_fail(t, "C_OpenSession", rv);
		goto fail;
	}
	t->have_session = true;
	rv = t->f->C_Login(t->session, CKU_USER, (CK_UTF8CHAR *)pin,
	    (CK_ULONG)pin_len);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		rc = ck_fail(t, "C_Login", rv);
		goto fail;
	}
	t->logged_in = true;
	return 0;
fail:
	p11_close(t);
	return rc;
}

/* ---- objects and the handle cache -------------------------------------- */

static int find_objects(struct p11_token *t, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *found)
{
	CK_RV rv, rv2;

	*found = 0;
	rv = t->f->C_FindObjectsInit(t->session, tmpl, n);
	if (rv != CKR_OK)
		return ck_fail(t, "C_FindObjectsInit", rv);
	rv = t->f->C_FindObjects(t->session, out, max, found);
	rv2 = t->f->C_FindObjectsFinal(t->session);
	if (rv != CKR_OK)
		return ck_fail(t, "C_FindObjects", rv);
	if (rv2 != CKR_OK)
		return ck_fail(t, "C_FindObjectsFinal", rv2);
	return 0;
}

/* One object of class cls with this CKA_ID: 0 and *h, P11_NOT_FOUND, or an
 * error when the id is ambiguous. */
static int find_one(struct p11_token *t, const uint8_t *id,
    CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *h)
{
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_ID, (void *)id, P11_KEY_ID_LEN },
	};
	CK_OBJECT_HANDLE hs[2];
	CK_ULONG n;
	int rc;

	rc = find_objects(t, tmpl, 2, hs, 2, &n);
	if (rc != 0)
		return rc;
	if (n == 0)
		return P11_NOT_FOUND;
	if (n > 1) {
		seterr(t, "more than one %s key carries this CKA_ID",
		    cls == CKO_PRIVATE_KEY ? "private" : "public");
		return -EIO;
	}
	*h = hs[0];
	return 0;
}

/* Length of an attribute, then its value (malloc'd, at most ATTR_MAX). */
static int get_attr(struct p11_token *t, CK_OBJECT_HANDLE h,
    CK_ATTRIBUTE_TYPE type, uint8_t **out, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	rv = t->f->C_GetAttributeValue(t->session, h, &a, 1);
	if (rv != CKR_OK)
		return ck_fail(t, "C_GetAttributeValue", rv);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0 ||
	    a.ulValueLen > ATTR_MAX) {
		seterr(t, "attribute 0x%lx has an unusable length",
		    (unsigned long)type);
		return -EIO;
	}
	a.pValue = malloc(a.ulValueLen);
	if (a.pValue == NULL)
		return -ENOMEM;
	rv = t->f->C_GetAttributeValue(t->session, h, &a, 1);
	if (rv != CKR_OK) {
		free(a.pValue);
		return ck_fail(t, "C_GetAttributeValue", rv);
	}
	*out = a.pValue;
	*len = a.ulValueLen;
	return 0;
}

static int key_type_of(struct p11_token *t, CK_OBJECT_HANDLE priv,
    enum p11_key_type *type)
{
	CK_KEY_TYPE kt;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof kt };
	uint8_t *v = NULL;
	size_t len = 0;
	CK_RV rv;
	int rc;

	rv = t->f->C_GetAttributeValue(t->session, priv, &a, 1);
	if (rv != CKR_OK)
		return ck_fail(t, "C_GetAttributeValue", rv);
	*type = P11_KEY_NONE;
	if (kt == CKK_EC) {
		rc = get_attr(t, priv, CKA_EC_PARAMS, &v, &len);
		if (rc != 0)
			return rc;
		if (len == sizeof der_oid_p256 &&
		    memcmp(v, der_oid_p256, len) == 0)
			*type = P11_KEY_EC_P256;
		else if (len == sizeof der_oid_p384 &&
		    memcmp(v, der_oid_p384, len) == 0)
			*type = P11_KEY_EC_P384;
	} else if (kt == CKK_RSA) {
		/* The modulus is public on a private key object. */
		rc = get_attr(t, priv, CKA_MODULUS, &v, &len);
		if (rc != 0)
			return rc;
		if (len == 256 && v[0] & 0x80)
			*type = P11_KEY_RSA_2048;
		else if (len == 384 && v[0] & 0x80)
			*type = P11_KEY_RSA_3072;
	}
	free(v);
	return *type == P11_KEY_NONE ? P11_UNSUPPORTED : 0;
}

/* The cache lives in the token a pool session was opened on. cache_get runs
 * with the owner's cache_lock held; cache_put, cache_drop, cache_find and
 * p11_cache_clear take it themselves. Entries are copied out, never handed
 * out by pointer, so that another thread may replace a slot at any time. */
static struct p11_token *cache_owner(struct p11_token *t)
{
	return t->parent != NULL ? t->parent : t;
}

static void cache_lock(struct p11_token *o)
{
	if (o->have_cache_lock)
		pthread_mutex_lock(&o->cache_lock);
}

static void cache_unlock(struct p11_token *o)
{
	if (o->have_cache_lock)
		pthread_mutex_unlock(&o->cache_lock);
}

static struct p11_cache_entry *cache_get(struct p11_token *t,
    const uint8_t *id)
{
	for (unsigned i = 0; i < P11_CACHE_SLOTS; i++)
		if (t->cache[i].used &&
		    memcmp(t->cache[i].id, id, P11_KEY_ID_LEN) == 0)
			return &t->cache[i];
	return NULL;
}

static void cache_put(struct p11_token *tok, const uint8_t *id,
    CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub, enum p11_key_type type)
{
	struct p11_token *t = cache_owner(tok);
	struct p11_cache_entry *e;

	cache_lock(t);
	e = cache_get(t, id);
	if (e == NULL) {
		e = &t->cache[t->cache_next];
		t->cache_next = (t->cache_next + 1) % P11_CACHE_SLOTS;
	}
	e->used = true;
	memcpy(e->id, id, P11_KEY_ID_LEN);
	e->priv = priv;
	e->pub = pub;
	e->type = type;
	cache_unlock(t);
}

static void cache_drop(struct p11_token *tok, const uint8_t *id)
{
	struct p11_token *t = cache_owner(tok);
	struct p11_cache_entry *e;

	cache_lock(t);
	e = cache_get(t, id);
	if (e != NULL)
		memset(e, 0, sizeof *e);
	cache_unlock(t);
}

/* A copy of the cached entry for id, if any. */
static bool cache_find(struct p11_token *tok, const uint8_t *id,
    struct p11_cache_entry *out)
{
	struct p11_token *t = cache_owner(tok);
	struct p11_cache_entry *e;

	cache_lock(t);
	e = cache_get(t, id);
	if (e != NULL)
		*out = *e;
	cache_unlock(t);
	return e != NULL;
}

void p11_cache_clear(struct p11_token *tok)
{
	struct p11_token *t = cache_owner(tok);

	cache_lock(t);
	memset(t->cache, 0, sizeof t->cache);
	t->cache_next = 0;
	cache_unlock(t);
}

/* Handles of key_id: from the cache, else C_FindObjects (only on a miss:
 * a search costs more than a P-256 signature). The search runs on t's own
 * session, outside the cache lock; two threads missing at once both search
 * and store the same answer. */
static int lookup(struct p11_token *t, const uint8_t *id,
    struct p11_cache_entry *out)
{
	CK_OBJECT_HANDLE priv, pub = CK_INVALID_HANDLE;
	enum p11_key_type type;
	int rc;

	if (cache_find(t, id, out))
		return 0;
	rc = find_one(t, id, CKO_PRIVATE_KEY, &priv);
	if (rc != 0)
		return rc;
	rc = find_one(t, id, CKO_PUBLIC_KEY, &pub);
	if (rc == P11_NOT_FOUND)
		pub = CK_INVALID_HANDLE;
	else if (rc != 0)
		return rc;
	rc = key_type_of(t, priv, &type);
	if (rc != 0)
		return rc;
	cache_put(t, id, priv, pub, type);
	memset(out, 0, sizeof *out);
	out->used = true;
	memcpy(out->id, id, P11_KEY_ID_LEN);
	out->priv = priv;
	out->pub = pub;
	out->type = type;
	return 0;
}

static bool stale_handle(const struct p11_token *t)
{
	return t->last_rv == CKR_KEY_HANDLE_INVALID ||
	    t->last_rv == CKR_OBJECT_HANDLE_INVALID;
}

int p11_find_key(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    CK_OBJECT_HANDLE *priv, CK_OBJECT_HANDLE *pub, enum p11_key_type *type)
{
	struct p11_cache_entry ent, *e = &ent;
	int rc;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	clear_err(t);
	rc = lookup(t, key_id, e);
	if (rc != 0)
		return rc;
	*priv = e->priv;
	*pub = e->pub;
	*type = e->type;
	return 0;
}

/* ---- public keys ------------------------------------------------------- */

static int evp_from_ec(const char *group, const uint8_t *point, size_t len,
    EVP_PKEY **out)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, (void *)point, len);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL)
		return -ENOMEM;
	ok = EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -EINVAL;
}

static int evp_from_rsa(const uint8_t *n, size_t nlen, const uint8_t *e,
    size_t elen, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	int rc = -ENOMEM;

	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn == NULL || be == NULL || bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || ctx == NULL)
		goto out;
	rc = -EINVAL;
	if (EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
		rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return rc;
}

/* The public key object of e as an OpenSSL key. */
static int key_evp(struct p11_token *t, const struct p11_cache_entry *e,
    EVP_PKEY **out)
{
	uint8_t *a = NULL, *b = NULL;
	const uint8_t *point;
	size_t alen = 0, blen = 0, plen;
	int rc;

	*out = NULL;
	if (e->pub == CK_INVALID_HANDLE) {
		seterr(t, "the key has no public key object");
		return P11_NOT_FOUND;
	}
	switch (e->type) {
	case P11_KEY_EC_P256:
	case P11_KEY_EC_P384:
		rc = get_attr(t, e->pub, CKA_EC_POINT, &a, &alen);
		if (rc != 0)
			return rc;
		plen = e->type == P11_KEY_EC_P256 ? 65 : 97;
		if (der_ec_point_unwrap(a, alen, plen, &point) != 0) {
			seterr(t, "CKA_EC_POINT is not an uncompressed point");
			rc = -EIO;
			break;
		}
		rc = evp_from_ec(e->type == P11_KEY_EC_P256 ? "prime256v1" :
		    "secp384r1", point, plen, out);
		break;
	case P11_KEY_RSA_2048:
	case P11_KEY_RSA_3072:
		rc = get_attr(t, e->pub, CKA_MODULUS, &a, &alen);
		if (rc != 0)
			return rc;
		rc = get_attr(t, e->pub, CKA_PUBLIC_EXPONENT, &b, &blen);
		if (rc != 0)
			break;
		if (alen != (e->type == P11_KEY_RSA_2048 ? 256u : 384u)) {
			seterr(t, "public modulus length does not match the key");
			rc = -EIO;
			break;
		}
		rc = evp_from_rsa(a, alen, b, blen, out);
		break;
	default:
		rc = P11_UNSUPPORTED;
	}
	if (rc == -EINVAL) {
		seterr(t, "token returned a public key OpenSSL rejects");
		rc = -EIO;
	}
	free(a);
	free(b);
	return rc;
}

static int evp_to_spki(EVP_PKEY *pk, uint8_t **spki, size_t *len)
{
	unsigned char *buf, *p;
	int n;

	n = i2d_PUBKEY(pk, NULL);
	if (n <= 0)
		return -EINVAL;
	buf = malloc((size_t)n);
	if (buf == NULL)
		return -ENOMEM;
	p = buf;
	if (i2d_PUBKEY(pk, &p) != n) {
		free(buf);
		return -EINVAL;
	}
	*spki = buf;
	*len = (size_t)n;
	return 0;
}

static int spki_of(struct p11_token *t, const struct p11_cache_entry *e,
    uint8_t **spki, size_t *len)
{
	EVP_PKEY *pk;
	int rc;

	rc = key_evp(t, e, &pk);
	if (rc != 0)
		return rc;
	rc = evp_to_spki(pk, spki, len);
	EVP_PKEY_free(pk);
	return rc;
}

int p11_pubkey(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    uint8_t **spki, size_t *spki_len, enum p11_key_type *type)
{
	struct p11_cache_entry ent, *e = &ent;
	int rc;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	clear_err(t);
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = lookup(t, key_id, e);
		if (rc != 0)
			return rc;
		rc = spki_of(t, e, spki, spki_len);
		if (rc == -EIO && attempt == 0 && stale_handle(t)) {
			cache_drop(t, key_id);
			clear_err(t);
			continue;
		}
		if (rc == 0)
			*type = e->type;
		return rc;
	}
	return rc;
}

/* ---- key generation ---------------------------------------------------- */

int p11_keygen(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    enum p11_key_type type, bool extractable, uint8_t **spki,
    size_t *spki_len)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL extr = extractable ? CK_TRUE : CK_FALSE;
	CK_ULONG bits = 0;
	CK_BYTE exp65537[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE any[1];
	CK_ULONG n;
	char label[2 * P11_KEY_ID_LEN + 1];
	struct p11_cache_entry tmp;
	CK_RV rv;
	int rc;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	clear_err(t);
	for (int i = 0; i < P11_KEY_ID_LEN; i++)
		snprintf(label + 2 * i, 3, "%02x", key_id[i]);

	CK_ATTRIBUTE pub_t[10] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_VERIFY, &yes, sizeof yes },
		{ CKA_ENCRYPT, &no, sizeof no },
		{ CKA_WRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_ID, (void *)key_id, P11_KEY_ID_LEN },
		{ CKA_LABEL, label, 2 * P11_KEY_ID_LEN },
	};
	CK_ULONG npub = 8;
	CK_ATTRIBUTE priv_t[] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SIGN, &yes, sizeof yes },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_UNWRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_SIGN_RECOVER, &no, sizeof no },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &extr, sizeof extr },
		/* Only a CKA_TRUSTED KEK may ever wrap it; harmless (and
		 * stricter) when it is not extractable at all. */
		{ CKA_WRAP_WITH_TRUSTED, &yes, sizeof yes },
		{ CKA_ID, (void *)key_id, P11_KEY_ID_LEN },
		{ CKA_LABEL, label, 2 * P11_KEY_ID_LEN },
	};

	switch (type) {
	case P11_KEY_EC_P256:
	case P11_KEY_EC_P384:
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		if (type == P11_KEY_EC_P256)
			pub_t[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS,
			    (void *)der_oid_p256, sizeof der_oid_p256 };
		else
			pub_t[npub++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS,
			    (void *)der_oid_p384, sizeof der_oid_p384 };
		break;
	case P11_KEY_RSA_2048:
	case P11_KEY_RSA_3072:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		bits = type == P11_KEY_RSA_2048 ? 2048 : 3072;
		pub_t[npub++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits,
		    sizeof bits };
		pub_t[npub++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, exp65537,
		    sizeof exp65537 };
		break;
	default:
		return P11_UNSUPPORTED;
	}

	/* Refuse to create a second key under an id already in use. */
	CK_ATTRIBUTE by_id[] = { { CKA_ID, (void *)key_id, P11_KEY_ID_LEN } };
	rc = find_objects(t, by_id, 1, any, 1, &n);
	if (rc != 0)
		return rc;
	if (n != 0)
		return P11_EXISTS;

	rv = t->f->C_GenerateKeyPair(t->session, &mech, pub_t, npub, priv_t,
	    sizeof priv_t / sizeof priv_t[0], &pub, &priv);
	if (rv != CKR_OK)
		return ck_fail(t, "C_GenerateKeyPair", rv);

	memset(&tmp, 0, sizeof tmp);
	memcpy(tmp.id, key_id, P11_KEY_ID_LEN);
	tmp.priv = priv;
	tmp.pub = pub;
	tmp.type = type;
	rc = spki_of(t, &tmp, spki, spki_len);
	if (rc != 0) {
		/* A key nobody can name the public half of is useless. */
		t->f->C_DestroyObject(t->session, priv);
		t->f->C_DestroyObject(t->session, pub);
		return rc;
	}
	cache_put(t, key_id, priv, pub, type);
	return 0;
}

/* ---- signing ----------------------------------------------------------- */

static int raw_sign(struct p11_token *t, CK_OBJECT_HANDLE key,
    CK_MECHANISM *m, const uint8_t *data, size_t len, uint8_t *out,
    size_t outmax, size_t *outlen)
{
	CK_ULONG n = outmax;
	CK_RV rv;

	rv = t->f->C_SignInit(t->session, m, key);
	if (rv != CKR_OK)
		return ck_fail(t, "C_SignInit", rv);
	rv = t->f->C_Sign(t->session, (CK_BYTE *)data, len, out, &n);
	if (rv != CKR_OK)
		return ck_fail(t, "C_Sign", rv);
	*outlen = n;
	return 0;
}

static size_t sig_len_of(enum p11_key_type type)
{
	switch (type) {
	case P11_KEY_EC_P256: return 64;
	case P11_KEY_EC_P384: return 96;
	case P11_KEY_RSA_2048: return 256;
	case P11_KEY_RSA_3072: return 384;
	default: return 0;
	}
}

static int do_sign(struct p11_token *t, const struct p11_cache_entry *e,
    enum p11_mech mech, enum der_hash hash, uint32_t salt_len,
    const uint8_t *digest, size_t dlen, uint8_t *sig, size_t *sig_len)
{
	static const CK_MECHANISM_TYPE pss_hash[] = {
		[DER_HASH_SHA256] = CKM_SHA256, [DER_HASH_SHA384] = CKM_SHA384,
		[DER_HASH_SHA512] = CKM_SHA512,
	};
	static const CK_RSA_PKCS_MGF_TYPE pss_mgf[] = {
		[DER_HASH_SHA256] = CKG_MGF1_SHA256,
		[DER_HASH_SHA384] = CKG_MGF1_SHA384,
		[DER_HASH_SHA512] = CKG_MGF1_SHA512,
	};
	bool is_ec = e->type == P11_KEY_EC_P256 || e->type == P11_KEY_EC_P384;
	uint8_t raw[P11_SIG_MAX], di[DER_DIGEST_INFO_MAX];
	size_t want = sig_len_of(e->type), rawlen = 0, dilen = 0, emlen;
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM m = { 0, NULL, 0 };
	int rc;

	switch (mech) {
	case P11_MECH_ECDSA:
		if (!is_ec)
			return P11_MECH_MISMATCH;
		m.mechanism = CKM_ECDSA;
		rc = raw_sign(t, e->priv, &m, digest, dlen, raw, sizeof raw,
		    &rawlen);
		if (rc != 0)
			return rc;
		if (rawlen != want) {
			seterr(t, "C_Sign returned %zu bytes for ECDSA, "
			    "expected %zu", rawlen, want);
			return -EIO;
		}
		rc = der_ecdsa_raw_to_der(raw, rawlen, sig, P11_SIG_MAX,
		    sig_len);
		if (rc == -EINVAL) {
			seterr(t, "token returned an invalid ECDSA signature");
			rc = -EIO;
		}
		return rc;
	case P11_MECH_RSA_PKCS1:
		if (is_ec)
			return P11_MECH_MISMATCH;
		rc = der_digest_info(hash, digest, dlen, di, sizeof di, &dilen);
		if (rc != 0)
			return rc;
		m.mechanism = CKM_RSA_PKCS;
		rc = raw_sign(t, e->priv, &m, di, dilen, sig, P11_SIG_MAX,
		    sig_len);
		break;
	case P11_MECH_RSA_PSS:
		if (is_ec)
			return P11_MECH_MISMATCH;
		/* emLen = ceil((modBits - 1) / 8) = modulus bytes here. */
		emlen = want;
		if ((size_t)salt_len + dlen + 2 > emlen)
			return P11_SALT_TOO_LONG;
		pss.hashAlg = pss_hash[hash];
		pss.mgf = pss_mgf[hash];
		pss.sLen = salt_len;
		m.mechanism = CKM_RSA_PKCS_PSS;
		m.pParameter = &pss;
		m.ulParameterLen = sizeof pss;
		rc = raw_sign(t, e->priv, &m, digest, dlen, sig, P11_SIG_MAX,
		    sig_len);
		break;
	default:
		return P11_UNSUPPORTED;
	}
	if (rc == 0 && *sig_len != want) {
		seterr(t, "C_Sign returned %zu bytes, expected %zu", *sig_len,
		    want);
		return -EIO;
	}
	return rc;
}

int p11_sign(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    enum p11_mech mech, enum der_hash hash, uint32_t salt_len,
    const uint8_t *digest, size_t dlen, uint8_t *sig, size_t *sig_len)
{
	struct p11_cache_entry ent, *e = &ent;
	size_t hlen = der_hash_len(hash);
	int rc = 0;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	clear_err(t);
	if (hlen == 0 || mech < P11_MECH_ECDSA || mech > P11_MECH_RSA_PSS)
		return P11_UNSUPPORTED;
	if (digest == NULL || dlen != hlen)
		return P11_DIGEST_LENGTH;
	if (mech != P11_MECH_RSA_PSS && salt_len != 0)
		return -EINVAL;
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = lookup(t, key_id, e);
		if (rc != 0)
			return rc;
		rc = do_sign(t, e, mech, hash, salt_len, digest, dlen, sig,
		    sig_len);
		if (rc == -EIO && attempt == 0 && stale_handle(t)) {
			/* Destroyed or re-created behind our back. */
			cache_drop(t, key_id);
			clear_err(t);
			continue;
		}
		break;
	}
	return rc;
}

/* ---- CSR proof of possession ------------------------------------------- */

int p11_sign_csr(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN],
    const uint8_t *csr, size_t csr_len, uint8_t **out, size_t *out_len)
{
	struct p11_cache_entry ent, *e = &ent;
	EVP_PKEY *own = NULL, *theirs;
	X509_REQ *req = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bits = NULL;
	const unsigned char *p = csr;
	unsigned char *tbs = NULL, *der = NULL, *q;
	uint8_t md[EVP_MAX_MD_SIZE], sig[P11_SIG_MAX];
	unsigned mdlen = 0;
	size_t siglen = 0;
	enum der_hash hash;
	enum p11_mech mech;
	int tbslen, n, nid, ptype, rc;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	clear_err(t);
	if (csr == NULL || csr_len == 0 || csr_len > 65536)
		return P11_BAD_CSR;
	rc = lookup(t, key_id, e);
	if (rc != 0)
		return rc;
	rc = key_evp(t, e, &own);
	if (rc != 0)
		return rc;

	req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	if (req == NULL || p != csr + csr_len) {
		rc = P11_BAD_CSR;
		goto out;
	}
	theirs = X509_REQ_get0_pubkey(req);
	if (theirs == NULL) {
		rc = P11_BAD_CSR;
		goto out;
	}
	/* The whole point: never sign a request for someone else's key, so
	 * this cannot become a signature over chosen data. */
	if (EVP_PKEY_eq(theirs, own) != 1) {
		rc = P11_KEY_MISMATCH;
		goto out;
	}

	switch (e->type) {
	case P11_KEY_EC_P256:
		hash = DER_HASH_SHA256; mech = P11_MECH_ECDSA;
		nid = NID_ecdsa_with_SHA256; ptype = V_ASN1_UNDEF;
		break;
	case P11_KEY_EC_P384:
		hash = DER_HASH_SHA384; mech = P11_MECH_ECDSA;
		nid = NID_ecdsa_with_SHA384; ptype = V_ASN1_UNDEF;
		break;
	case P11_KEY_RSA_2048:
	case P11_KEY_RSA_3072:
		hash = DER_HASH_SHA256; mech = P11_MECH_RSA_PKCS1;
		nid = NID_sha256WithRSAEncryption; ptype = V_ASN1_NULL;
		break;
	default:
		rc = P11_UNSUPPORTED;
		goto out;
	}

	rc = -ENOMEM;
	tbslen = i2d_re_X509_REQ_tbs(req, &tbs);
	if (tbslen <= 0) {
		rc = P11_BAD_CSR;
		goto out;
	}
	if (EVP_Digest(tbs, (size_t)tbslen, md, &mdlen,
	    hash == DER_HASH_SHA384 ? EVP_sha384() : EVP_sha256(), NULL) != 1)
		goto out;
	rc = do_sign(t, e, mech, hash, 0, md, mdlen, sig, &siglen);
	if (rc != 0)
		goto out;

	rc = -ENOMEM;
	alg = X509_ALGOR_new();
	if (alg == NULL ||
	    X509_ALGOR_set0(alg, OBJ_nid2obj(nid), ptype, NULL) != 1 ||
	    X509_REQ_set1_signature_algo(req, alg) != 1)
		goto out;
	bits = ASN1_BIT_STRING_new();
	if (bits == NULL || ASN1_BIT_STRING_set(bits, sig, (int)siglen) != 1)
		goto out;
	/* A signature is a whole number of bytes: no unused bits. */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;

	if (X509_REQ_verify(req, own) != 1) {
		seterr(t, "the signed CSR does not verify");
		rc = -EIO;
		goto out;
	}
	n = i2d_X509_REQ(req, NULL);
	if (n <= 0)
		goto out;
	der = malloc((size_t)n);
	if (der == NULL)
		goto out;
	q = der;
	if (i2d_X509_REQ(req, &q) != n) {
		free(der);
		goto out;
	}
	*out = der;
	*out_len = (size_t)n;
	rc = 0;
out:
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	X509_REQ_free(req);
	EVP_PKEY_free(own);
	OPENSSL_cleanse(md, sizeof md);
	return rc;
}

/* ---- destruction ------------------------------------------------------- */

int p11_destroy(struct p11_token *t, const uint8_t key_id[P11_KEY_ID_LEN])
{
	CK_ATTRIBUTE by_id[] = { { CKA_ID, (void *)key_id, P11_KEY_ID_LEN } };
	CK_OBJECT_HANDLE hs[8];
	CK_ULONG n;
	CK_RV rv;
	int rc, failed = 0;

	if (t->f == NULL || !t->logged_in)
		return -ENOTCONN;
	clear_err(t);
	cache_drop(t, key_id);
	rc = find_objects(t, by_id, 1, hs, 8, &n);
	if (rc != 0)
		return rc;
	if (n == 0)
		return P11_NOT_FOUND;
	for (CK_ULONG i = 0; i < n; i++) {
		rv = t->f->C_DestroyObject(t->session, hs[i]);
		if (rv != CKR_OK) {
			ck_fail(t, "C_DestroyObject", rv);
			failed = 1;
		}
	}
	return failed ? -EIO : 0;
}

/* ---- token initialisation ---------------------------------------------- */

int p11_init_token(struct p11_token *t, const char *module, const char *label,
    const char *so_pin, size_t so_pin_len, const char *user_pin,
    size_t user_pin_len)
{
	unsigned char plabel[32];
	CK_SLOT_ID *list = NULL, slot = 0;
	CK_TOKEN_INFO ti;
	CK_ULONG n = 0;
	CK_RV rv;
	bool have_free = false;
	int rc;

	if (label == NULL || pad(label, plabel, sizeof plabel) != 0 ||
	    so_pin == NULL || so_pin_len == 0 || user_pin == NULL ||
	    user_pin_len == 0)
		return -EINVAL;
	rc = load(t, module);
	if (rc != 0)
		goto out;
	rc = slot_list(t, &list, &n);
	if (rc != 0)
		goto out;
	for (CK_ULONG i = 0; i < n; i++) {
		rv = t->f->C_GetTokenInfo(list[i], &ti);
		if (rv == CKR_TOKEN_NOT_PRESENT)
			continue;
		if (rv != CKR_OK) {
			rc = ck_fail(t, "C_GetTokenInfo", rv);
			goto out;
		}
		if (ti.flags & CKF_TOKEN_INITIALIZED) {
			if (memcmp(ti.label, plabel, sizeof plabel) == 0) {
				seterr(t, "a token labelled \"%s\" exists "
				    "already", label);
				rc = P11_TOKEN_EXISTS;
				goto out;
			}
		} else if (!have_free) {
			slot = list[i];
			have_free = true;
		}
	}
	if (!have_free) {
		seterr(t, "no uninitialised token slot");
		rc = P11_NO_FREE_SLOT;
		goto out;
	}
	rv = t->f->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, so_pin_len,
	    plabel);
	if (rv != CKR_OK) {
		rc = ck_fail(t, "C_InitToken", rv);
		goto out;
	}
	/* The slot may be renumbered by initialisation: look again. */
	rc = find_token(t, label, NULL, &t->slot);
	if (rc != 0)
		goto out;
	rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &t->session);
	if (rv != CKR_OK) {
		rc = ck_fail(t, "C_OpenSession", rv);
		goto out;
	}
	t->have_session = true;
	rv = t->f->C_Login(t->session, CKU_SO, (CK_UTF8CHAR *)so_pin,
	    so_pin_len);
	if (rv != CKR_OK) {
		rc = ck_fail(t, "C_Login(SO)", rv);
		goto out;
	}
	t->logged_in = true;
	rv = t->f->C_InitPIN(t->session, (CK_UTF8CHAR *)user_pin,
	    user_pin_len);
	if (rv != CKR_OK) {
		rc = ck_fail(t, "C_InitPIN", rv);
		goto out;
	}
	rc = 0;
out:
	free(list);
	p11_close(t);
	return rc;
}
