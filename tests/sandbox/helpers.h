/* SPDX-License-Identifier: MIT */
/*
 * helpers.h: shared fixtures of the sandbox tests. Each test starts its own zygote
 * (SBX_TEST_ZYGOTE, a compile definition naming build/bin/sessionpool-zygote; SBX_TEST_ZYGOTE in
 * the environment overrides it) with a state directory shared by all tests (matplotlib's font cache
 * lives there), and host directories under a per-process temporary directory that is removed
 * afterwards.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sandbox.h"

#define T_TIMEOUT_MS 30000
#define T_GRACE_MS   2000
#define T_MAX_CHARS  4096

/* The zygote binary to start. */
const char *t_zygote_path(void);

/* Starts a zygote (asserts on failure). */
struct sbx_zygote *t_zygote(enum sbx_isolation iso);

/* Same, with egress (host network, any socket) on or off. */
struct sbx_zygote *t_zygote_egress(enum sbx_isolation iso, bool egress);

/* A fresh host directory for |slot|, owned as the zygote says; the path lives until t_cleanup. */
const char *t_host_dir(struct sbx_zygote *z, unsigned slot);

/* A new session on a fresh host directory (asserts on failure); *host gets the directory. */
struct sbx_session *t_spawn(struct sbx_zygote *z, unsigned slot, const char **host);

/* Runs |code| with the default limits; asserts that the sandbox itself did not fail. */
void t_exec(struct sbx_session *s, const char *code, struct sbx_exec_result *r);

/* Same with explicit limits. */
void t_exec_with(struct sbx_session *s, const char *code, unsigned timeout_ms, unsigned grace_ms,
		 size_t max_chars, struct sbx_exec_result *r);

/* Runs |code| and asserts outcome OK and a TEXT/JSON value equal to |value| (kind checked). */
void t_expect_value(struct sbx_session *s, const char *code, enum sbx_value_kind kind,
		    const char *value);

/* Names for messages. */
const char *t_outcome_name(enum sbx_outcome o);
const char *t_kind_name(enum sbx_value_kind k);

/* Decodes standard base64 into a malloc'd buffer; NULL on bad input. */
unsigned char *t_base64_decode(const char *in, size_t *out_len);

/* Removes the temporary host directories (suite .fini; also at exit); stops nothing. */
void t_cleanup(void);

/*
 * As root: runs |child|(state, host, arg) in a fork that became the ordinary user nobody, with a
 * new state directory and a new host directory of its own (/tmp/sbxtest-<tag>.*, owned by
 * nobody); the child's return value is its exit status. |inspect| (may be NULL) looks at the host
 * directory once the child ended, before both directories are removed. Returns the child's wait
 * status.
 */
int t_as_nobody(const char *tag, int (*child)(const char *state, const char *host, void *arg),
		void *arg, void (*inspect)(const char *host, void *arg));

/* Degraded tests share the host's /mnt/data: t_mnt_data_take() waits until no other test
 * (of any test binary) holds it and notes whether it existed; t_mnt_data_give_back() removes the
 * /mnt/data symlink a degraded zygote made if there was none before, and lets the next one in. */
void t_mnt_data_take(void);
void t_mnt_data_give_back(void);

/* How many processes (seen from here) have exactly the command line "sleep <arg>". */
int t_count_sleepers(const char *arg);

/* Reads a whole file (malloc'd, NUL-terminated) or NULL. */
char *t_read_file(const char *path);
