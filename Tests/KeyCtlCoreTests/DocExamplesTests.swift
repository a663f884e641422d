// Docs must not show keys or ids keyctl could never make (issue 8 item 18: the man
// page's example key failed its own checksum and its example id had 10 digits where
// keyctl makes 16). Every key-shaped, hint-shaped, Basic-header and id-shaped string in
// README.md and the man pages is found and checked against the real format: keys with
// the real parser (APIKey.parse) and the length keyctl makes, ids against
// KeyRecord.idDigits. A string the docs show wrong on purpose is allowed by its exact
// text only, and must still be wrong in exactly the way the docs say.

import Foundation
import Testing

@testable import KeyCtlCore

@Suite struct DocExamplesTests {
    static let documents = ["README.md", "man/keyctl.1", "man/keyctl-keystore.5"]

    /// Shown wrong on purpose: the file, the exact text, and how it must fail.
    static let deliberatelyWrong: [(file: String, text: String, problem: APIKey.ParseProblem)] = [
        // The tour's typo example: verify answers that the checksum does not match.
        ("README.md", "ak_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", .badChecksum)
    ]

    struct Finding: CustomStringConvertible {
        var line: Int
        var text: String
        var problem: String?
        var description: String { "line \(line): \(text.debugDescription): \(problem ?? "ok")" }
    }

    /// The text a reader sees: a man page's escapes for `-`, `…` and the zero-width `\&` undone.
    static func readable(_ source: String, path: String) -> String {
        guard path.hasPrefix("man/") else { return source }
        return source.replacingOccurrences(of: "\\&", with: "").replacingOccurrences(of: "\\-", with: "-")
            .replacingOccurrences(of: "\\[u2026]", with: "\u{2026}").replacingOccurrences(of: "\\(u2026", with: "\u{2026}")
    }

    static func isBase62(_ c: UInt8) -> Bool { Base62.isDigit(c) }
    static func isWord(_ c: UInt8) -> Bool { Base62.isDigit(c) || c == UInt8(ascii: "_") }
    static func isPrefixChar(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }

    /// The run of bytes from `i` that satisfy `accept`.
    static func run(_ line: [UInt8], from i: Int, _ accept: (UInt8) -> Bool) -> Int {
        var j = i
        while j < line.count, accept(line[j]) { j += 1 }
        return j
    }

    /// What is wrong with `key` as a key keyctl makes, nil when nothing is.
    static func keyProblem(_ key: String) -> String? {
        switch APIKey.parse(key) {
        case .failure(.malformed): return "malformed"
        case .failure(.badChecksum): return "bad checksum (should end \(APIKey.checksum(of: String(key.dropLast(APIKey.checksumLength)))))"
        case .success(let parsed):
            let body = parsed.text.count - parsed.prefix.count - parsed.environment.rawValue.count - 2
            let made = APIKey.randomLength + APIKey.checksumLength
            return body == made ? nil : "a body of \(body) characters; keyctl makes \(made)"
        }
    }

    /// Every key-, hint-, Basic- and id-shaped string in `text`, each with its problem.
    static func findings(in text: String) -> [Finding] {
        var found: [Finding] = []
        for (n, lineText) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Array(lineText.utf8)
            func string(_ r: Range<Int>) -> String { String(decoding: line[r], as: UTF8.self) }
            func at(_ i: Int, _ literal: String) -> Bool {
                let l = Array(literal.utf8)
                return i + l.count <= line.count && Array(line[i..<(i + l.count)]) == l
            }
            var i = 0
            while i < line.count {
                defer { i += 1 }
                let boundary = i == 0 || !isWord(line[i - 1])
                // A key: PREFIX_ENV_BODY. PREFIX is whatever lowercase run stands before
                // `_live_`/`_test_` (the parser judges its length).
                if boundary, isPrefixChar(line[i]) {
                    let prefixEnd = run(line, from: i, isPrefixChar)
                    let environment = KeyEnvironment.allCases.first { at(prefixEnd, "_\($0.rawValue)_") }
                    if let environment {
                        let bodyStart = prefixEnd + environment.rawValue.count + 2
                        let bodyEnd = run(line, from: bodyStart, isBase62)
                        if bodyEnd > bodyStart {
                            let key = string(i..<bodyEnd)
                            found.append(Finding(line: n + 1, text: key, problem: keyProblem(key)))
                        } else {
                            // A hint (`ak_live_…Qx9Q`, `ak_live_...Qx9Q`): exactly the last four.
                            let ellipsis = at(bodyStart, "\u{2026}") ? 3 : at(bodyStart, "...") ? 3 : 0
                            let tailEnd = run(line, from: bodyStart + ellipsis, isBase62)
                            let tail = tailEnd - bodyStart - ellipsis
                            if ellipsis > 0, tail > 0 {
                                found.append(
                                    Finding(
                                        line: n + 1, text: string(i..<tailEnd),
                                        problem: tail == 4 ? nil : "a hint shows the last 4 characters, not \(tail)"))
                            }
                        }
                        i = max(i, bodyStart - 1)
                        continue
                    }
                }
                // An id: `key_` and base62 digits (`key_…` is a placeholder, not an id).
                if boundary, at(i, "key_") {
                    let end = run(line, from: i + 4, isBase62)
                    if end > i + 4 {
                        let digits = end - i - 4
                        found.append(
                            Finding(
                                line: n + 1, text: string(i..<end),
                                problem: digits == KeyRecord.idDigits ? nil : "\(digits) digits; keyctl makes \(KeyRecord.idDigits)"))
                    }
                    i = end - 1
                    continue
                }
                // A Basic header: Base64 of KEY, KEY: or :KEY.
                if at(i, "Basic ") {
                    let start = i + 6
                    let end = run(line, from: start) { isBase62($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") }
                    if end - start >= 20 {
                        let encoded = string(start..<end)
                        if let decoded = Base64.decode(Array(encoded.utf8)) {
                            var key = String(decoding: decoded, as: UTF8.self)
                            if key.hasPrefix(":") { key.removeFirst() } else if key.hasSuffix(":") { key.removeLast() }
                            found.append(Finding(line: n + 1, text: "Basic \(encoded)", problem: keyProblem(key).map { "holds a key that is \($0)" }))
                        } else {
                            found.append(Finding(line: n + 1, text: "Basic \(encoded)", problem: "not Base64"))
                        }
                    }
                    i = end - 1
                }
            }
        }
        return found
    }

    static func findings(inFile path: String) throws -> [Finding] {
        findings(in: readable(String(decoding: try Repository.bytes(path), as: UTF8.self), path: path))
    }

    @Test(arguments: documents)
    func everyKeyAndIdShownIsOneKeyctlCouldMake(path: String) throws {
        let allowed = Self.deliberatelyWrong.filter { $0.file == path }.map(\.text)
        let found = try Self.findings(inFile: path)
        let wrong = found.filter { $0.problem != nil && !allowed.contains($0.text) }
        #expect(wrong.isEmpty, "\(path) shows keys or ids keyctl never makes:\n\(wrong.map(\.description).joined(separator: "\n"))")
    }

    @Test func theDeliberateMistakesAreStillThereAndWrongAsShown() throws {
        for (file, text, problem) in Self.deliberatelyWrong {
            #expect(try Self.findings(inFile: file).contains { $0.text == text }, "\(file) no longer shows \(text); drop it from the list")
            #expect(APIKey.parse(text).problem == problem, "\(text) must fail as \(problem)")
        }
    }

    /// The scan is not vacuous: the docs show real keys and ids, and each kind of mistake is caught.
    @Test func theScanFindsWhatItShould() throws {
        let readme = try Self.findings(inFile: "README.md")
        #expect(readme.filter { $0.text.hasPrefix("ak_") && $0.problem == nil }.count >= 3)
        #expect(readme.filter { $0.text.hasPrefix("key_") && $0.problem == nil }.count >= 3)
        let key = APIKey.generate(prefix: "acme", environment: .test) { Array(repeating: 3, count: $0) }.text
        var typo = Array(key.utf8)
        typo[12] = typo[12] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
        let short = String(key.prefix(10)) + String(key.suffix(30))
        let text = """
            $ echo \(key) | keyctl verify
            KEYCTL_API_KEY=\(String(decoding: typo, as: UTF8.self))
            x-api-key: \(short)
            Authorization: Basic \(Base64.encode(Array((key + ":").utf8)))
            Authorization: Basic \(Base64.encode(Array(String(decoding: typo, as: UTF8.self).utf8)))
            keyctl revoke key_4fQ2m9TzXw key_RReot9NoPbyBhGDa
            hints ak_live_\u{2026}Qx9Q and ak_live_...Qx9 and placeholders key_\u{2026}, ak_live_..., PREFIX_ENV_, max_keys
            """
        let found = Self.findings(in: text).map { ($0.line, $0.problem == nil) }
        let expected: [(Int, Bool)] = [(1, true), (2, false), (3, false), (4, true), (5, false), (6, false), (6, true), (7, true), (7, false)]
        #expect(found.map(\.0) == expected.map(\.0), "\(Self.findings(in: text))")
        #expect(found.map(\.1) == expected.map(\.1), "\(Self.findings(in: text))")
    }
}

extension Result {
    fileprivate var problem: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
