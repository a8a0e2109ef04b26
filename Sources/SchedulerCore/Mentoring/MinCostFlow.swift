/// Minimum-cost flow by successive shortest paths with potentials (Dijkstra on reduced costs),
/// Bellman-Ford for the first potentials so edges may have negative costs (no negative
/// cycle). `minimiseCost` sends flow only while the next path lowers the cost: the cheapest
/// flow of any value, not the cheapest maximum flow. Ties go to lower node numbers, so the same
/// graph built in the same order gives the same flow.
struct MinCostFlow {
    struct Edge {
        var to: Int
        /// Index of the reverse edge in `edges[to]`.
        var reverse: Int
        var capacity: Int
        var cost: Int
    }

    private(set) var edges: [[Edge]]

    init(nodes: Int) { edges = Array(repeating: [], count: nodes) }

    /// The edge's place, for `flow(at:)`.
    @discardableResult
    mutating func addEdge(from: Int, to: Int, capacity: Int, cost: Int) -> (node: Int, index: Int) {
        let index = edges[from].count
        edges[from].append(Edge(to: to, reverse: edges[to].count, capacity: capacity, cost: cost))
        edges[to].append(Edge(to: from, reverse: index, capacity: 0, cost: -cost))
        return (from, index)
    }

    /// Flow on an edge added with `addEdge`: what its reverse edge holds.
    func flow(at place: (node: Int, index: Int)) -> Int {
        let edge = edges[place.node][place.index]
        return edges[edge.to][edge.reverse].capacity
    }

    /// Augments along cheapest paths from `source` to `sink` while a path has negative cost;
    /// returns the flow sent. Distances stay within the node count times the largest edge cost.
    mutating func minimiseCost(source: Int, sink: Int) -> Int {
        let count = edges.count
        let infinity = Int.max / 4
        var potential = initialPotentials(source: source, infinity: infinity)
        var flow = 0
        var distance = Array(repeating: infinity, count: count)
        var parent = Array(repeating: (node: -1, index: -1), count: count)
        var heap = NodeHeap()
        while true {
            for node in 0..<count { distance[node] = infinity }
            distance[source] = 0
            heap.push(0, source)
            while let (d, node) = heap.pop() {
                guard d == distance[node] else { continue }
                for (index, edge) in edges[node].enumerated() where edge.capacity > 0 && potential[edge.to] < infinity {
                    let next = d + edge.cost + potential[node] - potential[edge.to]
                    if next < distance[edge.to] {
                        distance[edge.to] = next
                        parent[edge.to] = (node, index)
                        heap.push(next, edge.to)
                    }
                }
            }
            guard distance[sink] < infinity else { break }
            let pathCost = distance[sink] + potential[sink] - potential[source]
            guard pathCost < 0 else { break }
            for node in 0..<count where distance[node] < infinity { potential[node] += distance[node] }
            var amount = infinity
            var node = sink
            while node != source {
                let (from, index) = parent[node]
                amount = min(amount, edges[from][index].capacity)
                node = from
            }
            node = sink
            while node != source {
                let (from, index) = parent[node]
                edges[from][index].capacity -= amount
                let edge = edges[from][index]
                edges[edge.to][edge.reverse].capacity += amount
                node = from
            }
            flow += amount
        }
        return flow
    }

    /// Shortest distances from `source` over edges with capacity (Bellman-Ford, passes in node
    /// order: a graph numbered in topological order settles in one pass); `infinity` where
    /// unreachable.
    private func initialPotentials(source: Int, infinity: Int) -> [Int] {
        var distance = Array(repeating: infinity, count: edges.count)
        distance[source] = 0
        for _ in 0..<edges.count {
            var changed = false
            for node in edges.indices where distance[node] < infinity {
                for edge in edges[node] where edge.capacity > 0 && distance[node] + edge.cost < distance[edge.to] {
                    distance[edge.to] = distance[node] + edge.cost
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
