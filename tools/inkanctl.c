/* inkanctl.c — the operator's tool: sets up a state directory (config, token
 * PINs, SoftHSM token, database) and manages signers and credentials through
 * inkan-sam's admin socket (admin.proto). No command here can make a
 * signature with a signer's key.
 * SECURITY: passwords and PINs come from INKAN_PASSWORD / INKAN_PIN (wiped
 * from the environment once read) or from the terminal without echo, live in
 * sodium_malloc'd memory and are wiped after the request is sent. Generated
 * token PINs are written 0600 inside a 0700 directory and never printed. The
 * daemons for `init` are run with fork + execv (no shell). Exit status: 0 ok,
 * 1 refused or failed, 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "inkan-config.h"
#include "ipc.h"
#include "fileio.h"
#include "secret.h"
#include "inkanctl-backup.h"    /* issue 7 item 5 */
#include "inkanctl.h"

#define die ctl_die

#define PROG "inkanctl"

/* Limits the SAM enforces (signer.proto); checked here for a clear message. */
#define NAME_MAX_LEN 64
#define CN_MAX_LEN 64
#define CRED_ID_MAX_LEN 64
#define LABEL_MAX_LEN 32        /* PKCS#11 token label */
#define CERT_FILE_MAX (1024 * 1024)
#define CHAIN_MAX 16
#define PIN_CHARS 24

/* ---- messages ------------------------------------------------------------ */

void ctl_die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* One message per Inkan__Status, indexed by value: every status the SAM can
 * answer has its own text (the static assert catches a new enum value). */
static const char *const status_text[] = {
	[INKAN__STATUS__OK] = "ok",
	[INKAN__STATUS__INVALID_REQUEST] = "invalid request (a field is missing, malformed or out of range)",
	[INKAN__STATUS__INVALID_TOKEN] = "access token unknown, expired or revoked",
	[INKAN__STATUS__AUTH_FAILED] = "wrong user name or password",
	[INKAN__STATUS__INVALID_PIN] = "wrong PIN",
	[INKAN__STATUS__INVALID_OTP] = "wrong one-time password",
	[INKAN__STATUS__MISSING_FACTOR] = "PIN or one-time password missing",
	[INKAN__STATUS__LOCKED] = "locked after too many failures",
	[INKAN__STATUS__UNKNOWN_CREDENTIAL] = "no such credential",
	[INKAN__STATUS__CREDENTIAL_DISABLED] = "credential disabled (no certificate imported yet?)",
	[INKAN__STATUS__SAD_INVALID] = "signature activation data invalid",
	[INKAN__STATUS__SAD_EXPIRED] = "signature activation data expired",
	[INKAN__STATUS__HASH_NOT_AUTHORIZED] = "hash not authorised",
	[INKAN__STATUS__TOO_MANY_SIGNATURES] = "too many signatures",
	[INKAN__STATUS__CERT_EXPIRED] = "certificate expired or not yet valid",
	[INKAN__STATUS__UNSUPPORTED_ALGO] = "unsupported key type or algorithm",
	[INKAN__STATUS__INVALID_DIGEST_LENGTH] = "invalid digest length",
	[INKAN__STATUS__KEY_MISMATCH] = "certificate does not match the credential's key",
	[INKAN__STATUS__EXISTS] = "already exists",
	[INKAN__STATUS__NOT_FOUND] = "not found",
	[INKAN__STATUS__DENIED] = "not allowed on this socket",
	[INKAN__STATUS__UNAVAILABLE] = "a component behind inkan-sam is unavailable (is inkan-scm running?); retry",
	[INKAN__STATUS__INTERNAL] = "internal error in inkan-sam (see its log)",
	[INKAN__STATUS__OAUTH_INVALID_CLIENT] = "OAuth2 client unknown, redirect URI not registered or wrong client secret",
	[INKAN__STATUS__OAUTH_INVALID_GRANT] = "OAuth2 authorization code invalid, expired or already used",
	[INKAN__STATUS__INTEGRITY] = "a database row failed its integrity check (see the ALERT in inkan-sam's log)",
	[INKAN__STATUS__CREDENTIAL_REVOKED] = "credential revoked: its key was destroyed",
	[INKAN__STATUS__ID_CODE_INVALID] = "identification code wrong, already used, or none registered",
	[INKAN__STATUS__AUDIT_UNAVAILABLE] = "inkan-sam cannot write its audit trail (disk full? see its log); nothing was released; retry",
};
_Static_assert(sizeof(status_text) / sizeof(status_text[0]) >=
    INKAN__STATUS__INTERNAL + 1, "one message per Inkan__Status");

static const char *status_message(Inkan__Status st)
{
	if ((unsigned)st >= sizeof(status_text) / sizeof(status_text[0]) ||
	    status_text[st] == NULL)
		return "unknown status from inkan-sam";
	return status_text[st];
}

/* Text from a peer or a file, made safe for a terminal. */
static void clean_text(const char *in, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; in != NULL && in[i] != '\0' && n + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[n++] = (ch >= 0x20 && ch != 0x7f) ? (char)ch : '?';
	}
	out[n] = '\0';
}

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [--config FILE | --socket PATH] COMMAND ...\n"
	    "  init --state DIR [--token-label L] [--port N] [--bin-dir DIR] [--force]\n"
	    "  user add NAME [--cn CN] [--o O] [--ou OU] [--c CC] [--serial S] [--email E]\n"
	    "                                (INKAN_PASSWORD / INKAN_PIN, else asked twice;\n"
	    "                                 INKAN_ID_CODE: the CA's code, else one is made)\n"
	    "  user idcode NAME              (a new one-time identification code)\n"
	    "  user terminate NAME [--reason R]   (destroys every key of the signer)\n"
	    "  user list\n"
	    "  credential import-cert --credential ID --cert FILE [--chain FILE]\n"
	    "  credential revoke --credential ID [--reason R]   (destroys the key)\n"
	    "  credential list [--user NAME]\n"
	    "security officer (so_socket):\n"
	    "  user unlock NAME | user show NAME\n"
	    "  credential unlock|disable|enable --credential ID\n"
	    "  credential set-multisign --credential ID --multisign N  (0: service default, 1: no batches)\n"
	    "auditor (auditor_socket):\n"
	    "  audit show [--since T] [--until T] [--signer NAME] [--credential ID]\n"
	    "             [--event TYPE|PREFIX*] [--limit N]   (T: YYYY-MM-DD[THH:MM:SS[.mmm]Z] or @SECONDS)\n"
	    "  audit verify                  (the live trail, against inkan-sam's chain head)\n"
	    "  audit pubkey [--out FILE]     (PEM; fingerprint on stderr)\n"
	    "key backup (issue 7; docs/lifecycle.md):\n"
	    "  backup create --so-pin-file F --out ARCHIVE --share1-out F1 --share2-out F2\n"
	    "  backup restore --archive A --share F1 --share F2 (--audit-dir D | --no-audit-trail)\n"
	    "                [--skip-key ID]... [--bin-dir DIR]   (root, services stopped, fresh state)\n"
	    "Each command goes to its role's socket: [sam] admin_socket (the commands\n"
	    "above the security officer's), so_socket or auditor_socket of --config FILE\n"
	    "(default: $INKAN_CONFIG), or --socket PATH.\n"
	    "Exit status: 0 ok, 1 refused or failed, 2 usage.\n");
}

static void usage_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void usage_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see " PROG " --help)\n");
	exit(2);
}

/* getopt runs with opterr = 0: name the offending argument ourselves. */
static void bad_option(const char *cmd, char **argv)
    __attribute__((noreturn));
static void bad_option(const char *cmd, char **argv)
{
	usage_die("%s%sbad or incomplete option '%s'", cmd ? cmd : "",
	    cmd ? ": " : "", argv[optind - 1]);
}

/* ---- admin socket -------------------------------------------------------- */

struct ctl {
	const char *config;
	const char *socket;
	/* issue 3: the [sam] key of the role socket this command uses:
	 * "admin_socket" (default), "so_socket" or "auditor_socket" */
	const char *socket_key;
	char *socket_from_config;
	struct ipc_client ipc;
	int connected;
};

static int on_ini(void *arg, const char *section, const char *key,
    const char *value)
{
	struct ctl *ctl = arg;

	if (strcmp(section, "sam") == 0 && strcmp(key, ctl->socket_key ?
	    ctl->socket_key : "admin_socket") == 0) {
		free(ctl->socket_from_config);
		ctl->socket_from_config = strdup(value);
		if (ctl->socket_from_config == NULL)
			return 0;
	}
	return 1;
}

static const char *admin_socket(struct ctl *ctl)
{
	const char *config = ctl->config;
	int r;

	if (ctl->socket != NULL)
		return ctl->socket;
	if (config == NULL)
		config = getenv("INKAN_CONFIG");
	if (config == NULL || config[0] == '\0')
		usage_die("no admin socket: give --config FILE or --socket PATH, "
		    "or set INKAN_CONFIG");
	r = ini_parse(config, on_ini, ctl);
	if (r == -1)
		die(1, "%s: %s", config, strerror(errno ? errno : ENOENT));
	if (r == -2)
		die(1, "%s: out of memory", config);
	if (r > 0)
		die(1, "%s:%d: cannot parse", config, r);
	if (ctl->socket_from_config == NULL || ctl->socket_from_config[0] == '\0')
		die(1, "%s: no %s in [sam]", config,
		    ctl->socket_key ? ctl->socket_key : "admin_socket");
	return ctl->socket_from_config;
}

static void ctl_connect(struct ctl *ctl)
{
	const char *path = admin_socket(ctl);
	int fd;

	fd = ipc_connect(path);
	if (fd < 0)
		die(1, "connect %s: %s%s", path, strerror(-fd),
		    (fd == -ENOENT || fd == -ECONNREFUSED) ?
		    " (is inkan-sam running?)" : "");
	ctl->ipc.fd = fd;
	ctl->ipc.next_id = 0;
	ctl->connected = 1;
}

/* One request, exactly its reply; any refusal ends the program with the
 * status message. `what` names the operation for the error line. */
static ProtobufCMessage *admin_call(struct ctl *ctl, const char *what,
    uint32_t req_type, const ProtobufCMessage *req,
    const ProtobufCMessageDescriptor *rep_desc)
{
	char detail[IPC_DETAIL_MAX + 1], clean[IPC_DETAIL_MAX + 1];
	ProtobufCMessage *rep = NULL;
	Inkan__Status st;
	int r;

	if (!ctl->connected)
		ctl_connect(ctl);
	r = ipc_call(&ctl->ipc, req_type, req, ipc_reply_type(req_type),
	    rep_desc, &rep, &st, detail, sizeof(detail));
	if (r == -ECONNRESET || r == -EPIPE)
		die(1, "%s: inkan-sam closed the connection (is this user "
		    "allowed on the %s? see the role's uid/group keys)", what,
		    ctl->socket_key ? ctl->socket_key : "admin_socket");
	if (r == -EPROTO || r == -EBADMSG)
		die(1, "%s: unexpected reply from inkan-sam", what);
	if (r < 0)
		die(1, "%s: %s", what, strerror(-r));
	if (st != INKAN__STATUS__OK) {
		clean_text(detail, clean, sizeof(clean));
		if (clean[0] != '\0')
			die(1, "%s: %s: %s", what, status_message(st), clean);
		die(1, "%s: %s", what, status_message(st));
	}
	return rep;
}

/* ---- argument checks ----------------------------------------------------- */

/* Printable ASCII without spaces: names shown in tables and logs. */
static void check_name(const char *what, const char *v, size_t max)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > max)
		usage_die("%s: 1 to %zu bytes", what, max);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			usage_die("%s: printable ASCII without spaces only", what);
}

/* No control characters (UTF-8 otherwise allowed). */
static void check_text(const char *what, const char *v, size_t max)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > max)
		usage_die("%s: 1 to %zu bytes", what, max);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f)
			usage_die("%s: no control characters", what);
}

static const struct {
	const char *name;
	Inkan__KeyType type;
} key_types[] = {
	{ "p256", INKAN__KEY_TYPE__KEY_EC_P256 },
	{ "p384", INKAN__KEY_TYPE__KEY_EC_P384 },
	{ "rsa2048", INKAN__KEY_TYPE__KEY_RSA_2048 },
	{ "rsa3072", INKAN__KEY_TYPE__KEY_RSA_3072 },
};

static const char *key_type_name(Inkan__KeyType t)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].type == t)
			return key_types[i].name;
	return "?";
}

/* Options every command accepts after its name as well. */
#define COMMON_OPTIONS \
	{ "config", required_argument, NULL, 'C' }, \
	{ "socket", required_argument, NULL, 'S' }, \
	{ "help", no_argument, NULL, 'h' }

static int common_option(struct ctl *ctl, int opt)
{
	switch (opt) {
	case 'C': ctl->config = optarg; return 1;
	case 'S': ctl->socket = optarg; return 1;
	case 'h': usage(stdout); exit(0);
	default: return 0;
	}
}

/* ---- init ---------------------------------------------------------------- */

/* A path written into inkan.conf must survive inih: no control characters,
 * no comment starters, no surrounding blanks. */
static void check_conf_path(const char *p)
{
	size_t i, n = strlen(p);

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch < 0x20 || ch == 0x7f || ch == ';' || ch == '#')
			die(1, "%s: the state directory path may not contain "
			    "control characters, ';' or '#'", p);
	}
	if (n == 0 || p[n - 1] == ' ')
		die(1, "%s: bad state directory path", p);
}

static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		die(1, "out of memory");
	return p;
}

/* A directory of ours with this mode (created, or set if it exists). */
static void make_dir_mode(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		die(1, "mkdir %s: %s", path, strerror(errno));
	if (lstat(path, &st) < 0)
		die(1, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die(1, "%s: not a directory", path);
	if (st.st_uid != geteuid())
		die(1, "%s: owned by uid %u, not by us", path, (unsigned)st.st_uid);
	if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		die(1, "chmod %s: %s", path, strerror(errno));
}

static void make_private_dir(const char *path)
{
	make_dir_mode(path, 0700);
}

static void write_file(const char *path, const char *text, mode_t mode,
    int overwrite)
{
	int tmp_exists = 0;
	int r = file_write_atomic(path, text, strlen(text), mode, overwrite,
	    &tmp_exists);

	if (r == -EEXIST && tmp_exists)
		die(1, "%s.tmp exists (left by an earlier run?): remove it", path);
	if (r < 0)
		die(1, "write %s: %s", path, strerror(-r));
}

/* PIN_CHARS random letters and digits from libsodium, written 0600 once:
 * an existing PIN file is kept (it may already protect an initialised
 * token). Returns 1 if kept. */
static int make_pin_file(const char *path)
{
	static const char alphabet[] =
	    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
	char *pin;
	size_t i;
	int r, tmp_exists = 0;

	if (access(path, F_OK) == 0)
		return 1;
	pin = sodium_malloc(PIN_CHARS + 1);
	if (pin == NULL)
		die(1, "out of secure memory");
	for (i = 0; i < PIN_CHARS; i++)
		pin[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	pin[PIN_CHARS] = '\0';
	r = file_write_atomic(path, pin, PIN_CHARS, 0600, 0, &tmp_exists);
	sodium_memzero(pin, PIN_CHARS + 1);
	sodium_free(pin);
	if (r == -EEXIST && tmp_exists)
		die(1, "%s.tmp exists (left by an earlier run?): remove it", path);
	if (r < 0)
		die(1, "write %s: %s", path, strerror(-r));
	return 0;
}

static int executable_at(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

/* --bin-dir, else $INKAN_BINDIR, else next to this program (and the meson
 * build tree's ../scm/, ../sam/), else $PATH. */
char *ctl_find_daemon(const char *bin_dir, const char *name,
    const char *subdir)
{
	static const char *const sbin[] = { "/usr/sbin", "/usr/local/sbin" };
	char self[PATH_MAX], *slash, *p, *path, *dir, *save = NULL;
	const char *env;
	ssize_t n;

	if (bin_dir == NULL) {
		env = getenv("INKAN_BINDIR");
		if (env != NULL && env[0] != '\0')
			bin_dir = env;
	}
	if (bin_dir != NULL) {
		p = path_join(bin_dir, name);
		if (!executable_at(p))
			die(1, "%s: not found or not executable", p);
		return p;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			p = path_join(self, name);
			if (executable_at(p))
				return p;
			free(p);
			if (asprintf(&p, "%s/../%s/%s", self, subdir, name) < 0)
				die(1, "out of memory");
			if (executable_at(p))
				return p;
			free(p);
		}
	}
	env = getenv("PATH");
	if (env != NULL) {
		path = strdup(env);
		if (path == NULL)
			die(1, "out of memory");
		for (dir = strtok_r(path, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			if (dir[0] != '/')
				continue;           /* never a relative PATH entry */
			p = path_join(dir, name);
			if (executable_at(p)) {
				free(path);
				return p;
			}
			free(p);
		}
		free(path);
	}
	for (size_t i = 0; i < sizeof sbin / sizeof sbin[0]; i++) {
		p = path_join(sbin[i], name);
		if (executable_at(p))
			return p;
		free(p);
	}
	die(1, "cannot find %s: give --bin-dir DIR or set INKAN_BINDIR", name);
}

/* Run a one-shot daemon mode; exit status `ok_also` (if nonzero) is
 * accepted as success too. Returns the exit status. */
static int run(const char *what, char *const argv[], const char *hint,
    int ok_also)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die(1, "fork: %s", strerror(errno));
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, PROG ": exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die(1, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		die(1, "%s: killed by signal %d", what, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0 &&
	    (ok_also == 0 || WEXITSTATUS(status) != ok_also))
		die(1, "%s: failed (exit %d); %s", what, WEXITSTATUS(status),
		    hint != NULL ? hint :
		    "fix the cause and run init again with --force");
	return WEXITSTATUS(status);
}

static int cmd_init(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "token-label", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "bin-dir", required_argument, NULL, 'b' },
		{ "force", no_argument, NULL, 'f' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL, *label = "inkan", *bin_dir = NULL;
	char dir[PATH_MAX], *conf, *hsm_conf, *tokens, *pin, *so_pin, *text;
	char *scm_bin, *sam_bin, *scm_dir, *sam_dir;
	unsigned long port = 8080;
	struct sockaddr_un sa;
	int opt, force = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 'l': label = optarg; break;
		case 'b': bin_dir = optarg; break;
		case 'f': force = 1; break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    port == 0 || port > 65535)
				usage_die("--port: 1 to 65535");
			break;
		default:
			if (!common_option(ctl, opt))
				bad_option("init", argv);
		}
	}
	if (state == NULL || optind != argc)
		usage_die("init needs --state DIR and no other arguments");
	/* Printable ASCII: a PKCS#11 label is 32 blank-padded bytes. */
	check_text("--token-label", label, LABEL_MAX_LEN);
	if (strchr(label, ';') != NULL || strchr(label, '#') != NULL ||
	    label[0] == ' ' || label[strlen(label) - 1] == ' ')
		usage_die("--token-label: no ';', '#', leading or trailing blanks");
	if (sodium_init() < 0)
		die(1, "libsodium initialisation failed");

	/* Find the daemons before writing anything. */
	scm_bin = ctl_find_daemon(bin_dir, "inkan-scm", "scm");
	sam_bin = ctl_find_daemon(bin_dir, "inkan-sam", "sam");

	umask(0077);
	/* One subdirectory per daemon, so that each can be owned by its own
	 * user; 0711 lets a peer reach the socket inside without listing. */
	make_dir_mode(state, 0711);
	if (realpath(state, dir) == NULL)
		die(1, "%s: %s", state, strerror(errno));
	check_conf_path(dir);
	if (strlen(dir) + sizeof("/sam/admin.sock") > sizeof(sa.sun_path))
		die(1, "%s: path too long for the sockets inside it "
		    "(at most %zu bytes)", dir,
		    sizeof(sa.sun_path) - sizeof("/sam/admin.sock"));

	conf = path_join(dir, "inkan.conf");
	if (!force && access(conf, F_OK) == 0)
		die(1, "%s exists: already initialised (--force rewrites the "
		    "configuration and re-runs the set-up, deleting nothing)", conf);

	scm_dir = path_join(dir, "scm");
	sam_dir = path_join(dir, "sam");
	make_dir_mode(scm_dir, 0711);
	make_dir_mode(sam_dir, 0711);
	tokens = path_join(scm_dir, "tokens");
	make_private_dir(tokens);

	hsm_conf = path_join(scm_dir, "softhsm2.conf");
	if (asprintf(&text,
	    "# SoftHSMv2 token store of this inkan instance (written by inkanctl init)\n"
	    "directories.tokendir = %s\n"
	    "objectstore.backend = file\n"
	    "log.level = ERROR\n", tokens) < 0)
		die(1, "out of memory");
	write_file(hsm_conf, text, 0600, 1);
	free(text);

	pin = path_join(scm_dir, "token.pin");
	so_pin = path_join(scm_dir, "so.pin");
	if (make_pin_file(pin))
		printf("kept existing %s\n", pin);
	if (make_pin_file(so_pin))
		printf("kept existing %s\n", so_pin);

	if (asprintf(&text,
	    "; inkan configuration (written by inkanctl init); each daemon reads\n"
	    "; only its own section. No secrets here: only paths.\n"
	    "[scm]\n"
	    "socket = %1$s/scm/scm.sock\n"
	    "pkcs11_module = %2$s\n"
	    "softhsm2_conf = %1$s/scm/softhsm2.conf\n"
	    "token_label = %3$s\n"
	    "pin_file = %1$s/scm/token.pin\n"
	    "\n"
	    "[sam]\n"
	    "signer_socket = %1$s/sam/sam.sock\n"
	    "admin_socket = %1$s/sam/admin.sock\n"
	    "so_socket = %1$s/sam/so.sock\n"
	    "; auditor_socket = %1$s/sam/auditor.sock needs auditor_uid or\n"
	    "; auditor_group: never an account of the administrator or SO\n"
	    "scm_socket = %1$s/scm/scm.sock\n"
	    "database = %1$s/sam/inkan.db\n"
	    "\n"
	    "[sic]\n"
	    "; loopback only: plain HTTP until tls_cert/tls_key are set\n"
	    "; (docs/configuration.md); inkan-sic refuses it elsewhere\n"
	    "listen = 127.0.0.1:%4$lu\n"
	    "allow_plain_http = true\n"
	    "sam_socket = %1$s/sam/sam.sock\n",
	    dir, INKAN_SOFTHSM_MODULE, label, port) < 0)
		die(1, "out of memory");
	write_file(conf, text, 0644, force);
	free(text);

	{
		char *scm_argv[] = { scm_bin, "--config", conf, "--init-token",
		    "--so-pin-file", so_pin, NULL };
		char *sam_argv[] = { sam_bin, "--config", conf, "--init-db", NULL };

		/* inkan-scm exits 3 when the token exists already: with
		 * --force (re-running after a failed set-up) it is kept. */
		if (run("inkan-scm --init-token", scm_argv, NULL,
		    force ? 3 : 0) == 3)
			printf("kept existing token \"%s\"\n", label);
		run("inkan-sam --init-db", sam_argv, NULL, 0);
	}

	printf("state: %s\n", dir);
	printf("config: %s\n", conf);
	printf("token: %s\n", label);
	printf("next: start inkan-scm, inkan-sam and inkan-sic with --config %s\n",
	    conf);
	free(scm_bin);
	free(sam_bin);
	free(tokens);
	free(scm_dir);
	free(sam_dir);
	free(hsm_conf);
	free(pin);
	free(so_pin);
	free(conf);
	return 0;
}

/* ---- user ---------------------------------------------------------------- */

/* issue 7: the CA's one-time identification code from INKAN_ID_CODE, or
 * none (then inkan-sam makes one). */
static int id_code_from_env(ProtobufCBinaryData *out)
{
	const char *v = getenv("INKAN_ID_CODE");

	if (v == NULL || *v == '\0')
		return 0;
	if (strlen(v) < 8 || strlen(v) > 64)
		die(1, "INKAN_ID_CODE: 8..64 printable ASCII characters, no spaces");
	for (const char *q = v; *q; q++)
		if (*q < 0x21 || *q > 0x7e)
			die(1, "INKAN_ID_CODE: 8..64 printable ASCII characters, "
			    "no spaces");
	out->data = (uint8_t *)v;
	out->len = strlen(v);
	return 1;
}

static void print_id_code(const char *code, const char *user)
{
	char c[128];

	clean_text(code, c, sizeof(c));
	printf("id-code: %s\n", c);
	fprintf(stderr, "Hand this one-time identification code to the CA's "
	    "registration for %s; it is shown once.\n", user);
	sodium_memzero(c, sizeof(c));
}

static int cmd_user_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cn", required_argument, NULL, 'n' },
		{ "o", required_argument, NULL, 'o' },
		{ "ou", required_argument, NULL, 'u' },
		{ "c", required_argument, NULL, 'c' },
		{ "serial", required_argument, NULL, 's' },
		{ "email", required_argument, NULL, 'e' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	Inkan__UserAddReq req = INKAN__USER_ADD_REQ__INIT;
	Inkan__Subject sj = INKAN__SUBJECT__INIT;
	Inkan__UserAddRep *rep;
	struct secret password = { 0 }, pin = { 0 };
	char prompt[128], what[128], uri[1024], b32[256];
	const char *name;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': sj.cn = optarg; break;
		case 'o': sj.o = optarg; break;
		case 'u': sj.ou = optarg; break;
		case 'c': sj.c = optarg; break;
		case 's': sj.serial = optarg; break;
		case 'e': sj.email = optarg; break;
		default:
			if (!common_option(ctl, opt))
				bad_option("user add", argv);
		}
	}
	if (optind != argc - 1)
		usage_die("user add needs exactly one NAME");
	name = argv[optind];
	check_name("user name", name, NAME_MAX_LEN);
	/* issue 7: the subject as the operator verified it (CN: the name
	 * unless given), and the CA's code or a generated one */
	if (sj.cn == NULL)
		sj.cn = (char *)name;
	check_text("--cn", sj.cn, CN_MAX_LEN);
	if (sj.o)
		check_text("--o", sj.o, CN_MAX_LEN);
	if (sj.ou)
		check_text("--ou", sj.ou, CN_MAX_LEN);
	if (sj.c && (strlen(sj.c) != 2 || sj.c[0] < 'A' || sj.c[0] > 'Z' ||
	    sj.c[1] < 'A' || sj.c[1] > 'Z'))
		usage_die("--c: two capital letters (ISO 3166), e.g. JP");
	if (sj.serial)
		check_text("--serial", sj.serial, 64);
	if (sj.email && (!strchr(sj.email, '@') || strchr(sj.email, ' ')))
		usage_die("--email: an address with an @");
	req.subject = &sj;
	req.has_id_code = id_code_from_env(&req.id_code);
	req.has_gen_id_code = 1;
	req.gen_id_code = !req.has_id_code;
	snprintf(what, sizeof(what), "user add %s", name);

	/* Connect first: no point asking for secrets if nobody listens. */
	ctl_connect(ctl);
	if (secret_alloc(&password) < 0 || secret_alloc(&pin) < 0)
		die(1, "out of secure memory");
	snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
	r = secret_get("INKAN_PASSWORD", prompt, 1, &password);
	if (r < 0)
		die(1, "%s: password: %s", what, secret_strerror(r));
	snprintf(prompt, sizeof(prompt), "PIN for %s: ", name);
	r = secret_get("INKAN_PIN", prompt, 1, &pin);
	if (r < 0)
		die(1, "%s: PIN: %s", what, secret_strerror(r));

	req.username = (char *)name;
	req.password.data = (uint8_t *)password.buf;
	req.password.len = password.len;
	req.pin.data = (uint8_t *)pin.buf;
	req.pin.len = pin.len;
	rep = (Inkan__UserAddRep *)admin_call(ctl, what,
	    INKAN__MSG_TYPE__ADMIN_USER_ADD_REQ, &req.base,
	    &inkan__user_add_rep__descriptor);
	secret_free(&password);
	secret_free(&pin);

	clean_text(rep->otpauth_uri, uri, sizeof(uri));
	clean_text(rep->totp_secret_b32, b32, sizeof(b32));
	printf("user %s added\n", name);
	printf("otpauth: %s\n", uri);
	printf("totp-secret: %s\n", b32);
	if (rep->id_code)
		print_id_code(rep->id_code, name);
	else
		printf("id-code: the CA's (from INKAN_ID_CODE), usable once\n");
	sodium_memzero(uri, sizeof(uri));
	sodium_memzero(b32, sizeof(b32));
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

static void format_time(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t s;

	if (t > 100000000000LL)          /* milliseconds */
		t /= 1000;
	s = (time_t)t;
	if (t <= 0 || gmtime_r(&s, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "-");
}

static int cmd_user_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	Inkan__UserListReq req = INKAN__USER_LIST_REQ__INIT;
	Inkan__UserListRep *rep;
	char name[NAME_MAX_LEN * 4 + 1], when[32];
	int opt, w = 4;
	size_t i;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!common_option(ctl, opt))
			bad_option("user list", argv);
	if (optind != argc)
		usage_die("user list takes no arguments");
	rep = (Inkan__UserListRep *)admin_call(ctl, "user list",
	    INKAN__MSG_TYPE__ADMIN_USER_LIST_REQ, &req.base,
	    &inkan__user_list_rep__descriptor);
	for (i = 0; i < rep->n_users; i++) {
		int n = (int)strlen(rep->users[i]->username);
		if (n > w && n <= NAME_MAX_LEN * 4)
			w = n;
	}
	printf("%-*s  %11s  %s\n", w, "USER", "CREDENTIALS", "CREATED");
	for (i = 0; i < rep->n_users; i++) {
		clean_text(rep->users[i]->username, name, sizeof(name));
		format_time(rep->users[i]->created, when, sizeof(when));
		printf("%-*s  %11u  %s\n", w, name, rep->users[i]->credentials, when);
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

/* ---- credential ---------------------------------------------------------- */

static int cmd_user_idcode(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	Inkan__UserIdcodeReq req = INKAN__USER_IDCODE_REQ__INIT;
	Inkan__UserIdcodeRep *rep;
	char what[128];
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!common_option(ctl, opt))
			bad_option("user idcode", argv);
	if (optind != argc - 1)
		usage_die("user idcode needs exactly one NAME");
	check_name("user name", argv[optind], NAME_MAX_LEN);
	req.username = argv[optind];
	req.has_id_code = id_code_from_env(&req.id_code);
	snprintf(what, sizeof(what), "user idcode %s", argv[optind]);
	rep = (Inkan__UserIdcodeRep *)admin_call(ctl, what,
	    INKAN__MSG_TYPE__ADMIN_USER_IDCODE_REQ, &req.base,
	    &inkan__user_idcode_rep__descriptor);
	if (rep->id_code)
		print_id_code(rep->id_code, argv[optind]);
	else
		printf("user %s: the CA's identification code recorded (usable "
		    "once)\n", argv[optind]);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

static int cmd_cred_revoke(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credential", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	Inkan__CredRevokeReq req = INKAN__CRED_REVOKE_REQ__INIT;
	Inkan__CredRevokeRep *rep;
	char what[160];
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': req.credential_id = optarg; break;
		case 'r': req.reason = optarg; break;
		default:
			if (!common_option(ctl, opt))
				bad_option("credential revoke", argv);
		}
	}
	if (req.credential_id == NULL || optind != argc)
		usage_die("credential revoke needs --credential ID");
	check_name("--credential", req.credential_id, CRED_ID_MAX_LEN);
	if (req.reason)
		check_name("--reason", req.reason, 40);
	snprintf(what, sizeof(what), "credential revoke %s", req.credential_id);
	rep = (Inkan__CredRevokeRep *)admin_call(ctl, what,
	    INKAN__MSG_TYPE__ADMIN_CRED_REVOKE_REQ, &req.base,
	    &inkan__cred_revoke_rep__descriptor);
	if (!rep->destroyed)
		die(1, "%s: revoked (it can no longer sign), but inkan-scm has "
		    "not destroyed the key yet: run it again", what);
	printf("credential %s revoked: key destroyed\n", req.credential_id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

static int cmd_user_terminate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	Inkan__UserTerminateReq req = INKAN__USER_TERMINATE_REQ__INIT;
	Inkan__UserTerminateRep *rep;
	char what[128];
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': req.reason = optarg; break;
		default:
			if (!common_option(ctl, opt))
				bad_option("user terminate", argv);
		}
	}
	if (optind != argc - 1)
		usage_die("user terminate needs exactly one NAME");
	check_name("user name", argv[optind], NAME_MAX_LEN);
	if (req.reason)
		check_name("--reason", req.reason, 40);
	req.username = argv[optind];
	snprintf(what, sizeof(what), "user terminate %s", argv[optind]);
	rep = (Inkan__UserTerminateRep *)admin_call(ctl, what,
	    INKAN__MSG_TYPE__ADMIN_USER_TERMINATE_REQ, &req.base,
	    &inkan__user_terminate_rep__descriptor);
	printf("user %s terminated: %u keys destroyed, no login any more\n",
	    argv[optind], rep->keys_destroyed);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

/* PEM (first certificate) or DER. */
static X509 *read_cert(const char *path, const uint8_t *data, size_t len,
    int only_one)
{
	X509 *x = NULL;

	if (len >= 10 && memmem(data, len, "-----BEGIN", 10) != NULL) {
		BIO *b = BIO_new_mem_buf(data, (int)len);

		x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		if (x != NULL && only_one) {
			X509 *more = PEM_read_bio_X509(b, NULL, NULL, NULL);
			if (more != NULL)
				die(1, "%s: holds more than one certificate; put "
				    "the issuers in --chain", path);
		}
		BIO_free(b);
	} else {
		const unsigned char *p = data;

		x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p != data + len) {
			X509_free(x);
			x = NULL;
		}
	}
	ERR_clear_error();
	if (x == NULL)
		die(1, "%s: not a PEM or DER X.509 certificate", path);
	return x;
}

static void cert_der(X509 *x, ProtobufCBinaryData *out)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);

	if (len <= 0)
		die(1, "certificate encoding failed");
	out->data = der;
	out->len = (size_t)len;
}

static void read_file_or_die(const char *path, uint8_t **data, size_t *len)
{
	int r = file_read(path, CERT_FILE_MAX, data, len);

	if (r == -EFBIG)
		die(1, "%s: larger than %d bytes", path, CERT_FILE_MAX);
	if (r == -EINVAL)
		die(1, "%s: not a regular file", path);
	if (r < 0)
		die(1, "%s: %s", path, strerror(-r));
}

static int cmd_cred_import(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credential", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'x' },
		{ "chain", required_argument, NULL, 'a' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	Inkan__CredImportReq req = INKAN__CRED_IMPORT_REQ__INIT;
	Inkan__CredImportRep *rep;
	ProtobufCBinaryData chain[CHAIN_MAX];
	const char *cred = NULL, *cert_path = NULL, *chain_path = NULL;
	char what[160], subject[1024], valid_to[64];
	uint8_t *data = NULL;
	size_t len = 0, n_chain = 0, i;
	X509 *x;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cred = optarg; break;
		case 'x': cert_path = optarg; break;
		case 'a': chain_path = optarg; break;
		default:
			if (!common_option(ctl, opt))
				bad_option("credential import-cert", argv);
		}
	}
	if (cred == NULL || cert_path == NULL || optind != argc)
		usage_die("credential import-cert needs --credential ID and --cert FILE");
	check_name("--credential", cred, CRED_ID_MAX_LEN);

	read_file_or_die(cert_path, &data, &len);
	x = read_cert(cert_path, data, len, 1);
	cert_der(x, &req.certificate);
	X509_free(x);
	free(data);

	if (chain_path != NULL) {
		read_file_or_die(chain_path, &data, &len);
		if (len >= 10 && memmem(data, len, "-----BEGIN", 10) != NULL) {
			BIO *b = BIO_new_mem_buf(data, (int)len);

			while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
				if (n_chain == CHAIN_MAX)
					die(1, "%s: more than %d certificates",
					    chain_path, CHAIN_MAX);
				cert_der(x, &chain[n_chain++]);
				X509_free(x);
			}
			BIO_free(b);
			ERR_clear_error();
			if (n_chain == 0)
				die(1, "%s: no PEM certificate in it", chain_path);
		} else {
			x = read_cert(chain_path, data, len, 0);
			cert_der(x, &chain[n_chain++]);
			X509_free(x);
		}
		free(data);
	}
	req.credential_id = (char *)cred;
	req.n_chain = n_chain;
	req.chain = chain;

	snprintf(what, sizeof(what), "credential import-cert %s", cred);
	rep = (Inkan__CredImportRep *)admin_call(ctl, what,
	    INKAN__MSG_TYPE__ADMIN_CRED_IMPORT_REQ, &req.base,
	    &inkan__cred_import_rep__descriptor);
	clean_text(rep->subject_dn, subject, sizeof(subject));
	clean_text(rep->valid_to, valid_to, sizeof(valid_to));
	printf("credential %s: certificate imported\n", cred);
	printf("subject: %s\n", subject);
	printf("valid-to: %s\n", valid_to);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	OPENSSL_free(req.certificate.data);
	for (i = 0; i < n_chain; i++)
		OPENSSL_free(chain[i].data);
	return 0;
}

static int cmd_cred_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	Inkan__CredListReq req = INKAN__CRED_LIST_REQ__INIT;
	Inkan__CredListRep *rep;
	char id[CRED_ID_MAX_LEN * 4 + 1], user[NAME_MAX_LEN * 4 + 1];
	char subject[1024], valid_to[64];
	const char *only = NULL;
	int opt, wi = 10, wu = 4;
	size_t i;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': only = optarg; break;
		default:
			if (!common_option(ctl, opt))
				bad_option("credential list", argv);
		}
	}
	if (optind != argc)
		usage_die("credential list takes no arguments");
	if (only != NULL) {
		check_name("--user", only, NAME_MAX_LEN);
		req.username = (char *)only;
	}
	rep = (Inkan__CredListRep *)admin_call(ctl, "credential list",
	    INKAN__MSG_TYPE__ADMIN_CRED_LIST_REQ, &req.base,
	    &inkan__cred_list_rep__descriptor);
	for (i = 0; i < rep->n_credentials; i++) {
		int a = (int)strlen(rep->credentials[i]->credential_id);
		int b = (int)strlen(rep->credentials[i]->username);
		if (a > wi && a <= CRED_ID_MAX_LEN * 4)
			wi = a;
		if (b > wu && b <= NAME_MAX_LEN * 4)
			wu = b;
	}
	printf("%-*s  %-*s  %-7s  %-8s  %-15s  %s\n", wi, "CREDENTIAL", wu,
	    "USER", "KEY", "STATE", "VALID-TO", "SUBJECT");
	for (i = 0; i < rep->n_credentials; i++) {
		Inkan__CredSummary *c = rep->credentials[i];

		clean_text(c->credential_id, id, sizeof(id));
		clean_text(c->username, user, sizeof(user));
		clean_text(c->valid_to ? c->valid_to : "-", valid_to, sizeof(valid_to));
		clean_text(c->subject_dn ? c->subject_dn : "-", subject, sizeof(subject));
		printf("%-*s  %-*s  %-7s  %-8s  %-15s  %s\n", wi, id, wu, user,
		    key_type_name(c->key_type), c->enabled ? "enabled" : "disabled",
		    valid_to[0] ? valid_to : "-", subject[0] ? subject : "-");
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

/* ---- security officer (issue 3) ------------------------------------------ */

static int cmd_user_unlock(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	Inkan__UserUnlockReq req = INKAN__USER_UNLOCK_REQ__INIT;
	Inkan__UserUnlockRep *rep;
	char what[128], name[NAME_MAX_LEN * 4 + 1];
	int opt;

	ctl->socket_key = "so_socket";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!common_option(ctl, opt))
			bad_option("user unlock", argv);
	if (optind != argc - 1)
		usage_die("user unlock needs exactly one NAME");
	check_name("user name", argv[optind], NAME_MAX_LEN);
	req.username = argv[optind];
	snprintf(what, sizeof(what), "user unlock %s", argv[optind]);
	rep = (Inkan__UserUnlockRep *)admin_call(ctl, what,
	    INKAN__MSG_TYPE__ADMIN_USER_UNLOCK_REQ, &req.base,
	    &inkan__user_unlock_rep__descriptor);
	clean_text(rep->username, name, sizeof(name));
	printf("user %s unlocked (was %s, %u consecutive failures)\n", name,
	    rep->was_locked ? "locked" : "not locked", rep->failures);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

static int cmd_user_show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	Inkan__UserShowReq req = INKAN__USER_SHOW_REQ__INIT;
	Inkan__UserShowRep *rep;
	char what[128], name[NAME_MAX_LEN * 4 + 1], when[32];
	int opt;

	ctl->socket_key = "so_socket";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!common_option(ctl, opt))
			bad_option("user show", argv);
	if (optind != argc - 1)
		usage_die("user show needs exactly one NAME");
	check_name("user name", argv[optind], NAME_MAX_LEN);
	req.username = argv[optind];
	snprintf(what, sizeof(what), "user show %s", argv[optind]);
	rep = (Inkan__UserShowRep *)admin_call(ctl, what,
	    INKAN__MSG_TYPE__ADMIN_USER_SHOW_REQ, &req.base,
	    &inkan__user_show_rep__descriptor);
	clean_text(rep->username, name, sizeof(name));
	printf("user: %s\n", name);
	printf("credentials: %u\n", rep->credentials);
	printf("failures: %u\n", rep->failures);
	if (!rep->locked)
		printf("locked: no\n");
	else if (rep->locked_until < 0)
		printf("locked: until unlocked by the security officer\n");
	else {
		format_time(rep->locked_until, when, sizeof(when));
		printf("locked: until %s\n", when);
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

/* credential unlock|disable|enable|set-multisign --credential ID [...] */
static int cmd_cred_so(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "credential", required_argument, NULL, 'c' },
		{ "multisign", required_argument, NULL, 'm' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *cred = NULL, *ms = NULL;
	char what[160], name[NAME_MAX_LEN * 4 + 1], *end;
	unsigned long n = 0;
	int opt;

	ctl->socket_key = "so_socket";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cred = optarg; break;
		case 'm': ms = optarg; break;
		default:
			if (!common_option(ctl, opt))
				bad_option(sub, argv);
		}
	}
	if (cred == NULL || optind != argc)
		usage_die("credential %s needs --credential ID", sub);
	check_name("--credential", cred, CRED_ID_MAX_LEN);
	if ((strcmp(sub, "set-multisign") == 0) != (ms != NULL))
		usage_die("--multisign N goes with credential set-multisign only");
	snprintf(what, sizeof(what), "credential %s %s", sub, cred);
	if (strcmp(sub, "unlock") == 0) {
		Inkan__UserUnlockReq req = INKAN__USER_UNLOCK_REQ__INIT;
		Inkan__UserUnlockRep *rep;

		req.credential_id = (char *)cred;
		rep = (Inkan__UserUnlockRep *)admin_call(ctl, what,
		    INKAN__MSG_TYPE__ADMIN_USER_UNLOCK_REQ, &req.base,
		    &inkan__user_unlock_rep__descriptor);
		clean_text(rep->username, name, sizeof(name));
		printf("credential %s: signer %s unlocked (was %s, %u "
		    "consecutive failures)\n", cred, name,
		    rep->was_locked ? "locked" : "not locked", rep->failures);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	} else if (strcmp(sub, "set-multisign") == 0) {
		Inkan__CredMultisignReq req = INKAN__CRED_MULTISIGN_REQ__INIT;
		Inkan__CredMultisignRep *rep;

		errno = 0;
		n = strtoul(ms, &end, 10);
		if (errno != 0 || *end != '\0' || end == ms || n > INKAN_MAX_HASHES)
			usage_die("--multisign: 0 to %d", INKAN_MAX_HASHES);
		req.credential_id = (char *)cred;
		req.multisign = (uint32_t)n;
		rep = (Inkan__CredMultisignRep *)admin_call(ctl, what,
		    INKAN__MSG_TYPE__ADMIN_CRED_MULTISIGN_REQ, &req.base,
		    &inkan__cred_multisign_rep__descriptor);
		printf("credential %s: multisign %u (effective %u%s)\n", cred,
		    rep->multisign, rep->effective,
		    rep->effective == 1 ? ", no multi-hash batches" : "");
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	} else {
		Inkan__CredStateReq req = INKAN__CRED_STATE_REQ__INIT;
		Inkan__CredStateRep *rep;

		req.credential_id = (char *)cred;
		req.enabled = strcmp(sub, "enable") == 0;
		rep = (Inkan__CredStateRep *)admin_call(ctl, what,
		    INKAN__MSG_TYPE__ADMIN_CRED_STATE_REQ, &req.base,
		    &inkan__cred_state_rep__descriptor);
		printf("credential %s: %s\n", cred, rep->enabled ? "enabled" :
		    "disabled (its outstanding SADs are void)");
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	return 0;
}

/* ---- auditor (issue 5) --------------------------------------------------- */

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ", "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) or
 * "@SECONDS" -> ms since the epoch. end: a bare date means its last ms. */
static int64_t parse_when(const char *opt, const char *v, int end)
{
	struct tm tm;
	const char *rest;
	int64_t ms = 0;
	char *e;

	if (v[0] == '@') {
		errno = 0;
		long long s = strtoll(v + 1, &e, 10);
		if (errno || e == v + 1 || *e != '\0' || s < 0)
			usage_die("%s: @SECONDS", opt);
		return (int64_t)s * 1000;
	}
	memset(&tm, 0, sizeof tm);
	rest = strptime(v, "%Y-%m-%d", &tm);
	if (rest == NULL)
		usage_die("%s: YYYY-MM-DD[THH:MM:SS[.mmm]Z] (UTC) or @SECONDS", opt);
	if (*rest == '\0') {
		if (end)
			ms = 86400000 - 1;
	} else {
		rest = strptime(rest, "T%H:%M:%S", &tm);
		if (rest == NULL)
			usage_die("%s: YYYY-MM-DD[THH:MM:SS[.mmm]Z] (UTC)", opt);
		if (rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9' &&
		    rest[2] >= '0' && rest[2] <= '9' && rest[3] >= '0' &&
		    rest[3] <= '9') {
			ms = (rest[1] - '0') * 100 + (rest[2] - '0') * 10 +
			    (rest[3] - '0');
			rest += 4;
		}
		if (strcmp(rest, "Z") != 0)
			usage_die("%s: the time ends in Z (UTC)", opt);
	}
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static int cmd_audit_show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "signer", required_argument, NULL, 'n' },
		{ "credential", required_argument, NULL, 'c' },
		{ "event", required_argument, NULL, 'e' },
		{ "limit", required_argument, NULL, 'l' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	Inkan__AuditShowReq req = INKAN__AUDIT_SHOW_REQ__INIT;
	Inkan__AuditShowRep *rep;
	unsigned long limit = 0, shown = 0;
	char *end;
	int opt, more;
	size_t i;

	ctl->socket_key = "auditor_socket";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			req.has_from_ms = 1;
			req.from_ms = parse_when("--since", optarg, 0);
			break;
		case 'u':
			req.has_to_ms = 1;
			req.to_ms = parse_when("--until", optarg, 1);
			break;
		case 'n':
			check_name("--signer", optarg, NAME_MAX_LEN);
			req.signer = optarg;
			break;
		case 'c':
			check_name("--credential", optarg, CRED_ID_MAX_LEN);
			req.credential = optarg;
			break;
		case 'e':
			check_name("--event", optarg, 33);
			req.event = optarg;
			break;
		case 'l':
			errno = 0;
			limit = strtoul(optarg, &end, 10);
			if (errno || *end != '\0' || limit == 0)
				usage_die("--limit: a number from 1");
			break;
		default:
			if (!common_option(ctl, opt))
				bad_option("audit show", argv);
		}
	}
	if (optind != argc)
		usage_die("audit show takes options only");
	/* Pages until the end (or --limit); each line exactly as in the
	 * trail, so an unfiltered listing is itself a verifiable export. */
	do {
		if (limit) {
			req.has_limit = 1;
			req.limit = (uint32_t)(limit - shown < 1000 ?
			    limit - shown : 1000);
		}
		rep = (Inkan__AuditShowRep *)admin_call(ctl, "audit show",
		    INKAN__MSG_TYPE__ADMIN_AUDIT_SHOW_REQ, &req.base,
		    &inkan__audit_show_rep__descriptor);
		for (i = 0; i < rep->n_records; i++) {
			const char *s = rep->records[i];
			size_t k;

			/* Records are printable ASCII by construction; refuse
			 * to print anything else to a terminal. */
			for (k = 0; s[k]; k++)
				if ((unsigned char)s[k] < 0x20 ||
				    (unsigned char)s[k] > 0x7e)
					die(1, "audit show: a record with a "
					    "control byte: not printed");
			printf("%s\n", s);
		}
		shown += rep->n_records;
		more = rep->more && (!limit || shown < limit);
		req.has_after_seq = 1;
		req.after_seq = rep->last_seq;
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	} while (more);
	return 0;
}

static int cmd_audit_verify(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	Inkan__AuditVerifyReq req = INKAN__AUDIT_VERIFY_REQ__INIT;
	Inkan__AuditVerifyRep *rep;
	char text[1024];
	int opt, ok;

	ctl->socket_key = "auditor_socket";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!common_option(ctl, opt))
			bad_option("audit verify", argv);
	if (optind != argc)
		usage_die("audit verify takes no arguments");
	rep = (Inkan__AuditVerifyRep *)admin_call(ctl, "audit verify",
	    INKAN__MSG_TYPE__ADMIN_AUDIT_VERIFY_REQ, &req.base,
	    &inkan__audit_verify_rep__descriptor);
	ok = rep->ok;
	clean_text(rep->head_hash, text, sizeof(text));
	if (ok)
		printf("OK: %llu records, %llu checkpoints verified in %u "
		    "file%s\n", (unsigned long long)rep->records,
		    (unsigned long long)rep->checkpoints, rep->files,
		    rep->files == 1 ? "" : "s");
	printf("head: seq %llu hash %s\n", (unsigned long long)rep->head_seq,
	    text);
	if (!ok) {
		clean_text(rep->problem, text, sizeof(text));
		printf("FAILED: %s\n", text);
		if (rep->has_bad_seq)
			printf("first bad record: seq %llu\n",
			    (unsigned long long)rep->bad_seq);
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return ok ? 0 : 1;
}

static int cmd_audit_pubkey(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	Inkan__AuditPubkeyReq req = INKAN__AUDIT_PUBKEY_REQ__INIT;
	Inkan__AuditPubkeyRep *rep;
	const unsigned char *p;
	const char *out = NULL;
	char fp[80], *pem;
	EVP_PKEY *pk;
	BIO *mem;
	long n;
	int opt, r, tmp_exists = 0;

	ctl->socket_key = "auditor_socket";
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'o')
			out = optarg;
		else if (!common_option(ctl, opt))
			bad_option("audit pubkey", argv);
	}
	if (optind != argc)
		usage_die("audit pubkey takes no arguments");
	rep = (Inkan__AuditPubkeyRep *)admin_call(ctl, "audit pubkey",
	    INKAN__MSG_TYPE__ADMIN_AUDIT_PUBKEY_REQ, &req.base,
	    &inkan__audit_pubkey_rep__descriptor);
	p = rep->spki.data;
	pk = d2i_PUBKEY(NULL, &p, (long)rep->spki.len);
	mem = BIO_new(BIO_s_mem());
	if (pk == NULL || p != rep->spki.data + rep->spki.len || mem == NULL ||
	    !PEM_write_bio_PUBKEY(mem, pk))
		die(1, "audit pubkey: inkan-sam answered an unusable key");
	n = BIO_get_mem_data(mem, &pem);
	clean_text(rep->fingerprint, fp, sizeof(fp));
	if (out != NULL) {
		r = file_write_atomic(out, pem, (size_t)n, 0644, 1, &tmp_exists);
		if (r < 0)
			die(1, "audit pubkey: write %s: %s", out, strerror(-r));
		printf("audit key written to %s\n", out);
		printf("fingerprint: sha256:%s\n", fp);
	} else {
		fwrite(pem, 1, (size_t)n, stdout);
		fprintf(stderr, "fingerprint: sha256:%s\n", fp);
	}
	BIO_free(mem);
	EVP_PKEY_free(pk);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

/* issue 7 item 5: key backup and recovery (tools/inkanctl-backup.c) */
static int cmd_backup(struct ctl *ctl, int argc, char **argv)
{
	return inkanctl_backup(ctl->config, ctl->socket, argc, argv);
}

static const struct command {
	const char *group;
	const char *name;          /* NULL: the group is the command */
	int (*fn)(struct ctl *ctl, int argc, char **argv);
} commands[] = {
	{ "init", NULL, cmd_init },
	{ "user", "add", cmd_user_add },
	{ "user", "list", cmd_user_list },
	{ "user", "idcode", cmd_user_idcode },
	{ "user", "terminate", cmd_user_terminate },
	{ "credential", "revoke", cmd_cred_revoke },
	{ "credential", "import-cert", cmd_cred_import },
	{ "credential", "list", cmd_cred_list },
	/* issue 3: security officer (so_socket) */
	{ "user", "unlock", cmd_user_unlock },
	{ "user", "show", cmd_user_show },
	{ "credential", "unlock", cmd_cred_so },
	{ "credential", "disable", cmd_cred_so },
	{ "credential", "enable", cmd_cred_so },
	{ "credential", "set-multisign", cmd_cred_so },
	/* issue 5: auditor (auditor_socket) */
	{ "audit", "show", cmd_audit_show },
	{ "audit", "verify", cmd_audit_verify },
	{ "audit", "pubkey", cmd_audit_pubkey },
	/* issue 7 item 5: security officer (so_socket) / root for restore */
	{ "backup", NULL, cmd_backup },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { 0 };
	const struct command *cmd = NULL;
	int opt, first, r;
	size_t i;

	opterr = 0;
	/* Global options stop at the command name. */
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (opt == 'V') {
			printf(PROG " " INKAN_VERSION "\n");
			return 0;
		}
		if (!common_option(&ctl, opt))
			bad_option(NULL, argv);
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	first = optind;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[first], commands[i].group) != 0)
			continue;
		if (commands[i].name == NULL) {
			cmd = &commands[i];
			break;
		}
		if (first + 1 < argc && strcmp(argv[first + 1], commands[i].name) == 0) {
			cmd = &commands[i];
			first++;
			break;
		}
	}
	if (cmd == NULL) {
		if (strcmp(argv[first], "help") == 0) {
			usage(stdout);
			return 0;
		}
		usage_die("unknown command '%s%s%s'", argv[first],
		    first + 1 < argc ? " " : "", first + 1 < argc ? argv[first + 1] : "");
	}
	if (sodium_init() < 0)
		die(1, "libsodium initialisation failed");

	/* The command parses argv[first..] with argv[first] as its name. */
	optind = 0;
	r = cmd->fn(&ctl, argc - first, argv + first);
	if (ctl.connected)
		close(ctl.ipc.fd);
	free(ctl.socket_from_config);
	return r;
}
