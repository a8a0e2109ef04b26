import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// `sos.scheduler.v1.AdminService`: health, identity and tokens.
struct AdminService {
    let store: any Store
    let tokens: TokenCache
    let version: String
    let startedAt: ContinuousClock.Instant
    /// The shortest interval `WatchHealth` accepts (`ServerConfiguration.watchHealthMinimumInterval`).
    let watchMinimumInterval: Duration

    func register(in registry: inout HandlerRegistry) {
        let store = self.store
        let version = self.version
        let startedAt = self.startedAt
        let tokens = self.tokens
        let minimum = watchMinimumInterval
        let minimumMs = UInt32(clamping: max(1, minimum.milliseconds))

        @Sendable func health() -> HealthResponse {
            let uptime = ContinuousClock.now - startedAt
            return HealthResponse(version: version, store: store.kind, uptimeMs: UInt64(max(0, uptime.milliseconds)))
        }

        registry.inline(RPC.AdminService.health) { (_: HealthRequest, _) in health() }

        registry.serverStreaming(RPC.AdminService.watchHealth) { (request: WatchHealthRequest, _, writer) in
            let interval = request.intervalMs == 0 ? 1000 : request.intervalMs
            guard interval >= minimumMs, interval <= 60_000 else {
                throw SchedulerError(
                    .invalidArgument, "interval_ms must be 0 (1000) or \(minimumMs) to 60000 (this server's --watch-min-interval)",
                    field: "interval_ms")
            }
            guard request.count <= 1_000_000 else {
                throw SchedulerError(.invalidArgument, "count is over 1000000", field: "count")
            }
            var sent: UInt32 = 0
            while request.count == 0 || sent < request.count {
                if sent > 0 { try await Task.sleep(for: .milliseconds(Int64(interval))) }
                try await writer.send(health())
                sent += 1
            }
        }

        registry.async(RPC.AdminService.whoAmI) { (_: WhoAmIRequest, context) in
            guard let token = context.token else {
                throw SchedulerError(.unauthenticated, "the token is unknown or revoked")
            }
            return WhoAmIResponse(token: TokenInfoMessage(token))
        }

        registry.mutating(RPC.AdminService.createToken) { (request: CreateTokenRequest, context) in
            guard let role = Role(request.role) else {
                throw SchedulerError(
                    .invalidArgument, "role is required: ROLE_ADMIN, ROLE_MANAGER, ROLE_COUNSELLOR or ROLE_COORDINATOR",
                    field: "role")
            }
            let scope = try request.scope.isEmpty ? nil : Scope(parsing: request.scope)
            try role.validate(scope: scope)
            guard request.name.utf8.count <= 200 else {
                throw SchedulerError(.invalidArgument, "name is longer than 200 bytes (UTF-8)", field: "name")
            }
            // The stored reply (for retries with the same idempotency key) leaves the secret out:
            // it is never stored anywhere.
            let outcome = try await store.createToken(
                role: role, scope: scope, name: request.name, context: context.mutation()
            ) { issued in
                try WireCodec.encode(CreateTokenResponse(token: TokenInfoMessage(issued.token), secret: ""))
            }
            switch outcome {
            case .applied(let issued, _):
                return try WireCodec.encode(CreateTokenResponse(token: TokenInfoMessage(issued.token), secret: issued.secret))
            case .replayed(let reply):
                return reply
            }
        }

        registry.mutating(RPC.AdminService.revokeToken) { (request: RevokeTokenRequest, context) in
            guard !request.id.isEmpty else {
                throw SchedulerError(.invalidArgument, "id is required", field: "id")
            }
            let outcome = try await store.revokeToken(id: request.id, context: context.mutation()) { token in
                try WireCodec.encode(RevokeTokenResponse(token: TokenInfoMessage(token)))
            }
            tokens.remove(tokenID: request.id)
            switch outcome {
            case .applied(_, let reply), .replayed(let reply): return reply
            }
        }

        registry.async(RPC.AdminService.listTokens) { (request: ListTokensRequest, _) in
            guard request.pageSize <= 1000 else {
                throw SchedulerError(.invalidArgument, "page_size is over 1000", field: "page_size")
            }
            var after: Int64?
            if !request.pageToken.isEmpty {
                guard let cursor = Int64(request.pageToken), cursor >= 0 else {
                    throw SchedulerError(
                        .invalidArgument, "page_token is not one this server gave out", field: "page_token")
                }
                after = cursor
            }
            let limit = request.pageSize == 0 ? 100 : Int(request.pageSize)
            let page = try await store.listTokens(includeRevoked: request.includeRevoked, after: after, limit: limit)
            return ListTokensResponse(tokens: page.tokens.map(TokenInfoMessage.init), nextPageToken: page.next.map(String.init) ?? "")
        }
    }
}

extension TokenInfoMessage {
    init(_ token: AccessToken) {
        self.init(
            id: token.id, role: token.role.proto, scope: token.scope?.description ?? "", name: token.name,
            createdAtMs: Int64((token.createdAt.timeIntervalSince1970 * 1000).rounded()),
            revokedAtMs: token.revokedAt.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0,
            createdBy: token.createdBy ?? "")
    }
}
