/// What a change may do to days before today in the site's zone.
public enum PastDays: Sendable, Hashable {
    /// No check: the server's own work (intake confirmations, demo data, imports, tests).
    case allowed
    /// A day before today is FAILED_PRECONDITION naming the field: what managers ask for.
    case refused
    /// Allowed on purpose; the audit entry carries a `correction:FIELD` record.
    case correction

    /// The audit record that marks a change reaching before today through `field`.
    public static func auditRecord(_ field: String) -> String { "correction:\(field)" }
}

extension PastDays {
    /// A change's date against today in the site's zone: a day before today is refused unless
    /// the caller asked for a correction. Returns the audit records that mark a correction.
    public func check(_ day: CivilDate, today: CivilDate, field: String, what: String) throws(SchedulerError) -> [String] {
        guard day < today else { return [] }
        switch self {
        case .allowed:
            return []
        case .refused:
            throw SchedulerError(
                .failedPrecondition,
                "\(field) \(day) is before today (\(today) at the site): \(what) would rewrite what already happened; "
                    + "set correction to correct the records on purpose",
                field: field)
        case .correction:
            return [Self.auditRecord(field)]
        }
    }
}
