#include <iomanip>
#include <sstream>

#include "sbc/firmware/dataplane.h"

namespace sbc::firmware {

std::string FormatCounters(Dataplane& dataplane) {
  const dataplane::CounterTotals totals = dataplane.Counters();
  drivers::nic::PortSet& ports = dataplane.ports();
  std::ostringstream out;
  out << std::left << std::setw(8) << "port" << std::setw(10) << "link" << std::right
      << std::setw(14) << "rx packets" << std::setw(16) << "rx bytes" << std::setw(14)
      << "tx packets" << std::setw(16) << "tx bytes" << std::setw(12) << "dev missed"
      << std::setw(12) << "dev errors"
      << "\n";
  for (size_t i = 0; i < ports.size(); ++i) {
    const dataplane::PortCounters& c = totals.ports[i];
    const drivers::nic::LinkState link = ports.Link(i);
    const auto dev = ports.Stats(i);
    const uint64_t missed = dev ? dev->rx_missed + dev->rx_no_mbuf : 0;
    const uint64_t errors = dev ? dev->rx_errors + dev->tx_errors : 0;
    std::string link_text = link.up ? "up" : "down";
    if (link.up && link.speed_mbps != 0)
      link_text += " " + std::to_string(link.speed_mbps / 1000) + "G";
    out << std::left << std::setw(8) << ports.name(i) << std::setw(10) << link_text << std::right
        << std::setw(14) << c.rx_packets << std::setw(16) << c.rx_bytes << std::setw(14)
        << c.tx_packets << std::setw(16) << c.tx_bytes << std::setw(12) << missed << std::setw(12)
        << errors << "\n";
  }
  // Only reasons that happened: the full list is on telemetry (/sbc/counters).
  out << "drops by reason (total " << totals.drops_total() << ")\n";
  for (size_t r = 0; r < dataplane::kDropReasonCount; ++r) {
    if (totals.drops[r] == 0) continue;
    const auto reason = static_cast<dataplane::DropReason>(r);
    out << "  " << std::left << std::setw(24) << dataplane::DropReasonName(reason) << std::right
        << std::setw(14) << totals.drops[r] << "  " << dataplane::DropReasonHelp(reason) << "\n";
  }
  const std::vector<dataplane::RuleCounter> rules = dataplane.RuleCounters();
  const std::vector<std::string> names = dataplane.rule_names();
  out << "rules (version " << dataplane.rules_version() << ", " << dataplane.Flows()
      << " tracked flows)\n";
  constexpr size_t kShown = 20;
  for (size_t r = 0; r < rules.size() && r < kShown && r < names.size(); ++r)
    out << "  " << std::left << std::setw(24) << names[r] << std::right << std::setw(14)
        << rules[r].packets << " packets " << std::setw(16) << rules[r].bytes << " bytes\n";
  if (rules.size() > kShown) out << "  ... and " << rules.size() - kShown << " more rules\n";
  return out.str();
}

std::vector<std::pair<std::string, uint64_t>> CounterList(Dataplane& dataplane) {
  std::vector<std::pair<std::string, uint64_t>> list;
  const dataplane::CounterTotals totals = dataplane.Counters();
  drivers::nic::PortSet& ports = dataplane.ports();
  for (size_t p = 0; p < ports.size(); ++p) {
    const std::string prefix = "port." + ports.name(p) + ".";
    list.emplace_back(prefix + "rx_packets", totals.ports[p].rx_packets);
    list.emplace_back(prefix + "rx_bytes", totals.ports[p].rx_bytes);
    list.emplace_back(prefix + "tx_packets", totals.ports[p].tx_packets);
    list.emplace_back(prefix + "tx_bytes", totals.ports[p].tx_bytes);
  }
  for (size_t r = 0; r < dataplane::kDropReasonCount; ++r)
    list.emplace_back(
        "drop." + std::string(dataplane::DropReasonName(static_cast<dataplane::DropReason>(r))),
        totals.drops[r]);
  const auto rules = dataplane.RuleCounters();
  const auto names = dataplane.rule_names();
  for (size_t r = 0; r < rules.size() && r < names.size(); ++r) {
    list.emplace_back("rule." + names[r] + ".packets", rules[r].packets);
    list.emplace_back("rule." + names[r] + ".bytes", rules[r].bytes);
  }
  list.emplace_back("flows", dataplane.Flows());
  list.emplace_back("rules_version", dataplane.rules_version());
  return list;
}

}  // namespace sbc::firmware
