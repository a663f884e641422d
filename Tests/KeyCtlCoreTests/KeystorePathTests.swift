// Issue 8 item 11: a relative XDG_DATA_HOME is ignored; --keystore=~/x.json expands ~.

import Testing

@testable import KeyCtlCore

@Suite struct KeystorePathTests {
    static func path(_ option: String?, _ env: [String: String]) throws -> String {
        try Invocation.keystorePath(option: option, environment: { env[$0] })
    }

    @Test func relativeXDGDataHomeIsIgnored() throws {
        #expect(try Self.path(nil, ["XDG_DATA_HOME": "rel/data", "HOME": "/h"]) == "/h/.local/share/keyctl/keystore.json")
        #expect(try Self.path(nil, ["XDG_DATA_HOME": "/abs", "HOME": "/h"]) == "/abs/keyctl/keystore.json")
    }

    @Test func leadingTildeExpandsFromHome() throws {
        #expect(try Self.path("~/x.json", ["HOME": "/h"]) == "/h/x.json")
        #expect(try Self.path("~", ["HOME": "/h"]) == "/h")
        #expect(try Self.path("a/~/x.json", ["HOME": "/h"]) == "a/~/x.json")
        #expect(try Self.path("~user/x.json", ["HOME": "/h"]) == "~user/x.json")
        #expect(throws: KeyCtlError.self) { try Self.path("~/x.json", [:]) }
    }
}
