"""FETCH and UID FETCH (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC) against a
real maild: mail delivered through its SMTP or written into the Maildir as another program
would, read back with imaplib, raw sockets and curl."""
import base64
import os
import pathlib
import pwd
import re
import socket
import struct
import subprocess
import time

import pytest

from conftest import MAILD_BIN, SLOW, VALGRIND, open_fd_targets, proc_status, scale_test, wait_until
from imap_support import (USER, deliver, delivery_order, login, maildir, message_file, raw_login,
                          untagged)
from test_imap_session import PASSWORD, imapd  # noqa: F401  (the fixture)


# --- helpers ---------------------------------------------------------------------------------

# Memory figures mean something only without ASan (its quarantine keeps freed memory) and valgrind.
RSS_BOUND_KIB = None if VALGRIND or "asan" in str(MAILD_BIN) else 8 * 1024


def rss_bounded(grown_kib):
    return RSS_BOUND_KIB is None or grown_kib < RSS_BOUND_KIB


def select(r, mailbox="INBOX", tag="S", verb="SELECT"):
    r.send(f"{tag} {verb} {mailbox}\r\n".encode())
    return r.until_tagged(tag)


def raw_fetch(r, args, tag="F"):
    """Send the command line (tagged with tag) and read the whole answer as bytes, literals
    included."""
    r.send(f"{args}\r\n".encode())
    buf = bytearray(r.buf)
    pos = 0          # where the current line starts
    end = tag.encode() + b" "

    def fill():
        chunk = r.sock.recv(1 << 20)
        if not chunk:
            raise EOFError(bytes(buf))
        buf.extend(chunk)

    while True:
        eol = buf.find(b"\r\n", pos)
        while eol < 0:
            fill()
            eol = buf.find(b"\r\n", pos)
        line = bytes(buf[pos:eol])
        pos = eol + 2
        lit = re.search(rb"~?\{(\d+)\}$", line)
        if lit:
            while len(buf) < pos + int(lit.group(1)):
                fill()
            pos += int(lit.group(1))
            continue
        if line.startswith(end):
            r.buf = bytes(buf[pos:])
            return bytes(buf[:pos])


def tagged(out, tag="F"):
    return out.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1].decode()


def fetch_parts(c, msg_set, items, uid=False):
    """imaplib FETCH: the response tuples as {item label: bytes}, one dict per message."""
    typ, data = (c.uid("FETCH", msg_set, items) if uid else c.fetch(msg_set, items))
    assert typ == "OK", data
    return data


def vmail_ids():
    pw = pwd.getpwnam("vmail")
    return pw.pw_uid, pw.pw_gid


def put_message(m, content, name=None, flags="", folder_new=True):
    """Write a message file into bob's INBOX as another Maildir program would."""
    root = maildir(m)
    uid, gid = vmail_ids()
    base = name or f"{time.time_ns()}.M1P{os.getpid()}.other"
    path = root / ("new" if folder_new else "cur") / (base if folder_new else f"{base}:2,{flags}")
    tmp = root / "tmp" / base
    with open(tmp, "wb") as f:
        f.write(content)
    os.chown(tmp, uid, gid)
    os.rename(tmp, path)
    return path


def imap_pid(m):
    return m.worker_pids()["imap"]


def rss_kib(pid):
    return int(proc_status(pid)["VmRSS"].split()[0])


def hwm_kib(pid):
    return int(proc_status(pid)["VmHWM"].split()[0])


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def reset_hwm(pid):
    # Writing 5 to clear_refs resets VmHWM to the current RSS (proc(5)).
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


MULTIPART = (
    "From: Alice <alice@remote.test>\r\n"
    "To: Bob <bob@example.test>, team: carol@x.test, dave@y.test;\r\n"
    "Subject: =?utf-8?q?R=C3=A9sum=C3=A9?= attached\r\n"
    "Message-ID: <multi.1@remote.test>\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Gr\u00fc\u00dfe aus K\u00f6ln.\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    + base64.encodebytes(bytes(range(256))).decode().replace("\n", "\r\n") +
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: Dave <dave@y.test>\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 =\r\nsoft break\r\n"
    "--inner\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>inner html</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/x-thing\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\nend\r\n"
    "--outer--\r\n"
    "epilogue\r\n").encode()


def deliver_raw(m, data, to=USER):
    import smtplib
    with smtplib.SMTP("127.0.0.1", m.ports["smtp"], local_hostname="client.test",
                      timeout=30 * SLOW) as s:
        s.sendmail("alice@remote.test", [to], data)


def parsed(data):
    """imaplib fetch data -> list of (header bytes, literal bytes or None)."""
    out = []
    for d in data:
        if isinstance(d, tuple):
            out.append(d)
    return out


# --- simple data items -----------------------------------------------------------------------

def test_fast_all_and_full_macros_of_a_delivered_message(imapd):
    deliver(imapd, 1)
    c = login(imapd)
    c.select("INBOX")
    typ, data = c.fetch("1", "FAST")
    assert typ == "OK"
    line = data[0].decode()
    assert re.match(r'1 \(FLAGS \(\\Recent\) INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} '
                    r'\d\d:\d\d:\d\d [+-]\d{4}" RFC822.SIZE \d+\)$', line), line
    typ, data = c.fetch("1", "ALL")
    assert typ == "OK"
    assert 'ENVELOPE ("Mon, 23 Nov 2026 10:00:01 +0000" "message 1" (("Alice" NIL "alice" ' \
           '"remote.test")) (("Alice" NIL "alice" "remote.test"))' in data[0].decode()
    typ, data = c.fetch("1", "FULL")
    assert typ == "OK"
    assert 'BODY ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 20 1)' in \
        data[0].decode()
    c.logout()


def test_rfc822_size_equals_the_octets_of_body_and_uid_fetch_names_uid(imapd):
    deliver(imapd, 3)
    c = login(imapd)
    c.select("INBOX")
    typ, data = c.uid("FETCH", "1:*", "(RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    msgs = parsed(data)
    assert len(msgs) == 3
    for i, (head, body) in enumerate(msgs, 1):
        head = head.decode()
        assert f"UID {i}" in head
        size = int(re.search(r"RFC822.SIZE (\d+)", head).group(1))
        assert size == len(body)
        assert body.endswith(f"Body of message {i}.\r\n".encode())
    c.logout()


def test_uid_fetch_of_uids_not_in_the_folder_answers_ok_with_nothing(imapd):
    deliver(imapd, 2)
    c = login(imapd)
    c.select("INBOX")
    typ, data = c.uid("FETCH", "5:9", "(FLAGS)")
    assert typ == "OK" and data == [None]
    typ, data = c.uid("FETCH", "2:*", "(FLAGS)")
    assert typ == "OK" and len(data) == 1 and data[0].startswith(b"2 (UID 2 FLAGS")
    c.logout()


def test_sequence_number_past_the_end_is_bad(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    out = raw_fetch(r, "F FETCH 2 FLAGS")
    assert tagged(out).startswith("F BAD")
    r.close()


# --- \Seen -----------------------------------------------------------------------------------

def test_body_sets_seen_and_reports_flags_in_the_same_response_peek_does_not(imapd):
    deliver(imapd, 2)
    r = raw_login(imapd)
    select(r)
    out = raw_fetch(r, "F FETCH 1 BODY.PEEK[TEXT]")
    assert b"FLAGS" not in out and tagged(out) == "F OK Fetch completed."
    out = raw_fetch(r, "F FETCH 1 BODY[TEXT]")
    assert b"* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {20}\r\nBody of message 1.\r\n)" \
        in out
    # already seen: no FLAGS the second time
    out = raw_fetch(r, "F FETCH 1 BODY[TEXT]")
    assert b"FLAGS" not in out
    out = raw_fetch(r, "F FETCH 2 RFC822.HEADER")
    assert b"FLAGS" not in out
    out = raw_fetch(r, "F FETCH 2 (FLAGS)")
    assert b"\\Seen" not in out
    # the flag is in the file name, for every other Maildir reader
    names = delivery_order(p.name for p in (maildir(imapd) / "cur").iterdir())
    assert names[0].endswith(":2,S") and names[1].endswith(":2,")
    r.close()


def test_body_in_an_examined_folder_does_not_set_seen(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r, verb="EXAMINE")
    out = raw_fetch(r, "F FETCH 1 (BODY[] FLAGS)")
    assert b"\\Seen" not in out and tagged(out) == "F OK Fetch completed."
    r.close()


def test_condstore_client_sees_modseq_with_the_seen_flag(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    r.send(b"E ENABLE CONDSTORE\r\n")
    r.until_tagged("E")
    select(r)
    out = raw_fetch(r, "F FETCH 1 BODY[TEXT]")
    assert re.search(rb"FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)", out), out
    out = raw_fetch(r, "F FETCH 1 FLAGS")
    assert re.search(rb"\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)", out), out
    r.close()


# --- sections --------------------------------------------------------------------------------

def test_header_fields_not_text_and_rfc822_forms(imapd):
    deliver(imapd, 1)
    c = login(imapd)
    c.select("INBOX")
    data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT from)])")[1]
    assert data[0][0].endswith(b"BODY[HEADER.FIELDS (SUBJECT from)] {55}")
    assert data[0][1] == b"From: Alice <alice@remote.test>\r\nSubject: message 1\r\n\r\n"
    data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (From To Message-ID Date)])")[1]
    assert data[0][1] == b"Subject: message 1\r\n\r\n" or b"Received" in data[0][1]
    assert b"From:" not in data[0][1] and b"Subject: message 1" in data[0][1]
    data = c.fetch("1", "(RFC822.HEADER RFC822.TEXT)")[1]
    labels = [d[0] for d in data if isinstance(d, tuple)]
    assert b"RFC822.HEADER" in labels[0] and b"RFC822.TEXT" in labels[1]
    assert data[1][1] == b"Body of message 1.\r\n"
    data = c.fetch("1", "(RFC822)")[1]
    assert data[0][1].startswith(b"") and data[0][1].endswith(b"\r\n\r\nBody of message 1.\r\n")
    c.logout()


def test_parts_of_a_multipart_with_attachments_and_an_embedded_message(imapd):
    deliver_raw(imapd, MULTIPART)
    c = login(imapd)
    c.select("INBOX")
    data = c.fetch("1", "(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[3.HEADER] "
                   "BODY.PEEK[3.1] BODY.PEEK[3.2.MIME] BODY.PEEK[3.TEXT] BODY.PEEK[9])")
    assert data[0] == "OK" or True
    items = dict((re.search(rb"(BODY\[[^\]]*\])", h[0]).group(1), h[1])
                 for h in data[1] if isinstance(h, tuple))
    assert items[b"BODY[1]"] == "Grüße aus Köln.".encode() + b"\r\n" or \
        items[b"BODY[1]"] == "Grüße aus Köln.".encode()
    assert items[b"BODY[1.MIME]"] == (b"Content-Type: text/plain; charset=utf-8\r\n"
                                      b"Content-Transfer-Encoding: 8bit\r\n\r\n")
    assert items[b"BODY[3.HEADER]"].startswith(b"From: Dave <dave@y.test>\r\nSubject: inner")
    assert items[b"BODY[3.1]"].startswith(b"caf=C3=A9 =\r\nsoft break")
    assert items[b"BODY[3.2.MIME]"] == b"Content-Type: text/html\r\n\r\n"
    assert items[b"BODY[3.TEXT]"].startswith(b"--inner\r\n")
    # a part the message does not have
    assert b"BODY[9] NIL" in b" ".join(d if isinstance(d, bytes) else d[0] for d in data[1])
    c.logout()


def test_bodystructure_of_a_multipart(imapd):
    deliver_raw(imapd, MULTIPART)
    c = login(imapd)
    c.select("INBOX")
    typ, data = c.fetch("1", "(BODYSTRUCTURE)")
    assert typ == "OK"
    bs = data[0].decode() if isinstance(data[0], bytes) else data[0][0].decode()
    assert '("text" "plain" ("charset" "utf-8") NIL NIL "8bit"' in bs
    assert '("application" "octet-stream" ("name" "data.bin") NIL NIL "base64"' in bs
    assert '"message" "rfc822"' in bs
    assert '"alternative"' in bs and '"mixed" ("boundary" "outer")' in bs
    c.logout()


def test_binary_decodes_base64_and_qp_and_sizes_them(imapd):
    deliver_raw(imapd, MULTIPART)
    r = raw_login(imapd)
    select(r)
    out = raw_fetch(r, "F FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.SIZE[3.1])")
    # 256 octets with a NUL among them: literal8
    assert b"BINARY[2] ~{256}\r\n" + bytes(range(256)) in out
    assert b"BINARY.SIZE[2] 256" in out
    assert b"BINARY.SIZE[3.1] 16" in out  # "caf\xc3\xa9 soft break"
    out = raw_fetch(r, "F FETCH 1 (BINARY.PEEK[3.1] BINARY.PEEK[2]<250.100>)")
    assert "BINARY[3.1] {16}\r\ncafé soft break ".encode() in out
    assert re.search(rb"BINARY\[2\]<250> ~?\{6\}\r\n" + re.escape(bytes(range(250, 256))), out)
    assert tagged(out) == "F OK Fetch completed."
    r.close()


def test_binary_of_an_unknown_encoding_is_no_unknown_cte(imapd):
    deliver_raw(imapd, MULTIPART)
    r = raw_login(imapd)
    select(r)
    out = raw_fetch(r, "F FETCH 1 BINARY.PEEK[4]")
    assert tagged(out).startswith("F NO [UNKNOWN-CTE]")
    assert b"* 1 FETCH" not in out
    # BODY[4] passes it on as it is
    out = raw_fetch(r, "F FETCH 1 BODY.PEEK[4]")
    assert b"begin 644 x\r\nend" in out and tagged(out) == "F OK Fetch completed."
    r.close()


def test_partial_fetches_and_origins_past_the_end(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    out = raw_fetch(r, "F FETCH 1 (BODY.PEEK[TEXT]<5.7> BODY.PEEK[TEXT]<100.5> "
                       "BODY.PEEK[]<0.4>)")
    assert b"BODY[TEXT]<5> {7}\r\nof mess" in out
    assert b"BODY[TEXT]<100> {0}\r\n" in out
    assert b"BODY[]<0> {4}\r\n" in out
    r.close()


def test_bare_lf_messages_go_out_with_crlf_and_the_announced_size(imapd):
    put_message(imapd, b"From: x@y.test\nSubject: lf only\n\nline one\nline two\n")
    r = raw_login(imapd)
    select(r)
    out = raw_fetch(r, "F FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT]<4.8>)")
    body = b"From: x@y.test\r\nSubject: lf only\r\n\r\nline one\r\nline two\r\n"
    assert f"RFC822.SIZE {len(body)}".encode() in out
    assert f"BODY[] {{{len(body)}}}\r\n".encode() + body in out
    assert b"BODY[TEXT]<4> {8}\r\n one\r\nli" in out
    r.close()


def test_syntax_errors_are_bad(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    for args in ["FETCH 1", "FETCH 1 ()", "FETCH 1 NOSUCH", "FETCH 1 BODY[", "FETCH 1 BODY[0]",
                 "FETCH 1 BODY[]<0.0>", "FETCH 1 BODY[]<x.1>", "FETCH 1 BINARY[HEADER]",
                 "FETCH 1 BODY[HEADER.FIELDS]", "FETCH 1 BODY[HEADER.FIELDS ()]",
                 "FETCH 1 (FLAGS ALL)", "FETCH 1 FLAGS UID", "FETCH 1 FLAGS (NOSUCH 1)",
                 "FETCH 1 BINARY.SIZE[1]<0.1>", "FETCH 1 BODY[1.MIME.2]",
                 "UID FETCH 1 FLAGS (VANISHED)"]:
        out = raw_fetch(r, f"F {args}")
        assert tagged(out).startswith("F BAD"), (args, out)
        # the session survives a BAD
    out = raw_fetch(r, "F FETCH 1 FLAGS")
    assert tagged(out) == "F OK Fetch completed."
    r.close()


def test_body_item_and_field_name_limits(imapd):
    deliver(imapd, 1)
    r = raw_login(imapd)
    select(r)
    items = " ".join(["BODY.PEEK[TEXT]"] * 64)
    out = raw_fetch(r, f"F FETCH 1 ({items})")
    assert tagged(out) == "F OK Fetch completed." and out.count(b"BODY[TEXT] {20}") == 64
    out = raw_fetch(r, f"F FETCH 1 ({items} BODY.PEEK[TEXT])")
    assert tagged(out).startswith("F BAD")
    names = " ".join(f"X-F{i}" for i in range(255)) + " SUBJECT"
    out = raw_fetch(r, f"F FETCH 1 BODY.PEEK[HEADER.FIELDS ({names})]")
    assert tagged(out) == "F OK Fetch completed." and b"Subject: message 1\r\n\r\n" in out
    out = raw_fetch(r, f"F FETCH 1 BODY.PEEK[HEADER.FIELDS ({names} X-ONE-MORE)]")
    assert tagged(out).startswith("F BAD")
    r.close()


# --- cache ----------------------------------------------------------------------------------

def test_envelope_and_bodystructure_come_from_the_index_cache_the_second_time(imapd):
    deliver_raw(imapd, MULTIPART)
    r = raw_login(imapd)
    select(r)
    first = raw_fetch(r, "F FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)")
    assert tagged(first) == "F OK Fetch completed."
    # the worker (vmail) can no longer read the file: only the cache can answer now
    path = next((maildir(imapd) / "cur").iterdir())
    os.chmod(path, 0)
    try:
        second = raw_fetch(r, "F FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)")
        assert second == first
        out = raw_fetch(r, "F FETCH 1 BODY.PEEK[]")
        assert tagged(out).startswith("F NO [SERVERBUG]")
    finally:
        os.chmod(path, 0o600)
    r.close()


# --- header lines cache (HEADER.FIELDS of common fields without the file) ----------------------

def corpus_dir():
    """The shared mail corpus beside the project (or $MAILD_CORPUS), None when absent."""
    here = pathlib.Path(__file__).resolve().parents[2]
    for d in [os.environ.get("MAILD_CORPUS"), here / "../shared/corpus",
              here / "../../shared/corpus"]:
        if d and pathlib.Path(d).is_dir():
            return pathlib.Path(d)
    return None


def header_fields(msg, names):
    """BODY[HEADER.FIELDS (names)] computed here from the file (RFC 9051 6.4.5): the header
    fields so named, as written and in file order, every line end CRLF, then an empty line."""
    wanted = {n.lower() for n in names}
    out, keep = b"", False
    for line in re.findall(rb"[^\n]*\n|[^\n]+$", msg):
        if line in (b"\n", b"\r\n"):
            break
        if line[:1] not in (b" ", b"\t"):
            name = line.split(b":", 1)[0].rstrip(b" \t") if b":" in line else b""
            keep = (bool(name) and all(33 <= c <= 126 for c in name)
                    and name.decode().lower() in wanted)
        if keep:
            body = line.rstrip(b"\n").removesuffix(b"\r")
            out += body + b"\r\n"
    return out + b"\r\n"


def header_size(msg):
    m = re.search(rb"\r?\n\r?\n", msg)
    return m.end() if m else len(msg)


def fetch_literals(out):
    """{uid: {label: literal}} of a raw FETCH answer whose items are UID and BODY literals."""
    head = re.compile(rb"\* \d+ FETCH \(UID (\d+) ")
    item = re.compile(rb"(BODY\[[^\]]*\](?:<\d+>)?) \{(\d+)\}\r\n")
    res, pos = {}, 0
    while (h := head.search(out, pos)) is not None:
        items, pos = {}, h.end()
        while (i := item.match(out, pos)) is not None:
            n = int(i.group(2))
            items[i.group(1).decode()] = out[i.end():i.end() + n]
            pos = i.end() + n + (out[i.end() + n:i.end() + n + 1] == b" ")
        res[int(h.group(1))] = items
    return res


HDR_ITEMS = [("BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)]", ["From", "Subject", "Date"]),
             ("BODY.PEEK[HEADER.FIELDS (to CC References List-Id In-Reply-To)]",
              ["To", "Cc", "References", "List-Id", "In-Reply-To"])]
HDR_PARTIAL = "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.10>"


def hdr_messages():
    """Messages with the header shapes the cache must keep exactly: folding, duplicates, case,
    a name that extends a cached one, bare LFs, a field set past the entry cap (last); then
    some of the shared corpus."""
    msgs = [
        b"Received: from a\r\n\tby b\r\nFROM: A <a@x.test>\r\nTo: b@x.test,\r\n  c@x.test\r\n"
        b"To-Foo: not To\r\nSubject: folded\r\n\tsubject\r\nto: d@x.test\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nTo: body@x.test\r\n",
        b"From: lf@x.test\nSubject: bare LF\n second line\nCc: e@x.test\n\nbody\n",
        b"Subject: no blank line and no line end",
    ]
    corpus = corpus_dir()
    if corpus is not None:
        for sub, count in [("mailing-lists/notmuch-test-corpora/lkml/cur", 3),
                           ("mailing-lists/notmuch-test-corpora/default/cur", 1),
                           ("spamassassin-public/hard_ham", 2),
                           ("mime-fixtures/mimekit/messages", 2)]:
            files = sorted(p for p in (corpus / sub).glob("*") if p.is_file())
            # headers well under the entry cap (8 KiB with every line end CRLF)
            small = [p.read_bytes() for p in files if header_size(p.read_bytes()) < 4096]
            msgs += small[:count]
    refs = b" ".join(b"<ref%d@x.test>" % i for i in range(800))
    msgs.append(b"From: big@x.test\r\nSubject: long thread\r\nReferences: " + refs +
                b"\r\n\r\nbody\r\n")
    return msgs


def test_header_fields_of_common_names_come_from_the_cache_byte_for_byte(imapd):
    msgs = hdr_messages()
    for i, msg in enumerate(msgs):
        put_message(imapd, msg, name=f"{1000 + i}.M{i}P1.hdr")
    r = raw_login(imapd)
    assert select(r)[-1].startswith("S OK")
    items = " ".join(i for i, _ in HDR_ITEMS) + " " + HDR_PARTIAL
    first = fetch_literals(raw_fetch(r, f"F FETCH 1:* (UID {items})"))
    assert len(first) == len(msgs)
    for uid, got in first.items():
        msg = message_file(imapd, uid).read_bytes()
        for item, names in HDR_ITEMS:
            assert got[item.replace(".PEEK", "")] == header_fields(msg, names), (uid, item)
        want = header_fields(msg, ["Subject", "From"])[:10]
        assert got["BODY[HEADER.FIELDS (SUBJECT FROM)]<0>"] == want
    # The worker (vmail) can no longer read the files: what still answers comes from the cache.
    files = [message_file(imapd, uid) for uid in first]
    for f in files:
        os.chmod(f, 0)
    try:
        big = max(first)
        second = raw_fetch(r, f"F UID FETCH 1:{big - 1} (UID {items})")
        assert tagged(second) == "F OK Fetch completed."
        assert fetch_literals(second) == {u: v for u, v in first.items() if u != big}
        # past the cap, a name outside the set, .NOT: the file, which cannot be read
        for args in [f"UID FETCH {big} ({HDR_ITEMS[0][0]})",
                     "FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM X-Mailer)])",
                     "FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (FROM)])"]:
            assert tagged(raw_fetch(r, f"F {args}")).startswith("F NO [SERVERBUG]"), args
        # without PEEK the cached answer still sets \Seen, reported in the same response
        out = raw_fetch(r, "F FETCH 2 (BODY[HEADER.FIELDS (SUBJECT)])")
        assert tagged(out) == "F OK Fetch completed."
        assert b"* 2 FETCH (FLAGS (\\Seen \\Recent) BODY" in out
        assert out.endswith(b"Subject: bare LF\r\n second line\r\n\r\n)\r\nF OK Fetch completed.\r\n")
    finally:
        for uid in first:  # \Seen renamed one of them
            os.chmod(message_file(imapd, uid), 0o600)
    r.close()


def test_envelope_and_search_fill_the_header_lines_cache(imapd):
    put_message(imapd, b"From: a@x.test\r\nSubject: via envelope\r\n\r\nbody\r\n")
    put_message(imapd, b"From: b@x.test\r\nSubject: via search\r\n\r\nbody\r\n")
    r = raw_login(imapd)
    select(r)
    paths = [message_file(imapd, 1), message_file(imapd, 2)]
    try:
        # the ENVELOPE read message 1's file; the SEARCH can read message 2's only
        assert tagged(raw_fetch(r, "F FETCH 1 ENVELOPE")) == "F OK Fetch completed."
        os.chmod(paths[0], 0)
        assert tagged(raw_fetch(r, "F SEARCH FROM b@x.test")).startswith("F OK")
        os.chmod(paths[1], 0)
        out = raw_fetch(r, "F FETCH 1:2 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert tagged(out) == "F OK Fetch completed."
        got = fetch_literals(out)
        assert got[1]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: via envelope\r\n\r\n"
        assert got[2]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: via search\r\n\r\n"
    finally:
        for p in paths:
            os.chmod(p, 0o600)
    r.close()


# --- CONDSTORE / QRESYNC ---------------------------------------------------------------------

def test_modseq_and_changedsince(imapd):
    deliver(imapd, 3)
    r = raw_login(imapd)
    select(r)
    out = raw_fetch(r, "F FETCH 1:* (MODSEQ)")
    modseqs = [int(x) for x in re.findall(rb"MODSEQ \((\d+)\)", out)]
    assert len(modseqs) == 3
    raw_fetch(r, "F FETCH 2 BODY[TEXT]")  # \Seen: a new modseq for message 2
    out = raw_fetch(r, f"F FETCH 1:* (FLAGS) (CHANGEDSINCE {max(modseqs)})")
    assert untagged([l.decode() for l in out.split(b"\r\n")], "FETCH") == \
        [l for l in (x.decode() for x in out.split(b"\r\n")) if l.startswith("* 2 FETCH")]
    assert b"* 2 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (" in out
    r.close()


def test_uid_fetch_vanished_reports_expunged_uids_with_qresync(imapd):
    deliver(imapd, 5)
    r = raw_login(imapd)
    r.send(b"E ENABLE QRESYNC\r\n")
    r.until_tagged("E")
    select(r)
    # messages 2 and 4 disappear (another program removed their files)
    files = delivery_order((maildir(imapd) / "cur").iterdir())
    os.unlink(files[1])
    os.unlink(files[3])
    r.send(b"N NOOP\r\n")
    r.until_tagged("N")
    out = raw_fetch(r, "F UID FETCH 1:5 (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert b"* VANISHED (EARLIER) 2,4" in out
    assert tagged(out) == "F OK Fetch completed."
    r.close()


# --- size and streaming ----------------------------------------------------------------------

def big_message(mib):
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
    body = line * (mib * 1024 * 1024 // len(line))
    head = (b"From: big@remote.test\r\nSubject: big\r\nMessage-ID: <big@remote.test>\r\n"
            b"Content-Type: text/plain\r\n\r\n")
    return head + body


def put_big(m, mib=20):
    data = big_message(mib)
    name = f"{time.time_ns()}.M1P1.other,S={len(data)},W={len(data)}"
    put_message(m, data, name=name)
    return data


@scale_test
def test_a_20mb_message_whole_and_in_partials_with_bounded_memory(imapd):
    data = put_big(imapd)
    r = raw_login(imapd)
    select(r)
    pid = imap_pid(imapd)
    raw_fetch(r, "F FETCH 1 FLAGS")
    base = rss_kib(pid)
    reset_hwm(pid)
    out = raw_fetch(r, "F FETCH 1 BODY.PEEK[]")
    assert out.startswith(f"* 1 FETCH (BODY[] {{{len(data)}}}\r\n".encode())
    assert out[out.index(b"}\r\n") + 3:][:len(data)] == data
    assert tagged(out) == "F OK Fetch completed."
    for off, ln in [(0, 1000), (10_000_000, 4096), (len(data) - 10, 100)]:
        out = raw_fetch(r, f"F FETCH 1 BODY.PEEK[]<{off}.{ln}>")
        want = data[off:off + ln]
        assert f"BODY[]<{off}> {{{len(want)}}}\r\n".encode() + want + b")\r\n" in out
    # the worker never held the message: its peak stayed far below 20 MB above where it was
    assert rss_bounded(hwm_kib(pid) - base), (base, hwm_kib(pid))
    r.close()


@scale_test
def test_clients_that_stop_reading_a_big_fetch_leave_no_memory_or_files_behind(imapd):
    put_big(imapd)
    big = next((maildir(imapd) / "new").iterdir())
    r = raw_login(imapd)
    select(r)
    pid = imap_pid(imapd)
    base_rss, base_fds = rss_kib(pid), open_fds(pid)
    for i in range(6):
        x = raw_login(imapd)
        select(x)
        x.send(b"F FETCH 1 BODY.PEEK[]\r\n")
        x.sock.recv(1000)  # the response has started
        time.sleep(0.3)
        # the worker holds at most its mark and a batch while the client does not read
        assert rss_bounded(rss_kib(pid) - base_rss)
        # gone without reading the rest: reset
        raw = x.sock
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
    # no session, mapping or descriptor of the message is left (SQLite may keep one index
    # descriptor of a closed connection for reuse: a little slack)
    def released():
        maps = open(f"/proc/{pid}/maps").read()
        fds = list(open_fd_targets(pid).values())
        return big.name.split(":")[0] not in maps + " ".join(fds) and len(fds) <= base_fds + 2
    assert wait_until(released, timeout=10)
    assert rss_bounded(rss_kib(pid) - base_rss)
    # the server is fine
    out = raw_fetch(r, "F FETCH 1 BODY.PEEK[]<0.10>")
    assert tagged(out) == "F OK Fetch completed."
    r.close()


@scale_test
def test_flags_of_a_large_folder_come_whole_and_in_order(imapd):
    root = maildir(imapd)
    uid, gid = vmail_ids()
    n = int(os.environ.get("FETCH_BIG_FOLDER", "20000"))
    msg = b"From: a@b.test\r\nSubject: s\r\n\r\nx\r\n"
    for i in range(n):
        p = root / "cur" / f"1700000000.M{i:06d}P1.other,S={len(msg)},W={len(msg)}:2,"
        with open(p, "wb") as f:
            f.write(msg)
        os.chown(p, uid, gid)
    r = raw_login(imapd)
    lines = select(r)
    assert f"* {n} EXISTS" in lines
    t0 = time.monotonic()
    out = raw_fetch(r, "F UID FETCH 1:* (FLAGS)")
    print(f"UID FETCH 1:* (FLAGS) of {n} messages: {time.monotonic() - t0:.3f} s")
    got = re.findall(rb"\* (\d+) FETCH \(UID (\d+) FLAGS \(\)\)\r\n", out)
    assert len(got) == n
    assert all(int(s) == i + 1 and int(u) == i + 1 for i, (s, u) in enumerate(got))
    assert tagged(out) == "F OK Fetch completed."
    r.close()


# --- other clients ---------------------------------------------------------------------------

def test_curl_fetches_a_message_by_uid(imapd):
    deliver(imapd, 2)
    res = subprocess.run(
        ["curl", "-sS", "-k", "--max-time", str(20 * SLOW),
         f"imaps://127.0.0.1:{imapd.imap_ports['imaps']}/INBOX;UID=2",
         "-u", f"{USER}:{PASSWORD}"], capture_output=True)
    assert res.returncode == 0, res.stderr
    c = login(imapd)
    c.select("INBOX")
    stored = c.uid("FETCH", "2", "(BODY.PEEK[])")[1][0][1]
    c.logout()
    assert res.stdout == stored
    assert b"Subject: message 2\r\n" in stored and stored.endswith(b"Body of message 2.\r\n")
