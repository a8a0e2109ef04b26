/// A step function over integer positions, stored as the points where it changes: a treap keyed
/// by position whose nodes hold the change (`delta`) there, their subtree's total change and its
/// largest prefix sum. The function's value at `p` is the sum of the changes at positions <= p.
///
/// Adding a change, reading a value, and finding the largest value over a range, or the first or
/// last position in a range where the value reaches a threshold, each take O(log n) expected
/// time for n change points; memory is O(n), 28 bytes a change point (positions and counts are
/// kept as 32-bit numbers; arithmetic is done in `Int`, and a count past 32 bits saturates
/// instead of wrapping, so it still reads as over any capacity).
struct StepTree: Sendable, Hashable {
    private struct Node: Sendable, Hashable {
        var key: Int32
        var delta: Int32
        var sum: Int32
        /// Largest sum over the non-empty prefixes of the subtree, in key order.
        var maxPrefix: Int32
        var priority: UInt32
        var left: Int32
        var right: Int32
    }

    private var nodes: [Node] = []
    private var root = -1
    private var seed: UInt64 = 0x2545_f491_4f6c_dd1d

    var isEmpty: Bool { root < 0 }
    var nodeCount: Int { nodes.count }

    private static let none = Int.min / 4

    private func key(_ node: Int) -> Int { Int(nodes[node].key) }
    private func delta(_ node: Int) -> Int { Int(nodes[node].delta) }
    private func left(_ node: Int) -> Int { Int(nodes[node].left) }
    private func right(_ node: Int) -> Int { Int(nodes[node].right) }
    private func sum(_ node: Int) -> Int { node < 0 ? 0 : Int(nodes[node].sum) }
    private func maxPrefix(_ node: Int) -> Int { node < 0 ? Self.none : Int(nodes[node].maxPrefix) }

    private mutating func pull(_ node: Int) {
        let l = left(node), r = right(node)
        let throughNode = sum(l) + delta(node)
        nodes[node].sum = Int32(clamping: throughNode + sum(r))
        nodes[node].maxPrefix = Int32(clamping: max(maxPrefix(l), throughNode, throughNode + maxPrefix(r)))
    }

    private mutating func nextPriority() -> UInt32 {
        // xorshift64*: deterministic, so equal histories give equal trees.
        seed ^= seed >> 12
        seed ^= seed << 25
        seed ^= seed >> 27
        return UInt32(truncatingIfNeeded: (seed &* 0x2545_f491_4f6c_dd1d) >> 32)
    }

    /// Splits `node` into keys < `key` and keys >= `key`.
    private mutating func split(_ node: Int, _ key: Int) -> (Int, Int) {
        guard node >= 0 else { return (-1, -1) }
        if self.key(node) < key {
            let (a, b) = split(right(node), key)
            nodes[node].right = Int32(a)
            pull(node)
            return (node, b)
        } else {
            let (a, b) = split(left(node), key)
            nodes[node].left = Int32(b)
            pull(node)
            return (a, node)
        }
    }

    /// Joins two trees, every key of `a` below every key of `b`.
    private mutating func merge(_ a: Int, _ b: Int) -> Int {
        if a < 0 { return b }
        if b < 0 { return a }
        if nodes[a].priority > nodes[b].priority {
            nodes[a].right = Int32(merge(right(a), b))
            pull(a)
            return a
        } else {
            nodes[b].left = Int32(merge(a, left(b)))
            pull(b)
            return b
        }
    }

    /// Adds `delta` to the function from `key` on. Keys must fit in 32 bits (week numbers do).
    mutating func add(_ delta: Int, at key: Int) {
        let (below, rest) = split(root, key)
        var (middle, above) = split(rest, key + 1)
        if middle < 0 {
            middle = nodes.count
            let value = Int32(clamping: delta)
            nodes.append(Node(key: Int32(truncatingIfNeeded: key), delta: value, sum: value, maxPrefix: value, priority: nextPriority(), left: -1, right: -1))
        } else {
            nodes[middle].delta = Int32(clamping: self.delta(middle) + delta)
            pull(middle)
        }
        root = merge(merge(below, middle), above)
    }

    /// The sum of the changes at keys < `key`.
    func sum(below key: Int) -> Int {
        var node = root, total = 0
        while node >= 0 {
            if self.key(node) < key {
                total += sum(left(node)) + delta(node)
                node = right(node)
            } else {
                node = left(node)
            }
        }
        return total
    }

    /// The function's value at `key`.
    func value(at key: Int) -> Int { sum(below: key + 1) }

    /// Sum and largest non-empty prefix sum of the changes at keys in `low...high`, within the
    /// subtree at `node` whose keys all lie strictly between `floor` and `ceiling`.
    private func aggregate(_ node: Int, _ low: Int, _ high: Int, _ floor: Int, _ ceiling: Int) -> (sum: Int, maxPrefix: Int) {
        guard node >= 0, floor < high, ceiling > low else { return (0, Self.none) }
        if low <= floor + 1, ceiling - 1 <= high { return (sum(node), maxPrefix(node)) }
        let key = self.key(node)
        let l = aggregate(left(node), low, high, floor, key)
        var sum = l.sum, best = l.maxPrefix
        if key >= low, key <= high {
            sum += delta(node)
            best = max(best, sum)
        }
        let r = aggregate(right(node), low, high, key, ceiling)
        best = max(best, sum + r.maxPrefix)
        return (sum + r.sum, best)
    }

    /// The largest value over `low...high`.
    func maximum(_ low: Int, _ high: Int) -> Int {
        let base = value(at: low)
        guard high > low else { return base }
        return max(base, base + aggregate(root, low + 1, high, Int.min, Int.max).maxPrefix)
    }

    /// The first position in `low...high` where the value is at least `threshold`.
    func first(atLeast threshold: Int, _ low: Int, _ high: Int) -> Int? {
        let base = value(at: low)
        if base >= threshold { return low }
        guard high > low else { return nil }
        return findFirst(root, low + 1, high, Int.min, Int.max, base, threshold).key
    }

    private func findFirst(_ node: Int, _ low: Int, _ high: Int, _ floor: Int, _ ceiling: Int, _ offset: Int, _ threshold: Int) -> (key: Int?, sum: Int) {
        guard node >= 0, floor < high, ceiling > low else { return (nil, 0) }
        if low <= floor + 1, ceiling - 1 <= high {
            guard offset + maxPrefix(node) >= threshold else { return (nil, sum(node)) }
            var current = node, running = offset
            while current >= 0 {
                let l = left(current)
                if l >= 0, running + maxPrefix(l) >= threshold {
                    current = l
                    continue
                }
                running += sum(l) + delta(current)
                if running >= threshold { return (key(current), 0) }
                current = right(current)
            }
            return (nil, sum(node))
        }
        let key = self.key(node)
        let l = findFirst(left(node), low, high, floor, key, offset, threshold)
        if l.key != nil { return l }
        var consumed = l.sum
        if key >= low, key <= high {
            consumed += delta(node)
            if offset + consumed >= threshold { return (key, 0) }
        }
        let r = findFirst(right(node), low, high, key, ceiling, offset + consumed, threshold)
        if r.key != nil { return r }
        return (nil, consumed + r.sum)
    }

    /// The last position in `low...high` where the value is at least `threshold`.
    func last(atLeast threshold: Int, _ low: Int, _ high: Int) -> Int? {
        let base = value(at: low)
        let found = high > low ? findLast(root, low + 1, high, Int.min, Int.max, base, threshold) : nil
        // After the last change point that reaches the threshold (or from `low`, if none does but
        // the value there already does), the value holds until the next change point.
        let from: Int
        if let found { from = found } else if base >= threshold { from = low } else { return nil }
        guard let next = firstKey(after: from), next <= high else { return high }
        return next - 1
    }

    private func findLast(_ node: Int, _ low: Int, _ high: Int, _ floor: Int, _ ceiling: Int, _ offset: Int, _ threshold: Int) -> Int? {
        guard node >= 0, floor < high, ceiling > low else { return nil }
        if low <= floor + 1, ceiling - 1 <= high {
            guard offset + maxPrefix(node) >= threshold else { return nil }
            var current = node, running = offset
            while current >= 0 {
                let l = left(current), r = right(current)
                let through = running + sum(l) + delta(current)
                if r >= 0, through + maxPrefix(r) >= threshold {
                    running = through
                    current = r
                } else if through >= threshold {
                    return key(current)
                } else {
                    current = l
                }
            }
            return nil
        }
        let key = self.key(node)
        var through = offset + aggregate(left(node), low, high, floor, key).sum
        if key >= low, key <= high { through += delta(node) }
        if let found = findLast(right(node), low, high, key, ceiling, through, threshold) { return found }
        if key >= low, key <= high, through >= threshold { return key }
        return findLast(left(node), low, high, floor, key, offset, threshold)
    }

    /// The function over `low...high` as pieces: the value from `low`, then the value from each
    /// change point in the range on. O(k + log n) for k change points in the range.
    func pieces(_ low: Int, _ high: Int) -> [(start: Int, value: Int)] {
        var result = [(start: low, value: value(at: low))]
        var running = result[0].value
        collect(root, low, high, &running, &result)
        return result
    }

    /// Appends, in key order, each change point in `low+1...high` of the subtree with the value after it.
    private func collect(_ node: Int, _ low: Int, _ high: Int, _ running: inout Int, _ result: inout [(start: Int, value: Int)]) {
        guard node >= 0 else { return }
        let key = self.key(node)
        if key > low + 1 { collect(left(node), low, high, &running, &result) }
        if key > low, key <= high {
            running += delta(node)
            result.append((key, running))
        }
        if key < high { collect(right(node), low, high, &running, &result) }
    }

    private func firstKey(after key: Int) -> Int? {
        var node = root
        var best: Int?
        while node >= 0 {
            if self.key(node) > key {
                best = self.key(node)
                node = left(node)
            } else {
                node = right(node)
            }
        }
        return best
    }
}
