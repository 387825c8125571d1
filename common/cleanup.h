/* SPDX-License-Identifier: MIT */
/*
 * Scope-based cleanup, in the style of bubblewrap and systemd: a variable declared with one of
 * these attributes is released when it goes out of scope, and steal_pointer() hands ownership
 * to the caller on the success path.
 */
#pragma once

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void sp_freep(void *p)
{
	free(*(void **)p);
}

static inline void sp_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void sp_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void sp_cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}

#define cleanup_free   __attribute__((cleanup(sp_freep)))
#define cleanup_close  __attribute__((cleanup(sp_closep)))
#define cleanup_fclose __attribute__((cleanup(sp_fclosep)))
#define cleanup_cjson  __attribute__((cleanup(sp_cjson_deletep)))

static inline void *sp_steal_pointer(void *pp)
{
	void **ptr = (void **)pp;
	void *ref = *ptr;
	*ptr = NULL;
	return ref;
}

/* Type-safe: steal_pointer(&p) has the type of p. */
#define steal_pointer(pp) ((typeof(*(pp)))sp_steal_pointer(pp))

static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#define TEMP_FAILURE_RETRY_INT(expr)                                                               \
	({                                                                                         \
		long _r;                                                                           \
		do                                                                                 \
			_r = (long)(expr);                                                         \
		while (_r == -1L && errno == EINTR);                                               \
		_r;                                                                                \
	})
