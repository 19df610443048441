/* Feeds arbitrary bytes to the folder name checks as UTF-8, modified UTF-7, a directory entry
   and subscription lines, and checks that whatever passes is one safe path component that
   converts back to the same name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "folder_name.h"

static void check_safe(const struct folder_name *fn)
{
	struct folder_name back;
	char line[FOLDER_DIR_MAX + 1];

	if (folder_name_is_inbox(fn)) {
		if (strcmp(fn->name, "INBOX") != 0)
			abort();
		return;
	}
	/* one component in the Maildir root, never "." or "..", never a hidden working dir */
	if (fn->dir[0] != '.' || fn->dir[1] == '.' || fn->dir[1] == '\0' ||
	    strchr(fn->dir, '/') != NULL || strlen(fn->dir) > FOLDER_DIR_MAX)
		abort();
	if (folder_name_from_dir(fn->dir, &back) != FOLDER_NAME_OK ||
	    strcmp(back.name, fn->name) != 0 || strcmp(back.dir, fn->dir) != 0)
		abort();
	for (int v2 = 0; v2 < 2; v2++) {
		if (folder_name_to_subs_line(fn, v2, line, sizeof(line)) < 0 ||
		    folder_name_from_subs_line(line, strlen(line), v2, &back) != FOLDER_NAME_OK ||
		    strcmp(back.name, fn->name) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct folder_name fn;
	char *text;

	if (folder_name_from_utf8(in, size, &fn) == FOLDER_NAME_OK)
		check_safe(&fn);
	if (folder_name_from_mutf7(in, size, &fn) == FOLDER_NAME_OK)
		check_safe(&fn);
	if (folder_name_from_subs_line(in, size, false, &fn) == FOLDER_NAME_OK)
		check_safe(&fn);
	if (folder_name_from_subs_line(in, size, true, &fn) == FOLDER_NAME_OK)
		check_safe(&fn);
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (folder_name_from_dir(text, &fn) == FOLDER_NAME_OK)
		check_safe(&fn);
	(void)folder_name_is_under(text, "INBOX");
	free(text);
	return 0;
}
