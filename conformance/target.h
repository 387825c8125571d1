/* SPDX-License-Identifier: MIT */
/*
 * Targets: what a scenario runs against. A struct target_spec is what the user asked for (a
 * URL, a target file, or --emulator PATH with its options); a struct target is one live
 * instance of it: a base URL, TLS settings, a token source, the capabilities it offers and the
 * variables scenarios see ({{base_url}}, {{origin}}, {{prefix}}, {{pool}}, {{target}}, …).
 *
 * The MCP key ({{mcp_key}}, sent by the mcp-tagged scenarios as x-ms-apikey) is given like a
 * token (a string or an environment variable); an emulator spec without one gets a random key,
 * and every emulator instance is started with --mcp-api-key set to the target's key, so it checks
 * the key as a real pool does. Keys are registered with redact.h before their first use.
 *
 * Capabilities (the needs:<name> tags) come from one table. For an emulator spec the runner
 * can provide any of them by starting an instance with the table's flags; for a URL target
 * they are whatever the user declares (--capability, or "capabilities" in a target file).
 * Exclusive capabilities (a small capacity, a small page size, a short cooldown, isolation)
 * describe the whole pool, so scenarios needing them never share an instance with others.
 *
 * Life cycle: target_spec_init()/target_spec_load_file() → target_open() (any number of
 * times, from any thread) → target_close() → target_spec_fini().
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "emulator.h"
#include "err.h"
#include "http_client.h"
#include "target_api.h"
#include "token.h"
#include "vars.h"

enum target_kind { TARGET_EMULATOR, TARGET_REAL };

struct target_spec {
	char *name;
	enum target_kind kind;
	bool kind_set;
	char *url;	/* URL mode */
	char *emulator; /* emulator mode: the binary */
	char **emu_args;
	size_t n_emu_args;
	char **caps; /* URL: declared; emulator: applied to every instance */
	size_t n_caps;
	char *prefix; /* emulator mode: appended to the instance's URL */
	char *cacert;
	bool insecure;
	enum token_kind token_kind;
	char *token_arg;
	char *mcp_key;	   /* the x-ms-apikey for /mcp (--mcp-key, "mcp_key"); NULL = none */
	char *mcp_key_env; /* or the variable holding it (--mcp-key-env, "mcp_key_env") */
	cJSON *vars;	   /* extra variables */
	cJSON *cap_vars;   /* URL mode: capability name → object of variables */
	int ready_timeout_ms;
	struct target_api api; /* api-versions and teardown routes; unset = the defaults */
};

struct target {
	char *name;
	enum target_kind kind;
	char *base_url; /* scheme://host:port + prefix, no trailing slash */
	char *origin;	/* scheme://host:port */
	char *prefix;	/* "" or "/subscriptions/…/sessionPools/<pool>" */
	char *pool;
	struct http_tls tls; /* cacert not owned (the spec's) */
	struct token_source *token;
	char
	    *mcp_key; /* {{mcp_key}}; NULL when the target has none (see target_spec_has_mcp_key) */
	char **caps;
	size_t n_caps;
	struct vars *vars;
	struct target_routes routes; /* the runner's own requests (teardown, sweep) */
	struct emu_instance *emu;
};

/* Fills |s| with an empty spec. */
void target_spec_init(struct target_spec *s);
void target_spec_fini(struct target_spec *s);

/* The spec's kind (given, else an emulator when it starts one, else real) and its name (given,
 * else "emulator" or "real"). */
enum target_kind target_spec_kind(const struct target_spec *s);
const char *target_spec_name(const struct target_spec *s);

/*
 * Reads a target file (JSON; keys: name, kind, base_url, emulator, emulator_args, prefix,
 * cacert, insecure, token, token_env, token_command, mcp_key, mcp_key_env, capabilities, vars,
 * ready_timeout_ms, api_versions, teardown (see target_api.h)) into |s|, which must be freshly
 * initialised. Relative paths stay relative to the working directory. Returns 0 or -EINVAL with
 * "file: key: reason".
 */
int target_spec_load_file(const char *file, struct target_spec *s, struct sp_err *err);

/*
 * Checks that |s| is complete and consistent (one of url/emulator, known capabilities) and that
 * its MCP key, when it has one, is usable: at least 4 bytes (shorter ones could not be redacted)
 * without control characters, and its variable set. Registers that key for redaction.
 */
int target_spec_check(const struct target_spec *s, struct sp_err *err);

/*
 * True when instances of |s| have an MCP key: one was given, or |s| starts emulators (which get
 * a random one). Scenarios tagged "mcp" are skipped on targets without one.
 */
bool target_spec_has_mcp_key(const struct target_spec *s);

/* True when |name| is in the capability table. */
bool target_cap_known(const char *name);

/* True when |name| is an exclusive capability (see above). */
bool target_cap_exclusive(const char *name);

/*
 * The capabilities an instance opened with |needs| offers: for an emulator spec, the implicit
 * ones, the spec's own and |needs|; for a URL spec, the declared ones. Checks whether |cap| is
 * among them.
 */
bool target_spec_offers(const struct target_spec *s, const char *const *needs, size_t n_needs,
			const char *cap);

/*
 * Opens an instance of |s|: for an emulator spec, starts one with the flags of |needs| (the
 * default instance when n_needs is 0); for a URL spec, |needs| must be offered already.
 * |globals| (borrowed, must outlive the target) is the parent scope of the target variables,
 * which include the api-versions and the capability and file variables (in that order, later
 * ones replacing earlier ones of the same name).
 * |log_as| (may be NULL) keeps the emulator's log there. Returns 0 or a negative code.
 */
int target_open(const struct target_spec *s, const char *const *needs, size_t n_needs,
		const struct vars *globals, const char *log_as, struct target **out,
		struct sp_err *err);

/* Stops the instance (if any) and frees. Returns 0, or -ECHILD when the emulator exited
 * uncleanly (message in |err|); |t| is freed either way. */
int target_close(struct target *t, struct sp_err *err);

bool target_has_cap(const struct target *t, const char *cap);

/* Splits a URL into origin, path prefix and pool name (the {pool} segment, or NULL). */
int target_split_url(const char *url, char **origin, char **prefix, char **pool,
		     struct sp_err *err);
