import Foundation
import GRDB
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// Access, audit and idempotency behaviour every store must have; runs once per `StoreKind`.
struct StoreConformanceTests: Sendable {
    func withStore<T>(_ kind: StoreKind, _ body: (any Store, URL) async throws -> T) async throws -> T {
        try await kind.withStore(body)
    }

    func context(_ key: String? = nil, digest: [UInt8] = [1], actor: String? = "tok_admin", beforeCommit: @escaping @Sendable () throws -> Void = {})
        -> MutationContext
    {
        MutationContext(actor: actor, method: "/test/Create", idempotencyKey: key, requestDigest: digest, beforeCommit: beforeCommit)
    }

    /// A counsellor token by default: counsellors are not stored yet, so its scope needs no records in the store.
    func create(_ store: any Store, role: Role = .counsellor, scope: Scope? = Scope(kind: .counsellor, id: "c1"), _ context: MutationContext) async throws
        -> Mutated<IssuedToken>
    {
        try await store.createToken(role: role, scope: scope, name: "n", context: context) { issued in Array(issued.token.id.utf8) }
    }

    @Test(arguments: StoreKind.all)
    func revokedTokenStopsWorking(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            guard case .applied(let issued, _) = try await create(store, context()) else { return }
            let revoked = try await store.revokeToken(id: issued.token.id, context: context()) { _ in [] }
            guard case .applied(let token, _) = revoked else {
                Issue.record("not applied")
                return
            }
            #expect(token.revokedAt != nil)
            #expect(try await store.activeToken(secret: issued.secret) == nil)
            await #expect(throws: SchedulerError.self) {
                try await store.revokeToken(id: "tok_missing", context: context()) { _ in [] }
            }
        }
    }

    @Test(arguments: StoreKind.all)
    func idempotentRetryReturnsTheStoredReplyAndChangesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            let first = try await create(store, context("key-1"))
            guard case .applied(let issued, let reply) = first else {
                Issue.record("not applied")
                return
            }
            let second = try await create(store, context("key-1"))
            guard case .replayed(let replayed) = second else {
                Issue.record("expected a replay")
                return
            }
            #expect(replayed == reply)
            #expect(replayed == Array(issued.token.id.utf8))
            let tokens = try await store.listTokens(includeRevoked: true, after: nil, limit: 100).tokens
            #expect(tokens.count == 1)
            #expect(try await store.auditEntries(after: 0, limit: 100).count == 1)
            // Same key, other request: refused, nothing changed.
            await #expect {
                try await create(store, context("key-1", digest: [2]))
            } throws: { error in
                (error as? SchedulerError)?.code == .alreadyExists
            }
            // Same key from another caller is another key.
            guard case .applied = try await create(store, context("key-1", actor: "tok_other")) else {
                Issue.record("a key is scoped to its caller")
                return
            }
            #expect(try await store.listTokens(includeRevoked: true, after: nil, limit: 100).tokens.count == 2)
        }
    }

    @Test(arguments: StoreKind.all)
    func aRefusedCommitLeavesNoTrace(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            await #expect(throws: SchedulerError.self) {
                try await create(store, context("k", beforeCommit: { throw SchedulerError(.deadlineExceeded, "late") }))
            }
            #expect(try await store.listTokens(includeRevoked: true, after: nil, limit: 100).tokens.isEmpty)
            #expect(try await store.auditEntries(after: 0, limit: 100).isEmpty)
            // The key was not consumed either.
            guard case .applied = try await create(store, context("k")) else {
                Issue.record("key should be free")
                return
            }
        }
    }

    @Test(arguments: StoreKind.all)
    func listTokensPages(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            for _ in 0..<7 { _ = try await create(store, context()) }
            var all: [AccessToken] = []
            var cursor: Int64?
            repeat {
                let page = try await store.listTokens(includeRevoked: false, after: cursor, limit: 3)
                #expect(page.tokens.count <= 3)
                all += page.tokens
                cursor = page.next
            } while cursor != nil
            #expect(all.count == 7)
            #expect(Set(all.map(\.id)).count == 7)
        }
    }

    @Test(arguments: StoreKind.all)
    func purgeForgetsOldKeys(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            _ = try await create(store, context("old"))
            #expect(try await store.purgeIdempotencyKeys(before: Date().addingTimeInterval(-3600)) == 0)
            #expect(try await store.purgeIdempotencyKeys(before: Date().addingTimeInterval(1)) == 1)
            guard case .applied = try await create(store, context("old")) else {
                Issue.record("a purged key is free again")
                return
            }
        }
    }
}

/// What only the SQLite store promises about its file.
struct SQLiteFileTests {
    let conformance = StoreConformanceTests()

    func withStore<T>(_ kind: StoreKind, _ body: (any Store, URL) async throws -> T) async throws -> T {
        try await conformance.withStore(kind, body)
    }

    func context() -> MutationContext { conformance.context() }

    func create(_ store: any Store, _ context: MutationContext) async throws -> Mutated<IssuedToken> {
        try await conformance.create(store, context)
    }

    @Test func createdTokenIsFoundBySecretOnlyAndStoredAsHash() async throws {
        try await withStore(.sqlite) { store, directory in
            guard case .applied(let issued, _) = try await create(store, context()) else {
                Issue.record("not applied")
                return
            }
            #expect(issued.secret.hasPrefix("sos_") && issued.secret.count == 47)
            let found = try await store.activeToken(secret: issued.secret)
            #expect(found?.id == issued.token.id)
            #expect(found?.scope == Scope(kind: .counsellor, id: "c1"))
            #expect(try await store.activeToken(secret: issued.secret + "x") == nil)
            // The secret itself is nowhere in the file.
            let queue = try DatabaseQueue(path: directory.appendingPathComponent("sosched.sqlite").path)
            let hashes = try await queue.read { db in try Data.fetchAll(db, sql: "SELECT hash FROM token") }
            #expect(hashes == [Data(TokenSecret.hash(issued.secret))])
            try queue.close()
        }
    }

    @Test func auditLogIsAppendOnly() async throws {
        try await withStore(.sqlite) { store, directory in
            _ = try await create(store, context())
            let entries = try await store.auditEntries(after: 0, limit: 10)
            #expect(entries.count == 1)
            #expect(entries.first?.method == "/test/Create")
            #expect(entries.first?.actor == "tok_admin")
            #expect(entries.first?.records.first?.hasPrefix("token:tok_") == true)
            let queue = try DatabaseQueue(path: directory.appendingPathComponent("sosched.sqlite").path)
            #expect(throws: (any Error).self) { try queue.write { db in try db.execute(sql: "UPDATE audit SET method = 'x'") } }
            #expect(throws: (any Error).self) { try queue.write { db in try db.execute(sql: "DELETE FROM audit") } }
            try queue.close()
            #expect(try await store.auditEntries(after: 0, limit: 10) == entries)
        }
    }

    @Test func dataSurvivesReopeningAndTheFileIsWALWithFullSync() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        var secret = ""
        do {
            let store = try SQLiteStore(directory: directory)
            guard case .applied(let issued, _) = try await create(store, context()) else { return }
            secret = issued.secret
            #expect(try store.pragma("synchronous") == "2")  // FULL
            #expect(try store.pragma("journal_mode") == "wal")
            #expect(
                try store.appliedMigrations() == [
                    "v1-access", "v2-nursery", "v3-intake", "v4-intake-runs", "v5-ledger-version-triggers", "v6-counselling", "v7-mentoring",
                ])
            try await store.close()
        }
        let reopened = try SQLiteStore(directory: directory)
        #expect(try await reopened.activeToken(secret: secret) != nil)
        try await reopened.close()
    }
}

/// What only the PostgreSQL store promises about its database.
struct PostgresDatabaseTests {
    let conformance = StoreConformanceTests()

    @Test func tokensAreStoredAsHashesAndTheAuditLogIsAppendOnly() async throws {
        try await conformance.withStore(.postgres) { store, directory in
            guard case .applied(let issued, _) = try await conformance.create(store, conformance.context()) else {
                Issue.record("not applied")
                return
            }
            let hashes = try await TestPostgres.execute("SELECT encode(hash, 'hex') FROM token", for: directory)
            #expect(hashes == [[TokenSecret.hash(issued.secret).map { String(format: "%02x", $0) }.joined()]])
            let secrets = try await TestPostgres.execute(
                "SELECT count(*)::text FROM token WHERE position(\(quote(issued.secret)) in row_to_json(token)::text) > 0", for: directory)
            #expect(secrets == [["0"]])
            let before = try await store.auditEntries(after: 0, limit: 10)
            #expect(before.count == 1)
            for statement in ["UPDATE audit SET method = 'x'", "DELETE FROM audit", "TRUNCATE audit"] {
                await #expect(throws: (any Error).self, "\(statement)") { _ = try await TestPostgres.execute(statement, for: directory) }
            }
            #expect(try await store.auditEntries(after: 0, limit: 10) == before)
        }
    }

    @Test func serversStartingTogetherMigrateOnce() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try await TestPostgres.database(for: directory)  // an empty database; the stores race to set it up
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await TestPostgres.openStore(for: directory, maxConnections: 2) } }
            return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
        }
        for store in stores {
            let applied = try await StoreKind.run(store) { try await $0.appliedMigrations() }
            #expect(applied == ["v1-access", "v2-nursery", "v3-intake", "v4-intake-runs", "v5-ledger-version-triggers", "v6-counselling", "v7-mentoring"])
        }
    }

    func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
