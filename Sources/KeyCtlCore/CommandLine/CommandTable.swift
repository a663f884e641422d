// The one table of commands and options. The argument parser, `--help`, the
// completion scripts and the man-page drift test all read it; nothing else lists
// the commands or their options by hand.

public struct OptionSpec: Sendable, Equatable {
    /// Long name without the dashes, e.g. "expires-in".
    public var name: String
    /// Single-letter alias without the dash, e.g. "h".
    public var short: Character?
    /// Metavariable for an option that takes a value ("DURATION"); nil for a flag.
    public var valueName: String?
    /// Enumerated values, offered by completion and checked by the parser where `strictValues`.
    public var values: [String]
    /// Values are a comma-separated list drawn from `values`.
    public var isList: Bool
    public var help: String

    public init(_ name: String, short: Character? = nil, value: String? = nil, values: [String] = [], isList: Bool = false, help: String) {
        self.name = name
        self.short = short
        self.valueName = value
        self.values = values
        self.isList = isList
        self.help = help
    }

    public var takesValue: Bool { valueName != nil }
    public var flag: String { "--" + name }
}

/// What a positional argument holds, so completion knows what to offer.
public enum ArgumentKind: Sendable, Equatable {
    case name
    case key
    case apiKey
    case command
    case shell
}

public struct ArgumentSpec: Sendable, Equatable {
    public var name: String
    public var kind: ArgumentKind
    public var isOptional: Bool
    public var isRepeated: Bool
    public var help: String

    public init(_ name: String, _ kind: ArgumentKind, optional: Bool = false, repeated: Bool = false, help: String) {
        self.name = name
        self.kind = kind
        self.isOptional = optional
        self.isRepeated = repeated
        self.help = help
    }
}

public enum CommandName: String, CaseIterable, Sendable {
    case `init`, create, list, show, revoke, rotate, verify, completions, help
}

public struct CommandSpec: Sendable {
    public var name: CommandName
    public var summary: String
    /// Synopsis after `keyctl NAME`, e.g. "NAME [--env live|test]".
    public var synopsis: String
    public var discussion: String
    public var arguments: [ArgumentSpec]
    public var options: [OptionSpec]

    public func option(named name: String) -> OptionSpec? {
        options.first { $0.name == name }
    }
}

public enum Values {
    public static let environments = ["live", "test"]
    public static let permissions = ["read", "write", "admin", "webhook"]
    public static let formats = ["raw", "bearer", "basic", "x-api-key", "env"]
    public static let statuses = ["active", "expired", "retiring", "revoked"]
    public static let shells = Shell.allCases.map { $0.rawValue }
}

public enum CommandTable {
    public static let version = "1.0.0"

    public static let globalOptions: [OptionSpec] = [
        OptionSpec(
            "keystore", value: "PATH",
            help: "the keystore file (default: $KEYCTL_KEYSTORE, else $XDG_DATA_HOME/keyctl/keystore.json, else ~/.local/share/keyctl/keystore.json)"),
        OptionSpec("json", help: "machine-readable output"),
        OptionSpec("help", short: "h", help: "show help for keyctl or for the command"),
        OptionSpec("version", help: "print the version"),
    ]

    static let format = OptionSpec(
        "format", value: "FORMAT", values: Values.formats, help: "print the key as raw (default), bearer, basic, x-api-key or env")
    static let expiresIn = OptionSpec("expires-in", value: "DURATION", help: "expire after DURATION, e.g. 90d or 1d12h")

    public static let commands: [CommandSpec] = [
        CommandSpec(
            name: .`init`, summary: "create an empty keystore",
            synopsis: "[--prefix P] [--max-keys N]",
            discussion: "Creates the keystore file (mode 0600) and its directory (mode 0700). Fails with KEYSTORE_EXISTS if there is one already.",
            arguments: [],
            options: [
                OptionSpec("prefix", value: "P", help: "key prefix, 2-10 lowercase letters or digits (default: ak)"),
                OptionSpec("max-keys", value: "N", help: "most keys that are not revoked, 1-100000 (default: 10)"),
            ]),
        CommandSpec(
            name: .create, summary: "make a key and print it once",
            synopsis: "NAME [--permissions LIST] [--env live|test] [--expires-in DURATION | --expires-at TIME] [--format FORMAT]",
            discussion: "Prints the new key on stdout; it is never shown again. Creates the keystore if there is none.",
            arguments: [ArgumentSpec("NAME", .name, help: "a name for the key, 1-100 characters, unique among keys in use")],
            options: [
                OptionSpec(
                    "permissions", value: "LIST", values: Values.permissions, isList: true,
                    help: "comma-separated permissions: read, write, admin, webhook (default: read; admin implies all)"),
                OptionSpec("env", value: "ENV", values: Values.environments, help: "environment: live (default) or test"),
                expiresIn,
                OptionSpec("expires-at", value: "TIME", help: "expire at TIME, RFC 3339 (2027-01-01T00:00:00Z)"),
                format,
            ]),
        CommandSpec(
            name: .list, summary: "list keys, newest first",
            synopsis: "[--status STATUS] [--expiring-within DURATION]",
            discussion: "Never shows a secret: only the hint (prefix, environment and last four characters).",
            arguments: [],
            options: [
                OptionSpec(
                    "status", value: "STATUS", values: Values.statuses, isList: true,
                    help: "only keys with this status: active, expired, retiring, revoked (comma-separated)"),
                OptionSpec("expiring-within", value: "DURATION", help: "only keys that are not revoked and expire within DURATION"),
            ]),
        CommandSpec(
            name: .show, summary: "show one key's record",
            synopsis: "KEY",
            discussion: "KEY is a key's id or name.",
            arguments: [ArgumentSpec("KEY", .key, help: "the key's id or name")],
            options: []),
        CommandSpec(
            name: .revoke, summary: "revoke keys, all or nothing",
            synopsis: "KEY...",
            discussion: "Revokes every key named, or none of them. The last key that is not revoked cannot be revoked (LAST_KEY).",
            arguments: [ArgumentSpec("KEY", .key, repeated: true, help: "a key's id or name")],
            options: []),
        CommandSpec(
            name: .rotate, summary: "replace a key with a new one",
            synopsis: "KEY [--grace DURATION] [--expires-in DURATION] [--format FORMAT] | --expiring-within DURATION [--grace DURATION]",
            discussion:
                "The new key keeps the name, environment and permissions and prints once. Without --grace the old key is revoked at once; with it, the old key is retiring and still verifies until the grace ends (at most 7d). With --expiring-within, rotates every active or expired key that expires within DURATION.",
            arguments: [ArgumentSpec("KEY", .key, optional: true, help: "the key's id or name")],
            options: [
                OptionSpec("grace", value: "DURATION", help: "keep the old key valid for DURATION (at most 7d)"),
                expiresIn,
                OptionSpec("expiring-within", value: "DURATION", help: "rotate every active or expired key that expires within DURATION"),
                format,
            ]),
        CommandSpec(
            name: .verify, summary: "check a key; the exit status tells the answer",
            synopsis: "[KEY] [--from-env VAR] [--require PERMISSION]",
            discussion:
                "Reads the key from standard input (first line) when none is given, or from the variable named by --from-env: an argument shows up in ps. Exits 0 valid, 1 invalid or missing, 2 expired, 3 revoked, 4 forbidden.",
            arguments: [ArgumentSpec("KEY", .apiKey, optional: true, help: "the API key (prefer standard input or --from-env)")],
            options: [
                OptionSpec("from-env", value: "VAR", help: "read the key from the environment variable VAR"),
                OptionSpec(
                    "require", value: "PERMISSION", values: Values.permissions, isList: true,
                    help: "fail with FORBIDDEN unless the key has this permission (admin implies all)"),
            ]),
        CommandSpec(
            name: .completions, summary: "print a shell completion script",
            synopsis: "bash|zsh|fish",
            discussion: "Prints the same text as the files in completions/.",
            arguments: [ArgumentSpec("SHELL", .shell, help: "bash, zsh or fish")],
            options: []),
        CommandSpec(
            name: .help, summary: "show help for keyctl or a command",
            synopsis: "[COMMAND]",
            discussion: "Same as --help.",
            arguments: [ArgumentSpec("COMMAND", .command, optional: true, help: "a command name")],
            options: []),
    ]

    public static func command(named name: String) -> CommandSpec? {
        commands.first { $0.name.rawValue == name }
    }

    /// Environment variables keyctl reads, for help, the man page and its drift test.
    public static let environmentVariables: [(name: String, help: String)] = [
        ("KEYCTL_KEYSTORE", "the keystore file, unless --keystore is given"),
        ("XDG_DATA_HOME", "the keystore is $XDG_DATA_HOME/keyctl/keystore.json when KEYCTL_KEYSTORE is unset"),
        ("HOME", "the keystore is ~/.local/share/keyctl/keystore.json when neither is set"),
        ("KEYCTL_LOCK_TIMEOUT", "seconds to wait for the keystore lock (default 10)"),
        ("NO_COLOR", "when set, list prints no colour"),
        ("TERM", "when dumb, list prints no colour"),
    ]
}
