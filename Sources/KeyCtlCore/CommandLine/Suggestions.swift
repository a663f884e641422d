// "Did you mean": the nearest command, option or value to a mistyped word, by
// Damerau-Levenshtein distance (a swap of two neighbours counts as one edit, so
// `lsit` is one edit from `list`), and which command an option belongs to when it
// was given to another one or before the command name.

enum Suggestions {
    /// The candidate nearest to `word`, if it is near enough to be what was meant:
    /// at most one edit for words up to four letters, two for longer ones, and
    /// never more than half the word; or the only candidate that `word` begins
    /// (`rot` → `rotate`). Ties go to the earlier candidate.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let typed = Array(word.unicodeScalars)
        guard !typed.isEmpty else { return nil }
        let limit = min(typed.count <= 4 ? 1 : 2, max(typed.count / 2, 1))
        var best: (String, Int)?
        for candidate in candidates where candidate != word {
            let d = distance(typed, Array(candidate.unicodeScalars))
            if d <= limit, d < (best?.1 ?? Int.max) { best = (candidate, d) }
        }
        if let best { return best.0 }
        let extensions = candidates.filter { $0.hasPrefix(word) && $0 != word }
        return typed.count >= 2 && extensions.count == 1 ? extensions[0] : nil
    }

    /// Optimal-string-alignment Damerau-Levenshtein distance.
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    /// `unknown command 'lsit'; did you mean 'list'?`
    static func unknownCommand(_ word: String) -> KeyCtlError {
        let names = CommandTable.commands.map(\.name.rawValue)
        return .usage("unknown command '\(word)'", guess: closest(to: word, in: names))
    }

    /// An option that is not `command`'s (or not global, before the command): says
    /// which command it belongs to, else the nearest option that was meant.
    static func unknownOption(_ word: String, command: CommandSpec?) -> KeyCtlError {
        let commandName = command?.name.rawValue
        let name = word.hasPrefix("--") ? String(word.dropFirst(2)) : nil
        if let name {
            let owners = CommandTable.commands.filter { $0.name != command?.name && $0.option(named: name) != nil }
            if !owners.isEmpty {
                let list = owners.map { "'\($0.name.rawValue)'" }.joined(separator: ", ")
                if let commandName {
                    return .usage("unknown option '\(word)' for '\(commandName)': it is an option of \(list)", command: commandName)
                }
                return .usage(
                    "option '\(word)' is an option of \(list), so it goes after the command name",
                    command: owners.count == 1 ? owners[0].name.rawValue : nil)
            }
        }
        let known = (CommandTable.globalOptions + (command?.options ?? [])).map(\.flag)
        let guess = name.flatMap { closest(to: "--" + $0, in: known) }
        return .usage("unknown option '\(word)'", command: commandName, guess: guess)
    }
}
