"""The selected state: SELECT/EXAMINE (with CONDSTORE and QRESYNC), CLOSE, UNSELECT, CHECK,
NOOP's change reports and IDLE, against a real maild with mail delivered through its SMTP."""
import os
import re
import socket
import time

from conftest import SLOW
from imap_support import deliver, delivery_order, login, maildir, raw_login, set_file_flags, untagged
from test_imap_session import imapd  # noqa: F401  (the fixture)


def select(r, mailbox="INBOX", tag="S", verb="SELECT", params=""):
    r.send(f"{tag} {verb} {mailbox}{params}\r\n".encode())
    return r.until_tagged(tag)


def code(lines, name):
    """The value of a response code [NAME value] among lines, or None."""
    for line in lines:
        found = re.search(r"\[" + name + r"(?: ([^\]]*))?\]", line)
        if found:
            return found.group(1) if found.group(1) is not None else ""
    return None


def flag_maildir_file(m, suffix_flags):
    """Give every message file of bob's INBOX the Maildir flags suffix_flags (as another
    program with access to the Maildir would), moving new/ files to cur/ first."""
    root = maildir(m)
    for f in list((root / "new").iterdir()):
        os.rename(f, root / "cur" / (f.name + ":2,"))
    for f in (root / "cur").iterdir():
        base = f.name.split(":2,")[0]
        os.rename(f, root / "cur" / f"{base}:2,{suffix_flags}")


# --- SELECT and EXAMINE --------------------------------------------------------------------

def test_select_empty_inbox_reports_everything_a_client_needs(imapd):
    r = raw_login(imapd)
    lines = select(r)
    assert lines[-1] == "S OK [READ-WRITE] Select completed."
    assert "* 0 EXISTS" in lines
    assert "* 0 RECENT" in lines
    assert any(line.startswith("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft")
               for line in lines)
    assert "\\*" in code(lines, "PERMANENTFLAGS")
    assert int(code(lines, "UIDVALIDITY")) > 0
    assert code(lines, "UIDNEXT") == "1"
    assert code(lines, "HIGHESTMODSEQ") is not None
    r.close()


def test_select_counts_delivered_mail_and_recent_belongs_to_the_first_session(imapd):
    deliver(imapd, 3)
    first = raw_login(imapd)
    lines = select(first)
    assert "* 3 EXISTS" in lines and "* 3 RECENT" in lines
    assert code(lines, "UNSEEN") == "1"
    assert code(lines, "UIDNEXT") == "4"
    second = raw_login(imapd)
    lines = select(second)
    assert "* 3 EXISTS" in lines and "* 0 RECENT" in lines
    # new/ is emptied into cur/ by the first SELECT, with Dovecot-style names
    root = maildir(imapd)
    assert list((root / "new").iterdir()) == []
    assert all(":2," in f.name for f in (root / "cur").iterdir())
    first.close()
    second.close()


def test_uidvalidity_is_stable_across_sessions_and_restarts(imapd):
    deliver(imapd, 1)
    c = login(imapd)
    c.select("INBOX")
    uv1 = c.untagged_responses["UIDVALIDITY"][0]
    c.logout()
    imapd.stop()
    imapd.start()
    c = login(imapd)
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    assert c.untagged_responses["UIDVALIDITY"][0] == uv1
    c.logout()


def test_examine_is_read_only_and_close_then_keeps_deleted_messages(imapd):
    deliver(imapd, 2)
    flag_maildir_file(imapd, "T")  # \Deleted on both
    r = raw_login(imapd)
    lines = select(r, verb="EXAMINE", tag="E")
    assert lines[-1] == "E OK [READ-ONLY] Examine completed."
    assert "* 2 EXISTS" in lines
    r.send(b"C CLOSE\r\n")
    assert r.until_tagged("C")[-1] == "C OK Close completed."
    lines = select(r)
    assert "* 2 EXISTS" in lines
    r.close()


def test_select_of_a_missing_mailbox_is_nonexistent_and_leaves_the_selected_state(imapd):
    r = raw_login(imapd)
    select(r)
    lines = select(r, mailbox="Nowhere", tag="N")
    assert "* OK [CLOSED] Previous mailbox closed." in lines
    assert lines[-1].startswith("N NO [NONEXISTENT]")
    r.send(b"C CLOSE\r\n")  # no longer selected
    assert r.until_tagged("C")[-1].startswith("C BAD")
    r.close()


def test_select_while_selected_announces_closed_before_the_new_mailbox(imapd):
    r = raw_login(imapd)
    select(r)
    lines = select(r, tag="T")
    closed = lines.index("* OK [CLOSED] Previous mailbox closed.")
    exists = lines.index("* 0 EXISTS")
    assert closed < exists and lines[-1].startswith("T OK")
    r.close()


def test_select_syntax_errors_are_bad(imapd):
    r = raw_login(imapd)
    r.send(b"A SELECT\r\n")
    assert r.until_tagged("A")[-1].startswith("A BAD")
    r.send(b"B SELECT INBOX (NOSUCHPARAM)\r\n")
    assert r.until_tagged("B")[-1].startswith("B BAD")
    r.send(b"C SELECT INBOX (QRESYNC (1 1))\r\n")  # QRESYNC not enabled
    assert r.until_tagged("C")[-1].startswith("C BAD")
    r.close()


def test_mailbox_commands_need_a_selected_mailbox(imapd):
    r = raw_login(imapd)
    for tag, cmd in [("A", "CLOSE"), ("B", "UNSELECT"), ("C", "CHECK")]:
        r.send(f"{tag} {cmd}\r\n".encode())
        assert r.until_tagged(tag)[-1].startswith(f"{tag} BAD")
    r.close()


def test_imap4rev2_select_sends_list_instead_of_recent(imapd):
    r = raw_login(imapd)
    r.send(b"E ENABLE IMAP4rev2\r\n")
    r.until_tagged("E")
    lines = select(r)
    assert untagged(lines, "RECENT") == []
    assert '* LIST () "/" "INBOX"' in lines or "* LIST () \"/\" INBOX" in lines
    r.close()


# --- CLOSE, UNSELECT, CHECK, NOOP ------------------------------------------------------------

def test_close_expunges_deleted_silently_and_unselect_does_not(imapd):
    deliver(imapd, 3)
    r = raw_login(imapd)
    select(r)
    root = maildir(imapd)
    files = delivery_order((root / "cur").iterdir())
    os.rename(files[0], str(files[0]).split(":2,")[0] + ":2,T")
    r.send(b"U UNSELECT\r\n")
    lines = r.until_tagged("U")
    assert lines == ["U OK Unselect completed."]
    assert len(list((root / "cur").iterdir())) == 3
    select(r)
    r.send(b"C CLOSE\r\n")
    lines = r.until_tagged("C")
    assert lines == ["C OK Close completed."]  # no untagged EXPUNGE
    assert len(list((root / "cur").iterdir())) == 2
    lines = select(r)
    assert "* 2 EXISTS" in lines
    r.close()


def test_noop_and_check_report_new_mail_and_expunges_by_others(imapd):
    deliver(imapd, 2)
    watcher = raw_login(imapd, "W")
    select(watcher)
    deliver(imapd, 1, start=3)
    watcher.send(b"N NOOP\r\n")
    lines = watcher.until_tagged("N")
    # RECENT counts every message still \Recent for this session: all three
    assert "* 3 EXISTS" in lines and "* 3 RECENT" in lines
    assert lines[-1] == "N OK NOOP completed."
    # another session expunges message 1 (its file flagged \Deleted from outside)
    set_file_flags(imapd, 1, "T")
    other = raw_login(imapd, "O")
    select(other)
    other.send(b"C CLOSE\r\n")
    other.until_tagged("C")
    watcher.send(b"K CHECK\r\n")
    lines = watcher.until_tagged("K")
    assert "* 1 EXPUNGE" in lines
    assert lines[-1] == "K OK Check completed."
    watcher.close()
    other.close()


def test_flag_changes_from_outside_are_reported_as_fetch_flags(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    flag_maildir_file(imapd, "FS")
    r.send(b"N NOOP\r\n")
    lines = r.until_tagged("N")
    fetch = untagged(lines, "FETCH")
    assert len(fetch) == 1 and "\\Flagged" in fetch[0] and "\\Seen" in fetch[0]
    r.close()


# --- CONDSTORE and QRESYNC -------------------------------------------------------------------

def test_select_condstore_and_qresync_resynchronise_a_client(imapd):
    deliver(imapd, 4)
    r = raw_login(imapd)
    lines = select(r, params=" (CONDSTORE)")
    uidvalidity = code(lines, "UIDVALIDITY")
    modseq = int(code(lines, "HIGHESTMODSEQ"))
    assert modseq > 0
    r.send(b"U UNSELECT\r\n")
    r.until_tagged("U")
    # while the client is away: message 2 is flagged, message 3 goes
    set_file_flags(imapd, 2, "F")
    set_file_flags(imapd, 3, "T")
    other = raw_login(imapd, "O")
    select(other)
    other.send(b"C CLOSE\r\n")
    other.until_tagged("C")
    r.send(b"E ENABLE QRESYNC\r\n")
    assert "* ENABLED QRESYNC" in r.until_tagged("E")
    lines = select(r, params=f" (QRESYNC ({uidvalidity} {modseq} 1:4))", tag="Q")
    assert lines[-1].startswith("Q OK")
    assert "* VANISHED (EARLIER) 3" in lines
    fetch = untagged(lines, "FETCH")
    assert len(fetch) == 1 and "UID 2 " in fetch[0] and "\\Flagged" in fetch[0]
    assert "MODSEQ (" in fetch[0]
    # a stale UIDVALIDITY gets no resync data, only the normal SELECT answer
    lines = select(r, params=" (QRESYNC (1 1))", tag="R")
    if code(lines, "UIDVALIDITY") != "1":
        assert not any("VANISHED" in line for line in lines)
    r.close()
    other.close()


# --- IDLE ------------------------------------------------------------------------------------

def test_idle_reports_a_delivery_within_a_second(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    r.send(b"I IDLE\r\n")
    assert r.line() == "+ idling"
    start = time.monotonic()
    deliver(imapd, 1, start=2)
    r.sock.settimeout(1 * SLOW + 1)
    assert r.line() == "* 2 EXISTS"
    assert time.monotonic() - start < 1 * SLOW + 1
    assert r.line() == "* 2 RECENT"
    r.send(b"DONE\r\n")
    assert r.until_tagged("I")[-1] == "I OK Idle completed."
    r.close()


def test_idle_finds_a_file_hidden_in_the_same_clock_tick_a_second_later(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    # Another program adds a message to cur/ in the tick of the last change maild saw: cur/'s
    # mtime does not move (set back here). The sync IDLE starts with cannot tell; the one
    # a second after the last scan reads cur/ and finds it.
    cur = maildir(imapd) / "cur"
    before = os.stat(cur).st_mtime_ns
    (cur / "1700000099.M1P1Q1.elsewhere,S=21:2,").write_bytes(b"Subject: hidden\r\n\r\nx\r\n")
    os.utime(cur, ns=(before, before))
    r.send(b"I IDLE\r\n")
    assert r.line() == "+ idling"
    r.sock.settimeout(3 * SLOW + 1)
    assert r.line() == "* 2 EXISTS"
    r.send(b"DONE\r\n")
    assert r.until_tagged("I")[-1] == "I OK Idle completed."
    r.close()


def test_idle_reports_expunges_by_another_session(imapd):
    deliver(imapd, 2)
    r = raw_login(imapd)
    select(r)
    r.send(b"I IDLE\r\n")
    assert r.line() == "+ idling"
    set_file_flags(imapd, 1, "T")
    other = raw_login(imapd, "O")
    select(other)
    other.send(b"C CLOSE\r\n")
    other.until_tagged("C")
    r.sock.settimeout(5 * SLOW)
    # The \Deleted set by the other program may be seen first (a sync between the two).
    line = r.line()
    if line.startswith("* 1 FETCH "):
        assert "\\Deleted" in line
        line = r.line()
    assert line == "* 1 EXPUNGE"
    r.send(b"DONE\r\n")
    assert r.until_tagged("I")[-1].startswith("I OK")
    r.close()
    other.close()


def test_idle_of_several_sessions_and_many_deliveries_loses_nothing(imapd):
    sessions = [raw_login(imapd, f"L{i}") for i in range(3)]
    for i, r in enumerate(sessions):
        select(r, tag=f"S{i}")
        r.send(f"I{i} IDLE\r\n".encode())
        assert r.line() == "+ idling"
    deliver(imapd, 20)
    for i, r in enumerate(sessions):
        r.sock.settimeout(5 * SLOW)
        seen = 0
        deadline = time.monotonic() + 10 * SLOW
        while seen < 20 and time.monotonic() < deadline:
            line = r.line()
            if line.endswith(" EXISTS"):
                seen = int(line.split()[1])
        assert seen == 20
        r.send(b"DONE\r\n")
        lines = r.until_tagged(f"I{i}")
        assert lines[-1].startswith(f"I{i} OK")
        r.close()


def test_idle_without_a_selected_mailbox_and_a_wrong_continuation(imapd):
    r = raw_login(imapd)
    r.send(b"I IDLE\r\n")
    assert r.line() == "+ idling"
    r.send(b"DONE\r\n")
    assert r.until_tagged("I")[-1] == "I OK Idle completed."
    select(r)
    r.send(b"J IDLE\r\n")
    assert r.line() == "+ idling"
    r.send(b"NOOP\r\n")
    assert r.until_tagged("J")[-1].startswith("J BAD")
    r.send(b"N NOOP\r\n")  # the session goes on
    assert r.until_tagged("N")[-1].startswith("N OK")
    r.close()


def test_client_vanishing_during_idle_and_during_a_select_is_harmless(imapd):
    deliver(imapd, 50)
    imap_pid = imapd.worker_pids()["imap"]
    for _ in range(5):
        r = raw_login(imapd)
        r.send(b"S SELECT INBOX\r\nI IDLE\r\n")
        r.sock.shutdown(socket.SHUT_RDWR)
        r.close()
    r = raw_login(imapd)
    select(r)
    r.send(b"I IDLE\r\n")
    r.line()
    r.close()
    deliver(imapd, 1, start=51)
    c = login(imapd)
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"51"]
    c.logout()
    assert imapd.worker_pids()["imap"] == imap_pid  # the worker never crashed
