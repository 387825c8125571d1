/* SPDX-License-Identifier: MIT */
/*
 * The MCP key of a target: given on the command line, from a variable or in a target file,
 * checked, registered for redaction, offered as {{mcp_key}}, and what skips "mcp" scenarios on
 * a target without one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "helpers.h"
#include "redact.h"
#include "runner.h"
#include "scenario.h"
#include "target.h"
#include "vars.h"

Test(mcp_key, options_scope_like_tokens)
{
	setenv("SP_TEST_MCP_KEY", "key-from-env", 1);
	static const char *const args[] = {
	    "--mcp-key",     "default-key",
	    "--emulator",    "bin/emu",
	    "--target",	     "https://h/subscriptions/s/resourceGroups/r/sessionPools/q",
	    "--mcp-key-env", "SP_TEST_MCP_KEY",
	    "--target",	     "https://h2",
	    "--mcp-key",     "k1",
	    "--mcp-key",     "last-one-wins"};
	struct cli c;
	struct sp_err err = {0};
	cr_assert_eq(u_parse_cli(&c, args, sizeof(args) / sizeof(args[0]), &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_specs, 3);
	cr_expect_str_eq(c.specs[0].mcp_key, "default-key", "a default for later targets");
	cr_expect_null(c.specs[0].mcp_key_env);
	cr_expect_null(c.specs[1].mcp_key, "the target's own --mcp-key-env replaces the default");
	cr_expect_str_eq(c.specs[1].mcp_key_env, "SP_TEST_MCP_KEY");
	cr_expect_str_eq(c.specs[2].mcp_key, "last-one-wins");
	cli_fini(&c);
	unsetenv("SP_TEST_MCP_KEY");
	redact_clear();
}

Test(mcp_key, unusable_keys_are_usage_errors)
{
	unsetenv("SP_TEST_MCP_UNSET");
	static const struct {
		const char *args[6];
		const char *msg;
	} cases[] = {
	    {{"--target", "http://h", "--mcp-key", "abc"}, "shorter than 4 bytes"},
	    {{"--target", "http://h", "--mcp-key", "key\r\nX-Evil: 1"}, "a control character"},
	    {{"--target", "http://h", "--mcp-key-env", "SP_TEST_MCP_UNSET"},
	     "the environment variable SP_TEST_MCP_UNSET is unset or empty"},
	    {{"--emulator", "e", "--emulator-arg", "--mcp-api-key", "--emulator-arg", "ab"},
	     "--mcp-api-key is shorter than 4 bytes"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 0;
		while (n < 6 && cases[i].args[n])
			n++;
		struct cli c;
		struct sp_err err = {0};
		cr_expect_eq(u_parse_cli(&c, cases[i].args, n, &err), -EINVAL, "case %zu", i);
		cr_expect(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
	}
	/* The emulator's own --mcp-api-key is the key, and a different --mcp-key is refused. */
	static const char *const differ[] = {
	    "--emulator",     "e",	  "--emulator-arg", "--mcp-api-key",
	    "--emulator-arg", "flag-key", "--mcp-key",	    "other-key"};
	struct cli c;
	struct sp_err err = {0};
	cr_expect_eq(u_parse_cli(&c, differ, 8, &err), -EINVAL);
	cr_expect(strstr(err.msg, "differs from the emulator's --mcp-api-key"), "%s", err.msg);
	cr_expect(!strstr(err.msg, "other-key") && !strstr(err.msg, "flag-key"), "%s", err.msg);
	cr_expect_eq(u_parse_cli(&c, differ, 6, &err), 0, "%s", err.msg);
	cli_fini(&c);
	redact_clear();
}

Test(mcp_key, target_file_keys)
{
	struct target_spec s;
	struct sp_err err = {0};
	cr_assert_eq(
	    u_load_target_text("{\"base_url\":\"http://h\",\"mcp_key\":\"file-key\"}", &s, &err), 0,
	    "%s", err.msg);
	cr_expect_str_eq(s.mcp_key, "file-key");
	target_spec_fini(&s);
	cr_assert_eq(
	    u_load_target_text("{\"base_url\":\"http://h\",\"mcp_key_env\":\"V\"}", &s, &err), 0);
	cr_expect_str_eq(s.mcp_key_env, "V");
	target_spec_fini(&s);
	cr_expect_lt(
	    u_load_target_text(
		"{\"base_url\":\"http://h\",\"mcp_key\":\"abcd\",\"mcp_key_env\":\"V\"}", &s, &err),
	    0);
	cr_expect(strstr(err.msg, "give one of mcp_key, mcp_key_env"), "%s", err.msg);
	target_spec_fini(&s);
	cr_expect_lt(u_load_target_text("{\"base_url\":\"http://h\",\"mcp_key\":42}", &s, &err), 0);
	cr_expect(strstr(err.msg, "mcp_key: expected a string"), "%s", err.msg);
	target_spec_fini(&s);
}

static const char *var(const struct target *t, const char *name)
{
	const cJSON *v = vars_get(t->vars, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(mcp_key, variable_and_redaction)
{
	struct target_spec s;
	target_spec_init(&s);
	s.url = strdup("http://127.0.0.1:9");
	s.mcp_key_env = strdup("SP_TEST_MCP_KEY2");
	setenv("SP_TEST_MCP_KEY2", "the-secret-mcp-key", 1);
	struct sp_err err = {0};
	struct target *t = NULL;
	cr_assert_eq(target_open(&s, NULL, 0, NULL, NULL, &t, &err), 0, "%s", err.msg);
	cr_expect_str_eq(t->mcp_key, "the-secret-mcp-key");
	cr_expect_str_eq(var(t, "mcp_key"), "the-secret-mcp-key");
	static const char line[] = "x-ms-apikey: the-secret-mcp-key";
	cleanup_free char *shown = redact_dup(line, sizeof(line) - 1, NULL);
	cr_expect_str_eq(shown, "x-ms-apikey: <redacted>");
	target_close(t, NULL);
	target_spec_fini(&s);
	unsetenv("SP_TEST_MCP_KEY2");

	/* No key: no variable. */
	target_spec_init(&s);
	s.url = strdup("http://127.0.0.1:9");
	cr_assert_eq(target_open(&s, NULL, 0, NULL, NULL, &t, &err), 0, "%s", err.msg);
	cr_expect_null(t->mcp_key);
	cr_expect_null(vars_get(t->vars, "mcp_key"));
	target_close(t, NULL);
	target_spec_fini(&s);
	redact_clear();
}

#define SCN(tags)                                                                                  \
	"{\"description\":\"d MUST hold\",\"provenance\":{\"sections\":[\"§13.1\"],\"tags\":"     \
	"[\"DOC\"]},\"tags\":" tags ",\"steps\":[{\"request\":{\"method\":\"POST\",\"path\":"      \
	"\"/mcp\"}}]}"

Test(mcp_key, mcp_scenarios_need_a_key)
{
	struct scn *mcp = NULL, *plain = NULL;
	struct sp_err err = {0};
	cr_assert_eq(
	    scn_parse(SCN("[\"mcp\"]"), strlen(SCN("[\"mcp\"]")), "a.json", "mcp/a", &mcp, &err), 0,
	    "%s", err.msg);
	cr_assert_eq(scn_parse(SCN("[\"smoke\"]"), strlen(SCN("[\"smoke\"]")), "b.json", "x/b",
			       &plain, &err),
		     0, "%s", err.msg);
	char buf[160];
	struct target_spec url;
	target_spec_init(&url);
	url.url = strdup("https://pool.example");
	cr_expect(!target_spec_has_mcp_key(&url));
	const char *why = runner_skip_reason(mcp, &url, TARGET_REAL, buf, sizeof(buf));
	cr_assert_not_null(why);
	cr_expect(strstr(why, "mcp: no MCP key for this target (--mcp-key, --mcp-key-env"), "%s",
		  why);
	cr_expect_null(runner_skip_reason(plain, &url, TARGET_REAL, buf, sizeof(buf)));
	url.mcp_key_env = strdup("V");
	cr_expect(target_spec_has_mcp_key(&url));
	cr_expect_null(runner_skip_reason(mcp, &url, TARGET_REAL, buf, sizeof(buf)));
	target_spec_fini(&url);

	struct target_spec emu;
	target_spec_init(&emu);
	emu.emulator = strdup("bin/emu");
	cr_expect(target_spec_has_mcp_key(&emu), "an emulator gets a random key");
	cr_expect_null(runner_skip_reason(mcp, &emu, TARGET_EMULATOR, buf, sizeof(buf)));
	target_spec_fini(&emu);
	scn_free(mcp);
	scn_free(plain);
}
