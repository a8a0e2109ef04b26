/// A step function over integer positions, stored as the points where it changes: a treap keyed
/// by position whose nodes hold the change (`delta`) there, their subtree's total change and its
/// largest prefix sum. The function's value at `p` is the sum of the changes at positions <= p.
///
/// Adding a change, reading a value, and finding the largest value over a range, or the first or
/// last position in a range where the value reaches a threshold, each take O(log n) expected
/// time for n change points; memory is O(n).
struct StepTree: Sendable, Hashable {
    private var keys: [Int] = []
    private var deltas: [Int] = []
    private var sums: [Int] = []
    /// Largest sum over the non-empty prefixes of the subtree, in key order.
    private var maxPrefixes: [Int] = []
    private var priorities: [UInt32] = []
    private var lefts: [Int] = []
    private var rights: [Int] = []
    private var root = -1
    private var seed: UInt64 = 0x2545_f491_4f6c_dd1d

    var isEmpty: Bool { root < 0 }
    var nodeCount: Int { keys.count }

    private func sum(_ node: Int) -> Int { node < 0 ? 0 : sums[node] }
    private func maxPrefix(_ node: Int) -> Int { node < 0 ? Int.min / 4 : maxPrefixes[node] }

    private mutating func pull(_ node: Int) {
        let left = lefts[node], right = rights[node]
        let throughNode = sum(left) + deltas[node]
        sums[node] = throughNode + sum(right)
        maxPrefixes[node] = max(maxPrefix(left), throughNode, throughNode + maxPrefix(right))
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
        if keys[node] < key {
            let (a, b) = split(rights[node], key)
            rights[node] = a
            pull(node)
            return (node, b)
        } else {
            let (a, b) = split(lefts[node], key)
            lefts[node] = b
            pull(node)
            return (a, node)
        }
    }

    /// Joins two trees, every key of `a` below every key of `b`.
    private mutating func merge(_ a: Int, _ b: Int) -> Int {
        if a < 0 { return b }
        if b < 0 { return a }
        if priorities[a] > priorities[b] {
            rights[a] = merge(rights[a], b)
            pull(a)
            return a
        } else {
            lefts[b] = merge(a, lefts[b])
            pull(b)
            return b
        }
    }

    /// Adds `delta` to the function from `key` on.
    mutating func add(_ delta: Int, at key: Int) {
        let (below, rest) = split(root, key)
        var (middle, above) = split(rest, key + 1)
        if middle < 0 {
            middle = keys.count
            keys.append(key)
            deltas.append(delta)
            sums.append(delta)
            maxPrefixes.append(delta)
            priorities.append(nextPriority())
            lefts.append(-1)
            rights.append(-1)
        } else {
            deltas[middle] += delta
            pull(middle)
        }
        root = merge(merge(below, middle), above)
    }

    /// The sum of the changes at keys < `key`.
    func sum(below key: Int) -> Int {
        var node = root, total = 0
        while node >= 0 {
            if keys[node] < key {
                total += sum(lefts[node]) + deltas[node]
                node = rights[node]
            } else {
                node = lefts[node]
            }
        }
        return total
    }

    /// The function's value at `key`.
    func value(at key: Int) -> Int { sum(below: key + 1) }

    /// Sum and largest non-empty prefix sum of the changes at keys in `low...high`, within the
    /// subtree at `node` whose keys all lie strictly between `floor` and `ceiling`.
    private func aggregate(_ node: Int, _ low: Int, _ high: Int, _ floor: Int, _ ceiling: Int) -> (sum: Int, maxPrefix: Int) {
        guard node >= 0, floor < high, ceiling > low else { return (0, Int.min / 4) }
        if low <= floor + 1, ceiling - 1 <= high { return (sums[node], maxPrefixes[node]) }
        let key = keys[node]
        let left = aggregate(lefts[node], low, high, floor, key)
        var sum = left.sum, best = left.maxPrefix
        if key >= low, key <= high {
            sum += deltas[node]
            best = max(best, sum)
        }
        let right = aggregate(rights[node], low, high, key, ceiling)
        best = max(best, sum + right.maxPrefix)
        return (sum + right.sum, best)
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
            guard offset + maxPrefixes[node] >= threshold else { return (nil, sums[node]) }
            var current = node, running = offset
            while current >= 0 {
                let left = lefts[current]
                if left >= 0, running + maxPrefix(left) >= threshold {
                    current = left
                    continue
                }
                running += sum(left) + deltas[current]
                if running >= threshold { return (keys[current], 0) }
                current = rights[current]
            }
            return (nil, sums[node])
        }
        let key = keys[node]
        let left = findFirst(lefts[node], low, high, floor, key, offset, threshold)
        if left.key != nil { return left }
        var consumed = left.sum
        if key >= low, key <= high {
            consumed += deltas[node]
            if offset + consumed >= threshold { return (key, 0) }
        }
        let right = findFirst(rights[node], low, high, key, ceiling, offset + consumed, threshold)
        if right.key != nil { return right }
        return (nil, consumed + right.sum)
    }

    /// The last position in `low...high` where the value is at least `threshold`.
    func last(atLeast threshold: Int, _ low: Int, _ high: Int) -> Int? {
        let base = value(at: low)
        let found = high > low ? findLast(root, low + 1, high, Int.min, Int.max, base, threshold) : nil
        // After the last change point that reaches the threshold (or from `low`, if none does but
        // the value there already does), the value holds until the next change point.
        let from: Int
        if let found { from = found } else if base >= threshold { from = low } else { return nil }
        guard let next = firstKey(after: from, in: root), next <= high else { return high }
        return next - 1
    }

    private func findLast(_ node: Int, _ low: Int, _ high: Int, _ floor: Int, _ ceiling: Int, _ offset: Int, _ threshold: Int) -> Int? {
        guard node >= 0, floor < high, ceiling > low else { return nil }
        if low <= floor + 1, ceiling - 1 <= high {
            guard offset + maxPrefixes[node] >= threshold else { return nil }
            var current = node, running = offset
            while current >= 0 {
                let left = lefts[current], right = rights[current]
                let through = running + sum(left) + deltas[current]
                if right >= 0, through + maxPrefix(right) >= threshold {
                    running = through
                    current = right
                } else if through >= threshold {
                    return keys[current]
                } else {
                    current = left
                }
            }
            return nil
        }
        let key = keys[node]
        var through = offset + aggregate(lefts[node], low, high, floor, key).sum
        if key >= low, key <= high { through += deltas[node] }
        if let found = findLast(rights[node], low, high, key, ceiling, through, threshold) { return found }
        if key >= low, key <= high, through >= threshold { return key }
        return findLast(lefts[node], low, high, floor, key, offset, threshold)
    }

    private func firstKey(after key: Int, in subtree: Int) -> Int? {
        var node = subtree
        var best: Int?
        while node >= 0 {
            if keys[node] > key {
                best = keys[node]
                node = lefts[node]
            } else {
                node = rights[node]
            }
        }
        return best
    }
}
