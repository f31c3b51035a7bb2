internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import SwiftProtobuf

/// The served protos, indexed for reflection: each file by name with its serialized descriptor,
/// the file that defines each fully qualified symbol, and the services.
struct ReflectionIndex: Sendable {
  private var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
  private var serialized: [String: Data] = [:]
  /// Fully qualified symbol (message, enum, service, method) → its file's name.
  private var symbols: [String: String] = [:]
  /// Fully qualified service names, sorted.
  private(set) var services: [String] = []

  init(base64: String) throws {
    guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
      throw RPCError(code: .internalError, message: "the embedded descriptor set is not base64")
    }
    let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: data)
    for file in set.file {
      self.files[file.name] = file
      self.serialized[file.name] = try file.serializedBytes()
      let prefix = file.package.isEmpty ? "" : file.package + "."
      for message in file.messageType {
        self.add(message, prefix: prefix, file: file.name)
      }
      for enumeration in file.enumType {
        self.symbols[prefix + enumeration.name] = file.name
      }
      for service in file.service {
        self.symbols[prefix + service.name] = file.name
        self.services.append(prefix + service.name)
        for method in service.method {
          self.symbols[prefix + service.name + "." + method.name] = file.name
        }
      }
    }
    self.services.sort()
  }

  private mutating func add(_ message: Google_Protobuf_DescriptorProto, prefix: String, file: String) {
    let name = prefix + message.name
    self.symbols[name] = file
    for nested in message.nestedType {
      self.add(nested, prefix: name + ".", file: file)
    }
    for enumeration in message.enumType {
      self.symbols[name + "." + enumeration.name] = file
    }
  }

  /// The answer to one reflection request.
  func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
    var response = Grpc_Reflection_V1_ServerReflectionResponse()
    response.validHost = request.host
    response.originalRequest = request
    switch request.messageRequest {
    case .fileByFilename(let name):
      response.messageResponse = self.files(from: self.files[name] == nil ? nil : name, asked: "file '\(name)'")
    case .fileContainingSymbol(let symbol):
      response.messageResponse = self.files(from: self.symbols[symbol], asked: "symbol '\(symbol)'")
    case .fileContainingExtension(let request):
      // The served protos define no extensions.
      response.messageResponse = Self.error(
        .notFound,
        "extension \(request.extensionNumber) of '\(request.containingType)' is not known here"
      )
    case .allExtensionNumbersOfType(let type):
      if self.symbols[type] != nil {
        var numbers = Grpc_Reflection_V1_ExtensionNumberResponse()
        numbers.baseTypeName = type
        response.messageResponse = .allExtensionNumbersResponse(numbers)
      } else {
        response.messageResponse = Self.error(.notFound, "type '\(type)' is not known here")
      }
    case .listServices:
      var list = Grpc_Reflection_V1_ListServiceResponse()
      list.service = self.services.map { name in
        var service = Grpc_Reflection_V1_ServiceResponse()
        service.name = name
        return service
      }
      response.messageResponse = .listServicesResponse(list)
    case nil:
      response.messageResponse = Self.error(
        .invalidArgument,
        "the request asks for nothing: set one of its message_request fields"
      )
    }
    return response
  }

  /// The file `name` and every file it imports, transitively, each once, the file first.
  private func files(
    from name: String?,
    asked: String
  ) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
    guard let name else { return Self.error(.notFound, "\(asked) is not known here") }
    var order: [String] = []
    var seen: Set<String> = []
    var pending = [name]
    while let next = pending.popLast() {
      guard seen.insert(next).inserted, let file = self.files[next] else { continue }
      order.append(next)
      pending.append(contentsOf: file.dependency.reversed())
    }
    var files = Grpc_Reflection_V1_FileDescriptorResponse()
    files.fileDescriptorProto = order.compactMap { self.serialized[$0] }
    return .fileDescriptorResponse(files)
  }

  private static func error(
    _ code: RPCError.Code,
    _ message: String
  ) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
    var error = Grpc_Reflection_V1_ErrorResponse()
    error.errorCode = Int32(code.rawValue)
    error.errorMessage = message
    return .errorResponse(error)
  }
}
