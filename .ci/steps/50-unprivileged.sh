#!/usr/bin/env bash
# The whole test suite, unchanged, as an unprivileged user (issue 9): no test may
# need root, and none may pass by returning early when it is not root. Needs root
# to make the user (useradd) and to switch to it (setpriv). The tree is copied to a
# directory the user owns and built there by the user, so nothing it reads or writes
# belongs to root.
set -euo pipefail
cd "$(dirname "$0")/../.."

. .ci/lib/users.sh
user=keyctl-tester
users_make "$user"
[ "$(id -u "$user")" != 0 ] || { echo "50-unprivileged: $user is root" >&2; exit 1; }

work=$(mktemp -d /tmp/keyctl-unprivileged-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/home" "$work/src"
tar --exclude=./.build --exclude=./.git -cf - . | tar -xf - -C "$work/src"
chown -R "$user:" "$work"
chmod 755 "$work"

as_tester() {
    setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
        env HOME="$work/home" PATH="$PATH" TMPDIR="$work/home" "$@"
}
log="$work/home/test.log"
echo "50-unprivileged: building and testing as $user (uid $(id -u "$user"))"
cd "$work/src"
as_tester swift build --build-tests 2>&1 | tail -n 3
status=0
as_tester sh -c "swift test --skip-build > '$log' 2>&1" || status=$?
grep -E "✘|Test run with" "$log" | tail -n 40
if [ "$status" != 0 ] || ! grep -q "Test run with .* passed" "$log"; then
    echo "50-unprivileged: the suite failed as $user" >&2
    exit 1
fi
echo "50-unprivileged: the suite passed as $user"
