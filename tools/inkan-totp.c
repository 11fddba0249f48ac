/* inkan-totp.c — test helper, not installed: prints the 6-digit TOTP of a
 * base32 secret for now + STEP_OFFSET * 30 s. Tests use offsets -1, 0, +1 to
 * get distinct valid codes (the SAM accepts each time step once per signer).
 * "@STEP" names an absolute step (Unix time / 30) instead: the harness's
 * ledger records the step it uses, and an offset read against this
 * process's clock would name the next step when a boundary passes between
 * the harness's choice and this process starting.
 * Usage: inkan-totp BASE32SECRET [STEP_OFFSET | @STEP] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "totp.h"

int main(int argc, char **argv)
{
	char code[TOTP_DIGITS + 1];
	long off = 0;
	char *end;
	int r;

	time_t t = time(NULL);

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: inkan-totp BASE32SECRET [STEP_OFFSET | @STEP]\n");
		return 2;
	}
	if (argc == 3 && argv[2][0] == '@') {
		long long step;

		errno = 0;
		step = strtoll(argv[2] + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == argv[2] + 1 ||
		    step < 0 || step > (long long)(t / TOTP_STEP) + 1000) {
			fprintf(stderr, "inkan-totp: bad step '%s'\n", argv[2]);
			return 2;
		}
		t = (time_t)step * TOTP_STEP;
	} else if (argc == 3) {
		errno = 0;
		off = strtol(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || end == argv[2] ||
		    off < -1000 || off > 1000) {
			fprintf(stderr, "inkan-totp: bad step offset '%s'\n", argv[2]);
			return 2;
		}
		t += (time_t)off * TOTP_STEP;
	}
	r = totp_code(argv[1], t, code);
	if (r < 0) {
		fprintf(stderr, "inkan-totp: %s\n",
		    r == -EINVAL ? "secret is not valid base32" : "cannot compute the code");
		return 1;
	}
	printf("%s\n", code);
	return 0;
}
