import Foundation
import GRDB
import SchedulerCore

extension SQLiteStore {
    static func registerIntakeMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-intake") { db in
            try db.execute(
                sql: """
                    CREATE TABLE intake_round (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        name TEXT NOT NULL,
                        first_day INTEGER NOT NULL,
                        last_day INTEGER NOT NULL,
                        deadline_ms INTEGER NOT NULL,
                        seed INTEGER NOT NULL,
                        priority_order TEXT NOT NULL,
                        state TEXT NOT NULL,
                        inputs_version INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE intake_offer (
                        id TEXT PRIMARY KEY,
                        round_id TEXT NOT NULL REFERENCES intake_round(id),
                        group_id TEXT NOT NULL REFERENCES nursery_group(id),
                        nursery_id TEXT NOT NULL REFERENCES nursery(id),
                        pattern INTEGER NOT NULL,
                        places INTEGER NOT NULL,
                        reserved_sos INTEGER NOT NULL,
                        reserved_local INTEGER NOT NULL
                    );
                    CREATE INDEX intake_offer_round ON intake_offer(round_id);
                    CREATE TABLE intake_application (
                        round_id TEXT NOT NULL REFERENCES intake_round(id),
                        child_id TEXT NOT NULL REFERENCES child(id),
                        ranking TEXT NOT NULL,
                        submitted_at_ms INTEGER NOT NULL,
                        frozen_facts TEXT,
                        PRIMARY KEY (round_id, child_id)
                    );
                    CREATE TABLE intake_event (
                        round_id TEXT NOT NULL REFERENCES intake_round(id),
                        seq INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        child_id TEXT NOT NULL,
                        offer_id TEXT,
                        accept INTEGER NOT NULL,
                        at_ms INTEGER NOT NULL,
                        PRIMARY KEY (round_id, seq)
                    );
                    CREATE TABLE intake_result (
                        round_id TEXT NOT NULL REFERENCES intake_round(id),
                        child_id TEXT NOT NULL REFERENCES child(id),
                        offer_id TEXT NOT NULL REFERENCES intake_offer(id),
                        seat TEXT NOT NULL,
                        choice INTEGER NOT NULL,
                        PRIMARY KEY (round_id, child_id)
                    );
                    """)
        }
        migrator.registerMigration("v4-intake-runs") { db in
            try db.execute(
                sql: """
                    ALTER TABLE intake_round ADD COLUMN run_stored INTEGER NOT NULL DEFAULT 0;
                    CREATE TABLE intake_run_children (
                        round_id TEXT NOT NULL REFERENCES intake_round(id),
                        first_child TEXT NOT NULL,
                        last_child TEXT NOT NULL,
                        records BLOB NOT NULL,
                        PRIMARY KEY (round_id, first_child)
                    );
                    CREATE TABLE intake_run_offer (
                        round_id TEXT NOT NULL REFERENCES intake_round(id),
                        offer_id TEXT NOT NULL REFERENCES intake_offer(id),
                        places INTEGER NOT NULL,
                        held INTEGER NOT NULL,
                        held_sos INTEGER NOT NULL,
                        held_local INTEGER NOT NULL,
                        waiting INTEGER NOT NULL,
                        holders BLOB NOT NULL,
                        waitlist BLOB NOT NULL,
                        PRIMARY KEY (round_id, offer_id)
                    );
                    """)
        }
    }

    static func intakeRound(_ row: Row) throws -> IntakeRoundInfo {
        let row = StoredRow(row, "intake_round")
        let seed: Int64 = try row["seed"]
        return try IntakeRoundInfo(
            id: row["id"], siteID: row["site_id"], name: row["name"], first: StoreRules.storedDay(row["first_day"], "intake_round.first_day"),
            last: StoreRules.storedDay(row["last_day"], "intake_round.last_day"), deadline: row["deadline_ms"], seed: UInt64(bitPattern: seed),
            order: IntakeRoundInfo.order(stored: row["priority_order"]), state: IntakeRoundInfo.State(rawValue: row["state"]) ?? .open,
            inputsVersion: row["inputs_version"])
    }

    static func intakeOffer(_ row: Row) throws -> IntakeOffer {
        let row = StoredRow(row, "intake_offer")
        return try StoreRules.offer(
            id: row["id"], groupID: row["group_id"], nurseryID: row["nursery_id"], patternBits: row["pattern"],
            places: row["places"], reservedSOS: row["reserved_sos"], reservedLocal: row["reserved_local"])
    }

    static func fetchRound(_ db: Database, _ id: String) throws -> IntakeRoundInfo? {
        try db.row(sql: "SELECT * FROM intake_round WHERE id = ?", arguments: [id]).map(intakeRound)
    }

    static func roundOffers(_ db: Database, _ roundID: String) throws -> [IntakeOffer] {
        try db.rows(sql: "SELECT * FROM intake_offer WHERE round_id = ? ORDER BY id", arguments: [roundID]).map(intakeOffer)
    }

    public func createRound(_ round: IntakeRoundInfo, context: MutationContext, reply: @escaping @Sendable (IntakeRoundInfo) throws -> [UInt8]) async throws
        -> Mutated<IntakeRoundInfo>
    {
        try round.validate()
        return try await mutate(context, reply: reply) { db, _ in
            let (round, records) = try IntakeDecider.newRound(
                round, site: try Self.fetchSite(db, round.siteID), exists: try Self.fetchRound(db, round.id) != nil, now: context.now)
            try db.run(
                sql: """
                    INSERT INTO intake_round (id, site_id, name, first_day, last_day, deadline_ms, seed, priority_order, state, inputs_version)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 0)
                    """,
                arguments: [
                    round.id, round.siteID, round.name, round.first.dayNumber, round.last.dayNumber, round.deadline,
                    Int64(bitPattern: round.seed), round.orderText,
                ])
            return (round, records)
        }
    }

    public func round(id: String) async throws -> IntakeRoundInfo? {
        try await read { db in try Self.fetchRound(db, id) }
    }

    public func openOffer(_ offer: IntakeOffer, roundID: String, context: MutationContext, reply: @escaping @Sendable (IntakeOffer) throws -> [UInt8])
        async throws -> Mutated<IntakeOffer>
    {
        try offer.validate()
        return try await mutate(context, reply: reply) { db, batch in
            let group = try Self.fetchGroup(db, offer.groupID)
            let (round, offer, _, nursery) = try IntakeDecider.offerTarget(
                offer, round: try Self.fetchRound(db, roundID), roundID: roundID, group: group,
                nursery: try group.flatMap { try Self.fetchNursery(db, $0.nurseryID) },
                offerExists: try db.int(sql: "SELECT 1 FROM intake_offer WHERE id = ?", arguments: [offer.id]) != nil,
                offersInRound: try db.int(sql: "SELECT count(*) FROM intake_offer WHERE round_id = ?", arguments: [roundID]) ?? 0)
            guard let group else { throw SchedulerStoreError.internal("offer target without a group") }
            let version = try db.int(sql: "SELECT ledger_version FROM nursery_group WHERE id = ?", arguments: [group.id]).map(Int64.init) ?? 0
            let ledger = try self.ledger(db, group: group, version: version, nursery: nursery, batch: batch)
            // Every round still open on the group holds its offered places, each over its own term.
            let others = try db.rows(
                sql: """
                    SELECT o.*, r.first_day AS term_first, r.last_day AS term_last FROM intake_offer o JOIN intake_round r ON r.id = o.round_id
                    WHERE o.group_id = ? AND r.state = 'open' AND r.first_day <= ? AND r.last_day >= ?
                    """,
                arguments: [group.id, round.last.dayNumber, round.first.dayNumber]
            ).map { row in
                let term = StoredRow(row, "intake_round")
                return (
                    offer: try Self.intakeOffer(row), first: try StoreRules.storedDay(term["term_first"], "intake_round.first_day"),
                    last: try StoreRules.storedDay(term["term_last"], "intake_round.last_day")
                )
            }
            let records = try IntakeDecider.checkOfferFits(offer, round: round, nursery: nursery, ledger: ledger, others: others)
            try db.run(
                sql: """
                    INSERT INTO intake_offer (id, round_id, group_id, nursery_id, pattern, places, reserved_sos, reserved_local)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [offer.id, roundID, group.id, nursery.id, Int(offer.pattern.bits), offer.places, offer.reservedSOS, offer.reservedLocal])
            try db.run(sql: "UPDATE intake_round SET inputs_version = inputs_version + 1 WHERE id = ?", arguments: [roundID])
            return (offer, records)
        }
    }

    public func submitApplications(
        roundID: String, _ applications: [ApplicationInput], context: MutationContext, authorize: @escaping @Sendable ([Family]) throws -> Void,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int> {
        try await mutate(context, reply: reply) { db, _ in
            // Loaded in a few set-based queries, however many applications there are.
            let decided = try IntakeDecider.applications(
                applications, round: try Self.fetchRound(db, roundID), roundID: roundID, now: context.now, offers: try Self.roundOffers(db, roundID),
                groups: try Self.offerGroups(db, roundID), applicants: try Self.childrenWithFamilies(db, Set(applications.map(\.childID))))
            try authorize(decided.families)
            let now = context.now.millisecondsSince1970
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO intake_application (round_id, child_id, ranking, submitted_at_ms) VALUES (?, ?, ?, ?)
                    ON CONFLICT (round_id, child_id) DO UPDATE SET ranking = excluded.ranking
                    """)
            for row in decided.rows {
                try statement.execute(arguments: [roundID, row.childID, row.ranking.joined(separator: ","), now])
            }
            try db.run(sql: "UPDATE intake_round SET inputs_version = inputs_version + 1 WHERE id = ?", arguments: [roundID])
            return (applications.count, decided.records)
        }
    }

    /// The groups of a round's offers, by id (one query).
    static func offerGroups(_ db: Database, _ roundID: String) throws -> [String: Group] {
        let rows = try db.rows(
            sql: "SELECT * FROM nursery_group WHERE id IN (SELECT group_id FROM intake_offer WHERE round_id = ?)", arguments: [roundID])
        return Dictionary(try rows.map(Self.group).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Children with their families, by child id (a query per 500 ids); unknown ids are left out.
    static func childrenWithFamilies(_ db: Database, _ ids: Set<String>) throws -> [String: (child: Child, family: Family)] {
        var found: [String: (child: Child, family: Family)] = [:]
        for slice in Array(ids).sorted().chunked(500) {
            let rows = try db.rows(
                sql: """
                    SELECT c.id, c.family_id, c.given_name, c.birth_day, c.special_needs,
                           f.site_id, f.kind, f.single_parent, f.parents_working, f.contact_ref
                    FROM child c JOIN family f ON f.id = c.family_id WHERE c.id IN (\(Self.placeholders(slice.count)))
                    """,
                arguments: StatementArguments(Array(slice)))
            for row in rows {
                let (child, family) = try Self.childWithFamily(row)
                found[child.id] = (child, family)
            }
        }
        return found
    }

    public func withdrawApplication(roundID: String, childID: String, context: MutationContext, reply: @escaping @Sendable (String) throws -> [UInt8])
        async throws -> Mutated<String>
    {
        try await mutate(context, reply: reply) { db, _ in
            let records = try IntakeDecider.withdrawal(round: try Self.fetchRound(db, roundID), roundID: roundID, childID: childID, now: context.now)
            try db.run(sql: "DELETE FROM intake_application WHERE round_id = ? AND child_id = ?", arguments: [roundID, childID])
            guard db.changesCount > 0 else { throw IntakeDecider.noApplication(childID: childID, roundID: roundID) }
            try db.run(sql: "UPDATE intake_round SET inputs_version = inputs_version + 1 WHERE id = ?", arguments: [roundID])
            return (childID, records)
        }
    }

    public func intakeInputs(roundID: String) async throws -> IntakeInputs {
        try await read { db in
            let round = try Self.require(try Self.fetchRound(db, roundID), "intake round", roundID, field: "round_id")
            let offers = try Self.roundOffers(db, roundID)
            // Nurseries where a sibling holds a place that reaches into the term.
            var siblings: [String: Set<String>] = [:]
            for row in try db.rows(
                sql: """
                    SELECT a.child_id, p.nursery_id FROM intake_application a
                    JOIN child c ON c.id = a.child_id JOIN child s ON s.family_id = c.family_id AND s.id <> c.id
                    JOIN placement p ON p.child_id = s.id AND p.state = 'active' AND (p.last_day IS NULL OR p.last_day >= ?)
                    WHERE a.round_id = ?
                    """,
                arguments: [round.first.dayNumber, roundID])
            {
                let row = StoredRow(row, "placement")
                try siblings[row[0, "child_id"], default: []].insert(row[1, "nursery_id"])
            }
            // Only the columns priorities need, read through a cursor (no copy of every row).
            var applications: [IntakeApplication] = []
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT a.child_id, a.ranking, a.submitted_at_ms, c.special_needs, f.kind, f.single_parent, f.parents_working, a.frozen_facts
                    FROM intake_application a JOIN child c ON c.id = a.child_id JOIN family f ON f.id = c.family_id
                    WHERE a.round_id = ? ORDER BY a.child_id
                    """,
                arguments: [roundID])
            while let cursorRow = try rows.next() {
                let row = StoredRow(cursorRow, "intake_application")
                let childID: String = try row[0, "child_id"], ranking: String = try row[1, "ranking"], kind: String = try row[4, "family.kind"]
                var application = try IntakeApplication(
                    childID: childID, familyKind: FamilyKind(rawValue: kind) ?? .local, siblingNurseries: siblings[childID] ?? [],
                    specialNeeds: row[3, "child.special_needs"], singleParent: row[5, "family.single_parent"],
                    parentsWorking: row[6, "family.parents_working"], submittedAt: row[2, "submitted_at_ms"],
                    ranking: ranking.split(separator: ",").map(String.init))
                if let frozen: String = try row[7, "frozen_facts"] { StoreRules.thaw(frozen, into: &application) }
                applications.append(application)
            }
            return IntakeInputs(round: round, offers: offers, applications: applications)
        }
    }

    public func recordAllocation(
        roundID: String, inputsVersion: Int64, children: [IntakeRunChild], offers: [IntakeRunOffer], closedEarly: Bool, context: MutationContext,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int> {
        let rows = IntakeRunRows(children: children, offers: offers)
        return try await mutate(context, reply: reply) { db, _ in
            let (placed, records) = try IntakeDecider.recordedRun(
                round: try Self.fetchRound(db, roundID), roundID: roundID, inputsVersion: inputsVersion, children: children, closedEarly: closedEarly)
            try Self.insertRun(db, roundID, rows)
            try db.run(sql: "UPDATE intake_round SET state = 'allocated' WHERE id = ?", arguments: [roundID])
            return (placed, records)
        }
    }

    static func insertRun(_ db: Database, _ roundID: String, _ rows: IntakeRunRows) throws {
        for block in rows.blocks {
            try db.run(
                sql: "INSERT INTO intake_run_children (round_id, first_child, last_child, records) VALUES (?, ?, ?, ?)",
                arguments: [roundID, block.firstChild, block.lastChild, Data(block.records)])
        }
        for offer in rows.offers {
            let fill = offer.fill
            try db.run(
                sql: """
                    INSERT INTO intake_run_offer (round_id, offer_id, places, held, held_sos, held_local, waiting, holders, waitlist)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    roundID, fill.offerID, fill.places, fill.held, fill.heldReservedSOS, fill.heldReservedLocal, fill.waiting, Data(offer.holders),
                    Data(offer.waitlist),
                ])
        }
        try db.run(sql: "UPDATE intake_round SET run_stored = 1 WHERE id = ?", arguments: [roundID])
    }

    public func roundOverview(id: String) async throws -> (round: IntakeRoundInfo, offers: [IntakeOffer], applications: Int)? {
        try await read { db in
            guard let round = try Self.fetchRound(db, id) else { return nil }
            let count = try db.int(sql: "SELECT COUNT(*) FROM intake_application WHERE round_id = ?", arguments: [id]) ?? 0
            return (round, try Self.roundOffers(db, id), count)
        }
    }

    public func intakeOffers(roundID: String) async throws -> [IntakeOffer] {
        try await read { db in try Self.roundOffers(db, roundID) }
    }

    public func hasRunRecords(roundID: String) async throws -> Bool {
        try await read { db in try db.int(sql: "SELECT run_stored FROM intake_round WHERE id = ?", arguments: [roundID]) == 1 }
    }

    public func storeLegacyRunRecords(roundID: String, children: [IntakeRunChild], offers: [IntakeRunOffer]) async throws {
        let rows = IntakeRunRows(children: children, offers: offers)
        try await write { db, _ in
            guard try db.int(sql: "SELECT run_stored FROM intake_round WHERE id = ?", arguments: [roundID]) == 0 else { return }
            try Self.insertRun(db, roundID, rows)
        }
    }

    static func block(_ row: Row) throws -> IntakeRunRows.Block {
        let row = StoredRow(row, "intake_run_children")
        let records: Data = try row[2, "records"]
        return try IntakeRunRows.Block(firstChild: row[0, "first_child"], lastChild: row[1, "last_child"], records: Array(records))
    }

    /// `?, ?, ?` for `count` values.
    static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

    public func intakeRunOffers(roundID: String, ids: Set<String>) async throws -> [IntakeRunOffer] {
        guard !ids.isEmpty else { return [] }
        let list = Array(ids).sorted()
        return try await read { db in
            var result: [IntakeRunOffer] = []
            for slice in list.chunked(500) {
                let arguments = StatementArguments([roundID] + Array(slice))
                let offers = try db.rows(
                    sql: "SELECT * FROM intake_offer WHERE round_id = ? AND id IN (\(Self.placeholders(slice.count)))", arguments: arguments
                ).map(Self.intakeOffer)
                var packed: [String: ([UInt8], [UInt8])] = [:]
                for row in try db.rows(
                    sql: "SELECT offer_id, holders, waitlist FROM intake_run_offer WHERE round_id = ? AND offer_id IN (\(Self.placeholders(slice.count)))",
                    arguments: arguments)
                {
                    let row = StoredRow(row, "intake_run_offer")
                    let offerID: String = try row[0, "offer_id"], holders: Data = try row[1, "holders"], waitlist: Data = try row[2, "waitlist"]
                    packed[offerID] = (Array(holders), Array(waitlist))
                }
                for offer in offers {
                    guard let (holders, waitlist) = packed[offer.id] else { continue }
                    result.append(try IntakeRunRows.offer(offer, holders: holders, waitlist: waitlist))
                }
            }
            return result
        }
    }

    public func intakeRunChildren(roundID: String, ids: Set<String>) async throws -> [IntakeRunChild] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            var blocks: [IntakeRunRows.Block] = []
            if ids.count > 64 {
                blocks = try db.rows(
                    sql: "SELECT first_child, last_child, records FROM intake_run_children WHERE round_id = ? ORDER BY first_child", arguments: [roundID]
                ).map(Self.block)
            } else {
                // The block of each id: the last one starting at or before it.
                var seen = Set<String>()
                for id in ids {
                    guard
                        let row = try db.row(
                            sql:
                                "SELECT first_child, last_child, records FROM intake_run_children WHERE round_id = ? AND first_child <= ? ORDER BY first_child DESC LIMIT 1",
                            arguments: [roundID, id])
                    else { continue }
                    let block = try Self.block(row)
                    if seen.insert(block.firstChild).inserted { blocks.append(block) }
                }
            }
            return try blocks.children(ids)
        }
    }

    public func intakeRunPage(roundID: String, after: String?, limit: Int) async throws -> [IntakeRunChild] {
        try await read { db in
            let blocks = try db.rows(
                sql: "SELECT first_child, last_child, records FROM intake_run_children WHERE round_id = ? AND last_child > ? ORDER BY first_child LIMIT ?",
                arguments: [roundID, after ?? "", limit / IntakeRunRows.blockSize + 2]
            ).map(Self.block)
            return try IntakeRunRows.page(blocks, after: after, limit: limit)
        }
    }

    public func intakeRunFills(roundID: String) async throws -> [IntakeRunFill] {
        try await read { db in
            try db.rows(
                sql: "SELECT offer_id, places, held, held_sos, held_local, waiting FROM intake_run_offer WHERE round_id = ? ORDER BY offer_id",
                arguments: [roundID]
            ).map { row in
                let row = StoredRow(row, "intake_run_offer")
                func count(_ index: Int, _ column: String) throws -> Int { try StoreRules.stored(try row[index, column], "intake_run_offer.\(column)") }
                return try IntakeRunFill(
                    offerID: row[0, "offer_id"], places: count(1, "places"), held: count(2, "held"), heldReservedSOS: count(3, "held_sos"),
                    heldReservedLocal: count(4, "held_local"), waiting: count(5, "waiting"))
            }
        }
    }

    public func intakeResults(roundID: String) async throws -> [IntakeSeatRecord] {
        try await read { db in
            try db.rows(sql: "SELECT child_id, offer_id, seat, choice FROM intake_result WHERE round_id = ? ORDER BY child_id", arguments: [roundID]).map {
                row in
                let row = StoredRow(row, "intake_result")
                return try IntakeSeatRecord(
                    childID: row[0, "child_id"], offerID: row[1, "offer_id"], seat: SeatKind(rawValue: row[2, "seat"]) ?? .open,
                    choice: StoreRules.stored(row[3, "choice"], "intake_result.choice"))
            }
        }
    }

    public func intakeEvents(roundID: String) async throws -> [IntakeEventRecord] {
        try await read { db in try Self.events(db, roundID) }
    }

    static func events(_ db: Database, _ roundID: String) throws -> [IntakeEventRecord] {
        try db.rows(sql: "SELECT kind, child_id, offer_id, accept, at_ms FROM intake_event WHERE round_id = ? ORDER BY seq", arguments: [roundID]).map { row in
            let row = StoredRow(row, "intake_event")
            return try IntakeEventRecord(
                kind: row[0, "kind"], child: row[1, "child_id"], offer: row[2, "offer_id"], accept: row[3, "accept"], at: row[4, "at_ms"])
        }
    }

    public func appendIntakeEvents(
        roundID: String, _ events: [IntakeEventRecord], context: MutationContext,
        check: @escaping @Sendable (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void,
        reply: @escaping @Sendable ([IntakeEventRecord]) throws -> [UInt8]
    ) async throws -> Mutated<[IntakeEventRecord]> {
        try await mutate(context, reply: reply) { db, _ in
            let round = try Self.fetchRound(db, roundID)
            let stored = try Self.events(db, roundID)
            let (events, records) = try IntakeDecider.appended(events, round: round, roundID: roundID, stored: stored, check: check)
            try Self.insert(db, roundID, events, after: stored.count)
            return (events, records)
        }
    }

    private static func insert(_ db: Database, _ roundID: String, _ events: [IntakeEventRecord], after count: Int) throws {
        for (offset, event) in events.enumerated() {
            let columns = event.columns
            try db.run(
                sql: "INSERT INTO intake_event (round_id, seq, kind, child_id, offer_id, accept, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [roundID, count + offset + 1, columns.kind, columns.child, columns.offer, columns.accept, event.at])
        }
    }

    public func confirmIntakePlacements(
        roundID: String, _ confirmations: [IntakeConfirmation], at: Int64, context: MutationContext,
        authorize: @escaping @Sendable (BookingParties) throws -> Void,
        check: @escaping @Sendable (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void,
        reply: @escaping @Sendable (IntakeConfirmed) throws -> [UInt8]
    ) async throws -> Mutated<IntakeConfirmed> {
        try await mutate(context, reply: reply) { db, batch in
            let round = try Self.fetchRound(db, roundID)
            let stored = try Self.events(db, roundID)
            let (accepted, refused) = try IntakeDecider.replayable(confirmations, round: round, roundID: roundID, at: at, stored: stored, check: check)
            var confirmed = IntakeConfirmed(refused: refused)
            var records: [String] = []
            var booked: [IntakeConfirmation] = []
            for confirmation in accepted {
                do {
                    let (placement, written) = try self.book(db, batch: batch, confirmation.booking, now: context.now, authorize: authorize)
                    confirmed.placed.append(.init(childID: confirmation.childID, offerID: confirmation.offerID, placementID: placement.id))
                    booked.append(confirmation)
                    records += written
                } catch {
                    guard let reason = IntakeDecider.bookingRefusal(error) else { throw error }
                    confirmed.refused.append(.init(childID: confirmation.childID, reason: reason))
                }
            }
            let (events, written) = try IntakeDecider.confirmed(
                booked: booked, accepted: accepted, roundID: roundID, at: at, stored: stored, bookingRecords: records, check: check)
            try Self.insert(db, roundID, events, after: stored.count)
            return (confirmed, written)
        }
    }
}
