import Foundation
import SchedulerCore

/// One child's stored result in a round that has run.
public struct IntakeSeatRecord: Sendable, Hashable {
    public var childID: String
    public var offerID: String
    public var seat: SeatKind
    public var choice: Int

    public init(childID: String, offerID: String, seat: SeatKind, choice: Int) {
        self.childID = childID
        self.offerID = offerID
        self.seat = seat
        self.choice = choice
    }
}

/// Intake rounds in the store: rounds, their offers and applications, and the results of the
/// run. The allocation itself runs outside the store (`IntakeAllocator`) on `intakeInputs`;
/// `recordAllocation` stores its result only if the inputs did not change meanwhile.
public protocol IntakeStore: Sendable {
    func createRound(_ round: IntakeRoundInfo, context: MutationContext, reply: @escaping @Sendable (IntakeRoundInfo) throws -> [UInt8]) async throws -> Mutated<IntakeRoundInfo>
    func round(id: String) async throws -> IntakeRoundInfo?
    /// Opens an offer if the group can take all its seats over the round's term, with the
    /// round's other offers of that group.
    func openOffer(_ offer: IntakeOffer, roundID: String, context: MutationContext, reply: @escaping @Sendable (IntakeOffer) throws -> [UInt8]) async throws -> Mutated<IntakeOffer>
    /// Submits or updates applications (an update keeps the first submission time) until the
    /// deadline. `authorize` sees each child's family before anything is written.
    func submitApplications(
        roundID: String, _ applications: [ApplicationInput], context: MutationContext, authorize: @escaping @Sendable ([Family]) throws -> Void,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int>
    func withdrawApplication(roundID: String, childID: String, context: MutationContext, reply: @escaping @Sendable (String) throws -> [UInt8]) async throws -> Mutated<String>
    /// The round, its offers and its applications with the facts priorities need, in one snapshot.
    func intakeInputs(roundID: String) async throws -> IntakeInputs
    /// Stores a run and closes the round, if it is still open at `inputsVersion`: every
    /// applicant's record (result, list, the facts of their priority, as the run judged them)
    /// and every offer's holders, waiting children and fill, so reads of the round later cost
    /// what reading those rows costs and stay those of the run even when placements change.
    /// `closedEarly`: the run is before the application deadline (the caller asked to close the
    /// round early), recorded in the audit log.
    func recordAllocation(
        roundID: String, inputsVersion: Int64, children: [IntakeRunChild], offers: [IntakeRunOffer], closedEarly: Bool, context: MutationContext,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int>
    /// The round, its offers and how many applications it has (no application is read).
    func roundOverview(id: String) async throws -> (round: IntakeRoundInfo, offers: [IntakeOffer], applications: Int)?
    /// The round's offers, in id order.
    func intakeOffers(roundID: String) async throws -> [IntakeOffer]
    /// Whether the round's run records are stored (false for a round that ran before they were kept).
    func hasRunRecords(roundID: String) async throws -> Bool
    /// Stores the run records of a round that ran before they were kept (re-derived from its
    /// stored results); does nothing if they are there already.
    func storeLegacyRunRecords(roundID: String, children: [IntakeRunChild], offers: [IntakeRunOffer]) async throws
    /// The run's records of these offers (holders and waiting children, best first); unknown ids are left out.
    func intakeRunOffers(roundID: String, ids: Set<String>) async throws -> [IntakeRunOffer]
    /// The run's records of these applicants; unknown ids are left out.
    func intakeRunChildren(roundID: String, ids: Set<String>) async throws -> [IntakeRunChild]
    /// Applicants' run records in child-id order (byte order), after `after`, at most `limit`.
    func intakeRunPage(roundID: String, after: String?, limit: Int) async throws -> [IntakeRunChild]
    /// Each offer's fill as the run left it, in offer-id order.
    func intakeRunFills(roundID: String) async throws -> [IntakeRunFill]
    /// The results stored by a run before run records were kept (legacy rounds only).
    func intakeResults(roundID: String) async throws -> [IntakeSeatRecord]
    /// The events after the run (releases, answers to waitlist offers), oldest first.
    func intakeEvents(roundID: String) async throws -> [IntakeEventRecord]
    /// Appends events, in order, to a round that has run: all or none. Inside the transaction
    /// (under the round's lock), each new event's instant is moved up to the last stored one's
    /// if it is earlier, so the log's order and its times agree on every server; then `check`
    /// sees the stored events and the new ones as they will be stored, and throws to refuse them.
    func appendIntakeEvents(
        roundID: String, _ events: [IntakeEventRecord], context: MutationContext,
        check: @escaping @Sendable (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void,
        reply: @escaping @Sendable ([IntakeEventRecord]) throws -> [UInt8]
    ) async throws -> Mutated<[IntakeEventRecord]>
}

/// An offer's fill as a run left it.
public struct IntakeRunFill: Sendable, Hashable {
    public var offerID: String
    public var places: Int
    public var held: Int
    public var heldReservedSOS: Int
    public var heldReservedLocal: Int
    public var waiting: Int

    public init(offerID: String, places: Int, held: Int, heldReservedSOS: Int, heldReservedLocal: Int, waiting: Int) {
        self.offerID = offerID
        self.places = places
        self.held = held
        self.heldReservedSOS = heldReservedSOS
        self.heldReservedLocal = heldReservedLocal
        self.waiting = waiting
    }

    public init(_ record: IntakeRunOffer) {
        let labels = record.offer.seatLabels(record.holders.map(\.familyKind))
        self.init(
            offerID: record.offer.id, places: record.offer.places, held: record.holders.count, heldReservedSOS: labels.filter { $0 == .reservedSOS }.count,
            heldReservedLocal: labels.filter { $0 == .reservedLocal }.count, waiting: record.waiting.count)
    }
}

/// A run's records as stored rows (both stores write and read these columns): one row per
/// applicant (`intake_run_child`) and one per offer (`intake_run_offer`: its fill and its
/// waitlist packed into one blob, so the run writes a thousand offer rows rather than a row per
/// waiting child, and one offer's waitlist reads as one row).
struct IntakeRunRows {
    /// `intake_run_child`: one row per applicant.
    struct Child {
        var childID: String
        var offerID: String?
        var seat: String?
        var choice: Int
        var seatKey: Int64?
        var familyKind: String
        var specialNeeds: Bool
        var singleParent: Bool
        var parentsWorking: Bool
        var siblingNurseries: String
        var submissionRank: Int
        var lotteryPosition: Int
        var ranking: String
    }

    /// `intake_run_offer`: one row per offer.
    struct Offer {
        var fill: IntakeRunFill
        /// The waiting children, best first, packed (`pack`).
        var waitlist: [UInt8]
    }

    var children: [Child] = []
    var offers: [Offer] = []

    init(children records: [IntakeRunChild], offers: [IntakeRunOffer]) {
        var holderKeys: [String: UInt64] = [:]
        holderKeys.reserveCapacity(records.count)
        for offer in offers {
            for holder in offer.holders { holderKeys[holder.childID] = holder.key }
            self.offers.append(Offer(fill: IntakeRunFill(offer), waitlist: Self.pack(offer.waiting)))
        }
        children = records.map { record in
            Child(
                childID: record.childID, offerID: record.seat?.offerID, seat: record.seat?.kind.rawValue, choice: record.seat?.choice ?? -1,
                seatKey: holderKeys[record.childID].map { Int64(bitPattern: $0) }, familyKind: record.facts.familyKind.rawValue,
                specialNeeds: record.facts.specialNeeds, singleParent: record.facts.singleParent, parentsWorking: record.facts.parentsWorking,
                siblingNurseries: record.facts.siblingNurseries.sorted().joined(separator: ","), submissionRank: record.facts.submissionRank,
                lotteryPosition: record.facts.lotteryPosition, ranking: record.ranking.joined(separator: ","))
        }
    }

    /// Entries as bytes: per entry the key (8 bytes, big-endian), the family kind (1: SOS,
    /// 0: local), the choice (4 bytes), the id's length (2 bytes) and its UTF-8 bytes.
    static func pack(_ entries: [IntakeRunEntry]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 24)
        for entry in entries {
            withUnsafeBytes(of: entry.key.bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(entry.familyKind == .sos ? 1 : 0)
            withUnsafeBytes(of: UInt32(clamping: entry.choice).bigEndian) { bytes.append(contentsOf: $0) }
            let id = Array(entry.childID.utf8.prefix(Int(UInt16.max)))
            withUnsafeBytes(of: UInt16(id.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: id)
        }
        return bytes
    }

    static func unpack(_ bytes: [UInt8]) throws -> [IntakeRunEntry] {
        var entries: [IntakeRunEntry] = []
        var index = 0
        func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, bytes.count - index >= count else { throw SchedulerStoreError.internal("a stored waitlist is cut short") }
            defer { index += count }
            return bytes[index..<index + count]
        }
        func integer(_ count: Int) throws -> UInt64 { try take(count).reduce(0) { $0 << 8 | UInt64($1) } }
        while index < bytes.count {
            let key = try integer(8)
            let kind: FamilyKind = try integer(1) == 1 ? .sos : .local
            let choice = Int(try integer(4))
            let length = Int(try integer(2))
            let id = String(decoding: try take(length), as: UTF8.self)
            entries.append(IntakeRunEntry(childID: id, key: key, familyKind: kind, choice: choice))
        }
        return entries
    }

    static func kind(_ text: String) throws -> FamilyKind {
        guard let kind = FamilyKind(rawValue: text) else { throw SchedulerStoreError.internal("stored family kind \(text) is not one the service knows") }
        return kind
    }

    static func child(_ row: Child) throws -> IntakeRunChild {
        var seat: IntakeResult.Seat?
        if let offerID = row.offerID {
            guard let kind = SeatKind(rawValue: row.seat ?? "") else { throw SchedulerStoreError.internal("stored seat \(row.seat ?? "") is not one the service knows") }
            seat = IntakeResult.Seat(offerID: offerID, kind: kind, choice: row.choice)
        }
        let facts = PriorityFacts(
            familyKind: try kind(row.familyKind), siblingNurseries: Set(row.siblingNurseries.split(separator: ",").map(String.init)), specialNeeds: row.specialNeeds,
            singleParent: row.singleParent, parentsWorking: row.parentsWorking, submissionRank: row.submissionRank, lotteryPosition: row.lotteryPosition)
        return IntakeRunChild(childID: row.childID, facts: facts, ranking: row.ranking.split(separator: ",").map(String.init), seat: seat)
    }

    /// An offer's record from its row, its holders (child, key, kind, choice) and its packed waitlist.
    static func offer(_ offer: IntakeOffer, holders: [(String, Int64, String, Int)], waitlist: [UInt8]) throws -> IntakeRunOffer {
        let held = try holders.map { IntakeRunEntry(childID: $0.0, key: UInt64(bitPattern: $0.1), familyKind: try kind($0.2), choice: $0.3) }
        return IntakeRunOffer(offer: offer, holders: held.sorted { $0.key > $1.key }, waiting: try unpack(waitlist))
    }
}

/// One stored event of a round's waitlist.
public struct IntakeEventRecord: Sendable, Hashable {
    public var event: IntakeEvent
    /// When it happened (milliseconds since 1970).
    public var at: Int64

    public init(event: IntakeEvent, at: Int64) {
        self.event = event
        self.at = at
    }

    /// Stored columns: kind, child, offer, accept.
    var columns: (kind: String, child: String, offer: String?, accept: Bool) {
        switch event {
        case .release(let child): ("release", child, nil, false)
        case .respond(let child, let offer, let accept): ("respond", child, offer, accept)
        case .confirm(let child, let offer): ("confirm", child, offer, false)
        }
    }

    init(kind: String, child: String, offer: String?, accept: Bool, at: Int64) throws {
        switch kind {
        case "release": event = .release(child: child)
        case "respond": event = .respond(child: child, offer: offer ?? "", accept: accept)
        case "confirm": event = .confirm(child: child, offer: offer ?? "")
        default: throw SchedulerStoreError.internal("stored intake event of unknown kind \(kind)")
        }
        self.at = at
    }
}

extension StoreRules {
    /// New events with their instants moved up to the last stored event's, where earlier.
    static func stamped(_ events: [IntakeEventRecord], after stored: [IntakeEventRecord]) -> [IntakeEventRecord] {
        let floor = stored.last?.at ?? Int64.min
        return events.map { IntakeEventRecord(event: $0.event, at: max($0.at, floor)) }
    }

    static func allocatedRound(_ round: IntakeRoundInfo?, _ id: String) throws -> IntakeRoundInfo {
        let round = try require(round, "intake round", id, field: "round_id")
        guard round.state == .allocated else {
            throw SchedulerError(.failedPrecondition, "round \(id) has not run yet", field: "round_id")
        }
        return round
    }

    static func openRound(_ round: IntakeRoundInfo?, _ id: String) throws -> IntakeRoundInfo {
        let round = try require(round, "intake round", id, field: "round_id")
        guard round.state == .open else {
            throw SchedulerError(.failedPrecondition, "round \(id) has already run; its results are final", field: "round_id")
        }
        return round
    }

    static func checkBeforeDeadline(_ round: IntakeRoundInfo, now: Date) throws {
        guard now.millisecondsSince1970 <= round.deadline else {
            throw SchedulerError(.failedPrecondition, "the round's deadline for applications has passed", field: "round_id")
        }
    }

    /// A round's dates make sense for its site: applications close (in the site's zone) before
    /// the term starts, the term has not ended, and it is at most three years long.
    static func checkRoundDates(_ round: IntakeRoundInfo, site: Site, now: Date) throws {
        let today = today(timeZone: site.timeZone, now: now)
        guard round.last >= today else {
            throw SchedulerError(.invalidArgument, "the term ends on \(round.last), before today (\(today)) at site \(site.id)", field: "round.term_last")
        }
        guard round.last.dayNumber - round.first.dayNumber < 3 * 366 else {
            throw SchedulerError(.invalidArgument, "a round's term is at most three years; \(round.first) to \(round.last) is longer", field: "round.term_last")
        }
        let closes = CivilDate(instant: Date(timeIntervalSince1970: Double(round.deadline) / 1000), timeZone: site.timeZone) ?? round.first
        guard closes < round.first else {
            throw SchedulerError(
                .invalidArgument, "applications must close before the term starts (\(round.first)); deadline_ms falls on \(closes) at site \(site.id)",
                field: "round.deadline_ms")
        }
    }

    /// An offer's pattern may only cover the nursery's opening days: its places could never be booked otherwise.
    static func checkOfferDays(_ offer: IntakeOffer, nursery: Nursery) throws {
        let closed = offer.pattern.weekdays.subtracting(nursery.openWeekdays)
        guard closed.isEmpty else {
            let days = closed.sorted().map(\.shortName).joined(separator: ", ")
            let open = nursery.openWeekdays.sorted().map(\.shortName).joined(separator: ", ")
            throw SchedulerError(.invalidArgument, "pattern includes \(days), but nursery \(nursery.id) opens on \(open) only", field: "offer.pattern")
        }
    }

    static func checkOfferFits(_ ledger: CapacityLedger, offers: [IntakeOffer], round: IntakeRoundInfo) throws {
        if let conflict = ledger.intakeViolation(for: offers, first: round.first, last: round.last) {
            let why = conflict.reason == .full ? "the group is full" : "the free places are reserved for the other kind of family"
            throw SchedulerError(
                .failedPrecondition,
                "the group cannot take all the round's offered places: on \(conflict.date) (\(conflict.session.shortName)) \(why)",
                field: "offer.places")
        }
    }

    static func checkApplication(_ input: ApplicationInput, index: Int, offers: Set<String>) throws {
        guard !input.ranking.isEmpty else {
            throw SchedulerError(.invalidArgument, "an application ranks at least one offer", field: "applications[\(index)].ranking")
        }
        guard Set(input.ranking).count == input.ranking.count else {
            throw SchedulerError(.invalidArgument, "an offer appears twice in the ranking", field: "applications[\(index)].ranking")
        }
        if let unknown = input.ranking.first(where: { !offers.contains($0) }) {
            throw SchedulerError(.invalidArgument, "\(unknown) is not an offer of this round", field: "applications[\(index)].ranking")
        }
    }

    /// Every ranked offer's group takes the child at their age on the term's first day.
    static func checkAges(_ child: Child, ranking: [String], offers: [String: IntakeOffer], groups: [String: Group], round: IntakeRoundInfo, index: Int) throws {
        let age = child.birthDate.months(until: round.first)
        for offerID in ranking {
            guard let offer = offers[offerID], let group = groups[offer.groupID] else { continue }
            guard group.accepts(ageMonths: age) else {
                throw SchedulerError(
                    .failedPrecondition,
                    "child \(child.id) will be \(age) months old on \(round.first); offer \(offerID)'s group \(group.id) takes \(group.minAgeMonths) to \(group.maxAgeMonths - 1) months",
                    field: "applications[\(index)].ranking")
            }
        }
    }

    static func checkRunnable(_ round: IntakeRoundInfo, expected version: Int64) throws {
        guard round.inputsVersion == version else {
            throw SchedulerError(.aborted, "the round's offers or applications changed while it ran; run it again", field: "round_id")
        }
    }

    /// The facts a round that ran before run records were kept was judged on, as it stored them
    /// with its applications: `kind|special_needs|single_parent|parents_working|sibling nurseries`.
    static func thaw(_ text: String, into application: inout IntakeApplication) {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5 else { return }
        application.familyKind = FamilyKind(rawValue: parts[0]) ?? application.familyKind
        application.specialNeeds = parts[1] == "1"
        application.singleParent = parts[2] == "1"
        application.parentsWorking = parts[3] == "1"
        application.siblingNurseries = Set(parts[4].split(separator: ",").map(String.init))
    }
}
