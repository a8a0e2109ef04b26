/// A direct booking as a manager (or an intake confirmation) asks for it.
public struct BookingInput: Sendable, Hashable {
    public var childID: String
    public var groupID: String
    public var first: CivilDate
    public var last: CivilDate?
    public var pattern: WeeklyPattern
    /// Whether `first` may lie before today.
    public var pastDays: PastDays

    public init(childID: String, groupID: String, first: CivilDate, last: CivilDate?, pattern: WeeklyPattern, pastDays: PastDays = .allowed) {
        self.childID = childID
        self.groupID = groupID
        self.first = first
        self.last = last
        self.pattern = pattern
        self.pastDays = pastDays
    }
}
