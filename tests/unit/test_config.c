/* SPDX-License-Identifier: MIT */
/* Settings: defaults, environment, flags, precedence, errors, --help (contract §1.7). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

static int parse(struct config *c, char **argv, char **envp, struct sp_err *err)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	FILE *devnull = fopen("/dev/null", "w");
	int r = config_parse(c, argc, argv, envp, devnull, err);
	fclose(devnull);
	return r;
}

Test(config, defaults_match_the_contract)
{
	struct config c;
	config_init(&c);
	cr_expect_str_eq(c.listen, "127.0.0.1:8080");
	cr_expect_eq(c.cooldown_seconds, 300);
	cr_expect_eq(c.max_sessions, 100);
	cr_expect_eq(c.list_page_size, 300);
	cr_expect_eq(c.upload_max_bytes, 134217728);
	cr_expect_eq(c.json_body_max_bytes, 16777216);
	cr_expect_eq(c.exec_timeout_default_s, 220);
	cr_expect_eq(c.exec_timeout_max_s, 220);
	cr_expect_eq(c.interrupt_grace_s, 5);
	cr_expect_eq(c.output_streams_max_default, 4096);
	cr_expect_eq(c.execution_records_per_session, 100);
	cr_expect_eq(c.auth_mode, AUTH_MODE_ANY);
	cr_expect_null(c.static_token);
	cr_expect_not(c.deny_role);
	cr_expect_eq(c.api_version_mode, API_VERSION_STRICT);
	cr_expect_str_eq(c.pool_name, "emulator-pool");
	cr_expect_not(c.egress);
	cr_expect_str_eq(c.isolation, "auto");
	cr_expect_eq(c.session_memory_mb, 2048);
	cr_expect_eq(c.session_max_processes, 128);
	cr_expect_eq(c.session_disk_mb, 1024);
	config_fini(&c);
}

Test(config, flags_override_environment)
{
	struct config c;
	struct sp_err err = {0};
	config_init(&c);
	char *envp[] = {"SESSIONPOOL_COOLDOWN_SECONDS=7", "SESSIONPOOL_MAX_SESSIONS=3",
			"SESSIONPOOL_AUTH_MODE=strict", "OTHER=1", NULL};
	char *argv[] = {"emu",	       "--cooldown-seconds",
			"2",	       "--listen=127.0.0.1:0",
			"--deny-role", "--egress",
			"enabled",     "--extra-audiences",
			"a,b",	       NULL};
	cr_assert_eq(parse(&c, argv, envp, &err), 0, "%s", err.msg);
	cr_expect_eq(c.cooldown_seconds, 2);
	cr_expect_eq(c.max_sessions, 3);
	cr_expect_eq(c.auth_mode, AUTH_MODE_STRICT);
	cr_expect_str_eq(c.listen, "127.0.0.1:0");
	cr_expect(c.deny_role);
	cr_expect(c.egress);
	cr_expect(config_list_contains(c.extra_audiences, "b"));
	cr_expect_not(config_list_contains(c.extra_audiences, "c"));
	config_fini(&c);
}

Test(config, bool_flag_followed_by_another_flag)
{
	struct config c;
	struct sp_err err = {0};
	config_init(&c);
	char *argv[] = {"emu", "--deny-role", "--max-sessions", "5", "--quiet", "off", NULL};
	cr_assert_eq(parse(&c, argv, NULL, &err), 0, "%s", err.msg);
	cr_expect(c.deny_role);
	cr_expect_eq(c.max_sessions, 5);
	cr_expect_not(c.quiet);
	config_fini(&c);
}

Test(config, bad_values_are_rejected_with_a_message)
{
	struct {
		char *argv[4];
		const char *needle;
	} cases[] = {
	    {{"emu", "--cooldown-seconds", "0", NULL}, "--cooldown-seconds"},
	    {{"emu", "--cooldown-seconds", "-1", NULL}, "whole number"},
	    {{"emu", "--max-sessions", "ten", NULL}, "--max-sessions"},
	    {{"emu", "--auth-mode", "none", NULL}, "any|strict"},
	    {{"emu", "--isolation", "weak", NULL}, "auto|full|degraded"},
	    {{"emu", "--nope", NULL}, "unknown flag"},
	    {{"emu", "--listen", NULL}, "needs a value"},
	    {{"emu", "stray", NULL}, "unexpected argument"},
	    {{"emu", "--egress", "maybe", NULL}, "on/off"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		struct sp_err err = {0};
		config_init(&c);
		cr_expect_lt(parse(&c, cases[i].argv, NULL, &err), 0, "case %zu", i);
		cr_expect(strstr(err.msg, cases[i].needle), "case %zu: '%s'", i, err.msg);
		config_fini(&c);
	}
	struct config c;
	struct sp_err err = {0};
	config_init(&c);
	char *envp[] = {"SESSIONPOOL_MAX_SESSIONS=x", NULL};
	char *argv[] = {"emu", NULL};
	cr_expect_lt(parse(&c, argv, envp, &err), 0);
	cr_expect(strstr(err.msg, "SESSIONPOOL_MAX_SESSIONS"));
	config_fini(&c);
}

Test(config, finish_checks_tls_pair_and_picks_a_data_dir)
{
	struct config c;
	struct sp_err err = {0};
	config_init(&c);
	char *argv[] = {"emu", "--tls-cert", "/x.pem", NULL};
	cr_assert_eq(parse(&c, argv, NULL, &err), 0);
	cr_expect_lt(config_finish(&c, &err), 0);
	cr_expect(strstr(err.msg, "--tls-key"));
	config_fini(&c);
	config_init(&c);
	cr_assert_eq(config_finish(&c, &err), 0);
	cr_expect(c.data_dir && strstr(c.data_dir, "sessionpool-"));
	config_fini(&c);
}

Test(config, help_lists_every_flag_with_its_variable)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct config c;
	struct sp_err err = {0};
	config_init(&c);
	char *argv[] = {"emu", "--help", NULL};
	cr_expect_eq(config_parse(&c, 2, argv, NULL, f, &err), 1);
	fclose(f);
	const char *want[] = {"--cooldown-seconds",
			      "SESSIONPOOL_COOLDOWN_SECONDS",
			      "--max-sessions",
			      "--upload-max-bytes",
			      "--auth-mode",
			      "--static-token",
			      "--extra-audiences",
			      "--deny-role",
			      "--api-version-mode",
			      "--public-base-url",
			      "--pool-name",
			      "--tls-cert",
			      "--tls-key",
			      "--egress",
			      "--isolation",
			      "--listen",
			      "--data-dir",
			      "--ready-file",
			      "--list-page-size",
			      "--json-body-max-bytes",
			      "--exec-timeout-default-s",
			      "--exec-timeout-max-s",
			      "--interrupt-grace-s",
			      "--output-streams-max-default",
			      "--execution-records-per-session",
			      "--session-memory-mb",
			      "--session-max-processes",
			      "--session-disk-mb"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(strstr(buf, want[i]), "missing %s", want[i]);
	free(buf);
	config_fini(&c);
}

Test(config, python_path_flags_add_and_replace_the_variable)
{
	struct config c;
	struct sp_err err = {0};
	config_init(&c);
	char *env[] = {"SESSIONPOOL_PYTHON_PATH=/env/a:/env/b", NULL};
	char *none[] = {"emu", NULL};
	cr_assert_eq(parse(&c, none, env, &err), 0, "%s", err.msg);
	cr_expect_str_eq(c.python_path, "/env/a:/env/b");
	config_fini(&c);

	config_init(&c);
	char *argv[] = {"emu", "--python-path", "/f/a", "--python-path=/f/b:/f/c", NULL};
	cr_assert_eq(parse(&c, argv, env, &err), 0, "%s", err.msg);
	cr_expect_str_eq(c.python_path, "/f/a:/f/b:/f/c");
	config_fini(&c);

	/* config_finish resolves each entry and drops empty ones; a missing one is refused. */
	config_init(&c);
	char *ok[] = {"emu", "--python-path", "/usr/lib/python3/../python3/dist-packages::", NULL};
	cr_assert_eq(parse(&c, ok, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(config_finish(&c, &err), 0, "%s", err.msg);
	cr_expect_str_eq(c.python_path, "/usr/lib/python3/dist-packages");
	config_fini(&c);
	config_init(&c);
	char *bad[] = {"emu", "--python-path", "/usr/lib:/no/such/sp-dir", NULL};
	cr_assert_eq(parse(&c, bad, NULL, &err), 0, "%s", err.msg);
	cr_expect_lt(config_finish(&c, &err), 0);
	cr_expect(strstr(err.msg, "--python-path") && strstr(err.msg, "/no/such/sp-dir"), "%s",
		  err.msg);
	config_fini(&c);
}

Test(config, the_mcp_switch_and_key_from_flags_and_environment)
{
	struct config c;
	struct sp_err err = {0};
	config_init(&c);
	cr_expect(c.mcp_enabled, "on by default, as a pool with isMCPServerEnabled");
	cr_expect_null(c.mcp_api_key);
	char *envp[] = {"SESSIONPOOL_MCP=disabled", "SESSIONPOOL_MCP_API_KEY=from-env", NULL};
	char *argv[] = {"emu", NULL};
	cr_assert_eq(parse(&c, argv, envp, &err), 0, "%s", err.msg);
	cr_expect_not(c.mcp_enabled);
	cr_expect_str_eq(c.mcp_api_key, "from-env");
	config_fini(&c);

	config_init(&c);
	char *argv2[] = {"emu", "--mcp", "enabled", "--mcp-api-key", "k2", NULL};
	cr_assert_eq(parse(&c, argv2, envp, &err), 0, "%s", err.msg);
	cr_expect(c.mcp_enabled, "the flag wins over the variable");
	cr_expect_str_eq(c.mcp_api_key, "k2");
	config_fini(&c);

	config_init(&c);
	char *argv3[] = {"emu", "--mcp", "sometimes", NULL};
	cr_expect_neq(parse(&c, argv3, NULL, &err), 0);
	cr_expect(strstr(err.msg, "sometimes"), "%s", err.msg);
	config_fini(&c);
}
