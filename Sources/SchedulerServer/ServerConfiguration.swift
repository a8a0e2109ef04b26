/// Where the server listens and the limits it enforces. Every limit has a flag on
/// `sosched-server serve` and a line in `Docs/operations.md`.
public struct ServerConfiguration: Sendable {
    public enum Listener: Sendable, Hashable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): "\(host):\(port)"
            case .unix(let path): "unix:\(path)"
            }
        }
    }

    public var listeners: [Listener] = [.tcp(host: "127.0.0.1", port: 7433)]
    /// Largest frame accepted, checked on the length prefix (default 4 MiB, gRPC's default).
    public var maxFrameBytes = 4 << 20
    /// Most bytes protobuf-c may allocate to decode one frame or payload (default 16 x the frame limit).
    public var decodeBudgetBytes = 64 << 20
    /// Calls in flight on one connection before new ones get RESOURCE_EXHAUSTED.
    public var maxCallsInFlight = 100
    /// Server-streaming calls open at once on the whole server; more are refused
    /// (`RESOURCE_EXHAUSTED`), so streams cannot take the event loops from every other call.
    public var maxStreams = 128
    /// The shortest `interval_ms` `WatchHealth` accepts.
    public var watchHealthMinimumInterval: Duration = .milliseconds(100)
    /// Open connections before new ones are refused with a GoAway.
    public var maxConnections = 4096
    /// Open connections from one client IP address before its new ones are refused (Unix
    /// socket clients are not counted: the socket's permissions already admit only one user).
    public var maxConnectionsPerAddress = 256
    /// Time a new connection has to send the 8-byte preface.
    public var prefaceTimeout: Duration = .seconds(10)
    /// Time a started frame has to arrive completely.
    public var partialFrameTimeout: Duration = .seconds(30)
    /// Time a connection may go without a call (pings do not count) with no call in flight.
    public var idleTimeout: Duration = .seconds(300)
    /// Time a TLS connection has to finish its handshake.
    public var tlsHandshakeTimeout: Duration = .seconds(10)
    /// Time replies may wait unsent without any of them moving (the client stopped reading)
    /// before the connection is closed.
    public var writeTimeout: Duration = .seconds(30)
    /// The kernel's send buffer per TCP connection (SO_SNDBUF), or nil for the system's
    /// self-tuning one (up to `net.ipv4.tcp_wmem`'s maximum). A smaller buffer makes a stream
    /// to a client that does not read wait sooner, and bounds the kernel memory each slow
    /// client can hold.
    public var socketSendBufferBytes: Int?
    /// Time a connection that is being sent away (GoAway) has to take it before it is closed
    /// whether or not the GoAway got out; also bounds TLS's close_notify exchange.
    public var closeTimeout: Duration = .seconds(5)
    /// On shutdown, time calls already started have to finish.
    public var drainTimeout: Duration = .seconds(30)
    /// Number of event loop threads; 0 means one per core.
    public var eventLoopThreads = 0
    /// TLS for the TCP listeners (Unix sockets are protected by their file permissions instead).
    public var tls: TLSFiles?

    /// A certificate chain and its private key, PEM files.
    public struct TLSFiles: Sendable, Hashable {
        public var certificateChain: String
        public var privateKey: String

        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    public init() {}
}
