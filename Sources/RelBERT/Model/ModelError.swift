import Foundation

/// Everything that can go wrong while loading or checking a model folder.
/// Each case names the file (and tensor) involved, so a user can fix it.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case malformedConfig(path: String, reason: String)
    case unsupportedModelType(path: String, modelType: String)
    case missingTensor(path: String, name: String)
    case tensorShapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    case weights(String)
    case tokenizer(String)
    case sequenceTooLong(length: Int, limit: Int)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "model file not found: \(path)"
        case .malformedConfig(let path, let reason):
            return "\(path): \(reason)"
        case .unsupportedModelType(let path, let modelType):
            return "\(path): unsupported model_type '\(modelType)' (expected 'bert' or 'roberta')"
        case .missingTensor(let path, let name):
            return "\(path): tensor '\(name)' is missing"
        case .tensorShapeMismatch(let path, let name, let expected, let found):
            return "\(path): tensor '\(name)' has shape \(found), but config.json implies \(expected)"
        case .weights(let message):
            return message
        case .tokenizer(let message):
            return message
        case .sequenceTooLong(let length, let limit):
            return "a sequence of \(length) tokens exceeds the model's \(limit) positions"
        }
    }
}
