// The rules under concurrency: many keyctl processes at once against one keystore.
// Every process's report (exit status, printed ids) is checked against the final
// keystore: nothing lost, no rule broken, the file valid at every moment.

import Foundation
import Testing

@Suite("Reliability: concurrency", .serialized)
struct ReliabilityConcurrencyTests {
    /// 56 processes at once: 16 create (more than there are slots), 8 rotate, 8 revoke,
    /// 8 update, 8 verify (which stamps the usage file), 2 list, and two kinds of success
    /// that changes nothing: 4 config setting the limit the keystore has, 2 prune of
    /// keys revoked a year ago. A reader thread parses the
    /// file continuously meanwhile. Afterwards the audit log holds exactly the changes
    /// the processes reported, in a consistent order, and replays to the keystore.
    @Test func mixedProcessesLoseNothingAndBreakNoRule() throws {
        let box = Sandbox()
        let maxKeys = 8
        #expect(box.keyctl(["init", "--max-keys", "\(maxKeys)"]).status == 0)
        var seedKeys: [String: String] = [:]  // name → secret
        for i in 0..<4 {
            let r = box.keyctl(["create", "seed\(i)"])
            #expect(r.status == 0)
            seedKeys["seed\(i)"] = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // Rotated only, never revoked, so every rotation must succeed.
        for i in 0..<2 { #expect(box.keyctl(["create", "rot\(i)"]).status == 0) }
        let initial = try #require(box.records())
        let initialEntries = try #require(box.logEntries()).count
        let stdinDir = box.path + "/in"
        mkdir(stdinDir, 0o700)
        let outDir = box.path + "/out"
        mkdir(outDir, 0o700)

        // A reader that parses the file as often as it can while the writers run.
        final class Watch: @unchecked Sendable {
            var reads = 0
            var invalid: [String] = []
            var stop = false
            let lock = NSLock()
        }
        let watch = Watch()
        let keystorePath = box.keystore
        let watcher = Thread {
            while !watch.lock.withLock({ watch.stop }) {
                usleep(200)
                guard let data = FileManager.default.contents(atPath: keystorePath) else { continue }
                let ok = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] != nil
                watch.lock.withLock {
                    watch.reads += 1
                    if !ok { watch.invalid.append(String(decoding: data.prefix(200), as: UTF8.self)) }
                }
            }
        }
        watcher.start()

        enum Kind { case create, rotate, revoke, update, verify, list, config, prune }
        var children: [(Kind, String, Child)] = []
        for i in 0..<56 {
            let tag = "p\(i)"
            let base = ["--keystore", box.keystore]
            let child: Child
            let kind: Kind
            switch i % 7 {
            case 0, 1:
                kind = .create
                child = .keyctl(base + ["create", "c\(i)", "--json"], outputIn: outDir, tag: tag)
            case 2:
                kind = .rotate
                child = .keyctl(base + ["rotate", "rot\(i % 2)", "--json"], outputIn: outDir, tag: tag)
            case 3:
                kind = .revoke
                child = .keyctl(base + ["revoke", "seed\((i / 7) % 4)"], outputIn: outDir, tag: tag)
            case 4:
                kind = .verify
                let input = stdinDir + "/\(tag)"
                try (seedKeys["seed\((i / 7) % 4)"]! + "\n").write(toFile: input, atomically: false, encoding: .utf8)
                child = .keyctl(base + ["verify", "--json"], environment: ["KEYCTL_LOCK_TIMEOUT": "0"], stdinPath: input, outputIn: outDir, tag: tag)
            case 6:
                kind = .update
                child = .keyctl(base + ["update", "rot\(i % 2)", "--description", "updated by \(tag)"], outputIn: outDir, tag: tag)
            case 5 where (i / 7) % 2 == 1:
                // The limit it has already: success, and no change, so no log entry.
                kind = .config
                child = .keyctl(base + ["config", "--max-keys", "\(maxKeys)"], outputIn: outDir, tag: tag)
            case 5 where (i / 7) % 4 == 0:
                // Nothing was revoked that long ago: success, no change, no log entry.
                kind = .prune
                child = .keyctl(base + ["prune", "--revoked-before", "52w"], outputIn: outDir, tag: tag)
            default:
                kind = .list
                child = .keyctl(base + ["list", "--json", "--all"], outputIn: outDir, tag: tag)
            }
            children.append((kind, tag, child))
        }
        for (_, _, child) in children { child.wait() }
        watch.lock.withLock { watch.stop = true }
        while !watcher.isFinished { usleep(1000) }

        let final = try #require(box.records(), "the final keystore must be readable")
        let finalByID = Dictionary(uniqueKeysWithValues: final.map { ($0["id"] as! String, $0) })
        let inUse = final.filter { ["active", "expired"].contains($0["status"] as? String) }

        var created: [String] = []
        var rotatedNew: [String] = []
        var rotatedOld: [String] = []
        var newlyRevoked: Set<String> = []
        var revokes = 0
        var updates = 0
        var counts: [String: Int] = [:]
        for (kind, tag, child) in children {
            let ending = child.wait()
            let status = try #require(ending.exitStatus, "\(tag) died: \(ending)")
            counts["\(kind) \(status)", default: 0] += 1
            switch kind {
            case .create:
                #expect([0, 5].contains(status), "\(tag) create: \(ending) \(child.stderr)")
                if status == 0 {
                    let record = try #require(parseJSON(child.stdout) as? [String: Any])
                    created.append(record["id"] as! String)
                    #expect((record["key"] as? String)?.hasPrefix("ak_live_") == true)
                } else {
                    #expect(errorCode(child.stderr) == "KEY_LIMIT_REACHED", "\(tag): \(child.stderr)")
                }
            case .rotate:
                // A racing rotation of the same name resolves to the newest key: all succeed.
                #expect(status == 0, "\(tag) rotate: \(ending) \(child.stderr)")
                if status == 0 {
                    let pair = try #require(parseJSON(child.stdout) as? [String: [String: Any]])
                    rotatedNew.append(pair["new"]!["id"] as! String)
                    rotatedOld.append(pair["old"]!["id"] as! String)
                }
            case .revoke:
                // 6: a racing revoke of the same name got there first (a revoked key is addressed by id only).
                #expect([0, 6].contains(status), "\(tag) revoke: \(ending) \(child.stderr)")
                if status == 0 { revokes += 1 }
                for line in child.stderr.split(separator: "\n") where line.hasPrefix("keyctl: revoked key_") {
                    newlyRevoked.insert(String(line.dropFirst("keyctl: revoked ".count).prefix { $0 != " " }))
                }
            case .update:
                // The name resolves to whichever key a racing rotation left in use.
                #expect(status == 0, "\(tag) update: \(ending) \(child.stderr)")
                if status == 0 { updates += 1 }
            case .verify:
                // Valid, or revoked (a racing rotate or revoke got there first).
                #expect([0, 3].contains(status), "\(tag) verify: \(ending) \(child.stdout) \(child.stderr)")
            case .config, .prune:
                #expect(status == 0, "\(tag) \(kind): \(child.stderr)")
            case .list:
                #expect(status == 0, "\(tag) list: \(child.stderr)")
                #expect(parseJSON(child.stdout) is [[String: Any]], "\(tag) printed invalid JSON")
            }
        }

        // No lost update: every create and rotate that reported success is in the file,
        // and the file holds nothing else that is new.
        for id in created + rotatedNew { #expect(finalByID[id] != nil, "reported \(id) is missing from the keystore") }
        #expect(Set(created + rotatedNew).count == created.count + rotatedNew.count, "an id was reported twice")
        #expect(
            final.count == initial.count + created.count + rotatedNew.count,
            "records: \(initial.count) + \(created.count) created + \(rotatedNew.count) rotated ≠ \(final.count)")
        #expect(ids(initial).isSubset(of: Set(finalByID.keys)), "a record vanished")
        for (old, new) in zip(rotatedOld, rotatedNew) {
            #expect(finalByID[old]?["rotated_to"] as? String == new)
            #expect(finalByID[old]?["status"] as? String == "revoked")
        }
        for id in newlyRevoked { #expect(finalByID[id]?["status"] as? String == "revoked", "\(id) was reported revoked") }
        // The counts add up: in use = before + created − revoked (a rotation swaps one for one).
        #expect(
            inUse.count == initial.count + created.count - newlyRevoked.count,
            "in use \(inUse.count) ≠ \(initial.count) + \(created.count) − \(newlyRevoked.count); outcomes \(counts)")
        // Rules.
        #expect(inUse.count <= maxKeys, "key limit exceeded: \(inUse.count) > \(maxKeys)")
        #expect(inUse.count >= 1, "last-key rule broken")
        let names = inUse.map { $0["name"] as! String }
        #expect(Set(names).count == names.count, "two keys in use share a name: \(names.sorted())")
        // Valid at every moment, and the reader did look.
        #expect(watch.invalid.isEmpty, "a reader saw an invalid keystore: \(watch.invalid.first ?? "")")
        #expect(watch.reads > 0)
        #expect(box.temporaries().isEmpty, "temporary files left: \(box.temporaries())")
        #expect(rotatedNew.count == 8)
        #expect(created.count >= 2, "the race did not exercise creates: \(counts)")

        // The audit log: exactly one entry per change a process reported (exit 0 from a
        // writer), none for a refusal, a reader or a config or prune that changed nothing;
        // contiguous, chained, and in an order in which every change starts from what
        // the entries before it left.
        let entries = try #require(box.logEntries(), "log --json failed")
        let verified = try box.verifyLog().get()
        #expect(verified.entries == entries.count && verified.leftover == 0, "log --verify: \(verified)")
        #expect(entries.enumerated().allSatisfy { ($0.element["seq"] as? NSNumber)?.intValue == $0.offset + 1 }, "seq not contiguous")
        let new = entries.dropFirst(initialEntries)
        func by(_ command: String) -> [[String: Any]] { new.filter { $0["command"] as? String == command } }
        #expect(new.count == created.count + rotatedNew.count + revokes + updates, "\(new.count) new entries for \(counts)")
        #expect(new.allSatisfy { ["create", "rotate", "revoke", "update"].contains($0["command"] as? String ?? "") }, "an entry from a reader")
        #expect(by("update").count == updates && updates == 8, "update entries: \(by("update").count), reported \(updates)")
        for entry in by("update") {
            let changes = LogCheck.changes(of: entry)
            #expect(changes.count == 1 && changes.first?.value.keys.sorted() == ["description"], "update entry \(changes)")
        }
        func createdIDs(_ entry: [String: Any]) -> [String] {
            LogCheck.changes(of: entry).filter { $0.value["name"]?.old == "null" }.map(\.key)
        }
        #expect(by("create").flatMap(createdIDs).sorted() == created.sorted(), "create entries ≠ reported creates")
        let loggedRotations = by("rotate").map { entry -> String in
            let changes = LogCheck.changes(of: entry)
            let old = changes.first { $0.value["rotated_to"] != nil }?.key ?? "?"
            return "\(old)->\(createdIDs(entry).first ?? "?")"
        }
        #expect(loggedRotations.sorted() == zip(rotatedOld, rotatedNew).map { "\($0)->\($1)" }.sorted(), "rotate entries ≠ reported rotations")
        let loggedRevokes = by("revoke").flatMap { LogCheck.changes(of: $0).filter { $0.value["revoked_at"] != nil }.map(\.key) }
        #expect(Set(loggedRevokes) == newlyRevoked && loggedRevokes.count == revokes, "revoke entries ≠ reported revokes")
        let (replayed, problems) = LogCheck.replayChecked(entries)
        #expect(problems.isEmpty, "entries out of order: \(problems.prefix(5))")
        #expect(replayed == LogCheck.replayable(try #require(box.decodedKeystore())), "replaying the log does not give the keystore")
    }

    /// 24 creates race for 4 free slots: exactly 4 win, 20 get KEY_LIMIT_REACHED.
    @Test func keyLimitHoldsUnderARace() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init", "--max-keys", "5"]).status == 0)
        #expect(box.keyctl(["create", "first"]).status == 0)
        let children = (0..<24).map { i in
            Child.keyctl(["--keystore", box.keystore, "--json", "create", "k\(i)"], outputIn: box.path, tag: "c\(i)")
        }
        var won: [String] = []
        for child in children {
            let status = child.wait().exitStatus
            if status == 0 {
                won.append((parseJSON(child.stdout) as? [String: Any])?["id"] as? String ?? "?")
            } else {
                #expect(status == 5 && errorCode(child.stderr) == "KEY_LIMIT_REACHED", "\(child.stderr)")
            }
        }
        #expect(won.count == 4)
        let records = try #require(box.records())
        #expect(records.count == 5)
        #expect(Set(won).isSubset(of: ids(records)))
    }

    /// 16 creates of one name: exactly one wins, the others get NAME_TAKEN.
    @Test func nameStaysUniqueUnderARace() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init"]).status == 0)
        let children = (0..<16).map { i in
            Child.keyctl(["--keystore", box.keystore, "--json", "create", "deploy"], outputIn: box.path, tag: "c\(i)")
        }
        let statuses = children.map { $0.wait().exitStatus }
        #expect(statuses.filter { $0 == 0 }.count == 1)
        #expect(statuses.filter { $0 == 5 }.count == 15)
        #expect(children.filter { $0.wait().exitStatus == 5 }.allSatisfy { errorCode($0.stderr) == "NAME_TAKEN" })
        #expect(try #require(box.records()).count == 1)
    }

    /// Two keys in use; 8 processes revoke one, 8 the other, at once. Whichever goes
    /// first wins (its group all succeed: a repeated revoke is not an error); every
    /// revoke of the other key is refused with LAST_KEY. One key is left in use.
    @Test func lastKeyRuleHoldsUnderARace() throws {
        let box = Sandbox()
        #expect(box.keyctl(["init"]).status == 0)
        let a = try #require(parseJSON(box.keyctl(["create", "a", "--json"]).stdout) as? [String: Any])["id"] as! String
        let b = try #require(parseJSON(box.keyctl(["create", "b", "--json"]).stdout) as? [String: Any])["id"] as! String
        let children = (0..<16).map { i in
            (
                i % 2 == 0 ? a : b,
                Child.keyctl(["--keystore", box.keystore, "--json", "revoke", i % 2 == 0 ? a : b], outputIn: box.path, tag: "r\(i)")
            )
        }
        var outcome: [String: Set<Int32>] = [a: [], b: []]
        for (id, child) in children { outcome[id]!.insert(child.wait().exitStatus ?? -1) }
        let records = try #require(box.records())
        let inUse = records.filter { $0["status"] as? String == "active" }
        #expect(inUse.count == 1)
        let survivor = try #require(inUse.first?["id"] as? String)
        let revoked = survivor == a ? b : a
        #expect(outcome[revoked] == [0], "every revoke of the first-revoked key succeeds: \(outcome)")
        #expect(outcome[survivor] == [5], "every revoke of the last key is refused: \(outcome)")
        for (id, child) in children where id == survivor { #expect(errorCode(child.stderr) == "LAST_KEY") }
    }
}
