// swift-tools-version:6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// Builder and Rebuild load Foundation (through swift-subprocess and swift-crypto). Then Glibc's `struct stat`
// may be attributed to CoreFoundation's clang module, and MemberImportVisibility rejects `st_mode` in a file
// that imports only Glibc, depending on module load order (seen with --build-tests). Those two targets keep
// ExistentialAny and leave MemberImportVisibility off.
let foundationLoadingSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "EnclaveKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "enclavekit", targets: ["enclavekit"]),
        .executable(name: "enclavekit-fuzz", targets: ["EnclaveKitFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Already in the graph through AsyncHTTPClient; named so Registry may import NIOCore and NIOHTTP1.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
    ],
    targets: [
        // C libraries from Debian, imported as system libraries.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Shared foundations: bounds-checked bytes, streaming digests, atomic output, typed errors.
        .target(name: "EnclaveCore", dependencies: ["COpenSSL", "CZlib"], swiftSettings: strictSettings),
        // Deterministic cpio/tar writing; safe reading of tar, cpio and container images.
        .target(name: "Archive", dependencies: ["EnclaveCore", "CLibArchive"], swiftSettings: strictSettings),
        // AWS Nitro Enclaves: EIF, PCRs, COSE signature section, attestation documents.
        .target(
            name: "Nitro",
            dependencies: [
                "EnclaveCore", "Archive",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings),
        // Intel SGX: MRENCLAVE, SGXS, ELF layouts, Gramine, SIGSTRUCT.
        .target(
            name: "SGX",
            dependencies: ["EnclaveCore", "COpenSSL", "TOML", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strictSettings),
        // OVMF firmware layout shared by TDX and SEV-SNP: reset-vector GUID table and metadata tables.
        .target(name: "OVMF", dependencies: ["EnclaveCore"], swiftSettings: strictSettings),
        // Intel TDX: MRTD, RTMR event replay, Authenticode.
        .target(name: "TDX", dependencies: ["EnclaveCore", "OVMF"], swiftSettings: strictSettings),
        // AMD SEV-SNP: launch digest.
        .target(name: "SEVSNP", dependencies: ["EnclaveCore", "OVMF"], swiftSettings: strictSettings),
        // Releases: manifest, canonical JSON, DSSE/in-toto, keys, threshold policy.
        .target(
            name: "Release",
            dependencies: [
                "EnclaveCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings),
        // Measurements of a file by its format (EIF, SGXS, SIGSTRUCT, TDVF, OVMF with SEV metadata) and the check
        // of measured registers against a release, shared by the commands that compare with releases.
        .target(
            name: "Measure", dependencies: ["EnclaveCore", "Nitro", "SGX", "OVMF", "TDX", "SEVSNP", "Release"],
            swiftSettings: strictSettings),

        // TOML: the one TOML reader (TOMLKit behind size, NUL and pre-scan guards) for recipes and Gramine manifests.
        .target(
            name: "TOML", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strictSettings),
        // Recipes: the TOML recipe and lock model, validation, input resolvers, content-addressed cache.
        .target(
            name: "Recipe",
            dependencies: [
                "EnclaveCore", "Archive", "TOML",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings),
        // Debian environments: resolve a closure with a private apt state, fetch the locked .debs, assemble
        // the root with mmdebstrap.
        .target(
            name: "DebianEnvironment",
            dependencies: ["EnclaveCore", "Archive", "Recipe"],
            swiftSettings: strictSettings),
        // Builds: the bubblewrap sandbox, rootfs assembly, per-target images, measurements and the manifest.
        .target(
            name: "Builder",
            dependencies: [
                "EnclaveCore", "Archive", "Nitro", "SGX", "OVMF", "TDX", "SEVSNP", "Release", "Recipe",
                "DebianEnvironment",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: foundationLoadingSettings),
        // Rebuild and compare: drill-down diff of manifests, EIFs, ramdisks, archives and directories.
        .target(
            name: "Rebuild",
            dependencies: [
                "EnclaveCore", "Archive", "Nitro", "Release", "Recipe", "Builder",
            ],
            swiftSettings: foundationLoadingSettings),

        // Attestation: evidence parsers (Nitro document, SNP report, DCAP quotes, collateral), chains to pinned
        // roots, TCB status, and checks against a release.
        .target(
            name: "Attestation",
            dependencies: [
                "EnclaveCore", "COpenSSL", "Nitro", "Release",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings),

        // OCI registries: the distribution API client (AsyncHTTPClient) and releases as OCI artifacts.
        .target(
            name: "Registry",
            dependencies: [
                "EnclaveCore", "Release",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: foundationLoadingSettings),

        // The command line: argument mapping only.
        .executableTarget(
            name: "enclavekit",
            dependencies: [
                "EnclaveCore", "Archive", "Nitro", "SGX", "OVMF", "TDX", "SEVSNP", "Release", "Recipe",
                "Builder", "Rebuild", "Attestation", "DebianEnvironment", "Registry", "Measure",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings),
        // Fuzz harnesses for every parser (libFuzzer with -sanitize=fuzzer, a corpus replayer otherwise).
        .executableTarget(
            name: "EnclaveKitFuzz",
            dependencies: [
                "EnclaveCore", "Archive", "Nitro", "SGX", "OVMF", "TDX", "SEVSNP", "Release", "Recipe", "Rebuild",
                "Attestation", "TOML", "Registry",
            ],
            swiftSettings: strictSettings),

        // What the test targets share: the fixtures locator, temporary directories, a tool runner, the
        // sev-snp-measure reference client. A regular target under Tests/ (test targets cannot depend on each other).
        .target(
            name: "TestSupport", dependencies: ["EnclaveCore"], path: "Tests/TestSupport", swiftSettings: strictSettings
        ),
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"], swiftSettings: strictSettings),

        // One test target per module; fixtures live in each target's Fixtures/ folder.
        .testTarget(
            name: "EnclaveCoreTests", dependencies: ["TestSupport", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        // ArchiveTests uses Nitro: a few end-to-end tests check flattening through the app ramdisk nitro-cli writes.
        .testTarget(
            name: "ArchiveTests", dependencies: ["TestSupport", "Archive", "EnclaveCore", "Nitro"],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NitroTests", dependencies: ["TestSupport", "Nitro", "Archive", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SGXTests", dependencies: ["TestSupport", "SGX", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "OVMFTests", dependencies: ["TestSupport", "OVMF", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "TDXTests", dependencies: ["TestSupport", "TDX", "OVMF", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SEVSNPTests", dependencies: ["TestSupport", "SEVSNP", "OVMF", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ReleaseTests", dependencies: ["TestSupport", "Release", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "TOMLTests", dependencies: ["TestSupport", "TOML", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strictSettings),
        .testTarget(
            name: "MeasureTests", dependencies: ["TestSupport", "Measure", "Release", "EnclaveCore"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "RecipeTests", dependencies: ["TestSupport", "Recipe", "EnclaveCore"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "DebianEnvironmentTests",
            dependencies: ["TestSupport", "DebianEnvironment", "Recipe", "EnclaveCore"],
            exclude: ["Fixtures"], swiftSettings: strictSettings),
        .testTarget(
            name: "BuilderTests", dependencies: ["TestSupport", "Builder", "Recipe", "Archive", "EnclaveCore"],
            exclude: ["Fixtures"], swiftSettings: strictSettings),
        .testTarget(
            name: "RebuildTests",
            dependencies: [
                "TestSupport", "Rebuild", "Builder", "Recipe", "Archive", "Nitro", "Release", "EnclaveCore",
            ],
            exclude: ["Fixtures"], swiftSettings: strictSettings),
        .testTarget(
            name: "AttestationTests",
            dependencies: [
                "TestSupport", "Attestation", "EnclaveCore", "Nitro", "Release",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            exclude: ["Fixtures"], swiftSettings: strictSettings),
        .testTarget(
            name: "RegistryTests", dependencies: ["TestSupport", "Registry", "Release", "EnclaveCore"],
            exclude: ["Fixtures"],
            swiftSettings: foundationLoadingSettings),
        .testTarget(
            name: "EnclaveKitCLITests", dependencies: ["TestSupport", "EnclaveCore", "Release"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),
    ]
)
