/* SPDX-License-Identifier: MIT */
/*
 * beneath.h: no file route may follow a symbolic link (contract §9.1 step 7). Every test runs
 * twice, with openat2 and with the O_NOFOLLOW walk that replaces it on kernels without it.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"

static char root[64];
static int rootfd = -1;

static void mk(const char *rel, const char *content)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(content, f);
	fclose(f);
}

static void setup(void)
{
	strcpy(root, "/tmp/beneath-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	char p[256];
	snprintf(p, sizeof(p), "%s/dir", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/dir/sub", root);
	mkdir(p, 0755);
	mk("file.txt", "top");
	mk("dir/inner.txt", "inner");
	snprintf(p, sizeof(p), "%s/escape", root);
	cr_assert_eq(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/passwd", root);
	cr_assert_eq(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/dir/up", root);
	cr_assert_eq(symlink("..", p), 0);
	snprintf(p, sizeof(p), "%s/dirlink", root);
	cr_assert_eq(symlink("dir", p), 0);
	snprintf(p, sizeof(p), "%s/filelink", root);
	cr_assert_eq(symlink("file.txt", p), 0);
	snprintf(p, sizeof(p), "%s/fifo", root);
	cr_assert_eq(mkfifo(p, 0644), 0);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(rootfd, 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", root);
	close(rootfd);
}

ParameterizedTestParameters(beneath, open)
{
	static bool walk[] = {false, true};
	return cr_make_param_array(bool, walk, 2);
}

static void read_expect(int fd, const char *want)
{
	char buf[64] = {0};
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_assert_str_eq(buf, want);
}

ParameterizedTest(bool *walk, beneath, open, .init = setup, .fini = teardown)
{
	beneath_force_walk(*walk);
	int fd = beneath_open(rootfd, "file.txt", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	read_expect(fd, "top");
	close(fd);
	fd = beneath_open(rootfd, "dir/inner.txt", O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	read_expect(fd, "inner");
	close(fd);
	fd = beneath_open(rootfd, "dir/sub", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = beneath_open(rootfd, "", O_RDONLY | O_DIRECTORY, 0);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = beneath_open(rootfd, "dir", O_PATH, 0);
	cr_assert_geq(fd, 0);
	close(fd);

	/* Every symlink component is refused, wherever it is and wherever it points. */
	const char *links[] = {"escape/passwd", "passwd",  "dir/up/file.txt", "dirlink/inner.txt",
			       "filelink",	"dirlink", "escape",	      "dir/up"};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		cr_expect_eq(beneath_open(rootfd, links[i], O_RDONLY, 0), -ELOOP, "%s", links[i]);
		cr_expect_eq(beneath_open(rootfd, links[i], O_PATH, 0), -ELOOP, "O_PATH %s",
			     links[i]);
		cr_expect_eq(beneath_open(rootfd, links[i], O_RDONLY | O_DIRECTORY, 0), -ELOOP,
			     "O_DIRECTORY %s", links[i]);
	}
	/* Creating through or at a link is refused too. */
	cr_expect_eq(beneath_open(rootfd, "escape/new", O_WRONLY | O_CREAT | O_EXCL, 0644), -ELOOP);
	cr_expect_eq(beneath_open(rootfd, "passwd", O_WRONLY | O_CREAT, 0644), -ELOOP);

	cr_expect_eq(beneath_open(rootfd, "missing", O_RDONLY, 0), -ENOENT);
	cr_expect_eq(beneath_open(rootfd, "dir/missing/x", O_RDONLY, 0), -ENOENT);
	cr_expect_eq(beneath_open(rootfd, "file.txt/x", O_RDONLY, 0), -ENOTDIR);
	cr_expect_eq(beneath_open(rootfd, "file.txt", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);

	/* A FIFO opened non-blocking does not hang. */
	fd = beneath_open(rootfd, "fifo", O_RDONLY | O_NONBLOCK, 0);
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
	close(fd);

	fd = beneath_open(rootfd, "dir/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
}

ParameterizedTestParameters(beneath, mkdirs)
{
	static bool walk[] = {false, true};
	return cr_make_param_array(bool, walk, 2);
}

ParameterizedTest(bool *walk, beneath, mkdirs, .init = setup, .fini = teardown)
{
	beneath_force_walk(*walk);
	int fd = beneath_mkdirs(rootfd, "", (uid_t)-1);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = beneath_mkdirs(rootfd, "dir", (uid_t)-1);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = beneath_mkdirs(rootfd, "a/b/c", getuid());
	cr_assert_geq(fd, 0);
	int f = openat(fd, "x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(f, 0);
	close(f);
	close(fd);
	char p[256];
	snprintf(p, sizeof(p), "%s/a/b/c/x", root);
	cr_assert_eq(access(p, F_OK), 0);

	cr_expect_eq(beneath_mkdirs(rootfd, "escape/new", (uid_t)-1), -ELOOP);
	cr_expect_eq(beneath_mkdirs(rootfd, "dirlink/new", (uid_t)-1), -ELOOP);
	cr_expect_eq(beneath_mkdirs(rootfd, "dir/up/new", (uid_t)-1), -ELOOP);
	cr_expect_eq(beneath_mkdirs(rootfd, "file.txt/new", (uid_t)-1), -ENOTDIR);
	cr_expect_eq(beneath_mkdirs(rootfd, "file.txt", (uid_t)-1), -ENOTDIR);
	cr_expect_eq(beneath_mkdirs(rootfd, "fifo", (uid_t)-1), -ENOTDIR);
	snprintf(p, sizeof(p), "/etc/new");
	cr_assert_neq(access(p, F_OK), 0);
}

Test(beneath, chown_created_dirs, .init = setup, .fini = teardown)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	int fd = beneath_mkdirs(rootfd, "owned/deeper", 4242);
	cr_assert_geq(fd, 0);
	close(fd);
	struct stat st;
	char p[256];
	snprintf(p, sizeof(p), "%s/owned", root);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_uid, 4242);
	snprintf(p, sizeof(p), "%s/owned/deeper", root);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_uid, 4242);
	/* Existing directories keep their owner. */
	snprintf(p, sizeof(p), "%s/dir", root);
	fd = beneath_mkdirs(rootfd, "dir/newer", 4242);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_uid, getuid());
}
