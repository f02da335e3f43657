import EnclaveCore
import Foundation
import Measure
import Release
import TestSupport
import Testing

/// Format dispatch: files that are no measurable format are refused with a typed error naming the file.
@Suite struct FileMeasurementTests {
    static let notMeasurable: [(String, [UInt8])] = [
        ("empty", []),
        ("text", Array("hello, enclave\n".utf8)),
        ("a page of zeros", [UInt8](repeating: 0, count: 4096)),
        (
            "SIGSTRUCT header at the wrong size",
            [0x06, 0, 0, 0, 0xE1, 0, 0, 0, 0, 0, 1, 0] + [UInt8](repeating: 0, count: 100)
        ),
    ]

    @Test(arguments: notMeasurable) func refusesUnknownFormats(_ name: String, bytes: [UInt8]) throws {
        let dir = try TestDirectory()
        let path = try dir.write("input.bin", bytes)
        let error = try #require(throws: MeasureError.self, "\(name)") { try FileMeasurement.measure(path: path) }
        #expect(error.kind == .unknownFormat)
        #expect(error.file == path)
        #expect(error.message.hasPrefix("\(path): not a format"))
    }

    @Test func missingFileIsASystemError() throws {
        let dir = try TestDirectory()
        let path = dir.file("absent.eif")
        let error = #expect(throws: SystemError.self) { try FileMeasurement.measure(path: path) }
        #expect(error?.errno == ENOENT)
        #expect(error?.path == path)
    }
}

/// The expectations check: measured registers (under the names releases use) against a release's targets.
@Suite struct ReleaseExpectationTests {
    static let a = String(repeating: "aa", count: 48)
    static let b = String(repeating: "bb", count: 48)
    static let c = String(repeating: "cc", count: 48)

    static func release(in dir: TestDirectory) throws -> String {
        let manifest = ReleaseManifest(
            name: "node", version: "1.0", sourceDateEpoch: 1,
            recipe: .init(path: "Recipes/node/recipe.toml", sha256: String(repeating: "0", count: 64)),
            lock: .init(path: "Recipes/node/recipe.lock", sha256: String(repeating: "1", count: 64)), inputs: [],
            artifacts: [.init(name: "node.eif", size: 3, sha256: String(repeating: "2", count: 64))],
            targets: [
                .init(
                    name: "nitro", platform: .nitro, artifacts: ["node.eif"],
                    measurements: [("PCR0", a), ("PCR1", b), ("PCR2", c)], settings: .object([])),
                .init(
                    name: "snp", platform: .sevSNP, artifacts: ["node.eif"], measurements: [("MEASUREMENT", c)],
                    settings: .object([])),
            ])
        let path = dir.path + "/node.json"
        try manifest.write(to: path)
        return path
    }

    static func report(_ values: [(String, String)]) -> MeasurementReport {
        MeasurementReport(format: "test", title: "test", values: values)
    }

    /// Measured registers, the targets that match, and the register reported as differing (if any).
    static let cases: [(String, [(String, String)], [String], String?)] = [
        ("all three PCRs", [("PCR0", a), ("PCR1", b), ("PCR2", c)], ["nitro"], nil),
        (
            "PCR8 is not in the release: still a match", [("PCR0", a), ("PCR1", b), ("PCR2", c), ("PCR8", a)],
            ["nitro"], nil
        ),
        ("one PCR differs", [("PCR0", a), ("PCR1", a), ("PCR2", c)], [], "PCR1"),
        ("snp-launch-digest is the release's MEASUREMENT", [("snp-launch-digest", c)], ["snp"], nil),
        ("a launch digest that differs", [("snp-launch-digest", a)], [], "MEASUREMENT"),
    ]

    @Test(arguments: cases)
    func compares(_ name: String, measured: [(String, String)], matching: [String], differing: String?) throws {
        let dir = try TestDirectory()
        let outcome = try ReleaseExpectation.check([Self.report(measured)], against: Self.release(in: dir), policy: nil)
        #expect(outcome.signaturesChecked == false)
        #expect((outcome.failure == nil) == !matching.isEmpty, "\(name)")
        guard case .object(let fields) = outcome.json else {
            Issue.record("not an object")
            return
        }
        let json = Dictionary(fields, uniquingKeysWith: { a, _ in a })
        #expect(json["matching_targets"] == .array(matching.map { .string($0) }), "\(name)")
        if let differing {
            #expect(outcome.text.contains(": \(differing) expected "), "\(name): \(outcome.text)")
        } else {
            #expect(outcome.text.hasPrefix("matches release node 1.0, target \(matching[0])"), "\(name)")
        }
    }

    @Test func noComparableRegister() throws {
        let dir = try TestDirectory()
        let outcome = try ReleaseExpectation.check(
            [Self.report([("MRENCLAVE", Self.a)])], against: Self.release(in: dir), policy: nil)
        #expect(outcome.failure?.contains("no target with a register this file gives: MRENCLAVE") == true)
    }
}
