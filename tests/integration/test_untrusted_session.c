/* SPDX-License-Identifier: MIT */
/*
 * The session side of the trust boundary (issue 7, parts 1 and 2): code running in a session
 * writes to its own channel to the emulator, the way an attacker would (it finds the socket in
 * /proc/self/fd and reads the request id from the REPL's frames), and the emulator MUST:
 *
 *   - never splice what the session sent into a response (members added, status changed,
 *     another identifier named, broken JSON);
 *   - match every answer to its request: a forged, extra or late frame never becomes another
 *     cell's answer, and a forked child never answers;
 *   - refuse an oversized frame before allocating it, and keep no memory from it;
 *   - treat a deeply nested frame as a protocol violation, never crash;
 *   - on a violation, kill and restart that session's interpreter (InterpreterRestarted, a
 *     stderr line naming the protocol, one log line), after which the session answers
 *     correctly; another session is never affected.
 *
 * Each attack is followed by ten cells i*7 (i = 1 … 10) that must answer exactly i*7.
 */
#include <criterion/criterion.h>
#include <libgen.h>
#include <time.h>
#include <unistd.h>

#define SHARED_EMULATOR_ARGS "--ready-sessions", "2"
#include "shared.h"

#define NEW "api-version=2025-10-02-preview"

/* What an attacker's cell starts with: find the channel, build frames, read the request id. */
#define PRELUDE                                                                                    \
	"import os, sys, json, struct, threading, time\n"                                          \
	"def _chan():\n"                                                                           \
	"    for n in os.listdir('/proc/self/fd'):\n"                                              \
	"        try:\n"                                                                           \
	"            if os.readlink('/proc/self/fd/' + n).startswith('socket:'):\n"                \
	"                return int(n)\n"                                                          \
	"        except OSError:\n"                                                                \
	"            pass\n"                                                                       \
	"    raise RuntimeError('no channel')\n"                                                   \
	"def _write(data):\n"                                                                      \
	"    fd = _chan()\n"                                                                       \
	"    while data:\n"                                                                        \
	"        data = data[os.write(fd, data):]\n"                                               \
	"def _send(b):\n"                                                                          \
	"    if not isinstance(b, bytes):\n"                                                       \
	"        b = json.dumps(b).encode()\n"                                                     \
	"    _write(struct.pack('<I', len(b)) + b)\n"                                              \
	"def _cur_id():\n"                                                                         \
	"    f = sys._getframe()\n"                                                                \
	"    while f is not None:\n"                                                               \
	"        r = f.f_locals.get('req')\n"                                                      \
	"        if isinstance(r, dict) and isinstance(r.get('id'), str):\n"                       \
	"            return r['id']\n"                                                             \
	"        f = f.f_back\n"                                                                   \
	"    return '0' * 16\n"                                                                    \
	"def _reply(id, value, kind='json'):\n"                                                    \
	"    return {'op': 'result', 'id': id, 'status': 'ok', 'kind': kind, 'value': value,\n"    \
	"            'exec_us': 1}\n"

/* ---- helpers ------------------------------------------------------------------------------- */

static cJSON *exec_json(const struct emu *e, const char *ident, const char *code)
{
	struct http_resp r;
	char *st = emu_exec(e, ident, code, &r);
	cr_assert_eq(r.status, 200, "status %ld: %s", r.status, r.body ? r.body : r.error);
	cJSON *j = http_resp_json(&r);
	cr_assert(j, "the response is not JSON: %s", r.body);
	free(st);
	http_resp_fini(&r);
	return j;
}

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : "(absent)";
}

/* Only the members the contract names, at the top and in "result". */
static void expect_shape(const cJSON *j, const char *body)
{
	static const char *const top[] = {"id",	    "identifier", "sessionId", "executionType",
					  "status", "result",	  "error",     NULL};
	static const char *const res[] = {"stdout", "stderr", "executionResult",
					  "executionTimeInMilliseconds", NULL};
	const cJSON *m;
	cJSON_ArrayForEach(m, j)
	{
		bool ok = false;
		for (size_t i = 0; top[i]; i++)
			ok |= !strcmp(m->string, top[i]);
		cr_expect(ok, "unexpected member \"%s\" in %s", m->string, body);
	}
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "result"))
	{
		bool ok = false;
		for (size_t i = 0; res[i]; i++)
			ok |= !strcmp(m->string, res[i]);
		cr_expect(ok, "unexpected member \"result.%s\" in %s", m->string, body);
	}
}

/* The cell broke the protocol: the crash path of §8.7, with the reason in stderr. */
static void expect_violation(const struct emu *e, const char *ident, const char *code)
{
	cJSON *j = exec_json(e, ident, code);
	char *body = cJSON_PrintUnformatted(j);
	expect_shape(j, body);
	cr_expect_str_eq(str_at(j, "status", NULL), "Failed", "%s", body);
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "error"), "error", "code"),
			 "InterpreterRestarted", "%s", body);
	cr_expect(strstr(str_at(j, "result", "stderr"), "broke the protocol"), "%s", body);
	cr_expect(
	    cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult")),
	    "%s", body);
	cr_expect_str_eq(str_at(j, "identifier", NULL), ident, "%s", body);
	free(body);
	cJSON_Delete(j);
}

/* A cell that succeeds with the JSON value |want|, as the response spells it (verbatim). */
static void expect_value(const struct emu *e, const char *ident, const char *code, const char *want)
{
	struct http_resp r;
	char *st = emu_exec(e, ident, code, &r);
	cr_assert_eq(r.status, 200, "status %ld: %s", r.status, r.body ? r.body : r.error);
	cJSON *j = http_resp_json(&r);
	cr_assert(j, "the response is not JSON: %s", r.body);
	cr_expect_str_eq(st ? st : "(none)", "Succeeded", "%s: %s", code, r.body);
	size_t n = strlen(want) + 32;
	char *member = malloc(n);
	cr_assert(member);
	snprintf(member, n, "\"executionResult\":%s", want);
	const char *at = strstr(r.body, member);
	cr_expect(at && (at[strlen(member)] == ',' || at[strlen(member)] == '}'),
		  "%s: want %s in %s", code, want, r.body);
	free(member);
	free(st);
	cJSON_Delete(j);
	http_resp_fini(&r);
}

/* Ten cells, each answering its own value. */
static void expect_ten_correct(const struct emu *e, const char *ident)
{
	for (int i = 1; i <= 10; i++) {
		char code[32], want[32];
		snprintf(code, sizeof(code), "%d*7", i);
		snprintf(want, sizeof(want), "%d", i * 7);
		expect_value(e, ident, code, want);
	}
}

/* A second session, with state, that every attack must leave alone. */
static void victim_start(const struct emu *e, const char *ident)
{
	expect_value(e, ident, "marker = 4242\nmarker", "4242");
}

static void victim_check(const struct emu *e, const char *ident)
{
	expect_value(e, ident, "marker", "4242");
}

/* Lines of the emulator's log that name |ident| and the protocol. */
static int protocol_log_lines(const struct emu *e, const char *ident)
{
	char dir[sizeof(e->data_dir)], path[sizeof(e->data_dir) + 32], line[4096], want[256];
	snprintf(dir, sizeof(dir), "%s", e->data_dir);
	snprintf(path, sizeof(path), "%s/emulator.log", dirname(dir));
	snprintf(want, sizeof(want), "session %s broke the protocol", ident);
	FILE *f = fopen(path, "re");
	cr_assert(f, "no log at %s", path);
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, want) != NULL;
	fclose(f);
	return n;
}

static char *cell(const char *body)
{
	size_t n = strlen(PRELUDE) + strlen(body) + 1;
	char *s = malloc(n);
	cr_assert(s);
	snprintf(s, n, "%s%s", PRELUDE, body);
	return s;
}

TestSuite(untrusted, .timeout = 300);

/* ---- forged answers ---------------------------------------------------------------------- */

Test(untrusted, forged_fragments_are_never_spliced)
{
	struct emu e = shared_emu();
	/* Values a forged "json" reply carries to rewrite the response around it; the first
	 * three use the current request's id, so only the value's validation stands in the way. */
	static const char *const attacks[] = {
	    "_send(_reply(_cur_id(), '1,\"status\":\"Failed\",\"extra\":true'))\n",
	    "_send(_reply(_cur_id(), '1},\"identifier\":\"another-session\",\"x\":{\"a\":1'))\n",
	    "_send(_reply(_cur_id(), '[1,2'))\n",
	    "_send(_reply('0123456789abcdef', '0'))\n",
	    "_send(b'{\"op\":\"result\",\"status\":\"ok\",\"kind\":\"json\",\"value\":\"0\"}')\n",
	    "_send(b'\\xff\\x00garbage')\n",
	};
	victim_start(&e, "untrusted-victim-1");
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		char *code = cell(attacks[i]);
		expect_violation(&e, "untrusted-forged", code);
		free(code);
		expect_ten_correct(&e, "untrusted-forged");
	}
	victim_check(&e, "untrusted-victim-1");
	cr_expect_eq(protocol_log_lines(&e, "untrusted-forged"), 6, "one log line per violation");
}

Test(untrusted, forged_answer_for_its_own_request_stays_its_own)
{
	struct emu e = shared_emu();
	/* A well-formed reply to the current request is indistinguishable from the real one: it
	 * is the cell's answer (re-serialised), and the real reply that follows is stale. */
	char *code =
	    cell("_send(_reply(_cur_id(), '{\"status\": \"Failed\", \"n\": [1.50, 1e400]}'))\n"
		 "5\n");
	expect_value(&e, "untrusted-own", code, "{\"status\":\"Failed\",\"n\":[1.50,1e400]}");
	free(code);
	expect_ten_correct(&e, "untrusted-own");
}

Test(untrusted, extra_frame_never_shifts_answers)
{
	struct emu e = shared_emu();
	victim_start(&e, "untrusted-victim-2");
	/* Two replies to the current request, then the REPL's own: two are stale later. */
	char *code = cell("_send(_reply(_cur_id(), '0'))\n_send(_reply(_cur_id(), '1'))\n5\n");
	expect_value(&e, "untrusted-extra", code, "0");
	free(code);
	expect_ten_correct(&e, "untrusted-extra");
	victim_check(&e, "untrusted-victim-2");
}

/* A background thread writes after its cell ended, while the next cell runs. */
Test(untrusted, late_frame_during_the_next_cell)
{
	struct emu e = shared_emu();
	victim_start(&e, "untrusted-victim-3");
	static const char *const frames[] = {
	    "_send(_reply(_id, '0'))",		      /* stale: the id of the cell that ended */
	    "_send(_reply('fedcba9876543210', '0'))", /* an id never sent */
	};
	for (size_t i = 0; i < 2; i++) {
		char body[512];
		snprintf(body, sizeof(body),
			 "_id = _cur_id()\n"
			 "_go = threading.Event()\n"
			 "def _late():\n"
			 "    _go.wait(60)\n"
			 "    %s\n"
			 "_t = threading.Thread(target=_late)\n"
			 "_t.start()\n"
			 "6\n",
			 frames[i]);
		char *code = cell(body);
		expect_value(&e, "untrusted-late", code, "6");
		free(code);
		if (i == 0)
			expect_value(&e, "untrusted-late", "_go.set()\n_t.join()\n35", "35");
		else
			expect_violation(&e, "untrusted-late", "_go.set()\n_t.join()\n35");
		expect_ten_correct(&e, "untrusted-late");
	}
	victim_check(&e, "untrusted-victim-3");
}

/* A background thread writes between cells, once the REPL waits for the next request. */
Test(untrusted, late_frame_between_cells)
{
	struct emu e = shared_emu();
	char *code = cell("_id = _cur_id()\n"
			  "_main = threading.main_thread().ident\n"
			  "def _idle():\n"
			  "    if sys._current_frames().get(_main) is not None:\n"
			  "        return False\n"
			  "    with open('/proc/self/task/%d/stat' % os.getpid()) as f:\n"
			  "        return f.read().rsplit(')', 1)[1].split()[0] == 'S'\n"
			  "def _late():\n"
			  "    for _ in range(20000):\n"
			  "        if _idle() and (time.sleep(0.01) or _idle()):\n"
			  "            break\n"
			  "        time.sleep(0.001)\n"
			  "    _send(_reply(_id, '0'))\n"
			  "    open('/mnt/data/late-done', 'w').close()\n"
			  "threading.Thread(target=_late).start()\n"
			  "6\n");
	struct http_resp r;
	char *st = emu_exec(&e, "untrusted-between", code, &r);
	free(code);
	free(st);
	http_resp_fini(&r);
	/* Wait for the thread's mark (bounded), then the answers. */
	bool done = false;
	for (int i = 0; i < 3000 && !done; i++) {
		cr_assert_eq(emu_do(&e, "GET", "/files?" NEW "&identifier=untrusted-between", &r),
			     0);
		done = r.body && strstr(r.body, "late-done");
		http_resp_fini(&r);
		if (!done)
			usleep(10000);
	}
	cr_assert(done, "the late frame was never written");
	expect_ten_correct(&e, "untrusted-between");
}

/* ---- size and nesting -------------------------------------------------------------------- */

Test(untrusted, oversized_announced_length)
{
	struct emu e = shared_emu();
	victim_start(&e, "untrusted-victim-4");
	char *code = cell("_write(struct.pack('<I', 0xFFFFFFF0) + b'{')\ntime.sleep(60)\n");
	expect_violation(&e, "untrusted-huge", code);
	free(code);
	expect_ten_correct(&e, "untrusted-huge");
	victim_check(&e, "untrusted-victim-4");
}

Test(untrusted, nesting_in_a_session_frame)
{
	struct emu e = shared_emu();
	static const long depths[] = {10, 100, 811, 100000};
	victim_start(&e, "untrusted-victim-5");
	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		char body[1024];
		long d = depths[i];
		/* The whole frame nested. */
		snprintf(body, sizeof(body), "_send(b'[' * %ld + b']' * %ld)\n", d, d);
		char *code = cell(body);
		expect_violation(&e, "untrusted-deep", code);
		free(code);
		expect_ten_correct(&e, "untrusted-deep");
		/* A member holding nested arrays. */
		snprintf(body, sizeof(body),
			 "_send(json.dumps(_reply(_cur_id(), None))[:-1].encode() + "
			 "b',\"ename\":' + b'[' * %ld + b']' * %ld + b'}')\n",
			 d, d);
		code = cell(body);
		expect_violation(&e, "untrusted-deep", code);
		free(code);
		expect_ten_correct(&e, "untrusted-deep");
		/* A "json" value nested: its own answer up to the bound, a violation past it. */
		snprintf(body, sizeof(body), "_send(_reply(_cur_id(), '[' * %ld + ']' * %ld))\n", d,
			 d);
		code = cell(body);
		if (d <= 60) {
			char want[256] = "";
			for (long k = 0; k < d; k++)
				strcat(want, "[");
			for (long k = 0; k < d; k++)
				strcat(want, "]");
			expect_value(&e, "untrusted-deep", code, want);
		} else {
			expect_violation(&e, "untrusted-deep", code);
		}
		free(code);
		expect_ten_correct(&e, "untrusted-deep");
	}
	victim_check(&e, "untrusted-victim-5");
}

/* A legitimate value deeper than the bound is sent as text (§8.2 step 6), one at the bound as
 * JSON; number tokens stay verbatim through the re-serialisation. */
Test(untrusted, deep_legitimate_values)
{
	struct emu e = shared_emu();
	char want[256] = "";
	for (int k = 0; k < 60; k++)
		strcat(want, "[");
	for (int k = 0; k < 60; k++)
		strcat(want, "]");
	expect_value(&e, "untrusted-legit", "x = []\nfor _ in range(59): x = [x]\nx", want);
	cJSON *j = exec_json(&e, "untrusted-legit", "x = [x]\nx");
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult");
	cr_expect(cJSON_IsString(v) && strlen(v->valuestring) == 122 && v->valuestring[0] == '[',
		  "61 levels must come back as a string");
	cJSON_Delete(j);
	expect_value(&e, "untrusted-legit", "10**30", "1000000000000000000000000000000");
	expect_value(&e, "untrusted-legit", "[0.1 + 0.2, 1e16, -0.0]",
		     "[0.30000000000000004,1e+16,-0.0]");
}

/* ---- forked children ------------------------------------------------------------------------ */

Test(untrusted, forked_children_never_answer)
{
	struct emu e = shared_emu();
	victim_start(&e, "untrusted-victim-6");
	static const char *const forks[] = {
	    "import os\nx = os.fork()\nx",
	    "import ctypes\np = ctypes.CDLL(None).fork()\np",
	};
	for (size_t i = 0; i < 2; i++) {
		cJSON *j = exec_json(&e, "untrusted-fork", forks[i]);
		const cJSON *v =
		    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult");
		cr_expect_str_eq(str_at(j, "status", NULL), "Succeeded");
		cr_expect(cJSON_IsNumber(v) && v->valuedouble > 0,
			  "the parent's answer (the child's pid) is expected");
		cJSON_Delete(j);
		expect_ten_correct(&e, "untrusted-fork");
	}
	victim_check(&e, "untrusted-victim-6");
}

/* ---- memory ------------------------------------------------------------------------------- */

static long vm_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* Under AddressSanitizer freed memory sits in a quarantine: RSS measures the sanitizer there. */
#ifdef SP_SANITIZED
#define expect_rss_kept_lt(got, budget)                                                            \
	cr_log_info("RSS not asserted in the sanitizer build: %ld kB kept", (long)(got))
#else
#define expect_rss_kept_lt(got, budget)                                                            \
	cr_expect_lt(got, budget, "the emulator kept %ld kB after three 90 MiB frames", (long)(got))
#endif

Test(untrusted, real_90_mib_frames_leave_nothing)
{
	struct emu e;
	cr_assert_eq(emu_start(&e, NULL, 120), 0);
	victim_start(&e, "untrusted-victim-7");
	expect_ten_correct(&e, "untrusted-big");
	long before = vm_rss_kb(e.pid);
	/* A complete, well-formed reply whose value is 90 MiB, written in pieces. */
	char *code = cell("_head = ('{\"op\":\"result\",\"id\":\"%s\",\"status\":\"ok\",\"kind\":"
			  "\"text\",\"exec_us\":1,\"value\":\"' % _cur_id()).encode()\n"
			  "_n = 90 << 20\n"
			  "_tail = b'\"}'\n"
			  "_write(struct.pack('<I', len(_head) + _n + len(_tail)) + _head)\n"
			  "_chunk = b'a' * (1 << 20)\n"
			  "for _ in range(90):\n"
			  "    _write(_chunk)\n"
			  "_write(_tail)\n");
	for (int i = 0; i < 3; i++)
		expect_violation(&e, "untrusted-big", code);
	free(code);
	expect_ten_correct(&e, "untrusted-big");
	victim_check(&e, "untrusted-victim-7");
	long after = vm_rss_kb(e.pid);
	cr_log_info("emulator RSS %ld kB before, %ld kB after", before, after);
	expect_rss_kept_lt(after - before, 8 * 1024);
	emu_stop(&e);
}
