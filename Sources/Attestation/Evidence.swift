import EnclaveCore

/// The trusted execution environment that produced a piece of attestation evidence.
public enum TEE: String, Sendable, CaseIterable, Hashable {
    /// AWS Nitro Enclaves: a CBOR COSE_Sign1 attestation document from the Nitro Secure Module.
    case nitro
    /// AMD SEV-SNP: a 1184-byte ATTESTATION_REPORT signed by the VCEK or VLEK.
    case sevSNP = "sev-snp"
    /// Intel TDX: a DCAP quote, version 4 or 5, with a TD report body.
    case tdx
    /// Intel SGX: a DCAP quote, version 3 (or 4), with an enclave report body.
    case sgx
}

/// One verification step and its outcome, in the order the checks ran.
///
/// Ids are stable: scripts match on them. The same id means the same kind of check on every TEE:
/// `structure`, `root`, `chain`, `crl`, `collateral`, `signature`, `qe-report`, `qe-identity`, `vcek-tcb`,
/// `vcek-hwid`, `tcb-status`, `tdx-module`, `debug`, `service-td`, `freshness`, `measurements`, `release`.
public struct Check: Sendable, Equatable {
    public var id: String
    public var ok: Bool
    /// What was found (and, on failure, what was expected), one line.
    public var detail: String

    public init(_ id: String, ok: Bool, _ detail: String) {
        self.id = id
        self.ok = ok
        self.detail = detail
    }
}

/// A named measurement register as the evidence reports it: `PCR0`…`PCR31` (Nitro), `MEASUREMENT`
/// (SEV-SNP), `MRTD`, `RTMR0`…`RTMR3`, `MRCONFIGID` (TDX), `MRENCLAVE`, `MRSIGNER`, `ISVPRODID`, `ISVSVN`
/// (SGX). Names are the ones release manifests use, so the two can be compared by name.
public struct Measurement: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]

    public init(_ name: String, _ value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// What the verifier accepts. The defaults are the strict ones: TCB status `UpToDate` only, no
/// advisories, no debug evidence, no freshness requirement unless a nonce or report data is given.
public struct AttestationPolicy: Sendable {
    /// The time at which certificates, CRLs and collateral must be valid, in Unix seconds.
    public var verificationTime: Int64
    /// TCB statuses accepted besides `UpToDate` (`Revoked` is never accepted).
    public var allowedTCBStatuses: Set<String> = ["UpToDate"]
    /// Advisory ids (`INTEL-SA-00615`) that may be present.
    public var allowedAdvisories: Set<String> = []
    public var allowDebug = false
    /// Accept a TDX 1.5 TD bound to a service TD (non-zero MRSERVICETD). Off by default, as in dcap-qvl:
    /// a service TD (for example a migration TD) can act on the TD's behalf.
    public var allowServiceTD = false
    /// Nitro: the document's signed `timestamp` must be at most this many seconds before the verification
    /// time, and at most ``maxClockSkew`` seconds after it. `nil`: no age limit.
    public var maxAge: Int64?
    /// How far in the future of the verification time a Nitro `timestamp` may be when `maxAge` is set.
    public static let maxClockSkew: Int64 = 60
    /// The Nitro document's `nonce` must equal this.
    public var expectedNonce: [UInt8]?
    /// The report data (SNP REPORT_DATA, DCAP report_data; Nitro: `user_data`) must equal this, zero-padded
    /// to the field's size when shorter.
    public var expectedReportData: [UInt8]?
    /// Registers that must equal these values (from `--expect` and from a release target), by name.
    public var expectedMeasurements: [Measurement] = []

    public init(verificationTime: Int64) {
        self.verificationTime = verificationTime
    }
}

/// Everything an operator may hand over besides the evidence itself.
public struct EvidenceInputs: Sendable {
    public var evidence: [UInt8]
    /// Where the evidence came from, for error messages.
    public var name: String
    /// DCAP collateral in dcap-qvl's `QuoteCollateralV3` JSON form (SGX, TDX).
    public var collateral: [UInt8]?
    /// The SEV-SNP VCEK or VLEK certificate, PEM or DER.
    public var vcek: [UInt8]?
    /// The SEV-SNP ASK (or ASVK) and ARK, PEM, in AMD KDS `cert_chain` order (ASK first).
    public var certChain: [UInt8]?
    /// The SEV-SNP product, when the report cannot tell (version 2 reports).
    public var product: String?

    public init(evidence: [UInt8], name: String) {
        self.evidence = evidence
        self.name = name
    }
}

/// The verdict on one piece of evidence.
public struct AttestationResult: Sendable {
    public var tee: TEE
    public var verificationTime: Int64
    public var checks: [Check] = []
    public var measurements: [Measurement] = []
    /// DCAP: the combined platform and QE TCB status; SEV-SNP: nil.
    public var tcbStatus: String?
    public var advisories: [String] = []
    /// The release the evidence was compared with (`--release`), when one was given.
    public var release: ReleaseSummary?

    public init(tee: TEE, verificationTime: Int64) {
        self.tee = tee
        self.verificationTime = verificationTime
    }

    /// True when every check passed (and at least one ran).
    public var verified: Bool { !checks.isEmpty && checks.allSatisfy(\.ok) }
    /// The ids of the checks that failed, in order.
    public var failed: [String] { checks.filter { !$0.ok }.map(\.id) }

    public func measurement(_ name: String) -> [UInt8]? { measurements.first { $0.name == name }?.value }
}

/// Which release target the evidence was compared with, and whether its registers matched.
public struct ReleaseSummary: Sendable, Equatable {
    public var name: String
    public var version: String
    public var target: String
    public var matches: Bool

    public init(name: String, version: String, target: String, matches: Bool) {
        self.name = name
        self.version = version
        self.target = target
        self.matches = matches
    }
}
