/// The matching step of a mentor batch, exact: among all matchings within the mentors' remaining
/// capacity and the young people's sites, the greatest total fit (shared fields; a pair without
/// a shared field is never made); among those, the most pairs kept from before the batch; among
/// those, the most even load (the least sum of squared mentee counts).
///
/// A minimum-cost flow source -> item -> mentor -> sink. An item-mentor edge costs
/// `-(fit * fitScale + kept * keepScale)`; a mentor's k-th new mentee costs `2 * (active + k) - 1`
/// (the growth of the square of its load) on its own parallel edge, so cheaper units fill first.
/// The scales put the orders apart: any load total is below `keepScale`, any keep-and-load total
/// below `fitScale`. Every pair lowers the cost, so the cheapest flow of any value (flow stops when
/// the next path would not lower the cost) is the best matching, not the largest one.
public enum MentorMatcher {
    public struct Matching: Sendable, Hashable {
        /// By young person id.
        public var assignments: [MentorAssignment]
        /// Items not matched, by young person id: one refusal each, for all its sessions.
        public var refusals: [MentorRefusal]
    }

    /// Shared fields.
    public static func fit(_ mentor: Mentor, _ item: MentorBatchItem) -> Int { mentor.fields.intersection(item.fields).count }

    /// Items and mentors in id order, whatever the order given, so a batch gives one answer.
    public static func match(_ batch: MentorBatch) -> Matching {
        let items = batch.items.sorted { $0.youngPersonID < $1.youngPersonID }
        let mentors = batch.mentors.sorted { $0.id < $1.id }
        let itemCount = items.count
        let source = 0
        let sink = itemCount + mentors.count + 1
        func itemNode(_ index: Int) -> Int { 1 + index }
        func mentorNode(_ index: Int) -> Int { 1 + itemCount + index }

        let mentorsBySite = Dictionary(grouping: mentors.indices, by: { mentors[$0].siteID })
        // Candidate pairs: same site, at least one shared field.
        var candidates: [[(mentor: Int, fit: Int, kept: Bool)]] = []
        var eligibleItems = Array(repeating: 0, count: mentors.count)
        for item in items {
            var list: [(mentor: Int, fit: Int, kept: Bool)] = []
            for index in mentorsBySite[item.siteID] ?? [] {
                let fit = fit(mentors[index], item)
                guard fit > 0 else { continue }
                list.append((index, fit, batch.currentMentor[item.youngPersonID] == mentors[index].id))
                eligibleItems[index] += 1
            }
            candidates.append(list)
        }
        let active = mentors.map { min(max(batch.activeMentees[$0.id] ?? 0, 0), max($0.capacity, 0)) }
        let slots = mentors.indices.map { min(max(mentors[$0].capacity, 0) - active[$0], eligibleItems[$0]) }
        func loadCost(_ mentor: Int, _ unit: Int) -> Int { 2 * (active[mentor] + unit) - 1 }
        let largestUnit = mentors.indices.map { slots[$0] > 0 ? loadCost($0, slots[$0]) : 0 }.max() ?? 0
        let keepScale = itemCount * largestUnit + 1
        let fitScale = (itemCount + 1) * keepScale

        var graph = MinCostFlow(nodes: sink + 1)
        for index in items.indices { graph.addEdge(from: source, to: itemNode(index), capacity: 1, cost: 0) }
        var pairEdges: [[(mentor: Int, fit: Int, kept: Bool, edge: (node: Int, index: Int))]] = []
        for (index, list) in candidates.enumerated() {
            pairEdges.append(
                list.map { candidate in
                    let cost = -(candidate.fit * fitScale + (candidate.kept ? keepScale : 0))
                    let edge = graph.addEdge(from: itemNode(index), to: mentorNode(candidate.mentor), capacity: 1, cost: cost)
                    return (candidate.mentor, candidate.fit, candidate.kept, edge)
                })
        }
        for mentor in mentors.indices where slots[mentor] > 0 {
            for unit in 1...slots[mentor] { graph.addEdge(from: mentorNode(mentor), to: sink, capacity: 1, cost: loadCost(mentor, unit)) }
        }
        _ = graph.minimiseCost(source: source, sink: sink)

        var assignments: [MentorAssignment] = []
        var refusals: [MentorRefusal] = []
        for (index, item) in items.enumerated() {
            if let pair = pairEdges[index].first(where: { graph.flow(at: $0.edge) > 0 }) {
                assignments.append(MentorAssignment(youngPersonID: item.youngPersonID, mentorID: mentors[pair.mentor].id, fit: pair.fit, kept: pair.kept))
            } else {
                let reason: MentorRefusalReason = candidates[index].isEmpty ? .noMentorWithFields : .mentorsFull
                refusals.append(MentorRefusal(youngPersonID: item.youngPersonID, reason: reason, sessions: item.sessions))
            }
        }
        return Matching(assignments: assignments, refusals: refusals)
    }
}
