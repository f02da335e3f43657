import EnclaveCore
import FoundationEssentials
import SwiftASN1
import X509

/// What `enclavekit eif describe` reports: the fields of `nitro-cli describe-eif`, recomputed from the
/// file (nothing stored in the file is trusted), plus EnclaveKit's own layout checks.
///
/// ```swift
/// let d = try EIFDescription(image: eif)
/// print(d.json.serialized(style: .pretty))
/// ```
public struct EIFDescription: Sendable {
    public var version: UInt16
    public var measurements: EIFMeasurements
    public var crcValid: Bool
    public var architecture: EIFArchitecture
    public var signature: SignatureInfo?
    public var metadata: JSONValue?
    public var isContiguous: Bool
    public var trailingBytes: UInt64
    public var sections: [EIFSection]

    /// The signing certificate as nitro-cli prints it.
    public struct SignatureInfo: Sendable {
        /// Issuer attributes by OpenSSL long name, sorted by name.
        public var issuer: [(String, String)]
        public var algorithm: String
        public var notBefore: String
        public var notAfter: String
        /// The certificate's own signature bytes, uppercase hex separated by colons.
        public var certificateSignature: String
        public var check: EIFSignature.Check
    }

    /// What is wrong with the file, one phrase each (empty for a sound EIF): a CRC-32 that does not
    /// match, a signature that does not verify or that signs another PCR0. `eif describe` and `measure`
    /// print these and exit non-zero.
    public var problems: [String] {
        var out: [String] = []
        if !crcValid { out.append("CRC-32 mismatch: the file is corrupt") }
        if let check = signature?.check {
            if !check.signatureValid { out.append("the signature does not verify") }
            if !check.payloadMatchesPCR0 { out.append("the signed PCR0 is not this image's PCR0") }
        }
        return out
    }

    public init(image: EIFImage, progress: (any ProgressSink)? = nil) throws {
        let v = try image.measure(checkCRC: true, progress: progress)
        version = image.header.version
        measurements = v.measurements
        crcValid = v.crcMatches ?? false
        architecture = image.architecture
        isContiguous = image.isContiguous
        trailingBytes = image.trailingBytes
        sections = image.sections
        if let s = image.section(.signature) {
            do {
                let sig = try EIFSignature.decode(try image.data(of: s), baseOffset: s.dataOffset)
                let cert = try sig.certificate()
                signature = SignatureInfo(
                    issuer: Self.issuerNames(cert), algorithm: Self.algorithmName(cert.signatureAlgorithm),
                    notBefore: Self.opensslTime(cert.notValidBefore), notAfter: Self.opensslTime(cert.notValidAfter),
                    certificateSignature: try Self.signatureBytes(try sig.certificateDER()).map { Self.upperHex($0) }
                        .joined(separator: ":"),
                    check: try sig.verify(expectedPCR0: v.measurements.pcr0))
            } catch let e as FormatError {
                throw e.in(file: image.file.path)
            }
        }
        if let m = image.section(.metadata) {
            let bytes = try image.data(of: m, limit: 1 << 20)
            metadata = try? JSONParsing.parse(bytes)
        }
    }

    public var isSigned: Bool { signature != nil }

    /// nitro-cli's describe-eif JSON, plus `ArchitectureType`.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("EifVersion", .int(version)), ("Measurements", measurements.json), ("IsSigned", .bool(isSigned)),
        ]
        if let s = signature {
            pairs.append(
                (
                    "SigningCertificate",
                    .object([
                        ("IssuerName", .object(s.issuer.map { ($0.0, .string($0.1)) })),
                        ("Algorithm", .string(s.algorithm)), ("NotBefore", .string(s.notBefore)),
                        ("NotAfter", .string(s.notAfter)), ("Signature", .string(s.certificateSignature)),
                    ])
                ))
        }
        pairs.append(("CheckCRC", .bool(crcValid)))
        if let s = signature {
            pairs.append(("SignatureCheck", .bool(s.check.signatureValid && s.check.payloadMatchesPCR0)))
        }
        pairs.append(("ArchitectureType", .string(architecture.rawValue)))
        if let metadata {
            if let name = metadata["ImageName"] { pairs.append(("ImageName", name)) }
            if let version = metadata["ImageVersion"] { pairs.append(("ImageVersion", version)) }
            if let build = metadata["BuildMetadata"] {
                // MetadataDescribeInfo's field order, then the custom metadata's keys (sorted).
                var m: [(String, JSONValue)] = [
                    "BuildTime", "BuildTool", "BuildToolVersion", "OperatingSystem", "KernelVersion",
                ]
                .map { ($0, build[$0] ?? .null) }
                m.append(("DockerInfo", metadata["DockerInfo"] ?? .null))
                if case .object(let custom)? = metadata["CustomMetadata"] { m += custom }
                pairs.append(("Metadata", .object(m)))
            }
        }
        return .object(pairs)
    }

    // MARK: OpenSSL-style certificate fields

    static let longNames: [String: String] = [
        "2.5.4.3": "commonName", "2.5.4.6": "countryName", "2.5.4.10": "organizationName",
        "2.5.4.11": "organizationalUnitName", "2.5.4.7": "localityName", "2.5.4.8": "stateOrProvinceName",
        "1.2.840.113549.1.9.1": "emailAddress", "2.5.4.5": "serialNumber", "2.5.4.9": "streetAddress",
        "0.9.2342.19200300.100.1.25": "domainComponent", "2.5.4.17": "postalCode", "2.5.4.4": "surname",
        "2.5.4.42": "givenName", "2.5.4.12": "title",
    ]

    static func issuerNames(_ cert: Certificate) -> [(String, String)] {
        var names: [String: String] = [:]
        for rdn in cert.issuer {
            for attribute in rdn {
                let oid = attribute.type.description
                names[longNames[oid] ?? oid] = attribute.value.description
            }
        }
        return names.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func algorithmName(_ algorithm: Certificate.SignatureAlgorithm) -> String {
        switch algorithm {
        case .ecdsaWithSHA256: "ecdsa-with-SHA256"
        case .ecdsaWithSHA384: "ecdsa-with-SHA384"
        case .ecdsaWithSHA512: "ecdsa-with-SHA512"
        case .sha256WithRSAEncryption: "sha256WithRSAEncryption"
        case .sha384WithRSAEncryption: "sha384WithRSAEncryption"
        case .sha512WithRSAEncryption: "sha512WithRSAEncryption"
        case .ed25519: "ED25519"
        default: String(describing: algorithm)
        }
    }

    /// `ASN1_TIME_print`: `Nov 21 13:02:51 2026 GMT`, the day padded with a space. The UTC civil time comes
    /// from `CivilTime` (no calendar or locale needed).
    static func opensslTime(_ date: Date) -> String {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        // YYYY-MM-DDTHH:MM:SSZ: X.509 times lie in years 1950-9999, so the year has no sign.
        let rfc3339 = CivilTime.format(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        let parts = rfc3339.dropLast().split(whereSeparator: { $0 == "-" || $0 == "T" })
        let year = parts.count == 4 ? Int(parts[0]) ?? 0 : 0
        let month = parts.count == 4 ? Int(parts[1]) ?? 1 : 1
        let day = parts.count == 4 ? Int(parts[2]) ?? 0 : 0
        let time = parts.count == 4 ? String(parts[3]) : "00:00:00"
        return "\(months[min(max(month, 1), 12) - 1]) \(day < 10 ? " " : "")\(day) \(time) \(year) GMT"
    }

    /// The BIT STRING that ends a certificate: its own signature.
    static func signatureBytes(_ der: [UInt8]) throws(FormatError) -> [UInt8] {
        do {
            let root = try DER.parse(der)
            guard case .constructed(let children) = root.content else {
                throw ASN1Error.invalidASN1Object(reason: "not a sequence")
            }
            let nodes = Array(children)
            guard nodes.count == 3 else { throw ASN1Error.invalidASN1Object(reason: "expected 3 elements") }
            return Array(try ASN1BitString(derEncoded: nodes[2]).bytes)
        } catch {
            throw FormatError(
                .badValue, format: "X.509", offset: nil, "cannot read the certificate's signature: \(error)")
        }
    }

    static func upperHex(_ b: UInt8) -> String {
        let d = Array("0123456789ABCDEF")
        return String([d[Int(b >> 4)], d[Int(b & 0xf)]])
    }
}
