import CZeroMQ

/// The version of the libzmq the process is linked against (`zmq_version`).
public enum ZMQVersion {
    /// `(major, minor, patch)`, e.g. `(4, 3, 4)`.
    public static var components: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// `"major.minor.patch"`, e.g. `"4.3.4"`.
    public static var string: String {
        let v = components
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    /// Whether libzmq was built with a capability (`zmq_has`): "ipc", "curve", "draft", ...
    public static func has(_ capability: String) -> Bool {
        zmq_has(capability) != 0
    }
}
