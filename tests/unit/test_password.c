/* Unit tests for src/accounts/password.[ch]. Every known vector was made by another tool; the
   command is beside it. The right password of all of them is RIGHT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "password.h"

#define RIGHT "Tr0ub4dor&3"
#define WRONG "tr0ub4dor&3"
/* echo -n 'Tr0ub4dor&3' | argon2 saltsalt01 -id -t 2 -m 12 -p 1 -e (argon2 0~20171227) */
#define ARGON2ID_VECTOR                                                                            \
	"$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQwMQ$bK6H/NIa0f77PTbslefo39Og+CWWoy1s9m6LeXZ/Mdg"

struct vector {
	const char *stored;
	bool needs_rehash;
};

static const struct vector vectors[] = {
    /* mkpasswd -m yescrypt 'Tr0ub4dor&3' (whois 5.5.17) */
    {"$y$j9T$M95Q0yZGXHZ7fTQYkK50e1$O/lypxMfUPMqzgkiyxj4gw5Z6BptUDV9KNpUcqaH075", false},
    /* the same, with Dovecot prefixes written by hand */
    {"{YESCRYPT}$y$j9T$M95Q0yZGXHZ7fTQYkK50e1$O/lypxMfUPMqzgkiyxj4gw5Z6BptUDV9KNpUcqaH075", false},
    {"{crypt}$y$j9T$M95Q0yZGXHZ7fTQYkK50e1$O/lypxMfUPMqzgkiyxj4gw5Z6BptUDV9KNpUcqaH075", false},
    /* mkpasswd -m gost-yescrypt 'Tr0ub4dor&3' */
    {"$gy$j9T$NlwYjsS0o1yCqH9u9e3cc.$ZsJgNoLvhR/Nmg6uxcDMd.ugCK2IJz9dR1Xg7Doo.z3", true},
    /* mkpasswd -m scrypt 'Tr0ub4dor&3' */
    {"$7$CU..../....w9rNvLv07C6r5xmbLLl7//$7zmmZYxiXc1QpqYKNeK7RPpSoLF8aZWY18IDG3pBQx1", true},
    /* mkpasswd -m bcrypt 'Tr0ub4dor&3' */
    {"$2b$05$nnrVd6xkbRZYdiSPdXAtPe.s6qBqeDs9Zvx9YuSzrby8V./lxXXva", true},
    /* mkpasswd -m bcrypt -R 10 'Tr0ub4dor&3' */
    {"$2b$10$Bxo651PX3rX/otiO/14DQ.N6uClW5hfNwVeLA1XklEGWNHLriUbYu", true},
    /* mkpasswd -m bcrypt-a 'Tr0ub4dor&3' */
    {"$2a$05$6vci28Ar8/evujCYIKGkrOK0JO2XImDVnJFyZ0YxilXXQqbeDp9ca", true},
    /* htpasswd -nbB u 'Tr0ub4dor&3' (apache2-utils 2.4) */
    {"{BLF-CRYPT}$2y$05$bTSZ8bbpnv14jH7tEXqfM.anfy7bL5Tld1SVN.mCQebINP8wwRjoW", true},
    /* mkpasswd -m sha512crypt 'Tr0ub4dor&3' */
    {"$6$ORKjSyzaN7y3Oquf$aIvcikpZZD7IdGOSFp0wPwLBjuStSH7f6DQwQHuAhkgfsBy.mzR6ercmGcytd5a4JT9JHfX/"
     "Z5XOW1j4NSiMF.",
     true},
    /* openssl passwd -6 'Tr0ub4dor&3' (OpenSSL 3.0) */
    {"{SHA512-CRYPT}$6$3jYe4vLfTh54pKHv$HF0bs3AIldWCMS6HtxQvDahj1CjPSmfcSEkaVNVhwGvsxkziOvsbC2j/"
     "MBcFDYPwXAdEGA.aUVe8Zt3J7Vv4..",
     true},
    /* mkpasswd -m sha512crypt -R 10000 'Tr0ub4dor&3' */
    {"{CRYPT}$6$rounds=10000$4Pcm2Pmz9f7HifzN$"
     "b5iWomS8vpzldG891PyIME7ucGzwCYnyh7OUa8fNFr97tBYZMpfhYofD3"
     "PGYB0aOr3O5jS/5Y7yjqwnqt1Qph.",
     true},
    /* mkpasswd -m sha256crypt 'Tr0ub4dor&3' */
    {"$5$G/dLt9S4A9q2azPn$cXknI1Yt9ONfWV/iidolGeNLxg1jwkI0OQMCnnoapmC", true},
    /* openssl passwd -5 'Tr0ub4dor&3' */
    {"{SHA256-CRYPT}$5$iuyOGKSXpLzTox2r$COP0jZv0U.ahbE3UPfBEVRYJGtdpMLFHLoEA6XKy1n/", true},
    /* mkpasswd -m sha256crypt -R 8000 'Tr0ub4dor&3' */
    {"{sha256-crypt}$5$rounds=8000$j3r3JPNI734XIyqd$YGEvy1CQy3kVTA70RexR2HBk/jCLthE9UNX35bofUz4",
     true},
    /* mkpasswd -m md5crypt 'Tr0ub4dor&3' */
    {"$1$km20cI1J$oSjzMM4yhwzXItWBmT3.A.", true},
    /* openssl passwd -1 'Tr0ub4dor&3' */
    {"{MD5-CRYPT}$1$IyOf8J8r$pBj2eYSJGy5i6B186/EX2/", true},
    /* mkpasswd -m descrypt 'Tr0ub4dor&3' (DES reads the first 8 bytes only) */
    {"ERaABm5dVKIQc", true},
    {"{CRYPT}ERaABm5dVKIQc", true},
    /* ARGON2ID_VECTOR, from the argon2 CLI, with a Dovecot prefix */
    {"{ARGON2ID}" ARGON2ID_VECTOR, true},
    /* echo -n 'Tr0ub4dor&3' | argon2 saltsalt02 -i -t 3 -m 12 -p 2 -e */
    {"{argon2i}$argon2i$v=19$m=4096,t=3,p=2$c2FsdHNhbHQwMg$"
     "K6AIo5q4GRr8AStqDNsNFqhKeg1YE6EDD2CKl4e2ww4",
     true},
    /* python3: base64(sha1(P + salt) + salt), salt a1b2c3d4 */
    {"{SSHA}VNcMBicyx38bK5VqKbZanBfE6CuhssPU", true},
    {"{SSHA.B64}VNcMBicyx38bK5VqKbZanBfE6CuhssPU", true},
    /* python3: the same with the one-byte salt 00 */
    {"{ssha}uLB1HEqawruVFZ297qfqi0RgfIAA", true},
    /* python3: base64(sha256(P + salt) + salt), salt 0011223344556677 */
    {"{SSHA256}v0If8WY22R/WSEWqToAzPDia4m5qTU8vntQK15+MqgsAESIzRFVmdw==", true},
    {"{SSHA256.BASE64}v0If8WY22R/WSEWqToAzPDia4m5qTU8vntQK15+MqgsAESIzRFVmdw==", true},
    /* python3: hex(sha256(P + salt) + salt), salt 01020304 */
    {"{SSHA256.HEX}a76b1c1820032818a8ce49f692ece8f645964d9249622a6a9b87529453b9a7eb01020304", true},
    /* python3: base64(sha512(P + salt) + salt), salt 000102..0f */
    {"{SSHA512}hiaefM9qri+GrqkAXgwHkfwZ1lGexyYyBoJMcTTcJ9RUo7w3UU6NSym3jN//3sZ+P5yFrPAi4U53w7AcQ/"
     "9mowABAgMEBQYHCAkKCwwNDg8=",
     true},
    /* python3: base64(md5(P + salt) + salt), salt deadbeef */
    {"{SMD5}Xpb+xhtiOyNLAxI5Qfk/C96tvu8=", true},
    /* written by hand */
    {"{PLAIN}Tr0ub4dor&3", true},
    {"{CLEARTEXT}Tr0ub4dor&3", true},
};

/* A password of 4 KiB, 'A' repeated, and one of 511 and 127 bytes, 'x' repeated. */
static char long_a[4097], x511[512], x127[128];

static int setup(void **state)
{
	(void)state;
	memset(long_a, 'A', sizeof(long_a) - 1);
	memset(x511, 'x', sizeof(x511) - 1);
	memset(x127, 'x', sizeof(x127) - 1);
	return 0;
}

static void assert_verify(const char *stored, const char *plain, int expect, bool rehash)
{
	bool needs_rehash = !rehash;
	const char *error = NULL;
	int ret = password_verify(stored, plain, &needs_rehash, &error);

	if (ret != expect)
		print_error("stored=%s ret=%d error=%s\n", stored, ret, error ? error : "-");
	assert_int_equal(ret, expect);
	assert_int_equal(needs_rehash, rehash);
}

static void assert_malformed(const char *stored)
{
	bool needs_rehash = true;
	const char *error = NULL;

	if (password_verify(stored, RIGHT, &needs_rehash, &error) != -1)
		print_error("accepted: %s\n", stored);
	assert_int_equal(password_verify(stored, RIGHT, &needs_rehash, &error), -1);
	assert_non_null(error);
	assert_null(strstr(error, RIGHT));
	assert_false(needs_rehash);
}

static void assert_import_refused(const char *hash)
{
	char out[PASSWORD_HASH_MAX] = "untouched";
	const char *error = NULL;

	if (password_import(hash, out, sizeof(out), &error) != -1)
		print_error("imported: %s\n", hash);
	assert_int_equal(password_import(hash, out, sizeof(out), &error), -1);
	assert_non_null(error);
}

static void test_known_vectors_match_the_right_password(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		assert_verify(vectors[i].stored, RIGHT, 1, vectors[i].needs_rehash);
}

static void test_known_vectors_mismatch_a_wrong_password(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_verify(vectors[i].stored, WRONG, 0, false);
		assert_verify(vectors[i].stored, "", 0, false);
	}
}

static void test_known_vectors_import_unchanged(void **state)
{
	char out[PASSWORD_HASH_MAX];
	const char *error = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		if (strncmp(vectors[i].stored, "{PLAIN}", 7) == 0 ||
		    strncmp(vectors[i].stored, "{CLEARTEXT}", 11) == 0)
			continue;
		assert_int_equal(password_import(vectors[i].stored, out, sizeof(out), &error), 0);
		assert_string_equal(out, vectors[i].stored);
	}
}

static void test_long_passwords_match(void **state)
{
	(void)state;
	/* python3: base64(sha512(b'A' * 4096 + salt) + salt), salt cafebabe */
	assert_verify(
	    "{SSHA512}ijBk7M3uCr6IOLpyU8Y2UumddZdaYmsrCEWOPB5qpR9HL3Y+v8lqhdE0xHMvNoytAnMB31eCK"
	    "hBa03EjadRkDcr+ur4=",
	    long_a, 1, true);
	/* 511 bytes, the longest libxcrypt takes as it is:
	   printf 'x%.0s' $(seq 511) | mkpasswd -s -m yescrypt */
	assert_verify("$y$j9T$Xk2zNPZq9e6BSk0T.oNZ10$YtpRd3JuFjib07u4KC5UhC/NFuN43YfeeJg6eKKUoo7",
	              x511, 1, false);
	/* 127 bytes, the longest the argon2 CLI takes:
	   printf 'x%.0s' $(seq 127) | argon2 saltsalt05 -id -t 1 -m 10 -p 1 -e */
	assert_verify(
	    "{ARGON2ID}$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQwNQ$rBSui3h/pfZJLL8O7q8EqGR2mzh"
	    "Cix5jyYq+V3/Y9xA",
	    x127, 1, true);
}

static void test_4k_password_round_trips(void **state)
{
	char hash[PASSWORD_HASH_MAX];
	const char *error = NULL;

	(void)state;
	assert_int_equal(password_hash(long_a, hash, sizeof(hash), &error), 0);
	assert_verify(hash, long_a, 1, false);
	long_a[4000] = 'B';
	assert_verify(hash, long_a, 0, false);
	long_a[4000] = 'A';
	/* 512 bytes, the first length that is reduced before crypt, against a shorter one */
	long_a[512] = '\0';
	assert_int_equal(password_hash(long_a, hash, sizeof(hash), &error), 0);
	assert_verify(hash, long_a, 1, false);
	long_a[511] = '\0';
	assert_verify(hash, long_a, 0, false);
	long_a[511] = long_a[512] = 'A';
}

static void test_new_hash_is_default_cost_yescrypt(void **state)
{
	char hash[PASSWORD_HASH_MAX];
	const char *error = NULL;

	(void)state;
	assert_int_equal(password_hash(RIGHT, hash, sizeof(hash), &error), 0);
	/* password_verify_dummy's fixed hash has this cost; on a mismatch, make it anew. */
	assert_int_equal(strncmp(hash, "$y$j9T$", 7), 0);
	assert_verify(hash, RIGHT, 1, false);
	assert_verify(hash, WRONG, 0, false);
}

static void test_two_hashes_of_one_password_differ(void **state)
{
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
	const char *error = NULL;

	(void)state;
	assert_int_equal(password_hash(RIGHT, a, sizeof(a), &error), 0);
	assert_int_equal(password_hash(RIGHT, b, sizeof(b), &error), 0);
	assert_string_not_equal(a, b);
}

static void test_hash_into_small_buffer_is_an_error(void **state)
{
	char hash[40];
	const char *error = NULL;

	(void)state;
	assert_int_equal(password_hash(RIGHT, hash, sizeof(hash), &error), -1);
	assert_non_null(error);
}

static void test_unknown_or_broken_scheme_is_malformed(void **state)
{
	char long_name[64] = "{";

	(void)state;
	assert_malformed("{FOO}bar");
	assert_malformed("{}Tr0ub4dor&3");
	assert_malformed("{SSHA");
	assert_malformed("{");
	assert_malformed("{MD5}Tr0ub4dor&3");
	assert_malformed("{SSHA.XYZ}VNcMBicyx38bK5VqKbZanBfE6CuhssPU");
	assert_malformed("{SHA512-CRYPT.HEX}$1$km20cI1J$oSjzMM4yhwzXItWBmT3.A.");
	assert_malformed("{PLAIN.HEX}54723075");
	memset(long_name + 1, 'A', 40);
	memcpy(long_name + 41, "}x", 3);
	assert_malformed(long_name);
}

static void test_oversized_hash_is_malformed(void **state)
{
	char big[PASSWORD_HASH_MAX + 8];

	(void)state;
	memcpy(big, "{PLAIN}", 7);
	memset(big + 7, 'a', sizeof(big) - 8);
	big[sizeof(big) - 1] = '\0';
	assert_malformed(big);
	assert_import_refused(big);
}

static void test_bad_salted_digests_are_malformed(void **state)
{
	(void)state;
	assert_malformed("{SSHA}");
	/* truncated: the length is no longer a multiple of 4 */
	assert_malformed("{SSHA}VNcMBicyx38bK5VqKbZanBfE6CuhssP");
	assert_malformed("{SSHA}VNcMBicyx38bK5VqKbZanBfE6Cuhss");
	/* python3: base64(sha1(P)), the digest without any salt */
	assert_malformed("{SSHA}h0Vy56WuaklGamrFeLmK26eMaqY=");
	/* python3: sha256(P).hexdigest(), again no salt */
	assert_malformed(
	    "{SSHA256.HEX}48486e1514e842346ff405b1e45f44059ae82619f2306f99d0940dcb386e91f7");
	assert_malformed(
	    "{SSHA256.HEX}a76b1c1820032818a8ce49f692ece8f645964d9249622a6a9b87529453b9a7eb0102030");
	assert_malformed(
	    "{SSHA256.HEX}"
	    "z76b1c1820032818a8ce49f692ece8f645964d9249622a6a9b87529453b9a7eb01020304");
	/* not base64: whitespace, '=' inside, a stray character, nonzero unused bits */
	assert_malformed("{SSHA}VNcMBicyx38bK5VqKbZanBfE 6CuhssPU");
	assert_malformed("{SSHA}VNcMBicyx38b=5VqKbZanBfE6CuhssPU");
	assert_malformed("{SSHA}VNcMBicyx38bK5VqKbZanBfE6Cuhss*U");
	assert_malformed("{SSHA256}v0If8WY22R/WSEWqToAzPDia4m5qTU8vntQK15+MqgsAESIzRFVmdx==");
	assert_malformed("{SMD5}Xpb+xhtiOyNLAxI5Qfk/C96tvu8");
	assert_malformed("{SMD5}Xpb+xhtiOyNLAxI5Qfk/C96tvu9=");
	assert_malformed("{SMD5}Xpb+xhtiOyNLAxI5Qfk/C96t=u8=");
}

static void test_truncated_but_well_formed_ssha_mismatches(void **state)
{
	(void)state;
	/* 28 base64 characters decode to a 20-byte digest and a 1-byte salt: well formed, wrong */
	assert_verify("{SSHA}VNcMBicyx38bK5VqKbZanBfE6Cuh", RIGHT, 0, false);
}

static void test_garbage_crypt_strings_are_refused(void **state)
{
	static const char *const garbage[] = {
	    "not a hash",
	    "*",
	    "!",
	    "*LK*",
	    "$y$",
	    "$y$j9T$",
	    "$6$abc",
	    "$2b$99$nnrVd6xkbRZYdiSPdXAtPe.s6qBqeDs9Zvx9YuSzrby8V./lxXXva",
	    "$2x$05$nnrVd6xkbRZYdiSPdXAtPe.s6qBqeDs9Zvx9YuSzrby8V./lxXXva",
	    "$3$$cfc43211ba8dc470832267827cac1407",
	    ARGON2ID_VECTOR,
	    "ERaABm5dVKIQ",
	    "ERaABm5dVKIQc!",
	    /* the right families under the wrong names */
	    "{SHA512-CRYPT}$1$km20cI1J$oSjzMM4yhwzXItWBmT3.A.",
	    "{YESCRYPT}$gy$j9T$NlwYjsS0o1yCqH9u9e3cc.$ZsJgNoLvhR/Nmg6uxcDMd.ugCK2IJz9dR1Xg7Doo.z3",
	    "{BLF-CRYPT}ERaABm5dVKIQc",
	    "{SHA512-CRYPT}",
	};
	bool needs_rehash = true;
	const char *error = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		/* Malformed, or at worst never a match. */
		assert_true(password_verify(garbage[i], RIGHT, &needs_rehash, &error) <= 0);
		assert_false(needs_rehash);
		assert_import_refused(garbage[i]);
	}
}

static void test_truncated_crypt_string_is_refused_on_import(void **state)
{
	(void)state;
	/* mkpasswd -m sha512crypt 'Tr0ub4dor&3', last character dropped */
	assert_verify(
	    "$6$ORKjSyzaN7y3Oquf$aIvcikpZZD7IdGOSFp0wPwLBjuStSH7f6DQwQHuAhkgfsBy.mzR6ercmGcytd5a4J"
	    "T9JHfX/Z5XOW1j4NSiMF",
	    RIGHT, 0, false);
	assert_import_refused(
	    "$6$ORKjSyzaN7y3Oquf$aIvcikpZZD7IdGOSFp0wPwLBjuStSH7f6DQwQHuAhkgfsBy.mzR6e"
	    "rcmGcytd5a4JT9JHfX/Z5XOW1j4NSiMF");
	/* mkpasswd -m yescrypt 'Tr0ub4dor&3', last character dropped */
	assert_import_refused(
	    "$y$j9T$M95Q0yZGXHZ7fTQYkK50e1$O/lypxMfUPMqzgkiyxj4gw5Z6BptUDV9KNpUcqaH07");
}

static void test_bad_argon2_hashes_are_malformed(void **state)
{
	(void)state;
	/* An argon2id vector under the argon2i name, and an argon2d one:
	   echo -n 'Tr0ub4dor&3' | argon2 saltsalt03 -d -t 2 -m 12 -p 1 -e */
	assert_malformed("{ARGON2I}" ARGON2ID_VECTOR);
	assert_malformed(
	    "{ARGON2ID}$argon2d$v=19$m=4096,t=2,p=1$c2FsdHNhbHQwMw$j9NxAyf0M6Ir1+baAKtzqMSnBTC"
	    "2/xnm6Z/VQPvMJr8");
	assert_malformed("{ARGON2ID}");
	assert_malformed("{ARGON2ID}$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQwMQ$bK6H");
	assert_malformed(
	    "{ARGON2ID}$argon2id$v=19$m=4096,t=2$c2FsdHNhbHQwMQ$bK6H/NIa0f77PTbslefo39Og+CWWoy"
	    "1s9m6LeXZ/Mdg");
	/* 2 GiB, above the 1 GiB limit:
	   echo -n 'Tr0ub4dor&3' | argon2 saltsalt06 -id -t 1 -k 2097152 -p 1 -e */
	assert_malformed(
	    "{ARGON2ID}$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQwNg$AxH7Bsf61nTp3SGenqUCiaH5"
	    "T6eu+ennvfGkBGkGb+8");
	assert_import_refused(
	    "{ARGON2ID}$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQwNg$AxH7Bsf61nTp3SGen"
	    "qUCiaH5T6eu+ennvfGkBGkGb+8");
}

static void test_empty_plain_is_malformed(void **state)
{
	(void)state;
	assert_malformed("{PLAIN}");
	assert_import_refused("{PLAIN}");
	assert_import_refused("{CLEARTEXT}");
}

static void test_import_of_plain_yields_yescrypt(void **state)
{
	char out[PASSWORD_HASH_MAX];
	const char *error = NULL;

	(void)state;
	assert_int_equal(password_import("{PLAIN}s3cret pass", out, sizeof(out), &error), 0);
	assert_int_equal(strncmp(out, "$y$", 3), 0);
	assert_verify(out, "s3cret pass", 1, false);
	assert_verify(out, "s3cret Pass", 0, false);
	assert_int_equal(password_import("{cleartext}" RIGHT, out, sizeof(out), &error), 0);
	assert_int_equal(strncmp(out, "$y$", 3), 0);
	assert_verify(out, RIGHT, 1, false);
}

static void test_import_rejects_garbage(void **state)
{
	char small[16];
	const char *error = NULL;

	(void)state;
	assert_import_refused("");
	assert_import_refused("garbage");
	assert_import_refused("{SSHA}!!!!");
	assert_import_refused("{SSHA}h0Vy56WuaklGamrFeLmK26eMaqY=");
	assert_import_refused("{NOPE}$6$ORKjSyzaN7y3Oquf$aIvcikpZZD7");
	assert_int_equal(
	    password_import("{SMD5}Xpb+xhtiOyNLAxI5Qfk/C96tvu8=", small, sizeof(small), &error),
	    -1);
	assert_int_equal(password_import("{PLAIN}x", small, sizeof(small), &error), -1);
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_dummy_costs_about_one_verification(void **state)
{
	char hash[PASSWORD_HASH_MAX];
	const char *error = NULL;
	bool needs_rehash;
	double t0, real, dummy;

	(void)state;
	assert_int_equal(password_hash(RIGHT, hash, sizeof(hash), &error), 0);
	t0 = seconds();
	for (int i = 0; i < 3; i++)
		assert_int_equal(password_verify(hash, WRONG, &needs_rehash, &error), 0);
	real = seconds() - t0;
	t0 = seconds();
	for (int i = 0; i < 3; i++)
		password_verify_dummy(WRONG);
	dummy = seconds() - t0;
	/* Generous bounds: only an order-of-magnitude gap would be a bug. */
	assert_true(dummy > real / 3);
	assert_true(dummy < real * 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_vectors_match_the_right_password),
	    cmocka_unit_test(test_known_vectors_mismatch_a_wrong_password),
	    cmocka_unit_test(test_known_vectors_import_unchanged),
	    cmocka_unit_test(test_long_passwords_match),
	    cmocka_unit_test(test_4k_password_round_trips),
	    cmocka_unit_test(test_new_hash_is_default_cost_yescrypt),
	    cmocka_unit_test(test_two_hashes_of_one_password_differ),
	    cmocka_unit_test(test_hash_into_small_buffer_is_an_error),
	    cmocka_unit_test(test_unknown_or_broken_scheme_is_malformed),
	    cmocka_unit_test(test_oversized_hash_is_malformed),
	    cmocka_unit_test(test_bad_salted_digests_are_malformed),
	    cmocka_unit_test(test_truncated_but_well_formed_ssha_mismatches),
	    cmocka_unit_test(test_garbage_crypt_strings_are_refused),
	    cmocka_unit_test(test_truncated_crypt_string_is_refused_on_import),
	    cmocka_unit_test(test_bad_argon2_hashes_are_malformed),
	    cmocka_unit_test(test_empty_plain_is_malformed),
	    cmocka_unit_test(test_import_of_plain_yields_yescrypt),
	    cmocka_unit_test(test_import_rejects_garbage),
	    cmocka_unit_test(test_dummy_costs_about_one_verification),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
