import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Printing helpers shared by the commands: one place decides how text and JSON reach stdout.
enum Output {
    static func json(_ value: JSONValue) {
        print(value.serialized(style: .pretty))
    }

    /// Aligned `key  value` lines under a heading.
    static func table(_ rows: [(String, String)], indent: String = "  ") {
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            print(indent + key + String(repeating: " ", count: width - key.count + 2) + value)
        }
    }

    static func warn(_ message: String) {
        StandardError.write("warning: \(message)\n")
    }
}
