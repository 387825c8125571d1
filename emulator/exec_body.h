/* SPDX-License-Identifier: MIT */
/*
 * The execute request body (contract §6.1, with the tolerance rules of §6.1.1), parsed and
 * validated from raw bytes. A pure function, without CivetWeb or a session, so it is unit- and
 * fuzz-tested directly (fuzz/fuzz_exec_body.c); api_exec.c reads the body and sends the error.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The largest stream cut honoured per request; memory stays bounded whatever is asked. */
#define EXEC_STREAM_MAX_HARD (16u << 20)

struct exec_body {
	char *code; /* owned (free); NUL-terminated, may hold a NUL (see code_len) */
	size_t code_len;
	bool async;
	unsigned timeout_s;
	size_t stream_max;
};

/*
 * Parses |raw|[0, |len|) (no NUL needed) with the limits and defaults of |c|. Returns 0 and
 * fills |out| (the caller frees out->code); or -EINVAL (the body is invalid: the 400
 * InvalidRequestBody message is in |msg|) or -ENOMEM (|msg| holds the 500 message). |out| is
 * written only on success. The caller enforces the size limit (413) before calling.
 */
int exec_body_parse(const char *raw, size_t len, const struct config *c, struct exec_body *out,
		    char *msg, size_t msglen) __attribute__((nonnull(3, 4, 5)));

/* What exec_body_identifier() found. */
enum exec_body_id {
	EXEC_BODY_ID_FOUND,  /* a non-empty string, copied out */
	EXEC_BODY_ID_ABSENT, /* no identifier member (or null, or ""), or the body is no JSON object
			      */
	EXEC_BODY_ID_INVALID, /* a member that is not a string, or longer than the buffer allows */
};

/*
 * Legacy python/execute without a query identifier (contract §3): the body's
 * properties.identifier, else its top-level identifier (null counts as absent; a non-null
 * properties.identifier wins even when invalid). On EXEC_BODY_ID_FOUND the string (at most
 * |buflen| - 1 bytes, NUL-terminated) is in |buf| and its length in *idlen; the caller checks
 * its characters. |buf| and *idlen are written only then. Pure; never fails otherwise.
 */
enum exec_body_id exec_body_identifier(const char *raw, size_t len, char *buf, size_t buflen,
				       size_t *idlen) __attribute__((nonnull(3, 5)));
