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
    func createRound(_ round: IntakeRoundInfo, context: MutationContext, reply: @escaping @Sendable (IntakeRoundInfo) throws -> [UInt8]) async throws
        -> Mutated<IntakeRoundInfo>
    func round(id: String) async throws -> IntakeRoundInfo?
    /// Opens an offer if the group can take all its seats over the round's term, with the
    /// round's other offers of that group.
    func openOffer(_ offer: IntakeOffer, roundID: String, context: MutationContext, reply: @escaping @Sendable (IntakeOffer) throws -> [UInt8]) async throws
        -> Mutated<IntakeOffer>
    /// Submits or updates applications (an update keeps the first submission time) until the
    /// deadline. `authorize` sees each child's family before anything is written.
    func submitApplications(
        roundID: String, _ applications: [ApplicationInput], context: MutationContext, authorize: @escaping @Sendable ([Family]) throws -> Void,
        reply: @escaping @Sendable (Int) throws -> [UInt8]
    ) async throws -> Mutated<Int>
    func withdrawApplication(roundID: String, childID: String, context: MutationContext, reply: @escaping @Sendable (String) throws -> [UInt8]) async throws
        -> Mutated<String>
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
    /// Confirms places of a round that has run, in one transaction: each child's placement is
    /// booked and its confirm event appended together, so no placement is left without its
    /// confirmation, nor a confirmation without its placement. A child whose event does not
    /// replay (`check` refuses it with FAILED_PRECONDITION) or whose booking is refused (no room,
    /// a clash, `authorize`) is left out and named in `refused`; the rest commit together or
    /// not at all. Events are stamped `at` (moved up as `appendIntakeEvents` does).
    func confirmIntakePlacements(
        roundID: String, _ confirmations: [IntakeConfirmation], at: Int64, context: MutationContext,
        authorize: @escaping @Sendable (BookingParties) throws -> Void,
        check: @escaping @Sendable (_ stored: [IntakeEventRecord], _ new: [IntakeEventRecord]) throws -> Void,
        reply: @escaping @Sendable (IntakeConfirmed) throws -> [UInt8]
    ) async throws -> Mutated<IntakeConfirmed>
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
        let labels = record.heldLabels
        self.init(
            offerID: record.offer.id, places: record.offer.places, held: record.holders.count, heldReservedSOS: labels.filter { $0 == .reservedSOS }.count,
            heldReservedLocal: labels.filter { $0 == .reservedLocal }.count, waiting: record.waiting.count)
    }
}

/// A run's records as stored rows (both stores write and read these columns): applicants'
/// records packed in blocks of consecutive child ids (`intake_run_children`: first and last id
/// and the packed records), and one row per offer (`intake_run_offer`: its fill, its holders
/// and its waitlist packed). A run of 100,000 children writes a few hundred rows, and a read
/// loads the one block or the one offer it needs.
struct IntakeRunRows {
    /// Applicants to a block.
    static let blockSize = 512

    /// `intake_run_children`: one row per block of applicants, in id order.
    struct Block {
        var firstChild: String
        var lastChild: String
        var records: [UInt8]
    }

    /// `intake_run_offer`: one row per offer.
    struct Offer {
        var fill: IntakeRunFill
        /// The holders and the waiting children, best first, packed (`pack`).
        var holders: [UInt8]
        var waitlist: [UInt8]
    }

    var blocks: [Block] = []
    var offers: [Offer] = []

    /// `children` in child-id order (byte order), as a run gives them.
    init(children: [IntakeRunChild], offers: [IntakeRunOffer]) {
        self.offers = offers.map { Offer(fill: IntakeRunFill($0), holders: Self.pack($0.holders), waitlist: Self.pack($0.waiting)) }
        var start = 0
        while start < children.count {
            let block = children[start..<min(children.count, start + Self.blockSize)]
            var writer = ByteWriter()
            for child in block { writer.child(child) }
            blocks.append(Block(firstChild: block.first?.childID ?? "", lastChild: block.last?.childID ?? "", records: writer.bytes))
            start += block.count
        }
    }

    /// Entries as bytes: per entry the key (8 bytes), the family kind (1: SOS, 0: local), the
    /// choice (4 bytes) and the id; integers big-endian, strings as a 2-byte length and UTF-8.
    static func pack(_ entries: [IntakeRunEntry]) -> [UInt8] {
        var writer = ByteWriter()
        for entry in entries {
            writer.integer(entry.key, bytes: 8)
            writer.integer(entry.familyKind == .sos ? 1 : 0, bytes: 1)
            writer.integer(UInt64(clamping: entry.choice), bytes: 4)
            writer.string(entry.childID)
        }
        return writer.bytes
    }

    static func unpack(_ bytes: [UInt8]) throws -> [IntakeRunEntry] {
        var reader = ByteReader(bytes)
        var entries: [IntakeRunEntry] = []
        while !reader.atEnd {
            let key = try reader.integer(bytes: 8)
            let kind: FamilyKind = try reader.integer(bytes: 1) == 1 ? .sos : .local
            let choice = Int(try reader.integer(bytes: 4))
            entries.append(IntakeRunEntry(childID: try reader.string(), key: key, familyKind: kind, choice: choice))
        }
        return entries
    }

    /// The records of a block, in id order.
    static func children(_ bytes: [UInt8]) throws -> [IntakeRunChild] {
        var reader = ByteReader(bytes)
        var children: [IntakeRunChild] = []
        while !reader.atEnd { children.append(try reader.child()) }
        return children
    }

    /// Up to `limit` records after `after` from consecutive blocks (the first may start before it).
    static func page(_ blocks: [Block], after: String?, limit: Int) throws -> [IntakeRunChild] {
        var page: [IntakeRunChild] = []
        for block in blocks where page.count < limit {
            for child in try children(block.records) where page.count < limit {
                if let after, !after.utf8.lexicographicallyPrecedes(child.childID.utf8) { continue }
                page.append(child)
            }
        }
        return page
    }

    /// An offer's record from its row and its packed holders and waitlist.
    static func offer(_ offer: IntakeOffer, holders: [UInt8], waitlist: [UInt8]) throws -> IntakeRunOffer {
        IntakeRunOffer(offer: offer, holders: try unpack(holders), waiting: try unpack(waitlist))
    }
}

/// Writes the packed layout of `IntakeRunRows`.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func integer(_ value: UInt64, bytes count: Int) {
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
        integer(UInt64(utf8.count), bytes: 2)
        bytes.append(contentsOf: utf8)
    }

    mutating func strings(_ texts: [String]) {
        integer(UInt64(min(texts.count, Int(UInt16.max))), bytes: 2)
        for text in texts.prefix(Int(UInt16.max)) { string(text) }
    }

    /// An applicant's record: id; flags (holds a place, SOS, special needs, single parent,
    /// parents working); the place (offer id, seat kind, choice) if held; submission rank;
    /// lottery position; sibling nurseries; ranking.
    mutating func child(_ child: IntakeRunChild) {
        string(child.childID)
        let facts = child.facts
        var flags: UInt64 = 0
        if child.seat != nil { flags |= 1 }
        if facts.familyKind == .sos { flags |= 2 }
        if facts.specialNeeds { flags |= 4 }
        if facts.singleParent { flags |= 8 }
        if facts.parentsWorking { flags |= 16 }
        integer(flags, bytes: 1)
        if let seat = child.seat {
            string(seat.offerID)
            integer(seat.kind == .open ? 0 : seat.kind == .reservedSOS ? 1 : 2, bytes: 1)
            integer(UInt64(clamping: seat.choice), bytes: 4)
        }
        integer(UInt64(clamping: facts.submissionRank), bytes: 4)
        integer(UInt64(clamping: facts.lotteryPosition), bytes: 4)
        strings(facts.siblingNurseries.sorted())
        strings(child.ranking)
    }
}

/// Reads the packed layout of `IntakeRunRows`; bytes that do not parse are a clear error.
struct ByteReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }

    mutating func integer(bytes count: Int) throws -> UInt64 {
        guard bytes.count - index >= count else { throw SchedulerStoreError.internal("a stored intake run record is cut short") }
        var value: UInt64 = 0
        for offset in 0..<count { value = value << 8 | UInt64(bytes[index + offset]) }
        index += count
        return value
    }

    mutating func string() throws -> String {
        let length = Int(try integer(bytes: 2))
        guard bytes.count - index >= length else { throw SchedulerStoreError.internal("a stored intake run record is cut short") }
        defer { index += length }
        return String(decoding: bytes[index..<index + length], as: UTF8.self)
    }

    mutating func strings() throws -> [String] {
        let count = Int(try integer(bytes: 2))
        return try (0..<count).map { _ in try string() }
    }

    mutating func child() throws -> IntakeRunChild {
        let id = try string()
        let flags = try integer(bytes: 1)
        var seat: IntakeResult.Seat?
        if flags & 1 != 0 {
            let offerID = try string()
            let kind = try integer(bytes: 1)
            seat = IntakeResult.Seat(offerID: offerID, kind: kind == 0 ? .open : kind == 1 ? .reservedSOS : .reservedLocal, choice: Int(try integer(bytes: 4)))
        }
        let submission = Int(try integer(bytes: 4)), lottery = Int(try integer(bytes: 4))
        let siblings = Set(try strings())
        let facts = PriorityFacts(
            familyKind: flags & 2 != 0 ? .sos : .local, siblingNurseries: siblings, specialNeeds: flags & 4 != 0, singleParent: flags & 8 != 0,
            parentsWorking: flags & 16 != 0, submissionRank: submission, lotteryPosition: lottery)
        return IntakeRunChild(childID: id, facts: facts, ranking: try strings(), seat: seat)
    }
}

extension Array where Element == IntakeRunRows.Block {
    /// The records of `ids` found in these blocks (ids sorted in byte order), decoding each block
    /// that holds one at most once.
    func children(_ ids: Set<String>) throws -> [IntakeRunChild] {
        let wanted = ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var found: [IntakeRunChild] = []
        for block in self {
            let inBlock = wanted.filter {
                !$0.utf8.lexicographicallyPrecedes(block.firstChild.utf8) && !block.lastChild.utf8.lexicographicallyPrecedes($0.utf8)
            }
            guard !inBlock.isEmpty else { continue }
            let set = Set(inBlock)
            found += try IntakeRunRows.children(block.records).filter { set.contains($0.childID) }
        }
        return found
    }
}

extension IntakeEventRecord {
    /// Stored columns: kind, child, offer, accept.
    var columns: (kind: String, child: String, offer: String?, accept: Bool) {
        switch event {
        case .release(let child): ("release", child, nil, false)
        case .respond(let child, let offer, let accept): ("respond", child, offer, accept)
        case .confirm(let child, let offer): ("confirm", child, offer, false)
        }
    }

    init(kind: String, child: String, offer: String?, accept: Bool, at: Int64) throws {
        let event: IntakeEvent
        switch kind {
        case "release": event = .release(child: child)
        case "respond": event = .respond(child: child, offer: offer ?? "", accept: accept)
        case "confirm": event = .confirm(child: child, offer: offer ?? "")
        default: throw SchedulerStoreError.internal("stored intake event of unknown kind \(kind)")
        }
        self.init(event: event, at: at)
    }
}

extension StoreRules {
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
