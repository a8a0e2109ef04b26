internal import CProtobufC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// protobuf-c's `unpack` can allocate tens of times its input. Every decode goes through an
/// allocator that stops at a byte budget: past it `unpack` returns NULL and the caller reports
/// `budgetExceeded` instead of letting one request take the process's memory.
struct DecodeBudgetState {
    var remaining: Int
    var exceeded = false
}

/// Runs `body` with a protobuf-c allocator limited to `budget` bytes in total, and tells
/// whether the budget ran out.
func withBudgetAllocator<R>(
    budget: Int,
    _ body: (UnsafeMutablePointer<ProtobufCAllocator>) throws -> R
) rethrows -> (result: R, exceeded: Bool) {
    var state = DecodeBudgetState(remaining: budget)
    return try withUnsafeMutablePointer(to: &state) { statePointer in
        var allocator = ProtobufCAllocator(
            alloc: { data, size in
                guard let state = data?.assumingMemoryBound(to: DecodeBudgetState.self) else { return nil }
                if size > state.pointee.remaining {
                    state.pointee.exceeded = true
                    return nil
                }
                state.pointee.remaining -= size
                return malloc(max(size, 1))
            },
            free: { _, pointer in free(pointer) },
            allocator_data: UnsafeMutableRawPointer(statePointer)
        )
        let result = try withUnsafeMutablePointer(to: &allocator) { try body($0) }
        return (result, statePointer.pointee.exceeded)
    }
}
