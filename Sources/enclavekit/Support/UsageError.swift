/// An error in how EnclaveKit was asked to do something (a bad option value, a missing input file),
/// with a hint that says how to fix it. It belongs to the command line: the libraries throw their own
/// errors, which carry facts and name no flags, and ``LibraryErrors`` turns them into this.
struct UsageError: Error, Sendable, Hashable, CustomStringConvertible {
    var message: String
    var hint: String?

    init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    var description: String {
        if let hint { return "\(message) (\(hint))" }
        return message
    }
}
