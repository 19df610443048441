#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "strutil.h"
#include "tls_ctx.h"

/* TLS 1.2 suites: forward secrecy and AEAD only (Mozilla "intermediate"). TLS 1.3 keeps
   OpenSSL's defaults, which are all AEAD. */
#define TLS_CTX_CIPHERS_TLS12 "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL"

struct tls_ctx {
	SSL_CTX *ssl_ctx;
};

/* The reason of the last OpenSSL error, for the end of an error line; clears the queue. */
static const char *tls_ctx_ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown OpenSSL error";
}

/* Never prompt for a pass phrase: an encrypted key simply fails to load. */
static int tls_ctx_no_password(char *buf, int size, int rwflag, void *userdata)
{
	(void)buf, (void)size, (void)rwflag, (void)userdata;
	return 0;
}

static SSL_CTX *tls_ctx_new_server(void)
{
	SSL_CTX *sc = SSL_CTX_new(TLS_server_method());

	if (sc == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(sc, TLS_CTX_CIPHERS_TLS12) != 1) {
		SSL_CTX_free(sc);
		return NULL;
	}
	SSL_CTX_set_options(sc, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	                            SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_clear_options(sc, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
	SSL_CTX_set_num_tickets(sc, 0);
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
	/* Partial writes so a large write never waits for one giant buffer; release buffers so an
	   idle IMAP connection costs a few hundred bytes of OpenSSL state, not ~34 KiB. */
	SSL_CTX_set_mode(sc, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                         SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_dh_auto(sc, 1);
	return sc;
}

/* fopen first so a missing or unreadable file is reported with errno's words, not OpenSSL's. */
static int tls_ctx_check_readable(const char *key, const char *path, char *error, size_t size)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		(void)str_printf(error, size, "%s %s: %s", key, path, strerror(errno));
		return -1;
	}
	fclose(fp);
	return 0;
}

static int tls_ctx_load_cert(SSL_CTX *sc, const char *cert_file, char *error, size_t size)
{
	if (tls_ctx_check_readable("tls.cert_file", cert_file, error, size) < 0)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(sc, cert_file) != 1) {
		(void)str_printf(error, size, "tls.cert_file %s: no usable PEM certificate (%s)",
		                 cert_file, tls_ctx_ssl_reason());
		return -1;
	}
	return 0;
}

static EVP_PKEY *tls_ctx_read_key(const char *key_file, char *error, size_t size)
{
	FILE *fp = fopen(key_file, "r");
	EVP_PKEY *pkey;

	if (fp == NULL) {
		(void)str_printf(error, size, "tls.key_file %s: %s", key_file, strerror(errno));
		return NULL;
	}
	ERR_clear_error();
	pkey = PEM_read_PrivateKey(fp, NULL, tls_ctx_no_password, NULL);
	fclose(fp);
	if (pkey == NULL)
		(void)str_printf(
		    error, size,
		    "tls.key_file %s: no usable PEM private key, or it is encrypted (%s)", key_file,
		    tls_ctx_ssl_reason());
	return pkey;
}

static int tls_ctx_load_key(SSL_CTX *sc, const char *cert_file, const char *key_file, char *error,
                            size_t size)
{
	EVP_PKEY *pkey = tls_ctx_read_key(key_file, error, size);
	int ret = -1;

	if (pkey == NULL)
		return -1;
	/* Checked before SSL_CTX_use_PrivateKey, which files a key of another type (an EC key
	   for an RSA certificate) in a slot of its own without any complaint. */
	if (X509_check_private_key(SSL_CTX_get0_certificate(sc), pkey) != 1) {
		ERR_clear_error();
		(void)str_printf(error, size,
		                 "tls.key_file %s: key does not match certificate in %s", key_file,
		                 cert_file);
	} else if (SSL_CTX_use_PrivateKey(sc, pkey) != 1 || SSL_CTX_check_private_key(sc) != 1) {
		(void)str_printf(error, size, "tls.key_file %s: %s", key_file,
		                 tls_ctx_ssl_reason());
	} else {
		ret = 0;
	}
	EVP_PKEY_free(pkey);
	return ret;
}

int tls_ctx_load(const char *cert_file, const char *key_file, struct tls_ctx **ctx_r, char *error,
                 size_t error_size)
{
	SSL_CTX *sc = tls_ctx_new_server();

	*ctx_r = NULL;
	if (sc == NULL) {
		(void)str_printf(error, error_size, "TLS: cannot create a server context: %s",
		                 tls_ctx_ssl_reason());
		return -1;
	}
	if (tls_ctx_load_cert(sc, cert_file, error, error_size) < 0 ||
	    tls_ctx_load_key(sc, cert_file, key_file, error, error_size) < 0) {
		SSL_CTX_free(sc);
		return -1;
	}
	*ctx_r = calloc(1, sizeof(**ctx_r));
	if (*ctx_r == NULL)
		fatal("out of memory");
	(*ctx_r)->ssl_ctx = sc;
	return 0;
}

int tls_ctx_load_fd(int fd, struct tls_ctx **ctx_r, char *error, size_t error_size)
{
	char path[64];

	/* Through /proc so OpenSSL's file readers (chain, key, checks) serve both cases. */
	(void)str_printf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (lseek(fd, 0, SEEK_SET) < 0) {
		(void)str_printf(error, error_size, "TLS bundle: %s", strerror(errno));
		return -1;
	}
	return tls_ctx_load(path, path, ctx_r, error, error_size);
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	*ctxp = NULL;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

struct ssl_st *tls_ctx_new_ssl(struct tls_ctx *ctx)
{
	/* SSL_new takes its own reference on the SSL_CTX, dropped by SSL_free. */
	return SSL_new(ctx->ssl_ctx);
}
