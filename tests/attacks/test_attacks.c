/* SPDX-License-Identifier: MIT */
/*
 * test_attacks.c: the attack battery (issue 3). Each attack is real Python sent through the
 * emulator's HTTP API into one session (the attacker), while a second session created before it
 * (the victim, holding `marker` and /mnt/data/secret.txt) is probed over HTTP for as long as the
 * attack runs. Every test asserts the precise outcome of the attack, that /healthz still answers,
 * that the victim still has its variable and its file, and that a brand-new session still starts
 * (the zygote survived).
 *
 * Modes: every attack runs twice, in the suites `root` (the emulator runs as root: per-session
 * uids) and `unprivileged` (the emulator runs as the throw-away user sp-attack, created here when
 * we are root, or as ourselves otherwise: user namespaces). SP_ATTACK_MODES=root|unprivileged
 * selects one (ctest registers one test per mode); a mode that cannot run skips every test with
 * the reason. Per mode, the runner process (PRE_ALL) starts two emulators and hands them to the
 * test processes through the environment: "main" (default limits, 1 s interrupt grace) and
 * "small" (512 MiB, 32 processes, 32 MiB /mnt/data quota, 8 MiB files) for the limit attacks.
 * SP_ATTACK_ISOLATION=degraded starts them with --isolation degraded (root only); when the
 * emulator reports degraded isolation the tests assert the degraded-mode outcomes and say so.
 *
 * Attack code prints one line per probe, "<what>: <outcome>", where the outcome is "ok" or the
 * exception's type and errno name; the test compares the whole stdout. Diagnostics go to stderr.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "attack_env.h"
#include "harness.h"

#ifndef EMULATOR_PATH
#define EMULATOR_PATH "sessionpool-emulator"
#endif

#define NEW "api-version=2025-10-02-preview"

/* The small emulator's limits (and what the main one keeps by default). */
#define SMALL_MEMORY_MB	   512
#define SMALL_PROCESSES	   32
#define SMALL_DISK_MB	   32
#define SMALL_FILE_BYTES   (8 << 20)
#define TMP_MB		   64 /* the sandbox's /tmp and /dev/shm (not configurable) */
#define STREAM_MAX	   4096
#define RSS_BUDGET_KB	   (64 * 1024) /* growth of the emulator's peak RSS during an attack */
#define RSS_KEPT_BUDGET_KB (16 * 1024) /* what two cells may leave in the emulator */

/* Under AddressSanitizer freed memory waits in a quarantine and every allocation has shadow
 * memory, so the emulator's RSS measures the sanitizer: the memory budgets are asserted in the
 * normal build only (the attacks themselves run in both). */
#ifdef SP_SANITIZED
#define expect_rss_lt(got, budget, ...)                                                            \
	do {                                                                                       \
		cr_log_info("RSS not asserted in the sanitizer build: %ld kB (budget %d kB)",      \
			    (long)(got), (int)(budget));                                           \
		if (0)                                                                             \
			cr_expect_lt(got, budget, __VA_ARGS__);                                    \
	} while (0)
#else
#define expect_rss_lt(got, budget, ...) cr_expect_lt(got, budget, __VA_ARGS__)
#endif
#define ATTACK_USER	  "sp-attack"
#define SECRET_TOKEN	  "sp-attack-static-token-0c5e6a1d9b"
#define SECRET_AWS	  "sp-attack-aws-secret-7f3b2e94d1"
#define PROBE_INTERVAL_MS 200

enum atk_mode { ATK_ROOT, ATK_UNPRIV, ATK_NMODES };
enum atk_kind { ATK_MAIN, ATK_SMALL, ATK_NKINDS };

static const char *const mode_env[ATK_NMODES] = {"ROOT", "UNPRIV"};
static const char *const mode_name[ATK_NMODES] = {"root", "unprivileged"};
static const char *const kind_env[ATK_NKINDS] = {"MAIN", "SMALL"};

/* ---- the runner process: start and stop the emulators ------------------------------------ */

static struct atk_emu emus[ATK_NMODES][ATK_NKINDS];
static struct atk_user user = {.lock_fd = -1};
static bool mnt_data_existed;

/* A degraded emulator links /mnt/data on the host (pitfall 21c): one that was not there before
 * the battery is removed again afterwards. */
static void restore_mnt_data(void)
{
	char target[64];
	ssize_t n = readlink("/mnt/data", target, sizeof(target) - 1);
	if (mnt_data_existed || n <= 0)
		return;
	target[n] = '\0';
	if (!strcmp(target, "/proc/self/fd/200"))
		unlink("/mnt/data");
}

static bool mode_selected(const char *name)
{
	const char *sel = getenv("SP_ATTACK_MODES");
	if (!sel || !*sel)
		return true;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", sel);
	for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (!strcmp(t, name))
			return true;
	return false;
}

static void set_mode_env(enum atk_mode m, const char *what, const char *value)
{
	char name[64];
	snprintf(name, sizeof(name), "SP_ATK_%s_%s", mode_env[m], what);
	setenv(name, value, 1);
}

static const char *get_mode_env(enum atk_mode m, const char *what)
{
	char name[64];
	snprintf(name, sizeof(name), "SP_ATK_%s_%s", mode_env[m], what);
	return getenv(name);
}

/* Extra flags of the two emulators (SP_ATTACK_ISOLATION adds --isolation). */
static const char *iso_args[3];
static const char *const main_args[] = {"--interrupt-grace-s", "1", "--exec-timeout-max-s", "120",
					NULL};
static const char *const small_args[] = {"--interrupt-grace-s",
					 "1",
					 "--session-memory-mb",
					 "512",
					 "--session-max-processes",
					 "32",
					 "--session-disk-mb",
					 "32",
					 "--upload-max-bytes",
					 "8388608",
					 NULL};
static const char *emu_args[ATK_NKINDS][16];
static const struct atk_user *spawned_as[ATK_NMODES];

static const char *const *args_of(enum atk_kind k)
{
	const char *const *base = k == ATK_MAIN ? main_args : small_args;
	size_t n = 0;
	for (; base[n]; n++)
		emu_args[k][n] = base[n];
	for (size_t i = 0; iso_args[i]; i++)
		emu_args[k][n++] = iso_args[i];
	emu_args[k][n] = NULL;
	return emu_args[k];
}

static void start_mode(enum atk_mode m, const struct atk_user *as)
{
	const char *iso = getenv("SP_ATTACK_ISOLATION");
	char why[1200];

	if (iso && *iso) {
		iso_args[0] = "--isolation";
		iso_args[1] = iso;
	}
	spawned_as[m] = as;
	for (int k = 0; k < ATK_NKINDS; k++) {
		if (atk_emu_spawn(&emus[m][k], as, args_of((enum atk_kind)k), why, sizeof(why)) <
		    0) {
			set_mode_env(m, "ERROR", why);
			return;
		}
	}
	char uid[32];
	snprintf(uid, sizeof(uid), "%u", as ? (unsigned)as->uid : (unsigned)geteuid());
	set_mode_env(m, "UID", uid);
}

static void wait_mode(enum atk_mode m)
{
	char why[1200], val[1600];

	if (get_mode_env(m, "SKIP") || get_mode_env(m, "ERROR"))
		return;
	for (int k = 0; k < ATK_NKINDS; k++) {
		struct atk_emu *a = &emus[m][k];
		if (atk_emu_wait(a, 180, why, sizeof(why)) < 0) {
			/* As an ordinary user without user namespaces the emulator refuses to run
			 * (degraded isolation needs root): the mode cannot run here at all. */
			if (m == ATK_UNPRIV && strstr(why, "degraded isolation needs root")) {
				char skip[1400];
				snprintf(skip, sizeof(skip),
					 "user namespaces are unavailable, and the emulator's "
					 "degraded mode needs root: %s",
					 why);
				set_mode_env(m, "SKIP", skip);
			} else {
				snprintf(val, sizeof(val), "the %s emulator (%s) did not start: %s",
					 kind_env[k], mode_name[m], why);
				set_mode_env(m, "ERROR", val);
			}
			return;
		}
		snprintf(val, sizeof(val), "%d %s %s", (int)a->e.pid, a->e.data_dir, a->e.base_url);
		char what[32];
		snprintf(what, sizeof(what), "EMU_%s", kind_env[k]);
		set_mode_env(m, what, val);
	}
	/*
	 * Degraded sessions are told apart by uid only, and every emulator run as root gives the
	 * session in slot n the uid 200000 + n: two of them kill each other's sessions (kill(-1),
	 * the zygote's leftover sweep by uid). In degraded isolation one emulator serves both
	 * kinds of tests (the small one).
	 */
	struct http_req q = {.path = "/healthz", .no_auth = true, .timeout_s = 30};
	struct http_resp r;
	if (emu_request(&emus[m][ATK_MAIN].e, &q, &r) == 0 &&
	    strstr(r.body, "\"isolation\":\"degraded\"")) {
		fprintf(stderr,
			"attacks: the %s emulators run in DEGRADED isolation; one emulator (the "
			"small one) serves every %s test\n",
			mode_name[m], mode_name[m]);
		/* Stopping one zygote sweeps its slots' uids: start the survivor afresh. */
		bool clean = atk_emu_stop(&emus[m][ATK_MAIN]);
		clean &= atk_emu_stop(&emus[m][ATK_SMALL]);
		http_resp_fini(&r);
		if (!clean) {
			set_mode_env(m, "ERROR", "a degraded emulator did not exit cleanly");
			return;
		}
		const char *const *args = args_of(ATK_SMALL);
		if (atk_emu_spawn(&emus[m][ATK_SMALL], spawned_as[m], args, why, sizeof(why)) < 0 ||
		    atk_emu_wait(&emus[m][ATK_SMALL], 180, why, sizeof(why)) < 0) {
			set_mode_env(m, "ERROR", why);
			return;
		}
		struct atk_emu *a = &emus[m][ATK_SMALL];
		snprintf(val, sizeof(val), "%d %s %s", (int)a->e.pid, a->e.data_dir, a->e.base_url);
		set_mode_env(m, "EMU_MAIN", val);
		set_mode_env(m, "EMU_SMALL", val);
		return;
	}
	http_resp_fini(&r);
}

/* Processes of |uid| still alive (nothing of a session may outlive its emulator). */
static int count_uid_processes(uid_t uid, char *pids, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	size_t used = 0;

	pids[0] = '\0';
	while (d && (de = readdir(d))) {
		struct stat st;
		char path[300];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", de->d_name);
		if (stat(path, &st) == 0 && st.st_uid == uid) {
			n++;
			if (used + 16 < len)
				used +=
				    (size_t)snprintf(pids + used, len - used, " %s", de->d_name);
		}
	}
	if (d)
		closedir(d);
	return n;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	char why[600];

	curl_global_init(CURL_GLOBAL_ALL);
	/* Secrets in the emulators' environment, which no session may see (issue 7.3). The
	 * token is inert: the emulators run with --auth-mode any. */
	setenv("SESSIONPOOL_STATIC_TOKEN", SECRET_TOKEN, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET_AWS, 1);
	struct stat st;
	mnt_data_existed = lstat("/mnt/data", &st) == 0;
	for (int m = 0; m < ATK_NMODES; m++) {
		if (!mode_selected(mode_name[m])) {
			snprintf(why, sizeof(why),
				 "the %s mode was not selected (SP_ATTACK_MODES=%s)", mode_name[m],
				 getenv("SP_ATTACK_MODES"));
			set_mode_env((enum atk_mode)m, "SKIP", why);
		}
	}
	if (!get_mode_env(ATK_ROOT, "SKIP")) {
		if (geteuid() != 0) {
			snprintf(
			    why, sizeof(why),
			    "the test runs as uid %u, not root: the emulator cannot be started "
			    "as root (run the battery as root to cover per-session uids)",
			    (unsigned)geteuid());
			set_mode_env(ATK_ROOT, "SKIP", why);
		} else {
			start_mode(ATK_ROOT, NULL);
		}
	}
	if (!get_mode_env(ATK_UNPRIV, "SKIP")) {
		if (geteuid() == 0) {
			if (atk_user_acquire(&user, ATTACK_USER, why, sizeof(why)) < 0)
				set_mode_env(ATK_UNPRIV, "ERROR", why);
			else
				start_mode(ATK_UNPRIV, &user);
		} else {
			start_mode(ATK_UNPRIV, NULL);
		}
	}
	for (int m = 0; m < ATK_NMODES; m++) {
		wait_mode((enum atk_mode)m);
		/* cr_skip_test() reasons only show with --verbose: say it here too. */
		const char *skip = get_mode_env((enum atk_mode)m, "SKIP");
		const char *error = get_mode_env((enum atk_mode)m, "ERROR");
		if (skip)
			fprintf(stderr, "attacks: every %s test is skipped: %s\n", mode_name[m],
				skip);
		if (error)
			fprintf(stderr, "attacks: every %s test fails: %s\n", mode_name[m], error);
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	bool clean = true;

	for (int m = 0; m < ATK_NMODES; m++)
		for (int k = 0; k < ATK_NKINDS; k++)
			clean &= atk_emu_stop(&emus[m][k]);
	if (user.lock_fd >= 0) {
		char pids[512];
		int n = 0;
		/* Session processes die with their zygote: allow a moment for the kernel. */
		for (int i = 0; i < 100 && (n = count_uid_processes(user.uid, pids, sizeof(pids)));
		     i++) {
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		if (n) {
			fprintf(stderr, "attacks: %d processes of %s outlived every emulator:%s\n",
				n, ATTACK_USER, pids);
			clean = false;
		}
		atk_user_release(&user);
	}
	restore_mnt_data();
	curl_global_cleanup();
	if (!clean) {
		fprintf(stderr, "attacks: an emulator did not exit cleanly on SIGTERM, or session "
				"processes outlived it (see above)\n");
		abort();
	}
}

/* ---- the test processes: targets, cells, the victim ------------------------------------- */

struct target {
	struct emu e; /* e.pid is -1: the runner owns the emulator */
	enum atk_mode mode;
	pid_t emu_pid;
	uid_t emu_uid;
	bool degraded;
	char cgroups[256]; /* GET /healthz sessionCgroups: "v1 (memory …, pids …)", "off (…)" */
	char dir[300];	   /* the emulator's private directory (data dir's parent) */
};

static struct target target_get(enum atk_mode m, enum atk_kind k)
{
	struct target t;
	memset(&t, 0, sizeof(t));
	t.mode = m;
	t.e.pid = -1;
	curl_global_init(CURL_GLOBAL_ALL);

	const char *skip = get_mode_env(m, "SKIP");
	if (skip)
		cr_skip_test("%s mode: %s", mode_name[m], skip);
	const char *error = get_mode_env(m, "ERROR");
	cr_assert_null(error, "%s mode cannot run: %s", mode_name[m], error);
	char what[32];
	snprintf(what, sizeof(what), "EMU_%s", kind_env[k]);
	const char *v = get_mode_env(m, what);
	cr_assert_not_null(v, "the %s emulator of the %s mode was not started", kind_env[k],
			   mode_name[m]);
	int pid = 0;
	cr_assert_eq(sscanf(v, "%d %299s %255s", &pid, t.e.data_dir, t.e.base_url), 3);
	t.emu_pid = (pid_t)pid;
	t.emu_uid = (uid_t)strtoul(get_mode_env(m, "UID"), NULL, 10);
	snprintf(t.dir, sizeof(t.dir), "%s", t.e.data_dir);
	char *slash = strrchr(t.dir, '/');
	if (slash)
		*slash = '\0';

	struct http_req q = {.path = "/healthz", .no_auth = true, .timeout_s = 30};
	struct http_resp r;
	cr_assert_eq(emu_request(&t.e, &q, &r), 0, "healthz: %s", r.error);
	cr_assert_eq(r.status, 200, "healthz: %ld %s", r.status, r.body);
	t.degraded = strstr(r.body, "\"isolation\":\"degraded\"") != NULL;
	cr_assert(t.degraded || strstr(r.body, "\"isolation\":\"full\""), "healthz: %s", r.body);
	cJSON *h = http_resp_json(&r);
	cJSON *cg = cJSON_GetObjectItem(h, "sessionCgroups");
	snprintf(t.cgroups, sizeof(t.cgroups), "%s", cJSON_IsString(cg) ? cg->valuestring : "?");
	cJSON_Delete(h);
	http_resp_fini(&r);
	if (t.degraded)
		cr_log_warn("%s mode: the emulator runs in DEGRADED isolation; asserting the "
			    "degraded-mode outcomes",
			    mode_name[m]);
	return t;
}

static void random_hex(char *buf, size_t bytes)
{
	unsigned char raw[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, raw, bytes), (ssize_t)bytes);
	close(fd);
	for (size_t i = 0; i < bytes; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
}

static void new_id(char *buf, size_t len, const char *what)
{
	char hex[17];
	random_hex(hex, 8);
	snprintf(buf, len, "atk-%s-%s", what, hex);
}

struct cell {
	long http;
	cJSON *j;
	const char *status; /* "Succeeded", "Failed" */
	const char *code;   /* error.error.code, or "" */
	const char *message;
	const char *out;
	const char *err;
	const cJSON *value; /* result.executionResult */
	double seconds;
	char transport[256];
};

static void cell_fini(struct cell *c)
{
	cJSON_Delete(c->j);
	memset(c, 0, sizeof(*c));
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* POST executions; fills *c (never asserts: also used from the attack thread). */
static void run_cell_into(const struct emu *e, const char *id, const char *code, int timeout_s,
			  struct cell *c)
{
	memset(c, 0, sizeof(*c));
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "code", code);
	cJSON_AddNumberToObject(b, "timeoutInSeconds", timeout_s);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	char path[512];
	snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", id);
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	struct http_req q = {.path = path,
			     .headers = hdrs,
			     .body = body,
			     .body_len = strlen(body),
			     .timeout_s = timeout_s + 60};
	struct http_resp r;
	if (emu_request(e, &q, &r) < 0)
		snprintf(c->transport, sizeof(c->transport), "%s", r.error);
	cJSON_free(body);
	c->http = r.status;
	c->seconds = r.seconds;
	c->j = http_resp_json(&r);
	http_resp_fini(&r);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(c->j, "result");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(c->j, "error"), "error");
	c->status = jstr(c->j, "status");
	c->code = jstr(err, "code");
	c->message = jstr(err, "message");
	c->out = jstr(res, "stdout");
	c->err = jstr(res, "stderr");
	c->value = cJSON_GetObjectItemCaseSensitive(res, "executionResult");
}

static struct cell run_cell(const struct target *t, const char *id, const char *code, int timeout_s)
{
	struct cell c;
	run_cell_into(&t->e, id, code, timeout_s, &c);
	if (c.http != 200) {
		char *body = c.j ? cJSON_PrintUnformatted(c.j) : NULL;
		cr_assert_fail("POST executions (%s): HTTP %ld %s%s", id, c.http, c.transport,
			       body ? body : "");
	}
	cr_assert(c.j, "the execution response is not JSON");
	return c;
}

/* The cell value as text: strings as they are, anything else printed as JSON. */
static char *value_text(const struct cell *c)
{
	if (cJSON_IsString(c->value))
		return strdup(c->value->valuestring);
	if (!c->value)
		return strdup("(absent)");
	return cJSON_PrintUnformatted(c->value);
}

static void expect_ok_value(const struct cell *c, const char *want)
{
	char *got = value_text(c);
	cr_expect_str_eq(c->status, "Succeeded", "status %s %s: %s", c->status, c->message, c->err);
	cr_expect_str_eq(got, want, "executionResult %s, want %s (stderr: %s)", got, want, c->err);
	free(got);
}

static void expect_stdout(const struct cell *c, const char *want)
{
	cr_expect_str_eq(c->status, "Succeeded", "status %s %s: %s", c->status, c->message, c->err);
	cr_expect_str_eq(c->out, want,
			 "\n---- stdout ----\n%s---- want ----\n%s---- stderr ----\n%s", c->out,
			 want, c->err);
}

/* The probing prelude of every attack cell; P holds the test's parameters. */
static const char prelude[] =
    "import os, sys, json, errno, ctypes, signal, time\n"
    "_libc = ctypes.CDLL(None, use_errno=True)\n"
    "def _why(e):\n"
    "    n = getattr(e, 'errno', None)\n"
    "    if isinstance(n, int) and n > 0:\n"
    "        return f'{type(e).__name__} {errno.errorcode.get(n, n)}'\n"
    "    return type(e).__name__ if n is None else f'{type(e).__name__} {n}'\n"
    "def probe(label, fn, show=False):\n"
    "    try:\n"
    "        r = fn()\n"
    "    except BaseException as e:\n"
    "        print(f'{label}: {_why(e)}')\n"
    "    else:\n"
    "        print(f'{label}: ok {r!r}' if show else f'{label}: ok')\n"
    "def sysc(label, fn):\n"
    "    ctypes.set_errno(0)\n"
    "    r = fn()\n"
    "    e = ctypes.get_errno()\n"
    "    print(f'{label}: ' + (errno.errorcode.get(e, str(e)) if r == -1 else 'ok'))\n";

/* prelude + "P = <params as JSON>" + body. Takes ownership of |params|. */
static char *attack_code(cJSON *params, const char *body)
{
	char *pj = cJSON_PrintUnformatted(params);
	cJSON_Delete(params);
	size_t len = strlen(prelude) + strlen(pj) + strlen(body) + 64;
	char *code = malloc(len);
	cr_assert_not_null(code);
	snprintf(code, len, "%sP = json.loads(r'''%s''')\n%s", prelude, pj, body);
	cJSON_free(pj);
	return code;
}

struct victim {
	char id[64];
	char marker[40];
	char secret[48];
	char host_dir[PATH_MAX];
	char etag[128];
};

static void healthz_ok(const struct target *t)
{
	struct http_req q = {.path = "/healthz", .no_auth = true, .timeout_s = 30};
	struct http_resp r;
	cr_assert_eq(emu_request(&t->e, &q, &r), 0, "the emulator stopped answering: %s", r.error);
	cr_assert_eq(r.status, 200, "healthz: HTTP %ld %s", r.status, r.body);
	cr_assert(strstr(r.body, "\"status\":\"ok\""), "healthz: %s", r.body);
	http_resp_fini(&r);
}

static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = calloc(1, 4096);
	if (buf && fread(buf, 1, 4095, f) == 0 && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The session directory on the host whose secret.txt holds |secret|. */
static bool find_host_dir(const struct target *t, const char *secret, char *out, size_t len,
			  char *etag, size_t etag_len)
{
	/* Slot directories are tmpfs mounts in the emulator's own mount namespace: seen from
	 * here through /proc/<emulator>/root; the victim's path stays the emulator's. */
	char sessions[PATH_MAX], seen[PATH_MAX + 64];
	snprintf(sessions, sizeof(sessions), "%s/slots", t->e.data_dir);
	snprintf(seen, sizeof(seen), "/proc/%d/root%s", (int)t->emu_pid, sessions);
	DIR *d = opendir(seen);
	struct dirent *de;
	bool found = false;
	while (d && !found && (de = readdir(d))) {
		char path[PATH_MAX + 400];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/secret.txt", seen, de->d_name);
		char *s = read_small_file(path);
		if (s && !strcmp(s, secret) && strlen(sessions) + strlen(de->d_name) + 2 <= len &&
		    strlen(de->d_name) < etag_len) {
			strcpy(out, sessions);
			strcat(out, "/");
			strcat(out, de->d_name);
			strcpy(etag, de->d_name);
			found = true;
		}
		free(s);
	}
	if (d)
		closedir(d);
	return found;
}

/* The victim: a live session with a variable and a file, created before the attack. */
static void victim_new(const struct target *t, struct victim *v)
{
	memset(v, 0, sizeof(*v));
	new_id(v->id, sizeof(v->id), "victim");
	random_hex(v->marker, 16);
	char hex[33];
	random_hex(hex, 16);
	snprintf(v->secret, sizeof(v->secret), "SECRET-%s", hex);
	char code[256];
	snprintf(code, sizeof(code),
		 "import os\nmarker = '%s'\nwith open('/mnt/data/secret.txt', 'w') as f:\n"
		 "    f.write('%s')\nos.getcwd()",
		 v->marker, v->secret);
	struct cell c = run_cell(t, v->id, code, 30);
	/* Degraded: the working directory is the host directory behind the /mnt/data link. */
	if (!t->degraded)
		expect_ok_value(&c, "'/mnt/data'");
	cr_assert_str_eq(c.status, "Succeeded", "the victim: %s %s", c.message, c.err);
	cell_fini(&c);
	cr_assert(
	    find_host_dir(t, v->secret, v->host_dir, sizeof(v->host_dir), v->etag, sizeof(v->etag)),
	    "the victim's directory was not found under %s/slots", t->e.data_dir);
}

/* Returns NULL when the victim still answers with its marker and file, else a message. */
static char *victim_probe(const struct emu *e, const struct victim *v)
{
	struct cell c;
	char want[160], *msg = NULL;
	run_cell_into(e, v->id, "marker, open('/mnt/data/secret.txt').read()", 30, &c);
	snprintf(want, sizeof(want), "('%s', '%s')", v->marker, v->secret);
	if (c.http != 200 || strcmp(c.status, "Succeeded") || !cJSON_IsString(c.value) ||
	    strcmp(c.value->valuestring, want)) {
		char *got = c.j ? cJSON_PrintUnformatted(c.j) : strdup(c.transport);
		size_t len = strlen(got ? got : "") + 200;
		msg = malloc(len);
		snprintf(msg, len, "the victim session lost its state: HTTP %ld, %s", c.http,
			 got ? got : "");
		free(got);
	}
	cell_fini(&c);
	return msg;
}

static void victim_check(const struct target *t, const struct victim *v)
{
	char *msg = victim_probe(&t->e, v);
	cr_assert_null(msg, "%s", msg);
}

/* An attack cell in a thread while this thread keeps probing /healthz and the victim. */
struct async_cell {
	const struct emu *e;
	const char *id;
	const char *code;
	int timeout_s;
	struct cell out;
	atomic_bool done;
};

static void *async_main(void *p)
{
	struct async_cell *a = p;
	run_cell_into(a->e, a->id, a->code, a->timeout_s, &a->out);
	atomic_store(&a->done, true);
	return NULL;
}

/* Probes /healthz and the victim until |done| (the attack thread |th| ended), then joins it. */
static void probe_while(const struct target *t, const struct victim *v, pthread_t th,
			atomic_bool *done)
{
	int probes = 0;
	char *failure = NULL;
	do {
		healthz_ok(t);
		failure = victim_probe(&t->e, v);
		probes++;
		for (int i = 0; !failure && i < PROBE_INTERVAL_MS / 10 && !atomic_load(done); i++) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	} while (!failure && !atomic_load(done));
	pthread_join(th, NULL);
	cr_assert_null(failure, "while the attack ran (probe %d): %s", probes, failure);
}

static struct cell attack(const struct target *t, const struct victim *v, const char *id,
			  const char *code, int timeout_s)
{
	struct async_cell a = {.e = &t->e, .id = id, .code = code, .timeout_s = timeout_s};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, async_main, &a), 0);
	probe_while(t, v, th, &a.done);
	cr_assert_eq(a.out.http, 200, "the attack's POST executions: HTTP %ld %s", a.out.http,
		     a.out.transport);
	cr_assert(a.out.j, "the attack's response is not JSON");
	return a.out;
}

static long delete_session(const struct target *t, const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/session?" NEW "&identifier=%s", id);
	struct http_resp r;
	cr_assert_eq(emu_do(&t->e, "DELETE", path, &r), 0, "DELETE session: %s", r.error);
	long st = r.status;
	http_resp_fini(&r);
	return st;
}

/* Common end: the emulator answers, the victim kept its state, a new session starts. */
static void finish(const struct target *t, const struct victim *v, const char *attacker)
{
	healthz_ok(t);
	victim_check(t, v);
	char fresh[64];
	new_id(fresh, sizeof(fresh), "fresh");
	struct cell c = run_cell(t, fresh, "6 * 7", 30);
	expect_ok_value(&c, "42");
	cell_fini(&c);
	cr_expect_eq(delete_session(t, fresh), 204);
	if (attacker)
		cr_expect_eq(delete_session(t, attacker), 204);
	cr_expect_eq(delete_session(t, v->id), 204);
}

static cJSON *params_new(const struct target *t)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddBoolToObject(p, "degraded", t->degraded);
	return p;
}

/* ---- host-side views ----------------------------------------------------------------------- */

static long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long kb = -1;
	size_t fl = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':')
			kb = strtol(line + fl + 1, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* Resets the peak RSS (VmHWM) of |pid| to its current RSS. */
static void reset_peak_rss(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, "5", 1), 1, "reset VmHWM: %s", strerror(errno));
	close(fd);
}

/* The parent pid and comm of |pid| from /proc/<pid>/stat; false when it is gone. */
static bool proc_stat(pid_t pid, pid_t *ppid, char *comm, size_t len)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren)
		return false;
	snprintf(comm, len, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	int pp = 0;
	if (sscanf(close_paren + 2, "%*c %d", &pp) != 1)
		return false;
	*ppid = (pid_t)pp;
	return true;
}

/* Children of |parent| named |comm|, up to |max|. */
static int children_named(pid_t parent, const char *comm, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pid_t pid = (pid_t)atoi(de->d_name), pp;
		char c[64];
		if (proc_stat(pid, &pp, c, sizeof(c)) && pp == parent && !strcmp(c, comm) &&
		    n < max)
			out[n++] = pid;
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * The zygote's processes: the emulator's child, and as an ordinary user also its only child,
 * the zygote proper (pid 1 of the zygote's own pid namespace). Returns how many (1 or 2).
 */
static int zygote_pids(const struct target *t, pid_t out[2])
{
	pid_t kids[8];
	int n = children_named(t->emu_pid, "sessionpool-zyg", kids, 8);
	cr_assert_eq(n, 1, "the emulator (%d) has %d zygote children", (int)t->emu_pid, n);
	out[0] = kids[0];
	if (t->mode == ATK_ROOT)
		return 1;
	n = children_named(out[0], "sessionpool-zyg", kids, 8);
	cr_assert_eq(n, 1, "the outer zygote (%d) has %d children", (int)out[0], n);
	out[1] = kids[0];
	return 2;
}

/* Host pid of the session process whose /mnt/data holds the victim's secret. */
static pid_t victim_pid(const struct victim *v)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;
	while (d && found < 0 && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/root/mnt/data/secret.txt", de->d_name);
		char *s = read_small_file(path);
		char cwd[PATH_MAX] = "";
		/* Degraded: no mount namespace, the working directory is the host directory. */
		snprintf(path, sizeof(path), "/proc/%s/cwd", de->d_name);
		ssize_t n = readlink(path, cwd, sizeof(cwd) - 1);
		if (n > 0)
			cwd[n] = '\0';
		pid_t pp;
		char comm[64];
		if (((s && !strcmp(s, v->secret)) || !strcmp(cwd, v->host_dir)) &&
		    proc_stat((pid_t)atoi(de->d_name), &pp, comm, sizeof(comm)) &&
		    !strcmp(comm, "sessionpool-zyg"))
			found = (pid_t)atoi(de->d_name);
		free(s);
	}
	if (d)
		closedir(d);
	return found;
}

/* Processes whose command line is exactly |argv0| |argv1|. */
static int count_cmdline(const char *argv0, const char *argv1)
{
	char want[128], buf[128];
	int wl = snprintf(want, sizeof(want), "%s%c%s", argv0, 0, argv1) + 1;
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		char path[300];
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t got = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		n += got == (size_t)wl && !memcmp(buf, want, (size_t)wl);
	}
	if (d)
		closedir(d);
	return n;
}

static int port_of(const struct target *t)
{
	const char *colon = strrchr(t->e.base_url, ':');
	return colon ? atoi(colon + 1) : 0;
}

/* ---- the attacks --------------------------------------------------------------------------- */

#define BOTH_MODES(name, seconds)                                                                  \
	Test(root, name, .timeout = seconds)                                                       \
	{                                                                                          \
		attack_##name(ATK_ROOT);                                                           \
	}                                                                                          \
	Test(unprivileged, name, .timeout = seconds)                                               \
	{                                                                                          \
		attack_##name(ATK_UNPRIV);                                                         \
	}

/* Another session's /mnt/data by its host path, relative paths, and anywhere visible. */
static void attack_other_session_by_path(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "path");

	cJSON *p = params_new(&t);
	cJSON_AddStringToObject(p, "victim_dir", v.host_dir);
	cJSON_AddStringToObject(p, "secret", v.secret);
	char *code = attack_code(
	    p, "V = P['victim_dir']\n"
	       "E = os.path.basename(V)\n"
	       "probe('open the victim file by its host path', lambda: open(V + "
	       "'/secret.txt').read())\n"
	       "probe('list the victim directory', lambda: os.listdir(V))\n"
	       "probe('list the sessions directory', lambda: os.listdir(os.path.dirname(V)))\n"
	       "probe('open it relative to /mnt/data', "
	       "lambda: open('/mnt/data/../' + E + '/secret.txt').read())\n"
	       "probe('open it through /proc/self/cwd', "
	       "lambda: open('/proc/self/cwd/../' + E + '/secret.txt').read())\n"
	       "seen = []\n"
	       "for top in ('/tmp', '/dev/shm', '/mnt', '/etc', '/proc/self/root/mnt'):\n"
	       "    for d, dirs, files in os.walk(top):\n"
	       "        for f in files:\n"
	       "            try:\n"
	       "                with open(os.path.join(d, f), 'rb') as fh:\n"
	       "                    if P['secret'].encode() in fh.read(1 << 20):\n"
	       "                        seen.append(os.path.join(d, f))\n"
	       "            except OSError:\n"
	       "                pass\n"
	       "print('secret visible at:', seen)\n");
	struct cell c = attack(&t, &v, id, code, 60);
	const char *no = t.degraded ? "PermissionError EACCES" : "FileNotFoundError ENOENT";
	char want[1024];
	snprintf(want, sizeof(want),
		 "open the victim file by its host path: %s\n"
		 "list the victim directory: %s\n"
		 "list the sessions directory: %s\n"
		 "open it relative to /mnt/data: %s\n"
		 "open it through /proc/self/cwd: %s\n"
		 "secret visible at: []\n",
		 no, no, no, no, no);
	expect_stdout(&c, want);
	cr_expect_null(strstr(c.out, v.secret), "the attacker read the victim's secret");
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(other_session_by_path, 120)

/* Another session's /mnt/data through /proc/<its host pid>/{root,cwd,environ}. */
static void attack_other_session_by_proc_root(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "procroot");
	pid_t vp = victim_pid(&v);
	cr_assert_gt(vp, 0, "the victim's host pid was not found");

	cJSON *p = params_new(&t);
	cJSON_AddNumberToObject(p, "victim_pid", vp);
	cJSON_AddStringToObject(p, "secret", v.secret);
	char *code = attack_code(
	    p, "VP = P['victim_pid']\n"
	       "probe('open /proc/<victim>/root/mnt/data/secret.txt', "
	       "lambda: open(f'/proc/{VP}/root/mnt/data/secret.txt').read())\n"
	       "probe('list /proc/<victim>/cwd', lambda: os.listdir(f'/proc/{VP}/cwd'))\n"
	       "probe('read /proc/<victim>/environ', lambda: open(f'/proc/{VP}/environ').read())\n"
	       "found = []\n"
	       "for q in os.listdir('/proc'):\n"
	       "    if q.isdigit():\n"
	       "        try:\n"
	       "            if P['secret'] in open(f'/proc/{q}/root/mnt/data/secret.txt').read():\n"
	       "                found.append(q)\n"
	       "        except OSError:\n"
	       "            pass\n"
	       "print('victim found through /proc:', found)\n");
	struct cell c = attack(&t, &v, id, code, 60);
	const char *no = t.degraded ? "PermissionError EACCES" : "FileNotFoundError ENOENT";
	char want[1024];
	snprintf(want, sizeof(want),
		 "open /proc/<victim>/root/mnt/data/secret.txt: %s\n"
		 "list /proc/<victim>/cwd: %s\n"
		 "read /proc/<victim>/environ: %s\n"
		 "victim found through /proc: []\n",
		 no, no, no);
	expect_stdout(&c, want);
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(other_session_by_proc_root, 120)

/* GET/POST/DELETE on the files API, expecting 404 FileNotFound without the secret. */
static void expect_files_404(const struct target *t, const struct victim *v, const char *method,
			     const char *path, const char *body, size_t body_len)
{
	const char *mp[] = {"Content-Type: multipart/form-data; boundary=" EMU_BOUNDARY, NULL};
	struct http_req q = {.method = method,
			     .path = path,
			     .headers = body ? mp : NULL,
			     .body = body,
			     .body_len = body_len};
	struct http_resp r;
	cr_assert_eq(emu_request(&t->e, &q, &r), 0, "%s %s: %s", method, path, r.error);
	cr_expect_eq(r.status, 404, "%s %s: HTTP %ld %s", method, path, r.status, r.body);
	cr_expect(strstr(r.body, "\"code\":\"FileNotFound\""), "%s %s: %s", method, path, r.body);
	cr_expect_null(strstr(r.body, v->secret), "%s %s leaked the victim's secret", method, path);
	cr_expect_null(strstr(r.body, "root:"), "%s %s leaked a host file", method, path);
	http_resp_fini(&r);
}

struct downloads {
	int ok, missing, leaked, other;
};

static void download_race(const struct target *t, const struct victim *v, const char *id,
			  const char *name, struct downloads *d)
{
	char path[512];
	snprintf(path, sizeof(path), "/files/%s/content?" NEW "&identifier=%s", name, id);
	struct http_resp r;
	cr_assert_eq(emu_do(&t->e, "GET", path, &r), 0, "GET %s: %s", path, r.error);
	if (strstr(r.body, v->secret))
		d->leaked++;
	else if (r.status == 200 && !strcmp(r.body, "decoy"))
		d->ok++;
	else if (r.status == 404)
		d->missing++;
	else
		d->other++;
	http_resp_fini(&r);
}

/* Symlinks (and hard links) planted in /mnt/data, then used through the files API, also while
 * a background process swaps a regular file and a symlink as fast as it can. */
static void attack_planted_symlinks_and_files_api(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "symlink");

	cJSON *p = params_new(&t);
	cJSON_AddStringToObject(p, "victim_dir", v.host_dir);
	char *code = attack_code(
	    p, "V = P['victim_dir']\n"
	       "E = os.path.basename(V)\n"
	       "os.chdir('/mnt/data')\n"
	       "os.symlink(V + '/secret.txt', 'ln-victim-file')\n"
	       "os.symlink('../' + E + '/secret.txt', 'ln-sibling')\n"
	       "os.symlink(V, 'ln-victim-dir')\n"
	       "os.symlink('..', 'ln-parent')\n"
	       "os.symlink('/etc/passwd', 'ln-passwd')\n"
	       "os.symlink('/', 'ln-root')\n"
	       "probe('hard link to /etc/passwd', lambda: os.link('/etc/passwd', 'hl-passwd'))\n"
	       "probe('hard link to the victim file', "
	       "lambda: os.link(V + '/secret.txt', 'hl-victim'))\n"
	       "with open('decoy.txt', 'w') as f:\n"
	       "    f.write('decoy')\n"
	       "os.link('decoy.txt', 'race.txt')\n"
	       "if os.fork() == 0:\n"
	       "    end = time.monotonic() + 4\n"
	       "    while time.monotonic() < end:\n"
	       "        os.symlink(V + '/secret.txt', 'race.new')\n"
	       "        os.rename('race.new', 'race.txt')\n"
	       "        os.link('decoy.txt', 'race.new')\n"
	       "        os.rename('race.new', 'race.txt')\n"
	       "    os._exit(0)\n"
	       "print('planted')\n");
	struct cell c = attack(&t, &v, id, code, 60);
	expect_stdout(&c, t.degraded ? "hard link to /etc/passwd: PermissionError EPERM\n"
				       "hard link to the victim file: PermissionError EACCES\n"
				       "planted\n"
				     : "hard link to /etc/passwd: OSError EXDEV\n"
				       "hard link to the victim file: FileNotFoundError ENOENT\n"
				       "planted\n");
	cell_fini(&c);
	free(code);

	/* The race first, while the swapping process runs (4 s). */
	struct downloads d = {0};
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		download_race(&t, &v, id, "race.txt", &d);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - t0.tv_sec < 3);
	cr_expect_eq(d.leaked, 0, "%d of %d racing downloads returned the victim's secret",
		     d.leaked, d.ok + d.missing + d.leaked + d.other);
	cr_expect_eq(d.other, 0, "%d racing downloads gave neither 200 decoy nor 404", d.other);
	cr_expect_gt(d.ok + d.missing, 20, "too few racing downloads (%d)", d.ok + d.missing);
	cr_log_info("%s: racing downloads: %d decoy, %d 404, %d leaked", mode_name[m], d.ok,
		    d.missing, d.leaked);

	char path[1024];
	static const char *const downloads[] = {"ln-victim-file",
						"ln-sibling",
						"ln-victim-dir%2Fsecret.txt",
						"ln-passwd",
						"ln-root%2Fetc%2Fpasswd",
						"hl-victim",
						"ln-victim-dir",
						NULL};
	for (size_t i = 0; downloads[i]; i++) {
		snprintf(path, sizeof(path), "/files/%s/content?" NEW "&identifier=%s",
			 downloads[i], id);
		expect_files_404(&t, &v, "GET", path, NULL, 0);
		snprintf(path, sizeof(path), "/files/%s?" NEW "&identifier=%s", downloads[i], id);
		expect_files_404(&t, &v, "GET", path, NULL, 0);
	}
	snprintf(path, sizeof(path),
		 "/files/ln-parent%%2F%s%%2Fsecret.txt/content?" NEW "&identifier=%s", v.etag, id);
	expect_files_404(&t, &v, "GET", path, NULL, 0);
	snprintf(path, sizeof(path), "/files?" NEW "&identifier=%s&path=ln-victim-dir", id);
	expect_files_404(&t, &v, "GET", path, NULL, 0);
	snprintf(path, sizeof(path), "/files/ln-victim-dir%%2Fsecret.txt?" NEW "&identifier=%s",
		 id);
	expect_files_404(&t, &v, "DELETE", path, NULL, 0);

	/* Uploads into a planted directory link and over a planted file link. */
	const char *names[] = {"file"}, *contents[] = {"pwned"};
	const char *fn_into[] = {"pwned.txt"}, *fn_over[] = {"ln-victim-file"};
	size_t len;
	char *body = emu_multipart(&len, 1, names, fn_into, contents);
	snprintf(path, sizeof(path), "/files?" NEW "&identifier=%s&path=ln-victim-dir", id);
	expect_files_404(&t, &v, "POST", path, body, len);
	snprintf(path, sizeof(path), "/files?" NEW "&identifier=%s&path=ln-parent%%2F%s", id,
		 v.etag);
	expect_files_404(&t, &v, "POST", path, body, len);
	free(body);
	body = emu_multipart(&len, 1, names, fn_over, contents);
	snprintf(path, sizeof(path), "/files?" NEW "&identifier=%s", id);
	expect_files_404(&t, &v, "POST", path, body, len);
	free(body);

	/* On the host, the victim's directory holds exactly its own file. */
	char seen[PATH_MAX + 64];
	snprintf(seen, sizeof(seen), "/proc/%d/root%s", (int)t.emu_pid, v.host_dir);
	DIR *dir = opendir(seen);
	cr_assert_not_null(dir);
	struct dirent *de;
	int entries = 0;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			entries++;
			cr_expect_str_eq(de->d_name, "secret.txt", "unexpected file in the victim");
		}
	closedir(dir);
	cr_expect_eq(entries, 1);
	finish(&t, &v, id);
}
BOTH_MODES(planted_symlinks_and_files_api, 120)

/* Host files outside the minimal root: the data directory, /root, /home, the emulator. */
static void attack_host_files_outside_the_root(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64], log[400];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "hostfiles");
	snprintf(log, sizeof(log), "%s/emulator.log", t.dir);
	const char *bin = getenv("SESSIONPOOL_EMULATOR");

	cJSON *p = params_new(&t);
	cJSON_AddStringToObject(p, "data_dir", t.e.data_dir);
	cJSON_AddStringToObject(p, "log", log);
	cJSON_AddStringToObject(p, "bin", bin && *bin ? bin : EMULATOR_PATH);
	cJSON_AddNumberToObject(p, "emu_pid", t.emu_pid);
	char *code = attack_code(
	    p, "probe('list /root', lambda: os.listdir('/root'))\n"
	       "probe('list /home', lambda: os.listdir('/home'))\n"
	       "probe('list /run', lambda: os.listdir('/run'))\n"
	       "probe('list /var', lambda: os.listdir('/var'))\n"
	       "probe('list /sys', lambda: os.listdir('/sys'))\n"
	       "probe('list the data directory', lambda: os.listdir(P['data_dir']))\n"
	       "probe('read the emulator log', lambda: open(P['log']).read())\n"
	       "probe('read the emulator binary', lambda: open(P['bin'], 'rb').read(4))\n"
	       "probe('read the emulator environment', "
	       "lambda: open(f\"/proc/{P['emu_pid']}/environ\").read())\n"
	       "probe('read /etc/shadow', lambda: open('/etc/shadow').read())\n"
	       "allowed = {'bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'mnt', 'proc',\n"
	       "           'sbin', 'tmp', 'usr'}\n"
	       "if not P['degraded']:\n"
	       "    probe('entries of / beyond the minimal root', "
	       "lambda: sorted(set(os.listdir('/')) - allowed), show=True)\n");
	struct cell c = attack(&t, &v, id, code, 60);
	if (t.degraded)
		/* Documented: degraded sessions see the host with their uid's permissions. */
		expect_stdout(&c, "list /root: PermissionError EACCES\n"
				  "list /home: ok\n"
				  "list /run: ok\n"
				  "list /var: ok\n"
				  "list /sys: ok\n"
				  "list the data directory: PermissionError EACCES\n"
				  "read the emulator log: PermissionError EACCES\n"
				  "read the emulator binary: ok\n"
				  "read the emulator environment: PermissionError EACCES\n"
				  "read /etc/shadow: PermissionError EACCES\n");
	else
		expect_stdout(&c, "list /root: FileNotFoundError ENOENT\n"
				  "list /home: FileNotFoundError ENOENT\n"
				  "list /run: FileNotFoundError ENOENT\n"
				  "list /var: FileNotFoundError ENOENT\n"
				  "list /sys: FileNotFoundError ENOENT\n"
				  "list the data directory: FileNotFoundError ENOENT\n"
				  "read the emulator log: FileNotFoundError ENOENT\n"
				  "read the emulator binary: FileNotFoundError ENOENT\n"
				  "read the emulator environment: FileNotFoundError ENOENT\n"
				  "read /etc/shadow: PermissionError EACCES\n"
				  "entries of / beyond the minimal root: ok []\n");
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(host_files_outside_the_root, 120)

/* Writes to the read-only root, /usr, /etc and the host's /proc/sys. */
static void attack_writes_to_the_root_usr_and_etc(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64], tag[17], name[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "writes");
	random_hex(tag, 8);
	snprintf(name, sizeof(name), "pwned-%s", tag);

	cJSON *p = params_new(&t);
	cJSON_AddStringToObject(p, "name", name);
	char *code = attack_code(
	    p,
	    "N = P['name']\n"
	    "probe('create /usr/<new>', lambda: open('/usr/' + N, 'w'))\n"
	    "probe('create /usr/lib/<new>', lambda: open('/usr/lib/' + N, 'w'))\n"
	    "probe('create /etc/<new>', lambda: open('/etc/' + N, 'w'))\n"
	    "probe('create /<new>', lambda: open('/' + N, 'w'))\n"
	    "probe('mkdir /mnt/<new>', lambda: os.mkdir('/mnt/' + N))\n"
	    "probe('symlink /<new>', lambda: os.symlink('/tmp', '/' + N))\n"
	    "probe('append to /etc/passwd', lambda: open('/etc/passwd', 'a'))\n"
	    "probe('append to /usr/lib/python3.11/os.py', "
	    "lambda: open('/usr/lib/python3.11/os.py', 'a'))\n"
	    "probe('chmod /usr/bin/python3.11', lambda: os.chmod('/usr/bin/python3.11', 0o777))\n"
	    "probe('rename /etc/hostname', lambda: os.rename('/etc/hostname', '/etc/' + N))\n"
	    "probe('unlink /usr/bin/env', lambda: os.unlink('/usr/bin/env'))\n"
	    "probe('write /proc/sys/kernel/hostname', "
	    "lambda: open('/proc/sys/kernel/hostname', 'w').write('x'))\n"
	    "probe('write /proc/sys/vm/drop_caches', "
	    "lambda: open('/proc/sys/vm/drop_caches', 'w').write('3'))\n"
	    "probe('create /mnt/data/<new>', lambda: open('/mnt/data/' + N, 'w').close())\n"
	    "probe('create /tmp/<new>', lambda: open('/tmp/' + N, 'w').close())\n");
	struct cell c = attack(&t, &v, id, code, 60);
	if (t.degraded)
		expect_stdout(&c, "create /usr/<new>: PermissionError EACCES\n"
				  "create /usr/lib/<new>: PermissionError EACCES\n"
				  "create /etc/<new>: PermissionError EACCES\n"
				  "create /<new>: PermissionError EACCES\n"
				  "mkdir /mnt/<new>: PermissionError EACCES\n"
				  "symlink /<new>: PermissionError EACCES\n"
				  "append to /etc/passwd: PermissionError EACCES\n"
				  "append to /usr/lib/python3.11/os.py: PermissionError EACCES\n"
				  "chmod /usr/bin/python3.11: PermissionError EPERM\n"
				  "rename /etc/hostname: PermissionError EACCES\n"
				  "unlink /usr/bin/env: PermissionError EACCES\n"
				  "write /proc/sys/kernel/hostname: PermissionError EACCES\n"
				  "write /proc/sys/vm/drop_caches: PermissionError EACCES\n"
				  "create /mnt/data/<new>: ok\n"
				  "create /tmp/<new>: ok\n");
	else
		expect_stdout(&c, "create /usr/<new>: OSError EROFS\n"
				  "create /usr/lib/<new>: OSError EROFS\n"
				  "create /etc/<new>: OSError EROFS\n"
				  "create /<new>: OSError EROFS\n"
				  "mkdir /mnt/<new>: OSError EROFS\n"
				  "symlink /<new>: OSError EROFS\n"
				  "append to /etc/passwd: PermissionError EACCES\n"
				  "append to /usr/lib/python3.11/os.py: PermissionError EACCES\n"
				  "chmod /usr/bin/python3.11: OSError EROFS\n"
				  "rename /etc/hostname: OSError EROFS\n"
				  "unlink /usr/bin/env: OSError EROFS\n"
				  "write /proc/sys/kernel/hostname: PermissionError EACCES\n"
				  "write /proc/sys/vm/drop_caches: PermissionError EACCES\n"
				  "create /mnt/data/<new>: ok\n"
				  "create /tmp/<new>: ok\n");
	cell_fini(&c);
	free(code);
	/* Nothing reached the host. */
	static const char *const dirs[] = {"/usr/", "/usr/lib/", "/etc/", "/", "/mnt/", NULL};
	for (size_t i = 0; dirs[i]; i++) {
		char host[256];
		struct stat st;
		snprintf(host, sizeof(host), "%s%s", dirs[i], name);
		cr_expect(lstat(host, &st) < 0 && errno == ENOENT, "%s exists on the host", host);
	}
	finish(&t, &v, id);
}
BOTH_MODES(writes_to_the_root_usr_and_etc, 120)

/* AF_INET/AF_INET6/raw/packet/netlink sockets, DNS, and the emulator's own port. */
static void attack_network(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "network");

	cJSON *p = params_new(&t);
	cJSON_AddNumberToObject(p, "port", port_of(&t));
	cJSON_AddStringToObject(p, "base", t.e.base_url);
	char *code = attack_code(
	    p,
	    "import socket, urllib.request\n"
	    "PORT = P['port']\n"
	    "probe('socket AF_INET', lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))\n"
	    "probe('socket AF_INET6', lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM))\n"
	    "probe('socket AF_INET UDP', lambda: socket.socket(socket.AF_INET, "
	    "socket.SOCK_DGRAM))\n"
	    "probe('socket raw ICMP', "
	    "lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))\n"
	    "probe('socket AF_PACKET', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))\n"
	    "probe('socket AF_NETLINK', lambda: socket.socket(socket.AF_NETLINK, "
	    "socket.SOCK_RAW))\n"
	    "probe('resolve example.com', lambda: socket.getaddrinfo('example.com', 443))\n"
	    "probe('connect to the emulator on 127.0.0.1', "
	    "lambda: socket.create_connection(('127.0.0.1', PORT), timeout=5))\n"
	    "probe('connect to the emulator on ::1', "
	    "lambda: socket.create_connection(('::1', PORT), timeout=5))\n"
	    "try:\n"
	    "    urllib.request.urlopen(P['base'] + '/healthz', timeout=5)\n"
	    "    print('HTTP GET the emulator: ok')\n"
	    "except Exception as e:\n"
	    "    print('HTTP GET the emulator:', type(e).__name__, _why(getattr(e, 'reason', e)))\n"
	    "if not P['degraded']:\n"
	    "    probe('network interfaces', lambda: sorted(l.split(':')[0].strip()\n"
	    "          for l in open('/proc/net/dev').readlines()[2:]), show=True)\n");
	struct cell c = attack(&t, &v, id, code, 60);
	char want[2048];
	snprintf(want, sizeof(want),
		 "socket AF_INET: PermissionError EACCES\n"
		 "socket AF_INET6: PermissionError EACCES\n"
		 "socket AF_INET UDP: PermissionError EACCES\n"
		 "socket raw ICMP: PermissionError EACCES\n"
		 "socket AF_PACKET: PermissionError EACCES\n"
		 "socket AF_NETLINK: PermissionError EACCES\n"
		 "resolve example.com: gaierror -3\n"
		 "connect to the emulator on 127.0.0.1: PermissionError EACCES\n"
		 "connect to the emulator on ::1: PermissionError EACCES\n"
		 "HTTP GET the emulator: URLError PermissionError EACCES\n"
		 "%s",
		 t.degraded ? "" : "network interfaces: ok ['lo']\n");
	expect_stdout(&c, want);
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(network, 120)

/* Every process keeps forking for 4 s; pid 1 reports the first refusal and the peak count. */
static void attack_fork_bomb(enum atk_mode m)
{
	struct target t = target_get(m, ATK_SMALL);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "forkbomb");

	cJSON *p = params_new(&t);
	cJSON_AddNumberToObject(p, "max", SMALL_PROCESSES);
	char *code = attack_code(
	    p, "r, w = os.pipe()\n"
	       "first = os.fork()\n"
	       "if first == 0:\n"
	       "    os.close(r)\n"
	       "    told = False\n"
	       "    end = time.monotonic() + 4\n"
	       "    while time.monotonic() < end:\n"
	       "        try:\n"
	       "            os.fork()\n"
	       "        except OSError as e:\n"
	       "            if not told:\n"
	       "                os.write(w, (_why(e) + '\\n').encode())\n"
	       "                told = True\n"
	       "    os._exit(0)\n"
	       "os.close(w)\n"
	       "peak = 0\n"
	       "while not os.waitpid(first, os.WNOHANG)[0]:\n"
	       "    if not P['degraded']:\n"
	       "        peak = max(peak, sum(q.isdigit() for q in os.listdir('/proc')))\n"
	       "    time.sleep(0.05)\n"
	       "print('first refusal:', os.read(r, 4096).decode().split('\\n')[0])\n"
	       "print('peak processes', peak, file=sys.stderr)\n"
	       "print('within the process limit:', peak <= P['max'])\n");
	struct cell c = attack(&t, &v, id, code, 60);
	expect_stdout(&c, "first refusal: BlockingIOError EAGAIN\n"
			  "within the process limit: True\n");
	cell_fini(&c);
	free(code);
	c = run_cell(&t, id, "1 + 1", 30);
	expect_ok_value(&c, "2");
	cell_fini(&c);
	finish(&t, &v, id);
}
BOTH_MODES(fork_bomb, 120)

/* One process asks for more than the session's memory: MemoryError, the session survives. */
static void attack_memory_bomb(enum atk_mode m)
{
	struct target t = target_get(m, ATK_SMALL);
	struct victim v;
	char id[64], mine[40], want[128];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "membomb");
	random_hex(mine, 16);
	snprintf(want, sizeof(want), "mine = '%s'", mine);
	struct cell c = run_cell(&t, id, want, 30);
	cell_fini(&c);

	c = attack(&t, &v, id, "x = bytearray(1 << 30)", 60);
	cr_expect_str_eq(c.status, "Failed");
	cr_expect_str_eq(c.code, "ExecutionError", "%s: %s", c.code, c.message);
	cr_expect_str_eq(c.message, "MemoryError");
	cell_fini(&c);

	c = attack(&t, &v, id, "import numpy\nnumpy.ones(1 << 27)", 60);
	cr_expect_str_eq(c.code, "ExecutionError", "%s: %s", c.code, c.message);
	cr_expect_str_eq(
	    c.message,
	    "numpy.core._exceptions._ArrayMemoryError: Unable to allocate 1.00 GiB for an "
	    "array with shape (134217728,) and data type float64");
	cell_fini(&c);

	c = attack(&t, &v, id,
		   "def grow():\n"
		   "    chunks = []\n"
		   "    while True:\n"
		   "        chunks.append(bytearray(16 << 20))\n"
		   "grow()",
		   60);
	cr_expect_str_eq(c.code, "ExecutionError", "%s: %s", c.code, c.message);
	cr_expect_str_eq(c.message, "MemoryError");
	cell_fini(&c);

	/* The interpreter survived all three, with its state. */
	c = run_cell(&t, id, "mine", 30);
	snprintf(want, sizeof(want), "'%s'", mine);
	expect_ok_value(&c, want);
	cell_fini(&c);
	finish(&t, &v, id);
}
BOTH_MODES(memory_bomb, 120)

/*
 * Memory across processes: 4 children of one session each hold 256 MiB at the same time, twice
 * the session's 512 MiB. The session must not get more than its limit in total: a child must
 * fail with MemoryError (or the session be killed and restarted).
 */
static void attack_memory_bomb_across_processes(enum atk_mode m)
{
	struct target t = target_get(m, ATK_SMALL);
	/* Without session cgroups (an ordinary user has no delegation here) memory is bounded per
	 * process only: a documented limit of that mode, not something this test can assert. */
	if (!strstr(t.cgroups, "memory")) {
		fprintf(stderr,
			"attacks: %s mode: memory_bomb_across_processes skipped: no memory cgroup "
			"per session (session cgroups: %s)\n",
			mode_name[m], t.cgroups);
		cr_skip_test("%s mode: no memory cgroup per session (%s): memory is limited per "
			     "process only",
			     mode_name[m], t.cgroups);
	}
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "memprocs");

	cJSON *p = params_new(&t);
	cJSON_AddNumberToObject(p, "children", 4);
	cJSON_AddNumberToObject(p, "each_mb", 256);
	cJSON_AddNumberToObject(p, "limit_mb", SMALL_MEMORY_MB);
	char *code = attack_code(
	    p, "kids = []\n"
	       "for i in range(P['children']):\n"
	       "    r, w = os.pipe()\n"
	       "    r2, w2 = os.pipe()\n"
	       "    pid = os.fork()\n"
	       "    if pid == 0:\n"
	       "        os.close(r)\n"
	       "        os.close(w2)\n"
	       "        try:\n"
	       "            b = bytearray(P['each_mb'] << 20)\n"
	       "            b[::4096] = b'\\x01' * len(range(0, len(b), 4096))\n"
	       "            os.write(w, b'held')\n"
	       "        except MemoryError:\n"
	       "            os.write(w, b'oom!')\n"
	       "        os.read(r2, 1)\n"
	       "        os._exit(0)\n"
	       "    os.close(w)\n"
	       "    os.close(r2)\n"
	       "    kids.append((pid, r, w2))\n"
	       "held = [os.read(r, 4) for _, r, _ in kids]\n"
	       "together = sum(h == b'held' and not os.waitpid(pid, os.WNOHANG)[0]\n"
	       "               for (pid, _, _), h in zip(kids, held))\n"
	       "kb = 0\n"
	       "for pid, _, _ in kids:\n"
	       "    try:\n"
	       "        for line in open(f'/proc/{pid}/status'):\n"
	       "            if line.startswith('RssAnon:'):\n"
	       "                kb += int(line.split()[1])\n"
	       "    except OSError:\n"
	       "        pass\n"
	       "for pid, _, w2 in kids:\n"
	       "    os.write(w2, b'x')\n"
	       "    os.waitpid(pid, 0)\n"
	       "print(f\"{together} of {len(kids)} children held {P['each_mb']} MiB at once; \"\n"
	       "      f'{kb >> 10} MiB resident in them', file=sys.stderr)\n"
	       "print('within the session limit:', together * P['each_mb'] <= P['limit_mb'])\n");
	struct cell c = attack(&t, &v, id, code, 90);
	if (!strcmp(c.code, "InterpreterRestarted")) {
		cr_log_info("%s: the session was killed and restarted: %s", mode_name[m],
			    c.message);
	} else {
		cr_expect_str_eq(c.out, "within the session limit: True\n",
				 "one session held more memory than --session-memory-mb %d: %s"
				 "(RLIMIT_AS is per process; nothing bounds a session's total)",
				 SMALL_MEMORY_MB, c.err);
	}
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(memory_bomb_across_processes, 150)

static const char fill_helper[] =
    "def fill(prefix, files, mb_each):\n"
    "    done = 0\n"
    "    try:\n"
    "        for i in range(files):\n"
    "            fd = os.open(f'{prefix}{i}.bin', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
    "            try:\n"
    "                for _ in range(mb_each):\n"
    "                    if os.write(fd, b'\\xa5' * (1 << 20)) != 1 << 20:\n"
    "                        raise OSError(0, 'short write')\n"
    "                    done += 1\n"
    "            finally:\n"
    "                os.close(fd)\n"
    "    except OSError as e:\n"
    "        return done, _why(e)\n"
    "    return done, None\n"
    "def clean(d):\n"
    "    for f in os.listdir(d):\n"
    "        if f.endswith('.bin'):\n"
    "            os.remove(os.path.join(d, f))\n";

/* /mnt/data past --session-disk-mb (32 MiB) in files of the allowed size, then one file past
 * the file-size limit (8 MiB). */
static void attack_fill_mnt_data_past_the_quota(enum atk_mode m)
{
	struct target t = target_get(m, ATK_SMALL);
	struct victim v;
	char id[64], body[4096];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "quota");

	cJSON *p = params_new(&t);
	cJSON_AddNumberToObject(p, "quota_mb", SMALL_DISK_MB);
	cJSON_AddNumberToObject(p, "file_mb", SMALL_FILE_BYTES >> 20);
	snprintf(body, sizeof(body),
		 "%s"
		 "done, why = fill('/mnt/data/fill', 6, P['file_mb'])\n"
		 "print(f'{done} MiB written to /mnt/data', file=sys.stderr)\n"
		 "print('stopped by:', why)\n"
		 "print('within the quota:', done <= P['quota_mb'])\n"
		 "clean('/mnt/data')\n"
		 "done, why = fill('/mnt/data/big', 1, P['file_mb'] + 1)\n"
		 "print('one file past the size limit:', why, done)\n"
		 "clean('/mnt/data')\n",
		 fill_helper);
	char *code = attack_code(p, body);
	struct cell c = attack(&t, &v, id, code, 90);
	cr_expect_str_eq(c.status, "Succeeded", "%s: %s", c.message, c.err);
	char line1[128] = "", line2[128] = "", line3[128] = "";
	sscanf(c.out, "%127[^\n]\n%127[^\n]\n%127[^\n]", line1, line2, line3);
	cr_expect(!strcmp(line1, "stopped by: OSError ENOSPC") ||
		      !strcmp(line1, "stopped by: OSError EDQUOT"),
		  "writing 48 MiB to /mnt/data with --session-disk-mb %d: '%s' (%s): the quota is "
		  "not enforced",
		  SMALL_DISK_MB, line1, c.err);
	cr_expect_str_eq(line2, "within the quota: True", "%s", c.err);
	char want[96];
	snprintf(want, sizeof(want), "one file past the size limit: OSError EFBIG %d",
		 SMALL_FILE_BYTES >> 20);
	cr_expect_str_eq(line3, want);
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(fill_mnt_data_past_the_quota, 150)

/* /tmp and /dev/shm (64 MiB tmpfs each) with 96 MiB, in files of 8 MiB. */
static void attack_fill_tmp_past_its_size(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64], body[4096];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "tmpfill");

	cJSON *p = params_new(&t);
	cJSON_AddNumberToObject(p, "tmp_mb", TMP_MB);
	snprintf(body, sizeof(body),
		 "%s"
		 "for d in ('/tmp', '/dev/shm'):\n"
		 "    done, why = fill(d + '/fill', 12, 8)\n"
		 "    print(f'{done} MiB written to {d}', file=sys.stderr)\n"
		 "    print(d, 'stopped by:', why)\n"
		 "    print(d, 'within its size:', done <= P['tmp_mb'])\n"
		 "    clean(d)\n",
		 fill_helper);
	char *code = attack_code(p, body);
	struct cell c = attack(&t, &v, id, code, 90);
	if (t.degraded)
		/* Documented: degraded sessions share the host's /tmp and /dev/shm. */
		expect_stdout(&c, "/tmp stopped by: None\n"
				  "/tmp within its size: False\n"
				  "/dev/shm stopped by: None\n"
				  "/dev/shm within its size: False\n");
	else
		expect_stdout(&c, "/tmp stopped by: OSError ENOSPC\n"
				  "/tmp within its size: True\n"
				  "/dev/shm stopped by: OSError ENOSPC\n"
				  "/dev/shm within its size: True\n");
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(fill_tmp_past_its_size, 120)

/* A C loop that never checks for signals, and a Python loop that ignores SIGINT. */
static void attack_c_level_infinite_loop(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "cloop");
	static const char *const loops[] = {
	    "sum(range(10**13))",
	    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
	    NULL};
	for (size_t i = 0; loops[i]; i++) {
		struct cell c = run_cell(&t, id, "lost = 1", 30);
		cell_fini(&c);
		c = attack(&t, &v, id, loops[i], 2);
		cr_expect_str_eq(c.status, "Failed");
		cr_expect_str_eq(c.code, "ExecutionTimeout", "[%s] %s: %s", loops[i], c.code,
				 c.message);
		cr_expect_str_eq(c.message,
				 "Execution timed out after 2 seconds. The Python interpreter was "
				 "restarted; variables and imports were lost.",
				 "[%s]", loops[i]);
		/* 2 s to SIGINT, 1 s of grace, then the kill: generous for a loaded machine. */
		cr_expect_lt(c.seconds, 20.0, "[%s] took %.1f s", loops[i], c.seconds);
		cell_fini(&c);
		c = run_cell(&t, id, "'lost' in globals()", 30);
		expect_ok_value(&c, "False");
		cell_fini(&c);
	}
	finish(&t, &v, id);
}
BOTH_MODES(c_level_infinite_loop, 120)

/* os.kill(-1, SIGKILL) from the session. */
static void attack_kill_minus_one(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	pid_t zyg_before[2], zyg_after[2];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "killall");
	int nz = zygote_pids(&t, zyg_before);

	char *code = attack_code(
	    params_new(&t),
	    "import subprocess\n"
	    "a = subprocess.Popen(['sleep', '1000'])\n"
	    "b = subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
	    "c = subprocess.Popen(['sh', '-c', 'trap \"\" TERM HUP INT; sleep 1000; :'])\n"
	    "time.sleep(0.3)\n"
	    "os.kill(-1, signal.SIGKILL)\n"
	    "print('children:', a.wait(), b.wait(), c.wait())\n"
	    "print('still alive as pid', os.getpid() if not P['degraded'] else 1)\n"
	    "while True:\n"
	    "    try:\n"
	    "        os.waitpid(-1, 0)\n"
	    "    except ChildProcessError:\n"
	    "        break\n"
	    "probe('kill(-1) again', lambda: os.kill(-1, signal.SIGKILL))\n");
	struct cell c = attack(&t, &v, id, code, 60);
	expect_stdout(&c, t.degraded ? "children: -9 -9 -9\n"
				       "still alive as pid 1\n"
				       "kill(-1) again: ok\n"
				     : "children: -9 -9 -9\n"
				       "still alive as pid 1\n"
				       "kill(-1) again: ProcessLookupError ESRCH\n");
	cell_fini(&c);
	free(code);
	cr_expect_eq(kill(t.emu_pid, 0), 0, "the emulator is gone");
	cr_expect_eq(zygote_pids(&t, zyg_after), nz);
	for (int i = 0; i < nz; i++)
		cr_expect_eq(zyg_after[i], zyg_before[i], "the zygote was replaced");
	finish(&t, &v, id);
}
BOTH_MODES(kill_minus_one, 120)

/* Signals, pidfds, ptrace and process_vm_readv against the emulator and the zygote. */
static void attack_signal_and_ptrace_the_zygote_and_emulator(enum atk_mode m)
{
#if !defined(__x86_64__)
	(void)m;
	cr_skip_test("the raw syscall numbers of this attack are those of x86_64");
#else
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	pid_t zyg[2], zyg_after[2];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "signal");
	int nz = zygote_pids(&t, zyg);

	cJSON *p = params_new(&t);
	cJSON *targets = cJSON_AddArrayToObject(p, "targets");
	static const char *const names[] = {"emulator", "zygote", "inner zygote"};
	pid_t pids[3] = {t.emu_pid, zyg[0], nz > 1 ? zyg[1] : 0};
	for (int i = 0; i < 1 + nz; i++) {
		cJSON *pair = cJSON_CreateArray();
		cJSON_AddItemToArray(pair, cJSON_CreateString(names[i]));
		cJSON_AddItemToArray(pair, cJSON_CreateNumber(pids[i]));
		cJSON_AddItemToArray(targets, pair);
	}
	char *code = attack_code(
	    p,
	    "for name, pid in P['targets']:\n"
	    "    probe(f'kill the {name}', lambda pid=pid: os.kill(pid, signal.SIGKILL))\n"
	    "    probe(f'stop the {name}', lambda pid=pid: os.kill(pid, signal.SIGSTOP))\n"
	    "    probe(f'pidfd_open the {name}', lambda pid=pid: os.close(os.pidfd_open(pid)))\n"
	    "    sysc(f'ptrace attach to the {name}', "
	    "lambda pid=pid: _libc.ptrace(16, pid, 0, 0))\n"
	    "    sysc(f'process_vm_readv from the {name}', "
	    "lambda pid=pid: _libc.syscall(310, pid, 0, 0, 0, 0, 0))\n"
	    "    probe(f'open the {name} memory', lambda pid=pid: open(f'/proc/{pid}/mem', 'rb'))\n"
	    "sysc('ptrace traceme', lambda: _libc.ptrace(0, 0, 0, 0))\n");
	struct cell c = attack(&t, &v, id, code, 60);
	char want[4096];
	size_t used = 0;
	for (int i = 0; i < 1 + nz; i++)
		used += (size_t)snprintf(
		    want + used, sizeof(want) - used,
		    "kill the %s: %s\n"
		    "stop the %s: %s\n"
		    "pidfd_open the %s: %s\n"
		    "ptrace attach to the %s: EPERM\n"
		    "process_vm_readv from the %s: EPERM\n"
		    "open the %s memory: %s\n",
		    names[i], t.degraded ? "PermissionError EPERM" : "ProcessLookupError ESRCH",
		    names[i], t.degraded ? "PermissionError EPERM" : "ProcessLookupError ESRCH",
		    names[i], t.degraded ? "ok" : "ProcessLookupError ESRCH", names[i], names[i],
		    names[i], t.degraded ? "PermissionError EACCES" : "FileNotFoundError ENOENT");
	snprintf(want + used, sizeof(want) - used, "ptrace traceme: EPERM\n");
	expect_stdout(&c, want);
	cell_fini(&c);
	free(code);
	/* Both still run, unchanged and not stopped. */
	cr_expect_eq(kill(t.emu_pid, 0), 0, "the emulator is gone");
	cr_expect_eq(zygote_pids(&t, zyg_after), nz);
	for (int i = 0; i < nz; i++)
		cr_expect_eq(zyg_after[i], zyg[i], "the zygote was replaced");
	finish(&t, &v, id);
#endif
}
BOTH_MODES(signal_and_ptrace_the_zygote_and_emulator, 120)

/* mount, umount, unshare, clone with namespaces, setns, setuid, chroot, pivot_root, and the
 * kernel interfaces a container escape usually needs. */
static void attack_mount_unshare_setuid_chroot(enum atk_mode m)
{
#if !defined(__x86_64__)
	(void)m;
	cr_skip_test("the raw syscall numbers of this attack are those of x86_64");
#else
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "privileged");

	char *code = attack_code(
	    params_new(&t),
	    "sysc('mount tmpfs on /tmp', lambda: _libc.mount(b'none', b'/tmp', b'tmpfs', 0, "
	    "None))\n"
	    "sysc('remount / read-write', lambda: _libc.mount(None, b'/', None, 0x1020, None))\n"
	    "sysc('umount /usr', lambda: _libc.umount2(b'/usr', 2))\n"
	    "sysc('unshare user namespace', lambda: _libc.unshare(0x10000000))\n"
	    "sysc('unshare mount namespace', lambda: _libc.unshare(0x00020000))\n"
	    "sysc('unshare network namespace', lambda: _libc.unshare(0x40000000))\n"
	    "def clone_newuser():\n"
	    "    r = _libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)\n"
	    "    if r == 0:\n"
	    "        os._exit(0)\n"
	    "    return r\n"
	    "sysc('clone a user namespace', clone_newuser)\n"
	    "sysc('clone3', lambda: _libc.syscall(435, 0, 0))\n"
	    "fd = os.open('/proc/self/ns/net', os.O_RDONLY)\n"
	    "sysc('setns', lambda: _libc.setns(fd, 0))\n"
	    "os.close(fd)\n"
	    "probe('setuid(0)', lambda: os.setuid(0))\n"
	    "probe('setgid(0)', lambda: os.setgid(0))\n"
	    "probe('setgroups([0])', lambda: os.setgroups([0]))\n"
	    "sysc('setresuid(0, 0, 0)', lambda: _libc.syscall(117, 0, 0, 0))\n"
	    "probe('chroot', lambda: os.chroot('/tmp'))\n"
	    "sysc('pivot_root', lambda: _libc.syscall(155, b'/tmp', b'/tmp'))\n"
	    "sysc('mknod a block device', lambda: _libc.mknod(b'/tmp/sda', 0o60600, 0x800))\n"
	    "sysc('open_by_handle_at', lambda: _libc.syscall(304, -100, 0, 0))\n"
	    "sysc('bpf', lambda: _libc.syscall(321, 0, 0, 0))\n"
	    "sysc('perf_event_open', lambda: _libc.syscall(298, 0, 0, -1, -1, 0))\n"
	    "sysc('keyctl', lambda: _libc.syscall(250, 0, 0, 0, 0, 0))\n"
	    "sysc('io_uring_setup', lambda: _libc.syscall(425, 1, 0))\n"
	    "sysc('userfaultfd', lambda: _libc.syscall(323, 0))\n"
	    "sysc('init_module', lambda: _libc.syscall(175, 0, 0, 0))\n"
	    "sysc('kexec_load', lambda: _libc.syscall(246, 0, 0, 0, 0))\n"
	    "sysc('reboot', lambda: _libc.syscall(169, 0, 0, 0, 0))\n"
	    "sysc('sethostname', lambda: _libc.sethostname(b'pwned', 5))\n"
	    "sysc('capset', lambda: _libc.syscall(126, 0, 0))\n"
	    "sysc('personality READ_IMPLIES_EXEC', lambda: _libc.personality(0x0400000))\n"
	    "probe('capabilities and flags', lambda: [l.split()[1] for l in "
	    "open('/proc/self/status')\n"
	    "      if l.startswith(('Cap', 'NoNewPrivs', 'Seccomp:'))], show=True)\n"
	    "probe('any id is 0', lambda: 0 in os.getresuid() + os.getresgid(), show=True)\n");
	struct cell c = attack(&t, &v, id, code, 60);
	expect_stdout(&c, "mount tmpfs on /tmp: EPERM\n"
			  "remount / read-write: EPERM\n"
			  "umount /usr: EPERM\n"
			  "unshare user namespace: EPERM\n"
			  "unshare mount namespace: EPERM\n"
			  "unshare network namespace: EPERM\n"
			  "clone a user namespace: EPERM\n"
			  "clone3: ENOSYS\n"
			  "setns: EPERM\n"
			  "setuid(0): PermissionError EPERM\n"
			  "setgid(0): PermissionError EPERM\n"
			  "setgroups([0]): PermissionError EPERM\n"
			  "setresuid(0, 0, 0): EPERM\n"
			  "chroot: PermissionError EPERM\n"
			  "pivot_root: EPERM\n"
			  "mknod a block device: EPERM\n"
			  "open_by_handle_at: EPERM\n"
			  "bpf: EPERM\n"
			  "perf_event_open: EPERM\n"
			  "keyctl: EPERM\n"
			  "io_uring_setup: EPERM\n"
			  "userfaultfd: EPERM\n"
			  "init_module: EPERM\n"
			  "kexec_load: EPERM\n"
			  "reboot: EPERM\n"
			  "sethostname: EPERM\n"
			  "capset: EPERM\n"
			  "personality READ_IMPLIES_EXEC: EPERM\n"
			  "capabilities and flags: ok ['0000000000000000', '0000000000000000', "
			  "'0000000000000000', '0000000000000000', '0000000000000000', '1', '2']\n"
			  "any id is 0: ok False\n");
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
#endif
}
BOTH_MODES(mount_unshare_setuid_chroot, 120)

/* Host process lists through /proc. */
static void attack_host_process_lists_through_proc(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	pid_t zyg[2];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "proclist");
	zygote_pids(&t, zyg);
	pid_t vp = victim_pid(&v);
	cr_assert_gt(vp, 0, "the victim's host pid was not found");

	cJSON *p = params_new(&t);
	cJSON_AddNumberToObject(p, "emu_pid", t.emu_pid);
	cJSON_AddNumberToObject(p, "zygote_pid", zyg[0]);
	cJSON_AddNumberToObject(p, "victim_pid", vp);
	char *code = attack_code(
	    p, "import subprocess\n"
	       "pids = sorted(int(q) for q in os.listdir('/proc') if q.isdigit())\n"
	       "print('processes in /proc:', pids if not P['degraded'] else len(pids) > 1)\n"
	       "for name in ('emu_pid', 'zygote_pid', 'victim_pid'):\n"
	       "    print(name, 'visible:', os.path.exists(f'/proc/{P[name]}'))\n"
	       "print('parent pid:', os.getppid() if not P['degraded'] else 0)\n"
	       "ps = subprocess.run(['ps', '-e', '-o', 'pid=,comm='], capture_output=True, "
	       "text=True)\n"
	       "print('ps -e:', ps.stdout.split() if not P['degraded'] else ps.returncode)\n"
	       "if not P['degraded']:\n"
	       "    tcp = [l.split()[1] for l in open('/proc/net/tcp').readlines()[1:]]\n"
	       "    print('listening TCP sockets seen:', tcp)\n");
	struct cell c = attack(&t, &v, id, code, 60);
	if (t.degraded)
		/* Documented: degraded sessions see the host's processes (not their memory). */
		expect_stdout(&c, "processes in /proc: True\n"
				  "emu_pid visible: True\n"
				  "zygote_pid visible: True\n"
				  "victim_pid visible: True\n"
				  "parent pid: 0\n"
				  "ps -e: 0\n");
	else
		expect_stdout(&c, "processes in /proc: [1]\n"
				  "emu_pid visible: False\n"
				  "zygote_pid visible: False\n"
				  "victim_pid visible: False\n"
				  "parent pid: 0\n"
				  "ps -e: ['1', 'sessionpool-zyg', '2', 'ps']\n"
				  "listening TCP sockets seen: []\n");
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(host_process_lists_through_proc, 120)

/*
 * The emulator's environment and host paths (issue 7.3): secrets set in the emulator's
 * environment appear in no environ a session can read (its own, pid 1's, any /proc/<pid>), nor
 * in os.environ; its environment is the documented fixed one; in full isolation its command
 * lines, cgroup file and mount tables name no host path (the data directory, the zygote's sbx-*
 * state directory, host cgroup paths). Degraded mode sees the host's /proc and mount table:
 * there only the environment is asserted.
 */
static void attack_host_environment_and_paths(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "environ");

	cJSON *p = params_new(&t);
	const char *secrets[] = {SECRET_TOKEN, SECRET_AWS};
	cJSON_AddItemToObject(p, "secrets", cJSON_CreateStringArray(secrets, 2));
	const char *paths[] = {t.dir, t.e.data_dir, "/sbx-"};
	cJSON_AddItemToObject(p, "paths", cJSON_CreateStringArray(paths, 3));
	char *code = attack_code(
	    p,
	    "def rd(path):\n"
	    "    try:\n"
	    "        with open(path, 'rb') as f:\n"
	    "            return f.read()\n"
	    "    except OSError:\n"
	    "        return None\n"
	    "sec = [x.encode() for x in P['secrets']]\n"
	    "hits, readable = set(), 0\n"
	    "for q in ['self', '1'] + [d for d in os.listdir('/proc') if d.isdigit()]:\n"
	    "    b = rd(f'/proc/{q}/environ')\n"
	    "    if b is not None:\n"
	    "        readable += 1\n"
	    "        hits.update(f'/proc/{q}/environ' for x in sec if x in b)\n"
	    "print('secrets in readable environ files:', sorted(hits), readable >= 2)\n"
	    "print('secrets in os.environ:', [k for k, val in os.environ.items() if "
	    "k in ('SESSIONPOOL_STATIC_TOKEN', 'AWS_SECRET_ACCESS_KEY') or "
	    "any(x.decode() in val for x in sec)])\n"
	    "own = [x.split(b'=', 1)[0].decode() for x in rd('/proc/self/environ').split(b'\\0') "
	    "if x]\n"
	    "print('environment:', sorted(own) == sorted(os.environ), sorted(own))\n"
	    "if not P['degraded']:\n"
	    "    for f in ('self/cmdline', '1/cmdline', 'self/cgroup', '1/cgroup',\n"
	    "              'self/mountinfo', 'self/mounts', '1/mountinfo'):\n"
	    "        b = rd('/proc/' + f) or b''\n"
	    "        print(f, 'names a host path:', [x for x in P['paths'] if x.encode() in b])\n"
	    "    cg = rd('/proc/self/cgroup').decode().splitlines()\n"
	    "    print('cgroup paths:', sorted(set(l.split(':', 2)[2] for l in cg)))\n"
	    "    print('zygote argv[0]:', rd('/proc/1/cmdline').split(b'\\0')[0].decode())\n");
	struct cell c = attack(&t, &v, id, code, 60);
	const char *env = "environment: True ['HOME', 'LANG', 'MKL_NUM_THREADS', 'MPLBACKEND', "
			  "'MPLCONFIGDIR', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH', "
			  "'PIP_BREAK_SYSTEM_PACKAGES', 'PIP_DISABLE_PIP_VERSION_CHECK', "
			  "'PIP_USER']\n";
	char want[2048];
	if (t.degraded)
		snprintf(want, sizeof(want),
			 "secrets in readable environ files: [] True\n"
			 "secrets in os.environ: []\n%s",
			 env);
	else
		snprintf(want, sizeof(want),
			 "secrets in readable environ files: [] True\n"
			 "secrets in os.environ: []\n%s"
			 "self/cmdline names a host path: []\n"
			 "1/cmdline names a host path: []\n"
			 "self/cgroup names a host path: []\n"
			 "1/cgroup names a host path: []\n"
			 "self/mountinfo names a host path: []\n"
			 "self/mounts names a host path: []\n"
			 "1/mountinfo names a host path: []\n"
			 "cgroup paths: ['/']\n"
			 "zygote argv[0]: sessionpool-zygote\n",
			 env);
	expect_stdout(&c, want);
	cell_fini(&c);
	free(code);
	finish(&t, &v, id);
}
BOTH_MODES(host_environment_and_paths, 120)

/* 1 GiB through print(), through fd 1 and 2, and from a subprocess: capped output, and the
 * emulator's peak RSS grows by less than 64 MiB. */
static void attack_one_gigabyte_of_output(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "output");
	/* A first cell, so the session exists before the baseline. */
	struct cell c = run_cell(&t, id, "0", 30);
	cell_fini(&c);

	long before = status_kb(t.emu_pid, "VmRSS");
	cr_assert_gt(before, 0);
	reset_peak_rss(t.emu_pid);
	char x[STREAM_MAX + 1], y[STREAM_MAX + 1], yes[STREAM_MAX + 1];
	memset(x, 'x', STREAM_MAX);
	memset(y, 'y', STREAM_MAX);
	for (int i = 0; i < STREAM_MAX; i++)
		yes[i] = i % 2 ? '\n' : 'y';
	x[STREAM_MAX] = y[STREAM_MAX] = yes[STREAM_MAX] = '\0';

	c = attack(&t, &v, id,
		   "import sys\ns = 'x' * (1 << 20)\nfor _ in range(1024):\n"
		   "    sys.stdout.write(s)",
		   120);
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.message);
	cr_expect_eq(strlen(c.out), STREAM_MAX);
	cr_expect_str_eq(c.out, x);
	cell_fini(&c);

	c = attack(&t, &v, id,
		   "import os\nb = b'y' * (1 << 20)\nfor _ in range(512):\n"
		   "    os.write(1, b)\n    os.write(2, b)",
		   120);
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.message);
	cr_expect_str_eq(c.out, y);
	cr_expect_str_eq(c.err, y);
	cell_fini(&c);

	c = attack(&t, &v, id,
		   "import subprocess\n"
		   "subprocess.run('yes | head -c 1073741824', shell=True).returncode",
		   120);
	expect_ok_value(&c, "0");
	cr_expect_str_eq(c.out, yes);
	cell_fini(&c);

	long peak = status_kb(t.emu_pid, "VmHWM"), after = status_kb(t.emu_pid, "VmRSS");
	cr_log_info("%s: emulator RSS %ld kB before, peak %ld kB, %ld kB after", mode_name[m],
		    before, peak, after);
	expect_rss_lt(peak - before, RSS_BUDGET_KB,
		      "the emulator's peak RSS grew by %ld kB (from %ld kB) for 3 GiB of output",
		      peak - before, before);
	expect_rss_lt(after - before, RSS_BUDGET_KB, "the emulator kept %ld kB", after - before);
	finish(&t, &v, id);
}
BOTH_MODES(one_gigabyte_of_output, 180)

/* The other channels of a cell: a 16 MiB value and a 16 MiB exception message. They are made by
 * the sandboxed code and end up in the emulator's memory and its execution records, which should
 * keep at most a few MiB per cell. */
static void attack_huge_cell_value_and_error_message(enum atk_mode m)
{
	struct target t = target_get(m, ATK_SMALL);
	struct victim v;
	char id[64];
	victim_new(&t, &v);
	new_id(id, sizeof(id), "bigvalue");
	struct cell c = run_cell(&t, id, "0", 30);
	cell_fini(&c);

	long before = status_kb(t.emu_pid, "VmRSS");
	cr_assert_gt(before, 0);
	reset_peak_rss(t.emu_pid);
	c = attack(&t, &v, id, "'v' * (16 << 20)", 90);
	size_t value_len = cJSON_IsString(c.value) ? strlen(c.value->valuestring) : 0;
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.message);
	cell_fini(&c);
	c = attack(&t, &v, id, "raise ValueError('e' * (16 << 20))", 90);
	size_t message_len = strlen(c.message);
	cr_expect_str_eq(c.code, "ExecutionError");
	cr_expect_leq(strlen(c.err), 4 * STREAM_MAX, "stderr is not capped");
	cell_fini(&c);
	long peak = status_kb(t.emu_pid, "VmHWM"), after = status_kb(t.emu_pid, "VmRSS");
	cr_log_info("%s: emulator RSS %ld kB before, peak %ld kB, %ld kB after", mode_name[m],
		    before, peak, after);
	expect_rss_lt(peak - before, RSS_BUDGET_KB,
		      "two cells (a %zu-character executionResult, a %zu-character error.message) "
		      "grew the emulator's peak RSS by %ld MiB",
		      value_len, message_len, (peak - before) >> 10);
	expect_rss_lt(after - before, RSS_KEPT_BUDGET_KB,
		      "the emulator kept %ld MiB after the two cells (in their execution records)",
		      (after - before) >> 10);
	finish(&t, &v, id);
}
BOTH_MODES(huge_cell_value_and_error_message, 180)

/* Background processes (a child, a setsid child, a double-forked daemon ignoring SIGTERM and
 * SIGHUP) outlive the cell, and die with the session. */
static void attack_background_processes(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char id[64], secs[16];
	unsigned char r;
	victim_new(&t, &v);
	new_id(id, sizeof(id), "background");
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	cr_assert_eq(read(fd, &r, 1), 1);
	close(fd);
	snprintf(secs, sizeof(secs), "9%05u%02u", (unsigned)(getpid() % 100000), (unsigned)r % 100);

	cJSON *p = params_new(&t);
	cJSON_AddStringToObject(p, "secs", secs);
	char *code = attack_code(p, "import subprocess\n"
				    "S = P['secs']\n"
				    "subprocess.Popen(['sleep', S])\n"
				    "subprocess.Popen(['sleep', S], start_new_session=True)\n"
				    "if os.fork() == 0:\n"
				    "    os.setsid()\n"
				    "    if os.fork() == 0:\n"
				    "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
				    "        signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
				    "        os.execv('/bin/sleep', ['sleep', S])\n"
				    "    os._exit(0)\n"
				    "print('started')\n");
	struct cell c = attack(&t, &v, id, code, 60);
	expect_stdout(&c, "started\n");
	cell_fini(&c);
	free(code);

	int n = 0;
	for (int i = 0; i < 200 && (n = count_cmdline("sleep", secs)) < 3; i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	cr_assert_eq(n, 3, "%d of the 3 background processes are running after the cell", n);
	c = run_cell(&t, id, "'next cell'", 30);
	expect_ok_value(&c, "'next cell'");
	cell_fini(&c);
	cr_expect_eq(count_cmdline("sleep", secs), 3, "background processes died between cells");

	cr_expect_eq(delete_session(&t, id), 204);
	for (int i = 0; i < 300 && (n = count_cmdline("sleep", secs)) > 0; i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	cr_expect_eq(n, 0, "%d background processes outlived their session by 15 s", n);
	finish(&t, &v, NULL);
}
BOTH_MODES(background_processes, 120)

/* ---- shell variants: the same attacks through the MCP shell tool (issue 11) ----------------- */

/*
 * The attacker is an MCP environment (launchShell) that runs its attack with the tool
 * runShellCommandInRemoteEnvironment, as an agent would: `sh -c` lines (shellCommand) or a
 * program and its arguments (execCommandAndArgs). Its commands run in a session of the same
 * pool as the REST victim, so everything the Python battery asserts must hold for them too:
 * a command can do nothing a cell could not. Each probe prints "<what>: <outcome>", the outcome
 * "ok" or the last ": "-separated part of the error (the strerror text).
 */

#define MCP_KEY_HEADER "x-ms-apikey: sp-attack-key"

/* The shell prelude: probe LABEL CMD ARGS… */
static const char shell_prelude[] =
    "probe() { l=$1; shift; if o=$(\"$@\" 2>&1); then echo \"$l: ok\"; "
    "else echo \"$l: ${o##*: }\"; fi; }\n";

struct shell {
	long http;
	cJSON *j;
	const cJSON *sc; /* result.structuredContent */
	const char *out;
	const char *err;
	int exit_code; /* structuredContent.exitCode, -1 when absent */
	bool is_error;
	double seconds;
	char transport[256];
};

static void shell_fini(struct shell *s)
{
	cJSON_Delete(s->j);
	memset(s, 0, sizeof(*s));
}

/* POST /mcp tools/call |tool| with |args| (taken); fills *s, never asserts. */
static void mcp_call_into(const struct emu *e, const char *tool, cJSON *args, int timeout_s,
			  struct shell *s)
{
	memset(s, 0, sizeof(*s));
	s->exit_code = -1;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(b, "id", 1);
	cJSON_AddStringToObject(b, "method", "tools/call");
	cJSON *params = cJSON_AddObjectToObject(b, "params");
	cJSON_AddStringToObject(params, "name", tool);
	cJSON_AddItemToObject(params, "arguments", args);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	const char *hdrs[] = {"Content-Type: application/json",
			      "Accept: application/json, text/event-stream", MCP_KEY_HEADER, NULL};
	struct http_req q = {.path = "/mcp",
			     .headers = hdrs,
			     .body = body,
			     .body_len = strlen(body),
			     .no_auth = true,
			     .timeout_s = timeout_s};
	struct http_resp r;
	if (emu_request(e, &q, &r) < 0)
		snprintf(s->transport, sizeof(s->transport), "%s", r.error);
	cJSON_free(body);
	s->http = r.status;
	s->seconds = r.seconds;
	s->j = http_resp_json(&r);
	http_resp_fini(&r);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(s->j, "result");
	s->sc = cJSON_GetObjectItemCaseSensitive(res, "structuredContent");
	s->is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "isError"));
	s->out = jstr(s->sc, "stdout");
	s->err = jstr(s->sc, "stderr");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(s->sc, "exitCode");
	if (cJSON_IsNumber(code))
		s->exit_code = code->valueint;
}

static void shell_expect_http(const struct shell *s, const char *what)
{
	if (s->http == 200 && s->sc)
		return;
	char *body = s->j ? cJSON_PrintUnformatted(s->j) : NULL;
	cr_assert_fail("%s: HTTP %ld %s%s", what, s->http, s->transport, body ? body : "");
}

/* A new MCP environment (launchShell); its id in |env|. */
static void shell_env_new(const struct target *t, char *env, size_t len)
{
	struct shell s;
	mcp_call_into(&t->e, "launchShell", cJSON_CreateObject(), 30, &s);
	shell_expect_http(&s, "launchShell");
	const char *id = jstr(s.sc, "environmentId");
	cr_assert(*id, "launchShell returned no environmentId");
	snprintf(env, len, "%s", id);
	shell_fini(&s);
}

/* The arguments of runShellCommandInRemoteEnvironment: |line|, or else |argv|. */
static cJSON *shell_args(const char *env, const char *line, const char *const *argv)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "environmentId", env);
	if (line) {
		cJSON_AddStringToObject(a, "shellCommand", line);
	} else {
		cJSON *v = cJSON_AddArrayToObject(a, "execCommandAndArgs");
		for (size_t i = 0; argv[i]; i++)
			cJSON_AddItemToArray(v, cJSON_CreateString(argv[i]));
	}
	return a;
}

static struct shell run_shell(const struct target *t, const char *env, const char *line)
{
	struct shell s;
	mcp_call_into(&t->e, "runShellCommandInRemoteEnvironment", shell_args(env, line, NULL), 120,
		      &s);
	shell_expect_http(&s, line);
	return s;
}

struct async_shell {
	const struct emu *e;
	const char *env;
	const char *line;
	const char *const *argv;
	struct shell out;
	atomic_bool done;
};

static void *async_shell_main(void *p)
{
	struct async_shell *a = p;
	mcp_call_into(a->e, "runShellCommandInRemoteEnvironment",
		      shell_args(a->env, a->line, a->argv), 120, &a->out);
	atomic_store(&a->done, true);
	return NULL;
}

/* The attack command (|line| through sh, or |argv|) while the victim and /healthz are probed. */
static struct shell shell_attack(const struct target *t, const struct victim *v, const char *env,
				 const char *line, const char *const *argv)
{
	struct async_shell a = {.e = &t->e, .env = env, .line = line, .argv = argv};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, async_shell_main, &a), 0);
	probe_while(t, v, th, &a.done);
	shell_expect_http(&a.out, "the attack's tools/call");
	return a.out;
}

static void expect_shell_stdout(const struct shell *s, const char *want)
{
	cr_expect_eq(s->exit_code, 0, "exit code %d, stderr: %s", s->exit_code, s->err);
	cr_expect_str_eq(s->out, want,
			 "\n---- stdout ----\n%s---- want ----\n%s---- stderr ----\n%s", s->out,
			 want, s->err);
}

/* The prelude, "DEG=0|1", then |body| (printf format with |...|). */
static char *shell_script(const struct target *t, const char *body_fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *shell_script(const struct target *t, const char *body_fmt, ...)
{
	char *body = NULL, *out = NULL;
	va_list ap;
	va_start(ap, body_fmt);
	cr_assert_geq(vasprintf(&body, body_fmt, ap), 0);
	va_end(ap);
	cr_assert_geq(asprintf(&out, "%sDEG=%d\n%s", shell_prelude, t->degraded ? 1 : 0, body), 0);
	free(body);
	return out;
}

/* The environment answers, through the shell tool and as a REST session (it is one). */
static void shell_env_alive(const struct target *t, const char *env)
{
	struct shell s = run_shell(t, env, "echo alive");
	expect_shell_stdout(&s, "alive\n");
	shell_fini(&s);
	struct cell c = run_cell(t, env, "6 * 7", 30);
	expect_ok_value(&c, "42");
	cell_fini(&c);
}

/* Another session's /mnt/data by host path, relative paths, /proc/<pid>, and a search. */
static void attack_shell_other_session_files(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char env[128];
	victim_new(&t, &v);
	pid_t vp = victim_pid(&v);
	cr_assert_gt(vp, 0, "the victim's host pid was not found");
	shell_env_new(&t, env, sizeof(env));

	char *line = shell_script(
	    &t,
	    "V='%s'; E=${V##*/}; S='%s'; VP=%d\n"
	    "probe 'cat the victim file by its host path' cat \"$V/secret.txt\"\n"
	    "probe 'ls the victim directory' ls \"$V\"\n"
	    "probe 'ls the sessions directory' ls \"${V%%/*}\"\n"
	    "probe 'cat it relative to /mnt/data' cat \"/mnt/data/../$E/secret.txt\"\n"
	    "probe 'cat it through /proc/self/cwd' cat \"/proc/self/cwd/../$E/secret.txt\"\n"
	    "probe 'cat /proc/<victim>/root/mnt/data/secret.txt' "
	    "cat \"/proc/$VP/root/mnt/data/secret.txt\"\n"
	    "probe 'ls /proc/<victim>/cwd' ls \"/proc/$VP/cwd\"\n"
	    "probe 'cat /proc/<victim>/environ' cat \"/proc/$VP/environ\"\n"
	    "echo \"secret visible at: [$(find /tmp /dev/shm /mnt /etc /proc/self/root/mnt -xdev "
	    "-type f -size -2M -exec grep -lsF \"$S\" {} + 2>/dev/null)]\"\n"
	    "echo \"victim found through /proc: "
	    "[$(grep -lsF \"$S\" /proc/[0-9]*/root/mnt/data/secret.txt)]\"\n",
	    v.host_dir, v.secret, (int)vp);
	struct shell s = shell_attack(&t, &v, env, line, NULL);
	const char *no = t.degraded ? "Permission denied" : "No such file or directory";
	char want[2048];
	snprintf(want, sizeof(want),
		 "cat the victim file by its host path: %s\n"
		 "ls the victim directory: %s\n"
		 "ls the sessions directory: %s\n"
		 "cat it relative to /mnt/data: %s\n"
		 "cat it through /proc/self/cwd: %s\n"
		 "cat /proc/<victim>/root/mnt/data/secret.txt: %s\n"
		 "ls /proc/<victim>/cwd: %s\n"
		 "cat /proc/<victim>/environ: %s\n"
		 "secret visible at: []\n"
		 "victim found through /proc: []\n",
		 no, no, no, no, no, no, no, no);
	expect_shell_stdout(&s, want);
	cr_expect_null(strstr(s.out, v.secret), "the attacker read the victim's secret");
	cr_expect_null(strstr(s.err, v.secret), "the attacker read the victim's secret");
	shell_fini(&s);
	free(line);
	shell_env_alive(&t, env);
	finish(&t, &v, env);
}
BOTH_MODES(shell_other_session_files, 180)

/*
 * Signals at the emulator and the zygote by their host pids, at the session's pid 1, at every
 * pid /proc shows, and kill -1: nothing outside the session is reached, and the session's own
 * interpreter survives (pid 1 of its namespace ignores SIGKILL from inside it).
 */
static void attack_shell_signal_the_zygote_and_emulator(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char env[128];
	pid_t zyg[2], zyg_after[2];
	victim_new(&t, &v);
	int nz = zygote_pids(&t, zyg);
	shell_env_new(&t, env, sizeof(env));

	static const char *const names[] = {"emulator", "zygote", "inner zygote"};
	pid_t pids[3] = {t.emu_pid, zyg[0], nz > 1 ? zyg[1] : 0};
	char probes[2048], want[4096];
	size_t pu = 0, wu = 0;
	const char *gone = t.degraded ? "Operation not permitted" : "No such process";
	for (int i = 0; i < 1 + nz; i++) {
		pu += (size_t)snprintf(probes + pu, sizeof(probes) - pu,
				       "probe 'kill the %s' kill -9 %d\n"
				       "probe 'stop the %s' kill -STOP %d\n"
				       "probe 'read the %s environ' cat /proc/%d/environ\n",
				       names[i], (int)pids[i], names[i], (int)pids[i], names[i],
				       (int)pids[i]);
		wu += (size_t)snprintf(want + wu, sizeof(want) - wu,
				       "kill the %s: %s\n"
				       "stop the %s: %s\n"
				       "read the %s environ: %s\n",
				       names[i], gone, names[i], gone, names[i],
				       t.degraded ? "Permission denied"
						  : "No such file or directory");
	}
	/* Degraded mode shows the host's /proc, where every root emulator's slot n has the same
	 * uid: the sweep and kill -1 are left to the Python battery there. */
	char *line = shell_script(
	    &t,
	    "%s"
	    "probe \"kill the session's pid 1\" kill -9 1\n"
	    "probe \"stop the session's pid 1\" kill -STOP 1\n"
	    "if [ $DEG = 0 ]; then\n"
	    "  for p in /proc/[0-9]*; do p=${p#/proc/}\n"
	    "    [ \"$p\" = $$ ] || [ \"$p\" = 1 ] || kill -9 \"$p\" 2>/dev/null; done\n"
	    "fi\n"
	    "echo 'kill every process /proc shows: done'\n"
	    "if [ $DEG = 0 ]; then kill -9 -1 2>/dev/null; echo \"kill -1: $?\"; "
	    "else echo 'kill -1: 1'; fi\n",
	    probes);
	snprintf(want + wu, sizeof(want) - wu,
		 "kill the session's pid 1: %s\n"
		 "stop the session's pid 1: %s\n"
		 "kill every process /proc shows: done\n"
		 "kill -1: 1\n",
		 t.degraded ? "Operation not permitted" : "ok",
		 t.degraded ? "Operation not permitted" : "ok");
	struct shell s = shell_attack(&t, &v, env, line, NULL);
	expect_shell_stdout(&s, want);
	shell_fini(&s);
	free(line);
	cr_expect_eq(kill(t.emu_pid, 0), 0, "the emulator is gone");
	cr_expect_eq(zygote_pids(&t, zyg_after), nz);
	for (int i = 0; i < nz; i++)
		cr_expect_eq(zyg_after[i], zyg[i], "the zygote was replaced");
	shell_env_alive(&t, env);
	finish(&t, &v, env);
}
BOTH_MODES(shell_signal_the_zygote_and_emulator, 180)

/*
 * A shell fork bomb (f() { f | f & }; f) for 5 s, watched with bash builtins only (no fork is
 * possible while it runs): the session's process count stays within its limit, the emulator
 * and the victim keep answering, and once the bomb is killed the environment works again.
 */
static void attack_shell_fork_bomb(enum atk_mode m)
{
	struct target t = target_get(m, ATK_SMALL);
	struct victim v;
	char env[128];
	victim_new(&t, &v);
	shell_env_new(&t, env, sizeof(env));

	char *script = shell_script(
	    &t,
	    "MAX=%d\n"
	    "setsid sh -c 'echo $$ > bomb.pid; f() { f | f & }; f' >/dev/null 2>bomb.err &\n"
	    "peak=0; end=$((SECONDS + 5))\n"
	    "while [ $SECONDS -lt $end ]; do\n"
	    "  if [ $DEG = 0 ]; then set -- /proc/[0-9]*; [ $# -gt $peak ] && peak=$#; fi\n"
	    "done\n"
	    "read bp < bomb.pid\n"
	    "kill -9 -- -$bp 2>/dev/null; kill -9 -- -$bp 2>/dev/null\n"
	    /* It ran into the limit: the shell could not fork ("Cannot fork"), or it was seen
	     * near the limit. (A bomb held by the limit keeps dying back, so a sample of /proc
	     * can miss its peak.) */
	    "if [ $DEG = 1 ] || grep -qi fork bomb.err || [ $peak -ge $((MAX / 2)) ]; then "
	    "echo 'the bomb ran: yes'; else echo 'the bomb ran: no'; fi\n"
	    /* The glob is no snapshot: while the bomb forks and dies, one scan lists processes
	     * that exited and their replacements, and zombies not reaped yet. Twice the limit
	     * covers that; a bomb the limit does not hold is past hundreds within a second. */
	    "if [ $peak -le $((MAX * 2)) ]; then echo 'within the process limit: yes'; "
	    "else echo 'within the process limit: no'; fi\n"
	    "echo \"peak $peak\" >&2; head -c 200 bomb.err >&2\n",
	    SMALL_PROCESSES);
	const char *const argv[] = {"bash", "-c", script, NULL};
	struct shell s = shell_attack(&t, &v, env, NULL, argv);
	expect_shell_stdout(&s, "the bomb ran: yes\nwithin the process limit: yes\n");
	cr_log_info("%s", s.err);
	shell_fini(&s);
	free(script);
	shell_env_alive(&t, env);
	finish(&t, &v, env);
}
BOTH_MODES(shell_fork_bomb, 180)

/* The network from shell tools: bash's /dev/tcp and /dev/udp, name resolution, curl, python3. */
static void attack_shell_network(enum atk_mode m)
{
	struct target t = target_get(m, ATK_MAIN);
	struct victim v;
	char env[128];
	victim_new(&t, &v);
	shell_env_new(&t, env, sizeof(env));

	char *line = shell_script(
	    &t,
	    "PORT=%d\n"
	    "probe 'bash /dev/tcp to the emulator on 127.0.0.1' "
	    "bash -c \"exec 3<>/dev/tcp/127.0.0.1/$PORT\"\n"
	    "probe 'bash /dev/tcp to the emulator on ::1' bash -c \"exec 3<>/dev/tcp/::1/$PORT\"\n"
	    "probe 'bash /dev/udp to 127.0.0.1:53' bash -c 'exec 3<>/dev/udp/127.0.0.1/53'\n"
	    "probe 'bash /dev/tcp to example.com' bash -c 'exec 3<>/dev/tcp/example.com/80'\n"
	    "getent hosts example.com >/dev/null 2>&1; echo \"resolve example.com: exit $?\"\n"
	    "curl -sS -m 5 \"http://127.0.0.1:$PORT/healthz\" >/dev/null 2>&1; "
	    "echo \"curl the emulator: exit $?\"\n"
	    "probe 'python3 socket AF_INET' python3 -c 'import socket; socket.socket()'\n"
	    "if [ $DEG = 0 ]; then echo \"network interfaces: "
	    "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ')\"; fi\n",
	    port_of(&t));
	struct shell s = shell_attack(&t, &v, env, line, NULL);
	char want[1024];
	snprintf(want, sizeof(want),
		 "bash /dev/tcp to the emulator on 127.0.0.1: Permission denied\n"
		 "bash /dev/tcp to the emulator on ::1: Permission denied\n"
		 "bash /dev/udp to 127.0.0.1:53: Permission denied\n"
		 "bash /dev/tcp to example.com: Invalid argument\n"
		 "resolve example.com: exit 2\n"
		 "curl the emulator: exit 7\n"
		 "python3 socket AF_INET: [Errno 13] Permission denied\n"
		 "%s",
		 t.degraded ? "" : "network interfaces: lo\n");
	expect_shell_stdout(&s, want);
	shell_fini(&s);
	free(line);
	finish(&t, &v, env);
}
BOTH_MODES(shell_network, 180)
