// The fish completion script, generated from CommandTable; what the three
// generators share, and what every script completes, is in CompletionScripts.swift.

extension Completions {
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
