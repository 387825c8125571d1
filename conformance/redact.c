/* SPDX-License-Identifier: MIT */
/* The process-wide secret list; see redact.h. One mutex; the list only grows until cleared. */
#include "redact.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t n_secrets;

int redact_register(const char *secret)
{
	if (!secret || strlen(secret) < 4)
		return 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_secrets; i++) {
		if (strcmp(secrets[i], secret) == 0) {
			pthread_mutex_unlock(&lock);
			return 0;
		}
	}
	char **grown = realloc(secrets, (n_secrets + 1) * sizeof(*secrets));
	char *copy = strdup(secret);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			secrets = grown;
		pthread_mutex_unlock(&lock);
		return -ENOMEM;
	}
	secrets = grown;
	secrets[n_secrets++] = copy;
	pthread_mutex_unlock(&lock);
	return 0;
}

char *redact_dup(const char *s, size_t len, size_t *out_len)
{
	static const char mark[] = "<redacted>";
	if (!s) {
		s = "";
		len = 0;
	}
	cleanup_free char *out = malloc(len + 1);
	if (!out)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_secrets; i++) {
		size_t slen = strlen(secrets[i]);
		char *hit;
		size_t from = 0;
		while ((hit = memmem(out + from, len - from, secrets[i], slen))) {
			size_t at = (size_t)(hit - out);
			size_t nlen = len - slen + sizeof(mark) - 1;
			char *next = malloc(nlen + 1);
			if (!next) {
				pthread_mutex_unlock(&lock);
				return NULL;
			}
			memcpy(next, out, at);
			memcpy(next + at, mark, sizeof(mark) - 1);
			memcpy(next + at + sizeof(mark) - 1, out + at + slen, len - at - slen);
			next[nlen] = '\0';
			free(out);
			out = next;
			len = nlen;
			from = at + sizeof(mark) - 1;
		}
	}
	pthread_mutex_unlock(&lock);
	if (out_len)
		*out_len = len;
	return steal_pointer(&out);
}

void redact_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_secrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	n_secrets = 0;
	pthread_mutex_unlock(&lock);
}
