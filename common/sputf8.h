/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation: the well-formed byte sequences are exactly those of Unicode Table 3-7 (no
 * overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence); U+0000 is
 * well-formed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Length (1-4) of the well-formed sequence at |s| (|n| > 0 bytes available), or 0 when it is
 * ill-formed; then *bad (may be NULL) is the length of its maximal ill-formed subpart (Unicode
 * §3.9), the bytes one U+FFFD replaces.
 */
size_t sp_utf8_next(const unsigned char *s, size_t n, size_t *bad);

/* True when |len| bytes of |s| are well-formed UTF-8; *cps (may be NULL) is then their number
 * of code points. */
bool sp_utf8_valid(const char *s, size_t len, size_t *cps);
