/* SPDX-License-Identifier: MIT */
/*
 * policy.h: the session seccomp policy (sandbox-notes Appendix B), compiled once in the zygote.
 *
 * policy_build() turns the allowlist table into a classic BPF program with libseccomp and keeps
 * the raw instructions, so each session only pays for one prctl(PR_SET_SECCOMP) (0.3 ms) instead
 * of a libseccomp compilation (1.2 ms). The program refuses unknown system calls with EPERM,
 * sockets other than AF_UNIX with EACCES (unless egress is on), clone() with namespace flags with
 * EPERM and clone3() with ENOSYS (so glibc falls back to clone, whose flags can be inspected).
 */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>

#include "err.h"

/* Builds the program into |out| (instructions malloc'd). Returns 0 or a negative code. */
int policy_build(bool egress, struct sock_fprog *out, struct sp_err *err);

/* Frees the instructions of |prog|. */
void policy_free(struct sock_fprog *prog);

/* Installs |prog| on the calling thread; no_new_privs must already be set. 0 or -errno. */
int policy_install(const struct sock_fprog *prog);
