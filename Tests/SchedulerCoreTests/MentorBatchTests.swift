import SchedulerCore
import Testing

/// Mentor batches (issue 13) judged by checkers written here, with their own arithmetic: an
/// exhaustive search over every assignment on tiny instances, a Hungarian algorithm on
/// capacity-expanded copies on medium ones, and a placement checker that reads the rules from
/// domain.md ("Mentor sessions").
struct MentorBatchTests {
    static let fieldPool = ["it", "finance", "crafts", "cooking", "music"]
    static let base = CivilDate(year: 2026, month: 11, day: 23)!

    // MARK: Random instances

    static func instance(seed: UInt64, items itemCount: Int, mentors mentorCount: Int, capacities: ClosedRange<Int>) -> MentorBatch {
        var random = SplitMix64(seed: seed &* 7919 &+ 17)
        func pick(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        func fields() -> Set<String> { Set((0..<pick(1...3)).map { _ in fieldPool[pick(0...fieldPool.count - 1)] }) }
        func availability() -> Availability {
            let days = Weekday.allCases.shuffled(using: &random).prefix(pick(1...4))
            let windows = days.map { day -> WeeklyWindow in
                let start = pick(32...72) * 15
                return WeeklyWindow(weekday: day, start: start, end: start + pick(2...12) * 15)
            }
            let away: Set<CivilDate> = pick(0...2) == 0 ? [base.adding(days: pick(0...20))] : []
            return Availability(windows: windows, awayDates: away)
        }
        func busy(_ id: String) -> [BusyInterval] {
            (0..<pick(0...4)).map { _ in
                let start = pick(32...80) * 15
                return BusyInterval(personID: id, date: base.adding(days: pick(0...30)), start: start, end: start + pick(2...8) * 15)
            }
        }
        let sites = ["north", "south"]
        let mentors = (0..<mentorCount).map { index in
            Mentor(
                id: "m\(index)", siteID: pick(0...3) == 0 ? sites[1] : sites[0], fields: fields(), capacity: pick(capacities), availability: availability(),
                sessionMinutes: [30, 45, 60, 90][pick(0...3)])
        }
        var items: [MentorBatchItem] = []
        var currentMentor: [String: String] = [:]
        var availabilities: [String: Availability] = [:]
        var personBusy: [BusyInterval] = []
        for index in 0..<itemCount {
            let id = "y\(index)"
            let from = base.adding(days: pick(0...6))
            items.append(
                MentorBatchItem(
                    youngPersonID: id, siteID: pick(0...4) == 0 ? sites[1] : sites[0], fields: fields(), sessions: pick(1...3), from: from,
                    to: from.adding(days: pick(3...24))))
            if mentorCount > 0, pick(0...1) == 0 { currentMentor[id] = "m\(pick(0...mentorCount - 1))" }
            if pick(0...9) > 0 { availabilities[id] = availability() }
            personBusy += busy(id)
        }
        var active: [String: Int] = [:]
        for mentor in mentors where pick(0...2) == 0 { active[mentor.id] = pick(0...1) }
        // Given in a shuffled order: the answer must not depend on it.
        return MentorBatch(
            id: "b\(seed)", items: items.shuffled(using: &random), mentors: mentors.shuffled(using: &random), currentMentor: currentMentor,
            activeMentees: active, youngPersonAvailability: availabilities, youngPersonBusy: personBusy, mentorBusy: mentors.flatMap { busy($0.id) })
    }

    // MARK: Independent checkers

    /// Shared fields, counted by hand.
    static func sharedFields(_ a: Set<String>, _ b: Set<String>) -> Int {
        var count = 0
        for field in a where b.contains(field) { count += 1 }
        return count
    }

    static func room(_ mentor: Mentor, _ batch: MentorBatch) -> Int { max(0, mentor.capacity - (batch.activeMentees[mentor.id] ?? 0)) }

    /// The best (total fit, kept pairs, -sum of squared loads) over every assignment, each item to
    /// no mentor or one of its site with a shared field, within room.
    static func exhaustiveBest(_ batch: MentorBatch) -> (fit: Int, kept: Int, squares: Int) {
        let items = batch.items
        let mentors = batch.mentors
        var used = Array(repeating: 0, count: mentors.count)
        var best = (fit: -1, kept: 0, squares: 0)
        func squares() -> Int {
            var total = 0
            for (index, mentor) in mentors.enumerated() {
                let load = min(batch.activeMentees[mentor.id] ?? 0, mentor.capacity) + used[index]
                total += load * load
            }
            return total
        }
        func search(_ index: Int, _ fit: Int, _ kept: Int) {
            if index == items.count {
                let candidate = (fit: fit, kept: kept, squares: squares())
                if (candidate.fit, candidate.kept, -candidate.squares) > (best.fit, best.kept, -best.squares) { best = candidate }
                return
            }
            search(index + 1, fit, kept)
            let item = items[index]
            for (m, mentor) in mentors.enumerated() where mentor.siteID == item.siteID && used[m] < room(mentor, batch) {
                let shared = sharedFields(mentor.fields, item.fields)
                guard shared > 0 else { continue }
                used[m] += 1
                search(index + 1, fit + shared, kept + (batch.currentMentor[item.youngPersonID] == mentor.id ? 1 : 0))
                used[m] -= 1
            }
        }
        search(0, 0, 0)
        return best
    }

    /// Weekday 1 (Monday) to 7 and a week number that changes on Mondays, from the day number
    /// (day 0, 1970-01-01, was a Thursday).
    static func weekday(_ day: Int) -> Int { ((day + 3) % 7 + 7) % 7 + 1 }
    static func week(_ day: Int) -> Int { Int((Double(day + 3) / 7).rounded(.down)) }

    static func inside(_ availability: Availability, day: Int, start: Int, end: Int) -> Bool {
        guard !availability.awayDates.contains(where: { $0.dayNumber == day }) else { return false }
        return availability.windows.contains { $0.weekday.rawValue == weekday(day) && $0.start <= start && end <= $0.end }
    }

    static func overlaps(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Bool { a.0 == b.0 && a.1 < b.2 && b.1 < a.2 }

    /// Every rule a plan must keep, as sentences.
    static func violations(of plan: MentorBatchPlan, in batch: MentorBatch) -> [String] {
        var broken: [String] = []
        let items = Dictionary(uniqueKeysWithValues: batch.items.map { ($0.youngPersonID, $0) })
        let mentors = Dictionary(uniqueKeysWithValues: batch.mentors.map { ($0.id, $0) })
        // Matching: sites, shared fields, room, one pair per item, every item answered.
        var load: [String: Int] = [:]
        var pairOf: [String: String] = [:]
        for assignment in plan.assignments {
            guard let item = items[assignment.youngPersonID], let mentor = mentors[assignment.mentorID] else {
                broken.append("unknown pair \(assignment)")
                continue
            }
            if pairOf.updateValue(mentor.id, forKey: item.youngPersonID) != nil { broken.append("\(item.youngPersonID) matched twice") }
            if mentor.siteID != item.siteID { broken.append("\(item.youngPersonID) matched across sites") }
            let shared = sharedFields(mentor.fields, item.fields)
            if shared == 0 { broken.append("\(item.youngPersonID) matched with no shared field") }
            if shared != assignment.fit { broken.append("\(item.youngPersonID) fit \(assignment.fit), really \(shared)") }
            if assignment.kept != (batch.currentMentor[item.youngPersonID] == mentor.id) { broken.append("\(item.youngPersonID) kept is wrong") }
            load[mentor.id, default: 0] += 1
        }
        for mentor in batch.mentors where load[mentor.id, default: 0] > room(mentor, batch) { broken.append("\(mentor.id) over capacity") }
        for item in batch.items where pairOf[item.youngPersonID] == nil {
            let refusals = plan.refusals.filter { $0.youngPersonID == item.youngPersonID }
            let anyFit = batch.mentors.contains { $0.siteID == item.siteID && sharedFields($0.fields, item.fields) > 0 }
            let expected: MentorRefusalReason = anyFit ? .mentorsFull : .noMentorWithFields
            if refusals.count != 1 || refusals[0].reason != expected || refusals[0].sessions != item.sessions {
                broken.append("\(item.youngPersonID) not matched, refusals \(refusals), expected \(expected)")
            }
        }
        // Placement.
        var taken: [String: [(Int, Int, Int)]] = [:]  // "y:" / "m:" + id -> (day, start, end)
        for busy in batch.youngPersonBusy { taken["y:" + busy.personID, default: []].append((busy.date.dayNumber, busy.start, busy.end)) }
        for busy in batch.mentorBusy { taken["m:" + busy.personID, default: []].append((busy.date.dayNumber, busy.start, busy.end)) }
        var placed: [String: [(Int, Int, Int)]] = [:]
        var weeksOfPair: [String: Set<Int>] = [:]
        for session in plan.sessions {
            guard let item = items[session.youngPersonID], let mentor = mentors[session.mentorID], pairOf[item.youngPersonID] == mentor.id else {
                broken.append("session \(session.id) of no pair")
                continue
            }
            let day = session.date.dayNumber
            let slot = (day, session.start, session.start + session.minutes)
            if day < item.from.dayNumber || day > item.to.dayNumber { broken.append("\(session.id) outside the range") }
            if session.start % 15 != 0 || session.minutes != mentor.sessionMinutes { broken.append("\(session.id) off the grid or wrong length") }
            if !inside(mentor.availability, day: day, start: slot.1, end: slot.2) { broken.append("\(session.id) outside the mentor's time") }
            let availability = batch.youngPersonAvailability[item.youngPersonID] ?? Availability()
            if !inside(availability, day: day, start: slot.1, end: slot.2) { broken.append("\(session.id) outside the young person's time") }
            for key in ["y:" + item.youngPersonID, "m:" + mentor.id] {
                if (taken[key] ?? []).contains(where: { overlaps($0, slot) }) { broken.append("\(session.id) clashes with \(key)'s busy time") }
                if (placed[key] ?? []).contains(where: { overlaps($0, slot) }) { broken.append("\(session.id) clashes with another of \(key)'s sessions") }
                placed[key, default: []].append(slot)
            }
            if !weeksOfPair[item.youngPersonID, default: []].insert(week(day)).inserted { broken.append("\(session.id) second in a week") }
            if session.batchID != batch.id { broken.append("\(session.id) batch id") }
        }
        // Every session of a pair is placed or refused; a refused week really had no room.
        for (person, mentorID) in pairOf {
            guard let item = items[person], let mentor = mentors[mentorID] else { continue }
            let refusals = plan.refusals.filter { $0.youngPersonID == person }
            let placedCount = plan.sessions.filter { $0.youngPersonID == person }.count
            if placedCount + refusals.reduce(0, { $0 + $1.sessions }) != item.sessions { broken.append("\(person): sessions do not add up") }
            for refusal in refusals {
                if refusal.reason != .noSharedFreeTime || refusal.mentorID != mentorID { broken.append("\(person): refusal \(refusal)") }
                guard let text = refusal.week else { continue }
                guard let monday = CivilDate(isoWeek: text) else {
                    broken.append("\(person): week \(text)")
                    continue
                }
                if weeksOfPair[person, default: []].contains(week(monday.dayNumber)) { broken.append("\(person): refused week \(text) has a session") }
                let availability = batch.youngPersonAvailability[person] ?? Availability()
                for day in max(monday.dayNumber, item.from.dayNumber)...max(min(monday.dayNumber + 6, item.to.dayNumber), item.from.dayNumber)
                where day <= item.to.dayNumber {
                    for start in stride(from: 0, through: 24 * 60 - mentor.sessionMinutes, by: 15) {
                        let slot = (day, start, start + mentor.sessionMinutes)
                        guard inside(mentor.availability, day: day, start: slot.1, end: slot.2), inside(availability, day: day, start: slot.1, end: slot.2)
                        else { continue }
                        let clash = ["y:" + person, "m:" + mentorID].contains { key in
                            (taken[key] ?? []).contains { overlaps($0, slot) } || (placed[key] ?? []).contains { overlaps($0, slot) }
                        }
                        if !clash { broken.append("\(person): refused week \(text) had room on day \(day) at \(start)") }
                    }
                }
            }
        }
        return broken
    }

    // MARK: Tests

    /// Tiny instances: the matching is the best by exhaustive search, in total fit, then kept
    /// pairs, then the spread of load; and the plan keeps every rule.
    @Test(arguments: 0..<300)
    func tinyMatchingIsExactAndPlanKeepsTheRules(seed: UInt64) {
        let batch = Self.instance(seed: seed, items: 1 + Int(seed % 6), mentors: 1 + Int(seed / 7 % 3), capacities: 1...2)
        let plan = MentorBatchPlanner.plan(batch)
        let best = Self.exhaustiveBest(batch)
        #expect(plan.totalFit == best.fit, "seed \(seed)")
        #expect(plan.keptPairs == best.kept, "seed \(seed)")
        var load: [String: Int] = [:]
        for assignment in plan.assignments { load[assignment.mentorID, default: 0] += 1 }
        let squares = batch.mentors.reduce(0) { total, mentor in
            let value = min(batch.activeMentees[mentor.id] ?? 0, mentor.capacity) + load[mentor.id, default: 0]
            return total + value * value
        }
        #expect(squares == best.squares, "seed \(seed)")
        let broken = Self.violations(of: plan, in: batch)
        #expect(broken.isEmpty, "seed \(seed): \(broken.prefix(3))")
    }

    /// Medium instances: total fit equals the Hungarian optimum; the plan keeps every rule; the
    /// same batch gives the same plan.
    @Test(arguments: 0..<100)
    func mediumMatchingIsExactAndStable(seed: UInt64) {
        let batch = Self.instance(seed: seed, items: 10 + Int(seed % 25), mentors: 2 + Int(seed % 7), capacities: 0...4)
        let plan = MentorBatchPlanner.plan(batch)
        #expect(plan.totalFit == MentorMatcherTests.hungarianBest(batch).fit, "seed \(seed)")
        let broken = Self.violations(of: plan, in: batch)
        #expect(broken.isEmpty, "seed \(seed): \(broken.prefix(3))")
        #expect(MentorBatchPlanner.plan(batch) == plan)
        var reordered = batch
        reordered.items.reverse()
        reordered.mentors.reverse()
        #expect(MentorBatchPlanner.plan(reordered) == plan)
    }

    @Test func refusalReasonsAndWeeks() throws {
        let monday = Self.base  // 2026-W48
        let morning = Availability(windows: [WeeklyWindow(weekday: .monday, start: 9 * 60, end: 10 * 60)])
        let mentors = [
            Mentor(id: "m1", siteID: "s", fields: ["it"], capacity: 1, availability: morning, sessionMinutes: 60),
            Mentor(id: "m2", siteID: "other", fields: ["cooking"], capacity: 5, availability: morning),
        ]
        let items = [
            MentorBatchItem(youngPersonID: "a", siteID: "s", fields: ["it"], sessions: 3, from: monday, to: monday.adding(days: 13)),
            MentorBatchItem(youngPersonID: "b", siteID: "s", fields: ["it", "music"], sessions: 1, from: monday, to: monday),
            MentorBatchItem(youngPersonID: "c", siteID: "s", fields: ["cooking"], sessions: 1, from: monday, to: monday),
        ]
        // a keeps m1 (same fit as b); a is busy on the first Monday.
        let batch = MentorBatch(
            id: "x", items: items, mentors: mentors, currentMentor: ["a": "m1"], youngPersonAvailability: ["a": morning, "b": morning, "c": morning],
            youngPersonBusy: [BusyInterval(personID: "a", date: monday, start: 9 * 60 + 30, end: 10 * 60)])
        try batch.validate()
        let plan = MentorBatchPlanner.plan(batch)
        #expect(plan.assignments == [MentorAssignment(youngPersonID: "a", mentorID: "m1", fit: 1, kept: true)])
        #expect(plan.sessions.map(\.date) == [monday.adding(days: 7)])
        #expect(plan.sessions.first?.id == "x-a-1")
        #expect(
            plan.refusals == [
                MentorRefusal(youngPersonID: "a", mentorID: "m1", reason: .noSharedFreeTime, week: "2026-W48", sessions: 1),
                MentorRefusal(youngPersonID: "a", mentorID: "m1", reason: .noSharedFreeTime, sessions: 1),
                MentorRefusal(youngPersonID: "b", reason: .mentorsFull, sessions: 1),
                MentorRefusal(youngPersonID: "c", reason: .noMentorWithFields, sessions: 1),
            ])
        #expect(MentorRefusalReason.mentorsFull.rawValue == "mentors with these fields are full")
    }

    /// Earliest time after both people's busy times and the batch's own sessions of the mentor.
    @Test func placementSkipsBusyTimesOfBoth() {
        let monday = Self.base
        let window = Availability(windows: [WeeklyWindow(weekday: .monday, start: 9 * 60, end: 12 * 60)])
        let mentor = Mentor(id: "m", siteID: "s", fields: ["it"], capacity: 2, availability: window, sessionMinutes: 60)
        let items = ["a", "b"].map { MentorBatchItem(youngPersonID: $0, siteID: "s", fields: ["it"], sessions: 1, from: monday, to: monday) }
        let batch = MentorBatch(
            items: items, mentors: [mentor], youngPersonAvailability: ["a": window, "b": window],
            youngPersonBusy: [BusyInterval(personID: "a", date: monday, start: 9 * 60 + 30, end: 10 * 60)],
            mentorBusy: [BusyInterval(personID: "m", date: monday, start: 9 * 60, end: 9 * 60 + 30)])
        let plan = MentorBatchPlanner.plan(batch)
        #expect(plan.sessions.map(\.start) == [10 * 60, 11 * 60])
        #expect(plan.refusals.isEmpty)
    }

    @Test func validateRefusesDuplicatesAndBadRanges() {
        let item = MentorBatchItem(youngPersonID: "a", siteID: "s", fields: ["it"], sessions: 1, from: Self.base, to: Self.base)
        #expect(throws: SchedulerError.self) { try MentorBatch(items: [item, item], mentors: [], youngPersonAvailability: [:]).validate() }
        var backwards = item
        backwards.to = Self.base.adding(days: -1)
        #expect(throws: SchedulerError.self) { try MentorBatch(items: [backwards], mentors: [], youngPersonAvailability: [:]).validate() }
    }
}
