import Foundation
import ZeroMQ

/// Raw tensor frames: little-endian, row-major, described by a `TensorSpec` in the body.
public enum TensorFrames {
    public static func spec(_ name: String, _ dtype: Relbert_V1_DType, _ shape: [Int]) -> Relbert_V1_TensorSpec {
        var spec = Relbert_V1_TensorSpec()
        spec.name = name
        spec.dtype = dtype
        spec.shape = shape.map { UInt64($0) }
        return spec
    }

    public static func byteSize(of dtype: Relbert_V1_DType) -> Int? {
        switch dtype {
        case .f32, .i32: return 4
        case .bf16: return 2
        case .u8: return 1
        default: return nil
        }
    }

    /// A frame holding `count` floats from `pointer`.
    public static func floats(_ pointer: UnsafePointer<Float>, count: Int) -> ZMQFrame {
        ZMQFrame(copying: UnsafeRawBufferPointer(start: pointer, count: count * 4))
    }

    /// A frame holding `count` floats from `pointer` rounded to bf16 (round to nearest even).
    public static func bf16(_ pointer: UnsafePointer<Float>, count: Int) -> ZMQFrame {
        ZMQFrame(count: count * 2) { raw in
            let out = raw.bindMemory(to: UInt16.self)
            for i in 0 ..< count {
                let bits = pointer[i].bitPattern
                let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
                out[i] = pointer[i].isNaN ? 0x7FC0 : UInt16(truncatingIfNeeded: rounded >> 16)
            }
        }
    }

    public static func int32s(_ values: [Int32]) -> ZMQFrame {
        values.withUnsafeBytes { ZMQFrame(copying: $0) }
    }

    /// Checks that `frames` match `specs` one to one (count, names given, dtypes allowed, sizes) and
    /// that no tensor exceeds `maxElements`.
    public static func validate(_ frames: [ZMQFrame], against specs: [Relbert_V1_TensorSpec],
                                expecting names: [String], maxElements: Int) throws(ProtocolError) {
        guard frames.count == specs.count else {
            throw ProtocolError(.invalidArgument, "\(specs.count) tensor spec(s) but \(frames.count) tensor frame(s)")
        }
        guard specs.map(\.name) == names else {
            throw ProtocolError(.invalidArgument, "tensors \(specs.map(\.name)); expected \(names)")
        }
        for (spec, frame) in zip(specs, frames) {
            guard let size = byteSize(of: spec.dtype) else {
                throw ProtocolError(.invalidArgument, "tensor \(spec.name): unknown dtype")
            }
            var elements = 1
            for dimension in spec.shape {
                guard dimension <= UInt64(maxElements) else {
                    throw ProtocolError(.resourceExhausted, "tensor \(spec.name): dimension \(dimension) too large")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(dimension))
                guard !overflow, product <= maxElements else {
                    throw ProtocolError(.resourceExhausted, "tensor \(spec.name): more than \(maxElements) elements")
                }
                elements = product
            }
            guard frame.count == elements * size else {
                throw ProtocolError(.invalidArgument, "tensor \(spec.name): \(frame.count) bytes for shape \(spec.shape) (\(elements * size) expected)")
            }
        }
    }

    /// Copies an F32 or BF16 frame (already validated to hold `count` values) into `count` floats at `out`.
    public static func readFloats(_ frame: ZMQFrame, dtype: Relbert_V1_DType, into out: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        frame.withUnsafeBytes { raw in
            if dtype == .bf16 {
                for i in 0 ..< count {
                    let half = UInt32(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                    out[i] = Float(bitPattern: half << 16)
                }
            } else {
                UnsafeMutableRawPointer(out).copyMemory(from: raw.baseAddress!, byteCount: count * 4)
            }
        }
    }

    /// Adds an F32 or BF16 frame into `count` floats at `out`.
    public static func addFloats(_ frame: ZMQFrame, dtype: Relbert_V1_DType, into out: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        frame.withUnsafeBytes { raw in
            if dtype == .bf16 {
                for i in 0 ..< count {
                    let half = UInt32(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                    out[i] += Float(bitPattern: half << 16)
                }
            } else {
                let source = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                for i in 0 ..< count { out[i] += source[i] }
            }
        }
    }

    public static func readInt32s(_ frame: ZMQFrame) -> [Int32] {
        frame.withUnsafeBytes { raw in
            (0 ..< raw.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
        }
    }
}
