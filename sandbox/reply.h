/* SPDX-License-Identifier: MIT */
/*
 * reply.h: the one parser of what a session sends back for a cell (its reply frame).
 *
 * Everything on a session socket comes from a process that runs user code, so a reply is
 * untrusted data: sbx_reply_parse() validates it against a closed schema and rebuilds every
 * piece the emulator keeps (strings decoded and checked, a JSON value parsed and re-serialised,
 * an image checked as strict base64). It does no I/O, keeps no state, and holds nothing from
 * the frame after it returns, so it is safe on any bytes (a libFuzzer target drives it).
 *
 * Life cycle: struct sbx_reply r; sbx_reply_parse(frame, len, id, &r, &why) fills r on
 * success (0 or SBX_REPLY_OTHER_ID); sbx_reply_fini(&r) releases it.
 *
 * The schema (one JSON object; every member once; no other member):
 *   "op": "result"                              required
 *   "id": 16 lowercase hex digits               required; the request it answers
 *   "status": "ok" | "exception"                required
 *   "kind": "none"|"null"|"json"|"text"|"image" required; "none" when status is "exception"
 *   "value": null (kinds none, null) or a string (json, text, image)    required
 *   "exec_us": integer 0 … 10^15                required
 *   "ename", "error", "traceback": strings      required with "exception", absent with "ok"
 *   "exit_code": integer 0 … 255                optional, only with "ok" and kind "none": the
 *                                               reply to a shell request (the caller checks
 *                                               that it is there exactly when it asked for a
 *                                               command)
 * The frame itself is flat: no member holds an array or an object. A "json" value is a string
 * holding compact JSON text; it must be one number, array or object at most
 * SBX_REPLY_VALUE_DEPTH_MAX deep, and is re-serialised with its number tokens copied verbatim.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"

/* Length of a request id: 64 random bits as lowercase hex. */
#define SBX_REPLY_ID_LEN 16

/* Decoded bytes of a value (UTF-8 text, compact JSON, or base64), as repl.py bounds it
 * (_VALUE_MAX: the JSON-escaped form of the value fits in 8 MiB, so the decoded one does). */
#define SBX_REPLY_VALUE_MAX ((size_t)8 << 20)
/* Decoded bytes of a traceback (repl.py _TRACEBACK_MAX). */
#define SBX_REPLY_TRACEBACK_MAX ((size_t)4 << 20)
/* Code points of the error message (repl.py _MESSAGE_MAX) and of the exception name. */
#define SBX_REPLY_MESSAGE_MAX_CPS 4096
#define SBX_REPLY_ENAME_MAX_CPS	  256

/*
 * Largest reply frame: what the largest legitimate reply encodes to. repl.py cuts the value
 * so that its JSON string form is at most 8 MiB (an image larger than that is replaced by a
 * short note) and the traceback to 4 MiB in the same form; the message (4096 code points, at
 * most 6 bytes each once escaped: 24 KiB), the exception name (256 code points: 1.5 KiB) and
 * the fixed members (under 200 bytes) fit in the last 64 KiB. A frame header announcing more
 * is refused before anything is allocated.
 */
#define SBX_REPLY_FRAME_MAX (((size_t)12 << 20) + ((size_t)64 << 10))

/*
 * Deepest "json" value: 60 levels, so that a response holding it (at most three levels of
 * members around it) stays within SP_JSON_DEPTH_MAX (64), the bound this project's own parsers
 * apply. repl.py sends a deeper value as text (api-contract §8.2 step 6: T as a JSON string).
 */
#define SBX_REPLY_VALUE_DEPTH_MAX 60

/* sbx_reply_parse(): a well-formed reply for another request than |expect_id|. */
#define SBX_REPLY_OTHER_ID 1

struct sbx_reply {
	char id[SBX_REPLY_ID_LEN + 1]; /* NUL-terminated */
	bool exception;		       /* status "exception" */
	enum sbx_value_kind kind;      /* SBX_VALUE_NONE with an exception */
	char *value;		       /* NULL for NONE and NULL; else NUL-terminated: valid UTF-8
					* (TEXT), compact JSON (JSON), strict base64 (IMAGE) */
	size_t value_len;	       /* bytes, without the NUL (TEXT may hold U+0000) */
	char *error;		       /* exception only: the message (valid UTF-8), else NULL */
	size_t error_len;
	char *traceback; /* exception only: valid UTF-8, else NULL */
	size_t traceback_len;
	int64_t exec_us; /* the interpreter's own measure of the user code's time */
	int exit_code;	 /* a command's exit code 0-255, or -1 when the reply has none */
};

/*
 * Parses and validates the reply frame frame[0, len) (no NUL terminator needed; a NUL byte
 * makes it invalid). |expect_id| is the id of the request being answered (SBX_REPLY_ID_LEN
 * lowercase hex digits and a NUL).
 *
 * Returns:
 *   0                   a well-formed reply to |expect_id|; *out is filled.
 *   SBX_REPLY_OTHER_ID  a well-formed reply carrying another id (out->id says which); *out is
 *                       filled, so that the caller can decide whether the frame is stale
 *                       (an older request of its own: discard) or foreign.
 *   -EPROTO             anything else: not JSON, not an object, a nested member, an unknown,
 *                       missing, duplicate or mistyped member, an unknown op, status or kind,
 *                       an exit_code out of range or with an exception or a value,
 *                       a bad id, ill-formed UTF-8 in a string, a value, message or traceback
 *                       over its bound, a "json" value that is not one number, array or object
 *                       or is nested deeper than SBX_REPLY_VALUE_DEPTH_MAX, an "image" value
 *                       that is not strict base64 (RFC 4648 standard alphabet, padded, no
 *                       whitespace, zero pad bits), or len > SBX_REPLY_FRAME_MAX. *why (if
 *                       not NULL) points to a static one-line description; *out untouched.
 *   -ENOMEM             out of memory; *out untouched.
 *
 * Pure: no I/O, no global state, thread-safe. Memory use is bounded by a small multiple of
 * |len| whatever the input (nesting is counted, never recursed into). Nothing is left
 * allocated when it fails.
 */
int sbx_reply_parse(const char *frame, size_t len, const char *expect_id, struct sbx_reply *out,
		    const char **why) __attribute__((nonnull(1, 3, 4)));

/* Frees what sbx_reply_parse() filled in and zeroes |r|. NULL ok. */
void sbx_reply_fini(struct sbx_reply *r);
