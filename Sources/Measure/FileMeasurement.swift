import EnclaveCore
import Release

/// One file format whose measurements EnclaveKit computes offline. Each format lives in its own file
/// (`NitroFormat.swift`, `SGXSFormat.swift`, …) and is listed in ``FileMeasurement/formats``.
public protocol MeasurableFormat {
    /// Short name used in JSON (`eif`, `sgxs`, `sigstruct`, `tdvf`, `ovmf-snp`).
    static var name: String { get }
    /// Cheap check on the first bytes (up to 4 KiB) and the file size.
    static func matches(prefix: [UInt8], file: FileInput) -> Bool
    /// Computes the measurements.
    static func measure(file: FileInput) throws -> MeasurementReport
    /// Computes the measurements, reporting the bytes read to a reporter `progress` starts (the formats
    /// that stream large files; the others take the default, which reports nothing).
    static func measure(file: FileInput, progress: ProgressFactory?) throws -> MeasurementReport
}

extension MeasurableFormat {
    public static func measure(file: FileInput, progress: ProgressFactory?) throws -> MeasurementReport {
        try measure(file: file)
    }
}

/// What one format measured in a file: a title and ordered register name/value pairs.
public struct MeasurementReport: Sendable {
    public var format: String
    public var title: String
    public var values: [(String, String)]
    /// Detail beyond the registers, for the JSON representation only.
    public var extra: [(String, JSONValue)]
    /// What is wrong with the file although it could be measured (an EIF whose CRC does not match).
    public var problems: [String]

    public init(
        format: String, title: String, values: [(String, String)], extra: [(String, JSONValue)] = [],
        problems: [String] = []
    ) {
        self.format = format
        self.title = title
        self.values = values
        self.extra = extra
        self.problems = problems
    }

    public var json: JSONValue {
        .object(
            [("format", .string(format)), ("description", .string(title))]
                + [("measurements", .object(values.map { ($0.0, .string($0.1)) }))]
                + [("problems", .array(problems.map { .string($0) }))] + extra)
    }
}

/// A file's format detected and measured: every format the file matches is measured (OVMF firmware is
/// measured for TDX and for SEV-SNP); a format that fails only fails the whole if all do.
///
/// ```swift
/// let m = try FileMeasurement.measure(path: "image.eif")
/// for report in m.reports { print(report.title, report.values) }
/// ```
public struct FileMeasurement: Sendable {
    public var file: String
    public var reports: [MeasurementReport]
    /// The formats the file matched but could not be measured as, with the error.
    public var failures: [(format: String, error: any Error)]

    /// The formats tried, in order.
    public static var formats: [any MeasurableFormat.Type] {
        [EIFFormat.self, SGXSFormat.self, SigstructFormat.self, TDVFFormat.self, SNPFirmwareFormat.self]
    }

    /// Measures `path` as every format it matches. Throws ``MeasureError`` when it matches none, the one
    /// format's error when it matched one and that failed, and ``MeasureError`` when several all failed.
    /// `progress` starts a reporter for each format that streams the file (`measuring PATH`).
    public static func measure(path: String, progress: ProgressFactory? = nil) throws -> FileMeasurement {
        let input = try FileInput(path: path)
        let prefix = try input.read(at: 0, count: Int(min(input.size, 4096)), format: "file")
        let matching = formats.filter { $0.matches(prefix: prefix, file: input) }
        guard !matching.isEmpty else {
            throw MeasureError(
                .unknownFormat, file: path, "\(path): not a format EnclaveKit can measure",
                expected: "expected an EIF, an SGXS stream, a SIGSTRUCT (.sig) or OVMF/TDVF firmware")
        }
        var result = FileMeasurement(file: path, reports: [], failures: [])
        for format in matching {
            do {
                result.reports.append(try format.measure(file: input, progress: progress))
            } catch let error as FormatError {
                result.failures.append((format.name, error.in(file: path)))
            } catch {
                result.failures.append((format.name, error))
            }
        }
        if result.reports.isEmpty {
            if result.failures.count == 1, let only = result.failures.first { throw only.error }
            throw MeasureError(
                .notMeasured, file: path, result.failures.map { "\($0.error)" }.joined(separator: "; "))
        }
        return result
    }

    /// Every report's problems (`FORMAT: …`), then the formats not measured.
    public var problems: [String] {
        reports.flatMap { report in report.problems.map { "\(report.format): \($0)" } }
            + failures.map { "not measured as \($0.format): \($0.error)" }
    }

    /// Every register measured, with the names releases use (Release's `ReleaseManifest.registerAliases`).
    public var registers: [(String, String)] {
        ReleaseManifest.releaseNames(reports.flatMap(\.values))
    }

    /// `file`, `results` (each report), `not_measured` and `problems`.
    public var json: [(String, JSONValue)] {
        let failed: [JSONValue] = failures.map {
            .object([("format", .string($0.format)), ("error", .string(String(describing: $0.error)))])
        }
        return [
            ("file", .string(file)), ("results", .array(reports.map(\.json))), ("not_measured", .array(failed)),
            ("problems", .array(problems.map { .string($0) })),
        ]
    }
}

/// A file that cannot be measured, or a release it cannot be compared with.
public struct MeasureError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The file matches no format in ``FileMeasurement/formats``.
        case unknownFormat = "unknown-format"
        /// The file matched several formats and failed as each.
        case notMeasured = "not-measured"
        /// The verified release payload carries no manifest.
        case noManifest = "no-manifest"
    }

    public var kind: Kind
    public var file: String
    public var message: String
    /// What the input should have been, when that helps.
    public var expected: String?

    public init(_ kind: Kind, file: String, _ message: String, expected: String? = nil) {
        self.kind = kind
        self.file = file
        self.message = message
        self.expected = expected
    }

    public var description: String {
        if let expected { return "\(message) (\(expected))" }
        return message
    }
}
