import ArgumentParser
import Foundation
import SchedulerCore

/// The intake mechanism alone (quality.md: 100,000 children x 5 choices over 1,000 offers in
/// < 150 ms; 1,000,000 in < 2 s): a random round, then the allocator from its inputs (numbering,
/// priorities, lottery) to the result with waitlists. Median of `repeats` runs in this process.
struct IntakeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Time an intake round's allocation.",
        discussion: "Example:\n  sosched-bench intake --children 100000 --offers 1000 --choices 5")

    @Option(help: "Children applying.") var children = 100_000
    @Option(help: "Offers open in the round.") var offers = 1_000
    @Option(help: "Offers each child ranks.") var choices = 5
    @Option(help: "Places in all, as a share of the children.") var placesShare = 0.7
    @Option(help: "Timed runs; the median is reported.") var repeats = 5

    func run() async throws {
        var random = SplitMix64(seed: 20_261_122)
        let perOffer = max(1, Int(Double(children) * placesShare) / offers)
        let made = (0..<offers).map { index -> IntakeOffer in
            let sos = perOffer / 5, local = perOffer / 10
            return IntakeOffer(
                id: "o\(index)", groupID: "g\(index)", nurseryID: "n\(index / 5)", pattern: WeeklyPattern(bits: 0x3ff), places: perOffer,
                reservedSOS: sos, reservedLocal: local)
        }
        // Popular offers are popular: a child's choices lean towards low offer numbers.
        let applications = (0..<children).map { index -> IntakeApplication in
            var ranking: [String] = []
            var seen = Set<Int>()
            while ranking.count < min(choices, offers) {
                let u = Double(random.next() >> 11) / Double(1 << 53)
                let offer = min(offers - 1, Int(Double(offers) * u * u))
                if seen.insert(offer).inserted { ranking.append("o\(offer)") }
            }
            return IntakeApplication(
                childID: "c\(index)", familyKind: random.next() % 3 == 0 ? .sos : .local,
                siblingNurseries: random.next() % 8 == 0 ? ["n\(random.next() % UInt64(max(1, offers / 5)))"] : [],
                specialNeeds: random.next() % 20 == 0, singleParent: random.next() % 6 == 0, parentsWorking: random.next() % 2 == 0,
                submittedAt: Int64(random.next() % 86_400_000 * 14), ranking: ranking)
        }
        var totals: [Double] = [], runs: [Double] = []
        var held = 0
        for round in 0..<repeats {
            let start = ContinuousClock.now
            let allocator = try IntakeAllocator(offers: made, applications: applications, seed: UInt64(round))
            let middle = ContinuousClock.now
            let result = allocator.run()
            let end = ContinuousClock.now
            held = result.placedCount
            totals.append(Self.milliseconds(end - start))
            runs.append(Self.milliseconds(end - middle))
        }
        totals.sort()
        runs.sort()
        try emit([
            "name": "intake_allocation", "value": (totals[totals.count / 2] * 10).rounded() / 10, "unit": "ms", "children": children,
            "offers": offers, "choices": choices, "places": perOffer * offers, "placed": held,
            "run_only_ms": (runs[runs.count / 2] * 10).rounded() / 10, "repeats": repeats, "min": (totals[0] * 10).rounded() / 10,
            "max": (totals[totals.count - 1] * 10).rounded() / 10,
        ])
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
