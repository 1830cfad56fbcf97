import Foundation
import ZeroMQ

/// CURVE key files: `NAME.key` holds a key pair (keep it secret, mode 0600), `NAME.pub` the public
/// key alone, to hand to the other side. An authorized-keys list is a `.pub` file, a folder of them,
/// or a file with one public key per line (`#` starts a comment).
public enum KeyFiles {
    public static func write(_ keys: CurveKeyPair, name: String, directory: URL) throws -> (secret: URL, public: URL) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let secret = directory.appendingPathComponent("\(name).key")
        let pub = directory.appendingPathComponent("\(name).pub")
        for url in [secret, pub] where FileManager.default.fileExists(atPath: url.path) {
            throw ClusterError.state("\(url.path) exists; refusing to overwrite a key")
        }
        let text = "# relbert CURVE key pair '\(name)': keep this file secret\npublic = \(keys.publicKey)\nsecret = \(keys.secretKey)\n"
        guard FileManager.default.createFile(atPath: secret.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ClusterError.state("cannot write \(secret.path)")
        }
        try Data("\(keys.publicKey)\n".utf8).write(to: pub)
        return (secret, pub)
    }

    /// Reads a `.key` file.
    public static func readPair(_ url: URL) throws -> CurveKeyPair {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ClusterError.state("cannot read the key file \(url.path)")
        }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let pub = fields["public"], let secret = fields["secret"],
              let pair = try? CurveKeyPair(publicKey: pub, secretKey: secret) else {
            throw ClusterError.state("\(url.path) is not a relbert key file (made by `relbert keys generate`)")
        }
        return pair
    }

    /// Reads public keys from a `.pub` file, a folder of them, or a list file.
    public static func readPublicKeys(_ url: URL) throws -> Set<String> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ClusterError.state("no such key file or folder: \(url.path)")
        }
        let files = isDirectory.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".pub") }.sorted()
                .map { url.appendingPathComponent($0) }
            : [url]
        var keys = Set<String>()
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw ClusterError.state("cannot read \(file.path)") }
            for line in text.split(separator: "\n") {
                let key = line.trimmingCharacters(in: .whitespaces)
                if key.isEmpty || key.hasPrefix("#") { continue }
                guard CurveKeyPair.isValidKey(key) else { throw ClusterError.state("\(file.path): '\(key)' is not a CURVE public key") }
                keys.insert(key)
            }
        }
        return keys
    }

    /// Reads exactly one public key.
    public static func readPublicKey(_ url: URL) throws -> String {
        let keys = try readPublicKeys(url)
        guard keys.count == 1, let key = keys.first else { throw ClusterError.state("\(url.path) must hold exactly one public key") }
        return key
    }
}

/// A CURVE client's keys: its own pair and the server's public key.
public struct CurveClientKeys: Sendable {
    public var keys: CurveKeyPair
    public var serverKey: String
    public init(keys: CurveKeyPair, serverKey: String) {
        self.keys = keys
        self.serverKey = serverKey
    }
}
