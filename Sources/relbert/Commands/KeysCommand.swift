import ArgumentParser
import Foundation
import RelBERTCluster
import ZeroMQ

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "CURVE keys for an authenticated, encrypted cluster.",
                                                    subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (give it to the other side).",
            discussion: """
            The coordinator runs with --key coordinator.key --authorized DIR (the .pub files of the workers and
            clients it accepts); workers and clients with --key NAME.key --server-key coordinator.pub.
            """)
        @Argument(help: "A name: coordinator, worker-1, alice ...") var name: String
        @Option(help: "Folder for the key files.") var dir = "keys"

        func run() throws {
            guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else { throw ValidationError("a plain name, please") }
            let (secret, pub) = try KeyFiles.write(try CurveKeyPair.generate(), name: name, directory: URL(fileURLWithPath: dir))
            print("\(secret.path)\n\(pub.path)")
        }
    }
}

/// `--key` and `--server-key` for workers and clients of a coordinator that uses CURVE.
struct ClientKeyOptions: ParsableArguments {
    @Option(help: "This side's key file (relbert keys generate), when the coordinator uses CURVE.") var key: String?
    @Option(name: .customLong("server-key"), help: "The coordinator's public key file (.pub).") var serverKey: String?

    func keys() throws -> CurveClientKeys? { try Self.read(key: key, serverKey: serverKey, keyFlag: "--key") }

    /// The client keys two key-file options name (both or neither).
    static func read(key: String?, serverKey: String?, keyFlag: String) throws -> CurveClientKeys? {
        switch (key, serverKey) {
        case (nil, nil): return nil
        case let (key?, server?):
            return CurveClientKeys(keys: try KeyFiles.readPair(URL(fileURLWithPath: key)),
                                   serverKey: try KeyFiles.readPublicKey(URL(fileURLWithPath: server)))
        default: throw ValidationError("\(keyFlag) and --server-key go together")
        }
    }
}

/// `--key` and `--authorized` for the coordinator.
struct ServerKeyOptions: ParsableArguments {
    @Option(help: "The coordinator's key file; with it, all traffic uses CURVE.") var key: String?
    @Option(help: "Public keys accepted: a .pub file, a folder of them, or a list file.") var authorized: String?

    func apply(to options: inout Coordinator.Options) throws {
        switch (key, authorized) {
        case (nil, nil): return
        case let (key?, authorized?):
            options.curve = try KeyFiles.readPair(URL(fileURLWithPath: key))
            options.authorizedKeys = try KeyFiles.readPublicKeys(URL(fileURLWithPath: authorized))
        default: throw ValidationError("--key and --authorized go together")
        }
    }
}
