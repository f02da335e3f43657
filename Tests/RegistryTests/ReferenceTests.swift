import EnclaveCore
import Testing

@testable import Registry

@Suite struct ReferenceTests {
    @Test(
        arguments: [
            ("127.0.0.1:5000/example-node:0.1.0", "127.0.0.1:5000", "example-node", "0.1.0", nil),
            ("localhost/a/b/c:latest", "localhost", "a/b/c", "latest", nil),
            ("ghcr.io/acme/node", "ghcr.io", "acme/node", nil, nil),
            (
                "[::1]:5000/r@sha256:" + String(repeating: "a", count: 64), "[::1]:5000", "r", nil,
                "sha256:" + String(repeating: "a", count: 64)
            ),
            (
                "reg.example.com:443/x_y.z-w__v:T_1.2-3@sha256:" + String(repeating: "0", count: 64),
                "reg.example.com:443", "x_y.z-w__v", "T_1.2-3", "sha256:" + String(repeating: "0", count: 64)
            ),
        ] as [(String, String, String, String?, String?)])
    func parses(text: String, host: String, repository: String, tag: String?, digest: String?) throws {
        let r = try ImageReference(parsing: text)
        #expect(r.host == host)
        #expect(r.repository == repository)
        #expect(r.tag == tag)
        #expect(r.digest == digest)
        #expect(r.description == text)
    }

    @Test(arguments: [
        ("example-node:0.1.0", "no registry host"),
        ("docker/example-node:0.1.0", "'docker' is not a registry host (it needs a '.' or a ':PORT'"),
        ("127.0.0.1:5000/", "'' is not a repository name"),
        ("127.0.0.1:5000/Upper:1", "'Upper' is not a repository name"),
        ("127.0.0.1:5000/a//b:1", "'a//b' is not a repository name"),  // empty component
        ("127.0.0.1:5000/a-:1", "'a-' is not a repository name"),  // separator at the end
        ("127.0.0.1:5000/a:b:c", "'a:b' is not a repository name"),  // the tag is after the last ':'
        ("127.0.0.1:5000/a:-x", "'-x' is not a tag"),
        ("127.0.0.1:5000/a@sha256:abc", "'sha256:abc' is not a digest"),
        ("127.0.0.1:5000/a@sha512:" + String(repeating: "a", count: 128), "'sha512:aaaa"),
        ("127.0.0.1:99999/a:1", "'127.0.0.1:99999' is not a registry host (port '99999' is not a number from 1 to"),
        ("example.com:0/a:1", "'example.com:0' is not a registry host (port '0' is not"),
        ("example.com:/a:1", "'example.com:' is not a registry host (port '' is not"),
        ("[::1/a:1", "'[::1' is not a registry host (the IPv6 address has no closing ']')"),
        ("[::g]:5000/a:1", "'[::g]:5000' is not a registry host ('::g' is not an IPv6 address"),
        ("[::1]5000/a:1", "'[::1]5000' is not a registry host (only ':PORT' may follow the IPv6 address)"),
        ("a_b.example/a:1", "'a_b.example' is not a registry host ('a_b' is not a host name label"),
        ("-a.example/a:1", "'-a.example' is not a registry host ('-a' is not a host name label"),
        (":5000/a:1", "':5000' is not a registry host (the host name is empty)"),
        ("127.0.0.1:5000/a..b:1", "'a..b' is not a repository name"),
    ])
    func refuses(text: String, message: String) {
        let error = #expect(throws: RegistryError.self) { try ImageReference(parsing: text) }
        #expect(error?.kind == .reference)
        #expect(error?.reference == text)
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("localhost", true), ("127.0.0.1", true), ("127.255.0.9", true), ("::1", true), ("128.0.0.1", false),
        ("127.0.0", false), ("127.0.0.256", false), ("localhost.example.com", false), ("10.0.0.1", false),
    ])
    func loopback(host: String, expected: Bool) {
        #expect(ImageReference.isLoopback(hostname: host) == expected)
    }

    @Test func plainHTTPOnlyToLoopback() throws {
        let error = #expect(throws: RegistryError.self) {
            try RegistryClient(host: "registry.example.com:5000", options: .init(plainHTTP: true))
        }
        #expect(error?.kind == .insecure)
        #expect(error?.message.contains("loopback") == true)
        do {
            _ = try RegistryClient(host: "10.1.2.3:5000", options: .init(plainHTTP: true))
            Issue.record("plain HTTP to 10.1.2.3 was allowed")
        } catch {
            #expect(error.kind == .insecure)
            #expect(error.description.contains("loopback"))
        }
        _ = try RegistryClient(host: "localhost:5000", options: .init(plainHTTP: true))
        _ = try RegistryClient(host: "[::1]:5000", options: .init(plainHTTP: true))
        _ = try RegistryClient(host: "registry.example.com", options: .init(plainHTTP: false))
    }

    @Test func bearerChallenge() throws {
        let c = try #require(
            AuthChallenge(
                parsing:
                    #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#
            ))
        #expect(c.scheme == "bearer")
        #expect(c.parameters["realm"] == "https://auth.example.com/token")
        #expect(c.parameters["service"] == "registry.example.com")
        #expect(c.parameters["scope"] == "repository:a/b:pull,push")
        let basic = try #require(AuthChallenge(parsing: #"Basic realm="Registry \"x\"""#))
        #expect(basic.scheme == "basic")
        #expect(basic.parameters["realm"] == #"Registry "x""#)
        #expect(AuthChallenge(parsing: #"Bearer realm="unterminated"#) == nil)
    }

    @Test func dockerConfigCredentials() throws {
        let config = """
            {"auths": {"https://registry.example.com:5000/v2/": {"auth": "YWxpY2U6czNjcjN0OnBhcnQ="},
                       "ghcr.io": {"username": "bob", "password": "pw"},
                       "broken.example.com": {"auth": "bm8tY29sb24="}}}
            """
        let bytes = Array(config.utf8)
        let a = try BasicCredentials.fromDockerConfig(
            bytes: bytes, path: "config.json", host: "registry.example.com:5000")
        #expect(a == BasicCredentials(username: "alice", password: "s3cr3t:part"))
        #expect(a?.header == "Basic YWxpY2U6czNjcjN0OnBhcnQ=")
        #expect("\(a.map { "\($0)" } ?? "")".contains("s3cr3t") == false)
        let b = try BasicCredentials.fromDockerConfig(bytes: bytes, path: "config.json", host: "ghcr.io")
        #expect(b == BasicCredentials(username: "bob", password: "pw"))
        #expect(try BasicCredentials.fromDockerConfig(bytes: bytes, path: "config.json", host: "quay.io") == nil)
        let error = #expect(throws: FormatError.self) {
            try BasicCredentials.fromDockerConfig(bytes: bytes, path: "config.json", host: "broken.example.com")
        }
        #expect(error?.kind == .badValue)
        #expect(error?.message.contains("auths[broken.example.com].auth is not base64") == true)
        #expect(
            BasicCredentials.dockerConfigPath(environment: ["DOCKER_CONFIG": "/d", "HOME": "/h"]) == "/d/config.json")
        #expect(BasicCredentials.dockerConfigPath(environment: ["HOME": "/h"]) == "/h/.docker/config.json")
    }

    /// The manifest bytes are canonical: the same layers give the same bytes and digest, whatever order
    /// the fields were set in, and parsing them back gives the same manifest.
    @Test func canonicalManifest() throws {
        let layer = Descriptor(
            mediaType: MediaType.releaseManifest, digest: "sha256:" + String(repeating: "1", count: 64), size: 10,
            annotations: [(titleAnnotation, "manifest.json")])
        let m = ImageManifest(artifactType: MediaType.release, layers: [layer], annotations: [("b", "2"), ("a", "1")])
        let text = String(decoding: m.bytes, as: UTF8.self)
        #expect(
            text.hasPrefix(
                #"{"annotations":{"a":"1","b":"2"},"artifactType":"application/vnd.enclavekit.release.v1+json","config":{"digest":"sha256:44136fa"#
            ))
        #expect(!text.contains(" ") && !text.contains("\n"))
        let parsed = try ImageManifest(bytes: m.bytes, reference: "r")
        #expect(parsed.bytes == m.bytes)
        #expect(parsed.digest == OCIDigest.of(m.bytes))
    }

    @Test(arguments: [
        (#"{"schemaVersion":1,"config":{},"layers":[]}"#, "schemaVersion"),
        (#"{"schemaVersion":2,"layers":[]}"#, "config"),
        (
            #"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:abc","size":2},"layers":[]}"#,
            "config: digest"
        ),
        (
            #"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":-2},"layers":[]}"#,
            "size"
        ),
        (#"{"schemaVersion":2,"#, "not JSON"),
    ])
    func hostileManifest(json: String, expected: String) {
        do {
            _ = try ImageManifest(bytes: Array(json.utf8), reference: "127.0.0.1:1/r:t")
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.kind == .manifest)
            #expect(error.description.contains(expected), "\(error)")
            #expect(error.description.hasPrefix("127.0.0.1:1/r:t: "))
        }
    }

    @Test(arguments: ["../x", "/etc/passwd", "a/../b", "a//b", "", "a\\b", "./a", "attestations/x"])
    func unsafeNames(name: String) {
        let error = #expect(throws: RegistryError.self) {
            try ReleasePuller.checkName(name, reference: "r", digest: "d", nested: true)
        }
        #expect(error?.kind == .manifest)
        #expect(error?.message.contains("the file name '\(name)' is not a safe relative path") == true)
    }

    @Test func signatureNamesAreOneComponent() throws {
        try ReleasePuller.checkName("nitro/a.eif", reference: "r", digest: "d", nested: true)
        let error = #expect(throws: RegistryError.self) {
            try ReleasePuller.checkName("nitro/a.dsse.json", reference: "r", digest: "d", nested: false)
        }
        #expect(error?.kind == .manifest)
        #expect(error?.message.contains("(one component)") == true)
    }
}
