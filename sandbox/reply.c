/* SPDX-License-Identifier: MIT */
/*
 * reply.c: validation of a session's reply frame (see reply.h).
 *
 * Both the frame and a "json" value are read with yajl's streaming parser, which keeps its
 * nesting on its own heap stack: depth is counted in the callbacks and the parse is cancelled
 * past the bound, so no input reaches deep recursion anywhere. A "json" value is rebuilt with
 * yajl_gen from the parser's events, number tokens passed through as the raw text yajl lexed
 * (api-contract §8.2 step 5: 10**30 and 0.30000000000000004 stay as written), so whatever the
 * session wrote, the emulator only ever emits JSON it generated itself. yajl's own UTF-8 check
 * lets surrogates and overlong forms through, so every decoded string is checked again here.
 */
#include "reply.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "b64.h"
#include "cleanup.h"
#include "sputf8.h"
#include "utf8.h"

enum member {
	M_OP,
	M_ID,
	M_STATUS,
	M_KIND,
	M_VALUE,
	M_EXEC_US,
	M_ENAME,
	M_ERROR,
	M_TRACEBACK,
	M_EXIT_CODE,
	M_COUNT,
};

static const char *const member_name[M_COUNT] = {
    "op", "id", "status", "kind", "value", "exec_us", "ename", "error", "traceback", "exit_code",
};

static const char *const wrong_type[M_COUNT] = {
    "member \"op\" is not a string",
    "member \"id\" is not a string",
    "member \"status\" is not a string",
    "member \"kind\" is not a string",
    "member \"value\" is not null or a string",
    "member \"exec_us\" is not an integer",
    "member \"ename\" is not a string",
    "member \"error\" is not a string",
    "member \"traceback\" is not a string",
    "member \"exit_code\" is not an integer",
};

#define REQUIRED                                                                                   \
	((1u << M_OP) | (1u << M_ID) | (1u << M_STATUS) | (1u << M_KIND) | (1u << M_VALUE) |       \
	 (1u << M_EXEC_US))
#define EXCEPTION_ONLY ((1u << M_ENAME) | (1u << M_ERROR) | (1u << M_TRACEBACK))

static const struct {
	const char *name;
	enum sbx_value_kind kind;
} kinds[] = {
    {"none", SBX_VALUE_NONE}, {"null", SBX_VALUE_NULL},	  {"json", SBX_VALUE_JSON},
    {"text", SBX_VALUE_TEXT}, {"image", SBX_VALUE_IMAGE},
};

struct frame_ctx {
	int depth; /* 0 outside the top-level object, 1 inside */
	int cur;   /* the member whose value comes next, or -1 */
	unsigned seen;
	const char *why;
	bool oom;
	char id[SBX_REPLY_ID_LEN + 1];
	bool exception;
	int kind; /* index into kinds[] */
	bool value_null;
	char *value;
	size_t value_len;
	char *error;
	size_t error_len;
	char *traceback;
	size_t traceback_len;
	int64_t exec_us;
	int exit_code;
};

static int fail(struct frame_ctx *c, const char *why)
{
	if (!c->why)
		c->why = why;
	return 0;
}

static char *copy_bytes(const unsigned char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Called by every value callback: is a member value expected here? */
static bool member_value(struct frame_ctx *c)
{
	if (c->depth == 0) {
		fail(c, "the reply is not a JSON object");
		return false;
	}
	return c->cur >= 0;
}

static int f_null(void *ctx)
{
	struct frame_ctx *c = ctx;
	if (!member_value(c))
		return 0;
	if (c->cur != M_VALUE)
		return fail(c, wrong_type[c->cur]);
	c->value_null = true;
	c->cur = -1;
	return 1;
}

static int f_boolean(void *ctx, int b)
{
	struct frame_ctx *c = ctx;
	(void)b;
	if (!member_value(c))
		return 0;
	return fail(c, wrong_type[c->cur]);
}

static int f_number(void *ctx, const char *s, size_t n)
{
	struct frame_ctx *c = ctx;
	if (!member_value(c))
		return 0;
	if (c->cur == M_EXIT_CODE) {
		/* 0 … 255, digits only (no sign, fraction or exponent). */
		int v = 0;
		for (size_t i = 0; i < n && i < 4; i++) {
			if (s[i] < '0' || s[i] > '9')
				return fail(c, wrong_type[M_EXIT_CODE]);
			v = v * 10 + (s[i] - '0');
		}
		if (n == 0 || n > 3 || v > 255)
			return fail(c, "member \"exit_code\" is out of range");
		c->exit_code = v;
		c->cur = -1;
		return 1;
	}
	if (c->cur != M_EXEC_US)
		return fail(c, wrong_type[c->cur]);
	/* A non-negative integer token of at most 15 digits (yajl checked the number syntax). */
	if (n == 0 || n > 15)
		return fail(c, "member \"exec_us\" is out of range");
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return fail(c, wrong_type[M_EXEC_US]);
		v = v * 10 + (s[i] - '0');
	}
	c->exec_us = v;
	c->cur = -1;
	return 1;
}

/* The callbacks' helpers below return as they do: 1 to go on, 0 to stop (c->why or c->oom). */

static int take_id(struct frame_ctx *c, const unsigned char *s, size_t n)
{
	if (n != SBX_REPLY_ID_LEN)
		return fail(c, "member \"id\" is not 16 lowercase hex digits");
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return fail(c, "member \"id\" is not 16 lowercase hex digits");
	}
	memcpy(c->id, s, n);
	c->id[n] = '\0';
	return 1;
}

static int take_kind(struct frame_ctx *c, const unsigned char *s, size_t n)
{
	c->kind = -1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].name) == n && memcmp(kinds[i].name, s, n) == 0)
			c->kind = (int)i;
	}
	if (c->kind < 0)
		return fail(c, "unknown value kind");
	return 1;
}

static int take_copy(struct frame_ctx *c, char **dst, size_t *dst_len, const unsigned char *s,
		     size_t n)
{
	*dst = copy_bytes(s, n);
	if (!*dst) {
		c->oom = true;
		return 0;
	}
	*dst_len = n;
	return 1;
}

static int f_string(void *ctx, const unsigned char *s, size_t n)
{
	struct frame_ctx *c = ctx;
	size_t cps = 0;

	if (!member_value(c))
		return 0;
	switch ((enum member)c->cur) {
	case M_OP:
		if (n != 6 || memcmp(s, "result", 6) != 0)
			return fail(c, "unknown op (not \"result\")");
		break;
	case M_ID:
		if (!take_id(c, s, n))
			return 0;
		break;
	case M_STATUS:
		if (n == 2 && memcmp(s, "ok", 2) == 0)
			c->exception = false;
		else if (n == 9 && memcmp(s, "exception", 9) == 0)
			c->exception = true;
		else
			return fail(c, "unknown status");
		break;
	case M_KIND:
		if (!take_kind(c, s, n))
			return 0;
		break;
	case M_VALUE:
		if (n > SBX_REPLY_VALUE_MAX)
			return fail(c, "the value is larger than 8 MiB");
		if (!take_copy(c, &c->value, &c->value_len, s, n))
			return 0;
		break;
	case M_ENAME:
		if (!sp_utf8_valid((const char *)s, n, &cps))
			return fail(c, "ill-formed UTF-8 in the exception name");
		if (cps > SBX_REPLY_ENAME_MAX_CPS)
			return fail(c, "the exception name is longer than 256 code points");
		break;
	case M_ERROR:
		if (!sp_utf8_valid((const char *)s, n, &cps))
			return fail(c, "ill-formed UTF-8 in the error message");
		if (cps > SBX_REPLY_MESSAGE_MAX_CPS)
			return fail(c, "the error message is longer than 4096 code points");
		if (!take_copy(c, &c->error, &c->error_len, s, n))
			return 0;
		break;
	case M_TRACEBACK:
		if (n > SBX_REPLY_TRACEBACK_MAX)
			return fail(c, "the traceback is larger than 4 MiB");
		if (!sp_utf8_valid((const char *)s, n, &cps))
			return fail(c, "ill-formed UTF-8 in the traceback");
		if (!take_copy(c, &c->traceback, &c->traceback_len, s, n))
			return 0;
		break;
	case M_EXEC_US:
	case M_EXIT_CODE:
		return fail(c, wrong_type[c->cur]);
	case M_COUNT:
		return fail(c, wrong_type[M_EXEC_US]);
	}
	c->cur = -1;
	return 1;
}

static int f_start_map(void *ctx)
{
	struct frame_ctx *c = ctx;
	if (c->depth > 0)
		return fail(c, "a member of the reply holds an object (the reply is flat)");
	c->depth = 1;
	return 1;
}

static int f_map_key(void *ctx, const unsigned char *s, size_t n)
{
	struct frame_ctx *c = ctx;
	for (int i = 0; i < M_COUNT; i++) {
		if (strlen(member_name[i]) == n && memcmp(member_name[i], s, n) == 0) {
			if (c->seen & (1u << i))
				return fail(c, "duplicate member");
			c->seen |= 1u << i;
			c->cur = i;
			return 1;
		}
	}
	return fail(c, "unknown member");
}

static int f_end_map(void *ctx)
{
	struct frame_ctx *c = ctx;
	c->depth = 0;
	return 1;
}

static int f_start_array(void *ctx)
{
	struct frame_ctx *c = ctx;
	if (c->depth == 0)
		return fail(c, "the reply is not a JSON object");
	return fail(c, "a member of the reply holds an array (the reply is flat)");
}

static int f_end_array(void *ctx)
{
	return fail(ctx, "unexpected end of array");
}

static const yajl_callbacks frame_callbacks = {
    .yajl_null = f_null,
    .yajl_boolean = f_boolean,
    .yajl_number = f_number,
    .yajl_string = f_string,
    .yajl_start_map = f_start_map,
    .yajl_map_key = f_map_key,
    .yajl_end_map = f_end_map,
    .yajl_start_array = f_start_array,
    .yajl_end_array = f_end_array,
};

/* ---- a "json" value, parsed and generated again -------------------------------------------- */

struct gen_ctx {
	yajl_gen g;
	size_t depth;
	bool started; /* the top-level value has begun */
	const char *why;
	bool oom;
};

static int gfail(struct gen_ctx *c, const char *why)
{
	if (!c->why)
		c->why = why;
	return 0;
}

static int gen_ok(struct gen_ctx *c, yajl_gen_status st)
{
	if (st == yajl_gen_status_ok)
		return 1;
	return gfail(c, "the JSON value could not be generated again");
}

/* The top-level value must be a number, an array or an object (§8.2 step 5). */
static bool top_scalar(struct gen_ctx *c)
{
	if (c->depth == 0) {
		gfail(c, "the json value is not a number, array or object");
		return true;
	}
	return false;
}

static int g_null(void *ctx)
{
	struct gen_ctx *c = ctx;
	return top_scalar(c) ? 0 : gen_ok(c, yajl_gen_null(c->g));
}

static int g_boolean(void *ctx, int b)
{
	struct gen_ctx *c = ctx;
	return top_scalar(c) ? 0 : gen_ok(c, yajl_gen_bool(c->g, b));
}

static int g_number(void *ctx, const char *s, size_t n)
{
	struct gen_ctx *c = ctx;
	c->started = true;
	return gen_ok(c, yajl_gen_number(c->g, s, n));
}

/* Strings inside a value come from a Python repr, valid UTF-8 unless a lone surrogate escape
 * was decoded: such bytes become U+FFFD, the rule for every text the emulator returns. */
static int g_string(void *ctx, const unsigned char *s, size_t n)
{
	struct gen_ctx *c = ctx;
	size_t cps;

	if (top_scalar(c))
		return 0;
	if (sp_utf8_valid((const char *)s, n, &cps))
		return gen_ok(c, yajl_gen_string(c->g, s, n));
	struct sbx_text t = {0};
	if (sbx_text_append(&t, (const char *)s, n, SIZE_MAX) < 0 || sbx_text_finish(&t) < 0) {
		sbx_text_fini(&t);
		c->oom = true;
		return 0;
	}
	int r = gen_ok(c, yajl_gen_string(c->g, (const unsigned char *)t.buf, t.len));
	sbx_text_fini(&t);
	return r;
}

static int g_open(struct gen_ctx *c)
{
	if (++c->depth > SBX_REPLY_VALUE_DEPTH_MAX)
		return gfail(c, "the json value is nested more than 60 deep");
	c->started = true;
	return 1;
}

static int g_start_map(void *ctx)
{
	struct gen_ctx *c = ctx;
	return g_open(c) && gen_ok(c, yajl_gen_map_open(c->g));
}

static int g_end_map(void *ctx)
{
	struct gen_ctx *c = ctx;
	c->depth--;
	return gen_ok(c, yajl_gen_map_close(c->g));
}

static int g_start_array(void *ctx)
{
	struct gen_ctx *c = ctx;
	return g_open(c) && gen_ok(c, yajl_gen_array_open(c->g));
}

static int g_end_array(void *ctx)
{
	struct gen_ctx *c = ctx;
	c->depth--;
	return gen_ok(c, yajl_gen_array_close(c->g));
}

static const yajl_callbacks gen_callbacks = {
    .yajl_null = g_null,
    .yajl_boolean = g_boolean,
    .yajl_number = g_number,
    .yajl_string = g_string,
    .yajl_start_map = g_start_map,
    .yajl_map_key = g_string,
    .yajl_end_map = g_end_map,
    .yajl_start_array = g_start_array,
    .yajl_end_array = g_end_array,
};

static void gen_freep(yajl_gen *g)
{
	if (*g)
		yajl_gen_free(*g);
}

static void handle_freep(yajl_handle *h)
{
	if (*h)
		yajl_free(*h);
}

/* Re-serialises the compact JSON text in[0, n) into *out (malloc'd, NUL-terminated). */
static int json_regenerate(const char *in, size_t n, char **out, size_t *out_len, const char **why)
{
	__attribute__((cleanup(gen_freep))) yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return -ENOMEM;
	struct gen_ctx c = {.g = g};
	__attribute__((cleanup(handle_freep))) yajl_handle h = yajl_alloc(&gen_callbacks, NULL, &c);
	if (!h)
		return -ENOMEM;
	yajl_status st = yajl_parse(h, (const unsigned char *)in, n);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (c.oom)
		return -ENOMEM;
	if (st != yajl_status_ok || !c.started) {
		*why = c.why ? c.why : "the json value is not valid JSON";
		return -EPROTO;
	}
	const unsigned char *buf;
	size_t len;
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		return -ENOMEM;
	char *copy = copy_bytes(buf, len);
	if (!copy)
		return -ENOMEM;
	*out = copy;
	*out_len = len;
	return 0;
}

/* ---- the frame ------------------------------------------------------------------------------- */

static void frame_ctx_fini(struct frame_ctx *c)
{
	free(c->value);
	free(c->error);
	free(c->traceback);
}

static int violation(struct frame_ctx *c, const char **why, const char *text)
{
	if (why)
		*why = text;
	frame_ctx_fini(c);
	return -EPROTO;
}

int sbx_reply_parse(const char *frame, size_t len, const char *expect_id, struct sbx_reply *out,
		    const char **why)
{
	struct frame_ctx c = {.cur = -1, .kind = -1, .exit_code = -1};

	if (len > SBX_REPLY_FRAME_MAX)
		return violation(&c, why, "the reply frame is larger than its bound");
	if (memchr(frame, '\0', len))
		return violation(&c, why, "the reply frame holds a NUL byte");

	yajl_handle h = yajl_alloc(&frame_callbacks, NULL, &c);
	if (!h)
		return -ENOMEM;
	yajl_status st = yajl_parse(h, (const unsigned char *)frame, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	if (c.oom) {
		frame_ctx_fini(&c);
		return -ENOMEM;
	}
	if (st != yajl_status_ok)
		return violation(&c, why, c.why ? c.why : "the reply is not valid JSON");

	if ((c.seen & REQUIRED) != REQUIRED)
		return violation(&c, why, "a required member of the reply is missing");
	enum sbx_value_kind kind = kinds[c.kind].kind;
	if (c.exception) {
		if ((c.seen & EXCEPTION_ONLY) != EXCEPTION_ONLY)
			return violation(&c, why,
					 "an exception reply lacks ename, error or traceback");
		if (kind != SBX_VALUE_NONE)
			return violation(&c, why, "an exception reply has a value");
	} else if (c.seen & EXCEPTION_ONLY) {
		return violation(&c, why, "a successful reply carries exception members");
	}
	if ((c.seen & (1u << M_EXIT_CODE)) && (c.exception || kind != SBX_VALUE_NONE))
		return violation(&c, why, "an exit code comes with an exception or a value");
	bool wants_value =
	    kind == SBX_VALUE_JSON || kind == SBX_VALUE_TEXT || kind == SBX_VALUE_IMAGE;
	if (wants_value != !c.value_null)
		return violation(&c, why,
				 wants_value ? "the value is null for a kind that needs one"
					     : "the value is not null for kind none or null");

	const char *vwhy = NULL;
	size_t cps;
	switch (kind) {
	case SBX_VALUE_NONE:
	case SBX_VALUE_NULL:
		break;
	case SBX_VALUE_TEXT:
		if (!sp_utf8_valid(c.value, c.value_len, &cps))
			return violation(&c, why, "ill-formed UTF-8 in the text value");
		break;
	case SBX_VALUE_IMAGE:
		/* RFC 4648 §4, strictly: whole quanta, '=' only as the final padding, pad bits
		 * zero, and not empty. */
		if (c.value_len == 0 || !sp_b64_valid(c.value, c.value_len, SP_B64_PAD))
			return violation(&c, why, "the image value is not strict base64");
		break;
	case SBX_VALUE_JSON: {
		char *json = NULL;
		size_t json_len = 0;
		int r = json_regenerate(c.value, c.value_len, &json, &json_len, &vwhy);
		if (r == -ENOMEM) {
			frame_ctx_fini(&c);
			return r;
		}
		if (r < 0)
			return violation(&c, why, vwhy);
		free(c.value);
		c.value = json;
		c.value_len = json_len;
		break;
	}
	}

	struct sbx_reply res = {
	    .exception = c.exception,
	    .kind = kind,
	    .value = steal_pointer(&c.value),
	    .value_len = c.value_len,
	    .error = steal_pointer(&c.error),
	    .error_len = c.error_len,
	    .traceback = steal_pointer(&c.traceback),
	    .traceback_len = c.traceback_len,
	    .exec_us = c.exec_us,
	    .exit_code = c.exit_code,
	};
	memcpy(res.id, c.id, sizeof(res.id));
	*out = res;
	return strcmp(res.id, expect_id) == 0 ? 0 : SBX_REPLY_OTHER_ID;
}

void sbx_reply_fini(struct sbx_reply *r)
{
	if (!r)
		return;
	free(r->value);
	free(r->error);
	free(r->traceback);
	memset(r, 0, sizeof(*r));
}
