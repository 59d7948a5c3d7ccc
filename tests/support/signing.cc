#include "support/signing.h"

#include <ctime>
#include <stdexcept>

#include "sbc/mgmt/trust/envelope.h"

namespace sbc::testing {
namespace {

std::string SignPayload(std::string_view type, const std::string& payload,
                        const std::vector<mgmt::trust::PrivateKey>& keys,
                        const std::vector<int>& signers) {
  schema::SignedEnvelope envelope = mgmt::trust::MakeEnvelope(type, payload);
  for (int i : signers)
    if (!mgmt::trust::AddSignature(envelope, keys[i])) throw std::runtime_error("signing failed");
  return envelope.SerializeAsString();
}

}  // namespace

schema::ApplianceConfig SampleConfig(int rules) {
  schema::ApplianceConfig config;
  auto* wan = config.add_interfaces();
  wan->set_port("wan0");
  wan->set_zone("outside");
  auto* lan = config.add_interfaces();
  lan->set_port("lan0");
  lan->set_zone("inside");
  config.add_zones()->set_name("outside");
  config.add_zones()->set_name("inside");
  auto* peers = config.add_prefix_sets();
  peers->set_name("peers");
  peers->add_prefixes("198.51.100.0/24");
  peers->add_prefixes("2001:db8:1::/48");
  for (int i = 0; i < rules; ++i) {
    schema::Rule* rule = config.add_rules();
    rule->set_name("rule-" + std::to_string(i));
    rule->set_from_zone("outside");
    rule->set_to_zone("inside");
    rule->add_src_sets("peers");
    rule->set_protocol(schema::UDP);
    rule->add_dst_ports(std::to_string(10000 + i % 50000));
  }
  return config;
}

TestSigners::TestSigners(int count, uint32_t threshold, schema::Environment environment)
    : threshold_(threshold) {
  root_.set_environment(environment);
  for (int i = 0; i < count; ++i) {
    auto key = mgmt::trust::PrivateKey::Generate(mgmt::trust::Curve::kP256);
    if (!key) throw std::runtime_error(key.error());
    schema::TrustedKey* entry = root_.add_keys();
    entry->set_key_id(key->KeyId());
    entry->set_public_key_pem(key->PublicKeyPem());
    entry->set_role(schema::CONFIG);
    keys_.push_back(std::move(*key));
  }
  auto* t = root_.add_thresholds();
  t->set_role(schema::CONFIG);
  t->set_threshold(threshold);
}

schema::ApplianceIdentity TestSigners::Identity(const std::string& serial) const {
  schema::ApplianceIdentity identity;
  identity.set_serial(serial);
  identity.set_environment(root_.environment());
  return identity;
}

schema::PayloadMeta TestSigners::Meta(uint64_t version, schema::Environment environment,
                                      int64_t expires_unix, const std::string& serial) {
  schema::PayloadMeta meta;
  meta.set_version(version);
  meta.set_environment(environment);
  meta.set_expires_unix(expires_unix != 0 ? expires_unix : std::time(nullptr) + 3600);
  meta.set_target_serial(serial);
  return meta;
}

std::string TestSigners::Sign(const schema::ConfigBundle& bundle,
                              const std::vector<int>& signers) const {
  return SignPayload(mgmt::trust::kConfigBundleType, bundle.SerializeAsString(), keys_, signers);
}

std::string TestSigners::Sign(const schema::DowngradeAuthorization& auth,
                              const std::vector<int>& signers) const {
  return SignPayload(mgmt::trust::kDowngradeType, auth.SerializeAsString(), keys_, signers);
}

std::string TestSigners::Bundle(uint64_t version, int rules) const {
  schema::ConfigBundle bundle;
  *bundle.mutable_meta() = Meta(version, root_.environment());
  *bundle.mutable_config() = SampleConfig(rules);
  std::vector<int> signers;
  for (uint32_t i = 0; i < threshold_; ++i) signers.push_back(static_cast<int>(i));
  return Sign(bundle, signers);
}

}  // namespace sbc::testing
