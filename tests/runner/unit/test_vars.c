/* SPDX-License-Identifier: MIT */
/* Templating: scopes, filters, literals, typed JSON substitution, errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "cleanup.h"
#include "vars.h"

static char *expand(const struct vars *v, const char *tmpl)
{
	char *out = NULL;
	struct sp_err err = {0};
	cr_assert_eq(vars_expand(v, tmpl, &out, &err), 0, "%s: %s", tmpl, err.msg);
	return out;
}

Test(vars, scopes_and_shadowing)
{
	struct vars *run = vars_new(NULL);
	struct vars *scn = vars_new(run);
	vars_set_str(run, "run_id", "spc1234");
	vars_set_str(run, "x", "outer");
	vars_set_str(scn, "x", "inner");
	cleanup_free char *a = expand(scn, "{{run_id}}-{{x}}-{{ x }}");
	cr_expect_str_eq(a, "spc1234-inner-inner");
	cleanup_free char *b = expand(run, "{{x}}");
	cr_expect_str_eq(b, "outer");
	vars_set_str(scn, "x", "replaced");
	cleanup_free char *c = expand(scn, "{{x}}");
	cr_expect_str_eq(c, "replaced");
	vars_free(scn);
	vars_free(run);
}

Test(vars, non_string_values_print_compactly)
{
	struct vars *v = vars_new(NULL);
	cleanup_cjson cJSON *n = cJSON_CreateNumber(42);
	cleanup_cjson cJSON *arr = cJSON_Parse("[1, {\"a\": true}]");
	vars_set(v, "n", n);
	vars_set(v, "arr", arr);
	cleanup_free char *s = expand(v, "n={{n}} arr={{arr}}");
	cr_expect_str_eq(s, "n=42 arr=[1,{\"a\":true}]");
	vars_free(v);
}

Test(vars, filters)
{
	struct vars *v = vars_new(NULL);
	vars_set_str(v, "id", "a b/c+d~é");
	cleanup_free char *u = expand(v, "{{id|url}}");
	cr_expect_str_eq(u, "a%20b%2Fc%2Bd~%C3%A9");
	cleanup_free char *p = expand(v, "{{id|url_path}}");
	cr_expect_str_eq(p, "a%20b/c%2Bd~%C3%A9");
	vars_set_str(v, "code", "print('b64')");
	cleanup_free char *b = expand(v, "{{code|base64}}");
	cr_expect_str_eq(b, "cHJpbnQoJ2I2NCcp");
	vars_set_str(v, "q", "say \"hi\"\n");
	cleanup_free char *j = expand(v, "{{q|json}}");
	cr_expect_str_eq(j, "say \\\"hi\\\"\\n");
	vars_set_str(v, "m", "MiXed");
	cleanup_free char *l = expand(v, "{{m|lower}}{{m|upper}}{{m | lower | url}}");
	cr_expect_str_eq(l, "mixedMIXEDmixed");
	vars_free(v);
}

Test(vars, literals_and_uuid)
{
	struct vars *v = vars_new(NULL);
	cleanup_free char *lit = expand(v, "{{\"{{\"}}x{{\"}}\"}}");
	cr_expect_str_eq(lit, "{{x}}");
	cleanup_free char *u = expand(v, "{{uuid}} {{uuid}}");
	cr_expect_eq(strlen(u), 73);
	cr_expect(strncmp(u, u + 37, 36) != 0, "two uuids must differ: %s", u);
	cr_expect_eq(u[14], '4');
	cr_expect(strchr("89ab", u[19]));
	vars_set_str(v, "uuid", "fixed");
	cleanup_free char *f = expand(v, "{{uuid}}");
	cr_expect_str_eq(f, "fixed");
	vars_free(v);
}

Test(vars, text_without_templates_is_unchanged)
{
	struct vars *v = vars_new(NULL);
	cleanup_free char *s = expand(v, "d = {'a': {'b': 1}}\n{ {x} }");
	cr_expect_str_eq(s, "d = {'a': {'b': 1}}\n{ {x} }");
	vars_free(v);
}

Test(vars, errors)
{
	struct vars *v = vars_new(NULL);
	char *out = NULL;
	struct sp_err err = {0};
	cr_expect_eq(vars_expand(v, "{{missing}}", &out, &err), -ENOENT);
	cr_expect(strstr(err.msg, "undefined variable \"missing\""), "%s", err.msg);
	cr_expect_null(out);
	static const char *const bad[] = {"{{",	     "{{x",	   "{{}}",
					  "{{a b}}", "{{x|nope}}", "{{\"unterminated}}",
					  "{{x|}}",  "{{\"a\" b}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(vars_check(bad[i], &err), -EINVAL, "accepted %s", bad[i]);
		cr_expect_lt(vars_expand(v, bad[i], &out, &err), 0, "expanded %s", bad[i]);
	}
	cr_expect_eq(vars_check("plain {{a}} {{b|url}} {{\"lit\"}}", &err), 0);
	vars_free(v);
}

Test(vars, json_templates_keep_types)
{
	struct vars *v = vars_new(NULL);
	cleanup_cjson cJSON *size = cJSON_CreateNumber(32);
	vars_set(v, "size", size);
	vars_set_str(v, "name", "data.csv");
	cleanup_cjson cJSON *in =
	    cJSON_Parse("{\"equals\":\"{{size}}\",\"list\":[\"{{name}}\",\"x-{{size}}\"],\"k\":{"
			"\"n\":\"{{name|upper}}\"},\"plain\":7}");
	cleanup_cjson cJSON *out = NULL;
	struct sp_err err = {0};
	cr_assert_eq(vars_expand_json(v, in, &out, &err), 0, "%s", err.msg);
	cleanup_free char *txt = cJSON_PrintUnformatted(out);
	cr_expect_str_eq(
	    txt, "{\"equals\":32,\"list\":[\"data.csv\",\"x-32\"],\"k\":{\"n\":\"DATA.CSV\"},"
		 "\"plain\":7}");
	cleanup_cjson cJSON *root = cJSON_CreateString("{{size}}");
	cleanup_cjson cJSON *out2 = NULL;
	cr_assert_eq(vars_expand_json(v, root, &out2, &err), 0);
	cr_expect(cJSON_IsNumber(out2) && out2->valueint == 32);
	cleanup_cjson cJSON *bad = cJSON_Parse("[\"{{nope}}\"]");
	cleanup_cjson cJSON *out3 = NULL;
	cr_expect_eq(vars_expand_json(v, bad, &out3, &err), -ENOENT);
	vars_free(v);
}
