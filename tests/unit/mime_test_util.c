#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mime_test_util.h"
#include "utf8.h"

const char *mime_test_corpus(void)
{
	static char path[4096];
	const char *env = getenv("MAILD_CORPUS"), *root = getenv("MAILD_SOURCE_ROOT");
	static const char *const rel[] = {"../shared/corpus", "../../shared/corpus"};
	struct stat st;
	size_t i;

	if (env != NULL && stat(env, &st) == 0 && S_ISDIR(st.st_mode))
		return env;
	if (root == NULL)
		return NULL;
	/* the project sits beside shared/; a git worktree one level further down */
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", root, rel[i]) >= (int)sizeof(path))
			return NULL;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return path;
	}
	return NULL;
}

uint8_t *mime_test_read(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len_r = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t mime_test_walk(const char *dir, void (*cb)(const char *path, void *ctx), void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, i, count = 0;
	struct stat st;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			count += mime_test_walk(path, cb, ctx);
		else if (S_ISREG(st.st_mode)) {
			cb(path, ctx);
			count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

bool mime_test_utf8_ok(const uint8_t *p, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_char_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

struct mime_message *mime_test_parse(const char *text, bool crlf, uint8_t **buf_r)
{
	size_t len = strlen(text), i, n = 0;
	uint8_t *buf = malloc(len * 2 + 1);

	for (i = 0; i < len; i++) {
		if (crlf && text[i] == '\n')
			buf[n++] = '\r';
		buf[n++] = (uint8_t)text[i];
	}
	buf[n] = '\0';
	*buf_r = buf;
	return mime_message_parse(buf, n, NULL);
}

char *mime_test_section(const struct mime_message *m, const char *spec, const char *const *fields,
                        size_t nfields)
{
	struct mime_section s;
	struct mime_buf out = MIME_BUF_INIT;
	char *ret;

	if (mime_section_parse(spec, strlen(spec), &s) < 0)
		return NULL;
	s.fields = fields;
	s.nfields = nfields;
	if (mime_section_fetch(m, &s, &out) != 1) {
		mime_buf_free(&out);
		return NULL;
	}
	ret = strdup(mime_buf_str(&out));
	mime_buf_free(&out);
	return ret;
}
