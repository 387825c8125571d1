/* SPDX-License-Identifier: MIT */
/* Authentication (contract §2): header form; strict mode's static token and JWT claims. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "b64.h"

#define NOW 1700000000

/* base64url without padding */
static char *b64url(const char *s)
{
	return sp_b64_encode_alloc(s, strlen(s), SP_B64_URL);
}

static char *jwt_header(const char *payload)
{
	char *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
	char *p = b64url(payload);
	char *out = malloc(strlen(h) + strlen(p) + 32);
	sprintf(out, "Bearer %s.%s.sig", h, p);
	free(h);
	free(p);
	return out;
}

static int check(struct config *c, const char *hdr)
{
	char msg[256];
	return auth_check(c, hdr, NOW, msg, sizeof(msg));
}

Test(auth, header_form_in_any_mode)
{
	struct config c;
	config_init(&c);
	cr_expect_eq(check(&c, "Bearer abc"), 0);
	cr_expect_eq(check(&c, "bearer abc"), 0);
	cr_expect_eq(check(&c, "BEARER   abc"), 0);
	cr_expect_eq(check(&c, NULL), -1);
	cr_expect_eq(check(&c, "Basic abc"), -1);
	cr_expect_eq(check(&c, "Bearer"), -1);
	cr_expect_eq(check(&c, "Bearer "), -1);
	cr_expect_eq(check(&c, "Bearerabc"), -1);
	cr_expect_eq(check(&c, "Bearer a b"), -1);
	config_fini(&c);
}

Test(auth, strict_mode_claims)
{
	struct config c;
	config_init(&c);
	c.auth_mode = AUTH_MODE_STRICT;
	char buf[512];
	struct {
		const char *aud;
		long exp_off;
		const char *nbf;
		int want;
	} rows[] = {
	    {"\"https://dynamicsessions.io\"", 3600, NULL, 0},
	    {"\"https://dynamicsessions.io/\"", 3600, NULL, 0},
	    {"\"https://acasessions.io\"", 3600, NULL, 0},
	    {"[\"x\",\"https://acasessions.io/\"]", 3600, NULL, 0},
	    {"\"https://example.com\"", 3600, NULL, -1},
	    {"[\"x\"]", 3600, NULL, -1},
	    {"\"https://dynamicsessions.io\"", -200, NULL, 0},	/* within the 300 s skew */
	    {"\"https://dynamicsessions.io\"", -400, NULL, -1}, /* expired */
	    {"\"https://dynamicsessions.io\"", 3600, "1700000200", 0},
	    {"\"https://dynamicsessions.io\"", 3600, "1700000400", -1},
	    {"\"https://dynamicsessions.io\"", 3600, "\"soon\"", -1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].nbf)
			snprintf(buf, sizeof(buf), "{\"aud\":%s,\"exp\":%ld,\"nbf\":%s}",
				 rows[i].aud, NOW + rows[i].exp_off, rows[i].nbf);
		else
			snprintf(buf, sizeof(buf), "{\"aud\":%s,\"exp\":%ld}", rows[i].aud,
				 NOW + rows[i].exp_off);
		char *h = jwt_header(buf);
		cr_expect_eq(check(&c, h), rows[i].want, "row %zu: %s", i, buf);
		free(h);
	}
	char *no_exp = jwt_header("{\"aud\":\"https://dynamicsessions.io\"}");
	cr_expect_eq(check(&c, no_exp), -1);
	free(no_exp);
	cr_expect_eq(check(&c, "Bearer not-a-jwt"), -1);
	cr_expect_eq(check(&c, "Bearer a.b.c"), -1);
	cr_expect_eq(check(&c, "Bearer a.b.c.d"), -1);
	config_fini(&c);
}

Test(auth, strict_mode_static_token_and_extra_audience)
{
	struct config c;
	config_init(&c);
	c.auth_mode = AUTH_MODE_STRICT;
	c.static_token = strdup("s3cret");
	c.extra_audiences = strdup("api://mine, api://other");
	cr_expect_eq(check(&c, "Bearer s3cret"), 0);
	cr_expect_eq(check(&c, "Bearer s3cret2"), -1);
	char buf[128];
	snprintf(buf, sizeof(buf), "{\"aud\":\"api://other\",\"exp\":%d}", NOW + 60);
	char *h = jwt_header(buf);
	cr_expect_eq(check(&c, h), 0);
	free(h);
	char msg[256];
	cr_expect_eq(auth_check(&c, "Bearer zzz", NOW, msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "JWT"), "%s", msg);
	config_fini(&c);
}
