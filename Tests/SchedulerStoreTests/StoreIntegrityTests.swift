import Foundation
import GRDB
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import Testing

/// What a store does with scopes that name nothing, values changed by hand, and refusals of
/// the database itself; every test runs on a real SQLite file and a real PostgreSQL database.
struct StoreIntegrityTests {
    func context() -> MutationContext { MutationContext(actor: nil, method: "/test/Integrity") }

    func withStore<T>(_ kind: StoreKind, _ body: (any Store, URL) async throws -> T) async throws -> T {
        try await kind.withStore(body)
    }

    /// Runs `sql` on the store's database from outside the store, as an operator with `sqlite3` or `psql` would.
    func execute(_ sql: String, kind: StoreKind, directory: URL) async throws {
        if kind.name == "postgres" {
            _ = try await TestPostgres.execute(sql, for: directory)
        } else {
            let queue = try DatabaseQueue(path: directory.appendingPathComponent("sosched.sqlite").path)
            try await queue.write { db in try db.execute(sql: sql) }
            try queue.close()
        }
    }

    func token(_ store: any Store, _ scope: Scope) async throws -> IssuedToken {
        try NurseryFixture.applied(try await store.createToken(role: .manager, scope: scope, name: "m", context: context()) { _ in [] })
    }

    func expectError(_ code: SchedulerError.Code, field: String? = nil, containing text: String? = nil, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code), got success")
        } catch let error as SchedulerError {
            #expect(error.code == code, "\(error)")
            if let field { #expect(error.field == field, "\(error)") }
            if let text { #expect(error.message.contains(text), "\(error.message)") }
        } catch {
            Issue.record("expected a SchedulerError \(code), got \(String(reflecting: error))")
        }
    }

    // MARK: Scopes

    @Test(arguments: StoreKind.all)
    func aTokenScopeMustNameASiteOrNurseryThatExists(kind: StoreKind) async throws {
        try await withStore(kind) { store, _ in
            await expectError(.invalidArgument, field: "scope", containing: "nursery almaty-9") {
                _ = try await token(store, Scope(kind: .nursery, id: "almaty-9"))
            }
            await expectError(.invalidArgument, field: "scope", containing: "site almaty") {
                _ = try await token(store, Scope(kind: .site, id: "almaty"))
            }
            #expect(try await store.listTokens(includeRevoked: true, after: nil, limit: 10).tokens.isEmpty)

            _ = try await NurseryFixture.seed(store)
            _ = try await token(store, Scope(kind: .site, id: "almaty"))
            _ = try await token(store, Scope(kind: .nursery, id: "almaty-1"))
            #expect(try await store.listTokens(includeRevoked: true, after: nil, limit: 10).tokens.count == 2)
        }
    }

    /// A nursery deleted by hand and made again under its old id must not fall into the scope of
    /// tokens made for the old one; nor may a nursery appear under an id that a token made
    /// before it (before this check existed) already names.
    @Test(arguments: StoreKind.all)
    func aNurseryIdNamedByAnOlderTokenCannotBeCreated(kind: StoreKind) async throws {
        try await withStore(kind) { store, directory in
            _ = try await store.createSite(Site(id: "almaty", name: "Almaty", timeZone: "Asia/Almaty"), context: context()) { _ in [] }
            _ = try await store.createNursery(Nursery(id: "old-1", siteID: "almaty", name: "Old"), context: context()) { _ in [] }
            let old = try await token(store, Scope(kind: .nursery, id: "old-1"))
            try await execute("DELETE FROM nursery WHERE id = 'old-1'", kind: kind, directory: directory)
            await expectError(.failedPrecondition, field: "nursery.id", containing: old.token.id) {
                _ = try await store.createNursery(Nursery(id: "old-1", siteID: "almaty", name: "New"), context: context()) { _ in [] }
            }

            // A token stored before scopes were checked, naming a nursery and a site that never existed.
            try await execute(
                """
                INSERT INTO token (id, hash, role, scope, name, created_at_ms) VALUES
                    ('tok_legacy1', \(kind.name == "postgres" ? "'\\x01'::bytea" : "x'01'"), 'manager', 'nursery:later-1', 'legacy', 0),
                    ('tok_legacy2', \(kind.name == "postgres" ? "'\\x02'::bytea" : "x'02'"), 'manager', 'site:later', 'legacy', 0)
                """, kind: kind, directory: directory)
            await expectError(.failedPrecondition, field: "nursery.id", containing: "tok_legacy1") {
                _ = try await store.createNursery(Nursery(id: "later-1", siteID: "almaty", name: "Later"), context: context()) { _ in [] }
            }
            await expectError(.failedPrecondition, field: "site.id", containing: "tok_legacy2") {
                _ = try await store.createSite(Site(id: "later", name: "Later", timeZone: "UTC"), context: context()) { _ in [] }
            }
            #expect(try await store.nursery(id: "later-1") == nil)

            // Once the old token is revoked the id is free.
            _ = try await store.revokeToken(id: "tok_legacy1", context: context()) { _ in [] }
            _ = try await store.createNursery(Nursery(id: "later-1", siteID: "almaty", name: "Later"), context: context()) { _ in [] }
            #expect(try await store.nursery(id: "later-1")?.name == "Later")
        }
    }

    // MARK: Values changed by hand

    @Test(arguments: StoreKind.all)
    func storedValuesOutsideTheirRangeAreDataLossNamingTheColumn(kind: StoreKind) async throws {
        try await withStore(kind) { store, directory in
            let fixture = try await NurseryFixture.seed(store)
            let child = try #require(fixture.almatyChildren.first)
            try await execute("UPDATE nursery_group SET capacity = 5000000000 WHERE id = 'almaty-toddlers'", kind: kind, directory: directory)
            try await execute("UPDATE child SET birth_day = 9000000000000000000 WHERE id = '\(child.id)'", kind: kind, directory: directory)
            try await execute("UPDATE nursery SET open_weekdays = -1 WHERE id = 'astana-1'", kind: kind, directory: directory)

            await expectError(.dataLoss, containing: "nursery_group.capacity") { _ = try await store.group(id: "almaty-toddlers") }
            await expectError(.dataLoss, containing: "child.birth_day") { _ = try await store.child(id: child.id) }
            await expectError(.dataLoss, containing: "nursery.open_weekdays") { _ = try await store.nursery(id: "astana-1") }
            // A booking reads the same rows inside its transaction: refused alike, nothing written.
            await expectError(.dataLoss, containing: "nursery_group.capacity") {
                _ = try await fixture.place(store, child: fixture.almatyChildren[1], first: "2030-09-02")
            }
            // Rows that are fine still read.
            #expect(try await store.group(id: "astana-toddlers")?.capacity == 10)
        }
    }

    /// SQLite keeps whatever is written into a column (a text in an INTEGER column, say); GRDB's
    /// subscripts stopped the process on such a value.
    @Test func sqliteValuesOfTheWrongKindAreDataLossNotATrap() async throws {
        try await withStore(.sqlite) { store, directory in
            _ = try await NurseryFixture.seed(store)
            try await execute("UPDATE nursery_group SET capacity = 'lots' WHERE id = 'almaty-toddlers'", kind: .sqlite, directory: directory)
            try await execute("UPDATE site SET name = x'ff00' WHERE id = 'astana'", kind: .sqlite, directory: directory)
            await expectError(.dataLoss, containing: "nursery_group.capacity") { _ = try await store.group(id: "almaty-toddlers") }
            await expectError(.dataLoss, containing: "site.name") { _ = try await store.site(id: "astana") }
            await expectError(.dataLoss, containing: "site.name") { _ = try await store.listSites(after: nil, limit: 10) }
        }
    }

    // MARK: Refusals of the database

    /// A constraint the store does not check itself (here a unique index an operator added)
    /// is FAILED_PRECONDITION naming it, on SQLite as on PostgreSQL.
    @Test(arguments: StoreKind.all)
    func aBrokenConstraintIsFailedPreconditionNamingIt(kind: StoreKind) async throws {
        try await withStore(kind) { store, directory in
            try await execute("CREATE UNIQUE INDEX site_name_unique ON site (name)", kind: kind, directory: directory)
            _ = try await store.createSite(Site(id: "almaty", name: "Same", timeZone: "Asia/Almaty"), context: context()) { _ in [] }
            await expectError(.failedPrecondition, containing: kind.name == "postgres" ? "site_name_unique" : "site.name") {
                _ = try await store.createSite(Site(id: "astana", name: "Same", timeZone: "Asia/Almaty"), context: context()) { _ in [] }
            }
            #expect(try await store.site(id: "astana") == nil)
            // The store goes on working.
            _ = try await store.createSite(Site(id: "astana", name: "Astana", timeZone: "Asia/Almaty"), context: context()) { _ in [] }
        }
    }
}
