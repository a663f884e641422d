// `--help` text, made from CommandTable.

enum Help {
    static func text(for command: CommandSpec?) -> String {
        guard let command else { return overview() }
        var out = "Usage: keyctl \(command.name.rawValue)\(command.synopsis.isEmpty ? "" : " " + command.synopsis)\n\n"
        out += capitalized(command.summary) + ".\n" + wrap(command.discussion, indent: 0) + "\n"
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
        out += "\nRun 'keyctl help COMMAND' for a command's options; 'man keyctl' for the whole manual.\n"
        return out
    }

    static func optionLabel(_ o: OptionSpec) -> String {
        var label = o.short.map { "-\($0), " } ?? ""
        label += o.flag
        if let v = o.valueName { label += " " + v }
        return label
    }

    static func rows(_ items: [(String, String)]) -> String {
        let width = min(max(items.map { $0.0.count }.max() ?? 0, 8), 26)
        return items.map { label, help in
            let pad = label.count >= width ? "\n" + String(repeating: " ", count: width + 4) : String(repeating: " ", count: width - label.count + 2)
            return "  " + label + pad + help + "\n"
        }.joined()
    }

    static func wrap(_ text: String, indent: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + word.count + 1 > 78 {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? String(repeating: " ", count: indent) : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    static func capitalized(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }
}
