/// Short-vector primitives on raw pointers, eight lanes at a time.
///
/// Multiply and add are kept separate on purpose: a fused `addingProduct` compiles to a libm `fmaf`
/// call per lane on the x86-64 baseline (no FMA without target flags), which is far slower.
public enum Vector {
    public typealias Lanes = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }

    /// `Σ a[i]·b[i]`
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Lanes()
        var i = 0
        while i + 8 <= count {
            acc += load(a + i) * load(b + i)
            i += 8
        }
        var sum = acc.sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// `y[i] += alpha · x[i]`
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        let a = Lanes(repeating: alpha)
        var i = 0
        while i + 8 <= count {
            store(load(UnsafePointer(y + i)) + a * load(x + i), y + i)
            i += 8
        }
        while i < count {
            y[i] += alpha * x[i]
            i += 1
        }
    }

    /// `Σ x[i]`
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Lanes()
        var i = 0
        while i + 8 <= count {
            acc += load(x + i)
            i += 8
        }
        var total = acc.sum()
        while i < count {
            total += x[i]
            i += 1
        }
        return total
    }
}
