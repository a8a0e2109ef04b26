/// What a week's planning starts from.
public struct WeekPlanningProblem: Sendable {
    /// The Monday of the ISO week.
    public var monday: CivilDate
    public var youngPeople: [YoungPerson]
    public var counsellors: [Counsellor]
    /// Sessions of the week that stay as they are: pinned or done (cancelled ones take no time).
    public var kept: [CounsellingSession]
    /// The counsellor each young person saw last, for continuity when none is preferred.
    public var lastCounsellor: [String: String]
    /// Minutes a counsellor needs between sessions at different homes.
    public var travelBufferMinutes: Int

    public init(
        monday: CivilDate, youngPeople: [YoungPerson], counsellors: [Counsellor], kept: [CounsellingSession] = [],
        lastCounsellor: [String: String] = [:], travelBufferMinutes: Int = 15
    ) {
        self.monday = monday
        self.youngPeople = youngPeople
        self.counsellors = counsellors
        self.kept = kept
        self.lastCounsellor = lastCounsellor
        self.travelBufferMinutes = travelBufferMinutes
    }

    public var days: [CivilDate] { (0..<7).map { monday.adding(days: $0) } }

    /// The counsellor whose sessions count for continuity: the preferred one, else last week's.
    public func continuityCounsellor(of person: YoungPerson) -> String? { person.preferredCounsellorID ?? lastCounsellor[person.id] }
}

/// Why a session the young person needs could not be placed.
public enum UnplacedReason: String, Sendable, Hashable, Codable {
    /// No counsellor of the site holds the qualifications the young person needs.
    case noQualifiedCounsellor = "no qualified counsellor"
    /// No qualified counsellor is free at a time the young person is (on a day still open to them).
    case noSharedFreeTime = "no shared free time"
    /// Shared free time exists, but the counsellors' limits or other sessions take it.
    case counsellorsFull = "counsellors full"
}

public struct UnplacedSession: Sendable, Hashable, Codable {
    public var youngPersonID: String
    /// How many of the week's sessions this young person still lacks.
    public var missing: Int
    public var reason: UnplacedReason
    /// The counsellors involved: the qualified ones, or those whose time was taken.
    public var counsellorIDs: [String]
}

/// The plan's objective values, compared lexicographically (better first).
public struct PlanScore: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var placed: Int
    /// Sessions with the young person's preferred (else last) counsellor.
    public var continuity: Int
    /// Distinct (counsellor, day, home) visits: fewer is better.
    public var visits: Int
    /// Sum of squares of each counsellor's sessions in the week: smaller is more even.
    public var loadSquares: Int

    public init(placed: Int, continuity: Int, visits: Int, loadSquares: Int) {
        self.placed = placed
        self.continuity = continuity
        self.visits = visits
        self.loadSquares = loadSquares
    }

    /// True when `lhs` is a worse plan than `rhs`.
    public static func < (lhs: PlanScore, rhs: PlanScore) -> Bool {
        (lhs.placed, lhs.continuity, -lhs.visits, -lhs.loadSquares) < (rhs.placed, rhs.continuity, -rhs.visits, -rhs.loadSquares)
    }

    public var description: String { "placed \(placed), continuity \(continuity), visits \(visits), load² \(loadSquares)" }
}

/// A week's plan: the new sessions (the kept ones are not repeated), what could not be
/// placed and why, the score, and an upper bound on the sessions any plan could place.
public struct WeekPlan: Sendable {
    public var sessions: [CounsellingSession]
    public var unplaced: [UnplacedSession]
    public var score: PlanScore
    /// Sessions needed this week (beyond the kept ones).
    public var demand: Int
    /// No plan places more new sessions than this (a flow relaxation of the rules).
    public var upperBound: Int
}

/// Plans a week (domain.md, "Week planning"): every hard rule always holds; among such plans
/// it looks for the best by `PlanScore`. A constructive start places the most constrained
/// young people first, each at its best spot; then local search, for a fixed number of
/// rounds, (1) places what is missing by ejection chains (a session moves aside to make room,
/// and goes elsewhere) and (2) moves single sessions to spots that raise continuity, cut
/// visits or even the load. Deterministic: the same problem and seed give the same plan.
public struct WeekPlanner: Sendable {
    public var seed: UInt64
    public var rounds: Int

    public init(seed: UInt64 = 1, rounds: Int = 8) {
        self.seed = seed
        self.rounds = rounds
    }

    /// Plans the week. The search stops after `rounds`, at `deadline` (the best plan found by
    /// then is returned), or when `isCancelled` answers true. `progress` sees the best score
    /// after the constructive start and after every round that improved it, with the bound.
    public func plan(
        _ problem: WeekPlanningProblem, until deadline: ContinuousClock.Instant? = nil, isCancelled: () -> Bool = { false },
        progress: (PlanningProgress) -> Void = { _ in }
    ) -> WeekPlan {
        let clock = ContinuousClock()
        var engine = PlanEngine(problem)
        engine.construct()
        let bound = engine.upperBound()
        let demand = engine.demand.reduce(0, +)
        progress(PlanningProgress(best: engine.score, upperBound: bound, demand: demand, round: 0))
        var random = SplitMix64(seed: seed)
        var ejecting = true
        for round in 0..<rounds where !isCancelled() {
            if let deadline, clock.now >= deadline { break }
            let before = engine.score
            let placedMore = engine.placeMissing(&random, ejecting: ejecting)
            // Ejection chains that placed nothing once are not tried again for a round that
            // changed nothing they depend on: only while they help.
            ejecting = placedMore
            let improved = engine.improve(&random)
            let chained = engine.improveContinuity(&random)
            let recreated = engine.ruinAndRecreate(&random, iterations: 40)
            if before < engine.score {
                progress(PlanningProgress(best: engine.score, upperBound: bound, demand: demand, round: round + 1))
            }
            if !placedMore && !improved && !chained && !recreated { break }
        }
        return engine.result(upperBound: bound)
    }
}

/// Where a planning run stands: the best plan's score so far and the bound it can reach.
public struct PlanningProgress: Sendable, Hashable {
    public var best: PlanScore
    /// No plan places more of the week's sessions than this.
    public var upperBound: Int
    /// The sessions needed this week beyond the kept ones.
    public var demand: Int
    /// 0 after the constructive start, then the local-search round that improved the plan.
    public var round: Int
}

extension SplitMix64 {
    /// Fisher-Yates with this generator: the same order for the same seed on every platform.
    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for index in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(index, Int(next() % UInt64(index + 1)))
        }
    }
}

/// The planner's working state: who is booked when, and the score kept up to date.
struct PlanEngine {
    struct Booking {
        var start: Int
        var end: Int
        var home: String
        /// Index into `placements`, or nil for a kept session.
        var placement: Int?
    }

    struct Placement: Hashable {
        var person: Int
        var counsellor: Int
        var day: Int
        var start: Int
    }

    /// The shared windows of a young person and a counsellor on one day of the week.
    struct Pair {
        var counsellor: Int
        var day: Int
        var windows: [(start: Int, end: Int)]
    }

    let problem: WeekPlanningProblem
    let people: [YoungPerson]
    let counsellors: [Counsellor]
    let continuity: [Int?]
    /// Per person: the (counsellor, day) pairs with shared time long enough for a session.
    let pairs: [[Pair]]
    let qualified: [[Int]]
    let demand: [Int]
    /// What the kept sessions take: each counsellor's sessions and minutes a day, each young person's days.
    let keptCount: [Int]
    let keptMinutes: [[Int]]
    let keptDays: [Set<Int>]
    var booked: [[[Booking]]]
    var weekCount: [Int]
    var dayMinutes: [[Int]]
    var personDays: [Set<Int>]
    /// Placements; a removed one is nil (its index is reused by no one).
    var placements: [Placement?] = []
    var placedCount: [Int]
    var visits: [String: Int] = [:]
    var score = PlanScore(placed: 0, continuity: 0, visits: 0, loadSquares: 0)

    init(_ problem: WeekPlanningProblem) {
        self.problem = problem
        let people = problem.youngPeople.sorted { $0.id < $1.id }
        let counsellors = problem.counsellors.sorted { $0.id < $1.id }
        self.people = people
        self.counsellors = counsellors
        let counsellorIndex = Dictionary(uniqueKeysWithValues: counsellors.enumerated().map { ($1.id, $0) })
        let personIndex = Dictionary(uniqueKeysWithValues: people.enumerated().map { ($1.id, $0) })
        let days = problem.days
        continuity = people.map { person in problem.continuityCounsellor(of: person).flatMap { counsellorIndex[$0] } }
        booked = Array(repeating: Array(repeating: [], count: 7), count: counsellors.count)
        weekCount = Array(repeating: 0, count: counsellors.count)
        dayMinutes = Array(repeating: Array(repeating: 0, count: 7), count: counsellors.count)
        personDays = Array(repeating: [], count: people.count)
        placedCount = Array(repeating: 0, count: people.count)
        var keptPerPerson = Array(repeating: 0, count: people.count)
        for session in problem.kept where session.status != .cancelled {
            let day = session.date.dayNumber - problem.monday.dayNumber
            guard (0..<7).contains(day) else { continue }
            if let c = counsellorIndex[session.counsellorID] {
                booked[c][day].append(Booking(start: session.start, end: session.end, home: session.homeID, placement: nil))
                booked[c][day].sort { $0.start < $1.start }
                weekCount[c] += 1
                dayMinutes[c][day] += session.minutes
            }
            if let p = personIndex[session.youngPersonID] {
                personDays[p].insert(day)
                keptPerPerson[p] += 1
            }
        }
        let keptCounts = keptPerPerson
        demand = people.indices.map { max(0, people[$0].sessionsPerWeek - keptCounts[$0]) }
        keptCount = weekCount
        keptMinutes = dayMinutes
        keptDays = personDays
        var qualified: [[Int]] = []
        var pairs: [[Pair]] = []
        for person in people {
            let able = counsellors.indices.filter { counsellors[$0].isQualified(for: person) }
            qualified.append(able)
            var found: [Pair] = []
            for c in able {
                for (day, date) in days.enumerated() {
                    var shared: [(start: Int, end: Int)] = []
                    for a in person.availability.windows(on: date) {
                        for b in counsellors[c].availability.windows(on: date) {
                            let start = max(a.start, b.start)
                            let end = min(a.end, b.end)
                            if end - start >= person.minutesPerSession { shared.append((start, end)) }
                        }
                    }
                    if !shared.isEmpty { found.append(Pair(counsellor: c, day: day, windows: shared.sorted { $0.start < $1.start })) }
                }
            }
            pairs.append(found)
        }
        self.qualified = qualified
        self.pairs = pairs
        score.loadSquares = weekCount.reduce(0) { $0 + $1 * $1 }
    }

    // MARK: Rules

    /// The earliest start for `person` with counsellor `c` on `day` that breaks no rule, or nil.
    func firstFit(person p: Int, pair: Pair) -> Int? {
        let person = people[p]
        let c = pair.counsellor
        let counsellor = counsellors[c]
        let length = person.minutesPerSession
        guard !personDays[p].contains(pair.day), weekCount[c] < counsellor.maxSessionsPerWeek,
            dayMinutes[c][pair.day] + length <= counsellor.maxMinutesPerDay
        else { return nil }
        for window in pair.windows {
            var start = window.start
            while start + length <= window.end {
                if let clash = clash(c, pair.day, start: start, end: start + length, home: person.homeID) {
                    // Jump past the clash, to the grid.
                    let next = max(start + TimeGrid.minutes, clash)
                    start = (next + TimeGrid.minutes - 1) / TimeGrid.minutes * TimeGrid.minutes
                } else {
                    return start
                }
            }
        }
        return nil
    }

    /// The first minute from which a session could start after the booking it clashes with, or nil if none clashes.
    func clash(_ c: Int, _ day: Int, start: Int, end: Int, home: String) -> Int? {
        let buffer = problem.travelBufferMinutes
        for booking in booked[c][day] {
            let gap = booking.home == home ? 0 : buffer
            if booking.end + gap > start && end + gap > booking.start { return booking.end + gap }
        }
        return nil
    }

    // MARK: Changes

    mutating func add(_ placement: Placement) -> Int {
        let person = people[placement.person]
        let length = person.minutesPerSession
        let index = placements.count
        placements.append(placement)
        booked[placement.counsellor][placement.day].append(
            Booking(start: placement.start, end: placement.start + length, home: person.homeID, placement: index))
        booked[placement.counsellor][placement.day].sort { $0.start < $1.start }
        score.loadSquares += 2 * weekCount[placement.counsellor] + 1
        weekCount[placement.counsellor] += 1
        dayMinutes[placement.counsellor][placement.day] += length
        personDays[placement.person].insert(placement.day)
        placedCount[placement.person] += 1
        score.placed += 1
        if continuity[placement.person] == placement.counsellor { score.continuity += 1 }
        let key = "\(placement.counsellor)/\(placement.day)/\(person.homeID)"
        if visits[key, default: 0] == 0 { score.visits += 1 }
        visits[key, default: 0] += 1
        return index
    }

    mutating func remove(_ index: Int) {
        guard let placement = placements[index] else { return }
        let person = people[placement.person]
        placements[index] = nil
        booked[placement.counsellor][placement.day].removeAll { $0.placement == index }
        weekCount[placement.counsellor] -= 1
        score.loadSquares -= 2 * weekCount[placement.counsellor] + 1
        dayMinutes[placement.counsellor][placement.day] -= person.minutesPerSession
        personDays[placement.person].remove(placement.day)
        placedCount[placement.person] -= 1
        score.placed -= 1
        if continuity[placement.person] == placement.counsellor { score.continuity -= 1 }
        let key = "\(placement.counsellor)/\(placement.day)/\(person.homeID)"
        visits[key, default: 0] -= 1
        if visits[key] == 0 {
            visits[key] = nil
            score.visits -= 1
        }
    }

    /// The best spot for one more session of `person` as things stand, by the score it would give.
    func bestSpot(person p: Int, excluding: Placement? = nil) -> Placement? {
        var best: (Placement, PlanScore)?
        for pair in pairs[p] {
            guard let start = firstFit(person: p, pair: pair) else { continue }
            let placement = Placement(person: p, counsellor: pair.counsellor, day: pair.day, start: start)
            if placement == excluding { continue }
            let after = scoreAfterAdding(placement)
            if best == nil || best!.1 < after { best = (placement, after) }
        }
        return best?.0
    }

    func scoreAfterAdding(_ placement: Placement) -> PlanScore {
        var after = score
        after.placed += 1
        if continuity[placement.person] == placement.counsellor { after.continuity += 1 }
        if visits["\(placement.counsellor)/\(placement.day)/\(people[placement.person].homeID)", default: 0] == 0 { after.visits += 1 }
        after.loadSquares += 2 * weekCount[placement.counsellor] + 1
        return after
    }

    // MARK: Search

    /// Places the most constrained young people first.
    mutating func construct() {
        let order = people.indices.filter { demand[$0] > 0 }.sorted { (pairs[$0].count, people[$0].id) < (pairs[$1].count, people[$1].id) }
        for p in order {
            for _ in 0..<demand[p] {
                guard let spot = bestSpot(person: p) else { break }
                _ = add(spot)
            }
        }
    }

    /// Tries to place each missing session, if need be by moving one other session aside
    /// (at most `ejectionTrials` sessions tried aside in all, so a week with no room left does
    /// not cost a sweep of every pair). True if any was placed.
    mutating func placeMissing(_ random: inout SplitMix64, ejecting: Bool = true, ejectionTrials: Int = 50_000) -> Bool {
        var progress = false
        var order = people.indices.filter { placedCount[$0] < demand[$0] }
        random.shuffle(&order)
        var trials = ejecting ? ejectionTrials : 0
        for p in order {
            while placedCount[p] < demand[p] {
                if let spot = bestSpot(person: p) {
                    _ = add(spot)
                    progress = true
                } else if trials > 0, ejectAndPlace(person: p, trials: &trials) {
                    progress = true
                } else {
                    break
                }
            }
        }
        return progress
    }

    /// Moves one session (of a counsellor who shares time with `person`, or of `person` on a day
    /// it could use) to another spot, so that `person` gets one more. True if it worked.
    mutating func ejectAndPlace(person p: Int, trials: inout Int) -> Bool {
        var candidates: [Int] = []
        let counsellorsOfPerson = Set(pairs[p].map(\.counsellor))
        for (index, placement) in placements.enumerated() {
            guard let placement else { continue }
            if counsellorsOfPerson.contains(placement.counsellor) || placement.person == p { candidates.append(index) }
        }
        for index in candidates where trials > 0 {
            guard let moved = placements[index] else { continue }
            trials -= 1
            remove(index)
            if let spot = bestSpot(person: p) {
                let added = add(spot)
                if let again = bestSpot(person: moved.person, excluding: moved) {
                    _ = add(again)
                    return true
                }
                remove(added)
            }
            _ = add(moved)
        }
        return false
    }

    /// Moves single sessions to better spots (same sessions placed, better continuity, fewer
    /// visits, or a more even load). True if any moved.
    mutating func improve(_ random: inout SplitMix64) -> Bool {
        var moved = false
        var order = placements.indices.filter { placements[$0] != nil }
        random.shuffle(&order)
        for index in order {
            guard let current = placements[index] else { continue }
            let before = score
            remove(index)
            if let spot = bestSpot(person: current.person), spot != current {
                let added = add(spot)
                if before < score {
                    moved = true
                    continue
                }
                remove(added)
            }
            _ = add(current)
        }
        return moved
    }

    /// Moves a session to its young person's continuity counsellor by moving one of that
    /// counsellor's sessions elsewhere (a chain of two), when the whole plan gets better.
    /// True if any chain was taken.
    mutating func improveContinuity(_ random: inout SplitMix64) -> Bool {
        var moved = false
        var order = placements.indices.filter { index in
            guard let placement = placements[index], let wanted = continuity[placement.person] else { return false }
            return wanted != placement.counsellor
        }
        random.shuffle(&order)
        for index in order {
            guard let current = placements[index], let wanted = continuity[current.person], wanted != current.counsellor else { continue }
            let blockers = placements.indices.filter { placements[$0]?.counsellor == wanted }
            for blocker in blockers {
                guard let other = placements[blocker], placements[index] != nil else { continue }
                let before = score
                remove(index)
                remove(blocker)
                var added: [Int] = []
                if let spot = bestSpot(person: current.person) { added.append(add(spot)) }
                if let spot = bestSpot(person: other.person) { added.append(add(spot)) }
                if added.count == 2, before < score {
                    moved = true
                    break
                }
                for index in added.reversed() { remove(index) }
                _ = add(other)
                _ = add(current)
            }
        }
        return moved
    }

    /// Ruin and recreate: takes out every session of a few young people and places them again
    /// in a random order, each at its best spot; keeps the result unless the plan got worse.
    /// True if the plan got better.
    mutating func ruinAndRecreate(_ random: inout SplitMix64, iterations: Int) -> Bool {
        let candidates = people.indices.filter { demand[$0] > 0 }
        guard !candidates.isEmpty else { return false }
        var improved = false
        for _ in 0..<iterations {
            let size = min(candidates.count, 2 + Int(random.next() % 3))
            var chosen = Set<Int>()
            while chosen.count < size { chosen.insert(candidates[Int(random.next() % UInt64(candidates.count))]) }
            let before = score
            let taken = placements.indices.filter { placements[$0].map { chosen.contains($0.person) } ?? false }
            let old = taken.compactMap { placements[$0] }
            for index in taken { remove(index) }
            var order = chosen.sorted()
            random.shuffle(&order)
            var added: [Int] = []
            for p in order {
                while placedCount[p] < demand[p], let spot = bestSpot(person: p) { added.append(add(spot)) }
            }
            if before < score {
                improved = true
            } else if score < before {
                for index in added.reversed() { remove(index) }
                for placement in old { _ = add(placement) }
            }
        }
        return improved
    }

    // MARK: Result

    func result(upperBound bound: Int? = nil) -> WeekPlan {
        var sessions: [CounsellingSession] = []
        for placement in placements.compactMap({ $0 }).sorted(by: { ($0.day, $0.start, $0.counsellor) < ($1.day, $1.start, $1.counsellor) }) {
            let person = people[placement.person]
            sessions.append(
                CounsellingSession(
                    id: "", youngPersonID: person.id, counsellorID: counsellors[placement.counsellor].id,
                    date: problem.monday.adding(days: placement.day), start: placement.start, minutes: person.minutesPerSession,
                    homeID: person.homeID))
        }
        var unplaced: [UnplacedSession] = []
        for p in people.indices where placedCount[p] < demand[p] {
            let missing = demand[p] - placedCount[p]
            if qualified[p].isEmpty {
                unplaced.append(UnplacedSession(youngPersonID: people[p].id, missing: missing, reason: .noQualifiedCounsellor, counsellorIDs: []))
                continue
            }
            let usable = pairs[p].filter { !keptDays[p].contains($0.day) }
            if usable.isEmpty {
                unplaced.append(
                    UnplacedSession(
                        youngPersonID: people[p].id, missing: missing, reason: .noSharedFreeTime, counsellorIDs: qualified[p].map { counsellors[$0].id }))
            } else {
                let involved = Array(Set(usable.map(\.counsellor))).sorted().map { counsellors[$0].id }
                unplaced.append(UnplacedSession(youngPersonID: people[p].id, missing: missing, reason: .counsellorsFull, counsellorIDs: involved))
            }
        }
        return WeekPlan(sessions: sessions, unplaced: unplaced, score: score, demand: demand.reduce(0, +), upperBound: bound ?? upperBound())
    }

    /// A bound on the new sessions any plan can place: the maximum flow from young people
    /// (their demand) through their free days (one session a day) and the days of counsellors
    /// they share time with (as many sessions as the day's remaining minutes hold at the
    /// shortest length) to counsellors (their remaining weekly sessions). Every plan is such a flow.
    func upperBound() -> Int {
        let shortest = max(TimeGrid.minutes, people.map(\.minutesPerSession).min() ?? TimeGrid.minutes)
        var flow = MaxFlow()
        let source = flow.node()
        let sink = flow.node()
        var counsellorDay: [[Int]] = []
        var counsellorNode: [Int] = []
        for c in counsellors.indices {
            let node = flow.node()
            counsellorNode.append(node)
            flow.edge(node, sink, max(0, counsellors[c].maxSessionsPerWeek - keptCount[c]))
            var days: [Int] = []
            for day in 0..<7 {
                let dayNode = flow.node()
                let windowMinutes = counsellors[c].availability.windows(on: problem.monday.adding(days: day)).reduce(0) { $0 + $1.end - $1.start }
                let free = max(0, min(counsellors[c].maxMinutesPerDay, windowMinutes) - keptMinutes[c][day])
                flow.edge(dayNode, node, free / shortest)
                days.append(dayNode)
            }
            counsellorDay.append(days)
        }
        for p in people.indices where demand[p] > 0 {
            let personNode = flow.node()
            flow.edge(source, personNode, demand[p])
            let kept = keptDays[p]
            var dayNodes: [Int: Int] = [:]
            for pair in pairs[p] where !kept.contains(pair.day) {
                let dayNode =
                    dayNodes[pair.day]
                    ?? {
                        let node = flow.node()
                        flow.edge(personNode, node, 1)
                        return node
                    }()
                dayNodes[pair.day] = dayNode
                flow.edge(dayNode, counsellorDay[pair.counsellor][pair.day], 1)
            }
        }
        return flow.maximum(from: source, to: sink)
    }
}

/// Dinic's maximum flow on a small graph.
struct MaxFlow {
    private var to: [Int] = []
    private var capacity: [Int] = []
    private var adjacency: [[Int]] = []

    mutating func node() -> Int {
        adjacency.append([])
        return adjacency.count - 1
    }

    mutating func edge(_ from: Int, _ target: Int, _ amount: Int) {
        guard amount > 0 else { return }
        adjacency[from].append(to.count)
        to.append(target)
        capacity.append(amount)
        adjacency[target].append(to.count)
        to.append(from)
        capacity.append(0)
    }

    mutating func maximum(from source: Int, to sink: Int) -> Int {
        var total = 0
        while true {
            var level = Array(repeating: -1, count: adjacency.count)
            level[source] = 0
            var queue = [source]
            var head = 0
            while head < queue.count {
                let node = queue[head]
                head += 1
                for edge in adjacency[node] where capacity[edge] > 0 && level[to[edge]] < 0 {
                    level[to[edge]] = level[node] + 1
                    queue.append(to[edge])
                }
            }
            guard level[sink] >= 0 else { return total }
            var next = Array(repeating: 0, count: adjacency.count)
            while true {
                let pushed = push(source, sink, Int.max, &level, &next)
                if pushed == 0 { break }
                total += pushed
            }
        }
    }

    private mutating func push(_ node: Int, _ sink: Int, _ limit: Int, _ level: inout [Int], _ next: inout [Int]) -> Int {
        if node == sink { return limit }
        while next[node] < adjacency[node].count {
            let edge = adjacency[node][next[node]]
            let target = to[edge]
            if capacity[edge] > 0, level[target] == level[node] + 1 {
                let pushed = push(target, sink, min(limit, capacity[edge]), &level, &next)
                if pushed > 0 {
                    capacity[edge] -= pushed
                    capacity[edge ^ 1] += pushed
                    return pushed
                }
            }
            next[node] += 1
        }
        return 0
    }
}
