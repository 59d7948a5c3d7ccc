// Test signers: real ECDSA keys (mbedTLS), a trust root listing them, and helpers to
// build and sign bundles, so trust, store and daemon tests use the real crypto path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sbc/mgmt/trust/keys.h"
#include "sbc/schema/trust.pb.h"

namespace sbc::testing {

// A config that validates, with `rules` allow rules between two zones on ports
// wan0 and lan0.
schema::ApplianceConfig SampleConfig(int rules = 3);

class TestSigners {
 public:
  // `count` CONFIG keys (P-256), threshold `threshold`, for `environment`.
  TestSigners(int count, uint32_t threshold, schema::Environment environment = schema::DEVELOPMENT);

  const schema::TrustRoot& root() const { return root_; }
  schema::ApplianceIdentity Identity(const std::string& serial = "SN-1") const;
  const mgmt::trust::PrivateKey& key(int i) const { return keys_[i]; }

  // A bundle payload with the given meta fields; expires in an hour unless given.
  static schema::PayloadMeta Meta(uint64_t version, schema::Environment environment,
                                  int64_t expires_unix = 0, const std::string& serial = "");
  // Envelope bytes of `bundle` (or `auth`), signed by the keys listed.
  std::string Sign(const schema::ConfigBundle& bundle, const std::vector<int>& signers) const;
  std::string Sign(const schema::DowngradeAuthorization& auth,
                   const std::vector<int>& signers) const;
  // Shortcut: SampleConfig(rules) at `version`, this root's environment, all keys
  // up to the threshold signing.
  std::string Bundle(uint64_t version, int rules = 3) const;

 private:
  std::vector<mgmt::trust::PrivateKey> keys_;
  schema::TrustRoot root_;
  uint32_t threshold_;
};

}  // namespace sbc::testing
