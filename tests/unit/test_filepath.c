/* SPDX-License-Identifier: MIT */
/*
 * Contract §9.1: every normalisation rule of filepath.h, one test per rule, plus the length
 * limits at their exact boundaries.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filepath.h"

static int norm(const char *in, char **out)
{
	return filepath_normalize(in, strlen(in), out);
}

static void expect_norm(const char *in, const char *want)
{
	char *out = NULL;
	int rc = norm(in, &out);
	cr_assert_eq(rc, 0, "normalize(\"%s\") = %d", in, rc);
	cr_assert_str_eq(out, want, "normalize(\"%s\")", in);
	free(out);
}

static void expect_norm_err(const char *in, int err)
{
	char *out = NULL;
	int rc = norm(in, &out);
	cr_assert_eq(rc, err, "normalize(\"%s\") = %d, want %d", in, rc, err);
	cr_assert_null(out);
}

static void expect_eff(const char *dir, const char *name, const char *want)
{
	char *out = NULL;
	int rc = filepath_effective(dir, dir ? strlen(dir) : 0, name, strlen(name), &out);
	cr_assert_eq(rc, 0, "effective(%s, \"%s\") = %d", dir ? dir : "NULL", name, rc);
	cr_assert_str_eq(out, want);
	free(out);
}

static void expect_eff_err(const char *dir, const char *name, int err)
{
	char *out = NULL;
	int rc = filepath_effective(dir, dir ? strlen(dir) : 0, name, strlen(name), &out);
	cr_assert_eq(rc, err, "effective(%s, \"%s\") = %d, want %d", dir ? dir : "NULL", name, rc,
		     err);
	cr_assert_null(out);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(filepath, root_forms)
{
	expect_norm("", "");
	expect_norm("/", "");
	expect_norm("//", "");
	expect_norm("/mnt/data", "");
	expect_norm("/mnt/data/", "");
	expect_norm("//mnt//data//", "");
	expect_norm(".", "");
	expect_norm("./", "");
}

Test(filepath, plain_names)
{
	expect_norm("a.txt", "a.txt");
	expect_norm("dir/a.txt", "dir/a.txt");
	expect_norm("dir/", "dir");
	expect_norm("a b/ü ñ.csv", "a b/ü ñ.csv");
	expect_norm("back\\slash", "back\\slash");
	expect_norm("x+y%41", "x+y%41");
	expect_norm("...", "...");
	expect_norm("..a/a..", "..a/a..");
}

Test(filepath, nul_rejected)
{
	char *out = NULL;
	cr_assert_eq(filepath_normalize("a\0b", 3, &out), -EINVAL);
	cr_assert_eq(filepath_normalize("\0", 1, &out), -EINVAL);
	cr_assert_eq(filepath_normalize("/mnt/data/x\0", 12, &out), -EINVAL);
	cr_assert_null(out);
}

Test(filepath, slashes_collapsed_before_prefix)
{
	expect_norm("a//b///c", "a/b/c");
	expect_norm("//mnt/data//x", "x");
	expect_norm("/mnt//data/x", "x");
	expect_norm("/mnt/data//sub//f.txt", "sub/f.txt");
}

Test(filepath, mnt_data_prefix)
{
	expect_norm("/mnt/data/a.txt", "a.txt");
	expect_norm("/mnt/data/sub/a.txt", "sub/a.txt");
	/* Only one leading prefix is stripped; what follows is an ordinary relative path. */
	expect_norm("/mnt/data/mnt/data/x", "mnt/data/x");
	/* Relative "mnt/data" is just a directory name. */
	expect_norm("mnt/data/x", "mnt/data/x");
	/* Case-sensitive. */
	expect_norm_err("/MNT/DATA/x", -EINVAL);
	/* Not a component boundary. */
	expect_norm_err("/mnt/datax", -EINVAL);
	expect_norm_err("/mnt/data.txt", -EINVAL);
}

Test(filepath, absolute_outside_rejected)
{
	expect_norm_err("/etc/passwd", -EINVAL);
	expect_norm_err("/a", -EINVAL);
	expect_norm_err("/mnt", -EINVAL);
	expect_norm_err("/mnt/", -EINVAL);
	expect_norm_err("/tmp/x", -EINVAL);
}

Test(filepath, dot_segments)
{
	expect_norm("./a", "a");
	expect_norm("a/./b/.", "a/b");
	expect_norm("/mnt/data/./a", "a");
	expect_norm_err("..", -EINVAL);
	expect_norm_err("../x", -EINVAL);
	expect_norm_err("a/../b", -EINVAL);
	expect_norm_err("a/..", -EINVAL);
	expect_norm_err("/mnt/data/../etc/passwd", -EINVAL);
	expect_norm_err("a/b/../../..", -EINVAL);
}

Test(filepath, segment_length_limit)
{
	char *ok = repeat('s', FILEPATH_SEGMENT_MAX);
	char *bad = repeat('s', FILEPATH_SEGMENT_MAX + 1);
	expect_norm(ok, ok);
	expect_norm_err(bad, -ENAMETOOLONG);
	char buf[600];
	snprintf(buf, sizeof(buf), "dir/%s/x", bad);
	expect_norm_err(buf, -ENAMETOOLONG);
	free(ok);
	free(bad);
}

Test(filepath, path_length_limit)
{
	/* 4 segments of 255 + 3 slashes = 1023; one more byte makes 1024 (allowed), two 1025. */
	char *seg = repeat('p', 255);
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s/%s/%s/%s/a", seg, seg, seg, seg);
	/* 1023 + "/a" = 1025 */
	expect_norm_err(buf, -ENAMETOOLONG);
	snprintf(buf, sizeof(buf), "%s/%s/%s/%s", seg, seg, seg, seg);
	buf[strlen(buf) - 1] = '\0';
	/* 1022 bytes */
	expect_norm(buf, buf);
	strcat(buf, "pq");
	/* 1024 bytes: the last segment is 256, too long */
	expect_norm_err(buf, -ENAMETOOLONG);
	snprintf(buf, sizeof(buf), "%s/%s/%s/%.254s/b", seg, seg, seg, seg);
	/* 255*3 + 254 + 3 + 2 = 1024 */
	cr_assert_eq(strlen(buf), 1024);
	expect_norm(buf, buf);
	/* Length counts after normalisation: redundant slashes and dots are free. */
	char big[4096];
	snprintf(big, sizeof(big), "/mnt/data/./%s//%s//./%s//%.254s/b", seg, seg, seg, seg);
	expect_norm(big, buf);
	free(seg);
}

Test(filepath, effective_joins)
{
	expect_eff(NULL, "a.txt", "a.txt");
	expect_eff("", "a.txt", "a.txt");
	expect_eff("/", "a.txt", "a.txt");
	expect_eff("/mnt/data", "a.txt", "a.txt");
	expect_eff("/mnt/data/", "/mnt/data/a.txt", "a.txt");
	expect_eff("sub", "a.txt", "sub/a.txt");
	expect_eff("sub/", "x/a.txt", "sub/x/a.txt");
	expect_eff("/mnt/data/sub", "/mnt/data/a.txt", "sub/a.txt");
	expect_eff("a", "b/c", "a/b/c");
}

Test(filepath, effective_empty_name)
{
	expect_eff_err(NULL, "", -EINVAL);
	expect_eff_err(NULL, "/", -EINVAL);
	expect_eff_err("sub", ".", -EINVAL);
	expect_eff_err("sub", "./", -EINVAL);
	expect_eff_err(NULL, "/mnt/data", -EINVAL);
	expect_eff_err(NULL, "/mnt/data/", -EINVAL);
	expect_eff_err(NULL, "dir/", -EINVAL);
	expect_eff_err("sub", "a/b/", -EINVAL);
	expect_eff_err(NULL, "dir//", -EINVAL);
}

Test(filepath, effective_invalid_parts)
{
	expect_eff_err("..", "a", -EINVAL);
	expect_eff_err("/etc", "a", -EINVAL);
	expect_eff_err(NULL, "../a", -EINVAL);
	expect_eff_err(NULL, "/etc/passwd", -EINVAL);
	char *out = NULL;
	cr_assert_eq(filepath_effective("d\0", 2, "a", 1, &out), -EINVAL);
	cr_assert_eq(filepath_effective("d", 1, "a\0", 2, &out), -EINVAL);
	cr_assert_null(out);
}

Test(filepath, effective_length_limit)
{
	char *seg = repeat('q', 255);
	char dir[2048];
	snprintf(dir, sizeof(dir), "%s/%s/%s/%.254s", seg, seg, seg, seg);
	cr_assert_eq(strlen(dir), 1022);
	char want[2100];
	snprintf(want, sizeof(want), "%s/a", dir);
	expect_eff(dir, "a", want);
	expect_eff_err(dir, "ab", -ENAMETOOLONG);
	char long_name[300];
	snprintf(long_name, sizeof(long_name), "%sq", seg);
	expect_eff_err("sub", long_name, -ENAMETOOLONG);
	expect_eff(NULL, seg, seg);
	free(seg);
}

Test(filepath, basename_dirname)
{
	cr_assert_str_eq(filepath_basename("a.txt"), "a.txt");
	cr_assert_str_eq(filepath_basename("x/y/a.txt"), "a.txt");
	cr_assert_eq(filepath_dirname_len("a.txt"), 0);
	cr_assert_eq(filepath_dirname_len("x/y/a.txt"), 3);
}
