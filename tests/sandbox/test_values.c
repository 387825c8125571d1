/* SPDX-License-Identifier: MIT */
/*
 * test_values.c: the cell value (api-contract §8.1-§8.3) as the sandbox reports it: every row of
 * the §8.2 table as data, `;` suppression, top-level await, images, state across cells.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static struct sbx_zygote *zyg;
static struct sbx_session *ses;

static void setup(void)
{
	zyg = t_zygote(SBX_ISOLATION_AUTO);
	ses = t_spawn(zyg, 1, NULL);
}

static void teardown(void)
{
	sbx_session_free(ses);
	sbx_zygote_stop(zyg);
	t_cleanup();
}

TestSuite(values, .init = setup, .fini = teardown, .timeout = 90);

struct row {
	const char *code;
	enum sbx_value_kind kind;
	const char *value;  /* NULL for NONE / NULL kinds */
	const char *stdout; /* NULL: not checked */
};

/* api-contract §8.2, one entry per row of its table, in order. */
static const struct row contract_rows[] = {
    {"print(7*9)", SBX_VALUE_NONE, NULL, "63\n"},
    {"x = 1", SBX_VALUE_NONE, NULL, ""},
    {"a = None;a", SBX_VALUE_NULL, NULL, ""},
    {"{}.get('k')", SBX_VALUE_NONE, NULL, ""},
    {"6*7;", SBX_VALUE_NONE, NULL, ""},
    {"6*7", SBX_VALUE_JSON, "42", ""},
    {"print('hello world')\n1 + 1", SBX_VALUE_JSON, "2", "hello world\n"},
    {"sum([1,10,-1541])", SBX_VALUE_JSON, "-1530", ""},
    {"a = float('nan');a", SBX_VALUE_TEXT, "nan", ""},
    {"a = \"nan\";a", SBX_VALUE_TEXT, "'nan'", ""},
    {"0.1 + 0.2", SBX_VALUE_JSON, "0.30000000000000004", ""},
    {"10**30", SBX_VALUE_JSON, "1000000000000000000000000000000", ""},
    {"1e16", SBX_VALUE_JSON, "1e+16", ""},
    {"float('inf')", SBX_VALUE_TEXT, "inf", ""},
    {"True", SBX_VALUE_TEXT, "True", ""},
    {"\"it's\"", SBX_VALUE_TEXT, "\"it's\"", ""},
    {"[1, 2, 3]", SBX_VALUE_JSON, "[1,2,3]", ""},
    {"[]", SBX_VALUE_JSON, "[]", ""},
    {"{}", SBX_VALUE_JSON, "{}", ""},
    {"['a', 'b']", SBX_VALUE_TEXT, "['a', 'b']", ""},
    {"{'a': 1}", SBX_VALUE_TEXT, "{'a': 1}", ""},
    {"(1, 2)", SBX_VALUE_TEXT, "(1, 2)", ""},
    {"[float('nan')]", SBX_VALUE_TEXT, "[nan]", ""},
};

Test(values, contract_table)
{
	for (size_t i = 0; i < sizeof(contract_rows) / sizeof(contract_rows[0]); i++) {
		const struct row *w = &contract_rows[i];
		struct sbx_exec_result r;
		t_exec(ses, w->code, &r);
		cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "[%s] outcome %s: %s", w->code,
			     t_outcome_name(r.outcome), r.stderr_text);
		cr_expect_eq(r.value_kind, w->kind, "[%s] kind %s, expected %s", w->code,
			     t_kind_name(r.value_kind), t_kind_name(w->kind));
		if (w->value)
			cr_expect_str_eq(r.value ? r.value : "(NULL)", w->value,
					 "[%s] got <%s> want <%s>", w->code, r.value, w->value);
		else
			cr_expect_null(r.value, "[%s] value %s", w->code, r.value);
		if (w->stdout)
			cr_expect_str_eq(r.stdout_text, w->stdout, "[%s] stdout <%s>", w->code,
					 r.stdout_text);
		cr_expect_str_eq(r.stderr_text, "", "[%s] stderr", w->code);
		sbx_exec_result_fini(&r);
	}
}

/* The last row of the table: AutoGen parses this with strip("[]").split(",\n"). */
Test(values, autogen_package_list_is_multiline_text)
{
	struct sbx_exec_result r;
	t_exec(ses, "import pkg_resources\n[d.project_name for d in pkg_resources.working_set]",
	       &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	cr_assert_eq(r.value_kind, SBX_VALUE_TEXT);
	cr_expect_eq(r.value[0], '[');
	cr_expect_eq(r.value[strlen(r.value) - 1], ']');
	cr_expect_not_null(strstr(r.value, "',\n '"), "not one item per line: %.200s", r.value);
	cr_expect_not_null(strstr(r.value, "'setuptools'"), "%.300s", r.value);
	sbx_exec_result_fini(&r);
}

static const struct row more_rows[] = {
    /* Nothing to run. */
    {"", SBX_VALUE_NONE, NULL, ""},
    {"\n\n  \n", SBX_VALUE_NONE, NULL, ""},
    {"# only a comment", SBX_VALUE_NONE, NULL, ""},
    /* None from a name, attribute or subscript is NULL; from a call it is NONE. */
    {"n = None\nn", SBX_VALUE_NULL, NULL, NULL},
    {"import types\nns = types.SimpleNamespace(v=None)\nns.v", SBX_VALUE_NULL, NULL, NULL},
    {"[None][0]", SBX_VALUE_NULL, NULL, NULL},
    {"def f():\n    pass\nf()", SBX_VALUE_NONE, NULL, NULL},
    {"print('x');", SBX_VALUE_NONE, NULL, "x\n"},
    /* Top-level await; an await of a call returning None is NONE. */
    {"import asyncio\nawait asyncio.sleep(0, 5)", SBX_VALUE_JSON, "5", NULL},
    {"async def g():\n    return None\nawait g()", SBX_VALUE_NONE, NULL, NULL},
    {"async def h():\n    return [1, 2]\nawait h()", SBX_VALUE_JSON, "[1,2]", NULL},
    /* `;` suppression: the last token, comments and blank lines aside. */
    {"6*7;  # comment", SBX_VALUE_NONE, NULL, NULL},
    {"6*7  # comment;", SBX_VALUE_JSON, "42", NULL},
    {"6*7\n# done;\n\n", SBX_VALUE_JSON, "42", NULL},
    {"s = 'a;'\ns", SBX_VALUE_TEXT, "'a;'", NULL},
    {"y = 5\ny;", SBX_VALUE_NONE, NULL, NULL},
    {"y", SBX_VALUE_JSON, "5", NULL},
    /* IPython's pretty printer: long containers one item per line, then whitespace dropped. */
    {"list(range(30))", SBX_VALUE_JSON,
     "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29]", NULL},
    {"['%030d' % i for i in range(3)]", SBX_VALUE_TEXT,
     "['000000000000000000000000000000',\n '000000000000000000000000000001',\n "
     "'000000000000000000000000000002']",
     NULL},
    {"{'k': 'v' * 80}", SBX_VALUE_TEXT,
     "{'k': 'vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv'}",
     NULL},
    /* T that is JSON: number tokens verbatim, whitespace outside strings removed. */
    {"class J:\n    def __repr__(self):\n        return '{\"k\": [1, 2.50, -0e0], \"s\": \"a "
     "b\"}'\nJ()",
     SBX_VALUE_JSON, "{\"k\":[1,2.50,-0e0],\"s\":\"a b\"}", NULL},
    {"class N:\n    def __repr__(self):\n        return '[NaN]'\nN()", SBX_VALUE_TEXT, "[NaN]",
     NULL},
    {"class D:\n    def __repr__(self):\n        return '{\"a\": 1,}'\nD()", SBX_VALUE_TEXT,
     "{\"a\": 1,}", NULL},
    {"class P:\n    def _repr_pretty_(self, p, cycle):\n        p.text('pretty!')\nP()",
     SBX_VALUE_TEXT, "pretty!", NULL},
    {"-7", SBX_VALUE_JSON, "-7", NULL},
    {"'multi\\nline'", SBX_VALUE_TEXT, "'multi\\nline'", NULL},
    {"10**5000 > 0", SBX_VALUE_TEXT, "True", NULL},
};

Test(values, more_rows)
{
	for (size_t i = 0; i < sizeof(more_rows) / sizeof(more_rows[0]); i++) {
		const struct row *w = &more_rows[i];
		struct sbx_exec_result r;
		t_exec(ses, w->code, &r);
		cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "[%s] outcome %s: %s", w->code,
			     t_outcome_name(r.outcome), r.stderr_text);
		cr_expect_eq(r.value_kind, w->kind, "[%s] kind %s, expected %s (%s)", w->code,
			     t_kind_name(r.value_kind), t_kind_name(w->kind),
			     r.value ? r.value : "NULL");
		if (w->value)
			cr_expect_str_eq(r.value ? r.value : "(NULL)", w->value,
					 "[%s] got <%s> want <%s>", w->code, r.value, w->value);
		else
			cr_expect_null(r.value, "[%s] value %s", w->code, r.value);
		if (w->stdout)
			cr_expect_str_eq(r.stdout_text, w->stdout, "[%s] stdout <%s>", w->code,
					 r.stdout_text);
		sbx_exec_result_fini(&r);
	}
}

Test(values, state_persists_across_cells)
{
	t_expect_value(ses, "x = 41\nimport math", SBX_VALUE_NONE, NULL);
	t_expect_value(ses, "def inc(v):\n    return v + 1", SBX_VALUE_NONE, NULL);
	t_expect_value(ses, "inc(x)", SBX_VALUE_JSON, "42");
	t_expect_value(ses, "math.floor(2.5)", SBX_VALUE_JSON, "2");
	/* The last displayed value is kept as _, as in IPython. */
	t_expect_value(ses, "_ + 1", SBX_VALUE_JSON, "3");
	t_expect_value(ses, "__name__", SBX_VALUE_TEXT, "'__main__'");
}

static unsigned png_width(const char *b64)
{
	size_t n = 0;
	unsigned char *png = t_base64_decode(b64, &n);
	cr_assert_not_null(png, "value is not base64");
	cr_assert_gt(n, 24u);
	cr_assert_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0, "not a PNG");
	unsigned w =
	    (unsigned)png[16] << 24 | (unsigned)png[17] << 16 | (unsigned)png[18] << 8 | png[19];
	free(png);
	return w;
}

Test(values, image_from_show)
{
	struct sbx_exec_result r;
	t_exec(ses, "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()",
	       &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	cr_assert_eq(r.value_kind, SBX_VALUE_IMAGE, "kind %s", t_kind_name(r.value_kind));
	cr_expect_gt(png_width(r.value), 100u);
	cr_expect_eq(strncmp(r.value, "iVBORw0KGgo", 11), 0);
	sbx_exec_result_fini(&r);
	/* show() closed the figure. */
	t_expect_value(ses, "plt.get_fignums()", SBX_VALUE_JSON, "[]");
}

Test(values, image_from_unclosed_figure_replaces_value)
{
	struct sbx_exec_result r;
	t_exec(ses, "import matplotlib.pyplot as plt\nplt.figure()\nplt.plot([1, 2])\n42", &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	cr_assert_eq(r.value_kind, SBX_VALUE_IMAGE, "kind %s", t_kind_name(r.value_kind));
	png_width(r.value);
	sbx_exec_result_fini(&r);
	t_expect_value(ses, "plt.get_fignums()", SBX_VALUE_JSON, "[]");
}

Test(values, last_image_in_figure_number_order_wins)
{
	struct sbx_exec_result r;
	/* Figure 2 (wide) is created first, figure 1 (narrow) second: 2 is rendered last. */
	t_exec(ses,
	       "import matplotlib.pyplot as plt\n"
	       "plt.figure(2, figsize=(8, 2)); plt.plot([1])\n"
	       "plt.figure(1, figsize=(2, 2)); plt.plot([1])",
	       &r);
	cr_assert_eq(r.value_kind, SBX_VALUE_IMAGE, "kind %s: %s", t_kind_name(r.value_kind),
		     r.stderr_text);
	unsigned wide = png_width(r.value);
	sbx_exec_result_fini(&r);
	t_exec(ses, "plt.figure(1, figsize=(2, 2)); plt.plot([1])", &r);
	cr_assert_eq(r.value_kind, SBX_VALUE_IMAGE);
	unsigned narrow = png_width(r.value);
	sbx_exec_result_fini(&r);
	cr_expect_gt(wide, narrow * 2, "wide %u, narrow %u", wide, narrow);
}

Test(values, no_image_without_figures)
{
	/* matplotlib is loaded, no figure is open: a plain value. */
	t_expect_value(ses, "import matplotlib.pyplot as plt\n1 + 2", SBX_VALUE_JSON, "3");
}

Test(values, pkg_resources_and_scientific_stack)
{
	t_expect_value(ses, "import pkg_resources\nlen(list(pkg_resources.working_set)) > 10",
		       SBX_VALUE_TEXT, "True");
	t_expect_value(ses, "import numpy as np\nint(np.arange(10).sum())", SBX_VALUE_JSON, "45");
	t_expect_value(ses, "import pandas as pd\nint(pd.DataFrame({'a': [1, 2, 3]})['a'].sum())",
		       SBX_VALUE_JSON, "6");
	t_expect_value(ses, "import matplotlib\nmatplotlib.get_backend()", SBX_VALUE_TEXT, "'agg'");
}

Test(values, matplotlib_is_preloaded_but_not_imported)
{
	/* §8.3: a fresh session has not imported matplotlib (nor what came with it)... */
	t_expect_value(ses,
		       "import sys\n[m for m in ('matplotlib', 'matplotlib.pyplot', "
		       "'mpl_toolkits.mplot3d', 'PIL', 'kiwisolver', 'cycler', 'pyparsing') "
		       "if m in sys.modules]",
		       SBX_VALUE_JSON, "[]");
	/* ...yet importing it is instant: the zygote's modules come back as they are, once. */
	t_expect_value(ses,
		       "import time\nt0 = time.perf_counter()\nimport matplotlib.pyplot as plt\n"
		       "time.perf_counter() - t0 < 0.05",
		       SBX_VALUE_TEXT, "True");
	t_expect_value(ses,
		       "import matplotlib, PIL\n(plt.matplotlib is matplotlib, "
		       "type(matplotlib.__spec__.loader).__name__, "
		       "any(type(f).__name__ == '_StashFinder' for f in sys.meta_path))",
		       SBX_VALUE_TEXT, "(True, 'SourceFileLoader', False)");
	t_expect_value(ses, "matplotlib.get_backend()", SBX_VALUE_TEXT, "'agg'");
	struct sbx_exec_result r;
	t_exec(ses, "plt.plot([1, 2, 3])\nplt.show()", &r);
	cr_expect_eq(r.value_kind, SBX_VALUE_IMAGE, "kind %s: %s", t_kind_name(r.value_kind),
		     r.stderr_text);
	sbx_exec_result_fini(&r);
}

Test(values, importing_a_module_that_came_with_matplotlib_brings_it_all_back)
{
	t_expect_value(ses,
		       "import sys\nimport PIL.Image\n('matplotlib.pyplot' in sys.modules, "
		       "sys.modules['matplotlib.pyplot'].show.__name__)",
		       SBX_VALUE_TEXT, "(True, 'show')");
	struct sbx_exec_result r;
	t_exec(ses, "import matplotlib.pyplot as plt\nplt.figure()\nplt.plot([1])\nNone", &r);
	cr_expect_eq(r.value_kind, SBX_VALUE_IMAGE, "kind %s: %s", t_kind_name(r.value_kind),
		     r.stderr_text);
	sbx_exec_result_fini(&r);
}
