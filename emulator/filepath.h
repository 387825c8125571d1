/* SPDX-License-Identifier: MIT */
/*
 * File path rules of contract §9.1 as pure string functions: the `path` query parameter, the
 * multipart filename and the {name+} of a files route each normalise to a path relative to the
 * session's /mnt/data ("" is /mnt/data itself). A normalised path has no leading or trailing
 * '/', no empty, "." or ".." segment, no NUL, segments of at most FILEPATH_SEGMENT_MAX bytes
 * and at most FILEPATH_PATH_MAX bytes in all. No I/O: symlink safety is beneath.h's job.
 * All functions are thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define FILEPATH_SEGMENT_MAX 255
#define FILEPATH_PATH_MAX    1024

/*
 * Normalises |len| bytes of |in| (which may contain NUL bytes) per §9.1 steps 1–4 and 6 into a
 * new string *out ("" for the root). Steps: NUL → invalid; collapse runs of '/'; strip a leading
 * "/mnt/data/" or a value equal to "/mnt/data"; a value equal to "/" is the root; anything else
 * still starting with '/' is invalid; split on '/', drop "." segments, ".." is invalid; each
 * segment and the whole result are length-checked.
 * Returns 0, -EINVAL (contains NUL, absolute outside /mnt/data, or a ".." segment),
 * -ENAMETOOLONG (a segment or the whole path too long), or -ENOMEM. *out is set on success only.
 */
int filepath_normalize(const char *in, size_t len, char **out) __attribute__((nonnull(3)));

/*
 * The effective path of a file operation (§9.1 step 5): normalised |dir| (the `path` query
 * parameter; NULL = absent = root) joined with the normalised |name|, as a new string *out.
 * Returns 0; -EINVAL when either is invalid, |name| ends in '/' (e.g. "dir/") or normalises to
 * nothing (e.g. "", "/", "a/..", "/mnt/data/"); -ENAMETOOLONG when a segment or the joined path is
 * too long; -ENOMEM.
 */
int filepath_effective(const char *dir, size_t dir_len, const char *name, size_t name_len,
		       char **out) __attribute__((nonnull(3, 5)));

/*
 * The last segment of normalised |path| (a pointer into it; |path| itself when it has no '/').
 */
const char *filepath_basename(const char *path) __attribute__((nonnull));

/* Length of the parent part of normalised |path|: 0 when it has no '/'. */
size_t filepath_dirname_len(const char *path) __attribute__((nonnull));
