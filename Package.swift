// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-relbert",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "relbert", targets: ["relbert"]),
        .library(name: "RelBERT", targets: ["RelBERT"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries: a module map and a one-line shim header each.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq",
                       providers: [.apt(["libzmq3-dev"])]),

        // The safetensors file format: memory-mapped reader, atomic writer.
        .target(name: "SafeTensors"),
        // WordPiece (BERT) and byte-level BPE (RoBERTa) tokenizers.
        .target(name: "Tokenizers"),
        // Model config, parameters, the encoder, relation embeddings, evaluation.
        .target(name: "RelBERT", dependencies: ["COpenBLAS", "SafeTensors", "Tokenizers"]),
        // A small Swift wrapper over libzmq: context, sockets, multipart frames, poller.
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // The wire protocol: generated protobuf messages (proto/relbert/v1), framing, tensor frames.
        .target(name: "RelBERTProtocol", dependencies: [
            "ZeroMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // The training cluster: coordinator, workers, jobs, and the client the CLI uses.
        .target(name: "RelBERTCluster", dependencies: [
            "RelBERT", "RelBERTProtocol", "ZeroMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // The `relbert` command-line tool.
        .executableTarget(name: "relbert", dependencies: [
            "RelBERT", "RelBERTCluster", "RelBERTProtocol",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
        .testTarget(name: "RelBERTTests", dependencies: ["RelBERT", "SafeTensors", "Tokenizers"]),
        .testTarget(name: "LossTests", dependencies: ["RelBERT", "SafeTensors"]),
        .testTarget(name: "DataTests", dependencies: ["RelBERT"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "CZeroMQ"]),
        .testTarget(name: "ProtocolTests", dependencies: ["RelBERTProtocol", "ZeroMQ"]),
        .testTarget(name: "ClusterTests", dependencies: ["relbert", "RelBERT", "RelBERTCluster", "RelBERTProtocol", "ZeroMQ"]),
        .testTarget(name: "CLITests", dependencies: ["relbert", "RelBERT", "RelBERTCluster", "RelBERTProtocol", "ZeroMQ"]),
    ],
    swiftLanguageModes: [.v6]
)
