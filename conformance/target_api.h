/* SPDX-License-Identifier: MIT */
/*
 * What a target says about its API beyond the scenarios: the api-versions scenarios and the
 * runner use (the variables api_old, api_new and api_management), and the routes of the
 * runner's own requests: deleting each session a scenario used, and listing sessions for the
 * end-of-run sweep. A target file gives them as
 *
 *   "api_versions": {"old": "…", "new": "…", "management": "…"},
 *   "teardown": {"delete_session": [{"method": "DELETE", "path": "/session?…{{identifier|url}}"},
 * …], "list_sessions": {"method": "GET", "path": "/listSessions?api-version={{api_new}}"}}
 *
 * Every member is optional; an absent one takes the built-in default (the emulator's, which
 * are the Azure routes and versions the contract names). "delete_session": [] deletes nothing
 * and "list_sessions": null turns the sweep off. Paths are templates appended to the target's
 * base URL; they see the target's variables and, for delete_session, {{identifier}}.
 *
 * Life cycle: target_api_init() → target_api_load() (from a target file; optional) →
 * target_api_resolve() (any number of times) → target_api_fini(); resolved routes are released
 * with target_routes_fini().
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "vars.h"

enum target_api_version { TARGET_API_OLD, TARGET_API_NEW, TARGET_API_MANAGEMENT, TARGET_API_N };

/* A request the runner sends on its own. */
struct target_route {
	char *method;
	char *path; /* template, appended to the base URL */
};

/* What a target file declared; NULL/false members mean "the default". */
struct target_api {
	char *versions[TARGET_API_N];
	bool delete_set; /* "delete_session" given (possibly empty) */
	struct target_route *delete_session;
	size_t n_delete_session;
	bool list_set; /* "list_sessions" given; list_sessions.path NULL when it was null */
	struct target_route list_sessions;
};

/* The routes of one live target, defaults applied. */
struct target_routes {
	struct target_route *delete_session; /* tried in order until one answers 200, 204 or 404 */
	size_t n_delete_session;
	struct target_route list_sessions; /* path NULL: the target cannot list: no sweep */
};

void target_api_init(struct target_api *a);
void target_api_fini(struct target_api *a);

/*
 * Reads the "api_versions" and "teardown" members of the target file object |file_obj| (either
 * may be absent) into |a|, which must be freshly initialised. Returns 0, or -EINVAL with
 * "file: key: reason" in |err| (unknown keys, wrong types, a bad template), or -ENOMEM.
 */
int target_api_load(const cJSON *file_obj, const char *file, struct target_api *a,
		    struct sp_err *err);

/* Fails with "file: where: unknown key \"k\"" (no "where: " when |where| is NULL) on a member of
 * the object |obj| that is not one of the |n| |keys|. */
int target_closed_keys(const cJSON *obj, const char *const *keys, size_t n, const char *file,
		       const char *where, struct sp_err *err);

/* The built-in default of an api-version. */
const char *target_api_default(enum target_api_version v);

/*
 * Binds api_old, api_new and api_management in |vars| (|a|'s values or the defaults) and fills
 * |out| with |a|'s routes or the defaults (release with target_routes_fini). Returns 0 or
 * -ENOMEM; |out| is written only on success.
 */
int target_api_resolve(const struct target_api *a, struct vars *vars, struct target_routes *out);

void target_routes_fini(struct target_routes *r);
