#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "resolve.h"

/* Targets visited in all, per distinct target allowed. */
#define RESOLVE_VISIT_FACTOR 10

/* How one rule went. */
enum resolve_step {
	RESOLVE_STEP_MISS, /* nothing by that name: on to the next rule */
	RESOLVE_STEP_DONE, /* the name decided: targets added, skipped or dropped */
	RESOLVE_STEP_STOP, /* the resolution is over; res->status says why */
};

/* The aliases being expanded, innermost first. */
struct resolve_path {
	const struct resolve_path *up;
	const struct address *addr;
};

struct resolve_ctx {
	struct accounts_db *db;
	struct resolve_result *res;
	size_t alloc;
	char delimiter;
	const char *postmaster;
	unsigned max_depth;
	size_t max_targets, visits, max_visits;
	bool stopped, out_of_memory, loop_cut, inactive_skipped;
};

/* The targets of one alias, copied out before any is expanded: the alias query is then
   finished before the nested lookups run. */
struct resolve_list {
	char **items;
	size_t count, alloc, limit;
	bool too_many, out_of_memory;
};

static enum resolve_step resolve_lookup(struct resolve_ctx *c, const struct address *addr,
                                        const struct resolve_path *path, unsigned depth);

static enum resolve_step resolve_stop(struct resolve_ctx *c, enum resolve_status status)
{
	if (!c->stopped) {
		c->stopped = true;
		c->res->status = status;
	}
	return RESOLVE_STEP_STOP;
}

static enum resolve_step resolve_out_of_memory(struct resolve_ctx *c)
{
	c->out_of_memory = true;
	return resolve_stop(c, RESOLVE_TEMPFAIL);
}

static bool resolve_caseeq(const char *a, const char *b)
{
	for (; *a != '\0'; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return false;
	}
	return *b == '\0';
}

static bool resolve_is_fail(const char *target)
{
	return strncmp(target, ADB_FAIL_PREFIX, strlen(ADB_FAIL_PREFIX)) == 0;
}

/* Add a final target unless the same one is there already. */
static enum resolve_step resolve_add(struct resolve_ctx *c, bool local, int64_t account_id,
                                     const char *address)
{
	struct resolve_result *r = c->res;
	struct resolve_target *t;
	size_t len = strlen(address);

	for (size_t i = 0; i < r->count; i++) {
		t = &r->targets[i];
		if (local ? t->local && t->account_id == account_id
		          : !t->local && resolve_caseeq(t->address, address))
			return RESOLVE_STEP_DONE;
	}
	if (r->count >= c->max_targets)
		return resolve_stop(c, RESOLVE_TOO_MANY);
	if (len >= sizeof(t->address))
		return resolve_stop(c, RESOLVE_TEMPFAIL); /* not from address_format(): a bug */
	if (r->count == c->alloc) {
		size_t alloc = c->alloc == 0 ? 8 : c->alloc * 2;
		void *p = reallocarray(r->targets, alloc, sizeof(*r->targets));

		if (p == NULL)
			return resolve_out_of_memory(c);
		r->targets = p;
		c->alloc = alloc;
	}
	t = &r->targets[r->count++];
	t->local = local;
	t->account_id = local ? account_id : 0;
	memcpy(t->address, address, len + 1);
	return RESOLVE_STEP_DONE;
}

/* Deliver to an account found by name. Disabled: the answer itself at the top, skipped
   inside an expansion. */
static enum resolve_step resolve_account(struct resolve_ctx *c, const struct adb_account *a,
                                         bool top)
{
	char address[sizeof(((struct resolve_target *)0)->address)];
	size_t llen = strlen(a->localpart), dlen = strlen(a->domain);

	if (!a->active) {
		if (top)
			return resolve_stop(c, RESOLVE_INACTIVE);
		c->inactive_skipped = true;
		return RESOLVE_STEP_DONE;
	}
	if (llen + 1 + dlen >= sizeof(address))
		return resolve_stop(c, RESOLVE_TEMPFAIL); /* the record sizes rule this out */
	memcpy(address, a->localpart, llen);
	address[llen] = '@';
	memcpy(address + llen + 1, a->domain, dlen + 1);
	return resolve_add(c, true, a->id, address);
}

/* Rule 2b: the account of that name, if there is one. */
static enum resolve_step resolve_try_account(struct resolve_ctx *c, const struct address *addr,
                                             bool top)
{
	struct adb_account a;
	enum resolve_step step;
	int ret;

	ret = accounts_db_account_get(c->db, addr->local, addr->domain, &a);
	if (ret == ADB_NOT_FOUND)
		return RESOLVE_STEP_MISS;
	if (ret != ADB_OK)
		return resolve_stop(c, RESOLVE_TEMPFAIL);
	step = resolve_account(c, &a, top);
	explicit_bzero(a.password_hash, sizeof(a.password_hash));
	return step;
}

/* ":fail: text" as the answer. The text was checked for length when it was stored; one
   edited by hand to be longer gets a plain reason instead. */
static enum resolve_step resolve_fail(struct resolve_ctx *c, const char *target)
{
	const char *text = target + strlen(ADB_FAIL_PREFIX);
	size_t len;

	while (*text == ' ' || *text == '\t')
		text++;
	len = strlen(text);
	if (len >= sizeof(c->res->fail_text)) {
		text = "address rejected";
		len = strlen(text);
	}
	memcpy(c->res->fail_text, text, len + 1);
	return resolve_stop(c, RESOLVE_FAIL);
}

/* Rule 3 for one target of an alias at level depth. */
static enum resolve_step resolve_target(struct resolve_ctx *c, const char *text,
                                        const struct resolve_path *path, unsigned depth)
{
	char remote[ADDRESS_FORMAT_MAX];
	struct address t;
	const char *error;
	int local;

	if (c->visits >= c->max_visits)
		return resolve_stop(c, RESOLVE_TOO_MANY);
	c->visits++;
	if (resolve_is_fail(text))
		return RESOLVE_STEP_DONE;
	/* alias_add stores only targets that parse; one that does not reaches nobody. */
	if (address_parse(text, strlen(text), true, &t, &error) < 0)
		return RESOLVE_STEP_DONE;
	local = accounts_db_domain_is_local(c->db, t.domain);
	if (local < 0)
		return resolve_stop(c, RESOLVE_TEMPFAIL);
	if (local == 0) {
		address_format(&t, remote, sizeof(remote));
		return resolve_add(c, false, 0, remote);
	}
	/* An unknown local target contributes nothing: MISS becomes DONE. */
	return resolve_lookup(c, &t, path, depth) == RESOLVE_STEP_STOP ? RESOLVE_STEP_STOP
	                                                               : RESOLVE_STEP_DONE;
}

/* Expand the targets of key, an alias at level depth + 1. may_fail: key's own alias, whose
   single ":fail:" target is the answer when key is the address asked about. */
static enum resolve_step resolve_expand(struct resolve_ctx *c, const struct address *key,
                                        const char *const *targets, size_t count,
                                        const struct resolve_path *path, unsigned depth,
                                        bool may_fail)
{
	const struct resolve_path node = {.up = path, .addr = key};

	if (depth >= c->max_depth)
		return resolve_stop(c, RESOLVE_LOOP);
	if (path == NULL && may_fail && count == 1 && resolve_is_fail(targets[0]))
		return resolve_fail(c, targets[0]);
	for (size_t i = 0; i < count; i++) {
		if (resolve_target(c, targets[i], &node, depth + 1) == RESOLVE_STEP_STOP)
			return RESOLVE_STEP_STOP;
	}
	return RESOLVE_STEP_DONE;
}

static int resolve_list_add(const char *target, void *ctx)
{
	struct resolve_list *list = ctx;

	if (list->count >= list->limit) {
		list->too_many = true;
		return 1;
	}
	if (list->count == list->alloc) {
		size_t alloc = list->alloc == 0 ? 4 : list->alloc * 2;
		void *p = reallocarray(list->items, alloc, sizeof(*list->items));

		if (p == NULL) {
			list->out_of_memory = true;
			return 1;
		}
		list->items = p;
		list->alloc = alloc;
	}
	if ((list->items[list->count] = strdup(target)) == NULL) {
		list->out_of_memory = true;
		return 1;
	}
	list->count++;
	return 0;
}

static void resolve_list_free(struct resolve_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
}

/* Rules 2a and 2e: the alias named key, if there is one. */
static enum resolve_step resolve_alias(struct resolve_ctx *c, const struct address *key,
                                       const struct resolve_path *path, unsigned depth)
{
	struct resolve_list list = {.limit = c->max_visits - c->visits};
	enum resolve_step step;
	int ret;

	ret = accounts_db_alias_targets(c->db, key->local, key->domain, resolve_list_add, &list);
	if (list.out_of_memory)
		step = resolve_out_of_memory(c);
	else if (ret == ADB_NOT_FOUND)
		step = RESOLVE_STEP_MISS;
	else if (ret != ADB_OK)
		step = resolve_stop(c, RESOLVE_TEMPFAIL);
	else if (list.too_many)
		step = resolve_stop(c, RESOLVE_TOO_MANY);
	else
		step = resolve_expand(c, key, (const char *const *)list.items, list.count, path,
		                      depth, true);
	resolve_list_free(&list);
	return step;
}

static bool resolve_on_path(const struct resolve_path *path, const struct address *addr)
{
	for (; path != NULL; path = path->up) {
		if (address_equal(path->addr, addr))
			return true;
	}
	return false;
}

/* Rules 2a and 2b for one name, and rule 3's loop cut. */
static enum resolve_step resolve_name(struct resolve_ctx *c, const struct address *addr,
                                      const struct resolve_path *path, unsigned depth)
{
	enum resolve_step step;

	if (resolve_on_path(path, addr)) {
		step = resolve_try_account(c, addr, false);
		if (step != RESOLVE_STEP_MISS)
			return step;
		c->loop_cut = true;
		return RESOLVE_STEP_DONE;
	}
	step = resolve_alias(c, addr, path, depth);
	if (step != RESOLVE_STEP_MISS)
		return step;
	return resolve_try_account(c, addr, path == NULL);
}

/* Rule 2c: addr with its local part cut at the first delimiter, if it has one. */
static bool resolve_strip(const struct resolve_ctx *c, const struct address *addr,
                          struct address *out)
{
	const char *cut;
	size_t len;

	if (c->delimiter == '\0' || addr->local[0] == '"')
		return false;
	cut = strchr(addr->local, c->delimiter);
	if (cut == NULL || cut == addr->local)
		return false;
	len = (size_t)(cut - addr->local);
	memcpy(out->local, addr->local, len);
	out->local[len] = '\0';
	memcpy(out->domain, addr->domain, sizeof(out->domain));
	return true;
}

/* Rules 2a-2c: what a name resolves to at the top and inside an expansion alike. */
static enum resolve_step resolve_lookup(struct resolve_ctx *c, const struct address *addr,
                                        const struct resolve_path *path, unsigned depth)
{
	struct address stripped;
	enum resolve_step step;

	step = resolve_name(c, addr, path, depth);
	if (step != RESOLVE_STEP_MISS || !resolve_strip(c, addr, &stripped))
		return step;
	return resolve_name(c, &stripped, path, depth);
}

/* Rule 2d: the configured postmaster address. */
static enum resolve_step resolve_postmaster(struct resolve_ctx *c, const struct address *addr)
{
	if (c->postmaster != NULL && c->postmaster[0] != '\0')
		return resolve_expand(c, addr, &c->postmaster, 1, NULL, 0, false);
	return RESOLVE_STEP_MISS;
}

/* Rule 2f: postmaster must always be deliverable (RFC 5321 4.5.1); with no alias, account,
   configured address or catch-all, the domain's oldest active account gets it. */
static enum resolve_step resolve_postmaster_fallback(struct resolve_ctx *c,
						     const struct address *addr)
{
	struct adb_account a;
	enum resolve_step step;
	int ret;

	ret = accounts_db_account_first_active(c->db, addr->domain, &a);
	if (ret == ADB_NOT_FOUND)
		return RESOLVE_STEP_MISS;
	if (ret != ADB_OK)
		return resolve_stop(c, RESOLVE_TEMPFAIL);
	step = resolve_account(c, &a, true);
	explicit_bzero(a.password_hash, sizeof(a.password_hash));
	return step;
}

/* Rule 2e: the catch-all alias, only ever for the address asked about. */
static enum resolve_step resolve_catchall(struct resolve_ctx *c, const struct address *addr)
{
	struct address key;

	key.local[0] = '\0';
	memcpy(key.domain, addr->domain, sizeof(key.domain));
	return resolve_alias(c, &key, NULL, 0);
}

static void resolve_ctx_init(struct resolve_ctx *c, struct accounts_db *db,
                             const struct resolve_config *cfg, struct resolve_result *res)
{
	memset(c, 0, sizeof(*c));
	c->db = db;
	c->res = res;
	c->delimiter = cfg->delimiter;
	c->postmaster = cfg->postmaster;
	c->max_depth = cfg->max_depth == 0 ? RESOLVE_DEFAULT_MAX_DEPTH : cfg->max_depth;
	if (c->max_depth > RESOLVE_MAX_DEPTH_LIMIT)
		c->max_depth = RESOLVE_MAX_DEPTH_LIMIT;
	c->max_targets = cfg->max_targets == 0 ? RESOLVE_DEFAULT_MAX_TARGETS : cfg->max_targets;
	c->max_visits = c->max_targets <= SIZE_MAX / RESOLVE_VISIT_FACTOR
	                    ? c->max_targets * RESOLVE_VISIT_FACTOR
	                    : SIZE_MAX;
}

/* Rule 2 for the address asked about. */
static enum resolve_step resolve_top(struct resolve_ctx *c, const struct address *addr)
{
	enum resolve_step step = resolve_lookup(c, addr, NULL, 0);

	if (step == RESOLVE_STEP_MISS && address_is_postmaster(addr))
		step = resolve_postmaster(c, addr);
	if (step == RESOLVE_STEP_MISS)
		step = resolve_catchall(c, addr);
	if (step == RESOLVE_STEP_MISS && address_is_postmaster(addr))
		step = resolve_postmaster_fallback(c, addr);
	return step;
}

static void resolve_finish(struct resolve_ctx *c, enum resolve_step step)
{
	struct resolve_result *r = c->res;

	if (!c->stopped) {
		if (step == RESOLVE_STEP_MISS || r->count == 0)
			r->status = c->inactive_skipped ? RESOLVE_INACTIVE
			            : c->loop_cut       ? RESOLVE_LOOP
			                                : RESOLVE_UNKNOWN_USER;
		else
			r->status = RESOLVE_OK;
	}
	if (r->status != RESOLVE_OK) {
		free(r->targets);
		r->targets = NULL;
		r->count = 0;
	}
}

int resolve_recipient(struct accounts_db *db, const struct resolve_config *cfg, const char *address,
                      struct resolve_result *result_r)
{
	struct resolve_ctx c;
	struct address addr;
	const char *error;
	int local;

	memset(result_r, 0, sizeof(*result_r));
	resolve_ctx_init(&c, db, cfg, result_r);
	if (address_parse(address, strlen(address), true, &addr, &error) < 0) {
		result_r->status = RESOLVE_UNKNOWN_USER;
		return 0;
	}
	local = accounts_db_domain_is_local(db, addr.domain);
	if (local <= 0) {
		result_r->status = local == 0 ? RESOLVE_NOT_LOCAL : RESOLVE_TEMPFAIL;
		return 0;
	}
	resolve_finish(&c, resolve_top(&c, &addr));
	return c.out_of_memory ? -1 : 0;
}

void resolve_result_clear(struct resolve_result *r)
{
	free(r->targets);
	memset(r, 0, sizeof(*r));
}
