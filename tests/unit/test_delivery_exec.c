#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "delivery_exec.h"
#include "maildir_create.h"

#define HOST "mx.example.org"

/* A tmpfs mounted by the running test: teardown unmounts it even after a failed assertion. */
static char test_mount[64];

/* ----- helpers: real files in a mkdtemp directory ----- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup_root(void **state)
{
	char *root = strdup("/tmp/delivery-exec-XXXXXX");

	if (root == NULL || mkdtemp(root) == NULL)
		return -1;
	*state = root;
	return 0;
}

static int teardown_root(void **state)
{
	if (test_mount[0] != '\0') {
		(void)umount2(test_mount, MNT_DETACH);
		(void)rmdir(test_mount);
		test_mount[0] = '\0';
	}
	rm_rf(*state);
	free(*state);
	return 0;
}

static void make_box(const char *root, const char *name, char *out, size_t size)
{
	const char *error = NULL;

	snprintf(out, size, "%s/%s", root, name);
	assert_int_equal(maildir_create(out, &error), 0);
}

/* A CRLF message of exactly len bytes (len >= 32). */
static uint8_t *make_message(size_t len)
{
	static const char head[] = "Subject: test\r\n\r\n";
	uint8_t *msg = malloc(len);

	assert_non_null(msg);
	memcpy(msg, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1; i < len; i++)
		msg[i] = (i % 72 == 70) ? '\r' : (i % 72 == 71) ? '\n' : (uint8_t)('a' + i % 26);
	msg[len - 2] = '\r';
	msg[len - 1] = '\n';
	return msg;
}

/* An unlinked spool file holding msg, as smtp passes it. */
static int make_spool(const char *root, const void *msg, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/spool-XXXXXX", root);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, msg, len), (ssize_t)len);
	return fd;
}

static size_t count_files(const char *box, const char *sub)
{
	char path[1024];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", box, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The contents of every file in <box>/new (NUL-terminated), up to max; returns how many. */
static size_t read_new(const char *box, char **out, size_t max)
{
	char dir[1024], path[1400];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/new", box);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < max) {
		struct stat st;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		out[n] = calloc(1, (size_t)st.st_size + 1);
		assert_non_null(out[n]);
		assert_int_equal(read(fd, out[n], (size_t)st.st_size), st.st_size);
		close(fd);
		n++;
	}
	closedir(d);
	return n;
}

static void free_all(char **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(files[i]);
}

/* The one file in <box>/new is exactly prepend + msg. */
static void assert_only_file(const char *box, const char *prepend, const uint8_t *msg,
			     size_t len)
{
	char *files[4];
	size_t plen = strlen(prepend);

	assert_int_equal(read_new(box, files, 4), 1);
	assert_int_equal(strlen(files[0]), plen + len);
	assert_memory_equal(files[0], prepend, plen);
	assert_memory_equal(files[0] + plen, msg, len);
	assert_int_equal(count_files(box, "tmp"), 0);
	free_all(files, 1);
}

static struct delivery_request make_request(const char *sender, const struct delivery_rcpt *r,
					    size_t count)
{
	struct delivery_request req = {
		.sender = sender,
		.rcpts = r,
		.count = count,
		.strategy = MAILDIR_STRATEGY_LINK,
		.hostname = HOST,
	};

	return req;
}

static void assert_result(const struct delivery_result *res, enum delivery_status status,
			  const char *dsn)
{
	if (res->status != status || strcmp(res->dsn, dsn) != 0)
		print_message("result: %d %s %s\n", res->status, res->dsn, res->text);
	assert_int_equal(res->status, status);
	assert_string_equal(res->dsn, dsn);
}

/* Sum of the usage lines of <box>/maildirsize; count_r gets the message count. */
static int64_t maildirsize_bytes(const char *box, int64_t *count_r, char *limit_line,
				 size_t size)
{
	char path[1024], line[128];
	int64_t bytes = 0, count = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/maildirsize", box);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(limit_line, (int)size, f));
	while (fgets(line, sizeof(line), f) != NULL) {
		long long b, c;

		assert_int_equal(sscanf(line, "%lld %lld", &b, &c), 2);
		bytes += b;
		count += c;
	}
	fclose(f);
	*count_r = count;
	return bytes;
}

/* ----- delivery ----- */

static void test_one_recipient_gets_return_path_delivered_to_and_the_exact_bytes(void **state)
{
	const char *pre = "Return-Path: <alice@example.net>\r\nDelivered-To: bob@example.org\r\n";
	size_t len = 5000;
	uint8_t *msg = make_message(len);
	char box[512];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "" };
	struct delivery_request req = make_request("alice@example.net", &r, 1);
	struct delivery_result res;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, len);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_result(&res, DELIVERY_OK, "2.0.0");
	assert_string_equal(res.text, "delivered to maildir INBOX");
	assert_string_equal(res.folder, "");
	assert_int_equal(res.size, strlen(pre) + len);
	assert_false(res.duplicate);
	assert_string_equal(res.warning, "");
	assert_only_file(box, pre, msg, len);
	/* The spool fd stays ours, its position untouched. */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)len);
	close(fd);
	free(msg);
}

static void test_three_recipients_each_get_their_own_delivered_to(void **state)
{
	static const char *const names[3] = { "a", "b", "c" };
	size_t len = 70000;
	uint8_t *msg = make_message(len);
	char boxes[3][512], addr[3][64], pre[256];
	struct delivery_rcpt r[3];
	struct delivery_result res[3];
	struct delivery_request req;
	int fd = make_spool(*state, msg, len);

	for (size_t i = 0; i < 3; i++) {
		make_box(*state, names[i], boxes[i], sizeof(boxes[i]));
		snprintf(addr[i], sizeof(addr[i]), "%s@example.org", names[i]);
		r[i] = (struct delivery_rcpt){ addr[i], boxes[i], 0, NULL };
	}
	req = make_request("alice@example.net", r, 3);
	assert_int_equal(delivery_exec(fd, &req, res), 1);
	for (size_t i = 0; i < 3; i++) {
		assert_result(&res[i], DELIVERY_OK, "2.0.0");
		snprintf(pre, sizeof(pre),
			 "Return-Path: <alice@example.net>\r\nDelivered-To: %s\r\n", addr[i]);
		assert_only_file(boxes[i], pre, msg, len);
	}
	close(fd);
	free(msg);
}

static void test_null_sender_gets_an_empty_return_path(void **state)
{
	const uint8_t msg[] = "Subject: bounce\r\n\r\nreport\r\n";
	char box[512];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "" };
	struct delivery_request req = make_request("", &r, 1);
	struct delivery_result res;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_only_file(box, "Return-Path: <>\r\nDelivered-To: bob@example.org\r\n", msg,
			 sizeof(msg) - 1);
	close(fd);
}

/* An alias expanding to bob twice, or bob and his alias: one Maildir, one copy. */
static void test_duplicate_recipient_is_delivered_once(void **state)
{
	const uint8_t msg[] = "Subject: twice\r\n\r\nbody\r\n";
	char box[512];
	struct delivery_rcpt r[3] = { { "bob@example.org", box, 0, "" },
				      { "bob@example.org", box, 0, "INBOX" },
				      { "robert@example.org", box, 0, NULL } };
	struct delivery_request req = make_request("a@example.net", r, 3);
	struct delivery_result res[3];
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, res), 1);
	assert_false(res[0].duplicate);
	for (size_t i = 0; i < 3; i++) {
		assert_result(&res[i], DELIVERY_OK, "2.0.0");
		assert_string_equal(res[i].text, "delivered to maildir INBOX");
	}
	assert_true(res[1].duplicate && res[2].duplicate);
	assert_only_file(box, "Return-Path: <a@example.net>\r\nDelivered-To: bob@example.org\r\n",
			 msg, sizeof(msg) - 1);
	close(fd);
}

static void test_folder_delivery_goes_into_dot_junk(void **state)
{
	const uint8_t msg[] = "Subject: spam\r\n\r\nbuy\r\n";
	char box[512], junk[600];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "Junk" };
	struct delivery_request req = make_request("s@example.net", &r, 1);
	struct delivery_result res;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	snprintf(junk, sizeof(junk), "%s/.Junk", box);
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_result(&res, DELIVERY_OK, "2.0.0");
	assert_string_equal(res.text, "delivered to maildir Junk");
	assert_string_equal(res.folder, "Junk");
	assert_int_equal(count_files(box, "new"), 0);
	assert_only_file(junk, "Return-Path: <s@example.net>\r\nDelivered-To: bob@example.org\r\n",
			 msg, sizeof(msg) - 1);
	close(fd);
}

static void test_missing_folder_falls_back_to_inbox(void **state)
{
	const uint8_t msg[] = "Subject: list\r\n\r\nhi\r\n";
	char box[512];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "Lists.gone" };
	struct delivery_request req = make_request("l@example.net", &r, 1);
	struct delivery_result res;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_result(&res, DELIVERY_OK, "2.0.0");
	assert_string_equal(res.text, "delivered to maildir INBOX");
	assert_string_equal(res.folder, "");
	assert_int_equal(count_files(box, "new"), 1);
	close(fd);
}

static void test_invalid_folder_names_fail_permanently(void **state)
{
	static const char *const bad[] = { "../etc", ".Junk", "a/b", "a..b", "Junk.", "bad\xff",
					   "ctl\x01", "\xc0\xaf", "cr\rlf" };
	const uint8_t msg[] = "Subject: x\r\n\r\nx\r\n";
	char box[512];
	struct delivery_rcpt r[2] = { { "bob@example.org", box, 0, NULL },
				      { "bob@example.org", box, 0, "Entw\xc3\xbcrfe" } };
	struct delivery_request req = make_request("a@example.net", r, 2);
	struct delivery_result res[2];
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r[0].folder = bad[i];
		assert_int_equal(delivery_exec(fd, &req, res), 0);
		assert_result(&res[0], DELIVERY_PERMFAIL, "5.3.0");
		/* A UTF-8 name is valid; missing, it falls back to INBOX. */
		assert_result(&res[1], DELIVERY_OK, "2.0.0");
	}
	assert_int_equal(count_files(box, "new"), sizeof(bad) / sizeof(bad[0]));
	close(fd);
}

/* ----- quota ----- */

/* Non-inclusive: below the limit, a message is accepted whatever its size; the next one is
   refused, and nothing is written for it. */
static void test_quota_below_limit_accepts_a_message_that_goes_over(void **state)
{
	size_t len = 5000;
	uint8_t *msg = make_message(len);
	char box[512];
	struct delivery_rcpt r = { "bob@example.org", box, 100, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	size_t before;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, len);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_result(&res, DELIVERY_OK, "2.0.0");
	/* 0 -> 5000+ of 100 crossed 90 %: the message and the warning. */
	assert_true(res.quota_warned);
	before = count_files(box, "new");
	assert_int_equal(before, 2);
	/* Now over the limit. */
	assert_int_equal(delivery_exec(fd, &req, &res), 0);
	assert_result(&res, DELIVERY_TEMPFAIL, "4.2.2");
	assert_string_equal(res.text, "mailbox full");
	assert_int_equal(res.size, 0);
	assert_int_equal(count_files(box, "new"), before);
	assert_int_equal(count_files(box, "tmp"), 0);
	close(fd);
	free(msg);
}

static void test_quota_exactly_at_limit_refuses_and_trash_is_exempt(void **state)
{
	const uint8_t msg[] = "Subject: x\r\n\r\nfill\r\n";
	char box[512], trash[600];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	/* Usage is now exactly res.size: a quota of that size is reached. */
	r.quota_bytes = res.size;
	assert_int_equal(delivery_exec(fd, &req, &res), 0);
	assert_result(&res, DELIVERY_TEMPFAIL, "4.2.2");
	assert_int_equal(count_files(box, "new"), 1);
	/* Trash does not count, so delivering into it is never refused. */
	r.folder = "Trash";
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	snprintf(trash, sizeof(trash), "%s/.Trash", box);
	assert_int_equal(count_files(trash, "new"), 1);
	close(fd);
}

static void test_maildirsize_counts_every_delivery(void **state)
{
	size_t len = 3000;
	uint8_t *msg = make_message(len);
	char box[512], limit[64];
	struct delivery_rcpt r = { "bob@example.org", box, 1000000, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	int64_t count;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, len);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_int_equal(maildirsize_bytes(box, &count, limit, sizeof(limit)), (int64_t)res.size);
	assert_string_equal(limit, "1000000S,0C\n");
	assert_int_equal(count, 1);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_int_equal(maildirsize_bytes(box, &count, limit, sizeof(limit)),
			 2 * (int64_t)res.size);
	assert_int_equal(count, 2);
	close(fd);
	free(msg);
}

static size_t count_warnings(const char *box)
{
	char *files[8];
	size_t n = read_new(box, files, 8), warnings = 0;

	for (size_t i = 0; i < n; i++) {
		if (strstr(files[i], "\r\nSubject: Your mailbox is 90% full\r\n") == NULL)
			continue;
		warnings++;
		assert_non_null(strstr(files[i], "Return-Path: <>\r\n"));
		assert_non_null(strstr(
			files[i], "\r\nFrom: Mail Delivery System <MAILER-DAEMON@" HOST ">\r\n"));
		assert_non_null(strstr(files[i], "\r\nTo: <bob@example.org>\r\n"));
		assert_non_null(strstr(files[i], "\r\nMessage-ID: <"));
		assert_non_null(strstr(files[i], "\r\nDate: "));
		assert_non_null(strstr(files[i], "of its 19.5 KiB quota"));
	}
	free_all(files, n);
	return warnings;
}

static void deliver_size(void **state, const char *box, size_t len, bool warned)
{
	uint8_t *msg = make_message(len);
	struct delivery_rcpt r = { "bob@example.org", box, 20000, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	int fd = make_spool(*state, msg, len);

	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_result(&res, DELIVERY_OK, "2.0.0");
	assert_int_equal(res.quota_warned, warned);
	close(fd);
	free(msg);
}

static void test_quota_warning_is_delivered_once_when_crossing_90_percent(void **state)
{
	char box[512];

	make_box(*state, "bob", box, sizeof(box));
	deliver_size(state, box, 17000, false); /* 85 % */
	assert_int_equal(count_warnings(box), 0);
	deliver_size(state, box, 1200, true); /* 91 %: crossed */
	assert_int_equal(count_files(box, "new"), 3);
	assert_int_equal(count_warnings(box), 1);
	deliver_size(state, box, 100, false); /* still above: no second warning */
	assert_int_equal(count_files(box, "new"), 4);
	assert_int_equal(count_warnings(box), 1);
}

static void test_quota_check_at_rcpt_time(void **state)
{
	const uint8_t msg[] = "Subject: x\r\n\r\nfill\r\n";
	char box[512], missing[512];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	const char *error = NULL;
	uint64_t usage = 1;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	snprintf(missing, sizeof(missing), "%s/nobody", (const char *)*state);
	assert_int_equal(delivery_quota_check(box, 0, 10, &usage, &error), DELIVERY_QUOTA_ACCEPT);
	assert_int_equal(usage, 0);
	assert_int_equal(delivery_quota_check(missing, 100, 10, &usage, &error),
			 DELIVERY_QUOTA_ACCEPT);
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	assert_int_equal(delivery_quota_check(box, res.size + 1, 1000, &usage, &error),
			 DELIVERY_QUOTA_ACCEPT);
	assert_int_equal(usage, res.size);
	assert_int_equal(delivery_quota_check(box, res.size, 0, &usage, &error),
			 DELIVERY_QUOTA_OVER);
	close(fd);
}

/* ----- failures ----- */

static void test_missing_maildir_is_created_and_delivered(void **state)
{
	const uint8_t msg[] = "Subject: first\r\n\r\nhello\r\n";
	char box[512], junk[600];
	struct delivery_rcpt r[2] = { { "new@example.org", box, 1000000, "" },
				      { "new@example.org", box, 1000000, "Junk" } };
	struct delivery_request req = make_request("a@example.net", r, 2);
	struct delivery_result res[2];
	struct stat st;
	int fd;

	snprintf(box, sizeof(box), "%s/example.org/4f/new", (const char *)*state);
	snprintf(junk, sizeof(junk), "%s/.Junk", box);
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, res), 1);
	assert_result(&res[0], DELIVERY_OK, "2.0.0");
	assert_result(&res[1], DELIVERY_OK, "2.0.0");
	assert_string_equal(res[1].folder, "Junk");
	assert_string_equal(res[0].warning, "");
	assert_only_file(box, "Return-Path: <a@example.net>\r\nDelivered-To: new@example.org\r\n",
			 msg, sizeof(msg) - 1);
	assert_only_file(junk, "Return-Path: <a@example.net>\r\nDelivered-To: new@example.org\r\n",
			 msg, sizeof(msg) - 1);
	snprintf(junk, sizeof(junk), "%s/.Sent/cur", box);
	assert_int_equal(stat(junk, &st), 0);
	close(fd);
}

static void test_crlf_in_an_address_fails_permanently_and_writes_nothing(void **state)
{
	const uint8_t msg[] = "Subject: x\r\n\r\nx\r\n";
	char box[512], good[512];
	struct delivery_rcpt r[3] = { { "bob@example.org\r\nX-Evil: 1", box, 0, "" },
				      { "bob@example.org\nBcc: x", box, 0, "Junk" },
				      { "carol@example.org", good, 0, "" } };
	struct delivery_request req = make_request("a@example.net", r, 3);
	struct delivery_result res[3];
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	make_box(*state, "carol", good, sizeof(good));
	fd = make_spool(*state, msg, sizeof(msg) - 1);
	assert_int_equal(delivery_exec(fd, &req, res), 0);
	assert_result(&res[0], DELIVERY_PERMFAIL, "5.1.3");
	assert_result(&res[1], DELIVERY_PERMFAIL, "5.1.3");
	assert_result(&res[2], DELIVERY_OK, "2.0.0");
	assert_int_equal(count_files(box, "new"), 0);
	/* A bad sender fails every recipient. */
	req.sender = "a@example.net\r\nX-Evil: 1";
	req.rcpts = &r[2];
	req.count = 1;
	assert_int_equal(delivery_exec(fd, &req, res), 0);
	assert_result(&res[0], DELIVERY_PERMFAIL, "5.1.7");
	assert_int_equal(count_files(good, "new"), 1);
	close(fd);
}

static void test_message_over_the_size_limit_fails_permanently(void **state)
{
	size_t len = 2000;
	uint8_t *msg = make_message(len);
	char box[512];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	int fd;

	make_box(*state, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, len);
	req.max_size = len - 1;
	assert_int_equal(delivery_exec(fd, &req, &res), 0);
	assert_result(&res, DELIVERY_PERMFAIL, "5.3.4");
	req.max_size = len;
	assert_int_equal(delivery_exec(fd, &req, &res), 1);
	close(fd);
	free(msg);
}

static void test_relative_maildir_is_a_temporary_failure(void **state)
{
	const uint8_t msg[] = "Subject: x\r\n\r\nx\r\n";
	struct delivery_rcpt r = { "bob@example.org", "var/vmail/bob", 0, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	int fd = make_spool(*state, msg, sizeof(msg) - 1);

	assert_int_equal(delivery_exec(fd, &req, &res), 0);
	assert_result(&res, DELIVERY_TEMPFAIL, "4.3.0");
	req.count = 0;
	assert_int_equal(delivery_exec(fd, &req, &res), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

/* A full file system (a real small tmpfs): 4.3.1, and neither tmp/ nor new/ keeps anything. */
static void test_full_filesystem_defers_with_431_and_leaves_nothing(void **state)
{
	char dir[] = "/tmp/delivery-full-XXXXXX";
	size_t len = 100 * 1024;
	uint8_t *msg = make_message(len);
	char box[512];
	struct delivery_rcpt r = { "bob@example.org", box, 0, "" };
	struct delivery_request req = make_request("a@example.net", &r, 1);
	struct delivery_result res;
	int fd;

	if (geteuid() != 0) {
		print_message("skipped: mounting a tmpfs needs root\n");
		free(msg);
		return;
	}
	assert_non_null(mkdtemp(dir));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0) {
		print_message("skipped: mount tmpfs: %s\n", strerror(errno));
		rmdir(dir);
		free(msg);
		return;
	}
	snprintf(test_mount, sizeof(test_mount), "%s", dir);
	make_box(dir, "bob", box, sizeof(box));
	fd = make_spool(*state, msg, len);
	assert_int_equal(delivery_exec(fd, &req, &res), 0);
	assert_result(&res, DELIVERY_TEMPFAIL, "4.3.1");
	assert_string_equal(res.text, "insufficient system storage");
	assert_int_equal(count_files(box, "tmp"), 0);
	assert_int_equal(count_files(box, "new"), 0);
	close(fd);
	free(msg);
	test_mount[0] = '\0';
	assert_int_equal(umount2(dir, MNT_DETACH), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_root, teardown_root)
		T(test_one_recipient_gets_return_path_delivered_to_and_the_exact_bytes),
		T(test_three_recipients_each_get_their_own_delivered_to),
		T(test_null_sender_gets_an_empty_return_path),
		T(test_duplicate_recipient_is_delivered_once),
		T(test_folder_delivery_goes_into_dot_junk),
		T(test_missing_folder_falls_back_to_inbox),
		T(test_invalid_folder_names_fail_permanently),
		T(test_quota_below_limit_accepts_a_message_that_goes_over),
		T(test_quota_exactly_at_limit_refuses_and_trash_is_exempt),
		T(test_maildirsize_counts_every_delivery),
		T(test_quota_warning_is_delivered_once_when_crossing_90_percent),
		T(test_quota_check_at_rcpt_time),
		T(test_missing_maildir_is_created_and_delivered),
		T(test_crlf_in_an_address_fails_permanently_and_writes_nothing),
		T(test_message_over_the_size_limit_fails_permanently),
		T(test_relative_maildir_is_a_temporary_failure),
		T(test_full_filesystem_defers_with_431_and_leaves_nothing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
