/// A round's run as it is kept after the allocation: per offer, who holds it and who waits for
/// it (with their priority there); per child, what they hold, their list and the facts their
/// priority came from. The waitlist's live state (`IntakeWaitlist`) and explanations read
/// these, offer by offer and child by child, so a store can hand over only the rows a question
/// touches instead of re-running the allocation.

/// What a child's priority was made of, as the run judged it.
public struct PriorityFacts: Sendable, Hashable {
    public var familyKind: FamilyKind
    /// Nurseries where a sibling holds a place.
    public var siblingNurseries: Set<String>
    public var specialNeeds: Bool
    public var singleParent: Bool
    public var parentsWorking: Bool
    /// 0 for the earliest submission time of the round; equal times, equal ranks.
    public var submissionRank: Int
    /// The child's draw in the round's lottery (0: drawn first).
    public var lotteryPosition: Int

    public init(
        familyKind: FamilyKind, siblingNurseries: Set<String> = [], specialNeeds: Bool = false, singleParent: Bool = false, parentsWorking: Bool = false,
        submissionRank: Int = 0, lotteryPosition: Int = 0
    ) {
        self.familyKind = familyKind
        self.siblingNurseries = siblingNurseries
        self.specialNeeds = specialNeeds
        self.singleParent = singleParent
        self.parentsWorking = parentsWorking
        self.submissionRank = submissionRank
        self.lotteryPosition = lotteryPosition
    }

    /// The first criterion of `order` on which `a` and `b` differ at a nursery, and whether `a`
    /// is ahead on it. Where every criterion ties (a round without the lottery), the order of
    /// the ids decides: reported as `.lottery` with `byIDOrder`.
    public static func decidingCriterion(
        _ a: (id: String, facts: PriorityFacts), over b: (id: String, facts: PriorityFacts), nursery: String, order: [PriorityCriterion]
    ) -> (criterion: PriorityCriterion, firstAhead: Bool, byIDOrder: Bool) {
        for criterion in order {
            let values: (Int, Int)
            switch criterion {
            case .sibling: values = (a.facts.siblingNurseries.contains(nursery) ? 1 : 0, b.facts.siblingNurseries.contains(nursery) ? 1 : 0)
            case .specialNeeds: values = (a.facts.specialNeeds ? 1 : 0, b.facts.specialNeeds ? 1 : 0)
            case .singleParent: values = (a.facts.singleParent ? 1 : 0, b.facts.singleParent ? 1 : 0)
            case .parentsWorking: values = (a.facts.parentsWorking ? 1 : 0, b.facts.parentsWorking ? 1 : 0)
            case .earlierApplication: values = (-a.facts.submissionRank, -b.facts.submissionRank)
            case .lottery: values = (-a.facts.lotteryPosition, -b.facts.lotteryPosition)
            }
            if values.0 != values.1 { return (criterion, values.0 > values.1, false) }
        }
        return (.lottery, a.id.utf8.lexicographicallyPrecedes(b.id.utf8), true)
    }
}

/// One child in an offer's list of holders or of waiting children.
public struct IntakeRunEntry: Sendable, Hashable {
    public var childID: String
    /// The child's priority at this offer: higher is better, never equal for two children.
    public var key: UInt64
    public var familyKind: FamilyKind
    /// The offer's rank in the child's list (0: first choice).
    public var choice: Int

    public init(childID: String, key: UInt64, familyKind: FamilyKind, choice: Int) {
        self.childID = childID
        self.key = key
        self.familyKind = familyKind
        self.choice = choice
    }
}

/// One offer as the run left it.
public struct IntakeRunOffer: Sendable, Hashable {
    public var offer: IntakeOffer
    /// The children holding it, best priority first.
    public var holders: [IntakeRunEntry]
    /// The children waiting for it (each ranked it above their result), best priority first.
    public var waiting: [IntakeRunEntry]

    public init(offer: IntakeOffer, holders: [IntakeRunEntry], waiting: [IntakeRunEntry]) {
        self.offer = offer
        self.holders = holders
        self.waiting = waiting
    }

    /// The holders' places, in `holders` order: who counts towards a reserve.
    public var heldLabels: [SeatKind] { offer.seatLabels(holders.map(\.familyKind)) }
}

/// One applicant as the run left them.
public struct IntakeRunChild: Sendable, Hashable {
    public var childID: String
    public var facts: PriorityFacts
    /// Offer ids, best first.
    public var ranking: [String]
    /// What the run gave them (nil: nothing).
    public var seat: IntakeResult.Seat?

    public init(childID: String, facts: PriorityFacts, ranking: [String], seat: IntakeResult.Seat?) {
        self.childID = childID
        self.facts = facts
        self.ranking = ranking
        self.seat = seat
    }
}

/// Where the waitlist and explanations read a run from, offer by offer and child by child.
public protocol IntakeRunSource: Sendable {
    /// The offer, or nil if the round has no such offer; throws `IntakeRunNeeds` if this
    /// source has not loaded it.
    func runOffer(_ id: String) throws(IntakeRunNeeds) -> IntakeRunOffer?
    /// The applicant, or nil if the round has no application of theirs; throws
    /// `IntakeRunNeeds` if this source has not loaded them.
    func runChild(_ id: String) throws(IntakeRunNeeds) -> IntakeRunChild?
}

/// A question about a run touched rows its source has not loaded: load them and ask again.
public struct IntakeRunNeeds: Error, Sendable, Hashable {
    public var offers: Set<String>
    public var children: Set<String>

    public init(offers: Set<String> = [], children: Set<String> = []) {
        self.offers = offers
        self.children = children
    }
}

/// A run's rows loaded so far (by a store, for one question); asking for anything else throws
/// `IntakeRunNeeds` naming it.
public struct LoadedIntakeRun: IntakeRunSource {
    public var offers: [String: IntakeRunOffer] = [:]
    public var children: [String: IntakeRunChild] = [:]
    /// Ids looked up and not in the round.
    public var missingOffers: Set<String> = []
    public var missingChildren: Set<String> = []

    public init() {}

    public func runOffer(_ id: String) throws(IntakeRunNeeds) -> IntakeRunOffer? {
        if let offer = offers[id] { return offer }
        if missingOffers.contains(id) { return nil }
        throw IntakeRunNeeds(offers: [id])
    }

    public func runChild(_ id: String) throws(IntakeRunNeeds) -> IntakeRunChild? {
        if let child = children[id] { return child }
        if missingChildren.contains(id) { return nil }
        throw IntakeRunNeeds(children: [id])
    }

    /// Adds what a load brought; ids asked for and not found are remembered as not in the round.
    public mutating func add(offers loaded: [IntakeRunOffer], asked: Set<String>) {
        for offer in loaded { offers[offer.offer.id] = offer }
        missingOffers.formUnion(asked.subtracting(offers.keys))
    }

    public mutating func add(children loaded: [IntakeRunChild], asked: Set<String>) {
        for child in loaded { children[child.childID] = child }
        missingChildren.formUnion(asked.subtracting(children.keys))
    }
}

/// A run held in memory (an allocator and its result): everything is loaded.
public struct AllocatedIntakeRun: IntakeRunSource {
    public let allocator: IntakeAllocator
    public let result: IntakeResult

    public init(allocator: IntakeAllocator, result: IntakeResult) {
        self.allocator = allocator
        self.result = result
    }

    public func runOffer(_ id: String) -> IntakeRunOffer? {
        allocator.runOffer(id, in: result)
    }

    public func runChild(_ id: String) -> IntakeRunChild? {
        allocator.runChild(id, in: result)
    }
}

extension IntakeAllocator {
    /// What `result` (this allocator's) gives an offer: holders and waiting children with keys.
    public func runOffer(_ id: String, in result: IntakeResult) -> IntakeRunOffer? {
        guard let offer = offerIndex[id], let index = result.offerIDs.firstIndex(of: id) else { return nil }
        func entry(_ child: Int32) -> IntakeRunEntry {
            let number = Int(child)
            let list = rankings[Int(starts[number])..<Int(starts[number + 1])]
            let choice = list.firstIndex(of: Int32(offer)).map { $0 - list.startIndex } ?? 0
            return IntakeRunEntry(childID: childIDs[number], key: key(child: number, offer: offer), familyKind: isSOS[number] ? .sos : .local, choice: choice)
        }
        return IntakeRunOffer(offer: offers[offer], holders: result.holderNumbers[index].map(entry), waiting: result.waitlistNumbers[index].map(entry))
    }

    /// What `result` (this allocator's) gives a child, with the facts of their priority.
    public func runChild(_ id: String, in result: IntakeResult) -> IntakeRunChild? {
        guard let number = childNumber(id) else { return nil }
        return IntakeRunChild(childID: id, facts: facts(number), ranking: applications[number].ranking, seat: result.seat(of: id))
    }

    func facts(_ number: Int) -> PriorityFacts {
        let application = applications[number]
        return PriorityFacts(
            familyKind: application.familyKind, siblingNurseries: application.siblingNurseries, specialNeeds: application.specialNeeds,
            singleParent: application.singleParent, parentsWorking: application.parentsWorking, submissionRank: submissionRank[number],
            lotteryPosition: lotteryPosition[number])
    }

    /// What a store keeps of a run in which each child holds the offer `holding` names (nil:
    /// none): every applicant's record in id order, and every offer's holders and waiting
    /// children (those who ranked it above what they hold) with their priority there, best
    /// first, holders labelled by the counts. Used with the allocator's own result, and to
    /// re-derive the records of a run stored before they were kept.
    public func runRecords(holding: (String) -> String?) -> (children: [IntakeRunChild], offers: [IntakeRunOffer]) {
        runRecords(heldOffers: childIDs.map { id in holding(id).flatMap { offerIndex[$0] }.map(Int32.init) ?? -1 })
    }

    /// The records for `heldOffers[child]`: the offer number each child holds (-1: none).
    func runRecords(heldOffers: [Int32]) -> (children: [IntakeRunChild], offers: [IntakeRunOffer]) {
        struct Ranked {
            var key: UInt64
            var child: Int32
            var choice: Int32
        }
        var holders: [[Ranked]] = Array(repeating: [], count: offers.count)
        var waiting: [[Ranked]] = Array(repeating: [], count: offers.count)
        var seats: [IntakeResult.Seat?] = Array(repeating: nil, count: childIDs.count)
        for child in childIDs.indices {
            let start = Int(starts[child]), end = Int(starts[child + 1])
            var waitsUpTo = end
            let held = heldOffers[child]
            if held >= 0, let position = (start..<end).first(where: { rankings[$0] == held }) {
                holders[Int(held)].append(Ranked(key: key(child: child, offer: Int(held)), child: Int32(child), choice: Int32(position - start)))
                waitsUpTo = position
            }
            for position in start..<waitsUpTo {
                let offer = Int(rankings[position])
                waiting[offer].append(Ranked(key: key(child: child, offer: offer), child: Int32(child), choice: Int32(position - start)))
            }
        }
        var records: [IntakeRunOffer] = []
        records.reserveCapacity(offers.count)
        for (number, offer) in offers.enumerated() {
            func entry(_ ranked: Ranked) -> IntakeRunEntry {
                IntakeRunEntry(
                    childID: childIDs[Int(ranked.child)], key: ranked.key, familyKind: isSOS[Int(ranked.child)] ? .sos : .local, choice: Int(ranked.choice))
            }
            let held = holders[number].sorted { $0.key > $1.key }
            for (ranked, kind) in zip(held, offer.seatLabels(held.map { isSOS[Int($0.child)] ? FamilyKind.sos : .local })) {
                seats[Int(ranked.child)] = IntakeResult.Seat(offerID: offer.id, kind: kind, choice: Int(ranked.choice))
            }
            records.append(IntakeRunOffer(offer: offer, holders: held.map(entry), waiting: waiting[number].sorted { $0.key > $1.key }.map(entry)))
        }
        var children: [IntakeRunChild] = []
        children.reserveCapacity(childIDs.count)
        for number in childIDs.indices {
            children.append(IntakeRunChild(childID: childIDs[number], facts: facts(number), ranking: applications[number].ranking, seat: seats[number]))
        }
        return (children, records)
    }

    /// The records of this allocator's own result.
    public func runRecords(in result: IntakeResult) -> (children: [IntakeRunChild], offers: [IntakeRunOffer]) {
        // The allocator's own result numbers children and offers as it does.
        if result.childIDs.count == childIDs.count, result.offerIDs.count == offers.count { return runRecords(heldOffers: result.seatOffer) }
        return runRecords { result.seat(of: $0)?.offerID }
    }
}
