#include <string.h>

#include "config.h"

/*
 * Every setting maild reads from its config file. Adding a setting is one row here, placed so
 * the table stays sorted by name (strcmp order: '.' < '_' < letters); config_load() aborts on a
 * table out of order, and the unit tests check it too.
 */

#define R(role) ROLE_BIT(ROLE_##role)

#define KIB 1024ull
#define GIB (1024 * 1024 * KIB)
#define MSEC 1ull
#define SEC (1000 * MSEC)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static const char *const auth_backends[] = {"accounts", "saslauthd", NULL};
static const char *const log_levels[] = {"debug", "info", "notice", "warning", "error", NULL};

static int validate_recipient_delimiter(const char *value, const char **error_r)
{
	if (value[0] == '\0' || (value[1] == '\0' && strchr("+-_.=", value[0]) != NULL))
		return 0;
	*error_r = "must be empty or one of the characters + - _ . =";
	return -1;
}

static int validate_address(const char *value, const char **error_r)
{
	const char *at = strchr(value, '@');

	if (value[0] == '\0')
		return 0;
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			*error_r = "an address may not contain spaces or control characters";
			return -1;
		}
	}
	if (at == NULL || at == value || at[1] == '\0' || strchr(at + 1, '@') != NULL) {
		*error_r = "must be empty or an address local@domain";
		return -1;
	}
	return 0;
}

const struct config_key config_keys[] = {
    {"accounts.alias_max_depth", CONFIG_UINT, "10", R(ACCOUNTS), .min = 1, .max = 100,
     .help = "How many alias hops a recipient may go through before it is rejected"},
    {"accounts.auth_cache_ttl", CONFIG_DURATION, "5m", R(ACCOUNTS), .min = 0, .max = 24 * HOUR,
     .help = "How long a successful login is remembered, so the same password skips the slow "
             "hash (kept as a keyed MAC in the accounts process, never the password); 0: off"},
    {"accounts.auth_failure_delay", CONFIG_DURATION, "1s", R(ACCOUNTS) | R(SMTP), .min = 0,
     .max = 1 * MIN,
     .help = "Wait before answering a failed login; doubles with each further failure from "
             "the same address"},
    {"accounts.auth_failure_delay_max", CONFIG_DURATION, "15s", R(ACCOUNTS) | R(SMTP), .min = 0,
     .max = 5 * MIN, .help = "Longest wait before answering a failed login"},
    {"accounts.auth_failure_window", CONFIG_DURATION, "15m", R(ACCOUNTS) | R(SMTP), .min = 1 * SEC,
     .max = 24 * HOUR,
     .help = "How long failed logins from one address are remembered, from the first one"},
    {"accounts.auth_failures_max", CONFIG_UINT, "10", R(ACCOUNTS) | R(SMTP), .min = 1, .max = 100000,
     .help = "Failed logins from one address within the window after which its logins are "
             "refused (SMTP 454 4.7.0, IMAP NO [UNAVAILABLE]) until the window ends"},
    {"accounts.postmaster", CONFIG_STRING, "", R(ACCOUNTS), .validate = validate_address,
     .help = "Address that receives mail for postmaster@ of every domain; empty: no redirect"},
    {"accounts.recipient_delimiter", CONFIG_STRING, "+", R(ACCOUNTS),
     .validate = validate_recipient_delimiter,
     .help = "Character separating a local part from its extension (user+tag); empty: none"},
    {"admin.group", CONFIG_GROUP, "maild-admin", R(ADMIN),
     .help = "Group whose members may use the admin socket"},
    {"admin.socket", CONFIG_PATH, "/run/maild/admin.sock", R(ADMIN),
     .help = "Path of the admin socket that mailctl talks to"},
    {"hostname", CONFIG_STRING, "", ROLE_ALL,
     .help = "Host name used in greetings, Received: headers and Maildir names; empty: the "
             "system host name"},
    {"imap.allow_plaintext_auth_loopback", CONFIG_BOOL, "no", R(IMAP),
     .help = "Allow LOGIN and AUTHENTICATE without TLS from 127.0.0.0/8 and ::1 (webmail on the "
             "same host); never from elsewhere"},
    {"imap.autologout_timeout", CONFIG_DURATION, "30m", R(IMAP), .min = 1 * SEC, .max = 24 * HOUR,
     .help = "Time a logged-in client may stay silent between commands (RFC 9051 wants at least "
             "30 minutes; IDLE is not affected)"},
    {"imap.fts_background_min", CONFIG_UINT, "1000", R(IMAP), .min = 0, .max = 100000000,
     .help = "Messages a selected folder needs for its full-text index to be built in the "
             "background (one folder at a time, lowest CPU priority) before the first BODY "
             "search asks for it; 0: only when a search does"},
    {"imap.listen", CONFIG_LISTEN, "0.0.0.0:143", R(IMAP),
     .help = "Addresses for IMAP with STARTTLS; empty: disabled"},
    {"imap.login_timeout", CONFIG_DURATION, "1m", R(IMAP), .min = 1 * SEC, .max = 1 * HOUR,
     .help = "Time a client has for each command before it has logged in"},
    {"imap.max_connections", CONFIG_UINT, "1000", R(IMAP), .min = 1, .max = 100000,
     .help = "IMAP connections at once, both ports together; past it * BYE"},
    {"imap.max_connections_per_ip", CONFIG_UINT, "100", R(IMAP), .min = 1, .max = 100000,
     .help = "IMAP connections at once from one client address; past it * BYE"},
    {"imap.max_connections_per_user_ip", CONFIG_UINT, "10", R(IMAP), .min = 1, .max = 10000,
     .help = "IMAP sessions of one user from one address (Dovecot's mail_max_userip_connections); "
             "past it the login gets NO [LIMIT]"},
    {"imap.max_line_length", CONFIG_SIZE, "64K", R(IMAP), .min = 8 * KIB, .max = 1024 * KIB,
     .help = "Longest IMAP command line, literals excluded; past it BAD and the connection closes"},
    {"imaps.listen", CONFIG_LISTEN, "0.0.0.0:993", R(IMAP),
     .help = "Addresses for IMAP over TLS; empty: disabled"},
    {"limits.line_length", CONFIG_SIZE, "64K", R(SMTP), .min = 1000, .max = 1024 * KIB,
     .help = "Longest text line accepted in a message (RFC 5321 says 998 octets; real mail has "
             "longer lines)"},
    {"limits.message_size", CONFIG_SIZE, "25M", R(SMTP) | R(IMAP) | R(DELIVERY), .min = 1 * KIB,
     .max = 2 * GIB, .help = "Largest message accepted by SMTP, IMAP APPEND and delivery"},
    {"log.level", CONFIG_ENUM, "info", ROLE_ALL, .enum_values = log_levels,
     .help = "Least severe log level written: debug, info, notice, warning or error"},
    {"mail_root", CONFIG_PATH, "/var/vmail", R(ACCOUNTS) | R(DELIVERY) | R(IMAP) | R(ADMIN),
     .help = "Directory holding one Maildir++ per account"},
    {"pid_file", CONFIG_PATH, "/run/maild/maild.pid", ROLE_NONE,
     .help = "File the supervisor writes its process id to"},
    {"run_as.mailbox", CONFIG_USER, "vmail", R(DELIVERY) | R(IMAP) | R(ADMIN),
     .help = "User owning the mailboxes, for the roles that touch them"},
    {"run_as.service", CONFIG_USER, "maild", R(ACCOUNTS) | R(SMTP) | R(FILTER) | R(QUEUE),
     .help = "Unprivileged user of the network-facing roles"},
    {"run_dir", CONFIG_PATH, "/run/maild", ROLE_NONE,
     .help = "Directory for sockets and other run-time files"},
    {"smtp.auth_backend", CONFIG_ENUM, "accounts", R(SMTP), .enum_values = auth_backends,
     .help = "Who checks SMTP AUTH passwords: accounts (accounts.db) or saslauthd (PAM, LDAP, "
             "... through Cyrus saslauthd)"},
    {"smtp.command_timeout", CONFIG_DURATION, "5m", R(SMTP), .min = 1 * SEC, .max = 1 * HOUR,
     .help = "Time a client has to send one complete command (not reset by single bytes)"},
    {"smtp.data_timeout", CONFIG_DURATION, "10m", R(SMTP), .min = 1 * SEC, .max = 1 * HOUR,
     .help = "Time a client has to send a whole message after the 354 reply"},
    {"smtp.listen", CONFIG_LISTEN, "0.0.0.0:25", R(SMTP),
     .help = "Addresses for SMTP from other mail servers; empty: disabled"},
    {"smtp.max_connections", CONFIG_UINT, "1000", R(SMTP), .min = 1, .max = 100000,
     .help = "SMTP connections at once, all ports together; past it new ones get 421"},
    {"smtp.max_connections_per_ip", CONFIG_UINT, "50", R(SMTP), .min = 1, .max = 100000,
     .help = "SMTP connections at once from one client address; past it 421"},
    {"smtp.max_errors", CONFIG_UINT, "20", R(SMTP), .min = 1, .max = 1000,
     .help = "Error replies in one session before it is closed with 421"},
    {"smtp.max_junk_commands", CONFIG_UINT, "100", R(SMTP), .min = 1, .max = 100000,
     .help = "Unknown, NOOP and RSET commands in one session before it is closed with 421"},
    {"smtp.max_messages_per_connection", CONFIG_UINT, "1000", R(SMTP), .min = 1,
     .max = 1000000, .help = "Messages accepted on one connection before it is closed with 421"},
    {"smtp.max_recipients", CONFIG_UINT, "100", R(SMTP), .min = 1, .max = 100000,
     .help = "Recipients of one message; the next RCPT gets 452 4.5.3 (RFC 5321 wants 100)"},
    {"smtp.saslauthd_path", CONFIG_PATH, "/run/saslauthd/mux", R(SMTP),
     .help = "saslauthd's socket, for smtp.auth_backend = saslauthd"},
    {"smtp.session_timeout", CONFIG_DURATION, "1h", R(SMTP), .min = 1 * SEC, .max = 24 * HOUR,
     .help = "Longest an SMTP connection may last, whatever it does"},
    {"smtps.listen", CONFIG_LISTEN, "0.0.0.0:465", R(SMTP),
     .help = "Addresses for message submission over TLS; empty: disabled"},
    {"state_dir", CONFIG_PATH, "/var/lib/maild", ROLE_ALL,
     .help = "Directory for the accounts database, spool, queue, quarantine and archive"},
    {"submission.listen", CONFIG_LISTEN, "0.0.0.0:587", R(SMTP),
     .help = "Addresses for message submission with STARTTLS; empty: disabled"},
    {"supervisor.health_interval", CONFIG_DURATION, "10s", ROLE_NONE, .min = 1 * SEC,
     .max = 1 * HOUR, .help = "How often the supervisor checks that every worker answers"},
    {"supervisor.restart_delay_max", CONFIG_DURATION, "30s", ROLE_NONE, .min = 100 * MSEC,
     .max = 1 * HOUR, .help = "Longest back-off before a crashed worker is restarted"},
    {"supervisor.shutdown_timeout", CONFIG_DURATION, "10s", ROLE_NONE, .min = 1 * SEC,
     .max = 5 * MIN, .help = "How long workers may take to stop before they are killed"},
    {"tls.cert_file", CONFIG_PATH, "/etc/maild/tls/cert.pem", R(SMTP) | R(IMAP), .live = true,
     .help = "PEM certificate chain for SMTP and IMAP TLS; re-read at every reload"},
    {"tls.key_file", CONFIG_PATH, "/etc/maild/tls/key.pem", R(SMTP) | R(IMAP), .live = true,
     .help = "PEM private key of tls.cert_file; re-read at every reload"},
};

const size_t config_keys_count = sizeof(config_keys) / sizeof(config_keys[0]);
