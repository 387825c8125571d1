/* SPDX-License-Identifier: MIT */
/*
 * Authentication (contract §2): the bearer header's form, and in strict mode the static token
 * or the JWT claims (aud, exp, nbf; never the signature).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Checks the Authorization header |hdr| (NULL when absent) at Unix time |now|.
 * Returns 0 when accepted; -1 with a one-line reason in |msg| otherwise.
 */
int auth_check(const struct config *c, const char *hdr, int64_t now, char *msg, size_t msglen);
