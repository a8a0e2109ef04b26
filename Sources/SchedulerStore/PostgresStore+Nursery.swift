import Foundation
import PostgresNIO
import SchedulerCore

/// The nursery side on PostgreSQL. Locks, always taken in this order, keep the capacity
/// invariant across servers: a booking locks its child (and shares its family's row), shares
/// its nursery's key (the lock its placement's foreign key would take anyway, taken first so
/// it cannot deadlock with a calendar change), then locks its group; ending or cancelling
/// locks the group, then the placement; a calendar change locks the nursery, then its groups
/// by id. A group's ledger is read, checked and changed only while its row is locked, at the
/// `ledger_version` read under that lock.
extension PostgresStore {
    // MARK: Rows (columns by position)

    static let siteColumns = "id, name, time_zone"
    static let nurseryColumns = "id, site_id, name, open_weekdays, closures, morning, afternoon"
    static let groupColumns = "id, nursery_id, name, min_age_months, max_age_months, capacity, reserved_sos, reserved_local, ledger_version"
    static let familyColumns = "id, site_id, kind, single_parent, parents_working, contact_ref"
    static let childColumns = "id, family_id, given_name, birth_day, special_needs"
    static let placementColumns = "id, child_id, group_id, nursery_id, kind, first_day, last_day, pattern, state"

    static func site(_ row: PostgresRandomAccessRow) throws -> Site {
        Site(id: try row.text(0), name: try row.text(1), timeZone: try row.text(2))
    }

    static func nursery(_ row: PostgresRandomAccessRow, at offset: Int = 0) throws -> Nursery {
        try StoreRules.nursery(
            id: try row.text(offset), siteID: try row.text(offset + 1), name: try row.text(offset + 2), weekdayBits: try row.int(offset + 3),
            closures: try row.text(offset + 4), morning: try row.text(offset + 5), afternoon: try row.text(offset + 6))
    }

    /// A group and its ledger version.
    static func group(_ row: PostgresRandomAccessRow, at offset: Int = 0) throws -> (Group, version: Int64) {
        let group = try StoreRules.group(
            id: try row.text(offset), nurseryID: try row.text(offset + 1), name: try row.text(offset + 2), minAgeMonths: try row.int(offset + 3),
            maxAgeMonths: try row.int(offset + 4), capacity: try row.int(offset + 5), reservedSOS: try row.int(offset + 6),
            reservedLocal: try row.int(offset + 7))
        return (group, Int64(try row.int(offset + 8)))
    }

    static func family(_ row: PostgresRandomAccessRow, at offset: Int = 0) throws -> Family {
        Family(
            id: try row.text(offset), siteID: try row.text(offset + 1), kind: FamilyKind(rawValue: try row.text(offset + 2)) ?? .local,
            singleParent: try row.bool(offset + 3), parentsWorking: try row.bool(offset + 4), contactRef: try row.text(offset + 5))
    }

    static func child(_ row: PostgresRandomAccessRow, at offset: Int = 0) throws -> Child {
        Child(
            id: try row.text(offset), familyID: try row.text(offset + 1), givenName: try row.text(offset + 2),
            birthDate: try StoreRules.storedDay(try row.int(offset + 3), "child.birth_day"), specialNeeds: try row.bool(offset + 4))
    }

    static func placement(_ row: PostgresRandomAccessRow) throws -> Placement {
        try StoreRules.placement(
            id: try row.text(0), childID: try row.text(1), groupID: try row.text(2), nurseryID: try row.text(3), kind: try row.text(4),
            firstDay: try row.int(5), lastDay: try row.optionalInt(6), patternBits: try row.int(7), state: try row.text(8))
    }

    // MARK: Lookups inside a transaction

    func fetchSite(_ tx: PostgresTransaction, _ id: String) async throws -> Site? {
        try await tx.row("SELECT \(unescaped: Self.siteColumns) FROM site WHERE id = \(id)").map(Self.site)
    }

    func fetchNursery(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> Nursery? {
        try await tx.row("SELECT \(unescaped: Self.nurseryColumns) FROM nursery WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")")
            .map { try Self.nursery($0) }
    }

    func fetchGroup(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> (Group, version: Int64)? {
        try await tx.row("SELECT \(unescaped: Self.groupColumns) FROM nursery_group WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")")
            .map { try Self.group($0) }
    }

    func fetchFamily(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> Family? {
        try await tx.row("SELECT \(unescaped: Self.familyColumns) FROM family WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")")
            .map { try Self.family($0) }
    }

    func fetchChild(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> Child? {
        try await tx.row("SELECT \(unescaped: Self.childColumns) FROM child WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")")
            .map { try Self.child($0) }
    }

    func fetchPlacement(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> Placement? {
        try await tx.row("SELECT \(unescaped: Self.placementColumns) FROM placement WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")")
            .map(Self.placement)
    }

    func today(_ tx: PostgresTransaction, siteID: String, now: Date) async throws -> CivilDate {
        CivilDate.today(timeZone: try await fetchSite(tx, siteID)?.timeZone, now: now)
    }

    /// A group's ledger at `version`: the cached one if current, else rebuilt from its active
    /// placements as this transaction sees them. A rebuilt ledger is cached after the commit if
    /// its rows surely are those of `version`: read under the group's row lock (`locked`) or in
    /// one snapshot with the version.
    func ledger(_ tx: PostgresTransaction, group: Group, version: Int64, nursery: Nursery, locked: Bool) async throws -> CapacityLedger {
        if let cached = ledgerCache.ledger(group: group.id, version: version) { return cached }
        var ledger = CapacityLedger(group: group, nursery: nursery)
        for row in try await tx.rows("SELECT \(unescaped: Self.placementColumns) FROM placement WHERE group_id = \(group.id) AND state = 'active'") {
            ledger.add(try Self.placement(row).span)
        }
        if locked || tx.snapshot { tx.ledgersAfterCommit.append((group.id, version, ledger)) }
        return ledger
    }

    /// The nursery's groups and their ledgers (`lock`: each group's row locked, in id order).
    func ledgers(_ tx: PostgresTransaction, nursery: Nursery, lock: Bool = false) async throws -> (
        groups: [Group], ledgers: [String: CapacityLedger], versions: [String: Int64]
    ) {
        var groups: [Group] = [], ledgers: [String: CapacityLedger] = [:], versions: [String: Int64] = [:]
        let rows = try await tx.rows(
            """
            SELECT \(unescaped: Self.groupColumns) FROM nursery_group WHERE nursery_id = \(nursery.id) ORDER BY id\(unescaped: lock ? " FOR UPDATE" : "")
            """)
        for row in rows {
            let (group, version) = try Self.group(row)
            groups.append(group)
            versions[group.id] = version
            ledgers[group.id] = try await ledger(tx, group: group, version: version, nursery: nursery, locked: lock)
        }
        return (groups, ledgers, versions)
    }

    /// Stores a group's changed ledger at the next version; the cache gets it after the commit.
    func publish(_ tx: PostgresTransaction, group: String, ledger: CapacityLedger, version: Int64) async throws {
        try await tx.run("UPDATE nursery_group SET ledger_version = \(Int(version + 1)) WHERE id = \(group)")
        tx.ledgersAfterCommit.append((group, version + 1, ledger))
    }

    private func page<T: Sendable>(_ query: PostgresQuery, limit: Int, id: (T) -> String, map: (PostgresRandomAccessRow) throws -> T) async throws -> Page<T> {
        var query = query
        query.sql += " LIMIT \(limit + 1)"
        let rows = try await read { tx in try await tx.rows(query) }
        let items = try rows.prefix(limit).map(map)
        return Page(items: items, next: rows.count > limit ? items.last.map(id) : nil)
    }

    // MARK: Sites

    public func createSite(_ site: Site, context: MutationContext, reply: @escaping @Sendable (Site) throws -> [UInt8]) async throws -> Mutated<Site> {
        try await mutate(context, reply: reply) { tx in
            guard try await fetchSite(tx, site.id) == nil else {
                throw SchedulerError(.alreadyExists, "a site with id \(site.id) exists", field: "site.id")
            }
            try await checkScopeUnclaimed(tx, Scope(kind: .site, id: site.id), field: "site.id")
            try await tx.run("INSERT INTO site (id, name, time_zone) VALUES (\(site.id), \(site.name), \(site.timeZone))")
            return (site, ["site:\(site.id)"])
        }
    }

    public func site(id: String) async throws -> Site? {
        try await read { tx in try await fetchSite(tx, id) }
    }

    public func listSites(after: String?, limit: Int) async throws -> Page<Site> {
        try await page("SELECT \(unescaped: Self.siteColumns) FROM site WHERE id > \(after ?? "") ORDER BY id", limit: limit, id: \.id, map: Self.site)
    }

    public func updateSite(
        id: String, context: MutationContext, reply: @escaping @Sendable (Site) throws -> [UInt8], _ change: @escaping @Sendable (inout Site) throws -> Void
    ) async throws -> Mutated<Site> {
        try await mutate(context, reply: reply) { tx in
            let old = try StoreRules.require(
                try await tx.row("SELECT \(unescaped: Self.siteColumns) FROM site WHERE id = \(id) FOR UPDATE").map(Self.site), "site", id, field: "site.id")
            var changed = old
            try change(&changed)
            let (site, records) = NurseryChange.site(old: old, changed: changed)
            try await tx.run("UPDATE site SET name = \(site.name), time_zone = \(site.timeZone) WHERE id = \(id)")
            return (site, records)
        }
    }

    // MARK: Nurseries

    public func createNursery(_ nursery: Nursery, context: MutationContext, reply: @escaping @Sendable (Nursery) throws -> [UInt8]) async throws -> Mutated<
        Nursery
    > {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, nursery.siteID), "site", nursery.siteID, field: "nursery.site_id")
            guard try await fetchNursery(tx, nursery.id) == nil else {
                throw SchedulerError(.alreadyExists, "a nursery with id \(nursery.id) exists", field: "nursery.id")
            }
            try await checkScopeUnclaimed(tx, Scope(kind: .nursery, id: nursery.id), field: "nursery.id")
            try await tx.run(
                """
                INSERT INTO nursery (id, site_id, name, open_weekdays, closures, morning, afternoon)
                VALUES (\(nursery.id), \(nursery.siteID), \(nursery.name), \(StoreRules.weekdayBits(nursery.openWeekdays)),
                        \(StoreRules.closuresText(nursery.closures)), \(nursery.morning.description), \(nursery.afternoon.description))
                """)
            return (nursery, ["nursery:\(nursery.id)"])
        }
    }

    public func nursery(id: String) async throws -> Nursery? {
        try await read { tx in try await fetchNursery(tx, id) }
    }

    public func listNurseries(siteID: String?, after: String?, limit: Int) async throws -> Page<Nursery> {
        try await page(
            "SELECT \(unescaped: Self.nurseryColumns) FROM nursery WHERE id > \(after ?? "") AND (\(siteID)::text IS NULL OR site_id = \(siteID)) ORDER BY id",
            limit: limit, id: \.id, map: { try Self.nursery($0) })
    }

    public func updateNursery(
        id: String, context: MutationContext, reply: @escaping @Sendable (Nursery) throws -> [UInt8],
        _ change: @escaping @Sendable (inout Nursery) throws -> Void
    ) async throws -> Mutated<Nursery> {
        try await mutate(context, reply: reply) { tx in
            let old = try StoreRules.require(try await fetchNursery(tx, id, lock: true), "nursery", id, field: "nursery.id")
            var changed = old
            try change(&changed)
            let (nursery, calendarChanged, records) = NurseryChange.nursery(old: old, changed: changed)
            try await tx.run(
                """
                UPDATE nursery SET name = \(nursery.name), open_weekdays = \(StoreRules.weekdayBits(nursery.openWeekdays)),
                    closures = \(StoreRules.closuresText(nursery.closures)), morning = \(nursery.morning.description),
                    afternoon = \(nursery.afternoon.description) WHERE id = \(id)
                """)
            if calendarChanged {
                // The calendar is part of every ledger of the nursery: rebuild and check them all.
                let today = try await today(tx, siteID: nursery.siteID, now: context.now)
                let groups = try await tx.rows("SELECT \(unescaped: Self.groupColumns) FROM nursery_group WHERE nursery_id = \(id) ORDER BY id FOR UPDATE")
                for row in groups {
                    let (group, version) = try Self.group(row)
                    let spans = try await tx.rows(
                        "SELECT \(unescaped: Self.placementColumns) FROM placement WHERE group_id = \(group.id) AND state = 'active'"
                    ).map { try Self.placement($0).span }
                    let ledger = try NurseryChange.calendarLedger(group: group, nursery: nursery, placements: spans, today: today)
                    try await publish(tx, group: group.id, ledger: ledger, version: version)
                }
            }
            return (nursery, records)
        }
    }

    // MARK: Groups

    public func createGroup(_ group: Group, context: MutationContext, reply: @escaping @Sendable (Group) throws -> [UInt8]) async throws -> Mutated<Group> {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchNursery(tx, group.nurseryID), "nursery", group.nurseryID, field: "group.nursery_id")
            guard try await fetchGroup(tx, group.id) == nil else {
                throw SchedulerError(.alreadyExists, "a group with id \(group.id) exists", field: "group.id")
            }
            try await tx.run(
                """
                INSERT INTO nursery_group (id, nursery_id, name, min_age_months, max_age_months, capacity, reserved_sos, reserved_local)
                VALUES (\(group.id), \(group.nurseryID), \(group.name), \(group.minAgeMonths), \(group.maxAgeMonths), \(group.capacity),
                        \(group.reservedSOS), \(group.reservedLocal))
                """)
            return (group, ["group:\(group.id)"])
        }
    }

    public func group(id: String) async throws -> Group? {
        try await read { tx in try await fetchGroup(tx, id)?.0 }
    }

    public func listGroups(nurseryID: String, after: String?, limit: Int) async throws -> Page<Group> {
        try await page(
            "SELECT \(unescaped: Self.groupColumns) FROM nursery_group WHERE id > \(after ?? "") AND nursery_id = \(nurseryID) ORDER BY id",
            limit: limit, id: \.id, map: { try Self.group($0).0 })
    }

    public func updateGroup(
        id: String, context: MutationContext, reply: @escaping @Sendable (Group) throws -> [UInt8], _ change: @escaping @Sendable (inout Group) throws -> Void
    ) async throws -> Mutated<Group> {
        try await mutate(context, reply: reply) { tx in
            let (old, version) = try StoreRules.require(try await fetchGroup(tx, id, lock: true), "group", id, field: "group.id")
            var changed = old
            try change(&changed)
            let (group, limitsChanged, records) = try NurseryChange.group(old: old, changed: changed)
            if limitsChanged {
                let nursery = try StoreRules.require(try await fetchNursery(tx, group.nurseryID), "nursery", group.nurseryID, field: "group.nursery_id")
                // Loaded before the row changes: rebuilt afterwards it would hold the new limits at the old version.
                let ledger = try await ledger(tx, group: old, version: version, nursery: nursery, locked: true)
                let limited = try NurseryChange.limits(ledger, group: group, today: try await today(tx, siteID: nursery.siteID, now: context.now))
                try await publish(tx, group: id, ledger: limited, version: version)
            }
            try await tx.run(
                """
                UPDATE nursery_group SET name = \(group.name), min_age_months = \(group.minAgeMonths), max_age_months = \(group.maxAgeMonths),
                    capacity = \(group.capacity), reserved_sos = \(group.reservedSOS), reserved_local = \(group.reservedLocal) WHERE id = \(id)
                """)
            return (group, records)
        }
    }

    // MARK: Families and children

    public func registerFamily(_ family: Family, context: MutationContext, reply: @escaping @Sendable (Family) throws -> [UInt8]) async throws -> Mutated<
        Family
    > {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchSite(tx, family.siteID), "site", family.siteID, field: "family.site_id")
            var family = family
            family.id = RecordID.make("fam")
            try await tx.run(
                """
                INSERT INTO family (id, site_id, kind, single_parent, parents_working, contact_ref)
                VALUES (\(family.id), \(family.siteID), \(family.kind.rawValue), \(family.singleParent), \(family.parentsWorking), \(family.contactRef))
                """)
            return (family, ["family:\(family.id)"])
        }
    }

    public func family(id: String) async throws -> Family? {
        try await read { tx in try await fetchFamily(tx, id) }
    }

    public func listFamilies(siteID: String, after: String?, limit: Int) async throws -> Page<Family> {
        try await page(
            "SELECT \(unescaped: Self.familyColumns) FROM family WHERE id > \(after ?? "") AND site_id = \(siteID) ORDER BY id",
            limit: limit, id: \.id, map: { try Self.family($0) })
    }

    public func updateFamily(
        id: String, context: MutationContext, reply: @escaping @Sendable (Family) throws -> [UInt8], _ change: @escaping @Sendable (inout Family) throws -> Void
    ) async throws -> Mutated<Family> {
        try await mutate(context, reply: reply) { tx in
            // Locked: a booking shares this row while it decides, so a kind change waits for it (and sees its placement).
            let old = try StoreRules.require(try await fetchFamily(tx, id, lock: true), "family", id, field: "family.id")
            var changed = old
            try change(&changed)
            let (family, kindChanged, records) = NurseryChange.family(old: old, changed: changed)
            if kindChanged {
                let held =
                    try await tx.row(
                        """
                        SELECT count(*) FROM placement JOIN child ON child.id = placement.child_id
                        WHERE child.family_id = \(id) AND placement.state = 'active'
                        """)?.int(0) ?? 0
                try NurseryChange.checkKind(old: old, new: family, heldPlacements: held)
            }
            try await tx.run(
                """
                UPDATE family SET kind = \(family.kind.rawValue), single_parent = \(family.singleParent),
                    parents_working = \(family.parentsWorking), contact_ref = \(family.contactRef) WHERE id = \(id)
                """)
            return (family, records)
        }
    }

    public func registerChild(_ child: Child, context: MutationContext, reply: @escaping @Sendable (Child) throws -> [UInt8]) async throws -> Mutated<Child> {
        try await mutate(context, reply: reply) { tx in
            _ = try StoreRules.require(try await fetchFamily(tx, child.familyID), "family", child.familyID, field: "child.family_id")
            var child = child
            child.id = RecordID.make("chd")
            try await tx.run(
                """
                INSERT INTO child (id, family_id, given_name, birth_day, special_needs)
                VALUES (\(child.id), \(child.familyID), \(child.givenName), \(child.birthDate.dayNumber), \(child.specialNeeds))
                """)
            return (child, ["child:\(child.id)"])
        }
    }

    public func child(id: String) async throws -> Child? {
        try await read { tx in try await fetchChild(tx, id) }
    }

    public func listChildren(familyID: String?, siteID: String?, after: String?, limit: Int) async throws -> Page<Child> {
        try await page(
            """
            SELECT c.id, c.family_id, c.given_name, c.birth_day, c.special_needs FROM child c JOIN family f ON f.id = c.family_id
            WHERE c.id > \(after ?? "") AND (\(familyID)::text IS NULL OR c.family_id = \(familyID))
              AND (\(siteID)::text IS NULL OR f.site_id = \(siteID)) ORDER BY c.id
            """,
            limit: limit, id: \.id, map: { try Self.child($0) })
    }

    public func updateChild(
        id: String, context: MutationContext, reply: @escaping @Sendable (Child) throws -> [UInt8], _ change: @escaping @Sendable (inout Child) throws -> Void
    ) async throws -> Mutated<Child> {
        try await mutate(context, reply: reply) { tx in
            let old = try StoreRules.require(try await fetchChild(tx, id, lock: true), "child", id, field: "child.id")
            var changed = old
            try change(&changed)
            let (child, records) = NurseryChange.child(old: old, changed: changed)
            try await tx.run(
                """
                UPDATE child SET given_name = \(child.givenName), birth_day = \(child.birthDate.dayNumber), special_needs = \(child.specialNeeds)
                WHERE id = \(id)
                """)
            return (child, records)
        }
    }

    // MARK: Placements

    public func bookPlace(
        _ booking: BookingInput, context: MutationContext, authorize: @escaping @Sendable (BookingParties) throws -> Void,
        reply: @escaping @Sendable (Placement) throws -> [UInt8]
    ) async throws -> Mutated<Placement> {
        try await mutate(context, reply: reply) { tx in
            try await self.book(tx, booking, now: context.now, authorize: authorize)
        }
    }

    /// Books one placement inside the caller's transaction; every refusal comes before the first write.
    func book(
        _ tx: PostgresTransaction, _ booking: BookingInput, now: Date, authorize: (BookingParties) throws -> Void
    ) async throws -> (Placement, records: [String]) {
        // The child's row is locked (two bookings of one child cannot both pass the overlap
        // check), its family's shared (its kind cannot change while the booking decides).
        guard
            let childRow = try await tx.row(
                """
                SELECT c.id, c.family_id, c.given_name, c.birth_day, c.special_needs,
                       f.id, f.site_id, f.kind, f.single_parent, f.parents_working, f.contact_ref, s.time_zone
                FROM child c JOIN family f ON f.id = c.family_id JOIN site s ON s.id = f.site_id
                WHERE c.id = \(booking.childID) FOR UPDATE OF c FOR SHARE OF f
                """)
        else { throw SchedulerError(.notFound, "no child with id \(booking.childID)", field: "child_id") }
        let child = try Self.child(childRow), family = try Self.family(childRow, at: 5)
        // The child's other placements (its lock keeps them as they are), checked before the
        // group is locked, so the group's lock is held for as few statements as possible.
        let held = try await tx.rows(
            """
            SELECT \(unescaped: Self.placementColumns) FROM placement WHERE child_id = \(child.id) AND state = 'active'
            AND (last_day IS NULL OR last_day >= \(booking.first.dayNumber))
            AND (\(booking.last?.dayNumber)::bigint IS NULL OR first_day <= \(booking.last?.dayNumber))
            """
        ).map(Self.placement)
        // The nursery's key, shared: its calendar cannot change until this booking is done.
        guard
            let nurseryRow = try await tx.row(
                """
                SELECT \(unescaped: Self.nurseryColumns) FROM nursery
                WHERE id = (SELECT nursery_id FROM nursery_group WHERE id = \(booking.groupID)) FOR KEY SHARE
                """)
        else { throw SchedulerError(.notFound, "no group with id \(booking.groupID)", field: "group_id") }
        let nursery = try Self.nursery(nurseryRow)
        // Then the group's row: every booking, end and cancel of the group waits here in turn.
        let (group, version) = try StoreRules.require(try await fetchGroup(tx, booking.groupID, lock: true), "group", booking.groupID, field: "group_id")
        try authorize(BookingParties(child: child, family: family, group: group, nursery: nursery))
        var nurseries = [nursery.id: nursery]
        for other in held where nurseries[other.nurseryID] == nil {
            nurseries[other.nurseryID] = try await fetchNursery(tx, other.nurseryID)
        }
        let loaded = BookingDecider.Loaded(
            child: child, family: family, group: group, nursery: nursery, timeZone: try childRow.text(11), held: held, nurseries: nurseries)
        var ledger = try await ledger(tx, group: group, version: version, nursery: nursery, locked: true)
        let outcome = try BookingDecider.decide(booking, loaded, ledger: ledger, placementID: RecordID.make("plc"), now: now)
        guard case .book(let placement, let records) = outcome else {
            guard case .full(let request) = outcome else { throw SchedulerStoreError.internal("no booking outcome") }
            // Alternatives come from the other groups' current ledgers (read, not locked: they are advice).
            let all = try await ledgers(tx, nursery: nursery)
            throw try StoreRules.refusal(
                request, nursery: nursery, groups: all.groups, ledgers: all.ledgers.merging([group.id: ledger]) { _, locked in locked })
        }
        // The row and the version bump in one statement (one round trip under the group's lock).
        try await tx.run(
            """
            WITH added AS (
                INSERT INTO placement (id, child_id, group_id, nursery_id, kind, first_day, last_day, pattern, state)
                VALUES (\(placement.id), \(placement.childID), \(placement.groupID), \(placement.nurseryID), \(placement.kind.rawValue),
                        \(placement.first.dayNumber), \(placement.last?.dayNumber), \(Int(placement.pattern.bits)), 'active')
            )
            UPDATE nursery_group SET ledger_version = \(Int(version + 1)) WHERE id = \(group.id)
            """)
        ledger.add(placement.span)
        tx.ledgersAfterCommit.append((group.id, version + 1, ledger))
        return (placement, records)
    }

    /// Locks the placement's group, then the placement; `decide` changes it (given today at its
    /// site); then the row and its share of the ledger are replaced.
    private func replacePlacement(
        _ tx: PostgresTransaction, id: String, now: Date, _ decide: (Placement, _ today: CivilDate) throws -> (Placement, records: [String])
    ) async throws -> (Placement, records: [String]) {
        guard let groupID = try await tx.row("SELECT group_id FROM placement WHERE id = \(id)")?.text(0) else {
            throw SchedulerError(.notFound, "no placement with id \(id)", field: "id")
        }
        let (group, version) = try StoreRules.require(try await fetchGroup(tx, groupID, lock: true), "group", groupID, field: "id")
        let old = try StoreRules.require(try await fetchPlacement(tx, id, lock: true), "placement", id, field: "id")
        // The nursery with its site's zone, in one statement.
        guard
            let nurseryRow = try await tx.row(
                """
                SELECT n.id, n.site_id, n.name, n.open_weekdays, n.closures, n.morning, n.afternoon, s.time_zone
                FROM nursery n LEFT JOIN site s ON s.id = n.site_id WHERE n.id = \(group.nurseryID)
                """)
        else { throw SchedulerError.missing("nursery", group.nurseryID, field: "id") }
        let nursery = try Self.nursery(nurseryRow)
        let (new, records) = try decide(old, CivilDate.today(timeZone: try nurseryRow.optionalText(7), now: now))
        // The ledger is loaded before the row changes: rebuilt afterwards, it would hold the change already.
        var ledger = try await ledger(tx, group: group, version: version, nursery: nursery, locked: true)
        try await tx.run("UPDATE placement SET last_day = \(new.last?.dayNumber), state = \(new.state.rawValue) WHERE id = \(id)")
        PlacementChange.ledgerChange(old: old, new: new).change(&ledger)
        try await publish(tx, group: group.id, ledger: ledger, version: version)
        return (new, records)
    }

    public func endPlacement(
        id: String, from: CivilDate, pastDays: PastDays, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8]
    ) async throws -> Mutated<Placement> {
        try await mutate(context, reply: reply) { tx in
            try await replacePlacement(tx, id: id, now: context.now) { old, today in
                try PlacementChange.end(old, from: from, pastDays: pastDays, today: today)
            }
        }
    }

    public func cancelPlacement(
        id: String, pastDays: PastDays, context: MutationContext, reply: @escaping @Sendable (Placement) throws -> [UInt8]
    ) async throws -> Mutated<Placement> {
        try await mutate(context, reply: reply) { tx in
            try await replacePlacement(tx, id: id, now: context.now) { old, today in
                try PlacementChange.cancel(old, pastDays: pastDays, today: today)
            }
        }
    }

    public func placement(id: String) async throws -> Placement? {
        try await read { tx in try await fetchPlacement(tx, id) }
    }

    public func listPlacements(_ filter: PlacementFilter, after: String?, limit: Int) async throws -> Page<Placement> {
        let (afterDay, afterID) = try StoreRules.placementCursor(after)
        let from = filter.from?.dayNumber, to = filter.to?.dayNumber
        return try await page(
            """
            SELECT \(unescaped: Self.placementColumns) FROM placement
            WHERE (first_day > \(afterDay) OR (first_day = \(afterDay) AND id > \(afterID)))
              AND (\(filter.nurseryID)::text IS NULL OR nursery_id = \(filter.nurseryID))
              AND (\(filter.groupID)::text IS NULL OR group_id = \(filter.groupID))
              AND (\(filter.childID)::text IS NULL OR child_id = \(filter.childID))
              AND (\(from)::bigint IS NULL OR last_day IS NULL OR last_day >= \(from))
              AND (\(to)::bigint IS NULL OR first_day <= \(to))
              AND (\(filter.includeCancelled) OR state = 'active')
            ORDER BY first_day, id
            """,
            limit: limit, id: StoreRules.placementCursor(of:), map: Self.placement)
    }

    public func occupancy(nurseryID: String, from: CivilDate, to: CivilDate) async throws -> [OccupancyDay] {
        try await read { tx in
            let nursery = try StoreRules.require(try await fetchNursery(tx, nurseryID), "nursery", nurseryID, field: "nursery_id")
            let current = try await ledgers(tx, nursery: nursery)
            return StoreRules.occupancy(nursery: nursery, groups: current.groups, ledgers: current.ledgers, from: from, to: to)
        }
    }
}
