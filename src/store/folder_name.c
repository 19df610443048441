/* Folder names: UTF-8 <-> Maildir++ directory, with every check a path needs. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../core/utf8.h"
#include "../imap/imap_mutf7.h"
#include "folder_name.h"

static const char *const folder_name_errors[] = {
    [FOLDER_NAME_OK] = "valid name",
    [FOLDER_NAME_EMPTY] = "empty mailbox name",
    [FOLDER_NAME_EDGE_SEP] = "mailbox name starts or ends with the hierarchy separator \"/\"",
    [FOLDER_NAME_EMPTY_LEVEL] = "empty hierarchy level in mailbox name (\"//\")",
    [FOLDER_NAME_DOT] = "\".\" is not allowed in a mailbox name (it separates levels on disk)",
    [FOLDER_NAME_CONTROL] = "control character in mailbox name",
    [FOLDER_NAME_BAD_UTF8] = "mailbox name is not valid UTF-8",
    [FOLDER_NAME_BAD_MUTF7] = "mailbox name is not valid modified UTF-7",
    [FOLDER_NAME_TOO_LONG] = "mailbox name too long",
    [FOLDER_NAME_DIR_TOO_LONG] = "mailbox name too long for the file system",
    [FOLDER_NAME_RESERVED] = "reserved mailbox name",
};

const char *folder_name_strerror(enum folder_name_error err)
{
	if ((size_t)err >= sizeof(folder_name_errors) / sizeof(folder_name_errors[0]))
		return "invalid mailbox name";
	return folder_name_errors[err];
}

/* Well-formed UTF-8 without control characters (C0, DEL and C1: they have no business in a
   file name and some terminals act on them). Notes whether a "." was seen. */
static enum folder_name_error folder_name_check_chars(const uint8_t *p, size_t len, bool *dot_r)
{
	size_t i = 0, n;

	*dot_r = false;
	while (i < len) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return FOLDER_NAME_CONTROL;
			if (p[i] == '.')
				*dot_r = true;
			i++;
			continue;
		}
		n = utf8_char_len(p + i, len - i);
		if (n == 0)
			return FOLDER_NAME_BAD_UTF8;
		if (p[i] == 0xc2 && p[i + 1] < 0xa0)
			return FOLDER_NAME_CONTROL;
		i += n;
	}
	return FOLDER_NAME_OK;
}

static enum folder_name_error folder_name_check_levels(const char *in, size_t len)
{
	if (in[0] == FOLDER_SEP || in[len - 1] == FOLDER_SEP)
		return FOLDER_NAME_EDGE_SEP;
	for (size_t i = 1; i < len; i++) {
		if (in[i] == FOLDER_SEP && in[i - 1] == FOLDER_SEP)
			return FOLDER_NAME_EMPTY_LEVEL;
	}
	return FOLDER_NAME_OK;
}

static size_t folder_name_level_len(const char *p, size_t len)
{
	const char *sep = memchr(p, FOLDER_SEP, len);

	return sep == NULL ? len : (size_t)(sep - p);
}

/* fn->name (valid) to fn->dir: "." + levels in modified UTF-7 joined with ".". */
static enum folder_name_error folder_name_make_dir(struct folder_name *fn, size_t len)
{
	const char *p = fn->name, *end = fn->name + len;
	size_t pos = 0, n, enc_len;
	const char *error;

	if (strcmp(fn->name, "INBOX") == 0) {
		fn->dir[0] = '\0';
		return FOLDER_NAME_OK;
	}
	while (p < end) {
		n = folder_name_level_len(p, (size_t)(end - p));
		if (pos + 1 >= sizeof(fn->dir))
			return FOLDER_NAME_DIR_TOO_LONG;
		fn->dir[pos++] = '.';
		/* The UTF-8 is valid already: the only failure left is lack of room. */
		if (imap_mutf7_from_utf8(p, n, fn->dir + pos, sizeof(fn->dir) - pos, &enc_len,
		                         &error) < 0)
			return FOLDER_NAME_DIR_TOO_LONG;
		pos += enc_len;
		p += n + 1;
	}
	fn->dir[pos] = '\0';
	return FOLDER_NAME_OK;
}

enum folder_name_error folder_name_from_utf8(const char *in, size_t len, struct folder_name *fn_r)
{
	enum folder_name_error err;
	bool dot;

	if (len == 0)
		return FOLDER_NAME_EMPTY;
	if (len > FOLDER_NAME_MAX)
		return FOLDER_NAME_TOO_LONG;
	err = folder_name_check_chars((const uint8_t *)in, len, &dot);
	if (err == FOLDER_NAME_OK)
		err = folder_name_check_levels(in, len);
	if (err != FOLDER_NAME_OK)
		return err;
	if (dot)
		return FOLDER_NAME_DOT;
	memcpy(fn_r->name, in, len);
	fn_r->name[len] = '\0';
	/* RFC 3501 5.1: INBOX is case-insensitive; as Dovecot, so is INBOX as a first level. */
	if (folder_name_level_len(in, len) == 5 && strncasecmp(in, "INBOX", 5) == 0)
		memcpy(fn_r->name, "INBOX", 5);
	return folder_name_make_dir(fn_r, len);
}

enum folder_name_error folder_name_from_mutf7(const char *in, size_t len, struct folder_name *fn_r)
{
	char buf[IMAP_MUTF7_DECODED_MAX(FOLDER_WIRE_MAX)];
	const char *error;
	size_t n;

	if (len == 0)
		return FOLDER_NAME_EMPTY;
	if (len > FOLDER_WIRE_MAX)
		return FOLDER_NAME_TOO_LONG;
	if (memchr(in, '\0', len) != NULL)
		return FOLDER_NAME_CONTROL;
	if (imap_mutf7_to_utf8(in, len, buf, sizeof(buf), &n, &error) < 0)
		return FOLDER_NAME_BAD_MUTF7;
	return folder_name_from_utf8(buf, n, fn_r);
}

/* ".a.b" to "a/b" in name (no checks beyond the modified UTF-7 decoding). */
static enum folder_name_error folder_name_decode_dir(const char *dirent, size_t len, char *name,
                                                     size_t size, size_t *len_r)
{
	const char *p = dirent + 1, *end = dirent + len, *dot, *error;
	size_t pos = 0, n, dec_len;

	for (;;) {
		dot = memchr(p, '.', (size_t)(end - p));
		n = dot == NULL ? (size_t)(end - p) : (size_t)(dot - p);
		if (n == 0)
			return FOLDER_NAME_EMPTY_LEVEL;
		if (imap_mutf7_to_utf8(p, n, name + pos, size - pos, &dec_len, &error) < 0)
			return FOLDER_NAME_BAD_MUTF7;
		pos += dec_len;
		if (dot == NULL)
			break;
		if (pos + 1 >= size)
			return FOLDER_NAME_TOO_LONG;
		name[pos++] = FOLDER_SEP;
		p = dot + 1;
	}
	*len_r = pos;
	return FOLDER_NAME_OK;
}

enum folder_name_error folder_name_from_dir(const char *dirent, struct folder_name *fn_r)
{
	char name[IMAP_MUTF7_DECODED_MAX(FOLDER_DIR_MAX)];
	size_t len = strlen(dirent), name_len, first;
	enum folder_name_error err;

	if (len < 2 || dirent[0] != '.' || strcmp(dirent, "..") == 0)
		return FOLDER_NAME_RESERVED;
	if (len > FOLDER_DIR_MAX)
		return FOLDER_NAME_DIR_TOO_LONG;
	err = folder_name_decode_dir(dirent, len, name, sizeof(name), &name_len);
	if (err != FOLDER_NAME_OK)
		return err;
	/* ".INBOX" would shadow the root, ".Inbox.x" could never be named: neither is ours. */
	first = folder_name_level_len(name, name_len);
	if (first == 5 && strncasecmp(name, "INBOX", 5) == 0 &&
	    (first == name_len || memcmp(name, "INBOX", 5) != 0))
		return FOLDER_NAME_RESERVED;
	err = folder_name_from_utf8(name, name_len, fn_r);
	if (err != FOLDER_NAME_OK)
		return err;
	/* The codec is strict both ways, so only a canonical directory name comes back. */
	if (strcmp(fn_r->dir, dirent) != 0)
		return FOLDER_NAME_BAD_MUTF7;
	return FOLDER_NAME_OK;
}

bool folder_name_is_inbox(const struct folder_name *fn)
{
	return fn->dir[0] == '\0';
}

bool folder_name_is_under(const char *name, const char *parent)
{
	size_t n = strlen(parent);

	return strncmp(name, parent, n) == 0 && (name[n] == '\0' || name[n] == FOLDER_SEP);
}

enum folder_name_error folder_name_from_subs_line(const char *line, size_t len, bool v2,
                                                  struct folder_name *fn_r)
{
	char dir[FOLDER_DIR_MAX + 1];

	if (len == 0)
		return FOLDER_NAME_EMPTY;
	if (len == 5 && strncasecmp(line, "INBOX", 5) == 0)
		return folder_name_from_utf8("INBOX", 5, fn_r);
	if (len + 1 > FOLDER_DIR_MAX)
		return FOLDER_NAME_DIR_TOO_LONG;
	dir[0] = '.';
	for (size_t i = 0; i < len; i++) {
		char c = line[i];

		/* Version 2 escapes TAB, CR, LF and \001 with \001: all control characters. */
		if (v2 && c == '.')
			return FOLDER_NAME_DOT;
		if (c == '\0' || c == '\001')
			return FOLDER_NAME_CONTROL;
		dir[i + 1] = v2 && c == '\t' ? '.' : c;
	}
	dir[len + 1] = '\0';
	return folder_name_from_dir(dir, fn_r);
}

int folder_name_to_subs_line(const struct folder_name *fn, bool v2, char *out, size_t size)
{
	const char *src = folder_name_is_inbox(fn) ? "INBOX" : fn->dir + 1;
	size_t len = strlen(src);

	if (len >= size)
		return -1;
	for (size_t i = 0; i <= len; i++)
		out[i] = v2 && src[i] == '.' ? '\t' : src[i];
	return 0;
}
