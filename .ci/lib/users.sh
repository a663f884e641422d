# Sourced (not run) by the CI steps that run keyctl or the suite as real users:
# 50-unprivileged.sh (users_make only), 55-attacker.sh and 60-shared-keystore.sh.
# Files under .ci/steps/ are run as steps, so this lives here.
# Needs root (useradd, groupadd, usermod, setpriv).
#
#   users_bin                    the binary under test: $KEYCTL_BIN, else a debug build
#   users_make USER...           system users without a home or a shell, made once
#   users_group GROUP MEMBER...  a system group, made once, with these members
#   users_work NAME BIN          $work: a fresh directory /tmp/NAME-XXXXXX (755, removed
#                                on exit) holding BIN as $work/keyctl (755)
#   as USER COMMAND...           COMMAND with that user's ids and groups only, the
#                                environment reset but for HOME=$work
#   fail MESSAGE                 "STEP: MESSAGE" on stderr, exit 1

users_bin() {
    if [ -n "${KEYCTL_BIN:-}" ]; then
        echo "$KEYCTL_BIN"
        return
    fi
    swift build 2>&1 | tail -n 1 >&2
    echo "$(swift build --show-bin-path)/keyctl"
}

users_make() {
    local user
    for user in "$@"; do
        id -u "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    done
}

users_group() {
    local group=$1 member
    shift
    getent group "$group" >/dev/null || groupadd --system "$group"
    for member in "$@"; do usermod -a -G "$group" "$member"; done
}

users_work() {
    work=$(mktemp -d "/tmp/$1-XXXXXX")
    trap 'rm -rf "$work"' EXIT
    chmod 755 "$work"
    install -m 755 "$2" "$work/keyctl"
}

as() {
    local user=$1
    shift
    setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- env HOME="$work" "$@"
}

fail() {
    echo "$(basename "$0" .sh): $*" >&2
    exit 1
}
