/* SPDX-License-Identifier: MIT */
/*
 * The sessions' package set (docs/packages.md): GET metadata lists exactly the distributions a
 * session finds with importlib.metadata (same names, same versions), the documented set is
 * there and imports, and --python-path adds a read-only site directory (its packages import,
 * shadow Debian's, appear in metadata, and cannot be written) or is refused at start-up.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NEW "api-version=2025-10-02-preview"

/* Runs |code| in session |id| and returns what it printed (a new string; streams uncut). */
static char *exec_result(const struct emu *e, const char *id, const char *code)
{
	char path[256];
	snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", id);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "code", code);
	cJSON_AddNumberToObject(b, "outputStreamsMaxLength", 1 << 20);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	static const char *const hdr[] = {"Content-Type: application/json", NULL};
	struct http_req q = {
	    .method = "POST", .path = path, .headers = hdr, .body = body, .body_len = strlen(body)};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "%s", r.error);
	cJSON_free(body);
	cJSON *j = http_resp_json(&r);
	cr_assert(j, "%s", r.body);
	cJSON *st = cJSON_GetObjectItem(j, "status");
	cr_assert(cJSON_IsString(st) && !strcmp(st->valuestring, "Succeeded"), "%s", r.body);
	cJSON *res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "stdout");
	cr_assert(cJSON_IsString(res), "%s", r.body);
	char *out = strdup(res->valuestring);
	cJSON_Delete(j);
	http_resp_fini(&r);
	return out;
}

/* GET metadata's preInstalledPackages as "name==version\n" lines, sorted as the session sorts. */
static char *metadata_lines(const struct emu *e)
{
	struct http_resp r;
	cr_assert_eq(emu_do(e, "GET", "/metadata?" NEW, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cJSON *j = http_resp_json(&r);
	cr_assert(j);
	cJSON *pkgs = cJSON_GetObjectItem(j, "preInstalledPackages");
	cr_assert(cJSON_IsArray(pkgs));
	size_t n = (size_t)cJSON_GetArraySize(pkgs), len = 0;
	char *out = calloc(1, n * 600 + 1);
	cr_assert(out);
	cJSON *p;
	cJSON_ArrayForEach(p, pkgs)
	{
		cJSON *name = cJSON_GetObjectItem(p, "name");
		cJSON *ver = cJSON_GetObjectItem(p, "version");
		cr_assert(cJSON_IsString(name) && cJSON_IsString(ver));
		len += (size_t)snprintf(out + len, 600, "%.280s==%.280s\n", name->valuestring,
					ver->valuestring);
	}
	cJSON_Delete(j);
	http_resp_fini(&r);
	return out;
}

/* The same list computed inside a session: first distribution of a normalised name wins. */
static const char session_list[] =
    "import importlib.metadata, re\n"
    "seen = {}\n"
    "for d in importlib.metadata.distributions():\n"
    "    n = d.metadata['Name']\n"
    "    k = re.sub(r'[-_.]+', '-', n).lower() if n else None\n"
    "    if k and k not in seen:\n"
    "        seen[k] = '%s==%s\\n' % (n, d.version)\n"
    "print(''.join(seen[k] for k in sorted(seen, key=lambda k: seen[k].split('==')[0].lower())),\n"
    "      end='')\n";

Test(packages, metadata_is_what_a_session_finds, .timeout = 180)
{
	struct emu e;
	cr_assert_eq(emu_start(&e, NULL, 120), 0);
	char *meta = metadata_lines(&e);
	char *inside = exec_result(&e, "pkg-meta-1", session_list);
	cr_expect_str_eq(meta, inside);
	cr_expect(strstr(meta, "numpy=="), "%s", meta);
	free(meta);
	free(inside);
	emu_stop(&e);
}

/* The documented set (docs/packages.md): each imports in a session, and metadata lists its
 * distribution with the version the session sees. */
Test(packages, documented_set_imports_and_is_listed, .timeout = 180)
{
	static const char code[] =
	    "import importlib, importlib.metadata\n"
	    "mods = {'numpy': 'numpy', 'pandas': 'pandas', 'scipy': 'scipy',\n"
	    " 'scikit-learn': 'sklearn', 'matplotlib': 'matplotlib', 'seaborn': 'seaborn',\n"
	    " 'statsmodels': 'statsmodels', 'sympy': 'sympy', 'networkx': 'networkx',\n"
	    " 'openpyxl': 'openpyxl', 'xlrd': 'xlrd', 'XlsxWriter': 'xlsxwriter',\n"
	    " 'python-docx': 'docx', 'pypdf': 'pypdf', 'reportlab': 'reportlab',\n"
	    " 'Pillow': 'PIL', 'beautifulsoup4': 'bs4', 'lxml': 'lxml', 'html5lib': 'html5lib',\n"
	    " 'requests': 'requests', 'tabulate': 'tabulate', 'plotly': 'plotly',\n"
	    " 'Jinja2': 'jinja2', 'tqdm': 'tqdm', 'ipython': 'IPython'}\n"
	    "for m in mods.values():\n"
	    "    importlib.import_module(m)\n"
	    "print(''.join('%s==%s\\n' % (d, importlib.metadata.version(d)) for d in mods), "
	    "end='')\n";
	struct emu e;
	cr_assert_eq(emu_start(&e, NULL, 120), 0);
	char *meta = metadata_lines(&e);
	char *want = exec_result(&e, "pkg-doc-1", code);
	/* Each line of |want| is a line of |meta| (names compared case-insensitively). */
	for (char *line = want, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		bool found = false;
		for (const char *m = meta; *m && !found;) {
			size_t l = strcspn(m, "\n");
			found = l == strlen(line) && !strncasecmp(m, line, l);
			m += l + (m[l] == '\n');
		}
		cr_expect(found, "%s is not in metadata", line);
	}
	free(meta);
	free(want);
	emu_stop(&e);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* A site directory with two tiny distributions: tinypkg 1.2.3, and a "tabulate" 99.0 that
 * must shadow Debian's. World-readable: sessions run under another uid. */
static void make_site(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/sp-pypath-XXXXXX");
	cr_assert(mkdtemp(dir));
	cr_assert_eq(chmod(dir, 0755), 0);
	char p[512];
	static const char *const dirs[] = {"tinypkg", "tinypkg-1.2.3.dist-info", "tabulate",
					   "tabulate-99.0.dist-info"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
		cr_assert_eq(mkdir(p, 0755), 0, "%s", p);
	}
	snprintf(p, sizeof(p), "%s/tinypkg/__init__.py", dir);
	write_file(p, "VALUE = 42\n");
	snprintf(p, sizeof(p), "%s/tinypkg-1.2.3.dist-info/METADATA", dir);
	write_file(p, "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.2.3\n");
	snprintf(p, sizeof(p), "%s/tabulate/__init__.py", dir);
	write_file(p, "MINE = True\n");
	snprintf(p, sizeof(p), "%s/tabulate-99.0.dist-info/METADATA", dir);
	write_file(p, "Metadata-Version: 2.1\nName: tabulate\nVersion: 99.0\n");
}

Test(packages, python_path_adds_a_read_only_site_directory, .timeout = 180)
{
	char site[64];
	make_site(site, sizeof(site));
	const char *args[] = {"--python-path", site, NULL};
	struct emu e;
	cr_assert_eq(emu_start(&e, args, 120), 0);

	char code[1024];
	snprintf(code, sizeof(code),
		 "import errno, tinypkg, tabulate\n"
		 "try:\n"
		 "    open('%s/tinypkg/evil.py', 'w').write('x')\n"
		 "    w = 'written'\n"
		 "except OSError as e:\n"
		 "    w = errno.errorcode[e.errno]\n"
		 "print(tinypkg.VALUE, tinypkg.__file__, tabulate.MINE, w, end='')\n",
		 site);
	char *got = exec_result(&e, "pkg-path-1", code);
	char want[512];
	snprintf(want, sizeof(want), "42 %s/tinypkg/__init__.py True EROFS", site);
	char want_degraded[512]; /* no mount namespace: the directory's permissions refuse */
	snprintf(want_degraded, sizeof(want_degraded), "42 %s/tinypkg/__init__.py True EACCES",
		 site);
	cr_expect(!strcmp(got, want) || !strcmp(got, want_degraded), "%s", got);
	free(got);
	char evil[128];
	snprintf(evil, sizeof(evil), "%s/tinypkg/evil.py", site);
	cr_expect_neq(access(evil, F_OK), 0, "a session wrote into the --python-path directory");

	char *meta = metadata_lines(&e);
	cr_expect(strstr(meta, "tinypkg==1.2.3\n"), "%s", meta);
	cr_expect(strstr(meta, "tabulate==99.0\n"), "%s", meta);
	char *inside = exec_result(&e, "pkg-path-2", session_list);
	cr_expect_str_eq(meta, inside);
	free(meta);
	free(inside);
	emu_stop(&e);
	emu_rm_tree(site);
}

struct run {
	int status;
	char err[4096];
};

/* Runs the emulator with |args| until it exits; these runs never become ready. */
static void run(struct run *r, const char *const *args)
{
	memset(r, 0, sizeof(*r));
	char dir[] = "/tmp/sp-pkgstart-XXXXXX";
	cr_assert(mkdtemp(dir));
	char errf[128], data[128];
	snprintf(errf, sizeof(errf), "%s/stderr", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	const char *lead[] = {"--data-dir", data, "--listen", "127.0.0.1:0", NULL};
	pid_t pid = emu_spawn(lead, args, NULL, errf);
	cr_assert(pid >= 0);
	/* A run that starts after all must not outlive the test: the deadline is Criterion's. */
	cr_assert_eq(waitpid(pid, &r->status, 0), pid);
	kill(-pid, SIGKILL);
	FILE *f = fopen(errf, "r");
	cr_assert(f);
	size_t got = fread(r->err, 1, sizeof(r->err) - 1, f);
	r->err[got] = '\0';
	fclose(f);
	emu_rm_tree(dir);
}

static void expect_refused(const struct run *r, const char *want)
{
	cr_expect(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2, "status %d: %s", r->status,
		  r->err);
	cr_expect(strstr(r->err, "--python-path") && strstr(r->err, want), "%s", r->err);
	cr_expect(!strstr(r->err, "sessionpool-zygote"), "refused after the preload: %s", r->err);
}

Test(packages, python_path_refused_at_start_up, .timeout = 120)
{
	struct run r;
	run(&r, (const char *const[]){"--python-path", "/nonexistent/sp-site", NULL});
	expect_refused(&r, "/nonexistent/sp-site");
	/* The second entry of a list is checked too. */
	run(&r, (const char *const[]){"--python-path", "/usr/lib/python3/dist-packages:/nope-sp",
				      NULL});
	expect_refused(&r, "/nope-sp");
	run(&r, (const char *const[]){"--python-path", "/etc/hostname", NULL});
	expect_refused(&r, "/etc/hostname");
	run(&r, (const char *const[]){"--python-path", "/proc/self", NULL});
	expect_refused(&r, "own file system");
	run(&r, (const char *const[]){"--python-path", "/", NULL});
	expect_refused(&r, "root directory");
	/* The variable, as the flag. */
	setenv("SESSIONPOOL_PYTHON_PATH", "/nonexistent/sp-env", 1);
	run(&r, (const char *const[]){NULL});
	unsetenv("SESSIONPOOL_PYTHON_PATH");
	expect_refused(&r, "/nonexistent/sp-env");
}
