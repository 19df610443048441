/* mbox_sync_bench: how long the mailbox library takes to open and sync a big folder.

   Build (not built by default):  ninja -C build tests/unit/mbox_sync_bench
   Make a folder:  ../shared/bench/gen_maildir.py --count 100000 --maildir /tmp/box
   Run:            build/tests/unit/mbox_sync_bench /tmp/box

   Phases: first open without an index (UIDs assigned to every file, uid list and index
   written), open with the index, sync with nothing changed (full listing of cur/ compared
   against memory, and the mtime fast path), sync after another program renamed 100 files.
   Prints wall-clock milliseconds and the resident memory the open folder adds. */

#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mbox.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Bytes allocated with malloc right now. */
static size_t heap_bytes(void)
{
	return mallinfo2().uordblks;
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static struct mbox *open_or_die(const char *root, const char *what, double *ms_r)
{
	struct mbox *mb;
	char *error;
	double t = now_ms();

	if (mbox_open(root, "", &mb, &error) < 0) {
		fprintf(stderr, "%s: %s\n", what, error);
		exit(1);
	}
	*ms_r = now_ms() - t;
	return mb;
}

static void remove_index(const char *root)
{
	static const char *const files[] = {"maild-index.sqlite", "maild-index.sqlite-wal",
	                                    "maild-index.sqlite-shm", "maild-uidlist"};
	char path[4096];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		(void)unlink(path);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double sync_ms(struct mbox *mb, unsigned flags, size_t *changed_r)
{
	struct mbox_changes ch;
	double t = now_ms();

	if (mbox_sync(mb, flags, &ch) < 0) {
		fprintf(stderr, "sync: %s\n", mbox_error(mb));
		exit(1);
	}
	t = now_ms() - t;
	if (changed_r != NULL)
		*changed_r = ch.changed_count + ch.added_count + ch.expunged_count;
	mbox_changes_free(&ch);
	return t;
}

/* Another program (mutt, say) marks count messages \Flagged by renaming their files. */
static void rename_some(struct mbox *mb, const char *root, uint32_t count)
{
	char from[4096], to[4096];
	struct mbox_msg_info info;

	srand((unsigned)time(NULL));
	for (uint32_t done = 0, tries = 0; done < count && tries < 100 * count; tries++) {
		mbox_msg(mb, (uint32_t)rand() % mbox_count(mb) + 1, &info);
		if ((info.flags & MBOX_FLAG_FLAGGED) != 0)
			continue;
		done++;
		snprintf(from, sizeof(from), "%s/cur/%s", root, info.name);
		snprintf(to, sizeof(to), "%s/cur/%sF", root, info.name);
		if (rename(from, to) < 0)
			perror(from);
	}
}

int main(int argc, char **argv)
{
	double t, runs[7];
	struct mbox *mb;
	long rss0, rss1;
	size_t heap0, heap1;
	size_t changed;
	const char *root;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MAILDIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	remove_index(root);
	rss0 = rss_kib();
	mb = open_or_die(root, "first open", &t);
	printf("messages: %u\n", mbox_count(mb));
	printf("first open, no index (UIDs for every file, uid list and index written): %.0f ms\n",
	       t);
	mbox_close(&mb);

	rss0 = rss_kib();
	heap0 = heap_bytes();
	mb = open_or_die(root, "open", &t);
	heap1 = heap_bytes();
	rss1 = rss_kib();
	printf("open with index (load + forced sync): %.1f ms\n", t);
	printf("heap held by the open folder: %zu KiB (%.0f bytes/message, names and hash table "
	       "included; SQLite's page cache included); RSS grew %ld KiB\n",
	       (heap1 - heap0) / 1024,
	       (double)(heap1 - heap0) / (mbox_count(mb) ? mbox_count(mb) : 1), rss1 - rss0);

	for (int i = 0; i < 7; i++)
		runs[i] = sync_ms(mb, MBOX_SYNC_FORCE, NULL);
	qsort(runs, 7, sizeof(runs[0]), cmp_double);
	printf("sync, nothing changed, full listing (median of 7): %.1f ms (min %.1f, max %.1f)\n",
	       runs[3], runs[0], runs[6]);
	sleep(2); /* let the directory mtimes age past the fast path's one-second window */
	(void)sync_ms(mb, 0, NULL);
	for (int i = 0; i < 7; i++)
		runs[i] = sync_ms(mb, 0, NULL);
	qsort(runs, 7, sizeof(runs[0]), cmp_double);
	printf("sync, nothing changed, mtime fast path (median of 7): %.3f ms\n", runs[3]);

	rename_some(mb, root, 100);
	t = sync_ms(mb, 0, &changed);
	printf("sync after 100 external renames: %.1f ms (%zu changes)\n", t, changed);
	mbox_close(&mb);
	return 0;
}
