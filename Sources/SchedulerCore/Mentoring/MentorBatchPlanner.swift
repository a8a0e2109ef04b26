/// A mentor batch from start to end, pure: match (`MentorMatcher`), then place each pair's
/// sessions (`MentorSessionPlacer`). The same batch gives the same plan.
public enum MentorBatchPlanner {
    /// `progress` is called once the matching is done and after each pair is placed; the caller
    /// decides how often to pass it on.
    public static func plan(_ batch: MentorBatch, progress: (MentorBatchProgress) -> Void = { _ in }) -> MentorBatchPlan {
        let matching = MentorMatcher.match(batch)
        let items = Dictionary(batch.items.map { ($0.youngPersonID, $0) }, uniquingKeysWith: { first, _ in first })
        let mentors = Dictionary(batch.mentors.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let pairs = matching.assignments.count
        progress(MentorBatchProgress(itemsMatched: pairs, pairsPlaced: 0, pairs: pairs, sessionsPlaced: 0))
        var placer = MentorSessionPlacer(batchID: batch.id, youngPersonBusy: batch.youngPersonBusy, mentorBusy: batch.mentorBusy)
        var sessions: [MentorSession] = []
        var refusals = matching.refusals
        for (index, assignment) in matching.assignments.enumerated() {
            guard let item = items[assignment.youngPersonID], let mentor = mentors[assignment.mentorID] else { continue }
            let placed = placer.place(item, with: mentor, youngPersonAvailability: batch.youngPersonAvailability[item.youngPersonID] ?? Availability())
            sessions += placed.sessions
            refusals += placed.refusals
            progress(MentorBatchProgress(itemsMatched: pairs, pairsPlaced: index + 1, pairs: pairs, sessionsPlaced: sessions.count))
        }
        refusals.sort { ($0.youngPersonID, $0.week ?? "~") < ($1.youngPersonID, $1.week ?? "~") }
        return MentorBatchPlan(assignments: matching.assignments, sessions: sessions, refusals: refusals)
    }
}
