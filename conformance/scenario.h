/* SPDX-License-Identifier: MIT */
/*
 * Scenario files: loading and validation. One JSON file holds one scenario; every object in it
 * has a closed set of keys, and anything else is a parse error naming the file, the key path
 * and the reason ("x.json: steps[1].request: unknown key \"jsn\""), so typos fail loudly.
 * docs/conformance.md describes the format; in short:
 *
 *   { "name", "description" (required), "provenance": {"sections": […], "tags": […]} (required),
 *     "since", "tags": [...], "vars": {…}, "steps": [step…] (required), "cleanup": [step…],
 *     "comment" }
 *   step    = { "name", "comment", "request" (required), "expect", "capture", "retry",
 *               "delay_ms", "background" }  or  { "join": name, "comment" }
 *             (a background step's request runs concurrently with the following steps; a
 *             later join step waits for it and then applies its expect and capture)
 *   request = { "method", "path" | "url", "query": [[name, value]…], "headers": {…},
 *               "auth": "default" | "none", "json" | "body" | "body_base64" | "body_file" |
 *               "generate": {"size", "pattern"} | "multipart": [part…], "chunked",
 *               "timeout_ms" }
 *   part    = { "name", "filename", "content_type", "data" | "file" | "generate" }
 *   expect  = { "status": N | [N…], "status_choice", "headers": {name: predicates | "text"},
 *               "json": [{"path", "match": "all"|"any"|"none", "choice", predicates…}…],
 *               "body": {"equals", "matches", "contains", "not_contains", "sha256", "size",
 *                        "empty", "choice"} }
 *   capture = { var: {"header": name | "json": path | "body": true | "status": true,
 *                     "regex": ERE, "optional": bool, "session": bool} }
 *             ("session": the captured string is a session identifier the teardown deletes,
 *             e.g. an MCP environmentId that no request URL names)
 *   retry   = { "max", "interval_ms", "until": expect }
 *
 * Life cycle: scn_load() or scn_parse() returns a struct scn owned by the caller, released
 * with scn_free(). The parsed structs borrow their JSON fragments from the scenario's own
 * document (|doc|), so they live exactly as long as the struct scn. Read-only after loading,
 * so one scenario may be run by several threads at once.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum scn_body_kind {
	SCN_BODY_NONE,
	SCN_BODY_JSON,	    /* |json|, templated, serialised compactly */
	SCN_BODY_TEXT,	    /* |text|, templated, sent as is */
	SCN_BODY_BASE64,    /* |text|, templated, then base64-decoded */
	SCN_BODY_FILE,	    /* |text| is a path under the data directory, streamed */
	SCN_BODY_GENERATE,  /* |gen|, streamed, never held in memory */
	SCN_BODY_MULTIPART, /* |parts| */
};

/* Bytes produced on the fly: |pattern| repeated until |size| bytes. */
struct scn_generate {
	uint64_t size;
	const char *pattern; /* not owned; never empty */
};

enum scn_part_source { SCN_PART_EMPTY, SCN_PART_DATA, SCN_PART_FILE, SCN_PART_GENERATE };

struct scn_part {
	const char *name;	  /* not owned; template */
	const char *filename;	  /* not owned; template; NULL = no filename parameter */
	const char *content_type; /* not owned; NULL = curl's default */
	enum scn_part_source source;
	const char *data; /* not owned; SCN_PART_DATA (template) or SCN_PART_FILE (path) */
	struct scn_generate gen;
};

struct scn_kv {
	const char *name;  /* not owned; template */
	const char *value; /* not owned; template */
};

struct scn_request {
	const char *method; /* not owned */
	const char *path;   /* not owned; template appended to the target's base URL */
	const char *url;    /* not owned; template of an absolute URL (exclusive with path) */
	struct scn_kv *query;
	size_t n_query;
	struct scn_kv *headers;
	size_t n_headers;
	bool no_auth;
	enum scn_body_kind body_kind;
	const cJSON *json; /* not owned */
	const char *text;  /* not owned */
	struct scn_generate gen;
	struct scn_part *parts;
	size_t n_parts;
	bool chunked;
	long timeout_ms; /* 0 = the runner's default */
};

enum scn_match { SCN_MATCH_ALL, SCN_MATCH_ANY, SCN_MATCH_NONE };

struct scn_header_check {
	const char *name;   /* not owned */
	const cJSON *preds; /* not owned; a predicate set, or a string meaning "equals" */
	bool choice;
};

struct scn_json_check {
	const char *path; /* not owned */
	enum scn_match match;
	const cJSON *preds; /* not owned; the assertion object itself (extra keys ignored) */
	bool choice;
};

struct scn_expect {
	bool present;
	int *statuses; /* owned; empty = any status */
	size_t n_statuses;
	bool status_choice;
	struct scn_header_check *headers;
	size_t n_headers;
	struct scn_json_check *json;
	size_t n_json;
	const cJSON *body; /* not owned; NULL = no body check */
	bool body_choice;
};

enum scn_capture_source { SCN_CAP_HEADER, SCN_CAP_JSON, SCN_CAP_BODY, SCN_CAP_STATUS };

struct scn_capture {
	const char *var; /* not owned */
	enum scn_capture_source source;
	const char *arg;   /* not owned; header name or JSON path */
	const char *regex; /* not owned; optional, group 1 (or the whole match) is kept */
	bool optional;
	bool session; /* the value is also tracked as a session identifier for the teardown */
};

struct scn_retry {
	int max;
	int interval_ms;
	struct scn_expect until; /* until.present false: retry until |expect| holds */
};

struct scn_step {
	const char *name; /* not owned; may be NULL (required for background steps) */
	bool background;
	const char *join;  /* not owned; set for a join step (which has no request) */
	size_t join_index; /* the joined background step's index in the same list */
	struct scn_request req;
	struct scn_expect expect;
	struct scn_capture *captures;
	size_t n_captures;
	bool has_retry;
	struct scn_retry retry;
	long delay_ms;
};

struct scn {
	char *id;   /* owned: e.g. "execute-old/001-print-hello" */
	char *file; /* owned: the path it was loaded from */
	cJSON *doc; /* owned: everything below borrows from it */
	const char *name;
	const char *description;
	const char *since;
	const char **tags; /* owned array of borrowed strings */
	size_t n_tags;
	const char **sections; /* owned array of borrowed strings */
	size_t n_sections;
	const char **prov_tags; /* owned array of borrowed strings: SPEC, DOC, CLIENT, CHOICE */
	size_t n_prov_tags;
	bool choice; /* every provenance tag is CHOICE: the whole scenario is [CHOICE] */
	const cJSON *vars;
	struct scn_step *steps;
	size_t n_steps;
	struct scn_step *cleanup;
	size_t n_cleanup;
};

/*
 * Parses the |len| bytes of |text| as a scenario. |file| names it in error messages and |id|
 * becomes its identifier (both copied). Returns 0 with *out set, -EINVAL with a message
 * "file: key: reason" in |err|, or -ENOMEM.
 */
int scn_parse(const char *text, size_t len, const char *file, const char *id, struct scn **out,
	      struct sp_err *err);

/* Reads |file| and parses it (see scn_parse); -errno when the file cannot be read. */
int scn_load(const char *file, const char *id, struct scn **out, struct sp_err *err);

void scn_free(struct scn *s);

/* True when the scenario carries exactly |tag|. */
bool scn_has_tag(const struct scn *s, const char *tag);

/* Largest scenario file: 16 MiB (its JSON may nest at most SP_JSON_DEPTH_DOC deep). */
#define SCN_FILE_MAX ((size_t)16 << 20)

/* Upper bound for generated bodies: 8 GiB, far above any limit a pool has. */
#define SCN_GENERATE_MAX (UINT64_C(8) << 30)
