import Foundation
import SchedulerCore
import SchedulerStore
import SchedulerWire

/// `sos.scheduler.v1.CounsellingService`: homes, young people and counsellors (this file), and
/// planning, schedules and calendars (`CounsellingPlanning.swift`).
struct CounsellingService {
    let store: any Store

    func register(in registry: inout HandlerRegistry) {
        registerHomes(in: &registry)
        registerYoungPeople(in: &registry)
        registerCounsellors(in: &registry)
        registerImport(in: &registry)
        CounsellingPlanning(store: store).register(in: &registry)
    }

    // MARK: Homes

    private func registerHomes(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.mutating(RPC.CounsellingService.createHome) { (request: CreateHomeRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.home else { throw SchedulerError(.invalidArgument, "home is required", field: "home") }
            let home = try message.core()
            try access.checkSite(principal, home.siteID)
            return NurseryService.reply(try await store.createHome(home, context: context.mutation()) { try WireCodec.encode(HomeMessage($0)) })
        }

        registry.async(RPC.CounsellingService.getHome) { (request: GetHomeRequest, context) in
            let principal = try context.requirePrincipal()
            let home = try await access.home(request.id, field: "id")
            try access.checkSite(principal, home.siteID)
            return HomeMessage(home)
        }

        registry.async(RPC.CounsellingService.listHomes) { (request: ListHomesRequest, context) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            try access.checkSite(principal, site)
            let page = try await store.listHomes(
                siteID: site, after: NurseryService.cursor(request.pageToken), limit: try NurseryService.pageSize(request.pageSize))
            return ListHomesResponse(homes: page.items.map(HomeMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.CounsellingService.updateHome) { (request: UpdateHomeRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.home else { throw SchedulerError(.invalidArgument, "home is required", field: "home") }
            let mask = try Field.mask(request.updateMask, allowed: ["name"])
            let existing = try await access.home(message.id, field: "home.id")
            try access.checkSite(principal, existing.siteID)
            let name = mask.contains("name") ? try Field.name(message.name, "home.name") : existing.name
            return NurseryService.reply(
                try await store.updateHome(id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(HomeMessage($0)) }) { home in
                    home.name = name
                })
        }
    }

    // MARK: Young people

    private func registerYoungPeople(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.mutating(RPC.CounsellingService.createYoungPerson) { (request: CreateYoungPersonRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.youngPerson else { throw SchedulerError(.invalidArgument, "young_person is required", field: "young_person") }
            let person = try message.core()
            let home = try await access.home(person.homeID, field: "young_person.home_id")
            try access.checkSite(principal, home.siteID)
            let site = home.siteID
            return NurseryService.reply(
                try await store.createYoungPerson(person, context: context.mutation()) { try WireCodec.encode(YoungPersonMessage($0, siteID: site)) })
        }

        registry.async(RPC.CounsellingService.getYoungPerson) { (request: GetYoungPersonRequest, context) in
            let principal = try context.requirePrincipal()
            let (person, site) = try await access.youngPerson(request.id, field: "id")
            try access.checkSite(principal, site)
            try await store.recordRead(actor: principal.tokenID, method: context.method, records: ["young_person:\(person.id)"], at: context.now())
            return YoungPersonMessage(person, siteID: site)
        }

        registry.async(RPC.CounsellingService.listYoungPeople) { (request: ListYoungPeopleRequest, context) in
            let principal = try context.requirePrincipal()
            var site: String? = request.siteID.isEmpty ? nil : try Field.id(request.siteID, "site_id")
            var homeID: String?
            if !request.homeID.isEmpty {
                let home = try await access.home(request.homeID, field: "home_id")
                if let site, site != home.siteID {
                    throw SchedulerError(.invalidArgument, "home \(home.id) is not at site \(site)", field: "home_id")
                }
                site = home.siteID
                homeID = home.id
            }
            guard let site else { throw SchedulerError(.invalidArgument, "give site_id or home_id", field: "site_id") }
            try access.checkSite(principal, site)
            let page = try await store.listYoungPeople(
                siteID: site, homeID: homeID, after: NurseryService.cursor(request.pageToken), limit: try NurseryService.pageSize(request.pageSize))
            try await store.recordRead(
                actor: principal.tokenID, method: context.method, records: page.items.map { "young_person:\($0.id)" }, at: context.now())
            return ListYoungPeopleResponse(youngPeople: page.items.map { YoungPersonMessage($0, siteID: site) }, nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.CounsellingService.updateYoungPerson) { (request: UpdateYoungPersonRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.youngPerson else { throw SchedulerError(.invalidArgument, "young_person is required", field: "young_person") }
            let mask = try Field.mask(
                request.updateMask,
                allowed: [
                    "home_id", "name", "birth_date", "availability", "away_dates", "sessions_per_week", "minutes_per_session", "preferred_counsellor_id",
                    "required_qualifications",
                ])
            let (existing, site) = try await access.youngPerson(message.id, field: "young_person.id")
            try access.checkSite(principal, site)
            // The changed record is checked whole, as a create would be.
            var merged = YoungPersonMessage(existing, siteID: site)
            if mask.contains("home_id") { merged.homeID = message.homeID }
            if mask.contains("name") { merged.name = message.name }
            if mask.contains("birth_date") { merged.birthDate = message.birthDate }
            if mask.contains("availability") { merged.availability = message.availability }
            if mask.contains("away_dates") { merged.awayDates = message.awayDates }
            if mask.contains("sessions_per_week") { merged.sessionsPerWeek = message.sessionsPerWeek }
            if mask.contains("minutes_per_session") { merged.minutesPerSession = message.minutesPerSession }
            if mask.contains("preferred_counsellor_id") { merged.preferredCounsellorID = message.preferredCounsellorID }
            if mask.contains("required_qualifications") { merged.requiredQualifications = message.requiredQualifications }
            let updated = try merged.core()
            return NurseryService.reply(
                try await store.updateYoungPerson(
                    id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(YoungPersonMessage($0, siteID: site)) }
                ) { person in
                    person = updated
                })
        }
    }

    // MARK: Counsellors

    private func registerCounsellors(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.mutating(RPC.CounsellingService.createCounsellor) { (request: CreateCounsellorRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.counsellor else { throw SchedulerError(.invalidArgument, "counsellor is required", field: "counsellor") }
            let counsellor = try message.core()
            try access.checkSite(principal, counsellor.siteID)
            return NurseryService.reply(
                try await store.createCounsellor(counsellor, context: context.mutation()) { try WireCodec.encode(CounsellorMessage($0)) })
        }

        registry.async(RPC.CounsellingService.getCounsellor) { (request: GetCounsellorRequest, context) in
            let principal = try context.requirePrincipal()
            let counsellor = try await access.counsellor(request.id, field: "id")
            try access.checkCounsellor(principal, counsellor)
            return CounsellorMessage(counsellor)
        }

        registry.async(RPC.CounsellingService.listCounsellors) { (request: ListCounsellorsRequest, context) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            try access.checkSite(principal, site)
            let page = try await store.listCounsellors(
                siteID: site, after: NurseryService.cursor(request.pageToken), limit: try NurseryService.pageSize(request.pageSize))
            return ListCounsellorsResponse(counsellors: page.items.map(CounsellorMessage.init), nextPageToken: page.next ?? "")
        }

        registry.mutating(RPC.CounsellingService.updateCounsellor) { (request: UpdateCounsellorRequest, context) in
            let principal = try context.requirePrincipal()
            guard let message = request.counsellor else { throw SchedulerError(.invalidArgument, "counsellor is required", field: "counsellor") }
            let mask = try Field.mask(
                request.updateMask, allowed: ["name", "availability", "away_dates", "qualifications", "max_sessions_per_week", "max_minutes_per_day"])
            let existing = try await access.counsellor(message.id, field: "counsellor.id")
            try access.checkSite(principal, existing.siteID)
            var merged = CounsellorMessage(existing)
            if mask.contains("name") { merged.name = message.name }
            if mask.contains("availability") { merged.availability = message.availability }
            if mask.contains("away_dates") { merged.awayDates = message.awayDates }
            if mask.contains("qualifications") { merged.qualifications = message.qualifications }
            if mask.contains("max_sessions_per_week") { merged.maxSessionsPerWeek = message.maxSessionsPerWeek }
            if mask.contains("max_minutes_per_day") { merged.maxMinutesPerDay = message.maxMinutesPerDay }
            let updated = try merged.core()
            return NurseryService.reply(
                try await store.updateCounsellor(id: existing.id, context: context.mutation(), reply: { try WireCodec.encode(CounsellorMessage($0)) }) {
                    counsellor in
                    counsellor = updated
                })
        }
    }

    // MARK: Import

    /// Most records one import may carry.
    static let maxImportRecords = 20_000

    private func registerImport(in registry: inout HandlerRegistry) {
        let store = self.store
        let access = CounsellingAccess(store: store)

        registry.mutating(RPC.CounsellingService.importCounselling) { (request: ImportCounsellingRequest, context) in
            let principal = try context.requirePrincipal()
            let site = try Field.id(request.siteID, "site_id")
            try access.checkSite(principal, site)
            let total = request.homes.count + request.youngPeople.count + request.counsellors.count
            guard total > 0 else { throw SchedulerError(.invalidArgument, "the import holds no record", field: "homes") }
            guard total <= Self.maxImportRecords else {
                let largest = [("homes", request.homes.count), ("young_people", request.youngPeople.count), ("counsellors", request.counsellors.count)]
                    .max { $0.1 < $1.1 }?.0
                throw SchedulerError(.invalidArgument, "at most \(Self.maxImportRecords) records an import, not \(total)", field: largest)
            }
            var homes: [Home] = []
            var people: [YoungPerson] = []
            var counsellors: [Counsellor] = []
            var seen: [String: Set<String>] = [:]
            func requireID(_ id: String, _ kind: String, _ field: String) throws(SchedulerError) {
                guard !id.isEmpty else { throw SchedulerError(.invalidArgument, "an imported record needs its id", field: field) }
                guard seen[kind, default: []].insert(id).inserted else {
                    throw SchedulerError(.invalidArgument, "id \(id) appears twice in the import", field: field)
                }
            }
            for (index, message) in request.homes.enumerated() {
                var message = message
                let prefix = "homes[\(index)]"
                if message.siteID.isEmpty { message.siteID = site }
                guard message.siteID == site else { throw SchedulerError(.invalidArgument, "the import is for site \(site)", field: "\(prefix).site_id") }
                let home = try message.core(prefix)
                try requireID(home.id, "home", "\(prefix).id")
                homes.append(home)
            }
            for (index, message) in request.youngPeople.enumerated() {
                let prefix = "young_people[\(index)]"
                guard message.siteID.isEmpty || message.siteID == site else {
                    throw SchedulerError(.invalidArgument, "the import is for site \(site)", field: "\(prefix).site_id")
                }
                let person = try message.core(prefix)
                try requireID(person.id, "young_person", "\(prefix).id")
                people.append(person)
            }
            for (index, message) in request.counsellors.enumerated() {
                var message = message
                let prefix = "counsellors[\(index)]"
                if message.siteID.isEmpty { message.siteID = site }
                guard message.siteID == site else { throw SchedulerError(.invalidArgument, "the import is for site \(site)", field: "\(prefix).site_id") }
                let counsellor = try message.core(prefix)
                try requireID(counsellor.id, "counsellor", "\(prefix).id")
                counsellors.append(counsellor)
            }
            return NurseryService.reply(
                try await store.importCounselling(siteID: site, homes: homes, youngPeople: people, counsellors: counsellors, context: context.mutation()) {
                    counts in
                    try WireCodec.encode(
                        ImportCounsellingResponse(
                            homesCreated: UInt32(counts.homesCreated), homesReplaced: UInt32(counts.homesReplaced),
                            youngPeopleCreated: UInt32(counts.youngPeopleCreated), youngPeopleReplaced: UInt32(counts.youngPeopleReplaced),
                            counsellorsCreated: UInt32(counts.counsellorsCreated), counsellorsReplaced: UInt32(counts.counsellorsReplaced)))
                })
        }
    }
}
