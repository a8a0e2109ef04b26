/// Decides how an existing placement changes (ended from a day, or cancelled) from what a store
/// loaded under its locks: the placement, and today in its site's zone. The store writes the new
/// row and moves the placement's share of its group's ledger with `ledgerChange`.
public enum PlacementChange {
    /// The placement ended from `from` (its last day the day before `from`), and the audit
    /// records. Ending frees the places from `from` on; it is refused for a cancelled placement,
    /// one that would end before it starts (cancel it instead) or one that already ends earlier.
    public static func end(_ old: Placement, from: CivilDate, pastDays: PastDays, today: CivilDate) throws(SchedulerError) -> (
        Placement, records: [String]
    ) {
        guard old.state == .active else {
            throw SchedulerError(.failedPrecondition, "placement \(old.id) is cancelled", field: "id")
        }
        guard from > old.first else {
            throw SchedulerError(
                .failedPrecondition, "from_day \(from) is not after the first day \(old.first); cancel the placement instead",
                field: "from_day")
        }
        if let last = old.last, from > last {
            throw SchedulerError(.failedPrecondition, "the placement already ends on \(last)", field: "from_day")
        }
        let correction = try pastDays.check(from, today: today, field: "from_day", what: "ending from that day")
        var new = old
        new.last = from.adding(days: -1)
        return (new, ["placement:\(old.id)"] + correction)
    }

    /// The placement cancelled (it frees every place it held), if its first day is still ahead
    /// of `today`, or on purpose as a correction (a started placement that should never have
    /// been booked); also the audit records, which mark a correction.
    public static func cancel(_ old: Placement, pastDays: PastDays, today: CivilDate) throws(SchedulerError) -> (Placement, records: [String]) {
        guard old.state == .active else {
            throw SchedulerError(.failedPrecondition, "placement \(old.id) is already cancelled", field: "id")
        }
        var records = ["placement:\(old.id)"]
        if old.first <= today {
            guard pastDays == .correction else {
                throw SchedulerError(
                    .failedPrecondition,
                    "the placement started on \(old.first); end it from a day instead of cancelling it "
                        + "(or set correction if it should never have been booked)",
                    field: "id")
            }
            records.append(PastDays.auditRecord("id"))
        }
        var new = old
        new.state = .cancelled
        return (new, records)
    }

    /// Moves a placement's share of its group's ledger from `old` to `new` (`change`), and back (`inverse`).
    public static func ledgerChange(old: Placement, new: Placement) -> (
        change: @Sendable (inout CapacityLedger) -> Void, inverse: @Sendable (inout CapacityLedger) -> Void
    ) {
        let before = old.span, after = new.state == .active ? new.span : nil
        return (
            { ledger in
                ledger.remove(before)
                if let after { ledger.add(after) }
            },
            { ledger in
                if let after { ledger.remove(after) }
                ledger.add(before)
            }
        )
    }
}
