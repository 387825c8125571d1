/* SPDX-License-Identifier: MIT */
/* repl_src.h: sandbox/repl.py, embedded at build time (generated repl_src.c, see embed.cmake). */
#pragma once

#include <stddef.h>

extern const unsigned char sbx_repl_src[]; /* NUL-terminated */
extern const size_t sbx_repl_src_len;	   /* without the NUL */
