// A throwaway PKI for TLS tests, made in-process with mbedTLS's X.509 writer: a CA and
// certificates it issues (ECDSA P-256, SHA-256), with chosen names and validity.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace sbc::testing {

struct Credential {
  std::string cert_pem;
  std::string key_pem;
};

class TestPki {
 public:
  explicit TestPki(const std::string& ca_name = "SBC Management CA");
  ~TestPki();
  const std::string& ca_pem() const { return ca_.cert_pem; }
  // A leaf certificate for `common_name`, valid between the two times (YYYYMMDDhhmmss).
  Credential Issue(const std::string& common_name, const char* not_before = "20240101000000",
                   const char* not_after = "20491231235959");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Credential ca_;
  uint64_t next_serial_ = 2;
};

}  // namespace sbc::testing
