/// How one call is made.
public struct CallOptions: Sendable {
    /// The call's deadline, sent to the server as `timeout_ms`; `nil` for none.
    public var timeout: Duration?
    /// The server stores a change's result under it, and the client reuses it on its own retries
    /// so a retried change happens once. The client makes one when none is given.
    public var idempotencyKey: String?
    /// Retries after UNAVAILABLE (or a GoAway that refused the call), with jittered backoff.
    public var maxRetries: Int

    public init(timeout: Duration? = .seconds(30), idempotencyKey: String? = nil, maxRetries: Int = 4) {
        self.timeout = timeout
        self.idempotencyKey = idempotencyKey
        self.maxRetries = maxRetries
    }

    /// Options for a call that changes data, with a fresh idempotency key.
    public static func mutation(timeout: Duration? = .seconds(30)) -> CallOptions {
        CallOptions(timeout: timeout, idempotencyKey: IdempotencyKey.make())
    }
}

public enum IdempotencyKey {
    /// A fresh random key (128 bits, hex).
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let value = generator.next() as UInt64
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
