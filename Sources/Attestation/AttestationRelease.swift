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

    /// The registers the evidence must carry for `target` (name, bytes).
    static func expectedRegisters(_ target: ReleaseManifest.Target) -> [Measurement] {
        var out: [Measurement] = []
        for (name, hex) in target.measurements {
            if let value = Hex.decode(hex) { out.append(Measurement(name, value)) }
        }
        if target.platform == .sgx {
            // `enclavekit build` writes isvProdId/isvSvn; older hand-written manifests spell them in lowercase.
            for (key, register) in [("isvProdId", "ISVPRODID"), ("isvSvn", "ISVSVN")] {
                guard case .number(let text) = target.settings[key] ?? target.settings[key.lowercased()],
                    let v = UInt16(text)
                else { continue }
                out.append(Measurement(register, [UInt8(v & 0xFF), UInt8(v >> 8)]))
            }
        }
        return out
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
        var mismatches: [String] = []
        let expected = Self.expectedRegisters(target)
        for e in expected {
            guard let found = result.measurement(e.name) else {
                mismatches.append("the evidence has no \(e.name)")
                continue
            }
            if found != e.value {
                mismatches.append("\(e.name) is \(Hex.encode(found)), the release has \(Hex.encode(e.value))")
            }
        }
        let ok = mismatches.isEmpty && !expected.isEmpty
        result.release = ReleaseSummary(
            name: manifest.name, version: manifest.version, target: target.name, matches: ok)
        let signers = report.threshold.signers.joined(separator: ", ")
        result.checks.append(
            ok
                ? Check(
                    "release", ok: true,
                    "\(manifest.name) \(manifest.version) (signed by \(signers)), target \(target.name): "
                        + expected.map(\.name).joined(separator: ", ") + " equal")
                : Check(
                    "release", ok: false,
                    "\(manifest.name) \(manifest.version) target \(target.name): "
                        + (expected.isEmpty ? "the target has no measurements" : mismatches.joined(separator: "; "))))
    }
}
