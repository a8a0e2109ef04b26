import Dispatch
import Foundation
import GRDB

/// Holds SQLite's write lock on a store file from outside the server, so a test can keep a
/// mutating call in flight (blocked at its first write) for as long as it likes.
public final class WriteLock: Sendable {
    private let releaseSignal = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    public init(directory: URL) throws {
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("sosched.sqlite").path)
        let acquired = DispatchSemaphore(value: 0)
        let releaseSignal = self.releaseSignal, finished = self.finished
        // A thread of its own: the lock is held by blocking inside the transaction.
        Thread.detachNewThread {
            try? queue.inDatabase { db in
                try db.inTransaction(.immediate) {
                    acquired.signal()
                    releaseSignal.wait()
                    return .commit
                }
            }
            try? queue.close()
            finished.signal()
        }
        acquired.wait()
    }

    public func release() throws {
        releaseSignal.signal()
        finished.wait()
    }
}
