// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "sosched",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sosched-server", targets: ["sosched-server"]),
        .executable(name: "sosched", targets: ["sosched"]),
        .library(name: "SchedulerClient", targets: ["SchedulerClient"]),
        .library(name: "SchedulerWire", targets: ["SchedulerWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Domain values and algorithms: no I/O, no protobuf, no database.
        .target(name: "SchedulerCore", swiftSettings: swiftSettings),

        // libprotobuf-c, found through pkg-config.
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // protoc-c output only (Scripts/generate-proto); never edited by hand.
        .target(name: "CSchedulerProto", dependencies: ["CProtobufC"]),

        // Frames, status codes, Swift values <-> protobuf-c messages. The only module that sees C structs.
        .target(
            name: "SchedulerWire",
            dependencies: [
                "CProtobufC", "CSchedulerProto", "SchedulerCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SchedulerStore",
            dependencies: [
                "SchedulerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SchedulerServer",
            dependencies: [
                "SchedulerCore", "SchedulerWire", "SchedulerStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SchedulerClient",
            dependencies: [
                "SchedulerCore", "SchedulerWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sosched-server",
            dependencies: [
                "SchedulerCore", "SchedulerStore", "SchedulerServer", "SchedulerClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sosched",
            dependencies: [
                "SchedulerCore", "SchedulerWire", "SchedulerClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Load generator for Scripts/bench: a separate process that drives the server over loopback.
        .executableTarget(
            name: "sosched-bench",
            dependencies: [
                "SchedulerWire", "SchedulerCore", "SchedulerClient", "SchedulerStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "SchedulerTesting",
            dependencies: [
                "SchedulerServer", "SchedulerStore", "SchedulerClient", "SchedulerWire",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/SchedulerTesting",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SchedulerCoreTests", dependencies: ["SchedulerCore", "SchedulerTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SchedulerWireTests",
            dependencies: ["SchedulerWire", "SchedulerTesting", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SchedulerStoreTests",
            dependencies: [
                "SchedulerStore", "SchedulerCore", "SchedulerTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SchedulerServerTests",
            dependencies: [
                "SchedulerServer", "SchedulerClient", "SchedulerWire", "SchedulerStore", "SchedulerTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["SchedulerTesting", "SchedulerClient", "SchedulerWire", "SchedulerCore", "SchedulerStore"],
            swiftSettings: swiftSettings
        ),
    ]
)
