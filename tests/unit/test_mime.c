/* SPDX-License-Identifier: MIT */
/* Contract §9.4: the whole extension table, case-insensitivity, and the fallbacks. */
#include <criterion/criterion.h>
#include <string.h>

#include "mime.h"

static const char *const table[][2] = {
    {"a.txt", "text/plain; charset=utf-8"},
    {"a.log", "text/plain; charset=utf-8"},
    {"a.md", "text/markdown; charset=utf-8"},
    {"a.csv", "text/csv; charset=utf-8"},
    {"a.tsv", "text/tab-separated-values; charset=utf-8"},
    {"a.html", "text/html; charset=utf-8"},
    {"a.htm", "text/html; charset=utf-8"},
    {"a.css", "text/css; charset=utf-8"},
    {"a.js", "text/javascript; charset=utf-8"},
    {"a.xml", "text/xml; charset=utf-8"},
    {"a.py", "text/x-python; charset=utf-8"},
    {"a.json", "application/json"},
    {"a.yaml", "application/yaml"},
    {"a.yml", "application/yaml"},
    {"a.pdf", "application/pdf"},
    {"a.zip", "application/zip"},
    {"a.gz", "application/gzip"},
    {"a.tar", "application/x-tar"},
    {"a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"a.pfx", "application/pkcs12"},
    {"a.p12", "application/pkcs12"},
    {"a.png", "image/png"},
    {"a.jpg", "image/jpeg"},
    {"a.jpeg", "image/jpeg"},
    {"a.gif", "image/gif"},
    {"a.svg", "image/svg+xml"},
    {"a.webp", "image/webp"},
};

Test(mime, table)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		cr_expect_str_eq(mime_type_for(table[i][0]), table[i][1], "%s", table[i][0]);
}

Test(mime, case_insensitive)
{
	cr_expect_str_eq(mime_type_for("README.TXT"), "text/plain; charset=utf-8");
	cr_expect_str_eq(mime_type_for("photo.JpEg"), "image/jpeg");
	cr_expect_str_eq(mime_type_for("data.Csv"), "text/csv; charset=utf-8");
	cr_expect_str_eq(mime_type_for("X.YML"), "application/yaml");
}

Test(mime, text_types_have_charset)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *t = mime_type_for(table[i][0]);
		if (!strncmp(t, "text/", 5))
			cr_expect(strstr(t, "; charset=utf-8") != NULL, "%s", t);
	}
}

Test(mime, last_extension_counts)
{
	cr_expect_str_eq(mime_type_for("archive.tar.gz"), "application/gzip");
	cr_expect_str_eq(mime_type_for("a.txt.bak"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("notes.json.txt"), "text/plain; charset=utf-8");
}

Test(mime, paths_use_last_segment)
{
	cr_expect_str_eq(mime_type_for("sub/dir/a.png"), "image/png");
	cr_expect_str_eq(mime_type_for("dir.txt/README"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("sub/.txt"), MIME_OCTET_STREAM);
}

Test(mime, fallbacks)
{
	cr_expect_str_eq(mime_type_for("Makefile"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for(""), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("a."), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for(".bashrc"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for(".txt"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("a.exe"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("a.txtx"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("a.tx"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("a.verylongextension"), MIME_OCTET_STREAM);
	cr_expect_str_eq(mime_type_for("a. txt"), MIME_OCTET_STREAM);
}
