#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mbox_file.h"
#include "mbox_keywords.h"

#define MBOX_KEYWORDS_FILE_MAX (64 * 1024)

bool mbox_keywords_valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MBOX_KEYWORD_NAME_MAX || name[0] == '\\')
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		/* RFC 3501 atom-specials: ( ) { SP CTL % * " \ ] */
		if (*p <= ' ' || *p >= 127 || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

static void kw_parse_line(struct mbox_keywords *kw, char *line)
{
	char *end;
	long idx;

	errno = 0;
	idx = strtol(line, &end, 10);
	if (errno != 0 || end == line || *end != ' ' || idx < 0 || idx >= MBOX_KEYWORDS_MAX)
		return;
	if (!mbox_keywords_valid_name(end + 1) || kw->names[idx] != NULL ||
	    mbox_keywords_find(kw, end + 1) >= 0)
		return;
	kw->names[idx] = strdup(end + 1);
}

int mbox_keywords_read(int dir_fd, struct mbox_keywords *kw, const char **error_r)
{
	char *buf, *line, *save = NULL;
	size_t len;
	int ret;

	mbox_keywords_clear(kw);
	ret = mbox_file_read(dir_fd, MBOX_KEYWORDS_FILE, MBOX_KEYWORDS_FILE_MAX, &buf, &len, NULL);
	if (ret <= 0) {
		if (ret < 0)
			*error_r = strerror(errno);
		return ret;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		kw_parse_line(kw, line);
	free(buf);
	return 1;
}

int mbox_keywords_write(int dir_fd, const struct mbox_keywords *kw, const char **error_r)
{
	char buf[MBOX_KEYWORDS_MAX * (MBOX_KEYWORD_NAME_MAX + 5)];
	size_t len = 0;

	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if (kw->names[i] != NULL)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%d %s\n", i,
			                        kw->names[i]);
	}
	if (mbox_file_replace(dir_fd, MBOX_KEYWORDS_FILE, buf, len, NULL) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

void mbox_keywords_clear(struct mbox_keywords *kw)
{
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		free(kw->names[i]);
		kw->names[i] = NULL;
	}
}

int mbox_keywords_find(const struct mbox_keywords *kw, const char *name)
{
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if (kw->names[i] != NULL && strcasecmp(kw->names[i], name) == 0)
			return i;
	}
	return -1;
}

int mbox_keywords_free_slot(const struct mbox_keywords *kw)
{
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if (kw->names[i] == NULL)
			return i;
	}
	return -1;
}
