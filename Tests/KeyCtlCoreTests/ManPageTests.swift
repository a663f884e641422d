// The drift test: everything the code knows a user can type or see — commands,
// their options, global options, environment variables, error codes and exit
// statuses — is documented in man/keyctl.1, in the right place, and the page
// documents nothing the code does not know. The page itself is checked by
// `mandoc -T lint -W warning` in .ci/steps/completions.sh.

import Foundation
import Testing

@testable import KeyCtlCore

/// man/keyctl.1 read as mdoc source: sections, and the items of a section's
/// outermost `.Bl` list.
struct ManPage {
    let lines: [String]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    static func load() throws -> ManPage {
        ManPage(String(decoding: try Repository.bytes("man/keyctl.1"), as: UTF8.self))
    }

    /// The lines of section `name` (after `.Sh NAME`, up to the next `.Sh`).
    func section(_ name: String) -> [String] {
        guard let start = lines.firstIndex(of: ".Sh " + name) else { return [] }
        let rest = lines[(start + 1)...]
        let end = rest.firstIndex { $0.hasPrefix(".Sh ") } ?? lines.endIndex
        return Array(lines[(start + 1)..<end])
    }

    /// The items of the first list in `lines` that sit at depth 1, keyed by the
    /// `.It` line's text, each with every line up to the next such item
    /// (nested lists included).
    static func items(_ lines: [String]) -> [(head: String, body: [String])] {
        var items: [(head: String, body: [String])] = []
        var depth = 0
        for line in lines {
            if line.hasPrefix(".Bl ") { depth += 1 }
            if line.hasPrefix(".El") { depth -= 1 }
            if depth == 1, line.hasPrefix(".It ") {
                items.append((String(line.dropFirst(4)), []))
            }
            if !items.isEmpty, depth >= 1 { items[items.count - 1].body.append(line) }
        }
        return items
    }

    /// The arguments of every `macro` call in `lines`, e.g. `Fl` → ["-keystore", "h", …].
    static func arguments(of macro: String, in lines: [String]) -> [String] {
        var found: [String] = []
        for line in lines where line.hasPrefix(".") {
            let words = line.dropFirst().split(separator: " ").map(String.init)
            for (index, word) in words.enumerated() where word == macro && index + 1 < words.count {
                found.append(words[index + 1])
            }
        }
        return found
    }

    /// `Fl` arguments as the flags they print: `-keystore` → `--keystore`, `h` → `-h`.
    static func flags(in lines: [String]) -> Set<String> {
        Set(arguments(of: "Fl", in: lines).map { "-" + $0 })
    }
}

@Suite struct ManPageTests {
    static func spellings(_ option: OptionSpec) -> [String] {
        [option.flag] + (option.short.map { ["-\($0)"] } ?? [])
    }

    @Test func everyCommandAndItsOptionsAreDocumented() throws {
        let page = try ManPage.load()
        let items = ManPage.items(page.section("COMMANDS"))
        let documented = items.compactMap { $0.head.split(separator: " ").dropFirst().first.map(String.init) }
        let synopsis = page.section("SYNOPSIS")
        let globals = Set(CommandTable.globalOptions.flatMap(Self.spellings))
        for command in CommandTable.commands {
            let name = command.name.rawValue
            let mine = items.filter { $0.head.hasPrefix("Cm \(name) ") || $0.head == "Cm \(name)" }
            #expect(mine.count == 1, "COMMANDS needs exactly one `.It Cm \(name) …` item, found \(mine.count)")
            #expect(synopsis.contains(".Cm \(name)"), "SYNOPSIS lacks `.Cm \(name)`")
            let body = mine.flatMap { [".It " + $0.head] + $0.body }
            let flags = ManPage.flags(in: body)
            for option in command.options {
                #expect(flags.contains(option.flag), "COMMANDS, \(name): \(option.flag) is not documented")
                #expect(ManPage.flags(in: synopsis).contains(option.flag), "SYNOPSIS lacks \(option.flag)")
            }
            let known = Set(command.options.flatMap(Self.spellings)).union(globals)
            for flag in flags {
                #expect(known.contains(flag), "COMMANDS, \(name): documents \(flag), which \(name) does not accept")
            }
        }
        let names = Set(CommandTable.commands.map(\.name.rawValue))
        for name in documented {
            #expect(names.contains(name), "COMMANDS documents `\(name)`, which is not a command")
        }
    }

    /// A usage form as mdoc SYNOPSIS lines: `.Cm rotate`, `.Ar KEY`, `.Op Fl -grace Ar DURATION`.
    static func mdoc(_ command: CommandSpec, _ form: UsageForm) -> [String] {
        [".Cm " + command.name.rawValue]
            + form.items.map { item in
                let text = item.alternatives.map { part -> String in
                    switch part {
                    case .option(let o):
                        guard let metavar = o.valueName else { return "Fl -" + o.name }
                        let value = Help.showsValues(o.values, list: o.isList) ? "Cm " + o.values.joined(separator: " | ") : "Ar " + metavar
                        return "Fl -\(o.name) " + value
                    case .argument(let a):
                        let text = Help.showsValues(a.values, list: false) ? "Cm " + a.values.joined(separator: " | ") : "Ar " + a.name
                        return text + (a.isRepeated ? " ..." : "")
                    }
                }.joined(separator: " | ")
                return item.isOptional ? ".Op " + text : "." + text
            }
    }

    /// The SYNOPSIS shows each command's usage lines, the ones `--help` prints, in
    /// the table's order: a form added to the table, or an option added to a form,
    /// must be added to the page.
    @Test func synopsisMatchesTheUsageLines() throws {
        let page = try ManPage.load()
        var blocks: [[String]] = []
        for line in page.section("SYNOPSIS") {
            if line == ".Nm" { blocks.append([]) } else if !blocks.isEmpty { blocks[blocks.count - 1].append(line) }
        }
        let documented = blocks.filter { $0.first?.hasPrefix(".Cm ") == true }
        let expected = CommandTable.commands.flatMap { command in command.forms.map { Self.mdoc(command, $0) } }
        #expect(documented.count == expected.count, "SYNOPSIS has \(documented.count) command lines, the table \(expected.count)")
        for (page, table) in zip(documented, expected) {
            #expect(page == table, "SYNOPSIS has\n\(page.joined(separator: "\n"))\nthe usage line is\n\(table.joined(separator: "\n"))")
        }
    }

    @Test func everyGlobalOptionIsDocumented() throws {
        let page = try ManPage.load()
        let description = page.section("DESCRIPTION")
        let items = ManPage.items(description)
        let flags = ManPage.flags(in: items.map { ".It " + $0.head })
        for option in CommandTable.globalOptions {
            for spelling in Self.spellings(option) {
                #expect(flags.contains(spelling), "DESCRIPTION needs an `.It Fl …` item for the global option \(spelling)")
            }
        }
    }

    @Test func everyEnvironmentVariableIsDocumented() throws {
        let page = try ManPage.load()
        let documented = Set(ManPage.items(page.section("ENVIRONMENT")).map(\.head))
        for variable in CommandTable.environmentVariables {
            #expect(documented.contains("Ev " + variable.name), "ENVIRONMENT lacks `.It Ev \(variable.name)`")
        }
    }

    @Test func everyErrorCodeIsDocumentedUnderItsExitStatus() throws {
        let page = try ManPage.load()
        let items = ManPage.items(page.section("EXIT STATUS"))
        var codesByStatus: [String: Set<String>] = [:]
        for item in items {
            codesByStatus[item.head, default: []].formUnion(ManPage.arguments(of: "Er", in: item.body))
        }
        #expect(codesByStatus["0"] != nil, "EXIT STATUS lacks `.It 0`")
        for code in ErrorCode.allCases {
            let status = String(code.exitStatus)
            #expect(codesByStatus[status] != nil, "EXIT STATUS lacks `.It \(status)`")
            #expect(
                codesByStatus[status, default: []].contains(code.rawValue),
                "EXIT STATUS: \(code.rawValue) must be documented under `.It \(status)`")
        }
        let statuses = Set(ErrorCode.allCases.map { String($0.exitStatus) } + ["0"])
        let codes = Set(ErrorCode.allCases.map(\.rawValue))
        for (status, documented) in codesByStatus {
            #expect(statuses.contains(status), "EXIT STATUS documents \(status), which keyctl never exits with")
            for code in documented {
                #expect(codes.contains(code), "EXIT STATUS documents \(code), which is not an error code")
            }
        }
    }

    @Test func requiredSectionsArePresent() throws {
        let page = try ManPage.load()
        for name in [
            "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "KEY FORMAT", "KEYSTORE", "ENVIRONMENT",
            "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO", "SECURITY CONSIDERATIONS",
        ] {
            #expect(!page.section(name).isEmpty, "man/keyctl.1 lacks section \(name)")
        }
        let examples = page.section("EXAMPLES").joined(separator: "\n")
        #expect(examples.contains("keyctl rotate --expiring-within 14d --grace 1d --json"))
        #expect(examples.contains("| jq"))
        #expect(examples.contains("--from-env"))
    }
}
