#include "support/test_pki.h"

#include <stdexcept>

namespace sbc::testing {

TestPki::TestPki(const std::string& ca_name) {
  auto ca = mgmt::pki::CertificateAuthority::Create(ca_name);
  if (!ca) throw std::runtime_error(ca.error());
  ca_ = std::move(*ca);
}

Credential TestPki::Issue(const std::string& common_name, const char* not_before, const char* not_after) {
  auto c = ca_->Issue(common_name, not_before, not_after);
  if (!c) throw std::runtime_error(c.error());
  return *c;
}

}  // namespace sbc::testing
