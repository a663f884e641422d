// The zsh completion script, generated from CommandTable; what the three
// generators share, and what every script completes, is in CompletionScripts.swift.

extension Completions {
    static func zsh() -> String {
        let keystore = keystoreOption?.flag ?? "--keystore"
        var out = #"""
            #compdef keyctl
            # zsh completion for keyctl.
            # Generated from keyctl's command table by `keyctl completions zsh`; do not edit.
            # Install as _keyctl in a directory of $fpath, before compinit runs.

            # Past a command's last argument: nothing to insert.
            _keyctl_nothing() {
              _message 'no more arguments'
            }

            _keyctl_commands() {
              local -a commands=(

            """#
        for command in CommandTable.commands {
            out += "    \(zshQuote(zshDescribeEscape(command.name.rawValue) + ":" + command.summary))\n"
        }
        out += #"""
              )
              _describe -t commands 'keyctl command' commands
            }

            # Key names in use, from the keystore named on the line or the default one.
            # Reads the line as it was before _arguments shifted $words.
            _keyctl_keys() {
              local -a ks names expl
              local i w prog=${(Q)_keyctl_line[1]}
              for (( i = 2; i < _keyctl_current; i++ )); do
                w=${(Q)_keyctl_line[i]}
                case $w in
                  --) break ;;
                  \#(keystore)) (( i + 1 < _keyctl_current )) && ks=(\#(keystore) ${(Q)_keyctl_line[i+1]}) ;;
                  \#(keystore)=*) ks=(\#(keystore) ${w#\#(keystore)=}) ;;
                esac
              done
              [[ $ks[2] == '~/'* ]] && ks[2]=$HOME/${ks[2]#'~/'}
              [[ $prog == '~/'* ]] && prog=$HOME/${prog#'~/'}
              names=(${(f)"$(command $prog $ks \#(keyNamesCommand) 2>/dev/null)"})
              _wanted keys expl 'key' compadd -a names
            }

            _keyctl() {
              local -a _keyctl_line=("${words[@]}")
              local _keyctl_current=$CURRENT
              local curcontext=$curcontext state state_descr line ret=1
              local -A opt_args

              _arguments -C -A '-*' \

            """#
        for spec in CommandTable.globalOptions.flatMap(zshOptionSpecs) {
            out += "    \(spec) \\\n"
        }
        out += #"""
                '1:command:_keyctl_commands' \
                '*::argument:->argument' && ret=0

              [[ $state == argument ]] || return $ret
              curcontext=${curcontext%:*:*}:keyctl-$words[1]:
              case $words[1] in

            """#
        for command in CommandTable.commands {
            out += "    \(command.name.rawValue))\n      _arguments \\\n"
            for spec in options(after: command).flatMap(zshOptionSpecs) {
                out += "        \(spec) \\\n"
            }
            for (index, argument) in command.arguments.enumerated() {
                let isLast = index == command.arguments.count - 1
                let colons = isLast && argument.isRepeated ? "*:" : argument.isOptional ? "::" : ":"
                out += "        \(zshQuote(colons + argument.name + ":" + zshAction(action(for: argument)))) \\\n"
            }
            // Past the last argument, a word that does not start with a dash gets
            // nothing: without this rest spec _arguments offers the options, and zsh
            // inserts the `-` they have in common.
            if command.arguments.last?.isRepeated != true {
                out += "        '*: :_keyctl_nothing' \\\n"
            }
            out += "        && ret=0 ;;\n"
        }
        out += #"""
                *)
                  _message 'no more arguments' ;;
              esac
              return $ret
            }

            if [[ $funcstack[1] == _keyctl ]]; then
              _keyctl "$@"
            else
              compdef _keyctl keyctl
            fi

            """#
        return out
    }

    static func zshOptionSpecs(_ option: OptionSpec) -> [String] {
        var value = ""
        if let name = option.valueName {
            value = ":" + name + ":" + zshAction(action(for: option))
        }
        let explanation = "[" + zshBracketEscape(brief(option.help)) + "]"
        // -h/--help and --version end the command line: nothing else goes with them.
        let exclusive = option.name == "help" || option.name == "version"
        var specs: [String] = []
        for flag in spellings(option) {
            let equals = option.takesValue && flag.hasPrefix("--") ? "=" : ""
            specs.append(zshQuote((exclusive ? "(- *)" : "") + flag + equals + explanation + value))
        }
        return specs
    }

    static func zshAction(_ action: Action) -> String {
        switch action {
        case .nothing: return " "
        case .words(let list): return "(" + words(list) + ")"
        case .list(let list): return "_values -s , value " + words(list)
        case .files: return "_files"
        case .keys: return "_keyctl_keys"
        case .commands: return "_keyctl_commands"
        }
    }

    static func zshQuote(_ text: String) -> String {
        "'" + text.replacing("'", with: #"'\''"#) + "'"
    }

    static func zshBracketEscape(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("[", with: "\\[").replacing("]", with: "\\]")
    }

    static func zshDescribeEscape(_ text: String) -> String {
        text.replacing(":", with: "\\:")
    }
}
