import ArgumentParser
import EnclaveCore
import Release

/// `enclavekit policy init` / `policy check`: write and validate a release policy.
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Write or check a release policy (trusted public keys and a threshold).",
        discussion: """
            A policy names the maintainers' public keys and how many of them must sign a release \
            (Manifests/README.md). 'verify --policy' reads it.

            Examples:
              enclavekit policy init --key alice=alice.pub.pem --key bob=bob.pub.pem --threshold 2 --out policy.json
              enclavekit policy check Manifests/policy.json
              enclavekit policy check policy.json --json
            """,
        subcommands: [PolicyInitCommand.self, PolicyCheckCommand.self])
}

struct PolicyInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a policy from public key files and a threshold.",
        discussion: """
            Each --key NAME=FILE names a key holder and their public key (PEM, as 'keygen' writes \
            KEY.pub.pem; Ed25519, ECDSA P-256 or P-384). Keys are stored as publicKeyFile paths relative \
            to the policy's directory (or inline PEM with --inline), with their scheme. Every key is read \
            and parsed first, and duplicate keys or names, or a threshold above the number of keys, are \
            refused. An existing file is never replaced unless --force is given; the file is written \
            atomically.

            Exit status: 0 written; 1 refused (unreadable or invalid key, duplicate key or name, \
            threshold not met by the keys, existing --out, failed write); 64 usage error.

            Examples:
              enclavekit policy init --key alice=alice.pub.pem --key bob=bob.pub.pem --threshold 2 --out policy.json
              enclavekit policy init --key ops=ops.pub.pem --threshold 1 --out policy.json --inline --json
            """)

    @Option(name: .customLong("key"), help: "A trusted key: NAME=PUBLIC-KEY-FILE (repeatable).")
    var keys: [String] = []

    @Option(help: "How many distinct keys must sign (1 ≤ K ≤ number of keys).")
    var threshold: Int

    @Option(help: "The policy file to write.")
    var out: String

    @Flag(help: "Embed each public key's PEM instead of referring to its file.")
    var inline = false

    @Flag(help: "Replace an existing policy file.")
    var force = false

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func validate() throws {
        guard !keys.isEmpty else { throw ValidationError("name at least one key: --key NAME=KEY.pub.pem") }
        guard threshold >= 1 else { throw ValidationError("--threshold must be at least 1") }
        for key in keys {
            do { _ = try PolicyFile.KeySpec(parsing: key) } catch {
                throw ValidationError("\(LibraryErrors.translated(error))")
            }
        }
    }

    func run() throws {
        let specs = try keys.map { try PolicyFile.KeySpec(parsing: $0) }
        let bytes = try PolicyFile.make(keys: specs, threshold: threshold, policyPath: out, inline: inline)
        try PolicyFile.write(bytes, to: out, overwrite: force)
        let policy = try ReleasePolicy.load(path: out)
        if json {
            Output.json(PolicyCheckCommand.summary(policy, path: out, error: nil))
        } else {
            print("wrote \(out): \(policy.threshold) of \(policy.keys.count) keys must sign")
            Output.table(policy.keys.map { ($0.name, "\($0.key.type.scheme)  keyid \($0.keyid)") })
        }
    }
}

struct PolicyCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a policy: its fields, every key readable and parseable, no duplicates, K ≤ keys.",
        discussion: """
            Reads the policy exactly as 'verify --policy' does and reports the first problem, naming \
            the file and the key. With --json, prints {"valid": …, "threshold": …, "keys": […]} (and \
            "error" when invalid).

            Exit status: 0 valid; 1 invalid (malformed JSON, unknown field, unreadable or invalid key, \
            duplicate key or name, threshold above the number of keys); 64 usage error.

            Examples:
              enclavekit policy check Manifests/policy.json
              enclavekit policy check policy.json --json | jq .valid
            """)

    @Argument(help: "The policy file.")
    var policy: String

    @OptionGroup var jsonOutput: JSONOutputOption
    var json: Bool { jsonOutput.json }

    func run() throws {
        let loaded: ReleasePolicy
        do {
            loaded = try ReleasePolicy.load(path: policy)
        } catch {
            if json { Output.json(Self.summary(nil, path: policy, error: "\(error)")) }
            throw error
        }
        if json {
            Output.json(Self.summary(loaded, path: policy, error: nil))
        } else {
            print("\(policy): valid, \(loaded.threshold) of \(loaded.keys.count) keys must sign")
            Output.table(loaded.keys.map { ($0.name, "\($0.key.type.scheme)  keyid \($0.keyid)") })
        }
    }

    static func summary(_ policy: ReleasePolicy?, path: String, error: String?) -> JSONValue {
        var fields: [(String, JSONValue)] = [("policy", .string(path)), ("valid", .bool(policy != nil))]
        if let policy {
            fields.append(("threshold", .int(policy.threshold)))
            fields.append(
                (
                    "keys",
                    .array(
                        policy.keys.map {
                            .object([
                                ("name", .string($0.name)), ("scheme", .string($0.key.type.scheme)),
                                ("keyid", .string($0.keyid)),
                            ])
                        })
                ))
        }
        if let error { fields.append(("error", .string(error))) }
        return .object(fields)
    }
}
