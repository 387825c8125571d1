/* SPDX-License-Identifier: MIT */
/* A target's api-versions and teardown routes: defaults, overrides from a file, and errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "helpers.h"
#include "target.h"
#include "vars.h"

static const char *var(const struct target *t, const char *name)
{
	const cJSON *v = vars_get(t->vars, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct target *open_url_target(const char *file_text)
{
	struct target_spec s;
	struct sp_err err = {0};
	cr_assert_eq(u_load_target_text(file_text, &s, &err), 0, "%s", err.msg);
	struct target *t = NULL;
	cr_assert_eq(target_open(&s, NULL, 0, NULL, NULL, &t, &err), 0, "%s", err.msg);
	target_spec_fini(&s);
	return t;
}

Test(target_api, defaults_without_a_description)
{
	struct target *t = open_url_target("{\"base_url\":\"http://127.0.0.1:9\"}");
	cr_expect_str_eq(var(t, "api_old"), "2024-02-02-preview");
	cr_expect_str_eq(var(t, "api_new"), "2025-10-02-preview");
	cr_expect_str_eq(var(t, "api_management"), "2025-02-02-preview");
	cr_expect_str_eq(var(t, "api_new"), target_api_default(TARGET_API_NEW));
	cr_assert_eq(t->routes.n_delete_session, 2);
	cr_expect_str_eq(t->routes.delete_session[0].method, "DELETE");
	cr_expect_str_eq(t->routes.delete_session[0].path,
			 "/session?api-version={{api_new}}&identifier={{identifier|url}}");
	cr_expect_str_eq(t->routes.delete_session[1].method, "POST");
	cr_expect_str_eq(t->routes.delete_session[1].path,
			 "/.management/stopSession?api-version={{api_management}}&identifier="
			 "{{identifier|url}}");
	cr_expect_str_eq(t->routes.list_sessions.method, "GET");
	cr_expect_str_eq(t->routes.list_sessions.path, "/listSessions?api-version={{api_new}}");
	target_close(t, NULL);
}

Test(target_api, a_file_overrides_what_it_gives)
{
	struct target *t =
	    open_url_target("{\"base_url\":\"http://127.0.0.1:9\","
			    "\"api_versions\":{\"new\":\"2030-01-01\"},"
			    "\"teardown\":{\"delete_session\":[{\"method\":\"POST\",\"path\":"
			    "\"/stop?v={{api_new}}&id={{identifier|url}}\"}]}}");
	cr_expect_str_eq(var(t, "api_new"), "2030-01-01");
	cr_expect_str_eq(var(t, "api_old"), "2024-02-02-preview", "not given: the default");
	cr_assert_eq(t->routes.n_delete_session, 1);
	cr_expect_str_eq(t->routes.delete_session[0].method, "POST");
	cr_expect_str_eq(t->routes.delete_session[0].path,
			 "/stop?v={{api_new}}&id={{identifier|url}}");
	cr_expect_str_eq(t->routes.list_sessions.path, "/listSessions?api-version={{api_new}}");
	/* The list route is a template in the target's scope: it sees the file's api_new. */
	cleanup_free char *path = NULL;
	cr_assert_eq(vars_expand(t->vars, t->routes.list_sessions.path, &path, NULL), 0);
	cr_expect_str_eq(path, "/listSessions?api-version=2030-01-01");
	target_close(t, NULL);
}

Test(target_api, teardown_and_sweep_can_be_turned_off)
{
	struct target *t =
	    open_url_target("{\"base_url\":\"http://127.0.0.1:9\","
			    "\"teardown\":{\"delete_session\":[],\"list_sessions\":null}}");
	cr_expect_eq(t->routes.n_delete_session, 0);
	cr_expect_null(t->routes.list_sessions.path);
	target_close(t, NULL);
}

Test(target_api, file_vars_win_over_api_versions)
{
	struct target *t = open_url_target("{\"base_url\":\"http://127.0.0.1:9\","
					   "\"api_versions\":{\"old\":\"2001-01-01\"},"
					   "\"vars\":{\"api_old\":\"from-vars\"}}");
	cr_expect_str_eq(var(t, "api_old"), "from-vars");
	target_close(t, NULL);
}

static void load_fails(const char *members, const char *msg)
{
	char text[1024];
	snprintf(text, sizeof(text), "{\"base_url\":\"http://127.0.0.1:9\",%s}", members);
	struct target_spec s;
	struct sp_err err = {0};
	cr_expect_lt(u_load_target_text(text, &s, &err), 0, "accepted: %s", members);
	cr_expect(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
	target_spec_fini(&s);
}

Test(target_api, mistakes_are_reported)
{
	load_fails("\"api_versions\":{\"newest\":\"x\"}", "api_versions: unknown key \"newest\"");
	load_fails("\"api_versions\":{\"new\":\"a&b\"}", "api_versions: new: expected");
	load_fails("\"api_versions\":{\"new\":7}", "api_versions: new: expected");
	load_fails("\"api_versions\":[]", "api_versions: expected an object");
	load_fails("\"teardown\":{\"delete\":[]}", "teardown: unknown key \"delete\"");
	load_fails("\"teardown\":{\"delete_session\":{}}", "delete_session: expected a list");
	load_fails("\"teardown\":{\"delete_session\":[{\"method\":\"delete\",\"path\":\"/s\"}]}",
		   "delete_session[0]: method: expected an upper-case method");
	load_fails("\"teardown\":{\"delete_session\":[{\"method\":\"DELETE\",\"path\":\"/s\"},"
		   "{\"method\":\"POST\",\"path\":\"s\"}]}",
		   "delete_session[1]: path: expected a path starting with /");
	load_fails(
	    "\"teardown\":{\"list_sessions\":{\"method\":\"GET\",\"path\":\"/l?{{x|nope}}\"}}",
	    "list_sessions: path: ");
	load_fails("\"teardown\":{\"list_sessions\":{\"method\":\"GET\",\"path\":\"/l\",\"x\":1}}",
		   "list_sessions: unknown key \"x\"");
}

Test(target_api, the_example_target_file_shows_the_defaults)
{
	struct target_spec s;
	target_spec_init(&s);
	struct sp_err err = {0};
	cr_assert_eq(target_spec_load_file(SP_FIXTURES_DIR "/targets/real.example.json", &s, &err),
		     0, "%s", err.msg);
	for (size_t i = 0; i < TARGET_API_N; i++)
		cr_expect_str_eq(s.api.versions[i], target_api_default(i));
	struct target_api none;
	target_api_init(&none);
	struct target_routes want = {0};
	struct vars *v = vars_new(NULL);
	cr_assert_eq(target_api_resolve(&none, v, &want), 0);
	cr_assert(s.api.delete_set && s.api.list_set);
	cr_assert_eq(s.api.n_delete_session, want.n_delete_session);
	for (size_t i = 0; i < want.n_delete_session; i++) {
		cr_expect_str_eq(s.api.delete_session[i].method, want.delete_session[i].method);
		cr_expect_str_eq(s.api.delete_session[i].path, want.delete_session[i].path);
	}
	cr_expect_str_eq(s.api.list_sessions.method, want.list_sessions.method);
	cr_expect_str_eq(s.api.list_sessions.path, want.list_sessions.path);
	target_routes_fini(&want);
	vars_free(v);
	target_spec_fini(&s);
}
