/* SPDX-License-Identifier: MIT */
/*
 * Integration-test harness: runs the real sessionpool-emulator on an ephemeral port and talks
 * HTTP to it with libcurl.
 *
 * Life cycle: emu_start() (in a test or its .init) forks the emulator with --listen
 * 127.0.0.1:0, a private --data-dir and --ready-file under a new temporary directory, plus the
 * caller's extra flags, and waits for the ready file (never a sleep); emu_request() any number
 * of times; emu_stop() sends SIGTERM, waits (SIGKILL after a grace period), and removes the
 * temporary directory. Criterion runs each test in its own process, so one emulator per test.
 *
 * The emulator binary is EMULATOR_PATH (compile definition), overridden by the environment
 * variable SESSIONPOOL_EMULATOR when set. Its output goes to <dir>/emulator.log, which
 * emu_stop() copies to stderr when the SESSIONPOOL_TEST_LOG variable is set.
 * Not thread-safe; one struct emu per test process.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct emu {
	pid_t pid;
	char dir[256];	    /* temporary directory owned by the harness */
	char data_dir[300]; /* the emulator's --data-dir */
	char base_url[256]; /* e.g. "http://127.0.0.1:41235", from the ready file */
};

/*
 * Starts the emulator with |extra_args| (NULL-terminated list, may be NULL) appended to the
 * harness's own flags; waits up to |timeout_s| seconds (0 = 60) for it to be ready.
 * Returns 0, or a negative errno (the emulator exited or timed out; its log is on stderr).
 */
int emu_start(struct emu *e, const char *const *extra_args, int timeout_s);

/*
 * Starts the emulator binary (EMULATOR_PATH, or SESSIONPOOL_EMULATOR when set) in a process
 * group of its own with the flags |lead| then |args| (each NULL-terminated, may be NULL), its
 * standard output to the file |out| and its standard error to the file |err| (created; NULL means
 * /dev/null). Unlike emu_start(), it neither waits for readiness nor owns a directory: for tests
 * of start-up and of what the emulator prints. Returns the pid, or -1.
 */
pid_t emu_spawn(const char *const *lead, const char *const *args, const char *out, const char *err);

/* Removes |dir| and everything below it, never following symlinks. "" is a no-op. */
void emu_rm_tree(const char *dir);

/* SIGTERM, wait up to 20 s, then SIGKILL; removes the temporary directory. Returns the wait
 * status, or -1 if the emulator was not running. Safe to call twice. */
int emu_stop(struct emu *e);

struct http_resp {
	long status;   /* final status (a 100 Continue is skipped); 0 on transport error */
	char *headers; /* header lines of the final response, "Name: value\r\n" each */
	char *body;    /* NUL-terminated (the NUL is not counted in body_len) */
	size_t body_len;
	double seconds;	 /* total time */
	char error[256]; /* curl's message on transport error */
};
void http_resp_fini(struct http_resp *r);

/* The value of header |name| (case-insensitive, first occurrence) as a new string, or NULL. */
char *http_resp_header(const struct http_resp *r, const char *name);

/* The body parsed as JSON (caller deletes), or NULL. */
cJSON *http_resp_json(const struct http_resp *r);

/* Body source for streaming uploads: called like a curl read callback. */
typedef size_t (*http_read_fn)(char *buf, size_t size, size_t nitems, void *ctx);

struct http_req {
	const char *method;	    /* default "GET", or "POST" when a body is given */
	const char *path;	    /* appended to base_url (starts with '/') */
	const char *const *headers; /* NULL-terminated "Name: value" lines, may be NULL */
	const char *body;	    /* in-memory body, or NULL */
	size_t body_len;
	http_read_fn read; /* streaming body (instead of |body|) */
	void *read_ctx;
	int64_t read_len; /* length of the streamed body; -1 = chunked */
	bool no_auth;	  /* do not add "Authorization: Bearer x" */
	long timeout_s;	  /* default 120 */
};

/* Performs |q| against |e|. Returns 0 with *out filled (any HTTP status), or -EIO on a
 * transport error (out->error says why; out is filled as far as possible). */
int emu_request(const struct emu *e, const struct http_req *q, struct http_resp *out);

/* Shorthand for a request with no body and default headers. */
int emu_do(const struct emu *e, const char *method, const char *path, struct http_resp *out);

/*
 * Runs Python |code| in session |identifier| (POST /executions, new shape, synchronous) and
 * returns the response's "status" member as a new string ("Succeeded", …) or NULL; *resp
 * (optional) receives the whole response.
 */
char *emu_exec(const struct emu *e, const char *identifier, const char *code,
	       struct http_resp *resp);

/* A multipart/form-data body with one part per (name, filename, content) triple; filename may
 * be NULL (no filename parameter). Returns a new buffer; *len its length. Boundary: EMU_BOUNDARY.
 */
#define EMU_BOUNDARY "emu-test-boundary-7MA4YWxkTrZu0gW"
char *emu_multipart(size_t *len, size_t nparts, const char *const *names,
		    const char *const *filenames, const char *const *contents);
