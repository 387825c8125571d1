/* SPDX-License-Identifier: MIT */
/*
 * Operation handlers, one module per resource (api_exec.c, api_files.c, api_sessions.c).
 * server.c has already checked, in contract §10.3 order: authentication, deny-role, route and
 * method, api-version (r->new_shape), and identifier (r->identifier, valid) for session-scoped
 * operations. Handlers do steps 5–8 (other query parameters, body, session, operation) and
 * always answer through http.h.
 */
#pragma once

#include "http.h"

/* POST code/execute, python/execute, executions. */
void api_execute(struct req *r);
/* GET executions/{id}. */
void api_execution_get(struct req *r);

/* POST files/upload (old shape), POST files (new shape). */
void api_files_upload(struct req *r);
/* GET files. */
void api_files_list(struct req *r);
/* GET files/content/{filename+}, files/{name+}/content, python/downloadFile. */
void api_files_content(struct req *r);
/* GET files/{name+} (and files/upload read as a name). */
void api_files_meta(struct req *r);
/* DELETE files/{name+}. */
void api_files_delete(struct req *r);

/* GET/DELETE session, .management/getSession, .management/stopSession. */
void api_session(struct req *r);
/* GET listSessions, .management/listSessions. */
void api_list_sessions(struct req *r);
/* GET metadata. */
void api_metadata(struct req *r);
/* GET /healthz (no auth). */
void api_healthz(struct req *r);
/* {base}/mcp, every method: the MCP server (§13), with its own checks (switch, x-ms-apikey,
 * methods, CORS) instead of server.c's. */
void api_mcp(struct req *r);
/* The pool created a session (any route): the MCP server forgets its reservation of that id
 * (pool_options.on_create). */
void api_mcp_session_created(const char *identifier);

/* GET / (no auth): 302 to /playground/ (404 RouteNotFound with --playground disabled). */
void api_root(struct req *r);
/* GET /playground/{file} (no auth): the playground's embedded files. */
void api_playground(struct req *r);
/* GET /.emulator/requests?since=&limit=&identifier=&status=: the request ring (reqring.h). */
void api_requests(struct req *r);

/* "The session pool has reached its maximum of N concurrent sessions." into buf[0, n). */
void api_capacity_message(const struct req *r, char *buf, size_t n);

/*
 * Maps a pool_acquire() failure to its error response (capacity → 404
 * SessionPoolCapacityExceeded, absent → |absent_error|, else 500 InternalError).
 */
void api_send_acquire_error(struct req *r, int rc, enum api_error absent_error,
			    const struct sp_err *err);
