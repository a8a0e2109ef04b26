/// Errors of the store itself (not the domain's).
public struct SchedulerStoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    static func `internal`(_ message: String) -> SchedulerStoreError { SchedulerStoreError(message: message) }
    public var description: String { message }
}
