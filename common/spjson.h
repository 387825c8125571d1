/* SPDX-License-Identifier: MIT */
/*
 * spjson.h: the one way untrusted bytes become cJSON trees.
 *
 * cJSON parses, prints and deletes recursively, and a CivetWeb worker thread has a small stack:
 * 811 nested '[' were enough to crash the emulator. Every parse of bytes from a client, a token
 * or a session goes through sp_json_parse, which bounds the size and scans the nesting depth
 * (outside strings) before cJSON sees a byte. Trees built from such input are therefore at most
 * |max_depth| deep, and so are their printing and deletion.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Depth allowed for request bodies, JWT segments, session frames and JSON-RPC messages. */
#define SP_JSON_DEPTH_MAX 64
/* Depth allowed for scenario files and other documents the user writes by hand. */
#define SP_JSON_DEPTH_DOC 128

enum sp_json_why {
	SP_JSON_OK = 0,
	SP_JSON_TOO_DEEP,  /* more than max_depth nested arrays/objects */
	SP_JSON_TOO_LARGE, /* more than max_len bytes */
	SP_JSON_INVALID,   /* not one complete RFC 8259 value (cJSON's view), or a NUL byte */
	SP_JSON_NO_MEMORY,
};

/*
 * Returns the deepest nesting of arrays and objects in buf[0, len), counting brackets outside
 * JSON strings (a backslash escapes the next byte inside a string), or stops early and returns
 * max_depth + 1 as soon as that depth is exceeded. Never reads past len; needs no NUL.
 */
size_t sp_json_depth(const char *buf, size_t len, size_t max_depth);

/*
 * Parses buf[0, len) (no NUL terminator needed) as exactly one JSON value with nothing but
 * whitespace after it. Returns NULL, with *why (optional) set, when len > max_len, when the
 * nesting exceeds max_depth, when the bytes contain a NUL, or when cJSON rejects them.
 */
cJSON *sp_json_parse(const char *buf, size_t len, size_t max_len, size_t max_depth,
		     enum sp_json_why *why);

/* A short English description of |why| ("nested too deeply", …). */
const char *sp_json_why_text(enum sp_json_why why);

/* True if the raw JSON text s[0, len) holds a \u0000 escape: cJSON ends a string there. */
bool sp_json_has_nul_escape(const char *s, size_t len);
