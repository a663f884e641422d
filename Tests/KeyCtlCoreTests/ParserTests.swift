// argv → ParsedArguments as tables, apart from running anything.

import Testing

@testable import KeyCtlCore

@Suite struct ParserTests {
    /// A parsed command line as a table: option name → values as given ("" for a flag).
    static func table(_ p: ParsedArguments) -> [String: [String]] {
        var out: [String: [String]] = [:]
        if let keystore = p.globals.keystore { out["keystore"] = [keystore] }
        if p.globals.json { out["json"] = [""] }
        if p.globals.help { out["help"] = [""] }
        if p.globals.version { out["version"] = [""] }
        for given in p.given {
            out[p.command!.options[given.option].name, default: []].append(given.value)
        }
        return out
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var argv: [String]
        var command: String?
        var options: [String: [String]] = [:]
        var positionals: [String] = []
        var help = false
        var version = false
        var testDescription: String { argv.joined(separator: " ") }
    }

    static let accepted: [Case] = [
        Case(argv: ["list"], command: "list"),
        Case(argv: ["create", "ci"], command: "create", positionals: ["ci"]),
        Case(argv: ["create", "ci", "--env", "test"], command: "create", options: ["env": ["test"]], positionals: ["ci"]),
        Case(argv: ["create", "ci", "--env=test"], command: "create", options: ["env": ["test"]], positionals: ["ci"]),
        Case(argv: ["create", "--env=test", "ci"], command: "create", options: ["env": ["test"]], positionals: ["ci"]),
        Case(argv: ["create", "ci", "--expires-in=1d=2"], command: "create", options: ["expires-in": ["1d=2"]], positionals: ["ci"]),
        Case(argv: ["create", "ci", "--env="], command: "create", options: ["env": [""]], positionals: ["ci"]),
        // A value may start with a dash: it is the option's value, not an option.
        Case(argv: ["create", "ci", "--expires-in", "-5d"], command: "create", options: ["expires-in": ["-5d"]], positionals: ["ci"]),
        Case(argv: ["create", "ci", "--env", "live", "--env", "test"], command: "create", options: ["env": ["live", "test"]], positionals: ["ci"]),
        // Global options before or after the command.
        Case(argv: ["--json", "list"], command: "list", options: ["json": [""]]),
        Case(argv: ["list", "--json"], command: "list", options: ["json": [""]]),
        Case(argv: ["--keystore", "/k.json", "list"], command: "list", options: ["keystore": ["/k.json"]]),
        Case(argv: ["--keystore=/k.json", "list"], command: "list", options: ["keystore": ["/k.json"]]),
        Case(argv: ["list", "--keystore", "/k.json"], command: "list", options: ["keystore": ["/k.json"]]),
        Case(argv: ["show", "ci", "--keystore=/k", "--json"], command: "show", options: ["keystore": ["/k"], "json": [""]], positionals: ["ci"]),
        // `--` ends the options.
        Case(argv: ["create", "--", "--weird"], command: "create", positionals: ["--weird"]),
        Case(argv: ["revoke", "a", "--", "-b", "--json"], command: "revoke", positionals: ["a", "-b", "--json"]),
        Case(argv: ["verify", "-"], command: "verify", positionals: ["-"]),
        // Help and version.
        Case(argv: ["--help"], command: nil, options: ["help": [""]], help: true),
        Case(argv: ["-h"], command: nil, options: ["help": [""]], help: true),
        Case(argv: ["create", "-h"], command: "create", options: ["help": [""]], help: true),
        Case(argv: ["--version"], command: nil, options: ["version": [""]], version: true),
        Case(argv: ["help", "create"], command: "help", positionals: ["create"]),
        Case(argv: [], command: nil),
    ]

    @Test(arguments: accepted)
    func accepts(_ c: Case) throws {
        let result = try ArgumentParser.parse(c.argv)
        #expect(result.command?.name.rawValue == c.command)
        #expect(Self.table(result) == c.options)
        #expect(result.positionals == c.positionals)
        #expect(result.wantsHelp == c.help)
        #expect(result.wantsVersion == c.version)
    }

    /// The typed options a command line gives `command`.
    static func options<Options: CommandOptions>(_ type: Options.Type, _ argv: [String]) throws -> Options {
        let parsed = try ArgumentParser.parse(argv)
        let spec = try #require(parsed.command)
        return try #require(try spec.decode(parsed) as? Options)
    }

    @Test func lastValueWins() throws {
        let p = try ArgumentParser.parse(["create", "ci", "--env", "live", "--env=test", "--keystore", "/a", "--keystore=/b"])
        #expect(p.globals.keystore == "/b")
        #expect(!p.json)
        let o = try Self.options(CreateOptions.self, ["create", "ci", "--env", "live", "--env=test"])
        #expect(o.environment == .test)
        #expect(o.permissions == nil)
        #expect(o.name == "ci")
    }

    @Test func optionsArriveTyped() throws {
        let r = try Self.options(RotateOptions.self, ["rotate", "ci", "--grace", "1d", "--expires-in=1d12h", "--format", "x-api-key"])
        #expect(r.key == "ci" && r.grace == 86400 && r.expiresIn == 129600 && r.format == .xAPIKey && r.expiringWithin == nil)
        let batch = try Self.options(RotateOptions.self, ["rotate", "--expiring-within", "0s"])
        #expect(batch.key == nil && batch.expiringWithin == 0)
        let c = try Self.options(CreateOptions.self, ["create", "ci", "--expires-at", "2027-01-01T00:00:00Z", "--permissions", "write,read"])
        #expect(c.expiresAt == RFC3339.parse(Array("2027-01-01T00:00:00Z".utf8)))
        #expect(c.permissions == [.write, .read])
        let i = try Self.options(InitOptions.self, ["init", "--prefix", "zz", "--max-keys", "3"])
        #expect(i.prefix == "zz" && i.maxKeys == 3)
        #expect(try Self.options(RevokeOptions.self, ["revoke", "a", "b", "--", "-c"]).keys == ["a", "b", "-c"])
        #expect(try Self.options(CompletionsOptions.self, ["completions", "fish"]).shell == .fish)
        #expect(try Self.options(HelpOptions.self, ["help", "rotate"]).command == .rotate)
        #expect(try Self.options(HelpOptions.self, ["help"]).command == nil)
        let v = try Self.options(VerifyOptions.self, ["verify", "--from-env", "K", "--require", "read", "--require=admin,read"])
        #expect(v.fromEnv == "K" && v.require == [.read, .admin] && v.key == nil)
        #expect(try Self.options(ListOptions.self, ["list", "--status", "revoked,active"]).statuses == [.revoked, .active])
    }

    struct ValueFailure: CustomTestStringConvertible, Sendable {
        var argv: [String]
        var message: String
        var testDescription: String { argv.joined(separator: " ") }
    }

    static let badValues: [ValueFailure] = [
        ValueFailure(argv: ["create", "ci", "--env", "prod"], message: "invalid value 'prod' for --env (expected live, test)"),
        ValueFailure(
            argv: ["create", "ci", "--format", "jwt"], message: "invalid value 'jwt' for --format (expected raw, bearer, basic, x-api-key, env)"),
        ValueFailure(argv: ["create", "ci", "--permissions", "read,bogus"], message: "invalid value 'bogus' for --permissions"),
        ValueFailure(argv: ["create", "ci", "--permissions", "read,"], message: "invalid value 'read,' for --permissions"),
        ValueFailure(argv: ["create", "ci", "--permissions", ""], message: "invalid value '' for --permissions"),
        ValueFailure(argv: ["create", "ci", "--expires-in", "soon"], message: "invalid duration 'soon' for --expires-in"),
        ValueFailure(argv: ["create", "ci", "--expires-in", "0s"], message: "--expires-in must be at least 1s, not '0s'"),
        ValueFailure(argv: ["create", "ci", "--expires-at", "tomorrow"], message: "invalid time 'tomorrow' for --expires-at"),
        ValueFailure(argv: ["rotate", "ci", "--grace", "8d"], message: "--grace can be at most 7d, not '8d'"),
        ValueFailure(argv: ["init", "--max-keys", "0"], message: "invalid value '0' for --max-keys (a whole number from 1 to 100000)"),
        ValueFailure(argv: ["list", "--status", "gone"], message: "invalid value 'gone' for --status"),
        ValueFailure(argv: ["completions", "tcsh"], message: "unknown shell 'tcsh' (expected bash, zsh, fish)"),
        ValueFailure(argv: ["help", "frobnicate"], message: "unknown command 'frobnicate'"),
        // Every occurrence is checked, not only the last.
        ValueFailure(argv: ["create", "ci", "--env", "prod", "--env", "live"], message: "invalid value 'prod' for --env"),
    ]

    @Test(arguments: badValues)
    func rejectsBadValues(_ f: ValueFailure) throws {
        let parsed = try ArgumentParser.parse(f.argv)
        let spec = try #require(parsed.command)
        let error = #expect(throws: KeyCtlError.self) { try spec.decode(parsed) }
        #expect(error?.code == .usage)
        #expect(error?.message.hasPrefix(f.message) == true, "\(error?.message ?? "")")
        #expect(error?.hint.hasSuffix("see 'keyctl \(f.argv[0]) --help'") == true, "\(error?.hint ?? "")")
    }

    struct Failure: CustomTestStringConvertible, Sendable {
        var argv: [String]
        /// The offending word, as the message must quote it.
        var word: String
        /// The help the hint must point to.
        var help: String
        var testDescription: String { argv.joined(separator: " ") }
    }

    static let rejected: [Failure] = [
        Failure(argv: ["frobnicate"], word: "'frobnicate'", help: "keyctl --help"),
        Failure(argv: ["--json", "frobnicate", "x"], word: "'frobnicate'", help: "keyctl --help"),
        Failure(argv: ["--bogus", "list"], word: "'--bogus'", help: "keyctl --help"),
        Failure(argv: ["list", "--bogus"], word: "'--bogus'", help: "keyctl list --help"),
        Failure(argv: ["list", "--bogus=1"], word: "'--bogus'", help: "keyctl list --help"),
        Failure(argv: ["list", "-x"], word: "'-x'", help: "keyctl list --help"),
        Failure(argv: ["list", "-hx"], word: "'-hx'", help: "keyctl list --help"),
        // A command's option before the command: it says whose it is.
        Failure(argv: ["--env", "test", "create", "ci"], word: "'--env'", help: "keyctl create --help"),
        Failure(argv: ["--grace", "1d", "rotate", "x"], word: "'--grace'", help: "keyctl rotate --help"),
        Failure(argv: ["--format", "env", "create", "x"], word: "'--format'", help: "keyctl --help"),
        // An option of another command.
        Failure(argv: ["list", "--env", "test"], word: "'--env'", help: "keyctl list --help"),
        Failure(argv: ["create", "ci", "--env"], word: "'--env'", help: "keyctl create --help"),
        Failure(argv: ["--keystore"], word: "'--keystore'", help: "keyctl --help"),
        Failure(argv: ["list", "--json=yes"], word: "'--json", help: "keyctl list --help"),
    ]

    @Test(arguments: rejected)
    func rejects(_ f: Failure) {
        do {
            let p = try ArgumentParser.parse(f.argv)
            Issue.record("parsed \(f.argv) as \(p)")
        } catch let error as KeyCtlError {
            #expect(error.code == .usage)
            #expect(error.message.contains(f.word), "\(error.message)")
            #expect(error.hint.contains(f.help), "\(error.hint)")
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theFirstMistakeIsReported() {
        #expect(throws: KeyCtlError.usage("unknown option '--one'", command: "list")) {
            try ArgumentParser.parse(["list", "--one", "--two"])
        }
    }

    @Test(arguments: [
        ["list", "--bogus", "--help"],
        ["frobnicate", "-h"],
        ["--help", "frobnicate"],
        ["list", "--json=yes", "--help"],
        ["--bogus", "--version"],
    ])
    func helpAndVersionWinOverErrors(_ argv: [String]) throws {
        let p = try ArgumentParser.parse(argv)
        #expect(p.wantsHelp || p.wantsVersion)
    }

    // MARK: Arity

    struct ArityCase: CustomTestStringConvertible, Sendable {
        var argv: [String]
        var error: String?
        var testDescription: String { argv.joined(separator: " ") }
    }

    static let arity: [ArityCase] = [
        ArityCase(argv: ["show"], error: "missing KEY for 'show'"),
        ArityCase(argv: ["show", "a"], error: nil),
        ArityCase(argv: ["show", "a", "b"], error: "unexpected argument 'b'"),
        ArityCase(argv: ["create"], error: "missing NAME for 'create'"),
        ArityCase(argv: ["create", "a", "b"], error: "unexpected argument 'b'"),
        ArityCase(argv: ["list", "extra"], error: "unexpected argument 'extra'"),
        ArityCase(argv: ["init", "x"], error: "unexpected argument 'x'"),
        ArityCase(argv: ["revoke"], error: "missing KEY for 'revoke'"),
        ArityCase(argv: ["revoke", "a", "b", "c"], error: nil),
        ArityCase(argv: ["rotate"], error: nil),
        ArityCase(argv: ["rotate", "a", "b"], error: "unexpected argument 'b'"),
        ArityCase(argv: ["verify"], error: nil),
        ArityCase(argv: ["verify", "k", "extra"], error: "unexpected argument 'extra'"),
        ArityCase(argv: ["completions"], error: "missing SHELL for 'completions'"),
        ArityCase(argv: ["help", "a", "b"], error: "unexpected argument 'b'"),
    ]

    @Test(arguments: arity)
    func checksArity(_ c: ArityCase) throws {
        let p = try ArgumentParser.parse(c.argv)
        let spec = try #require(p.command)
        if let expected = c.error {
            let error = #expect(throws: KeyCtlError.self) { try ArgumentParser.checkArity(p, spec) }
            #expect(error?.code == .usage)
            #expect(error?.message == expected)
            #expect(error?.hint == "see 'keyctl \(c.argv[0]) --help'")
        } else {
            #expect(throws: Never.self) { try ArgumentParser.checkArity(p, spec) }
        }
    }

    // MARK: Keystore location

    @Test func keystoreLocation() throws {
        func path(_ option: String?, _ env: [String: String]) throws -> String {
            try Invocation.keystorePath(option: option, environment: { env[$0] })
        }
        let all = ["KEYCTL_KEYSTORE": "/env/k.json", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"]
        #expect(try path("/opt.json", all) == "/opt.json")
        #expect(try path(nil, all) == "/env/k.json")
        #expect(try path(nil, ["XDG_DATA_HOME": "/xdg", "HOME": "/home/u"]) == "/xdg/keyctl/keystore.json")
        #expect(try path(nil, ["HOME": "/home/u"]) == "/home/u/.local/share/keyctl/keystore.json")
        #expect(try path(nil, ["KEYCTL_KEYSTORE": "", "XDG_DATA_HOME": "", "HOME": "/home/u"]) == "/home/u/.local/share/keyctl/keystore.json")
        let none = #expect(throws: KeyCtlError.self) { try path(nil, [:]) }
        #expect(none?.code == .keystoreNotFound)
        let empty = #expect(throws: KeyCtlError.self) { try path("", all) }
        #expect(empty?.code == .usage)
    }
}
