/* SPDX-License-Identifier: MIT */
/*
 * One-line error reports for library code (crun's convention, with a fixed buffer so the error
 * path cannot leak or fail under OOM). Functions return 0 or a negative errno-style code and, on
 * failure only, fill an optional caller-owned struct sp_err.
 */
#pragma once

struct sp_err {
	int code;      /* negative errno-style code, 0 when unset */
	char msg[256]; /* one line, no trailing newline */
};

/* Fills |err| (may be NULL) with |code| and a printf-formatted message; returns |code|. */
int sp_err_set(struct sp_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like sp_err_set, with ": strerror(-code)" appended. */
int sp_err_sys(struct sp_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Adds context as an error travels up: |err|'s message becomes "<fmt…>: <previous message>"
 * (truncated to fit), its code unchanged. Does nothing when |err| is NULL.
 */
void sp_err_wrap(struct sp_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
