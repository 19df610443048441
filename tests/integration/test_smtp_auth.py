"""SMTP AUTH on the submission ports (587 STARTTLS, 465 implicit TLS), sender ownership,
authenticated relay into the outbound queue, and the fields submission adds."""
import base64
import json
import pathlib
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SLOW, wait_until
from test_smtp import MESSAGE, maildir_files

PENALTY_OFF = "\naccounts.auth_failure_delay = 0\naccounts.auth_failure_delay_max = 0\n"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def submission(m):
    s = smtplib.SMTP("127.0.0.1", m.ports["submission"], local_hostname="client.test",
                     timeout=30 * SLOW)
    s.ehlo()
    s.starttls(context=tls_context())
    s.ehlo()
    return s


def smtps(m):
    s = smtplib.SMTP_SSL("127.0.0.1", m.ports["smtps"], local_hostname="client.test",
                         timeout=30 * SLOW, context=tls_context())
    s.ehlo()
    return s


def plain(user, password, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


@pytest.fixture
def sub(maild_instance):
    """maild with bob and amy (password pw), failure delays off, no lockout in sight."""
    m = maild_instance
    m.write_config(PENALTY_OFF)
    m.start()
    m.ctl("domain", "add", "example.test", check=0)
    for user in ["bob", "amy"]:
        m.ctl("user", "add", f"{user}@example.test", input="pw\n", check=0)
    return m


def test_auth_is_offered_only_under_tls_on_submission(sub):
    s = smtplib.SMTP("127.0.0.1", sub.ports["submission"], local_hostname="client.test")
    s.ehlo()
    assert not s.has_extn("auth")
    assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "pw"))[0] == 530
    s.starttls(context=tls_context())
    s.ehlo()
    assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
    s.quit()


def test_mail_without_auth_on_submission_is_refused(sub):
    with submission(sub) as s:
        code, text = s.mail("bob@example.test")
        assert code == 530 and text.startswith(b"5.7.0")


def test_auth_is_not_offered_on_port_25_even_under_tls(sub):
    s = smtplib.SMTP("127.0.0.1", sub.ports["smtp"], local_hostname="client.test")
    s.ehlo()
    s.starttls(context=tls_context())
    s.ehlo()
    assert not s.has_extn("auth")
    assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "pw"))[0] == 503
    s.quit()


def test_plain_on_587_then_mail_is_delivered_with_authenticated_trace(sub):
    with submission(sub) as s:
        code, _ = s.login("bob@example.test", "pw")  # smtplib tries PLAIN first
        assert code == 235
        assert s.sendmail("bob@example.test", ["amy@example.test"],
                          "Subject: hi\r\n\r\nno id, no date\r\n") == {}
    data = maildir_files(sub, "amy")[0].read_bytes()
    head = data.split(b"\r\n\r\n")[0]
    assert b"(Authenticated sender: bob@example.test)" in head
    assert b"with ESMTPSA id" in head
    assert b"\r\nMessage-ID: <" in head and b"@maild.test>" in head
    assert b"\r\nDate: " in head
    assert b"pw" not in head.replace(b"ESMTPSA", b"")
    sub.wait_log("sasl_method=PLAIN, sasl_username=bob@example.test")


def test_submission_keeps_the_clients_message_id_and_date(sub):
    with submission(sub) as s:
        s.login("bob@example.test", "pw")
        msg = ("Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <own@client.test>\r\n"
               "Subject: x\r\n\r\nbody\r\n")
        s.sendmail("bob@example.test", ["amy@example.test"], msg)
    head = maildir_files(sub, "amy")[0].read_bytes().split(b"\r\n\r\n")[0]
    assert head.count(b"Message-ID:") == 1 and b"<own@client.test>" in head
    assert head.count(b"\r\nDate:") == 1


def test_receipt_on_port_25_adds_no_message_id(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["smtp"], local_hostname="client.test") as s:
        s.sendmail("x@remote.test", ["amy@example.test"], "Subject: x\r\n\r\nbody\r\n")
    head = maildir_files(sub, "amy")[0].read_bytes().split(b"\r\n\r\n")[0]
    assert b"Message-ID" not in head


def test_login_mechanism_on_465(sub):
    with smtps(sub) as s:
        assert s.has_extn("auth")
        code, text = s.docmd("AUTH", "LOGIN")
        assert code == 334 and base64.b64decode(text) == b"Username:"
        code, text = s.docmd(base64.b64encode(b"amy@example.test").decode())
        assert code == 334 and base64.b64decode(text) == b"Password:"
        code, _ = s.docmd(base64.b64encode(b"pw").decode())
        assert code == 235
        assert s.mail("amy@example.test")[0] == 250


def test_plain_without_initial_response(sub):
    with smtps(sub) as s:
        code, text = s.docmd("AUTH", "PLAIN")
        assert code == 334 and text == b""
        assert s.docmd(plain("bob@example.test", "pw"))[0] == 235


def test_wrong_password_and_unknown_user_get_the_same_answer(sub):
    answers = []
    for user, pw in [("bob@example.test", "wrong"), ("nobody@example.test", "pw"),
                     ("bob@nowhere.test", "pw")]:
        with submission(sub) as s:
            answers.append(s.docmd("AUTH", "PLAIN " + plain(user, pw)))
    assert all(a == (535, b"5.7.8 Error: authentication failed: authentication failure")
               for a in answers), answers
    sub.wait_log("warning: unknown[127.0.0.1]: SASL PLAIN authentication failed: "
                 "authentication failure")
    assert "wrong" not in sub.log()


def test_authzid_other_than_the_user_is_refused(sub):
    with submission(sub) as s:
        code, _ = s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "pw",
                                                    authzid="amy@example.test"))
        assert code == 535, sub.log()


def test_cancel_malformed_and_repeated_auth(sub):
    with submission(sub) as s:
        assert s.docmd("AUTH", "PLAIN")[0] == 334
        code, text = s.docmd("*")
        assert code == 501 and text.startswith(b"5.0.0")
        code, text = s.docmd("AUTH", "PLAIN not!base64")
        assert code == 501 and text.startswith(b"5.5.2")
        assert s.docmd("AUTH", "PLAIN")[0] == 334
        code, text = s.docmd("%%%%")
        assert code == 501 and text.startswith(b"5.5.2")
        assert s.docmd("AUTH", "CRAM-MD5")[0] == 504
        assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "pw"))[0] == 235
        assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "pw"))[0] == 503


def test_auth_inside_a_transaction_is_refused(sub):
    with submission(sub) as s:
        s.login("bob@example.test", "pw")
        assert s.mail("bob@example.test")[0] == 250
        # Already authenticated and in a transaction: either way 503.
        assert s.docmd("AUTH", "PLAIN " + plain("amy@example.test", "pw"))[0] == 503


def test_long_initial_response_within_rfc_4954_limit(sub):
    # RFC 4954 4: AUTH lines may pass 512 octets; a long password still works.
    long_pw = "p" * 1000
    sub.ctl("user", "passwd", "amy@example.test", input=long_pw + "\n", check=0)
    with submission(sub) as s:
        assert s.docmd("AUTH", "PLAIN " + plain("amy@example.test", long_pw))[0] == 235


def test_oversized_auth_response_closes_the_session(sub):
    # RELIABILITY 35
    with socket.create_connection(("127.0.0.1", sub.ports["smtps"]), timeout=10) as raw:
        c = tls_context().wrap_socket(raw)
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        c.sendall(b"AUTH PLAIN\r\n")
        assert f.readline().startswith(b"334")
        got = b""
        try:
            c.sendall(b"A" * 100000 + b"\r\n")
            got = f.readline()
            assert f.readline() == b""
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass  # closed before the client finished sending: the reply may be lost to a RST
        assert got == b"" or got.startswith(b"500 5.5.6"), got
    sub.wait_log("disconnect from unknown[127.0.0.1] ehlo=1 auth=1")


def test_other_commands_stay_within_512_octets(sub):
    with submission(sub) as s:
        code, text = s.docmd("NOOP " + "x" * 600)
        assert code == 500 and text.startswith(b"5.5.2")


def test_sender_must_belong_to_the_user(sub):
    sub.ctl("alias", "add", "sales@example.test", "bob@example.test", check=0)
    sub.ctl("alias", "add", "team@example.test", "amy@example.test", check=0)
    with submission(sub) as s:
        s.login("bob@example.test", "pw")
        for sender, code in [("amy@example.test", 553), ("team@example.test", 553),
                             ("ceo@elsewhere.test", 553), ("BOB@example.test", 250),
                             ("bob+lists@example.test", 250), ("sales@example.test", 250),
                             ("", 250)]:
            got = s.mail(sender)
            assert got[0] == code, (sender, got)
            if code == 553:
                assert got[1].startswith(b"5.7.1")
            s.rset()
    sub.wait_log("reject: MAIL from unknown[127.0.0.1]: 553 5.7.1 <amy@example.test>")


def test_authenticated_relay_is_queued_durably(sub):
    with submission(sub) as s:
        s.login("bob@example.test", "pw")
        assert s.mail("bob@example.test", ["RET=HDRS", "ENVID=abc123"])[0] == 250
        assert s.rcpt("carol@elsewhere.test", ["NOTIFY=FAILURE,DELAY",
                                               "ORCPT=rfc822;carol@elsewhere.test"])[0] == 250
        assert s.rcpt("amy@example.test")[0] == 250
        code, text = s.data(MESSAGE.encode())
        assert code == 250, text
        qid = text.split()[-1].decode()
    queue = pathlib.Path(sub.dir) / "state" / "queue"
    env = json.loads((queue / f"{qid}.env").read_text())
    assert env["sender"] == "bob@example.test" and env["auth"] == "bob@example.test"
    assert env["ret"] == "HDRS" and env["envid"] == "abc123"
    assert [r["address"] for r in env["recipients"]] == ["carol@elsewhere.test"]
    assert env["recipients"][0]["notify"] == ["FAILURE", "DELAY"]
    assert env["recipients"][0]["orcpt"] == "carol@elsewhere.test"
    eml = (queue / f"{qid}.eml").read_bytes()
    assert eml.endswith(b"\r\n\r\nHello Bob.\r\n") and env["size"] == len(eml)
    assert eml.count(b"Message-ID:") == 1 and b"\r\nDate: " in eml  # Date added
    assert len(maildir_files(sub, "amy")) == 1  # the local one went to its Maildir
    sub.wait_log(f"{qid}: from=<bob@example.test>, size={len(eml)}, nrcpt=1 (queue active)")


def test_alias_forwarding_elsewhere_is_queued_without_auth(sub):
    sub.ctl("alias", "add", "fwd@example.test", "someone@elsewhere.test", check=0)
    with smtplib.SMTP("127.0.0.1", sub.ports["smtp"], local_hostname="client.test") as s:
        s.sendmail("x@remote.test", ["fwd@example.test"], MESSAGE)
    queue = pathlib.Path(sub.dir) / "state" / "queue"
    envs = list(queue.glob("*.env"))
    assert len(envs) == 1
    env = json.loads(envs[0].read_text())
    assert env["recipients"][0]["address"] == "someone@elsewhere.test"
    assert env["recipients"][0]["orig_to"] == "fwd@example.test"
    assert env["auth"] == ""


def test_swaks_submission_on_587(sub):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{sub.ports['submission']}", "--tls",
                        "--auth", "PLAIN", "--auth-user", "bob@example.test",
                        "--auth-password", "pw", "--from", "bob@example.test",
                        "--to", "amy@example.test", "--helo", "client.test"],
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0" in r.stdout
    assert len(maildir_files(sub, "amy")) == 1


def test_repeated_failures_lock_the_address_out(maild_instance):
    m = maild_instance
    m.write_config(PENALTY_OFF + "accounts.auth_failures_max = 3\n")
    m.start()
    m.ctl("domain", "add", "example.test", check=0)
    m.ctl("user", "add", "bob@example.test", input="pw\n", check=0)
    with submission(m) as s:
        for _ in range(3):
            assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "bad"))[0] == 535
    # A new connection does not reset the count; the right password is refused too.
    with submission(m) as s:
        code, text = s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "pw"))
        assert code == 454 and text.startswith(b"4.7.0")
    m.wait_log("SASL PLAIN authentication failed: too many failures from this address")


def test_at_the_limit_the_right_password_still_works(maild_instance):
    m = maild_instance
    m.write_config(PENALTY_OFF + "accounts.auth_failures_max = 3\n")
    m.start()
    m.ctl("domain", "add", "example.test", check=0)
    m.ctl("user", "add", "bob@example.test", input="pw\n", check=0)
    with submission(m) as s:
        for _ in range(2):
            assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "bad"))[0] == 535
        assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "pw"))[0] == 235


def test_failures_are_answered_more_slowly_each_time(maild_instance):
    m = maild_instance
    m.write_config("\naccounts.auth_failure_delay = 200ms\naccounts.auth_failure_delay_max = 2s\n")
    m.start()
    m.ctl("domain", "add", "example.test", check=0)
    m.ctl("user", "add", "bob@example.test", input="pw\n", check=0)
    took = []
    with submission(m) as s:
        for _ in range(3):
            start = time.monotonic()
            assert s.docmd("AUTH", "PLAIN " + plain("bob@example.test", "bad"))[0] == 535
            took.append(time.monotonic() - start)
    # 200 ms, 400 ms, 800 ms at least: the penalty doubles (a lower bound, not a timing test).
    assert took[0] >= 0.2 and took[1] >= 0.4 and took[2] >= 0.8, took
