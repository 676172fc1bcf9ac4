#!/bin/sh
# t0513: TLS and credentials. Plaintext is refused (and allowed only to
# loopback, loudly, when the config says so); an untrusted certificate, a
# certificate for another name or a wrong pinned key is refused with the
# events kept; a CA file or the right pin works; the API key (file, in its
# "id:key" or encoded form) and basic credentials work; a wrong key stops
# the run (exit 25); credentials in the URL are refused; no secret ever
# appears in any output.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"
command -v openssl >/dev/null || fail "openssl is required (.ci/install-deps)"

# A CA and a certificate for "localhost" only.
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 \
	-subj /CN=fimscan-test-ca -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign 2>/dev/null &&
openssl req $ec -keyout srv.key -out srv.csr -subj /CN=localhost \
	2>/dev/null &&
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >ext &&
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-out srv.pem -days 2 -extfile ext 2>/dev/null || fail "certificates"
pin=sha256//$(openssl x509 -in srv.pem -pubkey -noout |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
	base64)

start_mock tls --tls-cert srv.pem --tls-key srv.key \
	--api-key kid:ksecret-123 --basic elastic:pw-456
P=$tls_PORT
printf 'kid:ksecret-123\n' >key && chmod 600 key
printf '%s' "$(printf 'kid:ksecret-123' | base64)" >key.b64 && chmod 600 key.b64
printf 'kid:wrong-789\n' >badkey && chmod 600 badkey
printf 'elastic:pw-456\n' >cred && chmod 600 cred
: >all.out

# conf LINE...: the config, with events queued for the TLS mock.
conf() {
	{
		printf 'elasticsearch = https://localhost:%s\n' "$P"
		printf 'es-backoff = 10\nes-backoff-max = 20\nship-timeout = 2000\n'
		for l; do
			printf '%s\n' "$l"
		done
	} >ship.conf
	FIMSCAN_CONFIG=$T/ship.conf
	export FIMSCAN_CONFIG
}
# run STATUS ARGS...: fim ARGS, expecting STATUS; output kept in out.
run() {
	want=$1
	shift
	set +e
	fim "$@" >out 2>&1
	got=$?
	set -e
	cat out >>all.out
	[ "$got" -eq "$want" ] || fail "exit $got, not $want: fim $*: $(cat out)"
}
requests() {
	mock_stat "$P" 's["requests"] + s["auth_failures"]'
}

conf "es-ca-file = $T/ca.pem" "es-api-key-file = $T/key"
mkdir tree && echo a >tree/a && fim baseline tree >/dev/null || fail "baseline"
make_changes tree 20
scan_quiet tree
n=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')

# Plaintext: refused before anything is sent, unless allowed to loopback.
run 16 ship --es-url "http://localhost:$P"
grep -q "refusing plaintext http://localhost:$P: use https://" out ||
	fail "http: $(cat out)"
conf "es-insecure-http = yes" "es-api-key-file = $T/key"
run 16 ship --es-url "http://192.0.2.1:9200"
grep -q "only allows a loopback address" out || fail "non-loopback: $(cat out)"
run 16 ship --es-url "http://user:hunter2@127.0.0.1:$P"
grep -q "credentials in the URL are refused" out || fail "userinfo: $(cat out)"
run 16 ship --es-url "ftp://localhost:$P"
[ "$(requests)" -eq 0 ] || fail "something was sent"

# TLS that cannot be trusted: refused, nothing delivered, events kept.
conf "es-api-key-file = $T/key"
run 25 ship
grep -q "not trusted" out || fail "untrusted CA: $(cat out)"
conf "es-api-key-file = $T/key" "es-ca-file = $T/ca.pem"
run 25 ship --es-url "https://127.0.0.1:$P"
grep -qi "not trusted" out || fail "wrong name: $(cat out)"
conf "es-api-key-file = $T/key" "es-ca-file = $T/ca.pem" \
	"es-pinned-key = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
run 25 ship
grep -q "not trusted" out || fail "wrong pin: $(cat out)"
status_check "d['outbox']['pending'] == $n"

# Wrong credentials: the run stops, the events wait.
conf "es-ca-file = $T/ca.pem"
run 25 ship --api-key-file "$T/badkey"
grep -q "refused the credentials (HTTP 401 security_exception" out ||
	fail "401: $(cat out)"
run 25 ship
grep -q "refused the credentials" out || fail "no credentials: $(cat out)"
status_check "d['outbox']['pending'] == $n"

# The CA file and the API key: delivered.
run 0 ship --api-key-file "$T/key"
status_check 'd["outbox"]["pending"] == 0' "d['outbox']['delivered'] == $n"
[ "$(mock_stat "$P" 's["docs"]')" -eq "$n" ] || fail "docs"

# The pinned key alone (with the CA too: both must hold), the encoded
# key, basic credentials, a key file others can read (a warning).
make_changes tree 5
scan_quiet tree
conf "es-ca-file = $T/ca.pem" "es-pinned-key = $pin" \
	"es-api-key-file = $T/key.b64"
run 0 ship
make_changes tree 5
scan_quiet tree
conf "es-ca-file = $T/ca.pem" "es-credentials-file = $T/cred"
chmod 644 cred
run 0 ship
grep -q "credentials file $T/cred can be read or changed by other users: chmod 600" out ||
	fail "no warning about the credentials file's mode: $(cat out)"
status_check 'd["outbox"]["pending"] == 0'
reconcile
conf "es-ca-file = $T/ca.pem" "es-credentials-file = $T/cred" \
	"es-api-key-file = $T/key"
run 16 ship
grep -q "either an API key file or a credentials file" out || fail "both"
run 17 ship --api-key-file "$T/nonexistent"

# No secret in any output.
for secret in ksecret-123 pw-456 wrong-789 hunter2 \
	"$(printf 'kid:ksecret-123' | base64)" \
	"$(printf 'elastic:pw-456' | base64)"; do
	! grep -qF "$secret" all.out || fail "a secret was printed: $secret"
done
