/// Where a token's rights apply: a site, a nursery or one counsellor, written `kind:id`.
public struct Scope: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case site, nursery, counsellor
    }

    public var kind: Kind
    public var id: String

    public init(kind: Kind, id: String) {
        self.kind = kind
        self.id = id
    }

    /// Parses `site:almaty`; ids are 1-64 characters of letters, digits, `-` and `_`.
    public init(parsing text: String) throws(SchedulerError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw SchedulerError(.invalidArgument, "scope must look like kind:id (e.g. site:almaty)", field: "scope")
        }
        let kindText = String(text[..<colon])
        let id = String(text[text.index(after: colon)...])
        guard let kind = Kind(rawValue: kindText) else {
            let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw SchedulerError(.invalidArgument, "scope kind must be one of \(kinds)", field: "scope")
        }
        guard Self.isValidID(id) else {
            throw SchedulerError(
                .invalidArgument,
                "scope id must be 1-64 letters, digits, '-' or '_'",
                field: "scope"
            )
        }
        self.init(kind: kind, id: id)
    }

    /// Whether `id` is a well-formed identifier: 1-64 ASCII letters, digits, `-` or `_`.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }
    }

    public var description: String { "\(kind.rawValue):\(id)" }
}
