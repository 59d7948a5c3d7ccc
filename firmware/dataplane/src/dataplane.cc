#include "sbc/firmware/dataplane.h"

#include <rte_launch.h>
#include <rte_lcore.h>

namespace sbc::firmware {
namespace {

struct WorkerJob {
  dataplane::WireWorker* worker;
  const std::atomic<bool>* stop;
};

int RunWorker(void* arg) {
  const WorkerJob job = *static_cast<WorkerJob*>(arg);
  delete static_cast<WorkerJob*>(arg);
  job.worker->Run(*job.stop);
  return 0;
}

}  // namespace

std::expected<std::unique_ptr<Dataplane>, std::string> Dataplane::Start(
    const board::Board& board) {
  std::unique_ptr<Dataplane> dp(new Dataplane(board));
  const auto queues = static_cast<uint16_t>(board.cpu().worker_cores_size());
  auto ports = drivers::nic::PortSet::Open(board, queues);
  if (!ports) return std::unexpected(ports.error());
  dp->ports_ = std::move(*ports);
  if (auto launched = dp->LaunchWorkers(); !launched) return std::unexpected(launched.error());
  return dp;
}

std::expected<void, std::string> Dataplane::LaunchWorkers() {
  // Both directions of every pair; worker q serves queue q of each port.
  std::vector<dataplane::WireLink> links;
  for (const auto& pair : board_.port_pairs()) {
    const size_t a = *ports_->IndexOf(pair.a());  // the board was validated
    const size_t b = *ports_->IndexOf(pair.b());
    for (auto [in, out] : {std::pair{a, b}, std::pair{b, a}})
      links.push_back({.rx_port_id = ports_->port_id(in),
                       .tx_port_id = ports_->port_id(out),
                       .rx_slot = static_cast<uint8_t>(in),
                       .tx_slot = static_cast<uint8_t>(out)});
  }

  for (int q = 0; q < board_.cpu().worker_cores_size(); ++q) {
    const unsigned lcore = board_.cpu().worker_cores(q);
    if (lcore >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lcore) ||
        lcore == rte_get_main_lcore() || rte_eal_get_lcore_state(lcore) != WAIT) {
      Stop();
      return std::unexpected("cpu.worker_cores[" + std::to_string(q) + "]: lcore " +
                             std::to_string(lcore) + " is not a free EAL worker lcore");
    }
    for (auto& link : links) link.queue = static_cast<uint16_t>(q);
    workers_.push_back(std::make_unique<dataplane::WireWorker>(links));
  }
  for (size_t q = 0; q < workers_.size(); ++q) {
    const unsigned lcore = board_.cpu().worker_cores(static_cast<int>(q));
    auto* job = new WorkerJob{workers_[q].get(), &stop_};
    if (int ret = rte_eal_remote_launch(RunWorker, job, lcore); ret != 0) {
      delete job;
      Stop();
      return std::unexpected("cannot launch worker on lcore " + std::to_string(lcore) + ": " +
                             std::to_string(ret));
    }
    worker_lcores_.push_back(lcore);
  }
  running_ = true;
  return {};
}

void Dataplane::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  for (unsigned lcore : worker_lcores_) rte_eal_wait_lcore(lcore);
  worker_lcores_.clear();
  running_ = false;
}

void Dataplane::Close() {
  Stop();
  if (ports_) ports_->Close();
}

Dataplane::~Dataplane() { Close(); }

dataplane::CounterTotals Dataplane::Counters() const {
  std::vector<const dataplane::WorkerCounters*> blocks;
  for (const auto& worker : workers_) blocks.push_back(&worker->counters());
  return dataplane::SumCounters(blocks);
}

}  // namespace sbc::firmware
