/* SPDX-License-Identifier: MIT */
/*
 * Contract §9.1 path normalisation. The order matters and follows the contract: NUL is checked
 * on the raw bytes, '/' runs are collapsed before the /mnt/data prefix is stripped (so
 * "//mnt/data//x" is "x"), and ".." is rejected rather than resolved, so a normalised path can
 * never name anything above the session directory.
 */
#include "filepath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define MNT_DATA     "/mnt/data"
#define MNT_DATA_LEN (sizeof(MNT_DATA) - 1)

/* Collapses runs of '/' of |len| bytes of |in| into |buf| (≥ len + 1 bytes); returns the length. */
static size_t collapse_slashes(const char *in, size_t len, char *buf)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '/' && n > 0 && buf[n - 1] == '/')
			continue;
		buf[n++] = in[i];
	}
	buf[n] = '\0';
	return n;
}

/* Appends the segments of |p| (|len| bytes, relative) to |dst| (length *dlen), checking §9.1. */
static int append_segments(const char *p, size_t len, char *dst, size_t *dlen)
{
	size_t i = 0;
	while (i < len) {
		const char *seg = p + i;
		const char *slash = memchr(seg, '/', len - i);
		size_t seglen = slash ? (size_t)(slash - seg) : len - i;
		i += seglen + 1;
		if (seglen == 0 || (seglen == 1 && seg[0] == '.'))
			continue;
		if (seglen == 2 && seg[0] == '.' && seg[1] == '.')
			return -EINVAL;
		if (seglen > FILEPATH_SEGMENT_MAX)
			return -ENAMETOOLONG;
		if (*dlen > 0)
			dst[(*dlen)++] = '/';
		memcpy(dst + *dlen, seg, seglen);
		*dlen += seglen;
		if (*dlen > FILEPATH_PATH_MAX)
			return -ENAMETOOLONG;
	}
	dst[*dlen] = '\0';
	return 0;
}

int filepath_normalize(const char *in, size_t len, char **out)
{
	if (len > 0 && memchr(in, '\0', len))
		return -EINVAL;
	cleanup_free char *c = malloc(len + 1);
	if (!c)
		return -ENOMEM;
	size_t n = collapse_slashes(in, len, c);
	const char *p = c;
	if ((n == MNT_DATA_LEN && !memcmp(p, MNT_DATA, MNT_DATA_LEN)) || (n == 1 && p[0] == '/')) {
		n = 0;
	} else if (n > MNT_DATA_LEN && !memcmp(p, MNT_DATA "/", MNT_DATA_LEN + 1)) {
		p += MNT_DATA_LEN + 1;
		n -= MNT_DATA_LEN + 1;
	} else if (n > 0 && p[0] == '/') {
		return -EINVAL;
	}
	cleanup_free char *res = malloc(n + 1);
	if (!res)
		return -ENOMEM;
	size_t rlen = 0;
	res[0] = '\0';
	int rc = append_segments(p, n, res, &rlen);
	if (rc < 0)
		return rc;
	*out = steal_pointer(&res);
	return 0;
}

int filepath_effective(const char *dir, size_t dir_len, const char *name, size_t name_len,
		       char **out)
{
	cleanup_free char *d = NULL;
	cleanup_free char *nm = NULL;
	int rc = filepath_normalize(dir ? dir : "", dir ? dir_len : 0, &d);
	if (rc < 0)
		return rc;
	rc = filepath_normalize(name, name_len, &nm);
	if (rc < 0)
		return rc;
	/* A name ending in '/' names a directory, not a file (§9.1 step 5). */
	if (!*nm || name[name_len - 1] == '/')
		return -EINVAL;
	size_t dl = strlen(d), nl = strlen(nm);
	if (dl + (dl ? 1 : 0) + nl > FILEPATH_PATH_MAX)
		return -ENAMETOOLONG;
	if (!dl) {
		*out = steal_pointer(&nm);
		return 0;
	}
	char *res = malloc(dl + 1 + nl + 1);
	if (!res)
		return -ENOMEM;
	memcpy(res, d, dl);
	res[dl] = '/';
	memcpy(res + dl + 1, nm, nl + 1);
	*out = res;
	return 0;
}

const char *filepath_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

size_t filepath_dirname_len(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? (size_t)(slash - path) : 0;
}
