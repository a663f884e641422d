// Issue 9: an import guard must not claim a platform nobody builds. keyctl is built
// and tested with Glibc only; a `canImport(Musl)` branch would hide Glibc-only calls
// behind a build nobody runs (README, Portability).

import Foundation
import Testing

@Suite struct PortabilityTests {
    @Test func noSourceClaimsAnUntestedCLibrary() throws {
        var offenders: [String] = []
        for folder in ["Sources", "Tests"] {
            let root = Repository.root.appendingPathComponent(folder)
            let files = try #require(FileManager.default.enumerator(atPath: root.path)).compactMap { $0 as? String }
            for file in files where file.hasSuffix(".swift") && !file.hasSuffix("PortabilityTests.swift") {
                let text = String(decoding: try Repository.bytes(folder + "/" + file), as: UTF8.self)
                for name in ["Musl", "Darwin", "WinSDK", "Bionic"] where text.contains("canImport(\(name))") {
                    offenders.append("\(folder)/\(file): canImport(\(name))")
                }
            }
        }
        #expect(offenders.isEmpty, "keyctl builds with Glibc only; use `#else #error(…)`:\n\(offenders.joined(separator: "\n"))")
    }
}
