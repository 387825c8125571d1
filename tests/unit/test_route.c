/* SPDX-License-Identifier: MIT */
/* Path normalisation, route table, shape selection, query parsing, identifier and
 * api-version rules (contract §1.1, §1.3–§1.5, §3). */
#include <criterion/criterion.h>
#include <string.h>

#include "route.h"

static enum route_op op_of(const char *path, enum http_method m, bool new_shape)
{
	struct route r;
	cr_assert_eq(route_parse(path, &r), 0);
	enum route_op op = route_op_for(&r, m, new_shape);
	route_fini(&r);
	return op;
}

static enum route_resource res_of(const char *path)
{
	struct route r;
	cr_assert_eq(route_parse(path, &r), 0);
	enum route_resource res = r.res;
	route_fini(&r);
	return res;
}

Test(route, every_row_of_the_route_table)
{
	cr_expect_eq(op_of("/code/execute", HTTP_POST, false), OP_CODE_EXECUTE);
	cr_expect_eq(op_of("/python/execute", HTTP_POST, false), OP_PYTHON_EXECUTE);
	cr_expect_eq(op_of("/python/downloadFile", HTTP_GET, false), OP_FILES_CONTENT);
	cr_expect_eq(op_of("/python/downloadfile", HTTP_GET, true), OP_FILES_CONTENT);
	cr_expect_eq(op_of("/python/downloadFile", HTTP_POST, false), OP_NONE);
	cr_expect_eq(res_of("/python/downloadFile/x"), RES_NONE);
	cr_expect_eq(op_of("/files/upload", HTTP_POST, false), OP_FILES_UPLOAD_OLD);
	cr_expect_eq(op_of("/files", HTTP_GET, false), OP_FILES_LIST);
	cr_expect_eq(op_of("/files", HTTP_GET, true), OP_FILES_LIST);
	cr_expect_eq(op_of("/files/content/a.txt", HTTP_GET, false), OP_FILES_CONTENT);
	cr_expect_eq(op_of("/files/a.txt/content", HTTP_GET, true), OP_FILES_CONTENT);
	cr_expect_eq(op_of("/files/a.txt", HTTP_GET, false), OP_FILES_META);
	cr_expect_eq(op_of("/files/a.txt", HTTP_GET, true), OP_FILES_META);
	cr_expect_eq(op_of("/files/a.txt", HTTP_DELETE, false), OP_FILES_DELETE);
	cr_expect_eq(op_of("/files/a.txt", HTTP_DELETE, true), OP_FILES_DELETE);
	cr_expect_eq(op_of("/files", HTTP_POST, true), OP_FILES_UPLOAD_NEW);
	cr_expect_eq(op_of("/executions", HTTP_POST, true), OP_EXECUTIONS_POST);
	cr_expect_eq(op_of("/executions/abc", HTTP_GET, true), OP_EXECUTION_GET);
	cr_expect_eq(op_of("/session", HTTP_GET, true), OP_SESSION_GET);
	cr_expect_eq(op_of("/session", HTTP_DELETE, true), OP_SESSION_DELETE);
	cr_expect_eq(op_of("/listSessions", HTTP_GET, true), OP_LIST_SESSIONS);
	cr_expect_eq(op_of("/metadata", HTTP_GET, true), OP_METADATA);
	cr_expect_eq(op_of("/.management/getSession", HTTP_POST, true), OP_MGMT_GET_SESSION);
	cr_expect_eq(op_of("/.management/getSession", HTTP_GET, true), OP_MGMT_GET_SESSION);
	cr_expect_eq(op_of("/.management/listSessions", HTTP_GET, true), OP_MGMT_LIST_SESSIONS);
	cr_expect_eq(op_of("/.management/stopSession", HTTP_POST, true), OP_MGMT_STOP_SESSION);
	cr_expect_eq(op_of("/healthz", HTTP_GET, true), OP_HEALTHZ);
}

Test(route, head_is_get_and_wrong_methods_are_none)
{
	cr_expect_eq(op_of("/session", HTTP_HEAD, true), OP_SESSION_GET);
	cr_expect_eq(op_of("/code/execute", HTTP_GET, false), OP_NONE);
	cr_expect_eq(op_of("/files/a", HTTP_POST, true), OP_NONE);
	cr_expect_eq(op_of("/metadata", HTTP_DELETE, true), OP_NONE);
}

Test(route, unknown_paths)
{
	cr_expect_eq(res_of("/foo"), RES_NONE);
	cr_expect_eq(res_of("/code"), RES_NONE);
	cr_expect_eq(res_of("/code/execute/more"), RES_NONE);
	cr_expect_eq(res_of("/executions/a/b"), RES_NONE);
	cr_expect_eq(res_of("/.management/nope"), RES_NONE);
	/* a partial prefix is just an unknown route */
	cr_expect_eq(res_of("/subscriptions/s/resourceGroups/r/code/execute"), RES_NONE);
	cr_expect_eq(res_of("/subscriptions/s/resourceGroups/r/sessionPools"), RES_NONE);
	/* healthz only without a prefix */
	cr_expect_eq(res_of("/subscriptions/s/resourceGroups/r/sessionPools/p/healthz"), RES_NONE);
}

Test(route, the_emulator_s_own_routes_and_mcp)
{
	cr_expect_eq(res_of("/"), RES_ROOT);
	cr_expect_eq(res_of("/subscriptions/s/resourceGroups/r/sessionPools/p"), RES_NONE,
		     "the playground lives at the root only");
	cr_expect_eq(res_of("/playground"), RES_PLAYGROUND);
	cr_expect_eq(res_of("/playground/app.js"), RES_PLAYGROUND);
	cr_expect_eq(res_of("/Playground"), RES_NONE, "root routes match exactly");
	cr_expect_eq(res_of("/.emulator/requests"), RES_EMU_REQUESTS);
	cr_expect_eq(res_of("/subscriptions/s/resourceGroups/r/sessionPools/p/.emulator/requests"),
		     RES_NONE);
	cr_expect_eq(op_of("/mcp", HTTP_POST, true), OP_MCP);
	cr_expect_eq(op_of("/subscriptions/s/resourceGroups/r/sessionPools/p/mcp", HTTP_POST, true),
		     OP_MCP);
	struct route r;
	cr_assert_eq(route_parse("/mcp", &r), 0);
	cr_expect_eq(route_own_checks_op(&r), OP_MCP, "MCP answers every method itself");
	route_fini(&r);
	cr_assert_eq(route_parse("/executions", &r), 0);
	cr_expect_eq(route_own_checks_op(&r), OP_NONE);
	route_fini(&r);
	cr_expect(route_op_flags(OP_EMU_REQUESTS) & OPF_QUIET);
	cr_expect_not(route_op_flags(OP_EMU_REQUESTS) & OPF_NO_AUTH, "the feed needs a token");
}

Test(route, normalisation_collapses_slashes_and_one_trailing_slash)
{
	cr_expect_eq(op_of("//code/execute", HTTP_POST, false), OP_CODE_EXECUTE);
	cr_expect_eq(op_of("/code//execute/", HTTP_POST, false), OP_CODE_EXECUTE);
	cr_expect_eq(op_of("/CODE/Execute", HTTP_POST, false), OP_CODE_EXECUTE);
	cr_expect_eq(op_of("/%63ode/execute", HTTP_POST, false), OP_CODE_EXECUTE);
	cr_expect_eq(op_of("/ListSessions", HTTP_GET, true), OP_LIST_SESSIONS);
}

Test(route, pool_prefix_is_stripped_case_insensitively)
{
	struct route r;
	cr_assert_eq(route_parse("/Subscriptions/s1/RESOURCEGROUPS/rg/sessionpools/my%20pool//"
				 "executions",
				 &r),
		     0);
	cr_expect_eq(r.res, RES_EXECUTIONS);
	cr_expect_str_eq(r.prefix, "/Subscriptions/s1/RESOURCEGROUPS/rg/sessionpools/my%20pool");
	cr_expect_str_eq(r.pool, "my pool");
	route_fini(&r);
	cr_assert_eq(route_parse("/code/execute", &r), 0);
	cr_expect_str_eq(r.prefix, "");
	cr_expect_null(r.pool);
	route_fini(&r);
}

Test(route, shape_tables_for_files)
{
	/* §1.4: files/a%2Fcontent is metadata of a/content in the new table */
	cr_expect_eq(op_of("/files/a%2Fcontent", HTTP_GET, true), OP_FILES_META);
	cr_expect_eq(op_of("/files/a/content", HTTP_GET, true), OP_FILES_CONTENT);
	/* files/content/x at a new api-version is the metadata of content/x */
	cr_expect_eq(op_of("/files/content/x", HTTP_GET, true), OP_FILES_META);
	/* old table: files/content needs one more segment */
	cr_expect_eq(op_of("/files/content", HTTP_GET, false), OP_FILES_META);
	cr_expect_eq(op_of("/files/x/content", HTTP_GET, false), OP_FILES_META);
	cr_expect_eq(op_of("/files/upload", HTTP_GET, false), OP_FILES_META);
}

Test(route, file_names_are_decoded_per_segment)
{
	struct route r;
	size_t len;
	cr_assert_eq(route_parse("/files/content/sub%2Fdir/a%20b.txt", &r), 0);
	char *n = route_file_name(&r, OP_FILES_CONTENT, false, &len);
	cr_expect_str_eq(n, "sub/dir/a b.txt");
	free(n);
	route_fini(&r);
	cr_assert_eq(route_parse("/files/dir/x.csv/content", &r), 0);
	n = route_file_name(&r, OP_FILES_CONTENT, true, &len);
	cr_expect_str_eq(n, "dir/x.csv");
	free(n);
	n = route_file_name(&r, OP_FILES_META, true, &len);
	cr_expect_str_eq(n, "dir/x.csv/content");
	free(n);
	route_fini(&r);
	cr_assert_eq(route_parse("/files/a%00b", &r), 0);
	n = route_file_name(&r, OP_FILES_META, true, &len);
	cr_expect_eq(len, 3);
	free(n);
	route_fini(&r);
}

Test(route, allow_header)
{
	struct route r;
	char buf[96];
	cr_assert_eq(route_parse("/session", &r), 0);
	cr_expect_str_eq(route_allow(&r, buf, sizeof(buf)), "GET, DELETE, HEAD, OPTIONS");
	route_fini(&r);
	cr_assert_eq(route_parse("/code/execute", &r), 0);
	cr_expect_str_eq(route_allow(&r, buf, sizeof(buf)), "POST, OPTIONS");
	route_fini(&r);
}

Test(route, session_scope_and_data_operations)
{
	cr_expect(route_op_session_scoped(OP_EXECUTION_GET));
	cr_expect(route_op_session_scoped(OP_MGMT_STOP_SESSION));
	cr_expect_not(route_op_session_scoped(OP_LIST_SESSIONS));
	cr_expect_not(route_op_session_scoped(OP_METADATA));
	cr_expect_not(route_op_session_scoped(OP_MGMT_LIST_SESSIONS));
	cr_expect(route_op_is_data(OP_FILES_LIST));
	cr_expect(route_op_is_data(OP_EXECUTION_GET));
	cr_expect_not(route_op_is_data(OP_SESSION_GET));
	cr_expect_not(route_op_is_data(OP_MGMT_GET_SESSION));
}

Test(route, operation_table_rows_agree_and_cover_every_operation)
{
	size_t n;
	const struct route_row *t = route_table(&n);
	cr_assert_gt(n, 0);
	for (int op = OP_NONE + 1; op <= OP_HEALTHZ; op++) {
		size_t rows = 0;
		for (size_t i = 0; i < n; i++) {
			if (t[i].op != (enum route_op)op)
				continue;
			rows++;
			/* An operation's flags are the same on each of its rows. */
			cr_expect_eq(t[i].flags, route_op_flags((enum route_op)op), "op %d row %zu",
				     op, i);
			cr_expect_neq(t[i].methods, 0u, "op %d row %zu", op, i);
		}
		cr_expect_gt(rows, 0, "op %d has no row", op);
	}
	cr_expect_eq(route_op_flags(OP_NONE), 0u);
	cr_expect_eq(route_op_flags(OP_HEALTHZ), (unsigned)OPF_NO_AUTH);
	cr_expect(route_op_flags(OP_PYTHON_EXECUTE) & OPF_ID_IN_BODY);
	cr_expect_not(route_op_flags(OP_CODE_EXECUTE) & OPF_ID_IN_BODY);
}

Test(route, api_version_optional_only_on_management_list)
{
	struct route r;
	cr_assert_eq(route_parse("/.management/listSessions", &r), 0);
	cr_expect(route_api_version_optional(&r, HTTP_GET));
	cr_expect(route_api_version_optional(&r, HTTP_POST));
	cr_expect(route_api_version_optional(&r, HTTP_HEAD));
	route_fini(&r);
	const char *others[] = {"/.management/getSession", "/listSessions", "/session", "/files/a",
				"/code/execute",	   "/nope"};
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
		cr_assert_eq(route_parse(others[i], &r), 0);
		cr_expect_not(route_api_version_optional(&r, HTTP_GET), "%s", others[i]);
		cr_expect_not(route_api_version_optional(&r, HTTP_POST), "%s", others[i]);
		route_fini(&r);
	}
}

Test(route, healthz_is_exact_and_unprefixed)
{
	cr_expect_eq(res_of("/healthz"), RES_HEALTHZ);
	cr_expect_eq(op_of("/healthz", HTTP_HEAD, true), OP_HEALTHZ);
	cr_expect_eq(res_of("/Healthz"), RES_NONE);
	cr_expect_eq(res_of("/subscriptions/s/resourceGroups/g/sessionPools/p/healthz"), RES_NONE);
	cr_expect_eq(res_of("/executions/a/b"), RES_NONE);
	cr_expect_eq(res_of("/.management/other"), RES_NONE);
}

Test(query, order_case_first_wins_plus_and_bad_escapes)
{
	struct query q;
	cr_assert_eq(query_parse("API-Version=2024-02-02-preview&identifier=a+b%2Fc%zz&"
				 "identifier=second&flag&empty=",
				 &q),
		     0);
	cr_expect_str_eq(query_get(&q, "api-version", NULL), "2024-02-02-preview");
	cr_expect_str_eq(query_get(&q, "IDENTIFIER", NULL), "a+b/c%zz");
	cr_expect_str_eq(query_get(&q, "flag", NULL), "");
	cr_expect_str_eq(query_get(&q, "empty", NULL), "");
	cr_expect_null(query_get(&q, "missing", NULL));
	query_fini(&q);
	cr_assert_eq(query_parse(NULL, &q), 0);
	cr_expect_eq(q.n, 0);
	query_fini(&q);
}

Test(query, nul_is_kept_in_length)
{
	struct query q;
	size_t len;
	cr_assert_eq(query_parse("identifier=abc%00def", &q), 0);
	const char *v = query_get(&q, "identifier", &len);
	cr_expect_eq(len, 7);
	cr_expect_not(identifier_valid(v, len));
	query_fini(&q);
}

Test(api_version, supported_missing_unsupported_lenient)
{
	bool is_new = true;
	cr_expect_eq(api_version_check("2024-02-02-preview", API_VERSION_STRICT, &is_new), APIV_OK);
	cr_expect_not(is_new);
	cr_expect_eq(api_version_check("2024-08-02-preview", API_VERSION_STRICT, &is_new), APIV_OK);
	cr_expect_not(is_new);
	cr_expect_eq(api_version_check("2025-10-02-preview", API_VERSION_STRICT, &is_new), APIV_OK);
	cr_expect(is_new);
	cr_expect_eq(api_version_check("2024-10-02-preview", API_VERSION_STRICT, &is_new), APIV_OK);
	cr_expect_eq(api_version_check("2025-02-02-preview", API_VERSION_STRICT, &is_new), APIV_OK);
	cr_expect_eq(api_version_check(NULL, API_VERSION_STRICT, &is_new), APIV_MISSING);
	cr_expect_eq(api_version_check("", API_VERSION_LENIENT, &is_new), APIV_MISSING);
	cr_expect_eq(api_version_check("2025-10-02-PREVIEW", API_VERSION_STRICT, &is_new),
		     APIV_UNSUPPORTED);
	cr_expect_eq(api_version_check("2023-01-01", API_VERSION_STRICT, &is_new),
		     APIV_UNSUPPORTED);
	is_new = false;
	cr_expect_eq(api_version_check("2099-01-01", API_VERSION_LENIENT, &is_new), APIV_OK);
	cr_expect(is_new);
}

Test(api_version, supported_list_for_messages)
{
	cr_expect_str_eq(api_versions_supported(),
			 "2024-02-02-preview, 2024-08-02-preview, 2024-10-02-preview, "
			 "2025-02-02-preview, 2025-10-02-preview");
}

Test(identifier, the_spec_pattern)
{
	cr_expect(identifier_valid("abcd", 4));
	cr_expect(identifier_valid("9d1b0f6e-2c4a-4a8e-9a43-2b2f7f0a1c3e", 36));
	const char *specials = "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`";
	cr_expect(identifier_valid(specials, strlen(specials)));
	cr_expect_not(identifier_valid("abc", 3));
	char long_id[130];
	memset(long_id, 'a', sizeof(long_id));
	cr_expect(identifier_valid(long_id, 128));
	cr_expect_not(identifier_valid(long_id, 129));
	cr_expect_not(identifier_valid("ab cd", 5));
	cr_expect_not(identifier_valid("ab\\cd", 5));
	cr_expect_not(identifier_valid("abcdé", 6));
	cr_expect_not(identifier_valid("ab\tcd", 5));
}
