#!/usr/bin/env python3
"""Writes the Swift wire layer (Sources/SchedulerWire/Generated/) from protoc's descriptor set.

Called by Scripts/generate-proto; needs nothing but Python 3's standard library: the
FileDescriptorSet is decoded here with a few lines of protobuf wire reading.

For every message of every .proto (but sos/rpc/v1/frames.proto, whose frames FrameCodec
reads straight from the C structs on the hot path) it writes a Swift struct with:
  - the .proto comments as doc comments;
  - `init(reader:)` and `write(to:)` reaching each field through its index in the protobuf-c
    descriptor's `fields` array (protoc-c sorts that array by field number), so no field is
    looked up by name at run time;
and for every enum a Swift enum. For every service it writes typed method constants
(`RPC.<Service>.<method>`): request and response types, path, unary or server-streaming.

Naming: a message whose name ends in Request or Response keeps its name; any other gets
the suffix `Message` (`Site` -> `SiteMessage`), so the wire types never shadow the domain
types of SchedulerCore. A top-level enum is `Proto<Name>`; a nested enum is nested in its
message's struct. Fields are lowerCamelCase with acronyms in capitals (`site_id` -> `siteID`).
Enum cases drop the enum's own prefix (`FAMILY_KIND_UNSPECIFIED` -> `unspecified`).

Output is deterministic: files in path order, declarations in .proto order.
"""

import os
import sys

# ---------------------------------------------------------------- protobuf wire reading


def varint(data, i):
    shift = 0
    value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(data):
    """Yields (number, wire_type, value) for each field of an encoded message."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            length, i = varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, wire, value


def decode(data, schema):
    """Decodes `data` with `schema`: {number: (name, kind, repeated)} where kind is 'str',
    'int', 'packed' or a nested schema dict."""
    out = {name: ([] if rep else None) for (name, kind, rep) in schema.values()}
    for number, wire, value in fields(data):
        if number not in schema:
            continue
        name, kind, rep = schema[number]
        if kind == "str":
            v = bytes(value).decode("utf-8")
        elif kind == "int":
            v = value
        elif kind == "packed":
            if wire == 2:
                vals, j = [], 0
                while j < len(value):
                    x, j = varint(value, j)
                    vals.append(x)
                out[name].extend(vals)
                continue
            v = value
        else:
            v = decode(value, kind)
        if rep:
            out[name].append(v)
        else:
            out[name] = v
    return out


ENUM_VALUE = {1: ("name", "str", False), 2: ("number", "int", False)}
ENUM = {1: ("name", "str", False), 2: ("value", ENUM_VALUE, True)}
FIELD = {
    1: ("name", "str", False),
    3: ("number", "int", False),
    4: ("label", "int", False),
    5: ("type", "int", False),
    6: ("type_name", "str", False),
    9: ("oneof_index", "int", False),
    17: ("proto3_optional", "int", False),
}
MESSAGE_OPTIONS = {7: ("map_entry", "int", False)}
MESSAGE = {
    1: ("name", "str", False),
    2: ("field", FIELD, True),
    4: ("enum_type", ENUM, True),
    7: ("options", MESSAGE_OPTIONS, False),
    8: ("oneof_decl", {1: ("name", "str", False)}, True),
}
MESSAGE[3] = ("nested_type", MESSAGE, True)
METHOD = {
    1: ("name", "str", False),
    2: ("input_type", "str", False),
    3: ("output_type", "str", False),
    5: ("client_streaming", "int", False),
    6: ("server_streaming", "int", False),
}
SERVICE = {1: ("name", "str", False), 2: ("method", METHOD, True)}
LOCATION = {1: ("path", "packed", True), 3: ("leading", "str", False), 4: ("trailing", "str", False)}
FILE = {
    1: ("name", "str", False),
    2: ("package", "str", False),
    4: ("message_type", MESSAGE, True),
    5: ("enum_type", ENUM, True),
    6: ("service", SERVICE, True),
    9: ("source_code_info", {1: ("location", LOCATION, True)}, False),
}
FILE_SET = {1: ("file", FILE, True)}

# ---------------------------------------------------------------- naming

SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
    "inout", "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static",
    "struct", "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else",
    "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "Any",
    "catch", "false", "is", "nil", "super", "self", "Self", "throw", "throws", "true", "try", "Type",
}


# Acronyms keep their capitals after the first word (Swift's API guidelines): site_id -> siteID.
ACRONYMS = {"id": "ID", "ids": "IDs", "sos": "SOS", "ics": "ICS", "url": "URL", "utc": "UTC"}


def camel(snake, upper_first=False):
    parts = [p for p in snake.split("_") if p]
    out = []
    for index, part in enumerate(parts):
        low = part.lower()
        if low in ACRONYMS and index > 0:
            out.append(ACRONYMS[low])
        elif index == 0 and not upper_first:
            out.append(low)
        else:
            out.append(low[:1].upper() + low[1:])
    return "".join(out)


def escaped(name):
    return "`%s`" % name if name in SWIFT_KEYWORDS else name


def upper_snake(camel_name):
    out = []
    for index, ch in enumerate(camel_name):
        if ch.isupper() and index > 0 and not camel_name[index - 1].isupper():
            out.append("_")
        out.append(ch.upper())
    return "".join(out)


def message_swift_name(name):
    return name if name.endswith("Request") or name.endswith("Response") else name + "Message"


def lower_first(name):
    return name[:1].lower() + name[1:]


# ---------------------------------------------------------------- model

TYPE_NAMES = {
    1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32", 8: "bool",
    9: "string", 10: "group", 11: "message", 12: "bytes", 13: "uint32", 14: "enum", 15: "sfixed32",
    16: "sfixed64", 17: "sint32", 18: "sint64",
}
# proto type -> (Swift type, reader/writer kind)
SCALARS = {
    "double": ("Double", "double"), "float": ("Float", "float"),
    "int64": ("Int64", "int64"), "sint64": ("Int64", "int64"), "sfixed64": ("Int64", "int64"),
    "uint64": ("UInt64", "uint64"), "fixed64": ("UInt64", "uint64"),
    "int32": ("Int32", "int32"), "sint32": ("Int32", "int32"), "sfixed32": ("Int32", "int32"),
    "uint32": ("UInt32", "uint32"), "fixed32": ("UInt32", "uint32"),
    "bool": ("Bool", "bool"), "string": ("String", "string"), "bytes": ("[UInt8]", "bytes"),
}
DEFAULTS = {"Double": "0", "Float": "0", "Int64": "0", "UInt64": "0", "Int32": "0", "UInt32": "0",
            "Bool": "false", "String": "\"\"", "[UInt8]": "[]"}

SKIPPED_FILES = {"sos/rpc/v1/frames.proto"}


class Comments:
    def __init__(self, source_code_info):
        self.by_path = {}
        for location in (source_code_info or {}).get("location", []):
            text = (location.get("leading") or "") + (location.get("trailing") or "")
            if text.strip():
                self.by_path[tuple(location["path"])] = text

    def doc(self, path, indent, fallback=None):
        text = self.by_path.get(tuple(path))
        lines = []
        if text:
            raw = text.rstrip("\n").split("\n")
            # Drop the one space protoc leaves after "//".
            lines = [l[1:] if l.startswith(" ") else l for l in raw]
            lines = [l.rstrip() for l in lines]
        if fallback:
            lines = [fallback] + lines if not lines else [fallback] + lines
        return "".join("%s/// %s\n" % (indent, l) if l else "%s///\n" % indent for l in lines)


def collect_types(files):
    """Full proto name (".pkg.Msg") -> Swift type name, for messages and enums."""
    names = {}
    for f in files:
        prefix = "." + f["package"] if f["package"] else ""

        def walk(msg, full, swift):
            names[full] = swift
            for enum in msg["enum_type"]:
                names[full + "." + enum["name"]] = swift + "." + enum["name"]
            for nested in msg["nested_type"]:
                walk(nested, full + "." + nested["name"], swift + "." + message_swift_name(nested["name"]))

        for msg in f["message_type"]:
            walk(msg, prefix + "." + msg["name"], message_swift_name(msg["name"]))
        for enum in f["enum_type"]:
            names[prefix + "." + enum["name"]] = "Proto" + enum["name"]
    return names


def field_swift(field, types):
    """(Swift type of the stored property, default, read expression, write statement)."""
    repeated = field["label"] == 3
    ptype = TYPE_NAMES[field["type"]]
    name = escaped(camel(field["name"]))
    index = field["index"]
    if ptype == "group":
        raise SystemExit("field %s: groups are not supported" % field["name"])
    if ptype in SCALARS:
        swift, kind = SCALARS[ptype]
        if repeated:
            if kind == "string":
                return "[String]", "[]", "try reader.repeatedStrings(%d)" % index, "writer.set(%d, strings: %s)" % (index, name)
            if kind == "bytes":
                raise SystemExit("field %s: repeated bytes are not supported" % field["name"])
            if kind == "bool":
                raise SystemExit("field %s: repeated bool is not supported" % field["name"])
            return ("[%s]" % swift, "[]", "try reader.repeatedIntegers(%d, as: %s.self)" % (index, swift),
                    "writer.set(%d, integers: %s)" % (index, name))
        return swift, DEFAULTS[swift], "try reader.%s(%d)" % (kind, index), "writer.set(%d, %s: %s)" % (index, kind, name)
    swift = types[field["type_name"]]
    if ptype == "enum":
        if repeated:
            return ("[%s]" % swift, "[]", "try reader.repeatedEnums(%d, as: %s.self)" % (index, swift),
                    "writer.set(%d, enums: %s)" % (index, name))
        return swift, ".unspecified", "try reader.enum(%d, as: %s.self)" % (index, swift), "writer.set(%d, enum: %s)" % (index, name)
    if repeated:
        return ("[%s]" % swift, "[]", "try reader.repeatedMessages(%d, as: %s.self)" % (index, swift),
                "writer.set(%d, messages: %s)" % (index, name))
    return swift + "?", "nil", "try reader.message(%d, as: %s.self)" % (index, swift), "writer.set(%d, message: %s)" % (index, name)


def emit_enum(enum, swift_name, path, comments, indent, full_name):
    out = []
    prefix = upper_snake(enum["name"]) + "_"
    values = enum["value"]
    if not values or values[0]["number"] != 0:
        raise SystemExit("enum %s: the first value must be 0" % full_name)
    out.append(comments.doc(path, indent, "`%s`." % full_name))
    out.append("%spublic enum %s: Int32, ProtoEnum, CaseIterable, Hashable {\n" % (indent, swift_name))
    seen = set()
    for vi, value in enumerate(values):
        vname = value["name"]
        if vname.startswith(prefix):
            vname = vname[len(prefix):]
        if value["number"] == 0 and vname.endswith("UNSPECIFIED"):
            vname = "UNSPECIFIED"
        case = escaped(camel(vname))
        if value["number"] in seen:
            continue
        seen.add(value["number"])
        out.append(comments.doc(path + [2, vi], indent + "    "))
        out.append("%s    case %s = %d\n" % (indent, case, value["number"]))
    out.append("\n")
    out.append("%s    public init?(protoValue: Int32) { self.init(rawValue: protoValue) }\n" % indent)
    out.append("%s    public var protoValue: Int32 { rawValue }\n" % indent)
    out.append("%s}\n" % indent)
    return "".join(out)


def emit_message(msg, full_name, swift_name, path, comments, types, indent):
    if msg["oneof_decl"]:
        raise SystemExit("message %s: oneof is not supported by the generator yet" % full_name)
    if msg.get("options") and msg["options"].get("map_entry"):
        raise SystemExit("message %s: maps are not supported by the generator yet" % full_name)
    # protoc-c's descriptor lists fields sorted by number: that order is the index used here.
    by_number = sorted(range(len(msg["field"])), key=lambda i: msg["field"][i]["number"])
    for index, fi in enumerate(by_number):
        msg["field"][fi]["index"] = index
    decl = msg["field"]  # declaration order, for properties and the initializer
    out = []
    out.append(comments.doc(path, indent, "`%s`." % full_name))
    out.append("%spublic struct %s: WireMessage, Hashable {\n" % (indent, swift_name))
    inner = indent + "    "
    out.append('%spublic static let protoName = "%s"\n' % (inner, full_name))
    out.append("%spublic static let protoDescriptor = ProtoMessageDescriptor(named: protoName)\n" % inner)
    out.append("%s/// Field names in protobuf-c's order (by number): index i is `fields[i]` of the descriptor.\n" % inner)
    out.append("%spublic static let protoFieldNames: [String] = [%s]\n" % (
        inner, ", ".join('"%s"' % msg["field"][fi]["name"] for fi in by_number)))
    props = []
    for fi, field in enumerate(decl):
        if field.get("proto3_optional"):
            raise SystemExit("field %s.%s: proto3 optional is not supported yet" % (full_name, field["name"]))
        swift, default, read, write = field_swift(field, types)
        name = escaped(camel(field["name"]))
        props.append((name, swift, default, read, write))
        out.append(comments.doc(path + [2, fi], inner))
        out.append("%spublic var %s: %s\n" % (inner, name, swift))
    # Nested enums and messages.
    for ei, enum in enumerate(msg["enum_type"]):
        out.append("\n")
        out.append(emit_enum(enum, enum["name"], path + [4, ei], comments, inner, full_name + "." + enum["name"]))
    for ni, nested in enumerate(msg["nested_type"]):
        out.append("\n")
        out.append(emit_message(nested, full_name + "." + nested["name"], message_swift_name(nested["name"]),
                                path + [3, ni], comments, types, inner))
    out.append("\n")
    if props:
        params = ", ".join("%s: %s = %s" % (n.strip("`"), t, d) for (n, t, d, _, _) in props)
        out.append("%spublic init(%s) {\n" % (inner, params))
        for (n, _, _, _, _) in props:
            out.append("%s    self.%s = %s\n" % (inner, n.strip("`"), n))
        out.append("%s}\n\n" % inner)
        out.append("%spublic init(reader: ProtoReader) throws(WireError) {\n" % inner)
        for (n, _, _, r, _) in props:
            out.append("%s    %s = %s\n" % (inner, "self." + n.strip("`") if n.startswith("`") else n, r))
        out.append("%s}\n\n" % inner)
        out.append("%spublic func write(to writer: inout ProtoWriter) {\n" % inner)
        for (_, _, _, _, w) in props:
            out.append("%s    %s\n" % (inner, w))
        out.append("%s}\n" % inner)
    else:
        out.append("%spublic init() {}\n" % inner)
        out.append("%spublic init(reader: ProtoReader) throws(WireError) {}\n" % inner)
        out.append("%spublic func write(to writer: inout ProtoWriter) {}\n" % inner)
    out.append("%s}\n" % indent)
    return "".join(out)


def emit_services(f, comments, types):
    out = []
    for si, service in enumerate(f["service"]):
        full = (f["package"] + "." if f["package"] else "") + service["name"]
        out.append("\n")
        out.append(comments.doc([6, si], "", "The methods of `%s`." % full))
        out.append("extension RPC {\n")
        out.append("    public enum %s {\n" % service["name"])
        names = []
        for mi, method in enumerate(service["method"]):
            if method.get("client_streaming"):
                raise SystemExit("method %s/%s: client streaming is not supported" % (full, method["name"]))
            kind = "serverStreaming" if method.get("server_streaming") else "unary"
            request, response = types[method["input_type"]], types[method["output_type"]]
            constant = lower_first(method["name"])
            names.append(constant)
            out.append(comments.doc([6, si, 2, mi], "        "))
            out.append('        public static let %s = RPCMethod<%s, %s>(path: "/%s/%s", kind: .%s)\n' % (
                escaped(constant), request, response, full, method["name"], kind))
        out.append("\n        /// Every method of the service, in .proto order.\n")
        out.append("        public static let all: [AnyRPCMethod] = [%s]\n" % ", ".join("AnyRPCMethod(%s)" % escaped(n) for n in names))
        out.append("    }\n}\n")
    return "".join(out)


def generate(descriptor_set, out_dir):
    data = open(descriptor_set, "rb").read()
    files = decode(data, FILE_SET)["file"]
    files = [f for f in files if f["name"] not in SKIPPED_FILES]
    files.sort(key=lambda f: f["name"])
    types = collect_types(files)
    all_messages = []

    def list_messages(msg, swift):
        all_messages.append(swift)
        for nested in msg["nested_type"]:
            list_messages(nested, swift + "." + message_swift_name(nested["name"]))

    for f in files:
        for msg in f["message_type"]:
            list_messages(msg, message_swift_name(msg["name"]))
    written = {}
    services = []
    for f in files:
        comments = Comments(f["source_code_info"])
        package = f["package"] or ""
        prefix = package + "." if package else ""
        body = []
        body.append("// Generated by Scripts/generate-proto from proto/%s. Do not edit.\n" % f["name"])
        body.append("\n")
        parts = []
        for ei, enum in enumerate(f["enum_type"]):
            parts.append(emit_enum(enum, "Proto" + enum["name"], [5, ei], comments, "", prefix + enum["name"]))
        for mi, msg in enumerate(f["message_type"]):
            parts.append(emit_message(msg, prefix + msg["name"], message_swift_name(msg["name"]), [4, mi], comments, types, ""))
        body.append("\n".join(parts))
        body.append(emit_services(f, comments, types))
        if f["service"]:
            services.extend(s["name"] for s in f["service"])
        base = f["name"][:-len(".proto")].replace("/", "_")
        written[base + ".swift"] = "".join(body)
    index = ["// Generated by Scripts/generate-proto from proto/. Do not edit.\n\n",
             "/// Every generated message type, for tests that walk them all.\n",
             "public enum GeneratedMessages {\n",
             "    public static let all: [any WireMessage.Type] = [%s]\n" % ", ".join("%s.self" % t for t in all_messages),
             "}\n\n",
             "extension RPC {\n",
             "    /// Every method of every service in proto/.\n",
             "    public static let allMethods: [AnyRPCMethod] = %s\n" % (
                 " + ".join("%s.all" % s for s in services) if services else "[]"),
             "}\n"]
    written["Index.swift"] = "".join(index)
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        if name.endswith(".swift") and name not in written:
            os.remove(os.path.join(out_dir, name))
    for name, text in sorted(written.items()):
        with open(os.path.join(out_dir, name), "w") as handle:
            handle.write(text)
    return sorted(written)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: generate_swift.py DESCRIPTOR_SET OUT_DIR")
    names = generate(sys.argv[1], sys.argv[2])
    sys.stderr.write("generated %d Swift files in %s\n" % (len(names), sys.argv[2]))
