/* The outbound queue's files (see queue_store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/strutil.h"
#include "queue_store.h"
#include "smtp_cmd.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The whole of src (from offset 0) into dst, in the kernel when it can. */
static int copy_fd(int src, int dst, uint64_t *size_r)
{
	loff_t in_off = 0;
	char buf[65536];

	for (;;) {
		ssize_t n = copy_file_range(src, &in_off, dst, NULL, 1 << 30, 0);

		if (n == 0)
			break;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -1;
		/* No kernel copy between these files: the long way from where it stopped. */
		for (;;) {
			ssize_t r = pread(src, buf, sizeof(buf), in_off);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0)
				break;
			if (write_all(dst, buf, (size_t)r) < 0)
				return -1;
			in_off += r;
		}
		break;
	}
	*size_r = (uint64_t)in_off;
	return 0;
}

static json_t *notify_json(unsigned notify)
{
	json_t *a = json_array();

	if (notify & SMTP_NOTIFY_NEVER)
		json_array_append_new(a, json_string("NEVER"));
	if (notify & SMTP_NOTIFY_SUCCESS)
		json_array_append_new(a, json_string("SUCCESS"));
	if (notify & SMTP_NOTIFY_FAILURE)
		json_array_append_new(a, json_string("FAILURE"));
	if (notify & SMTP_NOTIFY_DELAY)
		json_array_append_new(a, json_string("DELAY"));
	return a;
}

static char *envelope_json(const struct queue_envelope *env, uint64_t size)
{
	json_t *rcpts = json_array();
	json_t *root;
	char *text;

	for (size_t i = 0; i < env->count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];

		json_array_append_new(rcpts, json_pack("{s:s, s:s, s:o, s:s, s:s}", "address",
						       r->address, "orig_to", r->orig_to, "notify",
						       notify_json(r->notify), "orcpt", r->orcpt,
						       "status", "queued"));
	}
	root = json_pack("{s:i, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:o}", "version", 1, "id",
			 env->id, "sender", env->sender, "arrival_ms", (json_int_t)env->arrival_ms,
			 "size", (json_int_t)size, "ret",
			 env->ret == SMTP_RET_FULL	  ? "FULL"
			 : env->ret == SMTP_RET_HDRS ? "HDRS"
						     : "",
			 "envid", env->envid, "auth", env->auth_user, "recipients", rcpts);
	if (root == NULL)
		return NULL;
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(root);
	return text;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int queue_store_add(const char *queue_dir, int msg_fd, const struct queue_envelope *env,
		    uint64_t *size_r, const char **error_r)
{
	char eml[PATH_MAX], tmp[PATH_MAX], envp[PATH_MAX];
	char *text = NULL;
	int fd = -1;

	if (str_printf(eml, sizeof(eml), "%s/%s.eml", queue_dir, env->id) < 0 ||
	    str_printf(tmp, sizeof(tmp), "%s/%s.env.tmp", queue_dir, env->id) < 0 ||
	    str_printf(envp, sizeof(envp), "%s/%s.env", queue_dir, env->id) < 0) {
		*error_r = "queue path too long";
		return -1;
	}
	fd = open(eml, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (copy_fd(msg_fd, fd, size_r) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail_unlink;
	}
	text = envelope_json(env, *size_r);
	if (text == NULL) {
		errno = ENOMEM;
		goto fail_unlink;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
	    fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		(void)unlink(tmp);
		goto fail_unlink;
	}
	fd = -1;
	if (rename(tmp, envp) < 0 || fsync_dir(queue_dir) < 0) {
		(void)unlink(tmp);
		(void)unlink(envp);
		goto fail_unlink;
	}
	free(text);
	return 0;
fail_unlink:
	(void)unlink(eml);
fail:
	*error_r = strerror(errno);
	if (fd >= 0)
		close(fd);
	free(text);
	return -1;
}

unsigned queue_store_sweep(const char *queue_dir)
{
	DIR *d = opendir(queue_dir);
	struct dirent *e;
	unsigned removed = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char base[NAME_MAX + 1], env[PATH_MAX], path[PATH_MAX];
		size_t len = strlen(e->d_name);
		struct stat st;

		if (len > 8 && strcmp(e->d_name + len - 8, ".env.tmp") == 0) {
			if (str_printf(path, sizeof(path), "%s/%s", queue_dir, e->d_name) == 0 &&
			    unlink(path) == 0)
				removed++;
			continue;
		}
		if (len <= 4 || strcmp(e->d_name + len - 4, ".eml") != 0)
			continue;
		memcpy(base, e->d_name, len - 4);
		base[len - 4] = '\0';
		if (str_printf(env, sizeof(env), "%s/%s.env", queue_dir, base) < 0 ||
		    str_printf(path, sizeof(path), "%s/%s", queue_dir, e->d_name) < 0)
			continue;
		if (stat(env, &st) < 0 && errno == ENOENT && unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
