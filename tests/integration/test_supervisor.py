"""The supervisor and its workers: privileges, restarts, reload, shutdown, pid file."""
import grp
import os
import pathlib
import pwd
import resource
import signal
import subprocess
import time

import pytest

from conftest import MAILD_BIN, ROLES, ROLE_USER, VALGRIND, Maild, proc_status, wait_until


def test_every_role_runs_as_its_user_without_capabilities(maild):
    pids = maild.worker_pids()
    assert sorted(pids) == sorted(ROLES)
    for role, pid in pids.items():
        st = proc_status(pid)
        user = pwd.getpwnam(ROLE_USER[role])
        uids = st["Uid"].split()
        gids = st["Gid"].split()
        assert uids == [str(user.pw_uid)] * 4, (role, st["Uid"])
        assert gids == [str(user.pw_gid)] * 4, (role, st["Gid"])
        assert int(st["CapEff"], 16) == 0, (role, st["CapEff"])
        assert int(st["CapPrm"], 16) == 0, (role, st["CapPrm"])
        assert st["NoNewPrivs"] == "1", role
        assert proc_status(pid)["PPid"] == str(maild.proc.pid)
    # Only the supervisor is root.
    assert proc_status(maild.proc.pid)["Uid"].split()[0] == "0"


@pytest.mark.skipif(VALGRIND, reason="valgrind keeps a process to the open-files limit it "
                    "started with (it reserves descriptors of its own above it)")
def test_workers_may_hold_thousands_of_connections(maild_instance):
    """The open files limit is raised for every worker (thousands of IDLE sockets), even when
    maild was started from a shell with the usual 1024."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, saved[1]))
    try:
        maild_instance.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, saved)
    for role, pid in maild_instance.worker_pids().items():
        limits = pathlib.Path(f"/proc/{pid}/limits").read_text()
        soft = int(next(line for line in limits.splitlines()
                        if line.startswith("Max open files")).split()[3])
        assert soft >= 20000, (role, soft)


def test_status_reports_every_worker(maild):
    rows = maild.ctl_json("status")
    assert sorted(r["role"] for r in rows) == sorted(ROLES)
    for r in rows:
        assert r["pid"] > 0 and r["state"] == "running" and r["restarts"] == 0
        assert r["user"] == ROLE_USER[r["role"]]
    table = maild.ctl("status", check=0).stdout
    assert table.splitlines()[0].split() == ["ROLE", "PID", "USER", "UPTIME", "RESTARTS", "STATE"]


@pytest.mark.parametrize("role", ROLES)
def test_killed_worker_is_back_within_two_seconds(maild, role):
    before = maild.worker_pids()
    os.kill(before[role], signal.SIGKILL)
    t0 = time.monotonic()

    def restarted():
        st = {w["role"]: w for w in maild.status()["workers"]}
        w = st[role]
        return w if w["pid"] not in (0, before[role]) and w["state"] == "running" else None

    w = wait_until(restarted, timeout=5)
    assert w, maild.log()
    # "back" = started again and serving; sanitizer builds start slower, so only the
    # plain build is held to the 2 s of the issue.
    limit = 5.0 if VALGRIND or "asan" in str(MAILD_BIN) else 2.0
    assert time.monotonic() - t0 < limit
    assert w["restarts"] == 1
    maild.wait_log(f"worker {role} (pid {before[role]}) killed by signal 9")
    # The others were left alone.
    after = maild.worker_pids()
    for other in ROLES:
        if other != role:
            assert after[other] == before[other]


def test_killed_accounts_worker_is_linked_again_to_admin(maild):
    maild.ctl("domain", "add", "example.test", check=0)
    maild.ctl("user", "add", "bob@example.test", input="pw1\n", check=0)
    os.kill(maild.worker_pids()["accounts"], signal.SIGKILL)
    # admin asks accounts to check a password: works through the new link.
    ok = wait_until(lambda: maild.ctl("auth", "test", "bob@example.test",
                                      input="pw1\n").returncode == 0, timeout=5)
    assert ok, maild.log()


def test_crash_loop_backs_off_and_supervisor_survives(maild):
    role = "filter"
    for _ in range(4):
        pid = wait_until(lambda: maild.worker_pids()[role], timeout=5)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: maild.worker_pids()[role] not in (0, pid), timeout=5)
    st = {w["role"]: w for w in maild.status()["workers"]}
    assert st[role]["restarts"] == 4
    assert maild.proc.poll() is None
    log = maild.log()
    assert "restart 1 in 100 ms" in log and "restart 2 in 200 ms" in log
    assert "restart 3 in 400 ms" in log


def test_sighup_with_broken_config_keeps_running_config(maild):
    before = maild.worker_pids()
    maild.config.write_text(maild.config.read_text() + "tls.certfile = /x\nlog.level = loud\n")
    maild.proc.send_signal(signal.SIGHUP)
    maild.wait_log("the running configuration stays in force")
    log = maild.log()
    n = len(maild.config.read_text().splitlines())
    assert f"{maild.config}:{n - 1}: unknown key 'tls.certfile' (did you mean 'tls.cert_file'?)" in log
    assert f"{maild.config}:{n}: " in log
    assert maild.proc.poll() is None
    assert maild.worker_pids() == before
    # Still serving (mailctl itself refuses the broken file, so speak to the socket).
    assert maild.request({"cmd": "domain.add", "args": {"domain": "still.test"}})["ok"]


def test_sighup_restarts_only_workers_whose_settings_changed(maild):
    before = maild.worker_pids()
    maild.config.write_text(maild.config.read_text() + "accounts.recipient_delimiter = -\n")
    maild.proc.send_signal(signal.SIGHUP)
    maild.wait_log("restarting workers: accounts")
    after = wait_until(lambda: (p := maild.worker_pids())["accounts"] not in (0, before["accounts"]) and p)
    assert after, maild.log()
    for role in ROLES:
        if role != "accounts":
            assert after[role] == before[role], role
    st = {w["role"]: w for w in maild.status()["workers"]}
    assert st["accounts"]["restarts"] == 0  # asked for, not a crash


def test_mailctl_reload_reports_errors_with_file_and_line(maild):
    maild.config.write_text(maild.config.read_text() + "smtp.listen = 127.0.0.1:99999\n")
    r = maild.ctl("reload", check=78)
    assert f"{maild.config}:" in r.stderr and "99999" in r.stderr
    maild.write_config("accounts.alias_max_depth = 5\n")
    maild.ctl("reload", check=0)


def test_sigterm_stops_everything_within_ten_seconds(maild):
    pids = maild.worker_pids()
    t0 = time.monotonic()
    maild.proc.send_signal(signal.SIGTERM)
    assert maild.proc.wait(10) == 0
    assert time.monotonic() - t0 < 10
    for pid in pids.values():
        assert not os.path.exists(f"/proc/{pid}") or proc_status(pid)["State"].startswith("Z")
    assert not maild.pid_file.exists()
    assert not maild.admin_sock.exists()


def test_workers_exit_when_the_supervisor_is_killed(maild):
    pids = maild.worker_pids()
    maild.proc.kill()
    maild.proc.wait()
    gone = wait_until(lambda: all(not os.path.exists(f"/proc/{p}") for p in pids.values()),
                      timeout=5)
    assert gone


def test_second_maild_on_the_same_pid_file_refuses_to_start(maild):
    r = subprocess.run([str(MAILD_BIN), "--config", str(maild.config), "--foreground"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 75
    assert f"another maild (pid {maild.proc.pid}) is running" in r.stderr
    assert maild.proc.poll() is None


def test_check_config_reports_every_error_with_file_and_line(maild_instance):
    m = maild_instance
    m.write_config("log.level = chatty\nlimits.message_size = 10Q\nfoo = 1\n")
    n = len(m.config.read_text().splitlines())
    r = subprocess.run([str(MAILD_BIN), "--check-config", "--config", str(m.config)],
                       capture_output=True, text=True)
    assert r.returncode == 78
    lines = r.stderr.splitlines()
    assert any(l.startswith(f"{m.config}:{n - 2}: ") and "chatty" in l for l in lines), lines
    assert any(l.startswith(f"{m.config}:{n - 1}: ") for l in lines), lines
    assert any(l.startswith(f"{m.config}:{n}: unknown key 'foo'") for l in lines), lines
    # and maild itself refuses such a config
    r = subprocess.run([str(MAILD_BIN), "--config", str(m.config), "--foreground"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 78


def test_check_config_accepts_a_good_file(maild_instance):
    r = subprocess.run([str(MAILD_BIN), "--check-config", "--config", str(maild_instance.config)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_started_as_non_root_every_role_runs_as_that_user(maild_instance):
    m = maild_instance
    nobody = pwd.getpwnam("nobody")
    for sub in ["state", "mail"]:
        (m.dir / sub).mkdir(exist_ok=True)
    for p in [m.dir, m.dir / "state", m.dir / "mail", m.dir / "tls"]:
        os.chown(p, nobody.pw_uid, nobody.pw_gid)
    m.write_config(f"run_as.service = nobody\nrun_as.mailbox = nobody\nadmin.group = "
                   f"{grp.getgrgid(nobody.pw_gid).gr_name}\n")
    m.start(wait=False, user="nobody")
    # root may talk to the socket of nobody's maild
    m.wait_ready()
    for pid in m.worker_pids().values():
        assert proc_status(pid)["Uid"].split()[0] == str(nobody.pw_uid)
    assert m.log().count("not root: every worker runs as this user") == 1


@pytest.mark.parametrize("where", ["page2", "header"])
def test_corrupt_accounts_db_refuses_to_start_and_keeps_the_file(maild, where):
    maild.ctl("domain", "add", "example.test", check=0)
    maild.stop()
    db = maild.dir / "state" / "db" / "accounts.db"
    # Fold the WAL into the file first, so the damage is not hidden behind newer WAL frames.
    subprocess.run(["sqlite3", str(db), "PRAGMA wal_checkpoint(TRUNCATE);"], check=True,
                   capture_output=True)
    data = bytearray(db.read_bytes())
    assert len(data) >= 8192
    if where == "page2":
        data[4096:8192] = b"\xde\xad\xbe\xef" * 1024
    else:
        data[0:16] = b"not a database!!"
    db.write_bytes(bytes(data))
    r = subprocess.run([str(MAILD_BIN), "--config", str(maild.config), "--foreground"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "refusing to start" in r.stderr
    assert db.read_bytes() == bytes(data)  # never recreated or emptied
