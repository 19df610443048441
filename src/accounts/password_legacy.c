/* The schemes libcrypt does not cover: Dovecot's salted digests and Argon2. */
#include <argon2.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../core/base64.h"
#include "password.h"

/* Argon2 costs are read from the stored hash; these bound what one login may cost us. */
#define LIMIT_ARGON2_MEMORY_KIB (1024u * 1024u)
#define LIMIT_ARGON2_PASSES 100u
#define LIMIT_ARGON2_LANES 64u

static const EVP_MD *digest_md(enum password_digest digest)
{
	switch (digest) {
	case PASSWORD_DIGEST_MD5:
		return EVP_md5();
	case PASSWORD_DIGEST_SHA1:
		return EVP_sha1();
	case PASSWORD_DIGEST_SHA256:
		return EVP_sha256();
	case PASSWORD_DIGEST_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

int password_digest(enum password_digest digest, const void *a, size_t a_len, const void *b,
                    size_t b_len, uint8_t *out)
{
	const EVP_MD *md = digest_md(digest);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok;

	ok = md != NULL && ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, a_len) == 1 && EVP_DigestUpdate(ctx, b, b_len) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, &len) == 1;
	/* The context held the password; OpenSSL's digests clear their state when freed. */
	EVP_MD_CTX_free(ctx);
	return ok ? (int)len : -1;
}


static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static ssize_t hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size)
{
	if (in_len == 0 || in_len % 2 != 0 || in_len / 2 > out_size)
		return -1;
	for (size_t i = 0; i < in_len; i += 2) {
		int hi = hex_value(in[i]), lo = hex_value(in[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)(in_len / 2);
}

static int salted_compare(enum password_digest digest, const uint8_t *raw, size_t raw_len,
                          const char *plain, const char **error_r)
{
	size_t digest_len = (size_t)EVP_MD_get_size(digest_md(digest));
	uint8_t calc[EVP_MAX_MD_SIZE];
	int len, match;

	/* Dovecot's layout: the digest, then the salt, which must not be empty. */
	if (raw_len <= digest_len) {
		*error_r = "salted digest has no salt";
		return -1;
	}
	len = password_digest(digest, plain, strlen(plain), raw + digest_len, raw_len - digest_len,
	                      calc);
	if (len != (int)digest_len) {
		*error_r = "digest computation failed";
		return -1;
	}
	match = CRYPTO_memcmp(calc, raw, digest_len) == 0;
	OPENSSL_cleanse(calc, sizeof(calc));
	return match;
}

int password_salted_verify(enum password_digest digest, bool hex, const char *encoded,
                           const char *plain, const char **error_r)
{
	uint8_t raw[PASSWORD_HASH_MAX];
	size_t len = strlen(encoded);
	ssize_t raw_len = hex ? hex_decode(encoded, len, raw, sizeof(raw))
	                      : base64_decode(encoded, len, raw, sizeof(raw));
	int ret;

	if (raw_len < 0) {
		*error_r =
		    hex ? "salted digest is not valid hex" : "salted digest is not valid base64";
		return -1;
	}
	ret = salted_compare(digest, raw, (size_t)raw_len, plain, error_r);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ret;
}

/* Reads the costs of "$argon2id$v=19$m=M,t=T,p=P$salt$hash" (v= is optional) and refuses those
   above our limits; libargon2 validates the rest of the string. */
static int argon2_check_cost(const char *encoded, const char **error_r)
{
	const char *p = strstr(encoded, "$m=");
	unsigned long m, t, lanes;
	int end = 0;

	if (p == NULL || sscanf(p, "$m=%lu,t=%lu,p=%lu%n", &m, &t, &lanes, &end) != 3 ||
	    p[end] != '$') {
		*error_r = "argon2 hash has no m=,t=,p= costs";
		return -1;
	}
	if (m > LIMIT_ARGON2_MEMORY_KIB || t > LIMIT_ARGON2_PASSES || lanes > LIMIT_ARGON2_LANES) {
		*error_r = "argon2 hash costs more than the configured limits";
		return -1;
	}
	return 0;
}

int password_argon2_verify(bool id, const char *encoded, const char *plain, const char **error_r)
{
	size_t len = strlen(plain);
	int ret;

	if (argon2_check_cost(encoded, error_r) < 0)
		return -1;
	ret = id ? argon2id_verify(encoded, plain, len) : argon2i_verify(encoded, plain, len);
	if (ret == ARGON2_OK)
		return 1;
	if (ret == ARGON2_VERIFY_MISMATCH)
		return 0;
	/* Static text naming the failure (decoding, memory), never echoing the input. */
	*error_r = argon2_error_message(ret);
	return -1;
}
