// swift-tools-version:6.0
// libFuzzer harness for the wire decoder; built and run by Scripts/fuzz-wire (not part of the tests).
import PackageDescription

let package = Package(
    name: "sosched-fuzz",
    dependencies: [.package(name: "sosched", path: "../..")],
    targets: [
        .executableTarget(
            name: "FuzzFrames",
            dependencies: [.product(name: "SchedulerWire", package: "sosched")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
)
