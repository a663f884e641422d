#!/usr/bin/env bash
# Issue 8 item 2, end to end with real users: in a sticky directory like /tmp, an
# attacker user plants files beside a victim's keystore; the victim (unprivileged)
# runs the release binary. Nothing the attacker made is used, deleted or overwritten,
# and every refusal is one line with exit 77. Needs root (useradd, setpriv).
set -euo pipefail
cd "$(dirname "$0")/../.."

. .ci/lib/users.sh
users_make keyctl-victim keyctl-attacker
users_work keyctl-attack "$(users_bin)"
dir="$work/shared-tmp"
mkdir "$dir"
chmod 1777 "$dir" # like /tmp: anyone creates, only the owner removes

victim() { as keyctl-victim "$work/keyctl" "$@"; }
attacker() { as keyctl-attacker "$@"; }
# expect STATUS OUTPUT-FILE COMMAND...: the exit status and a one-line stderr.
expect() {
    local want=$1 errfile=$2
    shift 2
    local got=0
    "$@" >"$work/out" 2>"$errfile" </dev/null || got=$?
    [ "$got" = "$want" ] || fail "$* exited $got, not $want: $(cat "$errfile")"
    [ "$want" = 0 ] || [ "$(wc -l <"$errfile")" = 1 ] || fail "$*: not one line: $(cat "$errfile")"
}
fingerprint() { stat -c '%U %a %s' "$1" && sha256sum <"$1"; }

# 1. A lock file planted with mode 0666 before the keystore exists.
attacker touch "$dir/ks.json.lock"
attacker chmod 666 "$dir/ks.json.lock"
before=$(fingerprint "$dir/ks.json.lock")
expect 77 "$work/err" victim --keystore "$dir/ks.json" init
grep -q "lock file $dir/ks.json.lock belongs to another user" "$work/err" || fail "init: $(cat "$work/err")"
expect 77 "$work/err" victim --keystore "$dir/ks.json" create ci
[ ! -e "$dir/ks.json" ] || fail "a keystore was made beside the planted lock"
[ "$(fingerprint "$dir/ks.json.lock")" = "$before" ] || fail "the planted lock was changed"

# 2. Temporaries named like keyctl's, planted by the attacker: left alone.
attacker touch "$dir/.ks2.json.tmp-prod" "$dir/.ks2.json.tmp-0000000000000000" "$dir/.ks2.json.tmp-2147483646-00000000000000ff"
expect 0 "$work/err" victim --keystore "$dir/ks2.json" init
expect 0 "$work/err" victim --keystore "$dir/ks2.json" create a
expect 0 "$work/err" victim --keystore "$dir/ks2.json" create b
expect 0 "$work/err" victim --keystore "$dir/ks2.json" revoke a
for name in .ks2.json.tmp-prod .ks2.json.tmp-0000000000000000 .ks2.json.tmp-2147483646-00000000000000ff; do
    [ "$(stat -c %U "$dir/$name")" = keyctl-attacker ] || fail "$name was removed or replaced"
done

# 3. A keystore named like another keystore's index is never replaced by the index.
expect 0 "$work/err" victim --keystore "$dir/ks3.json.index" create other
other=$(cat "$work/out")
expect 0 "$work/err" victim --keystore "$dir/ks3.json" create mine
mine=$(cat "$work/out")
before=$(fingerprint "$dir/ks3.json.index")
# verify writes an index only for a keystore unchanged for 2 s: wait (with a
# deadline) until ks3.json has settled, then verify twice.
deadline=$((SECONDS + 30))
while [ $(($(date +%s) - $(stat -c %Z "$dir/ks3.json"))) -lt 3 ]; do
    [ $SECONDS -lt $deadline ] || fail "ks3.json never settled"
    sleep 0.2
done
printf '%s\n' "$mine" >"$work/key"
for _ in 1 2; do
    as keyctl-victim sh -c "$work/keyctl --keystore $dir/ks3.json verify < $work/key" >/dev/null || fail "verify of ks3.json failed"
done
[ "$(fingerprint "$dir/ks3.json.index")" = "$before" ] || fail "ks3.json.index (a keystore) was overwritten"
printf '%s\n' "$other" >"$work/key"
as keyctl-victim sh -c "$work/keyctl --keystore $dir/ks3.json.index verify < $work/key" >/dev/null ||
    fail "the keystore named ks3.json.index no longer verifies its key"

# 4. A keystore the attacker planted is refused by readers and writers, exit 77 both
# (1.0: writers 74), and the victim makes nothing beside it.
attacker sh -c "HOME=/nonexistent $work/keyctl --keystore $dir/planted.json create theirs" >"$work/key" 2>/dev/null
attacker chmod 644 "$dir/planted.json" # readable: only its owner makes it untrusted
expect 77 "$work/err" victim --keystore "$dir/planted.json" list
grep -q "belongs to another user" "$work/err" || fail "list: $(cat "$work/err")"
expect 77 "$work/err" victim --keystore "$dir/planted.json" create mine
as keyctl-victim sh -c "$work/keyctl --keystore $dir/planted.json verify < $work/key" >/dev/null 2>&1 && status=0 || status=$?
[ "$status" = 77 ] || fail "verify against a planted keystore exited $status, not 77"
[ -z "$(find "$dir" -user keyctl-victim -name 'planted.json*')" ] || fail "the victim made files beside the planted keystore"

echo "55-attacker: planted lock, temporaries, index-named keystore and keystore all refused or left alone"
