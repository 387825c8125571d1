/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the session reply frame (sandbox/reply.c, sbx_reply_parse()), what a process
 * running user code sends back for a cell, so the most hostile input the emulator reads. The
 * input is the frame's JSON text; the request being answered has a fixed id.
 * Checks beyond "no crash, no leak": what a success hands over is what reply.h promises (the
 * id is 16 lowercase hex digits, matching or not as the return says; values are NUL-terminated
 * valid UTF-8; a "json" value is compact JSON within SBX_REPLY_VALUE_DEPTH_MAX; an image is
 * base64; an exception has its message and traceback); a refusal says why.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "reply.h"
#include "spjson.h"
#include "sputf8.h"
#include "utf8.h"

#define FUZZ_ID "0123456789abcdef"

static void check_utf8(const char *s, size_t len)
{
	if (!s || s[len] != '\0')
		abort();
	for (size_t i = 0; i < len;) {
		size_t bad = 0;
		size_t n = sp_utf8_next((const unsigned char *)s + i, len - i, &bad);
		if (n == 0)
			abort();
		i += n;
	}
}

static void check_reply(int rc, const struct sbx_reply *r)
{
	if (strlen(r->id) != SBX_REPLY_ID_LEN ||
	    strspn(r->id, "0123456789abcdef") != SBX_REPLY_ID_LEN)
		abort();
	if ((rc == 0) != (strcmp(r->id, FUZZ_ID) == 0))
		abort();
	if (r->exec_us < 0)
		abort();
	if (r->exception) {
		if (r->kind != SBX_VALUE_NONE || r->value)
			abort();
		check_utf8(r->error, r->error_len);
		check_utf8(r->traceback, r->traceback_len);
		return;
	}
	if (r->error || r->traceback)
		abort();
	switch (r->kind) {
	case SBX_VALUE_NONE:
	case SBX_VALUE_NULL:
		if (r->value)
			abort();
		break;
	case SBX_VALUE_TEXT:
		check_utf8(r->value, r->value_len);
		break;
	case SBX_VALUE_JSON: {
		if (!r->value || r->value[r->value_len] != '\0')
			abort();
		cJSON *j = sp_json_parse(r->value, r->value_len, SBX_REPLY_VALUE_MAX,
					 SBX_REPLY_VALUE_DEPTH_MAX, NULL);
		if (!j || !(cJSON_IsNumber(j) || cJSON_IsArray(j) || cJSON_IsObject(j)))
			abort();
		cJSON_Delete(j);
		break;
	}
	case SBX_VALUE_IMAGE:
		if (!r->value || r->value[r->value_len] != '\0' || r->value_len % 4 ||
		    strspn(r->value,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			   "=") != r->value_len)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbx_reply r;
	memset(&r, 0xa5, sizeof(r)); /* untouched on failure: poison, never read */
	const char *why = NULL;
	int rc = sbx_reply_parse((const char *)data, size, FUZZ_ID, &r, &why);
	if (rc == 0 || rc == SBX_REPLY_OTHER_ID) {
		check_reply(rc, &r);
		sbx_reply_fini(&r);
	} else if (rc == -EPROTO) {
		if (!why || !why[0])
			abort();
	} else if (rc != -ENOMEM) {
		abort();
	}
	return 0;
}
