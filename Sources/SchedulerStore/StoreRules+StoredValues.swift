import SchedulerCore

/// Values read back from a store, or from a dump being imported, that must fit what the code
/// does with them. A row changed by hand (or a dump edited by hand) can hold anything its column
/// type allows; such a value is DATA_LOSS naming the column, never a trap or a wrong answer
/// further on (a count sent as `uint32`, a day number turned into a date).
extension StoreRules {
    /// Day numbers of the years 1 to 9999, the days `CivilDate` can name.
    static let storedDays = -719_162...2_932_896
    /// Counts and sizes: they go out as `uint32` and are summed as `Int32`.
    static let storedCounts = 0...Int(Int32.max)
    /// A `WeeklyPattern`'s 14 bits (7 days x morning, afternoon).
    static let storedPatterns = 0...0x3fff
    /// Minutes of a day: a session's start and length.
    static let storedMinutes = 0...TimeGrid.dayMinutes

    /// The integer columns whose values have a narrower range than their column type, by `table.column`.
    static let storedRanges: [String: ClosedRange<Int>] = [
        "nursery.open_weekdays": 0...0x7f,
        "nursery_group.min_age_months": storedCounts, "nursery_group.max_age_months": storedCounts,
        "nursery_group.capacity": storedCounts, "nursery_group.reserved_sos": storedCounts,
        "nursery_group.reserved_local": storedCounts,
        "child.birth_day": storedDays,
        "placement.first_day": storedDays, "placement.last_day": storedDays, "placement.pattern": storedPatterns,
        "intake_round.first_day": storedDays, "intake_round.last_day": storedDays,
        "intake_offer.pattern": storedPatterns, "intake_offer.places": storedCounts,
        "intake_offer.reserved_sos": storedCounts, "intake_offer.reserved_local": storedCounts,
        "intake_result.choice": storedCounts,
        "intake_run_offer.places": storedCounts, "intake_run_offer.held": storedCounts,
        "intake_run_offer.held_sos": storedCounts, "intake_run_offer.held_local": storedCounts,
        "intake_run_offer.waiting": storedCounts,
        "counselling_session.day": storedDays, "counselling_session.start_minute": storedMinutes,
        "counselling_session.minutes": storedMinutes, "counselling_session.sequence": storedCounts,
        "mentor_session.day": storedDays, "mentor_session.start_minute": storedMinutes,
        "mentor_session.minutes": storedMinutes, "mentor_session.sequence": storedCounts,
    ]

    /// The stored value of `column` (`table.column`), checked against its range.
    static func stored(_ value: Int, _ column: String) throws -> Int {
        if let range = storedRanges[column], !range.contains(value) {
            throw unreadable(column, "\(value) is outside \(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    static func storedDay(_ value: Int, _ column: String) throws -> CivilDate {
        CivilDate(dayNumber: try stored(value, column))
    }

    static func storedPattern(_ value: Int, _ column: String) throws -> WeeklyPattern {
        WeeklyPattern(bits: UInt16(try stored(value, column)))
    }

    /// A stored value that cannot be what its column holds; `why` may show the value (numbers
    /// only: never a name or another personal field).
    static func unreadable(_ column: String, _ why: String? = nil) -> SchedulerError {
        SchedulerError(
            .dataLoss,
            "the store holds a value of \(column) that cannot be read\(why.map { " (\($0))" } ?? ""); "
                + "a row was changed by hand or imported wrong: correct it (Docs/operations.md, Changing data by hand)")
    }
}
