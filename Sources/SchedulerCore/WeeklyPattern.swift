/// One of a nursery day's two sessions.
public enum Session: Int, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case morning = 0
    case afternoon = 1

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
        guard clauses.contains(where: { !$0.isEmpty }) else { throw Self.error("pattern is empty") }
        guard !clauses.contains(where: \.isEmpty) else {
            throw Self.error("'\(text)' has an empty part: every part between ';' must be DAYS:SESSIONS, e.g. mon-fri:am;wed:full")
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

    /// The shortest text form. Clauses may overlap (`mon-fri:am;wed:pm` is shorter than
    /// `mon-tue,thu-fri:am;wed:full`), so this searches every way to split the pattern into at
    /// most one `full`, one `am` and one `pm` clause (more clauses of one kind are never shorter
    /// than one with a day list). Ties go to fewer clauses, then to less overlap.
    public var description: String {
        guard !isEmpty else { return "" }
        var am = 0, pm = 0
        for day in Weekday.allCases {
            if contains(Slot(day, .morning)) { am |= 1 << (day.rawValue - 1) }
            if contains(Slot(day, .afternoon)) { pm |= 1 << (day.rawValue - 1) }
        }
        let both = am & pm
        var best: (cost: (Int, Int, Int), full: Int, am: Int, pm: Int)?
        for full in Self.submasks(of: both) {
            let amDays = Self.cheapest(required: am & ~full, optional: full)
            let pmDays = Self.cheapest(required: pm & ~full, optional: full)
            let clauses = [(full, 4), (amDays, 2), (pmDays, 2)].filter { $0.0 != 0 }
            let length = clauses.reduce(clauses.count - 1) { $0 + Self.dayListLength[$1.0] + 1 + $1.1 }
            let overlap = (amDays & full).nonzeroBitCount + (pmDays & full).nonzeroBitCount
            let cost = (length, clauses.count, overlap)
            if best.map({ cost < $0.cost }) ?? true { best = (cost, full, amDays, pmDays) }
        }
        guard let best else { return "" }
        let clauses = [(best.full, "full", 0), (best.am, "am", 1), (best.pm, "pm", 2)].filter { $0.0 != 0 }
        // Earliest first day first; on the same day full, then am, then pm.
        return clauses.sorted { ($0.0.trailingZeroBitCount, $0.2) < ($1.0.trailingZeroBitCount, $1.2) }
            .map { Self.dayList($0.0) + ":" + $0.1 }
            .joined(separator: ";")
    }

    /// Every subset of the weekday bit set `mask` (including the empty one and `mask` itself).
    private static func submasks(of mask: Int) -> [Int] {
        var result = [0], sub = mask
        while sub != 0 {
            result.append(sub)
            sub = (sub - 1) & mask
        }
        return result
    }

    /// The day set with the shortest text among `required` plus any part of `optional`.
    private static func cheapest(required: Int, optional: Int) -> Int {
        guard required != 0 else { return 0 }
        var best = required
        for extra in submasks(of: optional & ~required) where dayListLength[required | extra] < dayListLength[best] {
            best = required | extra
        }
        return best
    }

    /// A weekday bit set (bit 0 Monday) as text: runs of two or more days as ranges, joined by commas.
    static func dayList(_ mask: Int) -> String {
        var parts: [String] = []
        var day = 0
        while day < 7 {
            guard mask & (1 << day) != 0 else {
                day += 1
                continue
            }
            var end = day
            while end + 1 < 7, mask & (1 << (end + 1)) != 0 { end += 1 }
            let from = Weekday(rawValue: day + 1)?.shortName ?? "", to = Weekday(rawValue: end + 1)?.shortName ?? ""
            parts.append(end == day ? from : "\(from)-\(to)")
            day = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// The length of `dayList(mask)` for each of the 128 weekday sets.
    private static let dayListLength: [Int] = (0..<128).map { dayList($0).count }

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
