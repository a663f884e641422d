// `--help` text, made from CommandTable.

enum Help {
    static func text(for command: CommandSpec?) -> String {
        guard let command else { return overview() }
        var out = usage(command) + "\n\n"
        out += capitalized(command.summary) + ".\n" + wrap(command.discussion, width: lineWidth).joined(separator: "\n") + "\n"
        if !command.arguments.isEmpty {
            out += "\nArguments:\n" + rows(command.arguments.map { ($0.name + ($0.isRepeated ? "..." : ""), $0.help) })
        }
        if !command.options.isEmpty {
            out += "\nOptions:\n" + rows(command.options.map { (optionLabel($0), $0.help) })
        }
        out += "\nGlobal options:\n" + rows(CommandTable.globalOptions.map { (optionLabel($0), $0.help) })
        return out
    }

    static func overview() -> String {
        var out = "keyctl \(CommandTable.version): administer API keys in a local keystore\n\n"
        out += "Usage: keyctl [--keystore PATH] [--json] COMMAND [OPTIONS] [ARGUMENTS]\n\n"
        out += "Commands:\n" + rows(CommandTable.commands.map { ($0.name.rawValue, $0.summary) })
        out += "\nGlobal options:\n" + rows(CommandTable.globalOptions.map { (optionLabel($0), $0.help) })
        out += "\nEnvironment:\n" + rows(CommandTable.environmentVariables.map { ($0.name, $0.help) })
        out += "\nExit status:\n  0   success; verify: the key is valid\n"
        var byStatus: [(Int32, [String])] = []
        for code in ErrorCode.allCases {
            if let i = byStatus.firstIndex(where: { $0.0 == code.exitStatus }) {
                byStatus[i].1.append(code.rawValue)
            } else {
                byStatus.append((code.exitStatus, [code.rawValue]))
            }
        }
        for (status, codes) in byStatus {
            let pad = String(repeating: " ", count: 4 - String(status).count)
            out += "  \(status)\(pad)\(codes.joined(separator: ", "))\n"
        }
        out += "\nRun 'keyctl help COMMAND' for a command's options, 'man keyctl' for the manual.\n"
        return out
    }

    static func optionLabel(_ o: OptionSpec) -> String {
        var label = o.short.map { "-\($0), " } ?? ""
        label += o.flag
        if let v = o.valueName { label += " " + v }
        return label
    }

    /// "Usage: keyctl NAME SYNOPSIS", wrapped between bracketed groups, never inside one.
    static func usage(_ command: CommandSpec) -> String {
        let head = "Usage: keyctl \(command.name.rawValue)"
        var groups: [String] = []
        var depth = 0
        for word in command.synopsis.split(separator: " ") {
            if depth > 0 { groups[groups.count - 1] += " " + word } else { groups.append(String(word)) }
            depth += word.filter { $0 == "[" }.count - word.filter { $0 == "]" }.count
        }
        let indent = String(repeating: " ", count: head.count + 1)
        var lines = [head]
        for group in groups {
            if lines[lines.count - 1].count + 1 + group.count > lineWidth {
                lines.append(indent + group)
            } else {
                lines[lines.count - 1] += " " + group
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Help fits an 80-column terminal.
    static let lineWidth = 80

    /// Two columns: labels padded to the longest (at most 24), help wrapped beside them.
    /// A longer label gets a line of its own.
    static func rows(_ items: [(String, String)]) -> String {
        let width = min(items.map { $0.0.count }.max() ?? 0, 24)
        let indent = String(repeating: " ", count: width + 4)
        return items.map { label, help in
            let lead = label.count > width ? "\n" + indent : String(repeating: " ", count: width - label.count + 2)
            return "  " + label + lead + wrap(help, width: lineWidth - indent.count).joined(separator: "\n" + indent) + "\n"
        }.joined()
    }

    /// Words into lines of at most `width` characters (a longer word stands alone).
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    static func capitalized(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }
}
