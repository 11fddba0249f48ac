/* fuzz-config.c — fuzz target: a configuration file as every daemon reads
 * it (inih, then common/daemon.c's section filter, the keys the skeleton
 * handles itself — user, fs_paths — and the shared value parsers cfg_uint,
 * cfg_bool, cfg_uid, cfg_strdup that every daemon's config_key uses). The
 * daemons' own config_key functions are static in their main.c; the keys
 * below use the same helpers with the same ranges. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

static int
key(void *app, const char *k, const char *v)
{
	unsigned long n;
	unsigned uid;
	int b;

	(void)app;
	if (!strcmp(k, "socket") || !strcmp(k, "database") ||
	    !strcmp(k, "pin_file")) {
		char *s;
		if (v[0] != '/')
			return -EINVAL;
		s = cfg_strdup(v);
		free(s);
		return 0;
	}
	if (!strcmp(k, "sam_uid") || !strcmp(k, "sic_uid"))
		return cfg_uid(v, &uid);
	if (!strcmp(k, "sad_lifetime"))
		return cfg_uint(v, 10, 3600, &n);
	if (!strcmp(k, "multisign"))
		return cfg_uint(v, 1, 256, &n);
	if (!strcmp(k, "key_backup"))
		return cfg_bool(v, &b);
	if (!strcmp(k, "pin_credential")) {
		char *p = NULL;
		int r = daemon_credential_path(v, &p);
		free(p);
		return r < 0 ? -EINVAL : 0;
	}
	return -EINVAL;
}

static int
done(void *app)
{
	(void)app;
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Config errors are logged to stderr: run libFuzzer with
	 * -close_fd_mask=2 to keep its output readable. */
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/inkan-scm.service", 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct daemon_desc d = {
		.name = "inkan-fuzz", .section = "scm",
		.config_key = key, .config_done = done,
	};
	char *text;

	if (size > 64 * 1024)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)daemon_load_config_string(&d, text);
	free(text);
	return 0;
}
