/* SPDX-License-Identifier: MIT */
/* The primitives of common/: base64, percent coding, UTF-8, GUIDs, sp_err_wrap. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "err.h"
#include "guid.h"
#include "pct.h"
#include "sputf8.h"
#include "tree.h"

static int dec(const char *in, unsigned flags, char **out, size_t *n)
{
	*out = NULL;
	return sp_b64_decode(in, strlen(in), flags, out, n);
}

Test(b64, encodes_every_tail_with_and_without_padding)
{
	static const struct {
		const char *in, *std, *url;
	} v[] = {{"", "", ""},
		 {"f", "Zg==", "Zg"},
		 {"fo", "Zm8=", "Zm8"},
		 {"foo", "Zm9v", "Zm9v"},
		 {"foob", "Zm9vYg==", "Zm9vYg"},
		 {"\xfb\xff", "+/8=", "-_8"}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);
		char *s = sp_b64_encode_alloc(v[i].in, n, SP_B64_PAD);
		cr_expect_str_eq(s, v[i].std);
		cr_expect_eq(sp_b64_encoded_len(n, SP_B64_PAD), strlen(v[i].std));
		free(s);
		s = sp_b64_encode_alloc(v[i].in, n, SP_B64_URL);
		cr_expect_str_eq(s, v[i].url);
		cr_expect_eq(sp_b64_encoded_len(n, SP_B64_URL), strlen(v[i].url));
		free(s);
	}
}

Test(b64, strict_decoding_refuses_hostile_input)
{
	char *o;
	size_t n;
	static const char *const bad[] = {
	    "Zg=",	/* short padding */
	    "Zg===",	/* too much padding */
	    "Zm9v=",	/* padding after a whole quantum */
	    "====",	/* padding only */
	    "Zg==Zg==", /* data after padding */
	    "Z",	/* a single leftover character */
	    "Zh==",	/* non-zero pad bits */
	    "Zm9=",	/* non-zero pad bits */
	    "-_8=",	/* URL alphabet in standard decoding */
	    "Zm 9v",	/* whitespace without SP_B64_SKIP_WS */
	    "Zm9v\x80", /* a non-ASCII byte */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(dec(bad[i], 0, &o, &n), -EINVAL, "%s", bad[i]);
		cr_expect_null(o);
		cr_expect_not(sp_b64_valid(bad[i], strlen(bad[i]), 0), "%s", bad[i]);
	}
	cr_expect_eq(dec("+/8=", SP_B64_URL, &o, &n), -EINVAL);
	cr_expect_eq(dec("Zg", SP_B64_PAD, &o, &n), -EINVAL); /* padding required */
	cr_assert_eq(dec("Zg==", SP_B64_PAD, &o, &n), 0);
	cr_expect(n == 1 && o[0] == 'f' && o[1] == '\0');
	free(o);
	cr_assert_eq(dec(" Zm\n9v\tYg ==\r", SP_B64_SKIP_WS, &o, &n), 0);
	cr_expect_str_eq(o, "foob");
	free(o);
	cr_assert_eq(dec("AAA=", 0, &o, &n), 0); /* NUL bytes decode and are counted */
	cr_expect(n == 2 && o[0] == 0 && o[1] == 0);
	free(o);
}

Test(b64, lax_decoding_is_the_runners_tolerance)
{
	char *o;
	size_t n;
	cr_assert_eq(dec("Zm9v+/8-_w=junk", SP_B64_LAX, &o, &n), 0); /* both alphabets */
	cr_expect_eq(n, 7);
	cr_expect_eq(memcmp(o, "foo\xfb\xff\x3e\xff", 7), 0);
	free(o);
	cr_assert_eq(dec("Zh", SP_B64_LAX, &o, &n), 0); /* pad bits dropped */
	cr_expect(n == 1 && o[0] == 'f');
	free(o);
	cr_assert_eq(dec("Zm9vY", SP_B64_LAX, &o, &n), 0); /* a leftover character dropped */
	cr_expect_str_eq(o, "foo");
	free(o);
	cr_expect_eq(dec("Zm 9v", SP_B64_LAX, &o, &n), -EINVAL);
	cr_expect_eq(dec("Zm!9v", SP_B64_LAX | SP_B64_SKIP_WS, &o, &n), -EINVAL);
}

Test(b64, round_trips_all_byte_values)
{
	unsigned char in[256];
	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	for (size_t len = 0; len <= sizeof(in); len += 37) {
		for (unsigned f = 0; f <= (SP_B64_URL | SP_B64_PAD); f++) {
			char *e = sp_b64_encode_alloc(in, len, f);
			char *o = NULL;
			size_t n = 0;
			cr_assert_eq(sp_b64_decode(e, strlen(e), f, &o, &n), 0);
			cr_expect(n == len && memcmp(o, in, len) == 0);
			free(o);
			free(e);
		}
	}
}

Test(pct, keeps_unreserved_and_the_extra_set)
{
	char *s = sp_pct_encode("a b/c~-._é%", NULL);
	cr_expect_str_eq(s, "a%20b%2Fc~-._%C3%A9%25");
	free(s);
	s = sp_pct_encode("a b/c", "/");
	cr_expect_str_eq(s, "a%20b/c");
	free(s);
	size_t n;
	s = sp_pct_decode("%2f%2F%g1%4%", 12, &n); /* invalid escapes kept as they are */
	cr_expect_str_eq(s, "//%g1%4%");
	cr_expect_eq(n, 8);
	free(s);
	cr_expect(sp_hexval('0') == 0 && sp_hexval('9') == 9 && sp_hexval('a') == 10 &&
		  sp_hexval('F') == 15);
	cr_expect(sp_hexval('g') < 0 && sp_hexval('/') < 0 && sp_hexval(':') < 0 &&
		  sp_hexval('@') < 0 && sp_hexval('`') < 0 && sp_hexval(0xc3) < 0);
	s = sp_pct_decode("a%00b", 5, &n);
	cr_expect(n == 3 && s[1] == '\0' && s[2] == 'b');
	free(s);
}

Test(utf8, well_formed_sequences_are_counted)
{
	size_t cps = 0;
	cr_expect(sp_utf8_valid("", 0, &cps) && cps == 0);
	cr_expect(sp_utf8_valid("a\0b", 3, &cps) && cps == 3);
	const char *s = "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80"
			"\xf4\x8f\xbf\xbf";
	cr_expect(sp_utf8_valid(s, strlen(s), &cps));
	cr_expect_eq(cps, 8);
}

Test(utf8, every_kind_of_ill_formed_input_is_refused)
{
	static const struct {
		const char *s;
		size_t bad; /* maximal subpart */
	} v[] = {
	    {"\x80", 1},	     /* lone continuation */
	    {"\xbf", 1},	     /* lone continuation */
	    {"\xc0\xaf", 1},	     /* overlong 2-byte (C0) */
	    {"\xc1\xbf", 1},	     /* overlong 2-byte (C1) */
	    {"\xe0\x80\xaf", 1},     /* overlong 3-byte */
	    {"\xf0\x80\x80\xaf", 1}, /* overlong 4-byte */
	    {"\xed\xa0\x80", 1},     /* high surrogate */
	    {"\xed\xbf\xbf", 1},     /* low surrogate */
	    {"\xf4\x90\x80\x80", 1}, /* above U+10FFFF */
	    {"\xf5\x80\x80\x80", 1}, /* F5 lead */
	    {"\xff", 1},	     /* FF */
	    {"\xc2", 1},	     /* truncated 2-byte */
	    {"\xe2\x82", 2},	     /* truncated 3-byte */
	    {"\xf0\x9f\x98", 3},     /* truncated 4-byte */
	    {"\xe2\x82x", 2},	     /* interrupted by ASCII */
	    {"\xc3\xc3", 1},	     /* lead after lead */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].s), bad = 0;
		cr_expect_not(sp_utf8_valid(v[i].s, len, NULL), "case %zu", i);
		cr_expect_eq(sp_utf8_next((const unsigned char *)v[i].s, len, &bad), 0, "case %zu",
			     i);
		cr_expect_eq(bad, v[i].bad, "case %zu", i);
	}
	cr_expect_not(sp_utf8_valid("ok\xe2\x82\xac\xe2\x82", 7, NULL)); /* cut at the end */
}

Test(guid, version_4_text_form)
{
	char a[37], b[37];
	sp_guid(a);
	sp_guid(b);
	cr_expect_eq(strlen(a), 36);
	cr_expect_str_neq(a, b);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			cr_expect_eq(a[i], '-');
		else
			cr_expect(strchr("0123456789abcdef", a[i]), "%s", a);
	}
	cr_expect_eq(a[14], '4');
	cr_expect(strchr("89ab", a[19]), "%s", a);
}

Test(err, wrap_prefixes_context_and_keeps_the_code)
{
	struct sp_err e = {0};
	sp_err_sys(&e, -ENOENT, "open %s", "a.json");
	sp_err_wrap(&e, "loading target %s", "t1");
	cr_expect_str_eq(e.msg, "loading target t1: open a.json: No such file or directory");
	cr_expect_eq(e.code, -ENOENT);
	sp_err_wrap(NULL, "ignored"); /* no error object: nothing to do */
	struct sp_err full = {.code = -EINVAL};
	memset(full.msg, 'x', sizeof(full.msg) - 1);
	full.msg[sizeof(full.msg) - 1] = '\0';
	sp_err_wrap(&full, "ctx");
	cr_expect_eq(strlen(full.msg), sizeof(full.msg) - 1); /* truncated, still terminated */
	cr_expect_eq(strncmp(full.msg, "ctx: xxx", 8), 0);
	cr_expect_eq(full.code, -EINVAL);
}

static bool exists(const char *base, const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return lstat(p, &st) == 0;
}

/* root/{a/b/c/f, a/unreadable/g, link -> outside, dirlink -> outside}; outside/keep */
static void make_tree(char *root, char *outside)
{
	cr_assert(mkdtemp(root));
	cr_assert(mkdtemp(outside));
	char p[512];
	snprintf(p, sizeof(p), "%s/keep", outside);
	cr_assert(creat(p, 0600) >= 0);
	const char *dirs[] = {"a", "a/b", "a/b/c", "a/unreadable"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		cr_assert_eq(mkdir(p, 0700), 0);
	}
	const char *files[] = {"a/b/c/f", "a/unreadable/g"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, files[i]);
		int fd = creat(p, 0600);
		cr_assert(fd >= 0);
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/a/unreadable", root);
	chmod(p, 0);
	snprintf(p, sizeof(p), "%s/link", root);
	cr_assert_eq(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/keep", outside);
	char q[512];
	snprintf(q, sizeof(q), "%s/dirlink", root);
	cr_assert_eq(symlink(p, q), 0);
}

Test(tree, empties_a_directory_without_following_symlinks)
{
	char root[] = "/tmp/sp-tree-XXXXXX", outside[] = "/tmp/sp-out-XXXXXX";
	make_tree(root, outside);
	int fd = open(root, O_RDONLY | O_DIRECTORY);
	cr_assert(fd >= 0);
	sp_tree_empty(fd, SP_TREE_CHMOD);
	cr_expect_not(exists(root, "a"));
	cr_expect_not(exists(root, "link"));
	cr_expect_not(exists(root, "dirlink"));
	cr_expect(exists(root, "."), "the directory itself stays");
	cr_expect(exists(outside, "keep"), "a symlink's target is never touched");
	cr_expect_eq(rmdir(root), 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/keep", outside);
	unlink(p);
	rmdir(outside);
}

Test(tree, removes_a_named_tree_only_on_the_given_file_system)
{
	char root[] = "/tmp/sp-tree-XXXXXX", outside[] = "/tmp/sp-out-XXXXXX";
	make_tree(root, outside);
	int fd = open(root, O_RDONLY | O_DIRECTORY);
	cr_assert(fd >= 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	sp_tree_remove_at(fd, "a", st.st_dev + 1, 0); /* "another file system": left alone */
	cr_expect(exists(root, "a/b/c/f"));
	sp_tree_remove_at(fd, "link", st.st_dev, 0); /* the link, not its target */
	cr_expect_not(exists(root, "link"));
	cr_expect(exists(outside, "keep"));
	sp_tree_remove_at(fd, "a", st.st_dev, SP_TREE_CHMOD);
	cr_expect_not(exists(root, "a"));
	sp_tree_remove_at(fd, "missing", st.st_dev, 0); /* nothing to do, no crash */
	close(fd);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	sp_tree_empty(fd, 0);
	cr_expect_eq(rmdir(root), 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/keep", outside);
	unlink(p);
	rmdir(outside);
}
