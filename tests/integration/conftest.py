"""Integration fixtures: a real maild, started as root in a temporary directory."""
import json
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
MAILD_BIN = pathlib.Path(os.environ.get("MAILD_BIN", TOP / "build" / "maild"))
MAILCTL_BIN = MAILD_BIN.parent / "mailctl"
# MAILD_VALGRIND=1: run maild and every worker under valgrind memcheck; a test fails when any
# process reports an error.
VALGRIND = os.environ.get("MAILD_VALGRIND") == "1"
# Instrumented processes start and answer several times slower: waits (never assertions on
# speed) stretch accordingly.
# Peak RSS says how much memory a worker holds only without a sanitizer's or valgrind's own.
RSS_MEANINGFUL = not VALGRIND and "asan" not in str(MAILD_BIN)
# Scale tests (tens of thousands of messages or folders, 20 MB messages, slow readers of
# megabytes): the plain and ASan runs cover them; under valgrind they would take most of an hour.
scale_test = pytest.mark.skipif(VALGRIND, reason="scale test: run by the plain and ASan suites")
SLOW = 6 if VALGRIND else (2 if "asan" in str(MAILD_BIN) else 1)

ROLES = ["accounts", "smtp", "filter", "delivery", "queue", "imap", "admin"]
ROLE_USER = {"accounts": "maild", "smtp": "maild", "filter": "maild", "queue": "maild",
             "delivery": "vmail", "imap": "vmail", "admin": "vmail"}


def _ephemeral_range():
    try:
        lo, hi = pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


_EPHEMERAL = _ephemeral_range()
_handed_out = set()


def free_port():
    """A loopback port nobody listens on right now, below the kernel's ephemeral range: a port
    from that range can be taken by any client connection before maild binds it."""
    top = min(_EPHEMERAL[0], 65536) - 1
    # pytest-xdist workers (gw0, gw1, ...) each draw from their own slice of the range, so
    # two tests running at once never pick the same port.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    width = (top - 20000) // max(workers, 1)
    low = 20000 + index * width
    for _ in range(1000):
        port = random.randint(low, low + width - 1)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise AssertionError("no free loopback port below the ephemeral range")


def make_cert(directory):
    tls = directory / "tls"
    tls.mkdir(exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                    "-subj", "/CN=localhost", "-keyout", str(tls / "key.pem"),
                    "-out", str(tls / "cert.pem")],
                   check=True, capture_output=True)
    os.chmod(tls / "key.pem", 0o600)


# Every Maild a test made, for the valgrind check after it (_valgrind_clean).
_instances = []


@pytest.fixture(autouse=True)
def _valgrind_clean():
    """Under valgrind, every maild a test started (whichever fixture or helper started it)
    must have stopped without a memcheck error in any of its processes."""
    first = len(_instances)
    yield
    made = _instances[first:]
    del _instances[first:]
    if not VALGRIND:
        return
    errors = []
    for m in made:
        if m.proc is not None and m.proc.poll() is None and m.dir.exists():
            m.stop(timeout=60)
        errors += m.vg_errors
    assert not errors, "\n".join(errors)


class Maild:
    """One maild instance: its directory, config, process and log."""

    def __init__(self, directory, extra_config=""):
        _instances.append(self)
        self.vg_errors = []
        self.dir = pathlib.Path(directory)
        self.config = self.dir / "maild.conf"
        self.log_path = self.dir / "maild.log"
        self.admin_sock = self.dir / "admin.sock"
        self.pid_file = self.dir / "maild.pid"
        self.proc = None
        self.ports = {k: free_port() for k in ["smtp", "submission", "smtps"]}
        self.write_config(extra_config)

    def base_config(self):
        d = self.dir
        return "\n".join([
            "hostname = maild.test",
            "log.level = debug",
            f"state_dir = {d}/state",
            f"run_dir = {d}",
            f"mail_root = {d}/mail",
            f"pid_file = {d}/maild.pid",
            f"admin.socket = {d}/admin.sock",
            "admin.group = maild-admin",
            f"tls.cert_file = {d}/tls/cert.pem",
            f"tls.key_file = {d}/tls/key.pem",
            # valgrind slows a worker enough to miss a 1 s ping (password hashing, TLS set-up)
            f"supervisor.health_interval = {'10s' if VALGRIND else '1s'}",
            f"smtp.listen = 127.0.0.1:{self.ports['smtp']}",
            f"submission.listen = 127.0.0.1:{self.ports['submission']}",
            f"smtps.listen = 127.0.0.1:{self.ports['smtps']}",
            "imap.listen =",
            "imaps.listen =",
            "",
        ])

    def write_config(self, extra=""):
        self.config.write_text(self.base_config() + extra)

    def start(self, wait=True, user=None):
        log = open(self.log_path, "ab")
        cmd = [str(MAILD_BIN), "--config", str(self.config), "--foreground"]
        if VALGRIND:
            supp = pathlib.Path(__file__).resolve().parents[2] / "tools" / "valgrind.supp"
            cmd = ["valgrind", "-q", f"--suppressions={supp}", "--trace-children=yes",
                   "--leak-check=no",
                   "--track-fds=no", "--vgdb=no", f"--log-file={self.dir}/valgrind.%p.log"] + cmd
        if user:
            cmd = ["runuser", "-u", user, "--"] + cmd
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        log.close()
        if wait:
            self.wait_ready()
        return self.proc

    def valgrind_errors(self):
        errors = []
        for log in self.dir.glob("valgrind.*.log"):
            text = log.read_text(errors="replace").strip()
            if text:
                errors.append(f"{log.name}:\n{text}")
        return errors

    def wait_ready(self, timeout=60 if VALGRIND else 10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"maild exited with {self.proc.returncode}:\n{self.log()}")
            if self.admin_sock.exists():
                try:
                    st = self.status()
                    if all(w["pid"] > 0 and w["state"] == "running" for w in st["workers"]):
                        return st
                except (OSError, ValueError, KeyError):
                    pass
            time.sleep(0.05)
        raise AssertionError(f"maild not ready after {timeout}s:\n{self.log()}")

    def stop(self, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            if VALGRIND and self.proc is not None and self.dir.exists():
                self.vg_errors = self.valgrind_errors()
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            # Read now: the test's directory may be gone by the time the check runs.
            if VALGRIND:
                self.vg_errors = self.valgrind_errors()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=5):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in log:\n{self.log()}")

    # --- admin socket, raw -------------------------------------------------------------
    def request(self, obj_or_bytes, timeout=10):
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else \
            (json.dumps(obj_or_bytes) + "\n").encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.admin_sock))
            s.sendall(data)
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)

    def status(self):
        reply = self.request({"cmd": "status"})
        assert reply["ok"], reply
        return reply["result"]

    def worker_pids(self):
        return {w["role"]: w["pid"] for w in self.status()["workers"]}

    def reload(self, *roles):
        """mailctl reload, then wait until each of roles runs as a new process (the ones
        whose settings changed) and every worker serves."""
        old = self.worker_pids()
        self.ctl("reload", check=0)
        assert wait_until(lambda: all(self.worker_pids().get(r) not in (None, 0, old[r])
                                      for r in roles) and
                          all(w["state"] == "running" for w in self.status()["workers"]))

    # --- mailctl -----------------------------------------------------------------------
    def ctl(self, *args, input=None, check=None, json_out=False):
        cmd = [str(MAILCTL_BIN), "--config", str(self.config)]
        if json_out:
            cmd.append("--json")
        cmd += list(args)
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=30)
        if check is not None:
            assert r.returncode == check, \
                f"mailctl {' '.join(args)}: exit {r.returncode}, expected {check}\n" \
                f"stdout: {r.stdout}\nstderr: {r.stderr}"
        return r

    def ctl_json(self, *args, input=None):
        r = self.ctl(*args, input=input, check=0, json_out=True)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def cert_dir():
    d = pathlib.Path(tempfile.mkdtemp(prefix="maild-cert-"))
    make_cert(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmpdir_world(cert_dir):
    """A temp dir the unprivileged workers can traverse (mkdtemp makes it 0700)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="maild-it-"))
    os.chmod(d, 0o755)
    shutil.copytree(cert_dir / "tls", d / "tls")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def maild_instance(tmpdir_world):
    """A configured but not yet started maild."""
    m = Maild(tmpdir_world)
    yield m
    m.stop(timeout=60 if VALGRIND else 15)


@pytest.fixture
def maild(maild_instance):
    """A running maild."""
    maild_instance.start()
    return maild_instance


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def open_fd_targets(pid):
    """{fd: what it points to} for a running process. A descriptor closed between the
    listing and the readlink is simply absent: the process does not stop for us."""
    targets = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:
            pass
    return targets


def wait_until(predicate, timeout=5, interval=0.05):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
