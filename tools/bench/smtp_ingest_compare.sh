#!/usr/bin/env bash
# SMTP ingest, maild against Postfix, same machine, same run, interleaved (A B A B ...), with the
# shared harness (../shared/bench/smtp_ingest.sh, postfix_instance.sh). Run as root from the
# repository after `tools/dev.sh build`; needs Debian's postfix package (smtp-source).
#   tools/bench/smtp_ingest_compare.sh            COUNT=10000 SESSIONS="1 8 32" ROUNDS=3
# CLEAN=move (default) moves each round's delivered files aside (into $work/graveyard, removed at
# the end) instead of deleting them: on a file system without a journal (ext4 here) every file
# created within a minute of a mass deletion makes the kernel's inode allocator walk each
# recently deleted inode of its group, a cost of the harness's clean-up that neither server pays
# in service. CLEAN=delete deletes as the harness's own clean commands do. Applies to both servers.
# Prints each run and the medians; copy them into docs/benchmarks.md.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench=${BENCH_HARNESS:-$top/../shared/bench}
COUNT=${COUNT:-10000}
SESSIONS=${SESSIONS:-1 8 32}
ROUNDS=${ROUNDS:-3}
CLEAN=${CLEAN:-move}
work=$(mktemp -d /var/tmp/maild-bench-XXXXXX)
chmod 755 "$work"
results=$work/results.txt
MAILD_PORT=13025
export BENCH_DIR=$work/postfix SMTP_PORT=12025

cleanup() {
	[ -n "${maild_pid:-}" ] && kill -TERM "$maild_pid" 2>/dev/null && wait "$maild_pid" 2>/dev/null
	"$bench/postfix_instance.sh" stop >/dev/null 2>&1 || true
	rm -rf "$work/graveyard"
	echo "work directory kept: $work"
}
trap cleanup EXIT

start_maild() {
	mkdir -p "$work/maild"
	cp -r "$top/run/tls" "$work/maild/" 2>/dev/null || { mkdir -p "$work/maild/tls"; \
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj /CN=localhost -keyout "$work/maild/tls/key.pem" -out "$work/maild/tls/cert.pem" 2>/dev/null; }
	cat > "$work/maild/maild.conf" <<CONF
hostname = bench.localdomain
log.level = warning
state_dir = $work/maild/state
run_dir = $work/maild
mail_root = $work/maild/mail
pid_file = $work/maild/maild.pid
admin.socket = $work/maild/admin.sock
tls.cert_file = $work/maild/tls/cert.pem
tls.key_file = $work/maild/tls/key.pem
smtp.listen = 127.0.0.1:$MAILD_PORT
submission.listen =
smtps.listen =
imap.listen =
imaps.listen =
limits.message_size = 50M
# every smtp-source session comes from 127.0.0.1; closing ones still count for a moment
smtp.max_connections_per_ip = 1000
CONF
	"$top/build/maild" --config "$work/maild/maild.conf" --foreground 2>"$work/maild/log" &
	maild_pid=$!
	for _ in $(seq 100); do [ -S "$work/maild/admin.sock" ] && break; sleep 0.1; done
	local ctl=("$top/build/mailctl" --config "$work/maild/maild.conf")
	"${ctl[@]}" domain add bench.test >/dev/null
	echo bench-pw | "${ctl[@]}" user add rcpt@bench.test >/dev/null
}

run_one() { # name port maildir_root pid clean_cmd sessions
	echo "== $1 sessions=$6"
	SMTP_PORT=$2 MAILDIR_ROOT=$3 SERVER_PID=$4 CLEAN_CMD=$5 COUNT=$COUNT SIZE=4096 \
		SESSIONS=$6 REPEATS=1 RESULTS=$results.$1 "$bench/smtp_ingest.sh" | grep -v '^SUMMARY'
}

"$bench/postfix_instance.sh" start >/dev/null
start_maild
postfix_pid=$("$bench/postfix_instance.sh" pid)
case "$CLEAN" in
move)
	mkdir -p "$work/graveyard"
	maild_clean="d=\$(mktemp -d $work/graveyard/m-XXXXXX) && find $work/maild/mail -path '*/new/*' -type f -exec mv -t \$d {} +"
	postfix_clean="d=\$(mktemp -d $work/graveyard/p-XXXXXX) && for u in $BENCH_DIR/vmail/*/; do [ -d \$u ] && mv \$u \$d/; done; true"
	;;
delete)
	maild_clean="find $work/maild/mail -path '*/new/*' -type f -delete"
	postfix_clean="$bench/postfix_instance.sh clean"
	;;
*) echo "CLEAN=move|delete" >&2; exit 2 ;;
esac
for s in $SESSIONS; do
	for r in $(seq "$ROUNDS"); do
		run_one maild "$MAILD_PORT" "$work/maild/mail" "$maild_pid" "$maild_clean" "$s"
		run_one postfix 12025 "$BENCH_DIR/vmail" "$postfix_pid" "$postfix_clean" "$s"
	done
done
echo "== medians (delivered msgs/s, peak PSS MiB)"
for name in maild postfix; do
	for s in $SESSIONS; do
		grep "^sessions=$s " "$results.$name" | sed 's/.*delivered_msgs_per_s=\([0-9.]*\).*peak_pss_mib=\([0-9.]*\).*/\1 \2/' |
			sort -g | awk -v n=$name -v s=$s '{r[NR]=$1; if ($2 > m) m = $2} END {printf "%s sessions=%s median=%s min=%s max=%s peak_pss_mib_max=%s\n", n, s, r[int((NR+1)/2)], r[1], r[NR], m}'
	done
done
