/* SPDX-License-Identifier: MIT */
/*
 * The sandbox backend; see backend_sbx.h. The only emulator module that includes sandbox.h
 * besides main.c (start-up) and api_sessions.c's health and metadata reports.
 */
#include "backend_sbx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "datafs.h"
#include "sandbox.h"

struct bk_session {
	struct backend_sbx *bs;
	struct sbx_session *sbx;
	char *dir;
};

void bk_exec_result_fini(struct bk_exec_result *r)
{
	free(r->stdout_text);
	free(r->stderr_text);
	free(r->value);
	free(r->error_message);
	memset(r, 0, sizeof(*r));
}

static void slot_dir(void *ctx, unsigned slot, char *buf, size_t n)
{
	struct backend_sbx *bs = ctx;
	datafs_slot_dir(bs->fs, slot, buf, n);
}

static uid_t slot_uid(void *ctx, unsigned slot)
{
	struct backend_sbx *bs = ctx;
	return sbx_zygote_slot_uid(bs->z, slot);
}

static int spawn(void *ctx, unsigned slot, bool ahead, struct bk_session **out, struct sp_err *err)
{
	struct backend_sbx *bs = ctx;
	char buf[4096];
	datafs_slot_dir(bs->fs, slot, buf, sizeof(buf));
	struct bk_session *s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(buf))) {
		free(s);
		return sp_err_set(err, -ENOMEM, "out of memory");
	}
	s->bs = bs;
	int r = datafs_make(bs->fs, s->dir, sbx_zygote_slot_uid(bs->z, slot), err);
	if (r == 0) {
		r = ahead ? sbx_session_spawn_warm(bs->z, s->dir, slot, &s->sbx, err)
			  : sbx_session_spawn(bs->z, s->dir, slot, &s->sbx, err);
		if (r < 0)
			datafs_remove(bs->fs, s->dir);
	}
	if (r < 0) {
		free(s->dir);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

static enum bk_outcome outcome_of(enum sbx_outcome o)
{
	switch (o) {
	case SBX_OUTCOME_OK:
		return BK_OUTCOME_OK;
	case SBX_OUTCOME_EXCEPTION:
		return BK_OUTCOME_EXCEPTION;
	case SBX_OUTCOME_TIMEOUT:
		return BK_OUTCOME_TIMEOUT;
	case SBX_OUTCOME_TIMEOUT_RESTARTED:
		return BK_OUTCOME_TIMEOUT_RESTARTED;
	case SBX_OUTCOME_CRASHED:
		return BK_OUTCOME_CRASHED;
	case SBX_OUTCOME_CANCELED:
		return BK_OUTCOME_CANCELED;
	}
	return BK_OUTCOME_CRASHED;
}

static enum bk_value_kind kind_of(enum sbx_value_kind k)
{
	switch (k) {
	case SBX_VALUE_NONE:
		return BK_VALUE_NONE;
	case SBX_VALUE_NULL:
		return BK_VALUE_NULL;
	case SBX_VALUE_JSON:
		return BK_VALUE_JSON;
	case SBX_VALUE_TEXT:
		return BK_VALUE_TEXT;
	case SBX_VALUE_IMAGE:
		return BK_VALUE_IMAGE;
	}
	return BK_VALUE_NONE;
}

static int exec(struct bk_session *s, const struct bk_exec_request *req, struct bk_exec_result *out,
		struct sp_err *err)
{
	struct sbx_exec_request sr = {
	    .kind = req->kind == BK_EXEC_SHELL	? SBX_EXEC_SHELL
		    : req->kind == BK_EXEC_ARGV ? SBX_EXEC_ARGV
						: SBX_EXEC_PYTHON,
	    .code = req->code,
	    .code_len = req->code_len,
	    .argv = req->argv, /* NULL-terminated, as sandbox.h wants */
	    .timeout_ms = req->timeout_ms,
	    .grace_ms = req->grace_ms,
	    .stream_max_chars = req->stream_max_chars,
	    .label = req->label,
	};
	struct sbx_exec_result res = {0};
	int r = sbx_session_exec(s->sbx, &sr, &res, err);
	if (r < 0)
		return r;
	*out = (struct bk_exec_result){
	    .outcome = outcome_of(res.outcome),
	    .stdout_text = steal_pointer(&res.stdout_text),
	    .stderr_text = steal_pointer(&res.stderr_text),
	    .stdout_len = res.stdout_len,
	    .stderr_len = res.stderr_len,
	    .value_kind = kind_of(res.value_kind),
	    .value = steal_pointer(&res.value),
	    .error_message = steal_pointer(&res.error_message),
	    .exit_code = res.exit_code,
	    .exec_ms = res.exec_ms,
	    .prepare_ms = res.prepare_ms,
	    .request_ms = res.request_ms,
	    .read_ms = res.read_ms,
	};
	sbx_exec_result_fini(&res);
	return 0;
}

static void cancel(struct bk_session *s)
{
	sbx_session_cancel(s->sbx);
}

static void bk_free(struct bk_session *s)
{
	if (!s)
		return;
	sbx_session_free(s->sbx);
	datafs_remove(s->bs->fs, s->dir);
	free(s->dir);
	free(s);
}

static bool stale(struct bk_session *s)
{
	return sbx_session_stale(s->sbx);
}

static void describe(void *ctx, struct bk_info *out)
{
	struct backend_sbx *bs = ctx;
	struct sbx_zygote_health zh;
	sbx_zygote_health(bs->z, &zh);
	*out = (struct bk_info){
	    .up = zh.up,
	    .restarts = zh.restarts,
	    .isolation = sbx_isolation_name(sbx_zygote_isolation(bs->z)),
	    .isolation_why = sbx_zygote_isolation_reason(bs->z),
	    .cgroups = sbx_zygote_cgroups(bs->z),
	    .python_version = sbx_zygote_python_version(bs->z),
	    .packages_json = sbx_zygote_packages_json(bs->z),
	};
	snprintf(out->last_exit, sizeof(out->last_exit), "%s", zh.last_exit);
}

static const struct backend_ops sbx_ops = {
    .spawn = spawn,
    .exec = exec,
    .cancel = cancel,
    .free = bk_free,
    .stale = stale,
    .slot_dir = slot_dir,
    .slot_uid = slot_uid,
    .describe = describe,
};

void backend_sbx_init(struct backend_sbx *bs, struct sbx_zygote *z, const struct datafs *fs,
		      struct backend *out)
{
	bs->z = z;
	bs->fs = fs;
	out->ops = &sbx_ops;
	out->ctx = bs;
}
