/// One session's fate in a re-plan.
public struct SessionChange: Sendable, Hashable {
    public var before: CounsellingSession
    /// Where it went; nil when it could not be placed again (it is then cancelled).
    public var after: CounsellingSession?
}

/// The week after a re-plan.
public struct Replan: Sendable {
    /// Every session of the week as it stands now (unchanged, moved and new).
    public var sessions: [CounsellingSession]
    /// Every session that changed, and how.
    public var changes: [SessionChange]
    public var unplaced: [UnplacedSession]
    /// Whether sessions beyond the absent counsellor's had to move (to place more).
    public var movedOthers: Bool
}

/// Re-planning after a counsellor's absence (domain.md, "Re-planning"): the sessions the
/// absence takes go to other counsellors or times first, with everything else held fixed;
/// other sessions move only if that places more sessions in all. Moved sessions keep their
/// ids, so calendars see the same events change.
public struct AbsenceReplanner: Sendable {
    public var planner: WeekPlanner

    public init(planner: WeekPlanner = WeekPlanner()) { self.planner = planner }

    /// `problem.counsellors` already carries the absence (as away dates); `current` is the
    /// week's sessions before it (kept ones included), with their ids.
    public func replan(_ problem: WeekPlanningProblem, current: [CounsellingSession], absent counsellorID: String, days: Set<CivilDate>) -> Replan {
        let live = current.filter { $0.status == .scheduled }
        let affected = live.filter { $0.counsellorID == counsellorID && days.contains($0.date) }
        let affectedIDs = Set(affected.map(\.id))
        let settled = current.filter { !affectedIDs.contains($0.id) && $0.status != .cancelled }

        // First: only the affected sessions move; everything else stays where it is.
        var fixed = problem
        fixed.kept = settled
        let first = planner.plan(fixed)
        let firstSessions = settled + assignIDs(first.sessions, from: affected)

        // Then: may moving others place more? Only pinned and done sessions stay; the rest start
        // where the first step left them, and ejection chains move one only to make room.
        var open = problem
        open.kept = current.filter { ($0.pinned || $0.status == .done) && !affectedIDs.contains($0.id) && $0.status != .cancelled }
        let keptIDs = Set(open.kept.map(\.id))
        let second = planner.repair(open, from: firstSessions.filter { !keptIDs.contains($0.id) })
        let movable = live.filter { !$0.pinned && !affectedIDs.contains($0.id) } + affected
        if second.sessions.count + open.kept.count > first.sessions.count + settled.count {
            let moved = CounsellingSession.reusingIDs(second.sessions, from: movable)
            let sessions = open.kept + moved
            return Replan(sessions: sessions, changes: changes(from: current, to: sessions), unplaced: second.unplaced, movedOthers: true)
        }
        return Replan(sessions: firstSessions, changes: changes(from: current, to: firstSessions), unplaced: first.unplaced, movedOthers: false)
    }

    /// New sessions of each young person take the ids of their affected sessions, in order.
    private func assignIDs(_ sessions: [CounsellingSession], from affected: [CounsellingSession]) -> [CounsellingSession] {
        var ids = Dictionary(grouping: affected.sorted { ($0.date, $0.start) < ($1.date, $1.start) }, by: \.youngPersonID).mapValues { $0.map(\.id) }
        return sessions.map { session in
            var session = session
            if var list = ids[session.youngPersonID], !list.isEmpty {
                session.id = list.removeFirst()
                ids[session.youngPersonID] = list
            }
            return session
        }
    }

    private func changes(from before: [CounsellingSession], to after: [CounsellingSession]) -> [SessionChange] {
        let now = Dictionary(after.filter { !$0.id.isEmpty }.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var result: [SessionChange] = []
        for session in before where session.status == .scheduled {
            let later = now[session.id]
            if let later, later.counsellorID == session.counsellorID, later.date == session.date, later.start == session.start { continue }
            result.append(SessionChange(before: session, after: later))
        }
        return result.sorted { ($0.before.date, $0.before.start, $0.before.id) < ($1.before.date, $1.before.start, $1.before.id) }
    }
}
