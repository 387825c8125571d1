/* SPDX-License-Identifier: MIT */
/* One-line error reports; see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sp_err_set(struct sp_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int sp_err_sys(struct sp_err *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s",
				 strerror(-code));
		err->code = code;
	}
	return code;
}

void sp_err_wrap(struct sp_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prev[sizeof(err->msg)];
	memcpy(prev, err->msg, sizeof(prev));
	prev[sizeof(prev) - 1] = '\0';
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(err->msg) - 1)
		return;
	/* ": " then as much of the previous message as fits (cut on purpose, not by snprintf). */
	size_t at = (size_t)n, room = sizeof(err->msg) - 1 - at;
	static const char sep[] = ": ";
	size_t k = room < sizeof(sep) - 1 ? room : sizeof(sep) - 1;
	memcpy(err->msg + at, sep, k);
	at += k;
	room -= k;
	size_t pl = strlen(prev);
	if (pl > room)
		pl = room;
	memcpy(err->msg + at, prev, pl);
	err->msg[at + pl] = '\0';
}
