"""The admin socket under bad input: the client gets an error, the daemon carries on."""
import json
import os
import socket
import stat
import subprocess
import time


def raw(m, data, timeout=10):
    """Send bytes, return (reply lines, whether the server closed the connection)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(m.admin_sock))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        closed = False
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                closed = True
                break
            except socket.timeout:
                break
            if not chunk:
                closed = True
                break
            buf += chunk
            if buf.count(b"\n") >= data.count(b"\n") and not closed:
                s.settimeout(1)
    return [json.loads(l) for l in buf.splitlines() if l.strip()], closed


def test_socket_mode_and_group(maild):
    st = os.stat(maild.admin_sock)
    assert stat.S_IMODE(st.st_mode) == 0o660
    import grp
    assert st.st_gid == grp.getgrnam("maild-admin").gr_gid


def test_garbage_gets_an_error_and_the_connection_is_closed(maild):
    for junk in [b"hello\n", b"{\"cmd\":\n", b"\x00\xff\xfe\n", b"[]\n", b"{\"cmd\":\"nope\"}\n"]:
        replies, closed = raw(maild, junk)
        assert len(replies) == 1 and replies[0]["ok"] is False and replies[0]["code"] == 64
        assert closed
    assert maild.status()["workers"]


def test_oversized_request_is_refused_and_daemon_is_fine(maild):
    before = maild.worker_pids()
    replies, closed = raw(maild, b"{\"cmd\":\"status\",\"x\":\"" + b"a" * 70000)
    assert replies and replies[0]["code"] == 64 and "too large" in replies[0]["error"]
    assert closed
    replies, closed = raw(maild, b"x" * (1 << 20) + b"\n")
    assert replies[0]["code"] == 64
    assert maild.worker_pids() == before


def test_request_at_the_limit_is_answered(maild):
    head = b'{"cmd":"domain.show","args":{"domain":"'
    tail = b'"}}'
    line = head + b"a" * (65536 - len(head) - len(tail)) + tail
    assert len(line) == 65536
    replies, closed = raw(maild, line + b"\n")
    # decoded, then refused as bad input (not as a bad request)
    assert replies[0]["ok"] is False and replies[0]["code"] == 65
    assert not closed
    replies, closed = raw(maild, line[:-3] + b'a"}}\n')
    assert replies[0]["code"] == 64 and closed


def test_pipelined_requests_get_replies_in_order(maild):
    data = b"".join(json.dumps(r).encode() + b"\n" for r in [
        {"cmd": "domain.add", "args": {"domain": "a.test"}},
        {"cmd": "domain.add", "args": {"domain": "a.test"}},
        {"cmd": "status"},
        {"cmd": "domain.list"},
    ])
    replies, _ = raw(maild, data)
    assert [r["ok"] for r in replies] == [True, False, True, True]
    assert replies[1]["code"] == 73
    assert [d["domain"] for d in replies[3]["result"]] == ["a.test"]


def test_many_idle_clients_do_not_block_the_socket(maild):
    socks = []
    for _ in range(40):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(maild.admin_sock))
        socks.append(s)
    try:
        time.sleep(0.2)
        for s in socks:
            s.close()
        socks = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                maild.status()
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        assert maild.status()["workers"]
    finally:
        for s in socks:
            s.close()


def test_locked_database_gives_a_temporary_failure(maild):
    db = maild.dir / "state" / "db" / "accounts.db"
    holder = subprocess.Popen(["sqlite3", str(db)], stdin=subprocess.PIPE, text=True)
    holder.stdin.write("BEGIN EXCLUSIVE;\nSELECT 1;\n")
    holder.stdin.flush()
    time.sleep(0.3)
    try:
        t0 = time.monotonic()
        r = maild.ctl("domain", "add", "locked.test")
        assert r.returncode == 75, (r.returncode, r.stderr)
        assert time.monotonic() - t0 < 15
    finally:
        holder.stdin.write("COMMIT;\n.quit\n")
        holder.stdin.close()
        holder.wait(5)
    maild.ctl("domain", "add", "locked.test", check=0)
