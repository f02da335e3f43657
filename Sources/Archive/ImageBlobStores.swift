import EnclaveCore
import Glibc

/// Where an OCI layout's files are: a directory or a tarball.
protocol BlobStore {
    func contents(of name: String, limit: UInt64) throws -> [UInt8]
    func source(of name: String) throws -> TarSource
    var displayPath: String { get }
}

extension BlobStore {
    /// A blob's bytes, checked against its descriptor's size and digest.
    func blob(_ descriptor: Descriptor, limit: UInt64) throws -> [UInt8] {
        let bytes = try contents(of: descriptor.blobPath, limit: limit)
        guard UInt64(bytes.count) == descriptor.size else {
            throw FormatError(
                .digestMismatch, format: "oci-layout",
                "\(descriptor.digest): \(bytes.count) bytes, descriptor says \(descriptor.size)", file: displayPath)
        }
        try ContainerImage.verify(
            Digest.hash(descriptor.algorithm, bytes), expected: descriptor.hex, what: descriptor.digest,
            file: displayPath)
        return bytes
    }

    func source(of descriptor: Descriptor) throws -> TarSource {
        let source = try source(of: descriptor.blobPath)
        if let length = source.length, length != descriptor.size {
            throw FormatError(
                .digestMismatch, format: "oci-layout",
                "\(descriptor.digest): \(length) bytes, descriptor says \(descriptor.size)", file: displayPath)
        }
        return source
    }
}

struct DirectoryBlobStore: BlobStore {
    let root: String
    var displayPath: String { root }

    func file(_ name: String) throws -> String {
        let parts = try SafePath.components(Array(name.utf8), format: "oci-layout", file: root)
        let full = root + "/" + SafePath.text(parts)
        guard access(full, R_OK) == 0 else {
            throw FormatError(.missing, format: "oci-layout", "\(name) is missing from the layout", file: root)
        }
        return full
    }

    func contents(of name: String, limit: UInt64) throws -> [UInt8] {
        try FileInput.contents(of: try file(name), limit: limit, format: "oci-layout")
    }

    func source(of name: String) throws -> TarSource {
        let full = try file(name)
        let size = try FileInput(path: full).size
        return TarSource(path: full, offset: 0, length: size, displayName: full)
    }
}

struct TarBlobStore: BlobStore {
    let index: TarIndex
    var displayPath: String { index.path }

    func contents(of name: String, limit: UInt64) throws -> [UInt8] {
        try index.contents(of: name, limit: limit, format: "oci-layout")
    }

    func source(of name: String) throws -> TarSource {
        try index.source(of: name, format: "oci-layout")
    }
}
