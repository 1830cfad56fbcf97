import Foundation

/// How a coordinator serves (``Coordinator/Options/serving``).
public struct ServingOptions: Sendable {
    /// Pairs waiting or in progress beyond which a request gets RESOURCE_EXHAUSTED at once.
    public var queueLimit = 4096
    public var maxPairsPerRequest = 1024
    /// Tokens in one worker batch.
    public var tokenBudget = 1024
    public var maxWordBytes = 256
    /// The longest a request waits in the server (its own deadline may be sooner): requests sent
    /// before any worker has joined wait for one rather than fail at once.
    public var maxWait: Duration = .seconds(60)
    /// The pairs serve.Nearest searches.
    public var index: IndexSource = .none
    /// A model to serve from the start (otherwise the first job that finishes provides one).
    public var model: URL?

    public enum IndexSource: Sendable, Equatable {
        case none
        /// Every pair of the bundled SemEval-2012 and analogy data under this folder.
        case bundled(URL)
        /// `head<TAB>tail[<TAB>source]` lines.
        case file(URL)
    }

    public init() {}
}
