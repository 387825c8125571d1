/* SPDX-License-Identifier: MIT */
/*
 * The emulator's settings (contract §1.7 plus the sandbox limits): one struct config, filled
 * from defaults, then SESSIONPOOL_* environment variables, then --kebab-case flags. Every
 * setting has both forms; config_usage() lists them with defaults. Strings in the struct are
 * owned by it (config_fini()).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

enum auth_mode { AUTH_MODE_ANY, AUTH_MODE_STRICT };
enum api_version_mode { API_VERSION_STRICT, API_VERSION_LENIENT };

struct config {
	char *listen;	/* "HOST:PORT"; port 0 = ephemeral */
	char *data_dir; /* NULL until config_finish() picks the default */
	char *ready_file;
	uint64_t cooldown_seconds;
	uint64_t max_sessions;
	uint64_t list_page_size;
	uint64_t upload_max_bytes;
	uint64_t json_body_max_bytes;
	uint64_t exec_timeout_default_s;
	uint64_t exec_timeout_max_s;
	uint64_t interrupt_grace_s;
	uint64_t output_streams_max_default;
	uint64_t execution_records_per_session;
	enum auth_mode auth_mode;
	char *static_token;
	char *extra_audiences; /* comma-separated */
	bool deny_role;
	enum api_version_mode api_version_mode;
	char *public_base_url;
	char *pool_name;
	char *tls_cert;
	char *tls_key;
	bool egress;
	char *isolation; /* auto | full | degraded */
	uint64_t session_memory_mb;
	uint64_t session_max_processes;
	uint64_t session_disk_mb;
	uint64_t threads; /* CivetWeb workers; 0 = automatic */
	uint64_t keep_alive_timeout_ms;
	uint64_t request_timeout_ms;
	uint64_t ready_sessions;
	/* Extra site directories, ':'-separated (resolved after config_finish); the count of
	 * --python-path flags seen (the first replaces the variable's list). */
	char *python_path;
	unsigned python_path_flags;
	char *pip_find_links; /* wheel directory for %pip (absolute after config_finish) */
	char *zygote;	      /* path of sessionpool-zygote; NULL = next to the emulator binary */
	char *test_fault;     /* test-only: deliberately wrong behaviour for runner self-tests */
	bool mcp_enabled;     /* --mcp: the MCP server at {base}/mcp */
	char *mcp_api_key; /* --mcp-api-key: the only x-ms-apikey accepted; NULL: any (auth any) */
	bool playground_enabled; /* --playground: /, /playground/, /.emulator/requests */
	bool quiet;
	char *log_format;   /* text | json */
	char *log_level;    /* quiet | info | debug */
	char *cors_origins; /* after config_finish(): "*", a comma-separated list of origins, or
			     * "" (no CORS); NULL before = the default (see config_finish) */
};

/* At most this many --python-path directories. */
#define CONFIG_PYTHON_PATH_MAX 16

/* The documented range of --max-sessions (README, --help and the error all say it). */
#define CONFIG_MAX_SESSIONS_MAX 60000

/* Fills |c| with the defaults. */
void config_init(struct config *c);
void config_fini(struct config *c);

/*
 * Applies SESSIONPOOL_* variables from |envp| (NULL-terminated; may be NULL), then the flags in
 * argv[1..argc-1]. Returns 0 to run, 1 when --help or --version was handled (text written to
 * |out|), or a negative code with a one-line message in |err| for a bad value or flag.
 */
int config_parse(struct config *c, int argc, char **argv, char **envp, FILE *out,
		 struct sp_err *err);

/* Cross-field checks (e.g. TLS cert without key), the CORS origins (default: "*" when the
 * listener is a loopback address, else none) and the default data directory. */
int config_finish(struct config *c, struct sp_err *err);

/* Writes the --help text: every flag, its variable, its default. */
void config_usage(FILE *out);

/* True if |token| equals one of the comma-separated |list| entries. */
/* The next item of the comma-separated list at *pos (spaces around items ignored): its start,
 * with its length in *len, and *pos moved past it; NULL at the end. */
const char *config_list_next(const char **pos, size_t *len);
bool config_list_contains(const char *list, const char *token);
