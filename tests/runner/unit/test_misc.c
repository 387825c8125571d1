/* SPDX-License-Identifier: MIT */
/* SHA-256 vectors, redaction, token helpers, target URLs and the command line. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "helpers.h"
#include "redact.h"
#include "sha256.h"
#include "target.h"
#include "token.h"

static void digest(const char *s, size_t len, size_t chunk, char hex[65])
{
	struct sha256 h;
	sha256_init(&h);
	for (size_t off = 0; off < len; off += chunk)
		sha256_update(&h, s + off, len - off < chunk ? len - off : chunk);
	sha256_final_hex(&h, hex);
}

Test(sha256, nist_vectors_any_chunking)
{
	char hex[65];
	digest("", 0, 1, hex);
	cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest("abc", 3, 1, hex);
	cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	static const char m[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	for (size_t chunk = 1; chunk < 70; chunk += 7) {
		digest(m, strlen(m), chunk, hex);
		cr_expect_str_eq(
		    hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	}
}

Test(redact, secrets_are_replaced_everywhere)
{
	redact_register("s3cr3t-token");
	redact_register("abc"); /* too short to be a token: ignored */
	size_t len = 0;
	static const char in[] = "Bearer s3cr3t-token and s3cr3t-tokens; abc";
	cleanup_free char *out = redact_dup(in, sizeof(in) - 1, &len);
	cr_expect_str_eq(out, "Bearer <redacted> and <redacted>s; abc");
	cr_expect_eq(len, strlen(out));
	cleanup_free char *empty = redact_dup(NULL, 0, NULL);
	cr_expect_str_eq(empty, "");
	redact_clear();
	cleanup_free char *after = redact_dup(in, sizeof(in) - 1, NULL);
	cr_expect_str_eq(after, in);
}

Test(token, jwt_exp_and_sources)
{
	/* {"alg":"none"}.{"aud":"https://dynamicsessions.io","exp":4102444800}. */
	static const char jwt[] = "eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2R5bmFtaWNzZXNzaW9ucy5p"
				  "byIsImV4cCI6NDEwMjQ0NDgwMH0.";
	cr_expect_eq(token_jwt_exp(jwt), 4102444800LL);
	cr_expect_eq(token_jwt_exp("opaque"), 0);
	struct token_source *t = NULL;
	cr_assert_eq(token_source_new(TOKEN_COMMAND, "printf ' tok-from-cmd \\n'", &t, NULL), 0);
	char *tok = NULL;
	cr_assert_eq(token_get(t, &tok, NULL), 0);
	cr_expect_str_eq(tok, "tok-from-cmd");
	cr_expect(token_reject(t, tok));
	free(tok);
	token_source_free(t);
	struct sp_err err = {0};
	cr_assert_eq(token_source_new(TOKEN_COMMAND, "exit 3", &t, NULL), 0);
	cr_expect_lt(token_get(t, &tok, &err), 0);
	cr_expect(strstr(err.msg, "status 3"), "%s", err.msg);
	token_source_free(t);
	setenv("SP_TEST_TOKEN", "from-env", 1);
	cr_assert_eq(token_source_new(TOKEN_ENV, "SP_TEST_TOKEN", &t, NULL), 0);
	cr_assert_eq(token_get(t, &tok, NULL), 0);
	cr_expect_str_eq(tok, "from-env");
	cr_expect(!token_reject(t, tok), "an env token cannot be refreshed");
	free(tok);
	token_source_free(t);
	cr_assert_eq(token_source_new(TOKEN_ENV, "SP_TEST_TOKEN_UNSET", &t, NULL), 0);
	cr_expect_lt(token_get(t, &tok, &err), 0);
	token_source_free(t);
	redact_clear();
}

/* A nested JSON text: |depth| arrays around 1, inside |before| … |after|. */
static char *nested(const char *before, size_t depth, const char *after)
{
	size_t lb = strlen(before), la = strlen(after);
	char *s = malloc(lb + 2 * depth + 2 + la);
	cr_assert_not_null(s);
	memcpy(s, before, lb);
	memset(s + lb, '[', depth);
	s[lb + depth] = '1';
	memset(s + lb + depth + 1, ']', depth);
	memcpy(s + lb + 2 * depth + 1, after, la + 1);
	return s;
}

Test(token, jwt_payload_nesting_bounded)
{
	/* {"alg":"none"} . {"exp":7,"x":[…1…]} at depths 60 and 70; base64url via a table. */
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static const size_t depths[] = {60, 70};
	static const int64_t want[] = {7, 0};
	for (size_t k = 0; k < 2; k++) {
		cleanup_free char *pay = nested("{\"exp\":7,\"x\":", depths[k], "}");
		size_t n = strlen(pay);
		cleanup_free char *tok = malloc(32 + n * 2);
		cr_assert_not_null(tok);
		char *o = tok + sprintf(tok, "eyJhbGciOiJub25lIn0.");
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned char)pay[i] << 16;
			if (i + 1 < n)
				v |= (unsigned char)pay[i + 1] << 8;
			if (i + 2 < n)
				v |= (unsigned char)pay[i + 2];
			*o++ = alpha[v >> 18 & 63];
			*o++ = alpha[v >> 12 & 63];
			if (i + 1 < n)
				*o++ = alpha[v >> 6 & 63];
			if (i + 2 < n)
				*o++ = alpha[v & 63];
		}
		strcpy(o, ".");
		cr_expect_eq(token_jwt_exp(tok), want[k], "depth %zu", depths[k]);
	}
}

Test(target, file_nesting_bounded)
{
	char dir[] = "/tmp/sp-target-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	static const size_t depths[] = {100, 200};
	for (size_t k = 0; k < 2; k++) {
		char path[64];
		snprintf(path, sizeof(path), "%s/t%zu.json", dir, depths[k]);
		cleanup_free char *text = nested(
		    "{\"name\":\"deep\",\"base_url\":\"http://127.0.0.1:9\",\"vars\":{\"v\":",
		    depths[k], "}}");
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fputs(text, f);
		fclose(f);
		struct target_spec s;
		target_spec_init(&s);
		struct sp_err err = {0};
		int rc = target_spec_load_file(path, &s, &err);
		if (depths[k] <= 128) {
			cr_expect_eq(rc, 0, "%s", err.msg);
		} else {
			cr_expect_lt(rc, 0);
			cr_expect(strstr(err.msg, path) && strstr(err.msg, "nested more than 128"),
				  "%s", err.msg);
		}
		target_spec_fini(&s);
		unlink(path);
	}
	rmdir(dir);
}

Test(target, split_url)
{
	char *origin = NULL, *prefix = NULL, *pool = NULL;
	cr_assert_eq(target_split_url("https://westus2.dynamicsessions.io/subscriptions/s/"
				      "resourceGroups/rg/sessionPools/my-pool/",
				      &origin, &prefix, &pool, NULL),
		     0);
	cr_expect_str_eq(origin, "https://westus2.dynamicsessions.io");
	cr_expect_str_eq(prefix, "/subscriptions/s/resourceGroups/rg/sessionPools/my-pool");
	cr_expect_str_eq(pool, "my-pool");
	free(origin), free(prefix), free(pool);
	cr_assert_eq(target_split_url("http://127.0.0.1:8080", &origin, &prefix, &pool, NULL), 0);
	cr_expect_str_eq(origin, "http://127.0.0.1:8080");
	cr_expect_str_eq(prefix, "");
	cr_expect_null(pool);
	free(origin), free(prefix), free(pool);
	cr_expect_lt(target_split_url("ftp://x", &origin, &prefix, &pool, NULL), 0);
	cr_expect_lt(target_split_url("http://x/?a=b", &origin, &prefix, &pool, NULL), 0);
	cr_expect_lt(target_split_url("http:///path", &origin, &prefix, &pool, NULL), 0);
}

Test(target, capabilities)
{
	struct target_spec s;
	target_spec_init(&s);
	s.emulator = strdup("/bin/true");
	cr_expect(target_cap_known("short-cooldown"));
	cr_expect(!target_cap_known("warp-drive"));
	cr_expect(target_cap_exclusive("small-capacity"));
	cr_expect(!target_cap_exclusive("deny-role"));
	cr_expect(target_spec_offers(&s, NULL, 0, "any-auth"), "implicit on the default instance");
	cr_expect(!target_spec_offers(&s, NULL, 0, "strict-auth"));
	const char *needs[] = {"strict-auth"};
	cr_expect(target_spec_offers(&s, needs, 1, "strict-auth"));
	cr_expect(!target_spec_offers(&s, needs, 1, "any-auth"), "same slot as strict-auth");
	target_spec_fini(&s);
	target_spec_init(&s);
	s.url = strdup("https://pool.example");
	cr_expect(!target_spec_offers(&s, NULL, 0, "any-auth"), "a URL offers what it declares");
	target_spec_fini(&s);
}

Test(cli, target_options_scope)
{
	const char *args[] = {"--cacert",
			      "ca.pem",
			      "--token-env",
			      "TOK",
			      "--emulator",
			      "bin/emu",
			      "--emulator-arg",
			      "--auth-mode",
			      "--prefix",
			      "/subscriptions/s/resourceGroups/r/sessionPools/p",
			      "--target",
			      "https://h/subscriptions/s/resourceGroups/r/sessionPools/q",
			      "--name",
			      "azure",
			      "--capability",
			      "short-cooldown",
			      "-j",
			      "4",
			      "--tag",
			      "smoke",
			      "dir1"};
	struct cli c;
	struct sp_err err = {0};
	cr_assert_eq(u_parse_cli(&c, args, sizeof(args) / sizeof(args[0]), &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_specs, 2);
	cr_expect_str_eq(c.specs[0].emulator, "bin/emu");
	cr_expect_str_eq(c.specs[0].cacert, "ca.pem");
	cr_expect_eq(c.specs[0].token_kind, TOKEN_ENV);
	cr_expect_eq(c.specs[0].n_emu_args, 1);
	cr_expect_str_eq(c.specs[1].name, "azure");
	cr_expect_str_eq(c.specs[1].cacert, "ca.pem");
	cr_expect_eq(c.specs[1].n_caps, 1);
	cr_expect_eq(c.jobs, 4);
	cr_expect_eq(c.n_tags, 1);
	cr_expect_eq(c.n_paths, 1);
	cr_expect_str_eq(c.paths[0], "dir1");
	cr_expect(c.run_id && strncmp(c.run_id, "spc", 3) == 0);
	cli_fini(&c);
}

Test(cli, usage_errors)
{
	static const char *const cases[][6] = {
	    {"--bogus"},
	    {"-j", "0", "--emulator", "x"},
	    {"dir"},
	    {"--target", "ftp://x"},
	    {"--target", "http://x", "--prefix", "/a"},
	    {"--emulator", "x", "--capability", "nope"},
	    {"--emulator", "x", "--capability", "small-capacity"},
	    {"--emulator", "x", "--run-id", "a b"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 0;
		while (n < 6 && cases[i][n])
			n++;
		struct cli c;
		struct sp_err err = {0};
		cr_expect_eq(u_parse_cli(&c, (const char *const *)cases[i], n, &err), -EINVAL,
			     "case %zu", i);
		cr_expect(err.msg[0], "case %zu has no message", i);
	}
}
