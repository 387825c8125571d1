/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), incremental, for body digests: the runner hashes response bodies as they
 * stream in, so a 128 MiB download is checked without being held in memory. A plain value type:
 * sha256_init(), any number of sha256_update(), one sha256_final(). Thread-safe per context.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;	   /* bytes hashed so far */
	uint8_t block[64]; /* pending partial block */
	size_t used;	   /* bytes in |block| */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);

/* Writes the digest as 64 lowercase hex digits plus NUL into |hex|. |s| is spent afterwards. */
void sha256_final_hex(struct sha256 *s, char hex[65]);
