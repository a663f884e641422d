// libFuzzer entry point for keyctl's parsers. Compiled into one binary together with
// Sources/KeyCtlCore/*.swift (same module, so internal API is reachable); the target
// is chosen by KEYCTL_FUZZ_TARGET: args, keystore, time, apikey. See Tests/Fuzz/run.
//
// Besides "must not crash", each target checks a property that must hold for any input:
// a keystore that decodes re-encodes to bytes that decode to the same keystore, the
// fast and the general keystore readers agree, and an index of it finds every record; a
// parsed time or duration formats and parses back to itself; a key that parses has
// the right shape and never survives error-message redaction; argument parsing is
// deterministic.

#if canImport(Glibc)
    import Glibc
#endif

enum FuzzTarget: String {
    case args, keystore, time, apikey
}

nonisolated(unsafe) var selectedTarget: FuzzTarget = .keystore

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>)
    -> Int32
{
    guard let raw = getenv("KEYCTL_FUZZ_TARGET"), let target = FuzzTarget(rawValue: String(cString: raw)) else {
        fputs("set KEYCTL_FUZZ_TARGET to one of: args, keystore, time, apikey\n", stderr)
        exit(2)
    }
    selectedTarget = target
    return 0
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fputs("property violated: \(message())\n", stderr)
        abort()
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    switch selectedTarget {
    case .args: fuzzArguments(bytes)
    case .keystore: fuzzKeystore(bytes)
    case .time: fuzzTime(bytes)
    case .apikey: fuzzAPIKey(bytes)
    }
    return 0
}

/// argv split on NUL, as the kernel would hand it over (bytes need not be UTF-8).
func fuzzArguments(_ bytes: [UInt8]) {
    let argv = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    let first = try? ArgumentParser.parse(argv)
    let second = try? ArgumentParser.parse(argv)
    check(first == second, "parse is not deterministic")
    if let parsed = first, let spec = parsed.command, !parsed.wantsHelp, !parsed.wantsVersion {
        // The typed decoding of every option and argument, as the command would get it.
        if (try? ArgumentParser.checkArity(parsed, spec)) != nil {
            _ = try? spec.decode(parsed)
        }
    }
    _ = KeyCtl.wantsJSON(argv)
}

func fuzzKeystore(_ bytes: [UInt8]) {
    // The fast scanner of keyctl's own layout and the general reader: one verdict.
    let general = try? KeystoreCodec.decode(bytes, canonicalFastPath: false)
    let fast = try? KeystoreCodec.decode(bytes)
    check(fast == general, "the canonical fast path and the general reader disagree")
    // verify's full check (chunked, records not built): the serial reader's answer and fault.
    let digest = general?.keys.last.map { Array($0.digest.utf8) } ?? Array(repeating: UInt8(ascii: "a"), count: 64)
    let serial = Result { () throws(KeystoreFault) -> Keystore in try KeystoreCodec.decode(bytes, onlyDigest: digest, canonicalFastPath: false) }
    for chunks in 1...3 {
        let checked = Result { () throws(KeystoreFault) -> Keystore in try KeystoreCodec.decodeChecked(bytes, onlyDigest: digest, chunks: chunks).0 }
        check(checked == serial, "the chunked check (\(chunks) chunks) and the serial reader disagree")
    }
    guard let keystore = fast else {
        return
    }
    fuzzIndex(bytes, keystore)
    let encoded = KeystoreCodec.encode(keystore)
    guard let again = try? KeystoreCodec.decode(encoded) else {
        check(false, "a decoded keystore re-encodes to bytes that do not decode")
        return
    }
    // encode writes the current format: an older keystore comes back upgraded, nothing else changed.
    var upgraded = keystore
    upgraded.version = Keystore.currentVersion
    check(again == upgraded, "encode/decode round trip changed the keystore")
    check(KeystoreCodec.encode(again) == encoded, "encoding is not stable")
    // The verify fast path: filtering by one digest must find exactly the records with it.
    if let first = keystore.keys.first {
        let digest = Array(first.digest.utf8)
        if let one = try? KeystoreCodec.decode(bytes, onlyDigest: digest) {
            check(one.keys.allSatisfy { $0.digest == first.digest } && !one.keys.isEmpty, "onlyDigest lost or mixed records")
        } else {
            check(false, "onlyDigest decode failed where the full decode succeeded")
        }
    }
}

/// verify's index, built from whatever decoded: every record's digest leads to a byte
/// range holding a record with that digest, and a digest no record has is absent.
func fuzzIndex(_ bytes: [UInt8], _ keystore: Keystore) {
    guard let (_, entries) = try? bytes.withUnsafeBufferPointer({ try KeystoreCodec.decodeForIndex($0, onlyDigest: nil) }) else {
        check(false, "decodeForIndex failed where decode succeeded")
        return
    }
    check(entries.count == keystore.keys.count, "the index lost or added records")
    var st = stat()
    st.st_size = off_t(bytes.count)
    let identity = KeystoreIndex.Identity(st)
    guard
        let index = bytes.withUnsafeBufferPointer({
            KeystoreIndex.encode(identity: identity, prefix: keystore.prefix, maxKeys: keystore.maxKeys, entries: entries, contents: $0)
        })
    else { return }  // a first line or tail too long to re-read: no index, by design
    for record in keystore.keys {
        let digest = Hex.decode(Array(record.digest.utf8))!
        let answer = index.withUnsafeBytes { KeystoreIndex.answer(in: $0, identity: identity, digest: digest) }
        guard case .at(let offset, let length, let fingerprint, let prefix, let maxKeys) = answer else {
            check(false, "the index does not find a record's digest")
            return
        }
        check(prefix == keystore.prefix && maxKeys == keystore.maxKeys, "the index changed the settings")
        let found = try? bytes[offset..<(offset + length)].withUnsafeBufferPointer { try KeystoreCodec.decodeRecord($0) }
        check(found?.digest == record.digest, "the index points at a range without that record")
        check(
            bytes[offset..<(offset + length)].withUnsafeBytes { KeystoreIndex.fingerprint($0) } == fingerprint,
            "the index's fingerprint is not of the record's bytes")
    }
    let absent = [UInt8](repeating: 0xEE, count: 32)
    if !keystore.keys.contains(where: { $0.digest == Hex.encode(absent) }) {
        let answer = index.withUnsafeBytes { KeystoreIndex.answer(in: $0, identity: identity, digest: absent) }
        check(answer == .absent(prefix: keystore.prefix, maxKeys: keystore.maxKeys), "the index finds a digest no record has")
    }
}

func fuzzTime(_ bytes: [UInt8]) {
    if let t = RFC3339.parse(bytes) {
        // Years 0000-9999 only are representable in the output format.
        let formatted = RFC3339.format(t)
        if formatted.utf8.count == 20, let back = RFC3339.parse(Array(formatted.utf8)) {
            check(back == t, "RFC3339 round trip: \(t) → \(formatted) → \(back)")
        }
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if let seconds = DurationParser.parse(text) {
        check(seconds >= 0 && seconds <= DurationParser.maximum, "duration out of range: \(seconds)")
        check(DurationParser.parse(DurationParser.format(seconds)) == seconds, "duration round trip for \(seconds)")
    }
}

func fuzzAPIKey(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    switch APIKey.parse(text) {
    case .success(let key):
        check(key.text == text, "parsed key text differs")
        check(key.digest.utf8.count == 64, "digest length")
        check(text.hasPrefix(key.prefix + "_" + key.environment.rawValue + "_"), "prefix/environment mismatch")
        _ = key.hint
        for format in APIKey.Format.allCases { _ = key.formatted(format) }
        // An error message quoting a valid key shows only its hint.
        let message = Redaction.redactingKeys(in: "no key '\(text)'; see 'keyctl list'")
        check(!message.contains(text), "a key survived redaction: \(text)")
    case .failure:
        break
    }
    // Redaction runs on every message, whatever the user typed: it must not trap.
    _ = Redaction.redactingKeys(in: text)
    _ = text.trimmingSpaces()
}
