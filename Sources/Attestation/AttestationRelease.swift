import EnclaveCore
import Release

/// A signed release that evidence is checked against (`attest verify --release … --policy …`): verified
/// exactly as `enclavekit verify` does it (Release's `ReleaseVerifier`: signatures, k-of-n threshold, Statement
/// and manifest), then each piece of evidence must carry the registers of the release's target for its
/// TEE — Nitro PCR0, PCR1, PCR2 (and PCR8 when the release has it), SEV-SNP MEASUREMENT, TDX MRTD and
/// the RTMRs the manifest has, SGX MRENCLAVE and MRSIGNER and the target's isvProdId/isvSvn.
///
/// ```swift
/// let release = try AttestationRelease(documents: [(bytes, "release.dsse.json")], policy: trust)
/// let result = Attestation.verify(inputs, tee: .nitro, policy: policy, release: release)
/// ```
public struct AttestationRelease: Sendable {
    public let report: VerificationReport

    /// Throws for a document that does not parse; a release that parses but does not verify fails the
    /// `release` check of every piece of evidence.
    public init(documents: [(bytes: [UInt8], format: String)], policy: ReleasePolicy) throws {
        report = try ReleaseVerifier.verify(documents: documents, policy: policy)
    }

    public init(report: VerificationReport) {
        self.report = report
    }

    static func platform(_ tee: TEE) -> ReleaseManifest.Platform {
        switch tee {
        case .nitro: .nitro
        case .sevSNP: .sevSNP
        case .tdx: .tdx
        case .sgx: .sgx
        }
    }

    /// The evidence's registers as (name, lowercase hex), the first of each name, for
    /// ``ReleaseManifest/Target/compareAttested(measured:)``.
    static func registers(_ measurements: [Measurement]) -> [(String, String)] {
        var seen = Set<String>()
        return measurements.filter { seen.insert($0.name).inserted }.map { ($0.name, Hex.encode($0.value)) }
    }

    /// Appends the `release` check to `result` (and its summary).
    public func check(_ result: inout AttestationResult, target name: String? = nil) {
        guard let statement = report.statement, report.isVerified else {
            let reason = report.error?.description ?? "the release does not verify"
            result.checks.append(Check("release", ok: false, "the release does not verify: \(reason)"))
            return
        }
        let manifest = statement.manifest
        let platform = Self.platform(result.tee)
        let candidates = manifest.targets.filter { $0.platform == platform && (name == nil || $0.name == name) }
        guard candidates.count == 1, let target = candidates.first else {
            let all = manifest.targets.filter { $0.platform == platform }.map(\.name)
            let detail: String
            if let name {
                detail =
                    "\(manifest.name) \(manifest.version) has no \(platform.rawValue) target '\(name)'"
                    + (all.isEmpty ? "" : " (it has \(all.joined(separator: ", ")))")
            } else if all.isEmpty {
                detail = "\(manifest.name) \(manifest.version) has no \(platform.rawValue) target"
            } else {
                detail =
                    "\(manifest.name) \(manifest.version) has several \(platform.rawValue) targets "
                    + "(\(all.joined(separator: ", "))): choose one with --target"
            }
            result.checks.append(Check("release", ok: false, detail))
            return
        }
        // Every register the target's hardware reports (Release's one comparison) must be in the evidence
        // and equal: one line per register, in manifest order.
        let comparison = target.compareAttested(measured: Self.registers(result.measurements))
        let expected = comparison.registers
        var mismatches: [String] = []
        for register in expected {
            if comparison.notCompared.contains(register) {
                mismatches.append("the evidence has no \(register)")
            } else if let d = comparison.differences.first(where: { $0.register == register }) {
                mismatches.append("\(register) is \(d.actual), the release has \(d.expected)")
            }
        }
        let ok = comparison.isCompleteMatch
        result.release = ReleaseSummary(
            name: manifest.name, version: manifest.version, target: target.name, matches: ok)
        let signers = report.threshold.signers.joined(separator: ", ")
        result.checks.append(
            ok
                ? Check(
                    "release", ok: true,
                    "\(manifest.name) \(manifest.version) (signed by \(signers)), target \(target.name): "
                        + expected.joined(separator: ", ") + " equal")
                : Check(
                    "release", ok: false,
                    "\(manifest.name) \(manifest.version) target \(target.name): "
                        + (expected.isEmpty ? "the target has no measurements" : mismatches.joined(separator: "; "))))
    }
}
