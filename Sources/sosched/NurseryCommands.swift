import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

extension GlobalOptions {
    /// One nursery call: a read, or a change with a fresh idempotency key.
    func nursery<Request: WireMessage, Response: WireMessage>(
        _ method: RPCMethod<Request, Response>, _ request: Request, change: Bool = false,
        explain: (RPCError) -> String? = { _ in nil }
    ) async throws -> Response {
        try await withClient(explain: explain) { client in
            try await client.call(method, request, options: change ? mutationOptions : callOptions)
        }
    }

    /// Every page of a listing.
    func all<Item>(_ page: (String) async throws -> ([Item], String)) async throws -> [Item] {
        var items: [Item] = []
        var token = ""
        repeat {
            let (batch, next) = try await page(token)
            items += batch
            token = next
        } while !token.isEmpty
        return items
    }
}

/// Prints a JSON document made of dictionaries, arrays, strings, numbers and booleans.
func printJSONObject(_ value: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

func dateArgument(_ text: String, _ option: String) throws -> String {
    if let date = CivilDate(parsing: text) { return date.description }
    if let monday = CivilDate(isoWeek: text) { return monday.description }
    throw ValidationError("\(option) must be a date YYYY-MM-DD (or an ISO week such as 2026-W48), not '\(text)'")
}

func weekdayList(_ text: String) throws -> [ProtoWeekday] {
    let pattern: WeeklyPattern
    do { pattern = try WeeklyPattern(parsing: text + ":am") } catch {
        throw ValidationError("--open must be days such as mon-fri or mon,tue,thu")
    }
    return pattern.weekdays.sorted().compactMap { ProtoWeekday(rawValue: Int32($0.rawValue)) }
}

func weekdayText(_ days: [ProtoWeekday]) -> String {
    let slots = days.compactMap { Weekday(rawValue: Int($0.rawValue)) }.map { Slot($0, .morning) }
    return String(WeeklyPattern(slots).description.dropLast(3))
}

func agesArgument(_ text: String) throws -> (UInt32, UInt32) {
    let parts = text.split(separator: "-")
    guard parts.count == 2, let low = UInt32(parts[0]), let high = UInt32(parts[1]), low <= high else {
        throw ValidationError("--ages must be MIN-MAX in months, e.g. 12-36 (a child of MAX months is too old)")
    }
    return (low, high)
}

func kindArgument(_ text: String) throws -> ProtoFamilyKind {
    switch text.lowercased() {
    case "sos": return .sos
    case "local": return .local
    default: throw ValidationError("--kind must be sos or local")
    }
}

func kindText(_ kind: ProtoFamilyKind) -> String { kind == .sos ? "sos" : (kind == .local ? "local" : "?") }

// MARK: JSON forms

func json(_ site: SiteMessage) -> [String: Any] { ["id": site.id, "name": site.name, "timeZone": site.timeZone] }

func json(_ nursery: NurseryMessage) -> [String: Any] {
    [
        "id": nursery.id, "site": nursery.siteID, "name": nursery.name, "open": weekdayText(nursery.openWeekdays),
        "closures": nursery.closures, "morning": nursery.morning, "afternoon": nursery.afternoon,
    ]
}

func json(_ group: GroupMessage) -> [String: Any] {
    [
        "id": group.id, "nursery": group.nurseryID, "name": group.name, "minAgeMonths": group.minAgeMonths,
        "maxAgeMonths": group.maxAgeMonths, "capacity": group.capacity, "reservedSos": group.reservedSOS, "reservedLocal": group.reservedLocal,
    ]
}

func json(_ family: FamilyMessage) -> [String: Any] {
    [
        "id": family.id, "site": family.siteID, "kind": kindText(family.kind), "singleParent": family.singleParent,
        "parentsWorking": family.parentsWorking, "contactRef": family.contactRef,
    ]
}

func json(_ child: ChildMessage) -> [String: Any] {
    ["id": child.id, "family": child.familyID, "givenName": child.givenName, "birthDate": child.birthDate, "specialNeeds": child.specialNeeds]
}

func json(_ placement: PlacementMessage) -> [String: Any] {
    [
        "id": placement.id, "child": placement.childID, "group": placement.groupID, "nursery": placement.nurseryID,
        "familyKind": kindText(placement.familyKind), "firstDay": placement.firstDay,
        "lastDay": placement.lastDay.isEmpty ? NSNull() : placement.lastDay as Any, "pattern": placement.pattern,
        "state": placement.state == .cancelled ? "cancelled" : "active",
    ]
}

// MARK: Sites

struct SiteCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site", abstract: "Create, list, show and update sites (creating one is admin work).",
        subcommands: [Create.self, List.self, Show.self, Update.self])

    static func show(_ site: SiteMessage, _ global: GlobalOptions) throws {
        if global.json { try printJSONObject(json(site)) } else { say("site \(site.id): \(site.name), time zone \(site.timeZone)") }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a site.", discussion: "Example:\n  sosched site create --id almaty --name Almaty --time-zone Asia/Almaty")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Identifier used in scopes (letters, digits, - and _).") var id: String
        @Option(help: "Name for people.") var name: String
        @Option(help: "IANA time zone.") var timeZone = "Asia/Almaty"

        func run() async throws {
            let site = try await global.nursery(
                RPC.NurseryService.createSite, CreateSiteRequest(site: SiteMessage(id: id, name: name, timeZone: timeZone)), change: true)
            try SiteCommands.show(site, global)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the sites you may see.", discussion: "Example:\n  sosched site list")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let sites = try await global.all { token in
                let page = try await global.nursery(RPC.NurseryService.listSites, ListSitesRequest(pageSize: 500, pageToken: token))
                return (page.sites, page.nextPageToken)
            }
            if global.json { return try printJSONObject(sites.map(json)) }
            printTable(["ID", "NAME", "TIME ZONE"], sites.map { [$0.id, $0.name, $0.timeZone] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a site.", discussion: "Example:\n  sosched site show almaty")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Site id.") var id: String

        func run() async throws {
            try SiteCommands.show(try await global.nursery(RPC.NurseryService.getSite, GetSiteRequest(id: id)), global)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rename a site or change its time zone.", discussion: "Example:\n  sosched site update almaty --name \"Almaty village\"")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Site id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "New IANA time zone.") var timeZone: String?

        func validate() throws {
            if name == nil, timeZone == nil { throw ValidationError("give --name or --time-zone") }
        }

        func run() async throws {
            var mask: [String] = []
            if name != nil { mask.append("name") }
            if timeZone != nil { mask.append("time_zone") }
            let site = try await global.nursery(
                RPC.NurseryService.updateSite, UpdateSiteRequest(site: SiteMessage(id: id, name: name ?? "", timeZone: timeZone ?? ""), updateMask: mask),
                change: true)
            try SiteCommands.show(site, global)
        }
    }
}

// MARK: Nurseries

struct NurseryCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nursery", abstract: "Create, list, show and update nurseries: opening days, closures, session times.",
        subcommands: [Create.self, List.self, Show.self, Update.self])

    static func show(_ nursery: NurseryMessage, _ global: GlobalOptions) throws {
        if global.json { return try printJSONObject(json(nursery)) }
        say("nursery \(nursery.id): \(nursery.name) (site \(nursery.siteID))")
        say("  open \(weekdayText(nursery.openWeekdays)), morning \(nursery.morning), afternoon \(nursery.afternoon)")
        say("  closures: \(nursery.closures.isEmpty ? "none" : nursery.closures.joined(separator: ", "))")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a nursery at a site.",
            discussion: "Example:\n  sosched nursery create --id almaty-1 --site almaty --name \"Almaty nursery\" --closures 2026-12-31,2027-01-01")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Identifier (letters, digits, - and _).") var id: String
        @Option(help: "Site id.") var site: String
        @Option(help: "Name for people.") var name: String
        @Option(help: "Opening days, e.g. mon-fri or mon-sat.") var open = "mon-fri"
        @Option(help: "Closure dates, comma-separated.") var closures = ""
        @Option(help: "Morning session, HH:MM-HH:MM.") var morning = "08:00-13:00"
        @Option(help: "Afternoon session, HH:MM-HH:MM.") var afternoon = "13:00-18:00"

        func run() async throws {
            let days = try closures.split(separator: ",").map { try dateArgument(String($0), "--closures") }
            let nursery = try await global.nursery(
                RPC.NurseryService.createNursery,
                CreateNurseryRequest(
                    nursery: NurseryMessage(
                        id: id, siteID: site, name: name, openWeekdays: try weekdayList(open), closures: days, morning: morning, afternoon: afternoon)),
                change: true)
            try NurseryCommands.show(nursery, global)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List nurseries.", discussion: "Example:\n  sosched nursery list --site almaty")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this site's.") var site = ""

        func run() async throws {
            let nurseries = try await global.all { token in
                let page = try await global.nursery(
                    RPC.NurseryService.listNurseries, ListNurseriesRequest(siteID: site, pageSize: 500, pageToken: token))
                return (page.nurseries, page.nextPageToken)
            }
            if global.json { return try printJSONObject(nurseries.map(json)) }
            printTable(
                ["ID", "SITE", "NAME", "OPEN", "CLOSURES"], nurseries.map { [$0.id, $0.siteID, $0.name, weekdayText($0.openWeekdays), "\($0.closures.count)"] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a nursery.", discussion: "Example:\n  sosched nursery show almaty-1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Nursery id.") var id: String

        func run() async throws {
            try NurseryCommands.show(try await global.nursery(RPC.NurseryService.getNursery, GetNurseryRequest(id: id)), global)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a nursery's name, opening days, closures or session times.",
            discussion: "Example:\n  sosched nursery update almaty-1 --add-closure 2027-03-08 --add-closure 2027-03-21")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Nursery id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "Opening days, e.g. mon-fri.") var open: String?
        @Option(help: "Add a closure date (repeatable).") var addClosure: [String] = []
        @Option(help: "Remove a closure date (repeatable).") var removeClosure: [String] = []
        @Option(help: "Morning session, HH:MM-HH:MM.") var morning: String?
        @Option(help: "Afternoon session, HH:MM-HH:MM.") var afternoon: String?

        func run() async throws {
            var message = NurseryMessage(id: id, name: name ?? "", morning: morning ?? "", afternoon: afternoon ?? "")
            var mask: [String] = []
            if name != nil { mask.append("name") }
            if let open {
                message.openWeekdays = try weekdayList(open)
                mask.append("open_weekdays")
            }
            if morning != nil { mask.append("morning") }
            if afternoon != nil { mask.append("afternoon") }
            if !addClosure.isEmpty || !removeClosure.isEmpty {
                let current = try await global.nursery(RPC.NurseryService.getNursery, GetNurseryRequest(id: id))
                var closures = Set(current.closures)
                for day in addClosure { closures.insert(try dateArgument(day, "--add-closure")) }
                for day in removeClosure { closures.remove(try dateArgument(day, "--remove-closure")) }
                message.closures = closures.sorted()
                mask.append("closures")
            }
            guard !mask.isEmpty else {
                throw ValidationError("nothing to change: give --name, --open, --add-closure, --remove-closure, --morning or --afternoon")
            }
            let nursery = try await global.nursery(
                RPC.NurseryService.updateNursery, UpdateNurseryRequest(nursery: message, updateMask: mask), change: true)
            try NurseryCommands.show(nursery, global)
        }
    }
}

// MARK: Groups

struct GroupCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "Create, list, show and update age groups and their capacity.",
        subcommands: [Create.self, List.self, Show.self, Update.self])

    static func describe(_ group: GroupMessage) -> String {
        var reserves: [String] = []
        if group.reservedSOS > 0 { reserves.append("\(group.reservedSOS) reserved for SOS families") }
        if group.reservedLocal > 0 { reserves.append("\(group.reservedLocal) reserved for local families") }
        return "group \(group.id) (\(group.name)) in \(group.nurseryID): ages \(group.minAgeMonths)-\(group.maxAgeMonths) months, "
            + "\(group.capacity) places a session" + (reserves.isEmpty ? "" : ", " + reserves.joined(separator: ", "))
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an age group in a nursery.",
            discussion: "Example:\n  sosched group create --id almaty-toddlers --nursery almaty-1 --name Toddlers --ages 12-36 --capacity 12 --reserved-sos 4")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Identifier.") var id: String
        @Option(help: "Nursery id.") var nursery: String
        @Option(help: "Name for people.") var name: String
        @Option(help: "Age band in months, MIN-MAX (MIN included, MAX not).") var ages: String
        @Option(help: "Children per session.") var capacity: UInt32
        @Option(help: "Places only SOS-family children may take.") var reservedSos: UInt32 = 0
        @Option(help: "Places only local-family children may take.") var reservedLocal: UInt32 = 0

        func run() async throws {
            let (low, high) = try agesArgument(ages)
            let group = try await global.nursery(
                RPC.NurseryService.createGroup,
                CreateGroupRequest(
                    group: GroupMessage(
                        id: id, nurseryID: nursery, name: name, minAgeMonths: low, maxAgeMonths: high, capacity: capacity,
                        reservedSOS: reservedSos, reservedLocal: reservedLocal)), change: true)
            if global.json { try printJSONObject(json(group)) } else { say(GroupCommands.describe(group)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a nursery's groups.", discussion: "Example:\n  sosched group list --nursery almaty-1")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Nursery id.") var nursery: String

        func run() async throws {
            let groups = try await global.all { token in
                let page = try await global.nursery(
                    RPC.NurseryService.listGroups, ListGroupsRequest(nurseryID: nursery, pageSize: 500, pageToken: token))
                return (page.groups, page.nextPageToken)
            }
            if global.json { return try printJSONObject(groups.map(json)) }
            printTable(
                ["ID", "NAME", "AGES (MONTHS)", "CAPACITY", "RESERVED SOS", "RESERVED LOCAL"],
                groups.map {
                    [$0.id, $0.name, "\($0.minAgeMonths)-\($0.maxAgeMonths)", "\($0.capacity)", "\($0.reservedSOS)", "\($0.reservedLocal)"]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a group.", discussion: "Example:\n  sosched group show almaty-toddlers")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Group id.") var id: String

        func run() async throws {
            let group = try await global.nursery(RPC.NurseryService.getGroup, GetGroupRequest(id: id))
            if global.json { try printJSONObject(json(group)) } else { say(GroupCommands.describe(group)) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a group's name, ages, capacity or reserves (refused if it would overfill booked sessions).",
            discussion: "Example:\n  sosched group update almaty-toddlers --capacity 14 --reserved-sos 5")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Group id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "Age band in months, MIN-MAX.") var ages: String?
        @Option(help: "Children per session.") var capacity: UInt32?
        @Option(help: "Places reserved for SOS families.") var reservedSos: UInt32?
        @Option(help: "Places reserved for local families.") var reservedLocal: UInt32?

        func run() async throws {
            var message = GroupMessage(id: id, name: name ?? "")
            var mask: [String] = []
            if name != nil { mask.append("name") }
            if let ages {
                (message.minAgeMonths, message.maxAgeMonths) = try agesArgument(ages)
                mask += ["min_age_months", "max_age_months"]
            }
            if let capacity {
                message.capacity = capacity
                mask.append("capacity")
            }
            if let reservedSos {
                message.reservedSOS = reservedSos
                mask.append("reserved_sos")
            }
            if let reservedLocal {
                message.reservedLocal = reservedLocal
                mask.append("reserved_local")
            }
            guard !mask.isEmpty else { throw ValidationError("nothing to change") }
            let group = try await global.nursery(RPC.NurseryService.updateGroup, UpdateGroupRequest(group: message, updateMask: mask), change: true)
            if global.json { try printJSONObject(json(group)) } else { say(GroupCommands.describe(group)) }
        }
    }
}
