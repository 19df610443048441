"""The commands that change mailboxes: STORE, EXPUNGE, COPY, MOVE (and their UID forms),
APPEND and QUOTA, against a real maild, with the dialogue on the wire and the Maildir on
disk."""
import calendar
import os
import re
import signal
import socket
import time

from conftest import RSS_MEANINGFUL, SLOW, proc_status, scale_test, wait_until
from imap_support import USER, deliver, delivery_order, login, maildir, message, raw_login
from test_imap_session import PASSWORD, Raw, imapd, make_imapd, tls_context  # noqa: F401


def select(r, mailbox="INBOX", tag="S", verb="SELECT"):
    r.send(f"{tag} {verb} {mailbox}\r\n".encode())
    lines = r.until_tagged(tag)
    assert lines[-1].startswith(f"{tag} OK"), lines
    return lines


def cmd(r, tag, text):
    r.send(f"{tag} {text}\r\n".encode())
    return r.until_tagged(tag)


def append(r, tag, mailbox, data, args="", plus=False):
    """APPEND with a literal; the lines answered (a refusal may come instead of "+")."""
    lit = f"{{{len(data)}{'+' if plus else ''}}}"
    r.send(f"{tag} APPEND {mailbox}{' ' + args if args else ''} {lit}\r\n".encode())
    if not plus:
        first = r.line()
        if not first.startswith("+"):
            return [first]
    r.send(data + b"\r\n")
    return r.until_tagged(tag)


def code(line, name):
    found = re.search(r"\[" + name + r"(?: ([^\]]*))?\]", line)
    return found.group(1) if found else None


def fetch_flags(lines):
    """{seq: what is inside the parentheses} of "* n FETCH (...)" lines, \\Recent left out
    (delivered mail is recent for the first session that sees it)."""
    out = {}
    for line in lines:
        m = re.match(r"\* (\d+) FETCH \((.*)\)$", line)
        if m:
            out[int(m.group(1))] = re.sub(r" ?\\Recent", "", m.group(2)).replace("( ", "(")
    return out


def cur_files(m, folder=""):
    d = maildir(m) / folder / "cur" if folder else maildir(m) / "cur"
    return delivery_order(d.iterdir())


def tmp_files(m, folder=""):
    d = maildir(m) / folder / "tmp" if folder else maildir(m) / "tmp"
    return list(d.iterdir())


def make_folder(m, name):
    """A folder made on disk as another Maildir program would (CREATE is not ours)."""
    root = maildir(m)
    st = root.stat()
    for sub in ["", "/cur", "/new", "/tmp"]:
        d = root / f".{name}{sub}"
        d.mkdir(exist_ok=True)
        os.chown(d, st.st_uid, st.st_gid)


def quota_usage(m):
    """(bytes, count) as the maildirsize lines sum them."""
    lines = (maildir(m) / "maildirsize").read_text().splitlines()[1:]
    return (sum(int(x.split()[0]) for x in lines), sum(int(x.split()[1]) for x in lines))


def imap_worker_hwm(m):
    return int(proc_status(m.worker_pids()["imap"])["VmHWM"].split()[0])  # kB


MSG = message(1).encode()


# --- APPEND ----------------------------------------------------------------------------------

def test_append_stores_the_message_with_flags_date_and_appenduid(imapd):
    r = raw_login(imapd)
    lines = append(r, "A", "INBOX", MSG, '(\\Seen $Work) "05-Mar-2024 10:20:30 +0100"')
    assert lines[-1].startswith("A OK [APPENDUID "), lines
    uidvalidity, uid = code(lines[-1], "APPENDUID").split()
    assert int(uidvalidity) > 0 and uid == "1"
    files = cur_files(imapd)
    assert len(files) == 1 and tmp_files(imapd) == []
    assert files[0].read_bytes() == MSG
    assert files[0].name.endswith(":2,Sa")  # \Seen and the first keyword
    assert (maildir(imapd) / "dovecot-keywords").read_text().strip() == "0 $Work"
    assert int(files[0].stat().st_mtime) == calendar.timegm((2024, 3, 5, 9, 20, 30))
    lines = append(r, "B", "INBOX", MSG)
    assert code(lines[-1], "APPENDUID") == f"{uidvalidity} 2"
    r.close()


def test_append_with_imaplib_and_literal_plus_and_in_the_selected_state(imapd):
    c = login(imapd)
    typ, data = c.append("Sent", "(\\Draft)", None, MSG)
    assert typ == "OK" and b"APPENDUID" in data[0]
    assert len(cur_files(imapd, ".Sent")) == 1
    c.logout()
    r = raw_login(imapd)
    select(r)
    lines = append(r, "A", "INBOX", MSG, plus=True)
    # the selected folder is the target: EXISTS comes before the tagged OK
    assert "* 1 EXISTS" in lines and lines[-1].startswith("A OK [APPENDUID"), lines
    r.close()


def test_append_to_a_missing_folder_is_trycreate_before_the_literal(imapd):
    r = raw_login(imapd)
    lines = append(r, "A", "Nowhere", MSG)
    assert lines == ["A NO [TRYCREATE] Mailbox doesn't exist."]
    # LITERAL+: the bytes are read and dropped, the answer comes at the line end
    lines = append(r, "B", "Nowhere", MSG, plus=True)
    assert lines[-1] == "B NO [TRYCREATE] Mailbox doesn't exist."
    assert cmd(r, "N", "NOOP")[-1].startswith("N OK")
    r.close()


def test_append_argument_errors(imapd):
    r = raw_login(imapd)
    assert append(r, "A", "INBOX", b"")[-1].startswith("A NO [CANNOT]")
    assert append(r, "B", "INBOX", MSG, "(\\Recent)")[-1].startswith("B BAD")
    assert append(r, "C", "INBOX", MSG, '"31-Feb-2024 10:00:00 +0000"')[-1].startswith("C BAD")
    assert append(r, "D", "INBOX", MSG, '"05-Mar-2024 10:20:30 +0100" (\\Seen)')[-1] \
        .startswith("D BAD")
    assert cmd(r, "E", 'APPEND INBOX "not a literal"')[-1].startswith("E BAD")
    assert cmd(r, "F", "APPEND INBOX")[-1].startswith("F BAD")
    # MULTIAPPEND is not offered: the second literal is refused
    r.send(f"G APPEND INBOX {{{len(MSG)}}}\r\n".encode())
    assert r.line().startswith("+")
    r.send(MSG + f" {{{len(MSG)}}}\r\n".encode())
    assert r.line().startswith("G BAD")
    assert cur_files(imapd) == [] and tmp_files(imapd) == []
    assert cmd(r, "N", "NOOP")[-1].startswith("N OK")
    r.close()


def test_append_of_a_message_with_nul_is_bad_and_stores_nothing(imapd):
    r = raw_login(imapd)
    assert append(r, "A", "INBOX", b"Subject: x\r\n\r\nnul\x00here\r\n")[-1] \
        == "A BAD NUL in literal"
    assert cur_files(imapd) == [] and tmp_files(imapd) == []
    assert append(r, "B", "INBOX", MSG)[-1].startswith("B OK")
    r.close()


def test_append_from_the_authenticated_state_wakes_an_idle_session(imapd):
    watcher = raw_login(imapd, "W")
    select(watcher)
    watcher.send(b"I IDLE\r\n")
    assert watcher.line() == "+ idling"
    r = raw_login(imapd)
    assert append(r, "A", "INBOX", MSG)[-1].startswith("A OK")
    watcher.sock.settimeout(5 * SLOW)
    assert watcher.line() == "* 1 EXISTS"
    watcher.send(b"DONE\r\n")
    assert watcher.until_tagged("I")[-1].startswith("I OK")
    r.close()
    watcher.close()


def test_append_before_login_is_refused_without_touching_a_disk(imapd):
    r = Raw(imapd, "imaps", tls=True)
    r.send(b"A APPEND INBOX {5+}\r\nhello\r\n")
    assert r.line().startswith("A BAD")
    r.send(b"B APPEND INBOX {5}\r\n")
    assert r.line().startswith("B BAD")
    r.close()


@scale_test
def test_append_of_20_mb_at_the_size_limit_keeps_the_worker_small(make_imapd):
    m = make_imapd("limits.message_size = 20M\n")
    limit = 20 * 1024 * 1024
    line = b"x" * 998 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * (limit // len(line))
    data = body + b"y" * (limit - len(body) - 2) + b"\r\n"
    assert len(data) == limit
    r = raw_login(m)
    before = imap_worker_hwm(m)
    r.send(f"A APPEND INBOX {{{limit}}}\r\n".encode())
    assert r.line().startswith("+")
    for i in range(0, limit, 1 << 20):
        r.send(data[i:i + (1 << 20)])
    r.send(b"\r\n")
    assert r.until_tagged("A")[-1].startswith("A OK [APPENDUID")
    grown = imap_worker_hwm(m) - before
    if RSS_MEANINGFUL:
        assert grown < 8 * 1024, f"imap worker peak RSS grew by {grown} kB"
    assert cur_files(m)[0].stat().st_size == limit
    # one byte past the limit: refused before "+", nothing read
    lines = append(r, "B", "INBOX", data + b"z")
    assert lines == ["B NO [TOOBIG] Message too large."]
    assert cmd(r, "N", "NOOP")[-1].startswith("N OK")
    assert len(cur_files(m)) == 1 and tmp_files(m) == []
    r.close()


def test_a_4_gib_literal_is_refused_before_anything_is_allocated(imapd):
    r = raw_login(imapd)
    before = imap_worker_hwm(imapd)
    r.send(b"A APPEND INBOX {4294967295}\r\n")
    assert r.line() == "A NO [TOOBIG] Message too large."
    r.send(b"B APPEND INBOX {99999999999999999999999}\r\n")
    assert r.line() == "B NO [TOOBIG] Message too large."
    assert cmd(r, "N", "NOOP")[-1].startswith("N OK")
    if RSS_MEANINGFUL:
        assert imap_worker_hwm(imapd) - before < 1024
    # LITERAL+ that large cannot be skipped: the connection ends (RFC 7888 4)
    r.send(b"C APPEND INBOX {4294967295+}\r\n")
    assert r.line().startswith("C BAD")
    assert r.closed()


def test_client_vanishing_mid_literal_leaves_nothing_behind(imapd):
    r = raw_login(imapd)
    r.send(b"A APPEND INBOX {100000}\r\n")
    assert r.line().startswith("+")
    r.send(b"x" * 50000)
    r.close()
    time.sleep(0.3 * SLOW)
    assert cur_files(imapd) == [] and tmp_files(imapd) == []
    r = raw_login(imapd)
    assert append(r, "B", "INBOX", MSG)[-1].startswith("B OK")
    r.close()


def test_imap_worker_killed_mid_literal_leaves_no_partial_message(imapd):
    # RELIABILITY F6: the literal goes to an anonymous file; nothing is visible until the
    # message is complete, fsynced and renamed into cur/.
    r = raw_login(imapd)
    r.send(b"A APPEND INBOX {1000000}\r\n")
    assert r.line().startswith("+")
    r.send(b"x" * 400000)
    time.sleep(0.3 * SLOW)
    old = imapd.worker_pids()["imap"]
    os.kill(old, signal.SIGKILL)
    assert r.closed()
    assert wait_until(lambda: imapd.worker_pids().get("imap") not in (None, 0, old) and
                      all(w["state"] == "running" for w in imapd.status()["workers"]),
                      timeout=15)
    assert cur_files(imapd) == [] and tmp_files(imapd) == []
    assert list((maildir(imapd) / "new").iterdir()) == []
    r = raw_login(imapd)
    assert append(r, "B", "INBOX", MSG)[-1].startswith("B OK [APPENDUID")
    r.close()


# --- quota -----------------------------------------------------------------------------------

def set_quota(m, size):
    m.ctl("user", "quota", USER, str(size), check=0)


def test_append_and_copy_over_quota_at_and_past_the_limit(imapd):
    make_folder(imapd, "Archive")
    r = raw_login(imapd)
    assert append(r, "A", "INBOX", MSG)[-1].startswith("A OK")
    r.close()
    used = len(MSG)
    # at the limit: refused before "+", nothing left behind
    set_quota(imapd, used)
    r = raw_login(imapd)
    assert append(r, "A", "INBOX", MSG) == ["A NO [OVERQUOTA] Quota exceeded."]
    lines = append(r, "B", "INBOX", MSG, plus=True)
    assert lines[-1] == "B NO [OVERQUOTA] Quota exceeded."
    select(r)
    assert cmd(r, "C", "COPY 1 Archive")[-1] == "C NO [OVERQUOTA] Quota exceeded."
    # Trash is outside the quota (Maildir++)
    assert cmd(r, "D", "COPY 1 Trash")[-1].startswith("D OK [COPYUID")
    assert append(r, "E", "Trash", MSG)[-1].startswith("E OK")
    # MOVE within the account adds nothing: allowed
    assert cmd(r, "F", "MOVE 1 Archive")[-1].startswith("F OK")
    assert len(cur_files(imapd)) == 0 and len(cur_files(imapd, ".Archive")) == 1
    assert tmp_files(imapd) == []
    r.close()
    # one byte under: accepted whatever the size (non-inclusive, as delivery)
    set_quota(imapd, used + 1)
    r = raw_login(imapd)
    assert append(r, "A", "INBOX", MSG)[-1].startswith("A OK")
    assert quota_usage(imapd) == (2 * used, 2)
    # past the limit now
    assert append(r, "B", "INBOX", MSG) == ["B NO [OVERQUOTA] Quota exceeded."]
    r.close()


def test_getquotaroot_getquota_and_setquota(imapd):
    r = raw_login(imapd)
    lines = cmd(r, "A", "GETQUOTAROOT INBOX")
    assert lines == ["* QUOTAROOT \"INBOX\"", "A OK Getquotaroot completed."]
    assert cmd(r, "B", 'GETQUOTA ""')[-1] == "B NO [NONEXISTENT] No such quota root."
    r.close()
    set_quota(imapd, 10 * 1024 * 1024)
    r = raw_login(imapd)
    caps = cmd(r, "C", "CAPABILITY")[0].split()
    assert "QUOTA" in caps and "QUOTA=RES-STORAGE" in caps
    append(r, "D", "INBOX", b"x" * 2000 + b"\r\n")
    lines = cmd(r, "E", "GETQUOTAROOT Sent")
    assert lines[0] == '* QUOTAROOT "Sent" ""'
    assert lines[1] == '* QUOTA "" (STORAGE 2 10240)'
    assert cmd(r, "F", 'GETQUOTA ""')[:1] == ['* QUOTA "" (STORAGE 2 10240)']
    assert cmd(r, "G", "GETQUOTA other")[-1].startswith("G NO [NONEXISTENT]")
    assert cmd(r, "H", "GETQUOTAROOT Nowhere")[-1].startswith("H NO [NONEXISTENT]")
    assert cmd(r, "I", 'SETQUOTA "" (STORAGE 1)')[-1].startswith("I NO [CANNOT]")
    assert cmd(r, "J", "SETQUOTA")[-1].startswith("J BAD")
    r.close()


# --- STORE -----------------------------------------------------------------------------------

def test_store_sets_adds_and_removes_flags_and_keywords(imapd):
    deliver(imapd, 3)
    r = raw_login(imapd)
    select(r)
    lines = cmd(r, "A", "STORE 1:2 +FLAGS (\\Seen \\Flagged)")
    assert lines[-1] == "A OK Store completed."
    got = fetch_flags(lines)
    assert set(got) == {1, 2} and "\\Flagged \\Seen" in got[1] and "UID" not in got[1]
    lines = cmd(r, "B", "STORE 2 -FLAGS \\Flagged")
    assert fetch_flags(lines)[2] == "FLAGS (\\Seen)"
    lines = cmd(r, "C", "STORE 3 FLAGS ($Project Junk \\Answered)")
    assert fetch_flags(lines)[3] == "FLAGS (\\Answered $Project Junk)"
    assert cmd(r, "D", "STORE 1 +FLAGS.SILENT (\\Deleted)") == ["D OK Store completed."]
    # on disk: Maildir letters, keywords by letter in dovecot-keywords
    names = [f.name.split(":2,")[1] for f in cur_files(imapd)]
    assert sorted(names) == sorted(["FST", "S", "Rab"])
    assert (maildir(imapd) / "dovecot-keywords").read_text().split() == \
        ["0", "$Project", "1", "Junk"]
    # a new keyword is announced in FLAGS at the next SELECT
    lines = select(r)
    assert any("$Project" in x and x.startswith("* FLAGS") for x in lines)
    r.close()


def test_store_errors_and_read_only(imapd):
    make_folder(imapd, "Archive")
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    assert cmd(r, "A", "STORE 1 +FLAGS (\\Recent)")[-1].startswith("A BAD")
    assert cmd(r, "B", "STORE 1 +FLAGS (\\Bogus)")[-1].startswith("B BAD")
    assert cmd(r, "C", "STORE 1 XFLAGS (\\Seen)")[-1].startswith("C BAD")
    assert cmd(r, "D", "STORE 2 +FLAGS (\\Seen)")[-1].startswith("D BAD")
    assert cmd(r, "E", "STORE 1 (FOO 1) +FLAGS (\\Seen)")[-1].startswith("E BAD")
    assert cmd(r, "F", "STORE 1 +FLAGS")[-1].startswith("F BAD")
    select(r, verb="EXAMINE")
    assert cmd(r, "G", "STORE 1 +FLAGS (\\Seen)")[-1].startswith("G NO [READ-ONLY]")
    assert cmd(r, "H", "EXPUNGE")[-1].startswith("H NO [READ-ONLY]")
    assert cmd(r, "I", "MOVE 1 Archive")[-1].startswith("I NO [READ-ONLY]")
    # COPY out of a read-only folder is fine
    assert cmd(r, "J", "COPY 1 Archive")[-1].startswith("J OK [COPYUID")
    r.close()


def test_store_26_keywords_then_limit(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    kws = " ".join(f"k{i}" for i in range(26))
    assert cmd(r, "A", f"STORE 1 +FLAGS ({kws})")[-1] == "A OK Store completed."
    assert cmd(r, "B", "STORE 1 +FLAGS (one-too-many)")[-1].startswith("B NO [LIMIT]")
    r.close()


def test_uid_store_and_condstore_unchangedsince(imapd):
    deliver(imapd, 3)
    select(raw_login(imapd, "X"))  # takes \\Recent
    r = raw_login(imapd)
    select(r)
    lines = cmd(r, "A", "UID STORE 2 +FLAGS (\\Seen)")
    assert re.fullmatch(r"\* 2 FETCH \(UID 2 FLAGS \(\\Seen\)\)", lines[0]), lines
    # UNCHANGEDSINCE turns CONDSTORE on: MODSEQ from now on
    lines = cmd(r, "B", "STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)")
    assert lines[-1].startswith("B OK [MODIFIED 1:3]"), lines
    assert fetch_flags(lines) == {}
    lines = cmd(r, "C", "UID STORE 1 +FLAGS (\\Answered)")
    m = re.fullmatch(r"\* 1 FETCH \(UID 1 FLAGS \(\\Answered\) MODSEQ \((\d+)\)\)", lines[0])
    assert m, lines
    modseq = int(m.group(1))
    lines = cmd(r, "D", f"UID STORE 1,2 (UNCHANGEDSINCE {modseq - 1}) +FLAGS.SILENT (\\Draft)")
    assert lines[-1].startswith("D OK [MODIFIED 1]"), lines
    # .SILENT with CONDSTORE: FETCH with MODSEQ only, for the changed message
    assert re.fullmatch(r"\* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)", lines[0]), lines
    lines = cmd(r, "E", f"STORE 1 (UNCHANGEDSINCE {modseq}) -FLAGS (\\Answered)")
    assert lines[-1] == "E OK Store completed." and "MODSEQ" in lines[0]
    r.close()


def test_store_in_one_session_is_seen_by_another_at_noop(imapd):
    deliver(imapd, 2)
    a = raw_login(imapd, "LA")
    b = raw_login(imapd, "LB")
    select(a)
    select(b)
    cmd(a, "A", "STORE 2 +FLAGS (\\Flagged $Later)")
    lines = cmd(b, "N", "NOOP")
    got = fetch_flags(lines)
    assert "\\Flagged" in got[2] and "$Later" in got[2], lines
    a.close()
    b.close()


def slow_reader(m, tag="L"):
    """A logged-in Raw client over 993 whose receive window is tiny, so that what the server
    writes piles up in the server's memory unless it waits for the client."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30 * SLOW)
    sock.connect(("127.0.0.1", m.imap_ports["imaps"]))
    r = Raw.__new__(Raw)
    r.sock = tls_context().wrap_socket(sock)
    r.buf = b""
    r.greeting = r.line()
    r.send(f'{tag} LOGIN "{USER}" "{PASSWORD}"\r\n'.encode())
    assert r.until_tagged(tag)[-1].startswith(f"{tag} OK")
    return r


@scale_test
def test_store_on_many_messages_streams_every_fetch(imapd):
    root = maildir(imapd)
    n = 3000
    st = root.stat()
    for i in range(n):
        f = root / "new" / f"{1700000000 + i}.M{i}P1.test"
        f.write_bytes(b"Subject: x\r\n\r\nx\r\n")
        os.chown(f, st.st_uid, st.st_gid)
    r = slow_reader(imapd)
    select(r)
    # 26 keywords of 100 characters: 2.6 kB per FETCH, 8 MB in all, twice the output limit
    # (IMAP_OUTPUT_LIMIT) and more than the kernel's socket buffers take
    kws = " ".join(f"k{i:02d}" + "x" * 97 for i in range(26))
    cmd(r, "K", f"STORE 1 +FLAGS ({kws})")
    before = imap_worker_hwm(imapd)
    r.send(f"A STORE 1:* +FLAGS ({kws})\r\n".encode())
    time.sleep(2 * SLOW)  # the output piles up unread: the server must wait, not queue it
    lines = r.until_tagged("A")
    assert lines[-1] == "A OK Store completed."
    assert len(fetch_flags(lines)) == n
    if RSS_MEANINGFUL:
        assert imap_worker_hwm(imapd) - before < 3 * 1024, "output was queued in memory"
    r.close()


# --- EXPUNGE ---------------------------------------------------------------------------------

def test_expunge_reports_each_message_and_gives_quota_back(imapd):
    set_quota(imapd, 10 * 1024 * 1024)
    deliver(imapd, 5)
    r = raw_login(imapd)
    select(r)
    cmd(r, "A", "STORE 2,4,5 +FLAGS.SILENT (\\Deleted)")
    used_before = quota_usage(imapd)
    lines = cmd(r, "B", "EXPUNGE")
    assert lines == ["* 5 EXPUNGE", "* 4 EXPUNGE", "* 2 EXPUNGE", "B OK Expunge completed."]
    assert len(cur_files(imapd)) == 2
    assert quota_usage(imapd)[1] == used_before[1] - 3
    assert cmd(r, "C", "EXPUNGE") == ["C OK Expunge completed."]
    r.close()


def test_uid_expunge_removes_only_the_named_uids(imapd):
    deliver(imapd, 4)
    r = raw_login(imapd)
    select(r)
    cmd(r, "A", "STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    lines = cmd(r, "B", "UID EXPUNGE 2:3,10")
    assert lines == ["* 3 EXPUNGE", "* 2 EXPUNGE", "B OK Expunge completed."]
    assert cmd(r, "C", "UID EXPUNGE")[-1].startswith("C BAD")
    assert cmd(r, "D", "EXPUNGE 1")[-1].startswith("D BAD")
    r.close()


def test_expunge_of_many_messages_reports_each_in_order(imapd):
    # More "* n EXPUNGE" lines than one write takes, and more files than one thread unlinks
    root = maildir(imapd)
    n = 1200
    st = root.stat()
    for i in range(n):
        f = root / "new" / f"{1700000000 + i}.M{i}P1.test"
        f.write_bytes(f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode())
        os.chown(f, st.st_uid, st.st_gid)
    r = raw_login(imapd)
    select(r)
    assert cmd(r, "S", 'SEARCH BODY "body 7"')[0].startswith("* SEARCH 8 ")
    cmd(r, "A", "STORE 1:* +FLAGS.SILENT (\\Deleted)")
    cmd(r, "U", "STORE 10:* -FLAGS.SILENT (\\Deleted)")
    cmd(r, "V", "STORE 100:300,900:1150 +FLAGS.SILENT (\\Deleted)")
    gone = list(range(1, 10)) + list(range(100, 301)) + list(range(900, 1151))
    lines = cmd(r, "B", "EXPUNGE")
    assert lines == [f"* {seq} EXPUNGE" for seq in reversed(gone)] + ["B OK Expunge completed."]
    assert len(cur_files(imapd)) == n - len(gone)
    # The text of expunged messages is no longer found; that of the others is
    left = [uid for uid in range(1, n + 1) if uid not in gone]
    lines = cmd(r, "C", 'UID SEARCH BODY "body 1"')
    assert lines[0] == "* SEARCH " + " ".join(str(u) for u in left if str(u - 1).startswith("1"))
    r.close()


def test_expunge_with_qresync_sends_vanished(imapd):
    deliver(imapd, 4)
    r = raw_login(imapd)
    assert "* ENABLED QRESYNC" in cmd(r, "E", "ENABLE QRESYNC")
    select(r)
    cmd(r, "A", "STORE 1,2,4 +FLAGS.SILENT (\\Deleted)")
    lines = cmd(r, "B", "EXPUNGE")
    assert lines == ["* VANISHED 1:2,4", "B OK Expunge completed."]
    r.close()


def test_expunge_in_one_session_is_seen_by_another(imapd):
    deliver(imapd, 3)
    a = raw_login(imapd, "LA")
    b = raw_login(imapd, "LB")
    select(a)
    select(b)
    cmd(a, "A", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    cmd(a, "B", "EXPUNGE")
    lines = cmd(b, "N", "NOOP")
    assert "* 2 EXPUNGE" in lines, lines
    a.close()
    b.close()


# --- COPY and MOVE ---------------------------------------------------------------------------

def test_copy_answers_copyuid_and_keeps_flags(imapd):
    make_folder(imapd, "Archive")
    deliver(imapd, 3)
    r = raw_login(imapd)
    select(r)
    cmd(r, "A", "STORE 2 +FLAGS.SILENT (\\Flagged $Keep)")
    lines = cmd(r, "B", "COPY 2:3 Archive")
    uidvalidity, src, dst = code(lines[-1], "COPYUID").split()
    assert (src, dst) == ("2:3", "1:2") and lines[-1].endswith("Copy completed.")
    lines = cmd(r, "C", "UID COPY 1,3 Archive")
    assert code(lines[-1], "COPYUID") == f"{uidvalidity} 1,3 3:4"
    archived = cur_files(imapd, ".Archive")
    assert len(archived) == 4 and len(cur_files(imapd)) == 3
    assert sorted(f.name.split(":2,")[1] for f in archived) == ["", "", "", "Fa"]
    # a UID set that names nothing copies nothing, without COPYUID
    assert cmd(r, "D", "UID COPY 99 Archive") == ["D OK Copy completed."]
    assert cmd(r, "E", "COPY 1 Nowhere")[-1] == "E NO [TRYCREATE] Mailbox doesn't exist."
    assert cmd(r, "F", "COPY 9 Archive")[-1].startswith("F BAD")
    # into the selected folder itself: the copy shows up as EXISTS
    lines = cmd(r, "G", "COPY 1 INBOX")
    assert "* 4 EXISTS" in lines and lines[-1].startswith("G OK [COPYUID")
    r.close()


def test_move_sends_copyuid_then_expunges(imapd):
    make_folder(imapd, "Archive")
    deliver(imapd, 4)
    r = raw_login(imapd)
    select(r)
    lines = cmd(r, "A", "MOVE 2:3 Archive")
    assert re.fullmatch(r"\* OK \[COPYUID \d+ 2:3 1:2\] Moved UIDs\.", lines[0]), lines
    assert lines[1:] == ["* 3 EXPUNGE", "* 2 EXPUNGE", "A OK Move completed."]
    lines = cmd(r, "B", "UID MOVE 4 Trash")
    assert code(lines[0], "COPYUID").split()[1:] == ["4", "1"]
    assert lines[1:] == ["* 2 EXPUNGE", "B OK Move completed."]
    assert len(cur_files(imapd)) == 1 and len(cur_files(imapd, ".Archive")) == 2
    assert cmd(r, "C", "MOVE 1 Nowhere")[-1].startswith("C NO [TRYCREATE]")
    assert len(cur_files(imapd)) == 1
    r.close()


def test_move_is_seen_as_expunge_by_another_session(imapd):
    make_folder(imapd, "Archive")
    deliver(imapd, 2)
    a = raw_login(imapd, "LA")
    b = raw_login(imapd, "LB")
    select(a)
    select(b)
    cmd(a, "A", "MOVE 1 Archive")
    lines = cmd(b, "N", "NOOP")
    assert "* 1 EXPUNGE" in lines, lines
    select(b, "Archive", tag="S2")
    a.close()
    b.close()


def test_mailbox_changing_commands_need_a_selected_mailbox(imapd):
    r = raw_login(imapd)
    for tag, text in [("A", "STORE 1 +FLAGS (\\Seen)"), ("B", "EXPUNGE"), ("C", "COPY 1 Sent"),
                      ("D", "MOVE 1 Sent"), ("E", "UID STORE 1 FLAGS ()")]:
        assert cmd(r, tag, text)[-1].startswith(f"{tag} BAD"), text
    r.close()


def test_commands_in_a_row_with_imaplib(imapd):
    make_folder(imapd, "Archive")
    deliver(imapd, 2)
    c = login(imapd)
    c.select("INBOX")
    typ, data = c.store("1", "+FLAGS", "(\\Seen)")
    assert typ == "OK" and b"\\Seen" in data[0]
    typ, data = c.copy("1:2", "Archive")
    assert typ == "OK"
    typ, data = c.uid("MOVE", "2", "Junk")
    assert typ == "OK"
    typ, _ = c.store("1", "+FLAGS", "(\\Deleted)")
    typ, data = c.expunge()
    # imaplib keeps every EXPUNGE it saw: MOVE's first, then EXPUNGE's own
    assert typ == "OK" and data == [b"2", b"1"]
    c.logout()
    assert len(cur_files(imapd, ".Archive")) == 2 and len(cur_files(imapd, ".Junk")) == 1
