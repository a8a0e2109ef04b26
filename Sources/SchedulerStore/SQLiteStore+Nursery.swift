import Foundation
import GRDB
import SchedulerCore

extension SQLiteStore {
    static func registerNurseryMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-nursery") { db in
            try db.execute(
                sql: """
                    CREATE TABLE site (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        time_zone TEXT NOT NULL
                    );
                    CREATE TABLE nursery (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        name TEXT NOT NULL,
                        open_weekdays INTEGER NOT NULL,
                        closures TEXT NOT NULL,
                        morning TEXT NOT NULL,
                        afternoon TEXT NOT NULL
                    );
                    CREATE INDEX nursery_site ON nursery(site_id);
                    CREATE TABLE nursery_group (
                        id TEXT PRIMARY KEY,
                        nursery_id TEXT NOT NULL REFERENCES nursery(id),
                        name TEXT NOT NULL,
                        min_age_months INTEGER NOT NULL,
                        max_age_months INTEGER NOT NULL,
                        capacity INTEGER NOT NULL,
                        reserved_sos INTEGER NOT NULL,
                        reserved_local INTEGER NOT NULL,
                        ledger_version INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX nursery_group_nursery ON nursery_group(nursery_id);
                    CREATE TABLE family (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        kind TEXT NOT NULL,
                        single_parent INTEGER NOT NULL,
                        parents_working INTEGER NOT NULL,
                        contact_ref TEXT NOT NULL
                    );
                    CREATE INDEX family_site ON family(site_id);
                    CREATE TABLE child (
                        id TEXT PRIMARY KEY,
                        family_id TEXT NOT NULL REFERENCES family(id),
                        given_name TEXT NOT NULL,
                        birth_day INTEGER NOT NULL,
                        special_needs INTEGER NOT NULL
                    );
                    CREATE INDEX child_family ON child(family_id);
                    CREATE TABLE placement (
                        id TEXT PRIMARY KEY,
                        child_id TEXT NOT NULL REFERENCES child(id),
                        group_id TEXT NOT NULL REFERENCES nursery_group(id),
                        nursery_id TEXT NOT NULL REFERENCES nursery(id),
                        kind TEXT NOT NULL,
                        first_day INTEGER NOT NULL,
                        last_day INTEGER,
                        pattern INTEGER NOT NULL,
                        state TEXT NOT NULL
                    );
                    CREATE INDEX placement_group ON placement(group_id, state);
                    CREATE INDEX placement_nursery ON placement(nursery_id, first_day);
                    CREATE INDEX placement_child ON placement(child_id);
                    """)
        }
    }

    /// Any change to a placement row bumps its group's `ledger_version`, so a change made by hand
    /// (with `sqlite3`, while the server runs) makes the server rebuild that group's ledger. The
    /// server's own changes set the version to the one they read plus one after changing the row,
    /// so together they still move it by one.
    static func registerLedgerVersionTriggers(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-ledger-version-triggers") { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER placement_insert_bumps_ledger AFTER INSERT ON placement BEGIN
                        UPDATE nursery_group SET ledger_version = ledger_version + 1 WHERE id = NEW.group_id;
                    END;
                    CREATE TRIGGER placement_update_bumps_ledger AFTER UPDATE ON placement BEGIN
                        UPDATE nursery_group SET ledger_version = ledger_version + 1 WHERE id IN (OLD.group_id, NEW.group_id);
                    END;
                    CREATE TRIGGER placement_delete_bumps_ledger AFTER DELETE ON placement BEGIN
                        UPDATE nursery_group SET ledger_version = ledger_version + 1 WHERE id = OLD.group_id;
                    END;
                    CREATE TRIGGER group_limits_bump_ledger AFTER UPDATE OF capacity, reserved_sos, reserved_local ON nursery_group
                    WHEN NEW.ledger_version = OLD.ledger_version BEGIN
                        UPDATE nursery_group SET ledger_version = ledger_version + 1 WHERE id = NEW.id;
                    END;
                    CREATE TRIGGER nursery_calendar_bumps_ledgers AFTER UPDATE OF open_weekdays, closures ON nursery BEGIN
                        UPDATE nursery_group SET ledger_version = ledger_version + 1 WHERE nursery_id = NEW.id;
                    END;
                    """)
        }
    }

    // MARK: Rows

    static func site(_ row: Row) throws -> Site {
        let row = StoredRow(row, "site")
        return try Site(id: row["id"], name: row["name"], timeZone: row["time_zone"])
    }

    static func nursery(_ row: Row) throws -> Nursery {
        let row = StoredRow(row, "nursery")
        return try StoreRules.nursery(
            id: row["id"], siteID: row["site_id"], name: row["name"], weekdayBits: row["open_weekdays"], closures: row["closures"],
            morning: row["morning"], afternoon: row["afternoon"])
    }

    static func group(_ row: Row) throws -> Group {
        let row = StoredRow(row, "nursery_group")
        return try StoreRules.group(
            id: row["id"], nurseryID: row["nursery_id"], name: row["name"], minAgeMonths: row["min_age_months"],
            maxAgeMonths: row["max_age_months"], capacity: row["capacity"], reservedSOS: row["reserved_sos"],
            reservedLocal: row["reserved_local"])
    }

    static func family(_ row: Row) throws -> Family {
        let row = StoredRow(row, "family")
        return try Family(
            id: row["id"], siteID: row["site_id"], kind: FamilyKind(rawValue: row["kind"]) ?? .local,
            singleParent: row["single_parent"], parentsWorking: row["parents_working"], contactRef: row["contact_ref"])
    }

    static func child(_ row: Row) throws -> Child {
        let row = StoredRow(row, "child")
        return try Child(
            id: row["id"], familyID: row["family_id"], givenName: row["given_name"],
            birthDate: StoreRules.storedDay(row["birth_day"], "child.birth_day"), specialNeeds: row["special_needs"])
    }

    static func placement(_ row: Row) throws -> Placement {
        let row = StoredRow(row, "placement")
        return try StoreRules.placement(
            id: row["id"], childID: row["child_id"], groupID: row["group_id"], nurseryID: row["nursery_id"], kind: row["kind"],
            firstDay: row["first_day"], lastDay: row["last_day"], patternBits: row["pattern"], state: row["state"])
    }

    /// A child and its family from a joined row: `c.id, c.family_id, c.given_name, c.birth_day,
    /// c.special_needs, f.site_id, f.kind, f.single_parent, f.parents_working, f.contact_ref`.
    static func childWithFamily(_ row: Row) throws -> (Child, Family) {
        let c = StoredRow(row, "child")
        let child = try Child(
            id: c[0, "id"], familyID: c[1, "family_id"], givenName: c[2, "given_name"],
            birthDate: StoreRules.storedDay(c[3, "birth_day"], "child.birth_day"), specialNeeds: c[4, "special_needs"])
        let family = try Family(
            id: child.familyID, siteID: c[5, "family.site_id"], kind: FamilyKind(rawValue: c[6, "family.kind"]) ?? .local,
            singleParent: c[7, "family.single_parent"], parentsWorking: c[8, "family.parents_working"],
            contactRef: c[9, "family.contact_ref"])
        return (child, family)
    }

    // MARK: Lookups inside a transaction

    static func require<T>(_ value: T?, _ what: String, _ id: String, field: String) throws -> T {
        try StoreRules.require(value, what, id, field: field)
    }

    static func fetchSite(_ db: Database, _ id: String) throws -> Site? {
        try db.row(sql: "SELECT * FROM site WHERE id = ?", arguments: [id]).map(site)
    }

    static func fetchNursery(_ db: Database, _ id: String) throws -> Nursery? {
        try db.row(sql: "SELECT * FROM nursery WHERE id = ?", arguments: [id]).map(nursery)
    }

    static func fetchGroup(_ db: Database, _ id: String) throws -> Group? {
        try db.row(sql: "SELECT * FROM nursery_group WHERE id = ?", arguments: [id]).map(group)
    }

    static func fetchFamily(_ db: Database, _ id: String) throws -> Family? {
        try db.row(sql: "SELECT * FROM family WHERE id = ?", arguments: [id]).map(family)
    }

    static func fetchChild(_ db: Database, _ id: String) throws -> Child? {
        try db.row(sql: "SELECT * FROM child WHERE id = ?", arguments: [id]).map(child)
    }

    static func fetchPlacement(_ db: Database, _ id: String) throws -> Placement? {
        try db.row(sql: "SELECT * FROM placement WHERE id = ?", arguments: [id]).map(placement)
    }

    /// The nursery's groups with each one's capacity ledger, from the cache (or this batch's
    /// working copies) when current, else rebuilt from the placements.
    ///
    /// Inside a write batch, a ledger built or changed is kept with the batch and reaches the
    /// shared cache only after the batch commits: a rolled-back batch leaves nothing behind.
    func ledgers(_ db: Database, nursery: Nursery, batch: WriteBatcher.Batch?) throws -> (
        groups: [Group], ledgers: [String: CapacityLedger], versions: [String: Int64]
    ) {
        let rows = try db.rows(sql: "SELECT * FROM nursery_group WHERE nursery_id = ? ORDER BY id", arguments: [nursery.id])
        var groups: [Group] = []
        var ledgers: [String: CapacityLedger] = [:]
        var versions: [String: Int64] = [:]
        for row in rows {
            let group = try Self.group(row)
            let version: Int64 = try StoredRow(row, "nursery_group")["ledger_version"]
            groups.append(group)
            versions[group.id] = version
            ledgers[group.id] = try ledger(db, group: group, version: version, nursery: nursery, batch: batch)
        }
        return (groups, ledgers, versions)
    }

    /// One group's ledger at `version`: this batch's working copy, the cache's, or rebuilt.
    func ledger(_ db: Database, group: Group, version: Int64, nursery: Nursery, batch: WriteBatcher.Batch?) throws -> CapacityLedger {
        if let batch, let entry = working(batch).entries[group.id], entry.version == version { return entry.ledger }
        if let cached = ledgerCache.ledger(group: group.id, version: version) {
            if let batch { keep(cached, group: group.id, version: version, in: batch) }
            return cached
        }
        var ledger = CapacityLedger(group: group, nursery: nursery)
        let placements = try db.rows(sql: "SELECT * FROM placement WHERE group_id = ? AND state = 'active'", arguments: [group.id])
        for placement in placements { ledger.add(try Self.placement(placement).span) }
        if let batch {
            keep(ledger, group: group.id, version: version, in: batch)
        } else {
            ledgerCache.store(group: group.id, version: version, ledger: ledger)
        }
        return ledger
    }

    /// The ledgers a write batch has loaded or changed. Inside a batch a ledger reaches the shared
    /// cache only after the batch commits; a failed job's changes are undone by their inverse.
    final class WorkingLedgers {
        var entries: [String: (version: Int64, ledger: CapacityLedger)] = [:]
    }

    /// Keeps a loaded ledger with the batch; if the job that loaded it fails, it is dropped again.
    private func keep(_ ledger: CapacityLedger, group: String, version: Int64, in batch: WriteBatcher.Batch) {
        let working = self.working(batch)
        let previous = working.entries[group]
        working.entries[group] = (version, ledger)
        batch.undo.append { working.entries[group] = previous }
    }

    private func working(_ batch: WriteBatcher.Batch) -> WorkingLedgers {
        if let existing = batch.values[ObjectIdentifier(WorkingLedgers.self)] as? WorkingLedgers { return existing }
        let created = WorkingLedgers()
        batch.values[ObjectIdentifier(WorkingLedgers.self)] = created
        let cache = ledgerCache
        batch.afterCommit.append {
            for (group, entry) in created.entries { cache.store(group: group, version: entry.version, ledger: entry.ledger) }
        }
        return created
    }

    /// Changes a group's ledger in place, in this batch, and bumps its version in the
    /// transaction; `inverse` undoes the change if the job fails. The ledger must be loaded.
    func change(
        _ db: Database, batch: WriteBatcher.Batch, group: String, version: Int64,
        _ change: @escaping (inout CapacityLedger) -> Void, inverse: @escaping (inout CapacityLedger) -> Void
    ) throws {
        let working = self.working(batch)
        guard working.entries[group]?.version == version else {
            throw SchedulerStoreError.internal("ledger of group \(group) is not loaded at version \(version)")
        }
        try db.run(sql: "UPDATE nursery_group SET ledger_version = ? WHERE id = ?", arguments: [version + 1, group])
        working.entries[group]?.version = version + 1
        working.entries[group]?.ledger.apply(change)
        batch.undo.append {
            working.entries[group]?.version = version
            working.entries[group]?.ledger.apply(inverse)
        }
    }

    /// Replaces a group's ledger (after a calendar or capacity change) and bumps its version.
    func publish(_ db: Database, batch: WriteBatcher.Batch, group: String, ledger: CapacityLedger, version: Int64) throws {
        try db.run(sql: "UPDATE nursery_group SET ledger_version = ? WHERE id = ?", arguments: [version + 1, group])
        let working = self.working(batch)
        let previous = working.entries[group]
        working.entries[group] = (version + 1, ledger)
        batch.undo.append { working.entries[group] = previous }
    }

    static func today(for nursery: Nursery, _ db: Database, now: Date) throws -> CivilDate {
        CivilDate.today(timeZone: try fetchSite(db, nursery.siteID)?.timeZone, now: now)
    }

    // MARK: Paging

    private func page<T: Sendable>(
        _ sql: String, _ arguments: StatementArguments, limit: Int, id: @escaping @Sendable (T) -> String, map: @escaping @Sendable (Row) throws -> T
    ) async throws -> Page<T> {
        try await read { db in
            let rows = try db.rows(sql: sql + " LIMIT \(limit + 1)", arguments: arguments)
            let items = try rows.prefix(limit).map(map)
            return Page(items: Array(items), next: rows.count > limit ? items.last.map(id) : nil)
        }
    }

    // MARK: Sites

    public func createSite(_ site: Site, context: MutationContext, reply: @escaping @Sendable (Site) throws -> [UInt8]) async throws -> Mutated<Site> {
        try await mutate(context, reply: reply) { db, _ in
            guard try Self.fetchSite(db, site.id) == nil else {
                throw SchedulerError(.alreadyExists, "a site with id \(site.id) exists", field: "site.id")
            }
            try Self.checkScopeUnclaimed(db, Scope(kind: .site, id: site.id), field: "site.id")
            try db.run(sql: "INSERT INTO site (id, name, time_zone) VALUES (?, ?, ?)", arguments: [site.id, site.name, site.timeZone])
            return (site, ["site:\(site.id)"])
        }
    }

    public func site(id: String) async throws -> Site? {
        try await read { db in try Self.fetchSite(db, id) }
    }

    public func listSites(after: String?, limit: Int) async throws -> Page<Site> {
        try await page("SELECT * FROM site WHERE id > ? ORDER BY id", [after ?? ""], limit: limit, id: \.id, map: Self.site)
    }

    public func updateSite(
        id: String, context: MutationContext, reply: @escaping @Sendable (Site) throws -> [UInt8], _ change: @escaping @Sendable (inout Site) throws -> Void
    ) async throws -> Mutated<Site> {
        try await mutate(context, reply: reply) { db, _ in
            let old = try Self.require(try Self.fetchSite(db, id), "site", id, field: "site.id")
            var changed = old
            try change(&changed)
            let (site, records) = NurseryChange.site(old: old, changed: changed)
            try db.run(sql: "UPDATE site SET name = ?, time_zone = ? WHERE id = ?", arguments: [site.name, site.timeZone, id])
            return (site, records)
        }
    }

    // MARK: Nurseries

    public func createNursery(_ nursery: Nursery, context: MutationContext, reply: @escaping @Sendable (Nursery) throws -> [UInt8]) async throws -> Mutated<
        Nursery
    > {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, nursery.siteID), "site", nursery.siteID, field: "nursery.site_id")
            guard try Self.fetchNursery(db, nursery.id) == nil else {
                throw SchedulerError(.alreadyExists, "a nursery with id \(nursery.id) exists", field: "nursery.id")
            }
            try Self.checkScopeUnclaimed(db, Scope(kind: .nursery, id: nursery.id), field: "nursery.id")
            try db.run(
                sql: "INSERT INTO nursery (id, site_id, name, open_weekdays, closures, morning, afternoon) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    nursery.id, nursery.siteID, nursery.name, StoreRules.weekdayBits(nursery.openWeekdays),
                    StoreRules.closuresText(nursery.closures), nursery.morning.description, nursery.afternoon.description,
                ])
            return (nursery, ["nursery:\(nursery.id)"])
        }
    }

    public func nursery(id: String) async throws -> Nursery? {
        try await read { db in try Self.fetchNursery(db, id) }
    }

    public func listNurseries(siteID: String?, after: String?, limit: Int) async throws -> Page<Nursery> {
        try await page(
            "SELECT * FROM nursery WHERE id > ? AND (? IS NULL OR site_id = ?) ORDER BY id", [after ?? "", siteID, siteID],
            limit: limit, id: \.id, map: Self.nursery)
    }

    public func updateNursery(
        id: String, context: MutationContext, reply: @escaping @Sendable (Nursery) throws -> [UInt8],
        _ change: @escaping @Sendable (inout Nursery) throws -> Void
    ) async throws -> Mutated<Nursery> {
        try await mutate(context, reply: reply) { db, batch in
            let old = try Self.require(try Self.fetchNursery(db, id), "nursery", id, field: "nursery.id")
            var changed = old
            try change(&changed)
            let (nursery, calendarChanged, records) = NurseryChange.nursery(old: old, changed: changed)
            try db.run(
                sql: "UPDATE nursery SET name = ?, open_weekdays = ?, closures = ?, morning = ?, afternoon = ? WHERE id = ?",
                arguments: [
                    nursery.name, StoreRules.weekdayBits(nursery.openWeekdays), StoreRules.closuresText(nursery.closures),
                    nursery.morning.description, nursery.afternoon.description, id,
                ])
            if calendarChanged {
                // The calendar is part of every ledger of the nursery: rebuild and check them all.
                let today = try Self.today(for: nursery, db, now: context.now)
                let current = try self.ledgers(db, nursery: old, batch: batch)
                for group in current.groups {
                    let spans = try db.rows(sql: "SELECT * FROM placement WHERE group_id = ? AND state = 'active'", arguments: [group.id]).map {
                        try Self.placement($0).span
                    }
                    let ledger = try NurseryChange.calendarLedger(group: group, nursery: nursery, placements: spans, today: today)
                    try self.publish(db, batch: batch, group: group.id, ledger: ledger, version: current.versions[group.id] ?? 0)
                }
            }
            return (nursery, records)
        }
    }

    // MARK: Groups

    public func createGroup(_ group: Group, context: MutationContext, reply: @escaping @Sendable (Group) throws -> [UInt8]) async throws -> Mutated<Group> {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchNursery(db, group.nurseryID), "nursery", group.nurseryID, field: "group.nursery_id")
            guard try Self.fetchGroup(db, group.id) == nil else {
                throw SchedulerError(.alreadyExists, "a group with id \(group.id) exists", field: "group.id")
            }
            try db.run(
                sql: """
                    INSERT INTO nursery_group (id, nursery_id, name, min_age_months, max_age_months, capacity, reserved_sos, reserved_local)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    group.id, group.nurseryID, group.name, group.minAgeMonths, group.maxAgeMonths, group.capacity,
                    group.reservedSOS, group.reservedLocal,
                ])
            return (group, ["group:\(group.id)"])
        }
    }

    public func group(id: String) async throws -> Group? {
        try await read { db in try Self.fetchGroup(db, id) }
    }

    public func listGroups(nurseryID: String, after: String?, limit: Int) async throws -> Page<Group> {
        try await page(
            "SELECT * FROM nursery_group WHERE id > ? AND nursery_id = ? ORDER BY id", [after ?? "", nurseryID], limit: limit, id: \.id, map: Self.group)
    }

    public func updateGroup(
        id: String, context: MutationContext, reply: @escaping @Sendable (Group) throws -> [UInt8], _ change: @escaping @Sendable (inout Group) throws -> Void
    ) async throws -> Mutated<Group> {
        try await mutate(context, reply: reply) { db, batch in
            let old = try Self.require(try Self.fetchGroup(db, id), "group", id, field: "group.id")
            var changed = old
            try change(&changed)
            let (group, limitsChanged, records) = try NurseryChange.group(old: old, changed: changed)
            // Load the ledgers before the row changes: rebuilt afterwards they would hold the new limits at the old version.
            let nursery = try Self.require(try Self.fetchNursery(db, group.nurseryID), "nursery", group.nurseryID, field: "group.nursery_id")
            let current = limitsChanged ? try self.ledgers(db, nursery: nursery, batch: batch) : nil
            try db.run(
                sql: """
                    UPDATE nursery_group SET name = ?, min_age_months = ?, max_age_months = ?, capacity = ?, reserved_sos = ?,
                    reserved_local = ? WHERE id = ?
                    """,
                arguments: [group.name, group.minAgeMonths, group.maxAgeMonths, group.capacity, group.reservedSOS, group.reservedLocal, id])
            if let current {
                guard let ledger = current.ledgers[id] else { throw SchedulerStoreError.internal("no ledger for group \(id)") }
                let limited = try NurseryChange.limits(ledger, group: group, today: try Self.today(for: nursery, db, now: context.now))
                try self.publish(db, batch: batch, group: id, ledger: limited, version: current.versions[id] ?? 0)
            }
            return (group, records)
        }
    }

    // MARK: Families and children

    public func registerFamily(_ family: Family, context: MutationContext, reply: @escaping @Sendable (Family) throws -> [UInt8]) async throws -> Mutated<
        Family
    > {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchSite(db, family.siteID), "site", family.siteID, field: "family.site_id")
            var family = family
            family.id = RecordID.make("fam")
            try db.run(
                sql: "INSERT INTO family (id, site_id, kind, single_parent, parents_working, contact_ref) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [family.id, family.siteID, family.kind.rawValue, family.singleParent, family.parentsWorking, family.contactRef])
            return (family, ["family:\(family.id)"])
        }
    }

    public func family(id: String) async throws -> Family? {
        try await read { db in try Self.fetchFamily(db, id) }
    }

    public func listFamilies(siteID: String, after: String?, limit: Int) async throws -> Page<Family> {
        try await page("SELECT * FROM family WHERE id > ? AND site_id = ? ORDER BY id", [after ?? "", siteID], limit: limit, id: \.id, map: Self.family)
    }

    public func updateFamily(
        id: String, context: MutationContext, reply: @escaping @Sendable (Family) throws -> [UInt8], _ change: @escaping @Sendable (inout Family) throws -> Void
    ) async throws -> Mutated<Family> {
        try await mutate(context, reply: reply) { db, _ in
            let old = try Self.require(try Self.fetchFamily(db, id), "family", id, field: "family.id")
            var changed = old
            try change(&changed)
            let (family, kindChanged, records) = NurseryChange.family(old: old, changed: changed)
            if kindChanged {
                let held =
                    try db.int(
                        sql:
                            "SELECT COUNT(*) FROM placement JOIN child ON child.id = placement.child_id WHERE child.family_id = ? AND placement.state = 'active'",
                        arguments: [id]) ?? 0
                try NurseryChange.checkKind(old: old, new: family, heldPlacements: held)
            }
            try db.run(
                sql: "UPDATE family SET kind = ?, single_parent = ?, parents_working = ?, contact_ref = ? WHERE id = ?",
                arguments: [family.kind.rawValue, family.singleParent, family.parentsWorking, family.contactRef, id])
            return (family, records)
        }
    }

    public func registerChild(_ child: Child, context: MutationContext, reply: @escaping @Sendable (Child) throws -> [UInt8]) async throws -> Mutated<Child> {
        try await mutate(context, reply: reply) { db, _ in
            _ = try Self.require(try Self.fetchFamily(db, child.familyID), "family", child.familyID, field: "child.family_id")
            var child = child
            child.id = RecordID.make("chd")
            try db.run(
                sql: "INSERT INTO child (id, family_id, given_name, birth_day, special_needs) VALUES (?, ?, ?, ?, ?)",
                arguments: [child.id, child.familyID, child.givenName, child.birthDate.dayNumber, child.specialNeeds])
            return (child, ["child:\(child.id)"])
        }
    }

    public func child(id: String) async throws -> Child? {
        try await read { db in try Self.fetchChild(db, id) }
    }

    public func listChildren(familyID: String?, siteID: String?, after: String?, limit: Int) async throws -> Page<Child> {
        try await page(
            """
            SELECT child.* FROM child JOIN family ON family.id = child.family_id
            WHERE child.id > ? AND (? IS NULL OR child.family_id = ?) AND (? IS NULL OR family.site_id = ?) ORDER BY child.id
            """,
            [after ?? "", familyID, familyID, siteID, siteID], limit: limit, id: \.id, map: Self.child)
    }

    public func updateChild(
        id: String, context: MutationContext, reply: @escaping @Sendable (Child) throws -> [UInt8], _ change: @escaping @Sendable (inout Child) throws -> Void
    ) async throws -> Mutated<Child> {
        try await mutate(context, reply: reply) { db, _ in
            let old = try Self.require(try Self.fetchChild(db, id), "child", id, field: "child.id")
            var changed = old
            try change(&changed)
            let (child, records) = NurseryChange.child(old: old, changed: changed)
            try db.run(
                sql: "UPDATE child SET given_name = ?, birth_day = ?, special_needs = ? WHERE id = ?",
                arguments: [child.givenName, child.birthDate.dayNumber, child.specialNeeds, id])
            return (child, records)
        }
    }

    // MARK: Placements

    public func bookPlace(
        _ booking: BookingInput, context: MutationContext, authorize: @escaping @Sendable (BookingParties) throws -> Void,
        reply: @escaping @Sendable (Placement) throws -> [UInt8]
    ) async throws -> Mutated<Placement> {
        try await mutate(context, reply: reply) { db, batch in
            try self.book(db, batch: batch, booking, now: context.now, authorize: authorize)
        }
    }

    /// Books one placement inside the caller's transaction; every refusal comes before the first write.
    func book(
        _ db: Database, batch: WriteBatcher.Batch, _ booking: BookingInput, now: Date, authorize: (BookingParties) throws -> Void
    ) throws -> (Placement, records: [String]) {
        // Two joined reads give the child with its family and the group with its nursery.
        guard
            let childRow = try db.row(
                sql: """
                    SELECT c.id, c.family_id, c.given_name, c.birth_day, c.special_needs,
                           f.site_id, f.kind, f.single_parent, f.parents_working, f.contact_ref, s.time_zone
                    FROM child c JOIN family f ON f.id = c.family_id JOIN site s ON s.id = f.site_id WHERE c.id = ?
                    """,
                arguments: [booking.childID])
        else { throw SchedulerError(.notFound, "no child with id \(booking.childID)", field: "child_id") }
        let (child, family) = try Self.childWithFamily(childRow)
        guard
            let groupRow = try db.row(
                sql: """
                    SELECT g.id, g.nursery_id, g.name, g.min_age_months, g.max_age_months, g.capacity, g.reserved_sos,
                           g.reserved_local, g.ledger_version, n.site_id, n.name, n.open_weekdays, n.closures, n.morning, n.afternoon
                    FROM nursery_group g JOIN nursery n ON n.id = g.nursery_id WHERE g.id = ?
                    """,
                arguments: [booking.groupID])
        else { throw SchedulerError(.notFound, "no group with id \(booking.groupID)", field: "group_id") }
        let g = StoredRow(groupRow, "nursery_group")
        let group = try StoreRules.group(
            id: g[0, "id"], nurseryID: g[1, "nursery_id"], name: g[2, "name"], minAgeMonths: g[3, "min_age_months"],
            maxAgeMonths: g[4, "max_age_months"], capacity: g[5, "capacity"], reservedSOS: g[6, "reserved_sos"],
            reservedLocal: g[7, "reserved_local"])
        let version: Int64 = try g[8, "ledger_version"]
        let nursery = try StoreRules.nursery(
            id: group.nurseryID, siteID: g[9, "nursery.site_id"], name: g[10, "nursery.name"], weekdayBits: g[11, "nursery.open_weekdays"],
            closures: g[12, "nursery.closures"], morning: g[13, "nursery.morning"], afternoon: g[14, "nursery.afternoon"])
        try authorize(BookingParties(child: child, family: family, group: group, nursery: nursery))
        // The child's placements that overlap the booking (a child holds one place at a time), and their nurseries.
        let held = try db.rows(
            sql: """
                SELECT * FROM placement WHERE child_id = ? AND state = 'active'
                AND (last_day IS NULL OR last_day >= ?) AND (? IS NULL OR first_day <= ?)
                """,
            arguments: [child.id, booking.first.dayNumber, booking.last?.dayNumber, booking.last?.dayNumber]
        ).map(Self.placement)
        var nurseries = [nursery.id: nursery]
        for other in held where nurseries[other.nurseryID] == nil {
            nurseries[other.nurseryID] = try Self.fetchNursery(db, other.nurseryID)
        }
        let loaded = BookingDecider.Loaded(
            child: child, family: family, group: group, nursery: nursery, timeZone: childRow[10], held: held, nurseries: nurseries)
        // Decided with the group's own ledger; only a refusal needs the other groups (for alternatives).
        // (An argument, so no copy of the ledger outlives the decision and the change below is in place.)
        let outcome = try BookingDecider.decide(
            booking, loaded, ledger: try self.ledger(db, group: group, version: version, nursery: nursery, batch: batch), placementID: RecordID.make("plc"),
            now: now)
        guard case .book(let placement, let records) = outcome else {
            guard case .full(let request) = outcome else { throw SchedulerStoreError.internal("no booking outcome") }
            let all = try self.ledgers(db, nursery: nursery, batch: batch)
            throw try StoreRules.refusal(request, nursery: nursery, groups: all.groups, ledgers: all.ledgers)
        }
        try db.run(
            sql: """
                INSERT INTO placement (id, child_id, group_id, nursery_id, kind, first_day, last_day, pattern, state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active')
                """,
            arguments: [
                placement.id, placement.childID, placement.groupID, placement.nurseryID, placement.kind.rawValue, placement.first.dayNumber,
                placement.last?.dayNumber, Int(placement.pattern.bits),
            ])
        let span = placement.span
        try self.change(db, batch: batch, group: group.id, version: version, { $0.add(span) }, inverse: { $0.remove(span) })
        return (placement, records)
    }

    /// Loads a placement, its group's ledger and today at its site; `decide` changes it; then
    /// the row and the placement's share of the ledger are replaced.
    private func replace(
        _ db: Database, batch: WriteBatcher.Batch, id: String, now: Date, _ decide: (Placement, _ today: CivilDate) throws -> (Placement, records: [String])
    ) throws -> (Placement, records: [String]) {
        let old = try Self.require(try Self.fetchPlacement(db, id), "placement", id, field: "id")
        let group = try Self.require(try Self.fetchGroup(db, old.groupID), "group", old.groupID, field: "id")
        let nursery = try Self.require(try Self.fetchNursery(db, group.nurseryID), "nursery", group.nurseryID, field: "id")
        let (new, records) = try decide(old, try Self.today(for: nursery, db, now: now))
        // Load the ledger first: rebuilt after the row changed, it would hold the change already.
        let version = try db.int(sql: "SELECT ledger_version FROM nursery_group WHERE id = ?", arguments: [group.id]).map(Int64.init) ?? 0
        _ = try self.ledger(db, group: group, version: version, nursery: nursery, batch: batch)
        try db.run(
            sql: "UPDATE placement SET last_day = ?, state = ? WHERE id = ?",
            arguments: [new.last?.dayNumber, new.state.rawValue, new.id])
        let replacement = PlacementChange.ledgerChange(old: old, new: new)
        try self.change(db, batch: batch, group: group.id, version: version, replacement.change, inverse: replacement.inverse)
        return (new, records)
    }

    public func endPlacement(
        id: String, from: CivilDate, pastDays: PastDays, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8]
    ) async throws -> Mutated<Placement> {
        try await mutate(context, reply: reply) { db, batch in
            try self.replace(db, batch: batch, id: id, now: context.now) { old, today in
                try PlacementChange.end(old, from: from, pastDays: pastDays, today: today)
            }
        }
    }

    public func cancelPlacement(
        id: String, pastDays: PastDays, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8]
    ) async throws -> Mutated<Placement> {
        try await mutate(context, reply: reply) { db, batch in
            try self.replace(db, batch: batch, id: id, now: context.now) { old, today in
                try PlacementChange.cancel(old, pastDays: pastDays, today: today)
            }
        }
    }

    public func placement(id: String) async throws -> Placement? {
        try await read { db in try Self.fetchPlacement(db, id) }
    }

    public func listPlacements(_ filter: PlacementFilter, after: String?, limit: Int) async throws -> Page<Placement> {
        // Ordered by first day, then id; the cursor is "firstDay:id".
        let (afterDay, afterID) = try StoreRules.placementCursor(after)
        let sql = """
            SELECT * FROM placement
            WHERE (first_day > ? OR (first_day = ? AND id > ?))
              AND (? IS NULL OR nursery_id = ?) AND (? IS NULL OR group_id = ?) AND (? IS NULL OR child_id = ?)
              AND (? IS NULL OR last_day IS NULL OR last_day >= ?) AND (? IS NULL OR first_day <= ?)
              AND (? OR state = 'active')
            ORDER BY first_day, id
            """
        let arguments: StatementArguments = [
            afterDay, afterDay, afterID, filter.nurseryID, filter.nurseryID, filter.groupID, filter.groupID,
            filter.childID, filter.childID, filter.from?.dayNumber, filter.from?.dayNumber, filter.to?.dayNumber,
            filter.to?.dayNumber, filter.includeCancelled,
        ]
        return try await page(sql, arguments, limit: limit, id: StoreRules.placementCursor(of:), map: Self.placement)
    }

    public func occupancy(nurseryID: String, from: CivilDate, to: CivilDate) async throws -> [OccupancyDay] {
        try await read { db in
            let nursery = try Self.require(try Self.fetchNursery(db, nurseryID), "nursery", nurseryID, field: "nursery_id")
            let current = try self.ledgers(db, nursery: nursery, batch: nil)
            return StoreRules.occupancy(nursery: nursery, groups: current.groups, ledgers: current.ledgers, from: from, to: to)
        }
    }

    public func recordRead(actor: String?, method: String, records: [String], at date: Date) async throws {
        try await write { db, _ in
            try db.run(
                sql: "INSERT INTO audit (at_ms, actor, method, records) VALUES (?, ?, ?, ?)",
                arguments: [date.millisecondsSince1970, actor, method, records.joined(separator: ",")])
        }
    }
}

extension CapacityLedger {
    /// Runs `body` on the ledger in place (through optional chaining, without a copy).
    mutating func apply(_ body: (inout CapacityLedger) -> Void) { body(&self) }
}
