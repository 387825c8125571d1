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
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

extern char **environ;

/* The workload, timed inside the interpreter: returns [wall ms, CPU ms]. CPU time is the
 * steadier figure on a shared machine, where another tenant may hold a CPU for a while. */
static const char workload_def[] =
    "def _workload(d):\n"
    "    import time, numpy as np, pandas as pd, matplotlib.pyplot as plt\n"
    "    t0, c0 = time.perf_counter(), time.process_time()\n"
    "    rng = np.random.default_rng(0)\n"
    "    for i in range(5):\n"
    "        df = pd.DataFrame({'k': rng.integers(0, 1000, 100_000), 'v': rng.random(100_000)})\n"
    "        g = df.groupby('k')['v'].agg(['mean', 'sum', 'count'])\n"
    "    df.to_csv(d + '/w.csv', index=False)\n"
    "    back = pd.read_csv(d + '/w.csv')\n"
    "    assert len(back) == 100_000\n"
    "    fig, ax = plt.subplots()\n"
    "    ax.plot(g.index, g['mean'])\n"
    "    fig.savefig(d + '/w.png')\n"
    "    plt.close(fig)\n"
    "    return [(time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000]\n";

/* What the zygote does before forking (sandbox/repl.py init()), for the unsandboxed ones. */
static const char plain_preload[] =
    "import sys, io, numpy, pandas, matplotlib\n"
    "matplotlib.use('Agg')\n"
    "import matplotlib.pyplot as plt\n"
    "pandas.DataFrame({'a': numpy.arange(1000), 'b': numpy.arange(1000) % 7})"
    ".groupby('b').describe()\n"
    "fig = plt.figure(); plt.plot([1, 2, 3], [1, 4, 9])\n"
    "fig.savefig(io.BytesIO(), format='png', bbox_inches='tight'); plt.close('all')\n";

/* Figures of one process: wall and CPU ms of the first and the second workload run. */
enum { W_WALL1, W_WALL2, W_CPU1, W_CPU2, W_N };

/* One sandboxed run: a fresh session on a fresh directory; the workload twice. */
static int workload_sandboxed(struct sbx_zygote *z, const char *dir, unsigned slot, double out[W_N])
{
	struct sbx_session *s = NULL;
	struct sp_err err = {0};
	if (sbx_session_spawn(z, dir, slot, &s, &err) < 0) {
		fprintf(stderr, "spawn: %s\n", err.msg);
		return -1;
	}
	char code[sizeof(workload_def) + 64];
	snprintf(code, sizeof(code), "%s_workload('/mnt/data')", workload_def);
	int rc = 0;
	for (int i = 0; i < 2 && rc == 0; i++) {
		struct sbx_exec_result r;
		rc = exec_code(s, code, 120000, 2000, &r);
		if (rc < 0)
			break;
		if (r.outcome != SBX_OUTCOME_OK || !r.value ||
		    sscanf(r.value, "[%lf,%lf]", &out[W_WALL1 + i], &out[W_CPU1 + i]) != 2) {
			fprintf(stderr, "workload: %s %s\n", r.value ? r.value : "", r.stderr_text);
			rc = -1;
		}
		sbx_exec_result_fini(&r);
	}
	sbx_session_free(s);
	return rc;
}

/* One unsandboxed run with the zygote's environment, preload untimed: Debian's
 * /usr/bin/python3, or (|embedded|) bench-pyembed, libpython embedded as in the zygote. */
static int workload_plain(bool embedded, const char *dir, const char *mplconfig, double out[W_N])
{
	static char code[sizeof(workload_def) + sizeof(plain_preload) + 128];
	snprintf(code, sizeof(code), "%s%sprint(_workload(sys.argv[1]), _workload(sys.argv[1]))\n",
		 plain_preload, workload_def);
	char mpl[400], home[440];
	snprintf(mpl, sizeof(mpl), "MPLCONFIGDIR=%s", mplconfig);
	snprintf(home, sizeof(home), "HOME=%s", dir);
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
		       "LANG=C.UTF-8",
		       home,
		       mpl,
		       "MPLBACKEND=Agg",
		       "OPENBLAS_NUM_THREADS=1",
		       "OMP_NUM_THREADS=1",
		       "MKL_NUM_THREADS=1",
		       NULL};
	char *plain[] = {"/usr/bin/python3", "-s", "-E", "-c", code, (char *)dir, NULL};
	char *embed[] = {SBX_BENCH_PYEMBED, code, (char *)dir, NULL};
	char **argv = embedded ? embed : plain;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return -1;
	}
	char buf[256];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 && (n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    sscanf(buf, "[%lf, %lf] [%lf, %lf]", &out[W_WALL1], &out[W_CPU1], &out[W_WALL2],
		   &out[W_CPU2]) != 4) {
		fprintf(stderr, "%s failed: %s\n", argv[0], buf);
		return -1;
	}
	return 0;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bench_workload(const char *state, const char *root, unsigned runs)
{
	struct sbx_options opt;
	sbx_options_init(&opt);
	opt.zygote_path = SBX_BENCH_ZYGOTE;
	opt.state_dir = state;
	struct sbx_zygote *z;
	struct sp_err err = {0};
	if (sbx_zygote_start(&opt, &z, &err) < 0) {
		fprintf(stderr, "zygote: %s\n", err.msg);
		return 1;
	}
	/* The zygote's font cache, so that the others do not build one either. */
	char mpl[300];
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(mpl, sizeof(mpl), "%s/sessionpool/matplotlib", xdg);
	else
		snprintf(mpl, sizeof(mpl), "%s/.cache/sessionpool/matplotlib",
			 home ? home : "/tmp");
	printf("workload: 5 x 100k-row groupby, CSV round trip, savefig; %u runs of each, in turn; "
	       "isolation %s, cgroups %s\n",
	       runs, sbx_isolation_name(sbx_zygote_isolation(z)), sbx_zygote_cgroups(z));
	/* [variant][figure] arrays over runs: 0 sandboxed, 1 embedded, 2 plain. */
	double *v[3][W_N];
	for (int k = 0; k < 3; k++)
		for (int f = 0; f < W_N; f++)
			v[k][f] = calloc(runs, sizeof(double));
	unsigned done = 0;
	for (unsigned i = 0; i < runs; i++) {
		char dir[3][400];
		double fig[3][W_N];
		for (int k = 0; k < 3; k++) {
			snprintf(dir[k], sizeof(dir[k]), "%s/%c%u", root, "sep"[k], i);
			mkdir(dir[k], 0700);
		}
		uid_t u = sbx_zygote_slot_uid(z, i);
		if (u != (uid_t)-1 && chown(dir[0], u, u) < 0)
			perror("chown");
		if (workload_sandboxed(z, dir[0], i, fig[0]) < 0 ||
		    workload_plain(true, dir[1], mpl, fig[1]) < 0 ||
		    workload_plain(false, dir[2], mpl, fig[2]) < 0)
			break;
		for (int k = 0; k < 3; k++)
			for (int f = 0; f < W_N; f++)
				v[k][f][done] = fig[k][f];
		if (getenv("SBX_BENCH_VERBOSE"))
			printf("run %2u wall/cpu ms: sandboxed %5.0f/%5.0f %5.0f/%5.0f  embedded "
			       "%5.0f/%5.0f %5.0f/%5.0f  plain %5.0f/%5.0f %5.0f/%5.0f\n",
			       i, fig[0][0], fig[0][2], fig[0][1], fig[0][3], fig[1][0], fig[1][2],
			       fig[1][1], fig[1][3], fig[2][0], fig[2][2], fig[2][1], fig[2][3]);
		done++;
	}
	sbx_zygote_stop(z);
	if (!done)
		return 1;
	/* Ratios are medians of the ratios within each run (the three processes of a run ran
	 * back to back), steadier than ratios of medians when the machine's speed drifts. */
	printf("%-28s %10s %10s %10s %9s %9s\n", "median (ms)", "sandboxed", "embedded", "plain",
	       "sbx/emb", "sbx/plain");
	static const char *const rows[W_N] = {"wall, first run", "wall, second run (warm)",
					      "CPU, first run", "CPU, second run (warm)"};
	double *ratio = calloc(done, sizeof(double));
	for (int f = 0; f < W_N && ratio; f++) {
		double m[3], q[2];
		for (int j = 0; j < 2; j++) {
			for (unsigned i = 0; i < done; i++)
				ratio[i] = v[0][f][i] / v[1 + j][f][i];
			q[j] = median(ratio, done);
		}
		for (int k = 0; k < 3; k++)
			m[k] = median(v[k][f], done);
		printf("%-28s %10.1f %10.1f %10.1f %9.3f %9.3f\n", rows[f], m[0], m[1], m[2], q[0],
		       q[1]);
	}
	free(ratio);
	printf(
	    "(n=%u. sandboxed: a fresh session forked by the zygote, with seccomp, namespaces and "
	    "cgroups; embedded: bench-pyembed, the same libpython with no sandbox; plain: "
	    "/usr/bin/python3. The sandbox's own cost is sbx/emb; target <= 1.05)\n",
	    done);
	for (int k = 0; k < 3; k++)
		for (int f = 0; f < W_N; f++)
			free(v[k][f]);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned nsess = 20, nexec = 2000, gap_ms = 30, wruns = 0;
	const char *state = "/tmp/sessionpool-bench-state";
	int c;

	while ((c = getopt(argc, argv, "n:e:g:s:w:")) != -1) {
		switch (c) {
		case 'w':
			wruns = (unsigned)atoi(optarg);
			break;
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
				"usage: %s [-n sessions] [-e execs] [-g gap_ms] [-s state]\n"
				"       %s -w runs [-s state]\n",
				argv[0], argv[0]);
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
	if (wruns) {
		int rc = bench_workload(state, root, wruns);
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
		return rc;
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
