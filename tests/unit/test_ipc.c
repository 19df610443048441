/* IPC payloads, frame decoder and SEQPACKET transport, over real socketpairs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc_buf.h"
#include "ipc_frame.h"
#include "ipc_sock.h"

enum { T_PING = 1, T_MSG = 2, T_SMALL = 3, T_EMPTY = 4 };

static const struct ipc_type_info test_type_list[] = {
    {T_PING, 64, "ping"},
    {T_MSG, IPC_PAYLOAD_MAX, "msg"},
    {T_SMALL, 8, "small"},
    {T_EMPTY, 0, "empty"},
};
static const struct ipc_types test_types = {test_type_list,
                                            sizeof(test_type_list) / sizeof(test_type_list[0])};

/* A header with any field as the test wants it, bypassing ipc_frame_header_encode's checks. */
static void raw_header(uint8_t out[IPC_HEADER_SIZE], uint32_t magic, uint16_t type, uint16_t flags,
                       uint32_t id, uint32_t len)
{
	const uint32_t words[] = {magic, (uint32_t)type | (uint32_t)flags << 16, id, len};

	for (size_t w = 0; w < 4; w++) {
		for (size_t i = 0; i < 4; i++)
			out[w * 4 + i] = (uint8_t)(words[w] >> (8 * i));
	}
}

/* ---- payload writer and reader ---- */

static void test_every_type_round_trips(void **state)
{
	(void)state;
	struct ipc_wbuf w;
	struct ipc_rbuf r;
	char str[16];
	const uint8_t *p;

	ipc_wbuf_init(&w);
	ipc_put_u8(&w, 0xAB);
	ipc_put_u16(&w, 0xBEEF);
	ipc_put_u32(&w, 0xDEADBEEF);
	ipc_put_u64(&w, 0x0123456789ABCDEFull);
	ipc_put_i64(&w, INT64_MIN);
	ipc_put_i64(&w, -2);
	ipc_put_bool(&w, true);
	ipc_put_bool(&w, false);
	ipc_put_bytes(&w, "\0\1\2", 3);
	ipc_put_bytes(&w, NULL, 0);
	ipc_put_str(&w, "hello");
	ipc_put_str(&w, "");
	assert_false(w.failed);
	/* Little-endian on the wire, whatever the host. */
	assert_memory_equal(w.data, "\xAB\xEF\xBE\xEF\xBE\xAD\xDE", 7);

	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_u8(&r), 0xAB);
	assert_int_equal(ipc_get_u16(&r), 0xBEEF);
	assert_int_equal(ipc_get_u32(&r), 0xDEADBEEF);
	assert_true(ipc_get_u64(&r) == 0x0123456789ABCDEFull);
	assert_true(ipc_get_i64(&r) == INT64_MIN);
	assert_true(ipc_get_i64(&r) == -2);
	assert_true(ipc_get_bool(&r));
	assert_false(ipc_get_bool(&r));
	assert_int_equal(ipc_get_bytes_ref(&r, &p), 3);
	assert_memory_equal(p, "\0\1\2", 3);
	assert_int_equal(ipc_get_bytes_ref(&r, &p), 0);
	assert_non_null(p);
	assert_int_equal(ipc_get_str(&r, str, sizeof(str)), 1);
	assert_string_equal(str, "hello");
	assert_int_equal(ipc_get_str(&r, str, sizeof(str)), 1);
	assert_string_equal(str, "");
	assert_int_equal(ipc_rbuf_end(&r), 0);
	ipc_wbuf_free(&w);
	assert_null(w.data);
}

static void test_reading_past_the_end_fails(void **state)
{
	(void)state;
	const uint8_t in[3] = {1, 2, 3};
	struct ipc_rbuf r;
	const uint8_t *p;
	char str[8] = "x";

	ipc_rbuf_init(&r, in, sizeof(in));
	assert_int_equal(ipc_get_u16(&r), 0x0201);
	assert_int_equal(ipc_get_u16(&r), 0);
	assert_true(r.failed);
	/* Sticky: even the byte that is there is no longer read. */
	assert_int_equal(ipc_get_u8(&r), 0);
	assert_int_equal(ipc_get_u64(&r), 0);
	assert_int_equal(ipc_get_str(&r, str, sizeof(str)), -1);
	assert_string_equal(str, "");
	assert_int_equal(ipc_get_bytes_ref(&r, &p), 0);
	assert_null(p);
	assert_int_equal(r.pos, 2);
	assert_int_equal(ipc_rbuf_end(&r), -1);
}

static void test_length_claiming_more_than_is_left_fails(void **state)
{
	(void)state;
	struct ipc_wbuf w;
	struct ipc_rbuf r;
	const uint8_t *p;

	ipc_wbuf_init(&w);
	ipc_put_u32(&w, 0xFFFFFFF0u);
	ipc_put_u32(&w, 0);
	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_bytes_ref(&r, &p), 0);
	assert_null(p);
	assert_int_equal(ipc_rbuf_end(&r), -1);
	ipc_wbuf_free(&w);
}

static void test_trailing_bytes_fail_the_end_check(void **state)
{
	(void)state;
	const uint8_t in[5] = {1, 0, 0, 0, 9};
	struct ipc_rbuf r;

	ipc_rbuf_init(&r, in, sizeof(in));
	assert_int_equal(ipc_get_u32(&r), 1);
	assert_false(r.failed);
	assert_int_equal(ipc_rbuf_end(&r), -1);
	assert_int_equal(ipc_get_u8(&r), 9);
	assert_int_equal(ipc_rbuf_end(&r), 0);
}

static void test_string_too_long_for_the_buffer_fails(void **state)
{
	(void)state;
	struct ipc_wbuf w;
	struct ipc_rbuf r;
	char out[5] = "zzzz";

	ipc_wbuf_init(&w);
	ipc_put_str(&w, "abcde");
	/* Five bytes and a NUL need six. */
	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_str(&r, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(ipc_rbuf_end(&r), -1);

	char fits[6];
	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_str(&r, fits, sizeof(fits)), 1);
	assert_string_equal(fits, "abcde");
	assert_int_equal(ipc_rbuf_end(&r), 0);

	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_str(&r, NULL, 0), -1);
	assert_true(r.failed);
	ipc_wbuf_free(&w);
}

static void test_string_with_a_nul_byte_fails(void **state)
{
	(void)state;
	struct ipc_wbuf w;
	struct ipc_rbuf r;
	char out[16];

	ipc_wbuf_init(&w);
	ipc_put_bytes(&w, "ab\0cd", 5);
	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_str(&r, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(ipc_rbuf_end(&r), -1);
	ipc_wbuf_free(&w);
}

static void test_bool_other_than_0_or_1_fails(void **state)
{
	(void)state;
	const uint8_t in[1] = {2};
	struct ipc_rbuf r;

	ipc_rbuf_init(&r, in, sizeof(in));
	assert_false(ipc_get_bool(&r));
	assert_true(r.failed);
	assert_int_equal(ipc_rbuf_end(&r), -1);
}

static void test_null_string_is_not_the_empty_string(void **state)
{
	(void)state;
	struct ipc_wbuf w;
	struct ipc_rbuf r;
	char out[8] = "junk";
	const uint8_t *p;

	ipc_wbuf_init(&w);
	ipc_put_str(&w, NULL);
	ipc_put_str(&w, "");
	assert_int_equal(w.len, 8);
	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_str(&r, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(ipc_get_str(&r, out, sizeof(out)), 1);
	assert_int_equal(ipc_rbuf_end(&r), 0);

	/* Read as bytes, the NULL string's length cannot fit: malformed, not a huge read. */
	ipc_rbuf_init(&r, w.data, w.len);
	assert_int_equal(ipc_get_bytes_ref(&r, &p), 0);
	assert_int_equal(ipc_rbuf_end(&r), -1);
	ipc_wbuf_free(&w);
}

static void test_writer_fails_past_the_payload_limit_and_stays_failed(void **state)
{
	(void)state;
	struct ipc_wbuf w;
	uint8_t *big = calloc(1, IPC_PAYLOAD_MAX);

	assert_non_null(big);
	ipc_wbuf_init(&w);
	ipc_put_bytes(&w, big, IPC_PAYLOAD_MAX - 8);
	ipc_put_u32(&w, 1);
	assert_false(w.failed);
	assert_int_equal(w.len, IPC_PAYLOAD_MAX);
	ipc_put_u8(&w, 1);
	assert_true(w.failed);
	assert_int_equal(w.len, IPC_PAYLOAD_MAX);
	ipc_wbuf_free(&w);

	ipc_wbuf_init(&w);
	ipc_put_bytes(&w, big, IPC_PAYLOAD_MAX);
	assert_true(w.failed);
	ipc_put_u8(&w, 1);
	assert_int_equal(w.len, 0);
	ipc_wbuf_free(&w);
	free(big);
}

/* ---- frame decoder ---- */

static size_t build_frame(uint8_t *out, uint16_t type, uint32_t id, const char *payload)
{
	size_t len = strlen(payload);

	assert_int_equal(ipc_frame_header_encode(out, type, 0, id, (uint32_t)len), 0);
	memcpy(out + IPC_HEADER_SIZE, payload, len);
	return IPC_HEADER_SIZE + len;
}

/* Feeds in[0..len) in pieces of `step` bytes; returns the number of frames seen and checks them
 * against the two-frame stream of test_two_frames_decode_at_every_split. */
static int feed_pieces(struct ipc_decoder *d, const uint8_t *in, size_t len, size_t first)
{
	static const char *const want[] = {"first payload", ""};
	struct ipc_frame f;
	const char *error;
	size_t pos = 0, consumed;
	int frames = 0;

	while (pos < len) {
		size_t end = pos < first ? first : len;
		while (pos < end) {
			int ret = ipc_decoder_feed(d, in + pos, end - pos, &consumed, &f, &error);
			assert_int_not_equal(ret, -1);
			assert_true(consumed <= end - pos);
			pos += consumed;
			if (ret == 0) {
				assert_int_equal(pos, end);
				continue;
			}
			assert_true(frames < 2);
			assert_int_equal(f.type, frames == 0 ? T_PING : T_EMPTY);
			assert_int_equal(f.id, 100 + frames);
			assert_int_equal(f.len, strlen(want[frames]));
			assert_memory_equal(f.payload, want[frames], f.len);
			frames++;
		}
	}
	return frames;
}

static void test_two_frames_decode_at_every_split(void **state)
{
	(void)state;
	uint8_t stream[128];
	size_t len = build_frame(stream, T_PING, 100, "first payload");
	len += build_frame(stream + len, T_EMPTY, 101, "");

	for (size_t split = 1; split <= len; split++) {
		struct ipc_decoder *d = ipc_decoder_new(&test_types);
		assert_non_null(d);
		assert_int_equal(feed_pieces(d, stream, len, split), 2);
		ipc_decoder_free(&d);
		assert_null(d);
	}
}

static void test_frames_decode_one_byte_at_a_time(void **state)
{
	(void)state;
	uint8_t stream[128];
	size_t len = build_frame(stream, T_PING, 100, "first payload");
	len += build_frame(stream + len, T_EMPTY, 101, "");
	struct ipc_decoder *d = ipc_decoder_new(&test_types);
	struct ipc_frame f;
	const char *error;
	size_t consumed;
	int frames = 0;

	for (size_t i = 0; i < len; i++) {
		int ret = ipc_decoder_feed(d, stream + i, 1, &consumed, &f, &error);
		assert_int_equal(consumed, 1);
		/* A frame completes exactly on its last byte, not before. */
		bool last = i == 16 + 13 - 1 || i == len - 1;
		assert_int_equal(ret, last ? 1 : 0);
		frames += ret;
	}
	assert_int_equal(frames, 2);
	ipc_decoder_free(&d);
}

static void expect_header_refused(const uint8_t hdr[IPC_HEADER_SIZE], const char *why)
{
	struct ipc_decoder *d = ipc_decoder_new(&test_types);
	struct ipc_frame f;
	const char *error = NULL;
	size_t consumed;

	/* Fifteen bytes are not yet a header: nothing to judge. */
	assert_int_equal(ipc_decoder_feed(d, hdr, 15, &consumed, &f, &error), 0);
	assert_int_equal(consumed, 15);
	assert_int_equal(ipc_decoder_feed(d, hdr + 15, 1, &consumed, &f, &error), -1);
	assert_string_equal(error, why);
	/* Failed for good, even when fed a valid frame now. */
	uint8_t good[IPC_HEADER_SIZE];
	ipc_frame_header_encode(good, T_EMPTY, 0, 1, 0);
	error = NULL;
	assert_int_equal(ipc_decoder_feed(d, good, sizeof(good), &consumed, &f, &error), -1);
	assert_int_equal(consumed, 0);
	assert_string_equal(error, why);
	ipc_decoder_free(&d);
}

static void test_bad_magic_is_refused(void **state)
{
	(void)state;
	uint8_t hdr[IPC_HEADER_SIZE];

	raw_header(hdr, 0x4D4D0001u, T_PING, 0, 1, 0);
	expect_header_refused(hdr, "bad IPC magic");
}

static void test_other_version_is_refused(void **state)
{
	(void)state;
	uint8_t hdr[IPC_HEADER_SIZE];

	raw_header(hdr, IPC_MAGIC | (IPC_VERSION + 1), T_PING, 0, 1, 0);
	expect_header_refused(hdr, "IPC version mismatch");
}

static void test_unknown_type_is_refused(void **state)
{
	(void)state;
	uint8_t hdr[IPC_HEADER_SIZE];

	raw_header(hdr, IPC_MAGIC_VERSION, 99, 0, 1, 0);
	expect_header_refused(hdr, "unknown IPC frame type");
}

static void test_unknown_flag_bits_are_refused(void **state)
{
	(void)state;
	uint8_t hdr[IPC_HEADER_SIZE];

	raw_header(hdr, IPC_MAGIC_VERSION, T_PING, 0x0002, 1, 0);
	expect_header_refused(hdr, "unknown IPC frame flags");
	assert_int_equal(ipc_frame_header_encode(hdr, T_PING, 0x8000, 1, 0), -1);
}

static void test_length_over_the_type_limit_is_refused_before_the_payload(void **state)
{
	(void)state;
	uint8_t hdr[IPC_HEADER_SIZE];

	/* T_SMALL allows 8 bytes; the header alone is enough to refuse 9. */
	raw_header(hdr, IPC_MAGIC_VERSION, T_SMALL, 0, 1, 9);
	expect_header_refused(hdr, "IPC payload over the type's limit");
	raw_header(hdr, IPC_MAGIC_VERSION, T_MSG, 0, 1, IPC_PAYLOAD_MAX + 1);
	expect_header_refused(hdr, "IPC payload over the type's limit");
	raw_header(hdr, IPC_MAGIC_VERSION, T_MSG, 0, 1, UINT32_MAX);
	expect_header_refused(hdr, "IPC payload over the type's limit");
}

static void test_zero_length_payload_completes_with_the_header(void **state)
{
	(void)state;
	uint8_t hdr[IPC_HEADER_SIZE + 1];
	struct ipc_decoder *d = ipc_decoder_new(&test_types);
	struct ipc_frame f;
	const char *error;
	size_t consumed;

	ipc_frame_header_encode(hdr, T_EMPTY, IPC_FLAG_FD, 42, 0);
	hdr[IPC_HEADER_SIZE] = 0xEE; /* first byte of whatever comes next */
	assert_int_equal(ipc_decoder_feed(d, hdr, sizeof(hdr), &consumed, &f, &error), 1);
	assert_int_equal(consumed, IPC_HEADER_SIZE);
	assert_int_equal(f.type, T_EMPTY);
	assert_int_equal(f.flags, IPC_FLAG_FD);
	assert_int_equal(f.id, 42);
	assert_int_equal(f.len, 0);
	assert_non_null(f.payload);
	ipc_decoder_free(&d);
	ipc_decoder_free(&d);
}

static void test_bad_type_tables_are_refused(void **state)
{
	(void)state;
	const struct ipc_type_info twice[] = {{1, 8, "a"}, {2, 8, "b"}, {1, 8, "c"}};
	const struct ipc_type_info too_big[] = {{1, IPC_PAYLOAD_MAX + 1, "a"}};
	const struct ipc_type_info unnamed[] = {{1, 8, NULL}};
	const struct ipc_types bad[] = {{twice, 3}, {too_big, 1}, {unnamed, 1}};
	const char *error;

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ipc_types_check(&bad[i], &error), -1);
		errno = 0;
		assert_null(ipc_decoder_new(&bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(ipc_types_check(&test_types, &error), 0);
	assert_string_equal(ipc_types_find(&test_types, T_SMALL)->name, "small");
	assert_null(ipc_types_find(&test_types, 77));
}

/* ---- SEQPACKET transport ---- */

struct sock_fixture {
	int sv[2];
	uint8_t *buf;
};

static int sock_setup(void **state)
{
	struct sock_fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || ipc_sock_pair(fx->sv) < 0)
		return -1;
	fx->buf = malloc(IPC_RECV_BUF);
	if (fx->buf == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int sock_teardown(void **state)
{
	struct sock_fixture *fx = *state;

	if (fx->sv[0] >= 0)
		close(fx->sv[0]);
	if (fx->sv[1] >= 0)
		close(fx->sv[1]);
	free(fx->buf);
	free(fx);
	return 0;
}

static int count_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(dir);
	while (readdir(dir) != NULL)
		n++;
	closedir(dir);
	return n;
}

/* The number the kernel would give the next fd: the lowest free one. */
static int next_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void raw_send(int sock, const void *data, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(16 * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)len);
}

static int temp_file_with(const char *content)
{
	char path[] = "/tmp/test_ipc.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	return fd;
}

static void expect_ebadmsg(struct sock_fixture *fx, const char *why)
{
	struct ipc_frame f;
	const char *error = NULL;
	int fd = 1234;

	errno = 0;
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(fd, -1);
	assert_string_equal(error, why);
}

static void test_frame_crosses_a_socketpair(void **state)
{
	struct sock_fixture *fx = *state;
	struct ipc_frame f;
	const char *error;
	int fd;

	assert_int_equal(ipc_sock_send(fx->sv[0], T_PING, 7, "hello", 5, -1), 0);
	assert_int_equal(ipc_sock_send(fx->sv[0], T_EMPTY, 8, NULL, 0, -1), 0);
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), 1);
	assert_int_equal(f.type, T_PING);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.id, 7);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.payload, "hello", 5);
	assert_int_equal(fd, -1);
	/* One record, one frame: the second send did not run into the first. */
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), 1);
	assert_int_equal(f.type, T_EMPTY);
	assert_int_equal(f.id, 8);
	assert_int_equal(f.len, 0);
}

static void test_largest_frame_crosses_a_socketpair(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t *payload = malloc(IPC_PAYLOAD_MAX);
	struct ipc_frame f;
	const char *error;
	int fd;

	assert_non_null(payload);
	for (size_t i = 0; i < IPC_PAYLOAD_MAX; i++)
		payload[i] = (uint8_t)(i * 7);
	assert_int_equal(ipc_sock_send(fx->sv[0], T_MSG, 1, payload, IPC_PAYLOAD_MAX, -1), 0);
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), 1);
	assert_int_equal(f.len, IPC_PAYLOAD_MAX);
	assert_memory_equal(f.payload, payload, IPC_PAYLOAD_MAX);

	errno = 0;
	assert_int_equal(ipc_sock_send(fx->sv[0], T_MSG, 1, payload, IPC_PAYLOAD_MAX + 1, -1), -1);
	assert_int_equal(errno, EMSGSIZE);
	free(payload);
}

static void test_regular_file_travels_as_an_fd(void **state)
{
	struct sock_fixture *fx = *state;
	int file = temp_file_with("spooled message body\r\n");
	struct ipc_frame f;
	const char *error;
	int fd;
	char got[64];

	assert_int_equal(ipc_sock_send(fx->sv[0], T_PING, 9, "deliver", 7, file), 0);
	close(file);
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), 1);
	assert_int_equal(f.flags, IPC_FLAG_FD);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ssize_t n = pread(fd, got, sizeof(got) - 1, 0);
	assert_int_equal(n, 22);
	got[n] = '\0';
	assert_string_equal(got, "spooled message body\r\n");
	close(fd);
}

static void test_record_shorter_than_a_header_is_ebadmsg(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t hdr[IPC_HEADER_SIZE];

	ipc_frame_header_encode(hdr, T_EMPTY, 0, 1, 0);
	raw_send(fx->sv[0], hdr, IPC_HEADER_SIZE - 1, NULL, 0);
	expect_ebadmsg(fx, "IPC record shorter than a header");
}

static void test_header_length_other_than_the_record_is_ebadmsg(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t rec[IPC_HEADER_SIZE + 4] = {0};

	ipc_frame_header_encode(rec, T_PING, 0, 1, 5);
	raw_send(fx->sv[0], rec, sizeof(rec), NULL, 0);
	expect_ebadmsg(fx, "IPC header length is not the record's");
	ipc_frame_header_encode(rec, T_PING, 0, 1, 3);
	raw_send(fx->sv[0], rec, sizeof(rec), NULL, 0);
	expect_ebadmsg(fx, "IPC header length is not the record's");
}

static void test_header_refused_by_the_decoder_checks_is_ebadmsg(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t rec[IPC_HEADER_SIZE + 9] = {0};

	raw_header(rec, IPC_MAGIC_VERSION, T_SMALL, 0, 1, 9);
	raw_send(fx->sv[0], rec, sizeof(rec), NULL, 0);
	expect_ebadmsg(fx, "IPC payload over the type's limit");
	raw_header(rec, IPC_MAGIC_VERSION, 99, 0, 1, 0);
	raw_send(fx->sv[0], rec, IPC_HEADER_SIZE, NULL, 0);
	expect_ebadmsg(fx, "unknown IPC frame type");
}

static void test_record_larger_than_the_buffer_is_ebadmsg(void **state)
{
	struct sock_fixture *fx = *state;
	struct ipc_frame f;
	const char *error = NULL;
	int fd;

	assert_int_equal(ipc_sock_send(fx->sv[0], T_PING, 1, "0123456789", 10, -1), 0);
	errno = 0;
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_HEADER_SIZE + 9, &f, &fd, &error),
	    -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(error, "IPC record larger than the receive buffer");
	/* The rest of that record is gone: the next one starts clean. */
	assert_int_equal(ipc_sock_send(fx->sv[0], T_EMPTY, 2, NULL, 0, -1), 0);
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), 1);
	assert_int_equal(f.id, 2);
}

static void test_fd_without_the_flag_is_ebadmsg_and_closed(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t hdr[IPC_HEADER_SIZE];
	int file = temp_file_with("x");

	ipc_frame_header_encode(hdr, T_EMPTY, 0, 1, 0);
	raw_send(fx->sv[0], hdr, sizeof(hdr), &file, 1);
	close(file);
	int before = count_open_fds();
	int would_be = next_free_fd();
	expect_ebadmsg(fx, "fd with an IPC record without the fd flag");
	assert_int_equal(count_open_fds(), before);
	errno = 0;
	assert_int_equal(fcntl(would_be, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

static void test_flag_without_an_fd_is_ebadmsg(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t hdr[IPC_HEADER_SIZE];

	ipc_frame_header_encode(hdr, T_EMPTY, IPC_FLAG_FD, 1, 0);
	raw_send(fx->sv[0], hdr, sizeof(hdr), NULL, 0);
	expect_ebadmsg(fx, "IPC fd flag without an fd");
}

static void test_two_fds_are_ebadmsg_and_both_closed(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t hdr[IPC_HEADER_SIZE];
	int files[2] = {temp_file_with("a"), temp_file_with("b")};

	ipc_frame_header_encode(hdr, T_EMPTY, IPC_FLAG_FD, 1, 0);
	raw_send(fx->sv[0], hdr, sizeof(hdr), files, 2);
	close(files[0]);
	close(files[1]);
	int before = count_open_fds();
	expect_ebadmsg(fx, "more than one fd with an IPC record");
	assert_int_equal(count_open_fds(), before);
}

static void test_more_fds_than_we_take_are_ebadmsg_and_all_closed(void **state)
{
	struct sock_fixture *fx = *state;
	uint8_t hdr[IPC_HEADER_SIZE];
	int files[16];

	for (size_t i = 0; i < 16; i++)
		files[i] = temp_file_with("f");
	ipc_frame_header_encode(hdr, T_EMPTY, IPC_FLAG_FD, 1, 0);
	raw_send(fx->sv[0], hdr, sizeof(hdr), files, 16);
	for (size_t i = 0; i < 16; i++)
		close(files[i]);
	int before = count_open_fds();
	expect_ebadmsg(fx, "IPC record with too much control data");
	assert_int_equal(count_open_fds(), before);
}

static void test_peer_closing_reads_as_eof(void **state)
{
	struct sock_fixture *fx = *state;
	struct ipc_frame f;
	const char *error;
	int fd;

	assert_int_equal(ipc_sock_send(fx->sv[0], T_EMPTY, 1, NULL, 0, -1), 0);
	close(fx->sv[0]);
	fx->sv[0] = -1;
	/* What was sent before the close still arrives, then EOF. */
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), 1);
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), 0);
	assert_int_equal(fd, -1);
	errno = 0;
	assert_int_equal(ipc_sock_send(fx->sv[1], T_EMPTY, 1, NULL, 0, -1), -1);
	assert_int_equal(errno, EPIPE);
}

static void test_nonblocking_recv_with_nothing_ready_is_eagain(void **state)
{
	struct sock_fixture *fx = *state;
	struct ipc_frame f;
	const char *error;
	int fd;

	assert_int_equal(fcntl(fx->sv[1], F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	assert_int_equal(
	    ipc_sock_recv(fx->sv[1], &test_types, fx->buf, IPC_RECV_BUF, &f, &fd, &error), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_nonblocking_send_to_a_full_socket_is_eagain(void **state)
{
	struct sock_fixture *fx = *state;
	static uint8_t payload[64 * 1024];
	int sent = 0;

	assert_int_equal(fcntl(fx->sv[0], F_SETFL, O_NONBLOCK), 0);
	while (ipc_sock_send(fx->sv[0], T_MSG, 1, payload, sizeof(payload), -1) == 0)
		assert_true(++sent < 1000);
	assert_int_equal(errno, EAGAIN);
	assert_true(sent > 0);
}

#define SOCK_TEST(t) cmocka_unit_test_setup_teardown(t, sock_setup, sock_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type_round_trips),
	    cmocka_unit_test(test_reading_past_the_end_fails),
	    cmocka_unit_test(test_length_claiming_more_than_is_left_fails),
	    cmocka_unit_test(test_trailing_bytes_fail_the_end_check),
	    cmocka_unit_test(test_string_too_long_for_the_buffer_fails),
	    cmocka_unit_test(test_string_with_a_nul_byte_fails),
	    cmocka_unit_test(test_bool_other_than_0_or_1_fails),
	    cmocka_unit_test(test_null_string_is_not_the_empty_string),
	    cmocka_unit_test(test_writer_fails_past_the_payload_limit_and_stays_failed),
	    cmocka_unit_test(test_two_frames_decode_at_every_split),
	    cmocka_unit_test(test_frames_decode_one_byte_at_a_time),
	    cmocka_unit_test(test_bad_magic_is_refused),
	    cmocka_unit_test(test_other_version_is_refused),
	    cmocka_unit_test(test_unknown_type_is_refused),
	    cmocka_unit_test(test_unknown_flag_bits_are_refused),
	    cmocka_unit_test(test_length_over_the_type_limit_is_refused_before_the_payload),
	    cmocka_unit_test(test_zero_length_payload_completes_with_the_header),
	    cmocka_unit_test(test_bad_type_tables_are_refused),
	    SOCK_TEST(test_frame_crosses_a_socketpair),
	    SOCK_TEST(test_largest_frame_crosses_a_socketpair),
	    SOCK_TEST(test_regular_file_travels_as_an_fd),
	    SOCK_TEST(test_record_shorter_than_a_header_is_ebadmsg),
	    SOCK_TEST(test_header_length_other_than_the_record_is_ebadmsg),
	    SOCK_TEST(test_header_refused_by_the_decoder_checks_is_ebadmsg),
	    SOCK_TEST(test_record_larger_than_the_buffer_is_ebadmsg),
	    SOCK_TEST(test_fd_without_the_flag_is_ebadmsg_and_closed),
	    SOCK_TEST(test_flag_without_an_fd_is_ebadmsg),
	    SOCK_TEST(test_two_fds_are_ebadmsg_and_both_closed),
	    SOCK_TEST(test_more_fds_than_we_take_are_ebadmsg_and_all_closed),
	    SOCK_TEST(test_peer_closing_reads_as_eof),
	    SOCK_TEST(test_nonblocking_recv_with_nothing_ready_is_eagain),
	    SOCK_TEST(test_nonblocking_send_to_a_full_socket_is_eagain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
