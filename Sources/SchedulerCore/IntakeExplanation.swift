/// Why a child did or did not get an offer: where they stood, which seats they could hold,
/// and, for each, the last child admitted and the criterion that put that child ahead.
/// Other children appear only as ids in `cutoffs`; `sentence` never names them, so a manager
/// outside their scope can be shown it.
public struct IntakeExplanation: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// The child holds a seat of this kind at the offer.
        case holds(SeatKind)
        /// The child did not rank the offer.
        case didNotApply
        /// The child holds an offer it ranked higher, so this one never had to decide.
        case heldHigherChoice(offerID: String, choice: Int)
        /// The offer's seats the child could hold went to children ahead of them.
        case notAdmitted
    }

    public struct Cutoff: Sendable, Hashable {
        public var kind: SeatKind
        public var places: Int
        /// The lowest-priority child holding this kind of seat (nil: a seat is still free).
        public var lastAdmitted: String?
        /// The first criterion on which that child is ahead (nil if no one holds such a seat).
        public var decidedBy: PriorityCriterion?
        /// The round draws no lottery and every criterion tied: the order of the ids decided.
        public var decidedByIDOrder = false
    }

    public var childID: String
    public var offerID: String
    public var outcome: Outcome
    /// The offer's rank in the child's list (0: first choice), if ranked.
    public var choice: Int?
    /// 1-based position on the offer's waitlist, if the child waits for it.
    public var waitlistPosition: Int?
    /// The seats the child could hold at the offer, and who held the last of each.
    public var cutoffs: [Cutoff]
    /// Places reserved for the other kind of family, which the child could not hold.
    public var reservedForOthers: (kind: SeatKind, places: Int)?

    public static func == (a: Self, b: Self) -> Bool {
        a.childID == b.childID && a.offerID == b.offerID && a.outcome == b.outcome && a.choice == b.choice
            && a.waitlistPosition == b.waitlistPosition && a.cutoffs == b.cutoffs
            && a.reservedForOthers?.kind == b.reservedForOthers?.kind && a.reservedForOthers?.places == b.reservedForOthers?.places
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(childID)
        hasher.combine(offerID)
        hasher.combine(choice)
    }

    /// The explanation in plain words, naming only this child (`name`, e.g. their given name).
    public func sentence(name: String) -> String {
        let ordinal = choice.map { " (their \(Self.ordinal($0 + 1)) choice)" } ?? ""
        switch outcome {
        case .didNotApply:
            return "\(name) did not apply for offer \(offerID)."
        case .holds(let kind):
            return "\(name) holds \(Self.describe(kind)) at offer \(offerID)\(ordinal)."
        case .heldHigherChoice(let other, let rank):
            return "\(name) holds offer \(other), their \(Self.ordinal(rank + 1)) choice, which they ranked above offer \(offerID)\(ordinal)."
        case .notAdmitted:
            var parts: [String] = []
            for cutoff in cutoffs {
                let what = "its " + Self.count(cutoff.places, cutoff.kind)
                if let decided = cutoff.decidedBy {
                    let reason = cutoff.decidedByIDOrder ? "the order of their records (this round draws no lottery)" : decided.reason
                    parts.append(
                        cutoff.places == 1
                            ? "\(what) went to a child ahead of \(name) by \(reason)"
                            : "\(what) went to children ahead of \(name); the last one admitted was ahead by \(reason)")
                } else {
                    parts.append("\(what) had no free place for \(name)")
                }
            }
            if let reserved = reservedForOthers, reserved.places > 0 {
                parts.append("its \(Self.count(reserved.places, reserved.kind)) \(reserved.places == 1 ? "is" : "are") only for those families")
            }
            var text = "\(name) was not admitted to offer \(offerID)\(ordinal): " + parts.joined(separator: "; ") + "."
            if let position = waitlistPosition { text += " \(name) is \(Self.ordinal(position)) on its waitlist." }
            return text
        }
    }

    static func describe(_ kind: SeatKind, plural: Bool = false) -> String {
        switch kind {
        case .open: plural ? "open places" : "an open place"
        case .reservedSOS: plural ? "places reserved for SOS families" : "a place reserved for SOS families"
        case .reservedLocal: plural ? "places reserved for local families" : "a place reserved for local families"
        }
    }

    /// "one open place", "3 places reserved for SOS families".
    static func count(_ places: Int, _ kind: SeatKind) -> String {
        places == 1 ? "one " + String(describe(kind).dropFirst(kind == .open ? 3 : 2)) : "\(places) \(describe(kind, plural: true))"
    }

    static func ordinal(_ number: Int) -> String {
        let suffix: String
        switch (number % 10, number % 100) {
        case (1, let h) where h != 11: suffix = "st"
        case (2, let h) where h != 12: suffix = "nd"
        case (3, let h) where h != 13: suffix = "rd"
        default: suffix = "th"
        }
        return "\(number)\(suffix)"
    }
}

extension IntakeAllocator {
    /// Explains `result` (this allocator's own) for one child and offer; nil if either is unknown.
    public func explain(child childID: String, offer offerID: String, in result: IntakeResult) -> IntakeExplanation? {
        guard let application = application(child: childID), let offer = offer(id: offerID) else { return nil }
        let choice = application.ranking.firstIndex(of: offerID)
        let position = result.waitlist(of: offerID).firstIndex(of: childID).map { $0 + 1 }
        var explanation = IntakeExplanation(
            childID: childID, offerID: offerID, outcome: .notAdmitted, choice: choice, waitlistPosition: position, cutoffs: [], reservedForOthers: nil)
        let seat = result.seat(of: childID)
        if let seat, seat.offerID == offerID {
            explanation.outcome = .holds(seat.kind)
            return explanation
        }
        guard let choice else {
            explanation.outcome = .didNotApply
            return explanation
        }
        if let seat, seat.choice < choice {
            explanation.outcome = .heldHigherChoice(offerID: seat.offerID, choice: seat.choice)
            return explanation
        }
        // Not admitted: the seats this child could hold, each with the last child admitted to it.
        let ownReserved: SeatKind = application.familyKind == .sos ? .reservedSOS : .reservedLocal
        let otherReserved: SeatKind = application.familyKind == .sos ? .reservedLocal : .reservedSOS
        let holders = result.holders(of: offerID)
        for (kind, places) in [(SeatKind.open, offer.openPlaces), (ownReserved, ownReserved == .reservedSOS ? offer.reservedSOS : offer.reservedLocal)] where places > 0 {
            let inKind = holders.filter { result.seat(of: $0)?.kind == kind }
            // `holders` is ordered best first: the last of the kind is the cutoff.
            let last = inKind.count >= places ? inKind.last : nil
            let decided = last.flatMap { decidingCriterion($0, over: childID, at: offerID)?.criterion }
            explanation.cutoffs.append(IntakeExplanation.Cutoff(
                kind: kind, places: places, lastAdmitted: last, decidedBy: decided, decidedByIDOrder: decided == .lottery && !order.contains(.lottery)))
        }
        let othersPlaces = otherReserved == .reservedSOS ? offer.reservedSOS : offer.reservedLocal
        if othersPlaces > 0 { explanation.reservedForOthers = (otherReserved, othersPlaces) }
        return explanation
    }
}
