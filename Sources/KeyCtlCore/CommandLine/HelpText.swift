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
        out += commandList()
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

    /// "Commands:" and one line per command, for `--help` and a bare `keyctl`.
    static func commandList() -> String {
        "Commands:\n" + rows(CommandTable.commands.map { ($0.name.rawValue, $0.summary) })
    }

    static func optionLabel(_ o: OptionSpec) -> String {
        var label = o.short.map { "-\($0), " } ?? ""
        label += o.flag
        if let v = o.valueName { label += " " + v }
        return label
    }

    /// "Usage: keyctl NAME FORM", one line per form of the command, each wrapped
    /// between groups, never inside one.
    static func usage(_ command: CommandSpec) -> String {
        let head = "keyctl \(command.name.rawValue)"
        let indent = String(repeating: " ", count: "Usage: ".count + head.count + 1)
        var lines: [String] = []
        for (n, form) in command.forms.enumerated() {
            lines.append((n == 0 ? "Usage: " : "       ") + head)
            for group in form.items.map(usageText) {
                if lines[lines.count - 1].count + 1 + group.count > lineWidth {
                    lines.append(indent + group)
                } else {
                    lines[lines.count - 1] += " " + group
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `[--grace DURATION]`, `--env live|test`, `KEY...`, `[--expires-in DURATION | --expires-at TIME]`.
    static func usageText(_ item: UsageItem) -> String {
        let text = item.alternatives.map { part -> String in
            switch part {
            case .option(let o):
                guard let metavar = o.valueName else { return o.flag }
                return o.flag + " " + (showsValues(o.values, list: o.isList) ? o.values.joined(separator: "|") : metavar)
            case .argument(let a):
                return (showsValues(a.values, list: false) ? a.values.joined(separator: "|") : a.name) + (a.isRepeated ? "..." : "")
            }
        }.joined(separator: " | ")
        return item.isOptional ? "[" + text + "]" : text
    }

    /// A short fixed set of values is shown in the usage line itself (`live|test`).
    static func showsValues(_ values: [String], list: Bool) -> Bool {
        !list && !values.isEmpty && values.count <= 3
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
