// argv → ParsedArguments as tables, apart from running anything.

import Testing

@testable import KeyCtlCore

@Suite struct ParserTests {
    static func parsed(
        _ command: String?, _ options: [String: [String]] = [:], _ positionals: [String] = [],
        help: Bool = false, version: Bool = false
    ) -> ParsedArguments {
        var p = ParsedArguments()
        p.command = command.flatMap(CommandTable.command(named:))
        p.options = options
        p.positionals = positionals
        p.wantsHelp = help
        p.wantsVersion = version
        return p
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
        #expect(result == Self.parsed(c.command, c.options, c.positionals, help: c.help, version: c.version))
    }

    @Test func lastValueWins() throws {
        let p = try ArgumentParser.parse(["create", "ci", "--env", "live", "--env=test", "--keystore", "/a", "--keystore=/b"])
        #expect(p.value("env") == "test")
        #expect(p.keystorePath == "/b")
        #expect(!p.json)
        #expect(p.has("env"))
        #expect(!p.has("permissions"))
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
        // A command's option before the command is not known yet.
        Failure(argv: ["--env", "test", "create", "ci"], word: "'--env'", help: "keyctl --help"),
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

    // MARK: Lists

    @Test func listValues() throws {
        let allowed = Values.permissions
        #expect(try ArgumentParser.list("read", option: "permissions", allowed: allowed, command: "create") == ["read"])
        #expect(try ArgumentParser.list("write, read,write", option: "permissions", allowed: allowed, command: "create") == ["write", "read"])
        let bad = #expect(throws: KeyCtlError.self) {
            try ArgumentParser.list("read,bogus", option: "permissions", allowed: allowed, command: "create")
        }
        #expect(bad?.message.contains("'bogus'") == true)
        #expect(bad?.message.contains("--permissions") == true)
        #expect(throws: KeyCtlError.self) { try ArgumentParser.list("read,", option: "permissions", allowed: allowed, command: "create") }
        #expect(throws: KeyCtlError.self) { try ArgumentParser.list("", option: "permissions", allowed: allowed, command: "create") }
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
