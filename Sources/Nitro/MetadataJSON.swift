import EnclaveCore

/// Reads EIF metadata JSON (strictly, with EnclaveCore's bounded parser) into a `JSONValue` whose objects
/// have their keys sorted, which is how nitro-cli prints `serde_json::Value`s (a BTreeMap underneath).
/// Metadata is informational and not measured.
enum JSONParsing {
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        sorted(try JSONParser.parse(bytes, format: "EIF metadata"))
    }

    private static func sorted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(items.map(sorted))
        case .object(let pairs):
            return .object(
                pairs.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.map { ($0.0, sorted($0.1)) })
        default: return value
        }
    }
}
