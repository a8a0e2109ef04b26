/// The matching step of a mentor batch, exact: among all matchings within the mentors' remaining
/// capacity and the young people's sites, the greatest total fit (shared fields; a pair without
/// a shared field is never made); among those, the most pairs kept from before the batch; among
/// those, the most even load (the least sum of squared mentee counts).
///
/// A minimum-cost flow from a source through the items to the mentors and a sink. A pair costs
/// `-(fit * fitScale + kept * keepScale)`; a mentor's k-th new mentee costs `2 * (active + k) - 1`
/// (the growth of the square of its load) on one convex edge to the sink, so cheaper units fill
/// first. The scales put the orders apart: any load total is below `keepScale`, any keep-and-load
/// total below `fitScale`. Every pair lowers the cost, so the cheapest flow of any value (flow
/// stops when the next path would not lower the cost) is the best matching, not the largest one.
///
/// Items of one site and field set are interchangeable, and so are mentors of one site and field
/// set up to their loads: the flow runs on classes (an item class node holding as many units as
/// items; a mentor class node fanning out to its mentors), and kept pairs on edges from an item
/// class straight to its items' current mentors. A few hundred class nodes instead of thousands
/// of items; the class flows are then handed out to items in id order and mentors in id order.
public enum MentorMatcher {
    public struct Matching: Sendable, Hashable {
        /// By young person id.
        public var assignments: [MentorAssignment]
        /// Items not matched, by young person id: one refusal each, for all its sessions.
        public var refusals: [MentorRefusal]
    }

    /// Items and mentors in id order, whatever the order given, so a batch gives one answer.
    public static func match(_ batch: MentorBatch) -> Matching { match(batch, grouped: true) }

    /// `grouped: false` gives every item its own node: the plain model, for tests to compare with.
    static func match(_ batch: MentorBatch, grouped: Bool) -> Matching {
        let model = MatchingModel(batch)
        return model.matching(mentorOf: grouped ? model.solveByClasses() : model.solveByItems())
    }
}

/// A batch in numbers: items and mentors sorted by id, their classes, and the costs.
private struct MatchingModel {
    let items: [MentorBatchItem]
    let mentors: [Mentor]
    let currentMentor: [String: String]
    /// Item -> its class (site and field set); class -> its items in id order.
    let itemClass: [Int]
    let classItems: [[Int]]
    /// Mentor -> its class; class -> its mentors in id order.
    let mentorClass: [Int]
    let classMentors: [[Int]]
    /// Item class -> (mentor class, fit) for every mentor class of its site with a shared field.
    let classCandidates: [[(mentorClass: Int, fit: Int)]]
    /// Item -> (mentor, fit) when its current mentor is a candidate with a free place.
    let keptPair: [(mentor: Int, fit: Int)?]
    let active: [Int]
    /// New mentees each mentor can take (room, and no more than the items it could take).
    let slots: [Int]
    let keepScale: Int
    let fitScale: Int

    init(_ batch: MentorBatch) {
        let items = batch.items.sorted { $0.youngPersonID < $1.youngPersonID }
        let mentors = batch.mentors.sorted { $0.id < $1.id }
        // Fields as numbers, sorted; mentors' fields that no item asks for cannot count.
        var fieldNumber: [String: Int] = [:]
        for item in items { for field in item.fields where fieldNumber[field] == nil { fieldNumber[field] = fieldNumber.count } }
        let itemClasses = Self.classes(items.map { ClassKey(site: $0.siteID, fields: $0.fields.compactMap { fieldNumber[$0] }.sorted()) })
        let mentorClasses = Self.classes(mentors.map { ClassKey(site: $0.siteID, fields: $0.fields.compactMap { fieldNumber[$0] }.sorted()) })
        let mentorClassesBySite = Dictionary(grouping: mentorClasses.keys.indices, by: { mentorClasses.keys[$0].site })
        let classCandidates = itemClasses.keys.map { key in
            (mentorClassesBySite[key.site] ?? []).compactMap { mentorClass -> (mentorClass: Int, fit: Int)? in
                let fit = Self.shared(key.fields, mentorClasses.keys[mentorClass].fields)
                return fit > 0 ? (mentorClass, fit) : nil
            }
        }
        let active = mentors.map { min(max(batch.activeMentees[$0.id] ?? 0, 0), max($0.capacity, 0)) }
        var eligible = Array(repeating: 0, count: mentorClasses.members.count)
        for (itemClass, candidates) in classCandidates.enumerated() {
            for candidate in candidates { eligible[candidate.mentorClass] += itemClasses.members[itemClass].count }
        }
        let slots = mentors.indices.map { min(max(mentors[$0].capacity, 0) - active[$0], eligible[mentorClasses.of[$0]]) }
        let mentorNumber = Dictionary(mentors.indices.map { (mentors[$0].id, $0) }, uniquingKeysWith: { first, _ in first })
        keptPair = items.indices.map { index -> (mentor: Int, fit: Int)? in
            guard let id = batch.currentMentor[items[index].youngPersonID], let mentor = mentorNumber[id], slots[mentor] > 0,
                let fit = classCandidates[itemClasses.of[index]].first(where: { $0.mentorClass == mentorClasses.of[mentor] })?.fit
            else { return nil }
            return (mentor, fit)
        }
        let largestUnit = mentors.indices.map { slots[$0] > 0 ? 2 * (active[$0] + slots[$0]) - 1 : 0 }.max() ?? 0
        keepScale = items.count * largestUnit + 1
        fitScale = (items.count + 1) * keepScale
        self.items = items
        self.mentors = mentors
        currentMentor = batch.currentMentor
        (itemClass, classItems) = (itemClasses.of, itemClasses.members)
        (mentorClass, classMentors) = (mentorClasses.of, mentorClasses.members)
        self.classCandidates = classCandidates
        self.active = active
        self.slots = slots
    }

    private struct ClassKey: Hashable {
        var site: String
        var fields: [Int]
    }

    /// Numbers the distinct keys in order of first appearance: each index's class, each class's
    /// indices, each class's key.
    private static func classes(_ keys: [ClassKey]) -> (of: [Int], members: [[Int]], keys: [ClassKey]) {
        var number: [ClassKey: Int] = [:]
        var of: [Int] = []
        var members: [[Int]] = []
        var ordered: [ClassKey] = []
        for (index, key) in keys.enumerated() {
            if let known = number[key] {
                of.append(known)
                members[known].append(index)
            } else {
                number[key] = members.count
                of.append(members.count)
                members.append([index])
                ordered.append(key)
            }
        }
        return (of, members, ordered)
    }

    /// Common elements of two sorted lists.
    private static func shared(_ a: [Int], _ b: [Int]) -> Int {
        var (i, j, count) = (0, 0, 0)
        while i < a.count, j < b.count {
            if a[i] == b[j] {
                count += 1
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return count
    }

    /// The cost of a pair.
    func pairCost(fit: Int, kept: Bool) -> Int { -(fit * fitScale + (kept ? keepScale : 0)) }

    /// Mentor -> sink: the k-th new mentee costs `2 * (active + k) - 1`.
    func addLoadEdges(_ graph: inout MinCostFlow, mentorNode: (Int) -> Int, sink: Int) {
        for mentor in mentors.indices where slots[mentor] > 0 {
            graph.addConvexEdge(from: mentorNode(mentor), to: sink, capacity: slots[mentor], firstCost: 2 * active[mentor] + 1, step: 2)
        }
    }

    /// Each item's mentor (-1 for none), from a flow over classes. Nodes in topological order:
    /// source, item classes, mentor classes, mentors, sink. An item class has an edge to each
    /// mentor class it shares a field with, and a kept edge straight to each current mentor of
    /// its items, carrying at most as many as have that current mentor: a matching's kept pairs
    /// fit in those edges, and a flow's kept units go to exactly such items.
    func solveByClasses() -> [Int] {
        var keptNumber: [Int: Int] = [:]  // class * mentors + mentor -> kept edge
        var kept: [(itemClass: Int, mentor: Int, fit: Int, items: [Int])] = []
        for index in items.indices {
            guard let pair = keptPair[index] else { continue }
            let key = itemClass[index] * mentors.count + pair.mentor
            if let known = keptNumber[key] {
                kept[known].items.append(index)
            } else {
                keptNumber[key] = kept.count
                kept.append((itemClass[index], pair.mentor, pair.fit, [index]))
            }
        }
        let keptOfClass = Dictionary(grouping: kept.indices, by: { kept[$0].itemClass })
        let source = 0
        func classNode(_ itemClass: Int) -> Int { 1 + itemClass }
        func mentorClassNode(_ mentorClass: Int) -> Int { 1 + classItems.count + mentorClass }
        func mentorNode(_ mentor: Int) -> Int { 1 + classItems.count + classMentors.count + mentor }
        let sink = 1 + classItems.count + classMentors.count + mentors.count
        var classSlots = Array(repeating: 0, count: classMentors.count)
        for mentor in mentors.indices { classSlots[mentorClass[mentor]] += slots[mentor] }

        var graph = MinCostFlow(nodes: sink + 1)
        var keptEdges: [Int] = Array(repeating: -1, count: kept.count)
        var classEdges: [[(itemClass: Int, edge: Int)]] = Array(repeating: [], count: classMentors.count)
        for (itemClass, members) in classItems.enumerated() {
            graph.addEdge(from: source, to: classNode(itemClass), capacity: members.count, cost: 0)
            for index in keptOfClass[itemClass] ?? [] {
                keptEdges[index] = graph.addEdge(
                    from: classNode(itemClass), to: mentorNode(kept[index].mentor), capacity: kept[index].items.count,
                    cost: pairCost(fit: kept[index].fit, kept: true))
            }
            for candidate in classCandidates[itemClass] where classSlots[candidate.mentorClass] > 0 {
                let edge = graph.addEdge(
                    from: classNode(itemClass), to: mentorClassNode(candidate.mentorClass), capacity: min(members.count, classSlots[candidate.mentorClass]),
                    cost: pairCost(fit: candidate.fit, kept: false))
                classEdges[candidate.mentorClass].append((itemClass, edge))
            }
        }
        var fanEdges = Array(repeating: -1, count: mentors.count)
        for mentor in mentors.indices where slots[mentor] > 0 {
            fanEdges[mentor] = graph.addEdge(from: mentorClassNode(mentorClass[mentor]), to: mentorNode(mentor), capacity: slots[mentor], cost: 0)
        }
        addLoadEdges(&graph, mentorNode: mentorNode, sink: sink)
        _ = graph.minimiseCost(source: source, sink: sink)

        // Kept units: the first items (id order) with that class and current mentor.
        var mentorOf = Array(repeating: -1, count: items.count)
        for (index, value) in kept.enumerated() {
            for item in value.items.prefix(graph.flow(on: keptEdges[index])) { mentorOf[item] = value.mentor }
        }
        // Each mentor class's units in from item classes meet its units out to mentors, in order.
        var targets: [[(mentor: Int, count: Int)]] = Array(repeating: [], count: classItems.count)
        for (mentorClass, incoming) in classEdges.enumerated() {
            var inflow = incoming.map { (itemClass: $0.itemClass, left: graph.flow(on: $0.edge)) }.filter { $0.left > 0 }
            var next = 0
            for mentor in classMentors[mentorClass] where fanEdges[mentor] >= 0 {
                var outflow = graph.flow(on: fanEdges[mentor])
                while outflow > 0, next < inflow.count {
                    let amount = min(outflow, inflow[next].left)
                    targets[inflow[next].itemClass].append((mentor, amount))
                    outflow -= amount
                    inflow[next].left -= amount
                    if inflow[next].left == 0 { next += 1 }
                }
            }
        }
        // The class's other items in id order to its other units' mentors in id order.
        for (itemClass, list) in targets.enumerated() {
            let members = classItems[itemClass].filter { mentorOf[$0] < 0 }
            var next = 0
            for target in list.sorted(by: { $0.mentor < $1.mentor }) {
                for _ in 0..<target.count where next < members.count {
                    mentorOf[members[next]] = target.mentor
                    next += 1
                }
            }
        }
        return mentorOf
    }

    /// Each item's mentor (-1 for none), from a flow with a node for every item: source, items,
    /// mentors, sink.
    func solveByItems() -> [Int] {
        let source = 0
        func itemNode(_ index: Int) -> Int { 1 + index }
        func mentorNode(_ index: Int) -> Int { 1 + items.count + index }
        let sink = 1 + items.count + mentors.count
        var graph = MinCostFlow(nodes: sink + 1)
        var pairEdges: [[(mentor: Int, edge: Int)]] = []
        for index in items.indices {
            graph.addEdge(from: source, to: itemNode(index), capacity: 1, cost: 0)
            var list: [(mentor: Int, edge: Int)] = []
            for candidate in classCandidates[itemClass[index]] {
                for mentor in classMentors[candidate.mentorClass] where slots[mentor] > 0 {
                    let kept = currentMentor[items[index].youngPersonID] == mentors[mentor].id
                    let edge = graph.addEdge(from: itemNode(index), to: mentorNode(mentor), capacity: 1, cost: pairCost(fit: candidate.fit, kept: kept))
                    list.append((mentor, edge))
                }
            }
            pairEdges.append(list)
        }
        addLoadEdges(&graph, mentorNode: mentorNode, sink: sink)
        _ = graph.minimiseCost(source: source, sink: sink)
        return pairEdges.map { list in list.first { graph.flow(on: $0.edge) > 0 }?.mentor ?? -1 }
    }

    /// Assignments and refusals from each item's mentor.
    func matching(mentorOf: [Int]) -> MentorMatcher.Matching {
        var assignments: [MentorAssignment] = []
        var refusals: [MentorRefusal] = []
        for (index, item) in items.enumerated() {
            let mentor = mentorOf[index]
            if mentor >= 0, let candidate = classCandidates[itemClass[index]].first(where: { $0.mentorClass == mentorClass[mentor] }) {
                let mentorID = mentors[mentor].id
                assignments.append(
                    MentorAssignment(
                        youngPersonID: item.youngPersonID, mentorID: mentorID, fit: candidate.fit, kept: currentMentor[item.youngPersonID] == mentorID))
            } else {
                let reason: MentorRefusalReason = classCandidates[itemClass[index]].isEmpty ? .noMentorWithFields : .mentorsFull
                refusals.append(MentorRefusal(youngPersonID: item.youngPersonID, reason: reason, sessions: item.sessions))
            }
        }
        return MentorMatcher.Matching(assignments: assignments, refusals: refusals)
    }
}
