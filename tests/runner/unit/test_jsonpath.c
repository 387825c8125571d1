/* SPDX-License-Identifier: MIT */
/* JSONPath subset: grammar, evaluation, document order, errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "cleanup.h"
#include "jsonpath.h"

static const char doc_text[] =
    "{\"$id\":\"1\",\"value\":[{\"$id\":\"2\",\"properties\":{\"filename\":\"a.txt\",\"size\":3}},"
    "{\"$id\":\"4\",\"properties\":{\"filename\":\"b.txt\",\"size\":5}}],"
    "\"a.b\":{\"c\":true},\"empty\":[]}";

static size_t eval(const char *expr, const cJSON *doc, struct jp_matches *m)
{
	struct jp_path p;
	struct sp_err err = {0};
	cr_assert_eq(jp_parse(expr, &p, &err), 0, "%s: %s", expr, err.msg);
	cr_assert_eq(jp_eval(&p, doc, m), 0);
	jp_path_fini(&p);
	return m->n;
}

Test(jsonpath, members_and_indexes)
{
	cleanup_cjson cJSON *doc = cJSON_Parse(doc_text);
	struct jp_matches m;
	cr_assert_eq(eval("$.value[1].properties.filename", doc, &m), 1);
	cr_assert_str_eq(m.items[0]->valuestring, "b.txt");
	jp_matches_fini(&m);
	cr_assert_eq(eval("$.value[-1].$id", doc, &m), 1);
	cr_assert_str_eq(m.items[0]->valuestring, "4");
	jp_matches_fini(&m);
	cr_assert_eq(eval("$['a.b'].c", doc, &m), 1);
	cr_assert(cJSON_IsTrue(m.items[0]));
	jp_matches_fini(&m);
	cr_assert_eq(eval("$[\"$id\"]", doc, &m), 1);
	jp_matches_fini(&m);
	cr_assert_eq(eval("$", doc, &m), 1);
	cr_assert_eq(m.items[0], doc);
	jp_matches_fini(&m);
}

Test(jsonpath, missing_values_match_nothing)
{
	cleanup_cjson cJSON *doc = cJSON_Parse(doc_text);
	struct jp_matches m;
	cr_assert_eq(eval("$.nope", doc, &m), 0);
	jp_matches_fini(&m);
	cr_assert_eq(eval("$.value[2]", doc, &m), 0);
	jp_matches_fini(&m);
	cr_assert_eq(eval("$.value[-3]", doc, &m), 0);
	jp_matches_fini(&m);
	cr_assert_eq(eval("$.value.x", doc, &m), 0, "member of an array");
	jp_matches_fini(&m);
	cr_assert_eq(eval("$.$id[0]", doc, &m), 0, "index of a string");
	jp_matches_fini(&m);
	cr_assert_eq(eval("$.a", NULL, &m), 0, "no document");
	jp_matches_fini(&m);
}

Test(jsonpath, wildcard_in_document_order)
{
	cleanup_cjson cJSON *doc = cJSON_Parse(doc_text);
	struct jp_matches m;
	struct jp_path p;
	cr_assert_eq(jp_parse("$.value[*].properties.size", &p, NULL), 0);
	cr_assert(jp_path_is_multi(&p));
	cr_assert_eq(jp_eval(&p, doc, &m), 0);
	cr_assert_eq(m.n, 2);
	cr_assert_eq(m.items[0]->valueint, 3);
	cr_assert_eq(m.items[1]->valueint, 5);
	jp_matches_fini(&m);
	jp_path_fini(&p);
	cr_assert_eq(eval("$.empty[*]", doc, &m), 0);
	jp_matches_fini(&m);
	cr_assert_eq(eval("$.value[0][*]", doc, &m), 2, "object members");
	jp_matches_fini(&m);
}

Test(jsonpath, syntax_errors_name_the_column)
{
	static const char *const bad[] = {"",	 "value", "$.",	   "$..a", "$[", "$[x]",
					  "$[1", "$['a]", "$['a'", "$[*",  "$a", "$.a[]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jp_path p;
		struct sp_err err = {0};
		cr_expect_eq(jp_parse(bad[i], &p, &err), -EINVAL, "accepted \"%s\"", bad[i]);
		cr_expect(err.msg[0] != '\0', "no message for \"%s\"", bad[i]);
	}
	struct sp_err err = {0};
	struct jp_path p;
	jp_parse("$.a!b[?]", &p, &err);
	cr_expect(strstr(err.msg, "column"), "%s", err.msg);
}

Test(jsonpath, quoted_names_with_escapes)
{
	cleanup_cjson cJSON *doc = cJSON_Parse("{\"it's\":1,\"a\\\"b\":2}");
	struct jp_matches m;
	cr_assert_eq(eval("$['it\\'s']", doc, &m), 1);
	jp_matches_fini(&m);
	cr_assert_eq(eval("$[\"a\\\"b\"]", doc, &m), 1);
	cr_assert_eq(m.items[0]->valueint, 2);
	jp_matches_fini(&m);
}
