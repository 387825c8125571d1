/* SPDX-License-Identifier: MIT */
/*
 * Token sources; see token.h. The command runs through /bin/sh with standard input from
 * /dev/null, the default signal mask and dispositions; only the first line of its standard
 * output counts, trimmed. Its standard error is captured (the first TOKEN_STDERR_MAX bytes)
 * so that a failure is reported once, with the reason the command gave, instead of the
 * command's chatter appearing for every scenario. The lock is held while the command runs,
 * so concurrent scenarios wait for one refresh instead of starting several; a failure is
 * sticky, so they do not start the command again either.
 */
#include "token.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "cleanup.h"
#include "redact.h"
#include "spjson.h"

/* Largest JWT payload looked into (its exp); larger tokens are simply never refreshed early. */
#define TOKEN_JSON_MAX ((size_t)1 << 20)
/* Standard output kept from the command (a token is a few KiB), and standard error. */
#define TOKEN_STDOUT_MAX ((size_t)64 << 10)
#define TOKEN_STDERR_MAX ((size_t)4 << 10)

extern char **environ;

struct token_source {
	enum token_kind kind;
	char *arg;
	char *current;
	bool stale;
	bool failed;	       /* sticky: the source failed once; token_get() fails at once */
	struct sp_err failure; /* the message of that failure */
	char *failure_stderr;  /* the command's standard error then, or NULL */
	pthread_mutex_t lock;
};

int token_source_new(enum token_kind kind, const char *arg, struct token_source **out,
		     struct sp_err *err)
{
	struct token_source *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->kind = kind;
	pthread_mutex_init(&t->lock, NULL);
	if (kind != TOKEN_NONE) {
		if (!arg || !arg[0]) {
			token_source_free(t);
			return sp_err_set(err, -EINVAL, "empty token setting");
		}
		t->arg = strdup(arg);
		if (!t->arg) {
			token_source_free(t);
			return -ENOMEM;
		}
		if (kind == TOKEN_STATIC)
			redact_register(arg);
	}
	*out = t;
	return 0;
}

void token_source_free(struct token_source *t)
{
	if (!t)
		return;
	free(t->arg);
	free(t->current);
	free(t->failure_stderr);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int64_t token_jwt_exp(const char *token)
{
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot2)
		return 0;
	cleanup_free char *payload = NULL;
	if (sp_b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), SP_B64_LAX, &payload, NULL) < 0)
		return 0;
	/* A token comes from a command or the environment: bounded before cJSON sees it. */
	size_t plen = strlen(payload);
	cleanup_cjson cJSON *j =
	    sp_json_parse(payload, plen, TOKEN_JSON_MAX, SP_JSON_DEPTH_MAX, NULL);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "exp");
	if (!cJSON_IsNumber(exp) || !isfinite(exp->valuedouble))
		return 0;
	return (int64_t)exp->valuedouble;
}

/* Appends what |fd| has to |buf| (kept up to |max| bytes, the rest read and dropped).
 * Returns 1 at end of file, 0 when more may come, or a negative code. */
static int drain(int fd, char *buf, size_t *len, size_t max)
{
	char chunk[4096];
	ssize_t n = TEMP_FAILURE_RETRY(read(fd, chunk, sizeof(chunk)));
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return 1;
	size_t keep = *len < max ? max - *len : 0;
	if (keep > (size_t)n)
		keep = (size_t)n;
	memcpy(buf + *len, chunk, keep);
	*len += keep;
	return 0;
}

/* Runs |cmd| with /bin/sh; its standard output and error land in |out| and |errout|
 * (NUL-terminated, bounded). Returns the wait status or a negative code. */
static int spawn_capture(const char *cmd, char *out, size_t out_max, char *errout, size_t err_max)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	if (pipe2(po, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		int e = -errno;
		close(po[0]);
		close(po[1]);
		return e;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	/* The runner blocks SIGINT/SIGTERM for its signal thread and ignores SIGPIPE: the
	 * command gets neither. */
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	pid_t pid;
	int r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(po[1]);
	close(pe[1]);
	if (r != 0) {
		close(po[0]);
		close(pe[0]);
		return -r;
	}
	size_t olen = 0, elen = 0;
	struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
	size_t *lens[2] = {&olen, &elen};
	char *bufs[2] = {out, errout};
	size_t maxes[2] = {out_max - 1, err_max - 1};
	int open_fds = 2;
	/* Both pipes are read until end of file, so neither fills up and blocks the command. */
	while (open_fds > 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (drain(fds[k].fd, bufs[k], lens[k], maxes[k]) != 0) {
				close(fds[k].fd);
				fds[k].fd = -1;
				open_fds--;
			}
		}
	}
	for (int k = 0; k < 2; k++)
		if (fds[k].fd >= 0)
			close(fds[k].fd);
	out[olen] = '\0';
	errout[elen] = '\0';
	int status;
	if (TEMP_FAILURE_RETRY(waitpid(pid, &status, 0)) < 0)
		return -errno;
	return status;
}

static int run_command(const char *cmd, char **out, char **err_text, struct sp_err *err)
{
	cleanup_free char *buf = malloc(TOKEN_STDOUT_MAX + 1);
	cleanup_free char *ebuf = malloc(TOKEN_STDERR_MAX + 1);
	if (!buf || !ebuf)
		return -ENOMEM;
	int status = spawn_capture(cmd, buf, TOKEN_STDOUT_MAX + 1, ebuf, TOKEN_STDERR_MAX + 1);
	if (status < 0)
		return sp_err_sys(err, status, "cannot run the token command");
	/* Trailing blank lines of the command's complaint say nothing. */
	size_t elen = strlen(ebuf);
	while (elen && (ebuf[elen - 1] == '\n' || ebuf[elen - 1] == '\r' || ebuf[elen - 1] == ' '))
		ebuf[--elen] = '\0';
	if (elen)
		*err_text = steal_pointer(&ebuf);
	if (WIFSIGNALED(status))
		return sp_err_set(err, -EIO, "the token command was killed by signal %d",
				  WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return sp_err_set(err, -EIO, "the token command failed (exit status %d)",
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	char *line = buf;
	size_t n = strcspn(line, "\n");
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	size_t lead = strspn(line, " \t");
	if (!buf[0] && !n)
		return sp_err_set(err, -EIO, "the token command printed nothing");
	if (!line[lead])
		return sp_err_set(err, -EIO, "the token command printed an empty line");
	char *tok = strdup(line + lead);
	if (!tok)
		return -ENOMEM;
	*out = tok;
	return 0;
}

static bool near_expiry(const char *tok)
{
	int64_t exp = token_jwt_exp(tok);
	return exp > 0 && (int64_t)time(NULL) > exp - 300;
}

int token_get(struct token_source *t, char **out, struct sp_err *err)
{
	if (t->kind == TOKEN_NONE) {
		*out = NULL;
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	int r = 0;
	if (t->failed) {
		if (err)
			*err = t->failure;
		pthread_mutex_unlock(&t->lock);
		return t->failure.code;
	}
	if (t->kind == TOKEN_STATIC && !t->current) {
		t->current = strdup(t->arg);
		r = t->current ? 0 : -ENOMEM;
	} else if (t->kind == TOKEN_ENV && !t->current) {
		const char *v = getenv(t->arg);
		if (!v || !v[0])
			r = sp_err_set(&t->failure, -ENOENT,
				       "the environment variable %s is unset or empty", t->arg);
		else
			r = (t->current = strdup(v)) ? 0 : -ENOMEM;
	} else if (t->kind == TOKEN_COMMAND &&
		   (!t->current || t->stale || near_expiry(t->current))) {
		char *fresh = NULL, *err_text = NULL;
		r = run_command(t->arg, &fresh, &err_text, &t->failure);
		if (r == 0) {
			free(t->current);
			t->current = fresh;
			t->stale = false;
			free(err_text);
			memset(&t->failure, 0, sizeof(t->failure));
		} else {
			t->failure_stderr = err_text;
		}
	}
	if (r < 0) {
		/* Every later request would fail the same way (az not logged in, a variable
		 * unset): the failure sticks and the suite stops (token_failed()). */
		t->failure.code = r;
		t->failed = r != -ENOMEM;
		if (err)
			*err = t->failure;
	}
	if (r == 0 && t->current) {
		r = redact_register(t->current);
		if (r == 0 && !(*out = strdup(t->current)))
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

bool token_reject(struct token_source *t, const char *token)
{
	if (t->kind != TOKEN_COMMAND)
		return false;
	pthread_mutex_lock(&t->lock);
	if (t->current && token && strcmp(t->current, token) == 0)
		t->stale = true;
	pthread_mutex_unlock(&t->lock);
	return true;
}

bool token_failed(struct token_source *t)
{
	pthread_mutex_lock(&t->lock);
	bool failed = t->failed;
	pthread_mutex_unlock(&t->lock);
	return failed;
}

char *token_failure_text(struct token_source *t)
{
	pthread_mutex_lock(&t->lock);
	char *text = NULL;
	if (t->failed) {
		const char *sep = t->failure_stderr ? "\n" : "";
		if (asprintf(&text, "%s%s%s", t->failure.msg, sep,
			     t->failure_stderr ? t->failure_stderr : "") < 0)
			text = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	return text;
}
