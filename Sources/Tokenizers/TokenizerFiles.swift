import Foundation

/// Reading the files of a tokenizer folder, with errors that name the file.
enum TokenizerFiles {
    static func exists(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    static func data(_ url: URL) throws(TokenizerError) -> Data {
        guard exists(url) else { throw .missingFile(path: url.path) }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(path: url.path, reason: "\(error)")
        }
    }

    /// A JSON file whose top level is an object.
    static func jsonObject(_ url: URL) throws(TokenizerError) -> [String: Any] {
        let bytes = try data(url)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
        } catch {
            throw .malformedJSON(path: url.path, reason: "not valid JSON (\(error))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw .malformedJSON(path: url.path, reason: "the top level is not an object")
        }
        return dictionary
    }

    /// A JSON object file if it exists, nil otherwise (a malformed one still throws).
    static func optionalJSONObject(_ url: URL) throws(TokenizerError) -> [String: Any]? {
        exists(url) ? try jsonObject(url) : nil
    }

    /// The lines of a UTF-8 text file, without their `\n` / `\r\n` terminators. A final terminator
    /// does not start an extra empty line. (Split on scalars: as `Character`s, `\r\n` is one unit.)
    static func lines(_ url: URL) throws(TokenizerError) -> [String] {
        guard let text = String(data: try data(url), encoding: .utf8) else {
            throw .unreadableFile(path: url.path, reason: "not valid UTF-8")
        }
        let scalars = text.unicodeScalars
        var lines: [String] = []
        var start = scalars.startIndex
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let next = scalars.index(after: i)
            if scalars[i] == "\n" || next == scalars.endIndex {
                var end = scalars[i] == "\n" ? i : next
                if end > start && scalars[scalars.index(before: end)] == "\r" { end = scalars.index(before: end) }
                lines.append(String(scalars[start..<end]))
                start = next
            }
            i = next
        }
        return lines
    }
}

/// Lenient reading of JSON values produced by `JSONSerialization`.
enum JSONValue {
    static func int(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        // Booleans are NSNumbers too (objCType "c"); they are not integers here.
        if String(cString: number.objCType) == "c" { return nil }
        return value as? Int
    }

    static func bool(_ value: Any?) -> Bool? {
        switch value {
        case let bool as Bool: return bool
        case let number as NSNumber: return number.boolValue
        default: return nil
        }
    }

    static func object(_ value: Any?) -> [String: Any]? { value as? [String: Any] }

    /// A special-token entry of `tokenizer_config.json`: a string, or an object with `content`.
    static func tokenContent(_ value: Any?) -> String? {
        if let string = value as? String { return string }
        if let object = value as? [String: Any] { return object["content"] as? String }
        return nil
    }
}
