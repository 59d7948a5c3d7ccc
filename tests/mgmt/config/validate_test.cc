// Config validation: the sample and the shipped example validate; each kind of
// mistake is reported with its field path and reason, all of them at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "sbc/mgmt/config/validate.h"
#include "sbc/schema/text_file.h"
#include "support/signing.h"

namespace sbc::mgmt::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::SampleConfig;

TEST(ValidateConfigTest, SampleAndShippedExampleAreValid) {
  EXPECT_THAT(ValidateConfig(SampleConfig(10)), IsEmpty());
  schema::ApplianceConfig example;
  ASSERT_TRUE(
      schema::ParseTextFile(std::string(SBC_SOURCE_DIR) + "/docs/examples/sim-demo.textproto",
                            "config", &example)
          .has_value());
  EXPECT_THAT(ValidateConfig(example), IsEmpty());
}

struct InvalidCase {
  const char* label;
  std::function<void(schema::ApplianceConfig&)> edit;
  std::vector<std::string> errors;
};
void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.label; }

class InvalidConfigTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfigTest, ReportsEveryErrorWithItsPath) {
  schema::ApplianceConfig config = SampleConfig(4);
  GetParam().edit(config);
  EXPECT_EQ(ValidateConfig(config), GetParam().errors);
}

schema::Rule& R(schema::ApplianceConfig& c, int i) { return *c.mutable_rules(i); }

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidConfigTest,
    ::testing::Values(
        InvalidCase{"empty_port_range",
                    [](auto& c) { R(c, 3).set_dst_ports(0, "7000-6000"); },
                    {"rules[3].dst_ports[0]: range 7000-6000 is empty"}},
        InvalidCase{"unknown_zone",
                    [](auto& c) { R(c, 1).set_to_zone("dmz"); },
                    {"rules[1].to_zone: no zone named \"dmz\""}},
        InvalidCase{"unknown_set",
                    [](auto& c) { R(c, 0).add_dst_sets("nope"); },
                    {"rules[0].dst_sets[0]: no prefix set named \"nope\""}},
        InvalidCase{"bad_prefix",
                    [](auto& c) { R(c, 2).add_dst_prefixes("10.1.2.3/8"); },
                    {"rules[2].dst_prefixes[0]: \"10.1.2.3/8\" has host bits set beyond /8"}},
        InvalidCase{"duplicate_rule_name",
                    [](auto& c) { R(c, 2).set_name("rule-0"); },
                    {"rules[2].name: \"rule-0\" is defined twice"}},
        InvalidCase{"bad_rule_name",
                    [](auto& c) { R(c, 0).set_name("Rule 0"); },
                    {"rules[0].name: \"Rule 0\" is not a name ([a-z][a-z0-9_-]{0,62})"}},
        InvalidCase{"ports_without_tcp_udp",
                    [](auto& c) { R(c, 0).set_protocol(schema::ICMP); },
                    {"rules[0].dst_ports: ports need protocol TCP or UDP"}},
        InvalidCase{"icmp_types_without_icmp",
                    [](auto& c) { R(c, 1).add_icmp_types(8); },
                    {"rules[1].icmp_types: ICMP types need protocol ICMP or ICMPV6"}},
        InvalidCase{"families_never_match",
                    [](auto& c) {
                      R(c, 0).clear_src_sets();
                      R(c, 0).add_src_prefixes("192.0.2.0/24");
                      R(c, 0).add_dst_prefixes("2001:db8::/32");
                    },
                    {"rules[0]: sources are IPv4 only and destinations IPv6 only: the rule can "
                     "never match"}},
        InvalidCase{"interface_unknown_zone",
                    [](auto& c) { c.mutable_interfaces(1)->set_zone("dmz"); },
                    {"interfaces[1].zone: no zone named \"dmz\""}},
        InvalidCase{"port_in_two_zones",
                    [](auto& c) { c.mutable_interfaces(1)->set_port("wan0"); },
                    {"interfaces[1].port: port \"wan0\" is already in a zone"}},
        InvalidCase{"empty_prefix_set",
                    [](auto& c) { c.mutable_prefix_sets(0)->clear_prefixes(); },
                    {"prefix_sets[0].prefixes: is empty"}},
        InvalidCase{"conntrack_timeout",
                    [](auto& c) { c.mutable_conntrack()->set_udp_timeout_s(100000); },
                    {"conntrack.udp_timeout_s: 100000 is above 86400 s"}},
        InvalidCase{"media_ports",
                    [](auto& c) {
                      c.mutable_media()->set_port_min(1001);
                      c.mutable_media()->set_port_max(1000);
                    },
                    {"media.port_min: 1001 must be even and >= 1024",
                     "media.port_max: 1000 must be above port_min and at most 65535"}},
        InvalidCase{"management_address",
                    [](auto& c) { c.mutable_management()->set_listen_address("localhost"); },
                    {"management.listen_address: \"localhost\" is not an IPv4 or IPv6 address"}},
        InvalidCase{"password_policy",
                    [](auto& c) {
                      auto* p = c.mutable_management()->mutable_password_policy();
                      p->set_min_length(6);
                      p->set_min_character_classes(5);
                      p->set_max_failed_logins(100);
                      p->set_lockout_s(10);
                    },
                    {"management.password_policy.min_length: 6 is outside [8, 128]",
                     "management.password_policy.min_character_classes: 5 is outside [1, 4]",
                     "management.password_policy.max_failed_logins: 100 is outside [1, 20]",
                     "management.password_policy.lockout_s: 10 is outside [60, 86400]"}},
        InvalidCase{"privacy_egress",
                    [](auto& c) { c.mutable_privacy()->add_allowed_egress_sets("anywhere"); },
                    {"privacy.allowed_egress_sets[0]: no prefix set named \"anywhere\""}},
        InvalidCase{
            "several_errors_at_once",
            [](auto& c) {
              R(c, 0).set_from_zone("x");
              R(c, 3).set_dst_ports(0, "9-1");
              c.mutable_conntrack()->set_icmp_timeout_s(90000);
            },
            {"rules[0].from_zone: no zone named \"x\"", "rules[3].dst_ports[0]: range 9-1 is empty",
             "conntrack.icmp_timeout_s: 90000 is above 86400 s"}}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

}  // namespace
}  // namespace sbc::mgmt::config
