#include "media_legs.h"

#include <mbedtls/base64.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

namespace sbc::tools {

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  size_t written = 0;
  mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &written,
                        reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  out.resize(written);
  return out;
}

std::expected<schema::MediaLeg, std::string> ParseLeg(const std::string& text, LegFor use,
                                                      bool warn_about_command_line_keys) {
  schema::MediaLeg leg;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq),
                      value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "interface") {
      leg.set_interface(value);
    } else if (key == "remote") {
      leg.set_remote(value);
    } else if (key == "local") {
      leg.set_local_address(value);
    } else if (key == "mux" && eq == std::string::npos) {
      leg.set_rtcp_mux(true);
    } else if (key == "newkey" && eq == std::string::npos && use == LegFor::kUpdate) {
      leg.set_new_our_key(true);
    } else if (key == "clock") {
      try {
        leg.set_clock_rate(static_cast<uint32_t>(std::stoul(value)));
      } catch (...) {
        return std::unexpected("clock=" + value + " is not a number");
      }
    } else if (key == "suite") {
      schema::SrtpSuite suite;
      if (!schema::SrtpSuite_Parse(value, &suite) || suite == schema::SRTP_SUITE_UNSPECIFIED)
        return std::unexpected("unknown suite \"" + value + "\"");
      leg.set_suite(suite);
    } else if (key == "key" || key == "keyfile") {
      // keyfile=PATH, or key=- (a line on stdin): the key stays out of the command
      // line, which every user of this machine can read in /proc.
      std::string encoded = value;
      if (key == "keyfile" || value == "-") {
        std::ifstream file;
        if (key == "keyfile") {
          file.open(value);
          if (!file) return std::unexpected("keyfile=" + value + ": cannot be read");
        }
        std::istream& in = key == "keyfile" ? file : std::cin;
        if (!std::getline(in, encoded))
          return std::unexpected(std::string("no key on ") + (key == "keyfile" ? value : "stdin"));
        while (!encoded.empty() && (encoded.back() == '\r' || encoded.back() == ' '))
          encoded.pop_back();
      } else if (warn_about_command_line_keys) {
        std::cerr << "sbcctl: warning: a key on the command line is visible to other users of this "
                     "machine; "
                     "use keyfile=PATH or key=- (stdin)"
                  << std::endl;
      }
      std::string bytes(encoded.size(), '\0');
      size_t written = 0;
      const int decoded = mbedtls_base64_decode(
          reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), &written,
          reinterpret_cast<const unsigned char*>(encoded.data()), encoded.size());
      std::fill(encoded.begin(), encoded.end(), '\0');
      if (decoded != 0) return std::unexpected(std::string("key is not base64"));
      bytes.resize(written);
      leg.set_leg_key(bytes);
      std::fill(bytes.begin(), bytes.end(), '\0');
    } else {
      return std::unexpected("unknown item \"" + item + "\"");
    }
  }
  const bool srtp = leg.suite() != schema::SRTP_SUITE_UNSPECIFIED;
  if (use == LegFor::kUpdate) {
    if (!srtp && (!leg.leg_key().empty() || leg.new_our_key()))
      return std::unexpected(std::string("key= and newkey need suite="));
    return leg;
  }
  if (leg.interface().empty()) return std::unexpected(std::string("interface= is required"));
  if (srtp != !leg.leg_key().empty())
    return std::unexpected(std::string("suite= and key= go together"));
  return leg;
}

}  // namespace sbc::tools
