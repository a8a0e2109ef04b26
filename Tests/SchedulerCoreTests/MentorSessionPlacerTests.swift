import SchedulerCore
import Testing

/// Placement against a placer written here the slow way: pairs in young person id order, and in
/// each week of the item's range the first day and the first start on the 15-minute grid where
/// the session lies inside one window of each person and clashes with nothing either has.
struct MentorSessionPlacerTests {
    /// (young person, day number, start) of every session, in the order placed.
    static func earliestSessions(_ batch: MentorBatch, pairs: [MentorAssignment]) -> [String] {
        let items = Dictionary(uniqueKeysWithValues: batch.items.map { ($0.youngPersonID, $0) })
        let mentors = Dictionary(uniqueKeysWithValues: batch.mentors.map { ($0.id, $0) })
        var taken: [String: [(Int, Int, Int)]] = [:]
        for busy in batch.youngPersonBusy { taken["y:" + busy.personID, default: []].append((busy.date.dayNumber, busy.start, busy.end)) }
        for busy in batch.mentorBusy { taken["m:" + busy.personID, default: []].append((busy.date.dayNumber, busy.start, busy.end)) }
        var placed: [String] = []
        for pair in pairs {
            guard let item = items[pair.youngPersonID], let mentor = mentors[pair.mentorID] else { continue }
            let availability = batch.youngPersonAvailability[item.youngPersonID] ?? Availability()
            let keys = ["y:" + item.youngPersonID, "m:" + mentor.id]
            var count = 0
            var monday = item.from.mondayOfWeek.dayNumber
            while monday <= item.to.dayNumber, count < item.sessions {
                search: for day in max(monday, item.from.dayNumber)...max(monday, min(monday + 6, item.to.dayNumber)) where day >= item.from.dayNumber {
                    for start in stride(from: 0, through: 24 * 60 - mentor.sessionMinutes, by: 15) {
                        let slot = (day, start, start + mentor.sessionMinutes)
                        guard MentorBatchTests.inside(mentor.availability, day: day, start: slot.1, end: slot.2),
                            MentorBatchTests.inside(availability, day: day, start: slot.1, end: slot.2),
                            !keys.contains(where: { key in (taken[key] ?? []).contains { MentorBatchTests.overlaps($0, slot) } })
                        else { continue }
                        for key in keys { taken[key, default: []].append(slot) }
                        placed.append("\(item.youngPersonID) \(day) \(start)")
                        count += 1
                        break search
                    }
                }
                monday += 7
            }
        }
        return placed
    }

    @Test(arguments: 0..<30)
    func sessionsGoInTheEarliestFreeTime(seed: UInt64) {
        for batch in [
            MentorBatchInstance.random(items: 60, mentors: 4 + Int(seed % 6), seed: seed),
            MentorBatchTests.instance(seed: seed, items: 30, mentors: 5, capacities: 1...6),
        ] {
            let plan = MentorBatchPlanner.plan(batch)
            let found = plan.sessions.map { "\($0.youngPersonID) \($0.date.dayNumber) \($0.start)" }
            #expect(found == Self.earliestSessions(batch, pairs: plan.assignments), "seed \(seed)")
        }
    }
}
