/* SPDX-License-Identifier: MIT */
/*
 * test_utf8.c: the client library's UTF-8 cleaning (utf8.h), no processes involved: well-formed
 * text passes unchanged, each maximal ill-formed subpart becomes one U+FFFD, and the code point
 * budget cuts exactly.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define FFFD "\xef\xbf\xbd"

static void expect_clean(const char *in, size_t len, size_t max, const char *want, size_t cps)
{
	struct sbx_text t = {0};
	cr_assert_eq(sbx_text_append(&t, in, len, max), 0);
	cr_assert_eq(sbx_text_finish(&t), 0);
	cr_expect_eq(t.len, strlen(want), "len %zu, want %zu (%s)", t.len, strlen(want), t.buf);
	cr_expect_eq(memcmp(t.buf, want, strlen(want) + 1), 0, "got '%s' want '%s'", t.buf, want);
	cr_expect_eq(t.cps, cps);
	sbx_text_fini(&t);
}

#define CLEAN(in, max, want, cps) expect_clean(in, sizeof(in) - 1, max, want, cps)

Test(utf8, valid_text_unchanged)
{
	CLEAN("", SIZE_MAX, "", 0);
	CLEAN("hello", SIZE_MAX, "hello", 5);
	CLEAN("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", SIZE_MAX,
	      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 3);
	CLEAN("\xef\xbf\xbf\xf4\x8f\xbf\xbf", SIZE_MAX, "\xef\xbf\xbf\xf4\x8f\xbf\xbf", 2);
}

Test(utf8, maximal_subparts)
{
	/* Unicode 15 Table 3-8 examples. */
	CLEAN("\xc0\xaf", SIZE_MAX, FFFD FFFD, 2);
	CLEAN("\xe0\x80\xaf", SIZE_MAX, FFFD FFFD FFFD, 3);
	CLEAN("\xf0\x80\x80\xaf", SIZE_MAX, FFFD FFFD FFFD FFFD, 4);
	CLEAN("\xed\xa0\x80", SIZE_MAX, FFFD FFFD FFFD, 3);
	CLEAN("\xf4\x90\x80\x80", SIZE_MAX, FFFD FFFD FFFD FFFD, 4);
	CLEAN("\xe1\x80\xe2\xf0\x91\x92\xf1\xbf\x41", SIZE_MAX, FFFD FFFD FFFD FFFD "A", 5);
	CLEAN("a\xff", SIZE_MAX, "a" FFFD, 2);
	CLEAN("\xe2\x82", SIZE_MAX, FFFD, 1);
	CLEAN("\x80\x80", SIZE_MAX, FFFD FFFD, 2);
}

Test(utf8, budget_cuts_by_code_points)
{
	CLEAN("abcdef", 3, "abc", 3);
	CLEAN("\xc3\xa9\xc3\xa9\xc3\xa9", 2, "\xc3\xa9\xc3\xa9", 2);
	CLEAN("\xff\xff\xff", 2, FFFD FFFD, 2);
	CLEAN("abc", 0, "", 0);

	/* Appends share one budget. */
	struct sbx_text t = {0};
	cr_assert_eq(sbx_text_append(&t, "ab", 2, 4), 0);
	cr_assert_eq(sbx_text_append(&t, "\xc3\xa9\xc3\xa9\xc3\xa9", 6, 4), 0);
	cr_expect_str_eq(t.buf, "ab\xc3\xa9\xc3\xa9");
	cr_assert_eq(sbx_text_append(&t, "more", 4, 4), 0);
	cr_expect_str_eq(t.buf, "ab\xc3\xa9\xc3\xa9");
	sbx_text_fini(&t);
}

Test(utf8, nul_is_a_code_point)
{
	struct sbx_text t = {0};
	cr_assert_eq(sbx_text_append(&t, "a\0b", 3, SIZE_MAX), 0);
	cr_expect_eq(t.len, 3u);
	cr_expect_eq(t.cps, 3u);
	cr_expect_eq(memcmp(t.buf, "a\0b", 4), 0);
	char *p = sbx_text_steal(&t);
	cr_expect_null(t.buf);
	free(p);
}
