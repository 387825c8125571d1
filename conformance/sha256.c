/* SPDX-License-Identifier: MIT */
/* SHA-256 over OpenSSL EVP; see sha256.h. */
#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

void sha256_init(struct sha256 *s)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	s->ctx = ctx;
	s->failed = !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	if (!s->failed && len && EVP_DigestUpdate(s->ctx, data, len) != 1)
		s->failed = true;
}

void sha256_final_hex(struct sha256 *s, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	hex[0] = '\0';
	if (!s->failed && EVP_DigestFinal_ex(s->ctx, md, &n) == 1 && n == 32)
		for (unsigned i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}
