#!/usr/bin/env bash
# Issue 11 item 1 with real users: an operator administers a keystore that a service
# user reads through its group (chgrp, chmod 640, directory 750). The service
# verifies under KEYCTL_TRUSTED_OWNER, never writes; every rewrite keeps the group
# and the group-read bit; an unsafe mode or a keystore planted by someone else is
# refused. Needs root (useradd, groupadd, setpriv). Runs $KEYCTL_BIN.
set -euo pipefail
cd "$(dirname "$0")/../.."

. .ci/lib/users.sh
users_make keyctl-operator keyctl-service keyctl-stranger
# The operator is in the group too, so its rewrites can keep the group.
users_group keyctl-svc keyctl-service keyctl-operator
users_work keyctl-shared "$(users_bin)"
dir="$work/etc-keyctl"
install -d -o keyctl-operator -g keyctl-svc -m 750 "$dir"
ks="$dir/keys.json"

# check WANT USER [VAR=value...] ARGS...: keyctl's exit status, stdin from $work/in.
check() {
    local want=$1 user=$2
    shift 2
    local got=0
    as "$user" "$@" <"$work/in" >"$work/out" 2>"$work/err" || got=$?
    [ "$got" = "$want" ] || fail "$user: $* exited $got, not $want: $(cat "$work/err")"
}
mode_group() { stat -c '%a %G %U' "$1"; }
: >"$work/in"
chmod 644 "$work/in"

# The operator makes the keystore and shares it with the service's group.
check 0 keyctl-operator "$work/keyctl" --keystore "$ks" create web
web=$(cat "$work/out")
as keyctl-operator chgrp keyctl-svc "$ks"
as keyctl-operator chmod 640 "$ks"
as keyctl-operator rm "$ks.lock" # made before the sharing; the next writer makes it anew
printf '%s\n' "$web" >"$work/in"

# The service reads through the group, once it trusts the operator.
check 77 keyctl-service "$work/keyctl" --keystore "$ks" verify
grep -q "belongs to another user" "$work/err" || fail "untrusted: $(cat "$work/err")"
check 0 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" verify
check 0 keyctl-service KEYCTL_TRUSTED_OWNER="$(id -u keyctl-operator)" "$work/keyctl" --keystore "$ks" --json list
# ... and never writes: refused before anything is made, the keystore unchanged.
before=$(sha256sum <"$ks")
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" create intruder
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" revoke web
[ "$(sha256sum <"$ks")" = "$before" ] || fail "the service changed the keystore"
[ -z "$(find "$dir" -user keyctl-service)" ] || fail "the service made files: $(find "$dir" -user keyctl-service)"

# Every operator rewrite keeps the group and mode; what it makes beside gets the same.
: >"$work/in"
check 0 keyctl-operator "$work/keyctl" --keystore "$ks" create api
api=$(cat "$work/out")
check 0 keyctl-operator "$work/keyctl" --keystore "$ks" rotate web --grace 1h
check 0 keyctl-operator "$work/keyctl" --keystore "$ks" revoke api
[ "$(mode_group "$ks")" = "640 keyctl-svc keyctl-operator" ] || fail "after rewrites: $(mode_group "$ks")"
[ "$(mode_group "$ks.lock")" = "640 keyctl-svc keyctl-operator" ] || fail "lock: $(mode_group "$ks.lock")"
printf '%s\n' "$web" >"$work/in"
check 0 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" verify # retiring: still valid
printf '%s\n' "$api" >"$work/in"
check 3 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" verify # revoked by the operator
for f in "$ks".*; do
    [ "$(stat -c '%U' "$f")" = keyctl-operator ] || fail "$f: $(mode_group "$f")"
done

# Unsafe modes are refused with the command that fixes them.
as keyctl-operator chmod 660 "$ks"
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" verify
grep -qF "run: chmod 640 $ks" "$work/err" || fail "group-writable: $(cat "$work/err")"
as keyctl-operator chmod 640 "$ks"
chmod 770 "$dir"
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" verify
grep -qF "run: chmod 750 $dir" "$work/err" || fail "group-writable directory: $(cat "$work/err")"
chmod 750 "$dir"

# Usage stamps are best effort: the service cannot write the operator's usage file, so
# its verify answers as ever, exit 0, says nothing about the stamp and writes nothing.
printf '%s\n' "$web" >"$work/in"
check 0 keyctl-operator "$work/keyctl" --keystore "$ks" verify # the operator's own use stamps
[ -f "$ks.usage" ] || fail "the operator's verify made no usage file"
beside() { (cd "$dir" && sha256sum -- * && ls -la --time-style=+%s.%N); }
before=$(beside)
for json in "" --json; do
    check 0 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" $json verify
    [ ! -s "$work/err" ] || fail "verify $json said something about a stamp it could not write: $(cat "$work/err")"
done
grep -q '"valid":true' "$work/out" || fail "verify --json: $(cat "$work/out")"
[ "$(beside)" = "$before" ] || fail "the service's verify wrote beside the keystore: $(beside)"

# A keystore the service cannot open says what its owner runs to share it; pasting
# exactly that, as the operator, lets the service in.
as keyctl-operator chmod 600 "$ks"
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" verify
fix=$(sed -n 's/.*its owner can let its group (gid [0-9]*) in: //p' "$work/err")
[ "$fix" = "chmod g+r $ks" ] || fail "unreadable: $(cat "$work/err")"
as keyctl-operator sh -c "$fix"
check 0 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$ks" verify

# Every directory above a keystore the service reads is checked: one others can write
# (they could rename the keystore's directory away and put their own in its place) is
# refused with its chmod, which pasted makes it safe; a sticky one is accepted; one
# that belongs to an untrusted user is refused.
above="$work/srv"
install -d -o root -g keyctl-svc -m 775 "$above"
install -d -o keyctl-operator -g keyctl-svc -m 750 "$above/keyctl"
as keyctl-operator cp -p "$ks" "$above/keyctl/keys.json"
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$above/keyctl/keys.json" verify
grep -qF "directory $above above keystore" "$work/err" || fail "group-writable above: $(cat "$work/err")"
fix=$(sed -n 's/.*; run: //p' "$work/err")
[ "$fix" = "chmod 755 $above" ] || fail "group-writable above, the fix: $(cat "$work/err")"
sh -c "$fix"
check 0 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$above/keyctl/keys.json" verify
chmod 1777 "$above"
check 0 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$above/keyctl/keys.json" verify
chmod 755 "$above"
chown keyctl-stranger "$above"
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$above/keyctl/keys.json" verify
grep -qF "directory $above above keystore" "$work/err" || fail "a stranger's directory above: $(cat "$work/err")"
# ... also when the path reaches the keystore through a symbolic link.
chown root "$above"
ln -s "$above/keyctl" "$work/link"
check 0 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$work/link/keys.json" verify
chmod 757 "$above"
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$work/link/keys.json" verify
grep -qF "directory $above above keystore" "$work/err" || fail "writable above the link's target: $(cat "$work/err")"
chmod 755 "$above"

# A keystore someone else planted in a sticky directory is still refused, whoever is trusted.
tmp="$work/tmp"
mkdir "$tmp"
chmod 1777 "$tmp"
: >"$work/in"
check 0 keyctl-stranger "$work/keyctl" --keystore "$tmp/keys.json" create planted
as keyctl-stranger chmod 644 "$tmp/keys.json"
cp "$work/out" "$work/in"
check 77 keyctl-service KEYCTL_TRUSTED_OWNER=keyctl-operator "$work/keyctl" --keystore "$tmp/keys.json" verify

# Root's keystore needs no KEYCTL_TRUSTED_OWNER.
rootdir="$work/root-keyctl"
install -d -o root -g keyctl-svc -m 750 "$rootdir"
"$work/keyctl" --keystore "$rootdir/keys.json" create svc >"$work/in" 2>/dev/null
chgrp keyctl-svc "$rootdir/keys.json"
chmod 640 "$rootdir/keys.json"
check 0 keyctl-service "$work/keyctl" --keystore "$rootdir/keys.json" verify
"$work/keyctl" --keystore "$rootdir/keys.json" create svc2 >/dev/null 2>&1
[ "$(mode_group "$rootdir/keys.json")" = "640 keyctl-svc root" ] || fail "root's rewrite: $(mode_group "$rootdir/keys.json")"

echo "60-shared-keystore: operator writes, service reads through the group, modes and groups kept, stamps best effort, refusals say their fix, directories above checked, planted keystores refused"
