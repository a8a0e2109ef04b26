import Foundation
import PostgresNIO
import SchedulerCore

/// Intake rounds on PostgreSQL. A change to a round's inputs locks the round's row, so
/// offers opened together are checked against each other, and a run's result is stored only
/// if no input changed after the run read them (`inputs_version`).
extension PostgresStore {
    static let roundColumns = "id, site_id, name, first_day, last_day, deadline_ms, seed, priority_order, state, inputs_version"
    static let offerColumns = "id, group_id, nursery_id, pattern, places, reserved_sos, reserved_local"

    static func intakeRound(_ row: PostgresRandomAccessRow) throws -> IntakeRoundInfo {
        IntakeRoundInfo(
            id: try row.text(0), siteID: try row.text(1), name: try row.text(2), first: try StoreRules.storedDay(try row.int(3), "intake_round.first_day"),
            last: try StoreRules.storedDay(try row.int(4), "intake_round.last_day"), deadline: Int64(try row.int(5)),
            seed: UInt64(bitPattern: Int64(try row.int(6))),
            order: try IntakeRoundInfo.order(stored: try row.text(7)), state: IntakeRoundInfo.State(rawValue: try row.text(8)) ?? .open,
            inputsVersion: Int64(try row.int(9)))
    }

    static func intakeOffer(_ row: PostgresRandomAccessRow) throws -> IntakeOffer {
        try StoreRules.offer(
            id: try row.text(0), groupID: try row.text(1), nurseryID: try row.text(2), patternBits: try row.int(3),
            places: try row.int(4), reservedSOS: try row.int(5), reservedLocal: try row.int(6))
    }

    func fetchRound(_ tx: PostgresTransaction, _ id: String, lock: Bool = false) async throws -> IntakeRoundInfo? {
        try await tx.row("SELECT \(unescaped: Self.roundColumns) FROM intake_round WHERE id = \(id)\(unescaped: lock ? " FOR UPDATE" : "")").map(
            Self.intakeRound)
    }

    func roundOffers(_ tx: PostgresTransaction, _ roundID: String) async throws -> [IntakeOffer] {
        try await tx.rows("SELECT \(unescaped: Self.offerColumns) FROM intake_offer WHERE round_id = \(roundID) ORDER BY id").map(Self.intakeOffer)
    }

    public func createRound(_ round: IntakeRoundInfo, context: MutationContext, reply: @escaping @Sendable (IntakeRoundInfo) throws -> [UInt8]) async throws
        -> Mutated<IntakeRoundInfo>
    {
        try round.validate()
        return try await mutate(context, reply: reply) { tx in
            let (round, records) = try IntakeDecider.newRound(
                round, site: try await fetchSite(tx, round.siteID), exists: try await fetchRound(tx, round.id) != nil, now: context.now)
            try await tx.run(
                """
                INSERT INTO intake_round (id, site_id, name, first_day, last_day, deadline_ms, seed, priority_order, state, inputs_version)
                VALUES (\(round.id), \(round.siteID), \(round.name), \(round.first.dayNumber), \(round.last.dayNumber), \(round.deadline),
                        \(Int64(bitPattern: round.seed)), \(round.orderText), 'open', 0)
                """)
            return (round, records)
        }
    }

    public func round(id: String) async throws -> IntakeRoundInfo? {
        try await read { tx in try await fetchRound(tx, id) }
    }

    public func openOffer(_ offer: IntakeOffer, roundID: String, context: MutationContext, reply: @escaping @Sendable (IntakeOffer) throws -> [UInt8])
        async throws -> Mutated<IntakeOffer>
    {
        try offer.validate()
        return try await mutate(context, reply: reply) { tx in
            // The round's row first: offers of one round open one at a time, each checked with the others.
            let lockedRound = try await fetchRound(tx, roundID, lock: true)
            let lockedGroup = try await fetchGroup(tx, offer.groupID, lock: true)
            var groupNursery: Nursery?
            if let (group, _) = lockedGroup { groupNursery = try await fetchNursery(tx, group.nurseryID) }
            let (round, offer, group, nursery) = try IntakeDecider.offerTarget(
                offer, round: lockedRound, roundID: roundID, group: lockedGroup?.0, nursery: groupNursery,
                offerExists: try await tx.row("SELECT 1 FROM intake_offer WHERE id = \(offer.id)") != nil,
                offersInRound: try await tx.row("SELECT count(*)::bigint FROM intake_offer WHERE round_id = \(roundID)")?.int(0) ?? 0)
            let version = lockedGroup?.version ?? 0
            let ledger = try await ledger(tx, group: group, version: version, nursery: nursery, locked: true)
            // Every round still open on the group holds its offered places, each over its own term
            // (the group's row is locked: offers of any round on it open one at a time).
            let others = try await tx.rows(
                """
                SELECT o.id, o.group_id, o.nursery_id, o.pattern, o.places, o.reserved_sos, o.reserved_local, r.first_day, r.last_day
                FROM intake_offer o JOIN intake_round r ON r.id = o.round_id
                WHERE o.group_id = \(group.id) AND r.state = 'open' AND r.first_day <= \(round.last.dayNumber) AND r.last_day >= \(round.first.dayNumber)
                """
            ).map { row in
                (
                    offer: try Self.intakeOffer(row), first: try StoreRules.storedDay(try row.int(7), "intake_round.first_day"),
                    last: try StoreRules.storedDay(try row.int(8), "intake_round.last_day")
                )
            }
            let records = try IntakeDecider.checkOfferFits(offer, round: round, nursery: nursery, ledger: ledger, others: others)
            try await tx.run(
                """
                INSERT INTO intake_offer (id, round_id, group_id, nursery_id, pattern, places, reserved_sos, reserved_local)
                VALUES (\(offer.id), \(roundID), \(group.id), \(nursery.id), \(Int(offer.pattern.bits)), \(offer.places), \(offer.reservedSOS), \(offer.reservedLocal))
                """)
            try await tx.run("UPDATE intake_round SET inputs_version = inputs_version + 1 WHERE id = \(roundID)")
            return (offer, records)
        }
    }

    public func submitApplications(
        roundID: String, _ applications: [ApplicationInput], context: MutationContext, authorize: @escaping @Sendable ([Family]) throws -> Void,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int> {
        try await mutate(context, reply: reply) { tx in
            let round = try await fetchRound(tx, roundID, lock: true)
            // The round's offers' groups, and every applicant with their family: one query each (not one round trip per application).
            var groups: [String: Group] = [:]
            for row in try await tx.rows(
                "SELECT \(unescaped: Self.groupColumns) FROM nursery_group WHERE id IN (SELECT group_id FROM intake_offer WHERE round_id = \(roundID))")
            {
                let group = try Self.group(row).0
                groups[group.id] = group
            }
            var applicants: [String: (child: Child, family: Family)] = [:]
            for row in try await tx.rows(
                """
                SELECT c.id, c.family_id, c.given_name, c.birth_day, c.special_needs,
                       f.id, f.site_id, f.kind, f.single_parent, f.parents_working, f.contact_ref
                FROM child c JOIN family f ON f.id = c.family_id WHERE c.id = ANY(\(Array(Set(applications.map(\.childID))).sorted()))
                """)
            {
                let child = try Self.child(row), family = try Self.family(row, at: 5)
                applicants[child.id] = (child, family)
            }
            let decided = try IntakeDecider.applications(
                applications, round: round, roundID: roundID, now: context.now, offers: try await roundOffers(tx, roundID), groups: groups,
                applicants: applicants)
            try authorize(decided.families)
            let now = context.now.millisecondsSince1970
            // One statement for all of them.
            let children = decided.rows.map(\.childID), rankings = decided.rows.map { $0.ranking.joined(separator: ",") }
            try await tx.run(
                """
                INSERT INTO intake_application (round_id, child_id, ranking, submitted_at_ms)
                SELECT \(roundID), child_id, ranking, \(now) FROM UNNEST(\(children)::text[], \(rankings)::text[]) AS a(child_id, ranking)
                ON CONFLICT (round_id, child_id) DO UPDATE SET ranking = excluded.ranking
                """)
            try await tx.run("UPDATE intake_round SET inputs_version = inputs_version + 1 WHERE id = \(roundID)")
            return (applications.count, decided.records)
        }
    }

    public func withdrawApplication(roundID: String, childID: String, context: MutationContext, reply: @escaping @Sendable (String) throws -> [UInt8])
        async throws -> Mutated<String>
    {
        try await mutate(context, reply: reply) { tx in
            let records = try IntakeDecider.withdrawal(
                round: try await fetchRound(tx, roundID, lock: true), roundID: roundID, childID: childID, now: context.now)
            let gone = try await tx.rows("DELETE FROM intake_application WHERE round_id = \(roundID) AND child_id = \(childID) RETURNING child_id")
            guard !gone.isEmpty else { throw IntakeDecider.noApplication(childID: childID, roundID: roundID) }
            try await tx.run("UPDATE intake_round SET inputs_version = inputs_version + 1 WHERE id = \(roundID)")
            return (childID, records)
        }
    }

    public func intakeInputs(roundID: String) async throws -> IntakeInputs {
        try await read { tx in
            let round = try StoreRules.require(try await fetchRound(tx, roundID), "intake round", roundID, field: "round_id")
            let offers = try await roundOffers(tx, roundID)
            var siblings: [String: Set<String>] = [:]
            for row in try await tx.rows(
                """
                SELECT a.child_id, p.nursery_id FROM intake_application a
                JOIN child c ON c.id = a.child_id JOIN child s ON s.family_id = c.family_id AND s.id <> c.id
                JOIN placement p ON p.child_id = s.id AND p.state = 'active' AND (p.last_day IS NULL OR p.last_day >= \(round.first.dayNumber))
                WHERE a.round_id = \(roundID)
                """)
            {
                siblings[try row.text(0), default: []].insert(try row.text(1))
            }
            // Only the columns priorities need.
            let applications = try await tx.rows(
                """
                SELECT a.child_id, a.ranking, a.submitted_at_ms, c.special_needs, f.kind, f.single_parent, f.parents_working, a.frozen_facts
                FROM intake_application a JOIN child c ON c.id = a.child_id JOIN family f ON f.id = c.family_id
                WHERE a.round_id = \(roundID) ORDER BY a.child_id
                """
            ).map { row -> IntakeApplication in
                let childID = try row.text(0)
                var application = IntakeApplication(
                    childID: childID, familyKind: FamilyKind(rawValue: try row.text(4)) ?? .local, siblingNurseries: siblings[childID] ?? [],
                    specialNeeds: try row.bool(3), singleParent: try row.bool(5), parentsWorking: try row.bool(6), submittedAt: Int64(try row.int(2)),
                    ranking: try row.text(1).split(separator: ",").map(String.init))
                if let frozen = try row.optionalText(7) { StoreRules.thaw(frozen, into: &application) }
                return application
            }
            return IntakeInputs(round: round, offers: offers, applications: applications)
        }
    }

    public func recordAllocation(
        roundID: String, inputsVersion: Int64, children: [IntakeRunChild], offers: [IntakeRunOffer], closedEarly: Bool, context: MutationContext,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int> {
        let rows = IntakeRunRows(children: children, offers: offers)
        return try await mutate(context, reply: reply) { tx in
            let (placed, records) = try IntakeDecider.recordedRun(
                round: try await fetchRound(tx, roundID, lock: true), roundID: roundID, inputsVersion: inputsVersion, children: children,
                closedEarly: closedEarly)
            try await insertRun(tx, roundID, rows)
            try await tx.run("UPDATE intake_round SET state = 'allocated' WHERE id = \(roundID)")
            return (placed, records)
        }
    }

    /// The run's rows, as arrays unnested by PostgreSQL: a few statements, not one per row.
    /// bytea[] has no binding in postgres-nio: blobs travel as base64 texts, decoded by the statement.
    func insertRun(_ tx: PostgresTransaction, _ roundID: String, _ rows: IntakeRunRows) async throws {
        for slice in rows.blocks.chunked(200) {
            var binds = PostgresBindings(capacity: 4)
            binds.append(roundID)
            binds.append(slice.map(\.firstChild))
            binds.append(slice.map(\.lastChild))
            binds.append(slice.map { Data($0.records).base64EncodedString() })
            try await tx.run(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO intake_run_children (round_id, first_child, last_child, records)
                        SELECT $1, f, l, decode(r, 'base64') FROM UNNEST($2::text[], $3::text[], $4::text[]) AS t(f, l, r)
                        """, binds: binds))
        }
        for slice in rows.offers.chunked(2_000) {
            var binds = PostgresBindings(capacity: 9)
            binds.append(roundID)
            binds.append(slice.map(\.fill.offerID))
            binds.append(slice.map { Int64($0.fill.places) })
            binds.append(slice.map { Int64($0.fill.held) })
            binds.append(slice.map { Int64($0.fill.heldReservedSOS) })
            binds.append(slice.map { Int64($0.fill.heldReservedLocal) })
            binds.append(slice.map { Int64($0.fill.waiting) })
            binds.append(slice.map { Data($0.holders).base64EncodedString() })
            binds.append(slice.map { Data($0.waitlist).base64EncodedString() })
            try await tx.run(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO intake_run_offer (round_id, offer_id, places, held, held_sos, held_local, waiting, holders, waitlist)
                        SELECT $1, o, p, h, hs, hl, w, decode(hd, 'base64'), decode(wl, 'base64')
                        FROM UNNEST($2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::text[], $9::text[]) AS t(o, p, h, hs, hl, w, hd, wl)
                        """, binds: binds))
        }
        try await tx.run("UPDATE intake_round SET run_stored = true WHERE id = \(roundID)")
    }

    public func roundOverview(id: String) async throws -> (round: IntakeRoundInfo, offers: [IntakeOffer], applications: Int)? {
        try await read { tx in
            guard let round = try await fetchRound(tx, id) else { return nil }
            let count = try await tx.row("SELECT COUNT(*) FROM intake_application WHERE round_id = \(id)").map { try $0.int(0) } ?? 0
            return (round, try await roundOffers(tx, id), count)
        }
    }

    public func intakeOffers(roundID: String) async throws -> [IntakeOffer] {
        try await read { tx in try await roundOffers(tx, roundID) }
    }

    public func hasRunRecords(roundID: String) async throws -> Bool {
        try await read { tx in try await tx.row("SELECT run_stored FROM intake_round WHERE id = \(roundID)").map { try $0.bool(0) } ?? false }
    }

    public func storeLegacyRunRecords(roundID: String, children: [IntakeRunChild], offers: [IntakeRunOffer]) async throws {
        let rows = IntakeRunRows(children: children, offers: offers)
        try await transaction { tx in
            guard try await tx.row("SELECT run_stored FROM intake_round WHERE id = \(roundID) FOR UPDATE").map({ try $0.bool(0) }) == false else { return }
            try await insertRun(tx, roundID, rows)
        }
    }

    static func block(_ row: PostgresRandomAccessRow) throws -> IntakeRunRows.Block {
        IntakeRunRows.Block(firstChild: try row.text(0), lastChild: try row.text(1), records: try row.bytes(2))
    }

    public func intakeRunOffers(roundID: String, ids: Set<String>) async throws -> [IntakeRunOffer] {
        guard !ids.isEmpty else { return [] }
        let list = Array(ids).sorted()
        return try await read { tx in
            let offers = try await tx.rows("SELECT \(unescaped: Self.offerColumns) FROM intake_offer WHERE round_id = \(roundID) AND id = ANY(\(list))").map(
                Self.intakeOffer)
            var packed: [String: ([UInt8], [UInt8])] = [:]
            for row in try await tx.rows("SELECT offer_id, holders, waitlist FROM intake_run_offer WHERE round_id = \(roundID) AND offer_id = ANY(\(list))") {
                packed[try row.text(0)] = (try row.bytes(1), try row.bytes(2))
            }
            return try offers.compactMap { offer in
                guard let (holders, waitlist) = packed[offer.id] else { return nil }
                return try IntakeRunRows.offer(offer, holders: holders, waitlist: waitlist)
            }
        }
    }

    public func intakeRunChildren(roundID: String, ids: Set<String>) async throws -> [IntakeRunChild] {
        guard !ids.isEmpty else { return [] }
        let list = Array(ids).sorted()
        return try await read { tx in
            // The block of each id: the last one starting at or before it.
            let blocks = try await tx.rows(
                """
                SELECT DISTINCT ON (b.first_child) b.first_child, b.last_child, b.records
                FROM UNNEST(\(list)::text[]) AS i(id)
                CROSS JOIN LATERAL (
                    SELECT first_child, last_child, records FROM intake_run_children
                    WHERE round_id = \(roundID) AND first_child <= i.id COLLATE "C" ORDER BY first_child DESC LIMIT 1
                ) b
                ORDER BY b.first_child
                """
            ).map(Self.block)
            return try blocks.children(ids)
        }
    }

    public func intakeRunPage(roundID: String, after: String?, limit: Int) async throws -> [IntakeRunChild] {
        try await read { tx in
            let blocks = try await tx.rows(
                """
                SELECT first_child, last_child, records FROM intake_run_children WHERE round_id = \(roundID) AND last_child > \(after ?? "")
                ORDER BY first_child LIMIT \(limit / IntakeRunRows.blockSize + 2)
                """
            ).map(Self.block)
            return try IntakeRunRows.page(blocks, after: after, limit: limit)
        }
    }

    public func intakeRunFills(roundID: String) async throws -> [IntakeRunFill] {
        try await read { tx in
            try await tx.rows(
                "SELECT offer_id, places, held, held_sos, held_local, waiting FROM intake_run_offer WHERE round_id = \(roundID) ORDER BY offer_id"
            ).map { row in
                func count(_ index: Int, _ column: String) throws -> Int { try StoreRules.stored(try row.int(index), "intake_run_offer.\(column)") }
                return IntakeRunFill(
                    offerID: try row.text(0), places: try count(1, "places"), held: try count(2, "held"), heldReservedSOS: try count(3, "held_sos"),
                    heldReservedLocal: try count(4, "held_local"), waiting: try count(5, "waiting"))
            }
        }
    }

    public func intakeResults(roundID: String) async throws -> [IntakeSeatRecord] {
        try await read { tx in
            try await tx.rows("SELECT child_id, offer_id, seat, choice FROM intake_result WHERE round_id = \(roundID) ORDER BY child_id").map { row in
                IntakeSeatRecord(
                    childID: try row.text(0), offerID: try row.text(1), seat: SeatKind(rawValue: try row.text(2)) ?? .open,
                    choice: try StoreRules.stored(try row.int(3), "intake_result.choice"))
            }
        }
    }

    public func intakeEvents(roundID: String) async throws -> [IntakeEventRecord] {
        try await read { tx in try await events(tx, roundID) }
    }

    func events(_ tx: PostgresTransaction, _ roundID: String) async throws -> [IntakeEventRecord] {
        try await tx.rows("SELECT kind, child_id, offer_id, accept, at_ms FROM intake_event WHERE round_id = \(roundID) ORDER BY seq").map { row in
            try IntakeEventRecord(
                kind: try row.text(0), child: try row.text(1), offer: try row.optionalText(2), accept: try row.bool(3), at: Int64(try row.int(4)))
        }
    }

    public func appendIntakeEvents(
        roundID: String, _ events: [IntakeEventRecord], context: MutationContext,
        check: @escaping @Sendable (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void,
        reply: @escaping @Sendable ([IntakeEventRecord]) throws -> [UInt8]
    ) async throws -> Mutated<[IntakeEventRecord]> {
        try await mutate(context, reply: reply) { tx in
            // The round's row: events of one round are appended one batch at a time, each checked after the last.
            let round = try await fetchRound(tx, roundID, lock: true)
            let stored = try await self.events(tx, roundID)
            let (events, records) = try IntakeDecider.appended(events, round: round, roundID: roundID, stored: stored, check: check)
            try await Self.insert(tx, roundID, events, after: stored.count)
            return (events, records)
        }
    }

    private static func insert(_ tx: PostgresTransaction, _ roundID: String, _ events: [IntakeEventRecord], after count: Int) async throws {
        for (offset, event) in events.enumerated() {
            let columns = event.columns
            try await tx.run(
                """
                INSERT INTO intake_event (round_id, seq, kind, child_id, offer_id, accept, at_ms)
                VALUES (\(roundID), \(count + offset + 1), \(columns.kind), \(columns.child), \(columns.offer), \(columns.accept), \(event.at))
                """)
        }
    }

    public func confirmIntakePlacements(
        roundID: String, _ confirmations: [IntakeConfirmation], at: Int64, context: MutationContext,
        authorize: @escaping @Sendable (BookingParties) throws -> Void,
        check: @escaping @Sendable (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void,
        reply: @escaping @Sendable (IntakeConfirmed) throws -> [UInt8]
    ) async throws -> Mutated<IntakeConfirmed> {
        try await mutate(context, reply: reply) { tx in
            // The round's row first, as appendIntakeEvents does; then each booking takes its child's and group's locks.
            let round = try await fetchRound(tx, roundID, lock: true)
            let stored = try await self.events(tx, roundID)
            let (accepted, refused) = try IntakeDecider.replayable(confirmations, round: round, roundID: roundID, at: at, stored: stored, check: check)
            var confirmed = IntakeConfirmed(refused: refused)
            var records: [String] = []
            var booked: [IntakeConfirmation] = []
            for confirmation in accepted {
                do {
                    let (placement, written) = try await self.book(tx, confirmation.booking, now: context.now, authorize: authorize)
                    confirmed.placed.append(.init(childID: confirmation.childID, offerID: confirmation.offerID, placementID: placement.id))
                    booked.append(confirmation)
                    records += written
                } catch {
                    // Refusals come before any statement fails, so the transaction is still usable.
                    guard let reason = IntakeDecider.bookingRefusal(error) else { throw error }
                    confirmed.refused.append(.init(childID: confirmation.childID, reason: reason))
                }
            }
            let (events, written) = try IntakeDecider.confirmed(
                booked: booked, accepted: accepted, roundID: roundID, at: at, stored: stored, bookingRecords: records, check: check)
            try await Self.insert(tx, roundID, events, after: stored.count)
            return (confirmed, written)
        }
    }
}
