/* SPDX-License-Identifier: MIT */
/*
 * The §9.4 table. It is small, so a linear scan with a case-insensitive compare is the whole
 * lookup; extensions longer than any entry are rejected before the scan.
 */
#include "mime.h"

#include <string.h>

#include "util.h"

struct mime_entry {
	const char *ext;
	const char *type;
};

static const struct mime_entry mime_table[] = {
    {"txt", "text/plain; charset=utf-8"},
    {"log", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"tsv", "text/tab-separated-values; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"xml", "text/xml; charset=utf-8"},
    {"py", "text/x-python; charset=utf-8"},
    {"json", "application/json"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"pfx", "application/pkcs12"},
    {"p12", "application/pkcs12"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"webp", "image/webp"},
};

#define MIME_EXT_MAX 4

const char *mime_type_for(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base || strlen(dot + 1) > MIME_EXT_MAX)
		return MIME_OCTET_STREAM;
	for (size_t i = 0; i < sizeof(mime_table) / sizeof(mime_table[0]); i++) {
		if (util_ieq(dot + 1, mime_table[i].ext))
			return mime_table[i].type;
	}
	return MIME_OCTET_STREAM;
}
