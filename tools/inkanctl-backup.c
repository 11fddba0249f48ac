/* inkanctl-backup.c — the security officer's key backup and recovery
 * (issue 7 item 5; docs/lifecycle.md "Backup and recovery").
 *   backup create  (so_socket): inkan-sam makes and seals the archive; this
 *                  writes it and the two share files, each 0600, never over
 *                  an existing file, and never both shares to one path.
 *   backup restore (root, services stopped, a state directory fresh from
 *                  inkanctl init): needs BOTH shares (dual control), opens
 *                  and authenticates the archive, leaves out every key
 *                  destroyed after the backup (key.destroy records after the
 *                  archived chain head in the old trail, which must continue
 *                  that head; or --skip-key), then runs inkan-scm --restore
 *                  (the only process that loads PKCS#11) and inkan-sam
 *                  --restore-db, each fed on a pipe (no shell).
 * SECURITY: the SO PIN is read from a file into sodium_malloc'd memory and
 * wiped after the request; shares and the decrypted payload are wiped after
 * use; nothing secret is printed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ini.h>
#include <sodium.h>

#include "ipc.h"
#include "fileio.h"
#include "inkanctl-backup.h"
#include "inkanctl.h"

#define die ctl_die
#include "backup_archive.h"
#include "audit_format.h"

#define PROG "inkanctl"
#define ARCHIVE_MAX (1024u * 1024 * 1024)
#define SO_PIN_MAX 64
#define SKIP_MAX 4096
#define CRED_HEX 32             /* a credential id: hex of the 16-byte key id */

static void usage_backup(FILE *f)
{
	fprintf(f,
	    "usage: inkanctl [--config FILE] backup create --so-pin-file FILE "
	    "--out ARCHIVE\n"
	    "           --share1-out FILE --share2-out FILE\n"
	    "       inkanctl --config NEW/inkan.conf backup restore --archive "
	    "ARCHIVE\n"
	    "           --share FILE1 --share FILE2 (--audit-dir OLD_AUDIT_DIR | "
	    "--no-audit-trail)\n"
	    "           [--skip-key CREDENTIAL_ID]... [--bin-dir DIR]\n");
}

/* ---- config ----------------------------------------------------------------- */

struct cfg {
	const char *key;
	char *value;
};

static int on_ini(void *arg, const char *section, const char *key,
    const char *value)
{
	struct cfg *c = arg;

	if (strcmp(section, "sam") == 0 && strcmp(key, c->key) == 0) {
		free(c->value);
		c->value = strdup(value);
	}
	return 1;
}

static const char *config_path(const char *config)
{
	if (config == NULL)
		config = getenv("INKAN_CONFIG");
	if (config == NULL || config[0] == '\0')
		die(2, "backup: give --config FILE or set INKAN_CONFIG");
	return config;
}

static char *sam_key(const char *config, const char *key)
{
	struct cfg c = { key, NULL };

	if (ini_parse(config, on_ini, &c) != 0)
		die(1, "%s: cannot read or parse", config);
	if (c.value == NULL || c.value[0] == '\0')
		die(1, "%s: no %s in [sam]", config, key);
	return c.value;
}

/* ---- backup create ------------------------------------------------------------ */

static void must_not_exist(const char *path)
{
	if (access(path, F_OK) == 0)
		die(1, "%s exists: not overwritten", path);
}

/* The archive and its two shares are one set: one without the others opens
 * nothing. When a file cannot be written, the ones written already are
 * removed, so that no incomplete set is left to be mistaken for a backup. */
static void write_set(const char *const path[3], const void *data[3],
    const size_t len[3])
{
	int tmp_exists = 0, r;

	for (int i = 0; i < 3; i++) {
		r = file_write_atomic(path[i], data[i], len[i], 0600, 0,
		    &tmp_exists);
		if (r == 0)
			continue;
		for (int j = 0; j < i; j++)
			unlink(path[j]);
		die(1, "write %s%s: %s; nothing was kept (the archive and its "
		    "shares belong together): make a new backup", path[i],
		    tmp_exists ? ".tmp" : "", strerror(-r));
	}
}

static ProtobufCMessage *so_call(struct ipc_client *c,
    const Inkan__BackupCreateReq *req)
{
	char detail[IPC_DETAIL_MAX + 1];
	ProtobufCMessage *rep = NULL;
	Inkan__Status st;
	int r;

	r = ipc_call(c, INKAN__MSG_TYPE__ADMIN_BACKUP_CREATE_REQ, &req->base,
	    INKAN__MSG_TYPE__ADMIN_BACKUP_CREATE_REP,
	    &inkan__backup_create_rep__descriptor, &rep, &st, detail,
	    sizeof detail);
	if (r == -ECONNRESET || r == -EPIPE)
		die(1, "backup create: inkan-sam closed the connection (is this "
		    "user the security officer? see so_uid / so_group)");
	if (r < 0)
		die(1, "backup create: %s", strerror(-r));
	if (st != INKAN__STATUS__OK) {
		for (char *p = detail; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		die(1, "backup create refused (status %d)%s%s", (int)st,
		    detail[0] ? ": " : "", detail);
	}
	return rep;
}

static int backup_create(const char *config, const char *socket, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "so-pin-file", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "share1-out", required_argument, NULL, '1' },
		{ "share2-out", required_argument, NULL, '2' },
		{ "config", required_argument, NULL, 'C' },
		{ "socket", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pin_file = NULL, *out = NULL, *sh1 = NULL, *sh2 = NULL;
	Inkan__BackupCreateReq req = INKAN__BACKUP_CREATE_REQ__INIT;
	Inkan__BackupCreateRep *rep;
	struct ipc_client c = { -1, 1 };
	uint8_t *raw = NULL, *arch = NULL, id[BK_ID_LEN];
	char *pin, *sock = NULL, text[BK_SHARE_TEXT_MAX], idhex[33];
	size_t raw_len = 0, total, got = 0;
	int opt, r, fd;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': pin_file = optarg; break;
		case 'o': out = optarg; break;
		case '1': sh1 = optarg; break;
		case '2': sh2 = optarg; break;
		case 'C': config = optarg; break;
		case 'S': socket = optarg; break;
		default: usage_backup(stderr); return 2;
		}
	}
	if (!pin_file || !out || !sh1 || !sh2 || optind != argc) {
		usage_backup(stderr);
		return 2;
	}
	if (strcmp(sh1, sh2) == 0 || strcmp(sh1, out) == 0 ||
	    strcmp(sh2, out) == 0)
		die(2, "backup create: the archive and the two shares need three "
		    "different files (dual control: each share goes to another "
		    "person)");
	must_not_exist(out);
	must_not_exist(sh1);
	must_not_exist(sh2);
	/* Room for a CRLF after the longest PIN. */
	if ((r = file_read(pin_file, SO_PIN_MAX + 2, &raw, &raw_len)) < 0)
		die(1, "%s: %s", pin_file, strerror(-r));
	while (raw_len > 0 && (raw[raw_len - 1] == '\n' ||
	    raw[raw_len - 1] == '\r'))
		raw_len--;
	if (raw_len == 0 || raw_len > SO_PIN_MAX) {
		sodium_memzero(raw, raw_len);
		die(1, "%s: the SO PIN must be 1..%d bytes", pin_file, SO_PIN_MAX);
	}
	if ((pin = sodium_malloc(raw_len)) == NULL)
		die(1, "out of secure memory");
	memcpy(pin, raw, raw_len);
	sodium_memzero(raw, raw_len);
	free(raw);

	if (socket == NULL)
		socket = sock = sam_key(config_path(config), "so_socket");
	if ((fd = ipc_connect(socket)) < 0)
		die(1, "connect %s: %s (is inkan-sam running?)", socket,
		    strerror(-fd));
	c.fd = fd;
	req.has_so_pin = true;
	req.so_pin.data = (uint8_t *)pin;
	req.so_pin.len = raw_len;
	rep = (Inkan__BackupCreateRep *)so_call(&c, &req);
	sodium_free(pin);
	if (rep->archive_id.len != BK_ID_LEN || !rep->has_share1 ||
	    rep->share1.len != BK_SHARE_LEN || !rep->has_share2 ||
	    rep->share2.len != BK_SHARE_LEN || rep->offset != 0 ||
	    rep->total == 0 || rep->total > ARCHIVE_MAX ||
	    rep->chunk.len > rep->total)
		die(1, "backup create: unexpected answer from inkan-sam");
	memcpy(id, rep->archive_id.data, BK_ID_LEN);
	total = (size_t)rep->total;
	if ((arch = malloc(total)) == NULL)
		die(1, "out of memory");
	memcpy(arch, rep->chunk.data, rep->chunk.len);
	got = rep->chunk.len;
	/* Shares first in memory, files after the archive is complete. */
	bk_share_format(id, 1, rep->share1.data, text);
	sodium_memzero(rep->share1.data, rep->share1.len);
	printf("backup: %u signer key(s), audit chain head seq %" PRIu64 "\n",
	    rep->keys, rep->audit_seq);
	{
		char *s1 = strdup(text);
		const char *const paths[3] = { out, sh1, sh2 };
		const void *datas[3];
		size_t lens[3];

		if (s1 == NULL)
			die(1, "out of memory");
		bk_share_format(id, 2, rep->share2.data, text);
		sodium_memzero(rep->share2.data, rep->share2.len);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		while (got < total) {
			Inkan__BackupCreateReq nx = INKAN__BACKUP_CREATE_REQ__INIT;

			nx.has_archive_id = nx.has_offset = true;
			nx.archive_id.data = id;
			nx.archive_id.len = BK_ID_LEN;
			nx.offset = got;
			rep = (Inkan__BackupCreateRep *)so_call(&c, &nx);
			if (rep->archive_id.len != BK_ID_LEN ||
			    memcmp(rep->archive_id.data, id, BK_ID_LEN) != 0 ||
			    rep->offset != got || rep->total != total ||
			    rep->chunk.len == 0 || rep->chunk.len > total - got)
				die(1, "backup create: unexpected chunk");
			memcpy(arch + got, rep->chunk.data, rep->chunk.len);
			got += rep->chunk.len;
			protobuf_c_message_free_unpacked(&rep->base, NULL);
		}
		datas[0] = arch;
		datas[1] = s1;
		datas[2] = text;
		lens[0] = total;
		lens[1] = strlen(s1);
		lens[2] = strlen(text);
		write_set(paths, datas, lens);
		sodium_memzero(s1, strlen(s1));
		free(s1);
	}
	sodium_memzero(text, sizeof text);
	sodium_bin2hex(idhex, sizeof idhex, id, BK_ID_LEN);
	printf("archive %s: %s (%zu bytes)\n", idhex, out, total);
	printf("share 1: %s\nshare 2: %s\n", sh1, sh2);
	printf("hand each share to a different person; keep them apart from "
	    "each other and from the archive\n");
	free(arch);
	free(sock);
	close(fd);
	return 0;
}

/* ---- backup restore ------------------------------------------------------------ */

/* Run argv with data on its stdin; its own output goes to ours. */
static int run_fed(char *const argv[], const uint8_t *data, size_t len)
{
	int p[2], status;
	pid_t pid;
	size_t off = 0;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	fflush(stdout);
	fflush(stderr);
	if (pipe2(p, O_CLOEXEC) < 0)
		die(1, "pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die(1, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(p[0], 0) < 0)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, PROG ": exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	while (off < len) {
		ssize_t k = write(p[1], data + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;          /* it stopped reading: its status says why */
		off += (size_t)k;
	}
	close(p[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die(1, "waitpid: %s", strerror(errno));
	signal(SIGPIPE, old);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct idset {
	char (*v)[CRED_HEX + 1];
	size_t n;
};

static void idset_add(struct idset *s, const char *id)
{
	void *nv;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], id) == 0)
			return;
	if (s->n >= SKIP_MAX)
		die(1, "more than %d keys to leave out", SKIP_MAX);
	if ((nv = realloc(s->v, (s->n + 1) * sizeof *s->v)) == NULL)
		die(1, "out of memory");
	s->v = nv;
	snprintf(s->v[s->n++], CRED_HEX + 1, "%s", id);
}

static bool idset_has(const struct idset *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], id) == 0)
			return true;
	return false;
}

static bool cred_id_ok(const char *id)
{
	if (strlen(id) != CRED_HEX)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int take_destroyed(void *arg, const char *id)
{
	idset_add(arg, id);
	return 0;
}

/* key.destroy records after the archived head, from a trail whose hash chain
 * runs through that head (bk_trail_feed). Whatever their outcome: inkan-sam
 * writes the record only after it marked the credential destroyed
 * (sam_lc_destroy), so a failed HSM destroy still means the credential was
 * to be gone. */
static void trail_destroyed(const char *dir, uint64_t head_seq,
    const char *head_hash, struct idset *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct bk_trail t;
	char **names = NULL;
	size_t nn = 0;

	if (d == NULL)
		die(1, "--audit-dir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l != AUDIT_FILE_NAME_LEN || strncmp(e->d_name,
		    AUDIT_FILE_PREFIX, strlen(AUDIT_FILE_PREFIX)) != 0 ||
		    strcmp(e->d_name + l - strlen(AUDIT_FILE_SUFFIX),
		    AUDIT_FILE_SUFFIX) != 0)
			continue;
		if ((names = realloc(names, (nn + 1) * sizeof *names)) == NULL ||
		    (names[nn++] = strdup(e->d_name)) == NULL)
			die(1, "out of memory");
	}
	closedir(d);
	if (nn == 0)
		die(1, "--audit-dir %s: no audit-*.log files", dir);
	qsort(names, nn, sizeof *names, name_cmp);
	bk_trail_init(&t, head_seq, head_hash, take_destroyed, out);
	for (size_t i = 0; i < nn; i++) {
		char path[PATH_MAX];
		uint8_t *buf = NULL;
		size_t len = 0, torn = t.torn;
		int r;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if ((r = file_read(path, 1024u * 1024 * 1024, &buf, &len)) < 0)
			die(1, "%s: %s", path, strerror(-r));
		if (bk_trail_feed(&t, path, (const char *)buf, len) < 0)
			die(1, "--audit-dir: %s: check the trail with "
			    "inkan-audit-verify", t.problem);
		if (t.torn != torn)
			printf("warning: %s ends in an incomplete record (a torn "
			    "write), which is not read\n", path);
		free(buf);
		free(names[i]);
	}
	free(names);
	if (bk_trail_end(&t) < 0)
		die(1, "--audit-dir %s: %s", dir, t.problem);
	printf("audit trail %s: records up to seq %" PRIu64 ", %zu key(s) "
	    "destroyed after the backup\n", dir, t.last, t.found);
}

static void read_share(const char *path, uint8_t id[BK_ID_LEN], int *n,
    uint8_t share[BK_SHARE_LEN])
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int r;

	if ((r = file_read(path, BK_SHARE_TEXT_MAX, &raw, &len)) < 0)
		die(1, "share %s: %s", path, strerror(-r));
	r = bk_share_parse((const char *)raw, len, id, n, share);
	sodium_memzero(raw, len);
	free(raw);
	if (r == -EBADMSG)
		die(1, "share %s: its check does not match (mistyped?)", path);
	if (r < 0)
		die(1, "share %s: not an inkan backup share", path);
}

static int backup_restore(const char *config, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "archive", required_argument, NULL, 'a' },
		{ "share", required_argument, NULL, 's' },
		{ "audit-dir", required_argument, NULL, 'd' },
		{ "no-audit-trail", no_argument, NULL, 'n' },
		{ "skip-key", required_argument, NULL, 'k' },
		{ "bin-dir", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *archive = NULL, *shares[3] = { NULL }, *audit_dir = NULL;
	const char *bin_dir = NULL;
	struct idset skip = { NULL, 0 };
	int nshares = 0, no_trail = 0, opt, r, num[2];
	uint8_t *arch = NULL, *plain = NULL, *buf;
	uint8_t aid[BK_ID_LEN], sid[2][BK_ID_LEN], *sh;
	size_t alen = 0, plen = 0, blen, nkeys = 0;
	int64_t created;
	Inkan__BackupPayload *p;
	Inkan__BackupRestoreInput ri = INKAN__BACKUP_RESTORE_INPUT__INIT;
	Inkan__BackupRestoreDb rd = INKAN__BACKUP_RESTORE_DB__INIT;
	Inkan__WrappedKey **keep;
	char **gone, *scm_bin, *sam_bin, idhex[33];

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': archive = optarg; break;
		case 's':
			if (nshares == 2)
				die(2, "backup restore: exactly two --share");
			shares[nshares++] = optarg;
			break;
		case 'd': audit_dir = optarg; break;
		case 'n': no_trail = 1; break;
		case 'k':
			if (!cred_id_ok(optarg))
				die(2, "--skip-key: a credential id (32 hex)");
			idset_add(&skip, optarg);
			break;
		case 'b': bin_dir = optarg; break;
		case 'C': config = optarg; break;
		default: usage_backup(stderr); return 2;
		}
	}
	if (archive == NULL || optind != argc) {
		usage_backup(stderr);
		return 2;
	}
	config = config_path(config);
	/* Dual control: one share opens nothing, and is refused up front. */
	if (nshares != 2)
		die(1, "backup restore: refused: both shares are needed (dual "
		    "control), %d given", nshares);
	if ((audit_dir == NULL) == !no_trail)
		die(2, "backup restore: give --audit-dir of the old trail (keys "
		    "destroyed after the backup stay destroyed) or, knowingly, "
		    "--no-audit-trail");
	if ((r = file_read(archive, ARCHIVE_MAX, &arch, &alen)) < 0)
		die(1, "%s: %s", archive, strerror(-r));
	if (bk_archive_peek(arch, alen, aid, &created) < 0)
		die(1, "%s: not an inkan backup archive", archive);
	if ((sh = sodium_malloc(2 * BK_SHARE_LEN)) == NULL)
		die(1, "out of secure memory");
	read_share(shares[0], sid[0], &num[0], sh);
	read_share(shares[1], sid[1], &num[1], sh + BK_SHARE_LEN);
	if (num[0] == num[1])
		die(1, "backup restore: refused: both files are share %d; share 1 "
		    "and share 2 are needed (dual control)", num[0]);
	if (memcmp(sid[0], aid, BK_ID_LEN) != 0 ||
	    memcmp(sid[1], aid, BK_ID_LEN) != 0)
		die(1, "backup restore: refused: a share belongs to another archive");
	r = bk_archive_open(arch, alen, sh, sh + BK_SHARE_LEN, &plain, &plen);
	if (r == -EBADMSG)
		die(1, "backup restore: refused: the shares do not open %s (a "
		    "wrong share, or the archive was altered)", archive);
	if (r < 0)
		die(1, "backup restore: %s", strerror(-r));
	if (bk_payload_parse(plain, plen, &p) < 0)
		die(1, "%s: the payload is malformed", archive);
	sodium_bin2hex(idhex, sizeof idhex, aid, BK_ID_LEN);
	printf("archive %s: %zu signer key(s), audit chain head seq %" PRIu64
	    "\n", idhex, p->n_keys, p->audit_seq);

	if (audit_dir != NULL)
		trail_destroyed(audit_dir, p->audit_seq, p->audit_head, &skip);
	else
		printf("warning: no audit trail given: a key destroyed after the "
		    "backup would come back unless named with --skip-key\n");

	/* The keys to bring back; the credentials to keep unusable. */
	keep = calloc(p->n_keys + 1, sizeof *keep);
	gone = calloc(skip.n + 1, sizeof *gone);
	if (keep == NULL || gone == NULL)
		die(1, "out of memory");
	for (size_t i = 0; i < p->n_keys; i++) {
		char hex[CRED_HEX + 1];

		sodium_bin2hex(hex, sizeof hex, p->keys[i]->key_id.data, 16);
		if (idset_has(&skip, hex)) {
			printf("left out: key %s (destroyed after the backup)\n",
			    hex);
			continue;
		}
		keep[nkeys++] = p->keys[i];
	}
	for (size_t i = 0; i < skip.n; i++)
		gone[i] = skip.v[i];

	scm_bin = ctl_find_daemon(bin_dir, "inkan-scm", "scm");
	sam_bin = ctl_find_daemon(bin_dir, "inkan-sam", "sam");
	if ((ri.unwrap_key.data = sodium_malloc(BK_SHARE_LEN)) == NULL)
		die(1, "out of secure memory");
	for (int i = 0; i < BK_SHARE_LEN; i++)
		ri.unwrap_key.data[i] = sh[i] ^ sh[BK_SHARE_LEN + i];
	ri.unwrap_key.len = BK_SHARE_LEN;
	sodium_free(sh);
	ri.wrapped_kek = p->wrapped_kek;
	ri.wrapped_mac_key = p->wrapped_mac_key;
	ri.n_keys = nkeys;
	ri.keys = keep;
	blen = inkan__backup_restore_input__get_packed_size(&ri);
	if ((buf = sodium_malloc(blen ? blen : 1)) == NULL)
		die(1, "out of secure memory");
	inkan__backup_restore_input__pack(&ri, buf);
	sodium_free(ri.unwrap_key.data);
	{
		char *argv_scm[] = { scm_bin, "--config", (char *)config,
		    "--restore", NULL };

		r = run_fed(argv_scm, buf, blen);
	}
	sodium_free(buf);
	if (r != 0)
		die(1, "backup restore: inkan-scm --restore failed (exit %d): "
		    "the database was not touched; unless inkan-scm said the "
		    "token is as fresh as before, initialise a fresh state "
		    "directory before trying again", r);

	rd.database = p->database;
	rd.archive_id.data = aid;
	rd.archive_id.len = BK_ID_LEN;
	rd.audit_seq = p->audit_seq;
	rd.audit_head = p->audit_head;
	rd.n_destroyed = skip.n;
	rd.destroyed = gone;
	blen = inkan__backup_restore_db__get_packed_size(&rd);
	if ((buf = malloc(blen)) == NULL)
		die(1, "out of memory");
	inkan__backup_restore_db__pack(&rd, buf);
	{
		char *argv_sam[] = { sam_bin, "--config", (char *)config,
		    "--restore-db", NULL };

		r = run_fed(argv_sam, buf, blen);
	}
	sodium_memzero(buf, blen);
	free(buf);
	if (r != 0)
		die(1, "backup restore: inkan-sam --restore-db failed (exit %d): "
		    "the keys are in the token but the database was not "
		    "replaced; initialise a fresh state directory before "
		    "trying again", r);
	printf("restored: %zu key(s) and the database of archive %s; %zu "
	    "credential(s) stay unusable\n", nkeys, idhex, skip.n);
	printf("next: start inkan-scm, inkan-sam and inkan-sic; inkan-sam "
	    "records backup.restore at its first start\n");
	sodium_memzero(plain, plen);
	free(plain);
	inkan__backup_payload__free_unpacked(p, NULL);
	free(keep);
	free(gone);
	free(skip.v);
	free(arch);
	free(scm_bin);
	free(sam_bin);
	return 0;
}

int inkanctl_backup(const char *config, const char *socket, int argc,
    char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_backup(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	optind = 0;     /* glibc: a full restart of getopt on the new argv */
	if (strcmp(argv[1], "create") == 0)
		return backup_create(config, socket, argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return backup_restore(config, argc - 1, argv + 1);
	usage_backup(stderr);
	return 2;
}
