import EnclaveCore
import Foundation

/// Reads EIF metadata JSON into a `JSONValue` with every object's keys sorted, which is how nitro-cli
/// prints `serde_json::Value`s (a BTreeMap underneath). Metadata is informational and not measured.
enum JSONParsing {
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        return convert(object, depth: 0)
    }

    private static func convert(_ value: Any, depth: Int) -> JSONValue {
        guard depth < 64 else { return .null }
        switch value {
        case let s as String: return .string(s)
        case let b as Bool where type(of: value) == Bool.self: return .bool(b)
        case let n as NSNumber:
            // On Linux, booleans from JSONSerialization are NSNumbers whose type is "c".
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            return .number(n.stringValue)
        case let a as [Any]: return .array(a.map { convert($0, depth: depth + 1) })
        case let d as [String: Any]:
            return .object(
                d.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map {
                    ($0, convert(d[$0] ?? NSNull(), depth: depth + 1))
                })
        default: return .null
        }
    }
}
