/* SPDX-License-Identifier: MIT */
/*
 * sandbox_bench.c: bench-sandbox, figures for the session sandbox through the client library (no
 * HTTP): zygote start-up, spawn latency with the standby pool warm and in a burst, first and warm
 * execution round trips, idle memory per session, soft-timeout and hard-kill latencies. Prints
 * medians and p90; never fails on a number (sandbox-notes §4: the machine is noisy).
 *
 *   bench-sandbox [-n sessions] [-e execs] [-g gap_ms] [-s state_dir]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void report(const char *what, double *v, size_t n)
{
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("%-44s p50 %8.3f  p90 %8.3f  mean %8.3f  max %8.3f ms  (n=%zu)\n", what, v[n / 2],
	       v[n * 9 / 10], sum / (double)n, v[n - 1], n);
}

static int exec_code(struct sbx_session *s, const char *code, unsigned timeout_ms,
		     unsigned grace_ms, struct sbx_exec_result *r)
{
	struct sbx_exec_request req = {code, strlen(code), timeout_ms, grace_ms, 4096};
	struct sp_err err = {0};
	int rc = sbx_session_exec(s, &req, r, &err);
	if (rc < 0)
		fprintf(stderr, "exec: %s\n", err.msg);
	return rc;
}

/* Private (USS) and proportional (PSS) memory of |pid| in kB. */
static int memory_of(pid_t pid, long *uss, long *pss)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	*uss = *pss = 0;
	while (fgets(line, sizeof(line), f)) {
		long v;
		if (sscanf(line, "Private_Clean: %ld", &v) == 1 ||
		    sscanf(line, "Private_Dirty: %ld", &v) == 1)
			*uss += v;
		else if (sscanf(line, "Pss: %ld", &v) == 1)
			*pss = v;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned nsess = 20, nexec = 2000, gap_ms = 30;
	const char *state = "/tmp/sessionpool-bench-state";
	int c;

	while ((c = getopt(argc, argv, "n:e:g:s:")) != -1) {
		switch (c) {
		case 'n':
			nsess = (unsigned)atoi(optarg);
			break;
		case 'e':
			nexec = (unsigned)atoi(optarg);
			break;
		case 'g':
			gap_ms = (unsigned)atoi(optarg);
			break;
		case 's':
			state = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n sessions] [-e execs] [-g gap_ms] [-s state]\n",
				argv[0]);
			return 2;
		}
	}
	if (nsess < 2)
		nsess = 2;
	mkdir(state, 0755);
	char root[300];
	snprintf(root, sizeof(root), "%s/hosts.XXXXXX", state);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}

	struct sbx_options opt;
	sbx_options_init(&opt);
	opt.zygote_path = SBX_BENCH_ZYGOTE;
	opt.state_dir = state;
	struct sbx_zygote *z;
	struct sp_err err = {0};
	double t0 = now_ms();
	if (sbx_zygote_start(&opt, &z, &err) < 0) {
		fprintf(stderr, "zygote: %s\n", err.msg);
		return 1;
	}
	printf("zygote start (preload, probe, standby pool): %.0f ms, isolation %s, python %s\n",
	       now_ms() - t0, sbx_isolation_name(sbx_zygote_isolation(z)),
	       sbx_zygote_python_version(z));

	struct sbx_session **ss = calloc(2 * nsess, sizeof(*ss));
	double *spawn = calloc(nsess, sizeof(double)), *first = calloc(nsess, sizeof(double));
	double *burst = calloc(nsess, sizeof(double));
	double *warm = calloc(nexec, sizeof(double));
	struct sbx_exec_result r;
	for (unsigned phase = 0; phase < 2; phase++) {
		for (unsigned i = 0; i < nsess; i++) {
			unsigned slot = phase * nsess + i;
			char dir[400];
			snprintf(dir, sizeof(dir), "%s/h%u", root, slot);
			mkdir(dir, 0700);
			uid_t u = sbx_zygote_slot_uid(z, slot);
			if (u != (uid_t)-1 && chown(dir, u, u) < 0)
				perror("chown");
			if (phase == 0)
				usleep(gap_ms * 1000);
			double a = now_ms();
			if (sbx_session_spawn(z, dir, slot, &ss[slot], &err) < 0) {
				fprintf(stderr, "spawn: %s\n", err.msg);
				return 1;
			}
			double b = now_ms();
			if (exec_code(ss[slot], "print(1)", 10000, 1000, &r) < 0)
				return 1;
			sbx_exec_result_fini(&r);
			(phase == 0 ? spawn : burst)[i] = b - a;
			if (phase == 0)
				first[i] = now_ms() - b;
		}
	}
	char what[80];
	snprintf(what, sizeof(what), "spawn → ready, %u ms apart (standby pool)", gap_ms);
	report(what, spawn, nsess);
	report("spawn → ready, back to back (burst)", burst, nsess);
	report("first exec print(1) after spawn", first, nsess);

	usleep(200 * 1000);
	long uss_sum = 0, pss_sum = 0;
	for (unsigned i = 0; i < nsess; i++) {
		long uss = 0, pss = 0;
		if (memory_of(sbx_session_pid(ss[i]), &uss, &pss) == 0) {
			uss_sum += uss;
			pss_sum += pss;
		}
	}
	printf("%-44s USS %.1f MB  PSS %.1f MB  (mean of %u, smaps_rollup)\n",
	       "idle session after print(1)", (double)uss_sum / nsess / 1024.0,
	       (double)pss_sum / nsess / 1024.0, nsess);

	if (exec_code(ss[0], "x = 41", 10000, 1000, &r) < 0)
		return 1;
	sbx_exec_result_fini(&r);
	for (unsigned i = 0; i < nexec; i++) {
		double a = now_ms();
		if (exec_code(ss[0], "x + 1", 10000, 1000, &r) < 0)
			return 1;
		warm[i] = now_ms() - a;
		sbx_exec_result_fini(&r);
	}
	report("warm exec `x + 1` round trip", warm, nexec);

	double soft[10], hard[10];
	for (unsigned i = 0; i < 10; i++) {
		double a = now_ms();
		exec_code(ss[1], "while True:\n    pass", 100, 5000, &r);
		soft[i] = now_ms() - a - 100;
		sbx_exec_result_fini(&r);
		a = now_ms();
		exec_code(ss[1], "sum(range(10**12))", 100, 100, &r);
		hard[i] = now_ms() - a - 200;
		sbx_exec_result_fini(&r);
	}
	report("soft timeout: deadline → reply (state kept)", soft, 10);
	report("hard timeout: kill + fresh interpreter", hard, 10);

	for (unsigned i = 0; i < 2 * nsess; i++)
		sbx_session_free(ss[i]);
	sbx_zygote_stop(z);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	free(ss);
	free(spawn);
	free(first);
	free(burst);
	free(warm);
	return 0;
}
