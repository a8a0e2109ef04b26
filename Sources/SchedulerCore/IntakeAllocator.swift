/// Child-proposing deferred acceptance with minority reserves (Hafalir, Yenmez and Yildirim
/// 2013; see `IntakeOffer` for the counts and the choice rule). Every child proposes to the
/// offers on its list in order; an offer holds the children its choice rule picks among those
/// proposing and rejects the rest, who go on to their next choice. Children and offers are
/// numbered once, priorities packed into one integer per child, and each offer keeps its SOS
/// and its local holders as two min-heaps, so a proposal costs O(log places): about
/// P log(places) for P proposals in all.
///
/// Deterministic: children are numbered by id, the lottery is a shuffle drawn from the seed,
/// and every priority is unique (the lottery, or the child's number when the lottery is not
/// among the criteria, breaks the last tie).
public struct IntakeAllocator: Sendable {
    /// Offers ordered by id.
    public let offers: [IntakeOffer]
    /// Applications ordered by child id.
    public let applications: [IntakeApplication]
    public let order: [PriorityCriterion]
    public let seed: UInt64

    let offerIndex: [String: Int]
    let childIDs: [String]
    /// Children's rankings as offer numbers, flattened: child c's list is `rankings[starts[c]..<starts[c + 1]]`.
    let rankings: [Int32]
    let starts: [Int32]
    /// Each child's priority without the sibling bit (which depends on the offer's nursery).
    private let baseKeys: [UInt64]
    /// The sibling criterion's bit (0 when the round does not use it).
    private let siblingBit: UInt64
    /// Nursery number of each offer, and the nurseries (as numbers) where each child has a sibling.
    private let offerNursery: [Int32]
    private let siblingNurseries: [[Int32]]
    let isSOS: [Bool]
    /// The lottery draw of each child (0: drawn first), kept for explanations.
    public let lotteryPosition: [Int]
    let submissionRank: [Int]

    static let rankBits: UInt64 = 22

    /// Checks the round (offers, application lists, order) and numbers everything.
    public init(offers: [IntakeOffer], applications: [IntakeApplication], order: [PriorityCriterion] = PriorityCriterion.defaultOrder, seed: UInt64)
        throws(SchedulerError)
    {
        try PriorityCriterion.validate(order, field: "priority_order")
        guard applications.count < 1 << Int(Self.rankBits) else {
            throw SchedulerError(.invalidArgument, "a round takes at most \(1 << Int(Self.rankBits) - 1) applications", field: "applications")
        }
        // Offers are numbered in id order too, so the result does not depend on the input's order.
        let offers = offers.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        var offerIndex: [String: Int] = [:]
        var nurseryNumbers: [String: Int32] = [:]
        var offerNursery: [Int32] = []
        for (index, offer) in offers.enumerated() {
            try offer.validate()
            guard offerIndex.updateValue(index, forKey: offer.id) == nil else {
                throw SchedulerError(.invalidArgument, "offer \(offer.id) appears twice", field: "offers.id")
            }
            if nurseryNumbers[offer.nurseryID] == nil { nurseryNumbers[offer.nurseryID] = Int32(nurseryNumbers.count) }
            offerNursery.append(nurseryNumbers[offer.nurseryID] ?? 0)
        }
        let sorted = Self.sortedByChild(applications)
        var rankings: [Int32] = []
        rankings.reserveCapacity(sorted.count * 5)
        var starts: [Int32] = [0]
        starts.reserveCapacity(sorted.count + 1)
        var siblings: [[Int32]] = []
        siblings.reserveCapacity(sorted.count)
        for index in sorted.indices {
            if index > 0, sorted[index - 1].childID.utf8.elementsEqual(sorted[index].childID.utf8) {
                throw SchedulerError(.invalidArgument, "child \(sorted[index].childID) applied twice", field: "applications.child_id")
            }
            let first = rankings.count
            for offerID in sorted[index].ranking {
                guard let offer = offerIndex[offerID] else {
                    throw SchedulerError(
                        .invalidArgument, "child \(sorted[index].childID) ranks \(offerID), which is not an offer of the round", field: "applications.ranking")
                }
                // Lists are short: a scan is cheaper than a set per child.
                guard !rankings[first...].contains(Int32(offer)) else {
                    throw SchedulerError(.invalidArgument, "child \(sorted[index].childID) ranks \(offerID) twice", field: "applications.ranking")
                }
                rankings.append(Int32(offer))
            }
            starts.append(Int32(rankings.count))
            siblings.append(sorted[index].siblingNurseries.isEmpty ? [] : sorted[index].siblingNurseries.compactMap { nurseryNumbers[$0] })
        }

        // Submission ranks (earlier first; the same time, the same rank: the criteria after it
        // decide) and the lottery (a seeded shuffle).
        let submitted = sorted.map(\.submittedAt)
        var times = submitted.sorted()
        times.removeDuplicatesFromSorted()
        let submissionRank = submitted.map { times.firstIndexSorted(of: $0) }
        var draw = Array(sorted.indices)
        var generator = SplitMix64(seed: seed)
        if draw.count > 1 {
            for index in stride(from: draw.count - 1, to: 0, by: -1) {
                draw.swapAt(index, Int(generator.next() % UInt64(index + 1)))
            }
        }
        var lotteryPosition = Array(repeating: 0, count: sorted.count)
        for (position, child) in draw.enumerated() { lotteryPosition[child] = position }

        // Pack each child's priority, most significant criterion first; higher is better.
        let top = UInt64(1) << Self.rankBits - 1
        var layout: [(PriorityCriterion, UInt64)] = order.compactMap { criterion in
            switch criterion {
            case .sibling, .specialNeeds, .singleParent, .parentsWorking: (criterion, 1)
            case .earlierApplication, .lottery: (criterion, Self.rankBits)
            }
        }
        let tieBreakByNumber = !order.contains(.lottery)
        if tieBreakByNumber { layout.append((.lottery, Self.rankBits)) }  // position field reused for the child's number
        var shifts: [PriorityCriterion: UInt64] = [:]
        var used: UInt64 = 0
        for (criterion, width) in layout.reversed() {
            shifts[criterion] = used
            used += width
        }
        var baseKeys = Array(repeating: UInt64(0), count: sorted.count)
        let special = shifts[.specialNeeds], single = shifts[.singleParent], working = shifts[.parentsWorking]
        let earlier = shifts[.earlierApplication], lottery = shifts[.lottery]
        for child in sorted.indices {
            var key: UInt64 = 0
            if let shift = special, sorted[child].specialNeeds { key |= 1 << shift }
            if let shift = single, sorted[child].singleParent { key |= 1 << shift }
            if let shift = working, sorted[child].parentsWorking { key |= 1 << shift }
            if let shift = earlier { key |= (top - UInt64(submissionRank[child])) << shift }
            if let shift = lottery { key |= (top - UInt64(tieBreakByNumber ? child : lotteryPosition[child])) << shift }
            baseKeys[child] = key
        }

        self.offers = offers
        self.applications = sorted
        self.order = order
        self.seed = seed
        self.offerIndex = offerIndex
        self.childIDs = sorted.map(\.childID)
        self.rankings = rankings
        self.starts = starts
        self.baseKeys = baseKeys
        self.siblingBit = shifts[.sibling].map { 1 << $0 } ?? 0
        self.offerNursery = offerNursery
        self.siblingNurseries = siblings
        self.isSOS = sorted.map { $0.familyKind == .sos }
        self.lotteryPosition = lotteryPosition
        self.submissionRank = submissionRank
    }

    /// Applications in child-id order (byte order of the UTF-8), whatever order they came in:
    /// sorted on each id's first eight bytes as one integer, then by the whole id where those tie.
    static func sortedByChild(_ applications: [IntakeApplication]) -> [IntakeApplication] {
        var keyed: [(prefix: UInt64, index: Int32)] = []
        keyed.reserveCapacity(applications.count)
        for (index, application) in applications.enumerated() {
            var prefix: UInt64 = 0
            var taken = 0
            for byte in application.childID.utf8.prefix(8) {
                prefix = prefix << 8 | UInt64(byte)
                taken += 1
            }
            prefix <<= UInt64(8 * (8 - taken))
            keyed.append((prefix, Int32(index)))
        }
        keyed.sort { a, b in
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            return applications[Int(a.index)].childID.utf8.lexicographicallyPrecedes(applications[Int(b.index)].childID.utf8)
        }
        return keyed.map { applications[Int($0.index)] }
    }

    /// Child `child`'s priority at offer `offer` (numbers); higher is better, never equal for two children.
    func key(child: Int, offer: Int) -> UInt64 {
        var key = baseKeys[child]
        if siblingBit != 0, siblingNurseries[child].contains(offerNursery[offer]) { key |= siblingBit }
        return key
    }

    /// A child's number (its place in id order), by binary search.
    func childNumber(_ childID: String) -> Int? { childIDs.indexSortedByUTF8(of: childID) }

    /// The priority of a child at an offer (by ids); nil if either is unknown.
    public func priority(child childID: String, offer offerID: String) -> UInt64? {
        guard let child = childNumber(childID), let offer = offerIndex[offerID] else { return nil }
        return key(child: child, offer: offer)
    }

    /// Runs the allocation. An offer's choice among the children proposing to it admits them in
    /// priority order while its three counts allow (at most `places` in all, `places -
    /// reservedLocal` from SOS families, `places - reservedSOS` from local families), which is
    /// the same as filling each kind's reserved places with its best children first and the
    /// rest with the best of everyone left. A new proposer who does not fit displaces the
    /// lowest-priority holder whose place they could take: the lowest of their own kind when
    /// their kind's count is full, else the lowest of all.
    public func run() -> IntakeResult {
        run { () throws(Never) in }
    }

    /// As `run()`, but stops with `CancellationError` once the task running it is cancelled
    /// (checked every 16,384 proposals): the server's call ended, its work should too.
    public func runUnlessCancelled() throws(CancellationError) -> IntakeResult {
        try run { () throws(CancellationError) in
            if Task.isCancelled { throw CancellationError() }
        }
    }

    private func run<Stop: Error>(checking check: () throws(Stop) -> Void) throws(Stop) -> IntakeResult {
        let childCount = applications.count
        var proposals = 0
        var sosHeaps = offers.map { _ in SeatHeap() }
        var localHeaps = offers.map { _ in SeatHeap() }
        var next = Array(repeating: Int32(0), count: childCount)
        var free = Array((0..<childCount).reversed())
        while let child = free.popLast() {
            proposals &+= 1
            if proposals & 0x3FFF == 0 { try check() }
            let position = starts[child] + next[child]
            guard position < starts[child + 1] else { continue }  // list exhausted: no place
            next[child] += 1
            let offerNumber = Int(rankings[Int(position)])
            let offer = offers[offerNumber]
            let entry = SeatHeap.Entry(key: key(child: child, offer: offerNumber), child: Int32(child))
            let sos = isSOS[child]
            let ownCount = sos ? sosHeaps[offerNumber].count : localHeaps[offerNumber].count
            let ownLimit = sos ? offer.sosLimit : offer.localLimit
            let total = sosHeaps[offerNumber].count + localHeaps[offerNumber].count
            let rejected: SeatHeap.Entry?
            if ownCount < ownLimit && total < offer.places {
                if sos { sosHeaps[offerNumber].insert(entry) } else { localHeaps[offerNumber].insert(entry) }
                rejected = nil
            } else if ownCount >= ownLimit {
                // Their kind's count is full: they can only take the place of one of their kind.
                rejected = sos ? sosHeaps[offerNumber].exchangeMin(entry) : localHeaps[offerNumber].exchangeMin(entry)
            } else {
                // All places are held, their kind's count is not full: anyone's place will do.
                let lowestSOS = sosHeaps[offerNumber].min, lowestLocal = localHeaps[offerNumber].min
                let sosIsLowest = lowestLocal.map { local in lowestSOS.map { $0.key < local.key } ?? false } ?? true
                guard let lowest = sosIsLowest ? lowestSOS : lowestLocal, lowest.key < entry.key else {
                    free.append(child)
                    continue
                }
                if sosIsLowest { sosHeaps[offerNumber].popMin() } else { localHeaps[offerNumber].popMin() }
                if sos { sosHeaps[offerNumber].insert(entry) } else { localHeaps[offerNumber].insert(entry) }
                rejected = lowest
            }
            if let rejected { free.append(Int(rejected.child)) }
        }

        var seatOffer = Array(repeating: Int32(-1), count: childCount)
        var seatKind = Array(repeating: SeatKind.open, count: childCount)
        var seatChoice = Array(repeating: Int32(-1), count: childCount)
        var holderNumbers: [[Int32]] = []
        holderNumbers.reserveCapacity(offers.count)
        for (offerNumber, offer) in offers.enumerated() {
            let held = (sosHeaps[offerNumber].entries + localHeaps[offerNumber].entries).sorted { $0.key > $1.key }
            let kinds = offer.seatLabels(held.map { isSOS[Int($0.child)] ? FamilyKind.sos : .local })
            for (entry, kind) in zip(held, kinds) {
                let child = Int(entry.child)
                seatOffer[child] = Int32(offerNumber)
                seatKind[child] = kind
                seatChoice[child] = next[child] - 1
            }
            holderNumbers.append(held.map(\.child))
        }
        sosHeaps.removeAll()
        localHeaps.removeAll()

        // Waitlists: each child waits on every offer it ranked above its result, by priority there.
        var waiting: [[SeatHeap.Entry]] = Array(repeating: [], count: offers.count)
        for child in 0..<childCount {
            let start = Int(starts[child])
            let held = seatOffer[child] >= 0 ? start + Int(seatChoice[child]) : Int(starts[child + 1])
            for position in start..<held {
                let offer = Int(rankings[position])
                waiting[offer].append(SeatHeap.Entry(key: key(child: child, offer: offer), child: Int32(child)))
            }
        }
        let waitlistNumbers = waiting.map { list in list.sorted { $0.key > $1.key }.map(\.child) }
        return IntakeResult(
            childIDs: childIDs, offerIDs: offers.map(\.id), seatOffer: seatOffer, seatKind: seatKind, seatChoice: seatChoice,
            holderNumbers: holderNumbers, waitlistNumbers: waitlistNumbers)
    }
}

/// The children of one kind holding an offer: a min-heap by priority, so the child who would
/// be displaced first is at the top.
struct SeatHeap: Sendable {
    struct Entry: Sendable {
        var key: UInt64
        var child: Int32
    }

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var min: Entry? { entries.first }

    mutating func insert(_ entry: Entry) {
        entries.append(entry)
        siftUp(entries.count - 1)
    }

    /// Removes the lowest-priority entry.
    mutating func popMin() {
        guard let last = entries.popLast() else { return }
        guard !entries.isEmpty else { return }
        entries[0] = last
        siftDown(0)
    }

    /// Puts `entry` in place of the lowest entry if it is higher; returns who is rejected (the
    /// lowest entry, or `entry` itself, also when the heap is empty).
    mutating func exchangeMin(_ entry: Entry) -> Entry {
        guard let lowest = entries.first, lowest.key < entry.key else { return entry }
        entries[0] = entry
        siftDown(0)
        return lowest
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].key < entries[parent].key else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].key < entries[smallest].key { smallest = left }
            if right < entries.count, entries[right].key < entries[smallest].key { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

/// SplitMix64: a small, fully specified generator, so a round's lottery is the same on every
/// machine and Swift version for the same seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == Int64 {
    /// Drops repeats from a sorted array.
    mutating func removeDuplicatesFromSorted() {
        guard count > 1 else { return }
        var kept = 1
        for index in 1..<count where self[index] != self[kept - 1] {
            self[kept] = self[index]
            kept += 1
        }
        removeLast(count - kept)
    }

    /// Index of `value` in a sorted array without repeats (binary search; the insertion point if absent).
    func firstIndexSorted(of value: Int64) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension Array where Element == String {
    /// Index of `id` in an array sorted by UTF-8 bytes (binary search).
    func indexSortedByUTF8(of id: String) -> Int? {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle].utf8.lexicographicallyPrecedes(id.utf8) { low = middle + 1 } else { high = middle }
        }
        return low < count && self[low].utf8.elementsEqual(id.utf8) ? low : nil
    }
}
