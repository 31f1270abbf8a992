#include "serve/api_error.hpp"

namespace januskit::serve {

using nlohmann::json;

std::string ApiError::type() const {
  switch (status_) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: return status_ >= 500 ? "server_error" : "invalid_request_error";
  }
}

json ApiError::to_json() const {
  return {{"error",
           {{"message", what()},
            {"type", type()},
            {"param", param_.empty() ? json(nullptr) : json(param_)},
            {"code", code_.empty() ? json(nullptr) : json(code_)}}}};
}

}  // namespace januskit::serve
