import SchedulerCore

/// An independent checker of an intake result, written from domain.md's rule alone: sets of
/// children per offer and the offer's three counts (at most P in all, at most P - rl from SOS
/// families, at most P - rs from local families); no seats. It orders children itself (from
/// the applications, the round's order and its own draw of the seeded lottery), then checks
/// feasibility, no justified envy, non-wastefulness and the exact waitlists.
public struct IntakeChecker {
    public let offers: [String: IntakeOffer]
    public let applications: [String: IntakeApplication]
    public let order: [PriorityCriterion]
    public let lottery: [String: Int]

    public init(offers: [IntakeOffer], applications: [IntakeApplication], order: [PriorityCriterion], seed: UInt64) {
        self.offers = Dictionary(uniqueKeysWithValues: offers.map { ($0.id, $0) })
        self.applications = Dictionary(uniqueKeysWithValues: applications.map { ($0.childID, $0) })
        self.order = order
        let ids = applications.map(\.childID).sorted()
        // The lottery as domain.md and the allocator's doc define it: a Fisher-Yates shuffle of
        // the children in id order, driven by SplitMix64 from the round's seed.
        var draw = Array(ids.indices)
        var random = SeededRandom(seed: seed)
        if draw.count > 1 {
            for index in stride(from: draw.count - 1, to: 0, by: -1) { draw.swapAt(index, Int(random.next() % UInt64(index + 1))) }
        }
        var lottery: [String: Int] = [:]
        for (position, index) in draw.enumerated() { lottery[ids[index]] = position }
        self.lottery = lottery
    }

    /// Whether `a` is ahead of `b` at `offer`.
    public func ahead(_ a: String, _ b: String, at offer: IntakeOffer) -> Bool {
        guard let x = applications[a], let y = applications[b] else { return false }
        for criterion in order {
            let pair: (Int, Int)
            switch criterion {
            case .sibling: pair = (x.siblingNurseries.contains(offer.nurseryID) ? 1 : 0, y.siblingNurseries.contains(offer.nurseryID) ? 1 : 0)
            case .specialNeeds: pair = (x.specialNeeds ? 1 : 0, y.specialNeeds ? 1 : 0)
            case .singleParent: pair = (x.singleParent ? 1 : 0, y.singleParent ? 1 : 0)
            case .parentsWorking: pair = (x.parentsWorking ? 1 : 0, y.parentsWorking ? 1 : 0)
            case .earlierApplication: pair = (x.submittedAt < y.submittedAt ? 1 : 0, y.submittedAt < x.submittedAt ? 1 : 0)
            case .lottery: pair = (-(lottery[a] ?? 0), -(lottery[b] ?? 0))
            }
            if pair.0 != pair.1 { return pair.0 > pair.1 }
        }
        return a < b
    }

    /// domain.md's counts for a set of children at an offer.
    public func withinCounts(_ children: [String], at offer: IntakeOffer) -> Bool {
        let sos = children.filter { applications[$0]?.familyKind == .sos }.count
        let local = children.count - sos
        return children.count <= offer.places && sos <= offer.places - offer.reservedLocal && local <= offer.places - offer.reservedSOS
    }

    /// Everything wrong with `result`, in words (empty: all good).
    public func problems(_ result: IntakeResult) -> [String] {
        var problems = problems(seats: result.seats.mapValues(\.offerID), waitlist: { result.waitlist(of: $0) })
        let seats = result.seats
        for (child, seat) in seats {
            if let choice = applications[child]?.ranking.firstIndex(of: seat.offerID), choice != seat.choice {
                problems.append("\(child)'s seat says choice \(seat.choice), the list says \(choice)")
            }
        }
        for (id, offer) in offers {
            let holders = seats.filter { $0.value.offerID == id }.map(\.key)
            if Set(holders) != Set(result.holders(of: id)) { problems.append("\(id): holders list and seats disagree") }
            if result.holders(of: id) != holders.sorted(by: { ahead($0, $1, at: offer) }) { problems.append("\(id): holders are not listed best first") }
            // Labels only say who counts towards a reserve: each kind's best, up to its reserve.
            for (kind, reserve, label) in [(FamilyKind.sos, offer.reservedSOS, SeatKind.reservedSOS), (.local, offer.reservedLocal, .reservedLocal)] {
                let ofKind = holders.filter { applications[$0]?.familyKind == kind }.sorted { ahead($0, $1, at: offer) }
                let expected = Set(ofKind.prefix(reserve))
                let labelled = Set(holders.filter { seats[$0]?.kind == label })
                if expected != labelled { problems.append("\(id): \(label) labels \(labelled.sorted()), expected \(expected.sorted())") }
            }
        }
        return problems
    }

    /// The rule's checks on an assignment (child -> offer) and the waitlists it reports.
    public func problems(seats: [String: String], waitlist: (String) -> [String]) -> [String] {
        var problems: [String] = []
        var holdersByOffer: [String: [String]] = [:]
        var held: [String: Int] = [:]
        for (child, offerID) in seats {
            guard let application = applications[child], let choice = application.ranking.firstIndex(of: offerID) else {
                problems.append("\(child) holds \(offerID), which is not on their list")
                continue
            }
            held[child] = choice
            holdersByOffer[offerID, default: []].append(child)
        }
        for (id, offer) in offers {
            let holders = holdersByOffer[id] ?? []
            if !withinCounts(holders, at: offer) {
                problems.append(
                    "\(id) holds \(holders.count) children (\(holders.filter { applications[$0]?.familyKind == .sos }.count) SOS), beyond its counts")
            }
            for (child, application) in applications {
                guard let rank = application.ranking.firstIndex(of: id), rank < held[child, default: application.ranking.count] else { continue }
                // The child prefers this offer to what they got.
                for holder in holders where ahead(child, holder, at: offer) {
                    if withinCounts(holders.filter { $0 != holder } + [child], at: offer) {
                        problems.append("justified envy: \(child) prefers \(id), where \(holder) is behind them and their place could be \(child)'s")
                    }
                }
                if withinCounts(holders + [child], at: offer) {
                    problems.append("wasteful: \(child) prefers \(id), which could add them within its counts")
                }
            }
            // The waitlist: exactly those who ranked it above their result, best first.
            let expected = applications.values.filter { application in
                (application.ranking.firstIndex(of: id).map { $0 < held[application.childID, default: application.ranking.count] }) ?? false
            }.map(\.childID).sorted { ahead($0, $1, at: offer) }
            if waitlist(id) != expected { problems.append("\(id): waitlist \(waitlist(id)) should be \(expected)") }
        }
        return problems
    }
}
