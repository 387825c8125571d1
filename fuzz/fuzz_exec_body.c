/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the execute request body (POST executions, code/execute, python/execute), as
 * exec_body_parse() sees it after the bounded read. The emulator's default limits apply.
 * Checks beyond "no crash": a body is accepted only with code, and the timeout and stream cut
 * stay within the configured bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exec_body.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static int ready;
	if (!ready) {
		config_init(&cfg);
		ready = 1;
	}
	struct exec_body b = {0};
	char msg[256];
	int rc = exec_body_parse((const char *)data, size, &cfg, &b, msg, sizeof(msg));
	if (rc == 0) {
		if (!b.code || b.code[b.code_len] != '\0' || b.timeout_s < 1 ||
		    b.timeout_s > cfg.exec_timeout_max_s || b.stream_max > EXEC_STREAM_MAX_HARD)
			abort();
		free(b.code);
	} else if (!memchr(msg, '\0', sizeof(msg)) || !msg[0]) {
		abort(); /* every refusal says why, in one NUL-terminated line */
	}
	/* The legacy body identifier: found only as a non-empty NUL-terminated string that fits. */
	char id[129];
	size_t idlen = 0;
	if (exec_body_identifier((const char *)data, size, id, sizeof(id), &idlen) ==
		EXEC_BODY_ID_FOUND &&
	    (idlen == 0 || idlen >= sizeof(id) || strlen(id) != idlen))
		abort();
	return 0;
}
