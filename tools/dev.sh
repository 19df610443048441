#!/usr/bin/env bash
# maild development entry point.
#   tools/dev.sh run    install what is missing, build, set up ./run/ and start maild on loopback
#   tools/dev.sh test   the same set-up, then every test suite (what CI runs)
#   tools/dev.sh build  install what is missing and build into build/
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

build_packages=(meson ninja-build pkg-config gcc libc6-dev
	libuv1-dev libssl-dev libsasl2-dev libsasl2-modules libsqlite3-dev libinih-dev
	libjansson-dev libcrypt-dev libargon2-dev openssl sqlite3 passwd)
test_packages=(libcmocka-dev clang libclang-rt-14-dev python3 python3-pytest python3-pytest-xdist swaks procps valgrind curl
	fail2ban sasl2-bin
	dovecot-imapd isync fetchmail)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "run as root: it installs packages, creates the maild/vmail users and starts maild, which drops to them"
}

install_missing() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Tools installed for the tests (fail2ban, postfix for smtp-source) must not start services.
	local policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
	fi
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[ -n "$made_policy" ] && rm -f "$policy"
	return 0
}

ensure_users() {
	getent group maild-admin >/dev/null || groupadd --system maild-admin
	getent passwd maild >/dev/null || useradd --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin maild
	getent passwd vmail >/dev/null || useradd --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin vmail
}

build() {
	if [ ! -f build/build.ninja ]; then
		meson setup build --buildtype=debugoptimized >/dev/null
	fi
	say "building into build/"
	ninja -C build >/dev/null
}

# The workers run as maild and vmail: every parent of ./run must let them through.
check_traversable() {
	local dir=$1
	if ! runuser -u vmail -- test -x "$dir" 2>/dev/null || ! runuser -u maild -- test -x "$dir" 2>/dev/null; then
		die "$dir is not reachable by the users maild and vmail (a parent directory is mode 0700?); clone the repository somewhere like /srv or /opt"
	fi
}

write_config() {
	local dir=$1
	cat >"$dir/maild.conf" <<CONF
# maild development configuration written by tools/dev.sh: loopback ports, everything under run/.
hostname = localhost
log.level = info
state_dir = $dir/state
run_dir = $dir
mail_root = $dir/mail
pid_file = $dir/maild.pid
admin.socket = $dir/admin.sock
admin.group = maild-admin
tls.cert_file = $dir/tls/cert.pem
tls.key_file = $dir/tls/key.pem
smtp.listen = 127.0.0.1:2525
submission.listen = 127.0.0.1:2587
smtps.listen = 127.0.0.1:2465
imap.listen = 127.0.0.1:2143
imaps.listen = 127.0.0.1:2993
CONF
}

make_certificate() {
	local tls=$1/tls
	[ -f "$tls/cert.pem" ] && [ -f "$tls/key.pem" ] && return 0
	mkdir -p "$tls"
	say "creating a self-signed certificate for localhost"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
	chmod 600 "$tls/key.pem"
}

setup_run_dir() {
	local dir=$top/run
	mkdir -p "$dir"
	chmod 755 "$dir"
	check_traversable "$dir"
	[ -f "$dir/maild.conf" ] || write_config "$dir"
	make_certificate "$dir"
	build/maild --check-config --config "$dir/maild.conf" >/dev/null
}

wait_for_socket() {
	local sock=$1 pid=$2 i
	for i in $(seq 1 100); do
		[ -S "$sock" ] && build/mailctl --config run/maild.conf status >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || die "maild exited during start-up (see the log above)"
		sleep 0.1
	done
	die "maild did not open $sock within 10 s"
}

provision_demo() {
	local ctl=(build/mailctl --config run/maild.conf)
	"${ctl[@]}" domain show example.test >/dev/null 2>&1 || "${ctl[@]}" domain add example.test
	if "${ctl[@]}" user show demo@example.test >/dev/null 2>&1; then
		demo_password_note="(unchanged; set a new one with: build/mailctl --config run/maild.conf user passwd demo@example.test)"
		return 0
	fi
	local pw=${MAILD_DEMO_PASSWORD:-}
	if [ -z "$pw" ]; then
		pw=$(openssl rand -base64 12 | tr -d '/+=' | head -c 16)
	fi
	printf '%s\n' "$pw" | "${ctl[@]}" user add demo@example.test --name "Demo User" --quota 1G
	demo_password_note=$pw
}

print_tour() {
	cat <<TOUR

maild is running (pid $1) on loopback. Press Ctrl-C to stop it.

  account     demo@example.test   password: $demo_password_note
  SMTP        127.0.0.1:2525 (STARTTLS)     submission 127.0.0.1:2587 (STARTTLS + AUTH)
  SMTPS       127.0.0.1:2465                IMAP 127.0.0.1:2143 (STARTTLS)   IMAPS 127.0.0.1:2993
  admin       run/admin.sock                config run/maild.conf   mail in run/mail/
  (SMTP receipt on 2525 works for local recipients; AUTH, submission and IMAP arrive with their issues.)

Try, in another terminal (as root):
  build/mailctl --config run/maild.conf status
  build/mailctl --config run/maild.conf user list
  build/mailctl --config run/maild.conf user add alice@example.test      # asks for a password
  build/mailctl --config run/maild.conf alias add info@example.test demo@example.test
  build/mailctl --config run/maild.conf config show -n
TOUR
}

cmd_run() {
	need_root
	install_missing "${build_packages[@]}"
	ensure_users
	build
	setup_run_dir
	say "starting maild"
	build/maild --config run/maild.conf --foreground &
	local pid=$!
	trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM
	wait_for_socket run/admin.sock "$pid"
	provision_demo
	print_tour "$pid"
	wait "$pid"
}

run_fuzzers() {
	say "fuzz smoke run (build-fuzz/, clang, libFuzzer + ASan + UBSan)"
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
			-Db_lundef=false --buildtype=debug >/dev/null
	fi
	ninja -C build-fuzz >/dev/null
	local t exe corpus
	# Every target tests/fuzz/meson.build builds, so a new one cannot be forgotten here.
	for exe in build-fuzz/tests/fuzz/fuzz_*; do
		t=${exe##*/}
		case $t in *.*) continue ;; esac
		[ -f "$exe" ] && [ -x "$exe" ] || continue
		corpus=$(mktemp -d)
		[ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$corpus/"
		say "  $t"
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			"build-fuzz/tests/fuzz/$t" -max_total_time="${FUZZ_SECONDS:-30}" -max_len=4096 \
			-timeout=10 -artifact_prefix=tests/fuzz/ "$corpus" 2>&1 | tail -n 2
		rm -rf "$corpus"
	done
}

run_integration() {
	local bin=$1 label=$2
	shift 2
	say "integration tests ($label)"
	MAILD_BIN=$bin /usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=15 "$@" \
		tests/integration
}

cmd_test() {
	need_root
	install_missing "${build_packages[@]}" "${test_packages[@]}"
	ensure_users
	build
	setup_run_dir
	say "unit tests"
	meson test -C build --suite unit --print-errorlogs
	say "unit tests under valgrind"
	meson test -C build --suite unit --print-errorlogs --wrapper \
		"valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$top/tools/valgrind.supp"
	run_integration "$top/build/maild" "build/"
	run_fuzzers
	say "sanitizer build (build-asan/, ASan + UBSan): unit and integration tests"
	if [ ! -f build-asan/build.ninja ]; then
		meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
			--buildtype=debug >/dev/null
	fi
	ninja -C build-asan >/dev/null
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --print-errorlogs
	# The daemon's own allocations at exit are not leaks worth failing on; the unit tests
	# above keep leak detection on.
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_integration "$top/build-asan/maild" "build-asan/"
	# Under valgrind most of a test is spent starting eight processes; two tests at a time
	# (pytest-xdist) keep both cores busy and the phase well inside CI's time.
	MAILD_VALGRIND=1 run_integration "$top/build/maild" "build/ under valgrind, every process" \
		-n 2
	say "all test suites passed"
}

case "${1:-}" in
run) cmd_run ;;
test) cmd_test ;;
build) need_root; install_missing "${build_packages[@]}"; build ;;
*) echo "usage: tools/dev.sh run|test|build" >&2; exit 64 ;;
esac
