// A request the server refuses, in OpenAI's error shape: HTTP status plus
// {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/error.hpp"

namespace januskit::serve {

class ApiError : public Error {
 public:
  ApiError(int status, std::string message, std::string param = {}, std::string code = {})
      : Error(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  // OpenAI's error types by status: invalid_request_error (4xx), authentication_error (401), ...
  std::string type() const;
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string param_, code_;
};

// 400 invalid_request_error naming the field.
inline ApiError bad_field(const std::string& param, const std::string& message) {
  return ApiError(400, param.empty() ? message : param + ": " + message, param, "invalid_value");
}

}  // namespace januskit::serve
