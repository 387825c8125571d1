/* SPDX-License-Identifier: MIT */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int u_parse_cli(struct cli *c, const char *const *args, size_t n, struct sp_err *err)
{
	char *argv[32];
	cr_assert_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
	argv[0] = (char *)"sessionpool-conformance";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = (char *)args[i];
	FILE *devnull = fopen("/dev/null", "w");
	int r = cli_parse((int)n + 1, argv, c, devnull, err);
	fclose(devnull);
	return r;
}

int u_load_target_text(const char *text, struct target_spec *s, struct sp_err *err)
{
	char path[] = "/tmp/sp-runner-unit-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	target_spec_init(s);
	int rc = target_spec_load_file(path, s, err);
	unlink(path);
	return rc;
}
