#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dir_sync.h"

/* The fsync under test is ours: it counts, can be held at a gate until the test opens it, can
   fail on a chosen call, and records what each call could have made durable. No disk I/O. */

#define STRESS_THREADS 16
#define STRESS_ROUNDS 300
#define STRESS_DIRS 2

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cond = PTHREAD_COND_INITIALIZER;
static unsigned int fake_calls;     /* fsyncs started */
static unsigned int fake_completed; /* fsyncs finished */
static unsigned int fake_hold_call; /* this call waits at the gate; 0: none */
static bool fake_gate_open;
static unsigned int fake_fail_call; /* this call fails with EIO; 0: none */
static ino_t fake_last_ino;

/* The stress test's model of a directory: renames done, and the highest count of them that a
   finished fsync had seen when it started (those are durable). */
struct model_dir {
	char path[64];
	atomic_uint renames;
	atomic_uint durable;
};
static struct model_dir model[STRESS_DIRS];
static atomic_uint model_violations;
static bool model_on;

static struct model_dir *model_of(int dir_fd)
{
	struct stat st, mst;

	if (fstat(dir_fd, &st) < 0)
		return NULL;
	for (int i = 0; i < STRESS_DIRS; i++) {
		if (stat(model[i].path, &mst) == 0 && mst.st_ino == st.st_ino)
			return &model[i];
	}
	return NULL;
}

static int fake_fsync(int dir_fd)
{
	struct model_dir *m = model_on ? model_of(dir_fd) : NULL;
	unsigned int seen = m != NULL ? atomic_load(&m->renames) : 0;
	unsigned int call, durable;
	struct stat st;
	bool fail;

	(void)pthread_mutex_lock(&fake_lock);
	call = ++fake_calls;
	if (fstat(dir_fd, &st) == 0)
		fake_last_ino = st.st_ino;
	pthread_cond_broadcast(&fake_cond);
	while (call == fake_hold_call && !fake_gate_open)
		pthread_cond_wait(&fake_cond, &fake_lock);
	fail = call == fake_fail_call;
	(void)pthread_mutex_unlock(&fake_lock);
	if (m != NULL) {
		/* Give others time to rename while this "fsync" runs: they must not count on it. */
		sched_yield();
		durable = atomic_load(&m->durable);
		while (durable < seen && !atomic_compare_exchange_weak(&m->durable, &durable, seen))
			;
	}
	(void)pthread_mutex_lock(&fake_lock);
	fake_completed++;
	pthread_cond_broadcast(&fake_cond);
	(void)pthread_mutex_unlock(&fake_lock);
	if (fail) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static struct dir_sync group = DIR_SYNC_INIT(fake_fsync);

static char test_dir[64], other_dir[64];

static int setup(void **state)
{
	(void)state;
	(void)strcpy(test_dir, "/tmp/dir-sync-XXXXXX");
	(void)strcpy(other_dir, "/tmp/dir-sync-XXXXXX");
	if (mkdtemp(test_dir) == NULL || mkdtemp(other_dir) == NULL)
		return -1;
	fake_calls = fake_completed = fake_hold_call = fake_fail_call = 0;
	fake_gate_open = false;
	model_on = false;
	group.syncs = group.waits = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	(void)rmdir(test_dir);
	(void)rmdir(other_dir);
	return 0;
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* ----- a caller on a thread, with its own fd, as each delivery has ----- */

struct caller {
	pthread_t thread;
	const char *dir;
	int ret;
	int err;
	unsigned int completed_at_return;
};

static void *caller_run(void *arg)
{
	struct caller *c = arg;
	int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	c->ret = dir_sync_wait(&group, fd);
	c->err = c->ret < 0 ? errno : 0;
	(void)pthread_mutex_lock(&fake_lock);
	c->completed_at_return = fake_completed;
	(void)pthread_mutex_unlock(&fake_lock);
	(void)close(fd);
	return NULL;
}

static void caller_start(struct caller *c, const char *dir)
{
	c->dir = dir;
	assert_int_equal(pthread_create(&c->thread, NULL, caller_run, c), 0);
}

static void caller_join(struct caller *c)
{
	assert_int_equal(pthread_join(c->thread, NULL), 0);
}

static void wait_fsync_started(unsigned int call)
{
	(void)pthread_mutex_lock(&fake_lock);
	while (fake_calls < call)
		pthread_cond_wait(&fake_cond, &fake_lock);
	(void)pthread_mutex_unlock(&fake_lock);
}

static void open_gate(void)
{
	(void)pthread_mutex_lock(&fake_lock);
	fake_gate_open = true;
	pthread_cond_broadcast(&fake_cond);
	(void)pthread_mutex_unlock(&fake_lock);
}

/* Until n callers sleep in the queue of dir: they are then known to wait for the next fsync. */
static void wait_queued(const char *dir, size_t n)
{
	int fd = open_dir(dir);

	while (dir_sync_queued(&group, fd) < n)
		(void)usleep(1000);
	(void)close(fd);
}

/* ----- tests ----- */

static void test_a_lone_caller_syncs_its_directory_once(void **state)
{
	int fd = open_dir(test_dir);

	(void)state;
	assert_int_equal(dir_sync_wait(&group, fd), 0);
	assert_int_equal(fake_calls, 1);
	assert_int_equal(group.waits, 1);
	/* Nothing is kept once nobody waits. */
	assert_null(group.dirs);
	assert_int_equal(dir_sync_queued(&group, fd), 0);
	(void)close(fd);
}

static void test_callers_arriving_during_an_fsync_share_the_next_one(void **state)
{
	struct caller first = { 0 }, later[3] = { { 0 } };

	(void)state;
	fake_hold_call = 1;
	caller_start(&first, test_dir);
	wait_fsync_started(1);
	for (int i = 0; i < 3; i++)
		caller_start(&later[i], test_dir);
	wait_queued(test_dir, 3);
	/* The running fsync began before their renames: none of them may return on it. */
	open_gate();
	caller_join(&first);
	for (int i = 0; i < 3; i++) {
		caller_join(&later[i]);
		assert_int_equal(later[i].ret, 0);
		assert_int_equal(later[i].completed_at_return, 2);
	}
	assert_int_equal(first.ret, 0);
	/* Four callers, two fsyncs: the three late ones shared one. */
	assert_int_equal(fake_calls, 2);
	assert_int_equal(group.waits, 4);
	assert_null(group.dirs);
}

static void test_a_failed_fsync_fails_its_whole_batch_and_no_later_caller(void **state)
{
	struct caller first = { 0 }, batch[3] = { { 0 } }, after = { 0 };

	(void)state;
	fake_hold_call = 1;
	fake_fail_call = 2;
	caller_start(&first, test_dir);
	wait_fsync_started(1);
	for (int i = 0; i < 3; i++)
		caller_start(&batch[i], test_dir);
	wait_queued(test_dir, 3);
	open_gate();
	caller_join(&first);
	assert_int_equal(first.ret, 0);
	for (int i = 0; i < 3; i++) {
		caller_join(&batch[i]);
		assert_int_equal(batch[i].ret, -1);
		assert_int_equal(batch[i].err, EIO);
	}
	caller_start(&after, test_dir);
	caller_join(&after);
	assert_int_equal(after.ret, 0);
	assert_int_equal(fake_calls, 3);
}

static void test_different_directories_do_not_wait_for_each_other(void **state)
{
	struct caller held = { 0 }, other = { 0 };
	struct stat st;

	(void)state;
	fake_hold_call = 1;
	caller_start(&held, test_dir);
	wait_fsync_started(1);
	/* Would hang here if the other directory's caller queued behind the held fsync. */
	caller_start(&other, other_dir);
	caller_join(&other);
	assert_int_equal(other.ret, 0);
	assert_int_equal(stat(other_dir, &st), 0);
	assert_int_equal(fake_last_ino, st.st_ino);
	open_gate();
	caller_join(&held);
	assert_int_equal(held.ret, 0);
	assert_int_equal(fake_calls, 2);
}

static void test_a_bad_fd_is_an_error_without_an_fsync(void **state)
{
	(void)state;
	assert_int_equal(dir_sync_wait(&group, -1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fake_calls, 0);
}

static void *stress_run(void *arg)
{
	struct model_dir *m = arg;
	int fd = open(m->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	for (int i = 0; i < STRESS_ROUNDS; i++) {
		/* "Rename" number r into the directory: done once the counter has reached r. */
		unsigned int r = atomic_fetch_add(&m->renames, 1) + 1;

		if (dir_sync_wait(&group, fd) < 0 || atomic_load(&m->durable) < r)
			atomic_fetch_add(&model_violations, 1);
	}
	(void)close(fd);
	return NULL;
}

/* Every caller returns only after an fsync that started after its rename has finished, with
   many threads on two directories and fsyncs constantly overlapping the renames. */
static void test_no_caller_returns_before_an_fsync_that_saw_its_rename(void **state)
{
	pthread_t threads[STRESS_THREADS];
	unsigned int calls = STRESS_THREADS * STRESS_ROUNDS;

	(void)state;
	(void)strcpy(model[0].path, test_dir);
	(void)strcpy(model[1].path, other_dir);
	for (int i = 0; i < STRESS_DIRS; i++) {
		atomic_store(&model[i].renames, 0);
		atomic_store(&model[i].durable, 0);
	}
	atomic_store(&model_violations, 0);
	model_on = true;
	for (int i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, stress_run,
						&model[i % STRESS_DIRS]),
				 0);
	for (int i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	model_on = false;
	assert_int_equal(atomic_load(&model_violations), 0);
	assert_int_equal(group.waits, calls);
	assert_true(group.syncs <= calls);
	assert_int_equal(group.syncs, fake_calls);
	assert_null(group.dirs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_lone_caller_syncs_its_directory_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_callers_arriving_during_an_fsync_share_the_next_one, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_failed_fsync_fails_its_whole_batch_and_no_later_caller, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_different_directories_do_not_wait_for_each_other,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_bad_fd_is_an_error_without_an_fsync, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_no_caller_returns_before_an_fsync_that_saw_its_rename, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
