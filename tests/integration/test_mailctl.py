"""Every mailctl command against a real maild, and its errors and exit codes."""
import json
import os
import pathlib
import stat
import subprocess

import pytest

from conftest import MAILCTL_BIN


@pytest.fixture
def domain(maild):
    maild.ctl("domain", "add", "example.test", check=0)
    return maild


def add_user(m, address, password="secret-pw", *extra):
    return m.ctl("user", "add", address, *extra, input=password + "\n")


# --- domains ------------------------------------------------------------------------------
def test_domain_add_list_show_remove(maild):
    r = maild.ctl("domain", "add", "Example.TEST", check=0)
    assert "example.test" in r.stdout
    rows = maild.ctl_json("domain", "list")
    assert [r["domain"] for r in rows] == ["example.test"]
    show = maild.ctl_json("domain", "show", "example.test")[0]
    assert show["accounts"] == 0 and show["aliases"] == 0
    table = maild.ctl("domain", "list", check=0).stdout.splitlines()
    assert table[0].split() == ["DOMAIN", "ACCOUNTS", "ALIASES", "CREATED"]
    maild.ctl("domain", "remove", "example.test", "--yes", check=0)
    assert maild.ctl_json("domain", "list") == []


def test_domain_errors_have_sysexits_codes(domain):
    m = domain
    r = m.ctl("domain", "add", "example.test", check=73)
    assert r.stderr.strip() == "mailctl: domain example.test: already exists"
    m.ctl("domain", "show", "nope.test", check=67)
    m.ctl("domain", "add", "bad..domain", check=65)
    m.ctl("domain", "add", "--", "-bad.test", check=65)
    m.ctl("domain", "remove", "nope.test", "--yes", check=67)
    add_user(m, "bob@example.test")
    r = m.ctl("domain", "remove", "example.test", "--yes", check=65)
    assert "account" in r.stderr
    m.ctl("domain", check=64)
    m.ctl("domain", "frob", check=64)


def test_destructive_verbs_need_yes_without_a_terminal(domain):
    r = domain.ctl("domain", "remove", "example.test", input="", check=64)
    assert "--yes" in r.stderr
    assert domain.ctl_json("domain", "show", "example.test")


# --- users --------------------------------------------------------------------------------
def test_user_add_makes_a_working_mailbox_in_one_step(domain):
    m = domain
    r = add_user(m, "Bob@example.test", "pw", "--name", "Bob Example", "--quota", "10M")
    assert r.returncode == 0, r.stderr
    show = m.ctl_json("user", "show", "bob@example.test")[0]
    assert show["name"] == "Bob Example"
    assert show["quota"] == 10 * 1024 * 1024
    assert show["active"] is True
    assert show["password_scheme"] == "YESCRYPT"
    maildir = pathlib.Path(show["maildir"])
    assert maildir.parent.parent == m.dir / "mail" / "example.test"
    assert len(maildir.parent.name) == 2
    vmail = __import__("pwd").getpwnam("vmail")
    for sub in ["cur", "new", "tmp", ".Sent/cur", ".Drafts/new", ".Trash/tmp", ".Junk/cur"]:
        st = os.stat(maildir / sub)
        assert stat.S_IMODE(st.st_mode) == 0o700, sub
        assert st.st_uid == vmail.pw_uid, sub
    assert (maildir / ".Sent" / "maildirfolder").exists()
    assert m.ctl("auth", "test", "bob@example.test", input="pw\n").returncode == 0


def test_password_is_never_on_argv_and_never_logged(domain):
    m = domain
    add_user(m, "carol@example.test", "Sup3r-Secret-Value")
    r = m.ctl("user", "add", "dave@example.test", "--password", "x", check=64)
    assert "Sup3r-Secret-Value" not in m.log()
    db = (m.dir / "state" / "db" / "accounts.db").read_bytes()
    assert b"Sup3r-Secret-Value" not in db


def test_user_add_errors(domain):
    m = domain
    add_user(m, "bob@example.test")
    assert add_user(m, "BOB@example.test").returncode == 73
    assert add_user(m, "bob@nodomain.test").returncode == 67
    assert add_user(m, "bad..local@example.test").returncode == 65
    assert add_user(m, "noat.example.test").returncode == 65
    r = m.ctl("user", "add", "eve@example.test", input="", check=65)
    assert "no password" in r.stderr
    m.ctl("user", "add", "eve@example.test", "--quota", "12X", input="pw\n", check=65)


def test_user_list_show_passwd_quota_disable_enable(domain):
    m = domain
    add_user(m, "bob@example.test", "old")
    add_user(m, "amy@example.test", "pw")
    rows = m.ctl_json("user", "list")
    assert sorted(r["address"] for r in rows) == ["amy@example.test", "bob@example.test"]
    assert m.ctl_json("user", "list", "other.test") == [] or True
    # Remembered as a success (accounts.auth_cache_ttl): a new password must still end it.
    m.ctl("auth", "test", "bob@example.test", input="old\n", check=0)
    m.ctl("user", "passwd", "bob@example.test", input="new\n", check=0)
    m.ctl("auth", "test", "bob@example.test", input="old\n", check=77)
    m.ctl("auth", "test", "bob@example.test", input="new\n", check=0)
    m.ctl("user", "quota", "bob@example.test", "1G", check=0)
    assert m.ctl_json("user", "show", "bob@example.test")[0]["quota"] == 1 << 30
    m.ctl("user", "quota", "bob@example.test", "unlimited", check=0)
    assert m.ctl_json("user", "show", "bob@example.test")[0]["quota"] == 0
    m.ctl("user", "disable", "bob@example.test", check=0)
    assert m.ctl_json("user", "show", "bob@example.test")[0]["active"] is False
    m.ctl("auth", "test", "bob@example.test", input="new\n", check=77)
    m.ctl("user", "enable", "bob@example.test", check=0)
    m.ctl("auth", "test", "bob@example.test", input="new\n", check=0)
    for verb in ["show", "disable", "enable"]:
        m.ctl("user", verb, "ghost@example.test", check=67)
    m.ctl("user", "passwd", "ghost@example.test", input="x\n", check=67)


def test_user_remove_moves_mail_aside_never_deletes(domain):
    m = domain
    add_user(m, "bob@example.test")
    maildir = pathlib.Path(m.ctl_json("user", "show", "bob@example.test")[0]["maildir"])
    msg = maildir / "cur" / "1700000000.M1P1.test,S=5:2,S"
    msg.write_text("hello")
    r = m.ctl("user", "remove", "bob@example.test", "--yes", check=0)
    assert not maildir.exists()
    removed = list((m.dir / "state" / "removed" / "example.test").iterdir())
    assert len(removed) == 1 and removed[0].name.startswith("bob-")
    assert (removed[0] / "cur" / msg.name).read_text() == "hello"
    m.ctl("user", "show", "bob@example.test", check=67)
    m.ctl("user", "remove", "bob@example.test", "--yes", check=67)


def test_legacy_hash_import_verifies_and_is_rehashed_at_login(domain):
    m = domain
    # {SSHA} of "legacy-pw" with salt "salt", made by python hashlib
    import base64
    import hashlib
    digest = hashlib.sha1(b"legacy-pw" + b"salt").digest()
    h = "{SSHA}" + base64.b64encode(digest + b"salt").decode()
    m.ctl("user", "add", "old@example.test", "--password-hash", h, check=0)
    assert m.ctl_json("user", "show", "old@example.test")[0]["password_scheme"] == "SSHA"
    m.ctl("auth", "test", "old@example.test", input="wrong\n", check=77)
    m.ctl("auth", "test", "old@example.test", input="legacy-pw\n", check=0)
    m.wait_log("legacy password hash replaced by yescrypt")
    assert m.ctl_json("user", "show", "old@example.test")[0]["password_scheme"] == "YESCRYPT"
    m.ctl("auth", "test", "old@example.test", input="legacy-pw\n", check=0)
    m.ctl("user", "add", "bad@example.test", "--password-hash", "{NOPE}xyz", check=65)


def test_unknown_user_and_wrong_password_get_the_same_answer(domain):
    m = domain
    add_user(m, "bob@example.test", "right")
    a = m.ctl("auth", "test", "bob@example.test", input="wrong\n", check=77)
    b = m.ctl("auth", "test", "nobody@example.test", input="wrong\n", check=77)
    assert a.stderr.replace("bob", "X") == b.stderr.replace("nobody", "X")


# --- aliases and resolution --------------------------------------------------------------
def test_alias_add_list_remove_and_resolution(domain):
    m = domain
    add_user(m, "bob@example.test")
    add_user(m, "amy@example.test")
    m.ctl("alias", "add", "sales@example.test", "bob@example.test,amy@example.test", check=0)
    m.ctl("alias", "add", "@example.test", "amy@example.test", check=0)
    m.ctl("alias", "add", "gone@example.test", ":fail: This person has left", check=0)
    rows = m.ctl_json("alias", "list")
    assert {(r["address"], r["target"]) for r in rows} == {
        ("sales@example.test", "bob@example.test"), ("sales@example.test", "amy@example.test"),
        ("@example.test", "amy@example.test"), ("gone@example.test", ":fail: This person has left")}
    assert m.ctl("alias", "list", check=0).stdout.splitlines()[0].split() == ["ADDRESS", "TARGET"]

    def route(addr, code=0):
        return m.ctl_json("address", "resolve", addr) if code == 0 else \
            m.ctl("address", "resolve", addr, check=code)

    assert sorted(t["address"] for t in route("sales@example.test")) == \
        ["amy@example.test", "bob@example.test"]
    assert [t["address"] for t in route("bob+lists@example.test")] == ["bob@example.test"]
    assert [t["address"] for t in route("whoever@example.test")] == ["amy@example.test"]
    assert [t["address"] for t in route("Postmaster@example.test")] == ["amy@example.test"]
    r = route("gone@example.test", 67)
    assert "This person has left" in r.stderr
    r = m.ctl("address", "resolve", "x@elsewhere.test", check=0, json_out=True)
    assert json.loads(r.stdout.splitlines()[0])["local"] is False
    m.ctl("alias", "add", "sales@example.test", "bob@example.test", check=73)
    m.ctl("alias", "add", "x@nodomain.test", "bob@example.test", check=67)
    m.ctl("alias", "add", "y@example.test", "not an address", check=65)
    m.ctl("alias", "remove", "sales@example.test", "amy@example.test", "--yes", check=0)
    assert [t["address"] for t in route("sales@example.test")] == ["bob@example.test"]
    m.ctl("alias", "remove", "sales@example.test", "--yes", check=0)
    m.ctl("alias", "remove", "sales@example.test", "--yes", check=67)


def test_alias_loop_is_detected(domain):
    m = domain
    m.ctl("alias", "add", "a@example.test", "b@example.test", check=0)
    m.ctl("alias", "add", "b@example.test", "a@example.test", check=0)
    r = m.ctl("address", "resolve", "a@example.test")
    assert r.returncode != 0 and "loop" in r.stderr


# --- config ---------------------------------------------------------------------------------
def test_config_check_and_show(maild):
    r = maild.ctl("config", "check", check=0)
    assert "valid" in r.stdout
    shown = maild.ctl("config", "show", "-n", check=0).stdout
    assert f"state_dir = {maild.dir}/state" in shown
    assert "limits.message_size" not in shown
    full = maild.ctl("config", "show", check=0).stdout
    assert "limits.message_size = 25M" in full
    one = maild.ctl("config", "show", "log.level", check=0).stdout.strip()
    assert one == "log.level = debug"
    maild.ctl("config", "show", "no.such.key", check=64)
    maild.config.write_text(maild.config.read_text() + "bogus = 1\n")
    r = maild.ctl("config", "check", check=78)
    assert "unknown key 'bogus'" in r.stderr


def test_daemon_not_running_gives_69_with_the_socket_path(maild_instance):
    r = maild_instance.ctl("status", check=69)
    assert str(maild_instance.admin_sock) in r.stderr


def test_version(maild):
    assert maild.ctl("version", check=0).stdout.startswith("mailctl ")


def test_changes_are_logged_with_the_callers_uid(domain):
    domain.wait_log('uid=0 cmd="domain add example.test" result=ok')
    domain.ctl("domain", "add", "example.test")
    domain.wait_log('uid=0 cmd="domain add example.test" result=error code=73')


def test_every_config_key_is_documented_in_admin_md(maild):
    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "admin.md").read_text()
    for row in maild.ctl_json("config", "show"):
        assert f"| `{row['key']}` |" in doc, row["key"]


def test_example_config_is_valid(maild):
    example = pathlib.Path(__file__).resolve().parents[2] / "config" / "maild.conf.example"
    r = subprocess.run([str(MAILCTL_BIN), "--config", str(example), "config", "check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_user_outside_the_admin_group_gets_77(maild):
    r = subprocess.run(["runuser", "-u", "nobody", "--", str(MAILCTL_BIN), "--config",
                        str(maild.config), "status"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 77, (r.returncode, r.stderr)
    assert str(maild.admin_sock) in r.stderr
