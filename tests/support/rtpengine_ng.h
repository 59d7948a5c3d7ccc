// What tests and benches need to talk to rtpengine: its ng control protocol (bencoded
// dictionaries over UDP) and the base64 SDES keys of SDP a=crypto lines.
#pragma once

#include <mbedtls/base64.h>

#include <string>

namespace sbc::testing {

// A bencoded string: "5:offer".
inline std::string Bencode(const std::string& s) { return std::to_string(s.size()) + ":" + s; }

// An ng message: the cookie (unique per command: rtpengine answers a repeated one from
// its cache), then a dictionary of the bencoded pairs in `body`.
inline std::string NgMessage(int cookie, const std::string& body) {
  return "cookie" + std::to_string(cookie) + " d" + body + "e";
}

// The "sdp" value of an ng reply, or "" if it has none (an error reply).
inline std::string NgReplySdp(const std::string& reply) {
  const size_t at = reply.find("3:sdp");
  if (at == std::string::npos) return "";
  const size_t colon = reply.find(':', at + 5);
  return reply.substr(colon + 1, std::stoul(reply.substr(at + 5, colon - at - 5)));
}

inline std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  size_t n = 0;
  mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &n,
                        reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  out.resize(n);
  return out;
}

// "" if `text` is not base64.
inline std::string Unbase64(const std::string& text) {
  std::string out(text.size(), '\0');
  size_t n = 0;
  if (mbedtls_base64_decode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &n,
                            reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 0)
    return "";
  out.resize(n);
  return out;
}

}  // namespace sbc::testing
