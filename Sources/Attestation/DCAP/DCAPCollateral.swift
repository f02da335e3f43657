import EnclaveCore

/// DCAP collateral in dcap-qvl's `QuoteCollateralV3` JSON form: the CRLs (hex DER), the issuer chains
/// (PEM), and the TCB info and QE identity **as the exact bytes Intel served**, since their signatures
/// cover that text. Parsed with EnclaveCore's strict JSON parser (duplicate keys are errors).
///
/// ```swift
/// let collateral = try DCAPCollateral.parse(bytes)
/// let tcbInfo = try TCBInfo.parse(collateral.tcbInfo)
/// ```
public struct DCAPCollateral: Sendable {
    public static let format = "DCAP collateral"
    public var pckCRLIssuerChain: [UInt8]
    public var rootCACRL: [UInt8]
    public var pckCRL: [UInt8]
    public var tcbInfoIssuerChain: [UInt8]
    /// The TCB info JSON object exactly as served (the signed bytes).
    public var tcbInfo: [UInt8]
    /// r‖s, 64 bytes.
    public var tcbInfoSignature: [UInt8]
    public var qeIdentityIssuerChain: [UInt8]
    /// The QE identity JSON object exactly as served (the signed bytes).
    public var qeIdentity: [UInt8]
    public var qeIdentitySignature: [UInt8]

    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> DCAPCollateral {
        let value = try JSONParser.parse(bytes, format: format, limits: .init(maxDepth: 16, maxBytes: 4 << 20))
        guard case .object = value else {
            throw FormatError(.badValue, format: format, offset: 0, "expected a JSON object (QuoteCollateralV3)")
        }
        func string(_ key: String) throws(FormatError) -> String {
            guard let v = value[key] else {
                throw FormatError(.missing, format: format, offset: 0, "no \"\(key)\" member (QuoteCollateralV3)")
            }
            guard case .string(let s) = v else {
                throw FormatError(.badValue, format: format, offset: 0, "\"\(key)\" is not a string")
            }
            return s
        }
        func hex(_ key: String, size: Int? = nil) throws(FormatError) -> [UInt8] {
            let text = try string(key)
            guard let bytes = Hex.decode(text), !bytes.isEmpty else {
                throw FormatError(.badValue, format: format, offset: 0, "\"\(key)\" is not hexadecimal")
            }
            if let size, bytes.count != size {
                throw FormatError(
                    .badValue, format: format, offset: 0, "\"\(key)\" is \(bytes.count) bytes, expected \(size)")
            }
            return bytes
        }
        return DCAPCollateral(
            pckCRLIssuerChain: Array(try string("pck_crl_issuer_chain").utf8),
            rootCACRL: try hex("root_ca_crl"),
            pckCRL: try hex("pck_crl"),
            tcbInfoIssuerChain: Array(try string("tcb_info_issuer_chain").utf8),
            tcbInfo: Array(try string("tcb_info").utf8),
            tcbInfoSignature: try hex("tcb_info_signature", size: 64),
            qeIdentityIssuerChain: Array(try string("qe_identity_issuer_chain").utf8),
            qeIdentity: Array(try string("qe_identity").utf8),
            qeIdentitySignature: try hex("qe_identity_signature", size: 64))
    }
}

/// The TCB statuses Intel's collateral uses, from best to worst (the combined status is the worse one).
public enum TCBStatus: String, Sendable, CaseIterable, Comparable {
    case upToDate = "UpToDate"
    case swHardeningNeeded = "SWHardeningNeeded"
    case configurationNeeded = "ConfigurationNeeded"
    case configurationAndSWHardeningNeeded = "ConfigurationAndSWHardeningNeeded"
    /// TDX module levels of TCB info v3: up to date after relaunching the TD (a TD-preserving module
    /// update happened since launch); never accepted unless allowed by name.
    case tdRelaunchAdvised = "TDRelaunchAdvised"
    case tdRelaunchAdvisedConfigurationNeeded = "TDRelaunchAdvisedConfigurationNeeded"
    case outOfDate = "OutOfDate"
    case outOfDateConfigurationNeeded = "OutOfDateConfigurationNeeded"
    case revoked = "Revoked"

    var severity: Int { Self.allCases.firstIndex(of: self) ?? Self.allCases.count }
    public static func < (a: TCBStatus, b: TCBStatus) -> Bool { a.severity < b.severity }
}

/// A status with its advisory ids; ``merged(with:)`` keeps the worse status and the union of advisories.
public struct TCBVerdict: Sendable, Equatable {
    public var status: TCBStatus
    public var advisories: [String]

    public func merged(with other: TCBVerdict) -> TCBVerdict {
        var ids = advisories
        for id in other.advisories where !ids.contains(id) { ids.append(id) }
        return TCBVerdict(status: max(status, other.status), advisories: ids)
    }
}

/// A reader for the typed members of one JSON object inside a collateral document.
struct JSONFields {
    let value: JSONValue
    let format: String
    let path: String

    init(_ value: JSONValue, format: String, path: String) throws(FormatError) {
        guard case .object = value else {
            throw FormatError(.badValue, format: format, offset: nil, "\(path) is not a JSON object")
        }
        self.value = value
        self.format = format
        self.path = path
    }

    func has(_ key: String) -> Bool { value[key] != nil }

    func raw(_ key: String) throws(FormatError) -> JSONValue {
        guard let v = value[key] else {
            throw FormatError(.missing, format: format, offset: nil, "\(path) has no \"\(key)\" member")
        }
        return v
    }

    func string(_ key: String) throws(FormatError) -> String {
        guard case .string(let s) = try raw(key) else {
            throw FormatError(.badValue, format: format, offset: nil, "\(path).\(key) is not a string")
        }
        return s
    }

    func int(_ key: String, max: Int = Int(UInt16.max)) throws(FormatError) -> Int {
        guard case .number(let text) = try raw(key), let n = Int(text), n >= 0, n <= max else {
            throw FormatError(
                .badValue, format: format, offset: nil, "\(path).\(key) is not an integer in 0…\(max)")
        }
        return n
    }

    func hex(_ key: String, size: Int) throws(FormatError) -> [UInt8] {
        let text = try string(key)
        guard let bytes = Hex.decode(text), bytes.count == size else {
            throw FormatError(
                .badValue, format: format, offset: nil, "\(path).\(key) is not \(size) bytes of hexadecimal")
        }
        return bytes
    }

    func date(_ key: String) throws(FormatError) -> Int64 {
        let text = try string(key)
        guard let t = CivilTime.parseRFC3339(text, utcOnly: true) else {
            throw FormatError(
                .badValue, format: format, offset: nil, "\(path).\(key) \"\(text)\" is not an RFC 3339 UTC time")
        }
        return t
    }

    func status(_ key: String) throws(FormatError) -> TCBStatus {
        let text = try string(key)
        guard let s = TCBStatus(rawValue: text) else {
            throw FormatError(.badValue, format: format, offset: nil, "\(path).\(key) \"\(text)\" is not a TCB status")
        }
        return s
    }

    func array(_ key: String) throws(FormatError) -> [JSONValue] {
        guard case .array(let items) = try raw(key) else {
            throw FormatError(.badValue, format: format, offset: nil, "\(path).\(key) is not an array")
        }
        return items
    }

    func object(_ key: String) throws(FormatError) -> JSONFields {
        try JSONFields(try raw(key), format: format, path: "\(path).\(key)")
    }

    func advisories() throws(FormatError) -> [String] {
        guard has("advisoryIDs") else { return [] }
        var out: [String] = []
        for item in try array("advisoryIDs") {
            guard case .string(let s) = item else {
                throw FormatError(.badValue, format: format, offset: nil, "\(path).advisoryIDs holds a non-string")
            }
            out.append(s)
        }
        return out
    }
}

/// Intel TCB info (version 2 for SGX, 3 for SGX and TDX), parsed from its exact bytes.
public struct TCBInfo: Sendable {
    public static let format = "TCB info"

    public struct Level: Sendable {
        public var sgxComponents: [UInt8]
        public var pceSVN: UInt16
        /// TDX only (16 entries); empty for SGX.
        public var tdxComponents: [UInt8]
        public var verdict: TCBVerdict
        public var tcbDate: String
    }

    public struct ModuleIdentity: Sendable {
        public var id: String
        public var mrSigner: [UInt8]
        public var attributes: [UInt8]
        public var attributesMask: [UInt8]
        /// (isvsvn, verdict), highest first as served.
        public var levels: [(isvSVN: Int, verdict: TCBVerdict)]
    }

    public var id: String
    public var version: Int
    public var issueDate: Int64
    public var nextUpdate: Int64
    public var fmspc: [UInt8]
    public var pceID: [UInt8]
    public var levels: [Level]
    public var tdxModule: ModuleIdentity?
    public var tdxModuleIdentities: [ModuleIdentity]

    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> TCBInfo {
        let f = try JSONFields(JSONParser.parse(bytes, format: format), format: format, path: "tcbInfo")
        let id = try f.string("id")
        let version = try f.int("version")
        guard version == 2 || version == 3 else {
            throw FormatError(.badVersion, format: format, offset: nil, "tcbInfo.version \(version), expected 2 or 3")
        }
        var levels: [Level] = []
        for (i, item) in try f.array("tcbLevels").enumerated() {
            let level = try JSONFields(item, format: format, path: "tcbInfo.tcbLevels[\(i)]")
            let tcb = try level.object("tcb")
            var sgx: [UInt8] = []
            var tdx: [UInt8] = []
            var pce = 0
            if version == 2 {
                for n in 1...16 { sgx.append(UInt8(try tcb.int(String(format2: n), max: 255))) }
                pce = try tcb.int("pcesvn")
            } else {
                sgx = try components(tcb, "sgxtcbcomponents")
                pce = try tcb.int("pcesvn")
                if tcb.has("tdxtcbcomponents") { tdx = try components(tcb, "tdxtcbcomponents") }
            }
            levels.append(
                Level(
                    sgxComponents: sgx, pceSVN: UInt16(pce), tdxComponents: tdx,
                    verdict: TCBVerdict(status: try level.status("tcbStatus"), advisories: try level.advisories()),
                    tcbDate: try level.string("tcbDate")))
        }
        var module: ModuleIdentity?
        var identities: [ModuleIdentity] = []
        if f.has("tdxModule") { module = try moduleIdentity(try f.object("tdxModule"), levels: false) }
        if f.has("tdxModuleIdentities") {
            for (i, item) in try f.array("tdxModuleIdentities").enumerated() {
                let m = try JSONFields(item, format: format, path: "tcbInfo.tdxModuleIdentities[\(i)]")
                identities.append(try moduleIdentity(m, levels: true))
            }
        }
        return TCBInfo(
            id: id, version: version, issueDate: try f.date("issueDate"), nextUpdate: try f.date("nextUpdate"),
            fmspc: try f.hex("fmspc", size: 6), pceID: try f.hex("pceId", size: 2), levels: levels, tdxModule: module,
            tdxModuleIdentities: identities)
    }

    private static func components(_ tcb: JSONFields, _ key: String) throws(FormatError) -> [UInt8] {
        let items = try tcb.array(key)
        guard items.count == 16 else {
            throw FormatError(
                .badValue, format: format, offset: nil, "\(tcb.path).\(key) has \(items.count) entries, expected 16")
        }
        var out: [UInt8] = []
        for (i, item) in items.enumerated() {
            let c = try JSONFields(item, format: format, path: "\(tcb.path).\(key)[\(i)]")
            out.append(UInt8(try c.int("svn", max: 255)))
        }
        return out
    }

    private static func moduleIdentity(_ m: JSONFields, levels: Bool) throws(FormatError) -> ModuleIdentity {
        var out: [(Int, TCBVerdict)] = []
        if levels {
            for (i, item) in try m.array("tcbLevels").enumerated() {
                let l = try JSONFields(item, format: format, path: "\(m.path).tcbLevels[\(i)]")
                out.append(
                    (
                        try l.object("tcb").int("isvsvn", max: 255),
                        TCBVerdict(status: try l.status("tcbStatus"), advisories: try l.advisories())
                    ))
            }
        }
        return ModuleIdentity(
            id: levels ? try m.string("id") : "", mrSigner: try m.hex("mrsigner", size: 48),
            attributes: try m.hex("attributes", size: 8), attributesMask: try m.hex("attributesMask", size: 8),
            levels: out)
    }
}

extension String {
    /// TCB info version 2 names its components `sgxtcbcomp01svn` … `sgxtcbcomp16svn`.
    fileprivate init(format2 n: Int) {
        self = "sgxtcbcomp" + (n < 10 ? "0" : "") + String(n) + "svn"
    }
}

/// Intel QE identity (`enclaveIdentity`, version 2), parsed from its exact bytes.
public struct QEIdentity: Sendable {
    public static let format = "QE identity"
    public var id: String
    public var version: Int
    public var issueDate: Int64
    public var nextUpdate: Int64
    public var miscSelect: [UInt8]
    public var miscSelectMask: [UInt8]
    public var attributes: [UInt8]
    public var attributesMask: [UInt8]
    public var mrSigner: [UInt8]
    public var isvProdID: Int
    /// (isvsvn, verdict), highest first as served.
    public var levels: [(isvSVN: Int, verdict: TCBVerdict)]

    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> QEIdentity {
        let f = try JSONFields(JSONParser.parse(bytes, format: format), format: format, path: "enclaveIdentity")
        var levels: [(Int, TCBVerdict)] = []
        for (i, item) in try f.array("tcbLevels").enumerated() {
            let l = try JSONFields(item, format: format, path: "enclaveIdentity.tcbLevels[\(i)]")
            levels.append(
                (
                    try l.object("tcb").int("isvsvn"),
                    TCBVerdict(status: try l.status("tcbStatus"), advisories: try l.advisories())
                ))
        }
        return QEIdentity(
            id: try f.string("id"), version: try f.int("version"), issueDate: try f.date("issueDate"),
            nextUpdate: try f.date("nextUpdate"), miscSelect: try f.hex("miscselect", size: 4),
            miscSelectMask: try f.hex("miscselectMask", size: 4), attributes: try f.hex("attributes", size: 16),
            attributesMask: try f.hex("attributesMask", size: 16), mrSigner: try f.hex("mrsigner", size: 32),
            isvProdID: try f.int("isvprodid"), levels: levels)
    }
}

extension DCAPCollateral {
    /// Parses every piece of a collateral file without checking any signature or time: the TCB info, the
    /// QE identity, both CRLs and the three PEM issuer chains. For format checks and the fuzz harness.
    public static func parseAll(_ bytes: [UInt8]) throws(FormatError) -> (DCAPCollateral, TCBInfo, QEIdentity) {
        let c = try parse(bytes)
        let info = try TCBInfo.parse(c.tcbInfo)
        let identity = try QEIdentity.parse(c.qeIdentity)
        do {
            _ = try DCAPPKI.CRL(der: c.rootCACRL, what: "root_ca_crl")
            _ = try DCAPPKI.CRL(der: c.pckCRL, what: "pck_crl")
            _ = try DCAPPKI.certificates(pem: c.pckCRLIssuerChain, what: "pck_crl_issuer_chain")
            _ = try DCAPPKI.certificates(pem: c.tcbInfoIssuerChain, what: "tcb_info_issuer_chain")
            _ = try DCAPPKI.certificates(pem: c.qeIdentityIssuerChain, what: "qe_identity_issuer_chain")
        } catch {
            throw FormatError(.badValue, format: format, offset: nil, error.description)
        }
        return (c, info, identity)
    }
}
