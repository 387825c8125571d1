/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 of streamed bodies, over OpenSSL's EVP interface: the runner hashes response bodies as
 * they arrive, so a 128 MiB download is checked without being held in memory. sha256_init(),
 * any number of sha256_update(), then exactly one sha256_final_hex(), which also releases the
 * context. Thread-safe per context.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct sha256 {
	void *ctx;   /* EVP_MD_CTX, owned until sha256_final_hex() */
	bool failed; /* allocation or digest failure: the final digest is "" */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);

/* Writes the digest as 64 lowercase hex digits plus NUL into |hex| ("" after a failure) and
 * releases the context. */
void sha256_final_hex(struct sha256 *s, char hex[65]);
