import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Bare POSIX sockets for tests of peers that misbehave below the protocol: they connect and
/// then send what the test says, or nothing, and never read.
public enum PeerSocket {
    /// A blocking stream socket to `address` (`prepare` sets options before it connects), or
    /// nil when the system refuses one.
    public static func connect(_ address: sockaddr_storage, length: socklen_t, prepare: (Int32) -> Void = { _ in }) -> Int32? {
        var address = address
        let fd = socket(Int32(address.ss_family), Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        prepare(fd)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    public static func tcpAddress(port: Int) -> (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                pointer.pointee.sin_family = sa_family_t(AF_INET)
                pointer.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                pointer.pointee.sin_addr.s_addr = inet_addr("127.0.0.1")
            }
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    public static func unixAddress(path: String) -> (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { pointer in
                pointer.pointee.sun_family = sa_family_t(AF_UNIX)
                withUnsafeMutableBytes(of: &pointer.pointee.sun_path) { bytes in
                    for (index, byte) in path.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
                }
            }
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_un>.size))
    }

    /// Sends as much of `bytes` as the socket takes without blocking; the number of bytes sent.
    public static func sendWithoutBlocking(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        send(fd, bytes, flags: MSG_DONTWAIT | MSG_NOSIGNAL)
    }

    /// Sends all of `bytes` (blocking, up to the socket's send timeout); false if it could not.
    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        send(fd, bytes, flags: MSG_NOSIGNAL) == bytes.count
    }

    /// Sends until all of `bytes` went or a send sends nothing; the number of bytes sent.
    private static func send(_ fd: Int32, _ bytes: [UInt8], flags: Int) -> Int {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(flags)) }
            guard count > 0 else { break }
            sent += count
        }
        return sent
    }

    /// Runs `work` (blocking socket calls) on a thread of its own, off Swift's few cooperative
    /// threads, which other tests running meanwhile need.
    public static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// POLLRDHUP (Linux; the C macro does not reach Swift).
    static let pollReadHangUp: Int16 = 0x2000

    /// Waits up to `timeout` for the peer to close or reset `fd`; true if it did.
    public static func waitForHangUp(_ fd: Int32, timeout: Duration) -> Bool {
        var entry = pollfd(fd: fd, events: Self.pollReadHangUp, revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&entry, 1, milliseconds) > 0 else { return false }
        return entry.revents & (Self.pollReadHangUp | Int16(POLLHUP | POLLERR)) != 0
    }

    /// Sets an integer socket option (SO_RCVBUF, say) on `fd`.
    public static func set(_ fd: Int32, level: Int32 = SOL_SOCKET, _ option: Int32, _ value: Int32) {
        var value = value
        _ = setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}
