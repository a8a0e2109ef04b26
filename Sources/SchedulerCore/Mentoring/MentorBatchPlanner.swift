/// A mentor batch from start to end, pure: match (`MentorMatcher`), then place each pair's
/// sessions (`MentorSessionPlacer`). The same batch gives the same plan.
public enum MentorBatchPlanner {
    /// `progress` is called once the matching is done and after each pair is placed; the caller
    /// decides how often to pass it on.
    /// `isCancelled` is asked between pairs: once it says yes, the plan stops where it is (the
    /// caller throws it away).
    public static func plan(
        _ batch: MentorBatch, isCancelled: () -> Bool = { false }, progress: (MentorBatchProgress) -> Void = { _ in }
    ) -> MentorBatchPlan {
        let matching = MentorMatcher.match(batch)
        let items = Dictionary(batch.items.map { ($0.youngPersonID, $0) }, uniquingKeysWith: { first, _ in first })
        let mentors = Dictionary(batch.mentors.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let pairs = matching.assignments.count
        progress(MentorBatchProgress(pairsPlaced: 0, pairs: pairs, sessionsPlaced: 0))
        var placer = MentorSessionPlacer(
            batchID: batch.id, youngPersonBusy: batch.youngPersonBusy, mentorBusy: batch.mentorBusy, pairSessions: batch.pairSessions)
        var sessions: [MentorSession] = []
        var placingRefusals: [MentorRefusal] = []
        for (index, assignment) in matching.assignments.enumerated() {
            if isCancelled() { break }
            guard let item = items[assignment.youngPersonID], let mentor = mentors[assignment.mentorID] else { continue }
            let placed = placer.place(item, with: mentor, youngPersonAvailability: batch.youngPersonAvailability[item.youngPersonID] ?? Availability())
            sessions += placed.sessions
            placingRefusals += placed.refusals
            progress(MentorBatchProgress(pairsPlaced: index + 1, pairs: pairs, sessionsPlaced: sessions.count))
        }
        // By young person id, then week (none last): both lists already are, and no one is in
        // both (matched or not), so a merge gives what sorting all of them would.
        var refusals: [MentorRefusal] = []
        refusals.reserveCapacity(matching.refusals.count + placingRefusals.count)
        var (unmatched, unplaced) = (matching.refusals[...], placingRefusals[...])
        while let next = unmatched.first, let other = unplaced.first {
            if next.youngPersonID < other.youngPersonID {
                refusals.append(next)
                unmatched.removeFirst()
            } else {
                refusals.append(other)
                unplaced.removeFirst()
            }
        }
        refusals += unmatched
        refusals += unplaced
        return MentorBatchPlan(assignments: matching.assignments, sessions: sessions, refusals: refusals)
    }
}
