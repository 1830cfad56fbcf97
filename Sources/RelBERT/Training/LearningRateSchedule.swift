/// Linear warm-up, then constant (the paper) or linear decay to zero at the last step.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public enum Shape: String, Sendable, Codable, CaseIterable { case constant, linear }

    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var shape: Shape

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, shape: Shape = .constant) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.shape = shape
    }

    /// The rate for step `step` (0-based), as transformers' `get_constant_schedule_with_warmup` and
    /// `get_linear_schedule_with_warmup` compute it (so the very first step has rate 0 when warming up).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step) / Float(max(1, warmupSteps)) }
        switch shape {
        case .constant: return peak
        case .linear:
            let remaining = max(0, totalSteps - step)
            return peak * Float(remaining) / Float(max(1, totalSteps - warmupSteps))
        }
    }
}
