// Swift values for proto/sos/scheduler/v1/nursery.proto.
// Written with the help of a throwaway generator; edit by hand from now on.

/// `sos.scheduler.v1.Weekday`.
public enum ProtoWeekday: Int32, ProtoEnum, CaseIterable, Hashable {
    case unspecified = 0
    case monday = 1
    case tuesday = 2
    case wednesday = 3
    case thursday = 4
    case friday = 5
    case saturday = 6
    case sunday = 7
    public init?(protoValue: Int32) { self.init(rawValue: protoValue) }
    public var protoValue: Int32 { rawValue }
}

/// `sos.scheduler.v1.Session`.
public enum ProtoSession: Int32, ProtoEnum, CaseIterable, Hashable {
    case unspecified = 0
    case morning = 1
    case afternoon = 2
    public init?(protoValue: Int32) { self.init(rawValue: protoValue) }
    public var protoValue: Int32 { rawValue }
}

/// `sos.scheduler.v1.FamilyKind`.
public enum ProtoFamilyKind: Int32, ProtoEnum, CaseIterable, Hashable {
    case unspecified = 0
    case sos = 1
    case local = 2
    public init?(protoValue: Int32) { self.init(rawValue: protoValue) }
    public var protoValue: Int32 { rawValue }
}

/// `sos.scheduler.v1.PlacementState`.
public enum ProtoPlacementState: Int32, ProtoEnum, CaseIterable, Hashable {
    case unspecified = 0
    case active = 1
    case cancelled = 2
    public init?(protoValue: Int32) { self.init(rawValue: protoValue) }
    public var protoValue: Int32 { rawValue }
}

/// `sos.scheduler.v1.SessionConflict.Reason`.
public enum ProtoConflictReason: Int32, ProtoEnum, CaseIterable, Hashable {
    case unspecified = 0
    case full = 1
    case reservedForOthers = 2
    public init?(protoValue: Int32) { self.init(rawValue: protoValue) }
    public var protoValue: Int32 { rawValue }
}

/// `sos.scheduler.v1.BookingAlternative.Kind`.
public enum ProtoAlternativeKind: Int32, ProtoEnum, CaseIterable, Hashable {
    case unspecified = 0
    case laterStart = 1
    case otherGroup = 2
    case otherPattern = 3
    public init?(protoValue: Int32) { self.init(rawValue: protoValue) }
    public var protoValue: Int32 { rawValue }
}

/// `sos.scheduler.v1.Site`.
public struct SiteMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Site"
    public var id: String
    public var name: String
    public var timeZone: String

    public init(id: String = "", name: String = "", timeZone: String = "") {
        self.id = id
        self.name = name
        self.timeZone = timeZone
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        name = try reader.string("name")
        timeZone = try reader.string("time_zone")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("name", string: name)
        writer.set("time_zone", string: timeZone)
    }
}

/// `sos.scheduler.v1.Nursery`.
public struct NurseryMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Nursery"
    public var id: String
    public var siteID: String
    public var name: String
    public var openWeekdays: [ProtoWeekday]
    public var closures: [String]
    public var morning: String
    public var afternoon: String

    public init(
        id: String = "", siteID: String = "", name: String = "", openWeekdays: [ProtoWeekday] = [], closures: [String] = [], morning: String = "",
        afternoon: String = ""
    ) {
        self.id = id
        self.siteID = siteID
        self.name = name
        self.openWeekdays = openWeekdays
        self.closures = closures
        self.morning = morning
        self.afternoon = afternoon
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        siteID = try reader.string("site_id")
        name = try reader.string("name")
        openWeekdays = try reader.repeatedEnums("open_weekdays")
        closures = try reader.repeatedStrings("closures")
        morning = try reader.string("morning")
        afternoon = try reader.string("afternoon")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("site_id", string: siteID)
        writer.set("name", string: name)
        writer.set("open_weekdays", enums: openWeekdays)
        writer.set("closures", strings: closures)
        writer.set("morning", string: morning)
        writer.set("afternoon", string: afternoon)
    }
}

/// `sos.scheduler.v1.Group`.
public struct GroupMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Group"
    public var id: String
    public var nurseryID: String
    public var name: String
    public var minAgeMonths: UInt32
    public var maxAgeMonths: UInt32
    public var capacity: UInt32
    public var reservedSOS: UInt32
    public var reservedLocal: UInt32

    public init(
        id: String = "", nurseryID: String = "", name: String = "", minAgeMonths: UInt32 = 0, maxAgeMonths: UInt32 = 0, capacity: UInt32 = 0,
        reservedSOS: UInt32 = 0, reservedLocal: UInt32 = 0
    ) {
        self.id = id
        self.nurseryID = nurseryID
        self.name = name
        self.minAgeMonths = minAgeMonths
        self.maxAgeMonths = maxAgeMonths
        self.capacity = capacity
        self.reservedSOS = reservedSOS
        self.reservedLocal = reservedLocal
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        nurseryID = try reader.string("nursery_id")
        name = try reader.string("name")
        minAgeMonths = try reader.uint32("min_age_months")
        maxAgeMonths = try reader.uint32("max_age_months")
        capacity = try reader.uint32("capacity")
        reservedSOS = try reader.uint32("reserved_sos")
        reservedLocal = try reader.uint32("reserved_local")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("nursery_id", string: nurseryID)
        writer.set("name", string: name)
        writer.set("min_age_months", uint32: minAgeMonths)
        writer.set("max_age_months", uint32: maxAgeMonths)
        writer.set("capacity", uint32: capacity)
        writer.set("reserved_sos", uint32: reservedSOS)
        writer.set("reserved_local", uint32: reservedLocal)
    }
}

/// `sos.scheduler.v1.Family`.
public struct FamilyMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Family"
    public var id: String
    public var siteID: String
    public var kind: ProtoFamilyKind
    public var singleParent: Bool
    public var parentsWorking: Bool
    public var contactRef: String

    public init(
        id: String = "", siteID: String = "", kind: ProtoFamilyKind = .unspecified, singleParent: Bool = false, parentsWorking: Bool = false,
        contactRef: String = ""
    ) {
        self.id = id
        self.siteID = siteID
        self.kind = kind
        self.singleParent = singleParent
        self.parentsWorking = parentsWorking
        self.contactRef = contactRef
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        siteID = try reader.string("site_id")
        kind = try reader.enum("kind")
        singleParent = try reader.bool("single_parent")
        parentsWorking = try reader.bool("parents_working")
        contactRef = try reader.string("contact_ref")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("site_id", string: siteID)
        writer.set("kind", enum: kind)
        writer.set("single_parent", bool: singleParent)
        writer.set("parents_working", bool: parentsWorking)
        writer.set("contact_ref", string: contactRef)
    }
}

/// `sos.scheduler.v1.Child`.
public struct ChildMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Child"
    public var id: String
    public var familyID: String
    public var givenName: String
    public var birthDate: String
    public var specialNeeds: Bool

    public init(id: String = "", familyID: String = "", givenName: String = "", birthDate: String = "", specialNeeds: Bool = false) {
        self.id = id
        self.familyID = familyID
        self.givenName = givenName
        self.birthDate = birthDate
        self.specialNeeds = specialNeeds
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        familyID = try reader.string("family_id")
        givenName = try reader.string("given_name")
        birthDate = try reader.string("birth_date")
        specialNeeds = try reader.bool("special_needs")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("family_id", string: familyID)
        writer.set("given_name", string: givenName)
        writer.set("birth_date", string: birthDate)
        writer.set("special_needs", bool: specialNeeds)
    }
}

/// `sos.scheduler.v1.Placement`.
public struct PlacementMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.Placement"
    public var id: String
    public var childID: String
    public var groupID: String
    public var nurseryID: String
    public var familyKind: ProtoFamilyKind
    public var firstDay: String
    public var lastDay: String
    public var pattern: String
    public var state: ProtoPlacementState

    public init(
        id: String = "", childID: String = "", groupID: String = "", nurseryID: String = "", familyKind: ProtoFamilyKind = .unspecified, firstDay: String = "",
        lastDay: String = "", pattern: String = "", state: ProtoPlacementState = .unspecified
    ) {
        self.id = id
        self.childID = childID
        self.groupID = groupID
        self.nurseryID = nurseryID
        self.familyKind = familyKind
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.pattern = pattern
        self.state = state
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        childID = try reader.string("child_id")
        groupID = try reader.string("group_id")
        nurseryID = try reader.string("nursery_id")
        familyKind = try reader.enum("family_kind")
        firstDay = try reader.string("first_day")
        lastDay = try reader.string("last_day")
        pattern = try reader.string("pattern")
        state = try reader.enum("state")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("child_id", string: childID)
        writer.set("group_id", string: groupID)
        writer.set("nursery_id", string: nurseryID)
        writer.set("family_kind", enum: familyKind)
        writer.set("first_day", string: firstDay)
        writer.set("last_day", string: lastDay)
        writer.set("pattern", string: pattern)
        writer.set("state", enum: state)
    }
}

/// `sos.scheduler.v1.CreateSiteRequest`.
public struct CreateSiteRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.CreateSiteRequest"
    public var site: SiteMessage?

    public init(site: SiteMessage? = nil) {
        self.site = site
    }

    public init(reader: ProtoReader) throws(WireError) {
        site = try reader.message("site")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("site", message: site)
    }
}

/// `sos.scheduler.v1.GetSiteRequest`.
public struct GetSiteRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetSiteRequest"
    public var id: String

    public init(id: String = "") {
        self.id = id
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
    }
}

/// `sos.scheduler.v1.ListSitesRequest`.
public struct ListSitesRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListSitesRequest"
    public var pageSize: UInt32
    public var pageToken: String

    public init(pageSize: UInt32 = 0, pageToken: String = "") {
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.ListSitesResponse`.
public struct ListSitesResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListSitesResponse"
    public var sites: [SiteMessage]
    public var nextPageToken: String

    public init(sites: [SiteMessage] = [], nextPageToken: String = "") {
        self.sites = sites
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        sites = try reader.repeatedMessages("sites")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("sites", messages: sites)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.UpdateSiteRequest`.
public struct UpdateSiteRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.UpdateSiteRequest"
    public var site: SiteMessage?
    public var updateMask: [String]

    public init(site: SiteMessage? = nil, updateMask: [String] = []) {
        self.site = site
        self.updateMask = updateMask
    }

    public init(reader: ProtoReader) throws(WireError) {
        site = try reader.message("site")
        updateMask = try reader.repeatedStrings("update_mask")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("site", message: site)
        writer.set("update_mask", strings: updateMask)
    }
}

/// `sos.scheduler.v1.CreateNurseryRequest`.
public struct CreateNurseryRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.CreateNurseryRequest"
    public var nursery: NurseryMessage?

    public init(nursery: NurseryMessage? = nil) {
        self.nursery = nursery
    }

    public init(reader: ProtoReader) throws(WireError) {
        nursery = try reader.message("nursery")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("nursery", message: nursery)
    }
}

/// `sos.scheduler.v1.GetNurseryRequest`.
public struct GetNurseryRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetNurseryRequest"
    public var id: String

    public init(id: String = "") {
        self.id = id
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
    }
}

/// `sos.scheduler.v1.ListNurseriesRequest`.
public struct ListNurseriesRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListNurseriesRequest"
    public var siteID: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(siteID: String = "", pageSize: UInt32 = 0, pageToken: String = "") {
        self.siteID = siteID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        siteID = try reader.string("site_id")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("site_id", string: siteID)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.ListNurseriesResponse`.
public struct ListNurseriesResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListNurseriesResponse"
    public var nurseries: [NurseryMessage]
    public var nextPageToken: String

    public init(nurseries: [NurseryMessage] = [], nextPageToken: String = "") {
        self.nurseries = nurseries
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        nurseries = try reader.repeatedMessages("nurseries")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("nurseries", messages: nurseries)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.UpdateNurseryRequest`.
public struct UpdateNurseryRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.UpdateNurseryRequest"
    public var nursery: NurseryMessage?
    public var updateMask: [String]

    public init(nursery: NurseryMessage? = nil, updateMask: [String] = []) {
        self.nursery = nursery
        self.updateMask = updateMask
    }

    public init(reader: ProtoReader) throws(WireError) {
        nursery = try reader.message("nursery")
        updateMask = try reader.repeatedStrings("update_mask")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("nursery", message: nursery)
        writer.set("update_mask", strings: updateMask)
    }
}

/// `sos.scheduler.v1.CreateGroupRequest`.
public struct CreateGroupRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.CreateGroupRequest"
    public var group: GroupMessage?

    public init(group: GroupMessage? = nil) {
        self.group = group
    }

    public init(reader: ProtoReader) throws(WireError) {
        group = try reader.message("group")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("group", message: group)
    }
}

/// `sos.scheduler.v1.GetGroupRequest`.
public struct GetGroupRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetGroupRequest"
    public var id: String

    public init(id: String = "") {
        self.id = id
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
    }
}

/// `sos.scheduler.v1.ListGroupsRequest`.
public struct ListGroupsRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListGroupsRequest"
    public var nurseryID: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(nurseryID: String = "", pageSize: UInt32 = 0, pageToken: String = "") {
        self.nurseryID = nurseryID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        nurseryID = try reader.string("nursery_id")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("nursery_id", string: nurseryID)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.ListGroupsResponse`.
public struct ListGroupsResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListGroupsResponse"
    public var groups: [GroupMessage]
    public var nextPageToken: String

    public init(groups: [GroupMessage] = [], nextPageToken: String = "") {
        self.groups = groups
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        groups = try reader.repeatedMessages("groups")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("groups", messages: groups)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.UpdateGroupRequest`.
public struct UpdateGroupRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.UpdateGroupRequest"
    public var group: GroupMessage?
    public var updateMask: [String]

    public init(group: GroupMessage? = nil, updateMask: [String] = []) {
        self.group = group
        self.updateMask = updateMask
    }

    public init(reader: ProtoReader) throws(WireError) {
        group = try reader.message("group")
        updateMask = try reader.repeatedStrings("update_mask")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("group", message: group)
        writer.set("update_mask", strings: updateMask)
    }
}

/// `sos.scheduler.v1.RegisterFamilyRequest`.
public struct RegisterFamilyRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RegisterFamilyRequest"
    public var family: FamilyMessage?

    public init(family: FamilyMessage? = nil) {
        self.family = family
    }

    public init(reader: ProtoReader) throws(WireError) {
        family = try reader.message("family")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("family", message: family)
    }
}

/// `sos.scheduler.v1.GetFamilyRequest`.
public struct GetFamilyRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetFamilyRequest"
    public var id: String

    public init(id: String = "") {
        self.id = id
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
    }
}

/// `sos.scheduler.v1.ListFamiliesRequest`.
public struct ListFamiliesRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListFamiliesRequest"
    public var siteID: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(siteID: String = "", pageSize: UInt32 = 0, pageToken: String = "") {
        self.siteID = siteID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        siteID = try reader.string("site_id")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("site_id", string: siteID)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.ListFamiliesResponse`.
public struct ListFamiliesResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListFamiliesResponse"
    public var families: [FamilyMessage]
    public var nextPageToken: String

    public init(families: [FamilyMessage] = [], nextPageToken: String = "") {
        self.families = families
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        families = try reader.repeatedMessages("families")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("families", messages: families)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.UpdateFamilyRequest`.
public struct UpdateFamilyRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.UpdateFamilyRequest"
    public var family: FamilyMessage?
    public var updateMask: [String]

    public init(family: FamilyMessage? = nil, updateMask: [String] = []) {
        self.family = family
        self.updateMask = updateMask
    }

    public init(reader: ProtoReader) throws(WireError) {
        family = try reader.message("family")
        updateMask = try reader.repeatedStrings("update_mask")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("family", message: family)
        writer.set("update_mask", strings: updateMask)
    }
}

/// `sos.scheduler.v1.RegisterChildRequest`.
public struct RegisterChildRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.RegisterChildRequest"
    public var child: ChildMessage?

    public init(child: ChildMessage? = nil) {
        self.child = child
    }

    public init(reader: ProtoReader) throws(WireError) {
        child = try reader.message("child")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child", message: child)
    }
}

/// `sos.scheduler.v1.GetChildRequest`.
public struct GetChildRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetChildRequest"
    public var id: String

    public init(id: String = "") {
        self.id = id
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
    }
}

/// `sos.scheduler.v1.ListChildrenRequest`.
public struct ListChildrenRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListChildrenRequest"
    public var familyID: String
    public var siteID: String
    public var pageSize: UInt32
    public var pageToken: String

    public init(familyID: String = "", siteID: String = "", pageSize: UInt32 = 0, pageToken: String = "") {
        self.familyID = familyID
        self.siteID = siteID
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        familyID = try reader.string("family_id")
        siteID = try reader.string("site_id")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("family_id", string: familyID)
        writer.set("site_id", string: siteID)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.ListChildrenResponse`.
public struct ListChildrenResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListChildrenResponse"
    public var children: [ChildMessage]
    public var nextPageToken: String

    public init(children: [ChildMessage] = [], nextPageToken: String = "") {
        self.children = children
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        children = try reader.repeatedMessages("children")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("children", messages: children)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.UpdateChildRequest`.
public struct UpdateChildRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.UpdateChildRequest"
    public var child: ChildMessage?
    public var updateMask: [String]

    public init(child: ChildMessage? = nil, updateMask: [String] = []) {
        self.child = child
        self.updateMask = updateMask
    }

    public init(reader: ProtoReader) throws(WireError) {
        child = try reader.message("child")
        updateMask = try reader.repeatedStrings("update_mask")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child", message: child)
        writer.set("update_mask", strings: updateMask)
    }
}

/// `sos.scheduler.v1.BookPlaceRequest`.
public struct BookPlaceRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.BookPlaceRequest"
    public var childID: String
    public var groupID: String
    public var firstDay: String
    public var lastDay: String
    public var pattern: String
    /// Books on purpose with a first day before today; audited as a correction.
    public var correction: Bool

    public init(
        childID: String = "", groupID: String = "", firstDay: String = "", lastDay: String = "", pattern: String = "",
        correction: Bool = false
    ) {
        self.childID = childID
        self.groupID = groupID
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.pattern = pattern
        self.correction = correction
    }

    public init(reader: ProtoReader) throws(WireError) {
        childID = try reader.string("child_id")
        groupID = try reader.string("group_id")
        firstDay = try reader.string("first_day")
        lastDay = try reader.string("last_day")
        pattern = try reader.string("pattern")
        correction = try reader.bool("correction")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("child_id", string: childID)
        writer.set("group_id", string: groupID)
        writer.set("first_day", string: firstDay)
        writer.set("last_day", string: lastDay)
        writer.set("pattern", string: pattern)
        writer.set("correction", bool: correction)
    }
}

/// `sos.scheduler.v1.BookingConflict`.
public struct BookingConflictDetail: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.BookingConflict"
    public var conflicts: [SessionConflictMessage]
    public var alternatives: [BookingAlternativeMessage]
    /// Sessions without room in all (before `endlessFrom`, when that is set).
    public var conflictingSessions: UInt32
    /// "" or the first day from which some slot of the pattern has no room in any week.
    public var endlessFrom: String

    public init(
        conflicts: [SessionConflictMessage] = [], alternatives: [BookingAlternativeMessage] = [], conflictingSessions: UInt32 = 0,
        endlessFrom: String = ""
    ) {
        self.conflicts = conflicts
        self.alternatives = alternatives
        self.conflictingSessions = conflictingSessions
        self.endlessFrom = endlessFrom
    }

    public init(reader: ProtoReader) throws(WireError) {
        conflicts = try reader.repeatedMessages("conflicts")
        alternatives = try reader.repeatedMessages("alternatives")
        conflictingSessions = try reader.uint32("conflicting_sessions")
        endlessFrom = try reader.string("endless_from")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("conflicts", messages: conflicts)
        writer.set("alternatives", messages: alternatives)
        writer.set("conflicting_sessions", uint32: conflictingSessions)
        writer.set("endless_from", string: endlessFrom)
    }
}

/// `sos.scheduler.v1.SessionConflict`.
public struct SessionConflictMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.SessionConflict"
    public var date: String
    public var session: ProtoSession
    public var reason: ProtoConflictReason
    public var taken: UInt32
    public var capacity: UInt32

    public init(date: String = "", session: ProtoSession = .unspecified, reason: ProtoConflictReason = .unspecified, taken: UInt32 = 0, capacity: UInt32 = 0) {
        self.date = date
        self.session = session
        self.reason = reason
        self.taken = taken
        self.capacity = capacity
    }

    public init(reader: ProtoReader) throws(WireError) {
        date = try reader.string("date")
        session = try reader.enum("session")
        reason = try reader.enum("reason")
        taken = try reader.uint32("taken")
        capacity = try reader.uint32("capacity")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("date", string: date)
        writer.set("session", enum: session)
        writer.set("reason", enum: reason)
        writer.set("taken", uint32: taken)
        writer.set("capacity", uint32: capacity)
    }
}

/// `sos.scheduler.v1.BookingAlternative`.
public struct BookingAlternativeMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.BookingAlternative"
    public var kind: ProtoAlternativeKind
    public var groupID: String
    public var firstDay: String
    public var lastDay: String
    public var pattern: String

    public init(kind: ProtoAlternativeKind = .unspecified, groupID: String = "", firstDay: String = "", lastDay: String = "", pattern: String = "") {
        self.kind = kind
        self.groupID = groupID
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.pattern = pattern
    }

    public init(reader: ProtoReader) throws(WireError) {
        kind = try reader.enum("kind")
        groupID = try reader.string("group_id")
        firstDay = try reader.string("first_day")
        lastDay = try reader.string("last_day")
        pattern = try reader.string("pattern")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("kind", enum: kind)
        writer.set("group_id", string: groupID)
        writer.set("first_day", string: firstDay)
        writer.set("last_day", string: lastDay)
        writer.set("pattern", string: pattern)
    }
}

/// `sos.scheduler.v1.EndPlacementRequest`.
public struct EndPlacementRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.EndPlacementRequest"
    public var id: String
    public var fromDay: String
    /// Ends on purpose from a day before today; audited as a correction.
    public var correction: Bool

    public init(id: String = "", fromDay: String = "", correction: Bool = false) {
        self.id = id
        self.fromDay = fromDay
        self.correction = correction
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        fromDay = try reader.string("from_day")
        correction = try reader.bool("correction")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("from_day", string: fromDay)
        writer.set("correction", bool: correction)
    }
}

/// `sos.scheduler.v1.CancelPlacementRequest`.
public struct CancelPlacementRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.CancelPlacementRequest"
    public var id: String
    /// Cancels on purpose a placement that has already started; audited as a correction.
    public var correction: Bool

    public init(id: String = "", correction: Bool = false) {
        self.id = id
        self.correction = correction
    }

    public init(reader: ProtoReader) throws(WireError) {
        id = try reader.string("id")
        correction = try reader.bool("correction")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("id", string: id)
        writer.set("correction", bool: correction)
    }
}

/// `sos.scheduler.v1.ListPlacementsRequest`.
public struct ListPlacementsRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListPlacementsRequest"
    public var nurseryID: String
    public var groupID: String
    public var childID: String
    public var fromDay: String
    public var toDay: String
    public var includeCancelled: Bool
    public var pageSize: UInt32
    public var pageToken: String

    public init(
        nurseryID: String = "", groupID: String = "", childID: String = "", fromDay: String = "", toDay: String = "", includeCancelled: Bool = false,
        pageSize: UInt32 = 0, pageToken: String = ""
    ) {
        self.nurseryID = nurseryID
        self.groupID = groupID
        self.childID = childID
        self.fromDay = fromDay
        self.toDay = toDay
        self.includeCancelled = includeCancelled
        self.pageSize = pageSize
        self.pageToken = pageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        nurseryID = try reader.string("nursery_id")
        groupID = try reader.string("group_id")
        childID = try reader.string("child_id")
        fromDay = try reader.string("from_day")
        toDay = try reader.string("to_day")
        includeCancelled = try reader.bool("include_cancelled")
        pageSize = try reader.uint32("page_size")
        pageToken = try reader.string("page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("nursery_id", string: nurseryID)
        writer.set("group_id", string: groupID)
        writer.set("child_id", string: childID)
        writer.set("from_day", string: fromDay)
        writer.set("to_day", string: toDay)
        writer.set("include_cancelled", bool: includeCancelled)
        writer.set("page_size", uint32: pageSize)
        writer.set("page_token", string: pageToken)
    }
}

/// `sos.scheduler.v1.ListPlacementsResponse`.
public struct ListPlacementsResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.ListPlacementsResponse"
    public var placements: [PlacementMessage]
    public var nextPageToken: String

    public init(placements: [PlacementMessage] = [], nextPageToken: String = "") {
        self.placements = placements
        self.nextPageToken = nextPageToken
    }

    public init(reader: ProtoReader) throws(WireError) {
        placements = try reader.repeatedMessages("placements")
        nextPageToken = try reader.string("next_page_token")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("placements", messages: placements)
        writer.set("next_page_token", string: nextPageToken)
    }
}

/// `sos.scheduler.v1.GetOccupancyRequest`.
public struct GetOccupancyRequest: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetOccupancyRequest"
    public var nurseryID: String
    public var fromDay: String
    public var toDay: String

    public init(nurseryID: String = "", fromDay: String = "", toDay: String = "") {
        self.nurseryID = nurseryID
        self.fromDay = fromDay
        self.toDay = toDay
    }

    public init(reader: ProtoReader) throws(WireError) {
        nurseryID = try reader.string("nursery_id")
        fromDay = try reader.string("from_day")
        toDay = try reader.string("to_day")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("nursery_id", string: nurseryID)
        writer.set("from_day", string: fromDay)
        writer.set("to_day", string: toDay)
    }
}

/// `sos.scheduler.v1.GetOccupancyResponse`.
public struct GetOccupancyResponse: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.GetOccupancyResponse"
    public var days: [OccupancyDayMessage]

    public init(days: [OccupancyDayMessage] = []) {
        self.days = days
    }

    public init(reader: ProtoReader) throws(WireError) {
        days = try reader.repeatedMessages("days")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("days", messages: days)
    }
}

/// `sos.scheduler.v1.OccupancyDay`.
public struct OccupancyDayMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.OccupancyDay"
    public var date: String
    public var sessions: [SessionOccupancyMessage]

    public init(date: String = "", sessions: [SessionOccupancyMessage] = []) {
        self.date = date
        self.sessions = sessions
    }

    public init(reader: ProtoReader) throws(WireError) {
        date = try reader.string("date")
        sessions = try reader.repeatedMessages("sessions")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("date", string: date)
        writer.set("sessions", messages: sessions)
    }
}

/// `sos.scheduler.v1.SessionOccupancy`.
public struct SessionOccupancyMessage: WireMessage, Hashable {
    public static let protoName = "sos.scheduler.v1.SessionOccupancy"
    public var groupID: String
    public var session: ProtoSession
    public var capacity: UInt32
    public var sos: UInt32
    public var local: UInt32
    public var free: UInt32
    /// Of the free places, those a child of an SOS family could take.
    public var freeForSOS: UInt32
    /// Of the free places, those a child of a local family could take.
    public var freeForLocal: UInt32

    public init(
        groupID: String = "", session: ProtoSession = .unspecified, capacity: UInt32 = 0, sos: UInt32 = 0, local: UInt32 = 0, free: UInt32 = 0,
        freeForSOS: UInt32 = 0, freeForLocal: UInt32 = 0
    ) {
        self.groupID = groupID
        self.session = session
        self.capacity = capacity
        self.sos = sos
        self.local = local
        self.free = free
        self.freeForSOS = freeForSOS
        self.freeForLocal = freeForLocal
    }

    public init(reader: ProtoReader) throws(WireError) {
        groupID = try reader.string("group_id")
        session = try reader.enum("session")
        capacity = try reader.uint32("capacity")
        sos = try reader.uint32("sos")
        local = try reader.uint32("local")
        free = try reader.uint32("free")
        freeForSOS = try reader.uint32("free_for_sos")
        freeForLocal = try reader.uint32("free_for_local")
    }

    public func write(to writer: inout ProtoWriter) {
        writer.set("group_id", string: groupID)
        writer.set("session", enum: session)
        writer.set("capacity", uint32: capacity)
        writer.set("sos", uint32: sos)
        writer.set("local", uint32: local)
        writer.set("free", uint32: free)
        writer.set("free_for_sos", uint32: freeForSOS)
        writer.set("free_for_local", uint32: freeForLocal)
    }
}
