/* SPDX-License-Identifier: MIT */
/* Execution responses in the three shapes, every value kind (contract §5.1, §5.7, §6.1.2,
 * §8.2 emission, §8.3 images, §8.5–§8.8 failures). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

static char *text(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static struct exec_view ok_view(enum bk_value_kind k, const char *value)
{
	struct exec_view v = {0};
	strcpy(v.id, "testExecutionId");
	v.status = EXEC_SUCCEEDED;
	v.kind = k;
	v.value = value ? strdup(value) : NULL;
	v.stdout_text = strdup("63\n");
	v.stdout_len = 3;
	v.stderr_text = strdup("");
	v.exec_ms = 4;
	return v;
}

Test(render, old_shape_value_kinds)
{
	struct {
		enum bk_value_kind k;
		const char *value;
		const char *result;
	} rows[] = {
	    {BK_VALUE_NONE, NULL, "\"\""},
	    {BK_VALUE_NULL, NULL, "null"},
	    {BK_VALUE_JSON, "42", "42"},
	    {BK_VALUE_JSON, "[1,2,3]", "[1,2,3]"},
	    {BK_VALUE_JSON, "1000000000000000000000000000000", "1000000000000000000000000000000"},
	    {BK_VALUE_JSON, "0.30000000000000004", "0.30000000000000004"},
	    {BK_VALUE_TEXT, "'nan'", "\"'nan'\""},
	    {BK_VALUE_TEXT, "\"it's\"", "\"\\\"it's\\\"\""},
	    {BK_VALUE_TEXT, "['a',\n 'b']", "\"['a',\\n 'b']\""},
	    {BK_VALUE_IMAGE, "iVBOR",
	     "{\"type\":\"image\",\"format\":\"png\",\"base64_data\":\"iVBOR\"}"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct exec_view v = ok_view(rows[i].k, rows[i].value);
		char *s = text(render_exec_old(&v, false));
		char want[512];
		snprintf(want, sizeof(want),
			 "{\"$id\":\"1\",\"properties\":{\"$id\":\"2\",\"status\":\"Success\","
			 "\"stdout\":\"63\\n\",\"stderr\":\"\",\"result\":%s,"
			 "\"executionTimeInMilliseconds\":4}}",
			 rows[i].result);
		cr_expect_str_eq(s, want, "row %zu", i);
		free(s);
		exec_view_fini(&v);
	}
}

Test(render, legacy_sends_null_as_empty_string)
{
	struct exec_view v = ok_view(BK_VALUE_NULL, NULL);
	char *s = text(render_exec_legacy(&v));
	cr_expect_str_eq(s,
			 "{\"status\":\"Success\",\"stdout\":\"63\\n\",\"stderr\":\"\",\"result\":"
			 "\"\",\"executionTimeInMilliseconds\":4}");
	free(s);
	exec_view_fini(&v);
}

Test(render, new_shape_matches_the_spec_example)
{
	struct exec_view v = ok_view(BK_VALUE_NONE, NULL);
	char *s = text(render_exec_new(&v, "testSessionIdentifier"));
	cr_expect_str_eq(s,
			 "{\"id\":\"testExecutionId\",\"identifier\":\"testSessionIdentifier\","
			 "\"executionType\":\"Synchronous\",\"status\":\"Succeeded\",\"result\":{"
			 "\"stdout\":\"63\\n\",\"stderr\":\"\",\"executionResult\":\"\","
			 "\"executionTimeInMilliseconds\":4}}");
	free(s);
	exec_view_fini(&v);
}

Test(render, running_has_no_result)
{
	struct exec_view v = {0};
	strcpy(v.id, "x");
	v.async = true;
	v.status = EXEC_RUNNING;
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect_str_eq(s, "{\"id\":\"x\",\"identifier\":\"abcd\",\"executionType\":"
			    "\"Asynchronous\",\"status\":\"Running\"}");
	free(s);
}

Test(render, failures_in_each_shape)
{
	struct exec_view v = ok_view(BK_VALUE_NULL, NULL);
	v.status = EXEC_FAILED;
	v.error = EXEC_ERR_EXECUTION;
	v.error_message = strdup("ZeroDivisionError: division by zero");
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect_str_eq(
	    s, "{\"id\":\"testExecutionId\",\"identifier\":\"abcd\",\"executionType\":"
	       "\"Synchronous\",\"status\":\"Failed\",\"error\":{\"error\":{\"code\":"
	       "\"ExecutionError\",\"message\":\"ZeroDivisionError: division by zero\"}},"
	       "\"result\":{\"stdout\":\"63\\n\",\"stderr\":\"\",\"executionResult\":null,"
	       "\"executionTimeInMilliseconds\":4}}");
	free(s);
	s = text(render_exec_old(&v, false));
	cr_expect(strstr(s, "\"status\":\"Failure\""));
	cr_expect(strstr(s, "\"result\":\"\""));
	free(s);
	s = text(render_exec_legacy(&v));
	cr_expect(strstr(s, "\"status\":\"Failure\""));
	free(s);
	v.status = EXEC_CANCELED;
	v.error = EXEC_ERR_CANCELED;
	s = text(render_exec_new(&v, "abcd"));
	cr_expect(strstr(s, "\"status\":\"Canceled\""));
	cr_expect(strstr(s, "\"code\":\"ExecutionCanceled\""));
	free(s);
	exec_view_fini(&v);
}

Test(render, non_ascii_is_utf8_and_slash_is_not_escaped)
{
	struct exec_view v = ok_view(BK_VALUE_TEXT, "'é/€'");
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect(strstr(s, "\"executionResult\":\"'é/€'\""), "%s", s);
	free(s);
	exec_view_fini(&v);
}

Test(render, test_fault_changes_only_old_status)
{
	struct exec_view v = ok_view(BK_VALUE_NONE, NULL);
	char *s = text(render_exec_old(&v, true));
	cr_expect(strstr(s, "\"status\":\"Succeeded\""));
	free(s);
	exec_view_fini(&v);
}

Test(render, output_with_nul_bytes_is_not_cut)
{
	struct exec_view v = ok_view(BK_VALUE_NONE, NULL);
	free(v.stdout_text);
	v.stdout_text = malloc(8);
	memcpy(v.stdout_text, "a\0b\"\x01\n\0", 8);
	v.stdout_len = 7;
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect(strstr(s, "\"stdout\":\"a\\u0000b\\\"\\u0001\\n\\u0000\""), "%s", s);
	free(s);
	s = text(render_exec_old(&v, false));
	cr_expect(strstr(s, "\"stdout\":\"a\\u0000b"), "%s", s);
	free(s);
	exec_view_fini(&v);
}
