import Testing

@testable import SchedulerCore

/// The matcher on batches shaped like a real site's (`MentorBatchInstance.random`): its answer
/// against an assignment solved here by the Hungarian algorithm with the whole objective (fit,
/// then kept pairs, then the least sum of squared loads), and its flow over classes of items and
/// mentors against the flow with one node per item.
struct MentorMatcherTests {
    /// (total fit, kept pairs, sum of squared loads) of a plan's pairs, counted here.
    static func score(_ assignments: [MentorAssignment], _ batch: MentorBatch) -> (fit: Int, kept: Int, squares: Int) {
        let items = Dictionary(uniqueKeysWithValues: batch.items.map { ($0.youngPersonID, $0) })
        let mentors = Dictionary(uniqueKeysWithValues: batch.mentors.map { ($0.id, $0) })
        var fit = 0
        var kept = 0
        var load: [String: Int] = [:]
        for assignment in assignments {
            guard let item = items[assignment.youngPersonID], let mentor = mentors[assignment.mentorID] else { continue }
            fit += MentorBatchTests.sharedFields(item.fields, mentor.fields)
            if batch.currentMentor[item.youngPersonID] == mentor.id { kept += 1 }
            load[mentor.id, default: 0] += 1
        }
        let squares = batch.mentors.reduce(0) { total, mentor in
            let value = min(batch.activeMentees[mentor.id] ?? 0, mentor.capacity) + load[mentor.id, default: 0]
            return total + value * value
        }
        return (fit, kept, squares)
    }

    /// The best (total fit, kept pairs, sum of squared loads), by the Hungarian algorithm on items
    /// against one column per free place of each mentor (its k-th place costing the growth of its
    /// square, `2 * (active + k) - 1`, so places fill in order) and one "nobody" column per item.
    /// Fit weighs more than any number of kept pairs and loads, a kept pair more than any loads.
    static func hungarianBest(_ batch: MentorBatch) -> (fit: Int, kept: Int, squares: Int) {
        var columns: [(mentor: Mentor, place: Int)?] = []
        for mentor in batch.mentors {
            let room = MentorBatchTests.room(mentor, batch)
            if room > 0 { columns += (1...room).map { (mentor, $0) } }
        }
        columns += Array(repeating: nil, count: batch.items.count)
        let n = batch.items.count
        let m = columns.count
        guard n > 0 else { return score([], batch) }
        let biggestPlace = columns.compactMap { $0.map { 2 * (min(batch.activeMentees[$0.mentor.id] ?? 0, $0.mentor.capacity) + $0.place) - 1 } }.max() ?? 0
        let keepWeight = n * biggestPlace + 1
        let fitWeight = (n + 1) * keepWeight
        func cost(_ row: Int, _ column: Int) -> Int {
            let item = batch.items[row]
            guard let (mentor, place) = columns[column], mentor.siteID == item.siteID else { return 0 }
            let shared = MentorBatchTests.sharedFields(mentor.fields, item.fields)
            guard shared > 0 else { return 0 }
            let active = min(batch.activeMentees[mentor.id] ?? 0, mentor.capacity)
            let kept = batch.currentMentor[item.youngPersonID] == mentor.id ? 1 : 0
            return -(shared * fitWeight + kept * keepWeight) + 2 * (active + place) - 1
        }
        // 1-based rows and columns, column 0 the virtual start.
        var u = Array(repeating: 0, count: n + 1)
        var v = Array(repeating: 0, count: m + 1)
        var owner = Array(repeating: 0, count: m + 1)
        var way = Array(repeating: 0, count: m + 1)
        for row in 1...n {
            owner[0] = row
            var column0 = 0
            var minimum = Array(repeating: Int.max, count: m + 1)
            var used = Array(repeating: false, count: m + 1)
            repeat {
                used[column0] = true
                let row0 = owner[column0]
                var delta = Int.max
                var column1 = 0
                for column in 1...m where !used[column] {
                    let current = cost(row0 - 1, column - 1) - u[row0] - v[column]
                    if current < minimum[column] {
                        minimum[column] = current
                        way[column] = column0
                    }
                    if minimum[column] < delta {
                        delta = minimum[column]
                        column1 = column
                    }
                }
                for column in 0...m {
                    if used[column] {
                        u[owner[column]] += delta
                        v[column] -= delta
                    } else {
                        minimum[column] -= delta
                    }
                }
                column0 = column1
            } while owner[column0] != 0
            repeat {
                let column1 = way[column0]
                owner[column0] = owner[column1]
                column0 = column1
            } while column0 != 0
        }
        var pairs: [MentorAssignment] = []
        for column in 1...m where owner[column] != 0 && cost(owner[column] - 1, column - 1) < 0 {
            guard let (mentor, _) = columns[column - 1] else { continue }
            pairs.append(MentorAssignment(youngPersonID: batch.items[owner[column] - 1].youngPersonID, mentorID: mentor.id, fit: 0, kept: false))
        }
        return score(pairs, batch)
    }

    /// Site-shaped batches small enough for the Hungarian check, from roomy (10 mentors for 60
    /// young people) to short of places (3 mentors): the matcher finds the same optimum in all
    /// three orders, and the plan keeps every rule.
    @Test(arguments: 0..<40)
    func siteShapedBatchesMatchTheHungarianOptimum(seed: UInt64) {
        let batch = MentorBatchInstance.random(items: 60, mentors: 3 + Int(seed % 8), seed: seed)
        let plan = MentorBatchPlanner.plan(batch)
        let best = Self.hungarianBest(batch)
        let found = Self.score(plan.assignments, batch)
        #expect(found == best, "seed \(seed): found \(found), best \(best)")
        #expect(plan.totalFit == best.fit && plan.keptPairs == best.kept, "seed \(seed)")
        let broken = MentorBatchTests.violations(of: plan, in: batch)
        #expect(broken.isEmpty, "seed \(seed): \(broken.prefix(3))")
    }

    /// The medium batches of `MentorBatchTests` (two sites, capacities 0-4, mentors from before
    /// often without a shared field) against the whole objective too.
    @Test(arguments: 0..<60)
    func mediumBatchesMatchTheHungarianOptimum(seed: UInt64) {
        let batch = MentorBatchTests.instance(seed: seed, items: 10 + Int(seed % 25), mentors: 2 + Int(seed % 7), capacities: 0...4)
        let found = Self.score(MentorMatcher.match(batch).assignments, batch)
        let best = Self.hungarianBest(batch)
        #expect(found == best, "seed \(seed): found \(found), best \(best)")
    }

    /// Classes of items and mentors, and one node per item: the same fit, kept pairs and load.
    @Test(arguments: 0..<20)
    func classesAndItemsAgree(seed: UInt64) {
        for batch in [
            MentorBatchInstance.random(items: 150 + Int(seed) * 10, mentors: 5 + Int(seed % 15), seed: seed),
            MentorBatchTests.instance(seed: seed, items: 40, mentors: 6, capacities: 0...6),
        ] {
            let grouped = MentorMatcher.match(batch, grouped: true)
            let ungrouped = MentorMatcher.match(batch, grouped: false)
            #expect(Self.score(grouped.assignments, batch) == Self.score(ungrouped.assignments, batch), "seed \(seed)")
            let noMentor = { (matching: MentorMatcher.Matching) in matching.refusals.filter { $0.reason == .noMentorWithFields } }
            #expect(noMentor(grouped) == noMentor(ungrouped), "seed \(seed)")
        }
    }

    /// The same batch in any order gives the same plan, at a size where many items share a class.
    @Test func sameBatchInAnyOrderGivesTheSamePlan() {
        let batch = MentorBatchInstance.random(items: 400, mentors: 40, seed: 11)
        let plan = MentorBatchPlanner.plan(batch)
        var random = SplitMix64(seed: 3)
        var shuffled = batch
        shuffled.items.shuffle(using: &random)
        shuffled.mentors.shuffle(using: &random)
        #expect(MentorBatchPlanner.plan(shuffled) == plan)
        #expect(MentorBatchTests.violations(of: plan, in: batch).isEmpty)
    }

    /// The generator: one seed, one batch; valid; the shape the benchmark promises.
    @Test func randomInstancesAreValidAndShapedLikeASite() throws {
        let batch = MentorBatchInstance.random(items: 1_000, mentors: 100, seed: 5)
        #expect(batch == MentorBatchInstance.random(items: 1_000, mentors: 100, seed: 5))
        #expect(batch != MentorBatchInstance.random(items: 1_000, mentors: 100, seed: 6))
        try batch.validate()
        #expect(batch.items.count == 1_000 && batch.mentors.count == 100)
        let fields = Set(MentorBatchInstance.fields)
        for mentor in batch.mentors {
            #expect(mentor.siteID == "almaty" && (1...3).contains(mentor.fields.count) && mentor.fields.isSubset(of: fields))
            #expect((5...15).contains(mentor.capacity) && [45, 60, 90].contains(mentor.sessionMinutes))
            #expect((1...4).contains(mentor.availability.windows.count))
            #expect(mentor.availability.windows.allSatisfy { (120...240).contains($0.end - $0.start) })
        }
        for item in batch.items {
            #expect(item.siteID == "almaty" && (1...3).contains(item.fields.count) && item.fields.isSubset(of: fields))
            #expect((2...6).contains(item.sessions) && item.from == MentorBatchInstance.from)
            #expect([28, 35, 42, 49, 56].contains(item.to.dayNumber - item.from.dayNumber + 1))
            #expect((2...4).contains(batch.youngPersonAvailability[item.youngPersonID]?.windows.count ?? 0))
        }
        #expect((200...400).contains(batch.currentMentor.count))
        #expect(!batch.activeMentees.isEmpty && !batch.youngPersonBusy.isEmpty && !batch.mentorBusy.isEmpty)
        let people = MentorBatchInstance.youngPeople(of: batch)
        #expect(people.map(\.id) == batch.items.map(\.youngPersonID))
        #expect(people.allSatisfy { $0.availability == batch.youngPersonAvailability[$0.id] })
    }
}
