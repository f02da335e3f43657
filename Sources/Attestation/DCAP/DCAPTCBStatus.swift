import Crypto
import EnclaveCore
import X509

// The TCB level: the platform's TCB against the collateral's TCB info, and the TDX module.
extension DCAPRun {
    mutating func tcbStatus(_ quote: DCAPQuote) {
        guard let info = tcbInfo, let pck else {
            add(
                "tcb-status", false,
                inputs.collateral == nil
                    ? Self.noCollateral : "not evaluated: the collateral or the PCK certificate did not verify")
            if tee == .tdx { add("tdx-module", false, "not evaluated: no TCB info") }
            return
        }
        var teeSVN: [UInt8] = []
        if case .td(let td) = quote.body { teeSVN = td.teeTCBSVN }
        let levels = info.levels.sorted { a, b in
            if a.sgxComponents != b.sgxComponents {
                return a.sgxComponents.lexicographicallyPrecedes(b.sgxComponents) == false
            }
            if a.pceSVN != b.pceSVN { return a.pceSVN > b.pceSVN }
            return tee == .tdx && b.tdxComponents.lexicographicallyPrecedes(a.tdxComponents)
        }
        func level(teeSVN: [UInt8]) -> TCBInfo.Level? {
            levels.first { level in
                guard pck.pceSVN >= level.pceSVN, level.sgxComponents.count == 16,
                    zip(pck.components, level.sgxComponents).allSatisfy({ $0 >= $1 })
                else { return false }
                if tee == .tdx {
                    return level.tdxComponents.count == 16
                        && zip(teeSVN, level.tdxComponents).allSatisfy { $0 >= $1 }
                }
                return true
            }
        }
        var platform = level(teeSVN: teeSVN)
        // TD report 1.5: TEE_TCB_SVN2 is the TDX module's current TCB (after a TD-preserving update); it
        // must match a level too, and the worse of the two statuses counts.
        if case .td(let td) = quote.body, let current = td.teeTCBSVN2, let launch = platform {
            guard let now = level(teeSVN: current) else {
                add(
                    "tcb-status", false,
                    "the current TDX TCB (TEE_TCB_SVN2 \(current.hex)) matches no TCB level of the TCB info: TCB level not supported"
                )
                add("tdx-module", false, "not evaluated: the current TDX TCB matches no level")
                return
            }
            if now.verdict.status > launch.verdict.status {
                platform = TCBInfo.Level(
                    sgxComponents: now.sgxComponents, pceSVN: now.pceSVN, tdxComponents: now.tdxComponents,
                    verdict: launch.verdict.merged(with: now.verdict), tcbDate: now.tcbDate)
            }
        }
        var moduleVerdict: TCBVerdict?
        var moduleCheck: (Bool, String)?
        if tee == .tdx, case .td(let td) = quote.body {
            moduleCheck = tdxModule(td, info: info, verdict: &moduleVerdict)
        }
        guard let platform else {
            var svns = "SGX components \(pck.components.map(String.init).joined(separator: ",")), PCESVN \(pck.pceSVN)"
            if tee == .tdx { svns += ", TEE_TCB_SVN \(teeSVN.hex)" }
            add(
                "tcb-status", false,
                "no TCB level of the TCB info matches this platform (\(svns)): TCB level not supported")
            if let moduleCheck { add("tdx-module", moduleCheck.0, moduleCheck.1) }
            return
        }
        var verdict = platform.verdict
        if let moduleVerdict { verdict = verdict.merged(with: moduleVerdict) }
        if let qeVerdict { verdict = verdict.merged(with: qeVerdict) }
        result.tcbStatus = verdict.status.rawValue
        result.advisories = verdict.advisories
        var parts = ["platform \(platform.verdict.status.rawValue) (TCB date \(platform.tcbDate))"]
        if let moduleVerdict { parts.append("TDX module \(moduleVerdict.status.rawValue)") }
        parts.append(qeVerdict.map { "QE \($0.status.rawValue)" } ?? "QE not evaluated")
        var detail = "\(verdict.status.rawValue): " + parts.joined(separator: ", ")
        if !verdict.advisories.isEmpty { detail += "; advisories " + verdict.advisories.joined(separator: ", ") }
        let statusAllowed =
            verdict.status != .revoked
            && (verdict.status == .upToDate || policy.allowedTCBStatuses.contains(verdict.status.rawValue))
        let notAllowed = verdict.advisories.filter { !policy.allowedAdvisories.contains($0) }
        if qeVerdict == nil {
            add("tcb-status", false, detail + ": the QE TCB status is unknown")
        } else if !statusAllowed {
            add(
                "tcb-status", false,
                detail
                    + (verdict.status == .revoked
                        ? ": Revoked is never accepted"
                        : ": not accepted by the policy (allow it with --allow-tcb-status \(verdict.status.rawValue))"))
        } else if !notAllowed.isEmpty {
            add(
                "tcb-status", false,
                detail
                    + ": advisories not allowed by the policy: \(notAllowed.joined(separator: ", ")) (--allow-advisory ID)"
            )
        } else {
            add("tcb-status", true, detail)
        }
        if let moduleCheck { add("tdx-module", moduleCheck.0, moduleCheck.1) }
    }

    /// The TDX module identity (MRSIGNERSEAM, SEAM attributes) against tcbInfo.tdxModule or the
    /// tdxModuleIdentities entry `TDX_<module version>`, and the module's own TCB level.
    func tdxModule(_ td: TDReportBody, info: TCBInfo, verdict: inout TCBVerdict?) -> (Bool, String) {
        guard var identity = info.tdxModule else { return (false, "the TCB info has no tdxModule") }
        let isvSVN = Int(td.teeTCBSVN[0])
        let moduleVersion = Int(td.teeTCBSVN[1])
        var idName = "tdxModule"
        if moduleVersion > 0, !info.tdxModuleIdentities.isEmpty {
            let want = "TDX_" + (moduleVersion < 16 ? "0" : "") + String(moduleVersion, radix: 16, uppercase: true)
            guard let found = info.tdxModuleIdentities.first(where: { $0.id.uppercased() == want }) else {
                return (false, "the TCB info has no TDX module identity \(want) (TEE_TCB_SVN[1] = \(moduleVersion))")
            }
            identity = found
            idName = want
        }
        guard td.mrSignerSeam == identity.mrSigner else {
            return (false, "MRSIGNERSEAM \(td.mrSignerSeam.hex), expected \(identity.mrSigner.hex) (\(idName))")
        }
        let attrs = td.seamAttributes
        for i in 0..<8 {
            let mask = identity.attributesMask[i]
            guard attrs[i] & mask == identity.attributes[i] & mask, attrs[i] & ~mask == 0 else {
                return (
                    false,
                    "SEAM attributes \(attrs.hex) do not match \(identity.attributes.hex) under \(identity.attributesMask.hex)"
                )
            }
        }
        if !identity.levels.isEmpty {
            guard let level = identity.levels.first(where: { isvSVN >= $0.isvSVN }) else {
                return (false, "TDX module ISVSVN \(isvSVN) is below every level of \(idName)")
            }
            verdict = level.verdict
            return (
                true,
                "\(idName): MRSIGNERSEAM and SEAM attributes match; module ISVSVN \(isvSVN): \(level.verdict.status.rawValue)"
            )
        }
        return (true, "\(idName): MRSIGNERSEAM and SEAM attributes match")
    }
}
