// HTTP status codes reactord produces and their RFC 9110 reason phrases, so error paths (parser
// results, the server's canned responses) share one spelling of each code.
#pragma once

#include <cstdint>
#include <string_view>

namespace reactord::http {

inline constexpr uint16_t kStatusContinue = 100;
inline constexpr uint16_t kStatusOk = 200;
inline constexpr uint16_t kStatusNoContent = 204;
inline constexpr uint16_t kStatusBadRequest = 400;
inline constexpr uint16_t kStatusNotFound = 404;
inline constexpr uint16_t kStatusMethodNotAllowed = 405;
inline constexpr uint16_t kStatusRequestTimeout = 408;
inline constexpr uint16_t kStatusContentTooLarge = 413;
inline constexpr uint16_t kStatusUriTooLong = 414;
inline constexpr uint16_t kStatusExpectationFailed = 417;
inline constexpr uint16_t kStatusRequestHeaderFieldsTooLarge = 431;
inline constexpr uint16_t kStatusInternalServerError = 500;
inline constexpr uint16_t kStatusNotImplemented = 501;
inline constexpr uint16_t kStatusServiceUnavailable = 503;
inline constexpr uint16_t kStatusHttpVersionNotSupported = 505;

// Reason phrase for `code`, or an empty view for codes not listed above (the reason phrase is
// optional on the wire, RFC 9112 §4).
constexpr std::string_view reason_phrase(uint16_t code) {
  switch (code) {
    case kStatusContinue:
      return "Continue";
    case kStatusOk:
      return "OK";
    case kStatusNoContent:
      return "No Content";
    case kStatusBadRequest:
      return "Bad Request";
    case kStatusNotFound:
      return "Not Found";
    case kStatusMethodNotAllowed:
      return "Method Not Allowed";
    case kStatusRequestTimeout:
      return "Request Timeout";
    case kStatusContentTooLarge:
      return "Content Too Large";
    case kStatusUriTooLong:
      return "URI Too Long";
    case kStatusExpectationFailed:
      return "Expectation Failed";
    case kStatusRequestHeaderFieldsTooLarge:
      return "Request Header Fields Too Large";
    case kStatusInternalServerError:
      return "Internal Server Error";
    case kStatusNotImplemented:
      return "Not Implemented";
    case kStatusServiceUnavailable:
      return "Service Unavailable";
    case kStatusHttpVersionNotSupported:
      return "HTTP Version Not Supported";
    default:
      return {};
  }
}

}  // namespace reactord::http
