/* SPDX-License-Identifier: MIT */
/* Predicates: each check, its failure message, validation of specs. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "predicate.h"

static bool check(const char *spec, const char *actual, char *why, size_t len)
{
	cleanup_cjson cJSON *s = cJSON_Parse(spec);
	cleanup_cjson cJSON *a = actual ? cJSON_Parse(actual) : NULL;
	cr_assert(s, "bad spec %s", spec);
	cr_assert(!actual || a, "bad value %s", actual);
	struct sp_err err = {0};
	cr_assert_eq(pred_validate(s, "t", NULL, &err), 0, "%s", err.msg);
	return pred_check(s, a, PRED_JSON, why, len);
}

#define HOLDS(spec, actual)                                                                        \
	do {                                                                                       \
		char why_[512] = "";                                                               \
		cr_expect(check(spec, actual, why_, sizeof(why_)), "%s on %s: %s", spec,           \
			  actual ? actual : "<absent>", why_);                                     \
	} while (0)
#define FAILS(spec, actual, msg)                                                                   \
	do {                                                                                       \
		char why_[512] = "";                                                               \
		cr_expect(!check(spec, actual, why_, sizeof(why_)), "%s held on %s", spec,         \
			  actual ? actual : "<absent>");                                           \
		cr_expect(strstr(why_, msg), "message \"%s\" lacks \"%s\"", why_, msg);            \
	} while (0)

Test(predicate, equals_is_deep_and_typed)
{
	HOLDS("{\"equals\":\"Success\"}", "\"Success\"");
	FAILS("{\"equals\":\"Success\"}", "\"Succeeded\"",
	      "expected \"Success\", got \"Succeeded\"");
	HOLDS("{\"equals\":{\"a\":[1,2]}}", "{\"a\":[1,2]}");
	FAILS("{\"equals\":42}", "\"42\"", "expected 42");
	HOLDS("{\"equals\":null}", "null");
	FAILS("{\"equals\":null}", NULL, "no value");
	HOLDS("{\"not_equals\":\"x\"}", "\"y\"");
	FAILS("{\"not_equals\":\"x\"}", "\"x\"", "anything but");
}

Test(predicate, types)
{
	HOLDS("{\"type\":\"string\"}", "\"\"");
	HOLDS("{\"type\":\"integer\"}", "8");
	FAILS("{\"type\":\"integer\"}", "8.5", "expected type integer, got number 8.5");
	HOLDS("{\"type\":\"number\"}", "8.5");
	HOLDS("{\"type\":[\"string\",\"null\"]}", "null");
	FAILS("{\"type\":\"object\"}", "[]", "got array");
	HOLDS("{\"type\":\"boolean\"}", "false");
}

Test(predicate, presence)
{
	HOLDS("{\"exists\":true}", "null");
	FAILS("{\"exists\":true}", NULL, "expected a value");
	HOLDS("{\"exists\":false}", NULL);
	HOLDS("{\"absent\":true}", NULL);
	FAILS("{\"absent\":true}", "1", "expected no value, got 1");
	HOLDS("{\"absent\":false}", "1");
}

Test(predicate, matches_one_of_bounds)
{
	HOLDS("{\"matches\":\"^[0-9a-f]{8}-\"}", "\"0b6c2f7e-3d0a\"");
	FAILS("{\"matches\":\"^x\"}", "\"y\"", "expected a match for /^x/");
	FAILS("{\"matches\":\"^x\"}", "5", "expected a string");
	HOLDS("{\"one_of\":[\"Success\",\"Failure\"]}", "\"Failure\"");
	FAILS("{\"one_of\":[1,2]}", "3", "expected one of [1,2], got 3");
	HOLDS("{\"gte\":1,\"lte\":3}", "3");
	FAILS("{\"gte\":4}", "3", "expected >= 4, got 3");
	FAILS("{\"lte\":4}", "\"3\"", "expected a number");
}

Test(predicate, text_mode_compares_numeric_headers)
{
	cleanup_cjson cJSON *s = cJSON_Parse("{\"gte\":0,\"lte\":10}");
	cleanup_cjson cJSON *v = cJSON_CreateString("7");
	cleanup_cjson cJSON *bad = cJSON_CreateString("7ms");
	char why[256];
	cr_expect(pred_check(s, v, PRED_TEXT, why, sizeof(why)), "%s", why);
	cr_expect(!pred_check(s, v, PRED_JSON, why, sizeof(why)));
	cr_expect(!pred_check(s, bad, PRED_TEXT, why, sizeof(why)));
}

Test(predicate, length_counts_code_points_and_items)
{
	HOLDS("{\"length\":5}", "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"");
	HOLDS("{\"length\":2}", "[1,[2,3]]");
	HOLDS("{\"length\":{\"gte\":1}}", "{\"a\":1}");
	FAILS("{\"length\":0}", "[1]", "expected length 0, got 1");
	FAILS("{\"length\":{\"lte\":1}}", "\"abc\"", "length 3");
	FAILS("{\"length\":1}", "7", "something with a length");
}

Test(predicate, keys_are_exact_and_ordered)
{
	HOLDS("{\"keys\":[\"$id\",\"status\"]}", "{\"$id\":\"2\",\"status\":\"Success\"}");
	FAILS("{\"keys\":[\"status\",\"$id\"]}", "{\"$id\":\"2\",\"status\":\"Success\"}",
	      "got [\"$id\",\"status\"]");
	FAILS("{\"keys\":[\"a\"]}", "{\"a\":1,\"b\":2}", "expected keys");
	FAILS("{\"keys\":[\"a\",\"b\"]}", "{\"a\":1}", "expected keys");
}

Test(predicate, contains)
{
	HOLDS("{\"contains\":\"Traceback\"}", "\"x\\nTraceback (most recent\"");
	HOLDS("{\"contains\":2}", "[1,2]");
	FAILS("{\"contains\":\"z\"}", "\"abc\"", "containing");
	FAILS("{\"contains\":3}", "[1,2]", "array containing 3");
}

Test(predicate, seconds_since)
{
	HOLDS("{\"seconds_since\":{\"time\":\"2024-05-02T07:21:07.9922617Z\",\"equals\":300}}",
	      "\"2024-05-02T07:26:07.9922617Z\"");
	HOLDS("{\"seconds_since\":{\"time\":\"2024-05-02T07:21:07Z\",\"gte\":0,\"lte\":0.001}}",
	      "\"2024-05-02T09:21:07.0001+02:00\"");
	FAILS("{\"seconds_since\":{\"time\":\"2024-05-02T07:21:07Z\",\"gte\":1}}",
	      "\"2024-05-02T07:21:06Z\"", "is -1.000 s after");
	FAILS("{\"seconds_since\":{\"time\":\"2024-05-02T07:21:07Z\",\"gte\":1}}", "\"yesterday\"",
	      "expected an RFC 3339 time");
	double t;
	cr_expect_eq(pred_parse_time("1970-01-01T00:00:01.5Z", &t), 0);
	cr_expect_float_eq(t, 1.5, 1e-9);
	cr_expect_eq(pred_parse_time("1970-01-01 00:00:01Z", &t), -EINVAL);
	cr_expect_eq(pred_parse_time("1970-01-01T00:00:01", &t), -EINVAL);
	cr_expect_eq(pred_parse_time("1970-01-01T00:00:01.Z", &t), -EINVAL);
}

Test(predicate, several_predicates_all_hold)
{
	HOLDS("{\"type\":\"string\",\"matches\":\"^a\",\"length\":3}", "\"abc\"");
	FAILS("{\"type\":\"string\",\"matches\":\"^a\",\"length\":4}", "\"abc\"", "length");
}

Test(predicate, validation_rejects_bad_specs)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"equal\":1}",
	    "{\"type\":\"str\"}",
	    "{\"type\":[]}",
	    "{\"exists\":1}",
	    "{\"matches\":\"(\"}",
	    "{\"matches\":1}",
	    "{\"one_of\":[]}",
	    "{\"gte\":\"x\"}",
	    "{\"length\":\"x\"}",
	    "{\"length\":{\"gt\":1}}",
	    "{\"keys\":[1]}",
	    "{\"seconds_since\":{\"gte\":1}}",
	    "{\"seconds_since\":{\"time\":\"x\"}}",
	    "[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cleanup_cjson cJSON *s = cJSON_Parse(bad[i]);
		struct sp_err err = {0};
		cr_expect_eq(pred_validate(s, "expect.json[0]", NULL, &err), -EINVAL, "accepted %s",
			     bad[i]);
		cr_expect(strncmp(err.msg, "expect.json[0]", 14) == 0, "%s", err.msg);
	}
	cleanup_cjson cJSON *s = cJSON_Parse("{\"path\":\"$\",\"equals\":1}");
	static const char *const extra[] = {"path", NULL};
	cr_expect_eq(pred_validate(s, "w", extra, NULL), 0);
	cr_expect_eq(pred_validate(s, "w", NULL, NULL), -EINVAL);
}

/* Patterns glibc compiles slowly or hugely are refused before regcomp(); ordinary ones are not. */
Test(predicate, regcomp_refuses_costly_patterns)
{
	static const char *const fine[] = {
	    "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
	    "(\\s*,\\s*)*",
	    "a*+",
	    "(a*)+",
	    "((a*)+)+",
	    "(a|b*)+c?",
	    "x{0,2}y{100}",
	    "a+++++++"};
	for (size_t i = 0; i < sizeof(fine) / sizeof(*fine); i++) {
		regex_t re;
		cr_expect_eq(pred_regcomp(&re, fine[i], REG_EXTENDED | REG_NOSUB), 0, "%s",
			     fine[i]);
		regfree(&re);
	}
	/* Nullable pieces repeated again and again ("_*+++…" took over 90 s), stacked counts that
	 * multiply the node count, and overlong patterns. */
	static const char *const costly[] = {"_*+++++++++++++",	      "a?++++",
					     "((((a*)+)+)+)+",	      "(((((b?)*)+)+)+)+",
					     "4++++++++++++++++++++", "a{0,9}++++"};
	for (size_t i = 0; i < sizeof(costly) / sizeof(*costly); i++) {
		regex_t re;
		cr_expect_eq(pred_regcomp(&re, costly[i], REG_EXTENDED | REG_NOSUB), REG_ESIZE,
			     "%s", costly[i]);
	}
	char *long_one = malloc(PRED_REGEX_MAX_LEN + 2);
	memset(long_one, 'a', PRED_REGEX_MAX_LEN + 1);
	long_one[PRED_REGEX_MAX_LEN + 1] = '\0';
	regex_t re;
	cr_expect_eq(pred_regcomp(&re, long_one, REG_EXTENDED | REG_NOSUB), REG_ESIZE);
	free(long_one);
}
