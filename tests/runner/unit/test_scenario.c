/* SPDX-License-Identifier: MIT */
/* Scenario parsing: a full scenario, and the error message for each kind of mistake. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "scenario.h"

#define PROV "\"provenance\":{\"sections\":[\"§5.1\"],\"tags\":[\"DOC\"]}"
#define HEAD "{\"description\":\"d MUST hold\"," PROV ","

static struct scn *parse_ok(const char *text)
{
	struct scn *s = NULL;
	struct sp_err err = {0};
	cr_assert_eq(scn_parse(text, strlen(text), "t.json", "area/001-t", &s, &err), 0, "%s",
		     err.msg);
	return s;
}

static void parse_fails(const char *text, const char *msg)
{
	struct scn *s = NULL;
	struct sp_err err = {0};
	cr_expect_eq(scn_parse(text, strlen(text), "t.json", "t", &s, &err), -EINVAL,
		     "accepted: %s", text);
	cr_expect_null(s);
	cr_expect(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
	cr_expect(strncmp(err.msg, "t.json: ", 8) == 0, "message lacks the file: %s", err.msg);
}

Test(scenario, full_scenario)
{
	static const char text[] =
	    "{\"name\":\"n\",\"description\":\"d MUST hold\",\"since\":\"0.1\","
	    "\"provenance\":{\"sections\":[\"§5.1\",\"§8.2\"],\"tags\":[\"DOC\",\"CHOICE\"]},"
	    "\"tags\":[\"execute\",\"needs:short-cooldown\",\"divergence:real\"],"
	    "\"vars\":{\"code\":\"6*7\"},"
	    "\"steps\":[{\"name\":\"run\",\"request\":{\"method\":\"POST\","
	    "\"path\":\"/code/execute\",\"query\":[[\"api-version\",\"2024-02-02-preview\"],"
	    "[\"identifier\",\"{{session}}\"]],\"headers\":{\"operation-id\":\"op-1\"},"
	    "\"json\":{\"properties\":{\"code\":\"{{code}}\"}}},"
	    "\"expect\":{\"status\":200,\"headers\":{\"Content-Type\":{\"matches\":\"^application/"
	    "json\"},\"x\":\"y\"},\"json\":[{\"path\":\"$.properties.result\",\"equals\":42},"
	    "{\"path\":\"$.value[*].name\",\"match\":\"any\",\"equals\":\"a\",\"choice\":true}],"
	    "\"body\":{\"contains\":\"42\"}},"
	    "\"capture\":{\"op\":{\"header\":\"operation-id\"},\"r\":{\"json\":\"$.x\","
	    "\"regex\":\"([0-9]+)\",\"optional\":true}},"
	    "\"retry\":{\"max\":5,\"interval_ms\":100}},"
	    "{\"name\":\"bg\",\"background\":true,\"request\":{\"method\":\"POST\",\"url\":"
	    "\"{{base_url}}/x\",\"multipart\":[{\"name\":\"file\",\"filename\":\"a.txt\","
	    "\"data\":\"hi\"},{\"name\":\"big\",\"generate\":{\"size\":1048576}}]}},"
	    "{\"join\":\"bg\"}],"
	    "\"cleanup\":[{\"request\":{\"method\":\"DELETE\",\"path\":\"/session\"}}]}";
	struct scn *s = parse_ok(text);
	cr_expect_str_eq(s->id, "area/001-t");
	cr_expect_str_eq(s->name, "n");
	cr_expect(!s->choice, "DOC and CHOICE: only assertions marked choice are [CHOICE]");
	cr_expect_eq(s->n_sections, 2);
	cr_expect(scn_has_tag(s, "needs:short-cooldown"));
	cr_expect(!scn_has_tag(s, "needs"));
	cr_assert_eq(s->n_steps, 3);
	const struct scn_step *st = &s->steps[0];
	cr_expect_str_eq(st->req.method, "POST");
	cr_expect_eq(st->req.n_query, 2);
	cr_expect_str_eq(st->req.query[1].value, "{{session}}");
	cr_expect_eq(st->req.body_kind, SCN_BODY_JSON);
	cr_expect_eq(st->expect.n_statuses, 1);
	cr_expect_eq(st->expect.statuses[0], 200);
	cr_expect_eq(st->expect.n_headers, 2);
	cr_expect_eq(st->expect.n_json, 2);
	cr_expect_eq(st->expect.json[1].match, SCN_MATCH_ANY);
	cr_expect(st->expect.json[1].choice);
	cr_expect_eq(st->n_captures, 2);
	cr_expect_eq(st->captures[0].source, SCN_CAP_HEADER);
	cr_expect(st->captures[1].optional);
	cr_expect(st->has_retry);
	cr_expect_eq(st->retry.max, 5);
	cr_expect(s->steps[1].background);
	cr_expect_eq(s->steps[1].req.body_kind, SCN_BODY_MULTIPART);
	cr_expect_eq(s->steps[1].req.n_parts, 2);
	cr_expect_eq(s->steps[1].req.parts[1].source, SCN_PART_GENERATE);
	cr_expect_eq(s->steps[1].req.parts[1].gen.size, 1048576);
	cr_expect_str_eq(s->steps[2].join, "bg");
	cr_expect_eq(s->steps[2].join_index, 1);
	cr_expect_eq(s->n_cleanup, 1);
	scn_free(s);
}

Test(scenario, choice_only_scenario)
{
	struct scn *s = parse_ok("{\"description\":\"d\",\"provenance\":{\"sections\":[\"§4\"],"
				 "\"tags\":[\"CHOICE\"]},\"steps\":[{\"request\":{\"method\":"
				 "\"GET\",\"path\":\"/\"}}]}");
	cr_expect(s->choice);
	scn_free(s);
}

Test(scenario, name_defaults_to_id)
{
	struct scn *s =
	    parse_ok(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"}}]}");
	cr_expect_str_eq(s->name, "area/001-t");
	cr_expect(!s->choice);
	scn_free(s);
}

Test(scenario, errors_name_file_key_and_reason)
{
	parse_fails("{", "line 1, column 1: invalid JSON");
	parse_fails("{\n \"a\": 1,\n}", "line 3, column 1");
	parse_fails("{} x", "text after the JSON object");
	parse_fails("[]", "expected an object");
	parse_fails(HEAD "\"steps\":[], \"stepz\":1}", "unknown key \"stepz\"");
	parse_fails("{" PROV ",\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"}}]}",
		    "missing required key \"description\"");
	parse_fails(
	    "{\"description\":\"d\",\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/"
	    "\"}}]}",
	    "missing required key \"provenance\"");
	parse_fails(
	    "{\"description\":\"d\",\"provenance\":{\"sections\":[\"1\"],\"tags\":[\"SPECS\"]},"
	    "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"}}]}",
	    "provenance.tags: unknown tag \"SPECS\"");
	parse_fails(HEAD "\"steps\":[]}", "steps: expected a non-empty array");
	parse_fails(HEAD
		    "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\",\"jsn\":{}}}]}",
		    "steps[0].request: unknown key \"jsn\"");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"get\",\"path\":\"/\"}}]}",
		    "steps[0].request.method: expected an upper-case HTTP method");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\"}}]}",
		    "give exactly one of \"path\" and \"url\"");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"x\"}}]}",
		    "steps[0].request.path: must start with \"/\"");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/{{x\"}}]}",
		    "unterminated \"{{\"");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"POST\",\"path\":\"/\",\"json\":{},"
			 "\"body\":\"x\"}}]}",
		    "give at most one body");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"expect\":{"
			 "\"status\":99}}]}",
		    "steps[0].expect.status: expected an HTTP status");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"expect\":{"
			 "\"json\":[{\"path\":\"$.a\",\"equal\":1}]}}]}",
		    "steps[0].expect.json[0]: unknown key \"equal\"");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"expect\":{"
			 "\"json\":[{\"path\":\"a\",\"equals\":1}]}}]}",
		    "steps[0].expect.json[0].path: a path must start with '$'");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"expect\":{"
			 "\"json\":[{\"path\":\"$\",\"match\":\"some\",\"exists\":true}]}}]}",
		    "match: expected \"all\", \"any\" or \"none\"");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"expect\":{"
			 "\"body\":{\"sha256\":\"abc\"}}}]}",
		    "body.sha256: expected 64 lowercase hex digits");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"capture\":{"
			 "\"x\":{\"header\":\"a\",\"body\":true}}}]}",
		    "give exactly one of");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"capture\":{"
			 "\"x\":{\"json\":\"$.a\",\"session\":\"yes\"}}}]}",
		    "steps[0].capture.x.session: expected true or false");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/\"},\"retry\":{"
			 "\"max\":3}}]}",
		    "a retry needs \"until\" or the step's \"expect\"");
	parse_fails(HEAD "\"steps\":[{\"background\":true,\"request\":{\"method\":\"GET\",\"path\":"
			 "\"/\"}}]}",
		    "a background step needs a \"name\"");
	parse_fails(HEAD "\"steps\":[{\"join\":\"x\"}]}", "no earlier background step named \"x\"");
	parse_fails(HEAD
		    "\"tags\":[\"need:x\"],\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":"
		    "\"/\"}}]}",
		    "only needs:<capability> and divergence:<target> take a colon");
	parse_fails(HEAD "\"steps\":[{\"request\":{\"method\":\"POST\",\"path\":\"/\",\"generate\":"
			 "{\"size\":-1}}}]}",
		    "generate.size: expected an integer");
	parse_fails(HEAD
		    "\"steps\":[{\"request\":{\"method\":\"POST\",\"path\":\"/\",\"multipart\":"
		    "[{\"name\":\"f\",\"data\":\"x\",\"file\":\"y\"}]}}]}",
		    "multipart[0]: give at most one of");
}

Test(scenario, load_reports_unreadable_files)
{
	struct scn *s = NULL;
	struct sp_err err = {0};
	cr_expect_lt(scn_load("/nonexistent/x.json", "x", &s, &err), 0);
	cr_expect(strstr(err.msg, "/nonexistent/x.json"), "%s", err.msg);
}
