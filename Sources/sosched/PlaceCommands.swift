import ArgumentParser
import Foundation
import SchedulerClient
import SchedulerCore
import SchedulerWire

// MARK: Families

struct FamilyCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "family", abstract: "Register, list, show and update families (SOS or local).",
        subcommands: [Register.self, List.self, Show.self, Update.self])

    static func describe(_ family: FamilyMessage) -> String {
        var facts: [String] = []
        if family.singleParent { facts.append("single parent") }
        if family.parentsWorking { facts.append("parents working or in training") }
        return "family \(family.id): \(kindText(family.kind)) family at \(family.siteID)"
            + (facts.isEmpty ? "" : " (" + facts.joined(separator: ", ") + ")")
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a family; prints its new id.",
            discussion: "Example:\n  sosched family register --site almaty --kind local --parents-working --contact-ref crm:4711")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String
        @Option(help: "sos or local.") var kind: String
        @Flag(help: "A single-parent household.") var singleParent = false
        @Flag(help: "Parents working or in training.") var parentsWorking = false
        @Option(help: "Reference to contact details kept elsewhere.") var contactRef = ""

        func run() async throws {
            let family = try await global.nursery(
                RPC.NurseryService.registerFamily,
                RegisterFamilyRequest(
                    family: FamilyMessage(
                        siteID: site, kind: try kindArgument(kind), singleParent: singleParent, parentsWorking: parentsWorking, contactRef: contactRef)),
                change: true)
            if global.json { try printJSONObject(json(family)) } else { say("registered " + FamilyCommands.describe(family)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a site's families.", discussion: "Example:\n  sosched family list --site almaty")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Site id.") var site: String

        func run() async throws {
            let families = try await global.all { token in
                let page = try await global.nursery(
                    RPC.NurseryService.listFamilies, ListFamiliesRequest(siteID: site, pageSize: 500, pageToken: token))
                return (page.families, page.nextPageToken)
            }
            if global.json { return try printJSONObject(families.map(json)) }
            printTable(
                ["ID", "KIND", "SINGLE PARENT", "PARENTS WORKING", "CONTACT"],
                families.map {
                    [$0.id, kindText($0.kind), $0.singleParent ? "yes" : "no", $0.parentsWorking ? "yes" : "no", $0.contactRef.isEmpty ? "-" : $0.contactRef]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a family.", discussion: "Example:\n  sosched family show fam_4m2k9x7q1d3e")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Family id.") var id: String

        func run() async throws {
            let family = try await global.nursery(RPC.NurseryService.getFamily, GetFamilyRequest(id: id))
            if global.json { try printJSONObject(json(family)) } else { say(FamilyCommands.describe(family)) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a family's kind or household facts.",
            discussion: "Example:\n  sosched family update fam_4m2k9x7q1d3e --single-parent true")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Family id.") var id: String
        @Option(help: "sos or local.") var kind: String?
        @Option(help: "true or false.") var singleParent: Bool?
        @Option(help: "true or false.") var parentsWorking: Bool?
        @Option(help: "Reference to contact details.") var contactRef: String?

        func run() async throws {
            var message = FamilyMessage(id: id, contactRef: contactRef ?? "")
            var mask: [String] = []
            if let kind {
                message.kind = try kindArgument(kind)
                mask.append("kind")
            }
            if let singleParent {
                message.singleParent = singleParent
                mask.append("single_parent")
            }
            if let parentsWorking {
                message.parentsWorking = parentsWorking
                mask.append("parents_working")
            }
            if contactRef != nil { mask.append("contact_ref") }
            guard !mask.isEmpty else { throw ValidationError("nothing to change") }
            let family = try await global.nursery(RPC.NurseryService.updateFamily, UpdateFamilyRequest(family: message, updateMask: mask), change: true)
            if global.json { try printJSONObject(json(family)) } else { say(FamilyCommands.describe(family)) }
        }
    }
}

// MARK: Children

struct ChildCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "child", abstract: "Register, list, show and update children.",
        subcommands: [Register.self, List.self, Show.self, Update.self])

    static func describe(_ child: ChildMessage) -> String {
        "child \(child.id): \(child.givenName), born \(child.birthDate), family \(child.familyID)" + (child.specialNeeds ? ", special needs" : "")
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a child of a family; prints its new id.",
            discussion: "Example:\n  sosched child register --family fam_4m2k9x7q1d3e --name Aigerim --born 2024-03-15")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Family id.") var family: String
        @Option(help: "Given name.") var name: String
        @Option(help: "Birth date, YYYY-MM-DD.") var born: String
        @Flag(help: "The child has special needs.") var specialNeeds = false

        func run() async throws {
            let child = try await global.nursery(
                RPC.NurseryService.registerChild,
                RegisterChildRequest(
                    child: ChildMessage(familyID: family, givenName: name, birthDate: try dateArgument(born, "--born"), specialNeeds: specialNeeds)),
                change: true)
            if global.json { try printJSONObject(json(child)) } else { say("registered " + ChildCommands.describe(child)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a family's or a site's children.", discussion: "Example:\n  sosched child list --site almaty")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Family id.") var family = ""
        @Option(help: "Site id.") var site = ""

        func validate() throws {
            if family.isEmpty, site.isEmpty { throw ValidationError("give --family or --site") }
        }

        func run() async throws {
            let children = try await global.all { token in
                let page = try await global.nursery(
                    RPC.NurseryService.listChildren, ListChildrenRequest(familyID: family, siteID: site, pageSize: 500, pageToken: token))
                return (page.children, page.nextPageToken)
            }
            if global.json { return try printJSONObject(children.map(json)) }
            printTable(
                ["ID", "NAME", "BORN", "FAMILY", "SPECIAL NEEDS"],
                children.map {
                    [$0.id, $0.givenName, $0.birthDate, $0.familyID, $0.specialNeeds ? "yes" : "no"]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a child (the read is audited).", discussion: "Example:\n  sosched child show chd_4m2k9x7q1d3e")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Child id.") var id: String

        func run() async throws {
            let child = try await global.nursery(RPC.NurseryService.getChild, GetChildRequest(id: id))
            if global.json { try printJSONObject(json(child)) } else { say(ChildCommands.describe(child)) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a child's name, birth date or special-needs flag.",
            discussion: "Example:\n  sosched child update chd_4m2k9x7q1d3e --special-needs true")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Child id.") var id: String
        @Option(help: "Given name.") var name: String?
        @Option(help: "Birth date, YYYY-MM-DD.") var born: String?
        @Option(help: "true or false.") var specialNeeds: Bool?

        func run() async throws {
            var message = ChildMessage(id: id, givenName: name ?? "")
            var mask: [String] = []
            if name != nil { mask.append("given_name") }
            if let born {
                message.birthDate = try dateArgument(born, "--born")
                mask.append("birth_date")
            }
            if let specialNeeds {
                message.specialNeeds = specialNeeds
                mask.append("special_needs")
            }
            guard !mask.isEmpty else { throw ValidationError("nothing to change") }
            let child = try await global.nursery(RPC.NurseryService.updateChild, UpdateChildRequest(child: message, updateMask: mask), change: true)
            if global.json { try printJSONObject(json(child)) } else { say(ChildCommands.describe(child)) }
        }
    }
}

// MARK: Placements

struct PlaceCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "place", abstract: "Book, end, cancel and list nursery placements.",
        subcommands: [Book.self, End.self, Cancel.self, List.self])

    static func describe(_ placement: PlacementMessage) -> String {
        let until = placement.lastDay.isEmpty ? "with no last day" : "to \(placement.lastDay)"
        let state = placement.state == .cancelled ? " (cancelled)" : ""
        return
            "placement \(placement.id): child \(placement.childID) in \(placement.groupID), \(placement.pattern), from \(placement.firstDay) \(until)\(state)"
    }

    struct Book: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Book a place if it fits every session; otherwise show the full sessions and what would fit instead.",
            discussion: """
                Patterns: DAYS:SESSIONS clauses joined by ';'. DAYS is a day (mon), a range (mon-fri) or a list
                (mon,wed,fri); SESSIONS is am, pm or full.
                  mon-fri:full        every weekday, morning and afternoon
                  mon,wed:am          Monday and Wednesday mornings
                  tue-thu:pm          Tuesday to Thursday afternoons
                  mon-thu:full;fri:am full days, and Friday morning
                The first day is today or later (in the site's zone); an earlier one corrects the records and
                needs --correction.

                Example:
                  sosched place book --child chd_4m2k9x7q1d3e --group almaty-toddlers --from 2027-09-01 --pattern mon-fri:full
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Child id.") var child: String
        @Option(help: "Group id.") var group: String
        @Option(help: "First day, YYYY-MM-DD.") var from: String
        @Option(help: "Last day, YYYY-MM-DD (none: until ended).") var until: String?
        @Option(help: "Weekly pattern, e.g. mon-fri:full.") var pattern: String
        @Flag(help: "Book from a day before today on purpose, to correct the records (audited as a correction).") var correction = false

        func validate() throws {
            do { _ = try WeeklyPattern(parsing: pattern) } catch {
                throw ValidationError("--pattern: \(error.message); e.g. mon-fri:full, mon,wed:am, tue-thu:pm")
            }
        }

        func run() async throws {
            let request = BookPlaceRequest(
                childID: child, groupID: group, firstDay: try dateArgument(from, "--from"),
                lastDay: try until.map { try dateArgument($0, "--until") } ?? "", pattern: pattern, correction: correction)
            let placement = try await global.nursery(RPC.NurseryService.bookPlace, request, change: true) { error in
                guard let detail = error.status.details.lazy.compactMap({ try? $0.decode(as: BookingConflictMessage.self) }).first else { return nil }
                return PlaceCommands.explain(detail, child: child, until: until)
            }
            if global.json { try printJSONObject(json(placement)) } else { say("booked " + PlaceCommands.describe(placement)) }
        }
    }

    /// A refused booking, in plain words, with the commands that would book each alternative.
    static func explain(_ detail: BookingConflictMessage, child: String, until: String?) -> String {
        var lines = ["These sessions have no place for this child (the first of each weekly session):"]
        for conflict in detail.conflicts {
            let session = conflict.session == .morning ? "morning" : "afternoon"
            let why =
                conflict.reason == .full
                ? "all \(conflict.capacity) places taken"
                : "\(conflict.taken) of \(conflict.capacity) taken, the rest reserved for the other kind of family"
            lines.append("  \(conflict.date) \(session): \(why)")
        }
        if detail.conflictingSessions > 0 || !detail.endlessFrom.isEmpty {
            var total = "  \(detail.conflictingSessions) \(detail.conflictingSessions == 1 ? "session" : "sessions") in all have no place"
            if !detail.endlessFrom.isEmpty {
                total += detail.conflictingSessions > 0 ? " before \(detail.endlessFrom)," : ""
                total += " and from \(detail.endlessFrom) on none in some weekly session (placements with no last day hold them)"
                if detail.conflictingSessions == 0 {
                    total = "  From \(detail.endlessFrom) on some weekly session has no place at all (placements with no last day hold them)"
                }
            }
            lines.append(total)
        }
        if detail.alternatives.isEmpty {
            lines.append("Nothing similar fits at this nursery; try another start date or pattern.")
        } else {
            lines.append("These would fit:")
            for alternative in detail.alternatives {
                let what: String
                switch alternative.kind {
                case .laterStart: what = "the same pattern in \(alternative.groupID), starting \(alternative.firstDay)"
                case .otherGroup: what = "group \(alternative.groupID) from \(alternative.firstDay), \(alternative.pattern)"
                case .otherPattern: what = "only \(alternative.pattern) in \(alternative.groupID) from \(alternative.firstDay)"
                case .unspecified: what = "group \(alternative.groupID) from \(alternative.firstDay), \(alternative.pattern)"
                }
                let last = alternative.lastDay.isEmpty ? "" : " --until \(alternative.lastDay)"
                lines.append("  - \(what)")
                lines.append(
                    "      sosched place book --child \(child) --group \(alternative.groupID) --from \(alternative.firstDay)\(last) --pattern '\(alternative.pattern)'"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a placement early: its places are free from the given day on.",
            discussion: """
                The day may be today or later; ending from an earlier day rewrites attendance and needs --correction.

                Example:
                  sosched place end plc_4m2k9x7q1d3e --from 2027-01-01
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Placement id.") var id: String
        @Option(help: "First day the place is free, YYYY-MM-DD.") var from: String
        @Flag(help: "End from a day before today on purpose, to correct the records (audited as a correction).") var correction = false

        func run() async throws {
            let placement = try await global.nursery(
                RPC.NurseryService.endPlacement, EndPlacementRequest(id: id, fromDay: try dateArgument(from, "--from"), correction: correction), change: true)
            if global.json { try printJSONObject(json(placement)) } else { say("ended " + PlaceCommands.describe(placement)) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a placement that has not started yet.",
            discussion: """
                A placement that has started is ended instead (place end); one booked by mistake can be cancelled
                with --correction, which the audit log marks.

                Example:
                  sosched place cancel plc_4m2k9x7q1d3e
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Placement id.") var id: String
        @Flag(help: "Cancel a placement that has started, as if never booked, to correct the records (audited as a correction).")
        var correction = false

        func run() async throws {
            let placement = try await global.nursery(
                RPC.NurseryService.cancelPlacement, CancelPlacementRequest(id: id, correction: correction), change: true)
            if global.json { try printJSONObject(json(placement)) } else { say("cancelled " + PlaceCommands.describe(placement)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List placements of a nursery, group or child that overlap a date range.",
            discussion: "Example:\n  sosched place list --nursery almaty-1 --from 2026-09-01 --to 2026-12-31")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Nursery id.") var nursery = ""
        @Option(help: "Group id.") var group = ""
        @Option(help: "Child id.") var child = ""
        @Option(help: "From this day.") var from: String?
        @Option(help: "To this day.") var to: String?
        @Flag(help: "Include cancelled placements.") var all = false

        func validate() throws {
            if nursery.isEmpty, group.isEmpty, child.isEmpty { throw ValidationError("give --nursery, --group or --child") }
        }

        func run() async throws {
            let fromDay = try from.map { try dateArgument($0, "--from") } ?? ""
            let toDay = try to.map { try dateArgument($0, "--to") } ?? ""
            let placements = try await global.all { token in
                let page = try await global.nursery(
                    RPC.NurseryService.listPlacements,
                    ListPlacementsRequest(
                        nurseryID: nursery, groupID: group, childID: child, fromDay: fromDay, toDay: toDay, includeCancelled: all, pageSize: 500,
                        pageToken: token))
                return (page.placements, page.nextPageToken)
            }
            if global.json { return try printJSONObject(placements.map(json)) }
            if placements.isEmpty { return say("no placements") }
            printTable(
                ["ID", "CHILD", "GROUP", "KIND", "FROM", "TO", "PATTERN", "STATE"],
                placements.map {
                    [
                        $0.id, $0.childID, $0.groupID, kindText($0.familyKind), $0.firstDay, $0.lastDay.isEmpty ? "-" : $0.lastDay, $0.pattern,
                        $0.state == .cancelled ? "cancelled" : "active",
                    ]
                })
        }
    }
}

// MARK: Occupancy

struct OccupancyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "occupancy",
        abstract: "Show free places per day, group and session: who could still take them, and who holds the rest.",
        discussion: """
            Days run down, groups and sessions across. Each cell reads "F free: S s, L l | taken S t, L u":
            F places are free, of which s could go to a child of an SOS family and l to a child of a local
            family (the rest of F is reserved for the other kind); t places are taken by SOS-family children
            and u by local-family children. Closed days are left out. --json gives the same numbers as
            capacity, sos and local (places taken), free, free_for_sos and free_for_local.

            Example:
              sosched occupancy --nursery almaty-1 --from 2026-09-01 --to 2026-09-05
              sosched occupancy --nursery almaty-1 --from 2026-W36 --to 2026-W37
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Nursery id.") var nursery: String
    @Option(help: "First day (YYYY-MM-DD or an ISO week).") var from: String
    @Option(help: "Last day (YYYY-MM-DD, or an ISO week: its Sunday).") var to: String

    func run() async throws {
        let first = try dateArgument(from, "--from")
        var last = try dateArgument(to, "--to")
        if CivilDate(isoWeek: to) != nil, let monday = CivilDate(parsing: last) { last = monday.adding(days: 6).description }
        let response = try await global.nursery(
            RPC.NurseryService.getOccupancy, GetOccupancyRequest(nurseryID: nursery, fromDay: first, toDay: last))
        if global.json {
            return try printJSONObject([
                "nursery": nursery, "from": first, "to": last,
                "days": response.days.map { day in
                    [
                        "date": day.date,
                        "sessions": day.sessions.map { entry in
                            [
                                "group": entry.groupID, "session": entry.session == .morning ? "am" : "pm", "capacity": entry.capacity,
                                "sos": entry.sos, "local": entry.local, "free": entry.free,
                                "free_for_sos": entry.freeForSOS, "free_for_local": entry.freeForLocal,
                            ] as [String: Any]
                        },
                    ] as [String: Any]
                },
            ])
        }
        guard let firstDay = response.days.first else { return say("\(nursery) is closed every day from \(first) to \(last)") }
        let columns = firstDay.sessions.map { "\($0.groupID) \($0.session == .morning ? "am" : "pm")" }
        say("Occupancy of \(nursery), \(first) to \(last)")
        say("Each cell: free places, of which S could go to an SOS child and L to a local child | places taken by SOS and local families")
        printTable(
            ["DATE", "DAY"] + columns,
            response.days.map { day in
                let weekday = CivilDate(parsing: day.date)?.weekday.shortName.capitalized ?? ""
                return [day.date, weekday] + day.sessions.map(Self.cell)
            })
    }

    /// "3 free: S 3, L 1 | taken S 4, L 5"
    static func cell(_ entry: SessionOccupancyMessage) -> String {
        "\(entry.free) free: S \(entry.freeForSOS), L \(entry.freeForLocal) | taken S \(entry.sos), L \(entry.local)"
    }
}
