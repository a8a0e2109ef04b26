extension CapacityLedger {
    /// The first session of `first...last` where this group could not take every seat of
    /// `offers` (its offers in a round, those already open and a new one) on top of its
    /// placements, whatever mix of families ends up in the open seats; nil if they all fit.
    /// Checking the two extremes suffices: the ledger's limits are linear in the numbers of SOS
    /// and local children.
    public func intakeViolation(for offers: [IntakeOffer], first: CivilDate, last: CivilDate) -> Conflict? {
        for openSeatsTo in [FamilyKind.sos, .local] {
            var ledger = self
            for offer in offers {
                let sos = offer.reservedSOS + (openSeatsTo == .sos ? offer.openPlaces : 0)
                let local = offer.reservedLocal + (openSeatsTo == .local ? offer.openPlaces : 0)
                for _ in 0..<sos { ledger.add(PlacementSpan(kind: .sos, first: first, last: last, pattern: offer.pattern)) }
                for _ in 0..<local { ledger.add(PlacementSpan(kind: .local, first: first, last: last, pattern: offer.pattern)) }
            }
            if let violation = ledger.firstViolation(from: first), violation.date <= last { return violation }
        }
        return nil
    }
}

/// What happens after a round has run: seats free up (a family gives up a place), the
/// highest-priority child waiting for that offer who may hold that kind of seat is offered it
/// with a response deadline; accepting releases the child's lower-ranked seat, which moves on
/// in turn (a cascade); declining or letting the deadline pass moves the seat to the next
/// child. A child may hold several unanswered offers at once (each freed seat goes to the best
/// child waiting for it, whatever else that child has been offered); accepting one declines
/// those they ranked lower. Every move is recorded. Time is whatever clock the caller passes
/// in (milliseconds), so tests drive deadlines.
public struct IntakeWaitlist: Sendable {
    public enum Move: Sendable, Hashable {
        case offered(child: String, offer: String, seat: SeatKind, deadline: Int64)
        case accepted(child: String, offer: String)
        case declined(child: String, offer: String)
        case expired(child: String, offer: String)
        /// A child gave up a seat (cancelled, or took a better one).
        case released(child: String, offer: String, seat: SeatKind)
        /// A freed seat no waiting child may take stays free.
        case leftFree(offer: String, seat: SeatKind)
        /// The child's seat became a placement; the child no longer waits for anything.
        case confirmed(child: String, offer: String)
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

    let allocator: IntakeAllocator
    let initial: IntakeResult
    /// The allocation this state started from (to replay events over).
    public var startedFrom: (allocator: IntakeAllocator, result: IntakeResult) { (allocator, initial) }
    /// How long a family has to answer a waitlist offer.
    public let responseWindow: Int64
    /// Child -> the seat they hold.
    public private(set) var seats: [String: IntakeResult.Seat]
    /// Offers made from the waitlists and not answered yet, oldest first.
    public private(set) var pending: [Pending] = []
    /// Offer -> children waiting, best priority first (children who left every list, by
    /// confirming, are dropped when read).
    private var lists: [String: [String]]
    /// Children who left every waitlist (their place is confirmed).
    private var left: Set<String> = []
    /// Offer -> seats free and not offered to anyone.
    public private(set) var free: [String: [SeatKind: Int]] = [:]
    public private(set) var moves: [Move] = []
    /// Children whose seat is booked as a placement.
    public private(set) var confirmed: Set<String> = []

    public init(allocator: IntakeAllocator, result: IntakeResult, responseWindow: Int64) {
        self.allocator = allocator
        self.initial = result
        self.responseWindow = responseWindow
        seats = result.seats
        var lists: [String: [String]] = [:]
        for offer in allocator.offers { lists[offer.id] = result.waitlist(of: offer.id) }
        self.lists = lists
        // Seats the round left empty (no eligible applicant) are free from the start.
        for offer in allocator.offers {
            let held = result.holders(of: offer.id).compactMap { result.seat(of: $0)?.kind }
            for (kind, places) in [(SeatKind.open, offer.openPlaces), (.reservedSOS, offer.reservedSOS), (.reservedLocal, offer.reservedLocal)] {
                let empty = places - held.filter { $0 == kind }.count
                if empty > 0 { free[offer.id, default: [:]][kind] = empty }
            }
        }
    }

    /// Offer -> children still waiting, best priority first.
    public var waitlists: [String: [String]] {
        lists.mapValues { $0.filter { !left.contains($0) } }
    }

    /// The unanswered offers made to a child.
    public func pending(of child: String) -> [Pending] { pending.filter { $0.childID == child } }

    /// A child gives up the seat they hold (the family cancelled); the seat moves on. The child
    /// keeps waiting for the offers they ranked higher.
    public mutating func release(child: String, now: Int64) throws(SchedulerError) {
        guard !confirmed.contains(child) else {
            throw SchedulerError(.failedPrecondition, "child \(child)'s place is booked as a placement: cancel or end the placement instead", field: "child_id")
        }
        guard let seat = seats.removeValue(forKey: child) else {
            throw SchedulerError(.failedPrecondition, "child \(child) holds no seat in this round", field: "child_id")
        }
        moves.append(.released(child: child, offer: seat.offerID, seat: seat.kind))
        offerSeat(at: seat.offerID, kind: seat.kind, now: now)
    }

    /// The family's answer to a waitlist offer. Accepting takes the seat, releases the one the
    /// child held (ranked lower), which moves on, and declines their other offers ranked lower;
    /// declining moves the seat to the next child.
    public mutating func respond(child: String, offer offerID: String, accept: Bool, now: Int64) throws(SchedulerError) {
        expire(now: now)
        guard let index = pending.firstIndex(where: { $0.childID == child && $0.offerID == offerID }) else {
            throw SchedulerError(.failedPrecondition, "child \(child) has no open offer of \(offerID) (it may have expired)", field: "offer_id")
        }
        let offered = pending.remove(at: index)
        lists[offerID]?.removeAll { $0 == child }
        guard accept else {
            moves.append(.declined(child: child, offer: offerID))
            offerSeat(at: offerID, kind: offered.seat, now: now)
            return
        }
        moves.append(.accepted(child: child, offer: offerID))
        let ranking = allocator.application(child: child)?.ranking ?? []
        let choice = ranking.firstIndex(of: offerID) ?? 0
        let previous = seats[child]
        seats[child] = IntakeResult.Seat(offerID: offerID, kind: offered.seat, choice: choice)
        // The child no longer waits for offers it ranked below this one, nor holds offers of them.
        let lower = Set(ranking[(choice + 1)...])
        for offer in lower { lists[offer]?.removeAll { $0 == child } }
        for moot in pending.filter({ $0.childID == child && lower.contains($0.offerID) }) {
            pending.removeAll { $0 == moot }
            moves.append(.declined(child: child, offer: moot.offerID))
            offerSeat(at: moot.offerID, kind: moot.seat, now: now)
        }
        if let previous {
            moves.append(.released(child: child, offer: previous.offerID, seat: previous.kind))
            offerSeat(at: previous.offerID, kind: previous.kind, now: now)
        }
    }

    /// The child's seat at `offerID` is booked as a placement: final. The child leaves every
    /// waitlist and declines any offer not yet answered.
    public mutating func confirm(child: String, offer offerID: String, now: Int64) throws(SchedulerError) {
        guard let seat = seats[child] else {
            throw SchedulerError(.failedPrecondition, "child \(child) holds no seat in this round", field: "child_ids")
        }
        guard seat.offerID == offerID else {
            throw SchedulerError(.failedPrecondition, "child \(child) now holds a seat at \(seat.offerID), not \(offerID)", field: "child_ids")
        }
        guard confirmed.insert(child).inserted else {
            throw SchedulerError(.failedPrecondition, "child \(child)'s place is already confirmed", field: "child_ids")
        }
        left.insert(child)
        moves.append(.confirmed(child: child, offer: offerID))
        for moot in pending(of: child) {
            pending.removeAll { $0 == moot }
            moves.append(.declined(child: child, offer: moot.offerID))
            offerSeat(at: moot.offerID, kind: moot.seat, now: now)
        }
    }

    /// Offers whose deadline has passed by `now` expire; their seats move on.
    public mutating func expire(now: Int64) {
        while let due = pending.filter({ $0.deadline <= now }).min(by: { ($0.deadline, $0.childID, $0.offerID) < ($1.deadline, $1.childID, $1.offerID) }) {
            pending.removeAll { $0 == due }
            lists[due.offerID]?.removeAll { $0 == due.childID }
            moves.append(.expired(child: due.childID, offer: due.offerID))
            offerSeat(at: due.offerID, kind: due.seat, now: due.deadline)
        }
    }

    /// A free seat goes to the first child on the waitlist who may hold it and has not been
    /// offered a seat of this offer already; if there is none, it stays free.
    mutating func offerSeat(at offerID: String, kind: SeatKind, now: Int64) {
        let list = lists[offerID] ?? []
        let next = list.first { child in
            !left.contains(child) && !pending.contains { $0.childID == child && $0.offerID == offerID }
                && allocator.application(child: child).map { kind.admits($0.familyKind) } == true
        }
        guard let child = next else {
            free[offerID, default: [:]][kind, default: 0] += 1
            moves.append(.leftFree(offer: offerID, seat: kind))
            return
        }
        let deadline = now + responseWindow
        pending.append(Pending(childID: child, offerID: offerID, seat: kind, deadline: deadline))
        moves.append(.offered(child: child, offer: offerID, seat: kind, deadline: deadline))
    }

    /// The position (1-based) of a child on an offer's waitlist, if they wait for it.
    public func position(of child: String, on offerID: String) -> Int? {
        guard !left.contains(child) else { return nil }
        return lists[offerID]?.filter { !left.contains($0) }.firstIndex(of: child).map { $0 + 1 }
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
    public mutating func apply(_ event: IntakeEvent, at: Int64) throws(SchedulerError) {
        expire(now: at)
        switch event {
        case .release(let child): try release(child: child, now: at)
        case .respond(let child, let offer, let accept): try respond(child: child, offer: offer, accept: accept, now: at)
        case .confirm(let child, let offer): try confirm(child: child, offer: offer, now: at)
        }
    }

    /// The state after `events` (each with its instant), as of `now`.
    public static func replay(
        allocator: IntakeAllocator, result: IntakeResult, events: [(IntakeEvent, at: Int64)], now: Int64, responseWindow: Int64 = defaultResponseWindow
    ) throws(SchedulerError) -> IntakeWaitlist {
        var waitlist = IntakeWaitlist(allocator: allocator, result: result, responseWindow: responseWindow)
        for (event, at) in events { try waitlist.apply(event, at: at) }
        waitlist.expire(now: now)
        return waitlist
    }
}
