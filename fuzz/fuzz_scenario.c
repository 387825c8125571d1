/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: scenario files (conformance/scenario.c), the runner's parser of JSON a user
 * writes or downloads: the bounded JSON parse, then the validation of every object, template,
 * JSONPath, predicate and regex in it. scn_parse() reads nothing but the bytes it is given.
 * Checks beyond "no crash": a refusal always has a message naming the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scn *s = NULL;
	struct sp_err err = {0};
	int rc = scn_parse((const char *)data, size, "fuzz.json", "fuzz/001-input", &s, &err);
	if (rc == 0) {
		if (!s || !s->description || !s->description[0])
			abort();
		scn_has_tag(s, "emulator-only");
		scn_free(s);
	} else if (rc != -ENOMEM && !strstr(err.msg, "fuzz.json")) {
		abort();
	}
	return 0;
}
