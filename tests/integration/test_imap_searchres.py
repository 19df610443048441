"""SEARCHRES (RFC 5182, part of IMAP4rev2: RFC 9051 6.4.4.1-6.4.4.2) against a real maild:
SEARCH RETURN (SAVE ...) and the "$" it leaves, in FETCH, STORE, COPY, MOVE and SEARCH, when
messages go, when the selection changes, when a SEARCH fails, and pipelined."""
from imap_support import login, raw_login
from test_imap_search import esearch, message, numbers, put, run, search, session
from test_imap_session import imapd  # noqa: F401  (the fixture)


def flags_of(lines):
    """{sequence number: the FETCH line} of the untagged FETCH responses."""
    return {int(ln.split()[1]): ln for ln in lines if ln.startswith("* ") and " FETCH " in ln}


def seven(m):
    """Seven messages, 2, 3, 4 and 7 unseen; UIDs 1..7."""
    for i in range(1, 8):
        put(m, message(f"m{i}"), flags="" if i in (2, 3, 4, 7) else "S")


def test_capability_announces_searchres(imapd):
    r = raw_login(imapd)
    caps = run(r, "CAPABILITY", "C")[0].split()
    assert "SEARCHRES" in caps and "ESEARCH" in caps, caps
    r.close()


def test_save_alone_answers_nothing_and_dollar_names_the_result(imapd):
    seven(imapd)
    r = session(imapd)
    # RFC 9051 6.4.4: SAVE alone suppresses the ESEARCH (and SEARCH) response
    lines = run(r, "SEARCH RETURN (SAVE) UNSEEN", "T1")
    assert len(lines) == 1 and lines[0].startswith("T1 OK"), lines
    fetched = flags_of(run(r, "FETCH $ (UID FLAGS)", "T2"))
    assert sorted(fetched) == [2, 3, 4, 7]
    assert all("\\Seen" not in ln for ln in fetched.values())
    lines = run(r, "UID FETCH $ (FLAGS)", "T3")
    assert sorted(flags_of(lines)) == [2, 3, 4, 7] and lines[-1].startswith("T3 OK")
    # "$" as a search key, alone, with others, inside OR and NOT, and after UID
    assert search(r, "$") == [2, 3, 4, 7]
    assert search(r, "$ 3:7") == [3, 4, 7]
    assert search(r, "OR $ 1") == [1, 2, 3, 4, 7]
    assert search(r, "NOT $") == [1, 5, 6]
    assert search(r, "UID $", uid=True) == [2, 3, 4, 7]
    assert search(r, "$ SEEN") == []
    assert numbers(run(r, "SORT (REVERSE SUBJECT) UTF-8 $", "T0"), "SORT") == [7, 4, 3, 2]
    # a SEARCH without SAVE leaves "$" alone; one with SAVE may narrow it using "$" itself
    assert search(r, "SEEN") == [1, 5, 6]
    assert run(r, "SEARCH RETURN (SAVE) $ 1:3", "T4")[-1].startswith("T4 OK")
    assert search(r, "$") == [2, 3]
    # UID SEARCH saves too; "$" then maps back to sequence numbers in FETCH
    assert run(r, "UID SEARCH RETURN (SAVE) 6:7", "T5")[-1].startswith("T5 OK")
    assert sorted(flags_of(run(r, "FETCH $ (UID)", "T6"))) == [6, 7]
    # a search finding nothing saves the empty set
    assert run(r, "SEARCH RETURN (SAVE) DELETED", "T7")[-1].startswith("T7 OK")
    assert search(r, "$") == []
    r.close()


def test_save_with_min_max_keeps_only_those_with_all_or_count_everything(imapd):
    seven(imapd)
    r = session(imapd)
    assert esearch(run(r, "SEARCH RETURN (SAVE MIN) UNSEEN", "A1")) == \
        '* ESEARCH (TAG "A1") MIN 2'
    assert search(r, "$") == [2]
    assert esearch(run(r, "SEARCH RETURN (MAX SAVE) UNSEEN", "A2")) == \
        '* ESEARCH (TAG "A2") MAX 7'
    assert search(r, "$") == [7]
    assert esearch(run(r, "UID SEARCH RETURN (SAVE MIN MAX) UNSEEN", "A3")) == \
        '* ESEARCH (TAG "A3") UID MIN 2 MAX 7'
    assert search(r, "$") == [2, 7]
    assert esearch(run(r, "SEARCH RETURN (SAVE MIN COUNT) UNSEEN", "A4")) == \
        '* ESEARCH (TAG "A4") MIN 2 COUNT 4'
    assert search(r, "$") == [2, 3, 4, 7]
    assert esearch(run(r, "SEARCH RETURN (SAVE ALL) SEEN", "A5")) == \
        '* ESEARCH (TAG "A5") ALL 1,5:6'
    assert search(r, "$") == [1, 5, 6]
    r.close()


def test_store_copy_move_and_uid_expunge_with_dollar_through_imaplib(imapd):
    for i in range(1, 6):
        put(imapd, message(f"m{i}" if i % 2 else f"pick {i}"), flags="S")
    c = login(imapd)
    assert c.create("Work")[0] == "OK"
    c.select("INBOX")
    typ, data = c.search(None, "RETURN", "(SAVE)", "SUBJECT", "pick")
    assert typ == "OK" and data == [None]  # no SEARCH/ESEARCH response
    typ, data = c.store("$", "+FLAGS", "(\\Flagged)")
    assert typ == "OK" and len(data) == 2 and all(b"\\Flagged" in d for d in data)
    assert sorted(int(d.split()[0]) for d in data) == [2, 4]
    typ, data = c.copy("$", "Work")
    assert typ == "OK"
    assert c.untagged_responses.get("COPYUID") or b"COPYUID" in data[0], data
    typ, data = c.uid("STORE", "$", "-FLAGS", "(\\Seen)")
    assert typ == "OK" and len(data) == 2
    typ, data = c.uid("MOVE", "$", "Work")
    assert typ == "OK"
    # what was saved moved away: "$" is empty in INBOX now, and still valid
    typ, data = c.fetch("$", "(UID)")
    assert typ == "OK" and data == [None]
    typ, data = c.search(None, "ALL")
    assert data == [b"1 2 3"]
    c.select("Work")
    typ, data = c.search(None, "FLAGGED")
    assert data == [b"1 2 3 4"]  # two copies, then the two moved
    typ, data = c.search(None, "UNSEEN")
    assert data == [b"3 4"]  # only the moved ones lost \Seen
    typ, data = c.search(None, "RETURN", "(SAVE)", "1:2")
    assert c.store("$", "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert c.uid("EXPUNGE", "$")[0] == "OK"
    assert c.response("EXPUNGE") == ("EXPUNGE", [b"2", b"1"])
    typ, data = c.search(None, "ALL")
    assert data == [b"1 2"]
    c.logout()


def test_an_expunged_saved_message_drops_out(imapd):
    for i in range(1, 6):
        put(imapd, message(f"m{i}"), flags="S")
    r = session(imapd)
    assert run(r, "SEARCH RETURN (SAVE) 2:4", "A")[-1].startswith("A OK")
    assert run(r, "STORE 3 +FLAGS.SILENT (\\Deleted)", "B")[-1].startswith("B OK")
    lines = run(r, "EXPUNGE", "C")
    assert "* 3 EXPUNGE" in lines
    # UIDs 2 and 4 are left, now sequence numbers 2 and 3
    fetched = flags_of(run(r, "FETCH $ (UID)", "D"))
    assert sorted(fetched) == [2, 3]
    assert "UID 2" in fetched[2] and "UID 4" in fetched[3]
    assert search(r, "$") == [2, 3]
    assert search(r, "$", uid=True) == [2, 4]
    assert sorted(flags_of(run(r, "UID FETCH $ (FLAGS)", "E"))) == [2, 3]
    r.close()


def test_uid_fetch_dollar_vanished_names_the_saved_uids_expunged_since(imapd):
    for i in range(1, 6):
        put(imapd, message(f"m{i}"), flags="S")
    r = raw_login(imapd)
    assert run(r, "ENABLE QRESYNC", "Q")[-1].startswith("Q OK")
    assert run(r, "SELECT INBOX", "S")[-1].startswith("S OK")
    assert run(r, "UID SEARCH RETURN (SAVE) UID 2:4", "A")[-1].startswith("A OK")
    assert run(r, "UID STORE 3 +FLAGS.SILENT (\\Deleted)", "B")[-1].startswith("B OK")
    assert "* VANISHED 3" in run(r, "EXPUNGE", "C")
    lines = run(r, "UID FETCH $ (FLAGS) (CHANGEDSINCE 1 VANISHED)", "D")
    # (imap_fetch_vanished writes single UIDs as "3:3")
    assert "* VANISHED (EARLIER) 3" in lines, lines
    assert sorted(flags_of(lines)) == [2, 3] and lines[-1].startswith("D OK")
    r.close()


def test_select_examine_unselect_close_and_a_failed_select_empty_dollar(imapd):
    for i in range(1, 4):
        put(imapd, message(f"m{i}"), flags="S")
    r = session(imapd)

    def save_then(line, tag):
        assert run(r, "SEARCH RETURN (SAVE) ALL", "V")[-1].startswith("V OK")
        assert search(r, "$") == [1, 2, 3]
        assert run(r, line, tag)[-1].startswith(f"{tag} ")

    for line, tag in [("SELECT INBOX", "S1"), ("EXAMINE INBOX", "S2"), ("UNSELECT", "U"),
                      ("CLOSE", "C"), ("SELECT Nonexistent", "N")]:
        save_then(line, tag)
        if not line.endswith("INBOX"):
            assert run(r, "SELECT INBOX", "R")[-1].startswith("R OK")
        assert search(r, "$") == [], line
        lines = run(r, "FETCH $ (UID)", "F")
        assert lines == [lines[-1]] and lines[-1].startswith("F OK"), lines
    r.close()


def test_a_search_with_save_answered_no_empties_dollar_one_answered_bad_keeps_it(imapd):
    for i in range(1, 4):
        put(imapd, message(f"m{i}"), flags="S")
    r = session(imapd)
    assert run(r, "SEARCH RETURN (SAVE) 2:3", "A")[-1].startswith("A OK")
    # a failing SEARCH without SAVE changes nothing
    assert run(r, "SEARCH CHARSET KOI8-R ALL", "B")[-1].startswith("B NO [BADCHARSET")
    assert search(r, "$") == [2, 3]
    # RFC 5182 2.1 / RFC 9051 6.4.4.1: BAD MUST NOT change "$" ...
    assert run(r, "SEARCH RETURN (SAVE) 9", "C")[-1].startswith("C BAD")
    assert run(r, "SEARCH RETURN (SAVE) NOSUCHKEY", "D")[-1].startswith("D BAD")
    assert search(r, "$") == [2, 3]
    # ... while a NO of a SEARCH with SAVE leaves it empty
    lines = run(r, "SEARCH RETURN (SAVE) CHARSET KOI8-R ALL", "E")
    assert lines[-1].startswith("E NO [BADCHARSET"), lines
    assert search(r, "$") == []
    r.close()


def test_dollar_with_other_elements_is_bad_and_an_empty_dollar_is_no_error(imapd):
    for i in range(1, 4):
        put(imapd, message(f"m{i}"), flags="S")
    r = session(imapd)
    for tag, line in [("B1", "FETCH 1,$ (UID)"), ("B2", "UID FETCH $,1 (UID)"),
                      ("B3", "STORE $:2 +FLAGS (\\Flagged)"), ("B4", "COPY 1,$ Junk"),
                      ("B5", "SEARCH 1,$"), ("B6", "UID SEARCH UID $,2")]:
        assert run(r, line, tag)[-1].startswith(f"{tag} BAD"), line
    # nothing saved yet in this selection: every command takes "$" and does nothing
    for tag, line in [("E1", "FETCH $ (UID)"), ("E2", "UID FETCH $ (UID)"),
                      ("E3", "STORE $ +FLAGS (\\Flagged)"), ("E4", "COPY $ Junk"),
                      ("E5", "MOVE $ Junk"), ("E6", "UID EXPUNGE $"),
                      ("E7", "UID STORE $ +FLAGS (\\Deleted)")]:
        lines = run(r, line, tag)
        assert lines == [lines[-1]] and lines[-1].startswith(f"{tag} OK"), lines
    assert search(r, "FLAGGED") == [] and search(r, "ALL") == [1, 2, 3]
    assert numbers(run(r, "SEARCH $", "S")) == []
    r.close()


def test_pipelined_search_save_and_commands_using_dollar(imapd):
    seven(imapd)
    r = session(imapd)
    # RFC 9051 6.4.4.2: one write, executed in order, each "$" seeing the SAVE before it
    r.send(b"A SEARCH RETURN (SAVE) UNSEEN\r\n"
           b"B FETCH $ (UID)\r\n"
           b"C UID SEARCH RETURN (SAVE MAX) ALL\r\n"
           b"D UID FETCH $ (UID)\r\n"
           b"E STORE $ +FLAGS.SILENT (\\Flagged)\r\n"
           b"F SEARCH FLAGGED\r\n")
    a = r.until_tagged("A")
    assert len(a) == 1 and a[0].startswith("A OK"), a
    b = r.until_tagged("B")
    assert sorted(flags_of(b)) == [2, 3, 4, 7] and b[-1].startswith("B OK")
    c = r.until_tagged("C")
    assert esearch(c) == '* ESEARCH (TAG "C") UID MAX 7'
    d = r.until_tagged("D")
    assert sorted(flags_of(d)) == [7] and d[-1].startswith("D OK")
    assert r.until_tagged("E")[-1].startswith("E OK")
    assert numbers(r.until_tagged("F")) == [7]
    r.close()


def test_imap4rev2_session_uses_save_and_dollar(imapd):
    seven(imapd)
    r = raw_login(imapd)
    assert run(r, "ENABLE IMAP4rev2", "E")[-1].startswith("E OK")
    assert run(r, "SELECT INBOX", "S")[-1].startswith("S OK")
    lines = run(r, "SEARCH RETURN (SAVE) UNSEEN", "A")
    assert len(lines) == 1 and lines[0].startswith("A OK"), lines
    assert esearch(run(r, "SEARCH $ 1:3", "B")) == '* ESEARCH (TAG "B") ALL 2:3'
    r.close()
