/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the Authorization header in --auth-mode strict (emulator/auth.c), the check that
 * runs before anything else on every request, so before authentication. A fixed clock
 * (FUZZ_NOW) stands in for time(); a static token and extra audiences are configured. The first
 * byte picks how the rest is used:
 *   'R'  the rest is the whole header value ("Bearer …", other schemes, whitespace…);
 *   'J'  the rest is "HEADER-JSON\nPAYLOAD-JSON[\nSIGNATURE]": the harness base64url-encodes
 *        the two JSON texts, so mutations work on the JSON a JWT carries;
 *   else the whole input is the token after "Bearer ".
 * Checks beyond "no crash": a refusal always says why.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "b64.h"
#include "config.h"
#include "fuzz.h"

#define FUZZ_NOW INT64_C(1750000000) /* 2025-06-15T15:06:40Z */

/* "Bearer " + b64url(header) + "." + b64url(payload) + "." + signature, as a new string. */
static char *jwt_header(const char *in, size_t len)
{
	const char *nl1 = memchr(in, '\n', len);
	if (!nl1)
		return NULL;
	const char *pay = nl1 + 1;
	const char *nl2 = memchr(pay, '\n', len - (size_t)(pay - in));
	size_t pay_len = nl2 ? (size_t)(nl2 - pay) : len - (size_t)(pay - in);
	const char *sig = nl2 ? nl2 + 1 : "c2ln";
	size_t sig_len = nl2 ? len - (size_t)(sig - in) : 4;
	char *out = malloc(7 + (len / 3 + 2) * 4 + 2 + sig_len + 1);
	if (!out)
		return NULL;
	char *o = out;
	memcpy(o, "Bearer ", 7);
	o += 7;
	o += sp_b64_encode(in, (size_t)(nl1 - in), SP_B64_URL, o);
	*o++ = '.';
	o += sp_b64_encode(pay, pay_len, SP_B64_URL, o);
	*o++ = '.';
	memcpy(o, sig, sig_len);
	o[sig_len] = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char token[] = "static-fuzz-token";
	static char extra[] = "api://sessionpool,https://extra.example";
	static struct config cfg = {
	    .auth_mode = AUTH_MODE_STRICT,
	    .static_token = token,
	    .extra_audiences = extra,
	};
	const char *in = (const char *)data;
	char *hdr = NULL;
	if (size > 0 && in[0] == 'R') {
		hdr = strndup(in + 1, size - 1);
	} else if (size > 0 && in[0] == 'J') {
		hdr = jwt_header(in + 1, size - 1);
	} else {
		hdr = malloc(7 + size + 1);
		if (hdr) {
			memcpy(hdr, "Bearer ", 7);
			memcpy(hdr + 7, in, size);
			hdr[7 + size] = '\0';
		}
	}
	if (!hdr)
		return 0;
	char msg[256] = "";
	if (auth_check(&cfg, hdr, FUZZ_NOW, msg, sizeof(msg)) != 0 && !msg[0])
		abort();
	free(hdr);
	return 0;
}
