/* SPDX-License-Identifier: MIT */
#include "spjson.h"

#include <stdbool.h>
#include <string.h>

size_t sp_json_depth(const char *buf, size_t len, size_t max_depth)
{
	size_t depth = 0, deepest = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
			continue;
		}
		switch (ch) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			if (++depth > deepest) {
				deepest = depth;
				if (deepest > max_depth)
					return max_depth + 1;
			}
			break;
		case ']':
		case '}':
			if (depth)
				depth--;
			break;
		default:
			break;
		}
	}
	return deepest;
}

static cJSON *fail(enum sp_json_why *why, enum sp_json_why w)
{
	if (why)
		*why = w;
	return NULL;
}

cJSON *sp_json_parse(const char *buf, size_t len, size_t max_len, size_t max_depth,
		     enum sp_json_why *why)
{
	if (why)
		*why = SP_JSON_OK;
	if (len > max_len)
		return fail(why, SP_JSON_TOO_LARGE);
	if (!buf || len == 0)
		return fail(why, SP_JSON_INVALID);
	if (memchr(buf, '\0', len))
		return fail(why, SP_JSON_INVALID);
	if (sp_json_depth(buf, len, max_depth) > max_depth)
		return fail(why, SP_JSON_TOO_DEEP);
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!j)
		return fail(why, SP_JSON_INVALID);
	for (; end && end < buf + len; end++)
		if (!strchr(" \t\r\n", *end)) {
			cJSON_Delete(j);
			return fail(why, SP_JSON_INVALID);
		}
	return j;
}

const char *sp_json_why_text(enum sp_json_why why)
{
	switch (why) {
	case SP_JSON_OK:
		return "valid";
	case SP_JSON_TOO_DEEP:
		return "nested too deeply";
	case SP_JSON_TOO_LARGE:
		return "too large";
	case SP_JSON_INVALID:
		return "not valid JSON";
	case SP_JSON_NO_MEMORY:
		return "out of memory";
	}
	return "not valid JSON";
}

bool sp_json_has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 5 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (!memcmp(s + i + 1, "u0000", 5))
			return true;
		i++; /* skip the escaped character */
	}
	return false;
}
