/* totp.h — RFC 6238 codes (30 s step, 6 digits, HMAC-SHA1) from a base32
 * secret, through liboath. Used by inkan-sign (INKAN_TOTP_SECRET) and by the
 * inkan-totp test helper. Library code: returns 0 or -errno, never logs. */
#ifndef INKAN_TOOLS_TOTP_H
#define INKAN_TOOLS_TOTP_H

#include <stddef.h>
#include <time.h>

#define TOTP_DIGITS 6
#define TOTP_STEP 30

/* Write the code for time `when` into out (TOTP_DIGITS + 1 bytes).
 * secret_b32 may be lower case and contain spaces. Returns 0, -EINVAL for a
 * bad base32 secret, -ENOMEM, or -EIO on a liboath failure. The decoded key
 * lives only in sodium_malloc'd memory and is wiped. */
int totp_code(const char *secret_b32, time_t when, char out[TOTP_DIGITS + 1]);

#endif
