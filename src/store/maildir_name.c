#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "../core/strutil.h"
#include "maildir_name.h"

/* Standard flags (DFPRST) plus Dovecot's keyword letters a-z: at most 52 distinct letters. */
#define MAILDIR_FLAGS_MAX 52

static pthread_once_t maildir_host_once = PTHREAD_ONCE_INIT;
static char maildir_host[MAILDIR_NAME_HOST_MAX + 1];
static atomic_uint_fast64_t maildir_name_seq;

int maildir_name_escape_host(const char *host, char *out, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return -1;
	for (const char *p = host; *p != '\0'; p++) {
		const char *esc = *p == '/' ? "\\057" : *p == ':' ? "\\072" : NULL;
		size_t n = esc != NULL ? 4 : 1;

		if (o + n > MAILDIR_NAME_HOST_MAX)
			break;
		if (o + n >= size) {
			out[0] = '\0';
			return -1;
		}
		memcpy(out + o, esc != NULL ? esc : p, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

static void maildir_host_init(void)
{
	char host[256];

	/* gethostname() need not terminate a truncated name. */
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (host[0] == '\0')
		(void)str_copy(host, sizeof(host), "localhost");
	(void)maildir_name_escape_host(host, maildir_host, sizeof(maildir_host));
}

int maildir_name_unique_at(const struct timeval *now, char *base_r, size_t size)
{
	/* The counter, not the time, makes two names of one process differ. */
	uint_fast64_t q = atomic_fetch_add(&maildir_name_seq, 1) + 1;

	(void)pthread_once(&maildir_host_once, maildir_host_init);
	return str_printf(base_r, size, "%lld.M%ldP%ldQ%llu.%s", (long long)now->tv_sec,
			  (long)now->tv_usec, (long)getpid(), (unsigned long long)q,
			  maildir_host) < 0
		       ? -1
		       : 0;
}

int maildir_name_unique(char *base_r, size_t size)
{
	struct timeval now;

	(void)gettimeofday(&now, NULL);
	return maildir_name_unique_at(&now, base_r, size);
}

static int maildir_is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Maildir spec: flags "must be stored in ASCII order". Sorted, duplicates dropped. */
static int maildir_flags_sort(const char *flags, char *out)
{
	size_t n = 0;

	for (const char *p = flags; *p != '\0'; p++) {
		size_t i = 0;

		if (!maildir_is_letter(*p))
			return -1;
		while (i < n && out[i] < *p)
			i++;
		if (i < n && out[i] == *p)
			continue;
		memmove(out + i + 1, out + i, n - i);
		out[i] = *p;
		n++;
	}
	out[n] = '\0';
	return 0;
}

int maildir_name_final(const char *base, uint64_t msg_size, uint64_t vsize, const char *flags,
		       char *name_r, size_t size)
{
	char sorted[MAILDIR_FLAGS_MAX + 1];

	if (flags == NULL)
		return str_printf(name_r, size, "%s,S=%llu,W=%llu", base,
				  (unsigned long long)msg_size, (unsigned long long)vsize) < 0
			       ? -1
			       : 0;
	if (maildir_flags_sort(flags, sorted) < 0)
		return -1;
	return str_printf(name_r, size, "%s,S=%llu,W=%llu:2,%s", base,
			  (unsigned long long)msg_size, (unsigned long long)vsize, sorted) < 0
		       ? -1
		       : 0;
}

/* A decimal number filling exactly len bytes, without overflow. */
static int maildir_parse_u64(const char *p, size_t len, uint64_t *value_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*value_r = v;
	return 1;
}

static void maildir_name_field(const char *f, size_t len, struct maildir_name_info *info)
{
	uint64_t v;

	if (len < 3 || f[1] != '=')
		return;
	if (f[0] == 'S' && !info->has_size && maildir_parse_u64(f + 2, len - 2, &v)) {
		info->has_size = true;
		info->size = v;
	} else if (f[0] == 'W' && !info->has_vsize && maildir_parse_u64(f + 2, len - 2, &v)) {
		info->has_vsize = true;
		info->vsize = v;
	}
}

/* Comma fields of the base: "<unique>,S=1,W=2,U=3". Fields before the first comma are the
   unique part and never hold sizes. */
static void maildir_name_fields(const char *name, size_t len, struct maildir_name_info *info)
{
	const char *end = name + len;
	const char *p = memchr(name, ',', len);

	while (p != NULL) {
		const char *field = p + 1;
		const char *next = memchr(field, ',', (size_t)(end - field));

		maildir_name_field(field, (size_t)((next != NULL ? next : end) - field), info);
		p = next;
	}
}

int maildir_name_parse(const char *name, struct maildir_name_info *info_r)
{
	const char *colon;

	memset(info_r, 0, sizeof(*info_r));
	info_r->flags = "";
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return 0;
	/* Our host part has ':' escaped, so the first ':' starts the info. */
	colon = strchr(name, ':');
	info_r->base_len = colon != NULL ? (size_t)(colon - name) : strlen(name);
	if (colon != NULL && colon[1] == '2' && colon[2] == ',') {
		info_r->has_info = true;
		info_r->flags = colon + 3;
	}
	maildir_name_fields(name, info_r->base_len, info_r);
	return 1;
}

/* The decimal number at *p (advanced past it); false when there is none or it overflows. */
static bool name_number(const char **p, uint64_t *value_r)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s++ - '0');
	}
	*p = s;
	*value_r = v;
	return true;
}

/* The seconds and, when the name has one right after them, the ".M<usec>" part. */
static int name_time(const char *name, uint64_t *sec_r, uint64_t *usec_r)
{
	const char *p = name;

	if (!name_number(&p, sec_r) || *p != '.')
		return 0;
	p++;
	if (*p == 'M') {
		p++;
		if (name_number(&p, usec_r))
			return 2;
	}
	return 1;
}

void maildir_delivery_key(const char *name, struct maildir_delivery_key *key_r)
{
	key_r->sec = key_r->usec = 0;
	key_r->kind = name_time(name, &key_r->sec, &key_r->usec);
	key_r->name = name;
}

int maildir_delivery_key_cmp(const struct maildir_delivery_key *a,
                             const struct maildir_delivery_key *b)
{
	if (a->kind > 0 && b->kind > 0) {
		if (a->sec != b->sec)
			return a->sec < b->sec ? -1 : 1;
		if (a->kind == 2 && b->kind == 2 && a->usec != b->usec)
			return a->usec < b->usec ? -1 : 1;
	}
	return strcmp(a->name, b->name);
}

int maildir_name_cmp_delivery(const char *a, const char *b)
{
	struct maildir_delivery_key ka, kb;

	maildir_delivery_key(a, &ka);
	maildir_delivery_key(b, &kb);
	return maildir_delivery_key_cmp(&ka, &kb);
}
