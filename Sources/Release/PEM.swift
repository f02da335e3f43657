import EnclaveCore

/// One PEM block (RFC 7468): a label such as `PUBLIC KEY` or `PRIVATE KEY` and the DER bytes.
///
/// The reader is strict (one block, base64 lines between matching BEGIN/END lines, `\n` or `\r\n`
/// line ends, surrounding blank lines allowed) and never quotes the key material in its errors. The
/// writer emits 64-character lines and a trailing newline, as OpenSSL and pyca/cryptography do,
/// because securesystemslib's ECDSA keyid hashes exactly that text (see ``PublicKey/keyid``).
///
/// ```swift
/// let block = try PEMBlock(parsing: Array(pemText.utf8), format: "key.pub.pem")
/// print(block.label)  // "PUBLIC KEY"
/// ```
public struct PEMBlock: Sendable, Equatable {
    public var label: String
    public var der: [UInt8]

    public init(label: String, der: [UInt8]) {
        self.label = label
        self.der = der
    }

    /// The largest PEM file accepted (keys are a few hundred bytes).
    public static let maxBytes = 64 << 10

    public init(parsing bytes: [UInt8], format: String) throws(FormatError) {
        guard bytes.count <= PEMBlock.maxBytes else {
            throw FormatError(.tooLarge, format: format, offset: 0, "PEM file is \(bytes.count) bytes, expected a key")
        }
        // Split into lines, remembering where each starts.
        var lines: [(offset: Int, text: [UInt8])] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            var line = Array(bytes[start..<i])
            if line.last == 0x0D { line.removeLast() }
            lines.append((start, line))
            start = i + 1
        }
        if start < bytes.count { lines.append((start, Array(bytes[start...]))) }
        let content = lines.filter { !$0.text.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
        guard let first = content.first else {
            throw FormatError(
                .missing, format: format, offset: 0, "no PEM block (expected '-----BEGIN PUBLIC KEY-----' or similar)")
        }
        let begin = Array("-----BEGIN ".utf8)
        let end = Array("-----END ".utf8)
        let dashes = Array("-----".utf8)
        guard first.text.starts(with: begin), first.text.count > begin.count + dashes.count,
            first.text.suffix(dashes.count).elementsEqual(dashes)
        else {
            throw FormatError(.badMagic, format: format, offset: first.offset, "expected a '-----BEGIN …-----' line")
        }
        let labelBytes = first.text[begin.count..<(first.text.count - dashes.count)]
        guard labelBytes.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x20 || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw FormatError(
                .badValue, format: format, offset: first.offset, "the PEM label has unexpected characters")
        }
        let label = String(decoding: labelBytes, as: UTF8.self)
        guard let endIndex = content.firstIndex(where: { $0.text.starts(with: end) }) else {
            throw FormatError(.truncated, format: format, offset: bytes.count, "no '-----END \(label)-----' line")
        }
        let endLine = content[endIndex]
        guard endLine.text.elementsEqual(end + Array(labelBytes) + dashes) else {
            throw FormatError(
                .badValue, format: format, offset: endLine.offset, "the END line does not match 'BEGIN \(label)'")
        }
        guard endIndex == content.count - 1 else {
            throw FormatError(
                .badValue, format: format, offset: content[endIndex + 1].offset,
                "unexpected text after the PEM block (one key per file)")
        }
        var body = ""
        for line in content[1..<endIndex] {
            if line.text.contains(UInt8(ascii: ":")) {
                throw FormatError(
                    .unsupported, format: format, offset: line.offset,
                    "PEM headers (encrypted keys) are not supported; decrypt the key first: openssl pkey -in KEY -out PLAIN.pem"
                )
            }
            body += String(decoding: line.text, as: UTF8.self)
        }
        guard !body.isEmpty else {
            throw FormatError(.truncated, format: format, offset: endLine.offset, "the PEM block has no content")
        }
        let der: [UInt8]
        do throws(FormatError) {
            der = try Base64.decode(body, format: format)
        } catch {
            // Do not report positions inside the key text: say which block and what is wrong.
            throw FormatError(
                .badValue, format: format, offset: content[1].offset,
                "the PEM block's base64 is malformed (\(error.message))")
        }
        self.label = label
        self.der = der
    }

    /// `-----BEGIN LABEL-----`, base64 in 64-character lines, `-----END LABEL-----`, each ending in `\n`.
    public var text: String {
        let b64 = Array(Base64.encode(der).utf8)
        var out = "-----BEGIN \(label)-----\n"
        var i = 0
        while i < b64.count {
            let j = min(i + 64, b64.count)
            out += String(decoding: b64[i..<j], as: UTF8.self) + "\n"
            i = j
        }
        out += "-----END \(label)-----\n"
        return out
    }
}
