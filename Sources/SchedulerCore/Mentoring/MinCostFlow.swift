/// Minimum-cost flow by the primal-dual method: Dijkstra on reduced costs (potentials from one
/// Bellman-Ford pass, so edges may cost less than zero but no cycle may) finds the cheapest
/// path's cost; then a blocking-flow max flow (Dinic) pushes as much as the edges of zero
/// reduced cost carry, all of it at that cost. `minimiseCost` goes on while that cost is below
/// zero: the cheapest flow of any value, not the cheapest maximum flow.
///
/// A convex edge (`addConvexEdge`) carries units whose costs rise by a fixed step (a mentor's
/// k-th mentee costs more than the (k-1)-th) in one edge instead of one parallel edge a unit:
/// its residual forward edge offers the next unit, its reverse edge gives back the last one.
///
/// Edges are searched in the order they were added and ties go to lower node numbers, so the
/// same graph built in the same order gives the same flow.
struct MinCostFlow {
    private typealias Convex = (total: Int, firstCost: Int, step: Int)

    let nodes: Int
    /// By edge id, in the order added.
    private var tails: [Int] = []
    private var heads: [Int] = []
    private var capacities: [Int] = []
    private var costs: [Int] = []
    private var convexEdges: [Convex?] = []
    /// What `minimiseCost` sent on each edge.
    private var flows: [Int] = []

    init(nodes: Int) { self.nodes = nodes }

    /// Returns the edge's id, for `flow(on:)`.
    @discardableResult
    mutating func addEdge(from: Int, to: Int, capacity: Int, cost: Int) -> Int {
        tails.append(from)
        heads.append(to)
        capacities.append(max(0, capacity))
        costs.append(cost)
        convexEdges.append(nil)
        flows.append(0)
        return tails.count - 1
    }

    /// An edge of `capacity` units, the k-th (from 1) costing `firstCost + (k - 1) * step`
    /// (`step >= 0`).
    @discardableResult
    mutating func addConvexEdge(from: Int, to: Int, capacity: Int, firstCost: Int, step: Int) -> Int {
        let id = addEdge(from: from, to: to, capacity: capacity, cost: firstCost)
        convexEdges[id] = (max(0, capacity), firstCost, max(0, step))
        return id
    }

    /// Flow on an edge, once `minimiseCost` has run.
    func flow(on id: Int) -> Int { flows[id] }

    /// A convex edge's residual edges from its flow (capacity and cost forward, then reverse):
    /// forward the next unit (all the rest when every unit costs the same), reverse the last
    /// unit sent.
    private static func residual(of edge: Convex, flow: Int) -> (Int, Int, Int, Int) {
        (
            flow < edge.total ? (edge.step == 0 ? edge.total - flow : 1) : 0, edge.firstCost + flow * edge.step,
            flow > 0 ? (edge.step == 0 ? flow : 1) : 0, -(edge.firstCost + (flow - 1) * edge.step)
        )
    }

    /// Sends flow from nothing while the cheapest path from `source` to `sink` costs less than
    /// zero; returns the flow sent. Distances stay within the node count times the largest edge
    /// cost.
    mutating func minimiseCost(source: Int, sink: Int) -> Int {
        // Residual edges in slots grouped by tail node (each edge's forward slot among its tail's
        // in the order added, its reverse slot among its head's), so a node's edges lie together.
        var start = Array(repeating: 0, count: nodes + 1)
        for edge in tails.indices {
            start[tails[edge] + 1] += 1
            start[heads[edge] + 1] += 1
        }
        for node in 0..<nodes { start[node + 1] += start[node] }
        let slots = start[nodes]
        var fill = start
        var forwardSlot = Array(repeating: 0, count: tails.count)
        var head = Array(repeating: 0, count: slots)
        var capacity = Array(repeating: 0, count: slots)
        var cost = Array(repeating: 0, count: slots)
        var partner = Array(repeating: 0, count: slots)
        var convexOf = Array(repeating: -1, count: slots)
        for edge in tails.indices {
            let (from, to) = (tails[edge], heads[edge])
            let (forward, reverse) = (fill[from], fill[to])
            fill[from] += 1
            fill[to] += 1
            forwardSlot[edge] = forward
            (head[forward], head[reverse]) = (to, from)
            (partner[forward], partner[reverse]) = (reverse, forward)
            if let convex = convexEdges[edge] {
                (capacity[forward], cost[forward], capacity[reverse], cost[reverse]) = Self.residual(of: convex, flow: 0)
                (convexOf[forward], convexOf[reverse]) = (edge, edge)
            } else {
                (capacity[forward], cost[forward], capacity[reverse], cost[reverse]) = (capacities[edge], costs[edge], 0, -costs[edge])
            }
        }
        var convexFlow = Array(repeating: 0, count: tails.count)

        let infinity = Int.max / 4
        var potential = Self.distances(from: source, nodes: nodes, start: start, head: head, capacity: capacity, cost: cost, infinity: infinity)
        guard potential[sink] < infinity else { return 0 }
        // Nodes the source cannot reach keep potential 0: every edge into them stays empty.
        for node in 0..<nodes where potential[node] == infinity { potential[node] = 0 }

        var distance = Array(repeating: infinity, count: nodes)
        var done = Array(repeating: false, count: nodes)
        var level = Array(repeating: -1, count: nodes)
        var next = Array(repeating: 0, count: nodes)
        var queue = Array(repeating: 0, count: nodes)
        // A node's edges of zero reduced cost, in its own slots: listed once a phase, when the
        // breadth-first search first reaches the node.
        var zero = Array(repeating: 0, count: slots)
        var zeroEnd = start
        var listed = Array(repeating: 0, count: nodes)
        var phase = 0
        var path: [Int] = []
        var heap = NodeHeap()
        var flow = 0
        while true {
            // Cheapest reduced distances, stopping at the sink: nodes not settled by then get the
            // sink's distance, which keeps every reduced cost at zero or more.
            for node in 0..<nodes {
                distance[node] = infinity
                done[node] = false
            }
            distance[source] = 0
            heap.removeAll()
            heap.push(0, source)
            while let (d, node) = heap.pop() {
                guard !done[node] else { continue }
                done[node] = true
                if node == sink { break }
                let base = d + potential[node]
                for slot in start[node]..<start[node + 1] {
                    let to = head[slot]
                    guard capacity[slot] > 0, !done[to] else { continue }
                    let candidate = base + cost[slot] - potential[to]
                    // Nothing at or past the sink's distance so far is settled before the sink.
                    if candidate < distance[to], candidate < distance[sink] || to == sink {
                        distance[to] = candidate
                        heap.push(candidate, to)
                    }
                }
            }
            guard done[sink] else { break }
            let reach = distance[sink]
            guard reach + potential[sink] - potential[source] < 0 else { break }
            for node in 0..<nodes { potential[node] += done[node] ? distance[node] : reach }
            phase += 1

            // Max flow over edges of zero reduced cost (Dinic: levels by breadth-first search,
            // then paths along rising levels, each node's edges tried once per round). Their
            // costs stay put in a phase but for a convex edge's, whose next unit costs more once
            // one is sent: every step checks the reduced cost.
            while true {
                for node in 0..<nodes { level[node] = -1 }
                level[source] = 0
                queue[0] = source
                var read = 0
                var write = 1
                while read < write {
                    let node = queue[read]
                    read += 1
                    if level[sink] >= 0, level[node] >= level[sink] { break }
                    if listed[node] != phase {
                        listed[node] = phase
                        var end = start[node]
                        for slot in start[node]..<start[node + 1] where cost[slot] + potential[node] - potential[head[slot]] == 0 {
                            zero[end] = slot
                            end += 1
                        }
                        zeroEnd[node] = end
                    }
                    for index in start[node]..<zeroEnd[node] {
                        let slot = zero[index]
                        let to = head[slot]
                        guard level[to] < 0, capacity[slot] > 0, cost[slot] + potential[node] - potential[to] == 0 else { continue }
                        level[to] = level[node] + 1
                        queue[write] = to
                        write += 1
                    }
                }
                guard level[sink] >= 0 else { break }
                for node in 0..<nodes { next[node] = start[node] }
                path.removeAll(keepingCapacity: true)
                var node = source
                while true {
                    if node == sink {
                        var amount = infinity
                        for slot in path { amount = min(amount, capacity[slot]) }
                        for slot in path {
                            let edge = convexOf[slot]
                            guard edge >= 0, let convex = convexEdges[edge] else {
                                capacity[slot] -= amount
                                capacity[partner[slot]] += amount
                                continue
                            }
                            convexFlow[edge] += slot == forwardSlot[edge] ? amount : -amount
                            let (forward, reverse) = (forwardSlot[edge], partner[forwardSlot[edge]])
                            (capacity[forward], cost[forward], capacity[reverse], cost[reverse]) = Self.residual(of: convex, flow: convexFlow[edge])
                        }
                        flow += amount
                        // Back to the tail of the first edge that carries no more at this cost
                        // (full, or a convex edge whose next unit costs more).
                        let stop = path.firstIndex { slot in
                            capacity[slot] == 0 || cost[slot] + potential[head[partner[slot]]] - potential[head[slot]] != 0
                        }
                        let keep = stop ?? 0
                        path.removeSubrange(keep...)
                        node = keep == 0 ? source : head[path[keep - 1]]
                        continue
                    }
                    var advanced = false
                    while next[node] < zeroEnd[node] {
                        let slot = zero[next[node]]
                        let to = head[slot]
                        if capacity[slot] > 0, level[to] == level[node] + 1, cost[slot] + potential[node] - potential[to] == 0,
                            to == sink || level[to] < level[sink]
                        {
                            path.append(slot)
                            node = to
                            advanced = true
                            break
                        }
                        next[node] += 1
                    }
                    if advanced { continue }
                    // A dead end: no path goes on from here this round.
                    level[node] = -1
                    guard let last = path.popLast() else { break }
                    node = head[partner[last]]
                    next[node] += 1
                }
            }
        }
        for edge in tails.indices { flows[edge] = convexEdges[edge] == nil ? capacity[partner[forwardSlot[edge]]] : convexFlow[edge] }
        return flow
    }

    /// Shortest distances from `source` over edges with capacity (Bellman-Ford, passes in node
    /// order: a graph numbered in topological order settles in one pass); `infinity` where
    /// unreachable.
    private static func distances(from source: Int, nodes: Int, start: [Int], head: [Int], capacity: [Int], cost: [Int], infinity: Int) -> [Int] {
        var distance = Array(repeating: infinity, count: nodes)
        distance[source] = 0
        for _ in 0..<nodes {
            var changed = false
            for node in 0..<nodes where distance[node] < infinity {
                for slot in start[node]..<start[node + 1] where capacity[slot] > 0 && distance[node] + cost[slot] < distance[head[slot]] {
                    distance[head[slot]] = distance[node] + cost[slot]
                    changed = true
                }
            }
            if !changed { break }
        }
        return distance
    }
}

/// A binary min-heap of (distance, node), ties by node.
private struct NodeHeap {
    private var items: [(Int, Int)] = []

    private static func less(_ a: (Int, Int), _ b: (Int, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ distance: Int, _ node: Int) {
        items.append((distance, node))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Int, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count, Self.less(items[left], items[smallest]) { smallest = left }
                if right < items.count, Self.less(items[right], items[smallest]) { smallest = right }
                guard smallest != parent else { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
