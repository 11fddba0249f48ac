/* stats.c — inkan-bench: latency samples, percentiles and the list of
 * measured cases. No I/O here. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <openssl/evp.h>

#include "bench.h"

const struct bench_keyinfo bench_keys[BK_N] = {
	[BK_P256] = { "p256", 32, "1.2.840.10045.4.3.2", "2.16.840.1.101.3.4.2.1" },
	[BK_P384] = { "p384", 48, "1.2.840.10045.4.3.3", "2.16.840.1.101.3.4.2.2" },
	[BK_RSA2048] = { "rsa2048", 32, "1.2.840.113549.1.1.11",
	    "2.16.840.1.101.3.4.2.1" },
};

void die_oom(void)
{
	fprintf(stderr, "inkan-bench: out of memory\n");
	exit(2);
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		die_oom();
	return p;
}

char *b64_enc(const uint8_t *in, size_t n)
{
	char *out = xcalloc(4 * ((n + 2) / 3) + 1, 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

unsigned bench_key_mask = (1u << BK_N) - 1;

double proc_cpu_s(int pid)
{
	char path[64];
	struct dirent *de;
	double sum = 0;
	DIR *d;

	if (pid == 0) {
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) < 0)
			return -1;
		return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	}
	/* schedstat: nanoseconds on a CPU, per thread (stat's utime/stime
	 * count 10 ms ticks: too coarse for short cases) */
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char p2[128];
		unsigned long long ns = 0;
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof p2, "/proc/%d/task/%.20s/schedstat", pid,
		    de->d_name);
		fp = fopen(p2, "re");
		if (!fp)
			continue;
		if (fscanf(fp, "%llu", &ns) == 1)
			sum += (double)ns / 1e9;
		fclose(fp);
	}
	closedir(d);
	return sum;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		uint64_t *v = realloc(l->v, cap * sizeof *v);

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ns;
	return 0;
}

void lat_merge(struct lat *into, const struct lat *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (lat_add(into, from->v[i]) < 0)
			die_oom();
}

void lat_free(struct lat *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double lat_pct_us(struct lat *l, double q)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof l->v[0], cmp_u64);
	/* nearest rank */
	i = (size_t)(q * (double)l->n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > l->n)
		i = l->n;
	return (double)l->v[i - 1] / 1000.0;
}

struct result *results_new(struct results *rs, const char *kind, int key,
    unsigned threads, unsigned batch, const char *fmt, ...)
{
	struct result *r;
	va_list ap;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 64;
		struct result *v = realloc(rs->v, cap * sizeof *v);

		if (!v)
			die_oom();
		rs->v = v;
		rs->cap = cap;
	}
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->kind, sizeof r->kind, "%s", kind);
	r->key = key;
	r->threads = threads;
	r->batch = batch;
	va_start(ap, fmt);
	vsnprintf(r->name, sizeof r->name, fmt, ap);
	va_end(ap);
	return r;
}

struct result *results_find(struct results *rs, const char *kind, int key,
    unsigned threads, unsigned batch)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct result *r = &rs->v[i];

		if (!strcmp(r->kind, kind) && r->key == key &&
		    r->threads == threads && r->batch == batch)
			return r;
	}
	return NULL;
}

void result_finish(struct result *r, struct lat *l, double seconds)
{
	uint64_t units = r->sigs ? r->sigs : r->ops;

	r->seconds = seconds;
	r->rate = seconds > 0 ? (double)units / seconds : 0;
	r->p50_us = lat_pct_us(l, 0.50);
	r->p99_us = lat_pct_us(l, 0.99);
}
