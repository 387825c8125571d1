/* SPDX-License-Identifier: MIT */
/*
 * The playground's files (playground/ in the source tree), embedded at build time by
 * playground.cmake: the emulator serves them at /playground/ with no file to install and no
 * network (api_playground.c).
 */
#pragma once

#include <stddef.h>

struct playground_file {
	const char *name; /* "index.html"; NULL ends the table */
	const unsigned char *data;
	size_t len;
};

extern const struct playground_file playground_files[];
