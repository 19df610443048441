#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maildir_name.h"
#include "core/array_grow.h"
#include "core/array_sort.h"
#include "mbox_private.h"

/* ----- loading the folder's rows ----- */

static int load_row(const struct mbox_index_msg *row, void *ctx)
{
	struct mbox *mb = ctx;
	struct mbox_msg m = {
	    .modseq = row->modseq,
	    .size = row->size,
	    .vsize = row->vsize,
	    .internaldate = row->internaldate,
	    .uid = row->uid,
	    .keywords = row->keywords,
	    .flags = row->flags,
	};

	m.name = strdup(row->name);
	if (m.name == NULL) {
		mbox_fail(mb, "out of memory");
		return -2;
	}
	if (mbox_msgs_add(mb, &m) < 0) {
		free(m.name);
		return -2;
	}
	return 0;
}

/* The folder's row and its messages' rows as of one moment, then a snapshot of them for the
   next SELECT. */
static int load_rows(struct mbox *mb)
{
	int ret;

	mbox_msgs_free(mb);
	if (mbox_index_begin_read(mb->idx) < 0)
		return mbox_fail_index(mb);
	ret = mbox_index_folder_get(mb->idx, mb->folder, &mb->fi);
	if (ret == 1)
		ret = mbox_index_msg_iter(mb->idx, mb->fi.id, 0, load_row, mb);
	else if (ret == 0) {
		mbox_fail(mb, "%s: folder left the index while being read", mb->path);
		ret = -2;
	}
	if (ret == 0 && mbox_index_end_read(mb->idx) < 0)
		ret = -1;
	if (ret != 0) {
		mbox_index_rollback(mb->idx);
		return ret == -2 ? -1 : mbox_fail_index(mb);
	}
	mb->hash_dirty = true;
	mbox_snapshot_write(mb);
	return 0;
}

/* ----- rebuilding a folder's rows from its uid list and directories ----- */

/* A file that has a UID in the list, kept until every file is seen. */
struct rebuild_row {
	char *name;
	uint64_t size, vsize;
	uint32_t uid, keywords;
	/* Listing order: of two files with one base (new/ and cur/), the later one's row wins. */
	uint32_t order;
	uint8_t flags;
};

struct rebuild {
	struct mbox_uidlist ul;
	/* ul's entries sorted by base. */
	struct mbox_uidlist_entry **by_base;
	bool adopted, own;
	struct rebuild_row *rows;
	size_t rows_count, rows_cap;
};

static int rebuild_cmp_base(const void *a, const void *b)
{
	return strcmp((*(struct mbox_uidlist_entry *const *)a)->base,
	              (*(struct mbox_uidlist_entry *const *)b)->base);
}

/* Ours, else Dovecot's (adoption: clients keep their caches), else a new UIDVALIDITY. */
static int rebuild_read_uidlist(struct mbox *mb, struct rebuild *rb)
{
	const char *error, *file = MBOX_UIDLIST_FILE;
	int ret = mbox_uidlist_read(mb->dir_fd, file, &rb->ul, &error);

	if (ret == 0) {
		file = MBOX_UIDLIST_DOVECOT_FILE;
		ret = mbox_uidlist_read(mb->dir_fd, file, &rb->ul, &error);
		rb->adopted = ret > 0;
	} else {
		rb->own = ret > 0;
	}
	if (ret < 0)
		return mbox_fail(mb, "%s/%s: %s", mb->path, file, error);
	if (ret == 0) {
		/* Dovecot's choice: the time of creation. */
		rb->ul.uidvalidity = (uint32_t)time(NULL);
		rb->ul.nextuid = 1;
	}
	rb->by_base = malloc((rb->ul.count + 1) * sizeof(*rb->by_base));
	if (rb->by_base == NULL)
		return mbox_fail(mb, "out of memory");
	for (size_t i = 0; i < rb->ul.count; i++)
		rb->by_base[i] = &rb->ul.entries[i];
	array_sort(rb->by_base, rb->ul.count, sizeof(*rb->by_base), rebuild_cmp_base);
	return 0;
}

static uint32_t rebuild_uid_of(const struct rebuild *rb, const char *base)
{
	struct mbox_uidlist_entry key = {.base = (char *)base}, *keyp = &key, **found;

	found = array_search(&keyp, rb->by_base, rb->ul.count, sizeof(*rb->by_base), rebuild_cmp_base);
	return found != NULL ? (*found)->uid : 0;
}

/* A file of cur/ (or new/, named as it will be in cur/) whose base has a UID in the list:
   a row. Files without one are left to the first sync, which assigns UIDs in order. */
static int rebuild_file(struct mbox *mb, struct rebuild *rb, const char *name, bool in_new)
{
	char base[MAILDIR_NAME_MAX], cur_name[MAILDIR_NAME_MAX];
	struct maildir_name_info info;
	struct rebuild_row row = {.order = (uint32_t)rb->rows_count};
	size_t base_len;

	if (maildir_name_parse(name, &info) == 0 || info.base_len >= sizeof(base))
		return 0;
	base_len = info.base_len;
	memcpy(base, name, base_len);
	base[base_len] = '\0';
	row.uid = rebuild_uid_of(rb, base);
	if (row.uid == 0)
		return 0;
	if (in_new &&
	    (size_t)snprintf(cur_name, sizeof(cur_name), "%s:2,", base) >= sizeof(cur_name))
		return 0;
	mbox_flags_parse(in_new ? "" : info.flags, &row.flags, &row.keywords);
	row.size = info.size;
	row.vsize = info.has_vsize ? info.vsize : 0;
	if (!info.has_size) {
		struct stat st;

		if (fstatat(in_new ? mb->new_fd : mb->cur_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0; /* gone meanwhile */
		row.size = (uint64_t)st.st_size;
	}
	if (array_grow((void **)&rb->rows, &rb->rows_cap, rb->rows_count + 1, sizeof(*rb->rows)) < 0)
		return mbox_fail(mb, "out of memory");
	row.name = strdup(in_new ? cur_name : name);
	if (row.name == NULL)
		return mbox_fail(mb, "out of memory");
	rb->rows[rb->rows_count++] = row;
	return 0;
}

static int rebuild_cmp_row(const void *a, const void *b)
{
	const struct rebuild_row *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* In UID order, as the table is keyed: inserts in listing (hash) order land all over a
   b-tree larger than SQLite's cache, five times slower for 100,000 rows. */
static int rebuild_insert_rows(struct mbox *mb, struct rebuild *rb)
{
	array_sort(rb->rows, rb->rows_count, sizeof(*rb->rows), rebuild_cmp_row);
	for (size_t i = 0; i < rb->rows_count; i++) {
		const struct rebuild_row *r = &rb->rows[i];
		struct mbox_index_msg row = {
		    .uid = r->uid,
		    .name = r->name,
		    .flags = r->flags,
		    .keywords = r->keywords,
		    .modseq = 1,
		    .size = r->size,
		    .vsize = r->vsize,
		};

		if (mbox_index_msg_insert(mb->idx, mb->fi.id, &row) < 0)
			return mbox_fail_index(mb);
	}
	return 0;
}

static int rebuild_dir(struct mbox *mb, struct rebuild *rb, int dir_fd, bool in_new)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return mbox_fail(mb, "%s: %s", mb->path, strerror(errno));
	}
	while (ret == 0 && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] != '.')
			ret = rebuild_file(mb, rb, de->d_name, in_new);
	}
	(void)closedir(dir);
	return ret;
}

/* Our own uid list is kept as it is; an adopted or new folder gets one written from the
   rows just made (only messages that still exist). */
static int rebuild_record(struct mbox *mb, struct rebuild *rb)
{
	if (rb->own) {
		mb->fi.uidlist_ino = rb->ul.ino;
		mb->fi.uidlist_size = rb->ul.size;
		mb->fi.uidlist_lines = rb->ul.lines;
		return 0;
	}
	return mbox_uidlist_rewrite_locked(mb);
}

static int rebuild_locked(struct mbox *mb, struct rebuild *rb)
{
	int ret;

	ret = mbox_index_folder_get(mb->idx, mb->folder, &mb->fi);
	if (ret != 0)
		return ret < 0 ? mbox_fail_index(mb) : 0; /* rebuilt meanwhile by another */
	if (rebuild_read_uidlist(mb, rb) < 0)
		return -1;
	memset(&mb->fi, 0, sizeof(mb->fi));
	mb->fi.uidvalidity = rb->ul.uidvalidity;
	mb->fi.uidnext = rb->ul.nextuid;
	mb->fi.highestmodseq = 1;
	if (mbox_index_folder_put(mb->idx, mb->folder, &mb->fi) < 0)
		return mbox_fail_index(mb);
	/* An open that defers rows (MBOX_OPEN_DEFER_ROWS) leaves them to its sync, which finds
	   every file new, reads the whole list (the folder row records none) and gives each
	   file its UID from it, the rows going to a thread. Dovecot's list is copied as ours
	   first; its records of files gone since are harmless (their UIDs are below the next
	   one) and leave with the list's next compaction. */
	if (mb->defer_rows && rb->ul.count > 0) {
		const char *error;

		if (rb->adopted && mbox_uidlist_write(mb->dir_fd, &rb->ul, &error) < 0)
			return mbox_fail(mb, "%s/" MBOX_UIDLIST_FILE ": %s", mb->path, error);
		return mbox_index_folder_put(mb->idx, mb->folder, &mb->fi) < 0 ? mbox_fail_index(mb)
		                                                                : 0;
	}
	/* No list, no UIDs to find: the first sync gives every file one. */
	if (rb->ul.count > 0 && (rebuild_dir(mb, rb, mb->new_fd, true) < 0 ||
	                         rebuild_dir(mb, rb, mb->cur_fd, false) < 0 ||
	                         rebuild_insert_rows(mb, rb) < 0))
		return -1;
	if (rebuild_record(mb, rb) < 0)
		return -1;
	return mbox_index_folder_put(mb->idx, mb->folder, &mb->fi) < 0 ? mbox_fail_index(mb) : 0;
}

static int mbox_rebuild(struct mbox *mb)
{
	struct rebuild rb;
	int ret;

	memset(&rb, 0, sizeof(rb));
	if (mbox_lock(mb) < 0)
		return -1;
	if (mbox_index_begin(mb->idx) < 0) {
		mbox_unlock(mb);
		return mbox_fail_index(mb);
	}
	ret = rebuild_locked(mb, &rb);
	if (ret == 0 && mbox_index_commit(mb->idx) < 0)
		ret = mbox_fail_index(mb);
	if (ret < 0)
		mbox_index_rollback(mb->idx);
	mbox_unlock(mb);
	mbox_uidlist_clear(&rb.ul);
	free(rb.by_base);
	for (size_t i = 0; i < rb.rows_count; i++)
		free(rb.rows[i].name);
	free(rb.rows);
	return ret;
}

/* The uid list was replaced behind the index's back by one with another UIDVALIDITY (a
   restore from backup, say): the list is the truth, the folder's rows go. */
static int load_check_uidvalidity(struct mbox *mb)
{
	struct mbox_uidlist ul;
	const char *error;
	struct stat st;
	int ret;

	if (fstatat(mb->dir_fd, MBOX_UIDLIST_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    ((uint64_t)st.st_ino == mb->fi.uidlist_ino &&
	     (uint64_t)st.st_size == mb->fi.uidlist_size))
		return 0;
	ret = mbox_uidlist_read(mb->dir_fd, MBOX_UIDLIST_FILE, &ul, &error);
	if (ret <= 0 || ul.uidvalidity == mb->fi.uidvalidity) {
		mbox_uidlist_clear(&ul);
		return 0;
	}
	mbox_uidlist_clear(&ul);
	if (mbox_index_begin(mb->idx) < 0 || mbox_index_folder_drop(mb->idx, mb->fi.id) < 0 ||
	    mbox_index_commit(mb->idx) < 0) {
		mbox_index_rollback(mb->idx);
		return mbox_fail_index(mb);
	}
	return 1;
}

int mbox_load(struct mbox *mb)
{
	int ret;

	for (int attempt = 0; attempt < 3; attempt++) {
		ret = mbox_index_folder_get(mb->idx, mb->folder, &mb->fi);
		if (ret < 0)
			return mbox_fail_index(mb);
		if (ret == 0) {
			if (mbox_rebuild(mb) < 0)
				return -1;
			continue;
		}
		ret = load_check_uidvalidity(mb);
		if (ret < 0)
			return -1;
		if (ret == 0)
			break;
	}
	if (mbox_snapshot_load(mb) > 0)
		return 0;
	return load_rows(mb);
}
