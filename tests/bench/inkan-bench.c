/* inkan-bench.c — the signing-path benchmark (issue 8). In one run, on one
 * machine and one kind of SoftHSMv2 token, it measures:
 *   raw      C_Sign in this process, 1 and 2 threads (the HSM's limit);
 *   p11kit   the same C_Sign through `p11-kit server` + p11-kit-client.so;
 *   pwhash   crypto_pwhash_str_verify at the SAM's configured cost;
 *   login, authorize, inkan signHash (1/10/100 hashes x 1/8/64 connections)
 * and prints one line per case with signatures (or operations) per second,
 * p50/p99 latency and the ratios to the raw limit and to p11-kit, then a
 * JSON summary. tests/bench/run.sh starts the inkan it measures; see
 * docs/performance.md. --quick runs every case briefly (CI: it only checks
 * that every case ran; no timing is asserted). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "bench.h"
#include "inkan-config.h"

#ifndef BENCH_P11KIT
#define BENCH_P11KIT "/usr/bin/p11-kit"
#endif
#ifndef BENCH_P11KIT_CLIENT
#define BENCH_P11KIT_CLIENT "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
#endif

static void usage(FILE *fp)
{
	fprintf(fp,
	    "usage: inkan-bench [--quick] [--tap] --url URL [--cacert FILE]\n"
	    "                   --signers FILE [--multisign N] [--kdf interactive|moderate]\n"
	    "                   [--json FILE] [--seconds S] [--module PATH]\n"
	    "                   [--p11kit PATH] [--p11kit-client PATH] [--no-p11] [--no-inkan]\n"
	    "                   [--keys p256,p384,rsa2048] [--batches 1,10,100] [--conns 1,8,64]\n"
	    "                   [--scale N] [--pids SIC,SAM,SCM] [--hook CMD]\n"
	    "       inkan-bench --plan [--quick] [--multisign N] [--keys ..] [--batches ..]\n"
	    "                   [--conns ..] [--scale N]\n"
	    "  --plan     print how many signers of each key type a run needs\n"
	    "  --scale    full mode: N times the requests of each signing case\n"
	    "  --pids     report the daemons' CPU time per case (from /proc)\n"
	    "  --hook     run 'CMD start|stop CASE' around each signing case (profilers)\n"
	    "  signers file: one line per signer: KEYTYPE USER PASSWORD PIN TOTPSECRET CREDID\n");
}

/* ---- pwhash baseline ---------------------------------------------------- */

struct pw_job {
	const char *hash;
	unsigned n;
	pthread_barrier_t *bar;
	struct lat lat;
	uint64_t t0, t1;
	int bad;
};

static void *pw_thread(void *arg)
{
	struct pw_job *j = arg;

	pthread_barrier_wait(j->bar);
	j->t0 = now_ns();
	for (unsigned i = 0; i < j->n; i++) {
		uint64_t a = now_ns();

		if (crypto_pwhash_str_verify(j->hash, "123456", 6) != 0)
			j->bad++;
		if (lat_add(&j->lat, now_ns() - a) < 0)
			die_oom();
	}
	j->t1 = now_ns();
	return NULL;
}

/* The SAM verifies the PIN (and the login password) with
 * crypto_pwhash_str_verify on an Argon2id string made at its `kdf` limits. */
static void pwhash_bench(struct results *rs, bool moderate, unsigned per_thread)
{
	char hash[crypto_pwhash_STRBYTES];
	unsigned long long ops = moderate ? crypto_pwhash_OPSLIMIT_MODERATE :
	    crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = moderate ? crypto_pwhash_MEMLIMIT_MODERATE :
	    crypto_pwhash_MEMLIMIT_INTERACTIVE;

	if (crypto_pwhash_str(hash, "123456", 6, ops, mem) != 0) {
		struct result *r = results_new(rs, "pwhash", -1, 1, 0,
		    "pwhash verify t1");

		snprintf(r->note, sizeof r->note, "crypto_pwhash_str failed");
		return;
	}
	for (unsigned t = 1; t <= 2; t++) {
		struct result *r = results_new(rs, "pwhash", -1, t, 0,
		    "pwhash verify t%u", t);
		struct pw_job jobs[2];
		pthread_t th[2];
		pthread_barrier_t bar;
		struct lat all = { 0 };
		uint64_t t0 = UINT64_MAX, t1 = 0;
		int bad = 0;

		pthread_barrier_init(&bar, NULL, t);
		for (unsigned i = 0; i < t; i++) {
			jobs[i] = (struct pw_job){ .hash = hash, .n = per_thread,
			    .bar = &bar };
			pthread_create(&th[i], NULL, pw_thread, &jobs[i]);
		}
		for (unsigned i = 0; i < t; i++) {
			pthread_join(th[i], NULL);
			if (jobs[i].t0 < t0)
				t0 = jobs[i].t0;
			if (jobs[i].t1 > t1)
				t1 = jobs[i].t1;
			bad += jobs[i].bad;
			lat_merge(&all, &jobs[i].lat);
			lat_free(&jobs[i].lat);
		}
		pthread_barrier_destroy(&bar);
		r->ops = all.n;
		r->errors = (uint64_t)bad;
		result_finish(r, &all, (double)(t1 - t0) / 1e9);
		r->ran = bad == 0 && r->ops > 0;
		if (bad)
			snprintf(r->note, sizeof r->note, "verification failed");
		lat_free(&all);
	}
}

/* ---- disk baseline ------------------------------------------------------- */

/* What one durable record costs on the file system of the state directory:
 * inkan-sam makes its SQLite commits and audit records durable this way. */
static void fsync_bench(struct results *rs, const char *dir, unsigned n)
{
	struct result *r = results_new(rs, "fsync", -1, 1, 0,
	    "append+fdatasync");
	char path[4096], rec[256];
	struct lat l = { 0 };
	uint64_t t0;
	int fd;

	snprintf(path, sizeof path, "%s/inkan-bench-fsync.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		snprintf(r->note, sizeof r->note, "mkstemp in %s failed", dir);
		return;
	}
	unlink(path);
	memset(rec, 'a', sizeof rec);
	t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = now_ns();

		if (write(fd, rec, sizeof rec) != (ssize_t)sizeof rec ||
		    fdatasync(fd) < 0) {
			r->errors++;
			snprintf(r->note, sizeof r->note, "write/fdatasync failed");
			break;
		}
		if (lat_add(&l, now_ns() - a) < 0)
			die_oom();
	}
	close(fd);
	r->ops = l.n;
	result_finish(r, &l, (double)(now_ns() - t0) / 1e9);
	r->ran = r->errors == 0 && r->ops == n;
	lat_free(&l);
}

/* ---- signers file ------------------------------------------------------- */

static int key_by_name(const char *s)
{
	for (int k = 0; k < BK_N; k++)
		if (!strcmp(s, bench_keys[k].name))
			return k;
	return -1;
}

static int load_signers(const char *path, struct signer **out, size_t *n_out)
{
	FILE *fp = fopen(path, "re");
	struct signer *v = NULL;
	size_t n = 0, cap = 0;
	char line[1024];

	if (!fp)
		return -errno;
	while (fgets(line, sizeof line, fp)) {
		char kt[16];
		struct signer s;

		memset(&s, 0, sizeof s);
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%15s %63s %95s %31s %127s %95s", kt, s.user,
		    s.password, s.pin, s.secret, s.cred) != 6 ||
		    (s.key = key_by_name(kt)) < 0) {
			fclose(fp);
			free(v);
			return -EINVAL;
		}
		s.last_step = INT64_MIN / 2;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = realloc(v, cap * sizeof *v);
			if (!v)
				die_oom();
		}
		v[n++] = s;
	}
	memset(line, 0, sizeof line);
	fclose(fp);
	*out = v;
	*n_out = n;
	return 0;
}

/* "a,b,c" -> bit mask of the entries found in names/values; -1 if unknown */
static long parse_list(const char *arg, const char *const *names,
    const unsigned *values, int n)
{
	char buf[128], *save = NULL, *tok;
	long mask = 0;

	snprintf(buf, sizeof buf, "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < n; i++)
			if ((names && !strcmp(tok, names[i])) ||
			    (values && strtoul(tok, NULL, 10) == values[i]))
				break;
		if (i == n)
			return -1;
		mask |= 1L << i;
	}
	return mask ? mask : -1;
}

/* 1-minute load average: other work on the machine skews every figure. */
static double loadavg(void)
{
	double l = -1;
	FILE *fp = fopen("/proc/loadavg", "re");

	if (fp) {
		if (fscanf(fp, "%lf", &l) != 1)
			l = -1;
		fclose(fp);
	}
	return l;
}

static double load_start = -1, load_end = -1;

/* ---- report ------------------------------------------------------------- */

static double raw_limit(struct results *rs, int key)
{
	struct result *r = results_find(rs, "raw", key, 2, 1);

	return r && r->ran ? r->rate : 0;
}

static double p11kit_figure(struct results *rs, int key)
{
	struct result *a = results_find(rs, "p11kit", key, 1, 1);
	struct result *b = results_find(rs, "p11kit", key, 2, 1);
	double x = a && a->ran ? a->rate : 0, y = b && b->ran ? b->rate : 0;

	return x > y ? x : y;
}

static double pwhash_rate(struct results *rs, unsigned threads)
{
	struct result *r = results_find(rs, "pwhash", -1, threads > 1 ? 2 : 1, 0);

	return r && r->ran ? r->rate : 0;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static bool is_sign(const struct result *r)
{
	return !strcmp(r->kind, "raw") || !strcmp(r->kind, "p11kit") ||
	    !strcmp(r->kind, "inkan");
}

static void line(struct results *rs, const struct result *r, bool tap,
    char *out, size_t n)
{
	char rat[96] = "";

	if (is_sign(r) && r->key >= 0)
		snprintf(rat, sizeof rat, "x raw %5.3f  x p11kit %6.3f",
		    ratio(r->rate, raw_limit(rs, r->key)),
		    ratio(r->rate, p11kit_figure(rs, r->key)));
	else if (!strcmp(r->kind, "authorize") || !strcmp(r->kind, "login"))
		snprintf(rat, sizeof rat, "x pwhash %5.3f",
		    ratio(r->rate, pwhash_rate(rs, r->threads)));
	snprintf(out, n, "%s%-22s %10.1f %-5s  p50 %10.1f us  p99 %10.1f us  %s%s%s",
	    tap ? "# " : "", r->name, r->rate, is_sign(r) ? "sig/s" : "op/s",
	    r->p50_us, r->p99_us, rat, r->ran ? (r->errors ?
	    "  (retried errors: " : "") : "  FAILED: ",
	    r->ran ? (r->errors ? r->note : "") :
	    (r->note[0] ? r->note : "did not run"));
	if (r->ran && r->errors)
		snprintf(out + strlen(out), n - strlen(out), ")");
	if (r->has_cpu && r->ops) {
		double per = (double)(r->sigs ? r->sigs : r->ops);

		snprintf(out + strlen(out), n - strlen(out), "\n%s%22s cpu us/%s: "
		    "sic %.1f  sam %.1f  scm %.1f  client %.1f", tap ? "# " : "",
		    "", r->sigs ? "sig" : "op", 1e6 * r->cpu_s[0] / per,
		    1e6 * r->cpu_s[1] / per, 1e6 * r->cpu_s[2] / per,
		    1e6 * r->cpu_s[3] / per);
	}
}

/* The targets, P-256, each at its best connection count. */
struct target {
	const char *what;
	double got, want;
	bool met;
};

static double best_inkan(struct results *rs, int key, unsigned batch,
    unsigned *conns)
{
	double best = 0;

	for (size_t i = 0; i < rs->n; i++) {
		struct result *r = &rs->v[i];

		if (strcmp(r->kind, "inkan") || r->key != key ||
		    r->batch != batch || !r->ran)
			continue;
		if (r->rate > best) {
			best = r->rate;
			*conns = r->threads;
		}
	}
	return best;
}

static size_t targets(struct results *rs, struct target *t)
{
	double lim = raw_limit(rs, BK_P256), p11 = p11kit_figure(rs, BK_P256);
	struct result *one = results_find(rs, "inkan", BK_P256, 1, 1);
	struct result *raw1 = results_find(rs, "raw", BK_P256, 1, 1);
	unsigned c = 0;
	double v;

	v = ratio(best_inkan(rs, BK_P256, 100, &c), lim);
	t[0] = (struct target){ "P-256 100-hash requests / raw 2-thread", v,
	    0.90, v >= 0.90 };
	v = ratio(best_inkan(rs, BK_P256, 10, &c), lim);
	t[1] = (struct target){ "P-256 10-hash requests / raw 2-thread", v,
	    0.75, v >= 0.75 };
	v = ratio(best_inkan(rs, BK_P256, 1, &c), lim);
	t[2] = (struct target){ "P-256 1-hash requests / raw 2-thread", v,
	    0.40, v >= 0.40 };
	v = ratio(best_inkan(rs, BK_P256, 10, &c), p11);
	t[3] = (struct target){ "P-256 10-hash requests / p11-kit", v, 1.0,
	    v > 1.0 };
	v = one && raw1 && one->ran && raw1->ran ? one->p50_us - raw1->p50_us : 0;
	t[4] = (struct target){ "P-256 added p50, 1 hash, 1 connection (us)",
	    v, 500, one && one->ran && v <= 500 };
	return 5;
}

static json_t *jnum(double v)
{
	return json_real(v != v ? 0 : v);
}

static int write_json(const char *path, struct results *rs, bool quick,
    const char *url, const char *kdf, unsigned multisign)
{
	json_t *root = json_object(), *cases = json_array(), *tg = json_array();
	json_t *m = json_object();
	struct target t[8];
	struct utsname u;
	char cpu[256] = "?";
	FILE *fp = fopen("/proc/cpuinfo", "re");
	size_t nt;
	int r;

	if (fp) {
		char l[512];

		while (fgets(l, sizeof l, fp))
			if (!strncmp(l, "model name", 10) && strchr(l, ':')) {
				snprintf(cpu, sizeof cpu, "%s", strchr(l, ':') + 2);
				cpu[strcspn(cpu, "\n")] = '\0';
				break;
			}
		fclose(fp);
	}
	uname(&u);
	json_object_set_new(m, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_set_new(m, "cpu", json_string(cpu));
	json_object_set_new(m, "kernel", json_string(u.release));
	json_object_set_new(root, "machine", m);
	json_object_set_new(root, "time", json_integer((json_int_t)time(NULL)));
	json_object_set_new(root, "mode", json_string(quick ? "quick" : "full"));
	json_object_set_new(root, "url_scheme",
	    json_string(url && !strncmp(url, "https:", 6) ? "https" : "http"));
	json_object_set_new(root, "kdf", json_string(kdf));
	json_object_set_new(root, "loadavg_start", jnum(load_start));
	json_object_set_new(root, "loadavg_end", jnum(load_end));
	json_object_set_new(root, "multisign", json_integer(multisign));
	for (size_t i = 0; i < rs->n; i++) {
		struct result *c = &rs->v[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(c->name));
		json_object_set_new(o, "kind", json_string(c->kind));
		if (c->key >= 0)
			json_object_set_new(o, "key",
			    json_string(bench_keys[c->key].name));
		json_object_set_new(o, strcmp(c->kind, "inkan") &&
		    strcmp(c->kind, "authorize") && strcmp(c->kind, "login") ?
		    "threads" : "connections", json_integer(c->threads));
		if (c->batch)
			json_object_set_new(o, "batch", json_integer(c->batch));
		json_object_set_new(o, "operations", json_integer((json_int_t)c->ops));
		json_object_set_new(o, "signatures", json_integer((json_int_t)c->sigs));
		json_object_set_new(o, "errors", json_integer((json_int_t)c->errors));
		json_object_set_new(o, "seconds", jnum(c->seconds));
		json_object_set_new(o, is_sign(c) ? "signatures_per_s" :
		    "operations_per_s", jnum(c->rate));
		json_object_set_new(o, "p50_us", jnum(c->p50_us));
		json_object_set_new(o, "p99_us", jnum(c->p99_us));
		if (is_sign(c) && c->key >= 0) {
			json_object_set_new(o, "ratio_raw",
			    jnum(ratio(c->rate, raw_limit(rs, c->key))));
			json_object_set_new(o, "ratio_p11kit",
			    jnum(ratio(c->rate, p11kit_figure(rs, c->key))));
		}
		if (!strcmp(c->kind, "authorize") || !strcmp(c->kind, "login"))
			json_object_set_new(o, "ratio_pwhash",
			    jnum(ratio(c->rate, pwhash_rate(rs, c->threads))));
		if (!strcmp(c->kind, "inkan")) {
			struct result *r1 = results_find(rs, "raw", c->key, 1, 1);

			if (r1 && r1->ran)
				json_object_set_new(o, "added_p50_us",
				    jnum(c->p50_us - c->batch * r1->p50_us));
		}
		if (c->has_cpu) {
			json_t *cs = json_object();

			json_object_set_new(cs, "inkan-sic", jnum(c->cpu_s[0]));
			json_object_set_new(cs, "inkan-sam", jnum(c->cpu_s[1]));
			json_object_set_new(cs, "inkan-scm", jnum(c->cpu_s[2]));
			json_object_set_new(cs, "client", jnum(c->cpu_s[3]));
			json_object_set_new(o, "cpu_seconds", cs);
		}
		json_object_set_new(o, "ran", json_boolean(c->ran));
		if (c->note[0])
			json_object_set_new(o, "note", json_string(c->note));
		json_array_append_new(cases, o);
	}
	json_object_set_new(root, "cases", cases);
	nt = targets(rs, t);
	for (size_t i = 0; i < nt; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "target", json_string(t[i].what));
		json_object_set_new(o, "measured", jnum(t[i].got));
		json_object_set_new(o, "wanted", jnum(t[i].want));
		json_object_set_new(o, "met", json_boolean(t[i].met));
		json_array_append_new(tg, o);
	}
	json_object_set_new(root, "targets", tg);
	r = json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return r == 0 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "tap", no_argument, NULL, 't' },
		{ "plan", no_argument, NULL, 'P' },
		{ "url", required_argument, NULL, 'u' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "signers", required_argument, NULL, 's' },
		{ "multisign", required_argument, NULL, 'm' },
		{ "kdf", required_argument, NULL, 'k' },
		{ "json", required_argument, NULL, 'j' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "module", required_argument, NULL, 'M' },
		{ "p11kit", required_argument, NULL, 'K' },
		{ "p11kit-client", required_argument, NULL, 'C' },
		{ "no-p11", no_argument, NULL, '1' },
		{ "no-inkan", no_argument, NULL, '2' },
		{ "keys", required_argument, NULL, 'y' },
		{ "batches", required_argument, NULL, 'b' },
		{ "conns", required_argument, NULL, 'n' },
		{ "scale", required_argument, NULL, 'x' },
		{ "pids", required_argument, NULL, 'p' },
		{ "hook", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct p11_opts po = {
		.module = INKAN_SOFTHSM_MODULE,
		.p11kit = BENCH_P11KIT,
		.client_module = BENCH_P11KIT_CLIENT,
		.tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	};
	struct csc_opts co = { .multisign = 256, .verify = true, .scale = 1 };
	const char *key_names[BK_N];
	long mask;
	const char *signers = NULL, *json = NULL, *kdf = "interactive";
	bool quick = false, tap = false, plan = false, no_p11 = false,
	    no_inkan = false;
	double secs = -1;
	struct results rs = { 0 };
	struct target t[8];
	size_t nt, failed = 0;
	char buf[512];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; break;
		case 't': tap = true; break;
		case 'P': plan = true; break;
		case 'u': co.url = optarg; break;
		case 'c': co.cacert = optarg; break;
		case 's': signers = optarg; break;
		case 'm': co.multisign = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': kdf = optarg; break;
		case 'j': json = optarg; break;
		case 'S': secs = strtod(optarg, NULL); break;
		case 'M': po.module = optarg; break;
		case 'K': po.p11kit = optarg; break;
		case 'C': po.client_module = optarg; break;
		case '1': no_p11 = true; break;
		case '2': no_inkan = true; break;
		case 'y':
			for (int k = 0; k < BK_N; k++)
				key_names[k] = bench_keys[k].name;
			if ((mask = parse_list(optarg, key_names, NULL, BK_N)) < 0) {
				usage(stderr);
				return 2;
			}
			bench_key_mask = (unsigned)mask;
			break;
		case 'b':
			if ((mask = parse_list(optarg, NULL, bench_batches,
			    N_BATCH)) < 0) {
				usage(stderr);
				return 2;
			}
			bench_batch_mask = (unsigned)mask;
			break;
		case 'n':
			if ((mask = parse_list(optarg, NULL, bench_conns,
			    N_CONNS)) < 0) {
				usage(stderr);
				return 2;
			}
			bench_conn_mask = (unsigned)mask;
			break;
		case 'x': co.scale = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p':
			if (sscanf(optarg, "%d,%d,%d", &co.pids[0], &co.pids[1],
			    &co.pids[2]) != 3) {
				usage(stderr);
				return 2;
			}
			break;
		case 'H': co.hook = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || co.multisign < 1 || co.multisign > 1024 ||
	    co.scale < 1 || co.scale > 100 ||
	    (strcmp(kdf, "interactive") && strcmp(kdf, "moderate"))) {
		usage(stderr);
		return 2;
	}
	if (plan) {
		for (int k = 0; k < BK_N; k++)
			printf("%s %u\n", bench_keys[k].name,
			    plan_signers(k, quick, co.scale, co.multisign));
		return 0;
	}
	if (!no_inkan && (!co.url || !signers)) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "inkan-bench: library initialisation failed\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	co.quick = quick;
	po.seconds = secs > 0 ? secs : quick ? 0.2 : 2.0;

	load_start = loadavg();
	if (load_start > 1.0)
		fprintf(stderr, "inkan-bench: the load average is %.2f before the "
		    "run: other work will skew the figures\n", load_start);
	if (!no_p11)
		p11_bench(&po, &rs);
	pwhash_bench(&rs, !strcmp(kdf, "moderate"), quick ? 2 : 12);
	fsync_bench(&rs, po.tmpdir, quick ? 50 : 1000);
	if (!no_inkan) {
		int r = load_signers(signers, &co.signers, &co.n_signers);

		if (r < 0) {
			fprintf(stderr, "inkan-bench: signers file %s: %s\n",
			    signers, strerror(-r));
			return 2;
		}
		csc_bench(&co, &rs);
	}

	load_end = loadavg();
	printf("%s%ld CPUs; load average %.2f before, %.2f after the run\n",
	    tap ? "# " : "", sysconf(_SC_NPROCESSORS_ONLN), load_start,
	    load_end);
	if (!tap)
		printf("%-22s %10s %-5s  %-17s %-18s %s\n", "case", "rate", "",
		    "p50", "p99", "ratios");
	for (size_t i = 0; i < rs.n; i++) {
		line(&rs, &rs.v[i], tap, buf, sizeof buf);
		if (tap)
			printf("%s\n%sok %zu - %s%s%s\n", buf,
			    rs.v[i].ran ? "" : "not ", i + 1, rs.v[i].name,
			    rs.v[i].ran ? " ran" : " # ",
			    rs.v[i].ran ? "" : rs.v[i].note);
		else
			printf("%s\n", buf);
		if (!rs.v[i].ran)
			failed++;
	}
	nt = targets(&rs, t);
	printf("%sissue 8 targets (P-256; each batch size at its best "
	    "connection count; reported, not asserted):\n", tap ? "# " : "");
	for (size_t i = 0; i < nt; i++)
		printf("%s  %-46s %9.3f  want %s %7.2f  %s\n", tap ? "# " : "",
		    t[i].what, t[i].got, i == 4 ? "<=" : ">=", t[i].want,
		    t[i].met ? "met" : "NOT met");
	if (json) {
		if (write_json(json, &rs, quick, co.url, kdf, co.multisign) < 0) {
			fprintf(stderr, "inkan-bench: cannot write %s\n", json);
			failed++;
		} else if (!tap) {
			printf("summary: %s\n", json);
		}
	}
	if (tap)
		printf("1..%zu\n", rs.n);
	if (co.signers) {
		sodium_memzero(co.signers, co.n_signers * sizeof *co.signers);
		free(co.signers);
	}
	free(rs.v);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
