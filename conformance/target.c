/* SPDX-License-Identifier: MIT */
/*
 * Targets and the capability table; see target.h. The table is the one place that knows which
 * emulator flags provide which needs:<capability>, and which variables a scenario can use to
 * learn the configured values (e.g. {{cooldown_seconds}}).
 */
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "redact.h"
#include "spjson.h"

/* Largest target file: far more than any hand-written one needs. */
#define TARGET_FILE_MAX ((size_t)1 << 20)

struct cap_def {
	const char *name;
	const char *slot;     /* capabilities sharing a slot exclude each other */
	bool implicit;	      /* offered by an emulator started without flags */
	bool exclusive;	      /* describes the whole pool: never shared */
	const char *flags[5]; /* "@TOKEN@" becomes the instance's static token */
	const char *vars;     /* JSON object */
};

static const struct cap_def caps_table[] = {
    {"any-auth", "auth", true, false, {"--auth-mode", "any"}, NULL},
    {"strict-auth",
     "auth",
     false,
     false,
     {"--auth-mode", "strict", "--static-token", "@TOKEN@"},
     NULL},
    {"extra-audience",
     NULL,
     false,
     false,
     {"--extra-audiences", "api://sessionpool-conformance"},
     "{\"extra_audience\":\"api://sessionpool-conformance\"}"},
    {"deny-role", NULL, false, false, {"--deny-role"}, NULL},
    {"lenient-api-version", NULL, false, false, {"--api-version-mode", "lenient"}, NULL},
    {"public-base-url",
     NULL,
     false,
     false,
     {"--public-base-url", "https://sessions.example.test/pool-base"},
     "{\"public_base_url\":\"https://sessions.example.test/pool-base\"}"},
    {"named-pool",
     NULL,
     false,
     false,
     {"--pool-name", "conformance-pool"},
     "{\"pool_name\":\"conformance-pool\"}"},
    {"short-exec-timeout",
     NULL,
     false,
     false,
     {"--exec-timeout-default-s", "2", "--exec-timeout-max-s", "3"},
     "{\"exec_timeout_default_s\":2,\"exec_timeout_max_s\":3}"},
    {"short-interrupt-grace",
     NULL,
     false,
     false,
     {"--interrupt-grace-s", "1"},
     "{\"interrupt_grace_s\":1}"},
    {"small-json-body",
     NULL,
     false,
     false,
     {"--json-body-max-bytes", "4096"},
     "{\"json_body_max_bytes\":4096}"},
    {"small-upload-limit",
     NULL,
     false,
     false,
     {"--upload-max-bytes", "1024"},
     "{\"upload_max_bytes\":1024}"},
    {"few-execution-records",
     NULL,
     false,
     false,
     {"--execution-records-per-session", "2"},
     "{\"execution_records_per_session\":2}"},
    {"small-output-streams",
     NULL,
     false,
     false,
     {"--output-streams-max-default", "16"},
     "{\"output_streams_max_default\":16}"},
    {"short-cooldown", NULL, false, true, {"--cooldown-seconds", "2"}, "{\"cooldown_seconds\":2}"},
    {"small-capacity", NULL, false, true, {"--max-sessions", "3"}, "{\"max_sessions\":3}"},
    {"small-page", NULL, false, true, {"--list-page-size", "2"}, "{\"list_page_size\":2}"},
    {"isolated", NULL, false, true, {NULL}, NULL},
};

static const struct cap_def *cap_find(const char *name)
{
	for (size_t i = 0; i < sizeof(caps_table) / sizeof(caps_table[0]); i++)
		if (strcmp(caps_table[i].name, name) == 0)
			return &caps_table[i];
	return NULL;
}

bool target_cap_known(const char *name)
{
	return cap_find(name) != NULL;
}

bool target_cap_exclusive(const char *name)
{
	const struct cap_def *d = cap_find(name);
	return d && d->exclusive;
}

void target_spec_init(struct target_spec *s)
{
	memset(s, 0, sizeof(*s));
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void target_spec_fini(struct target_spec *s)
{
	free(s->name);
	free(s->url);
	free(s->emulator);
	free_list(s->emu_args, s->n_emu_args);
	free_list(s->caps, s->n_caps);
	free(s->prefix);
	free(s->cacert);
	free(s->token_arg);
	free(s->mcp_key);
	free(s->mcp_key_env);
	cJSON_Delete(s->vars);
	cJSON_Delete(s->cap_vars);
	target_api_fini(&s->api);
	memset(s, 0, sizeof(*s));
}

static int push_str(char ***list, size_t *n, const char *s)
{
	char **grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*list = grown;
	if (!(grown[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int dup_member(const cJSON *obj, const char *key, char **out, const char *file,
		      struct sp_err *err)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!m || cJSON_IsNull(m))
		return 0;
	if (!cJSON_IsString(m))
		return sp_err_set(err, -EINVAL, "%s: %s: expected a string", file, key);
	free(*out);
	*out = strdup(m->valuestring);
	return *out ? 0 : -ENOMEM;
}

/* Reads |file| as a JSON object, bounded in size and depth before cJSON sees it. */
static int read_file_json(const char *file, cJSON **out, struct sp_err *err)
{
	cleanup_fclose FILE *f = fopen(file, "re");
	if (!f)
		return sp_err_sys(err, -errno, "%s: cannot open", file);
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size > TARGET_FILE_MAX)
		return sp_err_set(err, -EFBIG, "%s: larger than %zu KiB", file,
				  TARGET_FILE_MAX >> 10);
	cleanup_free char *text = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&text, &cap, '\0', f);
	if (n < 0)
		return sp_err_set(err, -EINVAL, "%s: cannot read", file);
	enum sp_json_why why;
	cJSON *j = sp_json_parse(text, (size_t)n, TARGET_FILE_MAX, SP_JSON_DEPTH_DOC, &why);
	if (!j && why == SP_JSON_TOO_DEEP)
		return sp_err_set(err, -EINVAL, "%s: JSON nested more than %d levels deep", file,
				  SP_JSON_DEPTH_DOC);
	if (!j && why == SP_JSON_TOO_LARGE)
		return sp_err_set(err, -EFBIG, "%s: larger than %zu KiB", file,
				  TARGET_FILE_MAX >> 10);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return sp_err_set(err, -EINVAL, "%s: not a JSON object", file);
	}
	*out = j;
	return 0;
}

enum target_kind target_spec_kind(const struct target_spec *s)
{
	return s->kind_set ? s->kind : (s->emulator ? TARGET_EMULATOR : TARGET_REAL);
}

const char *target_spec_name(const struct target_spec *s)
{
	return s->name ? s->name : (target_spec_kind(s) == TARGET_EMULATOR ? "emulator" : "real");
}

static int check_file_keys(const cJSON *j, const char *file, struct sp_err *err)
{
	static const char *const keys[] = {
	    "name",	     "kind",	     "base_url", "emulator",	"emulator_args",
	    "prefix",	     "cacert",	     "insecure", "token",	"token_env",
	    "token_command", "capabilities", "vars",	 "comment",	"ready_timeout_ms",
	    "api_versions",  "teardown",     "mcp_key",	 "mcp_key_env",
	};
	return target_closed_keys(j, keys, sizeof(keys) / sizeof(keys[0]), file, NULL, err);
}

/* The scalar members: strings, kind, insecure, ready_timeout_ms. */
static int load_scalars(const cJSON *j, const char *file, struct target_spec *s, struct sp_err *err)
{
	int r;
	if ((r = dup_member(j, "name", &s->name, file, err)) < 0 ||
	    (r = dup_member(j, "base_url", &s->url, file, err)) < 0 ||
	    (r = dup_member(j, "emulator", &s->emulator, file, err)) < 0 ||
	    (r = dup_member(j, "prefix", &s->prefix, file, err)) < 0 ||
	    (r = dup_member(j, "cacert", &s->cacert, file, err)) < 0)
		return r;
	cleanup_free char *kind = NULL;
	if ((r = dup_member(j, "kind", &kind, file, err)) < 0)
		return r;
	if (kind) {
		if (strcmp(kind, "emulator") && strcmp(kind, "real"))
			return sp_err_set(err, -EINVAL, "%s: kind: expected emulator or real",
					  file);
		s->kind = strcmp(kind, "emulator") == 0 ? TARGET_EMULATOR : TARGET_REAL;
		s->kind_set = true;
	}
	const cJSON *ins = cJSON_GetObjectItemCaseSensitive(j, "insecure");
	if (ins && !cJSON_IsBool(ins))
		return sp_err_set(err, -EINVAL, "%s: insecure: expected true or false", file);
	s->insecure = cJSON_IsTrue(ins);
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j, "ready_timeout_ms");
	if (rt) {
		if (!cJSON_IsNumber(rt) || rt->valuedouble < 1 || rt->valuedouble > 600000)
			return sp_err_set(err, -EINVAL, "%s: ready_timeout_ms: 1 to 600000", file);
		s->ready_timeout_ms = (int)rt->valuedouble;
	}
	return 0;
}

/* One of token, token_env, token_command. */
static int load_token(const cJSON *j, const char *file, struct target_spec *s, struct sp_err *err)
{
	static const struct {
		const char *key;
		enum token_kind kind;
	} tokens[] = {
	    {"token", TOKEN_STATIC}, {"token_env", TOKEN_ENV}, {"token_command", TOKEN_COMMAND}};
	for (size_t i = 0; i < 3; i++) {
		cleanup_free char *v = NULL;
		int r = dup_member(j, tokens[i].key, &v, file, err);
		if (r < 0)
			return r;
		if (!v)
			continue;
		if (s->token_kind != TOKEN_NONE)
			return sp_err_set(err, -EINVAL,
					  "%s: give one of token, token_env, token_command", file);
		s->token_kind = tokens[i].kind;
		s->token_arg = steal_pointer(&v);
	}
	int r = dup_member(j, "mcp_key", &s->mcp_key, file, err);
	if (r == 0)
		r = dup_member(j, "mcp_key_env", &s->mcp_key_env, file, err);
	if (r == 0 && s->mcp_key && s->mcp_key_env)
		return sp_err_set(err, -EINVAL, "%s: give one of mcp_key, mcp_key_env", file);
	return r;
}

static int load_emulator_args(const cJSON *j, const char *file, struct target_spec *s,
			      struct sp_err *err)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(j, "emulator_args");
	if (!args)
		return 0;
	if (!cJSON_IsArray(args))
		return sp_err_set(err, -EINVAL, "%s: emulator_args: expected strings", file);
	const cJSON *m;
	cJSON_ArrayForEach(m, args)
	{
		if (!cJSON_IsString(m))
			return sp_err_set(err, -EINVAL, "%s: emulator_args: expected strings",
					  file);
		int r = push_str(&s->emu_args, &s->n_emu_args, m->valuestring);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "capabilities": a list of names, or name → {variables}; and "vars". */
static int load_caps_and_vars(const cJSON *j, const char *file, struct target_spec *s,
			      struct sp_err *err)
{
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(j, "capabilities");
	if (caps && !cJSON_IsArray(caps) && !cJSON_IsObject(caps))
		return sp_err_set(err, -EINVAL,
				  "%s: capabilities: expected names, or name: {variables}", file);
	const cJSON *m;
	cJSON_ArrayForEach(m, caps)
	{
		const char *name = cJSON_IsObject(caps) ? m->string : m->valuestring;
		if (!name || (cJSON_IsObject(caps) && !cJSON_IsObject(m)))
			return sp_err_set(err, -EINVAL, "%s: capabilities: bad entry", file);
		int r = push_str(&s->caps, &s->n_caps, name);
		if (r < 0)
			return r;
	}
	if (cJSON_IsObject(caps) && !(s->cap_vars = cJSON_Duplicate(caps, true)))
		return -ENOMEM;
	const cJSON *vars = cJSON_GetObjectItemCaseSensitive(j, "vars");
	if (vars) {
		if (!cJSON_IsObject(vars))
			return sp_err_set(err, -EINVAL, "%s: vars: expected an object", file);
		if (!(s->vars = cJSON_Duplicate(vars, true)))
			return -ENOMEM;
	}
	return 0;
}

int target_spec_load_file(const char *file, struct target_spec *s, struct sp_err *err)
{
	cleanup_cjson cJSON *j = NULL;
	int r;
	if ((r = read_file_json(file, &j, err)) < 0 || (r = check_file_keys(j, file, err)) < 0 ||
	    (r = load_scalars(j, file, s, err)) < 0 || (r = load_token(j, file, s, err)) < 0 ||
	    (r = load_emulator_args(j, file, s, err)) < 0 ||
	    (r = load_caps_and_vars(j, file, s, err)) < 0)
		return r;
	return target_api_load(j, file, &s->api, err);
}

static const char *arg_value(const struct target_spec *s, const char *flag)
{
	for (size_t i = 0; i + 1 < s->n_emu_args; i++)
		if (strcmp(s->emu_args[i], flag) == 0)
			return s->emu_args[i + 1];
	return NULL;
}

/* The MCP key |s| gives (borrowed; NULL when it gives none: an emulator then gets a random
 * one), after the checks target_spec_check() documents. */
static int given_mcp_key(const struct target_spec *s, const char **out, struct sp_err *err)
{
	const char *key = s->mcp_key;
	const char *what = "the MCP key";
	if (!key && s->mcp_key_env) {
		key = getenv(s->mcp_key_env);
		if (!key || !key[0])
			return sp_err_set(err, -EINVAL,
					  "MCP key: the environment variable %s is unset or empty",
					  s->mcp_key_env);
	}
	const char *flag = s->emulator ? arg_value(s, "--mcp-api-key") : NULL;
	if (key && flag && strcmp(key, flag) != 0)
		return sp_err_set(
		    err, -EINVAL,
		    "the MCP key differs from the emulator's --mcp-api-key: give one");
	if (!key && flag) {
		key = flag;
		what = "--mcp-api-key";
	}
	if (key && strlen(key) < 4)
		return sp_err_set(err, -EINVAL,
				  "%s is shorter than 4 bytes (too short to be redacted)", what);
	for (const char *p = key; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return sp_err_set(err, -EINVAL, "%s contains a control character", what);
	*out = key;
	return 0;
}

bool target_spec_has_mcp_key(const struct target_spec *s)
{
	return s->emulator || s->mcp_key || s->mcp_key_env;
}

int target_spec_check(const struct target_spec *s, struct sp_err *err)
{
	if (!s->url == !s->emulator)
		return sp_err_set(err, -EINVAL,
				  "a target needs exactly one of a URL and an emulator");
	for (size_t i = 0; i < s->n_caps; i++) {
		const struct cap_def *d = cap_find(s->caps[i]);
		if (!d)
			return sp_err_set(err, -EINVAL, "unknown capability \"%s\"", s->caps[i]);
		if (s->emulator && d->exclusive)
			return sp_err_set(err, -EINVAL,
					  "capability \"%s\" describes the whole pool; the runner "
					  "starts a separate instance for scenarios that need it",
					  s->caps[i]);
	}
	if (s->url) {
		cleanup_free char *o = NULL, *p = NULL, *pool = NULL;
		int r = target_split_url(s->url, &o, &p, &pool, err);
		if (r < 0)
			return r;
	}
	const char *key = NULL;
	int r = given_mcp_key(s, &key, err);
	return r < 0 ? r : redact_register(key);
}

static bool listed(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Collects the capability set of an instance (see target_spec_offers). */
static int cap_set(const struct target_spec *s, const char *const *needs, size_t n_needs,
		   char ***out, size_t *n_out, bool flags_only)
{
	char **set = NULL;
	size_t n = 0;
	int r = 0;
	if (!s->emulator) {
		for (size_t i = 0; i < s->n_caps && r == 0; i++)
			r = push_str(&set, &n, s->caps[i]);
		goto out;
	}
	for (size_t i = 0; i < n_needs && r == 0; i++)
		if (!listed((const char *const *)set, n, needs[i]))
			r = push_str(&set, &n, needs[i]);
	for (size_t i = 0; i < s->n_caps && r == 0; i++) {
		const struct cap_def *d = cap_find(s->caps[i]);
		bool taken = false;
		for (size_t k = 0; k < n_needs && d && d->slot; k++) {
			const struct cap_def *nd = cap_find(needs[k]);
			taken = taken || (nd && nd->slot && strcmp(nd->slot, d->slot) == 0);
		}
		if (!taken && !listed((const char *const *)set, n, s->caps[i]))
			r = push_str(&set, &n, s->caps[i]);
	}
	for (size_t i = 0; !flags_only && r == 0 && i < sizeof(caps_table) / sizeof(caps_table[0]);
	     i++) {
		const struct cap_def *d = &caps_table[i];
		if (!d->implicit || listed((const char *const *)set, n, d->name))
			continue;
		bool taken = false;
		for (size_t k = 0; k < n; k++) {
			const struct cap_def *o = cap_find(set[k]);
			taken = taken || (o && o->slot && d->slot && strcmp(o->slot, d->slot) == 0);
		}
		if (!taken)
			r = push_str(&set, &n, d->name);
	}
out:
	if (r < 0) {
		free_list(set, n);
		return r;
	}
	*out = set;
	*n_out = n;
	return 0;
}

bool target_spec_offers(const struct target_spec *s, const char *const *needs, size_t n_needs,
			const char *cap)
{
	char **set = NULL;
	size_t n = 0;
	if (cap_set(s, needs, n_needs, &set, &n, false) < 0)
		return false;
	bool ok = listed((const char *const *)set, n, cap);
	free_list(set, n);
	return ok;
}

/* A template value left in an endpoint copied from documentation: "<REGION>", "{pool}", or a
 * lone bracket (never valid in a URL either). Returns its length from |*at|, or 0. */
static size_t find_placeholder(const char *url, const char **at)
{
	const char *open = strpbrk(url, "<{>}");
	if (!open)
		return 0;
	*at = open;
	const char *close = NULL;
	if (*open == '<' || *open == '{')
		close = strchr(open + 1, *open == '<' ? '>' : '}');
	return close ? (size_t)(close - open) + 1 : 1;
}

int target_split_url(const char *url, char **origin, char **prefix, char **pool, struct sp_err *err)
{
	const char *ph = NULL;
	size_t ph_len = find_placeholder(url, &ph);
	if (ph_len)
		return sp_err_set(
		    err, -EINVAL,
		    "the endpoint still contains the placeholder \"%.*s\": put in your "
		    "pool's management endpoint (README, \"Validate a real pool\")",
		    (int)(ph_len < 60 ? ph_len : 60), ph);
	const char *sep = strstr(url, "://");
	if (!sep || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
		return sp_err_set(err, -EINVAL, "%s: expected an http:// or https:// URL", url);
	if (strpbrk(url, "?#"))
		return sp_err_set(err, -EINVAL, "%s: a target URL takes no query or fragment", url);
	const char *path = strchr(sep + 3, '/');
	size_t olen = path ? (size_t)(path - url) : strlen(url);
	if (olen <= (size_t)(sep + 3 - url))
		return sp_err_set(err, -EINVAL, "%s: no host", url);
	cleanup_free char *o = strndup(url, olen);
	cleanup_free char *p = strdup(path ? path : "");
	if (!o || !p)
		return -ENOMEM;
	size_t plen = strlen(p);
	while (plen > 0 && p[plen - 1] == '/')
		p[--plen] = '\0';
	char *found_pool = NULL;
	/* /subscriptions/{sub}/resourceGroups/{rg}/sessionPools/{pool} at the end of the path. */
	cleanup_free char *copy = strdup(p);
	if (!copy)
		return -ENOMEM;
	char *segs[64];
	size_t nseg = 0;
	for (char *save = NULL, *t = strtok_r(copy, "/", &save); t && nseg < 64;
	     t = strtok_r(NULL, "/", &save))
		segs[nseg++] = t;
	if (nseg >= 6 && strcasecmp(segs[nseg - 6], "subscriptions") == 0 &&
	    strcasecmp(segs[nseg - 4], "resourceGroups") == 0 &&
	    strcasecmp(segs[nseg - 2], "sessionPools") == 0) {
		found_pool = strdup(segs[nseg - 1]);
		if (!found_pool)
			return -ENOMEM;
	}
	*origin = steal_pointer(&o);
	*prefix = steal_pointer(&p);
	*pool = found_pool;
	return 0;
}

static int add_obj_vars(struct vars *v, const cJSON *obj)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		int r = vars_set(v, m->string, m);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A random secret "<prefix>-<uuid>", registered for redaction. */
static int random_secret(const char *prefix, char **out)
{
	char uuid[37];
	vars_uuid(uuid);
	if (asprintf(out, "%s-%s", prefix, uuid) < 0)
		return -ENOMEM;
	return redact_register(*out);
}

static int emulator_args(const struct target_spec *s, char **set, size_t n, const char *token,
			 const char *mcp_key, char ***args, size_t *n_args)
{
	int r = 0;
	for (size_t i = 0; i < s->n_emu_args && r == 0; i++)
		r = push_str(args, n_args, s->emu_args[i]);
	/* The emulator then checks x-ms-apikey as a real pool does, in any auth mode. */
	if (r == 0 && !arg_value(s, "--mcp-api-key") &&
	    (r = push_str(args, n_args, "--mcp-api-key")) == 0)
		r = push_str(args, n_args, mcp_key);
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct cap_def *d = cap_find(set[i]);
		for (size_t k = 0; d && k < 5 && d->flags[k] && r == 0; k++)
			r = push_str(args, n_args,
				     strcmp(d->flags[k], "@TOKEN@") == 0 ? token : d->flags[k]);
	}
	return r;
}

/* Starts the emulator of |s| with the flags of |needs|; its URL (with the prefix) in |url|. */
static int start_emulator(const struct target_spec *s, const char *const *needs, size_t n_needs,
			  const char *token, const char *log_as, struct target *t, char **url,
			  struct sp_err *err)
{
	char **flag_caps = NULL, **args = NULL;
	size_t n_flag_caps = 0, n_args = 0;
	int r = cap_set(s, needs, n_needs, &flag_caps, &n_flag_caps, true);
	if (r == 0)
		r = emulator_args(s, flag_caps, n_flag_caps, token, t->mcp_key, &args, &n_args);
	if (r == 0) {
		struct emu_launch l = {.binary = s->emulator,
				       .args = (const char *const *)args,
				       .n_args = n_args,
				       .ready_timeout_ms = s->ready_timeout_ms,
				       .keep_log_as = log_as};
		r = emu_start(&l, &t->emu, err);
	}
	if (r == 0 && asprintf(url, "%s%s", emu_base_url(t->emu), s->prefix ? s->prefix : "") < 0)
		r = -ENOMEM;
	free_list(flag_caps, n_flag_caps);
	free_list(args, n_args);
	return r;
}

/* The token source: strict auth's generated token, the spec's, a random one for an emulator
 * (any token is accepted, and a random one shows redaction works), or none. */
static int open_token(const struct target_spec *s, const char *strict_token, struct target *t,
		      struct sp_err *err)
{
	if (strict_token)
		return token_source_new(TOKEN_STATIC, strict_token, &t->token, err);
	if (s->token_kind != TOKEN_NONE)
		return token_source_new(s->token_kind, s->token_arg, &t->token, err);
	if (!s->emulator)
		return token_source_new(TOKEN_NONE, NULL, &t->token, err);
	cleanup_free char *any = NULL;
	int r = random_secret("sp-conformance", &any);
	return r < 0 ? r : token_source_new(TOKEN_STATIC, any, &t->token, err);
}

/* The target's MCP key: the one given, else a random one for an emulator, else none. */
static int open_mcp_key(const struct target_spec *s, struct target *t, struct sp_err *err)
{
	const char *key = NULL;
	int r = given_mcp_key(s, &key, err);
	if (r < 0)
		return r;
	if (key) {
		t->mcp_key = strdup(key);
		return t->mcp_key ? redact_register(t->mcp_key) : -ENOMEM;
	}
	return s->emulator ? random_secret("sp-mcp-key", &t->mcp_key) : 0;
}

/* Variables: the api-versions, the capability table's, the target file's (later ones win). */
static int declared_vars(const struct target_spec *s, struct target *t)
{
	int r = target_api_resolve(&s->api, t->vars, &t->routes);
	for (size_t i = 0; i < t->n_caps && r == 0; i++) {
		const struct cap_def *d = cap_find(t->caps[i]);
		const cJSON *declared = cJSON_GetObjectItemCaseSensitive(s->cap_vars, t->caps[i]);
		if (s->emulator && d && d->vars) {
			cleanup_cjson cJSON *obj = sp_json_parse(
			    d->vars, strlen(d->vars), strlen(d->vars), SP_JSON_DEPTH_DOC, NULL);
			r = obj ? add_obj_vars(t->vars, obj) : -EINVAL;
		} else if (declared) {
			r = add_obj_vars(t->vars, declared);
		}
	}
	if (r == 0 && s->vars)
		r = add_obj_vars(t->vars, s->vars);
	return r;
}

/* The pool name when the URL has none, and the fixed variables describing the instance. */
static int instance_vars(const struct target_spec *s, struct target *t)
{
	if (!t->pool) {
		const cJSON *pn = vars_get(t->vars, "pool_name");
		const char *named = cJSON_IsString(pn) ? pn->valuestring : NULL;
		if (!named && s->emulator)
			named = arg_value(s, "--pool-name");
		t->pool = strdup(named ? named : (s->emulator ? "emulator-pool" : "unknown-pool"));
		if (!t->pool)
			return -ENOMEM;
	}
	const char *sep = strstr(t->origin, "://");
	cleanup_free char *scheme = strndup(t->origin, (size_t)(sep - t->origin));
	if (!scheme || vars_set_str(t->vars, "target", t->name) < 0 ||
	    vars_set_str(t->vars, "target_kind", t->kind == TARGET_EMULATOR ? "emulator" : "real") <
		0 ||
	    vars_set_str(t->vars, "base_url", t->base_url) < 0 ||
	    vars_set_str(t->vars, "origin", t->origin) < 0 ||
	    vars_set_str(t->vars, "prefix", t->prefix) < 0 ||
	    vars_set_str(t->vars, "pool", t->pool) < 0 ||
	    vars_set_str(t->vars, "scheme", scheme) < 0 ||
	    vars_set_str(t->vars, "host", sep + 3) < 0 ||
	    (t->mcp_key && vars_set_str(t->vars, "mcp_key", t->mcp_key) < 0))
		return -ENOMEM;
	return 0;
}

/* Name, kind, variable scope, capabilities (checked against |needs|) and TLS settings. */
static int describe(const struct target_spec *s, const char *const *needs, size_t n_needs,
		    const struct vars *globals, struct target *t, struct sp_err *err)
{
	t->kind = target_spec_kind(s);
	t->name = strdup(target_spec_name(s));
	t->vars = vars_new(globals);
	if (!t->name || !t->vars)
		return -ENOMEM;
	int r = cap_set(s, needs, n_needs, &t->caps, &t->n_caps, false);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_needs; i++)
		if (!listed((const char *const *)t->caps, t->n_caps, needs[i]))
			return sp_err_set(err, -EINVAL, "target %s does not offer needs:%s",
					  t->name, needs[i]);
	t->tls = (struct http_tls){.cacert = s->cacert, .insecure = s->insecure};
	return 0;
}

int target_open(const struct target_spec *s, const char *const *needs, size_t n_needs,
		const struct vars *globals, const char *log_as, struct target **out,
		struct sp_err *err)
{
	struct target *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	cleanup_free char *token = NULL;
	cleanup_free char *url = NULL;
	int r = describe(s, needs, n_needs, globals, t, err);
	bool strict = r == 0 && listed((const char *const *)t->caps, t->n_caps, "strict-auth");
	if (r == 0)
		r = open_mcp_key(s, t, err);
	if (r == 0 && s->emulator && strict)
		r = random_secret("sp-conformance", &token);
	if (r == 0 && s->emulator)
		r = start_emulator(s, needs, n_needs, token, log_as, t, &url, err);
	else if (r == 0 && !(url = strdup(s->url)))
		r = -ENOMEM;
	if (r == 0)
		r = target_split_url(url, &t->origin, &t->prefix, &t->pool, err);
	if (r == 0 && asprintf(&t->base_url, "%s%s", t->origin, t->prefix) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = open_token(s, strict ? token : NULL, t, err);
	if (r == 0)
		r = declared_vars(s, t);
	if (r == 0)
		r = instance_vars(s, t);
	if (r < 0) {
		target_close(t, NULL);
		return r;
	}
	*out = t;
	return 0;
}

int target_close(struct target *t, struct sp_err *err)
{
	if (!t)
		return 0;
	int r = 0;
	if (t->emu) {
		r = emu_stop(t->emu, err);
		emu_free(t->emu);
	}
	free(t->name);
	free(t->base_url);
	free(t->origin);
	free(t->prefix);
	free(t->pool);
	token_source_free(t->token);
	free(t->mcp_key);
	free_list(t->caps, t->n_caps);
	target_routes_fini(&t->routes);
	vars_free(t->vars);
	free(t);
	return r;
}

bool target_has_cap(const struct target *t, const char *cap)
{
	return listed((const char *const *)t->caps, t->n_caps, cap);
}
