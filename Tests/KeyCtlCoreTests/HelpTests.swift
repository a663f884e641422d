import Testing

@testable import KeyCtlCore

@Suite struct HelpTests {
    static let pages: [(String, String)] =
        [("keyctl", Help.text(for: nil))] + CommandTable.commands.map { ($0.name.rawValue, Help.text(for: $0)) }

    @Test(arguments: pages.map { $0.0 })
    func helpFitsAnEightyColumnTerminal(page: String) {
        let text = Self.pages.first { $0.0 == page }!.1
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(line.count <= Help.lineWidth, "\(page): \(line)")
        }
    }

    @Test func labelsAndHelpFormTwoColumns() {
        let rows = Help.rows([("a", "first"), ("longer-label", "second " + String(repeating: "word ", count: 30))])
        let lines = rows.split(separator: "\n").map(String.init)
        #expect(lines[0] == "  a             first")
        #expect(lines[1].hasPrefix("  longer-label  second word"))
        // Continuation lines start in the help column.
        #expect(lines.count > 2 && lines[2].hasPrefix(String(repeating: " ", count: 16) + "word"))
    }

    @Test func everyCommandAndOptionIsInTheHelp() {
        let overview = Help.text(for: nil)
        for command in CommandTable.commands {
            #expect(overview.contains("  \(command.name.rawValue)  "))
            let page = Help.text(for: command)
            for option in command.options + CommandTable.globalOptions {
                #expect(page.contains(option.flag), "\(command.name.rawValue) --help lacks \(option.flag)")
            }
        }
    }
}
