// Reading typed fields from JSON (config.json, tokenizer_config.json, manifests) with errors that name
// the file and the key instead of nlohmann's generic type_error. Files are read by io::read_json_file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/error.hpp"

namespace januskit {

namespace detail {
template <typename T>
const char* json_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else return "a value of another type";
}
template <typename T>
bool json_holds(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  else if constexpr (std::is_integral_v<T>) return v.is_number_integer() || (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<long long>(v.get<double>())));
  else if constexpr (std::is_floating_point_v<T>) return v.is_number();
  else if constexpr (std::is_same_v<T, std::string>) return v.is_string();
  else return true;
}
}  // namespace detail

// obj[key] as T; `fallback` when the key is absent or null. A value of the wrong type is a FileError
// "SOURCE: KEY: expected an integer, got "abc"".
template <typename T>
T json_field(const nlohmann::json& obj, const std::string& key, const T& fallback, const std::string& source) {
  if (!obj.is_object()) throw FileError(source, cat("expected a JSON object holding '", key, "'"));
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!detail::json_holds<T>(*it)) {
    throw FileError(source, cat(key, ": expected ", detail::json_type_name<T>(), ", got ", it->dump()));
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return static_cast<T>(it->is_number_float() ? static_cast<long long>(it->get<double>()) : it->get<long long>());
  } else {
    return it->get<T>();
  }
}

}  // namespace januskit
