/// One of a nursery day's two sessions.
public enum Session: Int, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case morning = 0, afternoon = 1

    public var shortName: String { self == .morning ? "am" : "pm" }

    public static func < (lhs: Session, rhs: Session) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A (weekday, session) pair: one of the 14 places a weekly pattern can cover.
public struct Slot: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var weekday: Weekday
    public var session: Session

    public init(_ weekday: Weekday, _ session: Session) {
        self.weekday = weekday
        self.session = session
    }

    /// 0...13: Monday morning, Monday afternoon, Tuesday morning, ...
    public var index: Int { (weekday.rawValue - 1) * 2 + session.rawValue }

    public init(index: Int) {
        self.init(Weekday(rawValue: index / 2 + 1) ?? .monday, Session(rawValue: index % 2) ?? .morning)
    }

    public static let all = (0..<14).map(Slot.init(index:))

    public static func < (lhs: Slot, rhs: Slot) -> Bool { lhs.index < rhs.index }

    public var description: String { "\(weekday.shortName) \(session.shortName)" }
}

/// The weekly shape of a placement: a set of (weekday, session) slots.
///
/// Text form: clauses `DAYS:SESSIONS` joined by `;`, where DAYS is a day (`mon`), a range
/// (`mon-fri`) or a list (`mon,wed,fri`), and SESSIONS is `am`, `pm` or `full`:
/// `mon-fri:full`, `mon,wed:am`, `tue-thu:pm`, `mon-thu:full;fri:am`.
public struct WeeklyPattern: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Bit `slot.index` is set for each covered slot.
    public private(set) var bits: UInt16

    public init(bits: UInt16) { self.bits = bits & 0x3fff }

    public init(_ slots: some Sequence<Slot>) {
        bits = 0
        for slot in slots { bits |= 1 << slot.index }
    }

    public var slots: [Slot] { Slot.all.filter { contains($0) } }
    public var isEmpty: Bool { bits == 0 }
    public func contains(_ slot: Slot) -> Bool { bits & (1 << slot.index) != 0 }
    public var weekdays: Set<Weekday> { Set(slots.map(\.weekday)) }

    public func subtracting(_ other: WeeklyPattern) -> WeeklyPattern { WeeklyPattern(bits: bits & ~other.bits) }
    public func intersection(_ other: WeeklyPattern) -> WeeklyPattern { WeeklyPattern(bits: bits & other.bits) }

    /// Parses the text form; the error says what is wrong, naming the `pattern` field.
    public init(parsing text: String) throws(SchedulerError) {
        var slots: [Slot] = []
        let clauses = text.lowercased().split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: " ") }
        guard !clauses.isEmpty, !clauses.contains(where: \.isEmpty) else {
            throw Self.error("pattern is empty")
        }
        for clause in clauses {
            let halves = clause.split(separator: ":", omittingEmptySubsequences: false)
            guard halves.count == 2 else { throw Self.error("'\(clause)' must be DAYS:SESSIONS, e.g. mon-fri:full") }
            let sessions: [Session]
            switch halves[1] {
            case "am": sessions = [.morning]
            case "pm": sessions = [.afternoon]
            case "full": sessions = [.morning, .afternoon]
            default: throw Self.error("'\(halves[1])' must be am, pm or full")
            }
            var days: [Weekday] = []
            for item in halves[0].split(separator: ",", omittingEmptySubsequences: false) {
                let range = item.split(separator: "-", omittingEmptySubsequences: false)
                guard let from = range.first.flatMap({ Weekday(shortName: String($0)) }),
                    let to = range.last.flatMap({ Weekday(shortName: String($0)) }), range.count <= 2, from <= to
                else { throw Self.error("'\(item)' is not a day (mon..sun) or a range such as mon-fri") }
                days += (from.rawValue...to.rawValue).compactMap(Weekday.init(rawValue:))
            }
            for day in days { for session in sessions { slots.append(Slot(day, session)) } }
        }
        self.init(slots)
    }

    private static func error(_ message: String) -> SchedulerError {
        SchedulerError(.invalidArgument, message, field: "pattern")
    }

    /// The shortest text form: days with the same sessions grouped into ranges.
    public var description: String {
        guard !isEmpty else { return "" }
        var groups: [(sessions: String, days: [Weekday])] = []
        for day in Weekday.allCases {
            let am = contains(Slot(day, .morning)), pm = contains(Slot(day, .afternoon))
            guard am || pm else { continue }
            let sessions = am && pm ? "full" : (am ? "am" : "pm")
            if let index = groups.firstIndex(where: { $0.sessions == sessions }) { groups[index].days.append(day) }
            else { groups.append((sessions, [day])) }
        }
        return groups.map { group in
            var parts: [String] = []
            var start = group.days[0], previous = group.days[0]
            for day in group.days.dropFirst().map(Optional.some) + [nil] {
                if let day, day.rawValue == previous.rawValue + 1 {
                    previous = day
                    continue
                }
                parts.append(start == previous ? start.shortName : "\(start.shortName)-\(previous.shortName)")
                if let day { start = day; previous = day }
            }
            return parts.joined(separator: ",") + ":" + group.sessions
        }.joined(separator: ";")
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try WeeklyPattern(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
