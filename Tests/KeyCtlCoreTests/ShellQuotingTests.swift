// Issue 8 item 15: a command keyctl suggests pastes into a POSIX shell as shown.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct ShellQuotingTests {
    @Test(arguments: [
        ("ci", "ci"), ("deploy-bot_2.0", "deploy-bot_2.0"), ("a/b:c@d%e+f,g", "a/b:c@d%e+f,g"),
        ("deploy bot", "'deploy bot'"), ("it's", #"'it'\''s'"#), ("", "''"), ("$HOME", "'$HOME'"),
        ("a`b`", "'a`b`'"), ("*", "'*'"), ("~root", "'~root'"), ("#x", "'#x'"), ("=x", "'=x'"), ("a!b", "'a!b'"),
        ("tab\there", "'tab\there'"), ("名前", "'名前'"), ("a\\b", "'a\\b'"), ("x;rm", "'x;rm'"),
    ])
    func quote(_ word: String, _ expected: String) {
        #expect(ShellQuoting.quote(word) == expected)
        #expect(posixWords("keyctl show " + ShellQuoting.quote(word)) == ["keyctl", "show", word] || word.contains("\t"))
    }

    @Test func anArgumentThatLooksLikeAnOptionGoesAfterDashDash() {
        #expect(ShellQuoting.command("rotate", argument: "-x") == "keyctl rotate -- -x")
        #expect(ShellQuoting.command("rotate", argument: "deploy bot") == "keyctl rotate 'deploy bot'")
        #expect(ShellQuoting.command("list", "--help") == "keyctl list --help")
    }

    /// A suggested command in a string: `keyctl` after a quote, a parenthesis or a
    /// colon, then words (commands, options, PLACEHOLDERS), then an interpolation
    /// that is not ShellQuoting's (the version and a table's command name need none).
    static func suggestion() throws -> NSRegularExpression {
        try NSRegularExpression(
            pattern:
                #"(?:['"`(]|: )keyctl(?: (?:[a-z][-a-z]*|-[-a-z]+|[A-Z]+))* ?\\\((?!ShellQuoting\.|CommandTable\.version\)|command\.name\.rawValue\))"#
        )
    }

    /// No message in Sources suggests a `keyctl …` command with a value
    /// interpolated into it except through ShellQuoting (the table's own words —
    /// command names and the version — need no quoting).
    @Test func everySuggestedCommandGoesThroughTheHelper() throws {
        let regex = try Self.suggestion()
        let sources = Repository.root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10)
        var offenders: [String] = []
        for file in files where !file.hasSuffix("CompletionScripts.swift") {
            let text = String(decoding: try Repository.bytes("Sources/" + file), as: UTF8.self)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = String(line)
                if regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                    offenders.append("\(file):\(n + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(offenders.isEmpty, "build suggested commands with ShellQuoting.command:\n\(offenders.joined(separator: "\n"))")
    }

    /// The scan catches the 1.0 hint.
    @Test func theScanCatchesTheOldHint() throws {
        let regex = try Self.suggestion()
        for line in [
            #"hint: "choose another name, or rotate that key with 'keyctl rotate \(name)'")"#,
            #"let help = command.map { "keyctl \($0) --help" }"#,
            #"hint: "run 'keyctl update --name NEW \(id)'""#,
        ] {
            #expect(regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil, "\(line)")
        }
    }
}
