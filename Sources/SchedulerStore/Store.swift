import Foundation
import SchedulerCore
import ServiceLifecycle

/// Who is changing what, for the audit log and idempotency. Every mutating store method takes
/// one and, in the same transaction as the change, checks and records its idempotency key and
/// appends an audit entry.
public struct MutationContext: Sendable {
    /// The caller's token id; `nil` for the server's own command line.
    public var actor: String?
    /// The RPC method path, or a command name such as `sosched-server token create`.
    public var method: String
    /// The caller's idempotency key; `nil` when none was given.
    public var idempotencyKey: String?
    /// A digest of the request (method and payload), to tell a retry from a different request.
    public var requestDigest: [UInt8]
    public var now: Date
    /// Called inside the transaction just before it commits; throwing rolls the change back.
    /// The server uses it so that a call past its deadline commits nothing.
    public var beforeCommit: @Sendable () throws -> Void
    /// Asked when the change's turn comes: false (the call timed out or was cancelled while it
    /// waited) skips the work altogether.
    public var isWanted: @Sendable () -> Bool

    public init(
        actor: String?, method: String, idempotencyKey: String? = nil, requestDigest: [UInt8] = [],
        now: Date = Date(), beforeCommit: @escaping @Sendable () throws -> Void = {},
        isWanted: @escaping @Sendable () -> Bool = { true }
    ) {
        self.isWanted = isWanted
        self.actor = actor
        self.method = method
        self.idempotencyKey = idempotencyKey
        self.requestDigest = requestDigest
        self.now = now
        self.beforeCommit = beforeCommit
    }
}

/// The outcome of a mutating store call.
public enum Mutated<Value: Sendable>: Sendable {
    /// The change was made; `reply` is what was stored under the idempotency key.
    case applied(Value, reply: [UInt8])
    /// An earlier call with the same key and request made the change; this is its stored reply.
    case replayed(reply: [UInt8])
}

/// A newly created token: the record and its secret, which is shown once and never stored.
public struct IssuedToken: Sendable, Hashable {
    public var token: AccessToken
    public var secret: String
}

/// One line of the append-only audit log.
public struct AuditEntry: Sendable, Hashable {
    public var sequence: Int64
    public var at: Date
    /// Token id of the caller, `nil` for the server's command line.
    public var actor: String?
    public var method: String
    /// The records the change touched, e.g. `token:tok_4m2k9x7q1d`; a change made on purpose
    /// to days before today also lists `correction:FIELD` (the request field that reached back).
    public var records: [String]

    /// Whether the change corrected the past on purpose (a request with `correction` set).
    public var isCorrection: Bool { records.contains { $0.hasPrefix("correction:") } }
}

/// Everything the scheduler keeps. One implementation per database (SQLite now, PostgreSQL
/// later); later features extend this protocol.
public protocol Store: NurseryStore, IntakeStore, CounsellingStore, MentoringStore {
    /// `sqlite` or `postgres`, for `Health`.
    var kind: String { get }
    /// What must run while the store is used (the PostgreSQL store's connection pool; none for
    /// SQLite). A server puts them first in its `ServiceGroup`, so they stop after everything
    /// that uses the store; elsewhere `withRunningServices` runs them. They run once.
    var services: [any Service] { get }

    // MARK: Tokens

    /// The active token whose secret is `secret`, or `nil` (unknown or revoked).
    func activeToken(secret: String) async throws -> AccessToken?
    /// Tokens in creation order after the cursor `after` (exclusive); returns the page and the next cursor.
    func listTokens(includeRevoked: Bool, after: Int64?, limit: Int) async throws -> (tokens: [AccessToken], next: Int64?)
    /// Creates a token. `reply` turns the result into the bytes stored for idempotent retries.
    func createToken(
        role: Role, scope: Scope?, name: String, context: MutationContext,
        reply: @escaping @Sendable (IssuedToken) throws -> [UInt8]
    ) async throws -> Mutated<IssuedToken>
    /// Revokes a token (already revoked: unchanged). `notFound` when there is no such token.
    func revokeToken(
        id: String, context: MutationContext, reply: @escaping @Sendable (AccessToken) throws -> [UInt8]
    ) async throws -> Mutated<AccessToken>

    // MARK: Audit and housekeeping

    func auditEntries(after: Int64, limit: Int) async throws -> [AuditEntry]
    /// The reply stored under the context's idempotency key, if the key was used already (for a
    /// call that would rather not redo expensive work before its write finds the key); nil when
    /// there is no key or it is unused; `ALREADY_EXISTS` when it was used for another request.
    func storedReply(for context: MutationContext) async throws -> [UInt8]?
    /// Forgets idempotency keys stored before `date`; returns how many.
    func purgeIdempotencyKeys(before date: Date) async throws -> Int

    /// Releases what the store holds outside its services (the SQLite file); bounded.
    func close() async throws
}
