"""The IMAP session layer on ports 143 (STARTTLS) and 993, with imaplib and raw sockets."""
import base64
import imaplib
import pathlib
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SLOW, Maild, VALGRIND, free_port, wait_until
from test_fail2ban import as_syslog

PASSWORD = "correct horse"


class ImapMaild(Maild):
    """A maild that also listens for IMAP on two free loopback ports."""

    def __init__(self, directory, extra_config=""):
        self.imap_ports = {"imap": free_port(), "imaps": free_port()}
        super().__init__(directory, extra_config)

    def base_config(self):
        return super().base_config().replace(
            "imap.listen =\nimaps.listen =\n",
            f"imap.listen = 127.0.0.1:{self.imap_ports['imap']}\n"
            f"imaps.listen = 127.0.0.1:{self.imap_ports['imaps']}\n")


def start_imap_maild(directory, extra=""):
    m = ImapMaild(directory, extra)
    m.start()
    m.ctl("domain", "add", "example.test", check=0)
    m.ctl("user", "add", "bob@example.test", input=PASSWORD + "\n", check=0)
    return m


@pytest.fixture
def imapd(tmpdir_world):
    m = start_imap_maild(tmpdir_world)
    yield m
    m.stop(timeout=60 if VALGRIND else 15)


@pytest.fixture
def make_imapd(tmpdir_world):
    """A factory for a maild with extra config lines (one per test)."""
    started = []

    def make(extra):
        m = start_imap_maild(tmpdir_world, extra)
        started.append(m)
        return m
    yield make
    for m in started:
        m.stop(timeout=60 if VALGRIND else 15)


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def imap143(m):
    return imaplib.IMAP4("127.0.0.1", m.imap_ports["imap"], timeout=30)


def imap993(m):
    return imaplib.IMAP4_SSL("127.0.0.1", m.imap_ports["imaps"], ssl_context=tls_context(),
                             timeout=30)


def starttls(m):
    c = imap143(m)
    typ, _ = c.starttls(ssl_context=tls_context())
    assert typ == "OK"
    return c


def caps_of(c):
    typ, data = c.capability()
    assert typ == "OK"
    return data[0].decode().split()


class Raw:
    """A line-oriented client over a plain or TLS socket, for what imaplib will not send."""

    def __init__(self, m, port="imap", tls=False):
        sock = socket.create_connection(("127.0.0.1", m.imap_ports[port]), timeout=10 * SLOW)
        self.sock = tls_context().wrap_socket(sock) if tls else sock
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode(errors="replace")

    def until_tagged(self, tag):
        """Every line up to and including the tagged reply for tag."""
        lines = []
        while True:
            lines.append(self.line())
            if lines[-1].startswith(tag + " "):
                return lines

    def closed(self, timeout=5):
        """True when the server closes the connection within timeout (reading the rest)."""
        self.sock.settimeout(timeout * SLOW)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.sock.close()


# --- greeting and capabilities -------------------------------------------------------------

def test_greeting_announces_capabilities_and_starttls_before_tls(imapd):
    r = Raw(imapd)
    m = re.match(r"\* OK \[CAPABILITY ([^]]*)\] maild ready", r.greeting)
    assert m, r.greeting
    caps = m[1].split()
    for cap in ["IMAP4rev1", "IMAP4rev2", "STARTTLS", "LOGINDISABLED", "SASL-IR", "LITERAL-",
                "ID", "ENABLE"]:
        assert cap in caps, caps
    assert "AUTH=PLAIN" not in caps and "LITERAL+" not in caps and "IDLE" not in caps


def test_capability_after_starttls_offers_auth_plain_and_no_starttls(imapd):
    c = starttls(imapd)
    caps = caps_of(c)
    assert "AUTH=PLAIN" in caps and "SASL-IR" in caps
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps
    c.logout()


def test_capability_on_993_offers_auth_plain(imapd):
    c = imap993(imapd)
    caps = caps_of(c)
    assert "AUTH=PLAIN" in caps and "STARTTLS" not in caps and "LOGINDISABLED" not in caps
    c.logout()


def test_capability_after_login_lists_the_mailbox_extensions(imapd):
    c = imap993(imapd)
    typ, data = c.login("bob@example.test", PASSWORD)
    assert typ == "OK"
    assert b"[CAPABILITY " in data[0]
    caps = caps_of(c)
    for cap in ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE",
                "UNSELECT", "UIDPLUS", "MOVE", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS",
                "CONDSTORE", "QRESYNC", "ESEARCH", "QUOTA", "SORT", "THREAD=REFERENCES",
                "UTF8=ACCEPT"]:
        assert cap in caps, caps
    assert "LITERAL-" not in caps and not any(x.startswith("AUTH=") for x in caps)
    c.logout()


# --- STARTTLS ---------------------------------------------------------------------------

def test_commands_pipelined_behind_starttls_are_never_answered(imapd):
    # RELIABILITY 62, CVE-2011-0411: "b" was sent in plaintext and must be dropped.
    r = Raw(imapd)
    r.send(b"a STARTTLS\r\nb CAPABILITY\r\n")
    assert r.line().startswith("a OK")
    assert r.buf == b""
    tls = tls_context().wrap_socket(r.sock)
    tls.settimeout(1.5 * SLOW)
    try:
        got = tls.recv(4096)
    except (socket.timeout, TimeoutError):
        got = b""
    assert b"b " not in got and b"CAPABILITY" not in got, got
    tls.sendall(b"c CAPABILITY\r\n")
    r.sock, r.buf = tls, got
    lines = r.until_tagged("c")
    assert lines[-1].startswith("c OK") and "STARTTLS" not in lines[0]
    assert not any(line.startswith("b ") for line in lines)


def test_pipelined_login_behind_starttls_is_not_accepted(imapd):
    r = Raw(imapd)
    r.send(b"a STARTTLS\r\nb LOGIN bob@example.test \"" + PASSWORD.encode() + b"\"\r\n")
    assert r.line().startswith("a OK")
    tls = tls_context().wrap_socket(r.sock)
    tls.sendall(b"c NAMESPACE\r\n")
    r.sock = tls
    lines = r.until_tagged("c")
    assert lines[-1].startswith("c BAD"), lines  # still not logged in
    assert "Login:" not in imapd.log()


def test_starttls_twice_is_bad(imapd):
    c = starttls(imapd)
    with pytest.raises(imaplib.IMAP4.error, match="TLS is already active"):
        c._simple_command("STARTTLS")
    c.logout()


# --- LOGIN and AUTHENTICATE -------------------------------------------------------------

def test_login_is_refused_before_tls(imapd):
    c = imap143(imapd)
    with pytest.raises(imaplib.IMAP4.error, match=r"PRIVACYREQUIRED"):
        c.login("bob@example.test", PASSWORD)
    c.logout()


def test_a_database_that_cannot_answer_is_a_temporary_failure_not_a_wrong_password(imapd):
    import sqlite3
    db = sqlite3.connect(imapd.dir / "state" / "db" / "accounts.db")
    db.execute("ALTER TABLE accounts RENAME TO accounts_away")
    db.commit()
    try:
        r = Raw(imapd, "imaps", tls=True)
        r.send(f'L LOGIN "bob@example.test" "{PASSWORD}"\r\n'.encode())
        assert r.until_tagged("L")[-1].startswith("L NO [UNAVAILABLE]")
        r.close()
    finally:
        db.execute("ALTER TABLE accounts_away RENAME TO accounts")
        db.commit()
        db.close()
    # back: the same login succeeds, and nothing was held against the client's address
    c = imap993(imapd)
    assert c.login("bob@example.test", PASSWORD)[0] == "OK"
    c.logout()


def test_login_literal_is_refused_before_the_password_is_sent(imapd):
    r = Raw(imapd)
    r.send(b"a LOGIN {16}\r\n")
    assert r.line().startswith("a NO [PRIVACYREQUIRED]")  # no "+": the client sends nothing
    r.send(b"b LOGOUT\r\n")
    assert r.until_tagged("b")[-1].startswith("b OK")
    imapd.wait_log("imap-login: Disconnected: Logged out (tried to use disallowed plaintext "
                   "auth): user=<>, rip=127.0.0.1, lip=127.0.0.1, session=<")


def test_authenticate_is_refused_before_tls(imapd):
    r = Raw(imapd)
    ir = base64.b64encode(b"\0bob@example.test\0" + PASSWORD.encode())
    r.send(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
    assert r.line().startswith("a NO [PRIVACYREQUIRED]")


def test_login_on_143_after_starttls(imapd):
    c = starttls(imapd)
    typ, _ = c.login("bob@example.test", PASSWORD)
    assert typ == "OK"
    assert c.noop()[0] == "OK"
    c.logout()
    imapd.wait_log("imap-login: Login: user=<bob@example.test>, method=PLAIN, rip=127.0.0.1, "
                   "lip=127.0.0.1, mpid=")
    assert re.search(r"imap-login: Login: user=<bob@example\.test>, method=PLAIN, "
                     r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, TLS, session=<[A-Za-z0-9+/]+>",
                     imapd.log())


def test_login_on_993(imapd):
    c = imap993(imapd)
    assert c.login("bob@example.test", PASSWORD)[0] == "OK"
    c.logout()


def test_login_with_literals(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"a LOGIN {16}\r\n")
    assert r.line().startswith("+ ")
    r.send(b"bob@example.test {%d+}\r\n%s\r\n" % (len(PASSWORD), PASSWORD.encode()))
    assert r.until_tagged("a")[-1].startswith("a OK")


@pytest.mark.parametrize("port", ["imap", "imaps"])
def test_authenticate_plain_with_initial_response(imapd, port):
    c = starttls(imapd) if port == "imap" else imap993(imapd)
    # imaplib sends the initial response on the command line when it is SASL-IR capable.
    typ, _ = c.authenticate("PLAIN", lambda _: b"\0bob@example.test\0" + PASSWORD.encode())
    assert typ == "OK"
    c.logout()


def test_authenticate_plain_with_sasl_ir_on_the_command_line(imapd):
    r = Raw(imapd, "imaps", tls=True)
    ir = base64.b64encode(b"\0bob@example.test\0" + PASSWORD.encode())
    r.send(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
    assert r.until_tagged("a")[-1].startswith("a OK [CAPABILITY")
    r.send(b"b NAMESPACE\r\n")
    lines = r.until_tagged("b")
    assert lines == ['* NAMESPACE (("" "/")) NIL NIL', "b OK Namespace completed."]


def test_authenticate_plain_with_a_continuation(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"a AUTHENTICATE PLAIN\r\n")
    assert r.line() == "+ "
    r.send(base64.b64encode(b"\0bob@example.test\0" + PASSWORD.encode()) + b"\r\n")
    assert r.until_tagged("a")[-1].startswith("a OK")


def test_authenticate_cancelled_with_star(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"a AUTHENTICATE PLAIN\r\n")
    assert r.line() == "+ "
    r.send(b"*\r\n")
    assert r.line().startswith("a BAD")
    r.send(b"b NOOP\r\n")
    assert r.line().startswith("b OK")


def test_authenticate_bad_base64_is_bad(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"a AUTHENTICATE PLAIN not-base64!\r\n")
    assert r.line().startswith("a BAD")
    r.send(b"b AUTHENTICATE PLAIN\r\n")
    assert r.line() == "+ "
    r.send(b"AAA\r\n")  # not a multiple of four
    assert r.line().startswith("b BAD")


def test_authenticate_unknown_mechanism_is_no(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"a AUTHENTICATE CRAM-MD5\r\n")
    assert r.line().startswith("a NO")


def test_wrong_password_and_unknown_user_get_the_same_answer(imapd):
    answers = []
    for user, pw in [("bob@example.test", "wrong"), ("nobody@example.test", "wrong")]:
        r = Raw(imapd, "imaps", tls=True)
        r.send(b'a LOGIN "%s" "%s"\r\n' % (user.encode(), pw.encode()))
        answers.append(r.line())
        r.close()
    assert answers[0] == answers[1] == "a NO [AUTHENTICATIONFAILED] Authentication failed."


def test_overlong_credentials_get_the_wrong_password_answer(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"a AUTHENTICATE PLAIN " + base64.b64encode(b"\0" + b"u" * 600 + b"\0pw") + b"\r\n")
    assert r.line() == "a NO [AUTHENTICATIONFAILED] Authentication failed."
    r.send(b'b LOGIN bob@example.test "' + b"p" * 2000 + b'"\r\n')
    assert r.line() == "b NO [AUTHENTICATIONFAILED] Authentication failed."


def test_password_never_reaches_the_log(imapd):
    c = imap993(imapd)
    with pytest.raises(imaplib.IMAP4.error):
        c.login("bob@example.test", "s3cret-wrong-Pw")
    c.login("bob@example.test", PASSWORD)
    c.logout()
    imapd.wait_log("Logged out")
    assert "s3cret-wrong-Pw" not in imapd.log() and PASSWORD not in imapd.log()


def test_three_failed_logins_close_the_connection(imapd):
    r = Raw(imapd, "imaps", tls=True)
    for i in range(3):
        r.send(b"a%d LOGIN bob@example.test wrong\r\n" % i)
        assert r.line().startswith("a%d NO [AUTHENTICATIONFAILED]" % i)
    assert r.line().startswith("* BYE")
    assert r.closed()
    imapd.wait_log("imap-login: Disconnected (auth failed, 3 attempts in ")


def test_lockout_answers_unavailable_even_to_the_right_password(make_imapd):
    # The accounts worker's per-address penalty (accounts.auth_failures_max), shared with SMTP.
    m = make_imapd("accounts.auth_failures_max = 3\naccounts.auth_failure_delay = 0\n")
    replies = []
    for attempt in range(2):
        r = Raw(m, "imaps", tls=True)
        for i in range(3):
            r.send(b"a%d LOGIN bob@example.test wrong\r\n" % i)
            replies.append(r.line())
            if "[UNAVAILABLE]" in replies[-1]:
                break
        r.close()
    assert replies[:3] == ["a%d NO [AUTHENTICATIONFAILED] Authentication failed." % i
                           for i in range(3)]
    assert replies[3].startswith("a0 NO [UNAVAILABLE]"), replies
    r = Raw(m, "imaps", tls=True)
    r.send(b'a LOGIN bob@example.test "%s"\r\n' % PASSWORD.encode())
    assert r.line().startswith("a NO [UNAVAILABLE]")


def test_logout_says_bye_then_ok_and_logs_the_session(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b'a LOGIN bob@example.test "%s"\r\nb LOGOUT\r\n' % PASSWORD.encode())
    assert r.until_tagged("a")[-1].startswith("a OK")
    assert r.line() == "* BYE Logging out."
    assert r.line() == "b OK Logout completed."
    assert r.closed()
    imapd.wait_log("imap(bob@example.test)<")
    assert re.search(r"imap\(bob@example\.test\)<\d+><[A-Za-z0-9+/]+>: Logged out "
                     r"in=\d+ out=\d+", imapd.log()), imapd.log()


def test_logout_before_login(imapd):
    r = Raw(imapd)
    r.send(b"a LOGOUT\r\n")
    assert r.line() == "* BYE Logging out."
    assert r.line() == "a OK Logout completed."
    assert r.closed()


def test_session_knows_its_maildir_after_login(imapd):
    # The Maildir comes from accounts (IPC_ACCT_QUOTA); no mailbox command exists yet to
    # show it, so a login that could not find it would have been refused with UNAVAILABLE.
    c = imap993(imapd)
    typ, data = c.login("BOB@example.test", PASSWORD)
    assert typ == "OK"
    c.logout()
    imapd.wait_log("imap-login: Login: user=<bob@example.test>")


# --- other commands ---------------------------------------------------------------------

def test_id_enable_namespace_noop(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b'a ID ("name" "test" "version" "1")\r\n')
    assert r.until_tagged("a") == ['* ID ("name" "maild")', "a OK ID completed."]
    r.send(b"b ID NIL\r\n")
    assert r.until_tagged("b")[-1].startswith("b OK")
    r.send(b"c ENABLE UTF8=ACCEPT\r\n")
    assert r.line().startswith("c BAD")  # not before login
    r.send(b'd LOGIN bob@example.test "%s"\r\n' % PASSWORD.encode())
    assert r.until_tagged("d")[-1].startswith("d OK")
    r.send(b"e ENABLE UTF8=ACCEPT CONDSTORE X-UNKNOWN\r\n")
    assert r.until_tagged("e") == ["* ENABLED UTF8=ACCEPT CONDSTORE", "e OK Enabled."]
    r.send(b"f ENABLE UTF8=ACCEPT\r\n")
    assert r.until_tagged("f") == ["* ENABLED", "f OK Enabled."]
    # UTF-8 in quoted strings is accepted now (the parser switched to UTF-8 mode).
    r.send('g ID ("name" "Zoë")\r\n'.encode())
    assert r.until_tagged("g")[-1].startswith("g OK")
    r.send(b"h NOOP\r\n")
    assert r.line() == "h OK NOOP completed."
    r.send(b"i LOGIN x y\r\n")
    assert r.line().startswith("i BAD")  # not after login


def test_utf8_quoted_string_is_bad_before_enable(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send('a ID ("name" "Zoë")\r\n'.encode())
    assert r.line().startswith("a BAD")


def test_unknown_command_is_bad(imapd):
    r = Raw(imapd)
    r.send(b"a FROBNICATE\r\n")
    assert r.line().startswith("a BAD")
    r.send(b"b NOOP\r\n")
    assert r.line().startswith("b OK")


# --- limits -------------------------------------------------------------------------------

def test_three_bads_in_a_row_before_login_close_the_connection(imapd):
    r = Raw(imapd)
    r.send(b"a FOO\r\nb BAR\r\n")
    assert r.line().startswith("a BAD") and r.line().startswith("b BAD")
    r.send(b"c NOOP\r\nd BAZ\r\ne QUUX\r\n")  # a good command resets the count
    assert r.line().startswith("c OK")
    assert r.line().startswith("d BAD") and r.line().startswith("e BAD")
    r.send(b"f ZAP\r\n")
    assert r.line().startswith("f BAD")
    assert r.line().startswith("* BYE")
    assert r.closed()


def test_command_line_at_the_limit_is_read(imapd):
    # 64 KiB of line, CRLF included: a bad command, but read as one.
    r = Raw(imapd)
    head = b"a ID ("
    r.send(head + b'"x" ' * 1 + b"\"" + b"y" * (65536 - len(head) - 4 - 5 - 2) + b"\")\r\n")
    reply = r.line()
    assert reply.startswith("a BAD") and "too long" not in reply, reply
    r.send(b"b NOOP\r\n")
    assert r.line().startswith("b OK")


def test_command_line_past_the_limit_is_bad_and_closes(imapd):
    # RELIABILITY 59.
    r = Raw(imapd)
    r.send(b"a NOOP " + b"x" * 70000 + b"\r\n")
    assert "line too long" in r.line()
    assert r.line().startswith("* BYE")
    assert r.closed()


def test_absurd_literal_is_refused_before_the_continuation(imapd):
    # RELIABILITY 56: BAD before "+", nothing allocated.
    r = Raw(imapd)
    r.send(b"a LOGIN {4294967295}\r\n")
    assert r.line() == "a BAD literal too large"
    r.send(b"b NOOP\r\n")
    assert r.line().startswith("b OK")


def test_preauth_synchronising_literal_limit(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"a LOGIN {8192}\r\n")
    assert r.line().startswith("+ ")
    r.send(b"u" * 8192 + b" x\r\n")
    assert r.line().startswith("a NO [AUTHENTICATIONFAILED]")
    r.send(b"b LOGIN {8193}\r\n")
    assert r.line() == "b BAD literal too large"


def test_preauth_non_synchronising_literal_at_4096_is_read(imapd):
    r = Raw(imapd)
    r.send(b"a ID (\"name\" {4096+}\r\n" + b"x" * 4096 + b")\r\n")
    lines = r.until_tagged("a")
    assert lines[-1].startswith("a BAD")  # the value is over ID's 1024, but it was read
    r.send(b"b NOOP\r\n")
    assert r.line().startswith("b OK")


def test_preauth_non_synchronising_literal_at_4097_is_bad_and_closes(imapd):
    # RELIABILITY 57, RFC 7888 LITERAL-.
    r = Raw(imapd)
    r.send(b"a ID (\"name\" {4097+}\r\n" + b"x" * 4097 + b")\r\n")
    assert r.line() == "a BAD literal too large"
    assert r.line().startswith("* BYE")
    assert r.closed()


def test_huge_non_synchronising_literal_is_never_buffered(imapd):
    r = Raw(imapd)
    r.send(b"a LOGIN {1000000000+}\r\n")
    assert r.line() == "a BAD literal too large"
    assert r.closed()


def test_idle_timeout_before_login(make_imapd):
    m = make_imapd("imap.login_timeout = 1s\n")
    r = Raw(m)
    start = time.monotonic()
    assert r.line() == "* BYE Disconnected for inactivity."
    assert time.monotonic() - start >= 0.9
    assert r.closed()
    m.wait_log("imap-login: Disconnected: Inactivity (no auth attempts in ")


def test_idle_timeout_is_not_reset_by_single_bytes(make_imapd):
    m = make_imapd("imap.login_timeout = 2s\n")
    r = Raw(m)
    start = time.monotonic()
    r.sock.settimeout(0.3)
    got = b""
    for ch in b"a NOOP":
        try:
            r.send(bytes([ch]))
            got += r.sock.recv(4096)
        except (socket.timeout, TimeoutError):
            pass
        except OSError:
            break
        if b"BYE" in got:
            break
        time.sleep(0.5)
    r.sock.settimeout(5 * SLOW)
    while b"BYE" not in got:
        chunk = r.sock.recv(4096)
        if not chunk:
            break
        got += chunk
    assert b"* BYE Disconnected for inactivity." in got
    assert time.monotonic() - start < 4 * SLOW


def test_idle_timeout_after_login(make_imapd):
    m = make_imapd("imap.autologout_timeout = 2s\n")
    r = Raw(m, "imaps", tls=True)
    r.send(b'a LOGIN bob@example.test "%s"\r\n' % PASSWORD.encode())
    assert r.until_tagged("a")[-1].startswith("a OK")
    time.sleep(1)
    r.send(b"b NOOP\r\n")  # a command restarts the clock
    assert r.line().startswith("b OK")
    start = time.monotonic()
    assert r.line() == "* BYE Disconnected for inactivity."
    assert time.monotonic() - start >= 1.5
    m.wait_log("imap(bob@example.test)<")
    assert re.search(r"imap\(bob@example\.test\)<\d+><\S+>: Disconnected: Inactivity in=\d+ out=\d+",
                     m.log())


def test_connections_per_ip_at_and_past_the_limit(make_imapd):
    m = make_imapd("imap.max_connections_per_ip = 3\n")
    held = [Raw(m) for _ in range(3)]
    assert all(h.greeting.startswith("* OK") for h in held)
    extra = Raw(m)
    assert extra.greeting == "* BYE Too many connections from your address."
    assert extra.closed()
    tls_extra = Raw(m, "imaps", tls=True)
    assert tls_extra.greeting == "* BYE Too many connections from your address."
    held[0].send(b"a LOGOUT\r\n")
    assert held[0].closed()
    again = wait_until(lambda: Raw(m).greeting.startswith("* OK"))
    assert again


def test_total_connections_at_and_past_the_limit(make_imapd):
    m = make_imapd("imap.max_connections = 2\n")
    held = [Raw(m), Raw(m, "imaps", tls=True)]
    assert all(h.greeting.startswith("* OK") for h in held)
    extra = Raw(m)
    assert extra.greeting == "* BYE Too many connections, try again later."
    assert extra.closed()


def test_connections_per_user_and_ip(make_imapd):
    m = make_imapd("imap.max_connections_per_user_ip = 2\n")
    held = []
    for i in range(2):
        c = imap993(m)
        assert c.login("bob@example.test", PASSWORD)[0] == "OK"
        held.append(c)
    r = Raw(m, "imaps", tls=True)
    r.send(b'a LOGIN bob@example.test "%s"\r\n' % PASSWORD.encode())
    assert r.line().startswith("a NO [LIMIT]")
    assert r.line().startswith("* BYE")


def test_plaintext_login_on_loopback_when_allowed(make_imapd):
    m = make_imapd("imap.allow_plaintext_auth_loopback = yes\n")
    c = imap143(m)
    caps = caps_of(c)
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps
    assert c.login("bob@example.test", PASSWORD)[0] == "OK"
    c.logout()


def test_shutdown_says_bye(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b'a LOGIN bob@example.test "%s"\r\n' % PASSWORD.encode())
    assert r.until_tagged("a")[-1].startswith("a OK")
    imapd.stop()
    assert r.line() == "* BYE Server shutting down."
    assert r.closed()


def peer_cert(m):
    with socket.create_connection(("127.0.0.1", m.imap_ports["imaps"]), timeout=10) as sock:
        with tls_context().wrap_socket(sock) as c:
            return c.getpeercert(binary_form=True)


def test_certificate_is_reloaded_on_sighup_without_dropping_sessions(imapd):
    before = peer_cert(imapd)
    held = imap993(imapd)
    assert held.login("bob@example.test", PASSWORD)[0] == "OK"
    pid = imapd.worker_pids()["imap"]
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                    "-subj", "/CN=renewed.test", "-keyout", str(imapd.dir / "tls" / "key.pem"),
                    "-out", str(imapd.dir / "tls" / "cert.pem")], check=True, capture_output=True)
    imapd.proc.send_signal(1)
    assert wait_until(lambda: re.search(r"maild/imap\[\d+\]: TLS certificate reloaded",
                                        imapd.log()))
    assert peer_cert(imapd) != before
    assert imapd.worker_pids()["imap"] == pid  # no restart
    assert held.noop()[0] == "OK"  # the session from before goes on
    held.logout()
    c = starttls(imapd)  # STARTTLS on 143 uses the new one too
    assert c.sock.getpeercert(binary_form=True) != before
    c.logout()


# --- logs for fail2ban --------------------------------------------------------------------

@pytest.mark.skipif(subprocess.run(["which", "fail2ban-regex"], capture_output=True).returncode,
                    reason="fail2ban-regex not installed")
def test_stock_dovecot_filter_matches_failed_logins(imapd, tmp_path):
    for pw in ["wrong", "also wrong"]:
        r = Raw(imapd, "imaps", tls=True)
        r.send(b'a LOGIN bob@example.test "%s"\r\n' % pw.encode())
        assert r.line().startswith("a NO")
        r.close()
    c = imap993(imapd)  # a good login: no match
    c.login("bob@example.test", PASSWORD)
    c.logout()
    imapd.wait_log("Logged out")
    wait_until(lambda: imapd.log().count("(auth failed, 1 attempts in ") == 2)
    assert re.search(r"imap-login: Disconnected \(auth failed, 1 attempts in \d+ secs\): "
                     r"user=<bob@example\.test>, method=PLAIN, rip=127\.0\.0\.1, "
                     r"lip=127\.0\.0\.1, TLS, session=<\S+>", imapd.log()), imapd.log()
    log = tmp_path / "mail.log"
    log.write_text(as_syslog(imapd.log()))
    # The stock filter, with maild's ident in place of "dovecot" (jail.d/maild-imap.conf).
    r = subprocess.run(["fail2ban-regex", "--print-all-matched", str(log),
                        '/etc/fail2ban/filter.d/dovecot.conf[_daemon="maild/imap"]'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Failregex: (\d+) total", r.stdout)
    assert m and int(m[1]) == 2, r.stdout
    assert "127.0.0.1" in r.stdout
