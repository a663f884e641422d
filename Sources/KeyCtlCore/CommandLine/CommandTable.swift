// The one table of commands and options. The argument parser, `--help` (usage
// lines included), suggestions, the completion scripts and the man-page drift test
// all read it; nothing else lists the commands or their options by hand.
//
// HOW TO ADD AN OPTION to command X:
//   1. add a property with a default to `XOptions` below (`var dryRun = false`,
//      `var since: Int64?`, `var statuses: [KeyStatus]?`);
//   2. add its entry to X's `options:` list, bound to that property's key path:
//      `.flag("dry-run", \.dryRun, help: …)`, `.value("since", \.since, .duration(), help: …)`,
//      `.value("env", \.environment, .choice("ENV", KeyEnvironment.self), help: …)`,
//      `.list("status", \.statuses, metavar: "STATUS", help: …)` (values come from the enum);
//   3. read `options.since` in the command; if the option belongs in a special usage
//      line, add it to X's `forms:` (by key path);
//   4. document it in man/keyctl.1 (COMMANDS and SYNOPSIS: ManPageTests compares the
//      SYNOPSIS with the usage lines) and README; run Tests/Shell/regenerate-completions.
// HOW TO ADD A COMMAND: a case in `CommandName`, a `struct XOptions: CommandOptions`,
//   a `.make(.x, XOptions.self, summary:…, discussion:…, arguments:…, options:…, run: XCommand.run)`
//   entry in `commands` (arguments: `.required`/`.optional`/`.repeated` bound to a
//   property), `enum XCommand { static func run(_ options: XOptions, _ inv: Invocation) throws -> Int32 }`
//   in Commands/X.swift, then step 4.
// A value that is not valid (a bad duration, an unknown environment) is a usage error
// before the command runs; checks across options (`--expires-in` with `--expires-at`)
// stay in the command.

// MARK: - The table, erased: what help, completion and suggestions read

public struct OptionSpec: Sendable, Equatable {
    /// Long name without the dashes, e.g. "expires-in".
    public var name: String
    /// Single-letter alias without the dash, e.g. "h".
    public var short: Character?
    /// Metavariable for an option that takes a value ("DURATION"); nil for a flag.
    public var valueName: String?
    /// The accepted values when they are a fixed set (from the enum), else empty.
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
    /// The accepted values when they are a fixed set, else empty.
    public var values: [String]
    public var help: String

    public init(_ name: String, _ kind: ArgumentKind, optional: Bool = false, repeated: Bool = false, values: [String] = [], help: String) {
        self.name = name
        self.kind = kind
        self.isOptional = optional
        self.isRepeated = repeated
        self.values = values
        self.help = help
    }
}

/// One bracketed (or bare) group of a usage line: one or more alternatives.
public struct UsageItem: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case option(OptionSpec)
        case argument(ArgumentSpec)
    }
    public var alternatives: [Part]
    public var isOptional: Bool

    public init(_ alternatives: [Part], optional: Bool) {
        self.alternatives = alternatives
        self.isOptional = optional
    }
}

/// One usage line of a command (after `keyctl NAME`).
public struct UsageForm: Sendable, Equatable {
    public var items: [UsageItem]
}

public enum CommandName: String, CaseIterable, Sendable {
    case `init`, create, list, show, revoke, rotate, update, config, prune, log, verify, completions, help
}

/// A command's table entry. A class: every run passes one around (an optional, in
/// ParsedArguments), and copying or destroying a struct of this size goes through
/// its type's metadata, made at run time; a reference is just retained.
public final class CommandSpec: Sendable {
    public let name: CommandName
    public let summary: String
    public let discussion: String
    public let arguments: [ArgumentSpec]
    public let options: [OptionSpec]
    /// The usage lines, e.g. rotate's `KEY …` and `--expiring-within DURATION …`.
    public var forms: [UsageForm] { makeForms() }
    /// Made when asked for: the forms name properties by key path (Options.swift).
    let makeForms: @Sendable () -> [UsageForm]
    /// The command's options struct from a parsed command line (for tests).
    let decode: @Sendable (ParsedArguments) throws -> any CommandOptions
    /// Decodes the options and runs the command with them.
    let execute: @Sendable (ParsedArguments, Invocation) throws -> Int32

    init(
        name: CommandName, summary: String, discussion: String, arguments: [ArgumentSpec], options: [OptionSpec],
        makeForms: @escaping @Sendable () -> [UsageForm], decode: @escaping @Sendable (ParsedArguments) throws -> any CommandOptions,
        execute: @escaping @Sendable (ParsedArguments, Invocation) throws -> Int32
    ) {
        self.name = name
        self.summary = summary
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
        self.makeForms = makeForms
        self.decode = decode
        self.execute = execute
    }

    public func option(named name: String) -> OptionSpec? {
        options.first { $0.name == name }
    }
}

// MARK: - Global options

/// Options that may stand before or after the command name.
public struct GlobalOptions: CommandOptions, Equatable {
    public var keystore: String?
    public var json = false
    public var help = false
    public var version = false
    public init() {}
}

/// The global options' table. Every run parses them (`--version` too), so this is plain
/// data and a switch: no key paths and no generic table types, whose instantiation at
/// run time cost more than the rest of `keyctl --version`. The switch is exhaustive, so
/// a global option cannot lack its property.
enum GlobalOption: CaseIterable {
    case keystore, json, help, version

    var spec: OptionSpec {
        switch self {
        case .keystore:
            OptionSpec(
                "keystore", value: "PATH",
                help:
                    "the keystore file (default: $KEYCTL_KEYSTORE, else $XDG_DATA_HOME/keyctl/keystore.json, else ~/.local/share/keyctl/keystore.json)"
            )
        case .json: OptionSpec("json", help: "machine-readable output")
        case .help: OptionSpec("help", short: "h", help: "show help for keyctl or for the command")
        case .version: OptionSpec("version", help: "print the version")
        }
    }

    /// Sets the option's property: the word after it, or true for a flag.
    func store(_ value: String, in options: inout GlobalOptions) {
        switch self {
        case .keystore: options.keystore = value
        case .json: options.json = true
        case .help: options.help = true
        case .version: options.version = true
        }
    }
}

public enum CommandTable {
    public static let version = "1.0.0"

    public static var globalOptions: [OptionSpec] { GlobalOption.allCases.map { $0.spec } }

    /// Every command, in order. A single command is made alone (`command(named:)`): making
    /// an entry instantiates its options' key paths, most of keyctl's start-up when all are made.
    public static let commands: [CommandSpec] = CommandName.allCases.map(spec)

    static func spec(_ name: CommandName) -> CommandSpec {
        switch name {
        case .`init`:
            .make(
                .`init`, InitOptions.self, summary: "create an empty keystore",
                discussion:
                    "Creates the keystore file (mode 0600) and its directory (mode 0700). Fails with KEYSTORE_EXISTS if there is one already.",
                options: [
                    .value("prefix", \.prefix, .string("P"), help: "key prefix, 2-10 lowercase letters or digits (default: ak)"),
                    .value(
                        "max-keys", \.maxKeys, .integer("N", in: Keystore.maxKeysRange),
                        help: "most keys that are not revoked, 1-100000 (default: 10)"),
                ],
                run: InitCommand.run)
        case .create:
            .make(
                .create, CreateOptions.self, summary: "make a key and print it once",
                discussion: "Prints the new key on stdout; it is never shown again. Creates the keystore if there is none.",
                arguments: [
                    .required("NAME", .name, \.name, .string("NAME"), help: "a name for the key, 1-100 characters, unique among keys in use")
                ],
                options: [
                    .list(
                        "permissions", \.permissions,
                        help: "comma-separated permissions: read, write, admin, webhook (default: read; admin implies all)"),
                    .value("env", \.environment, .choice("ENV", KeyEnvironment.self), help: "environment: live (default) or test"),
                    .value("expires-in", \.expiresIn, .duration(), help: expiresInHelp),
                    .value("expires-at", \.expiresAt, .time, help: "expire at TIME, RFC 3339 (2027-01-01T00:00:00Z)"),
                    .value("description", \.description, .string("TEXT"), help: "what the key is for, up to 500 characters (not unique)"),
                    .value("format", \.format, .choice("FORMAT", APIKey.Format.self), help: formatHelp),
                ],
                forms: [
                    [
                        .argument(\.name), .option(\.permissions), .option(\.environment), .either([\.expiresIn, \.expiresAt]),
                        .option(\.description),
                        .option(\.format),
                    ]
                ],
                run: CreateCommand.run)
        case .list:
            .make(
                .list, ListOptions.self, summary: "list keys, newest first",
                discussion: "Never shows a secret: only the hint (prefix, environment and last four characters).",
                options: [
                    .list(
                        "status", \.statuses, metavar: "STATUS",
                        help: "only keys with this status: active, expired, retiring, revoked (comma-separated)"),
                    .value(
                        "expiring-within", \.expiringWithin, .duration(minimum: 0),
                        help: "only keys that are not revoked and expire within DURATION"),
                    .flag("all", \.all, help: "also revoked keys (left out unless --all or --status asks for them)"),
                ],
                run: ListCommand.run)
        case .show:
            .make(
                .show, ShowOptions.self, summary: "show one key's record",
                discussion: "KEY is a key's id or name.",
                arguments: [.required("KEY", .key, \.key, .string("KEY"), help: "the key's id or name")],
                run: ShowCommand.run)
        case .revoke:
            .make(
                .revoke, RevokeOptions.self, summary: "revoke keys, all or nothing",
                discussion: "Revokes every key named, or none of them. The last key that is not revoked cannot be revoked (LAST_KEY).",
                arguments: [.repeated("KEY", .key, \.keys, .string("KEY"), help: "a key's id or name")],
                run: RevokeCommand.run)
        case .rotate:
            .make(
                .rotate, RotateOptions.self, summary: "replace a key with a new one",
                discussion:
                    "The new key keeps the name, environment and permissions and prints once. Without --grace the old key is revoked at once; with it, the old key is retiring and still verifies until the grace ends (at most 7d). With --expiring-within, rotates every active or expired key that expires within DURATION.",
                arguments: [.optional("KEY", .key, \.key, .string("KEY"), help: "the key's id or name")],
                options: [
                    .value(
                        "grace", \.grace, .duration(maximum: RotateCommand.maximumGrace), help: "keep the old key valid for DURATION (at most 7d)"),
                    .value("expires-in", \.expiresIn, .duration(), help: expiresInHelp),
                    .value(
                        "expiring-within", \.expiringWithin, .duration(minimum: 0),
                        help: "rotate every active or expired key that expires within DURATION"),
                    .value("format", \.format, .choice("FORMAT", APIKey.Format.self), help: formatHelp),
                ],
                forms: [
                    [.required(\.key), .option(\.grace), .option(\.expiresIn), .option(\.format)],
                    [.required(\.expiringWithin), .option(\.grace), .option(\.expiresIn), .option(\.format)],
                ],
                run: RotateCommand.run)
        case .update:
            .make(
                .update, UpdateOptions.self, summary: "change a key in place, keeping its secret",
                discussion:
                    "Changes a key's name, description, permissions or expiry; its secret and id stay. A revoked or retiring key cannot be updated (KEY_REVOKED). An empty --description clears it. An update that changes nothing is refused and writes nothing.",
                arguments: [.required("KEY", .key, \.key, .string("KEY"), help: "the key's id or name")],
                options: [
                    .value("name", \.name, .string("NAME"), help: "a new name, 1-100 characters, unique among keys in use"),
                    .value("description", \.description, .string("TEXT"), help: "a new description, up to 500 characters; '' clears it"),
                    .list("permissions", \.permissions, help: "the new permissions, comma-separated: read, write, admin, webhook"),
                    .value("expires-in", \.expiresIn, .duration(), help: "expire DURATION from now, e.g. 90d"),
                    .value("expires-at", \.expiresAt, .time, help: "expire at TIME, RFC 3339 (2027-01-01T00:00:00Z)"),
                    .flag("no-expiry", \.noExpiry, help: "never expire"),
                ],
                forms: [
                    [
                        .argument(\.key), .option(\.name), .option(\.description), .option(\.permissions),
                        .either([\.expiresIn, \.expiresAt, \.noExpiry]),
                    ]
                ],
                run: UpdateCommand.run)
        case .config:
            .make(
                .config, ConfigOptions.self, summary: "show the keystore's settings, or change its key limit",
                discussion:
                    "Without options, prints the keystore's path, format version, prefix, key limit (max_keys), keys in use and records; reading never writes. --max-keys changes the limit, refused below the number of keys in use (KEY_LIMIT_REACHED). The prefix never changes: every key carries it.",
                options: [
                    .value(
                        "max-keys", \.maxKeys, .integer("N", in: Keystore.maxKeysRange), help: "a new key limit, 1-100000, at least the keys in use")
                ],
                run: ConfigCommand.run)
        case .prune:
            .make(
                .prune, PruneOptions.self, summary: "remove the records of keys revoked long ago",
                discussion:
                    "Removes, in one write, the records of keys revoked DURATION ago or earlier (a retiring key never). Their history stays in the audit log ('keyctl log KEY_ID'); verify answers such a key INVALID_API_KEY. Prints the removed records. --dry-run prints them and changes nothing.",
                options: [
                    .value(
                        "revoked-before", \.revokedBefore, .duration(minimum: 0),
                        help: "remove keys revoked at least DURATION ago, e.g. 90d (0s: every revoked key)"),
                    .flag("dry-run", \.dryRun, help: "print what would be removed; change nothing"),
                ],
                forms: [[.required(\.revokedBefore), .option(\.dryRun)]],
                run: PruneCommand.run)
        case .log:
            .make(
                .log, LogOptions.self, summary: "show the audit log, or verify its chain",
                discussion:
                    "Every change to the keystore has one entry in PATH.log: who (uid, user, $KEYCTL_ACTOR), when, the command, and each changed field's old and new value; never a secret. Oldest first. --verify checks every entry's hash chain against the head the keystore records and prints the last entry's hash; keep it elsewhere to detect a rewrite of the whole log.",
                arguments: [
                    .optional("KEY", .key, \.key, .string("KEY"), help: "only entries about this key (id or name; a pruned key by its id)")
                ],
                options: [
                    .value("since", \.since, .duration(), help: "only entries from the last DURATION"),
                    .flag("verify", \.verify, help: "check the whole chain; exit 0 and print the last hash, or 65 LOG_CORRUPT"),
                ],
                forms: [[.argument(\.key), .option(\.since)], [.required(\.verify)]],
                run: LogCommand.run)
        case .verify:
            .make(
                .verify, VerifyOptions.self, summary: "check a key; the exit status tells the answer",
                discussion:
                    "Reads the key from standard input (first line) when none is given, or from the variable named by --from-env: an argument shows up in ps. The key may also come as any header 'create --format' prints. Exits 0 valid, 1 invalid or missing, 2 expired, 3 revoked, 4 forbidden. --batch answers every line of standard input with a line of JSON and exits 0 at its end.",
                arguments: [.optional("KEY", .apiKey, \.key, .string("KEY"), help: "the API key (prefer standard input or --from-env)")],
                options: [
                    .value("from-env", \.fromEnv, .string("VAR"), help: "read the key from the environment variable VAR"),
                    .list(
                        "require", \.require, metavar: "PERMISSION",
                        help: "fail with FORBIDDEN unless the key has this permission (admin implies all)"),
                    .flag("no-stamp", \.noStamp, help: "do not record this check as a use of the key (last_used_at)"),
                    .flag("batch", \.batch, help: "answer each line of standard input with one line of JSON"),
                ],
                run: VerifyCommand.run)
        case .completions:
            .make(
                .completions, CompletionsOptions.self, summary: "print a shell completion script",
                discussion: "Prints the same text as the files in completions/.",
                arguments: [.required("SHELL", .shell, \.shell, .choice("SHELL", Shell.self), help: "bash, zsh or fish")],
                run: CompletionsCommand.run)
        case .help:
            .make(
                .help, HelpOptions.self, summary: "show help for keyctl or a command",
                discussion: "Same as --help.",
                arguments: [.optional("COMMAND", .command, \.command, .choice("COMMAND", CommandName.self), help: "a command name")],
                run: HelpCommand.run)
        }
    }

    static let expiresInHelp = "expire after DURATION, e.g. 90d or 1d12h"
    static let formatHelp = "print the key as raw (default), bearer, basic, x-api-key or env"

    public static func command(named name: String) -> CommandSpec? {
        CommandName(rawValue: name).map(spec)
    }

    /// Environment variables keyctl reads, for help, the man page and its drift test.
    public static let environmentVariables: [(name: String, help: String)] = [
        ("KEYCTL_KEYSTORE", "the keystore file, unless --keystore is given"),
        ("XDG_DATA_HOME", "the keystore is $XDG_DATA_HOME/keyctl/keystore.json when KEYCTL_KEYSTORE is unset"),
        ("HOME", "the keystore is ~/.local/share/keyctl/keystore.json when neither is set"),
        ("KEYCTL_LOCK_TIMEOUT", "seconds to wait for the keystore lock (default 10)"),
        ("KEYCTL_ACTOR", "who is acting (a CI job, a ticket), recorded in the audit log with the user"),
        ("NO_COLOR", "when set, list prints no colour"),
        ("TERM", "when dumb, list prints no colour"),
    ]
}

// MARK: - Each command's options

public struct InitOptions: CommandOptions {
    public var prefix: String?
    public var maxKeys: Int?
    public init() {}
}

public struct CreateOptions: CommandOptions {
    public var name = ""
    public var permissions: [Permission]?
    public var environment: KeyEnvironment?
    public var expiresIn: Int64?
    public var expiresAt: Timestamp?
    public var description: String?
    public var format: APIKey.Format?
    public init() {}
}

public struct ListOptions: CommandOptions {
    public var statuses: [KeyStatus]?
    public var expiringWithin: Int64?
    public var all = false
    public init() {}
}

public struct ShowOptions: CommandOptions {
    public var key = ""
    public init() {}
}

public struct RevokeOptions: CommandOptions {
    public var keys: [String] = []
    public init() {}
}

public struct RotateOptions: CommandOptions {
    public var key: String?
    public var grace: Int64?
    public var expiresIn: Int64?
    public var expiringWithin: Int64?
    public var format: APIKey.Format?
    public init() {}
}

public struct UpdateOptions: CommandOptions {
    public var key = ""
    public var name: String?
    public var description: String?
    public var permissions: [Permission]?
    public var expiresIn: Int64?
    public var expiresAt: Timestamp?
    public var noExpiry = false
    public init() {}
}

public struct ConfigOptions: CommandOptions {
    public var maxKeys: Int?
    public init() {}
}

public struct PruneOptions: CommandOptions {
    public var revokedBefore: Int64?
    public var dryRun = false
    public init() {}
}

public struct LogOptions: CommandOptions {
    public var key: String?
    public var since: Int64?
    public var verify = false
    public init() {}
}

public struct VerifyOptions: CommandOptions {
    public var key: String?
    public var fromEnv: String?
    public var require: [Permission]?
    public var noStamp = false
    public var batch = false
    public init() {}
}

public struct CompletionsOptions: CommandOptions {
    /// SHELL is required, so the parser always sets it.
    public var shell = Shell.bash
    public init() {}
}

public struct HelpOptions: CommandOptions {
    public var command: CommandName?
    public init() {}
}
