import AsyncHTTPClient
import EnclaveCore
import NIOCore
import NIOHTTP1

/// The bytes of a blob to upload: in memory (manifests' small documents) or a file read in chunks.
public enum BlobSource: Sendable {
    case bytes([UInt8])
    case file(String)
}

/// A file read in 1 MiB chunks as an upload body, never held whole in memory.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let file: FileInput
    let chunkSize: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: FileInput
        let chunkSize: Int
        var offset: UInt64 = 0

        mutating func next() async throws -> ByteBuffer? {
            guard offset < file.size else { return nil }
            let count = Int(Swift.min(UInt64(chunkSize), file.size - offset))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let file = self.file
            let at = offset
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) {
                (ptr: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: ptr[0..<count]), at: at)
            }
            guard read > 0 else {
                throw SystemError("read (the file shrank while it was uploaded)", path: file.path, errno: 0)
            }
            offset += UInt64(read)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(file: file, chunkSize: chunkSize) }
}

/// A download that did not give the expected bytes.
enum DownloadFailure: Error {
    /// The body ended early (retried): what arrived and why it stopped.
    case truncated(received: UInt64, cause: String)
}

extension RegistryClient {
    // MARK: Blobs

    /// `HEAD /v2/NAME/blobs/DIGEST`: whether the registry has the blob.
    public func blobExists(repository: String, digest: String, reference: String) async throws -> Bool {
        let request = Request(
            method: .HEAD, url: url("/v2/\(repository)/blobs/\(digest)"),
            scope: Self.scope(repository, push: true), timeout: options.requestTimeout)
        let response = try await send(request, reference: reference, digest: digest, what: "HEAD blob")
        switch response.status.code {
        case 200: return true
        case 404: return false
        default:
            throw await unexpected(
                response, what: "HEAD blob", expected: "200 or 404", reference: reference, digest: digest)
        }
    }

    /// Uploads a blob: `POST /v2/NAME/blobs/uploads/`, then one `PUT LOCATION?digest=DIGEST` with the
    /// bytes (monolithic). `Location` may be relative or absolute; its query is kept. The whole upload
    /// is retried on a transport failure or a 5xx answer.
    public func uploadBlob(
        repository: String, digest: String, size: UInt64, source: BlobSource, reference: String
    ) async throws {
        let scope = Self.scope(repository, push: true)
        var attempt = 0
        while true {
            do {
                try await uploadOnce(
                    repository: repository, digest: digest, size: size, source: source,
                    reference: reference, scope: scope)
                return
            } catch let error as RegistryError where error.kind == .transport && attempt < options.retries {
                await delay(attempt)
                attempt += 1
            }
        }
    }

    private func uploadOnce(
        repository: String, digest: String, size: UInt64, source: BlobSource, reference: String, scope: String
    ) async throws {
        let start = Request(
            method: .POST, url: url("/v2/\(repository)/blobs/uploads/"), headers: [("Content-Length", "0")],
            scope: scope, timeout: options.requestTimeout)
        let started = try await send(start, reference: reference, digest: digest, what: "POST blob upload")
        guard started.status == .accepted, let location = started.headers.first(name: "Location") else {
            throw await unexpected(
                started, what: "POST blob upload", expected: "202 Accepted with a Location", reference: reference,
                digest: digest)
        }
        _ = try? await started.body.collect(upTo: 1 << 20)
        var target = try resolve(location: location, reference: reference)
        target += (target.contains("?") ? "&" : "?") + "digest=" + Self.percentEncoded(digest)
        let body: @Sendable () throws -> HTTPClientRequest.Body
        switch source {
        case .bytes(let bytes):
            body = { .bytes(bytes) }
        case .file(let path):
            body = {
                let file = try FileInput(path: path)
                guard file.size == size else {
                    throw RegistryError(
                        .destination, reference: reference, digest: digest,
                        "\(path) has \(file.size) bytes, expected \(size) (it changed while it was pushed)")
                }
                return .stream(FileChunks(file: file, chunkSize: 1 << 20), length: .known(Int64(size)))
            }
        }
        let put = Request(
            method: .PUT, url: target,
            headers: [("Content-Type", "application/octet-stream"), ("Content-Length", String(size))],
            body: body, scope: scope, timeout: options.blobTimeout)
        let response = try await send(put, reference: reference, digest: digest, what: "PUT blob", retry: false)
        if Self.isRetryable(response.status) {
            let text = await Self.errorText(response)
            throw RegistryError(
                .transport, reference: reference, digest: digest,
                "PUT blob: HTTP \(response.status.code)\(text) after \(options.retries + 1) attempts")
        }
        guard response.status == .created || response.status == .noContent || response.status == .accepted else {
            throw await unexpected(
                response, what: "PUT blob (\(size) bytes)", expected: "201 Created", reference: reference,
                digest: digest)
        }
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// An upload `Location`: absolute (kept; plain HTTP only to a loopback host) or relative to the registry.
    func resolve(location: String, reference: String) throws -> String {
        let lower = location.lowercased()
        if lower.hasPrefix("https://") { return location }
        if lower.hasPrefix("http://") {
            guard options.plainHTTP || ImageReference.isLoopback(hostname: Self.hostOfURL(location)) else {
                throw RegistryError(
                    .insecure, reference: reference, "the registry sent an upload location over plain HTTP: \(location)"
                )
            }
            return location
        }
        return baseURL + (location.hasPrefix("/") ? "" : "/") + location
    }

    /// Downloads a blob into `path` through a temporary file, checking its size and sha256 as it arrives;
    /// nothing is left at `path` unless every byte matched. A body cut short is retried; bytes that do
    /// not match the digest are not.
    public func downloadBlob(
        repository: String, descriptor: Descriptor, to path: String, reference: String, name: String,
        progress: (@Sendable (UInt64) -> Void)? = nil
    ) async throws {
        let digest = descriptor.digest
        let request = Request(
            method: .GET, url: url("/v2/\(repository)/blobs/\(digest)"), scope: Self.scope(repository, push: false),
            timeout: options.blobTimeout)
        var attempt = 0
        while true {
            let response = try await send(request, reference: reference, digest: digest, what: "GET blob \(name)")
            if response.status == .notFound {
                let text = await Self.errorText(response)
                throw RegistryError(
                    .missing, reference: reference, digest: digest,
                    "the manifest lists blob '\(name)' but the registry does not have it (404\(text))",
                    hint: "push the release again")
            }
            guard response.status == .ok else {
                throw await unexpected(
                    response, what: "GET blob \(name)", expected: "200", reference: reference, digest: digest)
            }
            if let length = response.headers.first(name: "Content-Length").flatMap(UInt64.init),
                length != descriptor.size
            {
                throw RegistryError(
                    .sizeMismatch, reference: reference, digest: digest,
                    "blob '\(name)' is announced with \(length) bytes, the manifest says \(descriptor.size)")
            }
            do {
                try await receive(response, descriptor: descriptor, to: path, reference: reference, name: name)
                return
            } catch DownloadFailure.truncated(let received, let cause) {
                guard attempt < options.retries else {
                    throw RegistryError(
                        .transport, reference: reference, digest: digest,
                        "blob '\(name)' stopped after \(received) of \(descriptor.size) bytes (\(cause)), "
                            + "\(attempt + 1) attempt\(attempt == 0 ? "" : "s"); nothing was written")
                }
                await delay(attempt)
                attempt += 1
            }
        }
    }

    private func receive(
        _ response: HTTPClientResponse, descriptor: Descriptor, to path: String, reference: String, name: String
    ) async throws {
        let out = try AtomicOutput(path: path)
        let hash = Digest(.sha256)
        var received: UInt64 = 0
        do {
            for try await chunk in response.body {
                received += UInt64(chunk.readableBytes)
                guard received <= descriptor.size else {
                    throw RegistryError(
                        .sizeMismatch, reference: reference, digest: descriptor.digest,
                        "blob '\(name)' is longer than the \(descriptor.size) bytes its descriptor gives; nothing was written"
                    )
                }
                try chunk.withUnsafeReadableBytes { (buffer: UnsafeRawBufferPointer) throws(SystemError) in
                    hash.update(buffer)
                    try out.write(buffer)
                }
            }
        } catch let error as RegistryError {
            throw error
        } catch let error as SystemError {
            throw error
        } catch {
            throw DownloadFailure.truncated(received: received, cause: Self.describe(error))
        }
        guard received == descriptor.size else {
            throw DownloadFailure.truncated(received: received, cause: "the body ended early")
        }
        let actual = OCIDigest.prefix + hash.finalize().hex
        guard actual == descriptor.digest else {
            throw RegistryError(
                .digestMismatch, reference: reference, digest: descriptor.digest,
                "blob '\(name)': the registry sent \(received) bytes with \(actual), not the digest the manifest "
                    + "gives; nothing was written",
                hint: "the registry's storage is corrupt or the registry is hostile")
        }
        try out.commit()
    }

    // MARK: Manifests

    /// `PUT /v2/NAME/manifests/REFERENCE` with `Content-Type` = `mediaType`. Returns whether the registry
    /// answered with `OCI-Subject` (it has the referrers API and indexed the subject itself).
    @discardableResult
    public func putManifest(
        repository: String, bytes: [UInt8], mediaType: String, tagOrDigest: String, reference: String
    ) async throws -> Bool {
        let digest = OCIDigest.of(bytes)
        let request = Request(
            method: .PUT, url: url("/v2/\(repository)/manifests/\(tagOrDigest)"),
            headers: [("Content-Type", mediaType)], body: { .bytes(bytes) }, scope: Self.scope(repository, push: true),
            timeout: options.requestTimeout)
        let response = try await send(request, reference: reference, digest: digest, what: "PUT manifest")
        if response.status.code == 400 || response.status.code == 404 {
            let text = await Self.errorText(response)
            throw RegistryError(
                text.contains("BLOB_UNKNOWN") || text.contains("MANIFEST_BLOB_UNKNOWN") ? .missing : .http,
                reference: reference, digest: digest,
                "PUT manifest: the registry refused it (\(response.status.code)\(text))")
        }
        guard response.status == .created || response.status == .ok || response.status == .accepted else {
            throw await unexpected(
                response, what: "PUT manifest", expected: "201 Created", reference: reference, digest: digest)
        }
        if let answered = response.headers.first(name: "Docker-Content-Digest"), answered != digest {
            throw RegistryError(
                .digestMismatch, reference: reference, digest: digest,
                "the registry stored the manifest as \(answered), not as the sha256 of the bytes sent")
        }
        let subject = response.headers.first(name: "OCI-Subject") != nil
        _ = try? await response.body.collect(upTo: 1 << 20)
        return subject
    }

    /// A manifest and its digest, checked: by digest, the bytes must hash to it; by tag, the digest is
    /// computed from the bytes (and must equal `Docker-Content-Digest` when the registry sends one).
    public struct FetchedManifest: Sendable {
        public var bytes: [UInt8]
        public var mediaType: String?
        public var digest: String
    }

    /// `GET /v2/NAME/manifests/REFERENCE` (at most 4 MiB), or nil for 404.
    public func getManifest(repository: String, tagOrDigest: String, reference: String) async throws
        -> FetchedManifest?
    {
        let request = Request(
            method: .GET, url: url("/v2/\(repository)/manifests/\(tagOrDigest)"),
            headers: [("Accept", MediaType.manifestAccept.joined(separator: ", "))],
            scope: Self.scope(repository, push: false), timeout: options.requestTimeout)
        let expected = OCIDigest.isValid(tagOrDigest) ? tagOrDigest : nil
        var attempt = 0
        while true {
            let response = try await send(request, reference: reference, digest: expected, what: "GET manifest")
            if response.status == .notFound {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return nil
            }
            guard response.status == .ok else {
                throw await unexpected(
                    response, what: "GET manifest", expected: "200", reference: reference, digest: expected)
            }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 4 << 20)
            } catch let error as NIOTooManyBytesError {
                _ = error
                throw RegistryError(
                    .manifest, reference: reference, digest: expected, "the manifest is larger than 4 MiB")
            } catch {
                guard attempt < options.retries else {
                    throw RegistryError(
                        .transport, reference: reference, digest: expected,
                        "GET manifest: the body was cut off (\(Self.describe(error)))")
                }
                await delay(attempt)
                attempt += 1
                continue
            }
            let bytes = Array(body.readableBytesView)
            let actual = OCIDigest.of(bytes)
            if let expected, actual != expected {
                throw RegistryError(
                    .digestMismatch, reference: reference, digest: expected,
                    "the registry sent a manifest whose sha256 is \(actual), not the digest asked for",
                    hint: "the registry's storage is corrupt or the registry is hostile")
            }
            if expected == nil, let announced = response.headers.first(name: "Docker-Content-Digest"),
                OCIDigest.isValid(announced), announced != actual
            {
                throw RegistryError(
                    .digestMismatch, reference: reference, digest: announced,
                    "the registry announced the manifest as \(announced) but sent bytes with \(actual)")
            }
            return FetchedManifest(
                bytes: bytes, mediaType: response.headers.first(name: "Content-Type"), digest: actual)
        }
    }

    /// The digest a tag names now (`HEAD`, else `GET` when the registry sends no `Docker-Content-Digest`),
    /// or nil when the tag does not exist.
    public func resolveTag(repository: String, tag: String, reference: String) async throws -> String? {
        let request = Request(
            method: .HEAD, url: url("/v2/\(repository)/manifests/\(tag)"),
            headers: [("Accept", MediaType.manifestAccept.joined(separator: ", "))],
            scope: Self.scope(repository, push: false), timeout: options.requestTimeout)
        let response = try await send(request, reference: reference, digest: nil, what: "HEAD manifest")
        if response.status == .notFound { return nil }
        if response.status == .ok, let d = response.headers.first(name: "Docker-Content-Digest"), OCIDigest.isValid(d) {
            return d
        }
        return try await getManifest(repository: repository, tagOrDigest: tag, reference: reference)?.digest
    }

    // MARK: Referrers

    /// The referrers of `digest`: `GET /v2/NAME/referrers/DIGEST` where the registry has the API (OCI
    /// distribution 1.1), else the image index tagged `sha256-HEX` (the tag schema fallback), else none.
    public func referrers(repository: String, digest: String, reference: String) async throws -> (
        descriptors: [Descriptor], api: Bool
    ) {
        let request = Request(
            method: .GET, url: url("/v2/\(repository)/referrers/\(digest)"),
            headers: [("Accept", MediaType.imageIndex)], scope: Self.scope(repository, push: false),
            timeout: options.requestTimeout)
        let response = try await send(request, reference: reference, digest: digest, what: "GET referrers")
        let type = response.headers.first(name: "Content-Type") ?? ""
        if response.status == .ok, type.hasPrefix(MediaType.imageIndex) {
            let body = try await response.body.collect(upTo: 4 << 20)
            let index = try ImageIndex(bytes: Array(body.readableBytesView), reference: reference)
            return (index.manifests, true)
        }
        _ = try? await response.body.collect(upTo: 1 << 20)
        guard response.status == .notFound || response.status == .ok || response.status.code == 405 else {
            throw await unexpected(
                response, what: "GET referrers", expected: "200 or 404", reference: reference, digest: digest)
        }
        let tag = OCIDigest.fallbackTag(digest)
        guard let fetched = try await getManifest(repository: repository, tagOrDigest: tag, reference: reference) else {
            return ([], false)
        }
        return (try ImageIndex(bytes: fetched.bytes, reference: "\(reference) (tag \(tag))").manifests, false)
    }

    /// Adds `descriptor` to the `sha256-HEX` index of `subject` (read, add if absent, push back).
    /// Returns false when it was listed already.
    @discardableResult
    public func addToFallbackIndex(
        repository: String, subject: String, descriptor: Descriptor, reference: String
    ) async throws -> Bool {
        let tag = OCIDigest.fallbackTag(subject)
        var index = ImageIndex(manifests: [])
        if let fetched = try await getManifest(repository: repository, tagOrDigest: tag, reference: reference) {
            index = try ImageIndex(bytes: fetched.bytes, reference: "\(reference) (tag \(tag))")
        }
        guard !index.manifests.contains(where: { $0.digest == descriptor.digest }) else { return false }
        index.manifests.append(descriptor)
        try await putManifest(
            repository: repository, bytes: index.bytes, mediaType: MediaType.imageIndex, tagOrDigest: tag,
            reference: reference)
        return true
    }
}
