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

/// What happens after a round has run: seats free up (a family declines or cancels, more
/// places open), the highest-priority eligible child waiting for that offer is offered the
/// seat with a response deadline; accepting releases the child's lower-ranked seat, which
/// moves on in turn (a cascade); declining or letting the deadline pass moves the seat to the
/// next child. Every move is recorded. Time is whatever clock the caller passes in
/// (milliseconds), so tests drive deadlines.
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
        public var offerID: String
        public var seat: SeatKind
        public var deadline: Int64

        public init(offerID: String, seat: SeatKind, deadline: Int64) {
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
    /// Child -> the waitlist offer they have not answered yet.
    public private(set) var pending: [String: Pending] = [:]
    /// Offer -> children waiting, best priority first.
    public private(set) var waitlists: [String: [String]]
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
        var waitlists: [String: [String]] = [:]
        for offer in allocator.offers { waitlists[offer.id] = result.waitlist(of: offer.id) }
        self.waitlists = waitlists
        // Seats the round left empty (no eligible applicant) are free from the start.
        for offer in allocator.offers {
            let held = result.holders(of: offer.id).compactMap { result.seat(of: $0)?.kind }
            for (kind, places) in [(SeatKind.open, offer.openPlaces), (.reservedSOS, offer.reservedSOS), (.reservedLocal, offer.reservedLocal)] {
                let empty = places - held.filter { $0 == kind }.count
                if empty > 0 { free[offer.id, default: [:]][kind] = empty }
            }
        }
    }

    /// Children holding or offered a seat at `offerID`.
    public func holders(of offerID: String) -> [String] {
        seats.filter { $0.value.offerID == offerID }.map(\.key).sorted() + pending.filter { $0.value.offerID == offerID }.map(\.key).sorted()
    }

    /// A child gives up the seat they hold (the family cancelled); the seat moves on.
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

    /// More places at an offer (a manager opened them): each goes to the waiting children.
    public mutating func addPlaces(offer offerID: String, kind: SeatKind, count: Int, now: Int64) throws(SchedulerError) {
        guard allocator.offer(id: offerID) != nil else { throw SchedulerError(.notFound, "no offer \(offerID) in this round", field: "offer_id") }
        for _ in 0..<count { offerSeat(at: offerID, kind: kind, now: now) }
    }

    /// The family's answer to a waitlist offer. Accepting takes the seat and releases the one
    /// the child held (ranked lower), which moves on; declining moves the seat to the next child.
    public mutating func respond(child: String, offer offerID: String, accept: Bool, now: Int64) throws(SchedulerError) {
        expire(now: now)
        guard let offered = pending[child], offered.offerID == offerID else {
            throw SchedulerError(.failedPrecondition, "child \(child) has no open offer of \(offerID) (it may have expired)", field: "offer_id")
        }
        pending[child] = nil
        waitlists[offerID]?.removeAll { $0 == child }
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
        // The child no longer waits for offers it ranked below this one.
        for lower in ranking[(choice + 1)...] { waitlists[lower]?.removeAll { $0 == child } }
        if let previous {
            moves.append(.released(child: child, offer: previous.offerID, seat: previous.kind))
            offerSeat(at: previous.offerID, kind: previous.kind, now: now)
        }
    }

    /// The child's seat is booked as a placement: final. The child leaves every waitlist.
    public mutating func confirm(child: String) throws(SchedulerError) {
        guard let seat = seats[child] else {
            throw SchedulerError(.failedPrecondition, "child \(child) holds no seat in this round", field: "child_ids")
        }
        guard confirmed.insert(child).inserted else {
            throw SchedulerError(.failedPrecondition, "child \(child)'s place is already confirmed", field: "child_ids")
        }
        for offer in waitlists.keys { waitlists[offer]?.removeAll { $0 == child } }
        moves.append(.confirmed(child: child, offer: seat.offerID))
    }

    /// Offers whose deadline has passed by `now` expire; their seats move on.
    public mutating func expire(now: Int64) {
        while let due = pending.filter({ $0.value.deadline <= now }).min(by: { ($0.value.deadline, $0.key) < ($1.value.deadline, $1.key) }) {
            let (child, offered) = (due.key, due.value)
            pending[child] = nil
            waitlists[offered.offerID]?.removeAll { $0 == child }
            moves.append(.expired(child: child, offer: offered.offerID))
            offerSeat(at: offered.offerID, kind: offered.seat, now: offered.deadline)
        }
    }

    /// A free seat goes to the first child on the waitlist who may hold it and has no other
    /// offer waiting for an answer; if there is none, it stays free.
    mutating func offerSeat(at offerID: String, kind: SeatKind, now: Int64) {
        let list = waitlists[offerID] ?? []
        let next = list.first { child in
            pending[child] == nil && allocator.application(child: child).map { kind.admits($0.familyKind) } == true
        }
        guard let child = next else {
            free[offerID, default: [:]][kind, default: 0] += 1
            moves.append(.leftFree(offer: offerID, seat: kind))
            return
        }
        let deadline = now + responseWindow
        pending[child] = Pending(offerID: offerID, seat: kind, deadline: deadline)
        moves.append(.offered(child: child, offer: offerID, seat: kind, deadline: deadline))
    }

    /// The position (1-based) of a child on an offer's waitlist, if they wait for it.
    public func position(of child: String, on offerID: String) -> Int? {
        waitlists[offerID]?.firstIndex(of: child).map { $0 + 1 }
    }
}

/// What a family or a manager does after a round has run; the waitlist's state is these
/// events replayed, in order, over the round's result (deadlines pass between them).
public enum IntakeEvent: Sendable, Hashable {
    /// The family gives up the seat the child holds (declines the round's place, or cancels).
    case release(child: String)
    /// The family answers a waitlist offer.
    case respond(child: String, offer: String, accept: Bool)
    /// The child's seat was booked as a placement (the family accepted it, or the manager confirmed).
    case confirm(child: String)
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
        case .confirm(let child): try confirm(child: child)
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
