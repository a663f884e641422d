// The completion scripts in completions/ are exactly what the generator prints,
// and the generator covers the whole command table.
// After a change to the table, regenerate with: Tests/Shell/regenerate-completions

import Foundation
import Testing

@testable import KeyCtlCore

enum Repository {
    /// The repository root, three levels above this file (Tests/KeyCtlCoreTests/X.swift).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func bytes(_ path: String) throws -> [UInt8] {
        let url = root.appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FileMissing(path: url.path)
        }
        return Array(data)
    }

    struct FileMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "cannot read \(path)" }
    }
}

@Suite struct CompletionsTests {
    @Test(arguments: Shell.allCases)
    func committedFileIsTheGeneratorsOutput(shell: Shell) throws {
        let path = "completions/" + Completions.fileName(for: shell)
        let committed = try Repository.bytes(path)
        let generated = Array(Completions.script(for: shell).utf8)
        let same = committed == generated
        #expect(
            same,
            "\(path) differs from `keyctl completions \(shell.rawValue)` \(Self.firstDifference(committed, generated)); run Tests/Shell/regenerate-completions"
        )
    }

    /// Where two texts first differ, as "at line N: "…" vs "…"".
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
        let left = String(decoding: a, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let right = String(decoding: b, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(left.count, right.count) {
            let l = index < left.count ? String(left[index]) : "<end of file>"
            let r = index < right.count ? String(right[index]) : "<end of file>"
            if l != r { return "at line \(index + 1): file has \"\(l)\", generator prints \"\(r)\"" }
        }
        return ""
    }

    @Test func shellNamesAreTheParsersAndTheTables() throws {
        let completions = try #require(CommandTable.command(named: "completions"))
        #expect(completions.arguments.first?.values == Shell.allCases.map(\.rawValue))
        #expect(Shell(rawValue: "powershell") == nil)
        #expect(Shell(rawValue: "Bash") == nil)
    }

    /// How each shell's script names an option: bash and zsh by its spelling,
    /// fish by `-l name` / `-s x`.
    static func mentions(_ option: OptionSpec, in script: String, shell: Shell) -> Bool {
        switch shell {
        case .bash, .zsh:
            return script.contains(option.flag) && (option.short.map { script.contains("-\($0)") } ?? true)
        case .fish:
            return script.contains("-l \(option.name) ") && (option.short.map { script.contains("-s \($0) ") } ?? true)
        }
    }

    @Test(arguments: Shell.allCases)
    func scriptCoversTheTable(shell: Shell) {
        let script = Completions.script(for: shell)
        for command in CommandTable.commands {
            #expect(script.contains(command.name.rawValue), "\(shell): command \(command.name.rawValue)")
            for option in command.options {
                #expect(Self.mentions(option, in: script, shell: shell), "\(shell): \(command.name.rawValue) \(option.flag)")
                for value in option.values {
                    #expect(script.contains(value), "\(shell): \(option.flag) value \(value)")
                }
            }
        }
        for option in CommandTable.globalOptions {
            #expect(Self.mentions(option, in: script, shell: shell), "\(shell): global \(option.flag)")
        }
        for name in Shell.allCases.map(\.rawValue) {
            #expect(script.contains(name))
        }
        #expect(script.contains(Completions.keyNamesCommand + " 2>/dev/null"), "\(shell): key names must be fetched with stderr discarded")
        #expect(script.hasSuffix("\n"))
    }

    /// Each script parses in its shell, where that shell is installed
    /// (Tests/Shell/run-completion-tests drives them for real).
    @Test(arguments: Shell.allCases)
    func scriptParses(shell: Shell) throws {
        let candidates = ["/bin/", "/usr/bin/", "/usr/local/bin/"].map { $0 + shell.rawValue }
        guard let executable = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else { return }
        let file = Repository.root.appendingPathComponent("completions/" + Completions.fileName(for: shell))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-n", file.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(shell.rawValue) -n: \(message)")
        #expect(message.isEmpty, "\(shell.rawValue) -n: \(message)")
    }
}
