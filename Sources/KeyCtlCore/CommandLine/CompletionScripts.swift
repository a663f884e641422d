// Shell completion scripts, generated from CommandTable: nothing here lists a
// command, an option or a value by hand, so the scripts cannot drift from what
// the parser accepts. `completions/` holds the output, byte for byte, and
// CompletionsTests checks that it still does.
//
// What every script completes, the same way in each shell:
// - before the command: the command names and the global options;
// - after it: the command's options and the global options (they may stand on
//   either side), the values of enumerated options (one item of a comma-separated
//   list for list options), files for a PATH value, and the positional argument
//   at the cursor: key names for a KEY, shell names, command names for `help`;
// - key names come from `keyctl [--keystore PATH] __complete-keys`, passing on a
//   --keystore given earlier on the line, with stderr discarded, so a missing or
//   unreadable keystore completes nothing and prints nothing.
// Key names are data from the keystore, so they never pass through `eval`,
// `compgen -W` or any other expansion.

/// A shell `keyctl completions` can write a script for.
public enum Shell: String, CaseIterable, Sendable {
    case bash, zsh, fish
}

public enum Completions {
    /// The hidden command the scripts run to list the names of the keys in use.
    public static let keyNamesCommand = "__complete-keys"

    /// The completion script for `shell`, as `keyctl completions SHELL` prints it.
    public static func script(for shell: Shell) -> String {
        switch shell {
        case .bash: return bash()
        case .zsh: return zsh()
        case .fish: return fish()
        }
    }

    /// Where each shell looks for the script, relative to the repository (and what
    /// `completions/` is named after).
    public static func fileName(for shell: Shell) -> String {
        switch shell {
        case .bash: return "keyctl.bash"
        case .zsh: return "_keyctl"
        case .fish: return "keyctl.fish"
        }
    }

    // MARK: - The model the three generators share

    /// What to offer for an option's value or a positional argument.
    enum Action: Equatable {
        case nothing
        case words([String])
        case list([String])
        case files
        case keys
        case commands
    }

    static var commandNames: [String] { CommandTable.commands.map { $0.name.rawValue } }
    static var shellNames: [String] { Shell.allCases.map(\.rawValue) }

    static var keystoreOption: OptionSpec? {
        CommandTable.globalOptions.first { $0.name == "keystore" }
    }

    static func spellings(_ option: OptionSpec) -> [String] {
        (option.short.map { ["-\($0)"] } ?? []) + [option.flag]
    }

    /// Options accepted after `command`: its own, then the global ones.
    static func options(after command: CommandSpec) -> [OptionSpec] {
        command.options + CommandTable.globalOptions
    }

    static func action(for option: OptionSpec) -> Action {
        if !option.values.isEmpty { return option.isList ? .list(option.values) : .words(option.values) }
        if option.valueName == "PATH" { return .files }
        return .nothing
    }

    static func action(for argument: ArgumentSpec) -> Action {
        switch argument.kind {
        case .key: return .keys
        case .shell: return .words(shellNames)
        case .command: return .commands
        case .name, .apiKey: return .nothing
        }
    }

    /// The help text without a closing parenthesis ("(default: …)"): short enough for a menu.
    static func brief(_ help: String) -> String {
        guard help.hasSuffix(")"), let open = help.ranges(of: " (").last else { return help }
        return String(help[..<open.lowerBound])
    }

    static func words(_ list: [String]) -> String { list.joined(separator: " ") }

    // MARK: - bash

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

    // MARK: - zsh

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

    // MARK: - fish

    static func fish() -> String {
        let keystore = keystoreOption?.flag ?? "--keystore"
        var out = #"""
            # fish completion for keyctl.
            # Generated from keyctl's command table by `keyctl completions fish`; do not edit.
            # Install as ~/.config/fish/completions/keyctl.fish.

            # Succeed if option $argv[2] takes a value after command $argv[1].
            function __keyctl_takes_value
                switch "$argv[1]"

            """#
        for command in CommandTable.commands {
            let flags = command.options.filter(\.takesValue).flatMap(spellings)
            guard !flags.isEmpty else { continue }
            out += "        case \(command.name.rawValue)\n"
            out += "            contains -- $argv[2] \(words(flags)); and return 0\n"
        }
        out += "    end\n"
        out += "    contains -- $argv[2] \(words(CommandTable.globalOptions.filter(\.takesValue).flatMap(spellings)))\n"
        out += "end\n\n"
        out += #"""
            # Print the number of arguments after the command, then the command, if any.
            function __keyctl_state
                set -l tokens (commandline -opc)
                set -l cmd
                set -l npos 0
                set -l skip 0
                set -l dashdash 0
                for w in $tokens[2..-1]
                    if test $skip = 1
                        set skip 0
                    else if test $dashdash = 0; and string match -q -- '-?*' $w
                        if test $w = --
                            set dashdash 1
                        else if not string match -q -- '*=*' $w; and __keyctl_takes_value "$cmd" $w
                            set skip 1
                        end
                    else if test -z "$cmd"
                        set cmd $w
                    else
                        set npos (math $npos + 1)
                    end
                end
                echo $npos
                echo $cmd
            end

            function __keyctl_needs_command
                set -l state (__keyctl_state)
                test -z "$state[2]"
            end

            function __keyctl_using
                set -l state (__keyctl_state)
                test -n "$state[2]"; and contains -- $state[2] $argv
            end

            # Succeed if the argument at the cursor is of kind $argv[1].
            function __keyctl_argument
                set -l state (__keyctl_state)
                set -l kind
                switch "$state[2]"

            """#
        for command in CommandTable.commands where !command.arguments.isEmpty {
            out += "        case \(command.name.rawValue)\n"
            for (index, argument) in command.arguments.enumerated() {
                let isLast = index == command.arguments.count - 1
                let kind = fishKind(argument.kind)
                if isLast && argument.isRepeated {
                    out += "            test $state[1] -ge \(index); and set kind \(kind)\n"
                } else {
                    out += "            test $state[1] -eq \(index); and set kind \(kind)\n"
                }
            }
        }
        out += #"""
                end
                test "$kind" = "$argv[1]"
            end

            # Complete the last item of a comma-separated list drawn from the arguments.
            function __keyctl_list
                set -l token (string replace -r -- '^--[^=]*=' '' (commandline -ct))
                set -l head (string replace -r -- '[^,]*$' '' $token)
                set -l have (string split -- , $head)
                for value in $argv
                    contains -- $value $have; or echo $head$value
                end
            end

            # Key names in use, from the keystore named on the line or the default one.
            function __keyctl_keys
                set -l tokens (commandline -opc)
                set -l ks
                set -l n (count $tokens)
                for i in (seq 2 $n)
                    switch $tokens[$i]
                        case --
                            break
                        case \#(keystore)
                            test $i -lt $n; and set ks \#(keystore) $tokens[(math $i + 1)]
                        case '\#(keystore)=*'
                            set ks \#(keystore) (string replace -- \#(keystore)= '' $tokens[$i])
                    end
                end
                set ks (string replace -r -- '^~/' "$HOME/" $ks)
                set -l prog (string replace -r -- '^~/' "$HOME/" $tokens[1])
                command $prog $ks \#(keyNamesCommand) 2>/dev/null
            end

            complete -c keyctl -e
            complete -c keyctl -f

            """#
        for command in CommandTable.commands {
            out += "complete -c keyctl -n __keyctl_needs_command -a \(command.name.rawValue) -d \(fishQuote(command.summary))\n"
        }
        for option in CommandTable.globalOptions {
            out += "complete -c keyctl" + fishOption(option) + "\n"
        }
        for command in CommandTable.commands {
            for option in command.options {
                out += "complete -c keyctl -n '__keyctl_using \(command.name.rawValue)'" + fishOption(option) + "\n"
            }
        }
        var kinds: [ArgumentKind] = []
        for argument in CommandTable.commands.flatMap(\.arguments) where !kinds.contains(argument.kind) {
            kinds.append(argument.kind)
        }
        for kind in kinds {
            let condition = "-n '__keyctl_argument \(fishKind(kind))'"
            switch action(for: ArgumentSpec("", kind, help: "")) {
            case .nothing:
                continue
            case .commands:
                for command in CommandTable.commands {
                    out += "complete -c keyctl \(condition) -a \(command.name.rawValue) -d \(fishQuote(command.summary))\n"
                }
            case let other:
                out += "complete -c keyctl \(condition) \(fishAction(other))\n"
            }
        }
        return out
    }

    static func fishKind(_ kind: ArgumentKind) -> String {
        switch kind {
        case .name: return "name"
        case .key: return "key"
        case .apiKey: return "apikey"
        case .command: return "command"
        case .shell: return "shell"
        }
    }

    static func fishOption(_ option: OptionSpec) -> String {
        var out = ""
        if let short = option.short { out += " -s \(short)" }
        out += " -l \(option.name)"
        if option.takesValue {
            let action = action(for: option)
            out += action == .files ? " -r -F" : " -x"
            let words = fishAction(action)
            if !words.isEmpty { out += " " + words }
        }
        return out + " -d " + fishQuote(brief(option.help))
    }

    /// `-a …` for an action; empty when fish's own -F or nothing is right.
    static func fishAction(_ action: Action) -> String {
        switch action {
        case .nothing, .files: return ""
        case .words(let list): return "-a " + fishQuote(words(list))
        case .list(let list): return "-a " + fishQuote("(__keyctl_list \(words(list)))")
        case .keys: return "-a '(__keyctl_keys)'"
        case .commands: return "-a " + fishQuote(words(commandNames))
        }
    }

    static func fishQuote(_ text: String) -> String {
        "'" + text.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }
}
