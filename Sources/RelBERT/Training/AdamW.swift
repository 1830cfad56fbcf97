import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// AdamW with decoupled weight decay, exactly as `torch.optim.AdamW` computes it:
/// `p ← p − lr·wd·p; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;`
/// `p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`.
/// Dense over every parameter (rows of the word table that a step did not use still decay, as in PyTorch).
public final class AdamW: @unchecked Sendable {
    public struct Settings: Sendable, Equatable, Codable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 0.01
        public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    public let firstMoment: FloatBuffer
    public let secondMoment: FloatBuffer
    /// Steps taken so far (PyTorch's `state['step']`).
    public internal(set) var step: Int = 0

    public init(parameterCount: Int, settings: Settings = Settings()) {
        self.settings = settings
        firstMoment = FloatBuffer(count: parameterCount)
        secondMoment = FloatBuffer(count: parameterCount)
    }

    /// Restores the moments and step count (from a checkpoint).
    public func restore(step: Int, first: UnsafePointer<Float>, second: UnsafePointer<Float>) {
        self.step = step
        firstMoment.pointer.update(from: first, count: firstMoment.count)
        secondMoment.pointer.update(from: second, count: secondMoment.count)
    }

    /// One update of `parameters` with `gradients`, at learning rate `lr`, split over `threads`.
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                       count: Int, learningRate lr: Float, threads: Int = 1) {
        precondition(count == firstMoment.count, "AdamW was made for \(firstMoment.count) parameters")
        step += 1
        let t = Float(step)
        let s = settings
        let correction1 = 1 - powf(s.beta1, t)
        let correction2 = 1 - powf(s.beta2, t)
        let stepSize = lr / correction1
        let invSqrtCorrection2 = 1 / correction2.squareRoot()
        let decay = 1 - lr * s.weightDecay
        let m = SendableFloats(firstMoment.pointer), v = SendableFloats(secondMoment.pointer)
        let p = SendableFloats(parameters), g = SendableFloats(UnsafeMutablePointer(mutating: gradients))
        let chunks = max(1, threads)
        let chunk = (count + chunks - 1) / chunks
        let body: @Sendable (Int) -> Void = { c in
            let start = c * chunk, end = min(count, start + chunk)
            guard start < end else { return }
            let m = m.pointer, v = v.pointer, p = p.pointer, g = g.pointer
            // Eight lanes at a time, then the rest one by one: the same operations in the same order
            // (IEEE multiply, add, divide and square root round the same in a vector lane), so the
            // result is bit-identical to the scalar loop, about 1.6x faster on one core.
            typealias Lanes = SIMD8<Float>
            let beta1 = Lanes(repeating: s.beta1), oneMinusBeta1 = Lanes(repeating: 1 - s.beta1)
            let beta2 = Lanes(repeating: s.beta2), oneMinusBeta2 = Lanes(repeating: 1 - s.beta2)
            let scale = Lanes(repeating: invSqrtCorrection2), epsilon = Lanes(repeating: s.epsilon)
            let size = Lanes(repeating: stepSize), shrink = Lanes(repeating: decay)
            let rawP = UnsafeMutableRawPointer(p), rawM = UnsafeMutableRawPointer(m)
            let rawV = UnsafeMutableRawPointer(v), rawG = UnsafeRawPointer(g)
            var i = start
            while i + 8 <= end {
                let offset = i * MemoryLayout<Float>.stride
                let grad = rawG.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
                let decayed = rawP.loadUnaligned(fromByteOffset: offset, as: Lanes.self) * shrink
                let first = beta1 * rawM.loadUnaligned(fromByteOffset: offset, as: Lanes.self) + oneMinusBeta1 * grad
                let second = beta2 * rawV.loadUnaligned(fromByteOffset: offset, as: Lanes.self) + oneMinusBeta2 * grad * grad
                let denominator = second.squareRoot() * scale + epsilon
                rawM.storeBytes(of: first, toByteOffset: offset, as: Lanes.self)
                rawV.storeBytes(of: second, toByteOffset: offset, as: Lanes.self)
                rawP.storeBytes(of: decayed - size * first / denominator, toByteOffset: offset, as: Lanes.self)
                i += 8
            }
            while i < end {
                let grad = g[i]
                p[i] *= decay
                m[i] = s.beta1 * m[i] + (1 - s.beta1) * grad
                v[i] = s.beta2 * v[i] + (1 - s.beta2) * grad * grad
                let denominator = v[i].squareRoot() * invSqrtCorrection2 + s.epsilon
                p[i] -= stepSize * m[i] / denominator
                i += 1
            }
        }
        if chunks == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: body) }
    }
}

/// A float pointer that threads writing disjoint ranges may share.
struct SendableFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
