/* SPDX-License-Identifier: MIT */
/*
 * A streaming multipart/form-data parser (RFC 7578, RFC 2046 §5.1) for uploads (contract §9.2).
 * It never holds a part's content: data is handed to a callback in the chunks it arrives in,
 * so memory stays constant whatever the body size. Only the Content-Disposition header of each
 * part is interpreted (name, filename, filename* per RFC 5987 — preferred when valid); the
 * parameters may be quoted strings or bare tokens, as .NET sends them.
 *
 * Why not CivetWeb's mg_handle_form_request: its 1.15 parser URL-decodes the filename ('+'
 * becomes a space, %41 becomes 'A'), silently removes ".." segments, ignores filename*, cannot
 * tell a missing filename from an empty one, and rejects boundaries shorter than 4 characters.
 *
 * Life cycle: mp_new(); then repeatedly mp_buffer() to get space, read into it, mp_commit();
 * or mp_feed() to copy bytes in; mp_finish() at the end of the input; mp_free(). The parser is
 * not thread-safe; the callbacks run inside mp_commit()/mp_feed().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Largest header block of one part; a longer one is malformed. */
#define MP_HEADER_MAX (16 * 1024)
/* Bytes mp_buffer() offers at least. */
#define MP_READ_MIN (128 * 1024)

/* The Content-Disposition of one part. Strings are NUL-terminated; all owned by the parser. */
struct mp_part {
	const char *name;     /* `name` parameter; NULL when absent */
	const char *filename; /* decoded `filename*` if present and valid, else `filename`;
				 NULL when neither; may contain NUL (see filename_len) */
	size_t filename_len;
	bool filename_star; /* filename came from filename* */
};

struct mp_callbacks {
	/* The headers of a part were read. Return 0, or a negative code that aborts parsing. */
	int (*part_begin)(void *ctx, const struct mp_part *part);
	/* Content bytes of the current part (in order; any chunking). 0 or a negative code. */
	int (*part_data)(void *ctx, const char *data, size_t len);
	/* The current part ended (its closing delimiter was seen). 0 or a negative code. */
	int (*part_end)(void *ctx);
};

struct mp_parser;

/*
 * A parser for |boundary| (1–200 bytes). |cb| (copied) and |ctx| (not owned) are used by every
 * callback. Returns 0, -EINVAL (bad boundary) or -ENOMEM.
 */
int mp_new(const char *boundary, size_t boundary_len, const struct mp_callbacks *cb, void *ctx,
	   struct mp_parser **out) __attribute__((nonnull(1, 3, 5)));
void mp_free(struct mp_parser *p);

/* Free space to read input into: *buf and *avail (≥ MP_READ_MIN). Valid until mp_commit(). */
void mp_buffer(struct mp_parser *p, char **buf, size_t *avail) __attribute__((nonnull));

/*
 * Parses |n| bytes just written at the mp_buffer() position. Returns 0, -EBADMSG (malformed:
 * bad delimiter line, header block too long, unterminated quoted string), or the negative
 * code a callback returned. After an error the parser must only be freed.
 */
int mp_commit(struct mp_parser *p, size_t n) __attribute__((nonnull));

/* Copies |len| bytes in and parses them (any size). Returns as mp_commit(). */
int mp_feed(struct mp_parser *p, const char *data, size_t len) __attribute__((nonnull(1)));

/* True once the close delimiter ("--boundary--") was parsed; later input is ignored. */
bool mp_done(const struct mp_parser *p) __attribute__((nonnull));

/* End of input: 0 when mp_done(), else -EBADMSG (truncated body). */
int mp_finish(struct mp_parser *p) __attribute__((nonnull));

/*
 * If |content_type| is multipart/form-data (case-insensitive) with a non-empty `boundary`
 * parameter (quoted or a token, at most 200 bytes), stores it in a new string *boundary.
 * Returns 0, -EINVAL otherwise, or -ENOMEM.
 */
int mp_content_type_boundary(const char *content_type, char **boundary) __attribute__((nonnull));

/* A Content-Disposition header value parsed into owned strings (mp_disposition_fini). */
struct mp_disposition {
	char *name;
	char *filename;
	size_t filename_len;
	bool filename_star;
};

/*
 * Parses a Content-Disposition value ("form-data; name=…; filename=…; filename*=…").
 * Parameter names are case-insensitive and the first occurrence wins; values are quoted
 * strings (where \" and \\ are escapes and any other backslash is literal) or bare tokens
 * (up to ';', trimmed). An invalid filename* is ignored. Returns 0, -EBADMSG (unterminated
 * quoted string) or -ENOMEM.
 */
int mp_parse_disposition(const char *value, size_t len, struct mp_disposition *out)
    __attribute__((nonnull(1, 3)));
void mp_disposition_fini(struct mp_disposition *d);

/*
 * Decodes an RFC 5987 ext-value (charset'language'pct-encoded, as in `filename*=`) into a new
 * UTF-8 string *out of *out_len bytes (it may contain NUL from %00, which path normalisation
 * rejects). The charset is UTF-8 or ISO-8859-1 (case-insensitive); UTF-8 must be valid.
 * Returns 0, -EINVAL (malformed, unknown charset, bad escape, bad UTF-8) or -ENOMEM.
 */
int mp_rfc5987_decode(const char *in, size_t len, char **out, size_t *out_len)
    __attribute__((nonnull(1, 3, 4)));
