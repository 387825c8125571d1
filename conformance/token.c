/* SPDX-License-Identifier: MIT */
/*
 * Token sources; see token.h. The command runs through /bin/sh with standard input from
 * /dev/null; only its first line counts, trimmed. The lock is held while the command runs,
 * so concurrent scenarios wait for one refresh instead of starting several.
 */
#include "token.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cleanup.h"
#include "redact.h"
#include "spjson.h"

/* Largest JWT payload looked into (its exp); larger tokens are simply never refreshed early. */
#define TOKEN_JSON_MAX ((size_t)1 << 20)

struct token_source {
	enum token_kind kind;
	char *arg;
	char *current;
	bool stale;
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
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static int b64url_decode(const char *in, size_t len, char **out)
{
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		int v;
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '-' || ch == '+')
			v = 62;
		else if (ch == '_' || ch == '/')
			v = 63;
		else if (ch == '=')
			break;
		else {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (char)((acc >> bits) & 0xFF);
		}
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int64_t token_jwt_exp(const char *token)
{
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot2)
		return 0;
	cleanup_free char *payload = NULL;
	if (b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload) < 0)
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

static int run_command(const char *cmd, char **out, struct sp_err *err)
{
	cleanup_free char *full = NULL;
	if (asprintf(&full, "(%s) </dev/null", cmd) < 0)
		return -ENOMEM;
	FILE *p = popen(full, "re");
	if (!p)
		return sp_err_sys(err, -errno, "cannot run the token command");
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, p);
	/* Drain the rest so the command is not killed by SIGPIPE. */
	char sink[256];
	while (fread(sink, 1, sizeof(sink), p) > 0)
		;
	int status = pclose(p);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return sp_err_set(err, -EIO, "the token command failed (status %d)",
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (n <= 0)
		return sp_err_set(err, -EIO, "the token command printed nothing");
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
			 line[n - 1] == '\t'))
		line[--n] = '\0';
	size_t lead = strspn(line, " \t");
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
	if (t->kind == TOKEN_STATIC && !t->current) {
		t->current = strdup(t->arg);
		r = t->current ? 0 : -ENOMEM;
	} else if (t->kind == TOKEN_ENV && !t->current) {
		const char *v = getenv(t->arg);
		if (!v || !v[0])
			r = sp_err_set(err, -ENOENT,
				       "the environment variable %s is unset or empty", t->arg);
		else
			r = (t->current = strdup(v)) ? 0 : -ENOMEM;
	} else if (t->kind == TOKEN_COMMAND &&
		   (!t->current || t->stale || near_expiry(t->current))) {
		char *fresh = NULL;
		r = run_command(t->arg, &fresh, err);
		if (r == 0) {
			free(t->current);
			t->current = fresh;
			t->stale = false;
		}
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
