#include "sbc/firmware/sim_traffic_run.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "sbc/drivers/nic/sim_traffic.h"

namespace sbc::firmware {
namespace {

using Clock = std::chrono::steady_clock;
using drivers::nic::Direction;
using drivers::nic::SimTraffic;
using drivers::nic::SimWire;

constexpr uint16_t kBurst = 32;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Where frames enter the wire: both directions of every pair.
struct Injection {
  size_t port;
  Direction direction;
};

class Accounting {
 public:
  Accounting(Dataplane& dataplane, SimWire& wire) : dataplane_(dataplane), wire_(wire) {}

  // Takes whatever the ports transmitted, checks it is ours, and frees it.
  void Collect(SimTrafficResult& result) {
    rte_mbuf* frames[kBurst];
    for (size_t port = 0; port < wire_.size(); ++port) {
      uint16_t n;
      while ((n = wire_.Receive(port, frames, kBurst)) != 0) {
        for (uint16_t i = 0; i < n; ++i)
          if (!SimTraffic::Sequence(frames[i])) ++result.mismatched;
        result.arrived += n;
        rte_pktmbuf_free_bulk(frames, n);
      }
    }
  }
  // Frames sent that have either arrived or been dropped with a reason.
  uint64_t Accounted(const SimTrafficResult& result) const {
    return result.arrived + dataplane_.Counters().drops_total() - drops_at_start_;
  }
  void MarkStart() { drops_at_start_ = dataplane_.Counters().drops_total(); }

 private:
  Dataplane& dataplane_;
  SimWire& wire_;
  uint64_t drops_at_start_ = 0;
};

}  // namespace

std::expected<SimTrafficResult, std::string> RunSimTraffic(Dataplane& dataplane,
                                                           const SimTrafficOptions& options,
                                                           const std::atomic<bool>& stop) {
  SimWire* wire = dataplane.ports().sim_wire();
  if (wire == nullptr)
    return std::unexpected(
        "sim traffic needs a board whose ports are all net_ring devices "
        "(the sim board); board " +
        dataplane.board().name() + " has others");

  std::vector<Injection> injections;
  for (const auto& pair : dataplane.board().port_pairs()) {
    const auto a = dataplane.ports().IndexOf(pair.a()), b = dataplane.ports().IndexOf(pair.b());
    if (!a || !b)  // a validated board names only its ports
      return std::unexpected("port pair " + pair.a() + "/" + pair.b() + " is not the board's");
    injections.push_back({*a, Direction::kForward});
    injections.push_back({*b, Direction::kReply});
  }
  // Never more in flight than the smallest transmit ring holds, so a slow reader (this
  // thread) cannot make the dataplane drop for want of TX room.
  uint64_t window = UINT64_MAX;
  for (const auto& port : dataplane.board().ports())
    window = std::min<uint64_t>(window, board::TxDescriptors(port));

  SimTraffic traffic(dataplane.ports().pool(), options.flows, options.runt_every);
  Accounting accounting(dataplane, *wire);
  accounting.MarkStart();
  SimTrafficResult result;
  const Clock::time_point start = Clock::now();
  Clock::time_point last_progress = start, last_report = start;
  uint64_t last_accounted = 0, last_sent = 0;
  rte_mbuf* burst[kBurst];

  for (size_t turn = 0;; ++turn) {
    const bool stopping = stop.load(std::memory_order_relaxed);
    const bool done_sending =
        options.keep_running ? stopping : (result.sent >= options.frames || stopping);
    const uint64_t accounted = accounting.Accounted(result);
    const uint64_t in_flight = result.sent - accounted;
    if (done_sending && in_flight == 0) break;

    uint64_t want = done_sending ? 0 : kBurst;
    if (!options.keep_running) want = std::min(want, options.frames - result.sent);
    if (options.keep_running && options.rate_pps != 0) {
      const auto allowed = static_cast<uint64_t>(SecondsSince(start) * double(options.rate_pps));
      want = std::min(want, allowed > result.sent ? allowed - result.sent : 0);
    }
    if (in_flight + want > window) want = 0;
    if (want != 0) {
      const Injection& at = injections[turn % injections.size()];
      const uint16_t built = traffic.Build(at.direction, burst, static_cast<uint16_t>(want));
      const uint16_t taken = wire->Send(at.port, burst, built);
      if (taken < built) rte_pktmbuf_free_bulk(burst + taken, built - taken);
      result.sent += taken;
    }
    accounting.Collect(result);

    if (accounted != last_accounted || result.sent != last_sent) {
      last_accounted = accounted;
      last_sent = result.sent;
      last_progress = Clock::now();
    } else if (!options.keep_running || in_flight != 0) {
      if (SecondsSince(last_progress) > options.stall_timeout_s) {
        dataplane.Stop();
        accounting.Collect(result);
        return std::unexpected("sim traffic stalled: " + std::to_string(in_flight) + " of " +
                               std::to_string(result.sent) +
                               " frames neither arrived nor were counted as dropped");
      }
    }
    if (options.keep_running && options.report &&
        SecondsSince(last_report) >= options.report_interval_s) {
      last_report = Clock::now();
      options.report();
    }
  }
  dataplane.Stop();  // drains the workers' queues
  accounting.Collect(result);
  return result;
}

}  // namespace sbc::firmware
