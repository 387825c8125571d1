/* SPDX-License-Identifier: MIT */
/*
 * The real backend (backend.h): sessions are sandboxed interpreters forked by the zygote
 * (sandbox.h), each with its slot's /mnt/data directory (datafs.h).
 */
#pragma once

#include "backend.h"

struct sbx_zygote;
struct datafs;

struct backend_sbx {
	struct sbx_zygote *z;	 /* borrowed */
	const struct datafs *fs; /* borrowed */
};

/* Fills |out| to use |bs|, which must outlive it. */
void backend_sbx_init(struct backend_sbx *bs, struct sbx_zygote *z, const struct datafs *fs,
		      struct backend *out);
