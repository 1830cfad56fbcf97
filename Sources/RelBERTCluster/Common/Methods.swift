/// The method names of protocol version 1 (the header's `method`). See docs/protocol.md.
public enum Method {
    // Coordinator <-> worker.
    public static let ready = "worker.Ready"
    public static let heartbeat = "worker.Heartbeat"
    public static let load = "worker.Load"
    public static let forward = "worker.Forward"
    public static let backward = "worker.Backward"
    public static let update = "worker.Update"
    public static let embed = "worker.Embed"
    // Client -> coordinator.
    public static let submit = "jobs.Submit"
    public static let list = "jobs.List"
    public static let status = "jobs.Status"
    public static let cancel = "jobs.Cancel"
    public static let fetch = "jobs.Fetch"
    // Client -> coordinator: serving.
    public static let serveEmbed = "serve.Embed"
    public static let serveAnalogy = "serve.Analogy"
    public static let serveNearest = "serve.Nearest"
    public static let serveInfo = "serve.Info"
    public static let serveHealth = "serve.Health"
    public static let serveReload = "serve.Reload"
    public static let serving: Set<String> = [serveEmbed, serveAnalogy, serveNearest, serveInfo, serveHealth, serveReload]
}

/// How often peers send heartbeats, and how many may be missed before a peer counts as gone.
public struct HeartbeatSettings: Sendable, Equatable {
    public var intervalMilliseconds: Int = 1000
    public var liveness: Int = 3
    public init(intervalMilliseconds: Int = 1000, liveness: Int = 3) {
        self.intervalMilliseconds = max(10, intervalMilliseconds)
        self.liveness = max(1, liveness)
    }
    /// Silence longer than this means the peer is gone.
    public var expiry: Duration { .milliseconds(intervalMilliseconds * liveness) }
    public var interval: Duration { .milliseconds(intervalMilliseconds) }
}

/// The software version a worker reports.
public enum SoftwareVersion {
    public static let current = "0.5.0"
}
