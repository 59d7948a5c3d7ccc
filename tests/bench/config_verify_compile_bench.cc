// Time from signed bundle bytes to compiled dataplane tables, for a 10,000-rule
// config: what the dataplane's control lcore does on every config push.
//
//   cmake --preset release && cmake --build --preset release --target config_verify_compile_bench
//   build/release/tests/bench/config_verify_compile_bench --benchmark_repetitions=10
//     --benchmark_report_aggregates_only=true
//
// Stages are measured separately too, so a regression shows where it is.
#include <benchmark/benchmark.h>

#include <ctime>
#include <optional>

#include "sbc/firmware/signed_config.h"
#include "sbc/mgmt/config/compile.h"
#include "sbc/mgmt/config/validate.h"
#include "sbc/mgmt/trust/envelope.h"
#include "support/signing.h"

namespace {

using namespace sbc;

constexpr int kRules = 10000;

// A realistic rule mix: literal prefixes and sets, both families, port ranges, ICMP.
schema::ApplianceConfig LargeConfig() {
  schema::ApplianceConfig config = testing::SampleConfig(0);
  for (int s = 0; s < 50; ++s) {
    auto* set = config.add_prefix_sets();
    set->set_name("set-" + std::to_string(s));
    for (int p = 0; p < 8; ++p)
      set->add_prefixes("10." + std::to_string(s) + "." + std::to_string(p * 16) + ".0/20");
    set->add_prefixes("2001:db8:" + std::to_string(s) + "::/48");
  }
  for (int i = 0; i < kRules; ++i) {
    schema::Rule* rule = config.add_rules();
    rule->set_name("rule-" + std::to_string(i));
    rule->set_description("generated rule " + std::to_string(i));
    rule->set_from_zone(i % 2 ? "outside" : "inside");
    rule->set_to_zone(i % 2 ? "inside" : "outside");
    if (i % 10 == 9) {
      rule->set_protocol(schema::ICMP);
      rule->add_src_prefixes("198.51." + std::to_string(i % 256) + ".0/24");
      rule->add_icmp_types(8);
      continue;
    }
    rule->set_protocol(i % 3 ? schema::UDP : schema::TCP);
    rule->add_src_sets("set-" + std::to_string(i % 50));
    rule->add_dst_prefixes("192.0." + std::to_string(i % 256) + ".0/24");
    rule->add_dst_prefixes("203.0.113." + std::to_string(i % 256));
    rule->add_dst_ports(std::to_string(1024 + i % 60000));
    rule->add_dst_ports(std::to_string(10000 + i % 1000) + "-" + std::to_string(20000 + i % 1000));
    if (i % 5 == 0) rule->mutable_rate_limit()->set_packets_per_second(1000);
  }
  return config;
}

struct Fixture {
  Fixture() : signers(2, 2) {
    schema::ConfigBundle bundle;
    *bundle.mutable_meta() = testing::TestSigners::Meta(1, schema::DEVELOPMENT);
    *bundle.mutable_config() = LargeConfig();
    payload = bundle.SerializeAsString();
    envelope = signers.Sign(bundle, {0, 1});
    verifier.emplace(*mgmt::trust::Verifier::Create(signers.root(), signers.Identity()));
    board.add_ports()->set_name("wan0");
    board.add_ports()->set_name("lan0");
  }
  testing::TestSigners signers;
  std::string payload, envelope;
  std::optional<mgmt::trust::Verifier> verifier;
  board::Board board;
};

Fixture& F() {
  static Fixture fixture;
  return fixture;
}

// Baseline: protobuf parsing of the payload alone.
void BM_ParsePayload(benchmark::State& state) {
  for (auto _ : state) {
    schema::ConfigBundle bundle;
    benchmark::DoNotOptimize(bundle.ParseFromString(F().payload));
  }
  state.counters["bytes"] = double(F().envelope.size());
}

void BM_VerifySignatures(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(F().verifier->VerifySignatures(
        F().envelope, mgmt::trust::kConfigBundleType, schema::CONFIG));
}

void BM_ValidateConfig(benchmark::State& state) {
  schema::ConfigBundle bundle;
  bundle.ParseFromString(F().payload);
  for (auto _ : state) benchmark::DoNotOptimize(mgmt::config::ValidateConfig(bundle.config()));
}

void BM_CompileConfig(benchmark::State& state) {
  schema::ConfigBundle bundle;
  bundle.ParseFromString(F().payload);
  const std::vector<std::string> ports = {"wan0", "lan0"};
  for (auto _ : state)
    benchmark::DoNotOptimize(mgmt::config::CompileConfig(bundle.config(), 1, ports));
}

// The whole path the dataplane runs: verify envelope and bundle, validate, compile.
void BM_VerifyAndCompile(benchmark::State& state) {
  const int64_t now = std::time(nullptr);
  for (auto _ : state) {
    auto result = firmware::VerifyAndCompile(*F().verifier, F().board, F().envelope, now);
    if (!result) state.SkipWithError(result.error().c_str());
    benchmark::DoNotOptimize(result);
  }
  state.counters["rules"] = kRules;
}

BENCHMARK(BM_ParsePayload)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifySignatures)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ValidateConfig)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompileConfig)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifyAndCompile)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
