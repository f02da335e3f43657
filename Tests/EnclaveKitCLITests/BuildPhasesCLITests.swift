import Foundation
import TestSupport
import Testing

/// `build` reports the time spent per phase (inputs, environments, steps, pack) in its summary and in
/// `--json`, for the benchmark the issue asks for; a recipe without environments lists none and its
/// manifest has no `environments` field.
@Suite("Build phases CLI", .serialized)
struct BuildPhasesCLITests {
    @Test func summaryAndJSONGiveThePhases() throws {
        let repo = try BuildCLITests.ToyRepository()
        try repo.lock()
        let out = repo.temp.path + "/out"
        let json = try repo.build(out: out, extra: ["--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let phases = try #require(object["phases"] as? [String: Any])
        #expect(Set(phases.keys) == ["inputs", "environments", "steps", "pack"])
        #expect(phases.values.allSatisfy { ($0 as? Double).map { $0 >= 0 } ?? false })
        #expect((object["environments"] as? [Any])?.isEmpty == true)
        let manifest = try String(contentsOfFile: out + "/manifest.json", encoding: .utf8)
        #expect(!manifest.contains("\"environments\""))

        let summary = try repo.build(out: repo.temp.path + "/second", extra: [])
        #expect(summary.status == 0, "\(summary.stderr)")
        #expect(
            summary.stdout.split(separator: "\n").contains {
                $0.wholeMatch(of: /time: inputs \d+\.\d s, environments \d+\.\d s, steps \d+\.\d s, pack \d+\.\d s/)
                    != nil
            }, "\(summary.stdout)")
    }
}
