#ifndef MAILD_ACCOUNTS_DB_H
#define MAILD_ACCOUNTS_DB_H

#include <stdbool.h>
#include <stdint.h>

/* accounts.db: domains, accounts and aliases in one SQLite file (WAL journal, foreign keys on,
   schema version in PRAGMA user_version). One handle belongs to one thread at a time.

   Names: domains are stored lowercased; local parts and domain names compare ignoring ASCII
   case everywhere (COLLATE NOCASE), so "Bob@Example.ORG" finds bob@example.org. Alias targets
   compare the same way. Text is always bound as a parameter, never pasted into SQL. */

/* The schema version this code reads and writes. */
#define ACCOUNTS_DB_VERSION 1
#define ACCOUNTS_DB_BUSY_TIMEOUT_MS 5000
/* An alias target that refuses mail: ":fail:" and a text for the SMTP reply. */
#define ADB_FAIL_PREFIX ":fail:"
/* Longest text after ":fail:", so that it fits one SMTP reply line (RFC 5321 4.5.3.1.5: 512
   octets) after the reply code, the enhanced status code and the address. */
#define ADB_FAIL_TEXT_MAX 400

struct accounts_db;

enum accounts_db_mode {
	ACCOUNTS_DB_READONLY,
	/* Creates the file and the schema when missing, migrates an older schema. */
	ACCOUNTS_DB_READWRITE,
};

/* What each query returns (as int). */
enum accounts_db_result {
	ADB_OK = 1,
	ADB_NOT_FOUND = 0,
	/* The database failed (I/O, corruption, a stored value that does not fit a record). */
	ADB_ERROR = -1,
	ADB_EXISTS = -2,
	/* Locked by another connection past the busy timeout: try again later. */
	ADB_BUSY = -3,
	/* Still referenced: a domain that has accounts. */
	ADB_IN_USE = -4,
	/* A name or value the schema refuses (not a mailbox, too long, control characters). */
	ADB_INVALID = -5,
};

struct adb_domain {
	int64_t id;
	char name[256];
	bool active;
	int64_t created; /* unix time */
	int64_t accounts;
	int64_t aliases; /* distinct alias addresses, the catch-all included */
};

struct adb_account {
	int64_t id;
	char localpart[260];
	char domain[256];
	char password_hash[512];
	uint64_t quota_bytes; /* 0 = unlimited */
	char real_name[256];
	bool active;
	int64_t created; /* unix time */
};

struct adb_alias {
	char address[520]; /* local@domain, or @domain for a catch-all */
	char target[1024]; /* an address, or ":fail: text" */
	int64_t created;
};

/* Listing callbacks: called once per row; a non-zero return stops the listing (which still
   returns ADB_OK). A callback may look other things up on the same handle. */
typedef int adb_domain_cb(const struct adb_domain *domain, void *ctx);
typedef int adb_account_cb(const struct adb_account *account, void *ctx);
typedef int adb_alias_cb(const struct adb_alias *alias, void *ctx);
typedef int adb_target_cb(const char *target, void *ctx);

/* Open (READWRITE: create and migrate) the database at path. 0 ok; -1 with *error_r an
   allocated one-line message ("PATH: database is corrupt: ...") that the caller frees with
   free(), NULL only when memory ran out.
   Every open runs PRAGMA quick_check once and refuses a corrupt file. A file of zero bytes is
   refused too (a truncated database is not silently replaced by an empty one); an existing
   file is never recreated or emptied. A schema newer than ACCOUNTS_DB_VERSION is refused, and so
   is a READONLY open of an older one (the READWRITE opener, the admin role, migrates it first).
   A READONLY reader still needs write access to PATH-shm, as every WAL reader does. */
int accounts_db_open(const char *path, enum accounts_db_mode mode, struct accounts_db **db_r,
                     char **error_r);
/* Close and free; accepts NULL, leaves *db NULL. */
void accounts_db_close(struct accounts_db **db);
/* PRAGMA quick_check: 0 ok, -1 with *error_r allocated as for accounts_db_open(). */
int accounts_db_check(struct accounts_db *db, char **error_r);
/* One line on the last result other than ADB_OK, for logs (it may quote names that were
   passed in: escape it). Valid until the next call on db. */
const char *accounts_db_last_error(struct accounts_db *db);
/* How long a query waits for another connection's lock before ADB_BUSY (default
   ACCOUNTS_DB_BUSY_TIMEOUT_MS). For tests and tools. */
void accounts_db_set_busy_timeout(struct accounts_db *db, int timeout_ms);

/* Domains. name must pass address_domain_valid(); it is stored lowercased.
   add: ADB_EXISTS if present. remove: ADB_IN_USE while it has accounts; its aliases go with it.
   is_local: 1 the domain is ours (active or not), 0 not, -1 error. */
int accounts_db_domain_add(struct accounts_db *db, const char *name);
int accounts_db_domain_remove(struct accounts_db *db, const char *name);
int accounts_db_domain_get(struct accounts_db *db, const char *name, struct adb_domain *domain_r);
int accounts_db_domain_list(struct accounts_db *db, adb_domain_cb *cb, void *ctx);
int accounts_db_domain_is_local(struct accounts_db *db, const char *name);

/* Accounts. add reads localpart, domain, password_hash, quota_bytes, real_name and active from
   *account and fills in id, created and the canonical domain; localpart@domain must pass
   address_parse_mailbox() without catch-all, password_hash and real_name must fit their
   buffers without control characters. ADB_NOT_FOUND when the domain does not exist,
   ADB_EXISTS when the account does. The setters and remove return ADB_NOT_FOUND for an
   unknown account. list takes a domain (ADB_NOT_FOUND if unknown) or NULL for all, ordered by
   domain and local part. first_active gives the oldest active account of a domain (the
   postmaster fallback). Removing an account leaves aliases that point to it. */
int accounts_db_account_add(struct accounts_db *db, struct adb_account *account);
int accounts_db_account_get(struct accounts_db *db, const char *localpart, const char *domain,
                            struct adb_account *account_r);
int accounts_db_account_list(struct accounts_db *db, const char *domain, adb_account_cb *cb,
                             void *ctx);
int accounts_db_account_set_password(struct accounts_db *db, const char *localpart,
                                     const char *domain, const char *password_hash);
int accounts_db_account_set_quota(struct accounts_db *db, const char *localpart, const char *domain,
                                  uint64_t quota_bytes);
int accounts_db_account_set_active(struct accounts_db *db, const char *localpart,
                                   const char *domain, bool active);
int accounts_db_account_remove(struct accounts_db *db, const char *localpart, const char *domain);
int accounts_db_account_first_active(struct accounts_db *db, const char *domain,
                                     struct adb_account *account_r);

/* Aliases: localpart "" is the catch-all @domain. A target is ":fail: text" (text at most
   ADB_FAIL_TEXT_MAX octets, no control characters) or an address that address_parse() accepts
   with UTF-8; addresses are stored with their domain lowercased and no trailing dot.
   add: ADB_NOT_FOUND without the domain, ADB_EXISTS for a pair already present.
   remove: one target, or every target of the alias when target is NULL; ADB_NOT_FOUND when
   nothing matched. list: a domain (ADB_NOT_FOUND if unknown) or NULL for all, one row per
   target. targets: the targets of exactly localpart@domain in the order they were added,
   ADB_OK if there was at least one, else ADB_NOT_FOUND. */
int accounts_db_alias_add(struct accounts_db *db, const char *localpart, const char *domain,
                          const char *target);
int accounts_db_alias_remove(struct accounts_db *db, const char *localpart, const char *domain,
                             const char *target);
int accounts_db_alias_list(struct accounts_db *db, const char *domain, adb_alias_cb *cb, void *ctx);
int accounts_db_alias_targets(struct accounts_db *db, const char *localpart, const char *domain,
                              adb_target_cb *cb, void *ctx);

#endif
