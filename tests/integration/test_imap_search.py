"""SEARCH, UID SEARCH, ESEARCH, SORT and THREAD against a real maild. Test mailboxes are written
straight into bob's Maildir (as another program with access to it would: files owned by the mail
user, moved into new/ by rename), so each test controls flags, dates and the exact bytes."""
import os
import pwd
import re
import time

import socket

import pytest

from conftest import SLOW, scale_test, wait_until
from imap_support import USER, delivery_order, login, maildir, raw_login
from test_imap_session import PASSWORD, Raw, imapd, make_imapd, tls_context  # noqa: F401

_counter = [0]


def message(subject="hello", frm="Alice Example <alice@remote.test>", to=USER, cc=None,
            bcc=None, date="Mon, 23 Nov 2026 10:00:00 +0000", body="Nothing much.",
            msgid=None, refs=None, irt=None, headers=(), ctype=None, cte=None):
    lines = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if cc:
        lines.append(f"Cc: {cc}")
    if bcc:
        lines.append(f"Bcc: {bcc}")
    if msgid:
        lines.append(f"Message-ID: {msgid}")
    if refs:
        lines.append(f"References: {refs}")
    if irt:
        lines.append(f"In-Reply-To: {irt}")
    if ctype:
        lines.append(f"Content-Type: {ctype}")
    if cte:
        lines.append(f"Content-Transfer-Encoding: {cte}")
    lines.extend(headers)
    text = "\r\n".join(lines) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")
    if not text.endswith("\r\n"):
        text += "\r\n"
    return text.encode()


def put(m, data, flags="", internaldate=None, folder=""):
    """One message file into the Maildir (new/ without flags, cur/ with them), in the order of
    the calls (the sync gives UIDs in file-name order)."""
    root = maildir(m) / folder if folder else maildir(m)
    _counter[0] += 1
    n = _counter[0]
    name = f"{1700000000 + n}.M{n:06d}P1Q{n}.test,S={len(data)},W={len(data)}"
    tmp = root / "tmp" / name
    tmp.write_bytes(data)
    vmail = pwd.getpwnam("vmail")
    os.chown(tmp, vmail.pw_uid, vmail.pw_gid)
    if internaldate is not None:
        os.utime(tmp, (internaldate, internaldate))
    if flags is None or flags == "":
        os.rename(tmp, root / "new" / name)
    else:
        os.rename(tmp, root / "cur" / f"{name}:2,{flags}")


def keywords_file(m, names):
    path = maildir(m) / "dovecot-keywords"
    path.write_text("".join(f"{i} {k}\n" for i, k in enumerate(names)))
    vmail = pwd.getpwnam("vmail")
    os.chown(path, vmail.pw_uid, vmail.pw_gid)


def session(m, select=True):
    r = raw_login(m)
    if select:
        r.send(b"S SELECT INBOX\r\n")
        assert r.until_tagged("S")[-1].startswith("S OK")
    return r


def run(r, line, tag="A"):
    r.send(f"{tag} {line}\r\n".encode())
    return r.until_tagged(tag)


def numbers(lines, word="SEARCH"):
    """The numbers of the "* SEARCH" (or "* SORT") line, and the tagged reply's status."""
    found = [ln for ln in lines if ln.startswith(f"* {word}")]
    assert len(found) == 1, lines
    assert lines[-1].split()[1] == "OK", lines
    return [int(x) for x in found[0].split()[2:]]


def search(r, criteria, uid=False):
    return numbers(run(r, ("UID SEARCH " if uid else "SEARCH ") + criteria))


def search_literal(r, before, text):
    """SEARCH <before> {n} with text (UTF-8) as a synchronising literal."""
    data = text.encode()
    r.send(f"A SEARCH {before} {{{len(data)}}}\r\n".encode())
    assert r.line().startswith("+")
    r.send(data + b"\r\n")
    return numbers(r.until_tagged("A"))


def esearch(lines):
    found = [ln for ln in lines if ln.startswith("* ESEARCH")]
    assert len(found) == 1, lines
    return found[0]


# --- flags and other state ------------------------------------------------------------------

def test_flag_keys_match_the_maildir_flags(imapd):
    put(imapd, message("one"), flags="S")
    put(imapd, message("two"), flags="R")
    put(imapd, message("three"), flags="F")
    put(imapd, message("four"), flags="T")
    put(imapd, message("five"), flags="D")
    put(imapd, message("six"))  # new/: \Recent for the first session
    r = session(imapd)
    assert search(r, "ALL") == [1, 2, 3, 4, 5, 6]
    assert search(r, "SEEN") == [1]
    assert search(r, "UNSEEN") == [2, 3, 4, 5, 6]
    assert search(r, "ANSWERED") == [2]
    assert search(r, "UNANSWERED") == [1, 3, 4, 5, 6]
    assert search(r, "FLAGGED") == [3]
    assert search(r, "UNFLAGGED") == [1, 2, 4, 5, 6]
    assert search(r, "DELETED") == [4]
    assert search(r, "UNDELETED") == [1, 2, 3, 5, 6]
    assert search(r, "DRAFT") == [5]
    assert search(r, "UNDRAFT") == [1, 2, 3, 4, 6]
    assert search(r, "RECENT") == [6]
    assert search(r, "NEW") == [6]
    assert search(r, "OLD") == [1, 2, 3, 4, 5]
    # key names in any case
    assert search(r, "seen") == [1]
    r.close()


def test_keyword_and_unkeyword(imapd):
    keywords_file(imapd, ["$Label1", "Work"])
    put(imapd, message("one"), flags="a")
    put(imapd, message("two"), flags="b")
    put(imapd, message("three"), flags="S")
    r = session(imapd)
    assert search(r, "KEYWORD $Label1") == [1]
    assert search(r, "KEYWORD work") == [2]
    assert search(r, "UNKEYWORD Work") == [1, 3]
    # a keyword no message has matches nothing, and its UN- form everything
    assert search(r, "KEYWORD Nowhere") == []
    assert search(r, "UNKEYWORD Nowhere") == [1, 2, 3]
    r.close()


def test_sequence_sets_uid_sets_not_or_and_parentheses(imapd):
    for i in range(1, 8):
        put(imapd, message(f"m{i}"), flags="S" if i % 2 else "")
    r = session(imapd)
    assert search(r, "2:4") == [2, 3, 4]
    assert search(r, "5:*") == [5, 6, 7]
    assert search(r, "*") == [7]
    assert search(r, "1,3,6:7") == [1, 3, 6, 7]
    assert search(r, "UID 2,4:5") == [2, 4, 5]
    assert search(r, "UID 6:100") == [6, 7]
    assert search(r, "NOT SEEN") == [2, 4, 6]
    assert search(r, "OR 1 7") == [1, 7]
    assert search(r, "OR SEEN 2:3") == [1, 2, 3, 5, 7]
    assert search(r, "(SEEN 1:4)") == [1, 3]
    assert search(r, "NOT (SEEN 1:4)") == [2, 4, 5, 6, 7]
    assert search(r, "SEEN NOT 1 OR 3 7") == [3, 7]
    assert search(r, "1:5 UNSEEN") == [2, 4]
    # UID SEARCH answers with UIDs
    assert search(r, "UNSEEN", uid=True) == [2, 4, 6]
    r.close()


def test_uid_search_answers_uids_after_an_expunge_shifted_the_numbers(imapd):
    for i in range(1, 5):
        put(imapd, message(f"m{i}"), flags="S")
    r = session(imapd)
    root = maildir(imapd)
    first = delivery_order((root / "cur").iterdir())[0]
    os.unlink(first)  # another program removes UID 1
    run(r, "NOOP", "N")
    assert search(r, "ALL") == [1, 2, 3]
    assert search(r, "ALL", uid=True) == [2, 3, 4]
    assert search(r, "UID 3:4") == [2, 3]
    r.close()


# --- headers ---------------------------------------------------------------------------------

def test_address_keys_match_decoded_rendered_addresses(imapd):
    put(imapd, message(frm="Alice Example <alice@remote.test>", cc="Carol <carol@c.test>",
                       bcc="dave@d.test"))
    put(imapd, message(frm="=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@muller.test>",
                       to="Team: eve@e.test, frank@f.test;"))
    put(imapd, message(frm="bob@example.test", to="alice@remote.test"))
    r = session(imapd)
    assert search(r, "FROM alice") == [1]
    assert search(r, "FROM ALICE@REMOTE.TEST") == [1]
    assert search(r, 'FROM "Alice Example <alice@remote.test>"') == [1]
    assert search(r, 'FROM "example <alice"') == [1]
    assert search(r, "FROM remote.test") == [1]
    assert search(r, "TO alice") == [3]
    assert search(r, "TO frank@f.test") == [2]
    assert search(r, "CC carol") == [1]
    assert search(r, "CC nobody") == []
    assert search(r, "BCC dave@d") == [1]
    # RFC 2047 name decoded, compared without case
    assert search_literal(r, "CHARSET UTF-8 FROM", "JÖRG") == [2]
    assert search_literal(r, "FROM", "jörg müller <joerg@") == [2]
    r.close()


def test_subject_and_header_keys(imapd):
    put(imapd, message("Quarterly report", headers=["X-Priority: 1 (Highest)"]))
    put(imapd, message("=?ISO-8859-1?Q?Caf=E9_au_lait?="))
    put(imapd, message("Re: quarterly\r\n folded REPORT"))
    r = session(imapd)
    assert search(r, "SUBJECT quarterly") == [1, 3]
    assert search(r, 'SUBJECT "quarterly folded"') == [3]
    assert search(r, "SUBJECT report") == [1, 3]
    assert search_literal(r, "CHARSET UTF-8 SUBJECT", "CAFÉ") == [2]
    assert search(r, "HEADER X-Priority highest") == [1]
    # an empty string matches every message that has the field
    assert search(r, 'HEADER X-Priority ""') == [1]
    assert search(r, 'HEADER x-priority "1 (high"') == [1]
    assert search(r, "HEADER Subject lait") == [2]
    assert search(r, "HEADER X-Missing x") == []
    r.close()


def test_header_search_is_answered_from_the_cache_after_the_first_time(imapd):
    put(imapd, message("cached subject"))
    r = session(imapd)
    assert search(r, "SUBJECT cached") == [1]
    # the fields are in the index now: replace the file's bytes (same name, so no sync
    # notices) and the answer stays what the cache says
    path = next((maildir(imapd) / "cur").iterdir())
    data = path.read_bytes().replace(b"cached subject", b"edited subject")
    path.write_bytes(data)
    assert search(r, "SUBJECT cached") == [1]
    r.close()


def _index_rows(m, table):
    """Rows of a table of bob's mail index, read behind maild's back."""
    import sqlite3
    db = sqlite3.connect(f"file:{maildir(m) / 'maild-index.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def _cache_rows(m):
    return _index_rows(m, "cache")


def test_a_first_header_search_after_a_listing_reads_the_header_lines_fetch_left(imapd):
    put(imapd, message("listed subject", frm="Carol Lister <carol@remote.test>"))
    r = session(imapd)
    # a client listing the folder: the header lines entry is written with the envelope
    lines = run(r, "FETCH 1 (ENVELOPE)")
    assert lines[-1].startswith("A OK"), lines
    path = next((maildir(imapd) / "cur").iterdir())
    data = path.read_bytes()
    path.write_bytes(data.replace(b"listed subject", b"edited subject")
                     .replace(b"Carol Lister", b"Edith Editor"))
    rows_before = _cache_rows(imapd)
    # no search ran yet: the answers come from that entry, not from the file
    assert search(r, "SUBJECT listed") == [1]
    assert search(r, "FROM carol") == [1]
    assert search(r, "FROM edith") == []
    # and nothing is copied out of the entry into the index: it answers again
    assert _cache_rows(imapd) == rows_before
    assert search(r, "SUBJECT listed") == [1]
    # keys the entry does not hold still read the file
    assert search(r, "BODY much") == [1]
    r.close()


# --- dates and sizes ---------------------------------------------------------------------------

def day(y, mo, d, h=12):
    return time.mktime((y, mo, d, h, 0, 0, 0, 0, -1))


def test_internal_date_keys(imapd):
    put(imapd, message("a"), flags="S", internaldate=day(2024, 1, 31))
    put(imapd, message("b"), flags="S", internaldate=day(2024, 2, 1))
    put(imapd, message("c"), flags="S", internaldate=day(2024, 2, 2))
    r = session(imapd)
    assert search(r, "BEFORE 1-Feb-2024") == [1]
    assert search(r, "ON 1-Feb-2024") == [2]
    assert search(r, 'ON "01-FEB-2024"') == [2]
    assert search(r, "SINCE 1-feb-2024") == [2, 3]
    assert search(r, "SINCE 3-Feb-2024") == []
    r.close()


def test_sent_date_keys_use_the_date_field_as_written(imapd):
    put(imapd, message("a", date="Wed, 31 Jan 2024 23:30:00 -0500"))
    put(imapd, message("b", date="1 Feb 2024 08:00 +0900"))
    put(imapd, message("c", date="Fri, 2 Feb 24 10:00:00 GMT"))
    put(imapd, message("d", date="not a date"))
    r = session(imapd)
    # the date as written: 31 Jan even though it is 1 Feb in UTC
    assert search(r, "SENTBEFORE 1-Feb-2024") == [1]
    assert search(r, "SENTON 1-Feb-2024") == [2]
    assert search(r, "SENTSINCE 1-Feb-2024") == [2, 3]
    assert search(r, "SENTON 2-Feb-2024") == [3]
    assert search(r, "NOT SENTSINCE 1-Jan-1970") == [4]
    r.close()


def test_larger_and_smaller_use_rfc822_size(imapd):
    sizes = []
    for n in (10, 1000, 5000):
        data = message("s", body="x" * n)
        sizes.append(len(data))
        put(imapd, data, flags="S")
    r = session(imapd)
    assert search(r, f"LARGER {sizes[0]}") == [2, 3]
    assert search(r, f"LARGER {sizes[0] - 1}") == [1, 2, 3]
    assert search(r, f"SMALLER {sizes[2]}") == [1, 2]
    assert search(r, f"SMALLER {sizes[1] + 1} LARGER {sizes[0]}") == [2]
    assert search(r, "LARGER 9223372036854775807") == []
    assert run(r, "SEARCH LARGER 9223372036854775808")[-1].startswith("A BAD")
    r.close()


# --- body and text -------------------------------------------------------------------------------

def test_body_and_text_search_decoded_text(imapd):
    put(imapd, message("plain", body="The quick brown fox jumps.\n"))
    put(imapd, message("qp", ctype="text/plain; charset=iso-8859-1", cte="quoted-printable",
                       body="Gr=FC=DFe aus K=F6ln\n"))
    put(imapd, message("b64", ctype="text/plain; charset=utf-8", cte="base64",
                       body="U2VjcmV0IHBhc3N3b3JkIGluc2lkZQ==\n"))
    put(imapd, message("html", ctype="text/html",
                       body="<p>Hello <b>wor</b>ld</p><p>banana split</p>\n"))
    put(imapd, message("fox in the subject", body="nothing\n"))
    r = session(imapd)
    assert search(r, "BODY fox") == [1]
    assert search(r, "TEXT fox") == [1, 5]
    assert search(r, "BODY QUICK") == [1]
    assert search(r, 'BODY "brown fox"') == [1]
    assert search(r, "BODY password") == [3]
    assert search(r, "BODY U2VjcmV0") == []  # the encoded form is not the text
    assert search(r, 'BODY "banana split"') == [4]
    assert search(r, "BODY <p>") == []
    assert search_literal(r, "CHARSET UTF-8 BODY", "KÖLN") == [2]
    assert search_literal(r, "BODY", "grüße") == [2]
    # TEXT also covers header fields, decoded
    assert search(r, "TEXT alice@remote.test") == [1, 2, 3, 4, 5]
    assert search(r, "BODY alice@remote.test") == []
    # short needles (trigrams cannot match them) still work
    assert search(r, "BODY ju") == [1]
    assert search(r, "BODY x") == [1]
    assert search(r, 'BODY ""') == [1, 2, 3, 4, 5]
    r.close()


def test_body_search_sees_messages_that_arrive_later(imapd):
    put(imapd, message("first", body="alpha beta\n"))
    r = session(imapd)
    assert search(r, "BODY alpha") == [1]
    put(imapd, message("second", body="alpha gamma\n"))
    run(r, "NOOP", "N")
    assert search(r, "BODY alpha") == [1, 2]
    assert search(r, "BODY gamma") == [2]
    r.close()


def test_body_and_text_keys_at_and_past_the_limit(imapd):
    put(imapd, message("x", body="needle\n"))
    r = session(imapd)
    assert search(r, " ".join(["BODY needle"] * 32)) == [1]
    lines = run(r, "SEARCH " + " ".join(["BODY needle"] * 33))
    assert lines[-1].startswith("A BAD")
    r.close()


# --- charset and syntax ------------------------------------------------------------------------

def test_charset_utf8_and_us_ascii_are_accepted_others_are_badcharset(imapd):
    put(imapd, message("abc"))
    r = session(imapd)
    assert search(r, "CHARSET UTF-8 SUBJECT abc") == [1]
    assert search(r, "CHARSET us-ascii SUBJECT abc") == [1]
    lines = run(r, "SEARCH CHARSET ISO-8859-1 SUBJECT abc")
    assert lines[-1] == "A NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset."
    lines = run(r, "SORT (DATE) KOI8-R ALL")
    assert lines[-1].startswith("A NO [BADCHARSET (UTF-8 US-ASCII)]")
    lines = run(r, "THREAD REFERENCES x-unknown ALL")
    assert lines[-1].startswith("A NO [BADCHARSET (UTF-8 US-ASCII)]")
    r.close()


@pytest.mark.parametrize("criteria", [
    "", "NOSUCHKEY", "FROM", "BEFORE yesterday", "BEFORE 32-Jan-2024", "ON 1-Foo-2024",
    "LARGER x", "UID", "UID 1:x", "OR SEEN", "NOT", "()", "HEADER", "HEADER Subject",
    "KEYWORD \\Seen", "RETURN (SAVE FOO) ALL", "RETURN (FOO) ALL", "RETURN ALL", "1,$",
    "UID $,2",
    "MODSEQ x", 'MODSEQ "/flags/\\\\seen" bogus 5', "CHARSET",
])
def test_bad_search_programs_are_bad(imapd, criteria):
    put(imapd, message("a"))
    r = session(imapd)
    lines = run(r, "SEARCH " + criteria)
    assert lines[-1].startswith("A BAD"), lines
    assert not any(ln.startswith("* SEARCH") for ln in lines)
    r.close()


def test_sequence_number_past_the_end_is_bad_but_uid_past_the_end_is_empty(imapd):
    put(imapd, message("a"))
    r = session(imapd)
    assert run(r, "SEARCH 2")[-1].startswith("A BAD")
    assert search(r, "UID 2:5") == []
    assert search(r, "UID 1:*") == [1]
    r.close()


def test_search_needs_a_selected_mailbox(imapd):
    r = session(imapd, select=False)
    assert run(r, "SEARCH ALL")[-1].startswith("A BAD")
    assert run(r, "UID SEARCH ALL")[-1].startswith("A BAD")
    assert run(r, "SORT (DATE) UTF-8 ALL")[-1].startswith("A BAD")
    assert run(r, "THREAD REFERENCES UTF-8 ALL")[-1].startswith("A BAD")
    r.close()


def test_nesting_at_and_past_the_limit(imapd):
    put(imapd, message("a"), flags="S")
    r = session(imapd)
    # 100 levels of NOT are allowed; the key inside is then at depth 100
    assert search(r, "NOT " * 100 + "SEEN") == [1]
    assert search(r, "NOT " * 99 + "SEEN") == []
    assert run(r, "SEARCH " + "NOT " * 101 + "SEEN")[-1].startswith("A BAD")
    # a list counts as a level too
    assert search(r, "(" * 100 + "SEEN" + ")" * 100) == [1]
    assert run(r, "SEARCH NOT " + "(" * 100 + "SEEN" + ")" * 100)[-1].startswith("A BAD")
    r.close()


# --- ESEARCH, IMAP4rev2, MODSEQ ---------------------------------------------------------------

def test_esearch_return_options(imapd):
    for i in range(1, 8):
        put(imapd, message(f"m{i}"), flags="" if i in (2, 3, 4, 7) else "S")
    r = session(imapd)
    line = esearch(run(r, "SEARCH RETURN (MIN MAX COUNT) UNSEEN", "T1"))
    assert line == '* ESEARCH (TAG "T1") MIN 2 MAX 7 COUNT 4'
    line = esearch(run(r, "SEARCH RETURN (ALL) UNSEEN", "T2"))
    assert line == '* ESEARCH (TAG "T2") ALL 2:4,7'
    line = esearch(run(r, "SEARCH RETURN () UNSEEN", "T3"))
    assert line == '* ESEARCH (TAG "T3") ALL 2:4,7'
    line = esearch(run(r, "UID SEARCH RETURN (COUNT MIN) SEEN", "T4"))
    assert line == '* ESEARCH (TAG "T4") UID MIN 1 COUNT 3'
    # nothing matches: only COUNT says so
    line = esearch(run(r, "SEARCH RETURN (MIN MAX ALL COUNT) DELETED", "T5"))
    assert line == '* ESEARCH (TAG "T5") COUNT 0'
    line = esearch(run(r, "SEARCH RETURN (MIN) DELETED", "T6"))
    assert line == '* ESEARCH (TAG "T6")'
    r.close()


def test_imap4rev2_answers_plain_search_with_esearch(imapd):
    for i in range(1, 4):
        put(imapd, message(f"m{i}"), flags="S")
    r = raw_login(imapd)
    assert run(r, "ENABLE IMAP4rev2", "E")[-1].startswith("E OK")
    run(r, "SELECT INBOX", "S")
    lines = run(r, "SEARCH 2:3", "X1")
    assert esearch(lines) == '* ESEARCH (TAG "X1") ALL 2:3'
    assert not any(ln.startswith("* SEARCH") for ln in lines)
    lines = run(r, "UID SEARCH ALL", "X2")
    assert esearch(lines) == '* ESEARCH (TAG "X2") UID ALL 1:3'
    lines = run(r, "SEARCH DELETED", "X3")
    assert esearch(lines) == '* ESEARCH (TAG "X3")'
    r.close()


def test_modseq_key_and_result(imapd):
    for i in range(1, 4):
        put(imapd, message(f"m{i}"), flags="S")
    r = session(imapd)
    lines = run(r, "SEARCH MODSEQ 1")
    found = [ln for ln in lines if ln.startswith("* SEARCH")]
    assert re.fullmatch(r"\* SEARCH 1 2 3 \(MODSEQ \d+\)", found[0]), found
    highest = int(re.search(r"MODSEQ (\d+)", found[0]).group(1))
    assert search(r, f"MODSEQ {highest + 1}") == []
    lines = run(r, f'SEARCH MODSEQ "/flags/\\\\seen" all {highest}')
    assert lines[-1].startswith("A OK")
    line = esearch(run(r, "SEARCH RETURN (MAX) MODSEQ 1", "T"))
    assert re.fullmatch(r'\* ESEARCH \(TAG "T"\) MAX 3 MODSEQ \d+', line), line
    r.close()


# --- EXPUNGE rules ----------------------------------------------------------------------------

def test_search_reports_no_expunge_but_uid_search_does(imapd):
    for i in range(1, 4):
        put(imapd, message(f"m{i}"), flags="S")
    r = session(imapd)
    time.sleep(1.1)  # the sync trusts unchanged directory mtimes only when older than 1 s
    os.unlink(sorted((maildir(imapd) / "cur").iterdir())[1])
    lines = run(r, "SEARCH ALL")
    assert not any("EXPUNGE" in ln for ln in lines)
    assert numbers(lines) == [1, 2, 3]
    lines = run(r, "SORT (ARRIVAL) UTF-8 ALL")
    assert not any("EXPUNGE" in ln for ln in lines)
    lines = run(r, "UID SEARCH ALL", "U")
    assert "* 2 EXPUNGE" in lines
    r.close()


# --- SORT -----------------------------------------------------------------------------------------

def sort(r, criteria, keys="ALL", uid=False):
    return numbers(run(r, f"{'UID ' if uid else ''}SORT ({criteria}) UTF-8 {keys}"), "SORT")


def test_sort_orders(imapd):
    put(imapd, message("Re: banana", frm="Zed <zed@z.test>", to="amy@a.test",
                       cc="Yan <yan@y.test>", date="Tue, 2 Jan 2024 10:00:00 +0000",
                       body="x" * 300), internaldate=day(2024, 3, 3))
    put(imapd, message("apple", frm="=?UTF-8?Q?=C3=89mile?= <emile@e.test>", to="Zoe <zoe@z.test>",
                       cc="bea@b.test", date="Mon, 1 Jan 2024 23:00:00 -0500",
                       body="x" * 10), internaldate=day(2024, 3, 1))
    put(imapd, message("[list] Fwd: Cherry", frm="bob@b.test", to="Mia <mia@m.test>",
                       date="Tue, 2 Jan 2024 09:00:00 +0000", body="x" * 100),
        internaldate=day(2024, 3, 2))
    r = session(imapd)
    assert sort(r, "ARRIVAL") == [2, 3, 1]
    assert sort(r, "REVERSE ARRIVAL") == [1, 3, 2]
    # 23:00 -0500 on 1 Jan is 04:00 UTC on 2 Jan: before the other two
    assert sort(r, "DATE") == [2, 3, 1]
    assert sort(r, "SIZE") == [2, 3, 1]
    assert sort(r, "SUBJECT") == [2, 1, 3]  # apple, banana, cherry
    assert sort(r, "FROM") == [3, 2, 1]     # bob, emile, zed
    assert sort(r, "TO") == [1, 3, 2]       # amy, mia, zoe
    assert sort(r, "CC") == [3, 2, 1]       # "" (none), bea, yan
    assert sort(r, "DISPLAYFROM") == [3, 1, 2]  # bob@b.test, Zed, Émile (é after z)
    assert sort(r, "DISPLAYTO") == [1, 3, 2]    # amy@a.test, Mia, Zoe
    assert sort(r, "REVERSE SUBJECT") == [3, 1, 2]
    assert sort(r, "SUBJECT", uid=True) == [2, 1, 3]
    assert sort(r, "SIZE", keys="NOT 2") == [3, 1]
    r.close()


def test_sort_ties_use_the_next_criterion_then_sequence_order(imapd):
    put(imapd, message("same", frm="b@x.test"), flags="S")
    put(imapd, message("same", frm="a@x.test"), flags="S")
    put(imapd, message("Re: same", frm="a@x.test"), flags="S")
    put(imapd, message("other", frm="a@x.test"), flags="S")
    r = session(imapd)
    assert sort(r, "SUBJECT") == [4, 1, 2, 3]
    assert sort(r, "SUBJECT FROM") == [4, 2, 3, 1]
    assert sort(r, "SUBJECT REVERSE FROM") == [4, 1, 2, 3]
    r.close()


@pytest.mark.parametrize("line", [
    "SORT () UTF-8 ALL", "SORT (BOGUS) UTF-8 ALL", "SORT (REVERSE) UTF-8 ALL",
    "SORT DATE UTF-8 ALL", "SORT (DATE) UTF-8", "SORT (DATE)",
    "SORT (" + " ".join(["DATE"] * 17) + ") UTF-8 ALL",
    "THREAD BOGUS UTF-8 ALL", "THREAD REFERENCES UTF-8", "THREAD",
])
def test_bad_sort_and_thread_commands_are_bad(imapd, line):
    r = session(imapd)
    assert run(r, line)[-1].startswith("A BAD")
    r.close()


def test_sort_criteria_at_the_limit(imapd):
    put(imapd, message("a"))
    r = session(imapd)
    assert sort(r, " ".join(["DATE"] * 16)) == [1]
    r.close()


# --- THREAD ---------------------------------------------------------------------------------------

def thread(r, alg, keys="ALL", uid=False):
    lines = run(r, f"{'UID ' if uid else ''}THREAD {alg} UTF-8 {keys}")
    found = [ln for ln in lines if ln.startswith("* THREAD")]
    assert len(found) == 1 and lines[-1].startswith("A OK"), lines
    return found[0][len("* THREAD"):].strip()


def test_thread_orderedsubject(imapd):
    put(imapd, message("Lunch", date="Mon, 1 Jan 2024 10:00:00 +0000"))
    put(imapd, message("Re: lunch", date="Mon, 1 Jan 2024 11:00:00 +0000"))
    put(imapd, message("Budget", date="Mon, 1 Jan 2024 09:00:00 +0000"))
    put(imapd, message("RE: Lunch", date="Mon, 1 Jan 2024 10:30:00 +0000"))
    put(imapd, message("Fwd: budget", date="Mon, 1 Jan 2024 12:00:00 +0000"))
    put(imapd, message("Lunch", date="Mon, 1 Jan 2024 13:00:00 +0000"))
    r = session(imapd)
    assert thread(r, "ORDEREDSUBJECT") == "(3 5)(1 (4)(2)(6))"
    assert thread(r, "ORDEREDSUBJECT", keys="1:2") == "(1 2)"
    assert thread(r, "ORDEREDSUBJECT", keys="DELETED") == ""
    r.close()


def test_thread_references_builds_the_reply_tree(imapd):
    d = "Mon, 1 Jan 2024 1{}:00:00 +0000"
    put(imapd, message("Plan", msgid="<a@x>", date=d.format(0)))
    put(imapd, message("Re: Plan", msgid="<b@x>", refs="<a@x>", date=d.format(1)))
    put(imapd, message("Re: Plan", msgid="<c@x>", refs="<a@x> <b@x>", date=d.format(2)))
    put(imapd, message("Re: Plan", msgid="<d@x>", irt="<a@x>", date=d.format(3)))
    put(imapd, message("Other", msgid="<e@x>", date=d.format(4)))
    # parent never seen: a dummy joins the two replies to it
    put(imapd, message("Re: gone", msgid="<f@x>", refs="<lost@x>", date=d.format(5)))
    put(imapd, message("Re: gone", msgid="<g@x>", refs="<lost@x>", date=d.format(6)))
    r = session(imapd)
    assert thread(r, "REFERENCES") == "(1 (2 3)(4))(5)((6)(7))"
    # UID form writes UIDs; a subset threads only its members
    assert thread(r, "REFERENCES", keys="2:4", uid=True) == "((2 3)(4))"
    r.close()


def test_thread_references_gathers_same_subject_threads(imapd):
    d = "Mon, 1 Jan 2024 1{}:00:00 +0000"
    put(imapd, message("Weekly sync", msgid="<s1@x>", date=d.format(0)))
    put(imapd, message("Re: Weekly sync", msgid="<s2@x>", date=d.format(1)))  # no references
    put(imapd, message("Weekly sync", msgid="<s3@x>", date=d.format(2)))
    put(imapd, message("Unrelated", date=d.format(3)))  # no Message-ID at all
    r = session(imapd)
    # the reply without references goes under the original; the two originals share a dummy
    assert thread(r, "REFERENCES") == "((1 2)(3))(4)"
    r.close()


def test_thread_references_survives_loops_and_duplicate_ids(imapd):
    d = "Mon, 1 Jan 2024 1{}:00:00 +0000"
    put(imapd, message("a", msgid="<l1@x>", refs="<l2@x>", date=d.format(0)))
    put(imapd, message("b", msgid="<l2@x>", refs="<l1@x>", date=d.format(1)))
    put(imapd, message("c", msgid="<l1@x>", date=d.format(2)))  # duplicate id
    put(imapd, message("d", msgid="<self@x>", refs="<self@x>", date=d.format(3)))
    r = session(imapd)
    out = thread(r, "REFERENCES")
    assert sorted(int(x) for x in re.findall(r"\d+", out)) == [1, 2, 3, 4]
    r.close()


# --- a big folder -------------------------------------------------------------------------------

@scale_test
def test_body_search_in_a_5000_message_folder_returns_the_right_uids(imapd):
    root = maildir(imapd)
    vmail = pwd.getpwnam("vmail")
    for i in range(1, 5001):
        body = f"Routine message number {i}.\n"
        if i % 1000 == 7:
            body += "The zanzibar shipment is late.\n"
        data = message(f"bulk {i}", body=body, date=f"Mon, 1 Jan 2024 10:{i % 60:02d}:00 +0000")
        name = f"{1800000000 + i}.M{i:06d}P2Q{i}.test,S={len(data)},W={len(data)}"
        path = root / "cur" / f"{name}:2,S"
        path.write_bytes(data)
        os.chown(path, vmail.pw_uid, vmail.pw_gid)
    r = session(imapd)
    r.sock.settimeout(120 * SLOW)
    assert search(r, "BODY zanzibar", uid=True) == [7, 1007, 2007, 3007, 4007]
    assert search(r, "BODY zanzibar") == [7, 1007, 2007, 3007, 4007]
    assert search(r, "TEXT zanzibar NOT 1:2000") == [2007, 3007, 4007]
    assert search(r, 'BODY "number 4999."') == [4999]
    # a big answer is streamed out whole
    everything = search(r, "ALL")
    assert everything == list(range(1, 5001))
    assert search(r, "SUBJECT \"bulk 4321\"") == [4321]
    assert sort(r, "REVERSE SUBJECT", keys="SUBJECT \"bulk 12\"")[:3] == [1299, 1298, 1297]
    r.close()


class SlowReader(Raw):
    """A TLS client whose socket holds little: what it does not read stays with the server."""

    def __init__(self, m):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(120 * SLOW)
        sock.connect(("127.0.0.1", m.imap_ports["imaps"]))
        self.sock = tls_context().wrap_socket(sock)
        self.buf = b""
        self.greeting = self.line()


@scale_test
def test_an_answer_larger_than_the_output_mark_reaches_a_slow_reader_whole(imapd):
    # 50,000 UIDs make a ~290 KB "* SEARCH" line, written in 64 KiB pieces; the client reads
    # late, through a small receive buffer. (On loopback the kernel's send buffer still takes
    # it all, so the wait for on_drain past the 256 KiB mark is not reached here.)
    root = maildir(imapd)
    vmail = pwd.getpwnam("vmail")
    data = message("tiny", body="x")
    for i in range(1, 50001):
        name = f"{1900000000 + i}.M{i:06d}P3Q{i}.test,S={len(data)},W={len(data)}"
        path = root / "cur" / f"{name}:2,S"
        path.write_bytes(data)
        os.chown(path, vmail.pw_uid, vmail.pw_gid)
    r = SlowReader(imapd)
    r.send(f'L LOGIN "{USER}" "{PASSWORD}"\r\n'.encode())
    assert r.until_tagged("L")[-1].startswith("L OK")
    run(r, "SELECT INBOX", "S")
    r.send(b"A UID SEARCH ALL\r\nB NOOP\r\n")
    time.sleep(2)
    lines = r.until_tagged("A")
    assert numbers(lines) == list(range(1, 50001))
    assert r.until_tagged("B")[-1].startswith("B OK")
    r.close()


def test_capabilities_announce_the_thread_and_sort_extensions(imapd):
    r = session(imapd, select=False)
    caps = run(r, "CAPABILITY", "C")[0].split()
    for cap in ["SORT", "SORT=DISPLAY", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT",
                "ESEARCH"]:
        assert cap in caps, caps
    r.close()


def _indexed_texts(m):
    return _index_rows(m, "fts_docsize")


def test_a_big_folder_is_indexed_in_the_background_after_select(make_imapd):
    """imap.fts_background_min: a SELECT of a folder that big starts indexing its text at once;
    the first BODY search then finds the work done. Smaller folders wait for a search."""
    m = make_imapd("imap.fts_background_min = 6\n")
    for i in range(5):
        put(m, message(subject=f"small {i}", body=f"plain text {i}"), flags="S")
    c = login(m)
    assert c.select("INBOX")[0] == "OK"
    time.sleep(0.3 * SLOW)
    assert _indexed_texts(m) == 0
    put(m, message(subject="the one", body="a zanzibarite in the body"), flags="S")
    put(m, message(subject="last", body="nothing"), flags="S")
    assert c.select("INBOX")[0] == "OK"
    wait_until(lambda: _indexed_texts(m) == 7, timeout=20)
    typ, data = c.uid("SEARCH", None, "BODY", "zanzibarite")
    assert typ == "OK" and data[0].split() == [b"6"]
    c.logout()


def test_a_first_body_search_of_an_unindexed_folder_reads_it_and_has_it_indexed(make_imapd):
    """More texts missing than a search indexes itself (300 > 256): the search reads those
    messages directly (same folding as the index: QP decoded, Unicode case) and answers at
    once; then the index is built in the background, even with the SELECT trigger off, and
    the next search gives the same answer from it."""
    m = make_imapd("imap.fts_background_min = 0\n")
    want = []
    for i in range(1, 301):
        if i % 3 == 0:
            body = f"message {i} about a Zanzibarite"
            want.append(i)
        elif i % 3 == 1:
            body = f"message {i} about nothing"
        else:
            body = None
        if body is None:
            raw = (f"From: x@example.org\r\nSubject: qp {i}\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                   "=C3=89T=C3=89 zanzi=\r\nbarite\r\n").encode()
            want.append(i)
            put(m, raw, flags="S")
        else:
            put(m, message(subject=f"m {i}", body=body), flags="S")
    want.sort()
    c = login(m)
    assert c.select("INBOX")[0] == "OK"
    assert _indexed_texts(m) == 0
    typ, data = c.uid("SEARCH", None, "BODY", "ZANZIBARITE")
    assert typ == "OK" and [int(x) for x in data[0].split()] == want
    c.literal = "\u00e9t\u00e9".encode()
    typ, data = c.uid("SEARCH", "CHARSET", "UTF-8", "BODY")
    assert typ == "OK" and [int(x) for x in data[0].split()] == [i for i in want if i % 3 == 2]
    wait_until(lambda: _indexed_texts(m) == 300, timeout=60)
    typ, data = c.uid("SEARCH", None, "BODY", "ZANZIBARITE")
    assert typ == "OK" and [int(x) for x in data[0].split()] == want
    c.logout()
