/* The folder's message rows as one file (<folder>/maild-snapshot), so that a SELECT of a big
   folder reads one file instead of a row per message from SQLite: the in-memory array's
   records, then the names, one after the other.

   It is a cache of the index, never of the Maildir: a snapshot is taken only of rows just
   read from the index in one read transaction, and stamped with the folder's msgs_gen of
   that transaction. Any later batch that writes a message row changes msgs_gen, so a
   snapshot whose stamp differs is ignored (and replaced by the next full load). The file is
   written to a temporary name and renamed, without fsync: a torn or stale file after a crash
   fails its checksum or its stamp, and the rows are read from the index instead. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "mbox_private.h"

#define SNAPSHOT_MAGIC "MAILDSNP"
#define SNAPSHOT_VERSION 2u
/* Written in the machine's own byte order; another order reads as another value. */
#define SNAPSHOT_ORDER 0x01020304u

struct snapshot_head {
	char magic[8];
	uint32_t version;
	uint32_t order;
	uint32_t rec_size;
	uint32_t count;
	int64_t folder_id;
	uint64_t msgs_gen;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t pool_len;
	/* snapshot_sum() of everything after the head. */
	uint64_t sum;
};

/* One message: struct mbox_msg less the in-memory state, the name as an offset into the
   names that follow the records. */
struct snapshot_rec {
	uint64_t name_hash;
	uint64_t modseq;
	uint64_t size;
	uint64_t vsize;
	int64_t internaldate;
	uint32_t uid;
	uint32_t keywords;
	uint32_t name_off;
	uint16_t base_len;
	uint8_t flags;
	uint8_t pad;
};

static inline uint64_t sum_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* Eight bytes a step with one multiply, in four independent lanes so the multiplies
   overlap: a few GB/s, to check 10 MB on every SELECT; any torn page or truncation changes
   it. Not a defence against a forger, who would need write access to the user's Maildir
   and could change the mail itself. */
static uint64_t snapshot_sum(const unsigned char *p, size_t len)
{
	uint64_t lane[4] = {0x9e3779b97f4a7c15ULL ^ len, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
	                    0x27d4eb2f165667c5ULL};
	uint64_t h;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		uint64_t w[4];

		memcpy(w, p + i, 32);
		for (int k = 0; k < 4; k++)
			lane[k] = sum_step(lane[k], w[k]);
	}
	h = lane[0];
	for (int k = 1; k < 4; k++)
		h = sum_step(h, lane[k]);
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = sum_step(h, w);
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static bool name_in_pool(const struct mbox *mb, const char *name)
{
	return mb->name_pool != NULL && name >= mb->name_pool &&
	       name < mb->name_pool + mb->name_pool_len;
}

void mbox_msg_name_free(struct mbox *mb, char *name)
{
	if (!name_in_pool(mb, name))
		free(name);
}

/* The snapshots this process has summed whole. The sum guards against a file torn by a
   crash, which this process would not have lived through, and the file is only ever replaced
   by a rename: while device, inode, change time, size and stored sum are the same, the file
   is the one already checked, and a warm SELECT need not read 10 MB through again. Anything
   that writes into the file in place changes its change time. */
#define SNAPSHOT_CHECKED_MAX 64

struct snapshot_checked {
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	off_t size;
	uint64_t sum;
};

static pthread_mutex_t snapshot_checked_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot_checked snapshot_checked[SNAPSHOT_CHECKED_MAX];
static unsigned snapshot_checked_next;

static bool snapshot_checked_same(const struct snapshot_checked *a,
                                  const struct snapshot_checked *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec && a->size == b->size && a->sum == b->sum;
}

static bool snapshot_was_checked(const struct snapshot_checked *c)
{
	bool found = false;

	pthread_mutex_lock(&snapshot_checked_mutex);
	for (unsigned i = 0; i < SNAPSHOT_CHECKED_MAX && !found; i++)
		found = snapshot_checked_same(&snapshot_checked[i], c);
	pthread_mutex_unlock(&snapshot_checked_mutex);
	return found;
}

static void snapshot_note_checked(const struct snapshot_checked *c)
{
	pthread_mutex_lock(&snapshot_checked_mutex);
	snapshot_checked[snapshot_checked_next++ % SNAPSHOT_CHECKED_MAX] = *c;
	pthread_mutex_unlock(&snapshot_checked_mutex);
}

/* Whether the mapped file's contents match the sum in its head. */
static bool snapshot_sum_ok(const unsigned char *map, size_t len, struct snapshot_checked *c)
{
	uint64_t sum;

	memcpy(&sum, map + offsetof(struct snapshot_head, sum), sizeof(sum));
	c->sum = sum;
	if (snapshot_was_checked(c))
		return true;
	if (snapshot_sum(map + sizeof(struct snapshot_head), len - sizeof(struct snapshot_head)) !=
	    sum)
		return false;
	snapshot_note_checked(c);
	return true;
}

/* Mapped, not read: the page cache's pages themselves, where a copy would cost a fresh page
   of memory (a fault and zeroing) for every 4 KiB of it. Read-only and private; the file is
   only ever replaced by a rename, never changed in place, so the mapping stays what it was
   checked to be. */
static void *snapshot_map_file(int dir_fd, size_t *len_r, struct snapshot_checked *c)
{
	int fd = openat(dir_fd, MBOX_SNAPSHOT_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	void *map = MAP_FAILED;
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size >= sizeof(struct snapshot_head) &&
	    (uint64_t)st.st_size <= MBOX_SNAPSHOT_MAX)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	(void)close(fd);
	if (map == MAP_FAILED)
		return NULL;
	*len_r = (size_t)st.st_size;
	*c = (struct snapshot_checked){
	    .dev = st.st_dev, .ino = st.st_ino, .ctime = st.st_ctim, .size = st.st_size};
	return map;
}

/* The head and sizes describe a snapshot of exactly this folder state. */
static bool snapshot_head_fits(const struct mbox *mb, const struct snapshot_head *h, size_t len)
{
	uint64_t recs;

	if (memcmp(h->magic, SNAPSHOT_MAGIC, 8) != 0 || h->version != SNAPSHOT_VERSION ||
	    h->order != SNAPSHOT_ORDER || h->rec_size != sizeof(struct snapshot_rec))
		return false;
	if (h->folder_id != mb->fi.id || h->msgs_gen != mb->fi.msgs_gen ||
	    h->uidvalidity != mb->fi.uidvalidity)
		return false;
	recs = (uint64_t)h->count * sizeof(struct snapshot_rec);
	return h->pool_len > 0 && len - sizeof(*h) == recs + h->pool_len &&
	       h->pool_len <= UINT32_MAX;
}

/* Records into msgs, checked one by one: offsets inside the names, UIDs ascending. */
static bool snapshot_fill(struct mbox_msg *msgs, const unsigned char *recs, uint32_t count,
                          char *pool, uint64_t pool_len)
{
	uint32_t last_uid = 0;

	if (pool[pool_len - 1] != '\0')
		return false;
	for (uint32_t i = 0; i < count; i++) {
		struct snapshot_rec r;

		memcpy(&r, recs + (size_t)i * sizeof(r), sizeof(r));
		if (r.uid <= last_uid || r.name_off >= pool_len || r.base_len >= pool_len - r.name_off)
			return false;
		last_uid = r.uid;
		msgs[i] = (struct mbox_msg){
		    .name_hash = r.name_hash,
		    .modseq = r.modseq,
		    .size = r.size,
		    .vsize = r.vsize,
		    .internaldate = r.internaldate,
		    .uid = r.uid,
		    .keywords = r.keywords,
		    .name = pool + r.name_off,
		    .base_len = r.base_len,
		    .flags = r.flags,
		};
	}
	return true;
}

int mbox_snapshot_load(struct mbox *mb)
{
	struct snapshot_head h;
	struct snapshot_checked file;
	struct mbox_msg *msgs = NULL;
	unsigned char *map;
	size_t len = 0;

	if (mb->fi.msgs_gen == 0 || (map = snapshot_map_file(mb->dir_fd, &len, &file)) == NULL)
		return 0;
	memcpy(&h, map, sizeof(h));
	if (!snapshot_head_fits(mb, &h, len) || !snapshot_sum_ok(map, len, &file) ||
	    (msgs = malloc(((size_t)h.count + 1) * sizeof(*msgs))) == NULL ||
	    !snapshot_fill(msgs, map + sizeof(h), h.count, (char *)map + len - h.pool_len,
	                   h.pool_len)) {
		free(msgs);
		(void)munmap(map, len);
		return 0;
	}
	mbox_msgs_free(mb);
	mb->msgs = msgs;
	mb->count = h.count;
	mb->cap = h.count + 1;
	/* The names stay in the mapping, which lives as long as they do. */
	mb->name_pool = (char *)map + len - h.pool_len;
	mb->name_pool_len = h.pool_len;
	mb->snapshot_map = map;
	mb->snapshot_map_len = len;
	mb->hash_dirty = true;
	return 1;
}

/* Head, records and names in one buffer. */
static unsigned char *snapshot_build(const struct mbox_msg *msgs, uint32_t count,
                                     const struct mbox_index_folder *fi, size_t *len_r)
{
	uint64_t pool_len = 0, off;
	size_t recs = (size_t)count * sizeof(struct snapshot_rec);
	struct snapshot_head h = {
	    .magic = SNAPSHOT_MAGIC,
	    .version = SNAPSHOT_VERSION,
	    .order = SNAPSHOT_ORDER,
	    .rec_size = sizeof(struct snapshot_rec),
	    .count = count,
	    .folder_id = fi->id,
	    .msgs_gen = fi->msgs_gen,
	    .uidvalidity = fi->uidvalidity,
	    .uidnext = fi->uidnext,
	    .highestmodseq = fi->highestmodseq,
	};
	unsigned char *buf;

	for (uint32_t i = 0; i < count; i++)
		pool_len += strlen(msgs[i].name) + 1;
	if (pool_len == 0 || pool_len > UINT32_MAX ||
	    sizeof(h) + recs + pool_len > MBOX_SNAPSHOT_MAX ||
	    (buf = malloc(sizeof(h) + recs + pool_len)) == NULL)
		return NULL;
	off = 0;
	for (uint32_t i = 0; i < count; i++) {
		const struct mbox_msg *m = &msgs[i];
		size_t n = strlen(m->name) + 1;
		struct snapshot_rec r = {
		    .name_hash = m->name_hash,
		    .modseq = m->modseq,
		    .size = m->size,
		    .vsize = m->vsize,
		    .internaldate = m->internaldate,
		    .uid = m->uid,
		    .keywords = m->keywords,
		    .name_off = (uint32_t)off,
		    .base_len = m->base_len,
		    .flags = m->flags,
		};

		memcpy(buf + sizeof(h) + (size_t)i * sizeof(r), &r, sizeof(r));
		memcpy(buf + sizeof(h) + recs + off, m->name, n);
		off += n;
	}
	h.pool_len = pool_len;
	h.sum = snapshot_sum(buf + sizeof(h), recs + pool_len);
	memcpy(buf, &h, sizeof(h));
	*len_r = sizeof(h) + recs + (size_t)pool_len;
	return buf;
}

void mbox_snapshot_write_msgs(int dir_fd, const struct mbox_msg *msgs, uint32_t count,
                              const struct mbox_index_folder *fi)
{
	char tmp[64];
	size_t len;
	unsigned char *buf;
	int fd;

	if (count < MBOX_SNAPSHOT_MIN_MESSAGES || fi->msgs_gen == 0)
		return;
	buf = snapshot_build(msgs, count, fi, &len);
	if (buf == NULL)
		return;
	/* Two sessions may write at once: each its own temporary file, the last rename wins,
	   and both describe the same stamp. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.%p", MBOX_SNAPSHOT_FILE, (long)getpid(), (void *)msgs);
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		bool ok = fd_write_all(fd, buf, len) == 0;

		if (close(fd) < 0)
			ok = false;
		if (!ok || renameat(dir_fd, tmp, dir_fd, MBOX_SNAPSHOT_FILE) < 0)
			(void)unlinkat(dir_fd, tmp, 0);
	}
	free(buf);
}

void mbox_snapshot_write(struct mbox *mb)
{
	mbox_snapshot_write_msgs(mb->dir_fd, mb->msgs, mb->count, &mb->fi);
}
