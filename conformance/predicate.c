/* SPDX-License-Identifier: MIT */
/*
 * Predicate evaluation; see predicate.h. Every check is a pure function of (spec, value), so
 * the runner can template a spec right before evaluating it and report exactly which check
 * failed. Regexes are compiled per evaluation: scenarios are small and clarity wins.
 */
#include "predicate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"

static const char *const pred_keys[] = {
    "equals", "not_equals", "type",   "exists", "absent",   "matches",	     "one_of",
    "gte",    "lte",	    "length", "keys",	"contains", "seconds_since",
};

static const char *const type_names[] = {
    "string", "number", "integer", "boolean", "null", "array", "object",
};

/* Index of the end of the bracket expression opening at p[i] == '[' (its ']'), or of the NUL. */
static size_t bracket_end(const char *p, size_t i)
{
	i++;
	if (p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] && p[i] != ']') {
		if (p[i] == '[' && (p[i + 1] == '.' || p[i + 1] == ':' || p[i + 1] == '=')) {
			char kind = p[i + 1];
			i += 2;
			while (p[i] && !(p[i] == kind && p[i + 1] == ']'))
				i++;
			if (p[i])
				i++;
		}
		if (p[i])
			i++;
	}
	return i;
}

/*
 * For the bound ("{m}", "{m,}" or "{m,n}") opening at p[*i]: its largest count plus one, with *i
 * moved to its '}'. 0 when p[*i] opens no bound: a literal '{', or a malformed bound that
 * regcomp() reports.
 */
static double bound_factor(const char *p, size_t *i)
{
	char *end;
	unsigned long m = strtoul(p + *i + 1, &end, 10), n = m;
	if (end == p + *i + 1)
		return 0;
	if (*end == ',') {
		const char *s = end + 1;
		n = strtoul(s, &end, 10);
		if (end == s)
			n = m + 1;
	}
	if (*end != '}')
		return 0;
	*i = (size_t)(end - p);
	return (double)(n > m ? n : m) + 1;
}

/* An upper estimate of the nodes glibc builds for ERE |p|, stopping once over |max|. */
static double regex_cost(const char *p, double max)
{
	double group[65] = {0}; /* size of each open group so far; group[0] is the whole */
	int depth = 0;
	double last = 0; /* the piece a quantifier would repeat */
	for (size_t i = 0; p[i]; i++) {
		double factor = 0;
		switch (p[i]) {
		case '\\':
			if (p[i + 1])
				i++;
			last = 1;
			break;
		case '[':
			i = bracket_end(p, i);
			if (!p[i])
				return 0; /* unterminated: regcomp() says so */
			last = 1;
			break;
		case '(':
			if (depth == 64)
				return max + 1;
			group[++depth] = 0;
			last = 0;
			continue;
		case ')':
			if (depth == 0) {
				last = 1;
				break;
			}
			last = group[depth--] + 1;
			break;
		case '|':
			last = 0;
			group[depth] += 1;
			continue;
		case '*':
		case '?':
			factor = 1;
			break;
		case '+':
			factor = 2;
			break;
		case '{':
			factor = bound_factor(p, &i);
			if (!factor)
				last = 1;
			break;
		default:
			last = 1;
			break;
		}
		if (factor) {
			group[depth] += last * (factor - 1) + 1;
			last *= factor;
		} else {
			group[depth] += last;
		}
		double total = 0;
		for (int d = 0; d <= depth; d++)
			total += group[d];
		if (total > max)
			return max + 1;
	}
	return group[0];
}

/*
 * How many times a count (*, +, ?, {m,n}) repeats a piece that can match the empty string
 * (a*, a?, (a|b*), ^ …), stopping once over |max|. glibc's epsilon closures grow much faster
 * than its node count for those: "a*" followed by ten '+' took 0.3 s to compile, thirteen
 * nested "(…)+" around "a*" 5.7 s, and "_*" with thirteen '+' over 90 s (found by
 * fuzz_scenario), while a non-empty piece repeated the same way compiles in microseconds.
 */
static unsigned nullable_repeats(const char *p, unsigned max)
{
	bool seq[65], alt[65]; /* per open group: branch so far can be empty; some branch can */
	bool has = false, null = false; /* the last piece, and whether it can match empty */
	int depth = 0;
	unsigned n = 0;
	seq[0] = true;
	alt[0] = false;
	for (size_t i = 0; p[i] && n <= max; i++) {
		char ch = p[i];
		if (ch == '*' || ch == '+' || ch == '?' || ch == '{') {
			if (ch == '{') {
				char *end;
				unsigned long m = strtoul(p + i + 1, &end, 10);
				if (end == p + i + 1)
					goto atom; /* a literal '{' */
				while (*end && *end != '}')
					end++;
				if (!*end)
					goto atom;
				i = (size_t)(end - p);
				if (has && null)
					n++;
				null = null || m == 0;
				continue;
			}
			if (has && null)
				n++;
			null = null || ch != '+';
			continue;
		}
		if (ch == '|') {
			seq[depth] = seq[depth] && (!has || null);
			alt[depth] = alt[depth] || seq[depth];
			seq[depth] = true;
			has = false;
			continue;
		}
		if (ch == '(') {
			if (has)
				seq[depth] = seq[depth] && null;
			if (depth == 64)
				return max + 1;
			depth++;
			seq[depth] = true;
			alt[depth] = false;
			has = false;
			continue;
		}
		if (ch == ')' && depth > 0) {
			seq[depth] = seq[depth] && (!has || null);
			bool g = alt[depth] || seq[depth];
			depth--;
			has = true;
			null = g;
			continue;
		}
	atom:
		if (has)
			seq[depth] = seq[depth] && null;
		if (ch == '\\' && p[i + 1])
			i++;
		else if (ch == '[') {
			i = bracket_end(p, i);
			if (!p[i])
				return 0; /* unterminated: regcomp() says so */
		}
		has = true;
		null = ch == '^' || ch == '$';
	}
	return n;
}

int pred_regcomp(regex_t *re, const char *pattern, int cflags)
{
	if (strlen(pattern) > PRED_REGEX_MAX_LEN ||
	    regex_cost(pattern, PRED_REGEX_MAX_COST) > PRED_REGEX_MAX_COST ||
	    nullable_repeats(pattern, PRED_REGEX_MAX_NULLABLE_REPEATS) >
		PRED_REGEX_MAX_NULLABLE_REPEATS)
		return REG_ESIZE;
	return regcomp(re, pattern, cflags);
}

bool pred_is_key(const char *key)
{
	for (size_t i = 0; i < sizeof(pred_keys) / sizeof(pred_keys[0]); i++)
		if (strcmp(key, pred_keys[i]) == 0)
			return true;
	return false;
}

static bool in_list(const char *key, const char *const *list)
{
	for (; list && *list; list++)
		if (strcmp(key, *list) == 0)
			return true;
	return false;
}

static bool is_type_name(const char *s)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0)
			return true;
	return false;
}

static bool is_template(const cJSON *v)
{
	return cJSON_IsString(v) && strstr(v->valuestring, "{{");
}

static int validate_type(const cJSON *v, const char *where, struct sp_err *err)
{
	if (cJSON_IsString(v)) {
		if (!is_type_name(v->valuestring))
			return sp_err_set(err, -EINVAL,
					  "%s: type: unknown type \"%s\" (expected string, number, "
					  "integer, boolean, null, array or object)",
					  where, v->valuestring);
		return 0;
	}
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
		const cJSON *t;
		cJSON_ArrayForEach(t, v)
		{
			int r = validate_type(t, where, err);
			if (r < 0)
				return r;
			if (!cJSON_IsString(t))
				return sp_err_set(err, -EINVAL, "%s: type: expected type names",
						  where);
		}
		return 0;
	}
	return sp_err_set(err, -EINVAL, "%s: type: expected a type name or a list of them", where);
}

int pred_validate(const cJSON *spec, const char *where, const char *const *allowed_extra,
		  struct sp_err *err)
{
	if (!cJSON_IsObject(spec))
		return sp_err_set(err, -EINVAL, "%s: expected an object of predicates", where);
	int n_preds = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, spec)
	{
		const char *k = m->string;
		if (in_list(k, allowed_extra))
			continue;
		if (!pred_is_key(k))
			return sp_err_set(
			    err, -EINVAL,
			    "%s: unknown key \"%s\" (predicates: equals, not_equals, "
			    "type, exists, absent, matches, one_of, gte, lte, length, "
			    "keys, contains, seconds_since)",
			    where, k);
		n_preds++;
		if (strcmp(k, "type") == 0) {
			int r = validate_type(m, where, err);
			if (r < 0)
				return r;
		} else if (strcmp(k, "exists") == 0 || strcmp(k, "absent") == 0) {
			if (!cJSON_IsBool(m))
				return sp_err_set(err, -EINVAL, "%s: %s: expected true or false",
						  where, k);
		} else if (strcmp(k, "matches") == 0) {
			if (!cJSON_IsString(m))
				return sp_err_set(err, -EINVAL, "%s: matches: expected a string",
						  where);
			if (!is_template(m)) {
				regex_t re;
				int rc =
				    pred_regcomp(&re, m->valuestring, REG_EXTENDED | REG_NOSUB);
				if (rc != 0) {
					char msg[128];
					regerror(rc, &re, msg, sizeof(msg));
					return sp_err_set(err, -EINVAL,
							  "%s: matches: bad regular expression: %s",
							  where, msg);
				}
				regfree(&re);
			}
		} else if (strcmp(k, "one_of") == 0) {
			if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) == 0)
				return sp_err_set(err, -EINVAL,
						  "%s: one_of: expected a non-empty array", where);
		} else if (strcmp(k, "gte") == 0 || strcmp(k, "lte") == 0) {
			if (!cJSON_IsNumber(m) && !is_template(m))
				return sp_err_set(err, -EINVAL, "%s: %s: expected a number", where,
						  k);
		} else if (strcmp(k, "length") == 0) {
			if (cJSON_IsObject(m)) {
				char sub[200];
				snprintf(sub, sizeof(sub), "%s: length", where);
				int r = pred_validate(m, sub, NULL, err);
				if (r < 0)
					return r;
			} else if (!cJSON_IsNumber(m) && !is_template(m)) {
				return sp_err_set(err, -EINVAL,
						  "%s: length: expected a number or predicates",
						  where);
			}
		} else if (strcmp(k, "seconds_since") == 0) {
			char sub[200];
			snprintf(sub, sizeof(sub), "%s: seconds_since", where);
			static const char *const time_key[] = {"time", NULL};
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "time");
			if (!cJSON_IsObject(m) || !cJSON_IsString(t))
				return sp_err_set(err, -EINVAL,
						  "%s: expected {\"time\": timestamp, predicates…}",
						  sub);
			int r = pred_validate(m, sub, time_key, err);
			if (r < 0)
				return r;
		} else if (strcmp(k, "keys") == 0) {
			if (!cJSON_IsArray(m))
				return sp_err_set(err, -EINVAL,
						  "%s: keys: expected an array of names", where);
			const cJSON *name;
			cJSON_ArrayForEach(name, m)
			{
				if (!cJSON_IsString(name))
					return sp_err_set(err, -EINVAL,
							  "%s: keys: expected an array of names",
							  where);
			}
		}
	}
	if (n_preds == 0)
		return sp_err_set(err, -EINVAL, "%s: no predicate given", where);
	return 0;
}

char *pred_describe(const cJSON *v, size_t max)
{
	if (!v)
		return strdup("<absent>");
	cleanup_free char *txt = cJSON_PrintUnformatted(v);
	if (!txt)
		return strdup("<unprintable>");
	size_t len = strlen(txt);
	if (len <= max)
		return steal_pointer(&txt);
	size_t cut = max;
	while (cut > 0 && ((unsigned char)txt[cut] & 0xC0) == 0x80)
		cut--; /* never split a UTF-8 sequence */
	char *out = malloc(cut + 4);
	if (!out)
		return NULL;
	memcpy(out, txt, cut);
	memcpy(out + cut, "\xe2\x80\xa6", 4);
	return out;
}

int pred_parse_time(const char *s, double *out)
{
	int y, mo, d, h, mi, sec, used = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
	    used != 19)
		return -EINVAL;
	const char *p = s + used;
	double frac = 0, scale = 0.1;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return -EINVAL;
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
			return -EINVAL;
		offset = (*p == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = sec};
	time_t t = timegm(&tm);
	*out = (double)t - (double)offset + frac;
	return 0;
}

static const char *type_of(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	return "invalid";
}

static bool has_type(const cJSON *v, const char *t)
{
	if (strcmp(t, "integer") == 0)
		return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
		       v->valuedouble == floor(v->valuedouble);
	return strcmp(type_of(v), t) == 0;
}

static size_t utf8_length(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool numeric_value(const cJSON *v, enum pred_mode mode, double *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return true;
	}
	if (mode == PRED_TEXT && cJSON_IsString(v) && v->valuestring[0]) {
		char *end;
		errno = 0;
		double d = strtod(v->valuestring, &end);
		if (errno == 0 && *end == '\0') {
			*out = d;
			return true;
		}
	}
	return false;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(why, why_len, __VA_ARGS__);                                               \
		return false;                                                                      \
	} while (0)

static bool check_one(const cJSON *p, const cJSON *actual, enum pred_mode mode, char *why,
		      size_t why_len)
{
	const char *k = p->string;
	cleanup_free char *got = pred_describe(actual, 160);
	cleanup_free char *want = pred_describe(p, 160);
	if (strcmp(k, "exists") == 0 || strcmp(k, "absent") == 0) {
		bool want_present = cJSON_IsTrue(p) == (strcmp(k, "exists") == 0);
		if (want_present && !actual)
			FAIL("expected a value, got none");
		if (!want_present && actual)
			FAIL("expected no value, got %s", got);
		return true;
	}
	if (!actual)
		FAIL("%s %s: no value", k, want);
	if (strcmp(k, "equals") == 0) {
		if (!cJSON_Compare(p, actual, true))
			FAIL("expected %s, got %s", want, got);
	} else if (strcmp(k, "not_equals") == 0) {
		if (cJSON_Compare(p, actual, true))
			FAIL("expected anything but %s", want);
	} else if (strcmp(k, "type") == 0) {
		if (cJSON_IsString(p)) {
			if (!has_type(actual, p->valuestring))
				FAIL("expected type %s, got %s %s", p->valuestring, type_of(actual),
				     got);
		} else {
			const cJSON *t;
			bool ok = false;
			cJSON_ArrayForEach(t, p) ok = ok || has_type(actual, t->valuestring);
			if (!ok)
				FAIL("expected type %s, got %s %s", want, type_of(actual), got);
		}
	} else if (strcmp(k, "matches") == 0) {
		if (!cJSON_IsString(p))
			FAIL("matches: the pattern is not a string");
		if (!cJSON_IsString(actual))
			FAIL("expected a string matching /%s/, got %s", p->valuestring, got);
		regex_t re;
		if (pred_regcomp(&re, p->valuestring, REG_EXTENDED | REG_NOSUB) != 0)
			FAIL("matches: bad regular expression /%s/", p->valuestring);
		int rc = regexec(&re, actual->valuestring, 0, NULL, 0);
		regfree(&re);
		if (rc != 0)
			FAIL("expected a match for /%s/, got %s", p->valuestring, got);
	} else if (strcmp(k, "one_of") == 0) {
		const cJSON *c;
		cJSON_ArrayForEach(c, p)
		{
			if (cJSON_Compare(c, actual, true))
				return true;
		}
		FAIL("expected one of %s, got %s", want, got);
	} else if (strcmp(k, "gte") == 0 || strcmp(k, "lte") == 0) {
		double a, b;
		if (!numeric_value(p, PRED_TEXT, &b))
			FAIL("%s: the bound %s is not a number", k, want);
		if (!numeric_value(actual, mode, &a))
			FAIL("expected a number %s %s, got %s", k[0] == 'g' ? ">=" : "<=", want,
			     got);
		if (k[0] == 'g' ? !(a >= b) : !(a <= b))
			FAIL("expected %s %s, got %s", k[0] == 'g' ? ">=" : "<=", want, got);
	} else if (strcmp(k, "length") == 0) {
		double len;
		if (cJSON_IsString(actual))
			len = (double)utf8_length(actual->valuestring);
		else if (cJSON_IsArray(actual) || cJSON_IsObject(actual))
			len = cJSON_GetArraySize(actual);
		else
			FAIL("expected something with a length, got %s %s", type_of(actual), got);
		cleanup_cjson cJSON *n = cJSON_CreateNumber(len);
		if (!n)
			FAIL("out of memory");
		if (cJSON_IsObject(p)) {
			char sub[200];
			if (!pred_check(p, n, PRED_JSON, sub, sizeof(sub)))
				FAIL("length %g: %s", len, sub);
		} else if (!cJSON_Compare(p, n, true)) {
			FAIL("expected length %s, got %g", want, len);
		}
	} else if (strcmp(k, "keys") == 0) {
		if (!cJSON_IsObject(actual))
			FAIL("expected an object, got %s", got);
		const cJSON *name = p->child, *mem = actual->child;
		for (; name && mem; name = name->next, mem = mem->next)
			if (!cJSON_IsString(name) || strcmp(name->valuestring, mem->string) != 0)
				break;
		if (name || mem) {
			char names[256] = "";
			size_t used = 0;
			for (mem = actual->child; mem && used < sizeof(names); mem = mem->next) {
				int w = snprintf(names + used, sizeof(names) - used, "%s\"%s\"",
						 used ? "," : "", mem->string);
				used += w > 0 ? (size_t)w : 0;
			}
			FAIL("expected keys %s, got [%s]", want, names);
		}
	} else if (strcmp(k, "seconds_since") == 0) {
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(p, "time");
		double a, b;
		if (!cJSON_IsString(ref) || pred_parse_time(ref->valuestring, &b) < 0)
			FAIL("seconds_since: the reference %s is not an RFC 3339 time",
			     ref && cJSON_IsString(ref) ? ref->valuestring : "?");
		if (!cJSON_IsString(actual) || pred_parse_time(actual->valuestring, &a) < 0)
			FAIL("expected an RFC 3339 time, got %s", got);
		cleanup_cjson cJSON *n = cJSON_CreateNumber(a - b);
		char sub[200];
		if (!n)
			FAIL("out of memory");
		if (!pred_check(p, n, PRED_JSON, sub, sizeof(sub)))
			FAIL("%s is %.3f s after %s: %s", got, a - b, ref->valuestring, sub);
	} else if (strcmp(k, "contains") == 0) {
		if (cJSON_IsString(actual)) {
			if (!cJSON_IsString(p) || !strstr(actual->valuestring, p->valuestring))
				FAIL("expected a string containing %s, got %s", want, got);
		} else if (cJSON_IsArray(actual)) {
			const cJSON *c;
			cJSON_ArrayForEach(c, actual)
			{
				if (cJSON_Compare(c, p, true))
					return true;
			}
			FAIL("expected an array containing %s, got %s", want, got);
		} else {
			FAIL("contains: expected a string or an array, got %s", got);
		}
	} else {
		FAIL("unknown predicate \"%s\"", k);
	}
	return true;
}

bool pred_check(const cJSON *spec, const cJSON *actual, enum pred_mode mode, char *why,
		size_t why_len)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, spec)
	{
		if (!pred_is_key(p->string))
			continue;
		if (!check_one(p, actual, mode, why, why_len))
			return false;
	}
	return true;
}
