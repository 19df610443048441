"""What the IMAP mailbox tests share: a logged-in client, delivery through maild's own SMTP,
and the user's Maildir on disk."""
import pathlib
import re
import smtplib
import time

from conftest import SLOW
from test_imap_session import PASSWORD, Raw, imap143, imap993

USER = "bob@example.test"


def login(m, tls=True):
    """An imaplib client logged in as bob (993, or 143 in plaintext on loopback)."""
    c = imap993(m) if tls else imap143(m)
    typ, _ = c.login(USER, PASSWORD)
    assert typ == "OK"
    return c


def raw_login(m, tag="L"):
    """A Raw client logged in as bob over 993, for exchanges imaplib hides."""
    r = Raw(m, "imaps", tls=True)
    r.send(f'{tag} LOGIN "{USER}" "{PASSWORD}"\r\n'.encode())
    assert r.until_tagged(tag)[-1].startswith(f"{tag} OK")
    return r


def message(i, subject=None, body=None, sender="alice@remote.test"):
    subject = subject if subject is not None else f"message {i}"
    body = body if body is not None else f"Body of message {i}.\r\n"
    return (f"From: Alice <{sender}>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: <m{i}.{time.monotonic_ns()}@remote.test>\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:{i % 60:02d} +0000\r\n\r\n{body}")


def deliver(m, count=1, start=1, to=USER, **kw):
    """count messages to bob through maild's port 25, each acknowledged only once on disk."""
    with smtplib.SMTP("127.0.0.1", m.ports["smtp"], local_hostname="client.test",
                      timeout=30 * SLOW) as s:
        for i in range(start, start + count):
            s.sendmail("alice@remote.test", [to], message(i, **kw).encode())


def delivery_order(paths):
    """Maildir files in the order maild gives them UIDs (maildir_name_cmp_delivery()): the
    seconds, then within a second the .M<microseconds> as numbers (M99999 before M100001,
    which a plain sort of the names reverses), then the name."""
    def key(p):
        name = p if isinstance(p, str) else p.name
        m = re.match(r"(\d+)\.(?:M(\d+))?", name)
        if not m:
            return (0, 0, 0, name)
        return (1, int(m.group(1)), int(m.group(2) or -1), name)
    return sorted(paths, key=key)


def maildir(m, user=USER):
    return pathlib.Path(m.ctl_json("user", "show", user)[0]["maildir"])


def untagged(lines, word):
    """The untagged responses among lines whose second or third word is word."""
    out = []
    for line in lines:
        parts = line.split(" ", 3)
        if line.startswith("* ") and word in parts[1:3]:
            out.append(line)
    return out


def message_file(m, uid, folder=""):
    """The file in cur/ of bob's folder ("" INBOX, ".Work") holding UID uid, from the uid list
    (Dovecot v3 format: "<uid> [fields] :<base name>")."""
    root = maildir(m) / folder if folder else maildir(m)
    for line in (root / "maild-uidlist").read_text().splitlines()[1:]:
        fields = line.split(" ")
        if fields[0] == str(uid):
            base = line.split(":", 1)[1]
            for f in (root / "cur").iterdir():
                if f.name.split(":2,")[0] == base:
                    return f
    raise LookupError(f"UID {uid} not in {root}")


def set_file_flags(m, uid, letters, folder=""):
    """Give the message with UID uid the Maildir flags letters, as another program would."""
    f = message_file(m, uid, folder)
    f.rename(f.with_name(f.name.split(":2,")[0] + ":2," + letters))
