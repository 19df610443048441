"""Malformed IPC frames on the real daemon: the link closes and the sender is restarted.

The test takes a copy of a worker's socket with pidfd_getfd(2) and writes a bad record into it,
as a compromised or buggy worker would.
"""
import ctypes
import os
import socket
import struct

from conftest import open_fd_targets, wait_until

SYS_pidfd_getfd = 438
libc = ctypes.CDLL(None, use_errno=True)


def steal_fd(pid, fd):
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
        if got < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return got
    finally:
        os.close(pidfd)


def seqpacket_fds(pid):
    """fds of pid that are sockets, with their inode."""
    return {fd: target for fd, target in open_fd_targets(pid).items() if target.startswith("socket:")}


def send_raw(fd, data):
    s = socket.socket(fileno=fd)
    try:
        s.send(data)
    finally:
        s.detach()
        os.close(fd)


def header(type_, length, magic=0x4D4C0002, flags=0, id_=0):
    return struct.pack("<IHHII", magic, type_, flags, id_, length)


def restarted(maild, role, old_pid):
    def check():
        st = {w["role"]: w for w in maild.status()["workers"]}
        w = st[role]
        return w if w["pid"] not in (0, old_pid) and w["state"] == "running" else None
    return wait_until(check, timeout=5)


def test_malformed_frame_to_the_supervisor_restarts_the_sender(maild):
    pid = maild.worker_pids()["filter"]
    # fd 3 of every worker is its link to the supervisor (docs/architecture.md)
    send_raw(steal_fd(pid, 3), header(999, 0))
    w = restarted(maild, "filter", pid)
    assert w and w["restarts"] == 1, maild.log()
    maild.wait_log("sent a malformed message")


def test_frame_whose_length_disagrees_is_malformed(maild):
    pid = maild.worker_pids()["queue"]
    send_raw(steal_fd(pid, 3), header(1, 100) + b"x" * 10)
    assert restarted(maild, "queue", pid), maild.log()


def test_wrong_version_is_malformed(maild):
    pid = maild.worker_pids()["imap"]
    send_raw(steal_fd(pid, 3), header(1, 0, magic=0x4D4C0003))
    assert restarted(maild, "imap", pid), maild.log()


def test_malformed_frame_between_workers_restarts_the_sender(maild):
    pids = maild.worker_pids()
    acct = pids["accounts"]
    before = seqpacket_fds(acct)
    # accounts' links to its peers are every socket beyond fd 3; one of them reaches admin.
    peer_fds = [fd for fd in before if fd > 3]
    assert peer_fds
    stolen = [steal_fd(acct, fd) for fd in peer_fds]
    for fd in stolen:
        send_raw(fd, b"\x00" * 5)
    w = restarted(maild, "accounts", acct)
    assert w, maild.log()
    maild.wait_log("reports a malformed message from accounts")
    # and the new accounts worker serves admin again
    maild.ctl("domain", "add", "after.test", check=0)
    assert wait_until(lambda: maild.ctl("address", "resolve", "x@after.test").returncode == 67,
                      timeout=5)


def test_frame_over_its_type_limit_is_malformed(maild):
    # IPC_READY (4) carries nothing: a 64-byte payload is over its limit.
    pid = maild.worker_pids()["delivery"]
    send_raw(steal_fd(pid, 3), header(4, 64) + b"\0" * 64)
    assert restarted(maild, "delivery", pid), maild.log()
