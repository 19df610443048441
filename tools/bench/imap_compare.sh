#!/usr/bin/env bash
# IMAP, maild against Dovecot (Debian 2.3), same machine, same run, interleaved (A B A B ...),
# with the shared harness (../shared/bench). Run as root from the repository after
# `tools/dev.sh build`; needs Debian's dovecot-imapd (installed by `tools/dev.sh test`).
#   tools/bench/imap_compare.sh idle        imap_idle_mem.py over TLS: COUNTS=500,2000 ROUNDS=3
#   tools/bench/imap_compare.sh bigfolder   imap_bigfolder.py on a COUNT=100000 INBOX, ROUNDS=3
# DOVECOT_MODE=default (one process per connection, Dovecot's default) or tuned.
# While working on one operation: PEER=none (maild only), ONLY=op1,op2 (imap_bigfolder.py
# --only), GEN_DIR=dir (reuse a Maildir generated there before, same COUNT and seed),
# MAILD_IMAPS=port (several runs side by side), BUILD=dir (default build).
# Prints each run's lines and keeps them in the work directory; copy them into
# docs/benchmarks.md.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench=${BENCH_HARNESS:-$top/../shared/bench}
what=${1:?usage: imap_compare.sh idle|bigfolder}
ROUNDS=${ROUNDS:-3}
COUNTS=${COUNTS:-500,2000}
COUNT=${COUNT:-100000}
export DOVECOT_MODE=${DOVECOT_MODE:-default}
work=$(mktemp -d /var/tmp/maild-imapbench-XXXXXX)
chmod 755 "$work"
export BENCH_DIR=$work/dovecot
MAILD_IMAPS=${MAILD_IMAPS:-13993}
PEER=${PEER:-dovecot}
BUILD=${BUILD:-$top/build}
only_args=()
[ -n "${ONLY:-}" ] && only_args=(--only "$ONLY")
IDLE_USERS="idle idle1 idle2 idle3 idle4 idle5 idle6 idle7 idle8 idle9"
ctl=("$BUILD/mailctl" --config "$work/maild/maild.conf")

cleanup() {
	[ -n "${maild_pid:-}" ] && kill -TERM "$maild_pid" 2>/dev/null && wait "$maild_pid" 2>/dev/null
	[ "$PEER" = none ] || "$bench/dovecot_instance.sh" stop >/dev/null 2>&1 || true
	echo "work directory kept: $work"
}
trap cleanup EXIT

start_maild() {
	mkdir -p "$work/maild/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=localhost -keyout "$work/maild/tls/key.pem" \
		-out "$work/maild/tls/cert.pem" 2>/dev/null
	cat >"$work/maild/maild.conf" <<CONF
hostname = bench.localdomain
log.level = warning
state_dir = $work/maild/state
run_dir = $work/maild
mail_root = $work/maild/mail
pid_file = $work/maild/maild.pid
admin.socket = $work/maild/admin.sock
tls.cert_file = $work/maild/tls/cert.pem
tls.key_file = $work/maild/tls/key.pem
smtp.listen =
submission.listen =
smtps.listen =
imap.listen =
imaps.listen = 127.0.0.1:$MAILD_IMAPS
imap.max_connections = 20000
imap.max_connections_per_ip = 20000
imap.max_connections_per_user_ip = 10000
CONF
	"$BUILD/maild" --config "$work/maild/maild.conf" --foreground 2>"$work/maild/log" &
	maild_pid=$!
	for _ in $(seq 100); do [ -S "$work/maild/admin.sock" ] && break; sleep 0.1; done
	"${ctl[@]}" domain add bench.test >/dev/null
}

maild_maildir() {
	"${ctl[@]}" user show --json "$1@bench.test" |
		python3 -c 'import json, sys; d = json.load(sys.stdin); print((d[0] if isinstance(d, list) else d)["maildir"])'
}

# The same generated messages (same seed) into both servers' INBOX of user $1.
fill() { # user count seed
	local gen=${GEN_DIR:-$work/gen/$1}
	if [ ! -d "$gen/cur" ] || [ "$(find "$gen/cur" -type f | wc -l)" != "$2" ]; then
		mkdir -p "$gen"
		"$bench/gen_maildir.py" --count "$2" --seed "$3" --maildir "$gen" >/dev/null
	fi
	echo bench | "${ctl[@]}" user add "$1@bench.test" >/dev/null
	local md
	md=$(maild_maildir "$1")
	cp -a "$gen/cur/." "$md/cur/"
	chown -R vmail:vmail "$md"
	[ "$PEER" = none ] && return
	cp -a "$gen/cur/." "$BENCH_DIR/home/$1/Maildir/cur/"
	chown -R nobody:nogroup "$BENCH_DIR/home/$1"
}

[ "$PEER" = none ] || "$bench/dovecot_instance.sh" setup >/dev/null
start_maild
case $what in
idle)
	for u in $IDLE_USERS; do fill "$u" 100 7; done
	"$bench/dovecot_instance.sh" start >/dev/null
	dovecot_pid=$("$bench/dovecot_instance.sh" pid)
	users_dovecot=$(echo $IDLE_USERS | tr ' ' ,)
	users_maild=$(for u in $IDLE_USERS; do printf '%s@bench.test,' "$u"; done)
	for r in $(seq "$ROUNDS"); do
		echo "== maild round $r"
		"$bench/imap_idle_mem.py" --tls --port "$MAILD_IMAPS" --users "${users_maild%,}" \
			--password bench --server-pid "$maild_pid" --counts "$COUNTS" |
			tee -a "$work/maild.txt"
		echo "== dovecot ($DOVECOT_MODE) round $r"
		"$bench/imap_idle_mem.py" --tls --port 12993 --users "$users_dovecot" \
			--password bench --server-pid "$dovecot_pid" --counts "$COUNTS" |
			tee -a "$work/dovecot.txt"
	done
	;;
bigfolder)
	fill big "$COUNT" 1
	[ "$PEER" = none ] || "$bench/dovecot_instance.sh" start >/dev/null
	md=$(maild_maildir big)
	for r in $(seq "$ROUNDS"); do
		echo "== maild round $r"
		"$bench/imap_bigfolder.py" --tls --port "$MAILD_IMAPS" --user big@bench.test \
			--password bench --json "$work/maild.jsonl" "${only_args[@]}" \
			--before-first "rm -f $md/maild-index.sqlite $md/maild-index.sqlite-wal $md/maild-index.sqlite-shm $md/maild-uidlist"
		[ "$PEER" = none ] && continue
		echo "== dovecot ($DOVECOT_MODE) round $r"
		"$bench/imap_bigfolder.py" --tls --port 12993 --user big --password bench \
			--json "$work/dovecot.jsonl" "${only_args[@]}" \
			--before-first "$bench/dovecot_instance.sh dropindex big"
	done
	[ "$PEER" = none ] && exit 0
	python3 - "$work/maild.jsonl" "$work/dovecot.jsonl" <<'PY'
import json, statistics, sys
def load(p):
    runs = {}
    for line in open(p):
        d = json.loads(line)
        runs.setdefault(d["op"], []).append(d["median_s"])
    return runs
m, d = load(sys.argv[1]), load(sys.argv[2])
print("| operation | maild median s (min–max) | Dovecot median s (min–max) | ratio |")
print("|---|---|---|---|")
for op in m:
    a, b = m[op], d.get(op, [float("nan")])
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"| {op} | {ma:.4f} ({min(a):.4f}–{max(a):.4f}) | {mb:.4f} ({min(b):.4f}–{max(b):.4f}) "
          f"| {ma / mb:.2f} |")
PY
	;;
*) echo "usage: $0 idle|bigfolder" >&2; exit 2 ;;
esac
