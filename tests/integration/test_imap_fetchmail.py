"""A third real client beside mbsync and curl: Debian's fetchmail over IMAPS, the way a user
pulls mail into a local mailer (FETCH of unseen mail, \\Seen, then STORE \\Deleted and
EXPUNGE when it does not keep the messages)."""
import os
import shutil
import subprocess

import pytest

from conftest import SLOW
from imap_support import USER, deliver, login
from test_imap_session import PASSWORD, imapd  # noqa: F401  (the fixture)

FETCHMAIL = shutil.which("fetchmail")


def run_fetchmail(m, home, keep=True, fetchall=False):
    out = home / "delivered.txt"
    rc = home / ".fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        f"poll 127.0.0.1 service {m.imap_ports['imaps']} protocol IMAP auth password\n"
        f'  user "{USER}" there with password "{PASSWORD}" is root here\n'
        "  ssl no sslcertck\n"
        f"  {'keep' if keep else 'no keep'} {'fetchall' if fetchall else ''}\n"
        f"  mda \"/bin/sh -c 'cat >> {out}; echo =====END===== >> {out}'\"\n")
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(home), FETCHMAILHOME=str(home))
    p = subprocess.run([FETCHMAIL, "-f", str(rc), "--nosyslog", "-v"], env=env,
                       capture_output=True, text=True, timeout=60 * SLOW)
    text = out.read_text() if out.exists() else ""
    return p.returncode, text, p.stdout + p.stderr


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail is installed by tools/dev.sh test")
def test_fetchmail_pulls_unseen_mail_then_deletes_it(imapd, tmpdir_world):
    home = tmpdir_world / "fetchmail-home"
    home.mkdir()
    deliver(imapd, 3, subject=None)

    # 1: the three unseen messages, kept on the server (and now \Seen there)
    code, text, log = run_fetchmail(imapd, home)
    assert code == 0, log
    assert text.count("=====END=====") == 3
    for i in (1, 2, 3):
        assert f"Subject: message {i}" in text
    c = login(imapd)
    c.select("INBOX", readonly=True)
    typ, data = c.search(None, "SEEN")
    assert data[0].split() == [b"1", b"2", b"3"]
    c.logout()

    # 2: nothing unseen is left: fetchmail's "no mail" (exit 1), nothing delivered again
    (home / "delivered.txt").unlink()
    code, text, log = run_fetchmail(imapd, home)
    assert code == 1, log
    assert text == ""

    # 3: everything, not kept: fetchmail marks the messages \Deleted and expunges them
    code, text, log = run_fetchmail(imapd, home, keep=False, fetchall=True)
    assert code == 0, log
    assert text.count("=====END=====") == 3
    c = login(imapd)
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"0"]
    c.logout()
