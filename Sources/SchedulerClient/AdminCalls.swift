import SchedulerCore
import SchedulerWire

/// Typed calls of `sos.scheduler.v1.AdminService`.
extension SchedulerClient {
    public func health(options: CallOptions = CallOptions()) async throws -> HealthResponse {
        try await call(RPC.AdminService.health, HealthRequest(), options: options)
    }

    public func whoAmI(options: CallOptions = CallOptions()) async throws -> TokenInfoMessage {
        let response: WhoAmIResponse = try await call(RPC.AdminService.whoAmI, WhoAmIRequest(), options: options)
        guard let token = response.token else { throw RPCError(Status(.internal, "WhoAmI answered without a token")) }
        return token
    }

    public func createToken(
        role: Role?, scope: String = "", name: String = "", options: CallOptions = .mutation()
    ) async throws -> CreateTokenResponse {
        try await call(RPC.AdminService.createToken, CreateTokenRequest(role: role?.proto ?? .unspecified, scope: scope, name: name), options: options)
    }

    public func revokeToken(id: String, options: CallOptions = .mutation()) async throws -> TokenInfoMessage {
        let response: RevokeTokenResponse = try await call(RPC.AdminService.revokeToken, RevokeTokenRequest(id: id), options: options)
        guard let token = response.token else { throw RPCError(Status(.internal, "RevokeToken answered without a token")) }
        return token
    }

    public func listTokens(
        includeRevoked: Bool = false, pageSize: UInt32 = 0, pageToken: String = "", options: CallOptions = CallOptions()
    ) async throws -> ListTokensResponse {
        try await call(
            RPC.AdminService.listTokens,
            ListTokensRequest(includeRevoked: includeRevoked, pageSize: pageSize, pageToken: pageToken), options: options)
    }
}
