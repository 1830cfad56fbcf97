/// Global-norm gradient clipping (`torch.nn.utils.clip_grad_norm_`).
public enum GradientClipping {
    /// The L2 norm of all gradients.
    public static func norm(_ g: UnsafePointer<Float>, count: Int) -> Float {
        var total = 0.0
        var i = 0
        while i < count {
            let end = min(count, i + 4096)
            var partial: Float = 0
            for j in i ..< end { partial += g[j] * g[j] }
            total += Double(partial)
            i = end
        }
        return Float(total.squareRoot())
    }

    /// Scales the gradients so that their norm is at most `maxNorm`; returns the norm before clipping.
    @discardableResult
    public static func clip(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
        let n = norm(g, count: count)
        if n > maxNorm {
            let scale = maxNorm / (n + 1e-6)
            for i in 0 ..< count { g[i] *= scale }
        }
        return n
    }
}
