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
        func stop() -> Bool {
            if isCancelled() { return true }
            guard let deadline else { return false }
            return clock.now >= deadline
        }
        var engine = PlanEngine(problem)
        let bound = engine.construct(stop: stop)
        let demand = engine.demand.reduce(0, +)
        progress(PlanningProgress(best: engine.score, upperBound: bound, demand: demand, round: 0))
        var random = SplitMix64(seed: seed)
        var ejecting = true
        for round in 0..<rounds {
            if stop() { break }
            let before = engine.score
            let placedMore = engine.placeMissing(&random, ejecting: ejecting, stop: stop)
            // Ejection chains that placed nothing once are not tried again for a round that
            // changed nothing they depend on: only while they help.
            ejecting = placedMore
            let improved = engine.improve(&random, stop: stop)
            let chained = engine.improveContinuity(&random, stop: stop)
            let recreated = engine.ruinAndRecreate(&random, iterations: 40, stop: stop)
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
        /// Index into `homes`.
        var home: Int
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
    /// Per person: the index of their home, and the minutes of a session.
    let home: [Int]
    let length: [Int]
    let homeCount: Int
    let buffer: Int
    /// What the kept sessions take: each counsellor's sessions and minutes a day, each young person's days (bit `day`).
    let keptCount: [Int]
    let keptMinutes: [[Int]]
    let keptDays: [UInt8]
    var booked: [[[Booking]]]
    var weekCount: [Int]
    var dayMinutes: [[Int]]
    var personDays: [UInt8]
    /// Placements; a removed one is nil (its index is reused by no one).
    var placements: [Placement?] = []
    /// Per person: the indices of their placements.
    var placedOf: [[Int]]
    /// Sessions per (counsellor, day, home) visit, at `(counsellor * 7 + day) * homeCount + home`.
    var visits: [Int]
    var score = PlanScore(placed: 0, continuity: 0, visits: 0, loadSquares: 0)

    init(_ problem: WeekPlanningProblem) {
        self.problem = problem
        let people = problem.youngPeople.sorted { $0.id < $1.id }
        let counsellors = problem.counsellors.sorted { $0.id < $1.id }
        self.people = people
        self.counsellors = counsellors
        let counsellorIndex = Dictionary(uniqueKeysWithValues: counsellors.enumerated().map { ($1.id, $0) })
        let personIndex = Dictionary(uniqueKeysWithValues: people.enumerated().map { ($1.id, $0) })
        var homeIndex: [String: Int] = [:]
        func homeNumber(_ id: String) -> Int {
            if let known = homeIndex[id] { return known }
            homeIndex[id] = homeIndex.count
            return homeIndex.count - 1
        }
        home = people.map { homeNumber($0.homeID) }
        length = people.map(\.minutesPerSession)
        buffer = problem.travelBufferMinutes
        let days = problem.days
        continuity = people.map { person in problem.continuityCounsellor(of: person).flatMap { counsellorIndex[$0] } }
        booked = Array(repeating: Array(repeating: [], count: 7), count: counsellors.count)
        weekCount = Array(repeating: 0, count: counsellors.count)
        dayMinutes = Array(repeating: Array(repeating: 0, count: 7), count: counsellors.count)
        personDays = Array(repeating: 0, count: people.count)
        placedOf = Array(repeating: [], count: people.count)
        var keptPerPerson = Array(repeating: 0, count: people.count)
        for session in problem.kept where session.status != .cancelled {
            let day = session.date.dayNumber - problem.monday.dayNumber
            guard (0..<7).contains(day) else { continue }
            if let c = counsellorIndex[session.counsellorID] {
                booked[c][day].append(Booking(start: session.start, end: session.end, home: homeNumber(session.homeID), placement: nil))
                booked[c][day].sort { $0.start < $1.start }
                weekCount[c] += 1
                dayMinutes[c][day] += session.minutes
            }
            if let p = personIndex[session.youngPersonID] {
                personDays[p] |= 1 << UInt8(day)
                keptPerPerson[p] += 1
            }
        }
        homeCount = max(1, homeIndex.count)
        visits = Array(repeating: 0, count: counsellors.count * 7 * max(1, homeIndex.count))
        let keptCounts = keptPerPerson
        demand = people.indices.map { max(0, people[$0].sessionsPerWeek - keptCounts[$0]) }
        keptCount = weekCount
        keptMinutes = dayMinutes
        keptDays = personDays
        // Each counsellor's windows a day, worked out once.
        let counsellorWindows = counsellors.map { counsellor in days.map { counsellor.availability.windows(on: $0) } }
        var qualified: [[Int]] = []
        var pairs: [[Pair]] = []
        for person in people {
            let able = counsellors.indices.filter { counsellors[$0].isQualified(for: person) }
            qualified.append(able)
            let own = days.map { person.availability.windows(on: $0) }
            var found: [Pair] = []
            for c in able {
                for day in 0..<7 where !own[day].isEmpty && !counsellorWindows[c][day].isEmpty {
                    var shared: [(start: Int, end: Int)] = []
                    for a in own[day] {
                        for b in counsellorWindows[c][day] {
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
        let c = pair.counsellor
        let length = length[p]
        guard hasRoom(person: p, counsellor: c, day: pair.day) else { return nil }
        let home = home[p]
        for window in pair.windows {
            var start = window.start
            while start + length <= window.end {
                if let clash = clash(c, pair.day, start: start, end: start + length, home: home) {
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

    /// Whether `p` has no session on `day` and `c` has a session and the minutes for one more then.
    func hasRoom(person p: Int, counsellor c: Int, day: Int) -> Bool {
        let counsellor = counsellors[c]
        return personDays[p] & (1 << UInt8(day)) == 0 && weekCount[c] < counsellor.maxSessionsPerWeek
            && dayMinutes[c][day] + length[p] <= counsellor.maxMinutesPerDay
    }

    /// The first minute from which a session could start after the booking it clashes with, or nil if none clashes.
    func clash(_ c: Int, _ day: Int, start: Int, end: Int, home: Int) -> Int? {
        for booking in booked[c][day] {
            if booking.start >= end + buffer { break }
            let gap = booking.home == home ? 0 : buffer
            if booking.end + gap > start && end + gap > booking.start { return booking.end + gap }
        }
        return nil
    }

    func visitKey(_ c: Int, _ day: Int, _ home: Int) -> Int { (c * 7 + day) * homeCount + home }

    // MARK: Changes

    mutating func add(_ placement: Placement) -> Int {
        let p = placement.person
        let c = placement.counsellor
        let length = length[p]
        let index = placements.count
        placements.append(placement)
        placedOf[p].append(index)
        let booking = Booking(start: placement.start, end: placement.start + length, home: home[p], placement: index)
        let at = booked[c][placement.day].firstIndex { $0.start > placement.start } ?? booked[c][placement.day].count
        booked[c][placement.day].insert(booking, at: at)
        score.loadSquares += 2 * weekCount[c] + 1
        weekCount[c] += 1
        dayMinutes[c][placement.day] += length
        personDays[p] |= 1 << UInt8(placement.day)
        score.placed += 1
        if continuity[p] == c { score.continuity += 1 }
        let key = visitKey(c, placement.day, home[p])
        if visits[key] == 0 { score.visits += 1 }
        visits[key] += 1
        return index
    }

    mutating func remove(_ index: Int) {
        guard let placement = placements[index] else { return }
        let p = placement.person
        let c = placement.counsellor
        placements[index] = nil
        placedOf[p].removeAll { $0 == index }
        booked[c][placement.day].removeAll { $0.placement == index }
        weekCount[c] -= 1
        score.loadSquares -= 2 * weekCount[c] + 1
        dayMinutes[c][placement.day] -= length[p]
        personDays[p] &= ~(1 << UInt8(placement.day))
        score.placed -= 1
        if continuity[p] == c { score.continuity -= 1 }
        let key = visitKey(c, placement.day, home[p])
        visits[key] -= 1
        if visits[key] == 0 { score.visits -= 1 }
    }

    var placedCount: [Int] { placedOf.map(\.count) }

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
        if visits[visitKey(placement.counsellor, placement.day, home[placement.person])] == 0 { after.visits += 1 }
        after.loadSquares += 2 * weekCount[placement.counsellor] + 1
        return after
    }

    // MARK: Search

    /// The constructive start, and the bound: the flow relaxation (`relaxation`) is solved with
    /// the continuity counsellors' edges first; its assignment of young people's days to
    /// counsellors' days is then timed, each counsellor's day in order of the latest start its
    /// sessions allow; what does not fit, and what the flow left out, is placed greedily, the
    /// most constrained young people first. A counsellor's day that held fewer sessions than the
    /// flow gave it is capped at what it held and the flow solved again (a few times, while
    /// `stop` allows). A greedy start alone (the most constrained first, each at its best spot)
    /// is tried too (if `stop` allows), and the best start kept. Returns the bound.
    mutating func construct(stop: () -> Bool = { false }) -> Int {
        let initial = self
        var best = self
        var caps: [[Int]]?
        var bound = 0
        for attempt in 0..<4 {
            if attempt > 0, stop() { break }
            var trial = initial
            var flow = trial.relaxation(caps: caps)
            var total = flow.graph.maximum(from: flow.source, to: flow.sink)
            for edge in flow.other { flow.graph.setCapacity(edge, 1) }
            total += flow.graph.maximum(from: flow.source, to: flow.sink)
            let held = trial.time(flow.assignments.filter { flow.graph.flow($0.edge) > 0 }.map { ($0.person, $0.pair) })
            trial.fill()
            if attempt == 0 {
                bound = total
                best = trial
                if !stop() {
                    var greedy = initial
                    greedy.fill()
                    if best.score < greedy.score { best = greedy }
                }
            } else if best.score < trial.score {
                best = trial
            }
            var capped = caps ?? Array(repeating: Array(repeating: Int.max, count: 7), count: counsellors.count)
            var changed = false
            for c in counsellors.indices {
                for day in 0..<7 where held[c][day].held < held[c][day].given {
                    capped[c][day] = held[c][day].held
                    changed = true
                }
            }
            guard changed else { break }
            caps = capped
        }
        self = best
        return bound
    }

    /// Times an assignment of young people to counsellors' days: each counsellor's day in order
    /// of the latest start its sessions allow, each at its first fit. Returns, per counsellor and
    /// day, the sessions it was given and those it held.
    mutating func time(_ assignment: [(person: Int, pair: Pair)]) -> [[(given: Int, held: Int)]] {
        var held = Array(repeating: Array(repeating: (given: 0, held: 0), count: 7), count: counsellors.count)
        var days = Array(repeating: Array(repeating: [(person: Int, pair: Pair, latest: Int)](), count: 7), count: counsellors.count)
        for (p, pair) in assignment {
            let latest = pair.windows.map { $0.end - length[p] }.max() ?? 0
            days[pair.counsellor][pair.day].append((p, pair, latest))
        }
        for c in counsellors.indices {
            for day in 0..<7 where !days[c][day].isEmpty {
                held[c][day].given = days[c][day].count
                let order = days[c][day].sorted { ($0.latest, -length[$0.person], $0.person) < ($1.latest, -length[$1.person], $1.person) }
                for (p, pair, _) in order {
                    if let start = firstFit(person: p, pair: pair) {
                        _ = add(Placement(person: p, counsellor: c, day: day, start: start))
                        held[c][day].held += 1
                    }
                }
            }
        }
        return held
    }

    /// Places what is missing, the most constrained young people first, each at its best spot.
    mutating func fill() {
        let order = people.indices.filter { placedOf[$0].count < demand[$0] }.sorted {
            (pairs[$0].count, people[$0].id) < (pairs[$1].count, people[$1].id)
        }
        for p in order {
            while placedOf[p].count < demand[p] {
                guard let spot = bestSpot(person: p) else { break }
                _ = add(spot)
            }
        }
    }

    /// Tries to place each missing session, if need be by moving one other session aside
    /// (at most `ejectionTrials` sessions tried aside in all, so a week with no room left does
    /// not cost a sweep of every pair). True if any was placed.
    mutating func placeMissing(
        _ random: inout SplitMix64, ejecting: Bool = true, ejectionTrials: Int = 20_000, stop: () -> Bool = { false }
    ) -> Bool {
        var progress = false
        var order = people.indices.filter { placedOf[$0].count < demand[$0] }
        random.shuffle(&order)
        var trials = ejecting ? ejectionTrials : 0
        var mark = Array(repeating: -1, count: placements.count)
        for p in order {
            if stop() { break }
            while placedOf[p].count < demand[p] {
                if let spot = bestSpot(person: p) {
                    _ = add(spot)
                    progress = true
                } else if trials > 0, ejectAndPlace(person: p, trials: &trials, mark: &mark, stop: stop) {
                    progress = true
                } else {
                    break
                }
            }
        }
        return progress
    }

    /// Moves one session that stands in the way of `person` (a session of a counsellor it shares
    /// time with on that day, or any of the counsellor's if their week is full, or its own on a
    /// day it could use) to another spot, so that `person` gets one more. True if it worked.
    mutating func ejectAndPlace(person p: Int, trials: inout Int, mark: inout [Int], stop: () -> Bool) -> Bool {
        if mark.count < placements.count { mark += Array(repeating: -1, count: placements.count - mark.count) }
        var candidates: [Int] = []
        func consider(_ index: Int?) {
            guard let index, mark[index] != p else { return }
            mark[index] = p
            candidates.append(index)
        }
        for pair in pairs[p] {
            let c = pair.counsellor
            if personDays[p] & (1 << UInt8(pair.day)) != 0 {
                for index in placedOf[p] where placements[index]?.day == pair.day { consider(index) }
            } else if weekCount[c] >= counsellors[c].maxSessionsPerWeek {
                for day in 0..<7 { for booking in booked[c][day] { consider(booking.placement) } }
            } else {
                for booking in booked[c][pair.day] { consider(booking.placement) }
            }
        }
        for (step, index) in candidates.enumerated() where trials > 0 {
            if step % 32 == 31, stop() { return false }
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
    mutating func improve(_ random: inout SplitMix64, stop: () -> Bool = { false }) -> Bool {
        var moved = false
        var order = placements.indices.filter { placements[$0] != nil }
        random.shuffle(&order)
        for (step, index) in order.enumerated() {
            if step % 64 == 63, stop() { break }
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
    mutating func improveContinuity(_ random: inout SplitMix64, stop: () -> Bool = { false }) -> Bool {
        var moved = false
        var order = placements.indices.filter { index in
            guard let placement = placements[index], let wanted = continuity[placement.person] else { return false }
            return wanted != placement.counsellor
        }
        random.shuffle(&order)
        for (step, index) in order.enumerated() {
            if step % 16 == 15, stop() { break }
            guard let current = placements[index], let wanted = continuity[current.person], wanted != current.counsellor else { continue }
            let blockers = (0..<7).flatMap { day in booked[wanted][day].compactMap(\.placement) }
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

    /// Ruin and recreate: takes out every session of a few young people (every other time, one
    /// who lacks a session and some of those whose sessions take its counsellors' time on its
    /// days) and places them again in a random order, each at its best spot; keeps the result unless the plan got worse.
    /// True if the plan got better.
    mutating func ruinAndRecreate(_ random: inout SplitMix64, iterations: Int, stop: () -> Bool = { false }) -> Bool {
        let candidates = people.indices.filter { demand[$0] > 0 }
        guard !candidates.isEmpty else { return false }
        var improved = false
        for iteration in 0..<iterations {
            if iteration % 8 == 7, stop() { break }
            let size = min(candidates.count, 2 + Int(random.next() % 3))
            var chosen = Set<Int>()
            // Every other time, around a young person who lacks a session: with some of those
            // who hold its counsellors' time on its days.
            let missing = iteration % 2 == 0 ? candidates.filter { placedOf[$0].count < demand[$0] } : []
            if let lacking = missing.isEmpty ? nil : missing[Int(random.next() % UInt64(missing.count))] {
                chosen.insert(lacking)
                var holders: [Int] = []
                for pair in pairs[lacking] {
                    for booking in booked[pair.counsellor][pair.day] {
                        if let index = booking.placement, let holder = placements[index]?.person, holder != lacking { holders.append(holder) }
                    }
                }
                var tries = 0
                while !holders.isEmpty, chosen.count < size, tries < 4 * size {
                    chosen.insert(holders[Int(random.next() % UInt64(holders.count))])
                    tries += 1
                }
            }
            while chosen.count < size { chosen.insert(candidates[Int(random.next() % UInt64(candidates.count))]) }
            let before = score
            let taken = chosen.sorted().flatMap { placedOf[$0] }.sorted()
            let old = taken.compactMap { placements[$0] }
            for index in taken { remove(index) }
            var order = chosen.sorted()
            random.shuffle(&order)
            var added: [Int] = []
            for p in order {
                while placedOf[p].count < demand[p], let spot = bestSpot(person: p) { added.append(add(spot)) }
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
        for p in people.indices where placedOf[p].count < demand[p] {
            let missing = demand[p] - placedOf[p].count
            if qualified[p].isEmpty {
                unplaced.append(UnplacedSession(youngPersonID: people[p].id, missing: missing, reason: .noQualifiedCounsellor, counsellorIDs: []))
                continue
            }
            let usable = pairs[p].filter { keptDays[p] & (1 << UInt8($0.day)) == 0 }
            if usable.isEmpty {
                unplaced.append(
                    UnplacedSession(
                        youngPersonID: people[p].id, missing: missing, reason: .noSharedFreeTime, counsellorIDs: qualified[p].map { counsellors[$0].id }))
            } else {
                let involved = Array(Set(usable.map(\.counsellor))).sorted().map { counsellors[$0].id }
                unplaced.append(UnplacedSession(youngPersonID: people[p].id, missing: missing, reason: .counsellorsFull, counsellorIDs: involved))
            }
        }
        var bound = bound
        if bound == nil {
            var flow = relaxation()
            for edge in flow.other { flow.graph.setCapacity(edge, 1) }
            bound = flow.graph.maximum(from: flow.source, to: flow.sink)
        }
        return WeekPlan(sessions: sessions, unplaced: unplaced, score: score, demand: demand.reduce(0, +), upperBound: bound ?? 0)
    }

    /// The flow relaxation every plan is a flow of, and so the bound on the new sessions any plan
    /// can place: young people (their demand) -> their days free of kept sessions (one session a
    /// day) -> the days of counsellors they share time with -> counsellors (their remaining
    /// sessions a week) -> sink. A counsellor's day holds no more sessions than (1) its remaining
    /// minutes hold of the sessions of the young people who share time with it then,
    /// nor (2) the sum, over the stretches of time that some such young person shares with it (cut
    /// by its kept sessions), of the sessions that fit in the stretch: a session lies inside one
    /// shared window, so inside one stretch. "Fit" counts the shortest sessions of distinct young
    /// people first: k sessions take at least the k shortest lengths.
    /// The edges to counsellors other than a young person's continuity counsellor start with no
    /// capacity (`other`: set them to 1 for the relaxation itself); `caps` lowers counsellors'
    /// days' capacities (then it is no longer a relaxation); `assignments` are the edges
    /// from a young person's day to a counsellor's day, with the pair they stand for.
    func relaxation(caps: [[Int]]? = nil) -> (graph: MaxFlow, source: Int, sink: Int, other: [Int], assignments: [(edge: Int, person: Int, pair: Pair)]) {
        var flow = MaxFlow()
        let source = flow.node()
        let sink = flow.node()
        // Who shares time with each counsellor's day (their session lengths), and where: flat
        // lists by `counsellor * 7 + day`.
        var lengths: [(key: Int, length: Int)] = []
        var shared: [(key: Int, start: Int, end: Int, length: Int)] = []
        for p in people.indices where demand[p] > 0 {
            for pair in pairs[p] where keptDays[p] & (1 << UInt8(pair.day)) == 0 {
                let key = pair.counsellor * 7 + pair.day
                lengths.append((key, length[p]))
                for window in pair.windows { shared.append((key, window.start, window.end, length[p])) }
            }
        }
        lengths.sort { ($0.key, $0.length) < ($1.key, $1.length) }
        shared.sort { ($0.key, $0.start) < ($1.key, $1.start) }
        /// How many of `lengths` (sorted) fit in `room` minutes: no set of more sessions is shorter in all.
        func fitting(_ lengths: ArraySlice<Int>, _ room: Int) -> Int {
            var total = 0
            var count = 0
            for length in lengths {
                total += length
                if total > room { return count }
                count += 1
            }
            return count
        }
        // Each counsellor's day's capacity: by minutes, and by the time its stretches hold.
        var capacity = Array(repeating: -1, count: counsellors.count * 7)
        var next = 0
        var all = lengths.map(\.length)[...]
        while next < lengths.count {
            let key = lengths[next].key
            var end = next
            while end < lengths.count, lengths[end].key == key { end += 1 }
            let (c, day) = (key / 7, key % 7)
            capacity[key] = fitting(all[next..<end], max(0, counsellors[c].maxMinutesPerDay - keptMinutes[c][day]))
            next = end
        }
        next = 0
        var stretchLengths: [Int] = []
        while next < shared.count {
            let key = shared[next].key
            let (c, day) = (key / 7, key % 7)
            var byTime = 0
            // Stretches: the union of the shared windows, with the lengths of the sessions that may lie there.
            while next < shared.count, shared[next].key == key {
                let start = shared[next].start
                var end = shared[next].end
                stretchLengths.removeAll(keepingCapacity: true)
                while next < shared.count, shared[next].key == key, shared[next].start <= end {
                    end = max(end, shared[next].end)
                    stretchLengths.append(shared[next].length)
                    next += 1
                }
                stretchLengths.sort()
                all = stretchLengths[...]
                // Cut by kept sessions (sorted by start).
                var from = start
                for booking in booked[c][day] where booking.placement == nil && booking.end > from && booking.start < end {
                    byTime += fitting(all, booking.start - from)
                    from = max(from, booking.end)
                }
                byTime += fitting(all, end - from)
            }
            capacity[key] = min(capacity[key], byTime, caps?[c][day] ?? Int.max)
        }
        var counsellorDay = Array(repeating: Array(repeating: -1, count: 7), count: counsellors.count)
        for c in counsellors.indices {
            let node = flow.node()
            flow.edge(node, sink, max(0, counsellors[c].maxSessionsPerWeek - keptCount[c]))
            for day in 0..<7 where capacity[c * 7 + day] >= 0 {
                let dayNode = flow.node()
                flow.edge(dayNode, node, capacity[c * 7 + day])
                counsellorDay[c][day] = dayNode
            }
        }
        var other: [Int] = []
        var assignments: [(edge: Int, person: Int, pair: Pair)] = []
        for p in people.indices where demand[p] > 0 {
            let personNode = flow.node()
            flow.edge(source, personNode, demand[p])
            var dayNodes = Array(repeating: -1, count: 7)
            for pair in pairs[p] where keptDays[p] & (1 << UInt8(pair.day)) == 0 && counsellorDay[pair.counsellor][pair.day] >= 0 {
                if dayNodes[pair.day] < 0 {
                    dayNodes[pair.day] = flow.node()
                    flow.edge(personNode, dayNodes[pair.day], 1)
                }
                let wanted = continuity[p] == pair.counsellor
                guard let edge = flow.edge(dayNodes[pair.day], counsellorDay[pair.counsellor][pair.day], 1, open: wanted) else { continue }
                if !wanted { other.append(edge) }
                assignments.append((edge, p, pair))
            }
        }
        return (flow, source, sink, other, assignments)
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

    /// Adds an edge of `amount` (with no capacity yet unless `open`); returns its number.
    @discardableResult
    mutating func edge(_ from: Int, _ target: Int, _ amount: Int, open: Bool = true) -> Int? {
        guard amount > 0 else { return nil }
        let number = to.count
        adjacency[from].append(number)
        to.append(target)
        capacity.append(open ? amount : 0)
        adjacency[target].append(to.count)
        to.append(from)
        capacity.append(0)
        return number
    }

    /// Sets an edge's remaining capacity (before any flow passes it).
    mutating func setCapacity(_ edge: Int, _ amount: Int) { capacity[edge] = amount }

    /// The flow through an edge.
    func flow(_ edge: Int) -> Int { capacity[edge ^ 1] }

    /// Augments the current flow to a maximum one; returns what it added.
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
