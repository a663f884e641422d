# Sourced by the test-*-completion scripts (bash): finds the binary, builds a
# fixture keystore, and runs the cases every shell must pass.
#
# A shell's script sets, before calling run_cases:
#   shell       bash, zsh or fish
#   query LINE  a function printing the candidates that shell offers for LINE<TAB>
#   keyq        how that shell lists the key name "deploy bot"
#   eqp         what it puts before a value completed after --opt= ("" or the option)
#   listp       what it puts before a list item completed after "read," ("" or "read,")
#   dirp        what it puts before a file name completed in a directory
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${KEYCTL_BIN:-$root/.build/debug/keyctl}}
[[ $bin == /* ]] || bin=$PWD/$bin
if [[ ! -x $bin ]]; then
    echo "${0##*/}: no keyctl binary at $bin (run 'swift build', or give its path as \$1 or KEYCTL_BIN)" >&2
    exit 2
fi

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/home" "$tmp/files"
mkdir -m 700 "$tmp/ks" "$tmp/bad"
ln -s "$bin" "$tmp/bin/keyctl"
# The completions run `keyctl` from PATH, as they would for a user; HOME is empty
# so that the default keystore does not exist.
export PATH="$tmp/bin:$PATH" HOME="$tmp/home"
unset KEYCTL_KEYSTORE XDG_DATA_HOME
keystore=$tmp/ks/keystore.json
: >"$tmp/files/store.json"
printf 'not json\n' >"$tmp/bad/keystore.json"
chmod 600 "$tmp/bad/keystore.json"

failures=0
fail() {
    echo "FAIL [$shell] $*" >&2
    failures=$((failures + 1))
}

setup() {
    local name
    for name in alpha 'deploy bot' gone; do
        keyctl --keystore "$keystore" create "$name" >/dev/null 2>"$tmp/err" ||
            { echo "${0##*/}: cannot create key '$name': $(cat "$tmp/err")" >&2; exit 2; }
    done
    keyctl --keystore "$keystore" revoke gone >/dev/null 2>"$tmp/err" ||
        { echo "${0##*/}: cannot revoke key 'gone': $(cat "$tmp/err")" >&2; exit 2; }
    # A second keystore under HOME, for ~/ paths, holding a name that would run a
    # command if a script ever expanded key names.
    mkdir -m 700 "$HOME/store"
    for name in home "\$(touch $tmp/pwned)"; do
        keyctl --keystore "$HOME/store/keystore.json" create "$name" >/dev/null 2>"$tmp/err" ||
            { echo "${0##*/}: cannot create key '$name': $(cat "$tmp/err")" >&2; exit 2; }
    done

    # The script under test is what the binary prints, and must be the committed file.
    script=$tmp/script
    keyctl completions "$shell" >"$script" || { echo "${0##*/}: keyctl completions $shell failed" >&2; exit 2; }
    cmp -s "$script" "$root/completions/$1" ||
        fail "completions/$1 differs from 'keyctl completions $shell': run Tests/Shell/regenerate-completions"
}

# expect LINE CANDIDATE...: LINE<TAB> offers exactly these candidates (in any
# order), the shell succeeds, and nothing is written to stderr.
expect() {
    local line=$1 got want status
    shift
    query "$line" >"$tmp/out" 2>"$tmp/err"
    status=$?
    got=$(LC_ALL=C sort -u "$tmp/out")
    want=$( (($#)) && printf '%s\n' "$@" | LC_ALL=C sort -u)
    if ((status != 0)); then
        fail "'$line<TAB>': the driver exited $status"
    fi
    if [[ $got != "$want" ]]; then
        fail "'$line<TAB>': expected [${want//$'\n'/, }], got [${got//$'\n'/, }]"
    fi
    if [[ -s $tmp/err ]]; then
        fail "'$line<TAB>': wrote to stderr: $(cat "$tmp/err")"
    fi
}

run_cases() {
    expect 'keyctl ro' rotate
    expect 'keyctl re' revoke
    expect 'keyctl --json ro' rotate
    expect 'keyctl rotate --g' --grace
    expect 'keyctl rotate --grace 1d --f' --format
    expect 'keyctl create --env ' live test
    expect "keyctl create --format=b" "${eqp}bearer" "${eqp}basic"
    expect 'keyctl create --permissions read,w' "${listp}write" "${listp}webhook"
    expect 'keyctl list --status ' active expired retiring revoked
    expect 'keyctl verify --require a' admin
    expect 'keyctl completions ' bash fish zsh
    expect 'keyctl help ro' rotate
    expect 'keyctl create ' # a new NAME: nothing to offer, and no file names
    expect "keyctl --keystore $tmp/files/st" "${dirp}store.json"

    # Key names: only keys in use ('gone' is revoked), from the keystore named by
    # KEYCTL_KEYSTORE or by --keystore before or after the command.
    KEYCTL_KEYSTORE=$keystore expect 'keyctl revoke ' alpha "$keyq"
    KEYCTL_KEYSTORE=$keystore expect 'keyctl revoke alpha de' "$keyq"
    expect "keyctl --keystore $keystore show " alpha "$keyq"
    expect "keyctl rotate --keystore=$keystore " alpha "$keyq"
    expect "keyctl --json revoke --keystore $keystore al" alpha
    expect "keyctl --keystore '$keystore' revoke d" "$keyq"
    expect 'keyctl --keystore ~/store/keystore.json show h' home
    [[ ! -e $tmp/pwned ]] || fail "a key name was run as a command"

    # Issue 8 item 20: after a command's last argument an empty word completes to
    # nothing (1.0 offered every option, and bash and zsh inserted their common
    # `-`); options come after a dash.
    KEYCTL_KEYSTORE=$keystore expect 'keyctl show alpha '
    KEYCTL_KEYSTORE=$keystore expect 'keyctl show deploy\ bot '
    KEYCTL_KEYSTORE=$keystore expect "keyctl show 'deploy bot' "
    KEYCTL_KEYSTORE=$keystore expect 'keyctl rotate alpha '
    KEYCTL_KEYSTORE=$keystore expect 'keyctl completions bash '
    expect 'keyctl list '
    expect 'keyctl init '
    KEYCTL_KEYSTORE=$keystore expect 'keyctl show deploy\ bot --j' --json
    expect 'keyctl list --s' --status
    KEYCTL_KEYSTORE=$keystore expect 'keyctl revoke alpha ' alpha "$keyq"

    # No keystore, or one that is not keyctl JSON: no names, and not a word on stderr.
    expect 'keyctl revoke '
    expect "keyctl --keystore $tmp/nowhere/keystore.json show "
    expect "keyctl --keystore $tmp/bad/keystore.json rotate "
}

finish() {
    if ((failures)); then
        echo "${0##*/}: $failures failure(s)" >&2
        exit 1
    fi
    echo "${0##*/}: ok"
}
