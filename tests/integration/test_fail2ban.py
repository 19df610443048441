"""The shipped fail2ban filter matches maild's SMTP log lines (config/fail2ban)."""
import pathlib
import re
import subprocess
import time

import pytest

from test_smtp import mx, smtp  # noqa: F401 (mx is a fixture)

TOP = pathlib.Path(__file__).resolve().parents[2]


def as_syslog(log_text):
    """Our --foreground lines in the shape syslog writes them (what fail2ban reads)."""
    out = []
    for line in log_text.splitlines():
        m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)\.\d+Z (maild/\S+: .*)", line)
        if m:
            stamp = time.strftime("%b %d", time.strptime(f"{m[1]}-{m[2]}-{m[3]}", "%Y-%m-%d"))
            out.append(f"{stamp} {m[4]} mailhost {m[5]}")
    return "\n".join(out) + "\n"


@pytest.mark.skipif(subprocess.run(["which", "fail2ban-regex"], capture_output=True).returncode,
                    reason="fail2ban-regex not installed")
def test_filter_matches_probes_and_relay_attempts(mx, tmp_path):
    with smtp(mx) as s:
        s.ehlo()
        s.mail("a@remote.test")
        s.rcpt("nobody@example.test")
        s.rcpt("x@elsewhere.test")
        s.rcpt("bob@example.test")  # a good recipient: no match
    mx.wait_log("Relay access denied")
    log = tmp_path / "mail.log"
    log.write_text(as_syslog(mx.log()))
    # The filter includes common.conf from its own directory, as in /etc/fail2ban/filter.d.
    fdir = tmp_path / "filter.d"
    fdir.mkdir()
    (fdir / "common.conf").write_text(pathlib.Path("/etc/fail2ban/filter.d/common.conf").read_text())
    (fdir / "maild.conf").write_text(
        (TOP / "config" / "fail2ban" / "filter.d" / "maild.conf").read_text())
    r = subprocess.run(["fail2ban-regex", "--print-all-matched", str(log), str(fdir / "maild.conf")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Failregex: (\d+) total", r.stdout)
    assert m and int(m[1]) == 2, r.stdout
    assert "127.0.0.1" in r.stdout
