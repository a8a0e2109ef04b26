/// Why a child did or did not get an offer at the round's run: where they stood, which limit
/// of the offer's counts kept them out, and the last child admitted whose place they could have
/// taken, with the criterion that put that child ahead. Other children appear only as ids
/// (`lastAdmitted`); `sentence` never names them, so a manager outside their scope can be
/// shown it.
public struct IntakeExplanation: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// The child holds a place of this kind at the offer.
        case holds(SeatKind)
        /// The child did not rank the offer.
        case didNotApply
        /// The child holds an offer it ranked higher, so this one never had to decide.
        case heldHigherChoice(offerID: String, choice: Int)
        /// The places the child could take went to children ahead of them.
        case notAdmitted
    }

    /// The count of the offer that was full for this child.
    public enum Limit: Sendable, Hashable {
        /// Every place is held.
        case allPlaces(Int)
        /// The places open to the child's kind of family (all places less those the other kind
        /// keeps) are held by children of their kind.
        case kindPlaces(FamilyKind, Int)
    }

    public var childID: String
    public var offerID: String
    public var outcome: Outcome
    /// The offer's rank in the child's list (0: first choice), if ranked.
    public var choice: Int?
    /// 1-based position on the offer's waitlist, if the child waits for it.
    public var waitlistPosition: Int?
    /// For `notAdmitted`: the count that was full for the child.
    public var limit: Limit?
    /// The lowest-priority holder whose place the child could have taken (nil: none could be).
    public var lastAdmitted: String?
    /// How many holders' places the child could have taken (all behind whom the limit put them).
    public var replaceable = 0
    /// The first criterion on which that holder is ahead of the child.
    public var decidedBy: PriorityCriterion?
    /// The round draws no lottery and every criterion tied: the order of the ids decided.
    public var decidedByIDOrder = false
    /// Places the other kind of family keeps (the offer's reserve for them).
    public var reservedForOthers = 0
    /// Of those, how many no one holds (kept free for a child of that kind on the waitlist).
    public var freeForOthers = 0
    /// What changed for the child since the run, in plain words (set by the caller, from the
    /// waitlist's live state).
    public var sinceRun: String?

    /// The explanation in plain words, naming only this child (`name`, e.g. their given name).
    public func sentence(name: String) -> String {
        let ordinal = choice.map { " (their \(Self.ordinal($0 + 1)) choice)" } ?? ""
        var text: String
        switch outcome {
        case .didNotApply:
            text = "\(name) did not apply for offer \(offerID)."
        case .holds(let kind):
            text = "\(name) got \(Self.describe(kind)) at offer \(offerID)\(ordinal)."
        case .heldHigherChoice(let other, let rank):
            text = "\(name) got offer \(other), their \(Self.ordinal(rank + 1)) choice, which they ranked above offer \(offerID)\(ordinal)."
        case .notAdmitted:
            let other = otherKind
            var what: String
            switch limit {
            case .kindPlaces(let kind, let places):
                what =
                    places == 0
                    ? "all its places are reserved for \(Self.families(other))"
                    : "the \(Self.places(places)) it can give \(Self.families(kind)) (\(reservedForOthers == 1 ? "the other place is" : "the other \(reservedForOthers) places are") reserved for \(Self.families(other)))"
            case .allPlaces(let places):
                what = "its \(Self.places(places))"
            case nil:
                what = "its places"
            }
            if lastAdmitted != nil, let decided = decidedBy {
                let reason = decidedByIDOrder ? "the order of their records (this round draws no lottery)" : decided.reason
                what +=
                    replaceable == 1
                    ? " went to a child ahead of \(name) by \(reason)"
                    : " went to children ahead of \(name); the last one admitted whose place \(name) could have taken was ahead by \(reason)"
            }
            text = "\(name) was not admitted to offer \(offerID)\(ordinal): \(what)."
            if freeForOthers > 0 {
                text +=
                    " \(Self.places(freeForOthers).capitalizedFirst) reserved for \(Self.families(other)) \(freeForOthers == 1 ? "is" : "are") still free, kept for \(Self.families(other)) on its waitlist."
            }
            if let position = waitlistPosition { text += " \(name) is \(Self.ordinal(position)) on its waitlist." }
        }
        if let sinceRun { text += " " + sinceRun }
        return text
    }

    var otherKind: FamilyKind {
        if case .kindPlaces(let kind, _) = limit { return kind == .sos ? .local : .sos }
        return .sos
    }

    static func families(_ kind: FamilyKind) -> String { kind == .sos ? "SOS families" : "local families" }

    static func places(_ count: Int) -> String { count == 1 ? "one place" : "\(count) places" }

    static func describe(_ kind: SeatKind) -> String {
        switch kind {
        case .open: "an open place"
        case .reservedSOS: "a place reserved for SOS families"
        case .reservedLocal: "a place reserved for local families"
        }
    }

    public static func ordinal(_ number: Int) -> String {
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

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

extension IntakeExplanation {
    /// Explains the run for one child and offer from the run's records; throws
    /// `IntakeRunNeeds` for rows the source lacks; nil if the child or the offer is not in the
    /// round.
    public static func explain(child childID: String, offer offerID: String, run: any IntakeRunSource, order: [PriorityCriterion]) throws(IntakeRunNeeds)
        -> IntakeExplanation?
    {
        guard let child = try run.runChild(childID), let offer = try run.runOffer(offerID) else { return nil }
        let choice = child.ranking.firstIndex(of: offerID)
        let position = offer.waiting.firstIndex { $0.childID == childID }.map { $0 + 1 }
        var explanation = IntakeExplanation(childID: childID, offerID: offerID, outcome: .notAdmitted, choice: choice, waitlistPosition: position)
        if let seat = child.seat, seat.offerID == offerID {
            explanation.outcome = .holds(seat.kind)
            return explanation
        }
        guard let choice else {
            explanation.outcome = .didNotApply
            return explanation
        }
        if let seat = child.seat, seat.choice < choice {
            explanation.outcome = .heldHigherChoice(offerID: seat.offerID, choice: seat.choice)
            return explanation
        }
        // Not admitted: which count was full for them, and whose places they could have taken.
        let kind = child.facts.familyKind
        let counts = offer.offer
        let own = offer.holders.filter { $0.familyKind == kind }.count
        let ownLimit = kind == .sos ? counts.sosLimit : counts.localLimit
        let othersKeep = kind == .sos ? counts.reservedLocal : counts.reservedSOS
        let othersHold = offer.holders.count - own
        explanation.reservedForOthers = othersKeep
        let replaceable: [IntakeRunEntry]
        if own >= ownLimit && othersKeep > 0 {
            explanation.limit = .kindPlaces(kind, ownLimit)
            replaceable = offer.holders.filter { $0.familyKind == kind }
            explanation.freeForOthers = max(0, min(othersKeep - othersHold, counts.places - offer.holders.count))
        } else {
            explanation.limit = .allPlaces(counts.places)
            replaceable = offer.holders
        }
        if let last = replaceable.last, let holder = try run.runChild(last.childID) {
            let decided = PriorityFacts.decidingCriterion(
                (last.childID, holder.facts), over: (childID, child.facts), nursery: counts.nurseryID, order: order)
            explanation.lastAdmitted = last.childID
            explanation.replaceable = replaceable.count
            explanation.decidedBy = decided.criterion
            explanation.decidedByIDOrder = decided.byIDOrder
        }
        return explanation
    }
}

extension IntakeAllocator {
    /// Explains `result` (this allocator's own) for one child and offer; nil if either is unknown.
    public func explain(child childID: String, offer offerID: String, in result: IntakeResult) -> IntakeExplanation? {
        try? IntakeExplanation.explain(child: childID, offer: offerID, run: AllocatedIntakeRun(allocator: self, result: result), order: order)
    }
}
