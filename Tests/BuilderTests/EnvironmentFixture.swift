import Foundation
import Recipe
import Testing

@testable import Builder

#if canImport(Glibc)
    import Glibc
#endif

/// A small stand-in for an assembled Debian environment, made by the test: Debian's static busybox
/// (`busybox-static`, installed by `.ci/setup`) as `/usr/bin/busybox` with `/usr/bin/sh` linked to it,
/// merged-usr symlinks (`bin -> usr/bin` relative, `lib -> /usr/lib` absolute), a hard link, a setuid
/// file, an `/etc` with `passwd`, `group` and a symlink, and files the rootfs drop rule removes (docs,
/// man pages, logs, dpkg's file lists) or keeps (a copyright file, dpkg's status).
enum EnvironmentFixture {
    enum Entry {
        case directory(String)
        case file(String, String, executable: Bool = false, setuid: Bool = false)
        case busybox(String)
        case symlink(String, String)
        case hardlink(String, String)
    }

    static let entries: [Entry] = [
        .directory("usr"), .directory("usr/bin"), .directory("usr/lib"), .directory("usr/share"),
        .directory("usr/share/doc"), .directory("usr/share/doc/toy"), .directory("usr/share/man"),
        .directory("usr/share/man/man1"), .directory("etc"), .directory("var"), .directory("var/lib"),
        .directory("var/lib/dpkg"), .directory("var/lib/dpkg/info"), .directory("var/log"), .directory("var/tmp"),
        .directory("tmp"), .directory("home"), .directory("dev"),
        .busybox("usr/bin/busybox"),
        .symlink("usr/bin/sh", "busybox"),
        .symlink("bin", "usr/bin"),
        .symlink("lib", "/usr/lib"),
        .file("usr/lib/os-release", "NAME=toy\n"),
        .hardlink("usr/lib/os-release.hard", "usr/lib/os-release"),
        .symlink("etc/os-release", "../usr/lib/os-release"),
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbuilder:x:7:7::/:/bin/false\n"),
        .file("etc/group", "root:x:0:\n"),
        .file("etc/hostname", "assembler-host\n"),
        .file("usr/lib/replaced.conf", "from the base\n"),
        .file("usr/bin/tool", "#!/bin/sh\necho tool\n", executable: true, setuid: true),
        .file("usr/share/doc/toy/copyright", "licence\n"),
        .file("usr/share/doc/toy/changelog.gz", "changes\n"),
        .file("usr/share/man/man1/toy.1", ".TH TOY 1\n"),
        .file("var/log/dpkg.log", "2026-12-02 06:00:00 install toy\n"),
        .file("var/lib/dpkg/status", "Package: toy\nStatus: install ok installed\n"),
        .file("var/lib/dpkg/info/toy.list", "/usr/bin/tool\n"),
    ]

    /// Makes the root at `root`. `reversed` creates the entries in the opposite order (directories still
    /// before their contents, the hard link's two names swapped); `restrictive` gives modes a umask of 077
    /// would leave (0600/0700) instead of 0644/0755.
    static func make(_ root: String, reversed: Bool = false, restrictive: Bool = false) throws {
        try SandboxFixture.requireBusybox()
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        let directories = entries.compactMap { entry -> String? in
            if case .directory(let path) = entry { return path }
            return nil
        }
        let ordered =
            reversed
            ? directories.sorted { $0.split(separator: "/").count < $1.split(separator: "/").count }
                .reversedWithinDepth() : directories
        for path in ordered {
            try #require(mkdir(root + "/" + path, restrictive ? 0o700 : 0o755) == 0 || errno == EEXIST)
            chmod(root + "/" + path, restrictive ? 0o700 : 0o755)
        }
        let others = entries.filter {
            if case .directory = $0 { return false }
            return true
        }
        for entry in reversed ? others.reversed() : others {
            switch entry {
            case .directory: break
            case .file(let path, let text, let executable, let setuid):
                let full = root + "/" + path
                // In reverse order a hard link to this file was made first (below): it already holds the bytes.
                if !fm.fileExists(atPath: full) { try Data(text.utf8).write(to: URL(fileURLWithPath: full)) }
                var mode: mode_t = executable ? (restrictive ? 0o700 : 0o755) : (restrictive ? 0o600 : 0o644)
                if setuid { mode |= 0o4000 }
                try #require(chmod(full, mode) == 0)
            case .busybox(let path):
                try fm.copyItem(atPath: SandboxFixture.busybox, toPath: root + "/" + path)
                try #require(chmod(root + "/" + path, restrictive ? 0o700 : 0o755) == 0)
            case .symlink(let path, let target):
                try #require(symlink(target, root + "/" + path) == 0)
            case .hardlink(let path, let target):
                if reversed {
                    // The link's name first, with the original's bytes, then the original as a second name.
                    let text = try #require(
                        entries.lazy.compactMap { entry -> String? in
                            if case .file(target, let text, _, _) = entry { return text }
                            return nil
                        }.first)
                    try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + path))
                    try #require(link(root + "/" + path, root + "/" + target) == 0)
                } else {
                    try #require(link(root + "/" + target, root + "/" + path) == 0)
                }
            }
        }
    }

    /// Every path below `root` with its type, mode and (for files) content or (for links) target.
    static func listing(_ root: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: root).sorted().map { name in
            var info = stat()
            _ = lstat(root + "/" + name, &info)
            let mode = String(info.st_mode, radix: 8)
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                return
                    "\(mode) \(name) -> \(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + name))"
            case S_IFDIR: return "\(mode) \(name)/"
            default: return "\(mode) \(name) \(info.st_size) \(info.st_mtim.tv_sec)"
            }
        }
    }
}

extension Array where Element == String {
    /// Keeps the order by depth but reverses the names within each depth.
    fileprivate func reversedWithinDepth() -> [String] {
        let depths = Dictionary(grouping: self) { $0.split(separator: "/").count }
        return depths.keys.sorted().flatMap { (depths[$0] ?? []).reversed() }
    }
}

/// An ``EnvironmentAssembling`` that returns roots made by the test (never Debian's), records each call and
/// throws for the names in `failing`.
struct FakeAssembler: EnvironmentAssembling {
    actor Calls {
        var names: [String] = []
        func record(_ name: String) { names.append(name) }
    }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "mmdebstrap exited with 1 (test)" }
    }

    let roots: [String: String]
    var sha256: [String: String] = [:]
    var failing: Set<String> = []
    let calls = Calls()

    init(roots: [String: String], sha256: [String: String] = [:], failing: Set<String> = []) {
        self.roots = roots
        self.sha256 = sha256
        self.failing = failing
    }

    func assemble(_ environment: RecipeEnvironment, recipe: Recipe, lock: RecipeLock) async throws
        -> AssembledEnvironment
    {
        await calls.record(environment.name)
        if failing.contains(environment.name) { throw Broken() }
        guard let root = roots[environment.name] else { throw Broken() }
        return AssembledEnvironment(
            name: environment.name, root: root,
            sha256: sha256[environment.name] ?? String(repeating: "ab", count: 32), packageCount: 3)
    }
}
