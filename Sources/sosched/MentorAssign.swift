import ArgumentParser
import Crypto
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

/// `sosched mentors assign`: a batch of mentor sessions from a file, for scripts and people.
struct MentorAssign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assign", abstract: "Match young people to mentors and place their sessions, from a CSV or JSON lines file, as one batch.",
        discussion: """
            The file: one line a young person, with the CSV header

              young_person,fields,sessions,from,to
              almaty-y1,it;finance,4,2027-01-11,2027-03-28
              almaty-y2,cooking,2,2027-01-11,2027-02-28

            young_person: a young person of the site, once in the file;
            fields: fields of interest separated by ';' (1 to 20: it, finance,
            crafts, cooking, ...); sessions: 1 to 53, at most one a week;
            from, to: the first and last date the sessions may take
            (YYYY-MM-DD, at most 366 days). JSON lines take the same keys, with
            fields an array or ';' text:
              {"young_person": "almaty-y1", "fields": ["it", "finance"],
               "sessions": 4, "from": "2027-01-11", "to": "2027-03-28"}
            The format is --format, else the file's extension (.csv, .jsonl,
            .ndjson), else CSV; --file - reads standard input. Every error in
            the file is reported with its line number, all at once, and then
            nothing is sent.

            A batch is one unit: a real run saves all of it or nothing;
            --dry-run shows the plan and saves nothing. The batch id makes a
            run safe to repeat: without --batch-id it is made from the site and
            the file's items ("file-" and 20 hex digits of a SHA-256; line
            order, format and spacing do not count), so the same file sent
            again (a cron job, a retry) answers the saved batch and books
            nothing twice. The same id with other input is refused. A dry run
            sends the id too: once the batch is saved, it shows that batch.

            Progress goes to standard error: a bar on a terminal, plain lines
            otherwise. Then a summary, the sessions that could not be placed
            and why, and with --sessions every placed session. --json prints
            all of it as one JSON object (result, assignments, sessions,
            refusals) instead.

            Exit codes:
              0  every young person matched and every session placed
              3  partly placed: a young person without a mentor, or sessions
                 not placed (the refusals say why)
              4  refused or failed: a bad file or command line, the server
                 refused the batch (say ALREADY_EXISTS: the batch id was used
                 with other input), or no answer from the server

            Examples:
              sosched mentors assign --site almaty --file batch.csv --dry-run
              sosched mentors assign --site almaty --file batch.csv
              export-batch | sosched mentors assign --site almaty --file - \\
                  --format jsonl --batch-id 2027-spring --json
            """)

    static let columns = ["young_person", "fields", "sessions", "from", "to"]

    /// The documented exit codes.
    static let partlyPlaced = ExitCode(3)
    static let refused = ExitCode(4)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Site id.") var site: String
    @Option(help: "CSV or JSON lines file ('-' for standard input).") var file: String
    @Flag(help: "Show the plan without saving it.") var dryRun = false
    @Option(help: "1-64 letters, digits, '-', '_' or '.' (default: made from the site and the file's content).") var batchId: String?
    @Option(help: "csv or jsonl (default: from the file's extension, else csv).") var format: ImportFormat?
    @Flag(name: .customLong("sessions"), help: "List every placed session.") var listSessions = false

    /// The code to exit with instead of `code` when `arguments` run this command: any failure is 4.
    static func failureCode(for code: ExitCode, arguments: [String]) -> ExitCode? {
        guard Array(arguments.dropFirst().prefix(2)) == ["mentors", "assign"], code != partlyPlaced else { return nil }
        return refused
    }

    func validate() throws {
        guard Scope.isValidID(site) else { throw ValidationError("--site '\(site)' must be 1-64 letters, digits, '-' or '_'") }
        if let batchId, !Self.isValidBatchID(batchId) {
            throw ValidationError("--batch-id '\(batchId)' must be 1-64 letters, digits, '-', '_' or '.'")
        }
    }

    static func isValidBatchID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || "-_.".utf8.contains(byte)
            }
    }

    /// The id of a batch of `items` for `site`: "file-" and the first 20 hex digits of SHA-256
    /// over the site, a NUL, and the items in one canonical form (by young person, fields
    /// sorted, a line each), so the same items give the same id whatever the file's line order,
    /// format or spacing (the server, too, compares batches so).
    static func derivedBatchID(site: String, items: [BatchItemMessage]) -> String {
        var hash = SHA256()
        hash.update(data: Data(site.utf8))
        hash.update(data: Data([0]))
        for item in items.sorted(by: { $0.youngPersonID < $1.youngPersonID }) {
            let line = [item.youngPersonID, item.fields.sorted().joined(separator: ";"), "\(item.sessions)", item.from, item.to].joined(separator: "\t")
            hash.update(data: Data((line + "\n").utf8))
        }
        let hex = hash.finalize().map { String(format: "%02x", $0) }.joined()
        return "file-\(hex.prefix(20))"
    }

    /// The file's items and their lines; every bad line is reported and the command exits 4.
    static func items(in source: ImportSource, format: ImportFormat) throws -> [(line: Int, item: BatchItemMessage)] {
        let items = try ImportFile.numberedRecords(
            in: source, format: format, columns: columns, required: columns, unique: ("young person", { $0.youngPersonID })
        ) { (row: ImportRow) -> BatchItemMessage in
            // In the columns' order, so a line's problems read left to right.
            let youngPerson = row.id("young_person")
            let fields = row.words("fields", most: MentorBatch.maxFields)
            let sessions = row.number("sessions", 1...53)
            let from = row.requiredDate("from")
            let to = row.requiredDate("to")
            if let from, let to {
                if from > to {
                    row.problem("from \(from) is after to \(to)")
                } else if to.dayNumber - from.dayNumber + 1 > 366 {
                    row.problem("from \(from) to \(to) is \(to.dayNumber - from.dayNumber + 1) days, at most 366")
                }
            }
            return BatchItemMessage(
                youngPersonID: youngPerson, fields: fields, sessions: sessions, from: from?.description ?? "", to: to?.description ?? "")
        }
        guard items.count <= MentorBatch.maxItems else {
            throw ImportFile.report(
                ["the file holds \(items.count) young people; a batch holds at most \(MentorBatch.maxItems) (split it)"], in: source.name)
        }
        return items.map { (line: $0.line, item: $0.record) }
    }

    /// What the stream brought.
    struct Outcome {
        var result = BatchAssignResultMessage()
        var assignments: [MentorAssignmentMessage] = []
        var sessions: [MentorSessionMessage] = []
        var refusals: [MentorRefusalMessage] = []
    }

    func run() async throws {
        let source = try ImportSource.read(file)
        let numbered = try Self.items(in: source, format: ImportFormat.resolve(format, path: file))
        let items = numbered.map(\.item)
        let batch = batchId ?? Self.derivedBatchID(site: site, items: items)
        let request = BatchAssignRequest(siteID: site, batchID: batch, items: items, dryRun: dryRun)
        let timeout = Duration.milliseconds(Int64((global.timeoutOption ?? 600) * 1000))
        var options = dryRun ? global.callOptions : global.mutationOptions
        options.timeout = timeout
        let progress = BatchProgressDisplay(terminal: standardErrorIsTerminal && !global.json)
        let people = items.count == 1 ? "1 young person" : "\(items.count) young people"
        progress.start("batch \(batch): \(people) for site \(site)\(dryRun ? " (dry run)" : "")")
        let explain = { (error: RPCError) in Self.explain(error, batch: batch, lines: numbered.map(\.line), file: source.name) }
        let outcome: Outcome = try await global.withClient(explain: explain) { client in
            var outcome = Outcome()
            var result: BatchAssignResultMessage?
            defer { progress.finish() }
            for try await message in try await client.stream(RPC.MentoringService.batchAssign, request, options: options) {
                if let update = message.progress { progress.show(update) }
                outcome.assignments += message.assignments
                outcome.sessions += message.sessions
                outcome.refusals += message.refusals
                if let answer = message.result { result = answer }
            }
            guard let result else { throw RPCError(Status(.internal, "the stream ended without the batch's result")) }
            outcome.result = result
            progress.done(result)
            return outcome
        }
        if global.json {
            try printJSONObject(Self.json(outcome, dryRun: dryRun))
        } else {
            Self.summary(outcome, dryRun: dryRun, listing: listSessions)
        }
        let result = outcome.result
        // A replayed batch whose sessions were cancelled since is not all booked.
        let cancelled = outcome.sessions.contains { $0.status == .mentorSessionCancelled }
        if result.itemsMatched < result.items || result.sessionsPlaced < result.sessionsRequested || cancelled { throw Self.partlyPlaced }
    }

    /// More for the errors a batch meets: the file's line of an item the server names
    /// (`items[3].young_person_id`), what to do about a batch id in use or a conflict.
    static func explain(_ error: RPCError, batch: String, lines: [Int], file: String) -> String? {
        var hints: [String] = []
        let field = error.status.details.lazy.compactMap { try? $0.decode(as: BadRequest.self) }.first?.violations.first?.field ?? ""
        if let match = field.firstMatch(of: /^items\[(\d+)\]/), let index = Int(match.1), lines.indices.contains(index) {
            hints.append("hint: items[\(index)] is line \(lines[index]) of \(file)")
        }
        switch error.code {
        case .alreadyExists: hints.append("hint: batch \(batch) was saved with other input; give another --batch-id (or none: one is made from the file)")
        case .aborted: hints.append("hint: the site's records changed while the batch was planned; nothing was saved, run it again")
        default: break
        }
        return hints.isEmpty ? nil : hints.joined(separator: "\n")
    }

    static func reasonCode(_ reason: ProtoMentorRefusalReason) -> String {
        switch reason {
        case .noMentorWithFields: "no_mentor_with_fields"
        case .mentorsFull: "mentors_full"
        case .noSharedFreeTimeInRange: "no_shared_free_time"
        default: "unknown"
        }
    }

    static func reasonText(_ reason: ProtoMentorRefusalReason) -> String {
        switch reason {
        case .noMentorWithFields: "no mentor with these fields"
        case .mentorsFull: "mentors with these fields full"
        case .noSharedFreeTimeInRange: "no shared free time"
        default: "unknown"
        }
    }

    static func json(_ outcome: Outcome, dryRun: Bool) -> [String: Any] {
        let result = outcome.result
        return [
            "result": [
                "batchId": result.batchID, "site": result.siteID, "dryRun": dryRun, "saved": result.saved, "replayed": result.replayed,
                "items": result.items, "itemsMatched": result.itemsMatched, "totalFit": result.totalFit, "keptPairs": result.keptPairs,
                "sessionsRequested": result.sessionsRequested, "sessionsPlaced": result.sessionsPlaced, "sessionsRefused": result.sessionsRefused,
                "elapsedMs": result.elapsedMs, "matchMs": result.matchMs,
            ] as [String: Any],
            "assignments": outcome.assignments.map {
                ["youngPerson": $0.youngPersonID, "mentor": $0.mentorID, "fit": $0.fit, "kept": $0.kept] as [String: Any]
            },
            "sessions": outcome.sessions.map(mentorSessionJSON),
            "refusals": outcome.refusals.map {
                [
                    "youngPerson": $0.youngPersonID, "mentor": $0.mentorID, "reason": reasonCode($0.reason), "week": $0.week, "sessions": $0.sessions,
                    "message": $0.message,
                ] as [String: Any]
            },
        ]
    }

    static func summary(_ outcome: Outcome, dryRun: Bool, listing: Bool) {
        let result = outcome.result
        let state =
            result.replayed ? "saved earlier (replayed: nothing booked now)" : result.saved ? "saved" : dryRun ? "dry run, nothing saved" : "not saved"
        say("batch \(result.batchID) at \(result.siteID): \(state)")
        let cancelled = outcome.sessions.filter { $0.status == .mentorSessionCancelled }.count
        if result.replayed, cancelled > 0 {
            say("  \(cancelled) of its sessions were cancelled since; to book them again, send the file with another --batch-id")
        }
        printTable(
            ["ITEMS", "MATCHED", "TOTAL FIT", "KEPT PAIRS", "SESSIONS PLACED", "SAVED", "BATCH"],
            [
                [
                    "\(result.items)", "\(result.itemsMatched)", "\(result.totalFit)", "\(result.keptPairs)",
                    "\(result.sessionsPlaced)/\(result.sessionsRequested)",
                    result.replayed ? "replayed" : result.saved ? "saved" : "dry run", result.batchID,
                ]
            ])
        if !outcome.refusals.isEmpty {
            say("")
            say("not placed (\(result.sessionsRefused) session(s)):")
            printTable(
                ["YOUNG PERSON", "MENTOR", "REASON", "WEEK", "SESSIONS"],
                outcome.refusals.map {
                    [$0.youngPersonID, $0.mentorID.isEmpty ? "-" : $0.mentorID, reasonText($0.reason), $0.week.isEmpty ? "-" : $0.week, "\($0.sessions)"]
                })
        }
        if listing, !outcome.sessions.isEmpty {
            say("")
            printMentorSessions(outcome.sessions)
        }
    }
}

/// The batch's progress on standard error: a bar redrawn in place on a terminal, plain lines
/// otherwise (a log, a pipe).
struct BatchProgressDisplay: Sendable {
    let terminal: Bool

    func start(_ line: String) { write(line + "\n") }

    func show(_ progress: BatchProgressMessage) {
        if terminal {
            write("\r\u{1B}[K" + Self.bar(progress))
        } else {
            write(Self.line(progress) + "\n")
        }
    }

    func finish() { if terminal { write("\r\u{1B}[K") } }

    /// The last plain line, from the result: a small batch may be done before the server's first update.
    func done(_ result: BatchAssignResultMessage) {
        guard !terminal else { return }
        write(
            "progress: done, \(result.itemsMatched)/\(result.items) matched, \(result.itemsMatched)/\(result.itemsMatched) pairs placed, "
                + "\(result.sessionsPlaced) sessions, \(result.elapsedMs) ms\n")
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// `[#####...............] 1200/5000 pairs placed, 3400 sessions`, or the matching before it.
    static func bar(_ progress: BatchProgressMessage, width: Int = 20) -> String {
        guard progress.pairs > 0 else { return "matching \(progress.items) young people to mentors... \(progress.elapsedMs) ms" }
        let done = min(width, Int(progress.pairsPlaced) * width / Int(progress.pairs))
        return "[" + String(repeating: "#", count: done) + String(repeating: ".", count: width - done) + "] "
            + "\(progress.pairsPlaced)/\(progress.pairs) pairs placed, \(progress.sessionsPlaced) sessions"
    }

    /// One plain line: `progress: 4800/5000 matched, 1200/4800 pairs placed, 3400 sessions, 812 ms`.
    static func line(_ progress: BatchProgressMessage) -> String {
        guard progress.pairs > 0 else { return "progress: matching \(progress.items) young people to mentors, \(progress.elapsedMs) ms" }
        return
            "progress: \(progress.itemsMatched)/\(progress.items) matched, \(progress.pairsPlaced)/\(progress.pairs) pairs placed, \(progress.sessionsPlaced) sessions, \(progress.elapsedMs) ms"
    }
}
