import EnclaveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Copies a file in bounded chunks to `destination`, atomically, with an explicit mode (never the umask).
func copyFile(_ source: String, to destination: String, mode: mode_t = 0o644) throws {
    let input = try FileInput(path: source)
    let out = try AtomicOutput(path: destination, mode: mode)
    try FileStream.forEachChunk(of: input, ranges: [0..<input.size]) { _, chunk in try out.write(chunk) }
    try out.commit()
}
