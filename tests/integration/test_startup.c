/* SPDX-License-Identifier: MIT */
/*
 * Start-up errors as a user meets them: each run of the real binary must exit with status 2
 * and one clear line on stderr, before the zygote's slow preload (so no zygote line is ever
 * printed): an address already in use, an unreadable, non-PEM or mismatched TLS certificate
 * and key, --max-sessions outside its documented range, an unknown flag.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

struct run {
	char dir[64];
	int status;
	char *out;
	char *err;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s", path);
	char *buf = calloc(1, 65537);
	cr_assert(buf);
	size_t n = fread(buf, 1, 65536, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Runs the emulator with |args| until it exits (these runs never become ready). */
static void run(struct run *r, const char *const *args)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/sp-start-XXXXXX");
	cr_assert(mkdtemp(r->dir));
	char out[128], err[128], data[128];
	snprintf(out, sizeof(out), "%s/stdout", r->dir);
	snprintf(err, sizeof(err), "%s/stderr", r->dir);
	snprintf(data, sizeof(data), "%s/data", r->dir);
	const char *lead[] = {"--data-dir", data, NULL};
	pid_t pid = emu_spawn(lead, args, out, err);
	cr_assert(pid >= 0);
	cr_assert_eq(waitpid(pid, &r->status, 0), pid);
	kill(-pid, SIGKILL);
	r->out = slurp(out);
	r->err = slurp(err);
}

static void run_fini(struct run *r)
{
	free(r->out);
	free(r->err);
	emu_rm_tree(r->dir);
}

/* Exit status 2, |want| (and |want2|, if given) in the one line on stderr, nothing started. */
static void expect_refused(const struct run *r, const char *want, const char *want2)
{
	cr_expect(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2, "status %d, stderr: %s",
		  r->status, r->err);
	cr_expect(strstr(r->err, want), "no '%s' in: %s", want, r->err);
	if (want2)
		cr_expect(strstr(r->err, want2), "no '%s' in: %s", want2, r->err);
	cr_expect_null(strstr(r->err, "sessionpool-zygote"), "the zygote started: %s", r->err);
	cr_expect_eq(r->out[0], '\0', "stdout: %s", r->out);
	const char *nl = strchr(r->err, '\n');
	cr_expect(nl && nl[1] == '\0', "more than one line: %s", r->err);
}

Test(startup, address_in_use_says_so_and_suggests_listen, .timeout = 60)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	char listen_at[64];
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	const char *args[] = {"--listen", listen_at, NULL};
	struct run r;
	run(&r, args);
	close(fd);
	expect_refused(&r, "already in use", "--listen");
	cr_expect(strstr(r.err, listen_at), "%s", r.err);
	run_fini(&r);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

Test(startup, bad_certificate_or_key_names_the_file_and_why, .timeout = 60)
{
	char dir[] = "/tmp/sp-tlsbad-XXXXXX";
	cr_assert(mkdtemp(dir));
	char cmd[1024];
	for (int k = 1; k <= 2; k++) {
		snprintf(cmd, sizeof(cmd),
			 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
			 "-keyout %s/key%d.pem -out %s/cert%d.pem >/dev/null 2>&1",
			 dir, k, dir, k);
		cr_assert_eq(system(cmd), 0, "openssl failed");
	}
	char cert1[128], key1[128], key2[128], junk[128], missing[128];
	snprintf(cert1, sizeof(cert1), "%s/cert1.pem", dir);
	snprintf(key1, sizeof(key1), "%s/key1.pem", dir);
	snprintf(key2, sizeof(key2), "%s/key2.pem", dir);
	snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
	snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
	write_text(junk, "this is not a certificate\n");
	struct run r;

	const char *mismatch[] = {"--tls-cert", cert1, "--tls-key", key2, NULL};
	run(&r, mismatch);
	expect_refused(&r, "does not match", key2);
	run_fini(&r);

	const char *junk_cert[] = {"--tls-cert", junk, "--tls-key", key1, NULL};
	run(&r, junk_cert);
	expect_refused(&r, "--tls-cert", "no PEM certificate");
	cr_expect(strstr(r.err, junk), "%s", r.err);
	run_fini(&r);

	const char *junk_key[] = {"--tls-cert", cert1, "--tls-key", junk, NULL};
	run(&r, junk_key);
	expect_refused(&r, "--tls-key", "no PEM private key");
	run_fini(&r);

	const char *absent[] = {"--tls-cert", cert1, "--tls-key", missing, NULL};
	run(&r, absent);
	expect_refused(&r, missing, "No such file");
	run_fini(&r);

	emu_rm_tree(dir);
}

Test(startup, max_sessions_out_of_range, .timeout = 60)
{
	struct run r;
	const char *zero[] = {"--max-sessions", "0", NULL};
	run(&r, zero);
	expect_refused(&r, "--max-sessions", "from 1 to 60000");
	run_fini(&r);
	const char *big[] = {"--max-sessions", "60001", NULL};
	run(&r, big);
	expect_refused(&r, "--max-sessions", "from 1 to 60000");
	run_fini(&r);
	/* --help states the same range. */
	const char *help[] = {"--help", NULL};
	run(&r, help);
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	const char *opt = strstr(r.out, "--max-sessions");
	cr_expect(opt && strstr(opt, "1 to 60000"), "%s", r.out);
	run_fini(&r);
}

Test(startup, unknown_flags_are_named, .timeout = 60)
{
	struct run r;
	const char *typo[] = {"--listne", "127.0.0.1:0", NULL};
	run(&r, typo);
	expect_refused(&r, "unknown flag '--listne'", "did you mean '--listen'");
	cr_expect(strstr(r.err, "--help"), "%s", r.err);
	run_fini(&r);
	const char *other[] = {"--frobnicate", NULL};
	run(&r, other);
	expect_refused(&r, "unknown flag '--frobnicate'", "--help");
	run_fini(&r);
}
