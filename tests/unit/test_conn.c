/* struct conn and tls_ctx on a real libuv loop, against real clients: each test runs the line
   server of conn_harness.c on 127.0.0.1 and a client in a thread that speaks to it over a plain
   socket or OpenSSL, and reads like the dialogue it checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_harness.h"
#include "log.h"

static void client_echo_plain(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_expect(&p, "HELLO"));
	CHECK(cl, peer_send(&p, "one\r\ntwo\r\n"));
	CHECK(cl, peer_expect(&p, "one") && peer_expect(&p, "two"));
	CHECK(cl, peer_send(&p, "HUGE\r\n") && peer_expect_bytes(&p, HUGE_REPLY, 'h'));
	/* Closed inside on_read: what follows QUIT in the same read is never answered. */
	CHECK(cl, peer_send(&p, "QUIT\r\nthree\r\n"));
	CHECK(cl, peer_expect(&p, "BYE"));
	peer_drain(cl, &p);
	CHECK(cl, cl->text_len == 0);
	peer_close(&p);
}

static void test_plaintext_echo(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	server_start(&srv);
	server_run(&srv, &cl, client_echo_plain);
	assert_string_equal(srv.res[0].reason, "closed by server");
	assert_int_equal(srv.res[0].tls_ready_calls, 0);
}

static void client_echo_tls(struct client *cl, int version, const char *sni)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_tls(&p, version, version, sni));
	CHECK(cl, peer_expect(&p, "HELLO"));
	CHECK(cl, peer_send(&p, "one\r\n") && peer_expect(&p, "one"));
	/* One write far larger than a TLS record and than one read. */
	CHECK(cl, peer_send(&p, "BIG\r\n") && peer_expect_bytes(&p, BIG_REPLY, 'b'));
	CHECK(cl, peer_expect(&p, ""));
	CHECK(cl, peer_send(&p, "HUGE\r\n") && peer_expect_bytes(&p, HUGE_REPLY, 'h'));
	/* Our close_notify is an EOF to the server, which answers with its own. */
	CHECK(cl, SSL_shutdown(p.ssl) >= 0);
	peer_drain(cl, &p);
	peer_close(&p);
}

static void client_echo_tls13(struct client *cl)
{
	client_echo_tls(cl, TLS1_3_VERSION, "..odd_SNI-*.example..");
}

static void client_echo_tls12(struct client *cl)
{
	client_echo_tls(cl, TLS1_2_VERSION, NULL);
}

static void test_implicit_tls13_echo(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	tls_server_start(&srv);
	server_run(&srv, &cl, client_echo_tls13);
	tls_ctx_free(&srv.tls);
	assert_int_equal(srv.res[0].tls_ready_calls, 1);
	assert_string_equal(srv.res[0].version, "TLSv1.3");
	assert_true(strncmp(srv.res[0].cipher, "TLS_", 4) == 0);
	assert_string_equal(srv.res[0].reason, "connection closed by client");
}

static void test_implicit_tls12_echo(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	tls_server_start(&srv);
	server_run(&srv, &cl, client_echo_tls12);
	tls_ctx_free(&srv.tls);
	assert_string_equal(srv.res[0].version, "TLSv1.2");
	assert_non_null(strstr(srv.res[0].cipher, "ECDHE-ECDSA-"));
	assert_string_equal(srv.res[0].reason, "connection closed by client");
}

static void client_old_tls(struct client *cl, int version)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	cl->flag = peer_tls(&p, version, version, NULL);
	peer_drain(cl, &p);
	peer_close(&p);
}

static void client_tls11(struct client *cl)
{
	client_old_tls(cl, TLS1_1_VERSION);
}

static void client_tls10(struct client *cl)
{
	client_old_tls(cl, TLS1_VERSION);
}

static void client_not_tls(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_send(&p, "GET / HTTP/1.0\r\n\r\n"));
	peer_drain(cl, &p);
	peer_close(&p);
}

static void refused_handshake(void (*fn)(struct client *), const char *why)
{
	struct server srv = {0};
	struct client cl = {0};

	tls_server_start(&srv);
	server_run(&srv, &cl, fn);
	tls_ctx_free(&srv.tls);
	assert_false(cl.flag);
	assert_int_equal(srv.res[0].tls_ready_calls, 0);
	assert_int_equal(srv.res[0].got_len, 0);
	assert_true(strncmp(srv.res[0].reason, "TLS handshake failed: ", 22) == 0);
	if (why != NULL)
		assert_string_equal(srv.res[0].reason + 22, why);
}

static void test_tls11_client_is_refused(void **state)
{
	(void)state;
	refused_handshake(client_tls11, "unsupported protocol");
}

static void test_tls10_client_is_refused(void **state)
{
	(void)state;
	refused_handshake(client_tls10, "unsupported protocol");
}

static void test_plaintext_on_a_tls_port_is_refused(void **state)
{
	(void)state;
	refused_handshake(client_not_tls, NULL);
}

static void client_starttls_injection(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_expect(&p, "HELLO"));
	/* One segment: the command and a man in the middle's addition. */
	CHECK(cl, peer_send(&p, "STARTTLS\r\nINJECTED\r\n"));
	CHECK(cl, peer_expect(&p, "220 go"));
	CHECK(cl, peer_tls(&p, TLS1_2_VERSION, TLS1_3_VERSION, NULL));
	CHECK(cl, peer_send(&p, "AFTER\r\n") && peer_expect(&p, "AFTER"));
	CHECK(cl, peer_send(&p, "QUIT\r\n") && peer_expect(&p, "BYE"));
	peer_close(&p);
}

static void test_starttls_never_delivers_injected_plaintext(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	tls_server_start(&srv);
	srv.implicit_tls = false;
	server_run(&srv, &cl, client_starttls_injection);
	tls_ctx_free(&srv.tls);
	assert_int_equal(srv.res[0].tls_ready_calls, 1);
	assert_int_equal(srv.res[0].got_tls_len, strlen("AFTER\r\nQUIT\r\n"));
	assert_memory_equal(srv.res[0].got_tls, "AFTER\r\nQUIT\r\n", srv.res[0].got_tls_len);
}

static void client_plaintext_after_starttls(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_expect(&p, "HELLO"));
	CHECK(cl, peer_send(&p, "STARTTLS\r\n") && peer_expect(&p, "220 go"));
	/* Plaintext after the server switched: TLS must take it as a (broken) record. */
	CHECK(cl, peer_send(&p, "INJECTED\r\n"));
	cl->flag = peer_tls(&p, TLS1_2_VERSION, TLS1_3_VERSION, NULL);
	peer_close(&p);
}

static void test_plaintext_after_starttls_fails_the_handshake(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	tls_server_start(&srv);
	srv.implicit_tls = false;
	server_run(&srv, &cl, client_plaintext_after_starttls);
	tls_ctx_free(&srv.tls);
	assert_false(cl.flag);
	assert_int_equal(srv.res[0].got_tls_len, 0);
	assert_true(strncmp(srv.res[0].reason, "TLS handshake failed: ", 22) == 0);
}

static void client_flood(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 4096));
	if (cl->srv->implicit_tls)
		CHECK(cl, peer_tls(&p, TLS1_2_VERSION, TLS1_3_VERSION, NULL));
	CHECK(cl, peer_expect(&p, "HELLO"));
	CHECK(cl, peer_send(&p, "FLOOD\r\n"));
	/* ... and never read again, until the server gives up on us. */
	while (atomic_load(&cl->srv->closed) == 0)
		usleep(10000);
	peer_close(&p);
}

static void flood(bool tls)
{
	struct server srv = {0};
	struct client cl = {0};

	tls_server_start(&srv);
	srv.implicit_tls = tls;
	server_run(&srv, &cl, client_flood);
	tls_ctx_free(&srv.tls);
	assert_string_equal(srv.res[0].reason, "output limit exceeded");
	assert_true(srv.res[0].flood_written < FLOOD_TOTAL);
	assert_true(srv.res[0].peak_pending <= CONN_OUTPUT_LIMIT_DEFAULT);
}

static void test_client_not_reading_is_cut_off(void **state)
{
	(void)state;
	flood(false);
}

static void test_tls_client_not_reading_is_cut_off(void **state)
{
	(void)state;
	flood(true);
}

static void client_half_hello(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	/* A handshake record header announcing 512 bytes, and 2 of them. */
	CHECK(cl, send(p.fd, "\x16\x03\x01\x02\x00\x01\x00", 7, MSG_NOSIGNAL) == 7);
	peer_drain(cl, &p);
	peer_close(&p);
}

static void client_silent(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	peer_drain(cl, &p);
	peer_close(&p);
}

static void handshake_timeout(void (*fn)(struct client *))
{
	struct server srv = {0};
	struct client cl = {0};

	tls_server_start(&srv);
	srv.hs_timeout = 200;
	server_run(&srv, &cl, fn);
	tls_ctx_free(&srv.tls);
	assert_string_equal(srv.res[0].reason, "TLS handshake timeout");
	assert_true(srv.res[0].elapsed >= 200);
	assert_int_equal(cl.text_len, 0); /* the greeting never left in plaintext */
}

static void test_half_client_hello_hits_the_handshake_timeout(void **state)
{
	(void)state;
	handshake_timeout(client_half_hello);
}

static void test_silent_client_hits_the_handshake_timeout(void **state)
{
	(void)state;
	handshake_timeout(client_silent);
}

static void client_trickle(struct client *cl)
{
	struct peer p;
	struct pollfd pfd;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_expect(&p, "HELLO"));
	pfd = (struct pollfd){.fd = p.fd, .events = POLLIN};
	/* One byte every 20 ms, until the server speaks: the bytes must not delay the deadline. */
	do
		CHECK(cl, send(p.fd, "x", 1, MSG_NOSIGNAL) == 1);
	while (poll(&pfd, 1, 20) == 0);
	peer_drain(cl, &p);
	peer_close(&p);
}

static void test_idle_timeout_is_not_reset_by_trickled_bytes(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	server_start(&srv);
	srv.idle_timeout = 300;
	srv.goodbye_on_timeout = true;
	server_run(&srv, &cl, client_trickle);
	assert_string_equal(cl.text, "421 timeout\r\n");
	assert_string_equal(srv.res[0].reason, "timeout");
	assert_true(srv.res[0].elapsed >= 300);
	assert_true(srv.res[0].got_len >= 1);
}

static void test_idle_timeout_closes_by_default(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	server_start(&srv);
	srv.idle_timeout = 200;
	server_run(&srv, &cl, client_silent);
	assert_string_equal(cl.text, "HELLO\r\n");
	assert_string_equal(srv.res[0].reason, "timeout");
	assert_true(srv.res[0].elapsed >= 200);
}

static void test_on_timeout_can_rearm_the_deadline(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	server_start(&srv);
	srv.idle_timeout = 100;
	srv.goodbye_on_timeout = true;
	srv.rearm_once = true;
	server_run(&srv, &cl, client_silent);
	assert_string_equal(cl.text, "HELLO\r\nWAIT\r\n421 timeout\r\n");
	assert_string_equal(srv.res[0].reason, "timeout");
	assert_int_equal(srv.res[0].timeouts, 2);
	assert_true(srv.res[0].elapsed >= 200);
}

static void client_fill_and_stall(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 4096));
	CHECK(cl, peer_expect(&p, "HELLO"));
	CHECK(cl, peer_send(&p, "FILL\r\n"));
	while (atomic_load(&cl->srv->closed) == 0)
		usleep(10000);
	peer_close(&p);
}

static void test_close_with_flush_gives_up_on_a_client_not_reading(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	server_start(&srv);
	srv.output_limit = 2 * FLOOD_TOTAL;
	srv.flush_timeout = 200;
	server_run(&srv, &cl, client_fill_and_stall);
	assert_int_equal(srv.res[0].flood_written, FLOOD_TOTAL);
	assert_string_equal(srv.res[0].reason, "flush timeout");
	assert_true(srv.res[0].elapsed >= 200);
}

static void client_half_close(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_send(&p, "last\r\n"));
	CHECK(cl, shutdown(p.fd, SHUT_WR) == 0);
	peer_drain(cl, &p);
	peer_close(&p);
}

static void half_close(bool use_on_eof, const char *expect)
{
	struct server srv = {0};
	struct client cl = {0};

	server_start(&srv);
	srv.use_on_eof = use_on_eof;
	server_run(&srv, &cl, client_half_close);
	assert_string_equal(cl.text, expect);
	assert_string_equal(srv.res[0].reason, "connection closed by client");
}

static void test_half_close_still_gets_the_replies(void **state)
{
	(void)state;
	half_close(false, "HELLO\r\nlast\r\n");
}

static void test_half_close_lets_the_owner_finish(void **state)
{
	(void)state;
	half_close(true, "HELLO\r\nlast\r\nEOF\r\n");
}

static void client_pause(struct client *cl)
{
	struct peer p;
	int on = 1, off = 0;

	CHECK(cl, peer_connect(cl, &p, 0));
	if (cl->srv->implicit_tls)
		CHECK(cl, peer_tls(&p, TLS1_2_VERSION, TLS1_3_VERSION, NULL));
	CHECK(cl, peer_expect(&p, "HELLO"));
	/* Two lines (two TLS records) in one segment: the second arrives while paused. */
	(void)setsockopt(p.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	CHECK(cl, peer_send(&p, "PAUSE\r\n") && peer_send(&p, "MORE\r\n"));
	(void)setsockopt(p.fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
	CHECK(cl, peer_expect(&p, "PAUSED") && peer_expect(&p, "MORE"));
	CHECK(cl, peer_send(&p, "QUIT\r\n") && peer_expect(&p, "BYE"));
	peer_close(&p);
}

static void pause_resume(bool tls)
{
	struct server srv = {0};
	struct client cl = {0};

	tls_server_start(&srv);
	srv.implicit_tls = tls;
	server_run(&srv, &cl, client_pause);
	tls_ctx_free(&srv.tls);
	assert_false(srv.res[0].read_while_paused);
	assert_int_equal(srv.res[0].resumes, 1);
	assert_string_equal(srv.res[0].reason, "closed by server");
}

static void test_pause_holds_input_until_resume(void **state)
{
	(void)state;
	pause_resume(false);
}

static void test_pause_holds_decrypted_records_until_resume(void **state)
{
	(void)state;
	pause_resume(true);
}

static void client_reload(struct client *cl)
{
	struct peer old, fresh;

	CHECK(cl, peer_connect(cl, &old, 0));
	CHECK(cl,
	      peer_tls(&old, TLS1_2_VERSION, TLS1_3_VERSION, NULL) && peer_cn_is(&old, "a.test"));
	CHECK(cl, peer_expect(&old, "HELLO"));
	CHECK(cl, peer_send(&old, "RELOAD\r\n") && peer_expect(&old, "RELOADED"));
	CHECK(cl, peer_connect(cl, &fresh, 0));
	CHECK(cl, peer_tls(&fresh, TLS1_2_VERSION, TLS1_3_VERSION, NULL));
	CHECK(cl, peer_cn_is(&fresh, "b.test") && peer_expect(&fresh, "HELLO"));
	/* The connection begun on the old context still works after it was freed. */
	CHECK(cl, peer_send(&old, "still\r\n") && peer_expect(&old, "still"));
	CHECK(cl, peer_send(&fresh, "QUIT\r\n") && peer_expect(&fresh, "BYE"));
	CHECK(cl, peer_send(&old, "QUIT\r\n") && peer_expect(&old, "BYE"));
	peer_close(&fresh);
	peer_close(&old);
}

static void test_reload_keeps_open_connections_and_serves_the_new_cert(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	tls_server_start(&srv);
	server_run(&srv, &cl, client_reload);
	tls_ctx_free(&srv.tls);
	assert_int_equal(srv.nconn, 2);
}

static void client_renegotiate(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	CHECK(cl, peer_tls(&p, TLS1_2_VERSION, TLS1_2_VERSION, NULL));
	CHECK(cl, peer_expect(&p, "HELLO"));
	CHECK(cl, SSL_renegotiate(p.ssl) == 1);
	cl->flag = SSL_do_handshake(p.ssl) == 1;
	peer_close(&p);
}

static void test_client_renegotiation_is_refused(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	tls_server_start(&srv);
	server_run(&srv, &cl, client_renegotiate);
	tls_ctx_free(&srv.tls);
	assert_false(cl.flag);
	assert_int_equal(srv.res[0].tls_ready_calls, 1);
}

static void client_handshake_then_talk(struct client *cl)
{
	struct peer p;

	CHECK(cl, peer_connect(cl, &p, 0));
	if (peer_tls(&p, TLS1_3_VERSION, TLS1_3_VERSION, NULL))
		(void)peer_send(&p, "anyone?\r\n");
	peer_drain(cl, &p);
	peer_close(&p);
}

static void test_close_inside_on_tls_ready(void **state)
{
	struct server srv = {0};
	struct client cl = {0};

	(void)state;
	tls_server_start(&srv);
	srv.close_on_tls_ready = true;
	server_run(&srv, &cl, client_handshake_then_talk);
	tls_ctx_free(&srv.tls);
	assert_int_equal(srv.res[0].tls_ready_calls, 1);
	assert_int_equal(srv.res[0].got_len, 0);
	assert_string_equal(srv.res[0].reason, "closed by server");
}

/* ---- tls_ctx_load ---- */

static void assert_load_fails(const char *cert, const char *key, const char *expect)
{
	struct tls_ctx *ctx = (struct tls_ctx *)1;
	char error[512];

	assert_int_equal(tls_ctx_load(cert, key, &ctx, error, sizeof(error)), -1);
	assert_null(ctx);
	if (strstr(error, expect) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", error, expect);
}

static void test_tls_ctx_load_reports_one_clear_line(void **state)
{
	struct tls_ctx *ctx = NULL;
	char error[512];

	(void)state;
	assert_load_fails(cert_a, key_b, "key does not match certificate");
	assert_load_fails(cert_b, key_a, "key does not match certificate");
	assert_load_fails("/nonexistent/cert.pem", key_a,
	                  "tls.cert_file /nonexistent/cert.pem: No such file or directory");
	assert_load_fails(cert_a, "/nonexistent/key.pem",
	                  "tls.key_file /nonexistent/key.pem: No such file or directory");
	assert_load_fails(junk, key_a, "no usable PEM certificate");
	assert_load_fails(cert_a, junk, "no usable PEM private key");
	assert_int_equal(tls_ctx_load(cert_a, key_a, &ctx, error, sizeof(error)), 0);
	tls_ctx_free(&ctx);
	assert_null(ctx);
	tls_ctx_free(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plaintext_echo),
	    cmocka_unit_test(test_implicit_tls13_echo),
	    cmocka_unit_test(test_implicit_tls12_echo),
	    cmocka_unit_test(test_tls11_client_is_refused),
	    cmocka_unit_test(test_tls10_client_is_refused),
	    cmocka_unit_test(test_plaintext_on_a_tls_port_is_refused),
	    cmocka_unit_test(test_starttls_never_delivers_injected_plaintext),
	    cmocka_unit_test(test_plaintext_after_starttls_fails_the_handshake),
	    cmocka_unit_test(test_client_not_reading_is_cut_off),
	    cmocka_unit_test(test_tls_client_not_reading_is_cut_off),
	    cmocka_unit_test(test_half_client_hello_hits_the_handshake_timeout),
	    cmocka_unit_test(test_silent_client_hits_the_handshake_timeout),
	    cmocka_unit_test(test_idle_timeout_is_not_reset_by_trickled_bytes),
	    cmocka_unit_test(test_idle_timeout_closes_by_default),
	    cmocka_unit_test(test_on_timeout_can_rearm_the_deadline),
	    cmocka_unit_test(test_close_with_flush_gives_up_on_a_client_not_reading),
	    cmocka_unit_test(test_half_close_still_gets_the_replies),
	    cmocka_unit_test(test_half_close_lets_the_owner_finish),
	    cmocka_unit_test(test_pause_holds_input_until_resume),
	    cmocka_unit_test(test_pause_holds_decrypted_records_until_resume),
	    cmocka_unit_test(test_reload_keeps_open_connections_and_serves_the_new_cert),
	    cmocka_unit_test(test_client_renegotiation_is_refused),
	    cmocka_unit_test(test_close_inside_on_tls_ready),
	    cmocka_unit_test(test_tls_ctx_load_reports_one_clear_line),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test", true);
	return cmocka_run_group_tests(tests, harness_setup, harness_teardown);
}
