/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML and Markdown; see report.h. Text from results is already redacted; XML output
 * additionally drops the control characters XML 1.0 cannot carry.
 */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"

static void xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
				fputc('?', f);
			else
				fputc(c, f);
		}
	}
}

static void classname(FILE *f, const char *id)
{
	const char *slash = strrchr(id, '/');
	if (slash)
		fprintf(f, "%.*s", (int)(slash - id), id);
	else
		fputs("scenarios", f);
}

int report_junit(const char *path, const struct suite *s, const struct suite_results *r,
		 struct sp_err *err)
{
	cleanup_fclose FILE *f = fopen(path, "we");
	if (!f)
		return sp_err_sys(err, -errno, "cannot write %s", path);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
		   "name=\"sessionpool-conformance\">\n");
	if (s->n_parse_errors) {
		fprintf(f,
			"  <testsuite name=\"parse\" tests=\"%zu\" failures=\"0\" errors=\"%zu\" "
			"skipped=\"0\">\n",
			s->n_parse_errors, s->n_parse_errors);
		for (size_t i = 0; i < s->n; i++) {
			if (!s->e[i].parse_error)
				continue;
			fprintf(f, "    <testcase classname=\"");
			classname(f, s->e[i].id);
			fprintf(f, "\" name=\"");
			xml_text(f, s->e[i].id);
			fprintf(f, "\">\n      <error type=\"parse\" message=\"");
			xml_text(f, s->e[i].parse_error);
			fprintf(f, "\"/>\n    </testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	for (size_t t = 0; r && t < r->n_targets; t++) {
		size_t tests = 0, failures = 0, errors = 0, skipped = 0;
		double total = 0;
		for (size_t i = 0; i < s->n; i++) {
			const struct scn_result *x = &r->results[t * s->n + i];
			if (!r->ran[t * s->n + i])
				continue;
			tests++;
			total += x->seconds;
			failures += x->kind == RES_FAIL;
			errors += x->kind == RES_ERROR;
			skipped +=
			    x->kind == RES_SKIP || x->kind == RES_TODO || x->kind == RES_RECORDED;
		}
		fprintf(f, "  <testsuite name=\"");
		xml_text(f, r->target_names[t]);
		fprintf(f,
			"\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
			"time=\"%.3f\">\n",
			tests, failures, errors, skipped, total);
		for (size_t i = 0; i < s->n; i++) {
			const struct scn_result *x = &r->results[t * s->n + i];
			if (!r->ran[t * s->n + i])
				continue;
			fprintf(f, "    <testcase classname=\"");
			classname(f, s->e[i].id);
			fprintf(f, "\" name=\"");
			xml_text(f, s->e[i].id);
			fprintf(f, "\" time=\"%.3f\"", x->seconds);
			const char *tag = NULL;
			switch (x->kind) {
			case RES_PASS:
			case RES_TODO_PASSED:
				break;
			case RES_FAIL:
				tag = "failure";
				break;
			case RES_ERROR:
				tag = "error";
				break;
			case RES_SKIP:
			case RES_TODO:
			case RES_RECORDED:
				tag = "skipped";
				break;
			}
			if (!tag) {
				fprintf(f, "/>\n");
				continue;
			}
			fprintf(f, ">\n      <%s message=\"", tag);
			if (x->kind == RES_TODO)
				fprintf(f, "known divergence: ");
			else if (x->kind == RES_RECORDED)
				fprintf(f, "recorded: ");
			xml_text(f, x->summary ? x->summary : "");
			if (x->diag && x->diag[0] && x->kind != RES_SKIP) {
				fprintf(f, "\">");
				xml_text(f, x->diag);
				fprintf(f, "</%s>\n", tag);
			} else {
				fprintf(f, "\"/>\n");
			}
			fprintf(f, "    </testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	if (fflush(f) != 0)
		return sp_err_sys(err, -errno, "cannot write %s", path);
	return 0;
}

static void md_cell(FILE *f, const char *s, size_t max)
{
	size_t n = 0;
	for (; s && *s && n < max; s++, n++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
	if (s && *s)
		fputs("…", f);
}

int report_markdown(const char *path, const struct suite *s, const struct suite_results *r,
		    const char *run_id, struct sp_err *err)
{
	cleanup_fclose FILE *f = fopen(path, "we");
	if (!f)
		return sp_err_sys(err, -errno, "cannot write %s", path);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
	fprintf(f, "# Conformance parity report\n\nRun `%s`, %s. ", run_id, date);
	fprintf(f, "[CHOICE] behaviour is asserted against the emulator and only recorded against "
		   "a real pool (see docs/decisions.md).\n\n");
	fprintf(f, "| Scenario | Provenance |");
	for (size_t t = 0; t < r->n_targets; t++)
		fprintf(f, " %s (%s) |", r->target_names[t],
			r->target_kinds[t] == TARGET_EMULATOR ? "emulator" : "real");
	fprintf(f, "\n|---|---|");
	for (size_t t = 0; t < r->n_targets; t++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct suite_entry *e = &s->e[i];
		bool any = false;
		for (size_t t = 0; t < r->n_targets; t++)
			any = any || r->ran[t * s->n + i];
		if (!any)
			continue;
		fprintf(f, "| `%s` | ", e->id);
		if (e->scn) {
			for (size_t k = 0; k < e->scn->n_sections; k++)
				fprintf(f, "%s%s", k ? ", " : "", e->scn->sections[k]);
			fprintf(f, " ");
			for (size_t k = 0; k < e->scn->n_prov_tags; k++)
				fprintf(f, "[%s]", e->scn->prov_tags[k]);
		}
		fprintf(f, " |");
		for (size_t t = 0; t < r->n_targets; t++) {
			const struct scn_result *x = &r->results[t * s->n + i];
			fprintf(f, " ");
			if (!r->ran[t * s->n + i]) {
				fprintf(f, "— |");
				continue;
			}
			switch (x->kind) {
			case RES_PASS:
				fprintf(f, "pass");
				break;
			case RES_TODO_PASSED:
				fprintf(f, "pass (stale divergence tag)");
				break;
			case RES_FAIL:
				fprintf(f, "**fail**: ");
				md_cell(f, x->summary, 140);
				break;
			case RES_ERROR:
				fprintf(f, "**error**: ");
				md_cell(f, x->summary, 140);
				break;
			case RES_SKIP:
				fprintf(f, "skipped (");
				md_cell(f, x->summary, 80);
				fprintf(f, ")");
				break;
			case RES_TODO:
				fprintf(f, "todo (known divergence): ");
				md_cell(f, x->summary, 120);
				break;
			case RES_RECORDED:
				fprintf(f, "recorded: ");
				md_cell(f, x->diag, 200);
				break;
			}
			fprintf(f, " |");
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
	for (size_t t = 0; t < r->n_targets; t++) {
		size_t c[7] = {0};
		for (size_t i = 0; i < s->n; i++)
			if (r->ran[t * s->n + i])
				c[r->results[t * s->n + i].kind]++;
		fprintf(f,
			"- **%s**: %zu pass, %zu fail, %zu error, %zu recorded, %zu todo, %zu "
			"skipped\n",
			r->target_names[t], c[RES_PASS] + c[RES_TODO_PASSED], c[RES_FAIL],
			c[RES_ERROR], c[RES_RECORDED], c[RES_TODO], c[RES_SKIP]);
	}
	if (fflush(f) != 0)
		return sp_err_sys(err, -errno, "cannot write %s", path);
	return 0;
}
