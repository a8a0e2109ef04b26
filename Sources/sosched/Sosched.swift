import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

@main
struct Sosched: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sosched",
        abstract: "Talk to a sosched server: nursery places, intake rounds, counsellor and mentor sessions, sites, tokens.",
        discussion: """
            The server is --server, else $SOSCHED_SERVER, else 127.0.0.1:7433.
            The token is --token, else $SOSCHED_TOKEN, else the file --token-file, else ./var/admin.token.

            Examples:
              sosched health
              sosched occupancy --nursery almaty-1 --from 2026-09-01 --to 2026-09-05
              sosched place book --child chd_x --group almaty-toddlers --from 2026-09-01 --pattern mon-fri:full
              sosched token create --role manager --scope site:almaty --name "Almaty office"
              sosched plan week --site almaty --week 2026-W49 --dry-run
              sosched schedule --counsellor almaty-c1 --week 2026-W49
              sosched mentors assign --site almaty --file batch.csv --dry-run

            Commands exit 0 when done and 1 on an error (64 for a command line they cannot read);
            `sosched mentors assign` has codes of its own (see its --help).
            """,
        subcommands: [
            Health.self, WhoAmI.self, TokenCommands.self, SiteCommands.self, NurseryCommands.self, GroupCommands.self,
            FamilyCommands.self, ChildCommands.self, PlaceCommands.self, OccupancyCommand.self, IntakeCommands.self,
            CounsellingCommands.self, PlanCommands.self, ScheduleCommand.self, AbsenceCommand.self, SessionCommands.self,
            MentorCommands.self,
        ]
    )

    /// As argument-parser's own `main`, except that `mentors assign` ends with one of its
    /// documented codes whatever went wrong (a command line it cannot read too).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code != .success, let failure = MentorAssign.failureCode(for: code, arguments: CommandLine.arguments) {
                let message = fullMessage(for: error)
                if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
                Foundation.exit(failure.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Server address: HOST:PORT or unix:PATH (env SOSCHED_SERVER; default 127.0.0.1:7433).")
    var server: String?

    @Option(help: "Token (env SOSCHED_TOKEN). Prefer --token-file or the environment: a flag shows in ps.")
    var token: String?

    @Option(help: "File holding the token (default ./var/admin.token when it exists).")
    var tokenFile: String?

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @Option(name: .customLong("timeout"), help: "Seconds to wait for the answer (default 30; `mentors assign`: 600).")
    var timeoutOption: Double?

    /// Seconds to wait for an answer.
    var timeout: Double { timeoutOption ?? 30 }

    @Flag(help: "Speak TLS to a TCP server, verifying its certificate against the system's trusted roots (env SOSCHED_TLS=1).")
    var tls = false

    @Option(
        name: .customLong("tls-ca"),
        help: "PEM file of the certificates to trust instead (a private CA, or the server's own); implies --tls (env SOSCHED_TLS_CA).")
    var tlsCA: String?

    func makeClient() throws -> SchedulerClient {
        let environment = ProcessInfo.processInfo.environment
        let trust = tlsCA ?? environment["SOSCHED_TLS_CA"].flatMap { $0.isEmpty ? nil : $0 }
        guard tls || trust != nil || environment["SOSCHED_TLS"] == "1" else {
            return SchedulerClient(address: try address(), token: try resolvedToken())
        }
        do {
            return try SchedulerClient(address: try address(), token: try resolvedToken(), tls: ClientTLS(trustRoots: trust))
        } catch let error as SchedulerError {
            throw ValidationError("--tls-ca: \(error.message)")
        }
    }

    func address() throws -> ServerAddress {
        let text = server ?? ProcessInfo.processInfo.environment["SOSCHED_SERVER"] ?? ServerAddress.default.description
        guard let address = ServerAddress(parsing: text) else {
            throw ValidationError("server address '\(text)' is not HOST:PORT or unix:PATH")
        }
        return address
    }

    func resolvedToken() throws -> String? {
        if let token, !token.isEmpty { return token }
        if let env = ProcessInfo.processInfo.environment["SOSCHED_TOKEN"], !env.isEmpty { return env }
        let path = tokenFile ?? "./var/admin.token"
        guard FileManager.default.fileExists(atPath: path) else {
            if tokenFile != nil { throw ValidationError("token file \(path) does not exist") }
            return nil
        }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw ValidationError("cannot read token file \(path): \(error.localizedDescription)")
        }
    }

    var callOptions: CallOptions { CallOptions(timeout: .milliseconds(Int64(timeout * 1000))) }
    var mutationOptions: CallOptions { .mutation(timeout: .milliseconds(Int64(timeout * 1000))) }

    /// Runs `body` with a connected client; RPC errors become a sentence on stderr and exit 1.
    func withClient<T>(_ body: (SchedulerClient) async throws -> T) async throws -> T {
        try await withClient(explain: { _ in nil }, body)
    }

    /// As `withClient`, with `explain` adding lines for errors it knows more about.
    func withClient<T>(explain: (RPCError) -> String?, _ body: (SchedulerClient) async throws -> T) async throws -> T {
        let client = try makeClient()
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch let error as RPCError {
            await client.close()
            var line = "error: \(error.status.code.name): \(visible(error.status.message))"
            if let field = error.status.details.lazy.compactMap({ try? $0.decode(as: BadRequest.self) }).first?.violations.first?.field {
                line += " (field \(field))"
            }
            if let more = explain(error) { line += "\n" + visible(more, keepingNewlines: true) }
            if error.code == .unauthenticated {
                line += "\nhint: give a token with --token-file FILE or SOSCHED_TOKEN"
            } else if error.code == .unavailable {
                line += "\nhint: is the server running at \(try address())? (Scripts/serve starts one; a server with TLS needs --tls or --tls-ca)"
            }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            throw ExitCode(1)
        } catch {
            await client.close()
            throw error
        }
    }
}

/// Prints `value` as pretty JSON on standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints one line for people: control characters in it (a name holding an escape sequence or a
/// line break, say) are shown escaped, so what the server sends cannot steer the terminal or
/// pass for other lines. (`--json` output needs none of this: JSON escapes them itself.)
func say(_ line: String) {
    print(visible(line))
}

/// Prints text of several lines for people, with every other control character escaped.
func sayLines(_ text: String) {
    print(visible(text, keepingNewlines: true))
}

/// `text` with control characters written as Swift escapes (`\n`, `\t`, `\u{1B}`): C0 and C1
/// controls, DEL, line and paragraph separators, and the bidirectional overrides and isolates
/// that make a terminal show text in another order than it is.
func visible(_ text: String, keepingNewlines: Bool = false) -> String {
    var result = ""
    result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0x0A where keepingNewlines: result.unicodeScalars.append(scalar)
        case 0x0A: result += "\\n"
        case 0x0D: result += "\\r"
        case 0x09: result += "\\t"
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
            result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}

/// A plain text table with aligned columns; cells are shown with `visible`.
func printTable(_ header: [String], _ rows: [[String]]) {
    let rows = rows.map { $0.map { visible($0) } }
    var widths = header.map(\.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

func formatTime(ms: Int64) -> String {
    guard ms != 0 else { return "-" }
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show whether the server answers, its version, store and uptime (no token needed).",
        discussion: "Example:\n  sosched health --server 127.0.0.1:7433")

    @OptionGroup var global: GlobalOptions

    struct Output: Encodable {
        var version: String
        var store: String
        var uptimeMs: UInt64
        var server: String
    }

    func run() async throws {
        let address = try global.address()
        let health = try await global.withClient { try await $0.health(options: global.callOptions) }
        if global.json {
            try printJSON(Output(version: health.version, store: health.store, uptimeMs: health.uptimeMs, server: address.description))
        } else {
            let seconds = health.uptimeMs / 1000
            say(
                "sosched-server \(health.version) at \(address) is up (store: \(health.store), uptime \(seconds / 3600)h \(seconds / 60 % 60)m \(seconds % 60)s)"
            )
        }
    }
}

/// JSON form of a token.
struct TokenOutput: Encodable {
    var id: String
    var role: String
    var scope: String?
    var name: String
    var createdAt: String
    var revokedAt: String?
    var createdBy: String?

    init(_ token: TokenInfoMessage) {
        id = token.id
        role = Role(token.role)?.rawValue ?? "unspecified"
        scope = token.scope.isEmpty ? nil : token.scope
        name = token.name
        createdAt = formatTime(ms: token.createdAtMs)
        revokedAt = token.revokedAtMs == 0 ? nil : formatTime(ms: token.revokedAtMs)
        createdBy = token.createdBy.isEmpty ? nil : token.createdBy
    }
}

struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show the token you are using: its id, role and scope.",
        discussion: "Example:\n  sosched whoami --token-file ~/.sosched-token")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let token = try await global.withClient { try await $0.whoAmI(options: global.callOptions) }
        if global.json {
            try printJSON(TokenOutput(token))
        } else {
            let scope = token.scope.isEmpty ? "everywhere" : token.scope
            let name = token.name.isEmpty ? "" : " (\(token.name))"
            say("token \(token.id)\(name): role \(Role(token.role)?.rawValue ?? "unspecified"), scope \(scope)")
        }
    }
}

struct TokenCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke access tokens (admin only).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token; it is printed once, alone on the last line.",
            discussion: """
                Roles: admin (no scope), manager (site:ID or nursery:ID), counsellor (site:ID or
                counsellor:ID), coordinator (site:ID).

                Example:
                  sosched token create --role manager --scope nursery:almaty-1 --name "Almaty nursery"
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "admin, manager, counsellor or coordinator.")
        var role: String

        @Option(help: "site:ID, nursery:ID or counsellor:ID.")
        var scope: String = ""

        @Option(help: "A label for people.")
        var name: String = ""

        func validate() throws {
            guard Role(rawValue: role) != nil else {
                throw ValidationError("--role must be admin, manager, counsellor or coordinator")
            }
        }

        struct Output: Encodable {
            var token: TokenOutput
            var secret: String
        }

        func run() async throws {
            let response = try await global.withClient {
                try await $0.createToken(role: Role(rawValue: role), scope: scope, name: name, options: global.mutationOptions)
            }
            guard let token = response.token else { throw ExitCode(1) }
            if global.json {
                try printJSON(Output(token: TokenOutput(token), secret: response.secret))
            } else {
                let scopeText = token.scope.isEmpty ? "" : " for \(token.scope)"
                say("created \(Role(token.role)?.rawValue ?? "") token \(token.id)\(scopeText) (shown once; keep it safe):")
                say(response.secret)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens (active ones; --all for revoked too).",
            discussion: "Example:\n  sosched token list --all")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Include revoked tokens.")
        var all = false

        func run() async throws {
            let tokens = try await global.withClient { client in
                var tokens: [TokenInfoMessage] = []
                var pageToken = ""
                repeat {
                    let page = try await client.listTokens(includeRevoked: all, pageSize: 500, pageToken: pageToken, options: global.callOptions)
                    tokens += page.tokens
                    pageToken = page.nextPageToken
                } while !pageToken.isEmpty
                return tokens
            }
            if global.json {
                try printJSON(tokens.map(TokenOutput.init))
            } else if tokens.isEmpty {
                say("no tokens")
            } else {
                printTable(
                    ["ID", "ROLE", "SCOPE", "NAME", "CREATED", "REVOKED"],
                    tokens.map { token in
                        [
                            token.id, Role(token.role)?.rawValue ?? "?", token.scope.isEmpty ? "-" : token.scope,
                            token.name.isEmpty ? "-" : token.name, formatTime(ms: token.createdAtMs), formatTime(ms: token.revokedAtMs),
                        ]
                    })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by id; it stops working at once.",
            discussion: "Example:\n  sosched token revoke tok_4m2k9x7q1d")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The token's id (tok_...), as `sosched token list` shows it.")
        var id: String

        func run() async throws {
            let token = try await global.withClient { try await $0.revokeToken(id: id, options: global.mutationOptions) }
            if global.json {
                try printJSON(TokenOutput(token))
            } else {
                say("token \(token.id) is revoked (since \(formatTime(ms: token.revokedAtMs)))")
            }
        }
    }
}
