#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir_name.h"
#include "core/array_sort.h"
#include "mbox_private.h"

size_t mbox_base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

ssize_t mbox_msgs_find(const struct mbox *mb, uint32_t uid)
{
	size_t lo = 0, hi = mb->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mb->msgs[mid].uid == uid)
			return (ssize_t)mid;
		if (mb->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int mbox_msgs_add(struct mbox *mb, const struct mbox_msg *msg)
{
	struct mbox_name_key key;
	uint32_t pos = mb->count;

	if (mb->count == mb->cap) {
		uint32_t cap = mb->cap < 16 ? 16 : mb->cap + mb->cap / 2;
		struct mbox_msg *more = realloc(mb->msgs, (size_t)cap * sizeof(*more));

		if (more == NULL)
			return mbox_fail(mb, "out of memory");
		mb->msgs = more;
		mb->cap = cap;
	}
	/* UIDs normally arrive above every other; a lower one (a race another handle won)
	   goes to its place. */
	while (pos > 0 && mb->msgs[pos - 1].uid > msg->uid)
		pos--;
	memmove(mb->msgs + pos + 1, mb->msgs + pos, (size_t)(mb->count - pos) * sizeof(*msg));
	mb->msgs[pos] = *msg;
	mbox_name_key(msg->name, &key);
	mb->msgs[pos].base_len = (uint16_t)key.base_len;
	mb->msgs[pos].name_hash = key.name_hash;
	mb->count++;
	mb->hash_dirty = true;
	return 0;
}

int mbox_msgs_add_new(struct mbox *mb, struct mbox_new *n)
{
	struct mbox_msg m = {
	    .name = n->name,
	    .modseq = n->modseq,
	    .size = n->size,
	    .vsize = n->vsize,
	    .internaldate = n->internaldate,
	    .uid = n->uid,
	    .keywords = n->keywords,
	    .flags = n->flags,
	    .state = n->recent ? MBOX_MSG_RECENT : 0,
	};

	if (mbox_msgs_find(mb, n->uid) >= 0)
		return 0;
	if (mbox_msgs_add(mb, &m) < 0)
		return -1;
	n->name = NULL;
	return 1;
}

static int msgs_cmp_new_uid(const void *a, const void *b)
{
	uint32_t x = ((const struct mbox_new *)a)->uid, y = ((const struct mbox_new *)b)->uid;

	return x < y ? -1 : x > y;
}

void mbox_news_sort_by_uid(struct mbox_new *news, size_t count)
{
	array_sort(news, count, sizeof(*news), msgs_cmp_new_uid);
}

void mbox_msgs_free(struct mbox *mb)
{
	for (uint32_t i = 0; i < mb->count; i++)
		mbox_msg_name_free(mb, mb->msgs[i].name);
	free(mb->msgs);
	free(mb->hash);
	if (mb->snapshot_map != NULL)
		(void)munmap(mb->snapshot_map, mb->snapshot_map_len);
	mb->snapshot_map = NULL;
	mb->snapshot_map_len = 0;
	mbox_own_clear(mb);
	mb->name_pool = NULL;
	mb->name_pool_len = 0;
	mb->msgs = NULL;
	mb->hash = NULL;
	mb->count = mb->cap = 0;
}

void mbox_msg_take_name(struct mbox *mb, struct mbox_msg *msg, char *name)
{
	struct mbox_name_key key;

	mbox_msg_name_free(mb, msg->name);
	msg->name = name;
	/* The base never changes with a rename of ours or of a Maildir client, so the hash
	   table stays valid. */
	mbox_name_key(name, &key);
	msg->base_len = (uint16_t)key.base_len;
	msg->name_hash = key.name_hash;
}

int mbox_msg_set_name(struct mbox *mb, struct mbox_msg *msg, const char *name)
{
	char *copy = strdup(name);

	if (copy == NULL)
		return mbox_fail(mb, "out of memory");
	mbox_msg_take_name(mb, msg, copy);
	return 0;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* FNV-1a over the name; the state at the first ':' is the base's hash. */
void mbox_name_key(const char *name, struct mbox_name_key *key_r)
{
	uint64_t h = FNV_OFFSET;
	const char *p = name;

	for (; *p != '\0' && *p != ':'; p++)
		h = (h ^ (unsigned char)*p) * FNV_PRIME;
	key_r->base_len = (size_t)(p - name);
	key_r->base_hash = h;
	for (; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * FNV_PRIME;
	/* Mixed once more so the name's hash is not the base's for names without info. */
	key_r->name_hash = (h ^ 0xff) * FNV_PRIME;
}

static uint64_t mbox_slot(uint64_t base_hash, uint32_t index)
{
	return (base_hash & 0xffffffff00000000ULL) | (uint64_t)(index + 1);
}

int mbox_hash_build(struct mbox *mb)
{
	uint32_t size = 64;

	if (!mb->hash_dirty && mb->hash != NULL)
		return 0;
	while (size < mb->count * 2u)
		size *= 2;
	free(mb->hash);
	mb->hash = calloc(size, sizeof(*mb->hash));
	if (mb->hash == NULL)
		return mbox_fail(mb, "out of memory");
	mb->hash_mask = size - 1;
	for (uint32_t i = 0; i < mb->count; i++) {
		struct mbox_name_key key;
		uint32_t slot;

		mbox_name_key(mb->msgs[i].name, &key);
		slot = (uint32_t)key.base_hash & mb->hash_mask;
		while (mb->hash[slot] != 0)
			slot = (slot + 1) & mb->hash_mask;
		mb->hash[slot] = mbox_slot(key.base_hash, i);
	}
	mb->hash_dirty = false;
	return 0;
}

ssize_t mbox_hash_find(const struct mbox *mb, const char *name, const struct mbox_name_key *key,
                       bool *same_name_r)
{
	uint32_t slot = (uint32_t)key->base_hash & mb->hash_mask;
	uint32_t tag = (uint32_t)(key->base_hash >> 32);

	for (; mb->hash[slot] != 0; slot = (slot + 1) & mb->hash_mask) {
		uint32_t index = (uint32_t)mb->hash[slot] - 1;
		const struct mbox_msg *m;

		if ((uint32_t)(mb->hash[slot] >> 32) != tag)
			continue;
		m = &mb->msgs[index];
		if (m->name_hash == key->name_hash && m->base_len == key->base_len) {
			*same_name_r = true;
			return (ssize_t)index;
		}
		if (m->base_len == key->base_len && memcmp(m->name, name, key->base_len) == 0) {
			*same_name_r = strcmp(m->name, name) == 0;
			return (ssize_t)index;
		}
	}
	return -1;
}

int mbox_msgs_flush_dirty(struct mbox *mb)
{
	if (mb->dirty_count == 0)
		return 0;
	for (uint32_t i = 0; i < mb->count; i++) {
		struct mbox_msg *m = &mb->msgs[i];

		if ((m->state & MBOX_MSG_DIRTY) == 0)
			continue;
		if (mbox_index_msg_set_lazy(mb->idx, mb->fi.id, m->uid, m->vsize, m->internaldate) <
		    0)
			return mbox_fail_index(mb);
		m->state &= (uint8_t)~MBOX_MSG_DIRTY;
	}
	mb->dirty_count = 0;
	return 0;
}

int mbox_find_renamed(struct mbox *mb, const char *base, size_t base_len, char *name_r, size_t size)
{
	int fd = openat(mb->cur_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			(void)close(fd);
		return mbox_fail(mb, "%s/cur: %s", mb->path, strerror(errno));
	}
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, base, base_len) == 0 &&
		    (de->d_name[base_len] == ':' || de->d_name[base_len] == '\0')) {
			ret = strlen(de->d_name) < size ? 1 : 0;
			if (ret > 0)
				memcpy(name_r, de->d_name, strlen(de->d_name) + 1);
			break;
		}
	}
	(void)closedir(dir);
	return ret;
}

/* The name msg would have with one system flag more or less, for each of the six: another
   session's STORE renames a file so, and six lookups in cur/ cost microseconds where a listing
   of a 100,000-message cur/ costs tens of milliseconds and holds its directory lock, which
   every delivery and APPEND into it then waits for. 1 found (into name_r), 0 not. */
static int mbox_guess_renamed(struct mbox *mb, const struct mbox_msg *msg, char *name_r,
                              size_t size)
{
	struct maildir_name_info info;
	uint8_t flags;
	uint32_t keywords;
	struct stat st;

	if (maildir_name_parse(msg->name, &info) != 1 || info.base_len != msg->base_len)
		return 0;
	mbox_flags_parse(info.flags, &flags, &keywords);
	for (unsigned bit = 1; bit <= MBOX_FLAGS_ALL; bit <<= 1) {
		/* named as a STORE of this one flag would name it */
		if (mbox_flags_name(msg->name, msg->base_len, (uint8_t)(flags ^ bit), keywords,
		                    info.flags, name_r, size) == 0 &&
		    fstatat(mb->cur_fd, name_r, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			return 1;
	}
	return 0;
}

int mbox_msg_refresh_name(struct mbox *mb, struct mbox_msg *msg)
{
	char name[MAILDIR_NAME_MAX];
	int ret = mbox_guess_renamed(mb, msg, name, sizeof(name));

	if (ret == 0)
		ret = mbox_find_renamed(mb, msg->name, msg->base_len, name, sizeof(name));

	if (ret <= 0)
		return ret;
	/* Only the name: the flags in it are reported as a change by the next sync. */
	if (mbox_msg_set_name(mb, msg, name) < 0)
		return -1;
	msg->state |= MBOX_MSG_STALE;
	return 1;
}

int mbox_file_size(struct mbox *mb, const char *name, uint64_t *size_r, uint64_t *vsize_r)
{
	struct maildir_name_info info;
	struct stat st;

	(void)maildir_name_parse(name, &info);
	*vsize_r = info.has_vsize ? info.vsize : 0;
	if (info.has_size) {
		*size_r = info.size;
		return 0;
	}
	if (fstatat(mb->cur_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return mbox_fail(mb, "%s/cur/%s: %s", mb->path, name, strerror(errno));
	*size_r = (uint64_t)st.st_size;
	return 0;
}
