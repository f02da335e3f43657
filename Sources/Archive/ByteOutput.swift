import EnclaveCore

/// Where archive writers put their bytes: a file written atomically (``FileByteOutput``) or memory
/// (``MemoryByteOutput``, for tests and small archives). Writers buffer and hand over bounded chunks.
///
/// ```swift
/// let out = MemoryByteOutput()
/// try out.write([1, 2, 3])
/// ```
public protocol ByteOutput: AnyObject {
    /// Appends the bytes.
    func write(_ buffer: UnsafeRawBufferPointer) throws
}

extension ByteOutput {
    /// Appends an array of bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// An in-memory ``ByteOutput``.
///
/// ```swift
/// let out = MemoryByteOutput(); try out.write([0x30]); print(out.bytes)
/// ```
public final class MemoryByteOutput: ByteOutput {
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        bytes.append(contentsOf: buffer)
    }
}

/// A file that appears whole or not at all (EnclaveCore's `AtomicOutput`): call ``commit()`` after the last
/// write; if the object goes away uncommitted, the temporary file is removed.
///
/// ```swift
/// let out = try FileByteOutput(path: "ramdisk.cpio")
/// try out.write(bytes)
/// try out.commit()
/// ```
public final class FileByteOutput: ByteOutput {
    private let output: AtomicOutput
    /// The destination path.
    public var path: String { output.path }

    /// `existing`: whether an existing file at `path` is replaced or refused (see `AtomicOutput.ExistingFile`).
    public init(path: String, mode: UInt32 = 0o644, existing: AtomicOutput.ExistingFile = .replace) throws {
        output = try AtomicOutput(path: path, mode: mode, existing: existing)
    }

    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        try output.write(buffer)
    }

    /// Flushes and renames the temporary file into place.
    public func commit() throws {
        try output.commit()
    }
}
