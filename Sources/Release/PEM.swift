import EnclaveCore
import SwiftASN1

/// One PEM block (RFC 7468) of a key file: its label, such as `PUBLIC KEY` or `PRIVATE KEY`, and
/// its DER bytes, read with SwiftASN1's `PEMDocument` (the parser swift-crypto's
/// `init(pemRepresentation:)` uses).
///
/// This wrapper only adds what the release tools need around it: a size limit, one block per
/// file, a clear refusal of encrypted (`Proc-Type:`) keys, and errors that name the file but never
/// quote the key material. Writing PEM is swift-crypto's `pemRepresentation` (see
/// ``PublicKey/pem``).
///
/// ```swift
/// let block = try PEMBlock(parsing: Array(pemText.utf8), format: "key.pub.pem")
/// print(block.label)  // "PUBLIC KEY"
/// ```
public struct PEMBlock: Sendable, Equatable {
    public var label: String
    public var der: [UInt8]

    /// The largest PEM file accepted (keys are a few hundred bytes).
    public static let maxBytes = 64 << 10

    public init(parsing bytes: [UInt8], format: String) throws(FormatError) {
        guard bytes.count <= PEMBlock.maxBytes else {
            throw FormatError(.tooLarge, format: format, offset: 0, "PEM file is \(bytes.count) bytes, expected a key")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(.badValue, format: format, offset: 0, "the PEM file is not UTF-8 text")
        }
        if let header = PEMBlock.range(of: "Proc-Type:", in: bytes) {
            throw FormatError(
                .unsupported, format: format, offset: header,
                "PEM headers (encrypted keys) are not supported; decrypt the key first: openssl pkey -in KEY -out PLAIN.pem"
            )
        }
        let document: PEMDocument
        do {
            document = try PEMDocument(pemString: text)
        } catch {
            throw FormatError(.badValue, format: format, offset: 0, PEMBlock.reason(error))
        }
        label = document.discriminator
        der = document.derBytes
    }

    /// What SwiftASN1's `invalidPEMDocument` reason means, in words that name the structure and never
    /// quote the file (its own reasons embed debug descriptions of the text).
    private static func reason(_ error: any Error) -> String {
        let text = "\(error)"
        let meanings: [(String, String)] = [
            ("could not find PEM start marker", "no PEM block (expected '-----BEGIN PUBLIC KEY-----' or similar)"),
            ("but not", "no matching '-----END …-----' line"),
            ("don't match", "the END line does not match the BEGIN line"),
            ("base64", "the PEM block's base64 is malformed"),
            ("Multiple", "more than one PEM block (one key per file)"),
            ("empty body", "the PEM block has no content"),
            ("line lengths", "the PEM block's base64 is malformed (its lines are not 64 characters long)"),
        ]
        return meanings.first { text.contains($0.0) }?.1 ?? "not a valid PEM block"
    }

    /// The offset of the first occurrence of `needle` in `bytes`, if any.
    private static func range(of needle: String, in bytes: [UInt8]) -> Int? {
        let pattern = Array(needle.utf8)
        guard bytes.count >= pattern.count else { return nil }
        return (0...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }
}
