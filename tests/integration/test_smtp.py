"""SMTP receipt on port 25 and the submission ports, with real clients (smtplib, swaks)."""
import email
import pathlib
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SLOW, wait_until


@pytest.fixture
def mx(maild):
    """A running maild with example.test, bob and amy, and an SMTP client factory."""
    maild.ctl("domain", "add", "example.test", check=0)
    for user in ["bob", "amy"]:
        maild.ctl("user", "add", f"{user}@example.test", input="pw\n", check=0)
    return maild


def smtp(m, port_name="smtp"):
    s = smtplib.SMTP("127.0.0.1", m.ports[port_name], local_hostname="client.test", timeout=30)
    return s


def raw(m, data, port_name="smtp", wait=0.5, ehlo=False):
    """Send raw bytes after the banner (and after an EHLO exchange when ehlo, so the client
    may pipeline); return everything the server said."""
    with socket.create_connection(("127.0.0.1", m.ports[port_name]), timeout=10) as c:
        out = c.recv(4096)
        if ehlo:
            c.sendall(b"EHLO client.test\r\n")
            while not any(line.startswith(b"250 ") for line in out.split(b"\r\n")):
                out += c.recv(4096)
        c.sendall(data)
        deadline = time.monotonic() + wait * SLOW
        c.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                chunk = c.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def maildir_files(m, user):
    show = m.ctl_json("user", "show", f"{user}@example.test")[0]
    root = pathlib.Path(show["maildir"])
    return sorted((root / "new").iterdir()) + sorted((root / "cur").iterdir())


MESSAGE = ("From: Alice <alice@remote.test>\r\nTo: bob@example.test\r\nSubject: hello\r\n"
           "Message-ID: <m1@remote.test>\r\n\r\nHello Bob.\r\n")


def test_banner_and_ehlo_advertise_the_extensions(mx):
    with smtp(mx) as s:
        code, text = s.ehlo()
        assert code == 250
        features = text.decode().splitlines()
        for ext in ["PIPELINING", "SIZE 26214400", "8BITMIME", "SMTPUTF8",
                    "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "STARTTLS"]:
            assert ext in features, features
        assert not any(f.startswith("AUTH") for f in features)  # never before TLS on 25


def test_unknown_user_is_rejected_at_rcpt_with_550(mx):
    with smtp(mx) as s:
        s.ehlo()
        s.mail("alice@remote.test")
        code, text = s.rcpt("nobody@example.test")
        assert code == 550 and text.startswith(b"5.1.1")
    mx.wait_log("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 "
                "<nobody@example.test>: Recipient address rejected: User unknown; "
                "from=<alice@remote.test> to=<nobody@example.test> proto=ESMTP helo=<client.test>")


def test_relay_is_denied_without_auth(mx):
    with smtp(mx) as s:
        s.ehlo()
        s.mail("alice@remote.test")
        code, text = s.rcpt("someone@elsewhere.test")
        assert code == 554 and b"5.7.1" in text and b"Relay access denied" in text


@pytest.mark.parametrize("rcpt", ["bob%elsewhere.test@example.test",
                                  "elsewhere.test!bob@example.test",
                                  "@relay.test:bob@elsewhere.test"])
def test_relay_tricks_never_relay(mx, rcpt):
    # RELIABILITY 21-22: no percent hack, no bang path, source routes stripped then judged.
    with smtp(mx) as s:
        s.ehlo()
        s.mail("alice@remote.test")
        code, _ = s.docmd("RCPT TO:", f"<{rcpt}>")
        assert code in (550, 554), code


def test_disabled_account_gets_550_5_2_1(mx):
    mx.ctl("user", "disable", "amy@example.test", check=0)
    with smtp(mx) as s:
        s.ehlo()
        s.mail("alice@remote.test")
        code, text = s.rcpt("amy@example.test")
        assert code == 550 and text.startswith(b"5.2.1")


def test_fail_alias_rejects_with_its_text(mx):
    mx.ctl("alias", "add", "gone@example.test", ":fail: Carol left in 2025", check=0)
    with smtp(mx) as s:
        s.ehlo()
        s.mail("alice@remote.test")
        code, text = s.rcpt("gone@example.test")
        assert code == 550 and b"Carol left in 2025" in text


def test_command_order_is_enforced(mx):
    with smtp(mx) as s:
        assert s.docmd("MAIL FROM:<a@remote.test>")[0] == 503
        s.ehlo()
        assert s.docmd("RCPT TO:<bob@example.test>")[0] == 503
        assert s.docmd("DATA")[0] == 503
        s.mail("a@remote.test")
        assert s.docmd("MAIL FROM:<a@remote.test>")[0] == 503
        assert s.docmd("DATA")[0] == 554  # no valid recipients


def test_vrfy_never_confirms_an_account(mx):
    with smtp(mx) as s:
        s.ehlo()
        assert s.verify("bob@example.test")[0] == 252
        assert s.verify("nobody@example.test")[0] == 252


def test_size_over_the_limit_is_refused_at_mail(mx):
    with smtp(mx) as s:
        s.ehlo()
        code, text = s.docmd("MAIL FROM:<a@remote.test> SIZE=99999999999")
        assert code == 552 and text.startswith(b"5.3.4")
        code, _ = s.docmd("MAIL FROM:<a@remote.test> SIZE=26214400")
        assert code == 250


def test_command_line_over_512_octets_is_refused(mx):
    # RFC 5321 4.5.3.1.4: 512 octets with the CRLF is the limit (RELIABILITY 8, 14).
    out = raw(mx, b"NOOP " + b"a" * 505 + b"\r\n")  # exactly 512
    assert "250 2.0.0 Ok" in out and "500" not in out
    out = raw(mx, b"NOOP " + b"a" * 506 + b"\r\nNOOP\r\n", ehlo=True)  # 513, then a good line
    assert "500 5.5.2" in out and out.count("250 2.0.0 Ok") == 1
    out = raw(mx, b"EHLO " + b"a" * 10000 + b"\r\n")  # CVE-2019-16928 shape
    assert "500 5.5.2" in out


@pytest.mark.parametrize("line,code", [(b"EHLO x\n", "500 5.5.2"), (b"NO\x00OP\r\n", "500 5.5.2"),
                                       (b"FROB\r\n", "500 5.5.1")])
def test_malformed_command_lines(mx, line, code):
    assert code in raw(mx, line)


def test_junk_flood_is_cut_off(mx):
    out = raw(mx, b"NOOP\r\n" * 150, wait=1.5, ehlo=True)
    assert "421 4.7.0" in out
    assert out.count("250 2.0.0 Ok") == 99


def test_starttls_discards_pipelined_plaintext(mx):
    # RELIABILITY 6, CVE-2011-0411: "STARTTLS\r\nRSET\r\n" in one segment.
    with socket.create_connection(("127.0.0.1", mx.ports["smtp"]), timeout=10) as c:
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        c.sendall(b"STARTTLS\r\nRSET\r\n")
        assert f.readline().startswith(b"220 2.0.0")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        t = ctx.wrap_socket(c, server_hostname="localhost")
        t.settimeout(1)
        try:
            leaked = t.recv(4096)
        except socket.timeout:
            leaked = b""
        assert leaked == b"", leaked  # the RSET never ran
        t.sendall(b"MAIL FROM:<a@remote.test>\r\n")
        assert t.recv(4096).startswith(b"503")  # EHLO first again (RFC 3207 4.2)
        t.sendall(b"EHLO client.test\r\n")
        reply = b""
        while b"250 " not in reply:
            reply += t.recv(4096)
        assert b"STARTTLS" not in reply  # no second STARTTLS offered
        assert t.version() in ("TLSv1.2", "TLSv1.3")


def test_tls_below_1_2_is_refused(mx):
    with socket.create_connection(("127.0.0.1", mx.ports["smtp"]), timeout=10) as c:
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO client.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        c.sendall(b"STARTTLS\r\n")
        f.readline()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            ctx.wrap_socket(c, server_hostname="localhost")


def test_implicit_tls_on_465_and_submission_needs_auth(mx):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", mx.ports["smtps"], context=ctx, timeout=30) as s:
        assert s.ehlo()[0] == 250
        code, text = s.docmd("MAIL FROM:<bob@example.test>")
        assert code == 530 and b"5.7.0" in text
    with smtp(mx, "submission") as s:
        s.ehlo()
        code, text = s.docmd("MAIL FROM:<bob@example.test>")
        assert code == 530 and b"STARTTLS" in text
        code, text = s.docmd("AUTH PLAIN AGJvYgBwdw==")
        assert code == 530  # RELIABILITY 30: no AUTH before TLS


def test_plaintext_on_the_implicit_tls_port_gets_nothing(mx):
    with socket.create_connection(("127.0.0.1", mx.ports["smtps"]), timeout=10) as c:
        c.sendall(b"EHLO client.test\r\n")
        c.settimeout(5)
        try:
            out = c.recv(4096)
        except (socket.timeout, ConnectionResetError):
            out = b""
    assert b"250" not in out and b"220" not in out


def test_disconnect_line_counts_commands(mx):
    with smtp(mx) as s:
        s.ehlo()
        s.noop()
    mx.wait_log("disconnect from unknown[127.0.0.1] ehlo=1 noop=1 quit=1 commands=3")


# --- limits: each at the limit and one past it ---------------------------------------------
def configure(m, text):
    old = m.worker_pids()["smtp"]
    m.write_config(text)
    m.ctl("reload", check=0)
    # the smtp worker restarts with the new limits: a new process, serving
    assert wait_until(lambda: m.worker_pids().get("smtp") not in (None, 0, old) and
                      all(w["state"] == "running" for w in m.status()["workers"]))


def test_recipient_limit(mx):
    configure(mx, "smtp.max_recipients = 3\n")
    with smtp(mx) as s:
        s.ehlo()
        s.mail("a@remote.test")
        for _ in range(3):
            assert s.rcpt("bob@example.test")[0] == 250
        code, text = s.rcpt("bob@example.test")
        assert code == 452 and text.startswith(b"4.5.3")


def test_error_limit(mx):
    configure(mx, "smtp.max_errors = 3\n")
    out = raw(mx, b"FROB\r\nFROB\r\nNOOP\r\nFROB\r\nNOOP\r\n", wait=1, ehlo=True)
    lines = [l for l in out.split("\r\n") if l]
    lines = lines[[i for i, l in enumerate(lines) if l.startswith("250 ")][0]:]  # from EHLO's end
    assert lines[1].startswith("500") and lines[2].startswith("500")
    assert lines[3].startswith("250")
    assert lines[4].startswith("500") and lines[5].startswith("421 4.7.0")
    assert len(lines) == 6  # nothing after the 421


def test_junk_limit(mx):
    configure(mx, "smtp.max_junk_commands = 5\n")
    out = raw(mx, b"NOOP\r\n" * 4 + b"RSET\r\n" + b"NOOP\r\n", wait=1, ehlo=True)
    assert out.count("250 2.0.0 Ok") == 4 and "421 4.7.0" in out


def test_connection_limit_per_ip(mx):
    configure(mx, "smtp.max_connections_per_ip = 2\n")
    conns = [socket.create_connection(("127.0.0.1", mx.ports["smtp"]), timeout=5) for _ in range(3)]
    try:
        banners = [c.recv(1024) for c in conns]
        assert banners[0].startswith(b"220") and banners[1].startswith(b"220")
        assert banners[2].startswith(b"421 4.7.0"), banners[2]
    finally:
        for c in conns:
            c.close()
    # a freed slot is usable again
    assert wait_until(lambda: raw(mx, b"QUIT\r\n").startswith("220"))


def test_connection_limit_in_total(mx):
    configure(mx, "smtp.max_connections = 2\n")
    conns, banners = [], []
    for p in ["smtp", "submission", "smtp"]:  # one after another: accept order is connect order
        conns.append(socket.create_connection(("127.0.0.1", mx.ports[p]), timeout=5))
        banners.append(conns[-1].recv(1024))
    try:
        assert [b[:3] for b in banners] == [b"220", b"220", b"421"]
    finally:
        for c in conns:
            c.close()


def test_command_timeout_is_not_reset_by_single_bytes(mx):
    configure(mx, "smtp.command_timeout = 2s\n")
    with socket.create_connection(("127.0.0.1", mx.ports["smtp"]), timeout=10) as c:
        c.recv(1024)
        t0 = time.monotonic()
        out = b""
        for ch in b"NOOP NOOP NOOP NOOP NOOP NOOP NOOP":  # 1 byte every 0.25 s, never a line
            try:
                c.send(bytes([ch]))
            except OSError:
                break
            time.sleep(0.25)
            c.setblocking(False)
            try:
                out += c.recv(1024)
            except BlockingIOError:
                pass
            c.setblocking(True)
            if out:
                break
        assert out.startswith(b"421 4.4.2"), out
        assert time.monotonic() - t0 < 4.5 * SLOW


def test_session_timeout(mx):
    configure(mx, "smtp.session_timeout = 2s\n")
    with socket.create_connection(("127.0.0.1", mx.ports["smtp"]), timeout=10) as c:
        f = c.makefile("rb")
        f.readline()
        t0 = time.monotonic()
        last = b""
        while time.monotonic() - t0 < 5 * SLOW:
            try:
                c.sendall(b"NOOP\r\n")
            except OSError:
                break
            last = f.readline()
            if not last.startswith(b"250"):
                break
            time.sleep(0.3)
        assert last.startswith(b"421 4.4.2"), last


def test_data_line_length_limit_past_it(mx):
    configure(mx, "limits.line_length = 1000\n")
    with smtp(mx) as s:
        s.ehlo()
        s.mail("a@remote.test")
        s.rcpt("bob@example.test")
        code, text = s.data(b"Subject: long\r\n\r\n" + b"y" * 999 + b"\r\n")  # 1001 with CRLF
        assert code == 552 and text.startswith(b"5.3.4")


def peer_cert_der(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw_sock:
        with ctx.wrap_socket(raw_sock) as c:
            return c.getpeercert(binary_form=True)


def test_certificate_is_reloaded_on_sighup_without_dropping_sessions(mx):
    before = peer_cert_der(mx.ports["smtps"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = smtplib.SMTP_SSL("127.0.0.1", mx.ports["smtps"], local_hostname="client.test",
                            context=ctx, timeout=30)
    held.ehlo()
    pids = mx.worker_pids()
    # A renewal rewrites the files in place (certbot, acme.sh): same paths, new contents.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                    "-subj", "/CN=renewed.test", "-keyout", str(mx.dir / "tls" / "key.pem"),
                    "-out", str(mx.dir / "tls" / "cert.pem")], check=True, capture_output=True)
    mx.proc.send_signal(1)
    mx.wait_log("TLS certificate reloaded")
    assert wait_until(lambda: peer_cert_der(mx.ports["smtps"]) != before)
    assert mx.worker_pids()["smtp"] == pids["smtp"]  # no restart
    assert held.noop()[0] == 250  # the session from before the reload goes on
    held.quit()
    # STARTTLS on 25 uses the new one too.
    with smtp(mx) as s:
        s.ehlo()
        s.starttls(context=ctx)
        assert s.sock.getpeercert(binary_form=True) != before


def test_broken_certificate_on_reload_keeps_the_old_one(mx):
    before = peer_cert_der(mx.ports["smtps"])
    (mx.dir / "tls" / "cert.pem").write_text("not a certificate\n")
    mx.proc.send_signal(1)
    mx.wait_log("TLS certificate not reloaded")
    assert peer_cert_der(mx.ports["smtps"]) == before


@pytest.mark.parametrize("data,after", [
    (b"HELO client.test\r\nMAIL FROM:<a@remote.test>\r\n", "HELO"),
    (b"EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\n", "EHLO"),
    (b"NOOP\r\nNOOP\r\n", "NOOP"),
])
def test_improper_pipelining_is_refused(mx, data, after):
    # RELIABILITY 5: only a client told PIPELINING may send ahead, and never past EHLO/DATA.
    out = raw(mx, data)
    assert "554 5.5.0" in out, out
    mx.wait_log(f"improper command pipelining after {after} from unknown[127.0.0.1]")


def test_pipelining_after_data_is_refused_but_a_group_ending_in_data_is_fine(mx):
    out = raw(mx, b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
              ehlo=True)
    assert out.count("250 2.1") == 2 and "354" in out and "554" not in out
    out = raw(mx, b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
              b"Subject: x\r\n\r\nbody\r\n.\r\n", ehlo=True)
    assert "354" in out and "554 5.5.0" in out
    assert maildir_files(mx, "bob") == []
