import EnclaveCore

/// One thing that differs between two inputs, located by a drill-down path from the outside in
/// (issue #7 item 5: manifest field → artifact → EIF section → archive entry → field).
///
/// ```swift
/// Difference(location: ["artifact example-node.eif", "section Ramdisk[1] (app)", "entry rootfs/app", "mode"],
///            expected: "0755", actual: "0644")
/// ```
public struct Difference: Sendable, Equatable {
    /// Where the difference is, outermost first, e.g. `["section Ramdisk[1] (app)", "entry init", "content"]`.
    public var location: [String]
    /// The value in the first (expected) input; `nil` when the item exists only in the second.
    public var expected: String?
    /// The value in the second (actual) input; `nil` when the item exists only in the first.
    public var actual: String?
    /// Supporting lines: a short unified diff for text, the first differing offset for binary data,
    /// diffoscope's output.
    public var detail: [String]

    public init(location: [String], expected: String?, actual: String?, detail: [String] = []) {
        self.location = location
        self.expected = expected
        self.actual = actual
        self.detail = detail
    }

    /// The difference as a JSON object: `location`, `expected`, `actual` (string or null), `detail`.
    public var json: JSONValue {
        .object([
            ("location", .array(location.map { .string($0) })),
            ("expected", expected.map { .string($0) } ?? .null),
            ("actual", actual.map { .string($0) } ?? .null),
            ("detail", .array(detail.map { .string($0) })),
        ])
    }
}

/// The result of comparing two inputs (``Comparer``): every difference found, outermost first, each
/// located precisely enough to find the byte that moved.
///
/// ```swift
/// let report = try Comparer.compareFiles("a.eif", "b.eif")
/// print(report.render())   // "identical", or an indented tree of differences
/// ```
public struct ComparisonReport: Sendable {
    /// The differences that were recorded (at most the comparer's `maxDifferences`).
    public var differences: [Difference]
    /// Differences found beyond `maxDifferences` and therefore not listed.
    public var omitted: Int
    /// Remarks that are not differences (e.g. "diffoscope is not installed …").
    public var notes: [String]

    public init(differences: [Difference] = [], omitted: Int = 0, notes: [String] = []) {
        self.differences = differences
        self.omitted = omitted
        self.notes = notes
    }

    /// Nothing differs.
    public var identical: Bool { differences.isEmpty && omitted == 0 }

    /// Human-readable text: `identical`, or the differences as an indented tree in which a shared
    /// location prefix is printed once.
    public func render() -> String {
        var lines: [String] = []
        if identical {
            lines.append("identical")
        } else {
            var previous: [String] = []
            for d in differences {
                var shared = 0
                while shared < previous.count, shared < d.location.count - 1, previous[shared] == d.location[shared] {
                    shared += 1
                }
                for depth in shared..<max(shared, d.location.count - 1) {
                    lines.append(String(repeating: "  ", count: depth) + d.location[depth])
                }
                let depth = max(0, d.location.count - 1)
                let indent = String(repeating: "  ", count: depth)
                let last = d.location.last ?? "input"
                lines.append(indent + last + ": " + Self.summary(d))
                for line in d.detail { lines.append(indent + "    " + line) }
                previous = Array(d.location.dropLast())
            }
            if omitted > 0 {
                lines.append("… \(omitted) more difference\(omitted == 1 ? "" : "s") not shown (--max-differences)")
            }
            let total = differences.count + omitted
            lines.append("\(total) difference\(total == 1 ? "" : "s")")
        }
        lines.append(contentsOf: notes.map { "note: \($0)" })
        return lines.joined(separator: "\n")
    }

    static func summary(_ d: Difference) -> String {
        switch (d.expected, d.actual) {
        case (let e?, let a?): "expected \(e), actual \(a)"
        case (let e?, nil): "only in the expected input (\(e))"
        case (nil, let a?): "only in the actual input (\(a))"
        case (nil, nil): "differs"
        }
    }

    /// `{"identical": …, "differences": […], "omitted": n, "notes": […]}`.
    public func json() -> JSONValue {
        .object([
            ("identical", .bool(identical)),
            ("differences", .array(differences.map(\.json))),
            ("omitted", .int(omitted)),
            ("notes", .array(notes.map { .string($0) })),
        ])
    }
}

/// Collects differences under a location prefix, up to a limit (the rest are only counted).
final class DifferenceCollector {
    let limit: Int
    private(set) var differences: [Difference] = []
    private(set) var omitted = 0
    private(set) var notes: [String] = []
    private var prefix: [String] = []

    init(limit: Int) { self.limit = limit }

    var count: Int { differences.count + omitted }

    func add(_ location: [String], expected: String?, actual: String?, detail: [String] = []) {
        guard differences.count < limit else {
            omitted += 1
            return
        }
        differences.append(Difference(location: prefix + location, expected: expected, actual: actual, detail: detail))
    }

    /// Replaces the detail of the difference recorded as number `index` (if it was listed).
    func setDetail(at index: Int, _ detail: [String]) {
        if index < differences.count { differences[index].detail = detail }
    }

    func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// Runs `body` with `components` appended to the location prefix.
    func within<T>(_ components: [String], _ body: () throws -> T) rethrows -> T {
        let saved = prefix
        prefix += components
        defer { prefix = saved }
        return try body()
    }

    var report: ComparisonReport { ComparisonReport(differences: differences, omitted: omitted, notes: notes) }
}
