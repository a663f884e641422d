#!/usr/bin/env bash
# CI step (run by .ci/run after swift build and swift test, with KEYCTL_BIN set):
# lint the man page and drive bash, zsh and fish through keyctl's completions.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v mandoc >/dev/null || need+=(mandoc)
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
[[ -r /usr/share/bash-completion/bash_completion ]] || need+=(bash-completion)
if ((${#need[@]})); then
    echo "completions: installing ${need[*]}" >&2
    sudo=
    ((EUID == 0)) || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "completions: mandoc -T lint -W warning man/keyctl.1" >&2
lint=$(mandoc -T lint -W warning man/keyctl.1 2>&1) || true
if [[ -n $lint ]]; then
    printf '%s\n' "$lint" >&2
    echo "completions: man/keyctl.1 has mandoc warnings" >&2
    exit 1
fi

Tests/Shell/run-completion-tests "${KEYCTL_BIN:-.build/debug/keyctl}"
