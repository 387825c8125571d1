/* SPDX-License-Identifier: MIT */
/* Values the emulator and the sandbox must agree on, each defined once. */
#pragma once

/* As root, the session in slot n runs as uid SP_UID_BASE + n (the emulator may move the base
 * up by whole blocks, see claim_uid_base in emulator/main.c). */
#define SP_UID_BASE 200000u

/* The private PEM (key and certificate) written into the --data-dir for CivetWeb. */
#define SP_TLS_FILE "tls.pem"
