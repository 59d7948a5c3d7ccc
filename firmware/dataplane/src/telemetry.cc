#include "sbc/firmware/telemetry.h"

#include <rte_telemetry.h>

#include <cctype>
#include <mutex>
#include <string>

#include "sbc/firmware/dataplane.h"

namespace sbc::firmware {
namespace {

// Telemetry callbacks run on DPDK's telemetry thread; the mutex keeps a dataplane
// from being closed under a callback (never touched by workers).
std::mutex g_mutex;
Dataplane* g_dataplane = nullptr;

// Telemetry keys allow letters, digits and '_' only: "carrier-rtp" -> "carrier_rtp".
std::string Key(std::string text) {
  for (char& c : text)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return text;
}

int Counters(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(g_mutex);
  if (g_dataplane == nullptr) return -1;
  const dataplane::CounterTotals totals = g_dataplane->Counters();
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "rules_version", g_dataplane->rules_version());
  rte_tel_data_add_dict_u64(d, "flows", g_dataplane->Flows());
  rte_tel_data_add_dict_u64(d, "drops_total", totals.drops_total());
  for (size_t r = 0; r < dataplane::kDropReasonCount; ++r) {
    const std::string name = Key(
        "drop_" + std::string(dataplane::DropReasonName(static_cast<dataplane::DropReason>(r))));
    rte_tel_data_add_dict_u64(d, name.c_str(), totals.drops[r]);
  }
  drivers::nic::PortSet& ports = g_dataplane->ports();
  for (size_t p = 0; p < ports.size(); ++p) {
    const std::string prefix = Key("port_" + ports.name(p)) + "_";
    rte_tel_data_add_dict_u64(d, (prefix + "rx_packets").c_str(), totals.ports[p].rx_packets);
    rte_tel_data_add_dict_u64(d, (prefix + "rx_bytes").c_str(), totals.ports[p].rx_bytes);
    rte_tel_data_add_dict_u64(d, (prefix + "tx_packets").c_str(), totals.ports[p].tx_packets);
    rte_tel_data_add_dict_u64(d, (prefix + "tx_bytes").c_str(), totals.ports[p].tx_bytes);
  }
  return 0;
}

int Rules(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(g_mutex);
  if (g_dataplane == nullptr) return -1;
  const auto counters = g_dataplane->RuleCounters();
  const auto names = g_dataplane->rule_names();
  rte_tel_data_start_dict(d);
  for (size_t r = 0; r < counters.size() && r < names.size(); ++r) {
    const std::string name = Key(names[r]);
    rte_tel_data_add_dict_u64(d, (name + "_packets").c_str(), counters[r].packets);
    rte_tel_data_add_dict_u64(d, (name + "_bytes").c_str(), counters[r].bytes);
  }
  return 0;
}

}  // namespace

void PublishTelemetry(Dataplane* dataplane) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    rte_telemetry_register_cmd(
        "/sbc/counters", Counters,
        "Ports, drops by reason, tracked flows and rules version. No parameters.");
    rte_telemetry_register_cmd("/sbc/rules", Rules,
                               "Packets and bytes per rule of the rules in force. No parameters.");
  });
  std::lock_guard lock(g_mutex);
  g_dataplane = dataplane;
}

void UnpublishTelemetry() {
  std::lock_guard lock(g_mutex);
  g_dataplane = nullptr;
}

}  // namespace sbc::firmware
