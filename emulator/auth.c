/* SPDX-License-Identifier: MIT */
/*
 * Bearer-token checks; see auth.h. Strict mode follows Azurite's "--oauth basic": it decodes the
 * JWT and checks audience and lifetime with 300 s of clock skew, but trusts the signature.
 */
#include "auth.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "cleanup.h"
#include "spjson.h"

#define SKEW_S 300

static const char *const audiences[] = {"https://dynamicsessions.io", "https://dynamicsessions.io/",
					"https://acasessions.io", "https://acasessions.io/"};

static bool aud_ok(const struct config *c, const char *a)
{
	for (size_t i = 0; i < sizeof(audiences) / sizeof(*audiences); i++)
		if (!strcmp(a, audiences[i]))
			return true;
	return config_list_contains(c->extra_audiences, a);
}

static cJSON *decode_segment(const char *s, size_t len)
{
	size_t n = 0;
	cleanup_free char *raw = NULL;
	if (sp_b64_decode(s, len, SP_B64_URL, &raw, &n) < 0 || strlen(raw) != n)
		return NULL;
	cJSON *j = sp_json_parse(raw, n, n, SP_JSON_DEPTH_MAX, NULL);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static int fail(char *msg, size_t msglen, const char *why)
{
	snprintf(msg, msglen, "%s", why);
	return -1;
}

static int check_jwt(const struct config *c, const char *tok, int64_t now, char *msg, size_t msglen)
{
	const char *d1 = strchr(tok, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return fail(msg, msglen,
			    "The bearer token is not a JWT (three base64url segments).");
	cleanup_cjson cJSON *hdr = decode_segment(tok, (size_t)(d1 - tok));
	cleanup_cjson cJSON *pay = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!hdr || !pay)
		return fail(msg, msglen,
			    "The bearer token's header or payload is not a base64url JSON object.");
	cJSON *aud = cJSON_GetObjectItemCaseSensitive(pay, "aud");
	bool ok = false;
	if (cJSON_IsString(aud)) {
		ok = aud_ok(c, aud->valuestring);
	} else if (cJSON_IsArray(aud)) {
		cJSON *a;
		cJSON_ArrayForEach(a, aud) if (cJSON_IsString(a) && aud_ok(c, a->valuestring)) ok =
		    true;
	}
	if (!ok)
		return fail(msg, msglen,
			    "The bearer token's audience (aud) is not https://dynamicsessions.io.");
	cJSON *exp = cJSON_GetObjectItemCaseSensitive(pay, "exp");
	if (!cJSON_IsNumber(exp))
		return fail(msg, msglen, "The bearer token has no numeric expiry (exp).");
	if (!((double)now < exp->valuedouble + SKEW_S))
		return fail(msg, msglen, "The bearer token has expired (exp).");
	cJSON *nbf = cJSON_GetObjectItemCaseSensitive(pay, "nbf");
	if (nbf) {
		if (!cJSON_IsNumber(nbf))
			return fail(msg, msglen, "The bearer token's nbf is not a number.");
		if (!(nbf->valuedouble <= (double)now + SKEW_S))
			return fail(msg, msglen, "The bearer token is not valid yet (nbf).");
	}
	return 0;
}

int auth_check(const struct config *c, const char *hdr, int64_t now, char *msg, size_t msglen)
{
	if (!hdr)
		return fail(msg, msglen, "A bearer token is required.");
	if (strncasecmp(hdr, "Bearer", 6) != 0 || (hdr[6] != ' ' && hdr[6] != '\t'))
		return fail(msg, msglen, "The Authorization header must use the Bearer scheme.");
	const char *tok = hdr + 6;
	while (*tok == ' ' || *tok == '\t')
		tok++;
	if (!*tok)
		return fail(msg, msglen, "The bearer token is empty.");
	for (const char *p = tok; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\v' || *p == '\f')
			return fail(msg, msglen, "The bearer token contains whitespace.");
	if (c->auth_mode == AUTH_MODE_ANY)
		return 0;
	if (c->static_token && !strcmp(tok, c->static_token))
		return 0;
	return check_jwt(c, tok, now, msg, msglen);
}
