/// The one error type of the scheduler's domain. The server maps its code to an RPC status at
/// the boundary; `message` is for people and never holds tokens or personal data.
public struct SchedulerError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidArgument, notFound, alreadyExists, permissionDenied, unauthenticated
            case failedPrecondition, resourceExhausted, aborted, deadlineExceeded, cancelled
            case unavailable, `internal`, dataLoss
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidArgument = Code(.invalidArgument)
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        public static let permissionDenied = Code(.permissionDenied)
        public static let unauthenticated = Code(.unauthenticated)
        public static let failedPrecondition = Code(.failedPrecondition)
        public static let resourceExhausted = Code(.resourceExhausted)
        public static let aborted = Code(.aborted)
        public static let deadlineExceeded = Code(.deadlineExceeded)
        public static let cancelled = Code(.cancelled)
        public static let unavailable = Code(.unavailable)
        public static let `internal` = Code(.internal)
        /// Stored data that cannot be read back as what it should be (a row changed by hand, say).
        public static let dataLoss = Code(.dataLoss)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The request field at fault, for `invalidArgument` (e.g. `scope`, `offers[2].group_id`).
    public var field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code): \(message)" }
}

extension SchedulerError {
    /// NOT_FOUND for a record a request names (`what` with id `id`), naming the request's field.
    public static func missing(_ what: String, _ id: String, field: String) -> SchedulerError {
        SchedulerError(.notFound, "no \(what) with id \(id)", field: field)
    }
}

extension Optional {
    /// The value, or NOT_FOUND naming `what`, its id and the request's field.
    public func required(_ what: String, _ id: String, field: String) throws(SchedulerError) -> Wrapped {
        guard let self else { throw .missing(what, id, field: field) }
        return self
    }
}
