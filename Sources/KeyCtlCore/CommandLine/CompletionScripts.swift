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
}
