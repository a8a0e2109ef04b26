import ServiceLifecycle

extension Store {
    /// Runs `body` while the store's `services` run (each in a child task), then stops them
    /// (cancelled once `body` returns or throws) and waits until they have stopped.
    ///
    /// For uses of a store outside a server's `ServiceGroup`: the command line's `migrate`,
    /// `token create`, `export`, `import` and `demo`, and tests. A store's services run once:
    /// call this once per opened store.
    public func withRunningServices<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        let services = self.services
        guard !services.isEmpty else { return try await body() }
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
