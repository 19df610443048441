/* STATUS items of a folder: parsing, reading and formatting (imap_status.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imap_mailbox.h"
#include "imap_status.h"

/* In the order they are written back. */
static const struct {
	const char *name;
	unsigned item;
} imap_status_items[] = {
    {"MESSAGES", IMAP_STATUS_MESSAGES},       {"UIDNEXT", IMAP_STATUS_UIDNEXT},
    {"UIDVALIDITY", IMAP_STATUS_UIDVALIDITY}, {"UNSEEN", IMAP_STATUS_UNSEEN},
    {"DELETED", IMAP_STATUS_DELETED},         {"SIZE", IMAP_STATUS_SIZE},
    {"RECENT", IMAP_STATUS_RECENT},           {"HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ},
};
#define IMAP_STATUS_ITEM_COUNT (sizeof(imap_status_items) / sizeof(imap_status_items[0]))

int imap_status_parse(const struct imap_arg *list, unsigned *items_r, const char **error_r)
{
	unsigned items = 0;

	if (list == NULL || list->type != IMAP_ARG_LIST) {
		*error_r = "Missing STATUS item list.";
		return -1;
	}
	if (list->list == NULL) {
		*error_r = "Empty STATUS item list.";
		return -1;
	}
	for (const struct imap_arg *a = list->list; a != NULL; a = a->next) {
		size_t i;

		for (i = 0; i < IMAP_STATUS_ITEM_COUNT; i++) {
			if (imap_arg_atom_is(a, imap_status_items[i].name))
				break;
		}
		if (i == IMAP_STATUS_ITEM_COUNT) {
			*error_r = "Unknown STATUS item.";
			return -1;
		}
		items |= imap_status_items[i].item;
	}
	*items_r = items;
	return 0;
}

void imap_status_from_mbox(const struct mbox *mb, struct imap_status_values *v_r)
{
	struct mbox_counts c;
	uint32_t deleted = 0;

	mbox_counts(mb, &c);
	for (uint32_t seq = 1; seq <= c.messages; seq++) {
		struct mbox_msg_info info;

		if (mbox_msg(mb, seq, &info) == 1 && (info.flags & MBOX_FLAG_DELETED) != 0)
			deleted++;
	}
	*v_r = (struct imap_status_values){
	    .messages = c.messages,
	    .recent = c.recent,
	    .uidnext = mbox_uidnext(mb),
	    .uidvalidity = mbox_uidvalidity(mb),
	    .unseen = c.unseen,
	    .deleted = deleted,
	    .size = c.bytes,
	    .highestmodseq = mbox_highestmodseq(mb),
	};
}

int imap_status_read(const char *root, const char *dir, struct imap_status_values *v_r,
                     char **error_r)
{
	char cur[PATH_MAX];
	struct mbox *mb;
	struct stat st;
	int n;

	*error_r = NULL;
	n = snprintf(cur, sizeof(cur), "%s/%s%scur", root, dir, dir[0] != '\0' ? "/" : "");
	if (n < 0 || (size_t)n >= sizeof(cur)) {
		*error_r = strdup("folder path too long");
		return -1;
	}
	/* A missing parent (".a" absent while ".a.b" exists) has no cur/: not a folder. */
	if (stat(cur, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (mbox_open(root, dir, &mb, error_r) < 0)
		return -1;
	imap_status_from_mbox(mb, v_r);
	mbox_close(&mb);
	return 1;
}

static uint64_t imap_status_value(const struct imap_status_values *v, unsigned item)
{
	switch (item) {
	case IMAP_STATUS_MESSAGES:
		return v->messages;
	case IMAP_STATUS_UIDNEXT:
		return v->uidnext;
	case IMAP_STATUS_UIDVALIDITY:
		return v->uidvalidity;
	case IMAP_STATUS_UNSEEN:
		return v->unseen;
	case IMAP_STATUS_DELETED:
		return v->deleted;
	case IMAP_STATUS_SIZE:
		return v->size;
	case IMAP_STATUS_RECENT:
		return v->recent;
	default:
		return v->highestmodseq;
	}
}

void imap_status_format(const struct imap_session *s, const char *utf8_name, unsigned items,
                        const struct imap_status_values *v, struct mime_buf *out)
{
	bool first = true;

	mime_buf_append_str(out, "* STATUS ");
	imap_mailbox_name_write(s, utf8_name, out);
	mime_buf_append_str(out, " (");
	for (size_t i = 0; i < IMAP_STATUS_ITEM_COUNT; i++) {
		if ((items & imap_status_items[i].item) == 0)
			continue;
		mime_buf_printf(
		    out, "%s%s %llu", first ? "" : " ", imap_status_items[i].name,
		    (unsigned long long)imap_status_value(v, imap_status_items[i].item));
		first = false;
	}
	mime_buf_append_str(out, ")\r\n");
}
