#!/usr/bin/env bash
# Apache httpd guarded by keyctl verify --batch, for real (issue 11 item 5).
#
# Installs Debian's apache2, takes the configuration from README.md (between the
# <!-- apache-recipe --> markers, so the documentation cannot drift), starts httpd on
# a loopback port with it, httpd's helpers running as www-data against a keystore of
# root's shared through the www-data group, and checks with curl: a valid key in every
# header form -> 200; no key, malformed, unknown, expired, revoked -> 401; a valid key
# without the admin permission on /admin/ -> 403; a revoke or a create while httpd runs
# counts from the very next request. Runs as root in a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

say() { printf 'apache: %s\n' "$*" >&2; }
fail() {
    say "FAIL: $*"
    [ -f "${WORK:-/nonexistent}/error.log" ] && tail -n 30 "$WORK/error.log" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || { say "needs root (installs apache2, runs it as www-data)"; exit 1; }
need=()
command -v apache2 >/dev/null || [ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

BIN=${KEYCTL_BIN:-}
if [ -z "$BIN" ]; then
    swift build -c release --product keyctl >/dev/null
    BIN="$(swift build -c release --show-bin-path)/keyctl"
fi

WORK=$(mktemp -d /tmp/keyctl-apache-XXXXXX)
chmod 755 "$WORK"
PORT=$((20000 + RANDOM % 20000))
APACHE_PID=
cleanup() {
    if [ -n "$APACHE_PID" ] && kill -0 "$APACHE_PID" 2>/dev/null; then
        kill "$APACHE_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$APACHE_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The keyctl httpd runs, and root's keystore shared with www-data's group.
install -m 755 "$BIN" "$WORK/keyctl"
install -d -o root -g www-data -m 750 "$WORK/keys"
STORE=$WORK/keys/keystore.json
k() { "$WORK/keyctl" --keystore "$STORE" "$@"; }
k init --max-keys 20 >/dev/null
chgrp www-data "$STORE"
chmod 640 "$STORE"
READER=$(k create reader 2>/dev/null)
ADMIN=$(k create admin --permissions admin 2>/dev/null)
DOOMED=$(k create doomed 2>/dev/null)
GONE=$(k create gone 2>/dev/null)
k revoke gone >/dev/null 2>&1
# An expired key: a record expired a second after it was made.
EXPIRED=$(k create expiring --expires-in 1s 2>/dev/null)
UNKNOWN=$("$WORK/keyctl" --keystore "$WORK/other.json" create x 2>/dev/null)
stat -c '%U:%G %a' "$STORE" | grep -qx 'root:www-data 640' || fail "the keystore lost its group or mode: $(stat -c '%U:%G %a' "$STORE")"

# The README's configuration, with this run's paths and port.
recipe=$(awk '/<!-- apache-recipe -->/{n++; next} n==1' README.md | sed '/^```/d')
[ -n "$recipe" ] || fail "no <!-- apache-recipe --> block in README.md"
recipe=${recipe//\/usr\/local\/bin\/keyctl/$WORK\/keyctl}
recipe=${recipe//\/etc\/keyctl\/keystore.json/$STORE}
mkdir -p "$WORK/htdocs/api" "$WORK/htdocs/admin" "$WORK/run"
echo ok >"$WORK/htdocs/api/index.html"
echo admin >"$WORK/htdocs/admin/index.html"
cat >"$WORK/httpd.conf" <<EOF
ServerRoot /etc/apache2
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
User www-data
Group www-data
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile $WORK/run/httpd.pid
Mutex file:$WORK/run default
ErrorLog $WORK/error.log
LogLevel warn rewrite:warn
DocumentRoot $WORK/htdocs
DirectoryIndex index.html
<Directory $WORK/htdocs>
    Require all granted
</Directory>
<VirtualHost 127.0.0.1:$PORT>
$recipe
</VirtualHost>
EOF
/usr/sbin/apache2 -f "$WORK/httpd.conf" -t 2>&1 | grep -v "Syntax OK" && fail "httpd rejects the configuration" || true
/usr/sbin/apache2 -f "$WORK/httpd.conf" -k start || fail "httpd did not start"
for _ in $(seq 100); do
    [ -s "$WORK/run/httpd.pid" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.1
done
APACHE_PID=$(cat "$WORK/run/httpd.pid" 2>/dev/null) || fail "httpd did not start"
# The helpers run as www-data, not root.
for _ in $(seq 50); do
    helpers=$(ps -o user=,args= -C keyctl | grep -c '^www-data .*verify --batch' || true)
    [ "$helpers" -ge 2 ] && break
    sleep 0.1
done
[ "$helpers" -ge 2 ] || fail "expected the keyctl helpers to run as www-data: $(ps -o user=,args= -C keyctl)"

b64() { printf '%s' "$1" | base64 -w0; }
status() { # status PATH [curl header args...]
    local path=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "http://127.0.0.1:$PORT$path"
}
checks=0
expect() { # expect CODE PATH [curl args...]
    local want=$1
    shift
    local got
    got=$(status "$@")
    checks=$((checks + 1))
    [ "$got" = "$want" ] || fail "GET $1 ${*:2}: got $got, want $want"
}
forms() { # every header form of key $1
    printf '%s\n' "Authorization: Bearer $1" "Authorization: Basic $(b64 "$1")" "Authorization: Basic $(b64 "$1:")" \
        "Authorization: Basic $(b64 ":$1")" "x-api-key: $1" "authorization: bearer $1"
}

# Wait (bounded) until the expiring key has expired.
for _ in $(seq 50); do
    rc=0
    printf '%s\n' "$EXPIRED" | k verify --no-stamp >/dev/null 2>&1 || rc=$?
    [ $rc -eq 2 ] && break
    sleep 0.1
done
[ $rc -eq 2 ] || fail "the expiring key did not expire"
while IFS= read -r h; do expect 200 /api/ -H "$h"; done < <(forms "$READER")
while IFS= read -r h; do expect 200 /admin/ -H "$h"; done < <(forms "$ADMIN")
while IFS= read -r h; do expect 403 /admin/ -H "$h"; done < <(forms "$READER")
expect 401 /api/
expect 401 /admin/
for key in "$GONE" "$EXPIRED" "$UNKNOWN" "${READER:0:20}" "not a key" "${READER}x"; do
    while IFS= read -r h; do
        expect 401 /api/ -H "$h"
        expect 401 /admin/ -H "$h"
    done < <(forms "$key")
done
expect 401 /api/ -H "Authorization: Token $READER"
expect 401 /api/ -H "Authorization: Basic !!!!"
expect 401 /api/ -H "x-api-key: $(head -c 6000 /dev/zero | tr '\0' A)"

# A revoke while httpd runs: refused on the very next request, no restart.
expect 200 /api/ -H "x-api-key: $DOOMED"
k revoke doomed >/dev/null 2>&1
expect 401 /api/ -H "x-api-key: $DOOMED"
# A key created while httpd runs: accepted on the next request.
FRESH=$(k create fresh 2>/dev/null)
expect 200 /api/ -H "Authorization: Bearer $FRESH"
stat -c '%U:%G %a' "$STORE" | grep -qx 'root:www-data 640' || fail "a rewrite lost the keystore's group or mode"
[ "$(cat "$WORK/run/httpd.pid")" = "$APACHE_PID" ] || fail "httpd restarted"
say "$checks requests answered as expected (httpd $(/usr/sbin/apache2 -v | sed -n 's/^Server version: //p'), port $PORT)"
