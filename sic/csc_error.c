/* csc_error.c — the one table from inkan's domain statuses to HTTP status and
 * CSC error codes (v1 and v2 differ only for the authentication-data errors).
 * One case per Inkan__Status and no default: a new status is a compile warning
 * here and a failure in sic/test-csc.c until it has its mapping. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "csc.h"

void csc_error_set(struct csc_err *e, unsigned http, const char *error,
    const char *fmt, ...)
{
	va_list ap;

	e->http = http;
	e->error = error;
	va_start(ap, fmt);
	vsnprintf(e->description, sizeof e->description, fmt, ap);
	va_end(ap);
}

/* The SAM's detail is documented as never secret; still keep only printable
 * ASCII and cap it so a misbehaving peer cannot shape the response. */
static void clean_detail(const char *in, char *out, size_t out_size)
{
	size_t i, n = 0;

	for (i = 0; in && in[i] && n + 1 < out_size && n < CSC_MAX_DETAIL; i++)
		out[n++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[n] = '\0';
}

void csc_error_for(Inkan__Status st, enum csc_version v, enum csc_method m,
    const char *detail, struct csc_err *e)
{
	const bool v2 = (v == CSC_V2);
	char d[CSC_MAX_DETAIL + 1];

	clean_detail(detail, d, sizeof d);
	switch (st) {
	case INKAN__STATUS__OK:
		/* Not an error: callers never ask, but fail closed if one does. */
		csc_error_set(e, 500, "server_error", "Unexpected status");
		return;
	case INKAN__STATUS__INVALID_REQUEST:
		csc_error_set(e, 400, "invalid_request", "%s",
		    d[0] ? d : "Invalid request");
		return;
	case INKAN__STATUS__INVALID_TOKEN:
		csc_error_set(e, 401, "invalid_token",
		    "Invalid or expired access token");
		return;
	case INKAN__STATUS__AUTH_FAILED:
		csc_error_set(e, 401, "authentication_error",
		    "Invalid user name or password");
		return;
	case INKAN__STATUS__INVALID_PIN:
		csc_error_set(e, 400,
		    v2 ? "invalid_authentication_data" : "invalid_pin",
		    "The PIN is invalid");
		return;
	case INKAN__STATUS__INVALID_OTP:
		csc_error_set(e, 400,
		    v2 ? "invalid_authentication_data" : "invalid_otp",
		    "The OTP is invalid");
		return;
	case INKAN__STATUS__MISSING_FACTOR:
		csc_error_set(e, 400,
		    v2 ? "invalid_authentication_data" : "invalid_request",
		    "Both PIN and OTP are required");
		return;
	case INKAN__STATUS__LOCKED:
		if (m == CSC_AUTH_LOGIN)
			csc_error_set(e, 401, "authentication_error",
			    "Account locked");
		else if (v2)
			csc_error_set(e, 400, "invalid_authentication_data",
			    "Credential locked");
		else
			csc_error_set(e, 400, "invalid_pin", "PIN locked");
		return;
	case INKAN__STATUS__UNKNOWN_CREDENTIAL:
		csc_error_set(e, 400, "invalid_request",
		    "Invalid parameter credentialID");
		return;
	case INKAN__STATUS__CREDENTIAL_DISABLED:
		csc_error_set(e, 400, "invalid_request", "Credential is disabled");
		return;
	case INKAN__STATUS__CREDENTIAL_REVOKED:     /* issue 7 */
		csc_error_set(e, 400, "invalid_request",
		    "Credential is revoked: its key was destroyed");
		return;
	case INKAN__STATUS__ID_CODE_INVALID:        /* issue 7 */
		csc_error_set(e, 400, "invalid_request",
		    "Invalid, used or missing identification code");
		return;
	case INKAN__STATUS__SAD_INVALID:
		csc_error_set(e, 400, "invalid_request", "Invalid SAD");
		return;
	case INKAN__STATUS__SAD_EXPIRED:
		csc_error_set(e, 400, "invalid_request", "SAD expired");
		return;
	case INKAN__STATUS__HASH_NOT_AUTHORIZED:
		csc_error_set(e, 400, "invalid_request",
		    "Hash is not authorized by the SAD");
		return;
	case INKAN__STATUS__TOO_MANY_SIGNATURES:
		csc_error_set(e, 400, "invalid_request",
		    "Numbers of signatures is too high");
		return;
	case INKAN__STATUS__CERT_EXPIRED:
		csc_error_set(e, 400, "invalid_request",
		    "Signing certificate is expired");
		return;
	case INKAN__STATUS__UNSUPPORTED_ALGO:
		csc_error_set(e, 400, "invalid_request",
		    "Invalid parameter signAlgo");
		return;
	case INKAN__STATUS__INVALID_DIGEST_LENGTH:
		csc_error_set(e, 400, "invalid_request",
		    "Invalid digest value length");
		return;
	case INKAN__STATUS__KEY_MISMATCH:   /* admin-only outcomes: never expected */
	case INKAN__STATUS__EXISTS:
	case INKAN__STATUS__NOT_FOUND:
	case INKAN__STATUS__DENIED:
	case INKAN__STATUS__INTERNAL:
	case INKAN__STATUS__INTEGRITY:      /* issue 3: alerted in the SAM's log */
		csc_error_set(e, 500, "server_error", "Internal error");
		return;
	case INKAN__STATUS__UNAVAILABLE:
		csc_error_set(e, 503, "temporarily_unavailable",
		    "The service is temporarily unavailable");
		return;
	case INKAN__STATUS__AUDIT_UNAVAILABLE:    /* issue 5: no release without its record */
		csc_error_set(e, 503, "temporarily_unavailable",
		    "The audit trail cannot be written; retry later");
		return;
	case INKAN__STATUS__OAUTH_INVALID_CLIENT:
		csc_error_set(e, 401, "invalid_client",
		    "Unknown client, unregistered redirect_uri or wrong client secret");
		return;
	case INKAN__STATUS__OAUTH_INVALID_GRANT:
		csc_error_set(e, 400, "invalid_grant",
		    "Invalid, expired or already used authorization code");
		return;
	case _INKAN__STATUS_IS_INT_SIZE:
		break;
	}
	/* A value outside the enum (corrupt or newer peer). */
	csc_error_set(e, 500, "server_error", "Internal error");
}
