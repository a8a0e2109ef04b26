/// Intake rounds (domain.md, "Intake rounds"): families apply for a term's places, then one
/// run allocates every application at once by child-proposing deferred acceptance with
/// reserves, deterministic for a given round and seed.
///
/// **Reserves are counts, not chairs.** An offer with `places` P, `reservedSOS` rs and
/// `reservedLocal` rl may hold any set of children with at most P in all, at most P - rl from
/// SOS families and at most P - rs from local families: the capacity ledger's own limits, so
/// results book without breaking it. A reserved place is a floor for its kind of family, not a
/// chair: a child *could take* a holder's place whenever swapping the two keeps the set within
/// those counts.
///
/// **Choice at an offer** (which children it holds among those proposing to it): the best rs
/// SOS children (or fewer, if fewer propose) and the best rl local children take the reserved
/// places, then the best of everyone left take the rest; the same as admitting children in
/// priority order while the three counts allow. Seat kinds (`SeatKind`) only label which
/// holders count towards a reserve: the best holders of each kind, up to its reserve.
public struct IntakeOffer: Sendable, Hashable {
    public var id: String
    public var groupID: String
    /// The group's nursery, for the sibling criterion.
    public var nurseryID: String
    public var pattern: WeeklyPattern
    public var places: Int
    public var reservedSOS: Int
    public var reservedLocal: Int

    public init(id: String, groupID: String, nurseryID: String, pattern: WeeklyPattern, places: Int, reservedSOS: Int = 0, reservedLocal: Int = 0) {
        self.id = id
        self.groupID = groupID
        self.nurseryID = nurseryID
        self.pattern = pattern
        self.places = places
        self.reservedSOS = reservedSOS
        self.reservedLocal = reservedLocal
    }

    public var openPlaces: Int { places - reservedSOS - reservedLocal }
    /// At most this many holders from SOS families (the places local families do not keep).
    public var sosLimit: Int { places - reservedLocal }
    /// At most this many holders from local families.
    public var localLimit: Int { places - reservedSOS }

    /// Whether `sos` children of SOS families and `local` of local families fit the counts.
    public func fits(sos: Int, local: Int) -> Bool {
        sos + local <= places && sos <= sosLimit && local <= localLimit
    }

    /// Seat labels for holders given best first: each kind's best holders, up to its reserve,
    /// hold its reserved places; everyone else an open one.
    public func seatLabels(_ holdersBestFirst: [FamilyKind]) -> [SeatKind] {
        var sos = 0, local = 0
        return holdersBestFirst.map { kind in
            switch kind {
            case .sos:
                sos += 1
                return sos <= reservedSOS ? .reservedSOS : .open
            case .local:
                local += 1
                return local <= reservedLocal ? .reservedLocal : .open
            }
        }
    }

    public func validate() throws(SchedulerError) {
        guard places > 0 else { throw SchedulerError(.invalidArgument, "an offer needs at least one place", field: "offer.places") }
        guard reservedSOS >= 0, reservedLocal >= 0, reservedSOS + reservedLocal <= places else {
            throw SchedulerError(
                .invalidArgument, "reserved places (\(reservedSOS) SOS + \(reservedLocal) local) exceed the offer's \(places) places",
                field: "offer.reserved_sos")
        }
    }
}

/// One child's application: the offers the family would accept, best first.
public struct IntakeApplication: Sendable, Hashable {
    public var childID: String
    public var familyKind: FamilyKind
    /// Nurseries where a sibling already holds a place (or an accepted offer).
    public var siblingNurseries: Set<String>
    public var specialNeeds: Bool
    public var singleParent: Bool
    public var parentsWorking: Bool
    /// Submission time (milliseconds since 1970); earlier ranks higher.
    public var submittedAt: Int64
    /// Offer ids, best first, without repeats.
    public var ranking: [String]

    public init(
        childID: String, familyKind: FamilyKind, siblingNurseries: Set<String> = [], specialNeeds: Bool = false, singleParent: Bool = false,
        parentsWorking: Bool = false, submittedAt: Int64, ranking: [String]
    ) {
        self.childID = childID
        self.familyKind = familyKind
        self.siblingNurseries = siblingNurseries
        self.specialNeeds = specialNeeds
        self.singleParent = singleParent
        self.parentsWorking = parentsWorking
        self.submittedAt = submittedAt
        self.ranking = ranking
    }
}

/// The criteria that order children for a place, compared in a round's order (lexicographic).
/// Reserves are not a criterion: an offer's counts handle them.
public enum PriorityCriterion: String, Sendable, Hashable, CaseIterable, Codable {
    /// A sibling already placed at the offer's nursery.
    case sibling
    case specialNeeds = "special_needs"
    case singleParent = "single_parent"
    case parentsWorking = "parents_working"
    /// Earlier submission first.
    case earlierApplication = "earlier_application"
    /// A number drawn from the round's seed: the last tie-break, the same on every re-run.
    case lottery

    /// domain.md's default order.
    public static let defaultOrder: [PriorityCriterion] = [
        .sibling, .specialNeeds, .singleParent, .parentsWorking, .earlierApplication, .lottery,
    ]

    /// How a family is told this criterion decided.
    public var reason: String {
        switch self {
        case .sibling: "a sibling already placed at that nursery"
        case .specialNeeds: "special needs"
        case .singleParent: "a single-parent household"
        case .parentsWorking: "parents working or in training"
        case .earlierApplication: "an earlier application"
        case .lottery: "the lottery"
        }
    }

    /// A round's order must let every criterion decide something: no repeats, and nothing after
    /// the lottery (it breaks every tie, so criteria after it never decide).
    public static func validate(_ order: [PriorityCriterion], field: String) throws(SchedulerError) {
        var seen = Set<PriorityCriterion>()
        for (index, criterion) in order.enumerated() {
            guard seen.insert(criterion).inserted else {
                throw SchedulerError(.invalidArgument, "priority criterion \(criterion.rawValue) appears twice", field: "\(field)[\(index)]")
            }
        }
        if let lottery = order.firstIndex(of: .lottery), lottery < order.count - 1 {
            let dead = order[(lottery + 1)...].map(\.rawValue).joined(separator: ", ")
            throw SchedulerError(
                .invalidArgument, "the lottery breaks every tie, so \(dead) after it would never decide; put the lottery last",
                field: "\(field)[\(lottery + 1)]")
        }
    }
}

/// Which kind of seat a child holds at an offer.
public enum SeatKind: String, Sendable, Hashable, Codable {
    case open
    case reservedSOS = "reserved_sos"
    case reservedLocal = "reserved_local"

}

/// A round's allocation: who holds which offer, and everyone's waitlist positions. Kept as
/// numbers (children in id order, offers in the round's order); look children and offers up
/// by id.
public struct IntakeResult: Sendable, Hashable {
    public struct Seat: Sendable, Hashable {
        public var offerID: String
        public var kind: SeatKind
        /// The child's rank in its own list (0: first choice).
        public var choice: Int

        public init(offerID: String, kind: SeatKind, choice: Int) {
            self.offerID = offerID
            self.kind = kind
            self.choice = choice
        }
    }

    /// Every applicant, in id order.
    public let childIDs: [String]
    /// The round's offers, in its order.
    public let offerIDs: [String]
    /// Per child: the offer number held (-1: none), the seat kind and the choice rank.
    let seatOffer: [Int32]
    let seatKind: [SeatKind]
    let seatChoice: [Int32]
    /// Per offer: the children holding it, and those waiting for it, best priority first.
    let holderNumbers: [[Int32]]
    let waitlistNumbers: [[Int32]]

    func childNumber(_ childID: String) -> Int? { childIDs.indexSortedByUTF8(of: childID) }

    /// The seat `childID` holds, if any.
    public func seat(of childID: String) -> Seat? {
        guard let child = childNumber(childID), seatOffer[child] >= 0 else { return nil }
        return Seat(offerID: offerIDs[Int(seatOffer[child])], kind: seatKind[child], choice: Int(seatChoice[child]))
    }

    /// The children holding `offerID`, best priority first.
    public func holders(of offerID: String) -> [String] {
        offerIDs.firstIndex(of: offerID).map { holderNumbers[$0].map { childIDs[Int($0)] } } ?? []
    }

    /// The children waiting for `offerID` (each ranked it above their result), best priority first.
    public func waitlist(of offerID: String) -> [String] {
        offerIDs.firstIndex(of: offerID).map { waitlistNumbers[$0].map { childIDs[Int($0)] } } ?? []
    }

    /// How many children hold a seat.
    public var placedCount: Int { seatOffer.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    /// Every seat held, by child id (builds a dictionary: for reports, not hot paths).
    public var seats: [String: Seat] {
        var seats: [String: Seat] = [:]
        for child in childIDs.indices where seatOffer[child] >= 0 {
            seats[childIDs[child]] = Seat(offerID: offerIDs[Int(seatOffer[child])], kind: seatKind[child], choice: Int(seatChoice[child]))
        }
        return seats
    }
}

/// A round as the store keeps it: its site, the term its places are for, the deadline for
/// applications, the seed of its lottery and its priority order.
public struct IntakeRoundInfo: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Offers may open and applications come in (until the deadline).
        case open
        /// The round has run: its results are final.
        case allocated
    }

    public var id: String
    public var siteID: String
    public var name: String
    /// The term the places are for.
    public var first: CivilDate
    public var last: CivilDate
    /// Applications are taken until this instant (milliseconds since 1970).
    public var deadline: Int64
    public var seed: UInt64
    public var order: [PriorityCriterion]
    public var state: State
    /// Bumped by every change to the round's offers or applications, so a run can tell its
    /// inputs did not change before its results were stored.
    public var inputsVersion: Int64

    public init(
        id: String, siteID: String, name: String, first: CivilDate, last: CivilDate, deadline: Int64, seed: UInt64,
        order: [PriorityCriterion] = PriorityCriterion.defaultOrder, state: State = .open, inputsVersion: Int64 = 0
    ) {
        self.id = id
        self.siteID = siteID
        self.name = name
        self.first = first
        self.last = last
        self.deadline = deadline
        self.seed = seed
        self.order = order
        self.state = state
        self.inputsVersion = inputsVersion
    }

    public func validate() throws(SchedulerError) {
        guard !id.isEmpty else { throw SchedulerError(.invalidArgument, "a round needs an id", field: "round.id") }
        guard !siteID.isEmpty else { throw SchedulerError(.invalidArgument, "a round needs a site", field: "round.site_id") }
        guard first <= last else { throw SchedulerError(.invalidArgument, "the term ends (\(last)) before it starts (\(first))", field: "round.term_last") }
        try PriorityCriterion.validate(order, field: "round.priority_order")
    }

    /// The order as stored: criteria names joined by commas.
    public var orderText: String { order.map(\.rawValue).joined(separator: ",") }

    /// An order as a request gives it: known criteria only, each able to decide. Reserves are
    /// refused as a criterion: they are counts an offer keeps (`reserved_sos`, `reserved_local`).
    public static func order(parsing names: [String], field: String = "round.priority_order") throws(SchedulerError) -> [PriorityCriterion] {
        var order: [PriorityCriterion] = []
        for (index, name) in names.enumerated() {
            if name == "reserved_place" {
                throw SchedulerError(
                    .invalidArgument,
                    "reserved_place is not a priority criterion: reserved places are counts each offer keeps (reserved_sos, reserved_local); drop it from the order",
                    field: "\(field)[\(index)]")
            }
            guard let criterion = PriorityCriterion(rawValue: name) else {
                throw SchedulerError(
                    .invalidArgument, "unknown priority criterion \(name); use \(PriorityCriterion.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "\(field)[\(index)]")
            }
            order.append(criterion)
        }
        try PriorityCriterion.validate(order, field: field)
        return order
    }

    /// The order as a store keeps it (names joined by commas). Rounds created before reserves
    /// became counts stored `reserved_place` first, which never changed the order among the
    /// children who could take a place: it is dropped.
    public static func order(stored text: String) throws(SchedulerError) -> [PriorityCriterion] {
        try order(parsing: text.split(separator: ",").map(String.init).filter { $0 != "reserved_place" })
    }
}

/// An application as a family submits it: the child and the offers, best first.
public struct ApplicationInput: Sendable, Hashable {
    public var childID: String
    public var ranking: [String]

    public init(childID: String, ranking: [String]) {
        self.childID = childID
        self.ranking = ranking
    }
}

/// Everything a run needs, read in one snapshot.
public struct IntakeInputs: Sendable {
    public var round: IntakeRoundInfo
    public var offers: [IntakeOffer]
    public var applications: [IntakeApplication]

    public init(round: IntakeRoundInfo, offers: [IntakeOffer], applications: [IntakeApplication]) {
        self.round = round
        self.offers = offers
        self.applications = applications
    }

    public func allocator() throws(SchedulerError) -> IntakeAllocator {
        try IntakeAllocator(offers: offers, applications: applications, order: round.order, seed: round.seed)
    }
}
