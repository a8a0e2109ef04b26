import Logging
import SchedulerCore
import SchedulerWire

/// Maps every error a call can end with to a wire status, in one place. Unexpected errors
/// become INTERNAL with the call id, are logged, and tell the client nothing private.
enum StatusMapping {
    static func status(for error: any Error, callID: UInt64, method: String, logger: Logger) -> Status {
        switch error {
        case let error as SchedulerError:
            return status(for: error)
        case let refused as BookingRefused:
            // RESOURCE_EXHAUSTED: the group has no room; details say where and what would fit.
            let detail = try? Detail(BookingConflictMessage(refused))
            return Status(.resourceExhausted, refused.description, details: detail.map { [$0] } ?? [])
        case let error as WireError:
            return status(for: error)
        case is CancellationError:
            return Status(.cancelled, "the call was cancelled")
        default:
            logger.error(
                "call failed unexpectedly",
                metadata: ["call.id": "\(callID)", "rpc.method": "\(method)", "error": "\(String(reflecting: error))"])
            return Status(.internal, "internal error while handling call \(callID); the server log has the details")
        }
    }

    static func status(for error: SchedulerError) -> Status {
        let code: StatusCode =
            switch error.code {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .permissionDenied: .permissionDenied
            case .unauthenticated: .unauthenticated
            case .failedPrecondition: .failedPrecondition
            case .resourceExhausted: .resourceExhausted
            case .aborted: .aborted
            case .deadlineExceeded: .deadlineExceeded
            case .cancelled: .cancelled
            case .unavailable: .unavailable
            case .dataLoss: .dataLoss
            default: .internal
            }
        return Status(code, error.message, details: badRequest(field: error.field, error.message))
    }

    /// A payload that does not decode is INVALID_ARGUMENT, one that costs too much to decode RESOURCE_EXHAUSTED.
    static func status(for error: WireError) -> Status {
        switch error.code {
        case .budgetExceeded:
            return Status(.resourceExhausted, error.message + " (decode-budget-bytes)")
        case .schema:
            return Status(.internal, "internal error: the server's message schema is inconsistent")
        default:
            return Status(.invalidArgument, error.message, details: badRequest(field: error.field, error.message))
        }
    }

    private static func badRequest(field: String?, _ message: String) -> [Detail] {
        guard let field,
            let detail = try? Detail(
                BadRequest(violations: [
                    FieldViolationMessage(field: field.cappedUTF8(Status.maxMessageBytes), description: message.cappedUTF8(Status.maxMessageBytes))
                ]))
        else { return [] }
        return [detail]
    }
}
