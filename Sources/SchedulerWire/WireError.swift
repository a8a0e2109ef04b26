/// The one error type of the wire module: a frame or message that could not be read or written.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case malformed, budgetExceeded, invalidUTF8, invalidEnum, frameTooLarge, emptyFrame, schema
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The bytes are not a valid encoding of the expected message.
        public static let malformed = Code(.malformed)
        /// Decoding would allocate more than the per-call budget.
        public static let budgetExceeded = Code(.budgetExceeded)
        /// A string field is not valid UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// An enum field holds a number the schema does not define.
        public static let invalidEnum = Code(.invalidEnum)
        /// A frame's length prefix is over the limit.
        public static let frameTooLarge = Code(.frameTooLarge)
        /// A frame's length prefix is zero.
        public static let emptyFrame = Code(.emptyFrame)
        /// The Swift side and the generated schema disagree (a bug, never the client's fault).
        public static let schema = Code(.schema)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    /// The field at fault, as a path in the message (`token.scope`), when there is one.
    public var field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { message }
}
