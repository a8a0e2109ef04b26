import SchedulerCore
import Testing

/// `PlacementChange` against domain.md: "Cancellation / ending early: frees the places from a
/// given day on", and the store's rules (a started placement is ended, not cancelled, unless
/// corrected; days before today need a correction when asked).
struct PlacementChangeTests {
    let f = DeciderFixture()
    let today = DeciderFixture.day("2030-08-01")

    func taken(_ ledger: CapacityLedger, _ day: String) -> Int { ledger.occupancy(on: DeciderFixture.day(day), .morning).taken }

    @Test func endingFreesThePlacesFromTheGivenDayOn() throws {
        let old = f.placement("p1", kind: .sos, first: "2030-09-02", pattern: "mon-fri:am")
        let (new, records) = try PlacementChange.end(old, from: DeciderFixture.day("2030-09-16"), pastDays: .refused, today: today)
        #expect(new.last == DeciderFixture.day("2030-09-15"))
        #expect(new.state == .active)
        #expect(records == ["placement:p1"])
        var ledger = f.ledger([old])
        PlacementChange.ledgerChange(old: old, new: new).change(&ledger)
        #expect(taken(ledger, "2030-09-13") == 1)
        #expect(taken(ledger, "2030-09-16") == 0)
        #expect(taken(ledger, "2031-01-06") == 0)
        // And the inverse puts it back as it was.
        PlacementChange.ledgerChange(old: old, new: new).inverse(&ledger)
        #expect(taken(ledger, "2030-09-16") == 1)
        #expect(taken(ledger, "2031-01-06") == 1)
    }

    @Test func endingIsRefusedWhenItWouldNotShortenAnActivePlacement() throws {
        let old = f.placement("p1", kind: .sos, first: "2030-09-02", last: "2030-12-31", pattern: "mon-fri:am")
        for (from, field) in [("2030-09-02", "from_day"), ("2030-08-26", "from_day"), ("2031-01-01", "from_day"), ("2031-01-05", "from_day")] {
            let error = schedulerError { try PlacementChange.end(old, from: DeciderFixture.day(from), pastDays: .allowed, today: today) }
            #expect(error?.code == .failedPrecondition, "from \(from)")
            #expect(error?.field == field)
        }
        // From its last day: it ends the day before.
        #expect(
            try PlacementChange.end(old, from: DeciderFixture.day("2030-12-31"), pastDays: .allowed, today: today).0.last == DeciderFixture.day("2030-12-30"))
        var cancelled = old
        cancelled.state = .cancelled
        let error = schedulerError { try PlacementChange.end(cancelled, from: DeciderFixture.day("2030-10-01"), pastDays: .allowed, today: today) }
        #expect(error?.field == "id")
    }

    @Test func endingFromADayBeforeTodayNeedsACorrection() throws {
        let old = f.placement("p1", kind: .sos, first: "2030-06-03", pattern: "mon-fri:am")
        let from = DeciderFixture.day("2030-07-15")
        #expect(schedulerError { try PlacementChange.end(old, from: from, pastDays: .refused, today: today) }?.field == "from_day")
        #expect(try PlacementChange.end(old, from: from, pastDays: .allowed, today: today).records == ["placement:p1"])
        #expect(try PlacementChange.end(old, from: from, pastDays: .correction, today: today).records == ["placement:p1", "correction:from_day"])
    }

    @Test func cancellingBeforeTheFirstDayFreesEveryPlace() throws {
        let old = f.placement("p1", kind: .local, first: "2030-09-02", pattern: "mon-fri:am")
        let (new, records) = try PlacementChange.cancel(old, pastDays: .refused, today: today)
        #expect(new.state == .cancelled)
        #expect(records == ["placement:p1"])
        var ledger = f.ledger([old])
        PlacementChange.ledgerChange(old: old, new: new).change(&ledger)
        #expect(taken(ledger, "2030-09-02") == 0)
        #expect(taken(ledger, "2031-03-03") == 0)
        #expect(schedulerError { try PlacementChange.cancel(new, pastDays: .correction, today: today) }?.code == .failedPrecondition)
    }

    @Test func aStartedPlacementIsEndedNotCancelledUnlessCorrected() throws {
        let old = f.placement("p1", kind: .local, first: "2030-08-01", pattern: "mon-fri:am")
        for policy in [PastDays.allowed, .refused] {
            let error = schedulerError { try PlacementChange.cancel(old, pastDays: policy, today: today) }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.field == "id")
        }
        let (new, records) = try PlacementChange.cancel(old, pastDays: .correction, today: today)
        #expect(new.state == .cancelled)
        #expect(records == ["placement:p1", "correction:id"])
    }
}
