/* SPDX-License-Identifier: MIT */
/* Timestamps, GUIDs, percent coding, UTF-8 and base64 helpers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "pct.h"
#include "sputf8.h"
#include "util.h"

/* The emulator's decoding of InlineBase64 code (std, whitespace) and JWT segments (url). */
static char *dec(const char *in, size_t len, bool url, bool ws, size_t *n)
{
	char *out = NULL;
	unsigned flags = (url ? SP_B64_URL : 0) | (ws ? SP_B64_SKIP_WS : 0);
	return sp_b64_decode(in, len, flags, &out, n) == 0 ? out : NULL;
}

Test(util, timestamps_have_seven_digits_and_z)
{
	char buf[40];
	/* 2024-05-02T07:21:07.9922617Z */
	int64_t t = 1714634467LL * UTIL_TICKS_PER_SEC + 9922617;
	cr_expect_str_eq(util_format_ticks(t, buf, sizeof(buf)), "2024-05-02T07:21:07.9922617Z");
	cr_expect_str_eq(util_format_ticks(0, buf, sizeof(buf)), "1970-01-01T00:00:00.0000000Z");
	cr_expect_str_eq(util_format_http_date(784111777, buf, sizeof(buf)),
			 "Sun, 06 Nov 1994 08:49:37 GMT");
}

Test(util, percent_decoding_and_encoding)
{
	size_t n;
	char *s = sp_pct_decode("a%2Fb+c%zz%4", 12, &n);
	cr_expect_str_eq(s, "a/b+c%zz%4");
	free(s);
	s = sp_pct_decode("%41%62%00x", 10, &n);
	cr_expect_eq(n, 4);
	cr_expect_eq(memcmp(s, "Ab\0x", 4), 0);
	free(s);
	s = sp_pct_encode("a b/c~-._é", NULL);
	cr_expect_str_eq(s, "a%20b%2Fc~-._%C3%A9");
	free(s);
}

Test(util, utf8)
{
	cr_expect(sp_utf8_valid("héllo", 6, NULL));
	cr_expect_not(sp_utf8_valid("\xff", 1, NULL));
	cr_expect_not(sp_utf8_valid("\xc0\xaf", 2, NULL));     /* overlong */
	cr_expect_not(sp_utf8_valid("\xed\xa0\x80", 3, NULL)); /* surrogate */
	char *s = util_utf8_sanitize("a\xffz\xe2\x82", 5);
	cr_expect_str_eq(s, "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	cr_expect_eq(util_utf8_prefix_bytes("aé€😀b", 11, 4), 10);
	cr_expect_eq(util_utf8_prefix_bytes("abc", 3, 10), 3);
	cr_expect_eq(util_utf8_prefix_bytes("abc", 3, 0), 0);
}

Test(util, parse_u64)
{
	uint64_t v;
	cr_expect(util_parse_u64("0", 0, 10, &v) && v == 0);
	cr_expect(util_parse_u64("2147483647", 0, 2147483647, &v));
	cr_expect_not(util_parse_u64("2147483648", 0, 2147483647, &v));
	cr_expect_not(util_parse_u64("-1", 0, 10, &v));
	cr_expect_not(util_parse_u64(" 1", 0, 10, &v));
	cr_expect_not(util_parse_u64("", 0, 10, &v));
	cr_expect_not(util_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v));
}

Test(b64, standard_and_url_alphabets)
{
	size_t n;
	char *s = dec("cHJpbnQoMSk=", 12, false, false, &n);
	cr_expect_str_eq(s, "print(1)");
	free(s);
	s = dec("cHJpbnQoMSk", 11, false, false, &n); /* padding optional */
	cr_expect_str_eq(s, "print(1)");
	free(s);
	s = dec("cHJp\nbnQo MSk=", 14, false, true, &n); /* whitespace ignored */
	cr_expect_str_eq(s, "print(1)");
	free(s);
	cr_expect_null(dec("cHJp\nbnQoMSk=", 13, false, false, &n));
	cr_expect_null(dec("cHJ!", 4, false, false, &n));
	cr_expect_null(dec("c", 1, false, false, &n));
	cr_expect_null(dec("cQ=x", 4, false, false, &n));
	s = dec("-_8", 3, true, false, &n);
	cr_expect_eq(n, 2);
	cr_expect_eq((unsigned char)s[0], 0xfb);
	free(s);
	cr_expect_null(dec("-_8", 3, false, false, &n));
}
