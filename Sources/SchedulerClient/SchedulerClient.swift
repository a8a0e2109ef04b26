import NIOCore
import NIOPosix
import NIOSSL
import SchedulerCore
import SchedulerWire
import Synchronization

/// An RPC call that ended with a non-OK status.
public struct RPCError: Error, Sendable, CustomStringConvertible {
    public var status: Status
    public init(_ status: Status) { self.status = status }
    public var code: StatusCode { status.code }
    public var description: String { status.description }
}

/// The async client: many calls in flight on one connection, deadlines, cancellation, and safe
/// retries (only UNAVAILABLE or calls a GoAway refused; mutating calls only with their
/// idempotency key), reconnecting when the connection goes away.
public final class SchedulerClient: Sendable {
    public let address: ServerAddress
    public let token: String?
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let maxFrameBytes: Int
    private let tls: NIOSSLContext?
    private let nextCallID = Atomic<UInt64>(1)
    private let connection = Mutex<Task<ClientConnection, any Error>?>(nil)

    public convenience init(address: ServerAddress, token: String? = nil, group: (any EventLoopGroup)? = nil, maxFrameBytes: Int = 4 << 20) {
        self.init(address: address, token: token, group: group, maxFrameBytes: maxFrameBytes, tlsContext: nil)
    }

    /// A client that speaks TLS to a TCP address, verifying the server's certificate (see
    /// `ClientTLS`). Throws for TLS settings that cannot be used (an unreadable trust file).
    public convenience init(
        address: ServerAddress, token: String? = nil, group: (any EventLoopGroup)? = nil, maxFrameBytes: Int = 4 << 20, tls: ClientTLS
    ) throws {
        self.init(address: address, token: token, group: group, maxFrameBytes: maxFrameBytes, tlsContext: try tls.context())
    }

    private init(address: ServerAddress, token: String?, group: (any EventLoopGroup)?, maxFrameBytes: Int, tlsContext: NIOSSLContext?) {
        self.tls = tlsContext
        self.address = address
        self.token = token
        self.maxFrameBytes = maxFrameBytes
        if let group {
            self.group = group
            ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            ownsGroup = true
        }
    }

    /// Closes the connection (and the client's own event loop, if it made one).
    public func close() async {
        let current = connection.withLock { task in
            defer { task = nil }
            return task
        }
        if let current, let open = try? await current.value { await open.close() }
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    private func currentConnection(timeout: Duration = .seconds(10)) async throws -> ClientConnection {
        let task = connection.withLock { task -> Task<ClientConnection, any Error> in
            if let task { return task }
            let address = self.address, group = self.group, maxFrameBytes = self.maxFrameBytes, tls = self.tls
            let new = Task { try await ClientConnection.connect(to: address, group: group, maxFrameBytes: maxFrameBytes, timeout: timeout, tls: tls) }
            task = new
            return new
        }
        do {
            let open = try await task.value
            if open.isUsable { return open }
        } catch {
            connection.withLock { if $0 == task { $0 = nil } }
            // Nothing was sent: always safe to try again.
            throw RetryableFailure(status: Status(.unavailable, "cannot connect to \(address): \(error)"))
        }
        // The connection went away: replace it (once, whoever gets here first).
        connection.withLock { if $0 == task { $0 = nil } }
        return try await currentConnection(timeout: timeout)
    }

    // MARK: Calls

    /// Calls a unary `method` (a generated constant, `RPC.NurseryService.bookPlace`) with its
    /// request and decodes its response.
    public func call<Request: WireMessage, Response: WireMessage>(
        _ method: RPCMethod<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> Response {
        let payload = try WireCodec.encode(request)
        let reply = try await call(method: method.path, payload: payload, options: options)
        do {
            return try WireCodec.decode(Response.self, from: reply)
        } catch {
            throw RPCError(Status(.internal, "the server's reply does not decode as \(Response.protoName): \(error.message)"))
        }
    }

    /// Calls `method` with raw payload bytes; returns the reply payload or throws `RPCError`.
    public func call(method: String, payload: [UInt8], options: CallOptions = CallOptions()) async throws -> [UInt8] {
        let clock = ContinuousClock()
        let deadline = options.timeout.map { clock.now + $0 }
        // Every call carries a key (servers use it only for methods that change data), so every
        // retry below is safe: a change is made once whatever the caller says of the method.
        var options = options
        if options.idempotencyKey == nil { options.idempotencyKey = IdempotencyKey.make() }
        var attempt = 0
        while true {
            do {
                return try await attemptCall(method: method, payload: payload, options: options, deadline: deadline)
            } catch let failure as RetryableFailure {
                attempt += 1
                guard attempt <= options.maxRetries else { throw RPCError(failure.status) }
                // Jittered exponential backoff: 50 ms, 100 ms, 200 ms, 400 ms (x 0.5-1.5), inside the deadline.
                let base = 0.05 * Double(1 << (attempt - 1))
                let delay = Duration.seconds(base * Double.random(in: 0.5...1.5))
                if let deadline, clock.now + delay >= deadline { throw RPCError(failure.status) }
                try await Task.sleep(for: delay)
            }
        }
    }

    /// UNAVAILABLE, a call a GoAway did not start, or a failed connect: worth another try.
    private struct RetryableFailure: Error {
        var status: Status
    }

    private func attemptCall(method: String, payload: [UInt8], options: CallOptions, deadline: ContinuousClock.Instant?) async throws -> [UInt8] {
        var timeoutMs: UInt32 = 0
        if let deadline {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw RPCError(Status(.deadlineExceeded, "the call's deadline passed")) }
            timeoutMs = UInt32(clamping: max(1, remaining.milliseconds))
        }
        let remaining = deadline.map { $0 - ContinuousClock.now } ?? .seconds(10)
        let open = try await currentConnection(timeout: min(.seconds(10), max(.milliseconds(1), remaining)))
        let id = nextCallID.wrappingAdd(1, ordering: .relaxed).oldValue
        let call = Call(
            callID: id, method: method, payload: payload, timeoutMs: timeoutMs,
            authorization: token ?? "", idempotencyKey: options.idempotencyKey ?? "")
        let future = open.send(call)
        // A local timer too, in case the server never answers: a little after the server's own deadline.
        let timer =
            timeoutMs > 0
            ? open.channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeoutMs) + 250)) { open.cancel(id) } : nil
        defer { timer?.cancel() }
        let reply: Reply
        do {
            reply = try await withTaskCancellationHandler {
                try await future.get()
            } onCancel: {
                open.cancel(id)
            }
        } catch ConnectionFailure.notStarted(let status) {
            throw RetryableFailure(status: Status(.unavailable, status.message))
        } catch ConnectionFailure.closed(let status) {
            throw RetryableFailure(status: Status(.unavailable, status.message))
        } catch is CancellationError {
            if Task.isCancelled { throw CancellationError() }
            throw RPCError(Status(.deadlineExceeded, "no reply before the call's deadline"))
        }
        switch reply.status.code {
        case .ok: return reply.payload
        case .unavailable: throw RetryableFailure(status: reply.status)
        default: throw RPCError(reply.status)
        }
    }

    /// Starts a server-streaming `method` (a generated constant, `RPC.AdminService.watchHealth`).
    /// The call is not retried once sent; `options.timeout` bounds the whole stream.
    public func stream<Request: WireMessage, Response: WireMessage>(
        _ method: RPCMethod<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> ResponseStream<Response> {
        let payload = try WireCodec.encode(request)
        var timeoutMs: UInt32 = 0
        if let timeout = options.timeout {
            timeoutMs = UInt32(clamping: max(1, timeout.milliseconds))
        }
        let open: ClientConnection
        do {
            open = try await currentConnection(timeout: min(.seconds(10), options.timeout ?? .seconds(10)))
        } catch let failure as RetryableFailure {
            throw RPCError(failure.status)
        }
        let id = nextCallID.wrappingAdd(1, ordering: .relaxed).oldValue
        let call = Call(
            callID: id, method: method.path, payload: payload, timeoutMs: timeoutMs,
            authorization: token ?? "", idempotencyKey: options.idempotencyKey ?? IdempotencyKey.make())
        let replies = open.stream(call)
        // A local timer too, in case the server never ends the stream: a little after its deadline.
        let timer =
            timeoutMs > 0 ? open.channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeoutMs) + 250)) { open.cancel(id) } : nil
        return ResponseStream(replies: replies, onEnd: { timer?.cancel() })
    }

    /// Round-trip time of a Ping.
    public func ping() async throws -> Duration {
        let open: ClientConnection
        do {
            open = try await currentConnection()
        } catch let failure as RetryableFailure {
            throw RPCError(failure.status)
        }
        let start = ContinuousClock.now
        do {
            try await open.ping(UInt64.random(in: 1...UInt64.max)).get()
        } catch ConnectionFailure.closed(let status) {
            throw RPCError(status)
        }
        return ContinuousClock.now - start
    }
}
