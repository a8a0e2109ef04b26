import Foundation
import SchedulerStore

/// A kind of store that the store conformance tests run against: every test written against
/// `any Store` runs once per kind. (A PostgreSQL store joins this list when it exists.)
public struct StoreKind: Sendable, CustomStringConvertible {
    public let name: String
    /// Opens, or reopens, the store whose data lives under `directory`.
    public let open: @Sendable (URL) async throws -> any Store

    public init(name: String, open: @escaping @Sendable (URL) async throws -> any Store) {
        self.name = name
        self.open = open
    }

    public static let sqlite = StoreKind(name: "sqlite") { try SQLiteStore(directory: $0) }

    /// A database of its own per directory on the test run's PostgreSQL server (`TestPostgres`).
    public static let postgres = StoreKind(name: "postgres") { try await TestPostgres.openStore(for: $0) }

    public static let all: [StoreKind] = [.sqlite, .postgres]

    public var description: String { name }

    /// Runs `body` on a new store of this kind in a temporary directory, with its services
    /// running (`withRunningServices`), then closes it.
    public func withStore<T>(_ body: (any Store, URL) async throws -> T) async throws -> T {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await withOpened(directory) { store in try await body(store, directory) }
    }

    /// Opens (or reopens) the store of `directory`, runs `body` on it with its services running,
    /// then closes it.
    public func withOpened<T>(_ directory: URL, _ body: (any Store) async throws -> T) async throws -> T {
        try await Self.run(try await open(directory), body)
    }

    /// Runs `body` on `store` with its services running, then closes it (also when `body` throws).
    public static func run<S: Store, T>(_ store: S, _ body: (S) async throws -> T) async throws -> T {
        do {
            let result = try await store.withRunningServices { try await body(store) }
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}
