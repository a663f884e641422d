// swift-tools-version:6.0
import PackageDescription

// keyctl uses the toolchain alone: no package dependencies.
// Release builds link a static executable: measured to start as fast as /bin/true
// (see README "Performance"); debug builds and tests link dynamically.
//
// Release builds also put each function in its own section and lay out together the
// functions that start-up, `--version` and a settled `verify` run
// (Sources/keyctl/startup.order, made by Tests/Benchmarks/startup-order), so starting
// touches fewer pages of the binary (README "Performance", "Start-up"). The order is a
// layout hint only: a name in it that no longer exists matches nothing.
let release = BuildSettingCondition.when(configuration: .release)
let functionSections = SwiftSetting.unsafeFlags(["-Xfrontend", "-function-sections"], release)
let startupOrder = Context.packageDirectory + "/Sources/keyctl/startup.order"

let package = Package(
    name: "keyctl",
    products: [
        .executable(name: "keyctl", targets: ["keyctl"])
    ],
    targets: [
        .target(name: "KeyCtlCore", swiftSettings: [functionSections]),
        .executableTarget(
            name: "keyctl",
            dependencies: ["KeyCtlCore"],
            exclude: ["startup.order"],
            swiftSettings: [functionSections],
            linkerSettings: [
                .unsafeFlags(["-static-executable", "-Xlinker", "--section-ordering-file=" + startupOrder], release)
            ]
        ),
        .testTarget(name: "KeyCtlCoreTests", dependencies: ["KeyCtlCore"]),
        .testTarget(name: "KeyCtlEndToEndTests", dependencies: ["keyctl", "KeyCtlCore"]),
    ]
)
