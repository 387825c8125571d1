/* SPDX-License-Identifier: MIT */
/*
 * Jupyter cell syntax over HTTP (contract §8.1): shell escapes (!cmd, x = !cmd, ! in a block),
 * line magics (%time, %cd, %pwd, %env, %who, %matplotlib inline, %pip), cell magics (%%bash,
 * %%writefile, %%capture), a magic with a trailing expression, plain Python unchanged, shell
 * commands confined like Python, and %pip offline: without a wheel directory (pip's own error,
 * cell Succeeded) and with --pip-find-links (installed for this session only).
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared.h"

#define OLD "api-version=2024-02-02-preview"
#define NEW "api-version=2025-10-02-preview"

extern char **environ;

struct cell {
	char *status;
	char *out;
	char *err;
	char *value; /* executionResult, compact JSON */
};

static void cell_fini(struct cell *c)
{
	free(c->status);
	free(c->out);
	free(c->err);
	free(c->value);
}

static char *dup_str(cJSON *j, const char *name)
{
	cJSON *x = cJSON_GetObjectItem(j, name);
	return strdup(cJSON_IsString(x) ? x->valuestring : "");
}

static struct cell run(const struct emu *e, const char *id, const char *code)
{
	struct http_resp r;
	struct cell c;
	char *status = emu_exec(e, id, code, &r);
	cr_assert(status, "%s: %s", code, r.body ? r.body : r.error);
	cJSON *j = http_resp_json(&r);
	cr_assert(j, "%s", r.body);
	cJSON *res = cJSON_GetObjectItem(j, "result");
	c.status = status;
	c.out = dup_str(res, "stdout");
	c.err = dup_str(res, "stderr");
	c.value = cJSON_PrintUnformatted(cJSON_GetObjectItem(res, "executionResult"));
	cJSON_Delete(j);
	http_resp_fini(&r);
	return c;
}

/* Runs |code| and expects it Succeeded with |value| (compact JSON) as the cell value. */
static void expect_value(const struct emu *e, const char *id, const char *code, const char *value)
{
	struct cell c = run(e, id, code);
	cr_expect_str_eq(c.status, "Succeeded", "%s: stderr %s", code, c.err);
	cr_expect_str_eq(c.value, value, "%s", code);
	cell_fini(&c);
}

static void upload(const struct emu *e, const char *id, const char *name, const char *content)
{
	const char *names[] = {"file"};
	const char *fns[] = {name};
	const char *cs[] = {content};
	size_t len;
	char *body = emu_multipart(&len, 1, names, fns, cs);
	char path[256];
	snprintf(path, sizeof(path), "/files/upload?" OLD "&identifier=%s", id);
	const char *hdrs[] = {"Content-Type: multipart/form-data; boundary=" EMU_BOUNDARY, NULL};
	struct http_req q = {.path = path, .headers = hdrs, .body = body, .body_len = len};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "%s", r.error);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_fini(&r);
	free(body);
}

Test(cells, shell_escapes)
{
	struct emu e = shared_emu();
	upload(&e, "cells-shell", "a.txt", "hello");
	struct cell c = run(&e, "cells-shell", "!ls /mnt/data\n!pwd\n!echo oops >&2");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect_str_eq(c.out, "a.txt\n/mnt/data\n");
	cr_expect_str_eq(c.err, "oops\n");
	cr_expect_str_eq(c.value, "\"\"");
	cell_fini(&c);

	/* Assignment from ! gives IPython's SList; as the trailing expression it is the value. */
	expect_value(&e, "cells-shell", "files = !ls /mnt/data", "\"\"");
	expect_value(&e, "cells-shell", "files", "\"['a.txt']\"");
	expect_value(&e, "cells-shell", "files.n", "\"'a.txt'\"");

	/* ! inside an indented block, with $name expanded from the namespace. */
	c = run(&e, "cells-shell", "for i in range(2):\n    !echo line $i");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect_str_eq(c.out, "line 0\nline 1\n");
	cell_fini(&c);
}

Test(cells, cell_magics)
{
	struct emu e = shared_emu();
	struct cell c =
	    run(&e, "cells-cell", "%%bash\necho a\necho b >&2\nfor x in 1 2; do echo $x; done");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect_str_eq(c.out, "a\n1\n2\n");
	cr_expect_str_eq(c.err, "b\n");
	cell_fini(&c);

	c = run(&e, "cells-cell", "%%writefile helper.py\ndef twice(x):\n    return 2 * x\n");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect_str_eq(c.out, "Writing helper.py\n");
	cell_fini(&c);
	expect_value(&e, "cells-cell", "import helper\nhelper.twice(21)", "42");
	expect_value(&e, "cells-cell", "open('/mnt/data/helper.py').read().count('def')", "1");

	c = run(&e, "cells-cell", "%%capture captured\nprint('hidden')");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect_str_eq(c.out, "");
	cell_fini(&c);
	expect_value(&e, "cells-cell", "captured.stdout", "\"'hidden\\\\n'\"");
}

Test(cells, line_magics)
{
	struct emu e = shared_emu();
	struct cell c = run(&e, "cells-line", "%time 1+1");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect(strstr(c.out, "Wall time:"), "%s", c.out);
	cr_expect_str_eq(c.value, "2");
	cell_fini(&c);

	expect_value(&e, "cells-line", "%pwd", "\"'/mnt/data'\"");
	c = run(&e, "cells-line", "%cd /tmp");
	cr_expect_str_eq(c.out, "/tmp\n");
	cell_fini(&c);
	expect_value(&e, "cells-line", "import os\nos.getcwd()", "\"'/tmp'\"");
	expect_value(&e, "cells-line", "%cd /mnt/data\n%pwd", "\"'/mnt/data'\"");

	expect_value(&e, "cells-line", "%env CELL_FOO=bar", "\"\"");
	expect_value(&e, "cells-line", "import os\nos.environ['CELL_FOO']", "\"'bar'\"");
	c = run(&e, "cells-line", "%env");
	cr_expect(strstr(c.value, "'HOME': '/tmp'"), "%s", c.value);
	cell_fini(&c);

	/* A magic line among Python lines; the trailing expression is the cell value. */
	c = run(&e, "cells-line", "n = 3\n%time m = n * 2\nm + 1");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect(strstr(c.out, "Wall time:"), "%s", c.out);
	cr_expect_str_eq(c.value, "7");
	cell_fini(&c);
	c = run(&e, "cells-line", "%who");
	cr_expect(strstr(c.out, "m\t") && strstr(c.out, "n\t"), "%s", c.out);
	cell_fini(&c);
	c = run(&e, "cells-line", "%timeit -n 2 -r 1 sum(range(10))");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect(strstr(c.out, "per loop"), "%s", c.out);
	cell_fini(&c);
}

Test(cells, matplotlib_inline_keeps_images)
{
	struct emu e = shared_emu();
	struct cell c =
	    run(&e, "cells-plot",
		"%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2])");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	static const char want[] =
	    "{\"type\":\"image\",\"format\":\"png\",\"base64_data\":\"iVBORw0KGgo";
	cr_expect(!strncmp(c.value, want, strlen(want)), "%.120s", c.value);
	cr_expect_str_eq(c.out, "");
	cell_fini(&c);
}

Test(cells, plain_python_is_unchanged)
{
	struct emu e = shared_emu();
	/* After a notebook cell made the shell: exit() still ends the cell with SystemExit, the
	 * value rules still hold, a syntax error is still Python's, line numbers are the cell's. */
	expect_value(&e, "cells-plain", "!true", "\"\"");
	struct cell c = run(&e, "cells-plain", "exit()");
	cr_expect_str_eq(c.status, "Failed");
	cr_expect(strstr(c.err, "SystemExit"), "%s", c.err);
	cell_fini(&c);
	expect_value(&e, "cells-plain", "6*7;", "\"\"");
	expect_value(&e, "cells-plain", "a = None;a", "null");
	c = run(&e, "cells-plain", "\n\n1/0");
	cr_expect(strstr(c.err, "File \"<cell>\", line 3"), "%s", c.err);
	cell_fini(&c);
	c = run(&e, "cells-plain", "x = (1 +");
	cr_expect_str_eq(c.status, "Failed");
	cr_expect(strstr(c.err, "SyntaxError"), "%s", c.err);
	cell_fini(&c);
	/* A magic line followed by a real syntax error reports that error, at its line. */
	c = run(&e, "cells-plain", "!true\nx = (1 +");
	cr_expect_str_eq(c.status, "Failed");
	cr_expect(strstr(c.err, "line 2") && strstr(c.err, "SyntaxError"), "%s", c.err);
	cell_fini(&c);
}

/* %pip with egress disabled and no wheel directory: pip's own offline failure, cell Succeeded. */
Test(cells, pip_offline_fails_like_pip, .timeout = 120)
{
	struct emu e = shared_emu();
	struct cell c = run(&e, "cells-pip", "%pip install sessionpool-no-such-package");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect(strstr(c.err, "No matching distribution found for sessionpool-no-such-package"),
		  "%s", c.err);
	cr_expect(strstr(c.out, "Note: you may need to restart the kernel"), "%s", c.out);
	cell_fini(&c);
}

/* A tiny pure-Python wheel, written with Python's zipfile into |dir|. */
static void make_wheel(const char *dir)
{
	static const char script[] =
	    "import base64, hashlib, sys, zipfile\n"
	    "d = sys.argv[1]\n"
	    "files = {'cellwheel/__init__.py': b'VALUE = 42\\n',\n"
	    "  'cellwheel-1.0.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: cellwheel\\n"
	    "Version: 1.0\\n',\n"
	    "  'cellwheel-1.0.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: test\\n"
	    "Root-Is-Purelib: true\\nTag: py3-none-any\\n'}\n"
	    "rec = ''.join('%s,sha256=%s,%d\\n' % (k, base64.urlsafe_b64encode(\n"
	    "  hashlib.sha256(v).digest()).rstrip(b'=').decode(), len(v)) for k, v in "
	    "files.items())\n"
	    "rec += 'cellwheel-1.0.dist-info/RECORD,,\\n'\n"
	    "with zipfile.ZipFile(d + '/cellwheel-1.0-py3-none-any.whl', 'w') as z:\n"
	    "  for k, v in files.items(): z.writestr(k, v)\n"
	    "  z.writestr('cellwheel-1.0.dist-info/RECORD', rec)\n";
	char *argv[] = {"python3", "-c", (char *)script, (char *)dir, NULL};
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, "/usr/bin/python3", NULL, NULL, argv, environ), 0);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "building the wheel failed");
}

Test(cells, pip_find_links_installs_for_the_session_only, .timeout = 180)
{
	char dir[] = "/tmp/sp-cells-wheels-XXXXXX";
	cr_assert(mkdtemp(dir));
	cr_assert_eq(chmod(dir, 0755), 0);
	make_wheel(dir);
	/* Something the emulator holds that a shell command must not see. */
	setenv("SP_CELLS_SECRET", "do-not-leak-4711", 1);
	struct emu e;
	const char *args[] = {"--pip-find-links", dir, NULL};
	int rc = emu_start(&e, args, 120);
	unsetenv("SP_CELLS_SECRET");
	cr_assert_eq(rc, 0);

	struct cell c = run(&e, "wheels-a", "%pip install cellwheel");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect(strstr(c.out, "Successfully installed cellwheel-1.0"), "%s\n%s", c.out, c.err);
	cell_fini(&c);
	expect_value(&e, "wheels-a", "import cellwheel\ncellwheel.VALUE", "42");
	expect_value(&e, "wheels-a", "cellwheel.__file__.startswith('/tmp/.local/')", "\"True\"");

	c = run(&e, "wheels-b", "import cellwheel");
	cr_expect_str_eq(c.status, "Failed");
	cr_expect(strstr(c.err, "ModuleNotFoundError"), "%s", c.err);
	cell_fini(&c);

	/* The wheel directory is read-only; a shell command is confined like the interpreter. */
	c = run(&e, "wheels-b",
		"!touch /opt/pip-find-links/x\n!cat /proc/*/environ | tr '\\0' '\\n'\n"
		"!python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM)'");
	cr_expect_str_eq(c.status, "Succeeded", "%s", c.err);
	cr_expect(strstr(c.err, "Read-only file system"), "%s", c.err);
	cr_expect(strstr(c.out, "HOME=/tmp"), "%s", c.out);
	cr_expect(!strstr(c.out, "do-not-leak-4711") && !strstr(c.out, "SP_CELLS_SECRET"), "%s",
		  c.out);
	cr_expect(strstr(c.err, "PermissionError"), "%s", c.err);
	cell_fini(&c);
	emu_stop(&e);
	emu_rm_tree(dir);
}

Test(cells, pip_find_links_must_be_a_directory)
{
	struct emu e;
	const char *args[] = {"--pip-find-links", "/nonexistent/sp-cells-wheels", NULL};
	cr_expect_lt(emu_start(&e, args, 60), 0);
	emu_stop(&e);
}
