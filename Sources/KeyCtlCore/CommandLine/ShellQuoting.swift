// Commands that keyctl suggests in a message (a hint, a notice) are built here, so
// that one pasted into a POSIX shell runs as shown: `keyctl rotate 'deploy bot'`.
// ShellQuotingTests scans Sources for a suggested `keyctl …` command that
// interpolates a value without going through this helper.

enum ShellQuoting {
    /// `word` as one POSIX shell word: as it is when every character is one a shell
    /// leaves alone, else in single quotes (a quote inside becomes `'\''`).
    static func quote(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { isPlain($0) }
        // `~` and `#` are plain inside a word, not at its start.
        if plain, let first = word.unicodeScalars.first, !"~#=".unicodeScalars.contains(first) { return word }
        return "'" + word.replacing("'", with: #"'\''"#) + "'"
    }

    static func isPlain(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        case "-", "_", ".", "/", ",", ":", "@", "%", "+", "=", "~", "#": return true
        default: return false
        }
    }

    /// `keyctl`, the `words` of the table (command and option names), and last the
    /// `argument` that came from outside (a key name), each quoted as needed: a
    /// command a user can paste. An argument that starts with `-` goes after `--`,
    /// so it is not read as an option.
    static func command(_ words: String..., argument: String? = nil) -> String {
        var all = ["keyctl"] + words.map(quote)
        if let argument {
            if argument.hasPrefix("-") { all.append("--") }
            all.append(quote(argument))
        }
        return all.joined(separator: " ")
    }
}
