#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "maildir_name.h"
#include "../core/fileio.h"
#include "mbox_file.h"
#include "mbox_uidlist.h"

/* A decimal number at *pp (at least one digit, no overflow), advancing *pp. */
static int ul_parse_u32(const char **pp, const char *end, uint32_t *value_r)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p == end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*pp = p;
	*value_r = (uint32_t)v;
	return 0;
}

static void ul_set_guid(struct mbox_uidlist *ul, const char *p, const char *end)
{
	size_t len = (size_t)(end - p);

	if (len >= sizeof(ul->guid))
		return;
	memcpy(ul->guid, p, len);
	ul->guid[len] = '\0';
}

/* "3 V<uidvalidity> N<nextuid> G<guid> ..." */
static int ul_parse_header_v3(struct mbox_uidlist *ul, const char *p, const char *end)
{
	while (p < end) {
		const char *tok_end = memchr(p, ' ', (size_t)(end - p));
		const char *v = p + 1;

		if (tok_end == NULL)
			tok_end = end;
		if (tok_end == p) {
			p++;
			continue;
		}
		if (*p == 'V' && (ul_parse_u32(&v, tok_end, &ul->uidvalidity) < 0 || v != tok_end))
			return -1;
		if (*p == 'N' && (ul_parse_u32(&v, tok_end, &ul->nextuid) < 0 || v != tok_end))
			return -1;
		if (*p == 'G')
			ul_set_guid(ul, v, tok_end);
		p = tok_end;
	}
	return 0;
}

static int ul_parse_header(struct mbox_uidlist *ul, const char *p, const char *end)
{
	if (end - p >= 2 && p[0] == '3' && p[1] == ' ') {
		ul->version = 3;
		if (ul_parse_header_v3(ul, p + 2, end) < 0)
			return -1;
	} else if (end - p >= 2 && p[0] == '1' && p[1] == ' ') {
		/* "1 <uidvalidity> <nextuid>" */
		ul->version = 1;
		p += 2;
		if (ul_parse_u32(&p, end, &ul->uidvalidity) < 0 || p == end || *p++ != ' ' ||
		    ul_parse_u32(&p, end, &ul->nextuid) < 0 || p != end)
			return -1;
	} else {
		return -1;
	}
	return ul->uidvalidity == 0 ? -1 : 0;
}

/* The file name of a record: version 3 "<uid> [<ext> ...] :<name>", version 1
   "<uid> <name>". NULL when the line is malformed. */
static const char *ul_record_name(unsigned version, const char *p, const char *end)
{
	if (p == end || *p != ' ')
		return NULL;
	while (p < end && *p == ' ')
		p++;
	if (version == 1)
		return p < end ? p : NULL;
	while (p < end && *p != ':') {
		/* An extension token: up to the next space. */
		while (p < end && *p != ' ')
			p++;
		while (p < end && *p == ' ')
			p++;
	}
	return p < end ? p + 1 : NULL;
}

static int ul_add(struct mbox_uidlist *ul, uint32_t uid, const char *base, size_t len)
{
	if (ul->count == SIZE_MAX / 2)
		return -1;
	if (ul->count % 1024 == 0) {
		struct mbox_uidlist_entry *e =
		    realloc(ul->entries, (ul->count + 1024) * sizeof(*ul->entries));

		if (e == NULL)
			return -1;
		ul->entries = e;
	}
	ul->entries[ul->count].base = strndup(base, len);
	if (ul->entries[ul->count].base == NULL)
		return -1;
	ul->entries[ul->count].uid = uid;
	ul->count++;
	return 0;
}

/* One record line; a bad one is skipped (a stray line must not cost the folder its UIDs). */
static int ul_parse_record(struct mbox_uidlist *ul, const char *p, const char *end)
{
	struct maildir_name_info info;
	const char *name, *colon;
	char base[MAILDIR_NAME_MAX];
	uint32_t uid;
	size_t len;

	if (ul_parse_u32(&p, end, &uid) < 0 || uid == 0)
		return 0;
	if (ul->count > 0 && uid <= ul->entries[ul->count - 1].uid)
		return 0;
	name = ul_record_name(ul->version, p, end);
	if (name == NULL)
		return 0;
	colon = memchr(name, ':', (size_t)(end - name));
	len = (size_t)((colon != NULL ? colon : end) - name);
	if (len == 0 || len >= sizeof(base))
		return 0;
	memcpy(base, name, len);
	base[len] = '\0';
	if (maildir_name_parse(base, &info) == 0 || memchr(base, ' ', len) != NULL)
		return 0;
	return ul_add(ul, uid, base, len);
}

static int ul_parse(struct mbox_uidlist *ul, const char *buf, size_t len)
{
	const char *end = buf + len, *nl = memchr(buf, '\n', len);

	if (nl == NULL || ul_parse_header(ul, buf, nl) < 0)
		return -1;
	ul->size = (uint64_t)(nl + 1 - buf);
	for (const char *p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break; /* torn by a crash: ignored, cut off by the next append */
		ul->lines++;
		ul->size = (uint64_t)(nl + 1 - buf);
		if (ul_parse_record(ul, p, nl) < 0)
			return -2;
	}
	if (ul->count > 0 && ul->nextuid <= ul->entries[ul->count - 1].uid)
		ul->nextuid = ul->entries[ul->count - 1].uid + 1;
	if (ul->nextuid == 0)
		ul->nextuid = 1;
	return 0;
}

int mbox_uidlist_read(int dir_fd, const char *file, struct mbox_uidlist *ul_r, const char **error_r)
{
	struct stat st;
	char *buf;
	size_t len;
	int ret;

	memset(ul_r, 0, sizeof(*ul_r));
	ret = mbox_file_read(dir_fd, file, MBOX_UIDLIST_MAX_SIZE, &buf, &len, &st);
	if (ret <= 0) {
		if (ret < 0)
			*error_r = strerror(errno);
		return ret;
	}
	ul_r->ino = (uint64_t)st.st_ino;
	ret = ul_parse(ul_r, buf, len);
	free(buf);
	if (ret < 0) {
		*error_r = ret == -2 ? "out of memory" : "malformed header line";
		mbox_uidlist_clear(ul_r);
		return -1;
	}
	return 1;
}

void mbox_uidlist_clear(struct mbox_uidlist *ul)
{
	for (size_t i = 0; i < ul->count; i++)
		free(ul->entries[i].base);
	free(ul->entries);
	ul->entries = NULL;
	ul->count = 0;
}

/* The records as text, one "<uid> :<base>\n" each, after an optional header. */
static char *ul_format(const char *header, const struct mbox_uidlist_entry *e, size_t count,
                       size_t *len_r)
{
	size_t cap = strlen(header) + 1, len = 0;
	char *buf;

	for (size_t i = 0; i < count; i++)
		cap += strlen(e[i].base) + 14;
	buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	len = (size_t)snprintf(buf, cap, "%s", header);
	for (size_t i = 0; i < count; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%u :%s\n", e[i].uid, e[i].base);
	*len_r = len;
	return buf;
}

static void ul_make_guid(struct mbox_uidlist *ul)
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		/* Only a label for tools: uniqueness is nice to have, not relied on. */
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)(rand() & 0xff);
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(ul->guid + 2 * i, 3, "%02x", raw[i]);
}

int mbox_uidlist_write(int dir_fd, struct mbox_uidlist *ul, const char **error_r)
{
	char header[128];
	struct stat st;
	size_t len;
	char *buf;
	int ret;

	if (ul->guid[0] == '\0')
		ul_make_guid(ul);
	snprintf(header, sizeof(header), "3 V%u N%u G%s\n", ul->uidvalidity, ul->nextuid, ul->guid);
	buf = ul_format(header, ul->entries, ul->count, &len);
	if (buf == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	ret = mbox_file_replace(dir_fd, MBOX_UIDLIST_FILE, buf, len, &st);
	free(buf);
	if (ret < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	ul->version = 3;
	ul->ino = (uint64_t)st.st_ino;
	ul->size = len;
	ul->lines = ul->count;
	return 0;
}

static int ul_append_fd(int fd, struct mbox_uidlist *ul, const char *buf, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if ((uint64_t)st.st_ino != ul->ino || (uint64_t)st.st_size < ul->size) {
		/* Replaced or cut by someone else since the caller looked. */
		errno = ESTALE;
		return -1;
	}
	if ((uint64_t)st.st_size > ul->size && ftruncate(fd, (off_t)ul->size) < 0)
		return -1;
	/* O_APPEND and one write: a crash tears at most this last line. */
	if (fd_write_all(fd, buf, len) < 0 || fdatasync(fd) < 0)
		return -1;
	return 0;
}

int mbox_uidlist_append(int dir_fd, struct mbox_uidlist *ul,
                        const struct mbox_uidlist_entry *entries, size_t count,
                        const char **error_r)
{
	size_t len;
	char *buf;
	int fd, ret, err;

	if (count == 0)
		return 0;
	buf = ul_format("", entries, count, &len);
	if (buf == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	fd = openat(dir_fd, MBOX_UIDLIST_FILE, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	ret = fd < 0 ? -1 : ul_append_fd(fd, ul, buf, len);
	err = errno;
	if (fd >= 0)
		(void)close(fd);
	free(buf);
	if (ret < 0) {
		*error_r = strerror(err);
		return -1;
	}
	ul->size += len;
	ul->lines += count;
	return 0;
}

ssize_t mbox_uidlist_find(const struct mbox_uidlist *ul, uint32_t uid)
{
	size_t lo = 0, hi = ul->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ul->entries[mid].uid == uid)
			return (ssize_t)mid;
		if (ul->entries[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
