import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerStore
import SchedulerTesting
import SchedulerWire
import Testing

@testable import SchedulerServer

/// Calls with tokens the store does not know cost the store little: a bad token sent again and
/// again is looked up about once a second, and made-up tokens are looked up at a bounded rate.
@Suite(.timeLimit(.minutes(2)))
struct TokenLookupTests {
    static func madeUpSecret() -> String {
        "sos_" + String((0..<43).map { _ in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".randomElement() ?? "A" })
    }

    @Test func aBadTokenSentManyTimesIsLookedUpAboutOnceASecond() async throws {
        try await TestServer.with { server in
            let bad = server.client(token: Self.madeUpSecret())
            let before = server.store.tokenLookups
            let started = ContinuousClock.now
            var refused = 0
            for _ in 0..<300 {
                do {
                    _ = try await bad.whoAmI()
                } catch let error as RPCError where error.code == .unauthenticated {
                    refused += 1
                }
            }
            let seconds = Int((ContinuousClock.now - started).components.seconds) + 1
            await bad.close()
            #expect(refused == 300)
            let lookups = server.store.tokenLookups - before
            // One lookup, and one more each time the memory of the failure (1 s) runs out.
            #expect(lookups <= 1 + seconds, "\(lookups) store lookups for 300 calls with one bad token in \(seconds) s")

            // A good token works, and still stops working the moment it is revoked.
            let admin = server.client(token: server.adminToken)
            let secret = try await server.makeToken(role: .admin)
            let good = server.client(token: secret)
            let info = try await good.whoAmI()
            _ = try await admin.revokeToken(id: info.id)
            await #expect(throws: RPCError.self) { _ = try await good.whoAmI() }
            await good.close()
            await admin.close()
        }
    }

    @Test func madeUpTokensAreLookedUpAtABoundedRateWhileKnownTokensGoOn() {
        let cache = TokenCache(failedLookupsPerSecond: 5)
        let token = AccessToken(id: "tok_known", role: .admin, scope: nil, name: "", createdAt: Date(), createdBy: nil, revokedAt: nil)
        let known = TokenSecret.hash("sos_known")
        guard case .lookUp = cache.check(hash: known) else {
            Issue.record("a first lookup is allowed")
            return
        }
        cache.insert(token, hash: known)

        var lookUps = 0, throttled = 0
        for index in 0..<50 {
            let hash = TokenSecret.hash("sos_made_up_\(index)")
            switch cache.check(hash: hash) {
            case .lookUp:
                lookUps += 1
                cache.insertUnknown(hash: hash)
            case .throttled: throttled += 1
            case .valid, .unknown: Issue.record("a new made-up secret is neither valid nor remembered")
            }
        }
        #expect(lookUps <= 6, "\(lookUps)")
        #expect(throttled >= 44, "\(throttled)")
        // The same made-up secret again: refused from memory, no lookup.
        if case .unknown = cache.check(hash: TokenSecret.hash("sos_made_up_0")) {} else { Issue.record("a failed secret is remembered") }
        // A secret seen valid lately is looked up again (its entry can expire) however many made-up ones came.
        if case .valid = cache.check(hash: known) {} else { Issue.record("a cached valid token is served from the cache") }
        cache.remove(tokenID: "tok_known")
        if case .lookUp = cache.check(hash: known) {} else { Issue.record("a known secret is never throttled") }
    }

    /// One client flooding made-up secrets uses up its own allowance, not everyone's: a new,
    /// real token from another address is still looked up (found by a break-in test: a flood
    /// delayed a valid token nobody had used lately).
    @Test func aFloodingClientDoesNotLockOthersOut() {
        let cache = TokenCache(failedLookupsPerSecond: 1000, clientLookupsPerSecond: 5)
        var throttled = 0
        for index in 0..<200 {
            let hash = TokenSecret.hash("sos_flood_\(index)")
            if case .throttled = cache.check(hash: hash, client: "10.0.0.66") { throttled += 1 } else { cache.insertUnknown(hash: hash) }
        }
        #expect(throttled >= 190, "\(throttled)")
        for other in ["10.0.0.7", "unix"] {
            guard case .lookUp = cache.check(hash: TokenSecret.hash("sos_fresh_\(other)"), client: other) else {
                Issue.record("a new token from \(other) was throttled by another client's flood")
                continue
            }
        }
    }
}
