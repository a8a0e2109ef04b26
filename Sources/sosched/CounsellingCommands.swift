import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

// `sosched counselling home|young|counsellor ...`: the records that week planning works on.

struct CounsellingCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counselling", abstract: "Homes, young people and counsellors: create, list, show, update, import.",
        discussion: """
            Availability windows are "mon 16:00-19:00" (weekday mon..sun, times on the 15-minute grid); give
            --availability once per window. Import files are CSV (a header line first) or JSON lines; every
            error in the file is reported with its line number before anything is sent.

            Examples:
              sosched counselling home create --site almaty --id almaty-h1 --name "Home 1"
              sosched counselling young create --home almaty-h1 --name Aruzhan --sessions 2 --availability "mon 16:00-19:00" --availability "wed 16:00-19:00"
              sosched counselling counsellor create --site almaty --id c-aigerim --name Aigerim --availability "mon 09:00-18:00"
              sosched counselling young import --site almaty --file young.csv
            """,
        subcommands: [HomeCommands.self, YoungCommands.self, CounsellorCommands.self])
}

func json(_ home: HomeMessage) -> [String: Any] { ["id": home.id, "site": home.siteID, "name": home.name] }

func json(_ person: YoungPersonMessage) -> [String: Any] {
    [
        "id": person.id, "home": person.homeID, "site": person.siteID, "name": person.name, "birthDate": person.birthDate,
        "availability": person.availability, "awayDates": person.awayDates, "sessionsPerWeek": person.sessionsPerWeek,
        "minutesPerSession": person.minutesPerSession, "preferredCounsellor": person.preferredCounsellorID,
        "requiredQualifications": person.requiredQualifications,
    ]
}

func json(_ counsellor: CounsellorMessage) -> [String: Any] {
    [
        "id": counsellor.id, "site": counsellor.siteID, "name": counsellor.name, "availability": counsellor.availability,
        "awayDates": counsellor.awayDates, "qualifications": counsellor.qualifications, "maxSessionsPerWeek": counsellor.maxSessionsPerWeek,
        "maxMinutesPerDay": counsellor.maxMinutesPerDay,
    ]
}

/// Checks windows on this side too, so a typo is named before anything is sent.
func windowsArgument(_ windows: [String], _ option: String) throws -> [String] {
    for window in windows where WeeklyWindow(parsing: window) == nil {
        throw ValidationError("\(option) '\(window)' is not a window such as \"mon 16:00-19:00\" (15-minute grid)")
    }
    return windows
}

// MARK: Homes

struct HomeCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "home", abstract: "Semi-independent homes of a site.", subcommands: [Create.self, List.self, Show.self, Update.self, Import.self])

    static func show(_ home: HomeMessage, _ global: GlobalOptions) throws {
        if global.json { return try printJSONObject(json(home)) }
        say("home \(home.id): \(home.name) (site \(home.siteID))")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a home.", discussion: "Example:\n  sosched counselling home create --site almaty --id almaty-h1 --name \"Home 1\"")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "Name for people.") var name: String
        @Option(help: "Identifier (default: the server makes one).") var id = ""

        func run() async throws {
            let home = try await global.nursery(
                RPC.CounsellingService.createHome, CreateHomeRequest(home: HomeMessage(id: id, siteID: site, name: name)), change: true)
            try HomeCommands.show(home, global)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a site's homes.", discussion: "Example:\n  sosched counselling home list --site almaty")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String

        func run() async throws {
            let homes = try await global.all { token in
                let page = try await global.nursery(RPC.CounsellingService.listHomes, ListHomesRequest(siteID: site, pageSize: 500, pageToken: token))
                return (page.homes, page.nextPageToken)
            }
            if global.json { return try printJSONObject(homes.map(json)) }
            printTable(["ID", "NAME"], homes.map { [$0.id, $0.name] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a home.", discussion: "Example:\n  sosched counselling home show almaty-h1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Home id.") var id: String

        func run() async throws { try HomeCommands.show(try await global.nursery(RPC.CounsellingService.getHome, GetHomeRequest(id: id)), global) }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename a home.", discussion: "Example:\n  sosched counselling home update almaty-h1 --name \"Home one\"")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Home id.") var id: String
        @Option(help: "New name.") var name: String

        func run() async throws {
            let home = try await global.nursery(
                RPC.CounsellingService.updateHome, UpdateHomeRequest(home: HomeMessage(id: id, name: name), updateMask: ["name"]), change: true)
            try HomeCommands.show(home, global)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or replace homes from a file, all or none.",
            discussion: """
                CSV with the header "id,name", or JSON lines such as {"id": "almaty-h1", "name": "Home 1"}.
                Example:
                  sosched counselling home import --site almaty --file homes.csv
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "CSV or JSON lines file.") var file: String

        func run() async throws {
            let homes = try ImportFile.read(file, columns: ["id", "name"], required: ["id", "name"]) { row in
                HomeMessage(id: row.id("id"), siteID: site, name: row.text("name"))
            }
            try await CounsellingImport.send(ImportCounsellingRequest(siteID: site, homes: homes), global)
        }
    }
}

// MARK: Young people

struct YoungCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "young", abstract: "Young people in the homes: availability, sessions a week, preferred counsellor.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Import.self])

    static func show(_ person: YoungPersonMessage, _ global: GlobalOptions) throws {
        if global.json { return try printJSONObject(json(person)) }
        say("young person \(person.id): \(person.name), home \(person.homeID) (site \(person.siteID))")
        say("  \(person.sessionsPerWeek) session(s) a week of \(person.minutesPerSession) minutes")
        say("  available: \(person.availability.isEmpty ? "never" : person.availability.joined(separator: ", "))")
        if !person.awayDates.isEmpty { say("  away: \(person.awayDates.joined(separator: ", "))") }
        if !person.preferredCounsellorID.isEmpty { say("  preferred counsellor: \(person.preferredCounsellorID)") }
        if !person.requiredQualifications.isEmpty { say("  needs: \(person.requiredQualifications.joined(separator: ", "))") }
        if !person.birthDate.isEmpty { say("  born \(person.birthDate)") }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a young person to a home.",
            discussion:
                "Example:\n  sosched counselling young create --home almaty-h1 --name Aruzhan --sessions 2 --availability \"mon 16:00-19:00\" --availability \"wed 16:00-19:00\""
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Home id.") var home: String
        @Option(help: "Name for people.") var name: String
        @Option(help: "Identifier (default: the server makes one).") var id = ""
        @Option(help: "A weekly window, e.g. \"mon 16:00-19:00\"; repeat for more.") var availability: [String] = []
        @Option(help: "A date the young person cannot meet; repeat for more.") var away: [String] = []
        @Option(help: "Sessions a week, 1 to 3.") var sessions: UInt32 = 1
        @Option(help: "Minutes a session (15-minute grid).") var minutes: UInt32 = 60
        @Option(help: "Preferred counsellor id.") var preferred = ""
        @Option(help: "A qualification the counsellor needs; repeat for more.") var qualification: [String] = []
        @Option(help: "Birth date YYYY-MM-DD.") var birthDate = ""

        func run() async throws {
            let person = YoungPersonMessage(
                id: id, homeID: home, name: name, birthDate: birthDate, availability: try windowsArgument(availability, "--availability"),
                awayDates: try away.map { try dateArgument($0, "--away") }, sessionsPerWeek: sessions, minutesPerSession: minutes,
                preferredCounsellorID: preferred, requiredQualifications: qualification)
            try YoungCommands.show(
                try await global.nursery(RPC.CounsellingService.createYoungPerson, CreateYoungPersonRequest(youngPerson: person), change: true), global)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List young people of a site or a home.", discussion: "Example:\n  sosched counselling young list --site almaty")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site = ""
        @Option(help: "Only this home's.") var home = ""

        func validate() throws { if site.isEmpty, home.isEmpty { throw ValidationError("give --site or --home") } }

        func run() async throws {
            let people = try await global.all { token in
                let page = try await global.nursery(
                    RPC.CounsellingService.listYoungPeople, ListYoungPeopleRequest(siteID: site, homeID: home, pageSize: 500, pageToken: token))
                return (page.youngPeople, page.nextPageToken)
            }
            if global.json { return try printJSONObject(people.map(json)) }
            printTable(
                ["ID", "NAME", "HOME", "A WEEK", "AVAILABLE", "PREFERS"],
                people.map {
                    [
                        $0.id, $0.name, $0.homeID, "\($0.sessionsPerWeek) x \($0.minutesPerSession) min", $0.availability.joined(separator: ", "),
                        $0.preferredCounsellorID,
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a young person.", discussion: "Example:\n  sosched counselling young show yp_x")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Young person id.") var id: String

        func run() async throws {
            try YoungCommands.show(try await global.nursery(RPC.CounsellingService.getYoungPerson, GetYoungPersonRequest(id: id)), global)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a young person's record (only the options given).",
            discussion: "Example:\n  sosched counselling young update yp_x --sessions 3 --availability \"tue 17:00-19:00\"")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Young person id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "Move to this home (same site).") var home: String?
        @Option(help: "Replaces all windows; repeat for more.") var availability: [String] = []
        @Option(help: "Replaces all away dates; repeat for more.") var away: [String] = []
        @Flag(help: "Clear the away dates.") var clearAway = false
        @Option(help: "Sessions a week, 1 to 3.") var sessions: UInt32?
        @Option(help: "Minutes a session.") var minutes: UInt32?
        @Option(help: "Preferred counsellor id (\"\" for none).") var preferred: String?
        @Option(help: "Replaces all required qualifications; repeat for more.") var qualification: [String] = []

        func run() async throws {
            var message = YoungPersonMessage(id: id)
            var mask: [String] = []
            if let name { (message.name, mask) = (name, mask + ["name"]) }
            if let home { (message.homeID, mask) = (home, mask + ["home_id"]) }
            if !availability.isEmpty { (message.availability, mask) = (try windowsArgument(availability, "--availability"), mask + ["availability"]) }
            if !away.isEmpty || clearAway { (message.awayDates, mask) = (try away.map { try dateArgument($0, "--away") }, mask + ["away_dates"]) }
            if let sessions { (message.sessionsPerWeek, mask) = (sessions, mask + ["sessions_per_week"]) }
            if let minutes { (message.minutesPerSession, mask) = (minutes, mask + ["minutes_per_session"]) }
            if let preferred { (message.preferredCounsellorID, mask) = (preferred, mask + ["preferred_counsellor_id"]) }
            if !qualification.isEmpty { (message.requiredQualifications, mask) = (qualification, mask + ["required_qualifications"]) }
            guard !mask.isEmpty else { throw ValidationError("give at least one option to change") }
            try YoungCommands.show(
                try await global.nursery(
                    RPC.CounsellingService.updateYoungPerson, UpdateYoungPersonRequest(youngPerson: message, updateMask: mask), change: true), global)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or replace young people from a file, all or none.",
            discussion: """
                CSV header: id,home,name,sessions,minutes,availability,away,preferred,qualifications,birth_date
                (id, home, name and sessions required; lists separated by ';', e.g. "mon 16:00-19:00;wed 16:00-19:00"),
                or JSON lines with the same keys (lists as arrays or ';'-separated text).
                Example:
                  sosched counselling young import --site almaty --file young.csv
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "CSV or JSON lines file.") var file: String

        func run() async throws {
            let people = try ImportFile.read(
                file, columns: ["id", "home", "name", "sessions", "minutes", "availability", "away", "preferred", "qualifications", "birth_date"],
                required: ["id", "home", "name", "sessions"]
            ) { row in
                YoungPersonMessage(
                    id: row.id("id"), homeID: row.id("home"), name: row.text("name"), birthDate: row.date("birth_date"),
                    availability: row.windows("availability"), awayDates: row.dates("away"), sessionsPerWeek: row.number("sessions", 1...3),
                    minutesPerSession: row.number("minutes", 15...240, default: 60), preferredCounsellorID: row.optionalID("preferred"),
                    requiredQualifications: row.list("qualifications"))
            }
            try await CounsellingImport.send(ImportCounsellingRequest(siteID: site, youngPeople: people), global)
        }
    }
}

// MARK: Counsellors

struct CounsellorCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counsellor", abstract: "Counsellors of a site: availability, qualifications, limits.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Import.self])

    static func show(_ counsellor: CounsellorMessage, _ global: GlobalOptions) throws {
        if global.json { return try printJSONObject(json(counsellor)) }
        say("counsellor \(counsellor.id): \(counsellor.name) (site \(counsellor.siteID))")
        say("  at most \(counsellor.maxSessionsPerWeek) sessions a week, \(counsellor.maxMinutesPerDay) minutes a day")
        say("  available: \(counsellor.availability.isEmpty ? "never" : counsellor.availability.joined(separator: ", "))")
        if !counsellor.awayDates.isEmpty { say("  away: \(counsellor.awayDates.joined(separator: ", "))") }
        if !counsellor.qualifications.isEmpty { say("  qualified: \(counsellor.qualifications.joined(separator: ", "))") }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a counsellor to a site.",
            discussion:
                "Example:\n  sosched counselling counsellor create --site almaty --id c-aigerim --name Aigerim --availability \"mon 09:00-18:00\" --qualification trauma"
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "Name for people.") var name: String
        @Option(help: "Identifier, the one a counsellor:ID token names (default: the server makes one).") var id = ""
        @Option(help: "A weekly window; repeat for more.") var availability: [String] = []
        @Option(help: "A date off; repeat for more.") var away: [String] = []
        @Option(help: "A qualification; repeat for more.") var qualification: [String] = []
        @Option(help: "Most sessions a week.") var maxSessions: UInt32 = 20
        @Option(help: "Most minutes of sessions a day.") var maxMinutesPerDay: UInt32 = 360

        func run() async throws {
            let counsellor = CounsellorMessage(
                id: id, siteID: site, name: name, availability: try windowsArgument(availability, "--availability"),
                awayDates: try away.map { try dateArgument($0, "--away") }, qualifications: qualification, maxSessionsPerWeek: maxSessions,
                maxMinutesPerDay: maxMinutesPerDay)
            try CounsellorCommands.show(
                try await global.nursery(RPC.CounsellingService.createCounsellor, CreateCounsellorRequest(counsellor: counsellor), change: true), global)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a site's counsellors.", discussion: "Example:\n  sosched counselling counsellor list --site almaty")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String

        func run() async throws {
            let counsellors = try await global.all { token in
                let page = try await global.nursery(
                    RPC.CounsellingService.listCounsellors, ListCounsellorsRequest(siteID: site, pageSize: 500, pageToken: token))
                return (page.counsellors, page.nextPageToken)
            }
            if global.json { return try printJSONObject(counsellors.map(json)) }
            printTable(
                ["ID", "NAME", "LIMITS", "AVAILABLE", "QUALIFIED"],
                counsellors.map {
                    [
                        $0.id, $0.name, "\($0.maxSessionsPerWeek)/week, \($0.maxMinutesPerDay) min/day", $0.availability.joined(separator: ", "),
                        $0.qualifications.joined(separator: ", "),
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a counsellor.", discussion: "Example:\n  sosched counselling counsellor show c-aigerim")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Counsellor id.") var id: String

        func run() async throws {
            try CounsellorCommands.show(try await global.nursery(RPC.CounsellingService.getCounsellor, GetCounsellorRequest(id: id)), global)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a counsellor's record (only the options given).",
            discussion: "Example:\n  sosched counselling counsellor update c-aigerim --max-sessions 15")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Counsellor id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "Replaces all windows; repeat for more.") var availability: [String] = []
        @Option(help: "Replaces all away dates; repeat for more.") var away: [String] = []
        @Flag(help: "Clear the away dates.") var clearAway = false
        @Option(help: "Replaces all qualifications; repeat for more.") var qualification: [String] = []
        @Option(help: "Most sessions a week.") var maxSessions: UInt32?
        @Option(help: "Most minutes of sessions a day.") var maxMinutesPerDay: UInt32?

        func run() async throws {
            var message = CounsellorMessage(id: id)
            var mask: [String] = []
            if let name { (message.name, mask) = (name, mask + ["name"]) }
            if !availability.isEmpty { (message.availability, mask) = (try windowsArgument(availability, "--availability"), mask + ["availability"]) }
            if !away.isEmpty || clearAway { (message.awayDates, mask) = (try away.map { try dateArgument($0, "--away") }, mask + ["away_dates"]) }
            if !qualification.isEmpty { (message.qualifications, mask) = (qualification, mask + ["qualifications"]) }
            if let maxSessions { (message.maxSessionsPerWeek, mask) = (maxSessions, mask + ["max_sessions_per_week"]) }
            if let maxMinutesPerDay { (message.maxMinutesPerDay, mask) = (maxMinutesPerDay, mask + ["max_minutes_per_day"]) }
            guard !mask.isEmpty else { throw ValidationError("give at least one option to change") }
            try CounsellorCommands.show(
                try await global.nursery(
                    RPC.CounsellingService.updateCounsellor, UpdateCounsellorRequest(counsellor: message, updateMask: mask), change: true), global)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or replace counsellors from a file, all or none.",
            discussion: """
                CSV header: id,name,availability,away,qualifications,max_sessions,max_minutes_per_day
                (id and name required; lists separated by ';'), or JSON lines with the same keys.
                Example:
                  sosched counselling counsellor import --site almaty --file counsellors.csv
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "CSV or JSON lines file.") var file: String

        func run() async throws {
            let counsellors = try ImportFile.read(
                file, columns: ["id", "name", "availability", "away", "qualifications", "max_sessions", "max_minutes_per_day"], required: ["id", "name"]
            ) { row in
                CounsellorMessage(
                    id: row.id("id"), siteID: site, name: row.text("name"), availability: row.windows("availability"),
                    awayDates: row.dates("away"), qualifications: row.list("qualifications"),
                    maxSessionsPerWeek: row.number("max_sessions", 1...100, default: 20),
                    maxMinutesPerDay: row.number("max_minutes_per_day", 15...1440, default: 360))
            }
            try await CounsellingImport.send(ImportCounsellingRequest(siteID: site, counsellors: counsellors), global)
        }
    }
}

enum CounsellingImport {
    static func send(_ request: ImportCounsellingRequest, _ global: GlobalOptions) async throws {
        let result = try await global.nursery(RPC.CounsellingService.importCounselling, request, change: true)
        if global.json {
            return try printJSONObject([
                "homesCreated": result.homesCreated, "homesReplaced": result.homesReplaced, "youngPeopleCreated": result.youngPeopleCreated,
                "youngPeopleReplaced": result.youngPeopleReplaced, "counsellorsCreated": result.counsellorsCreated,
                "counsellorsReplaced": result.counsellorsReplaced,
            ])
        }
        say(
            "imported: homes \(result.homesCreated) new, \(result.homesReplaced) replaced; young people \(result.youngPeopleCreated) new, "
                + "\(result.youngPeopleReplaced) replaced; counsellors \(result.counsellorsCreated) new, \(result.counsellorsReplaced) replaced")
    }
}
