/* Password hashing and verification: the scheme table and the crypt(3) schemes. The salted
   digests and Argon2 live in password_legacy.c. */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "password.h"

/* Longest name between '{' and '}', encoding suffix included ("SHA512-CRYPT.BASE64" is 19). */
#define SCHEME_NAME_MAX 32
/* Passwords of CRYPT_MAX_PASSPHRASE_SIZE bytes or more are handed to crypt as the hex of a
   SHA-512 over this label and the password. The label keeps a bare SHA-512 of the password,
   leaked elsewhere, from being a working passphrase here. */
#define LONG_PHRASE_LABEL "maild long passphrase v1\n"
#define LONG_PHRASE_SIZE (2 * 64 + 1)
/* Any password will do: import only checks that the hash can be computed. */
#define IMPORT_PROBE "maild import probe"

/* Made by `mkpasswd -m yescrypt` from a random throw-away password. Its cost (j9T) is
   libxcrypt's default, the one password_hash uses; test_password checks they still agree. */
static const char dummy_hash[] =
    "$y$j9T$/XVvIyw/nY/3w4473ITh71$dQiFdFgdu6MB4v/PaQvS0iDa2Xdmp0eIW4ZDTOCZHC/";

enum crypt_family {
	FAMILY_NONE = 0,
	FAMILY_YESCRYPT = 1 << 0,
	FAMILY_GOST_YESCRYPT = 1 << 1,
	FAMILY_SCRYPT = 1 << 2,
	FAMILY_SHA512 = 1 << 3,
	FAMILY_SHA256 = 1 << 4,
	FAMILY_BCRYPT = 1 << 5,
	FAMILY_MD5 = 1 << 6,
	FAMILY_DES = 1 << 7,
	FAMILY_ANY = (1 << 8) - 1,
};

/* The crypt(3) methods we accept; libxcrypt knows more (NT, SunMD5, BSDi DES), all weaker. */
static const struct {
	const char *prefix;
	enum crypt_family family;
} crypt_prefixes[] = {
    {"$y$", FAMILY_YESCRYPT}, {"$gy$", FAMILY_GOST_YESCRYPT}, {"$7$", FAMILY_SCRYPT},
    {"$6$", FAMILY_SHA512},   {"$5$", FAMILY_SHA256},         {"$2a$", FAMILY_BCRYPT},
    {"$2b$", FAMILY_BCRYPT},  {"$2y$", FAMILY_BCRYPT},        {"$1$", FAMILY_MD5},
};

struct stored_hash;
typedef int scheme_verify_cb(const struct stored_hash *h, const char *plain, const char **error_r);

struct password_scheme {
	const char *name;
	scheme_verify_cb *verify;
	/* crypt schemes: the families the string after the prefix may belong to */
	unsigned int families;
	/* salted digest schemes: the hash, and whether .B64/.BASE64/.HEX may follow the name */
	enum password_digest digest;
	bool encodings;
};

/* A stored hash split into its scheme and the rest. */
struct stored_hash {
	const struct password_scheme *scheme;
	bool hex;
	const char *rest;
};

static scheme_verify_cb verify_crypt, verify_argon2id, verify_argon2i, verify_salted, verify_plain;

static const struct password_scheme schemes[] = {
    /* First: also the scheme of a string without a {SCHEME} prefix. */
    {.name = "CRYPT", .verify = verify_crypt, .families = FAMILY_ANY},
    {.name = "YESCRYPT", .verify = verify_crypt, .families = FAMILY_YESCRYPT},
    {.name = "SHA512-CRYPT", .verify = verify_crypt, .families = FAMILY_SHA512},
    {.name = "SHA256-CRYPT", .verify = verify_crypt, .families = FAMILY_SHA256},
    {.name = "BLF-CRYPT", .verify = verify_crypt, .families = FAMILY_BCRYPT},
    {.name = "MD5-CRYPT", .verify = verify_crypt, .families = FAMILY_MD5},
    {.name = "ARGON2ID", .verify = verify_argon2id},
    {.name = "ARGON2I", .verify = verify_argon2i},
    {.name = "SSHA", .verify = verify_salted, .digest = PASSWORD_DIGEST_SHA1, .encodings = true},
    {.name = "SSHA256",
     .verify = verify_salted,
     .digest = PASSWORD_DIGEST_SHA256,
     .encodings = true},
    {.name = "SSHA512",
     .verify = verify_salted,
     .digest = PASSWORD_DIGEST_SHA512,
     .encodings = true},
    {.name = "SMD5", .verify = verify_salted, .digest = PASSWORD_DIGEST_MD5, .encodings = true},
    {.name = "PLAIN", .verify = verify_plain},
    {.name = "CLEARTEXT", .verify = verify_plain},
};

static int copy_str(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* ASCII only: strncasecmp follows the locale, and a Turkish one folds 'I' elsewhere. */
static bool name_equals(const char *name, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && name[i] != '\0'; i++) {
		char c = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];

		if (c != name[i])
			return false;
	}
	return i == len && name[i] == '\0';
}

static const struct password_scheme *scheme_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (name_equals(schemes[i].name, name, len))
			return &schemes[i];
	}
	return NULL;
}

/* Dovecot's encoding suffix: "{SSHA256.HEX}". Only the salted digests take one. */
static int parse_encoding(struct stored_hash *h, const char *enc, size_t len, const char **error_r)
{
	if (!h->scheme->encodings) {
		*error_r = "password scheme takes no encoding suffix";
		return -1;
	}
	if (name_equals("HEX", enc, len)) {
		h->hex = true;
		return 0;
	}
	if (name_equals("B64", enc, len) || name_equals("BASE64", enc, len))
		return 0;
	*error_r = "unknown password encoding suffix";
	return -1;
}

static int parse_stored(const char *stored, struct stored_hash *h_r, const char **error_r)
{
	size_t len = strnlen(stored, PASSWORD_HASH_MAX);

	*h_r = (struct stored_hash){.scheme = &schemes[0], .rest = stored};
	if (len == PASSWORD_HASH_MAX) {
		*error_r = "password hash too long";
		return -1;
	}
	if (stored[0] != '{')
		return 0;
	const char *name = stored + 1;
	const char *end =
	    memchr(name, '}', len - 1 < SCHEME_NAME_MAX + 1 ? len - 1 : SCHEME_NAME_MAX + 1);
	if (end == NULL) {
		*error_r = "password scheme prefix lacks its closing brace or is too long";
		return -1;
	}
	const char *dot = memchr(name, '.', (size_t)(end - name));
	h_r->scheme = scheme_find(name, (size_t)((dot != NULL ? dot : end) - name));
	h_r->rest = end + 1;
	if (h_r->scheme == NULL) {
		*error_r = "unknown password scheme";
		return -1;
	}
	return dot == NULL ? 0 : parse_encoding(h_r, dot + 1, (size_t)(end - dot - 1), error_r);
}

static enum crypt_family crypt_family_of(const char *s)
{
	static const char des_chars[] =
	    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	for (size_t i = 0; i < sizeof(crypt_prefixes) / sizeof(crypt_prefixes[0]); i++) {
		const char *prefix = crypt_prefixes[i].prefix;

		if (strncmp(s, prefix, strlen(prefix)) == 0)
			return crypt_prefixes[i].family;
	}
	/* Traditional DES: two salt and eleven hash characters. */
	if (strlen(s) == 13 && strspn(s, des_chars) == 13)
		return FAMILY_DES;
	return FAMILY_NONE;
}

static int crypt_check_family(const struct stored_hash *h, const char **error_r)
{
	enum crypt_family family = crypt_family_of(h->rest);

	if (family == FAMILY_NONE) {
		*error_r = "malformed or unsupported crypt string";
		return -1;
	}
	if ((family & h->scheme->families) == 0) {
		*error_r = "crypt string does not belong to the named scheme";
		return -1;
	}
	return 0;
}

/* libxcrypt refuses phrases of CRYPT_MAX_PASSPHRASE_SIZE bytes or more with ERANGE. */
static const char *crypt_phrase(const char *plain, char buf[LONG_PHRASE_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(plain);
	uint8_t md[64];

	if (len < CRYPT_MAX_PASSPHRASE_SIZE)
		return plain;
	if (password_digest(PASSWORD_DIGEST_SHA512, LONG_PHRASE_LABEL,
	                    sizeof(LONG_PHRASE_LABEL) - 1, plain, len, md) != sizeof(md))
		return NULL;
	for (size_t i = 0; i < sizeof(md); i++) {
		buf[2 * i] = hex[md[i] >> 4];
		buf[2 * i + 1] = hex[md[i] & 0x0f];
	}
	buf[2 * sizeof(md)] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return buf;
}

static const char *crypt_error(int err)
{
	if (err == EINVAL)
		return "malformed crypt string";
	if (err == ENOSYS || err == EOPNOTSUPP)
		return "crypt method not supported by libcrypt";
	if (err == ENOMEM)
		return "out of memory";
	return "crypt failed";
}

/* crypt(plain, setting) into out; the work area, which held the password, is wiped. */
static int crypt_into(const char *plain, const char *setting, char out[CRYPT_OUTPUT_SIZE],
                      const char **error_r)
{
	char buf[LONG_PHRASE_SIZE];
	const char *phrase = crypt_phrase(plain, buf);
	void *data = NULL;
	int data_size = 0, ret = -1;

	if (phrase == NULL) {
		*error_r = "digest computation failed";
		return -1;
	}
	errno = 0;
	const char *res = crypt_ra(phrase, setting, &data, &data_size);
	/* Failure is NULL or, for callers of crypt(), a string starting with '*'. */
	if (res == NULL || res[0] == '*')
		*error_r = crypt_error(errno);
	else if (copy_str(out, CRYPT_OUTPUT_SIZE, res) < 0)
		*error_r = "crypt result too long";
	else
		ret = 0;
	explicit_bzero(buf, sizeof(buf));
	if (data != NULL)
		explicit_bzero(data, (size_t)data_size);
	free(data);
	return ret;
}

static int verify_crypt(const struct stored_hash *h, const char *plain, const char **error_r)
{
	char out[CRYPT_OUTPUT_SIZE];
	size_t len = strlen(h->rest);
	int match;

	if (crypt_check_family(h, error_r) < 0 || crypt_into(plain, h->rest, out, error_r) < 0)
		return -1;
	match = strlen(out) == len && CRYPTO_memcmp(out, h->rest, len) == 0;
	OPENSSL_cleanse(out, sizeof(out));
	return match;
}

static int verify_argon2id(const struct stored_hash *h, const char *plain, const char **error_r)
{
	return password_argon2_verify(true, h->rest, plain, error_r);
}

static int verify_argon2i(const struct stored_hash *h, const char *plain, const char **error_r)
{
	return password_argon2_verify(false, h->rest, plain, error_r);
}

static int verify_salted(const struct stored_hash *h, const char *plain, const char **error_r)
{
	return password_salted_verify(h->scheme->digest, h->hex, h->rest, plain, error_r);
}

/* Compares digests, not the strings, so the time taken says nothing of the stored length. */
static int verify_plain(const struct stored_hash *h, const char *plain, const char **error_r)
{
	uint8_t a[64], b[64];
	int len_a, len_b, match;

	if (h->rest[0] == '\0') {
		*error_r = "empty plaintext password";
		return -1;
	}
	len_a = password_digest(PASSWORD_DIGEST_SHA256, plain, strlen(plain), "", 0, a);
	len_b = password_digest(PASSWORD_DIGEST_SHA256, h->rest, strlen(h->rest), "", 0, b);
	if (len_a != 32 || len_b != 32) {
		*error_r = "digest computation failed";
		return -1;
	}
	match = CRYPTO_memcmp(a, b, 32) == 0;
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return match;
}

int password_hash(const char *plain, char *hash_r, size_t size, const char **error_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], out[CRYPT_OUTPUT_SIZE];
	int ret = 0;

	/* Count 0 is libxcrypt's default cost; NULL random bytes make it read the OS RNG. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL) {
		*error_r = "cannot make a yescrypt salt";
		return -1;
	}
	if (crypt_into(plain, setting, out, error_r) < 0)
		return -1;
	if (copy_str(hash_r, size, out) < 0) {
		*error_r = "password hash buffer too small";
		ret = -1;
	}
	OPENSSL_cleanse(out, sizeof(out));
	return ret;
}

int password_verify(const char *stored, const char *plain, bool *needs_rehash_r,
                    const char **error_r)
{
	struct stored_hash h;
	int ret;

	*needs_rehash_r = false;
	if (parse_stored(stored, &h, error_r) < 0)
		return -1;
	ret = h.scheme->verify(&h, plain, error_r);
	if (ret == 1) {
		*needs_rehash_r =
		    h.scheme->verify != verify_crypt || crypt_family_of(h.rest) != FAMILY_YESCRYPT;
	}
	return ret;
}

/* A truncated crypt string only ever mismatches, so verifying a probe would not catch it: the
   output for any password must be exactly as long as the stored string. */
static int import_check_crypt(const struct stored_hash *h, const char **error_r)
{
	char out[CRYPT_OUTPUT_SIZE];

	if (crypt_check_family(h, error_r) < 0 ||
	    crypt_into(IMPORT_PROBE, h->rest, out, error_r) < 0)
		return -1;
	if (strlen(out) != strlen(h->rest)) {
		*error_r = "crypt string has the wrong length";
		return -1;
	}
	return 0;
}

int password_import(const char *hash, char *out, size_t size, const char **error_r)
{
	struct stored_hash h;

	if (parse_stored(hash, &h, error_r) < 0)
		return -1;
	if (h.scheme->verify == verify_plain) {
		if (h.rest[0] == '\0') {
			*error_r = "empty plaintext password";
			return -1;
		}
		return password_hash(h.rest, out, size, error_r);
	}
	if (h.scheme->verify == verify_crypt) {
		if (import_check_crypt(&h, error_r) < 0)
			return -1;
	} else if (h.scheme->verify(&h, IMPORT_PROBE, error_r) < 0) {
		return -1;
	}
	if (copy_str(out, size, hash) < 0) {
		*error_r = "password hash buffer too small";
		return -1;
	}
	return 0;
}

void password_verify_dummy(const char *plain)
{
	bool needs_rehash;
	const char *error;

	(void)password_verify(dummy_hash, plain, &needs_rehash, &error);
}
