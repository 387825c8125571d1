/* SPDX-License-Identifier: MIT */
/*
 * Content types by file extension (contract §9.4): one fixed table, extensions matched
 * case-insensitively, every text/... type with "; charset=utf-8". Pure and thread-safe.
 */
#pragma once

/*
 * The content type for the file |name| (a base name or a path; only its last segment counts).
 * The extension is the text after the last '.' of that segment, unless the '.' is its first
 * character (".txt" has no extension, like Python's os.path.splitext). Unknown or no
 * extension → "application/octet-stream". Static storage.
 */
const char *mime_type_for(const char *name) __attribute__((nonnull));

/* The type of directories in file listings, and the fallback: "application/octet-stream". */
#define MIME_OCTET_STREAM "application/octet-stream"
