// swift-tools-version:6.0
import PackageDescription

// keyctl uses the toolchain alone: no package dependencies.
// Release builds link a static executable: measured to start as fast as /bin/true
// (see README "Performance"); debug builds and tests link dynamically.
let package = Package(
    name: "keyctl",
    products: [
        .executable(name: "keyctl", targets: ["keyctl"])
    ],
    targets: [
        .target(name: "KeyCtlCore"),
        .executableTarget(
            name: "keyctl",
            dependencies: ["KeyCtlCore"],
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(configuration: .release))]
        ),
        .testTarget(name: "KeyCtlCoreTests", dependencies: ["KeyCtlCore"]),
        .testTarget(name: "KeyCtlEndToEndTests", dependencies: ["keyctl", "KeyCtlCore"]),
    ]
)
