"""Adopting a Maildir written by Debian's Dovecot (dovecot-imapd): after a migration, clients
see the same UIDVALIDITY, UIDs and keywords, so they download nothing again."""
import imaplib
import pathlib
import re

import pytest

from imap_support import deliver, maildir, raw_login
from test_imap_session import imapd  # noqa: F401  (the fixture)

DOVECOT_IMAP = pathlib.Path("/usr/lib/dovecot/imap")


def dovecot_session(home, mail_root):
    """Debian's own Dovecot imap binary in PREAUTH mode on pipes, as the mail user, on the
    Maildir mail_root (no daemon, no network)."""
    conf = home / "dovecot.conf"
    conf.write_text(f"mail_location = maildir:{mail_root}\nlog_path = /dev/null\nssl = no\n")
    return imaplib.IMAP4_stream(
        f"runuser -u vmail -- env USER=bob HOME={home} {DOVECOT_IMAP} -c {conf}")


def dovecot_fill(home, mail_root):
    """Five messages in INBOX (two with keywords), one expunged, and a folder Work with two;
    returns (uidvalidity, {uid: flags}) of INBOX as Dovecot reports them."""
    c = dovecot_session(home, mail_root)
    for i in range(1, 6):
        flags = "(\\Seen $Label1 Work)" if i in (2, 4) else "(\\Flagged)" if i == 5 else None
        msg = f"Subject: dovecot {i}\r\nMessage-ID: <dv{i}@old.test>\r\n\r\nbody {i}\r\n"
        assert c.append("INBOX", flags, None, msg.encode())[0] == "OK"
    assert c.create("Work")[0] == "OK"
    for i in range(2):
        assert c.append("Work", "(Project)", None, f"Subject: work {i}\r\n\r\nw\r\n".encode())[0] \
            == "OK"
    c.select("INBOX")
    c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
    c.expunge()
    typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    flags = {}
    for item in data:
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", item)
        flags[int(m.group(1))] = set(m.group(2).decode().split()) - {"\\Recent"}
    typ, data = c.status("INBOX", "(UIDVALIDITY UIDNEXT)")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    c.logout()
    return uidvalidity, flags


@pytest.mark.skipif(not DOVECOT_IMAP.exists(), reason="dovecot-imapd is installed by "
                    "tools/dev.sh test")
def test_a_dovecot_maildir_keeps_its_uids_uidvalidity_and_keywords(imapd, tmpdir_world):
    root = maildir(imapd)
    home = tmpdir_world / "dovecot-home"
    home.mkdir()
    home.chmod(0o777)
    uidvalidity, dovecot_flags = dovecot_fill(home, root)
    assert sorted(dovecot_flags) == [1, 3, 4, 5]
    assert (root / "dovecot-uidlist").exists() and not (root / "maild-uidlist").exists()

    r = raw_login(imapd)
    r.send(b"E ENABLE QRESYNC\r\n")
    r.until_tagged("E")
    # A client that knew the mailbox from Dovecot resynchronises: same UIDVALIDITY, and the
    # only UID reported gone is the one Dovecot expunged.
    r.send(f"S SELECT INBOX (QRESYNC ({uidvalidity} 1 1:5))\r\n".encode())
    lines = r.until_tagged("S")
    assert lines[-1].startswith("S OK")
    assert f"* OK [UIDVALIDITY {uidvalidity}] UIDs valid." in lines
    assert "* OK [UIDNEXT 6] Predicted next UID." in lines
    assert "* 4 EXISTS" in lines
    assert "* VANISHED (EARLIER) 2" in lines
    flags_line = next(line for line in lines if line.startswith("* FLAGS ("))
    assert "$Label1" in flags_line and "Work" in flags_line

    # New mail continues Dovecot's numbering.
    deliver(imapd, 1)
    r.send(b"N NOOP\r\n")
    assert "* 5 EXISTS" in r.until_tagged("N")
    r.send(b"X SELECT INBOX\r\n")
    assert "* OK [UIDNEXT 7] Predicted next UID." in r.until_tagged("X")

    # A Dovecot folder is a maild folder with its own UIDs and keywords.
    r.send(b"W SELECT Work\r\n")
    lines = r.until_tagged("W")
    assert lines[-1].startswith("W OK") and "* 2 EXISTS" in lines
    assert "* OK [UIDNEXT 3] Predicted next UID." in lines
    assert "Project" in next(line for line in lines if line.startswith("* FLAGS ("))
    r.close()
