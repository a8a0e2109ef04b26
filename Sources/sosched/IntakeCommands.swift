import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

extension GlobalOptions {
    func intake<Request: WireMessage, Response: WireMessage>(_ method: RPCMethod<Request, Response>, _ request: Request, change: Bool = false)
        async throws -> Response
    {
        try await withClient { client in
            try await client.call(method, request, options: change ? mutationOptions : callOptions)
        }
    }
}

struct IntakeCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Intake rounds: open offers for a term, take applications, allocate them all at once, explain the results.",
        discussion: """
            A round's places go by deferred acceptance: each child is offered the best place on their
            list that their priority wins, with places reserved for SOS or local families kept for them.

            Example session:
              sosched intake create --id almaty-2027 --site almaty --from 2027-09-01 --to 2028-05-31 --deadline 2027-06-30
              sosched intake offer --round almaty-2027 --id toddlers-full --group almaty-toddlers --pattern mon-fri:full --places 6 --reserved-sos 2
              sosched intake import --round almaty-2027 --file applications.csv
              sosched intake run --round almaty-2027 --dry-run
              sosched intake run --round almaty-2027
              sosched intake results --round almaty-2027
              sosched intake explain --round almaty-2027 --child chd_4m2k9x7q1d3e --offer toddlers-full
            """,
        subcommands: [
            Create.self, Show.self, Offer.self, Import.self, Apply.self, Withdraw.self, Run.self, Results.self, Waitlist.self, Explain.self,
            Release.self, Respond.self, Moves.self, Confirm.self,
        ])

    static func fillRows(_ offers: [OfferFillMessage]) -> [[String]] {
        offers.map { [$0.offerID, "\($0.held)/\($0.places)", "\($0.heldReservedSOS)", "\($0.heldReservedLocal)", "\($0.waiting)"] }
    }

    static let fillHeader = ["offer", "filled", "sos seats", "local seats", "waiting"]

    static func json(_ fill: OfferFillMessage) -> [String: Any] {
        [
            "offerId": fill.offerID, "places": fill.places, "held": fill.held, "heldReservedSos": fill.heldReservedSOS,
            "heldReservedLocal": fill.heldReservedLocal, "waiting": fill.waiting,
        ]
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a round for a site's term.",
            discussion: """
                --deadline is the last day applications are taken (until 23:59:59 UTC that day), or an
                exact instant such as 2027-06-30T18:00:00Z. The lottery's seed is drawn by the server
                unless given; it is stored, so the round can be re-run and audited to the same result.

                Example:
                  sosched intake create --id almaty-2027 --site almaty --from 2027-09-01 --to 2028-05-31 --deadline 2027-06-30
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var id: String
        @Option(help: "Site id.") var site: String
        @Option(help: "A name for people.") var name: String = ""
        @Option(help: "First day of the term, YYYY-MM-DD.") var from: String
        @Option(help: "Last day of the term, YYYY-MM-DD.") var to: String
        @Option(help: "Last day (or instant, ISO 8601) applications are taken.") var deadline: String
        @Option(help: "Lottery seed (default: drawn by the server).") var seed: UInt64 = 0
        @Option(
            help:
                "Priority criteria, most important first, comma-separated (default: sibling,special_needs,single_parent,parents_working,earlier_application,lottery; nothing after lottery)."
        )
        var priority: String?

        func run() async throws {
            let order = priority.map { $0.split(separator: ",").map(String.init) } ?? []
            let round = IntakeRoundMessage(
                id: id, siteID: site, name: name, termFirst: try dateArgument(from, "--from"), termLast: try dateArgument(to, "--to"),
                deadlineMs: try Self.deadline(deadline), seed: seed, priorityOrder: order)
            let made = try await global.intake(RPC.IntakeService.createRound, CreateRoundRequest(round: round), change: true)
            if global.json { return try printJSONObject(IntakeCommands.json(made)) }
            say(
                "created round \(made.id) for site \(made.siteID), term \(made.termFirst) to \(made.termLast), applications until \(Self.instant(made.deadlineMs)), seed \(made.seed)"
            )
        }

        static func deadline(_ text: String) throws -> Int64 {
            if CivilDate(parsing: text) != nil {
                let day = ISO8601DateFormatter()
                day.formatOptions = [.withFullDate]
                if let start = day.date(from: text) { return Int64((start.timeIntervalSince1970 * 1000).rounded()) + 86_400_000 - 1 }
            }
            let formatter = ISO8601DateFormatter()
            guard let instant = formatter.date(from: text) else {
                throw ValidationError("--deadline must be a date YYYY-MM-DD or an instant such as 2027-06-30T18:00:00Z, not '\(text)'")
            }
            return Int64((instant.timeIntervalSince1970 * 1000).rounded())
        }

        static func instant(_ ms: Int64) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
        }
    }

    static func json(_ round: IntakeRoundMessage) -> [String: Any] {
        [
            "id": round.id, "siteId": round.siteID, "name": round.name, "termFirst": round.termFirst, "termLast": round.termLast,
            "deadlineMs": round.deadlineMs, "seed": round.seed, "priorityOrder": round.priorityOrder, "state": round.state,
            "applications": round.applications,
            "offers": round.offers.map {
                [
                    "id": $0.id, "groupId": $0.groupID, "nurseryId": $0.nurseryID, "pattern": $0.pattern, "places": $0.places, "reservedSos": $0.reservedSOS,
                    "reservedLocal": $0.reservedLocal,
                ] as [String: Any]
            },
        ]
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a round, its offers and how many applications it has.", discussion: "Example:\n  sosched intake show --round almaty-2027")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String

        func run() async throws {
            let found = try await global.intake(RPC.IntakeService.getRound, GetRoundRequest(id: round))
            if global.json { return try printJSONObject(IntakeCommands.json(found)) }
            say(
                "round \(found.id) (\(found.state)) at \(found.siteID): term \(found.termFirst) to \(found.termLast), \(found.applications) applications, priority \(found.priorityOrder.joined(separator: " > "))"
            )
            printTable(
                ["offer", "group", "pattern", "places", "sos", "local"],
                found.offers.map { [$0.id, $0.groupID, $0.pattern, "\($0.places)", "\($0.reservedSOS)", "\($0.reservedLocal)"] })
        }
    }

    struct Offer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open an offer: places in a group with a weekly pattern, some reserved for SOS or local families.",
            discussion: """
                Refused if the group could not take all the round's offered places over the whole term.

                Example:
                  sosched intake offer --round almaty-2027 --id toddlers-full --group almaty-toddlers --pattern mon-fri:full --places 6 --reserved-sos 2
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "Offer id.") var id: String
        @Option(help: "Group id.") var group: String
        @Option(help: "Weekly pattern, e.g. mon-fri:full.") var pattern: String
        @Option(help: "Places in all.") var places: UInt32
        @Option(help: "Of which kept for SOS families (a floor: at most places minus --reserved-local SOS children).") var reservedSos: UInt32 = 0
        @Option(help: "Of which kept for local families (a floor: at most places minus --reserved-sos local children).") var reservedLocal: UInt32 = 0

        func run() async throws {
            let offer = IntakeOfferMessage(
                id: id, roundID: round, groupID: group, pattern: pattern, places: places, reservedSOS: reservedSos, reservedLocal: reservedLocal)
            let opened = try await global.intake(RPC.IntakeService.openOffer, OpenOfferRequest(offer: offer), change: true)
            if global.json { return try printJSONObject(["id": opened.id, "roundId": opened.roundID, "groupId": opened.groupID, "places": opened.places]) }
            say(
                "opened offer \(opened.id): \(opened.places) places in \(opened.groupID) (\(opened.pattern)), \(opened.reservedSOS) for SOS families, \(opened.reservedLocal) for local families"
            )
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit applications from a CSV file, in batches, with a progress line.",
            discussion: """
                One row an application. The header names the columns: child_id, then choice1, choice2, ...
                (offer ids, best first; empty cells are skipped). A child already applied is updated and
                keeps their first submission time.

                  child_id,choice1,choice2,choice3
                  chd_4m2k9x7q1d3e,toddlers-full,toddlers-am,
                  chd_9x7q1d3e4m2k,toddlers-am,,

                Example:
                  sosched intake import --round almaty-2027 --file applications.csv
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "CSV file ('-' for standard input).") var file: String
        @Option(help: "Applications a call.") var batch: Int = 1000

        func run() async throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("--file: cannot read \(file)") }
                text = String(decoding: data, as: UTF8.self)
            }
            let applications = try Self.parse(text)
            var sent = 0
            for start in stride(from: 0, to: applications.count, by: max(1, batch)) {
                let slice = Array(applications[start..<min(applications.count, start + max(1, batch))])
                let response = try await global.intake(
                    RPC.IntakeService.submitApplications, SubmitApplicationsRequest(roundID: round, applications: slice), change: true)
                sent += Int(response.submitted)
                if !global.json { FileHandle.standardError.write(Data("\rsubmitted \(sent)/\(applications.count)".utf8)) }
            }
            if global.json { return try printJSONObject(["submitted": sent]) }
            FileHandle.standardError.write(Data("\n".utf8))
            say("submitted \(sent) applications to round \(round)")
        }

        /// Rows of `child_id,choice1,choice2,...`; the error names the line.
        static func parse(_ text: String) throws -> [ApplicationMessage] {
            // A spreadsheet's byte-order mark and Windows line ends are fine; blank lines are skipped but counted.
            let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
            var lines = body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init).enumerated().makeIterator()
            guard
                let header = lines.next()?.element.split(separator: ",", omittingEmptySubsequences: false).map({
                    $0.trimmingCharacters(in: .whitespaces).lowercased()
                }),
                header.first == "child_id", header.count >= 2, header.dropFirst().allSatisfy({ $0.hasPrefix("choice") })
            else { throw ValidationError("--file: the first line must be the header child_id,choice1,choice2,...") }
            var applications: [ApplicationMessage] = []
            var seen = Set<String>()
            while let (offset, line) = lines.next().map({ ($0.offset, $0.element) }) {
                let number = offset + 1
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count <= header.count else { throw ValidationError("--file: line \(number) has \(cells.count) cells, the header \(header.count)") }
                guard let child = cells.first, !child.isEmpty else { throw ValidationError("--file: line \(number) has no child_id") }
                let ranking = cells.dropFirst().filter { !$0.isEmpty }
                guard !ranking.isEmpty else { throw ValidationError("--file: line \(number) ranks no offer") }
                guard seen.insert(child).inserted else { throw ValidationError("--file: line \(number) repeats child \(child)") }
                applications.append(ApplicationMessage(childID: child, ranking: Array(ranking)))
            }
            return applications
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit or update one child's application.",
            discussion: "Example:\n  sosched intake apply --round almaty-2027 --child chd_4m2k9x7q1d3e --offers toddlers-full,toddlers-am")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "Child id.") var child: String
        @Option(help: "Offer ids, best first, comma-separated.") var offers: String

        func run() async throws {
            let ranking = offers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            _ = try await global.intake(
                RPC.IntakeService.submitApplications,
                SubmitApplicationsRequest(roundID: round, applications: [ApplicationMessage(childID: child, ranking: ranking)]), change: true)
            if global.json { return try printJSONObject(["childId": child, "ranking": ranking]) }
            say("child \(child) applies for \(ranking.joined(separator: " > "))")
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a child's application (until the deadline).",
            discussion: "Example:\n  sosched intake withdraw --round almaty-2027 --child chd_4m2k9x7q1d3e")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "Child id.") var child: String

        func run() async throws {
            _ = try await global.intake(
                RPC.IntakeService.withdrawApplication, WithdrawApplicationRequest(roundID: round, childID: child), change: true)
            if global.json { return try printJSONObject(["childId": child, "withdrawn": true]) }
            say("withdrew child \(child)'s application")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Allocate the round's places; --dry-run shows the outcome and stores nothing.",
            discussion: """
                A real run is final: its results are stored and the round takes no more offers or applications.
                Before the round's application deadline a real run is refused unless --close-early is given
                (the early close is written to the audit log); a dry run is allowed at any time.

                Example:
                  sosched intake run --round almaty-2027 --dry-run
                  sosched intake run --round almaty-2027
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Flag(help: "Compute and show, store nothing.") var dryRun = false
        @Flag(help: "Run before the application deadline, closing the round to later applications (audited).") var closeEarly = false

        func run() async throws {
            if !global.json { FileHandle.standardError.write(Data("running round \(round)\(dryRun ? " (dry run)" : "")...\n".utf8)) }
            let response = try await global.intake(
                RPC.IntakeService.runRound, RunRoundRequest(roundID: round, dryRun: dryRun, closeEarly: closeEarly), change: true)
            if global.json {
                return try printJSONObject([
                    "dryRun": response.dryRun, "applications": response.applications, "placed": response.placed, "firstChoice": response.firstChoice,
                    "offers": response.offers.map(IntakeCommands.json),
                ])
            }
            say(
                "\(response.dryRun ? "dry run: would place" : "placed") \(response.placed) of \(response.applications) children, \(response.firstChoice) in their first choice"
            )
            printTable(IntakeCommands.fillHeader, IntakeCommands.fillRows(response.offers))
        }
    }

    struct Results: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each child's result in a round that has run, and each offer's fill.",
            discussion: "Example:\n  sosched intake results --round almaty-2027")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String

        func run() async throws {
            var response = try await global.intake(RPC.IntakeService.getResults, GetResultsRequest(roundID: round))
            while !response.nextPageToken.isEmpty {
                let more = try await global.intake(
                    RPC.IntakeService.getResults, GetResultsRequest(roundID: round, pageToken: response.nextPageToken))
                response.results += more.results
                response.nextPageToken = more.nextPageToken
            }
            if global.json {
                return try printJSONObject([
                    "results": response.results.map { ["childId": $0.childID, "offerId": $0.offerID, "seat": $0.seat, "choice": $0.choice] as [String: Any] },
                    "offers": response.offers.map(IntakeCommands.json),
                ])
            }
            printTable(
                ["child", "result", "choice", "seat"],
                response.results.map { result in
                    result.offerID.isEmpty ? [result.childID, "no place", "-", "-"] : [result.childID, result.offerID, "\(result.choice)", result.seat]
                })
            say("")
            printTable(IntakeCommands.fillHeader, IntakeCommands.fillRows(response.offers))
        }
    }

    struct Waitlist: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The children waiting for an offer, by priority.",
            discussion: "Example:\n  sosched intake waitlist --round almaty-2027 --offer toddlers-full")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "Offer id.") var offer: String

        func run() async throws {
            // Every page, in order (pending offers come with each).
            var response = GetWaitlistResponse()
            var token = ""
            repeat {
                let page = try await global.intake(
                    RPC.IntakeService.getWaitlist, GetWaitlistRequest(roundID: round, offerID: offer, pageToken: token))
                response.entries += page.entries
                response.pending = page.pending
                token = page.nextPageToken
            } while !token.isEmpty
            if global.json {
                return try printJSONObject([
                    "entries": response.entries.map { ["position": $0.position, "childId": $0.childID] as [String: Any] },
                    "pending": response.pending.map { ["childId": $0.childID, "seat": $0.seat, "deadlineMs": $0.deadlineMs] as [String: Any] },
                ])
            }
            for pending in response.pending {
                say("offered to \(pending.childID) (\(pending.seat)), answer due \(Create.instant(pending.deadlineMs))")
            }
            if response.entries.isEmpty { return say("no one is waiting for \(offer)") }
            printTable(["position", "child"], response.entries.map { ["\($0.position)", $0.childID] })
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Why a child did or did not get an offer, in plain words (other children are not named).",
            discussion: "Example:\n  sosched intake explain --round almaty-2027 --child chd_4m2k9x7q1d3e --offer toddlers-full")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "Child id.") var child: String
        @Option(help: "Offer id.") var offer: String

        func run() async throws {
            let response = try await global.intake(RPC.IntakeService.explain, ExplainRequest(roundID: round, childID: child, offerID: offer))
            if global.json {
                return try printJSONObject([
                    "outcome": response.outcome, "text": response.text, "choice": response.choice, "waitlistPosition": response.waitlistPosition,
                    "decidingCriteria": response.decidingCriteria,
                ])
            }
            sayLines(response.text)
        }
    }

    static func printMoves(_ moves: [MoveMessage], json: Bool) throws {
        if json {
            return try printJSONObject(
                moves.map {
                    ["kind": $0.kind, "childId": $0.childID, "offerId": $0.offerID, "seat": $0.seat, "deadlineMs": $0.deadlineMs] as [String: Any]
                })
        }
        if moves.isEmpty { return say("no moves") }
        for move in moves {
            switch move.kind {
            case "offered": say("offered \(move.offerID) (\(move.seat)) to \(move.childID), answer due \(Create.instant(move.deadlineMs))")
            case "accepted": say("\(move.childID) accepted \(move.offerID)")
            case "declined": say("\(move.childID) declined \(move.offerID)")
            case "expired": say("\(move.childID) did not answer for \(move.offerID) in time")
            case "released": say("\(move.childID) gave up their place at \(move.offerID) (\(move.seat))")
            case "left_free": say("a place at \(move.offerID) (\(move.seat)) stays free: no one waiting may take it")
            default: say("\(move.kind) \(move.childID) \(move.offerID)")
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "After the run: give up a child's place; it is offered to the next child waiting.",
            discussion: "Example:\n  sosched intake release --round almaty-2027 --child chd_4m2k9x7q1d3e")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "Child id.") var child: String

        func run() async throws {
            let response = try await global.intake(RPC.IntakeService.releaseSeat, ReleaseSeatRequest(roundID: round, childID: child), change: true)
            try IntakeCommands.printMoves(response.moves, json: global.json)
        }
    }

    struct Respond: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A family's answer to a waitlist offer: --accept takes it (and frees the place held before), --decline passes it on.",
            discussion: "Example:\n  sosched intake respond --round almaty-2027 --child chd_4m2k9x7q1d3e --offer toddlers-full --accept")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(help: "Child id.") var child: String
        @Option(help: "Offer id.") var offer: String
        @Flag(help: "Take the offer.") var accept = false
        @Flag(help: "Pass it on.") var decline = false

        func validate() throws {
            guard accept != decline else { throw ValidationError("give --accept or --decline") }
        }

        func run() async throws {
            let response = try await global.intake(
                RPC.IntakeService.respondToOffer, RespondToOfferRequest(roundID: round, childID: child, offerID: offer, accept: accept), change: true)
            try IntakeCommands.printMoves(response.moves, json: global.json)
        }
    }

    struct Moves: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every waitlist move since the run, oldest first.", discussion: "Example:\n  sosched intake moves --round almaty-2027")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String

        func run() async throws {
            var moves: [MoveMessage] = []
            var token = ""
            repeat {
                let page = try await global.intake(RPC.IntakeService.listMoves, ListMovesRequest(roundID: round, pageToken: token))
                moves += page.moves
                token = page.nextPageToken
            } while !token.isEmpty
            try IntakeCommands.printMoves(moves, json: global.json)
        }
    }

    struct Confirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Book places of a round that has run as placements for the term (a family accepting, or all at once).",
            discussion: """
                Without --child, every child holding a place is booked. A confirmed child leaves the waitlists.

                Examples:
                  sosched intake confirm --round almaty-2027 --child chd_4m2k9x7q1d3e
                  sosched intake confirm --round almaty-2027
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Round id.") var round: String
        @Option(name: .customLong("child"), help: "Child id (repeat for several; none: everyone holding a place).") var children: [String] = []

        func run() async throws {
            // A call confirms at most 1000 children (one transaction each): named children go in
            // chunks, everyone holding a place a page at a time.
            var response = ConfirmPlacementsResponse()
            func add(_ part: ConfirmPlacementsResponse) {
                response.confirmed += part.confirmed
                response.refused += part.refused
            }
            if children.isEmpty {
                var token = ""
                repeat {
                    let part = try await global.intake(
                        RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: round, pageToken: token), change: true)
                    add(part)
                    token = part.nextPageToken
                } while !token.isEmpty
            } else {
                for start in stride(from: 0, to: children.count, by: 1000) {
                    let chunk = Array(children[start..<min(children.count, start + 1000)])
                    add(
                        try await global.intake(
                            RPC.IntakeService.confirmPlacements, ConfirmPlacementsRequest(roundID: round, childIDs: chunk), change: true))
                }
            }
            if global.json {
                return try printJSONObject([
                    "confirmed": response.confirmed.map { ["childId": $0.childID, "offerId": $0.offerID, "placementId": $0.placementID] },
                    "refused": response.refused.map { ["childId": $0.childID, "reason": $0.reason] },
                ])
            }
            for done in response.confirmed { say("booked \(done.childID) at \(done.offerID): placement \(done.placementID)") }
            for refused in response.refused { say("not booked \(refused.childID): \(refused.reason)") }
            if !response.refused.isEmpty { throw ExitCode(1) }
        }
    }
}
