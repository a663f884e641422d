// Checks of the audit log against the keystore, shared by the crash loop and the
// concurrency test: what changed between two keystores (computed here, independently
// of keyctl's own diff), what a `log --json` entry says changed, and a replay of
// entries onto a keystore's keys.

import Foundation
import Testing

@testable import KeyCtlCore

enum LogCheck {
    /// A field's value as text: "null", a string, a number, a list joined by commas.
    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "null"
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        case let list as [Any]: return list.map { text($0) }.joined(separator: ",")
        default: return "\(value!)"
        }
    }

    static func time(_ t: Timestamp?) -> String { t.map { RFC3339.format($0) } ?? "null" }

    /// What the log must follow of a record: every field a command can change (not the
    /// digest, which never changes, nor usage).
    static func fields(_ r: KeyRecord) -> [String: String] {
        [
            "name": r.name, "description": r.description ?? "null", "environment": r.environment.rawValue,
            "permissions": r.permissions.names.joined(separator: ","), "created_at": time(r.createdAt),
            "expires_at": time(r.expiresAt), "revoked_at": time(r.revokedAt), "rotated_from": r.rotatedFrom ?? "null",
            "rotated_to": r.rotatedTo ?? "null",
        ]
    }

    struct Change: Equatable, CustomStringConvertible {
        var old: String
        var new: String
        var description: String { "\(old) -> \(new)" }
    }

    /// id → field → change, for every key that differs between the two keystores
    /// (a new key: every non-null field from null; a removed key: every non-null field to null).
    static func diff(_ before: Keystore, _ after: Keystore) -> [String: [String: Change]] {
        var out: [String: [String: Change]] = [:]
        let old = Dictionary(uniqueKeysWithValues: before.keys.map { ($0.id, fields($0)) })
        let new = Dictionary(uniqueKeysWithValues: after.keys.map { ($0.id, fields($0)) })
        for id in Set(old.keys).union(new.keys) {
            var changes: [String: Change] = [:]
            for field in Set((old[id] ?? [:]).keys).union((new[id] ?? [:]).keys) {
                let a = old[id]?[field] ?? "null"
                let b = new[id]?[field] ?? "null"
                if a != b { changes[field] = Change(old: a, new: b) }
            }
            if !changes.isEmpty { out[id] = changes }
        }
        return out
    }

    /// The settings that differ (max_keys, prefix).
    static func settingsDiff(_ before: Keystore, _ after: Keystore) -> [String: Change] {
        var out: [String: Change] = [:]
        if before.maxKeys != after.maxKeys { out["max_keys"] = Change(old: "\(before.maxKeys)", new: "\(after.maxKeys)") }
        if before.prefix != after.prefix { out["prefix"] = Change(old: before.prefix, new: after.prefix) }
        return out
    }

    /// What an entry of `log --json` says changed: id → field → change.
    static func changes(of entry: [String: Any]) -> [String: [String: Change]] {
        var out: [String: [String: Change]] = [:]
        for key in entry["keys"] as? [[String: Any]] ?? [] {
            var changes: [String: Change] = [:]
            for (field, pair) in key["changes"] as? [String: Any] ?? [:] {
                let values = pair as? [Any] ?? []
                changes[field] = Change(old: text(values.first), new: text(values.count > 1 ? values[1] : nil))
            }
            out[key["id"] as? String ?? "?"] = changes
        }
        return out
    }

    static func settings(of entry: [String: Any]) -> [String: Change] {
        var out: [String: Change] = [:]
        for (field, pair) in entry["settings"] as? [String: Any] ?? [:] {
            let values = pair as? [Any] ?? []
            out[field] = Change(old: text(values.first), new: text(values.count > 1 ? values[1] : nil))
        }
        return out
    }

    /// Nil when `entry` describes exactly the change from `before` to `after` (the same
    /// keys, and for each the same fields with the same old and new values; the same
    /// settings); else what differs.
    static func mismatch(_ entry: [String: Any], _ before: Keystore, _ after: Keystore) -> String? {
        let want = diff(before, after)
        let got = changes(of: entry)
        var problems: [String] = []
        for id in Set(want.keys).union(got.keys).sorted() where want[id] != got[id] {
            problems.append("\(id): keystore changed \(want[id] ?? [:]), log says \(got[id] ?? [:])")
        }
        let wantSettings = settingsDiff(before, after)
        let gotSettings = settings(of: entry).filter { $0.key != "version" }
        if wantSettings != gotSettings { problems.append("settings: keystore \(wantSettings), log \(gotSettings)") }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// Applies an entry's changes to keys given as id → field → value; a key whose
    /// name becomes null is removed.
    static func replay(_ entry: [String: Any], onto keys: inout [String: [String: String]]) {
        for (id, changes) in self.changes(of: entry) {
            var record = keys[id] ?? [:]
            for (field, change) in changes { record[field] = change.new == "null" ? nil : change.new }
            if record["name"] == "null" || record["name"] == nil { keys.removeValue(forKey: id) } else { keys[id] = record }
        }
    }

    /// Replays `entries` from nothing, checking that each change starts from the value
    /// the entries before it left (so a key is created before it is rotated or revoked,
    /// and no change is lost or applied twice). Returns the keys and every problem.
    static func replayChecked(_ entries: [[String: Any]]) -> (keys: [String: [String: String]], problems: [String]) {
        var keys: [String: [String: String]] = [:]
        var problems: [String] = []
        for entry in entries {
            let seq = text(entry["seq"])
            for (id, changes) in self.changes(of: entry) {
                let current = keys[id]
                if current == nil && changes["name"]?.old != "null" {
                    problems.append("entry \(seq) changes \(id) before any entry created it")
                }
                for (field, change) in changes where change.old != (current?[field] ?? "null") {
                    problems.append("entry \(seq): \(id).\(field) was \(current?[field] ?? "null"), the entry says \(change.old)")
                }
            }
            replay(entry, onto: &keys)
        }
        return (keys, problems)
    }

    /// A keystore's keys as the replay builds them: only the fields the log follows
    /// (null fields left out, as a replay from nothing never sets them).
    static func replayable(_ keystore: Keystore) -> [String: [String: String]] {
        Dictionary(uniqueKeysWithValues: keystore.keys.map { ($0.id, fields($0).filter { $0.value != "null" }) })
    }
}

extension Sandbox {
    /// The keystore as keyctl's own strict decoder reads it; nil when it does not decode.
    func decodedKeystore() -> Keystore? {
        guard let bytes = keystoreBytes() else { return nil }
        return try? KeystoreCodec.decode(Array(bytes))
    }

    /// `log --json`'s entries, or nil when it failed.
    func logEntries() -> [[String: Any]]? {
        let r = keyctl(["log", "--json"])
        guard r.status == 0 else { return nil }
        return parseJSON(r.stdout) as? [[String: Any]]
    }

    /// Entry `seq` (1-based) read straight from PATH.log (its line `seq`), parsed as JSON.
    func logEntry(_ seq: Int) -> [String: Any]? {
        guard seq >= 1, let data = FileManager.default.contents(atPath: keystore + ".log") else { return nil }
        let lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
        guard lines.count >= seq else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(lines[seq - 1]))) as? [String: Any]
    }

    /// `log --verify --json`: (entries, hash, leftover lines), or the error on stderr.
    func verifyLog() -> Result<(entries: Int, hash: String?, leftover: Int), LogVerifyFailure> {
        let r = keyctl(["log", "--verify", "--json"])
        guard r.status == 0, let object = parseJSON(r.stdout) as? [String: Any], object["valid"] as? Bool == true else {
            return .failure(LogVerifyFailure(status: r.status, stderr: r.stderr))
        }
        return .success(
            ((object["entries"] as? NSNumber)?.intValue ?? -1, object["hash"] as? String, (object["leftover_lines"] as? NSNumber)?.intValue ?? -1))
    }
}

struct LogVerifyFailure: Error, CustomStringConvertible {
    var status: Int32
    var stderr: String
    var description: String { "log --verify exited \(status): \(stderr)" }
}

/// A small seeded generator (SplitMix64), so a failing random run can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// From $name when set (to replay a run), else random; printed either way.
    static func fromEnvironment(_ name: String = "KEYCTL_SEED", label: String) -> (SeededGenerator, UInt64) {
        let given = ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) }
        let seed = given ?? UInt64.random(in: 0...UInt64.max)
        print("\(label): seed \(seed) (replay with \(name)=\(seed))")
        return (SeededGenerator(seed: seed), seed)
    }
}
