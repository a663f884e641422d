# bash completion for keyctl                              -*- shell-script -*-
# Generated from keyctl's command table by `keyctl completions bash`; do not edit.
# Install as ~/.local/share/bash-completion/completions/keyctl (bash-completion
# loads it on first use), or source it from ~/.bashrc.

# Add each argument that starts with $cur to COMPREPLY.
_keyctl_compreply()
{
    local w
    for w in "$@"; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
    done
}

# Complete the last item of a comma-separated list drawn from the arguments.
_keyctl_list()
{
    local head= last=$cur w
    if [[ $cur == *,* ]]; then
        head=${cur%,*}, last=${cur##*,}
    fi
    for w in "$@"; do
        [[ ,$head == *,"$w",* ]] && continue
        [[ $w == "$last"* ]] && COMPREPLY+=("$head$w")
    done
}

_keyctl_files()
{
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir
    else
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

# Set REPLY to word $1 as the shell would pass it: quotes and backslashes
# removed, a leading ~/ made $HOME/, nothing expanded or run.
_keyctl_dequote()
{
    local in=$1 out= c q= i
    for ((i = 0; i < ${#in}; i++)); do
        c=${in:i:1}
        if [[ $q == "'" ]]; then
            if [[ $c == "'" ]]; then q=; else out+=$c; fi
        elif [[ $c == '\' ]]; then
            i=$((i + 1)) out+=${in:i:1}
        elif [[ $c == '"' ]]; then
            if [[ $q == '"' ]]; then q=; else q='"'; fi
        elif [[ $c == "'" && -z $q ]]; then
            q="'"
        else
            out+=$c
        fi
    done
    [[ $in == '~/'* ]] && out=$HOME/${out#'~/'}
    REPLY=$out
}

# Key names in use, from the keystore named on the line or the default one.
# Names are data: quoted with %q, never expanded.
_keyctl_keys()
{
    local i w name q prog ks=() REPLY
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
        --) break ;;
        --keystore) ((i + 1 < cword)) && _keyctl_dequote "${words[i + 1]}" && ks=(--keystore "$REPLY") ;;
        --keystore=*) _keyctl_dequote "${w#--keystore=}" && ks=(--keystore "$REPLY") ;;
        esac
    done
    _keyctl_dequote "${words[0]}"
    prog=$REPLY
    while IFS= read -r name; do
        printf -v q %q "$name"
        [[ $q == "$cur"* ]] && COMPREPLY+=("$q")
    done < <(command "$prog" "${ks[@]}" __complete-keys 2>/dev/null)
}

# Succeed if option $2 takes a value after command $1 (empty before the command).
_keyctl_takes_value()
{
    case $1 in
    init) case $2 in --prefix|--max-keys) return 0 ;; esac ;;
    create) case $2 in --permissions|--env|--expires-in|--expires-at|--description|--format) return 0 ;; esac ;;
    list) case $2 in --status|--expiring-within) return 0 ;; esac ;;
    rotate) case $2 in --grace|--expires-in|--expiring-within|--format) return 0 ;; esac ;;
    update) case $2 in --name|--description|--permissions|--expires-in|--expires-at) return 0 ;; esac ;;
    config) case $2 in --max-keys) return 0 ;; esac ;;
    prune) case $2 in --revoked-before) return 0 ;; esac ;;
    log) case $2 in --since) return 0 ;; esac ;;
    verify) case $2 in --from-env|--require) return 0 ;; esac ;;
    esac
    case $2 in --keystore) return 0 ;; esac
    return 1
}

# Complete the value of option $1 after command $2; fail if it takes none.
_keyctl_value()
{
    case $2 in
    init)
        case $1 in
        --prefix) return 0 ;;
        --max-keys) return 0 ;;
        esac ;;
    create)
        case $1 in
        --permissions) _keyctl_list read write admin webhook; return 0 ;;
        --env) _keyctl_compreply live test; return 0 ;;
        --expires-in) return 0 ;;
        --expires-at) return 0 ;;
        --description) return 0 ;;
        --format) _keyctl_compreply raw bearer basic x-api-key env; return 0 ;;
        esac ;;
    list)
        case $1 in
        --status) _keyctl_list active expired retiring revoked; return 0 ;;
        --expiring-within) return 0 ;;
        esac ;;
    rotate)
        case $1 in
        --grace) return 0 ;;
        --expires-in) return 0 ;;
        --expiring-within) return 0 ;;
        --format) _keyctl_compreply raw bearer basic x-api-key env; return 0 ;;
        esac ;;
    update)
        case $1 in
        --name) return 0 ;;
        --description) return 0 ;;
        --permissions) _keyctl_list read write admin webhook; return 0 ;;
        --expires-in) return 0 ;;
        --expires-at) return 0 ;;
        esac ;;
    config)
        case $1 in
        --max-keys) return 0 ;;
        esac ;;
    prune)
        case $1 in
        --revoked-before) return 0 ;;
        esac ;;
    log)
        case $1 in
        --since) return 0 ;;
        esac ;;
    verify)
        case $1 in
        --from-env) return 0 ;;
        --require) _keyctl_list read write admin webhook; return 0 ;;
        esac ;;
    esac
    case $1 in
    --keystore) _keyctl_files; return 0 ;;
    esac
    return 1
}

# Complete an option of command $1 (empty before the command).
_keyctl_options()
{
    case $1 in
    init) _keyctl_compreply --prefix --max-keys ;;
    create) _keyctl_compreply --permissions --env --expires-in --expires-at --description --format ;;
    list) _keyctl_compreply --status --expiring-within --all ;;
    rotate) _keyctl_compreply --grace --expires-in --expiring-within --format ;;
    update) _keyctl_compreply --name --description --permissions --expires-in --expires-at --no-expiry ;;
    config) _keyctl_compreply --max-keys ;;
    prune) _keyctl_compreply --revoked-before --dry-run ;;
    log) _keyctl_compreply --since --verify ;;
    verify) _keyctl_compreply --from-env --require --no-stamp --batch ;;
    esac
    _keyctl_compreply --keystore --json -h --help --version
}

# Complete positional argument $2 (from 0) of command $1; fail if there is none.
_keyctl_argument()
{
    case $1 in
    create)
        case $2 in
        0) return 0 ;;
        esac ;;
    show)
        case $2 in
        0) _keyctl_keys; return 0 ;;
        esac ;;
    revoke)
        case $2 in
        *) _keyctl_keys; return 0 ;;
        esac ;;
    rotate)
        case $2 in
        0) _keyctl_keys; return 0 ;;
        esac ;;
    update)
        case $2 in
        0) _keyctl_keys; return 0 ;;
        esac ;;
    log)
        case $2 in
        0) _keyctl_keys; return 0 ;;
        esac ;;
    verify)
        case $2 in
        0) return 0 ;;
        esac ;;
    completions)
        case $2 in
        0) _keyctl_compreply bash zsh fish; return 0 ;;
        esac ;;
    help)
        case $2 in
        0) _keyctl_compreply init create list show revoke rotate update config prune log verify completions help; return 0 ;;
        esac ;;
    esac
    return 1
}

_keyctl()
{
    local cur prev words cword split
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -s || return
    else
        # Without bash-completion --opt=VALUE is not split; the rest works.
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur=${words[cword]} prev=${words[cword - 1]}
    fi

    # Find the command and count the arguments after it, skipping options
    # and their values, as keyctl's parser does.
    local i w cmd= npos=0 dashdash=
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ -z $dashdash && $w == -?* ]]; then
            if [[ $w == -- ]]; then
                dashdash=1
            elif [[ $w != *=* ]] && _keyctl_takes_value "$cmd" "$w"; then
                ((i++))
                [[ ${words[i]-} == = ]] && ((i++))
            fi
        elif [[ -z $cmd ]]; then
            cmd=$w
        else
            npos=$((npos + 1))
        fi
    done

    if [[ -z $dashdash ]]; then
        _keyctl_value "$prev" "$cmd" && return
        if [[ $cur == -* ]]; then
            _keyctl_options "$cmd"
            return
        fi
    fi
    # Options only for a word that starts with a dash: after the last
    # argument an empty word gets nothing, not a `-` common to every option.
    if [[ -z $cmd ]]; then
        _keyctl_compreply init create list show revoke rotate update config prune log verify completions help
    else
        _keyctl_argument "$cmd" "$npos"
    fi
    declare -F __ltrim_colon_completions >/dev/null 2>&1 && __ltrim_colon_completions "$cur"
    return 0
}

complete -F _keyctl keyctl
