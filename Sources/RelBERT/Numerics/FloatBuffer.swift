/// A fixed-size, 64-byte aligned, uninitialised-then-zeroed block of floats that it owns.
///
/// The numeric core passes raw pointers into it; it exists so that every large array has one owner
/// and one deallocation, with no ARC traffic or bounds checks in the hot loops.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must not be negative")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public func array(_ range: Range<Int>? = nil) -> [Float] {
        let r = range ?? 0 ..< count
        return Array(UnsafeBufferPointer(start: pointer + r.lowerBound, count: r.count))
    }
}
