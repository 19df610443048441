"""The folder commands against a real maild: LIST (LIST-EXTENDED, SPECIAL-USE, LIST-STATUS),
LSUB, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS, folder names in modified
UTF-7 and UTF-8, and what they do to bob's Maildir++ on disk."""
import os
import pwd
import re
import time

from conftest import scale_test
from imap_support import deliver, login, maildir, raw_login
from test_imap_session import imapd  # noqa: F401  (the fixture)

LIST_LINE = re.compile(r'^\* (LIST|LSUB) \(([^)]*)\) "/" ("(?:[^"\\]|\\.)*"|[^ ]+)(.*)$')
STATUS_LINE = re.compile(r'^\* STATUS ("(?:[^"\\]|\\.)*"|[^ ]+) \((.*)\)$')
NEW_USER_FOLDERS = ["INBOX", "Drafts", "Junk", "Sent", "Trash"]


def cmd(r, line, tag="T"):
    """Send one command line; every line of the answer, the tagged one last."""
    r.send(f"{tag} {line}\r\n".encode())
    return r.until_tagged(tag)


def unquote(name):
    if name.startswith('"'):
        return re.sub(r'\\(.)', r'\1', name[1:-1])
    return name


def listed(lines, verb="LIST"):
    """{name: (set of attributes, extended data)} of the LIST or LSUB lines, in order."""
    out = {}
    for line in lines:
        m = LIST_LINE.match(line)
        if m and m.group(1) == verb:
            out[unquote(m.group(3))] = (set(m.group(2).split()), m.group(4).strip())
    return out


def statuses(lines):
    """{name: {item: value}} of the STATUS lines."""
    out = {}
    for line in lines:
        m = STATUS_LINE.match(line)
        if m:
            items = m.group(2).split()
            out[unquote(m.group(1))] = {items[i]: int(items[i + 1])
                                        for i in range(0, len(items), 2)}
    return out


def ok(lines):
    assert lines[-1].split(" ", 2)[1] == "OK", lines
    return lines


def vmail():
    pw = pwd.getpwnam("vmail")
    return pw.pw_uid, pw.pw_gid


def put_message(m, folder_dir, subject="hello", flags=None, body="Hi.\r\n"):
    """A message written straight into a folder of bob's Maildir++ ("" is INBOX, ".Work" a
    folder), as another program with access to the store would: into new/ (flags None) or
    cur/ with Maildir flags. Owned by vmail like everything maild writes."""
    root = maildir(m)
    folder = root / folder_dir if folder_dir else root
    data = (f"From: alice@remote.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n"
            f"\r\n{body}").encode()
    name = f"{time.time_ns()}.M1P{os.getpid()}Q{put_message.n}.test,S={len(data)}"
    put_message.n += 1
    path = folder / ("new" if flags is None else "cur") / (
        name if flags is None else f"{name}:2,{flags}")
    path.write_bytes(data)
    os.chown(path, *vmail())
    return len(data)


put_message.n = 0


def make_folder_dirs(m, dirs, whole=True):
    """Maildir++ folders made on disk directly (".a.b" style names), owned by vmail; without
    whole only the directory itself, which LIST shows but STATUS finds empty of cur/."""
    root = maildir(m)
    uid, gid = vmail()
    for d in dirs:
        for sub in ["", "/cur", "/new", "/tmp"] if whole else [""]:
            os.mkdir(root / (d + sub))
            os.chown(root / (d + sub), uid, gid)


# --- LIST ------------------------------------------------------------------------------------

def test_a_new_user_has_inbox_and_the_special_use_folders(imapd):
    c = login(imapd)
    typ, data = c.list()
    assert typ == "OK"
    got = [d.decode() for d in data]
    assert got == [
        '(\\HasNoChildren) "/" "INBOX"',
        '(\\HasNoChildren \\Drafts) "/" "Drafts"',
        '(\\HasNoChildren \\Junk) "/" "Junk"',
        '(\\HasNoChildren \\Sent) "/" "Sent"',
        '(\\HasNoChildren \\Trash) "/" "Trash"',
    ]
    c.logout()


def test_an_empty_pattern_asks_for_the_hierarchy_separator(imapd):
    r = raw_login(imapd)
    assert ok(cmd(r, 'LIST "" ""')) == ['* LIST (\\Noselect) "/" ""', "T OK List completed."]
    assert ok(cmd(r, 'LIST "Work" ""'))[0] == '* LIST (\\Noselect) "/" ""'


def test_percent_stops_at_the_separator_and_star_does_not(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE a/b/c"))
    ok(cmd(r, "CREATE ab"))
    # INBOX first, then by bytes
    assert list(listed(ok(cmd(r, 'LIST "" %')))) == NEW_USER_FOLDERS + ["a", "ab"]
    assert list(listed(ok(cmd(r, 'LIST "" a*')))) == ["a", "a/b", "a/b/c", "ab"]
    assert list(listed(ok(cmd(r, 'LIST "" a/%')))) == ["a/b"]
    assert list(listed(ok(cmd(r, 'LIST "" %/%/%')))) == ["a/b/c"]
    # the reference is put in front of the pattern; a pattern from the root ignores it
    assert list(listed(ok(cmd(r, 'LIST "a/" %')))) == ["a/b"]
    assert list(listed(ok(cmd(r, 'LIST "a/" "/ab"')))) == []
    # INBOX in any case
    assert list(listed(ok(cmd(r, 'LIST "" inbox')))) == ["INBOX"]


def test_missing_parents_are_listed_as_noselect_with_children(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE a/b/c"))
    got = listed(ok(cmd(r, 'LIST "" a*')))
    assert got["a"][0] == {"\\Noselect", "\\HasChildren"}
    assert got["a/b"][0] == {"\\Noselect", "\\HasChildren"}
    assert got["a/b/c"][0] == {"\\HasNoChildren"}
    # an extended LIST says \NonExistent instead (RFC 5258 3.4)
    got = listed(ok(cmd(r, 'LIST () "" a*')))
    assert got["a"][0] == {"\\NonExistent", "\\HasChildren"}
    # ... and so does every LIST once IMAP4rev2 is enabled
    ok(cmd(r, "ENABLE IMAP4rev2"))
    assert listed(ok(cmd(r, 'LIST "" a')))["a"][0] == {"\\NonExistent", "\\HasChildren"}


def test_several_patterns_in_one_list(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Work/Reports"))
    lines = ok(cmd(r, 'LIST "" (INBOX "Work/*" Sent INBOX)'))
    assert list(listed(lines)) == ["INBOX", "Sent", "Work/Reports"]


def test_selection_subscribed_lists_subscribed_names_even_missing_ones(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Work"))
    ok(cmd(r, "SUBSCRIBE Work"))
    ok(cmd(r, "SUBSCRIBE Gone/Away"))
    got = listed(ok(cmd(r, 'LIST (SUBSCRIBED) "" *')))
    assert list(got) == ["Drafts", "Gone/Away", "Junk", "Sent", "Trash", "Work"]
    assert got["Work"][0] == {"\\Subscribed", "\\HasNoChildren"}
    assert got["Gone/Away"][0] == {"\\Subscribed", "\\NonExistent"}
    # REMOTE is accepted: there are no remote mailboxes
    assert listed(ok(cmd(r, 'LIST (REMOTE SUBSCRIBED) "" *'))) == got


def test_recursivematch_reports_subscribed_children_with_childinfo(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Fruit/Apple"))
    ok(cmd(r, "CREATE Fruit/Banana"))
    ok(cmd(r, "SUBSCRIBE Fruit/Banana"))
    got = listed(ok(cmd(r, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" %')))
    # RFC 5258 example 5.6: the parent is returned because a child is subscribed
    assert got["Fruit"] == ({"\\NonExistent", "\\HasChildren"},
                            '("CHILDINFO" ("SUBSCRIBED"))')
    assert "Fruit/Banana" not in got
    # without RECURSIVEMATCH the parent is not subscribed and so not listed
    assert "Fruit" not in listed(ok(cmd(r, 'LIST (SUBSCRIBED) "" %')))


def test_recursivematch_alone_and_unknown_options_are_bad(imapd):
    r = raw_login(imapd)
    assert cmd(r, 'LIST (RECURSIVEMATCH) "" %')[-1].startswith("T BAD")
    assert cmd(r, 'LIST (NOSUCH) "" %')[-1].startswith("T BAD")
    assert cmd(r, 'LIST "" % RETURN (NOSUCH)')[-1].startswith("T BAD")
    assert cmd(r, 'LIST "" % RETURN (STATUS (NOSUCH))')[-1].startswith("T BAD")
    assert cmd(r, 'LIST ""')[-1].startswith("T BAD")
    assert cmd(r, 'LIST "" () ')[-1].startswith("T BAD")


def test_special_use_selection_and_return_option(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Archive"))
    ok(cmd(r, "CREATE Work"))
    got = listed(ok(cmd(r, 'LIST (SPECIAL-USE) "" *')))
    assert {n: a - {"\\HasNoChildren"} for n, (a, _) in got.items()} == {
        "Archive": {"\\Archive"}, "Drafts": {"\\Drafts"}, "Junk": {"\\Junk"},
        "Sent": {"\\Sent"}, "Trash": {"\\Trash"}}
    got = listed(ok(cmd(r, 'LIST "" * RETURN (SPECIAL-USE)')))
    assert "\\Sent" in got["Sent"][0] and got["Work"][0] == {"\\HasNoChildren"}
    # special use belongs to the top-level names only
    ok(cmd(r, "CREATE Work/Sent"))
    assert listed(ok(cmd(r, 'LIST "" Work/Sent')))["Work/Sent"][0] == {"\\HasNoChildren"}


def test_return_subscribed_and_children(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Work/Sub"))
    got = listed(ok(cmd(r, 'LIST "" * RETURN (SUBSCRIBED CHILDREN)')))
    assert got["Sent"][0] == {"\\HasNoChildren", "\\Subscribed", "\\Sent"}
    assert got["Work"][0] == {"\\NonExistent", "\\HasChildren"}
    assert got["INBOX"][0] == {"\\HasNoChildren"}
    # a plain LIST does not say \Subscribed
    assert "\\Subscribed" not in listed(ok(cmd(r, 'LIST "" Sent')))["Sent"][0]


def test_list_status_returns_status_of_each_selectable_folder(imapd):
    deliver(imapd, 3)
    size = put_message(imapd, ".Sent", flags="S")
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Work/Sub"))
    lines = ok(cmd(r, 'LIST "" * RETURN (STATUS (MESSAGES UNSEEN UIDNEXT SIZE))'))
    st = statuses(lines)
    assert st["INBOX"]["MESSAGES"] == 3 and st["INBOX"]["UNSEEN"] == 3
    assert st["INBOX"]["UIDNEXT"] == 4
    assert st["Sent"] == {"MESSAGES": 1, "UNSEEN": 0, "UIDNEXT": 2, "SIZE": size}
    assert st["Work/Sub"]["MESSAGES"] == 0
    # no STATUS for a name that is not a folder (RFC 5819)
    assert "Work" not in st
    # each STATUS follows its LIST line
    i = lines.index('* LIST (\\HasNoChildren \\Sent) "/" "Sent"')
    assert lines[i + 1].startswith('* STATUS "Sent" (')


def test_list_status_of_the_selected_folder_comes_from_the_session(imapd):
    deliver(imapd, 2)
    r = raw_login(imapd)
    ok(cmd(r, "SELECT INBOX"))
    put_message(imapd, "")  # not yet seen by this session
    lines = ok(cmd(r, 'LIST "" INBOX RETURN (STATUS (MESSAGES RECENT))'))
    assert statuses(lines)["INBOX"] == {"MESSAGES": 2, "RECENT": 2}
    # the change is reported after the LIST, as after any command that allows it
    assert "* 3 EXISTS" in lines
    assert lines.index("* 3 EXISTS") > lines.index(
        '* STATUS "INBOX" (MESSAGES 2 RECENT 2)')


@scale_test
def test_a_huge_folder_list_is_streamed_to_a_slow_reader(imapd):
    # 20 000 folders with 200-byte names: about 4.6 MB of LIST responses, more than the
    # session may queue (IMAP_OUTPUT_LIMIT, 4 MiB) and than socket buffers hold: they can
    # only arrive whole if they are written as the client reads
    make_folder_dirs(imapd, [f".{'F' * 190}{i:06d}" for i in range(20000)], whole=False)
    r = raw_login(imapd)
    r.send(b'T LIST "" *\r\n')
    time.sleep(2)  # the server fills the socket, then waits for on_drain
    lines = r.until_tagged("T")
    assert lines[-1] == "T OK List completed."
    assert len(listed(lines)) == 20000 + len(NEW_USER_FOLDERS)
    # the session goes on normally, and the worker never stopped answering its supervisor
    assert ok(cmd(r, "NOOP", tag="N"))[-1] == "N OK NOOP completed."
    assert all(w["restarts"] == 0 for w in imapd.status()["workers"])


@scale_test
def test_list_status_over_many_folders_reads_them_in_batches(imapd):
    make_folder_dirs(imapd, [f".Many{i:03d}" for i in range(100)])
    put_message(imapd, ".Many077")
    r = raw_login(imapd)
    ok(cmd(r, "SELECT Many050"))
    st = statuses(ok(cmd(r, 'LIST "" Many* RETURN (STATUS (MESSAGES))')))
    assert len(st) == 100
    assert st["Many077"] == {"MESSAGES": 1}
    assert sum(v["MESSAGES"] for v in st.values()) == 1


@scale_test
def test_a_client_that_leaves_during_a_streamed_list_does_not_hurt_others(imapd):
    make_folder_dirs(imapd, [f".{'G' * 200}{i:05d}" for i in range(20000)], whole=False)
    make_folder_dirs(imapd, [f".H{i:03d}" for i in range(100)])
    for line in [b'T LIST "" *\r\n', b'T LIST "" H* RETURN (STATUS (MESSAGES))\r\n'] * 2:
        r = raw_login(imapd)
        r.send(line)
        r.line()
        r.sock.close()
    r = raw_login(imapd)
    assert listed(ok(cmd(r, 'LIST "" Sent'))) == {"Sent": ({"\\HasNoChildren", "\\Sent"}, "")}
    assert len(listed(ok(cmd(r, 'LIST "" *')))) == 20100 + len(NEW_USER_FOLDERS)
    status = imapd.status()
    assert all(w["state"] == "running" and w["restarts"] == 0 for w in status["workers"])


def test_list_pattern_limits(imapd):
    r = raw_login(imapd)
    patterns = " ".join(["Sent"] * 64)
    assert list(listed(ok(cmd(r, f'LIST "" ({patterns})')))) == ["Sent"]
    assert cmd(r, f'LIST "" ({patterns} Junk)')[-1] == "T BAD Too many mailbox patterns."
    ok(cmd(r, f'LIST "" {"%" * 2048}'))
    assert cmd(r, f'LIST "" {"%" * 2049}')[-1] == "T BAD Mailbox pattern too long."
    assert cmd(r, f'LIST "{"x" * 1024}" {"%" * 1025}')[-1] == "T BAD Mailbox pattern too long."


# --- LSUB ------------------------------------------------------------------------------------

def test_lsub_lists_subscriptions_and_noselect_parents_under_percent(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Lists/maild"))
    ok(cmd(r, "SUBSCRIBE Lists/maild"))
    got = listed(ok(cmd(r, 'LSUB "" *')), "LSUB")
    assert list(got) == ["Drafts", "Junk", "Lists/maild", "Sent", "Trash"]
    assert got["Lists/maild"][0] == set()
    got = listed(ok(cmd(r, 'LSUB "" %')), "LSUB")
    # RFC 3501 6.3.9: "%" stops above a subscribed name, which is returned \Noselect
    assert got["Lists"][0] == {"\\Noselect"}
    assert cmd(r, 'LSUB "" (a b)')[-1].startswith("T BAD")
    c = login(imapd)
    typ, data = c.lsub()
    assert typ == "OK" and b'() "/" "Lists/maild"' in data


# --- CREATE ----------------------------------------------------------------------------------

def test_create_makes_a_maildir_folder_and_a_hierarchy(imapd):
    c = login(imapd)
    assert c.create("Projects/2026")[0] == "OK"
    root = maildir(imapd)
    folder = root / ".Projects.2026"
    assert all((folder / d).is_dir() for d in ["cur", "new", "tmp"])
    assert (folder / "maildirfolder").exists()
    assert folder.stat().st_uid == vmail()[0]
    # no parent directory: Maildir++ needs none
    assert not (root / ".Projects").exists()
    # a trailing separator only says children will follow (RFC 9051 6.3.4)
    assert c.create("Later/")[0] == "OK"
    assert (root / ".Later").is_dir()
    # a new folder is not subscribed
    typ, data = c.lsub('""', "Projects*")
    assert data == [None]


def test_create_of_an_existing_name_or_inbox_fails(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Work"))
    assert cmd(r, "CREATE Work")[-1] == "T NO [ALREADYEXISTS] Mailbox already exists."
    assert cmd(r, "CREATE inbox")[-1] == "T NO [ALREADYEXISTS] Mailbox already exists."
    assert cmd(r, "CREATE Sent")[-1].startswith("T NO [ALREADYEXISTS]")


def test_create_with_special_use_follows_the_name(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Archive (USE (\\Archive))"))
    assert "\\Archive" in listed(ok(cmd(r, 'LIST "" Archive')))["Archive"][0]
    assert cmd(r, "CREATE Stuff (USE (\\Sent))")[-1].startswith("T NO [USEATTR]")
    assert cmd(r, "CREATE Stuff (FOO (\\Sent))")[-1].startswith("T BAD")
    assert not (maildir(imapd) / ".Stuff").exists()


def test_names_that_could_escape_the_maildir_are_refused(imapd):
    r = raw_login(imapd)
    root = maildir(imapd)
    before = sorted(p.name for p in root.iterdir())
    for name in ['"../../etc"', '"INBOX/../x"', '".."', '"a.b"', '"/abs"', '"a//b"',
                 '"&Jjo"', '"&AGE-"', '"a*"', '"b%"', '{3}\r\na\x01b', '"x\x7f"']:
        lines = cmd(r, f"CREATE {name}")
        assert lines[-1].startswith("T NO [CANNOT]"), (name, lines)
    # the same rules for the other commands that take a name
    assert cmd(r, 'RENAME Sent "../Sent"')[-1].startswith("T NO [CANNOT]")
    assert cmd(r, 'RENAME Sent "S*"')[-1].startswith("T NO [CANNOT]")
    assert cmd(r, 'DELETE "../Sent"')[-1].startswith("T NO [CANNOT]")
    assert cmd(r, 'STATUS "../.." (MESSAGES)')[-1].startswith("T NO [CANNOT]")
    assert cmd(r, 'SUBSCRIBE "a/../b"')[-1].startswith("T NO [CANNOT]")
    assert sorted(p.name for p in root.iterdir()) == before


def test_folder_name_length_limit(imapd):
    r = raw_login(imapd)
    # the on-disk name ".<name>" fits NAME_MAX (255) at 254 characters, not at 255
    ok(cmd(r, f"CREATE {'x' * 254}"))
    assert (maildir(imapd) / ("." + "x" * 254)).is_dir()
    assert cmd(r, f"CREATE {'y' * 255}")[-1].startswith("T NO [CANNOT]")


def test_utf8_and_modified_utf7_names(imapd):
    c = login(imapd)
    # imaplib sends names as given: modified UTF-7 here
    assert c.create("Entw&APw-rfe")[0] == "OK"
    root = maildir(imapd)
    assert (root / ".Entw&APw-rfe").is_dir()
    r = raw_login(imapd)
    ok(cmd(r, 'CREATE "&ZeVnLIqe-/&MMYwuTDI-"'))
    assert (root / ".&ZeVnLIqe-.&MMYwuTDI-").is_dir()
    got = listed(ok(cmd(r, 'LIST "" *')))
    assert "Entw&APw-rfe" in got and "&ZeVnLIqe-/&MMYwuTDI-" in got
    assert got["&ZeVnLIqe-"][0] == {"\\Noselect", "\\HasChildren"}
    # a UTF-8 client sees and sends UTF-8 (RFC 6855)
    u = raw_login(imapd, tag="U")
    ok(cmd(u, "ENABLE UTF8=ACCEPT"))
    got = listed(ok(cmd(u, 'LIST "" *')))
    assert "Entwürfe" in got and "日本語/テスト" in got
    ok(cmd(u, 'CREATE "Größe"'))
    assert (root / ".Gr&APYA3w-e").is_dir()
    assert "Gr&APYA3w-e" in listed(ok(cmd(r, 'LIST "" Gr*')))
    u_status = statuses(ok(cmd(u, 'STATUS "日本語/テスト" (MESSAGES)')))
    assert u_status == {"日本語/テスト": {"MESSAGES": 0}}
    # patterns too
    assert list(listed(ok(cmd(u, 'LIST "" "日本語/%"')))) == ["日本語/テスト"]
    assert list(listed(ok(cmd(r, 'LIST "" "&ZeVnLIqe-/%"')))) == ["&ZeVnLIqe-/&MMYwuTDI-"]
    # without UTF8=ACCEPT, 8-bit bytes in a name are refused by the parser
    assert cmd(r, 'CREATE "Größe2"')[-1].startswith("T BAD")


# --- DELETE ----------------------------------------------------------------------------------

def test_delete_removes_the_folder_and_its_messages(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Old"))
    put_message(imapd, ".Old")
    put_message(imapd, ".Old", flags="S")
    ok(cmd(r, "DELETE Old"))
    root = maildir(imapd)
    assert not (root / ".Old").exists()
    assert not [p for p in root.iterdir() if p.name.startswith("..maild")]
    assert "Old" not in listed(ok(cmd(r, 'LIST "" *')))
    assert cmd(r, "DELETE Old")[-1] == "T NO [NONEXISTENT] Mailbox doesn't exist."
    assert cmd(r, "DELETE INBOX")[-1] == "T NO [CANNOT] INBOX cannot be deleted."


def test_delete_of_a_folder_with_children_leaves_a_noselect_parent(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Top"))
    ok(cmd(r, "CREATE Top/Child"))
    put_message(imapd, ".Top")
    ok(cmd(r, "DELETE Top"))
    got = listed(ok(cmd(r, 'LIST "" Top*')))
    assert got["Top"][0] == {"\\Noselect", "\\HasChildren"}
    assert got["Top/Child"][0] == {"\\HasNoChildren"}
    # RFC 9051 6.3.4: a \Noselect name with inferiors cannot be deleted
    assert cmd(r, "DELETE Top")[-1].startswith("T NO [HASCHILDREN]")
    assert cmd(r, "SELECT Top")[-1].startswith("T NO [NONEXISTENT]")
    ok(cmd(r, "DELETE Top/Child"))
    assert "Top" not in listed(ok(cmd(r, 'LIST "" *')))


def test_delete_of_the_selected_folder_closes_it(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Tmp"))
    ok(cmd(r, "SELECT Tmp"))
    lines = ok(cmd(r, "DELETE Tmp"))
    assert any(line.startswith("* OK [CLOSED]") for line in lines)
    assert cmd(r, "CHECK")[-1] == "T BAD Command not valid in this state."


def test_delete_finishes_removals_an_earlier_crash_left(imapd):
    root = maildir(imapd)
    make_folder_dirs(imapd, ["..maild-deleted.crashed", "..maild-new.crashed",
                             "..maild-new.underway"])
    # a crash's half-made folder is old; one another session is making now is not
    hour_ago = time.time() - 3600
    os.utime(root / "..maild-new.crashed", (hour_ago, hour_ago))
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Gone"))
    ok(cmd(r, "DELETE Gone"))
    assert [p.name for p in root.iterdir() if p.name.startswith("..maild")] == \
        ["..maild-new.underway"]


def test_deleted_folder_keeps_its_subscription(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Kept"))
    ok(cmd(r, "SUBSCRIBE Kept"))
    ok(cmd(r, "DELETE Kept"))
    got = listed(ok(cmd(r, 'LIST (SUBSCRIBED) "" Kept')))
    assert got["Kept"][0] == {"\\Subscribed", "\\NonExistent"}


# --- RENAME ----------------------------------------------------------------------------------

def test_rename_moves_the_whole_hierarchy_and_its_subscriptions(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Old/Sub/Deeper"))
    ok(cmd(r, "CREATE Old"))
    ok(cmd(r, "SUBSCRIBE Old/Sub/Deeper"))
    size = put_message(imapd, ".Old.Sub.Deeper")
    ok(cmd(r, "RENAME Old New"))
    root = maildir(imapd)
    assert (root / ".New").is_dir() and (root / ".New.Sub.Deeper").is_dir()
    assert not [p for p in root.iterdir() if p.name.startswith(".Old")]
    assert list(listed(ok(cmd(r, 'LIST "" New*')))) == ["New", "New/Sub", "New/Sub/Deeper"]
    assert "New/Sub/Deeper" in listed(ok(cmd(r, 'LSUB "" *')), "LSUB")
    assert "Old/Sub/Deeper" not in listed(ok(cmd(r, 'LSUB "" *')), "LSUB")
    st = statuses(ok(cmd(r, 'STATUS New/Sub/Deeper (MESSAGES SIZE)')))
    assert st["New/Sub/Deeper"] == {"MESSAGES": 1, "SIZE": size}


def test_rename_errors(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE A"))
    ok(cmd(r, "CREATE B"))
    assert cmd(r, "RENAME A B")[-1] == "T NO [ALREADYEXISTS] Mailbox already exists."
    assert cmd(r, "RENAME A INBOX")[-1].startswith("T NO [ALREADYEXISTS]")
    assert cmd(r, "RENAME Nope C")[-1] == "T NO [NONEXISTENT] Mailbox doesn't exist."
    assert cmd(r, "RENAME A A/Below")[-1].startswith("T NO [CANNOT]")
    assert cmd(r, "RENAME A")[-1].startswith("T BAD")


def test_rename_inbox_moves_its_messages_and_leaves_it_empty(imapd):
    deliver(imapd, 3)
    r = raw_login(imapd)
    ok(cmd(r, "CREATE INBOX/Child"))
    ok(cmd(r, "RENAME INBOX Saved"))
    st = statuses(ok(cmd(r, "STATUS Saved (MESSAGES UIDNEXT)")))
    assert st["Saved"]["MESSAGES"] == 3
    assert statuses(ok(cmd(r, "STATUS INBOX (MESSAGES)")))["INBOX"]["MESSAGES"] == 0
    # INBOX's children stay where they are
    got = listed(ok(cmd(r, 'LIST "" *')))
    assert "INBOX/Child" in got and got["INBOX"][0] == {"\\HasChildren"}
    # new mail still goes to INBOX
    deliver(imapd, 1, start=10)
    assert statuses(ok(cmd(r, "STATUS INBOX (MESSAGES)")))["INBOX"]["MESSAGES"] == 1


def test_rename_inbox_while_it_is_selected_reports_the_expunges(imapd):
    deliver(imapd, 2)
    r = raw_login(imapd)
    ok(cmd(r, "SELECT INBOX"))
    lines = ok(cmd(r, "RENAME INBOX Moved"))
    assert lines[:2] == ["* 2 EXPUNGE", "* 1 EXPUNGE"]
    assert ok(cmd(r, "NOOP"))[-1] == "T OK NOOP completed."


def test_rename_of_the_selected_folder_closes_it(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Here/Sub"))
    ok(cmd(r, "SELECT Here/Sub"))
    lines = ok(cmd(r, "RENAME Here There"))
    assert any(line.startswith("* OK [CLOSED]") for line in lines)
    assert cmd(r, "CHECK")[-1] == "T BAD Command not valid in this state."
    ok(cmd(r, "SELECT There/Sub"))


# --- SUBSCRIBE and UNSUBSCRIBE ---------------------------------------------------------------

def test_subscribe_and_unsubscribe_change_the_subscriptions_file(imapd):
    c = login(imapd)
    assert c.create("Lists")[0] == "OK"
    assert c.subscribe("Lists")[0] == "OK"
    assert c.subscribe("Lists")[0] == "OK"  # twice changes nothing
    text = (maildir(imapd) / "subscriptions").read_text()
    assert text.splitlines().count("Lists") == 1
    typ, data = c.lsub('""', "Lists")
    assert data == [b'() "/" "Lists"']
    assert c.unsubscribe("Lists")[0] == "OK"
    assert c.unsubscribe("Lists")[0] == "OK"  # not subscribed: no error
    assert "Lists" not in (maildir(imapd) / "subscriptions").read_text().splitlines()
    # a name that does not exist may be subscribed (RFC 9051 6.3.7)
    assert c.subscribe("Not/Yet")[0] == "OK"
    assert "Not.Yet" in (maildir(imapd) / "subscriptions").read_text().splitlines()


# --- STATUS ----------------------------------------------------------------------------------

def test_status_of_inbox_with_delivered_mail(imapd):
    deliver(imapd, 3)
    r = raw_login(imapd)
    st = statuses(ok(cmd(r, "STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT SIZE "
                            "DELETED HIGHESTMODSEQ)")))["INBOX"]
    assert st["MESSAGES"] == 3 and st["UNSEEN"] == 3 and st["UIDNEXT"] == 4
    assert st["DELETED"] == 0 and st["UIDVALIDITY"] > 0 and st["HIGHESTMODSEQ"] >= 1
    assert st["RECENT"] == 3
    root = maildir(imapd)
    on_disk = sum(p.stat().st_size for p in (root / "cur").iterdir())
    assert st["SIZE"] == on_disk
    # the UIDVALIDITY is the one SELECT gives
    lines = ok(cmd(r, "SELECT INBOX"))
    assert f"* OK [UIDVALIDITY {st['UIDVALIDITY']}] UIDs valid." in lines


def test_status_counts_flags_set_in_the_maildir(imapd):
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Work"))
    sizes = [put_message(imapd, ".Work", flags="S"), put_message(imapd, ".Work", flags="ST"),
             put_message(imapd, ".Work", flags="T"), put_message(imapd, ".Work")]
    st = statuses(ok(cmd(r, "STATUS Work (MESSAGES UNSEEN DELETED SIZE RECENT)")))["Work"]
    assert st == {"MESSAGES": 4, "UNSEEN": 2, "DELETED": 2, "SIZE": sum(sizes), "RECENT": 1}


def test_status_of_the_selected_folder_is_answered_from_the_session(imapd):
    deliver(imapd, 2)
    r = raw_login(imapd)
    ok(cmd(r, "SELECT INBOX"))
    put_message(imapd, "")
    lines = ok(cmd(r, "STATUS INBOX (MESSAGES RECENT)"))
    assert statuses(lines)["INBOX"] == {"MESSAGES": 2, "RECENT": 2}
    assert "* 3 EXISTS" in lines
    assert statuses(ok(cmd(r, "STATUS INBOX (MESSAGES)")))["INBOX"] == {"MESSAGES": 3}


def test_status_errors(imapd):
    r = raw_login(imapd)
    assert cmd(r, "STATUS Nope (MESSAGES)")[-1] == "T NO [NONEXISTENT] Mailbox doesn't exist."
    ok(cmd(r, "CREATE P/C"))
    assert cmd(r, "STATUS P (MESSAGES)")[-1].startswith("T NO [NONEXISTENT]")
    assert cmd(r, "STATUS INBOX (BOGUS)")[-1] == "T BAD Unknown STATUS item."
    assert cmd(r, "STATUS INBOX ()")[-1] == "T BAD Empty STATUS item list."
    assert cmd(r, "STATUS INBOX MESSAGES")[-1].startswith("T BAD")
    assert cmd(r, "STATUS INBOX")[-1].startswith("T BAD")


def test_status_with_imaplib(imapd):
    deliver(imapd, 1)
    c = login(imapd)
    typ, data = c.status("INBOX", "(MESSAGES UNSEEN)")
    assert typ == "OK" and data == [b'"INBOX" (MESSAGES 1 UNSEEN 1)']


def test_folder_commands_need_login(imapd):
    from test_imap_session import Raw
    lines = ['LIST "" *', "CREATE X", "DELETE X", "RENAME X Y", "SUBSCRIBE X",
             "UNSUBSCRIBE X", "STATUS X (MESSAGES)", 'LSUB "" *']
    # two per connection: the third BAD before login closes it
    for i in range(0, len(lines), 2):
        r = Raw(imapd, "imaps", tls=True)
        for line in lines[i:i + 2]:
            assert cmd(r, line)[-1] == "T BAD Command not valid before login."


# --- a real client: a two-way mbsync of several folders -----------------------------------

def missing_commands(m):
    """The commands a full sync needs that this maild does not have yet."""
    r = raw_login(m)
    ok(cmd(r, "SELECT INBOX"))
    missing = []
    for probe in ["FETCH 1:* (FLAGS)", "STORE 1:* +FLAGS (\\Seen)", "EXPUNGE",
                  'APPEND Nope {1+}\r\nx']:
        lines = cmd(r, probe)
        if lines[-1] == "T BAD Unknown command.":
            missing.append(probe.split()[0])
    return missing


def mbsync(m, work, *args):
    import subprocess
    config = work / "mbsyncrc"
    config.write_text(f"""IMAPAccount bob
Host localhost
Port {m.imap_ports['imaps']}
User bob@example.test
Pass "correct horse"
SSLType IMAPS
AuthMechs LOGIN
CertificateFile {m.dir}/tls/cert.pem

IMAPStore far
Account bob

MaildirStore near
Path {work}/mail/
Inbox {work}/mail/INBOX
SubFolders Verbatim

Channel bob
Far :far:
Near :near:
Patterns *
Create Both
Expunge Both
SyncState *
""")
    return subprocess.run(["mbsync", "-c", str(config), *args, "bob"], capture_output=True,
                          text=True, timeout=120)


def near_files(work, folder):
    d = work / "mail" / folder
    return sorted(p.name for sub in ["cur", "new"] for p in (d / sub).iterdir())


def test_mbsync_two_way_sync_of_several_folders(imapd, tmp_path):
    import pytest
    missing = missing_commands(imapd)
    if missing:
        pytest.skip("mbsync needs " + ", ".join(missing) + " (being written in parallel: "
                    "FETCH, STORE/EXPUNGE/APPEND); this branch has only the folder commands")
    deliver(imapd, 3)
    r = raw_login(imapd)
    ok(cmd(r, "CREATE Work/Sub"))
    ok(cmd(r, "CREATE Work"))
    put_message(imapd, ".Work", subject="w1", flags="S")
    put_message(imapd, ".Work", subject="w2", flags="S")
    put_message(imapd, ".Sent", subject="s1", flags="S")
    # a folder that exists only on the near side, with one message
    local = tmp_path / "mail" / "Local"
    for sub in ["cur", "new", "tmp"]:
        (local / sub).mkdir(parents=True)
    (local / "cur" / "1.local:2,S").write_bytes(
        b"From: bob@example.test\r\nSubject: from afar\r\n\r\nMade offline.\r\n")

    first = mbsync(imapd, tmp_path, "-a")
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(near_files(tmp_path, "INBOX")) == 3
    assert len(near_files(tmp_path, "Work")) == 2
    assert near_files(tmp_path, "Work/Sub") == []
    assert len(near_files(tmp_path, "Sent")) == 1
    assert all((tmp_path / "mail" / f / "cur").is_dir() for f in ["Drafts", "Junk", "Trash"])
    st = statuses(ok(cmd(r, "STATUS Local (MESSAGES UNSEEN)")))
    assert st["Local"] == {"MESSAGES": 1, "UNSEEN": 0}

    # near side: read one INBOX message, delete one of Work
    inbox = tmp_path / "mail" / "INBOX"
    first_msg = sorted(p for sub in ["new", "cur"] for p in (inbox / sub).iterdir())[0]
    base, _, flags = first_msg.name.partition(":2,")
    first_msg.rename(inbox / "cur" / f"{base}:2,{flags}S")
    work = tmp_path / "mail" / "Work"
    sorted(p for sub in ["new", "cur"] for p in (work / sub).iterdir())[0].unlink()
    # far side: flag an INBOX message, expunge the Sent one
    ok(cmd(r, "SELECT INBOX"))
    ok(cmd(r, "STORE 3 +FLAGS (\\Flagged)"))
    ok(cmd(r, "SELECT Sent"))
    ok(cmd(r, "STORE 1 +FLAGS (\\Deleted)"))
    ok(cmd(r, "EXPUNGE"))
    ok(cmd(r, "UNSELECT"))

    second = mbsync(imapd, tmp_path, "-a")
    assert second.returncode == 0, second.stdout + second.stderr
    st = statuses(ok(cmd(r, "STATUS INBOX (MESSAGES UNSEEN)")))
    assert st["INBOX"] == {"MESSAGES": 3, "UNSEEN": 2}
    assert statuses(ok(cmd(r, "STATUS Work (MESSAGES)")))["Work"] == {"MESSAGES": 1}
    assert near_files(tmp_path, "Sent") == []
    assert sum("F" in name.partition(":2,")[2] for name in near_files(tmp_path, "INBOX")) == 1

    # nothing left to do: a third run changes nothing on either side
    before = {f: near_files(tmp_path, f) for f in ["INBOX", "Work", "Sent", "Local"]}
    third = mbsync(imapd, tmp_path, "-a")
    assert third.returncode == 0, third.stdout + third.stderr
    assert {f: near_files(tmp_path, f) for f in before} == before
    st = statuses(ok(cmd(r, 'LIST "" * RETURN (STATUS (MESSAGES))')))
    assert st["INBOX"]["MESSAGES"] == 3 and st["Work"]["MESSAGES"] == 1
    assert st["Sent"]["MESSAGES"] == 0 and st["Local"]["MESSAGES"] == 1


def test_the_993_greeting_does_not_say_logindisabled(imapd):
    # written before the TLS handshake ends but sent encrypted: mbsync trusts these
    # capabilities and would not log in
    from test_imap_session import Raw
    r = Raw(imapd, "imaps", tls=True)
    caps = re.match(r"\* OK \[CAPABILITY ([^]]*)\]", r.greeting)[1].split()
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps and "STARTTLS" not in caps
