// The bash completion script, generated from CommandTable; what the three
// generators share, and what every script completes, is in CompletionScripts.swift.

extension Completions {
    static func bash() -> String {
        let keystore = keystoreOption?.flag ?? "--keystore"
        var out = #"""
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
                    \#(keystore)) ((i + 1 < cword)) && _keyctl_dequote "${words[i + 1]}" && ks=(\#(keystore) "$REPLY") ;;
                    \#(keystore)=*) _keyctl_dequote "${w#\#(keystore)=}" && ks=(\#(keystore) "$REPLY") ;;
                    esac
                done
                _keyctl_dequote "${words[0]}"
                prog=$REPLY
                while IFS= read -r name; do
                    printf -v q %q "$name"
                    [[ $q == "$cur"* ]] && COMPREPLY+=("$q")
                done < <(command "$prog" "${ks[@]}" \#(keyNamesCommand) 2>/dev/null)
            }


            """#
        out += "# Succeed if option $2 takes a value after command $1 (empty before the command).\n"
        out += "_keyctl_takes_value()\n{\n    case $1 in\n"
        for command in CommandTable.commands {
            let flags = command.options.filter(\.takesValue).flatMap(spellings)
            guard !flags.isEmpty else { continue }
            out += "    \(command.name.rawValue)) case $2 in \(flags.joined(separator: "|"))) return 0 ;; esac ;;\n"
        }
        out += "    esac\n"
        let globalFlags = CommandTable.globalOptions.filter(\.takesValue).flatMap(spellings)
        if !globalFlags.isEmpty {
            out += "    case $2 in \(globalFlags.joined(separator: "|"))) return 0 ;; esac\n"
        }
        out += "    return 1\n}\n\n"

        out += "# Complete the value of option $1 after command $2; fail if it takes none.\n"
        out += "_keyctl_value()\n{\n    case $2 in\n"
        for command in CommandTable.commands where command.options.contains(where: \.takesValue) {
            out += "    \(command.name.rawValue))\n        case $1 in\n"
            for option in command.options where option.takesValue {
                out += "        \(spellings(option).joined(separator: "|"))) \(bashAction(action(for: option)))return 0 ;;\n"
            }
            out += "        esac ;;\n"
        }
        out += "    esac\n    case $1 in\n"
        for option in CommandTable.globalOptions where option.takesValue {
            out += "    \(spellings(option).joined(separator: "|"))) \(bashAction(action(for: option)))return 0 ;;\n"
        }
        out += "    esac\n    return 1\n}\n\n"

        out += "# Complete an option of command $1 (empty before the command).\n"
        out += "_keyctl_options()\n{\n    case $1 in\n"
        for command in CommandTable.commands where !command.options.isEmpty {
            out += "    \(command.name.rawValue)) _keyctl_compreply \(words(command.options.flatMap(spellings))) ;;\n"
        }
        out += "    esac\n    _keyctl_compreply \(words(CommandTable.globalOptions.flatMap(spellings)))\n}\n\n"

        out += "# Complete positional argument $2 (from 0) of command $1; fail if there is none.\n"
        out += "_keyctl_argument()\n{\n    case $1 in\n"
        for command in CommandTable.commands where !command.arguments.isEmpty {
            out += "    \(command.name.rawValue))\n        case $2 in\n"
            for (index, argument) in command.arguments.enumerated() {
                let isLast = index == command.arguments.count - 1
                let pattern = isLast && argument.isRepeated ? "*" : "\(index)"
                out += "        \(pattern)) \(bashAction(action(for: argument)))return 0 ;;\n"
            }
            out += "        esac ;;\n"
        }
        out += "    esac\n    return 1\n}\n\n"

        out += #"""
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
                    _keyctl_compreply \#(words(commandNames))
                else
                    _keyctl_argument "$cmd" "$npos"
                fi
                declare -F __ltrim_colon_completions >/dev/null 2>&1 && __ltrim_colon_completions "$cur"
                return 0
            }

            complete -F _keyctl keyctl

            """#
        return out
    }

    /// The shell words that complete an action, ending in "; " when not empty.
    static func bashAction(_ action: Action) -> String {
        switch action {
        case .nothing: return ""
        case .words(let list): return "_keyctl_compreply \(words(list)); "
        case .list(let list): return "_keyctl_list \(words(list)); "
        case .files: return "_keyctl_files; "
        case .keys: return "_keyctl_keys; "
        case .commands: return "_keyctl_compreply \(words(commandNames)); "
        }
    }
}
