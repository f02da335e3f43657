import AsyncHTTPClient
import EnclaveCore
import NIOCore
import NIOHTTP1

/// A client of one registry for the OCI distribution spec 1.1 endpoints a release needs: the `/v2/`
/// probe, blobs (HEAD, monolithic upload, streamed download checked against the digest), manifests
/// (PUT, GET checked against the digest, HEAD) and referrers (the API, or the `sha256-HEX` tag
/// schema). Authentication: anonymous, Basic, or the Bearer token flow (`WWW-Authenticate: Bearer
/// realm=…,service=…,scope=…`), with Basic credentials from the Docker config file. TLS uses the
/// system trust store; plain HTTP is refused unless asked for, and then only to a loopback host.
/// Transport failures and 429/5xx answers are retried a bounded number of times.
///
/// ```swift
/// let client = try RegistryClient(host: "127.0.0.1:5000", options: .init(plainHTTP: true))
/// defer { Task { await client.shutdown() } }
/// let exists = try await client.blobExists(repository: "app", digest: d, reference: ref)
/// ```
public actor RegistryClient {
    /// How the client connects and how often it retries.
    public struct Options: Sendable {
        /// `http://` instead of `https://`: only for loopback hosts.
        public var plainHTTP: Bool
        /// Retries after the first attempt, for connection failures, cut-off bodies and 429/5xx answers.
        public var retries: Int
        /// Delay before the first retry; doubled for each further one.
        public var retryDelay: Duration
        /// Basic credentials (from the Docker config file), or nil for anonymous access.
        public var credentials: BasicCredentials?
        /// Deadline of one request without a large body.
        public var requestTimeout: Duration
        /// Deadline of one blob upload or download.
        public var blobTimeout: Duration

        public init(
            plainHTTP: Bool = false, retries: Int = 3, retryDelay: Duration = .milliseconds(200),
            credentials: BasicCredentials? = nil, requestTimeout: Duration = .seconds(60),
            blobTimeout: Duration = .seconds(3600)
        ) {
            self.plainHTTP = plainHTTP
            self.retries = retries
            self.retryDelay = retryDelay
            self.credentials = credentials
            self.requestTimeout = requestTimeout
            self.blobTimeout = blobTimeout
        }
    }

    public let host: String
    public let options: Options
    let baseURL: String
    let http: HTTPClient
    /// Bearer tokens by scope.
    private var tokens: [String: String] = [:]
    /// Set when the registry asked for Basic authentication.
    private var useBasic = false
    /// Requests sent, for tests and progress reports.
    public private(set) var requestCount = 0

    public init(host: String, options: Options = .init()) throws(RegistryError) {
        let probe = ImageReference(host: host, repository: "x", tag: nil, digest: nil)
        if let problem = ImageReference.hostProblem(host) {
            throw RegistryError(.reference, reference: host, "'\(host)' is not a registry host (\(problem))")
        }
        if options.plainHTTP, !probe.isLoopback {
            throw RegistryError(
                .insecure, reference: host,
                "--plain-http is only allowed for a loopback registry (localhost, 127.0.0.0/8, ::1)",
                hint: "use HTTPS for \(probe.hostname)")
        }
        self.host = host
        self.options = options
        baseURL = (options.plainHTTP ? "http://" : "https://") + host
        // Up to 5 redirects (blob downloads may be redirected to storage); no decompression (the bytes are
        // hashed as sent); TLS with NIOSSL's default client configuration: the system trust store.
        let config = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 5, allowCycles: false),
            timeout: .init(connect: .seconds(5), read: .seconds(120)), decompression: .disabled)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// Closes the connections (also done when the client goes away, so no error path leaves one open).
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        try? await http.shutdown()
    }

    private var isShutDown = false

    deinit {
        // Not awaited: AsyncHTTPClient keeps the client alive until its shutdown completes.
        if !isShutDown { http.shutdown { _ in } }
    }

    // MARK: Requests

    /// A request; `body` makes a fresh body for each attempt.
    struct Request: Sendable {
        var method: HTTPMethod
        var url: String
        var headers: [(String, String)] = []
        var body: (@Sendable () throws -> HTTPClientRequest.Body)?
        /// The token scope, e.g. `repository:app:pull,push`.
        var scope: String?
        var timeout: Duration
    }

    static func isRetryable(_ status: HTTPResponseStatus) -> Bool {
        [429, 500, 502, 503, 504].contains(status.code)
    }

    func url(_ path: String) -> String { baseURL + path }

    func delay(_ attempt: Int) async {
        let factor = 1 << min(attempt, 6)
        try? await Task.sleep(for: options.retryDelay * factor)
    }

    /// Sends `request` with authentication, retrying transport failures and 429/5xx answers up to
    /// `options.retries` times when `retry` is set. Returns the response with its body not read.
    func send(
        _ request: Request, reference: String, digest: String?, what: String, retry: Bool = true
    ) async throws -> HTTPClientResponse {
        var attempt = 0
        var authenticated = false
        while true {
            var r = HTTPClientRequest(url: request.url)
            r.method = request.method
            for (k, v) in request.headers { r.headers.add(name: k, value: v) }
            if let auth = authorization(scope: request.scope) {
                r.headers.replaceOrAdd(name: "Authorization", value: auth)
            }
            if let body = request.body { r.body = try body() }
            requestCount += 1
            let response: HTTPClientResponse
            do {
                response = try await http.execute(r, timeout: .init(request.timeout))
            } catch let error as RegistryError {
                throw error
            } catch {
                // A connection that could not be made was already retried by the connection pool until
                // the connect timeout: retrying the request would only multiply the wait.
                guard retry, attempt < options.retries, !(error is CancellationError), !Self.isConnectFailure(error)
                else {
                    throw RegistryError(
                        .transport, reference: reference, digest: digest,
                        "\(what) failed after \(attempt + 1) attempt\(attempt == 0 ? "" : "s"): \(Self.describe(error))",
                        hint: "check that the registry at \(host) is reachable")
                }
                await delay(attempt)
                attempt += 1
                continue
            }
            if response.status == .unauthorized, !authenticated {
                let challenge = response.headers.first(name: "WWW-Authenticate").flatMap(AuthChallenge.init(parsing:))
                _ = try? await response.body.collect(upTo: 1 << 20)
                guard let challenge else {
                    throw RegistryError(
                        .authentication, reference: reference, digest: digest,
                        "\(what): 401 Unauthorized without a WWW-Authenticate challenge")
                }
                try await authenticate(challenge, scope: request.scope, reference: reference)
                authenticated = true
                continue
            }
            if retry, Self.isRetryable(response.status), attempt < options.retries {
                _ = try? await response.body.collect(upTo: 1 << 20)
                await delay(attempt)
                attempt += 1
                continue
            }
            if response.status == .unauthorized || response.status == .forbidden {
                let text = await Self.errorText(response)
                throw RegistryError(
                    .authentication, reference: reference, digest: digest,
                    "\(what): \(response.status.code) \(response.status.reasonPhrase)\(text)",
                    hint: options.credentials == nil
                        ? "add credentials for \(host) to the Docker config file (docker login \(host))"
                        : "check the credentials for \(host) in the Docker config file")
            }
            return response
        }
    }

    /// Connection refused, connect timeout, TLS handshake failure: nothing was sent.
    static func isConnectFailure(_ error: any Error) -> Bool {
        if let e = error as? HTTPClientError, e == .connectTimeout { return true }
        let text = "\(error)"
        return text.contains("handshakeFailed") || text.contains("connectionRefused")
            || text.contains("Connection refused") || text.contains("connectTimeout")
    }

    /// A transport error in a few words (AsyncHTTPClient's descriptions are type dumps).
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("WRONG_VERSION_NUMBER") {
            return "TLS handshake failed: the server does not speak TLS (a plain-HTTP registry? --plain-http "
                + "is allowed for loopback registries)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate") {
            return "TLS handshake failed: the registry's certificate is not trusted by the system trust store"
        }
        if text.contains("handshakeFailed") { return "TLS handshake failed" }
        if let e = error as? HTTPClientError {
            switch e {
            case .remoteConnectionClosed: return "the registry closed the connection"
            case .readTimeout: return "read timeout"
            case .connectTimeout: return "connect timeout"
            case .deadlineExceeded: return "deadline exceeded"
            default: return "\(e)"
            }
        }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }

    /// The registry's error message (`{"errors": [{"code", "message"}]}`), prefixed with ": ", or "".
    static func errorText(_ response: HTTPClientResponse) async -> String {
        guard let body = try? await response.body.collect(upTo: 64 << 10) else { return "" }
        let bytes = Array(body.readableBytesView)
        guard let value = try? JSONParser.parse(bytes, format: "error"), case .array(let errors) = value["errors"]
        else {
            let text = String(decoding: bytes.prefix(200), as: UTF8.self).trimmingWhitespace
            return text.isEmpty ? "" : ": " + text
        }
        let parts = errors.map { e in
            [e["code"]?.stringValue, e["message"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        }
        return parts.isEmpty ? "" : ": " + parts.joined(separator: "; ")
    }

    func unexpected(
        _ response: HTTPClientResponse, what: String, expected: String, reference: String, digest: String?
    ) async -> RegistryError {
        let text = await Self.errorText(response)
        return RegistryError(
            .http, reference: reference, digest: digest,
            "\(what): HTTP \(response.status.code) \(response.status.reasonPhrase)\(text) (expected \(expected))")
    }

    // MARK: Authentication

    func authorization(scope: String?) -> String? {
        if let scope, let token = tokens[scope] { return "Bearer " + token }
        if useBasic, let credentials = options.credentials { return credentials.header }
        return nil
    }

    func authenticate(_ challenge: AuthChallenge, scope: String?, reference: String) async throws {
        switch challenge.scheme {
        case "basic":
            guard options.credentials != nil else {
                throw RegistryError(
                    .authentication, reference: reference, "the registry asks for a user name and password",
                    hint: "add credentials for \(host) to the Docker config file (docker login \(host))")
            }
            useBasic = true
        case "bearer":
            guard let realm = challenge.parameters["realm"], !realm.isEmpty else {
                throw RegistryError(.authentication, reference: reference, "the Bearer challenge has no realm")
            }
            let realmIsHTTPS = realm.lowercased().hasPrefix("https://")
            let realmHost = Self.hostOfURL(realm)
            guard
                realmIsHTTPS
                    || (realm.lowercased().hasPrefix("http://") && ImageReference.isLoopback(hostname: realmHost))
            else {
                throw RegistryError(
                    .insecure, reference: reference,
                    "the token service \(realm) is not HTTPS; credentials are only sent over TLS or to a loopback host")
            }
            var query: [(String, String)] = []
            if let service = challenge.parameters["service"] { query.append(("service", service)) }
            if let s = challenge.parameters["scope"] ?? scope { query.append(("scope", s)) }
            let url =
                realm + (realm.contains("?") ? "&" : "?")
                + query.map { "\(Self.percentEncoded($0.0))=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
            var r = HTTPClientRequest(url: url)
            if let credentials = options.credentials { r.headers.add(name: "Authorization", value: credentials.header) }
            requestCount += 1
            let response: HTTPClientResponse
            do {
                response = try await http.execute(r, timeout: .init(options.requestTimeout))
            } catch {
                throw RegistryError(
                    .authentication, reference: reference, "the token service \(realm) failed: \(Self.describe(error))")
            }
            guard response.status == .ok else {
                let text = await Self.errorText(response)
                throw RegistryError(
                    .authentication, reference: reference,
                    "the token service \(realm) answered \(response.status.code)\(text)",
                    hint: "check the credentials for \(host) in the Docker config file")
            }
            let body = try await response.body.collect(upTo: 1 << 20)
            guard let token = Self.token(fromResponse: Array(body.readableBytesView)) else {
                throw RegistryError(
                    .authentication, reference: reference, "the token service \(realm) sent no 'token' field")
            }
            tokens[scope ?? ""] = token
        default:
            throw RegistryError(
                .authentication, reference: reference,
                "the registry asks for '\(challenge.scheme)' authentication (only Basic and Bearer are supported)")
        }
    }

    /// The bearer token of a token service's JSON answer (`token`, else `access_token`), nil when there is
    /// none or the body is not JSON.
    static func token(fromResponse bytes: [UInt8]) -> String? {
        let value = try? JSONParser.parse(bytes, format: "token")
        guard let token = value?["token"]?.stringValue ?? value?["access_token"]?.stringValue, !token.isEmpty else {
            return nil
        }
        return token
    }

    static func hostOfURL(_ url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        let host = String(rest)
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<end])
        }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(UnicodeScalar(byte))
            if (c.isASCII && (c.isLetter || c.isNumber)) || "-._~".contains(c) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    static func scope(_ repository: String, push: Bool) -> String {
        "repository:\(repository):" + (push ? "pull,push" : "pull")
    }

    // MARK: Probe

    /// `GET /v2/`: 200, or 401 with a challenge (answered here, with a token for `repository`'s pull, or
    /// pull and push, scope, so later requests carry it).
    public func probe(reference: String, repository: String? = nil, push: Bool = false) async throws {
        let request = Request(
            method: .GET, url: url("/v2/"), scope: repository.map { Self.scope($0, push: push) },
            timeout: options.requestTimeout)
        let response = try await send(request, reference: reference, digest: nil, what: "GET /v2/")
        guard response.status == .ok else {
            throw await unexpected(response, what: "GET /v2/", expected: "200", reference: reference, digest: nil)
        }
        _ = try? await response.body.collect(upTo: 1 << 20)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }

    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
