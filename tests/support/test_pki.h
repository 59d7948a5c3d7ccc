// A throwaway PKI for TLS tests: the product's management CA (mgmt/pki), with
// failures turned into exceptions so fixtures stay short.
#pragma once

#include <memory>
#include <string>

#include "sbc/mgmt/pki/certificate_authority.h"

namespace sbc::testing {

using Credential = mgmt::pki::Credential;

class TestPki {
 public:
  explicit TestPki(const std::string& ca_name = "SBC Management CA");
  const std::string& ca_pem() const { return ca_->credential().cert_pem; }
  Credential Issue(const std::string& common_name, const char* not_before = "20240101000000",
                   const char* not_after = "20491231235959");
  mgmt::pki::CertificateAuthority& ca() { return *ca_; }

 private:
  std::unique_ptr<mgmt::pki::CertificateAuthority> ca_;
};

}  // namespace sbc::testing
