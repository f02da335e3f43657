import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Printing helpers shared by the commands: one place decides how text and JSON reach stdout.
enum Output {
    /// Whether a JSON document is already on stdout: an error after it (`verify --json` prints its
    /// report, then fails) must not add a second document, so ``ErrorReport`` sends it to stderr only.
    /// Written on the main thread only: the CLI prints from its one command's `run()`.
    nonisolated(unsafe) private(set) static var printedJSON = false

    static func json(_ value: JSONValue) {
        print(value.serialized(style: .pretty))
        printedJSON = true
    }

    /// Aligned `key  value` lines under a heading.
    static func table(_ rows: [(String, String)], indent: String = "  ") {
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            print(indent + key + String(repeating: " ", count: width - key.count + 2) + value)
        }
    }

    /// Name/value results: aligned `name  value` lines, or with `json` one object of strings.
    static func report(_ rows: [(String, String)], json: Bool) {
        if json {
            Output.json(.object(rows.map { ($0.0, .string($0.1)) }))
        } else {
            table(rows)
        }
    }

    static func warn(_ message: String) {
        StandardError.write("warning: \(message)\n")
    }
}
