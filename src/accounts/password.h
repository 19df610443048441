#ifndef MAILD_PASSWORD_H
#define MAILD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any hash this module makes or accepts, NUL included. A stored or imported hash of
   PASSWORD_HASH_MAX bytes or more is refused as malformed. */
#define PASSWORD_HASH_MAX 512

/*
 * Passwords are NUL-terminated byte strings of any length; the caller bounds them (SASL limits)
 * before they get here. libxcrypt refuses passphrases of 512 bytes or more, so for the crypt(3)
 * schemes such a password is first reduced to the hex of a domain-separated SHA-512 of it. Hashes
 * made here verify here; a crypt hash of a >= 512-byte password made by another library does not.
 *
 * Every error string is static and never contains the password or the hash, so callers may log it.
 * All functions are thread-safe.
 */

/* Writes a new yescrypt hash ("$y$...", libxcrypt's default cost, salt from the OS RNG) of plain
   into hash_r. Returns 0, or -1 with *error_r set (RNG or libcrypt failure, hash_r too small). */
int password_hash(const char *plain, char *hash_r, size_t size, const char **error_r);

/*
 * Checks plain against stored. Returns 1 on a match, 0 on a mismatch, -1 when stored is malformed
 * or of an unsupported scheme (*error_r says why). *needs_rehash_r is set on a match: true unless
 * the hash is yescrypt, in which case the caller should store password_hash(plain) instead.
 *
 * stored is either a bare crypt(3) string -- $y$ (yescrypt), $gy$, $7$, $6$, $5$, $2a$/$2b$/$2y$,
 * $1$ or 13-character DES -- or a Dovecot "{SCHEME}rest" string, scheme names case-insensitive:
 *   {YESCRYPT} {SHA512-CRYPT} {SHA256-CRYPT} {BLF-CRYPT} {MD5-CRYPT}: rest is a crypt string of
 * that family ({BLF-CRYPT} takes $2a$, $2b$ and $2y$); {CRYPT}: rest is any of the bare crypt
 * strings above; {ARGON2ID} {ARGON2I}: rest is "$argon2id$v=19$m=..,t=..,p=..$salt$hash" (resp.
 * $argon2i$); more than 1 GiB of memory, 100 passes or 64 lanes is refused as malformed; {SSHA}
 * {SSHA256} {SSHA512} {SMD5}: rest is base64 of H(password || salt) || salt, salt at least one
 * byte; a ".B64", ".BASE64" or ".HEX" suffix on the name selects the encoding; {PLAIN} {CLEARTEXT}:
 * rest is the password itself, not empty.
 */
int password_verify(const char *stored, const char *plain, bool *needs_rehash_r,
                    const char **error_r);

/* Checks a hash an admin imports. Returns 0 when password_verify can verify it, having copied it
   into out; "{PLAIN}secret" (or {CLEARTEXT}) is instead hashed with password_hash into out.
   Returns -1 with *error_r set when the hash is malformed or unsupported or out is too small.
   The check runs the hash function once, so it costs as much as one verification. */
int password_import(const char *hash, char *out, size_t size, const char **error_r);

/* Spends the time of one password_verify against a yescrypt hash of the default cost, for an
   unknown user to be answered as slowly as a wrong password. */
void password_verify_dummy(const char *plain);

/* ---- Internal: shared by password.c and password_legacy.c, not for callers. ---- */

enum password_digest {
	PASSWORD_DIGEST_MD5,
	PASSWORD_DIGEST_SHA1,
	PASSWORD_DIGEST_SHA256,
	PASSWORD_DIGEST_SHA512,
};

/* H(a || b) into out (at least 64 bytes); returns the digest length, or -1. */
int password_digest(enum password_digest digest, const void *a, size_t a_len, const void *b,
                    size_t b_len, uint8_t *out);
/* Verifies a salted digest (SSHA family): encoded is base64 (or hex) of H(plain || salt) || salt.
   Returns 1, 0 or -1 like password_verify. */
int password_salted_verify(enum password_digest digest, bool hex, const char *encoded,
                           const char *plain, const char **error_r);
/* Verifies an Argon2 PHC string of type argon2id (id) or argon2i. Returns 1, 0 or -1. */
int password_argon2_verify(bool id, const char *encoded, const char *plain, const char **error_r);

#endif
