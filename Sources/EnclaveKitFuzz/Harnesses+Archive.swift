import Archive
import Nitro

/// Fuzz harnesses for the Archive module's parsers.
let archiveHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    // libarchive tar/gzip/zstd reading through TarReader, plus the name and link checks of the flattener.
    "archive-tar": { bytes in
        guard let reader = try? TarReader(TarSource(bytes: bytes)) else { return }
        var entries = 0
        while entries < 4096, let entry = try? reader.next() {
            entries += 1
            if let parts = try? SafePath.components(entry.path, format: "fuzz"), let target = entry.linkTarget {
                _ = SafePath.symlinkStaysInside(linkComponents: parts, target: target)
            }
            _ = try? reader.forEachChunk(chunkSize: 1 << 14) { _ in }
        }
    },
    // One layer through the flattener (whiteouts, links, names) and the linuxkit app ramdisk writer.
    "archive-flatten": { bytes in
        var options = FlattenOptions()
        options.allowDeviceNodes = true
        guard let rootfs = try? FlattenedImage(layers: [TarSource(bytes: bytes)], options: options) else { return }
        _ = try? LinuxKitRamdisk.writeApp(export: rootfs, cmd: [0x2F, 0x0A], env: [], to: MemoryByteOutput())
    },
    // docker-archive manifest.json and image config JSON.
    "archive-docker-manifest": { bytes in
        _ = try? DockerArchiveManifest(json: bytes)
        if let config = try? ImageConfig(json: bytes) {
            _ = try? config.cmdFile()
            _ = config.envFile()
        }
    },
    // The outer-tarball index (docker save, kaniko, OCI tar): headers, PAX records, GNU long names, links.
    "archive-tar-index": { bytes in
        guard let index = try? TarIndex(bytes: bytes, maxMembers: 4096) else { return }
        for name in index.order.prefix(64) { _ = try? index.contents(of: name, limit: 1 << 16) }
        for name in index.links.keys.prefix(64) { _ = try? index.member(name) }
        _ = try? DockerArchiveManifest(json: (try? index.contents(of: "manifest.json", limit: 1 << 20)) ?? [])
    },
    // newc listing (the reader used to compare ramdisks).
    "archive-cpio": { bytes in
        _ = try? CPIOListing.parse(bytes, maxMembers: 4096)
    },
]
