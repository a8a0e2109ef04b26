extension CapacityLedger {
    /// The first session of `first...last` where this group could not take every seat of
    /// `offers` (its offers in a round, those already open and a new one) on top of its
    /// placements, whatever mix of families ends up in the open seats; nil if they all fit.
    public func intakeViolation(for offers: [IntakeOffer], first: CivilDate, last: CivilDate) -> Conflict? {
        intakeViolation(for: offers.map { (offer: $0, first: first, last: last) })
    }

    /// The same for offers of several rounds, each over its own term. Checking the two
    /// extremes suffices (every open place to an SOS child, or every one to a local child): the
    /// ledger's limits are linear in the numbers of SOS and local children.
    public func intakeViolation(for offers: [(offer: IntakeOffer, first: CivilDate, last: CivilDate)]) -> Conflict? {
        guard let from = offers.map(\.first).min(), let to = offers.map(\.last).max() else { return nil }
        for openSeatsTo in [FamilyKind.sos, .local] {
            var ledger = self
            for (offer, first, last) in offers {
                let sos = offer.reservedSOS + (openSeatsTo == .sos ? offer.openPlaces : 0)
                let local = offer.reservedLocal + (openSeatsTo == .local ? offer.openPlaces : 0)
                ledger.add(PlacementSpan(kind: .sos, first: first, last: last, pattern: offer.pattern), count: sos)
                ledger.add(PlacementSpan(kind: .local, first: first, last: last, pattern: offer.pattern), count: local)
            }
            if let violation = ledger.firstViolation(from: from), violation.date <= to { return violation }
        }
        return nil
    }
}

/// What happens after a round has run: places free up (a family gives up a place, declines or
/// lets a waitlist offer lapse), and each freed place goes to the highest-priority child waiting
/// for that offer whom the offer's counts allow (`IntakeOffer.fits`: holders, children with an
/// unanswered offer of it, and the new child together), with a response deadline. Holders are
/// re-labelled between reserved and open places as needed; a place no waiting child may take
/// stays free until one may. Accepting releases the child's lower-ranked place (a cascade) and
/// declines their unanswered offers ranked lower; declining or letting the deadline pass moves
/// the place on. A child may hold several unanswered offers at once. Every move is recorded.
///
/// The state reads the run offer by offer and child by child from an `IntakeRunSource`, so only
/// what the events touch is loaded; a method that touches rows the source lacks throws
/// `IntakeRunNeeds`. Time is whatever clock the caller passes in (milliseconds).
public struct IntakeWaitlist: Sendable {
    public enum Move: Sendable, Hashable {
        case offered(child: String, offer: String, seat: SeatKind, deadline: Int64)
        case accepted(child: String, offer: String)
        case declined(child: String, offer: String)
        case expired(child: String, offer: String)
        /// A child gave up a place (cancelled, or took a better one).
        case released(child: String, offer: String, seat: SeatKind)
        /// A freed place no waiting child may take stays free.
        case leftFree(offer: String, seat: SeatKind)
        /// The child's place became a placement; the child no longer waits for anything.
        case confirmed(child: String, offer: String)

        /// The child the move is about (nil for a place left free).
        public var childID: String? {
            switch self {
            case .offered(let child, _, _, _), .accepted(let child, _), .declined(let child, _), .expired(let child, _), .released(let child, _, _),
                .confirmed(let child, _):
                child
            case .leftFree: nil
            }
        }
    }

    public struct Pending: Sendable, Hashable {
        public var childID: String
        public var offerID: String
        public var seat: SeatKind
        public var deadline: Int64

        public init(childID: String, offerID: String, seat: SeatKind, deadline: Int64) {
            self.childID = childID
            self.offerID = offerID
            self.seat = seat
            self.deadline = deadline
        }
    }

    /// Where the run is read from; may be replaced by a source holding more rows of the same run.
    public var source: any IntakeRunSource
    /// How long a family has to answer a waitlist offer.
    public let responseWindow: Int64
    /// Offers touched since the run, as they are now (a child stays on a waitlist while an
    /// offer of its place is unanswered).
    private var live: [String: IntakeRunOffer] = [:]
    /// Children whose place changed since the run: what they hold now (nil: nothing).
    private var changedSeats: [String: IntakeResult.Seat?] = [:]
    /// Offers made from the waitlists and not answered yet, oldest first.
    public private(set) var pending: [Pending] = []
    public private(set) var moves: [Move] = []
    /// Children whose place is booked as a placement.
    public private(set) var confirmed: Set<String> = []

    public init(source: any IntakeRunSource, responseWindow: Int64) {
        self.source = source
        self.responseWindow = responseWindow
    }

    public init(allocator: IntakeAllocator, result: IntakeResult, responseWindow: Int64) {
        self.init(source: AllocatedIntakeRun(allocator: allocator, result: result), responseWindow: responseWindow)
    }

    // MARK: Reading the state

    /// The place `child` holds now, if any.
    public func seat(of child: String) throws(IntakeRunNeeds) -> IntakeResult.Seat? {
        if let changed = changedSeats[child] { return changed }
        return try source.runChild(child)?.seat
    }

    /// The children whose place changed since the run, with what they hold now.
    public var changedSinceRun: [String: IntakeResult.Seat?] { changedSeats }

    /// The offers whose holders or waitlist changed since the run.
    public var touchedOffers: Set<String> { Set(live.keys) }

    /// The children waiting for `offerID` now, best first (those with an unanswered offer of it too).
    public func waitlist(of offerID: String) throws(IntakeRunNeeds) -> [String] {
        try offerNow(offerID)?.waiting.map(\.childID) ?? []
    }

    /// Places of `offerID` neither held nor offered.
    public func freePlaces(at offerID: String) throws(IntakeRunNeeds) -> Int {
        guard let offer = try offerNow(offerID) else { return 0 }
        return offer.offer.places - offer.holders.count - pending.filter { $0.offerID == offerID }.count
    }

    /// The unanswered offers made to a child.
    public func pending(of child: String) -> [Pending] { pending.filter { $0.childID == child } }

    /// The position (1-based) of a child on an offer's waitlist, if they wait for it.
    public func position(of child: String, on offerID: String) throws(IntakeRunNeeds) -> Int? {
        try offerNow(offerID)?.waiting.firstIndex { $0.childID == child }.map { $0 + 1 }
    }

    /// An offer as the moves have left it: its holders and the children still waiting for it.
    public func offerNow(_ id: String) throws(IntakeRunNeeds) -> IntakeRunOffer? {
        if let offer = live[id] { return offer }
        return try source.runOffer(id)
    }

    // MARK: Events

    /// A child gives up the place they hold (the family cancelled); the place moves on. The
    /// child keeps waiting for the offers they ranked higher.
    public mutating func release(child: String, now: Int64) throws {
        guard !confirmed.contains(child) else {
            throw SchedulerError(.failedPrecondition, "child \(child)'s place is booked as a placement: cancel or end the placement instead", field: "child_id")
        }
        guard let seat = try seat(of: child) else {
            throw SchedulerError(.failedPrecondition, "child \(child) holds no place in this round", field: "child_id")
        }
        try update(seat.offerID) { $0.holders.removeAll { $0.childID == child } }
        changedSeats[child] = .some(nil)
        moves.append(.released(child: child, offer: seat.offerID, seat: seat.kind))
        try relabel(seat.offerID)
        try fill(seat.offerID, now: now, freed: true)
    }

    /// The family's answer to a waitlist offer. Accepting takes the place, releases the one the
    /// child held (ranked lower), which moves on, and declines their other offers ranked lower;
    /// declining moves the place to the next child.
    public mutating func respond(child: String, offer offerID: String, accept: Bool, now: Int64) throws {
        try expire(now: now)
        guard let index = pending.firstIndex(where: { $0.childID == child && $0.offerID == offerID }) else {
            throw SchedulerError(.failedPrecondition, "child \(child) has no open offer of \(offerID) (it may have expired)", field: "offer_id")
        }
        pending.remove(at: index)
        var entry: IntakeRunEntry?
        try update(offerID) { offer in
            entry = offer.waiting.first { $0.childID == child }
            offer.waiting.removeAll { $0.childID == child }
        }
        guard accept, let entry else {
            moves.append(.declined(child: child, offer: offerID))
            try fill(offerID, now: now, freed: true)
            return
        }
        moves.append(.accepted(child: child, offer: offerID))
        let previous = try seat(of: child)
        try update(offerID) { offer in
            offer.holders.append(entry)
            offer.holders.sort { $0.key > $1.key }
        }
        try relabel(offerID)
        // The child no longer waits for offers ranked below this one (they waited for those
        // ranked above the place they held), nor holds offers of them.
        let ranking = try source.runChild(child)?.ranking ?? []
        let lower = ranking.dropFirst(entry.choice + 1)
        let waitedUpTo = min(previous?.choice ?? ranking.count, ranking.count)
        for other in ranking[min(entry.choice + 1, waitedUpTo)..<waitedUpTo] {
            try update(other) { $0.waiting.removeAll { $0.childID == child } }
        }
        for moot in pending.filter({ $0.childID == child && lower.contains($0.offerID) }) {
            pending.removeAll { $0 == moot }
            moves.append(.declined(child: child, offer: moot.offerID))
            try fill(moot.offerID, now: now, freed: true)
        }
        if let previous {
            try update(previous.offerID) { offer in offer.holders.removeAll { $0.childID == child } }
            moves.append(.released(child: child, offer: previous.offerID, seat: previous.kind))
            try relabel(previous.offerID)
            try fill(previous.offerID, now: now, freed: true)
        }
    }

    /// The child's place at `offerID` is booked as a placement: final. The child leaves every
    /// waitlist and declines any offer not yet answered.
    public mutating func confirm(child: String, offer offerID: String, now: Int64) throws {
        guard let seat = try seat(of: child) else {
            throw SchedulerError(.failedPrecondition, "child \(child) holds no place in this round", field: "child_ids")
        }
        guard seat.offerID == offerID else {
            throw SchedulerError(.failedPrecondition, "child \(child) now holds a place at \(seat.offerID), not \(offerID)", field: "child_ids")
        }
        guard confirmed.insert(child).inserted else {
            throw SchedulerError(.failedPrecondition, "child \(child)'s place is already confirmed", field: "child_ids")
        }
        moves.append(.confirmed(child: child, offer: offerID))
        // They waited only for offers ranked above their place.
        let ranking = try source.runChild(child)?.ranking ?? []
        for other in ranking.prefix(seat.choice) {
            try update(other) { $0.waiting.removeAll { $0.childID == child } }
        }
        for moot in pending(of: child) {
            pending.removeAll { $0 == moot }
            moves.append(.declined(child: child, offer: moot.offerID))
            try fill(moot.offerID, now: now, freed: true)
        }
    }

    /// Offers whose deadline has passed by `now` expire; their places move on.
    public mutating func expire(now: Int64) throws {
        while let due = pending.filter({ $0.deadline <= now }).min(by: { ($0.deadline, $0.childID, $0.offerID) < ($1.deadline, $1.childID, $1.offerID) }) {
            pending.removeAll { $0 == due }
            try update(due.offerID) { $0.waiting.removeAll { $0.childID == due.childID } }
            moves.append(.expired(child: due.childID, offer: due.offerID))
            try fill(due.offerID, now: due.deadline, freed: true)
        }
    }

    // MARK: Moving places on

    /// Changes a live offer (loading it from the run first).
    private mutating func update(_ offerID: String, _ change: (inout IntakeRunOffer) -> Void) throws(IntakeRunNeeds) {
        // Taken out of the dictionary while it changes, so its arrays change in place.
        var taken = live.removeValue(forKey: offerID)
        if taken == nil { taken = try source.runOffer(offerID) }
        guard var offer = taken else { return }
        taken = nil  // the only reference left is `offer`'s
        change(&offer)
        live[offerID] = offer
    }

    /// Holders' labels follow the counts: record every holder's place as it is labelled now.
    private mutating func relabel(_ offerID: String) throws {
        guard let offer = try offerNow(offerID) else { return }
        for (entry, kind) in zip(offer.holders, offer.heldLabels) {
            changedSeats[entry.childID] = .some(IntakeResult.Seat(offerID: offerID, kind: kind, choice: entry.choice))
        }
    }

    /// Offers each free place of `offerID` to the best waiting child the counts allow, as long
    /// as there is one; `freed`: a place was just given up (recorded as left free if no one may
    /// take it).
    mutating func fill(_ offerID: String, now: Int64, freed: Bool) throws {
        guard let offer = try offerNow(offerID) else { return }
        var offered = pending.filter { $0.offerID == offerID }
        // Holders and children with an unanswered offer of it, by family kind.
        func taken() -> (sos: Int, local: Int) {
            let kinds = offer.holders.map(\.familyKind) + offered.compactMap { pending in offer.waiting.first { $0.childID == pending.childID }?.familyKind }
            let sos = kinds.filter { $0 == .sos }.count
            return (sos, kinds.count - sos)
        }
        var madeOne = false
        while offer.offer.places - offer.holders.count - offered.count > 0 {
            let (sos, local) = taken()
            let next = offer.waiting.first { entry in
                !offered.contains { $0.childID == entry.childID }
                    && offer.offer.fits(sos: sos + (entry.familyKind == .sos ? 1 : 0), local: local + (entry.familyKind == .local ? 1 : 0))
            }
            guard let next else { break }
            let label = Self.label(for: next.familyKind, sos: sos, local: local, offer: offer.offer)
            let made = Pending(childID: next.childID, offerID: offerID, seat: label, deadline: now + responseWindow)
            pending.append(made)
            offered.append(made)
            moves.append(.offered(child: next.childID, offer: offerID, seat: label, deadline: made.deadline))
            madeOne = true
        }
        if freed && !madeOne {
            let (sos, local) = taken()
            let label: SeatKind = sos < offer.offer.reservedSOS ? .reservedSOS : (local < offer.offer.reservedLocal ? .reservedLocal : .open)
            moves.append(.leftFree(offer: offerID, seat: label))
        }
    }

    /// The label of a place a child of `kind` takes next to `sos` and `local` others.
    static func label(for kind: FamilyKind, sos: Int, local: Int, offer: IntakeOffer) -> SeatKind {
        switch kind {
        case .sos: sos < offer.reservedSOS ? .reservedSOS : .open
        case .local: local < offer.reservedLocal ? .reservedLocal : .open
        }
    }
}

/// What a family or a manager does after a round has run; the waitlist's state is these
/// events replayed, in order, over the round's result (deadlines pass between them).
public enum IntakeEvent: Sendable, Hashable {
    /// The family gives up the seat the child holds (declines the round's place, or cancels).
    case release(child: String)
    /// The family answers a waitlist offer.
    case respond(child: String, offer: String, accept: Bool)
    /// The child's seat at the offer was booked as a placement (the family accepted it, or the manager confirmed).
    case confirm(child: String, offer: String)
}

extension IntakeWaitlist {
    /// How long a family has to answer a waitlist offer: seven days.
    public static let defaultResponseWindow: Int64 = 7 * 86_400_000

    /// Applies one event at instant `at` (offers past their deadline lapse first).
    public mutating func apply(_ event: IntakeEvent, at: Int64) throws {
        try expire(now: at)
        switch event {
        case .release(let child): try release(child: child, now: at)
        case .respond(let child, let offer, let accept): try respond(child: child, offer: offer, accept: accept, now: at)
        case .confirm(let child, let offer): try confirm(child: child, offer: offer, now: at)
        }
    }

    /// The state after `events` (each with its instant), as of `now`. Throws `IntakeRunNeeds`
    /// when the source lacks rows the events touch, or the `SchedulerError` of an event the
    /// state refuses.
    public static func replay(
        source: any IntakeRunSource, events: [(IntakeEvent, at: Int64)], now: Int64, responseWindow: Int64 = defaultResponseWindow
    ) throws -> IntakeWaitlist {
        var waitlist = IntakeWaitlist(source: source, responseWindow: responseWindow)
        for (event, at) in events { try waitlist.apply(event, at: at) }
        try waitlist.expire(now: now)
        return waitlist
    }

    public static func replay(
        allocator: IntakeAllocator, result: IntakeResult, events: [(IntakeEvent, at: Int64)], now: Int64, responseWindow: Int64 = defaultResponseWindow
    ) throws -> IntakeWaitlist {
        try replay(source: AllocatedIntakeRun(allocator: allocator, result: result), events: events, now: now, responseWindow: responseWindow)
    }
}
