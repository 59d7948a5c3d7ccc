#include "support/test_pki.h"

#include <stdexcept>

namespace sbc::testing {

TestPki::TestPki(const std::string& ca_name) {
  auto ca = mgmt::pki::CertificateAuthority::Create(ca_name);
  if (!ca) throw std::runtime_error(ca.error());
  ca_ = std::move(*ca);
}

Credential TestPki::Issue(const std::string& common_name, const char* not_before,
                          const char* not_after) {
  // Names beginning "sbc-" are the appliance's own (mgmt::tls::kServerName, and the
  // tests' server "sbc-appliance"): a TLS server's certificate; every other a client's.
  const auto purpose =
      common_name.starts_with("sbc-") ? mgmt::pki::Purpose::kServer : mgmt::pki::Purpose::kClient;
  auto c = ca_->Issue(common_name, purpose, not_before, not_after);
  if (!c) throw std::runtime_error(c.error());
  return *c;
}

}  // namespace sbc::testing
