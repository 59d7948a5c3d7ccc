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
      << std::setw(12) << "dev errors" << "\n";
  for (size_t i = 0; i < ports.size(); ++i) {
    const dataplane::PortCounters& c = totals.ports[i];
    const drivers::nic::LinkState link = ports.Link(i);
    const auto dev = ports.Stats(i);
    const uint64_t missed = dev ? dev->rx_missed + dev->rx_no_mbuf : 0;
    const uint64_t errors = dev ? dev->rx_errors + dev->tx_errors : 0;
    std::string link_text = link.up ? "up" : "down";
    if (link.up && link.speed_mbps != 0) link_text += " " + std::to_string(link.speed_mbps / 1000) + "G";
    out << std::left << std::setw(8) << ports.name(i) << std::setw(10) << link_text
        << std::right << std::setw(14) << c.rx_packets << std::setw(16) << c.rx_bytes
        << std::setw(14) << c.tx_packets << std::setw(16) << c.tx_bytes << std::setw(12)
        << missed << std::setw(12) << errors << "\n";
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
  out << "rules (version " << dataplane.rules_version() << ", " << dataplane.Flows()
      << " tracked flows)\n";
  constexpr size_t kShown = 20;
  for (size_t r = 0; r < rules.size() && r < kShown; ++r)
    out << "  " << std::left << std::setw(24) << dataplane.rule_names()[r] << std::right
        << std::setw(14) << rules[r].packets << " packets " << std::setw(16) << rules[r].bytes
        << " bytes\n";
  if (rules.size() > kShown) out << "  ... and " << rules.size() - kShown << " more rules\n";
  return out.str();
}

}  // namespace sbc::firmware
