/* SPDX-License-Identifier: MIT */
/* names.c: isolation mode names, shared by the client library and the zygote's command line. */
#include <errno.h>
#include <string.h>

#include "sandbox.h"

static const char *const names[] = {
    [SBX_ISOLATION_AUTO] = "auto",
    [SBX_ISOLATION_FULL] = "full",
    [SBX_ISOLATION_DEGRADED] = "degraded",
};

const char *sbx_isolation_name(enum sbx_isolation mode)
{
	if ((unsigned)mode < sizeof(names) / sizeof(names[0]))
		return names[mode];
	return "unknown";
}

int sbx_isolation_parse(const char *name, enum sbx_isolation *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (name && strcmp(name, names[i]) == 0) {
			*out = (enum sbx_isolation)i;
			return 0;
		}
	}
	return -EINVAL;
}
